"""Background tasks of the applications module; each takes ids and is idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from yiwang.core.sms import sms_send


@task()
def notification_sms_send(notification_id: int) -> None:
    """Text a notification to its user's mobile number (once)."""
    from yiwang.applications.models import Notification

    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or notification.sms_sent_at is not None:
        return
    sms_send(phone=notification.user.phone, body=f"【一网】{notification.title}")
    Notification.objects.filter(pk=notification_id, sms_sent_at__isnull=True).update(
        sms_sent_at=timezone.now()
    )


@task()
def notification_email_send(notification_id: int) -> None:
    """E-mail a notification to its user, when the user gave an address (once)."""
    from yiwang.applications.models import Notification

    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or notification.email_sent_at is not None:
        return
    if not notification.user.email:
        return
    send_mail(
        subject=f"【一网】{notification.title}",
        message=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.user.email],
    )
    Notification.objects.filter(pk=notification_id, email_sent_at__isnull=True).update(
        email_sent_at=timezone.now()
    )
