from django.urls import path

from yiwang.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("resources/", views.resource_list, name="resources"),
    path("resources/<slug:code>/", views.resource_detail, name="resource"),
    path("resources/<slug:code>/openapi.json", views.resource_openapi, name="resource_openapi"),
    path("grants/", views.grant_list, name="grants"),
    path("grants/<int:grant_id>/decide/", views.grant_decide, name="grant_decide"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("systems/", views.system_list, name="systems"),
]
