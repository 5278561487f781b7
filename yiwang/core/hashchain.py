"""Hash chains for append-only logs (the exchange log, the audit log).

Each entry's SHA-256 covers the previous entry's hash and the entry's values joined with
the ASCII unit separator, so a change anywhere breaks the chain from there on.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable
from typing import Any

GENESIS_HASH = "0" * 64
UNIT = "\x1f"  # ASCII unit separator: never in the values (they are single-line text)


def value_text(value: Any) -> str:
    """The text a value is hashed as: times in UTC to the microsecond, the rest as str."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    return str(value).replace(UNIT, " ")


def chain_hash(prev_hash: str, values: Iterable[Any]) -> str:
    """SHA-256 over the previous hash and the values, in the order given."""
    content = UNIT.join(value_text(v) for v in values)
    return hashlib.sha256(f"{prev_hash}{UNIT}{content}".encode()).hexdigest()
