"""Health staff's pages at /workbench/health/: appeals and contact traces."""

from django.urls import include, path

app_name = "health_staff"

urlpatterns = [
    path("", include("yiwang.health.appeal_urls")),
    path("traces/", include("yiwang.health.tracing_urls")),
]
