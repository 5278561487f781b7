from __future__ import annotations

from django.db.models import QuerySet

from yiwang.core.models import SmsOutboxMessage


def sms_outbox_recent(limit: int = 50) -> QuerySet[SmsOutboxMessage]:
    return SmsOutboxMessage.objects.order_by("-created_at", "-id")[:limit]
