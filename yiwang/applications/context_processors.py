from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from yiwang.applications.selectors import unread_notification_count


def inbox(request: HttpRequest) -> dict[str, object]:
    """The unread count for the navigation, counted only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_notification_count(user))}
