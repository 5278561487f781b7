from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "yiwang.applications"
    label = "applications"
    verbose_name = "办件"
