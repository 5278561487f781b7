"""Glue between services' errors and Django forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms

from yiwang.core.errors import YiwangError

T = TypeVar("T")


def form_add_service_error(form: forms.Form, exc: YiwangError) -> None:
    """Show a service error on the form: each field message beside its field."""
    placed = False
    for name, messages in exc.fields.items():
        for message in messages:
            if name in form.fields:
                form.add_error(name, str(message))
                placed = True
    if not placed:
        form.add_error(None, str(exc.message))


class Form(forms.Form):
    """Base form of the platform: labels without a trailing colon (the layout shows them above)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def form_submit(form: forms.Form, action: Callable[[dict[str, Any]], T]) -> tuple[T | None, int]:
    """Validate a bound form and run one use case on its cleaned data.

    Returns the use case's result and the HTTP status to render with: 200 on success,
    422 for invalid input, or the service error's own status, whose messages are then on
    the form beside their fields.
    """
    if not form.is_valid():
        return None, 422
    try:
        return action(form.cleaned_data), 200
    except YiwangError as exc:
        form_add_service_error(form, exc)
        return None, exc.status
