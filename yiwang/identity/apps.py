from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "yiwang.identity"
    label = "identity"
    verbose_name = "身份认证"

    def ready(self) -> None:
        from yiwang.identity import receivers  # noqa: F401 (connects the login history)
