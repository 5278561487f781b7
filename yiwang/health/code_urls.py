"""The person's health code and the checkpoint, under /health/ (namespace "health")."""

from django.urls import URLPattern, path

from yiwang.health import code_views

urlpatterns: list[URLPattern] = [
    path("code/", code_views.code, name="code"),
    path("checkpoint/", code_views.checkpoint, name="checkpoint"),
    path("checkpoint/trust.json", code_views.checkpoint_trust, name="checkpoint_trust"),
    path("checkpoint/sw.js", code_views.checkpoint_service_worker, name="checkpoint_sw"),
]
