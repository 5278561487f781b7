"""Validation of national identifiers with distinct, field-level messages.

Checksums come from python-stdnum; the region check accepts any division code that
GB/T 2260 has ever assigned (an ID keeps the code of the county of first registration,
which may since have been abolished).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

from yiwang.core.errors import ValidationFailed


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: datetime.date
    region_code: str
    is_male: bool


def _region_code_ever_assigned(code: str) -> bool:
    from yiwang.core.models import Region

    if Region.objects.filter(code=code).exists():
        return True
    # numdb answers part by part: the province part of 330199 is known, but only an entry
    # for the last part means the whole code was assigned.
    results = numdb.get("cn/loc").info(code)
    return bool(results) and bool(results[-1][1])


_RESIDENT_ID_RE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)


def _normalise(value: str) -> str:
    # Phone keyboards in Chinese input mode type full-width digits and Ｘ.
    return unicodedata.normalize("NFKC", value or "")


def resident_id_parse(value: str, *, field: str = "id_number") -> ResidentId:
    """Validate a resident ID number (GB 11643) and return its parts.

    Raises ValidationFailed with a message that says which part is wrong.
    """
    number = ric.compact(_normalise(value))
    if not number:
        raise ValidationFailed.for_field(field, _("Please enter the ID number."), code="required")
    if len(number) != 18:
        raise ValidationFailed.for_field(
            field, _("A resident ID number has 18 characters."), code="id_length"
        )
    # str.isdigit() would accept other scripts' digits, which int() may then reject.
    if not _RESIDENT_ID_RE.fullmatch(number):
        raise ValidationFailed.for_field(
            field,
            _("A resident ID number is 17 digits followed by a digit or X."),
            code="id_format",
        )
    try:
        if number[-1] != ric.calc_check_digit(number):
            raise ValidationFailed.for_field(
                field,
                _("The check character of this ID number is wrong; please check it."),
                code="id_checksum",
            )
        birth_date = ric.get_birth_date(number)
    except StdnumError as exc:
        raise ValidationFailed.for_field(
            field, _("The birth date in this ID number is not a real date."), code="id_birth_date"
        ) from exc
    if birth_date > timezone.localdate() or birth_date.year < 1890:
        raise ValidationFailed.for_field(
            field, _("The birth date in this ID number is not possible."), code="id_birth_date"
        )
    if not _region_code_ever_assigned(number[:6]):
        raise ValidationFailed.for_field(
            field,
            _("The region code %(code)s in this ID number does not exist.") % {"code": number[:6]},
            code="id_region",
        )
    return ResidentId(
        number=number,
        birth_date=birth_date,
        region_code=number[:6],
        is_male=int(number[16]) % 2 == 1,
    )


def uscc_parse(value: str, *, field: str = "uscc") -> str:
    """Validate a unified social credit code (GB 32100) and return it compacted."""
    code = uscc.compact(_normalise(value))
    if not code:
        raise ValidationFailed.for_field(
            field, _("Please enter the unified social credit code."), code="required"
        )
    try:
        return str(uscc.validate(code))
    except StdnumError as exc:
        if len(code) != 18:
            message = _("A unified social credit code has 18 characters.")
            error_code = "uscc_length"
        elif isinstance(exc, InvalidChecksum):
            message = _("The check character of this credit code is wrong; please check it.")
            error_code = "uscc_checksum"
        else:
            message = _("This is not a valid unified social credit code.")
            error_code = "uscc_format"
        raise ValidationFailed.for_field(field, message, code=error_code) from exc


def resident_id_with_check_digit(first17: str) -> str:
    """Complete a 17-digit ID body with its ISO 7064 MOD 11-2 check character."""
    return first17 + ric.calc_check_digit(first17 + "0")


def uscc_with_check_digit(first17: str) -> str:
    """Complete a 17-character credit code body with its GB 32100 check character."""
    return first17 + uscc.calc_check_digit(first17)
