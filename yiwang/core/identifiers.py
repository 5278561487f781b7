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
from stdnum.iso7064 import mod_37_36

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


# The characters a unified social credit code may contain (GB 32100: no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code_check_char(body: str) -> str:
    """The check character of an 8-character organisation code body (GB 11714).

    Each character counts as its value (digits as such, letters A=10 … Z=35), weighted
    3, 7, 9, 10, 5, 8, 4, 2; the check is 11 minus the sum mod 11, with 10 written as
    ``X`` and 11 as ``0``.
    """
    if len(body) != 8 or not all(c.isdigit() or "A" <= c <= "Z" for c in body):
        raise ValueError(f"an organisation code body is 8 digits or capitals, got {body!r}")
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def organisation_code_build(body: str) -> str:
    """A 9-character organisation code: the body and its check character."""
    return body + organisation_code_check_char(body)


def uscc_with_check_digit(first17: str) -> str:
    """Complete a 17-character credit code body with its GB 32100 check character."""
    return first17 + uscc.calc_check_digit(first17)


# ---------------------------------------------------------------------------------------
# E-certificate identifiers (GB/T 36904-2018 layout)

CERTIFICATE_ID_ROOT = "1.2.156.3005.2"
_CERTIFICATE_SEGMENT_RE = re.compile(r"[0-9A-Z]+", re.ASCII)


@dataclass(frozen=True)
class CertificateId:
    """``1.2.156.3005.2.<type>.<issuer USCC>.<serial>.<version>.<check>``."""

    type_segment: str
    issuer_uscc: str
    serial: str
    version: str

    @property
    def check(self) -> str:
        return str(
            mod_37_36.calc_check_digit(
                f"{self.type_segment}{self.issuer_uscc}{self.serial}{self.version}"
            )
        )

    def __str__(self) -> str:
        return ".".join(
            (
                CERTIFICATE_ID_ROOT,
                self.type_segment,
                self.issuer_uscc,
                self.serial,
                self.version,
                self.check,
            )
        )


def certificate_type_segment(type_code: str) -> str:
    """A certificate type code as the identifier's type segment: letters and digits only."""
    segment = re.sub(r"[^0-9A-Za-z]", "", type_code).upper()
    if not segment:
        raise ValueError(f"the type code {type_code!r} has no letters or digits")
    return segment


def certificate_id_build(
    *, type_code: str, issuer_uscc: str, serial: str, version: int = 1
) -> CertificateId:
    """The identifier of a certificate, with its ISO 7064 MOD 37,36 check character."""
    serial = serial.upper()
    if not _CERTIFICATE_SEGMENT_RE.fullmatch(serial):
        raise ValueError(f"the serial {serial!r} must be letters and digits")
    if not 1 <= version <= 999:
        raise ValueError("the version must be between 1 and 999")
    return CertificateId(
        type_segment=certificate_type_segment(type_code),
        issuer_uscc=uscc.validate(issuer_uscc),
        serial=serial,
        version=f"{version:03d}",
    )


def certificate_id_parse(value: str, *, field: str = "identifier") -> CertificateId:
    """Check a certificate identifier's layout, issuer code and check character."""
    text = _normalise(value or "").upper()
    prefix = f"{CERTIFICATE_ID_ROOT}."
    parts = text[len(prefix) :].split(".") if text.startswith(prefix) else []
    if len(parts) != 5 or not all(_CERTIFICATE_SEGMENT_RE.fullmatch(p) for p in parts):
        raise ValidationFailed.for_field(
            field,
            _("This is not an e-certificate identifier (1.2.156.3005.2.…)."),
            code="certificate_id_format",
        )
    type_segment, issuer, serial, version, check = parts
    if not uscc.is_valid(issuer):
        raise ValidationFailed.for_field(
            field,
            _("The issuer's credit code in this identifier is not valid."),
            code="certificate_id_issuer",
        )
    parsed = CertificateId(
        type_segment=type_segment, issuer_uscc=issuer, serial=serial, version=version
    )
    if len(check) != 1 or parsed.check != check:
        raise ValidationFailed.for_field(
            field,
            _("The check character of this identifier is wrong; please check it."),
            code="certificate_id_checksum",
        )
    return parsed
