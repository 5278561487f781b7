"""Masking of personal identifiers for display.

The full value is shown only where it is needed; everywhere else a masked form that
still lets its owner recognise it.
"""

from __future__ import annotations

import ipaddress
import re


def mask_id_number(value: str | None) -> str:
    """3301**********123X: region prefix and the last four characters."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****0001."""
    if not value:
        return ""
    # Seven characters or fewer would show whole once the first three and last four are kept.
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """张* / 欧*** : the first character of the name, and a star for each of the others."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)


# Resident ID numbers (18 chars, last may be X) and mainland mobile numbers, anywhere in text.
_ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# A mobile number may carry the country code (+86, 0086 or 86) written against it.
_PHONE_RE = re.compile(r"(?<!\d)(?P<cc>(?:\+|00)?86)?(?P<number>1[3-9]\d{9})(?!\d)")


def redact_text(text: str) -> str:
    """Mask every resident ID number and mobile number found in free text."""
    text = _ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: (m["cc"] or "") + mask_phone(m["number"]), text)


def mask_ip_address(value: str | None) -> str:
    """203.0.113.* / 2001:db8:85a3:*: the network part of a client address, not the host."""
    if not value:
        return ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".*"
    # Keep the first three groups (a /48, typically one site), hide the rest.
    groups = address.exploded.split(":")[:3]
    return ":".join(group.lstrip("0") or "0" for group in groups) + ":*"
