"""The exchange log: append-only, hash-chained, its head signed now and then.

Every record's hash covers its content and the previous record's hash, so a change
anywhere breaks the chain from there on. An attacker who rewrites the chain from the
changed record to the end still cannot forge the signed checkpoints. Verification
(``log_verify``) recomputes every hash in one pass and names each finding: an altered
record, deleted records, an inserted record, records out of order, a checkpoint that no
longer matches.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from yiwang.core.hashchain import GENESIS_HASH, chain_hash
from yiwang.core.hashchain import value_text as _text
from yiwang.core.keyfiles import private_key_read, private_key_write
from yiwang.exchange.models import (
    ExchangeLogCheckpoint,
    ExchangeLogHead,
    ExchangeLogRecord,
)

# The hashed fields, in this order; ``seq`` is the position and is not hashed.
HASHED_FIELDS = (
    "created_at",
    "request_id",
    "consumer",
    "provider",
    "service",
    "purpose",
    "issue",
    "subject_digest",
    "subject_masked",
    "fields",
    "request_digest",
    "response_digest",
    "outcome",
    "status_code",
)


@dataclass(frozen=True)
class LogEntry:
    request_id: str
    consumer: str
    provider: str
    service: str
    purpose: str
    request_digest: str
    outcome: str
    status_code: int
    issue: str = ""
    subject_digest: str = ""
    subject_masked: str = ""
    fields: str = ""
    response_digest: str = ""


def record_hash(prev_hash: str, values: tuple[Any, ...]) -> str:
    """SHA-256 over the previous hash and the hashed fields (in ``HASHED_FIELDS`` order)."""
    return chain_hash(prev_hash, values)


def log_append(entry: LogEntry) -> ExchangeLogRecord:
    """Append one record at the end of the chain. Raises if it cannot be written."""
    now = timezone.now()
    with transaction.atomic():
        head = _head_locked()
        values = {name: getattr(entry, name) for name in HASHED_FIELDS if name != "created_at"}
        values["created_at"] = now
        digest = record_hash(head.record_hash, tuple(values[name] for name in HASHED_FIELDS))
        record = ExchangeLogRecord.objects.create(
            seq=head.seq + 1, prev_hash=head.record_hash, record_hash=digest, **values
        )
        head.seq = record.seq
        head.record_hash = digest
        head.save(update_fields=["seq", "record_hash"])
    if record.seq % settings.EXCHANGE_LOG_CHECKPOINT_EVERY == 0:
        log_checkpoint()
    return record


def _head_locked() -> ExchangeLogHead:
    head = ExchangeLogHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # First record ever (or after the table was emptied): start from the last record.
    last = ExchangeLogRecord.objects.order_by("-seq").values_list("seq", "record_hash").first()
    try:
        with transaction.atomic():
            ExchangeLogHead.objects.create(
                pk=1,
                seq=last[0] if last else 0,
                record_hash=last[1] if last else GENESIS_HASH,
            )
    except IntegrityError:
        pass  # created by a concurrent append
    return ExchangeLogHead.objects.select_for_update().get(pk=1)


# ---------------------------------------------------------------------------------------
# Signing the head


def _private_key() -> Ed25519PrivateKey:
    path = Path(settings.EXCHANGE_LOG_KEY_FILE)
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        private_key_write(path, key)
        return key
    loaded = private_key_read(path)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return loaded


def _key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _checkpoint_message(seq: int, digest: str, signed_at: datetime.datetime) -> bytes:
    return f"yiwang-exchange-log\n{seq}\n{digest}\n{_text(signed_at)}".encode()


def log_checkpoint() -> ExchangeLogCheckpoint | None:
    """Sign the current chain head (nothing to do if it is already signed or empty)."""
    head = ExchangeLogRecord.objects.order_by("-seq").values_list("seq", "record_hash").first()
    if head is None or ExchangeLogCheckpoint.objects.filter(seq=head[0]).exists():
        return None
    key = _private_key()
    signed_at = timezone.now()
    signature = key.sign(_checkpoint_message(head[0], head[1], signed_at))
    try:
        return ExchangeLogCheckpoint.objects.create(
            seq=head[0],
            record_hash=head[1],
            signed_at=signed_at,
            key_id=_key_id(key.public_key()),
            signature=base64.b64encode(signature).decode(),
        )
    except IntegrityError:
        return None  # signed concurrently


# ---------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class Finding:
    kind: str  # altered, deleted, inserted, reordered, checkpoint
    seq: int
    message: str


@dataclass
class VerifyResult:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    last_checkpoint_seq: int | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def unsealed(self) -> int:
        if self.last_seq is None:
            return 0
        return self.last_seq - (self.last_checkpoint_seq or 0)


_COLUMNS = ("seq", "prev_hash", "record_hash", *HASHED_FIELDS)


def _rows(chunk_size: int) -> Iterator[tuple[Any, ...]]:
    return ExchangeLogRecord.objects.order_by("seq").values_list(*_COLUMNS).iterator(chunk_size)


@dataclass
class _Break:
    seq: int  # the record whose link is broken
    wanted: str  # the hash it links to
    before_seq: int  # the record stored before it
    before_hash: str
    before_prev: str
    gap: bool


def log_verify(*, chunk_size: int = 10_000) -> VerifyResult:
    result = VerifyResult()
    breaks: list[_Break] = []
    previous: tuple[int, str, str] | None = None  # seq, record_hash, prev_hash
    for row in _rows(chunk_size):
        seq, prev_hash, stored_hash = row[0], row[1], row[2]
        result.records += 1
        if result.first_seq is None:
            result.first_seq = seq
        result.last_seq = seq
        if record_hash(prev_hash, row[3:]) != stored_hash:
            result.findings.append(
                Finding("altered", seq, f"record #{seq} was altered: it no longer matches its hash")
            )
        expected = previous[1] if previous else GENESIS_HASH
        if prev_hash != expected:
            breaks.append(
                _Break(
                    seq=seq,
                    wanted=prev_hash,
                    before_seq=previous[0] if previous else 0,
                    before_hash=previous[1] if previous else GENESIS_HASH,
                    before_prev=previous[2] if previous else "",
                    gap=previous is not None and seq != previous[0] + 1,
                )
            )
        previous = (seq, stored_hash, prev_hash)
    if breaks:
        result.findings.extend(_classify(breaks, chunk_size))
    _checkpoints_verify(result)
    result.findings.sort(key=lambda f: (f.seq, f.kind))
    return result


def _classify(breaks: list[_Break], chunk_size: int) -> list[Finding]:
    wanted = {b.wanted for b in breaks}
    befores = {b.before_hash for b in breaks}
    found_at: dict[str, int] = {}
    referenced: set[str] = set()
    for seq, prev_hash, stored_hash in (
        ExchangeLogRecord.objects.order_by("seq")
        .values_list("seq", "prev_hash", "record_hash")
        .iterator(chunk_size)
    ):
        if stored_hash in wanted:
            found_at[stored_hash] = seq
        if prev_hash in befores:
            referenced.add(prev_hash)
    findings: list[Finding] = []
    inserted: set[int] = set()
    for b in breaks:
        if b.wanted == GENESIS_HASH or b.wanted not in found_at:
            if b.gap:
                missing = f"#{b.before_seq + 1}–#{b.seq - 1}"
                findings.append(Finding("deleted", b.seq, f"records {missing} were deleted"))
            else:
                findings.append(
                    Finding(
                        "deleted",
                        b.seq,
                        f"the record that #{b.seq} follows is missing: deleted, or replaced "
                        f"by #{b.before_seq}",
                    )
                )
        elif b.before_hash not in referenced and b.before_prev == b.wanted:
            # The record stored before is linked to by nothing and links to what this one
            # links to: it was slipped in between.
            if b.before_seq not in inserted:
                inserted.add(b.before_seq)
                findings.append(
                    Finding("inserted", b.before_seq, f"record #{b.before_seq} was inserted")
                )
        else:
            findings.append(
                Finding(
                    "reordered",
                    b.seq,
                    f"record #{b.seq} is out of order: it follows #{found_at[b.wanted]} in "
                    "the chain",
                )
            )
    return findings


def _public_keys() -> dict[str, Ed25519PublicKey]:
    path = Path(settings.EXCHANGE_LOG_KEY_FILE)
    if not path.exists():
        return {}
    public = _private_key().public_key()
    return {_key_id(public): public}


def _checkpoints_verify(result: VerifyResult) -> None:
    keys = _public_keys()
    checkpoints = list(ExchangeLogCheckpoint.objects.order_by("seq"))
    hashes = dict(
        ExchangeLogRecord.objects.filter(seq__in=[c.seq for c in checkpoints]).values_list(
            "seq", "record_hash"
        )
    )
    for checkpoint in checkpoints:
        key = keys.get(checkpoint.key_id)
        try:
            if key is None:
                raise InvalidSignature
            key.verify(
                base64.b64decode(checkpoint.signature),
                _checkpoint_message(checkpoint.seq, checkpoint.record_hash, checkpoint.signed_at),
            )
        except (InvalidSignature, ValueError):
            result.findings.append(
                Finding(
                    "checkpoint",
                    checkpoint.seq,
                    f"the checkpoint at #{checkpoint.seq} has no valid signature of this "
                    "platform's log key",
                )
            )
            continue
        if hashes.get(checkpoint.seq) != checkpoint.record_hash:
            result.findings.append(
                Finding(
                    "checkpoint",
                    checkpoint.seq,
                    f"the log no longer matches the signed checkpoint at #{checkpoint.seq}: "
                    "records up to it were rewritten",
                )
            )
            continue
        result.checkpoints += 1
        result.last_checkpoint_seq = checkpoint.seq
