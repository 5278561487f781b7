"""SMS gateway plugin interface and its local implementation.

A deployment points ``SMS_BACKEND`` at a class with a ``send(phone, body)`` method that
talks to its carrier gateway. The local backend stores messages in an outbox table that
the demo shows at /dev/sms/.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class SmsBackend(Protocol):
    def send(self, *, phone: str, body: str) -> None: ...


class OutboxSmsBackend:
    """Writes each message to the outbox table instead of a carrier gateway."""

    def send(self, *, phone: str, body: str) -> None:
        from yiwang.core.models import SmsOutboxMessage

        SmsOutboxMessage.objects.create(phone=phone, body=body)


def sms_backend() -> SmsBackend:
    backend_class = import_string(settings.SMS_BACKEND)
    return backend_class()  # type: ignore[no-any-return]


def sms_send(*, phone: str, body: str) -> None:
    sms_backend().send(phone=phone, body=body)
