"""Parsing of small user-entered values with field-level messages."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import ValidationFailed

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Chinese names, and minority or foreign names written with a middle dot.
_NAME_RE = re.compile(r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z·• ]{0,48}[\u3400-\u9fffA-Za-z]$")


def mobile_parse(value: str | None, *, field: str = "phone") -> str:
    phone = "".join((value or "").split()).removeprefix("+86")
    if not phone:
        raise ValidationFailed.for_field(
            field, _("Please enter your mobile number."), code="required"
        )
    if not _MOBILE_RE.match(phone):
        raise ValidationFailed.for_field(
            field, _("Enter an 11-digit mainland mobile number."), code="phone_format"
        )
    return phone


def person_name_parse(value: str | None, *, field: str = "name") -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationFailed.for_field(field, _("Please enter the name."), code="required")
    if not _NAME_RE.match(name):
        raise ValidationFailed.for_field(
            field, _("Enter the name exactly as on the ID card."), code="name_format"
        )
    return name
