from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from yiwang.identity.acting import acting_identity


def acting(request: HttpRequest) -> dict[str, object]:
    """The identity she acts under (办事身份), worked out only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"acting": SimpleLazyObject(lambda: acting_identity(request))}
