"""Glue between services' errors and Django forms."""

from __future__ import annotations

from django import forms

from yiwang.core.errors import YiwangError


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
