"""Health staff's contact traces (流调), under /workbench/health/traces/ ("health_staff")."""

from django.urls import path

from yiwang.health import tracing_views as views

urlpatterns = [
    path("", views.trace_list, name="traces"),
    path("new/", views.trace_start, name="trace_start"),
    path("<int:trace_id>/", views.trace_detail, name="trace"),
    path("<int:trace_id>/decisions/", views.trace_decide, name="trace_decide"),
    path("<int:trace_id>/close/", views.trace_close, name="trace_close"),
    path(
        "<int:trace_id>/candidates/<int:candidate_id>/",
        views.candidate_detail,
        name="trace_candidate",
    ),
    path(
        "<int:trace_id>/candidates/<int:candidate_id>/decision/",
        views.candidate_decide,
        name="trace_candidate_decide",
    ),
]
