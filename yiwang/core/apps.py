from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "yiwang.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from yiwang.core.audit import admin_audit_install

        admin_audit_install()
