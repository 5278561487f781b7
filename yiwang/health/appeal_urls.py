"""Health staff's appeals workbench, under /workbench/health/ (namespace ``health_staff``)."""

from django.urls import path

from yiwang.health import staff_views

urlpatterns = [
    path("", staff_views.appeals, name="appeals"),
    path("resolved/", staff_views.appeals_resolved, name="appeals_resolved"),
    path("appeals/<int:appeal_id>/", staff_views.appeal_detail, name="appeal_detail"),
    path("appeals/<int:appeal_id>/resolve/", staff_views.appeal_resolve, name="appeal_resolve"),
]
