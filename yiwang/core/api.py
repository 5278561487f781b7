"""API plumbing shared by every router: the error body, and the core endpoints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Router, Schema

router = Router(tags=["regions"])


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


def error_response(
    status: int, code: str, message: str, fields: Mapping[str, Sequence[Any]] | None = None
) -> HttpResponse:
    body = {
        "code": code,
        "message": message,
        "fields": {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()},
    }
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


_PYDANTIC_MESSAGES = {
    "missing": gettext_noop("This field is required."),
    "string_too_long": gettext_noop("This value is too long."),
    "string_too_short": gettext_noop("This value is too short."),
    "json_invalid": gettext_noop("The request body is not valid JSON."),
}


def pydantic_errors_to_fields(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Turn pydantic's error list into ``{field: [messages]}`` in the user's language."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        # The first remaining part is the payload's parameter name when the body is a schema.
        name = loc[-1] if loc else "__all__"
        kind = str(error.get("type", ""))
        message = _(_PYDANTIC_MESSAGES.get(kind, gettext_noop("Enter a valid value.")))
        fields.setdefault(name, []).append(message)
    return fields
