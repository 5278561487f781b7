"""A person's own health pages, under /health/ (namespace ``health``)."""

from django.urls import path

from yiwang.health import views

urlpatterns = [
    path("", views.home, name="home"),
    path("declare/", views.declare, name="declare"),
    path("daily/", views.daily, name="daily"),
    path("history/", views.history, name="history"),
    path("appeals/", views.appeal, name="appeal"),
    path("appeals/<int:appeal_id>/", views.appeal_detail, name="appeal_detail"),
]
