from django.urls import path

from yiwang.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("me/", views.me, name="me"),
    path("me/security/", views.me_security, name="me_security"),
    path("dev/sms/", views.sms_outbox, name="sms_outbox"),
    path("healthz", views.healthz, name="healthz"),
]
