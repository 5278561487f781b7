from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, object]:
    return {
        "platform_name": settings.YIWANG_PLATFORM_NAME,
        "sms_outbox_visible": settings.SMS_OUTBOX_VISIBLE,
    }
