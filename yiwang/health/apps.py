from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "yiwang.health"
    label = "health"
    verbose_name = "健康码"
