"""Pages of e-certificates that anyone may open, without logging in."""

from django.urls import path

from yiwang.certificates import verify_views

app_name = "certificates_public"

urlpatterns = [
    path("verify/", verify_views.verify, name="verify"),
]
