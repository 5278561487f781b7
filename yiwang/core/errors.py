"""Errors raised by services, and the one shape every error takes on the wire.

Services raise these; the API maps each to its HTTP status and the body
``{"code": ..., "message": ..., "fields": {field: [messages]}}``; form views put the
field messages next to the fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Message = str | Promise


class YiwangError(Exception):
    """Base of every expected, user-facing failure."""

    status = 400
    code = "bad_request"
    default_message: Message = _("The request could not be processed.")

    def __init__(
        self,
        message: Message | None = None,
        *,
        fields: Mapping[str, Sequence[Message] | Message] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.fields: dict[str, list[Message]] = {}
        for name, msgs in (fields or {}).items():
            self.fields[name] = [msgs] if isinstance(msgs, str | Promise) else list(msgs)
        if code is not None:
            self.code = code
        super().__init__(str(self.message))

    def as_body(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": str(self.message),
            "fields": {name: [str(m) for m in msgs] for name, msgs in self.fields.items()},
        }


class ValidationFailed(YiwangError):
    status = 422
    code = "validation_failed"
    default_message = _("Some fields are not valid.")

    @classmethod
    def for_field(
        cls, field: str, message: Message, *, code: str | None = None
    ) -> ValidationFailed:
        return cls(message, fields={field: [message]}, code=code)


class NotAuthenticated(YiwangError):
    status = 401
    code = "not_authenticated"
    default_message = _("Please log in first.")


class PermissionDenied(YiwangError):
    status = 403
    code = "permission_denied"
    default_message = _("You are not allowed to do this.")


class NotFound(YiwangError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Conflict(YiwangError):
    status = 409
    code = "conflict"
    default_message = _("This conflicts with the current state.")


class RateLimited(YiwangError):
    status = 429
    code = "rate_limited"
    default_message = _("Too many requests. Please try again later.")

    def __init__(self, message: Message | None = None, *, retry_after: int | None = None, **kw):  # type: ignore[no-untyped-def]
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServiceUnavailable(YiwangError):
    status = 503
    code = "service_unavailable"
    default_message = _("A required service is not available. Please try again later.")
