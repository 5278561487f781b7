from django.urls import path

from yiwang.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.service_list, name="service_list"),
    path("situations/<slug:code>/", views.life_situation_detail, name="life_situation"),
    path("bundles/<slug:code>/", views.bundle_detail, name="bundle_detail"),
    path("<str:code>/", views.service_detail, name="service_detail"),
]
