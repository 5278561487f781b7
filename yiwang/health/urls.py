"""Health-code pages at /health/: a person's own code and declarations, checkpoints, venues."""

from django.urls import include, path

app_name = "health"

urlpatterns = [
    path("", include("yiwang.health.person_urls")),
    path("", include("yiwang.health.code_urls")),
    path("", include("yiwang.health.venue_urls")),
]
