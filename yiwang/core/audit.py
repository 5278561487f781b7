"""The audit log of administrative actions: append-only and hash-chained.

``audit_record`` appends one entry in the caller's transaction, so an action and its
entry are written together or not at all. Appends lock the one head row
(``select_for_update``), so concurrent appends on PostgreSQL queue up behind each other
and the chain never forks. ``audit_verify`` recomputes the chain and names the first
entry that breaks it.

Every change made through Django admin is recorded by ``admin_audit_install``, which
wraps the three ``ModelAdmin`` methods every admin page calls to write its own log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from yiwang.core.clients import client_address as request_client_address
from yiwang.core.hashchain import GENESIS_HASH, chain_hash
from yiwang.core.masking import redact_text
from yiwang.core.models import AuditEntry, AuditHead

# The hashed fields, in this order; ``seq`` is the position and is not hashed.
HASHED_FIELDS = (
    "created_at",
    "actor_id",
    "acting_for",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "detail",
    "client_address",
)


def _line(text: object, limit: int) -> str:
    """One line of text, personal identifiers masked, at most ``limit`` characters."""
    cleaned = "".join(c if c.isprintable() else " " for c in str(text))
    return redact_text(" ".join(cleaned.split()))[:limit]


def _canonical(detail: Mapping[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _hashed_values(entry: Mapping[str, Any]) -> list[Any]:
    values = dict(entry)
    values["actor_id"] = "" if values["actor_id"] is None else values["actor_id"]
    values["detail"] = _canonical(values["detail"])
    return [values[name] for name in HASHED_FIELDS]


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    detail: Mapping[str, Any] | None = None,
    acting_for: str = "",
    client_address: str = "",
) -> AuditEntry:
    """Append one entry: who (``actor``, a user or None for the system) did what to what.

    ``target`` fills the object's type, id and text. Keep personal identifiers out of
    ``detail``; ID and phone numbers in the texts are masked here all the same.
    """
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
        object_repr = object_repr or str(target)
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    # Stored and hashed as the JSON it reads back as.
    detail_json = json.loads(_canonical(dict(detail or {})))
    values: dict[str, Any] = {
        "actor_id": actor_id,
        "acting_for": _line(acting_for, 140),
        "action": _line(action, 64),
        "object_type": _line(object_type, 100),
        "object_id": _line(object_id, 64),
        "object_repr": _line(object_repr, 200),
        "detail": detail_json,
        "client_address": _line(client_address, 45),
    }
    with transaction.atomic():
        head = _head_locked()
        values["created_at"] = timezone.now()
        digest = chain_hash(head.entry_hash, _hashed_values(values))
        entry = AuditEntry.objects.create(
            seq=head.seq + 1, prev_hash=head.entry_hash, entry_hash=digest, **values
        )
        head.seq = entry.seq
        head.entry_hash = digest
        head.save(update_fields=["seq", "entry_hash"])
    return entry


def _head_locked() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # The first entry ever: start from the last entry, if any.
    last = AuditEntry.objects.order_by("-seq").values_list("seq", "entry_hash").first()
    try:
        with transaction.atomic():
            AuditHead.objects.create(
                pk=1, seq=last[0] if last else 0, entry_hash=last[1] if last else GENESIS_HASH
            )
    except IntegrityError:
        pass  # created by a concurrent append
    return AuditHead.objects.select_for_update().get(pk=1)


# ---------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class AuditBreak:
    seq: int
    kind: str  # altered, unlinked, missing, head
    message: str


@dataclass
class AuditVerifyResult:
    entries: int = 0
    last_seq: int = 0
    first_break: AuditBreak | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None


_COLUMNS = ("seq", "prev_hash", "entry_hash", *HASHED_FIELDS)


def _rows(chunk_size: int) -> Iterator[dict[str, Any]]:
    for row in AuditEntry.objects.order_by("seq").values_list(*_COLUMNS).iterator(chunk_size):
        yield dict(zip(_COLUMNS, row, strict=True))


def audit_verify(*, chunk_size: int = 10_000) -> AuditVerifyResult:
    """Recompute every hash and link in order; stop at the first entry that breaks."""
    result = AuditVerifyResult()
    previous_seq, previous_hash = 0, GENESIS_HASH
    for row in _rows(chunk_size):
        seq = row["seq"]
        result.entries += 1
        result.last_seq = seq
        if seq != previous_seq + 1:
            missing = f"#{previous_seq + 1}" + (f"–#{seq - 1}" if seq > previous_seq + 2 else "")
            result.first_break = AuditBreak(seq, "missing", f"entries {missing} were deleted")
            return result
        if row["prev_hash"] != previous_hash:
            result.first_break = AuditBreak(
                seq,
                "unlinked",
                f"entry #{seq} does not follow #{previous_seq}: an entry was deleted, "
                "inserted or replaced here",
            )
            return result
        if chain_hash(row["prev_hash"], _hashed_values(row)) != row["entry_hash"]:
            result.first_break = AuditBreak(
                seq, "altered", f"entry #{seq} was altered: it no longer matches its hash"
            )
            return result
        previous_seq, previous_hash = seq, row["entry_hash"]
    head = AuditHead.objects.filter(pk=1).values_list("seq", "entry_hash").first()
    if head is not None and head != (previous_seq, previous_hash):
        result.first_break = AuditBreak(
            previous_seq + 1 if head[0] > previous_seq else previous_seq,
            "head",
            f"the log ends at #{previous_seq} but its head names #{head[0]}: entries at the "
            "end were deleted, or added without the head",
        )
    return result


# ---------------------------------------------------------------------------------------
# Django admin


def _admin_change_detail(message: Any) -> dict[str, Any]:
    """The changed fields from an admin change message, never the changed values."""
    if isinstance(message, list):
        changes = []
        for part in message:
            for verb, info in part.items():
                change: dict[str, Any] = {"verb": str(verb)}
                if isinstance(info, dict):
                    if info.get("name"):
                        change["model"] = str(info["name"])
                    if info.get("fields"):
                        change["fields"] = [str(name) for name in info["fields"]]
                changes.append(change)
        return {"changes": changes}
    if message:
        return {"message": _line(message, 500)}
    return {}


def _admin_record(
    request: HttpRequest, action: str, obj: models.Model, message: Any = None
) -> None:
    audit_record(
        actor=request.user,
        action=action,
        target=obj,
        detail=_admin_change_detail(message),
        client_address=request_client_address(request),
    )


def admin_audit_install() -> None:
    """Record every add, change and delete made through any ``ModelAdmin`` in the log.

    Wraps the base class's own logging methods (rather than a mixin each admin must
    remember): admins of other packages are covered too. Idempotent.
    """
    from django.contrib.admin import ModelAdmin

    if getattr(ModelAdmin, "_yiwang_audited", False):
        return
    log_addition = ModelAdmin.log_addition
    log_change = ModelAdmin.log_change
    log_deletions = ModelAdmin.log_deletions

    def audited_addition(self: Any, request: HttpRequest, obj: Any, message: Any) -> Any:
        logged = log_addition(self, request, obj, message)
        _admin_record(request, "admin.add", obj, message)
        return logged

    def audited_change(self: Any, request: HttpRequest, obj: Any, message: Any) -> Any:
        logged = log_change(self, request, obj, message)
        _admin_record(request, "admin.change", obj, message)
        return logged

    def audited_deletions(self: Any, request: HttpRequest, queryset: Any) -> Any:
        # Called before the deletion: the objects are still there to be named.
        objects = list(queryset)  # evaluated once: the log below reads the same objects
        logged = log_deletions(self, request, queryset)
        for obj in objects:
            _admin_record(request, "admin.delete", obj)
        return logged

    ModelAdmin.log_addition = audited_addition  # type: ignore[method-assign]
    ModelAdmin.log_change = audited_change  # type: ignore[method-assign]
    ModelAdmin.log_deletions = audited_deletions  # type: ignore[method-assign]
    ModelAdmin._yiwang_audited = True  # type: ignore[attr-defined]
