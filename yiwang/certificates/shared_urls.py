"""The page where a third party reads a certificate with the holder's access code."""

from django.urls import path

from yiwang.certificates import views

app_name = "certificates_shared"

urlpatterns = [
    path("", views.shared_read, name="read"),
]
