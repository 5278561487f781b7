"""Use cases of the data exchange: systems, grants, consent, and every governed read.

``exchange_fetch`` is the one way any module or department system reads another
department's data. It checks, in order: the request, the consumer, the service, the
consumer's rate, the grant (field by field), the data subject's consent; then asks the
provider, keeps only the granted fields, masks them by policy and appends the exchange
to the log. Refusals are logged too. If the log cannot be written, no data leaves.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import secrets
import time
import tomllib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc

from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.exchange import selectors
from yiwang.exchange.log import LogEntry, log_append
from yiwang.exchange.models import (
    AccessGrant,
    Consent,
    ConsumerRateWindow,
    ConsumerSystem,
    DataResource,
    DataResourceField,
    SharingType,
    SubjectKind,
)
from yiwang.exchange.providers import (
    ProviderError,
    ProviderTimeout,
    UnknownProviderService,
    provider_for,
)
from yiwang.identity.models import Department, StaffRole, User

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "ywx_"  # noqa: S105 - a prefix, not a secret
MAX_GRANT_DAYS = 3 * 366
MAX_CONSENT_DAYS = 366


# ---------------------------------------------------------------------------------------
# Errors, in the X-Road style: a type, a message, and the HTTP status


class ExchangeError(Exception):
    type = "Server.ServerProxy.InternalError"
    status = 500

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BadRequest(ExchangeError):
    type = "Client.BadRequest"
    status = 400


class Unauthenticated(ExchangeError):
    type = "Client.Unauthenticated"
    status = 401


class AccessDenied(ExchangeError):
    type = "Server.ServerProxy.AccessDenied"
    status = 403


class ConsentRequired(ExchangeError):
    type = "Server.ServerProxy.ConsentRequired"
    status = 403


class UnknownService(ExchangeError):
    type = "Server.ServerProxy.UnknownService"
    status = 404


class RateLimited(ExchangeError):
    type = "Server.ServerProxy.RateLimitExceeded"
    status = 429


class ServiceFailed(ExchangeError):
    type = "Server.ServerProxy.ServiceFailed"
    status = 502


class LogWriteFailed(ExchangeError):
    type = "Server.ServerProxy.LogWriteFailed"
    status = 503


class ServiceTimeout(ExchangeError):
    type = "Server.ServerProxy.ServiceTimeout"
    status = 504


# ---------------------------------------------------------------------------------------
# Helpers


def subject_digest(subject: str) -> str:
    """A keyed digest of a data subject's identifier: finds her records, reveals nothing."""
    return salted_hmac("yiwang.exchange.subject", subject.upper()).hexdigest()


def _canonical_digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def mask_value(value: Any, mask: str) -> Any:
    if value is None or value == "":
        return value
    text = str(value)
    if mask == DataResourceField.Mask.ID_NUMBER:
        return mask_id_number(text)
    if mask == DataResourceField.Mask.NAME:
        return mask_name(text)
    if mask == DataResourceField.Mask.PHONE:
        return mask_phone(text)
    if mask == DataResourceField.Mask.TAIL:
        return "*" * max(len(text) - 4, 0) + text[-4:]
    if mask == DataResourceField.Mask.REDACT:
        return "***"
    return value


# A trip: the train, flight or coach number (letters and digits, at least one digit), then
# "@" and the day of travel: "G1234@2026-11-20", "CA1234@2026-11-20", "3U8888@2026-11-20".
TRIP_SUBJECT_RE = re.compile(r"(?=[A-Z0-9]*[0-9])([A-Z0-9]{2,10})@([0-9]{4}-[0-9]{2}-[0-9]{2})")
SUBJECT_DESCRIPTIONS: dict[str, str] = {
    SubjectKind.PERSON: "resident ID number",
    SubjectKind.ORGANISATION: "unified social credit code",
    SubjectKind.TRIP: "trip: train, flight or coach number @ day of travel (G1234@2026-11-20)",
}

# How a refusal names what the subject must be.
SUBJECT_REFUSALS: dict[str, str] = {
    SubjectKind.ORGANISATION: "credit code",
    SubjectKind.TRIP: SUBJECT_DESCRIPTIONS[SubjectKind.TRIP],
}


def trip_subject_parse(subject: str) -> tuple[str, datetime.date] | None:
    """The trip number and day of a trip subject, or None when it is not one."""
    match = TRIP_SUBJECT_RE.fullmatch(subject)
    if match is None:
        return None
    try:
        return match[1], datetime.date.fromisoformat(match[2])
    except ValueError:
        return None


def _subject_valid(kind: str, subject: str) -> bool:
    # Format, check character and birth date only: the registry itself says whether the
    # subject exists (stdnum's table of birth places rejects codes valid in some years).
    if kind == SubjectKind.ORGANISATION:
        return bool(uscc.is_valid(subject))
    if kind == SubjectKind.TRIP:
        return trip_subject_parse(subject) is not None
    if len(subject) != 18 or not subject[:17].isascii() or not subject[:17].isdigit():
        return False
    if subject[17] != ric.calc_check_digit(subject):
        return False
    try:
        ric.get_birth_date(subject)
    except ValueError:
        return False
    return True


def _is_officer(user: User, department: Department) -> bool:
    return StaffRole.objects.filter(
        user=user,
        department=department,
        role__in=[StaffRole.Role.DATA_OFFICER, StaffRole.Role.DEPARTMENT_ADMIN],
        department__is_active=True,
    ).exists()


# ---------------------------------------------------------------------------------------
# The governed read


@dataclass(frozen=True)
class ExchangeResult:
    request_id: str
    records: list[dict[str, Any]]
    fields: list[str]
    log_seq: int


@dataclass(frozen=True)
class ExchangeRequest:
    service: str
    subject: str
    purpose: str
    fields: Sequence[str] | None = None
    issue: str = ""
    provider: str | None = None  # the provider department named in the service id, if any
    request_id: str = ""
    request_digest: str = ""
    # The data subject herself asked for this read (her own form, prefilled while she is
    # logged in): her request is her consent. Set only by in-process callers acting on the
    # authenticated subject's own request, never from the gateway.
    requested_by_subject: bool = False


def exchange_fetch(
    *, consumer: ConsumerSystem | None, request: ExchangeRequest, consumer_label: str = ""
) -> ExchangeResult:
    """Read a subject's records from a provider, governed and logged (see module docs).

    ``consumer`` is None when the caller could not be authenticated; ``consumer_label``
    then says who it claimed to be, for the log.
    """
    request_id = request.request_id or uuid.uuid4().hex
    request_digest = request.request_digest or _canonical_digest(
        {
            "consumer": str(consumer) if consumer else consumer_label,
            "service": request.service,
            "subject": request.subject,
            "purpose": request.purpose,
            "fields": list(request.fields) if request.fields is not None else None,
            "issue": request.issue,
        }
    )
    entry = {
        "request_id": request_id,
        "consumer": str(consumer) if consumer else (consumer_label or "unknown")[:140],
        "provider": request.provider or "",
        "service": request.service[:60],
        "purpose": request.purpose[:200],
        "issue": request.issue[:64],
        "request_digest": request_digest,
    }
    try:
        resource, fields, grant, subject = _authorise(consumer, request, entry)
        records = _provider_read(resource, subject)
        masks = {f.name: f.mask for f in resource.fields.all()}
        clear = set(grant.clear_fields)
        shaped = [
            {
                name: (
                    record.get(name)
                    if name in clear
                    else mask_value(record.get(name), masks.get(name, "none"))
                )
                for name in fields
            }
            for record in records
        ]
    except ExchangeError as exc:
        _log(LogEntry(outcome=exc.type, status_code=exc.status, **entry))
        raise
    record = _log(
        LogEntry(
            outcome="ok",
            status_code=200,
            fields=",".join(fields)[:500],
            response_digest=_canonical_digest(shaped),
            **entry,
        )
    )
    return ExchangeResult(request_id=request_id, records=shaped, fields=fields, log_seq=record.seq)


def exchange_refusal_log(
    *,
    error: ExchangeError,
    consumer_label: str,
    provider: str,
    service: str,
    purpose: str,
    request_id: str,
    request_digest: str,
) -> None:
    """Log a request the gateway refused before it became an exchange (wrong method …)."""
    _log(
        LogEntry(
            request_id=request_id,
            consumer=(consumer_label or "unknown")[:140],
            provider=provider[:64],
            service=service[:60],
            purpose=purpose[:200],
            request_digest=request_digest,
            outcome=error.type,
            status_code=error.status,
        )
    )


def _log(entry: LogEntry) -> Any:
    try:
        return log_append(entry)
    except DatabaseError as exc:
        logger.exception("The exchange log could not be written (request %s)", entry.request_id)
        raise LogWriteFailed("the exchange could not be logged, so no data was released") from exc


def _authorise(
    consumer: ConsumerSystem | None, request: ExchangeRequest, entry: dict[str, Any]
) -> tuple[DataResource, list[str], AccessGrant, str]:
    if consumer is None or not consumer.is_active or not consumer.department.is_active:
        raise Unauthenticated("unknown or inactive consumer system")
    purpose = request.purpose.strip()
    if not purpose:
        raise BadRequest("a purpose is required (X-Road-Purpose)")
    if len(purpose) > 200:
        raise BadRequest("the purpose is longer than 200 characters")
    resource = _resource_cached(request.service)
    if resource is None or (request.provider and resource.provider.code != request.provider):
        raise UnknownService(f"no service {request.service!r} at this provider")
    entry["provider"] = resource.provider.code
    subject = request.subject.strip().upper()
    if not _subject_valid(resource.subject_kind, subject):
        raise BadRequest(
            "the subject must be a valid "
            + SUBJECT_REFUSALS.get(resource.subject_kind, "ID number")
        )
    entry["subject_digest"] = subject_digest(subject)
    # A trip is no one's personal data: it is logged as it is.
    entry["subject_masked"] = (
        subject if resource.subject_kind == SubjectKind.TRIP else mask_id_number(subject)
    )
    if resource.sharing_type == SharingType.NOT_SHARED:
        raise AccessDenied(f"{resource.code} is not shared")
    _rate_check(consumer)
    now = timezone.now()
    grant = selectors.grants_active(consumer, at=now).filter(resource=resource).first()
    if grant is None:
        raise AccessDenied(f"{consumer} has no valid grant for {resource.code}")
    known = {f.name for f in resource.fields.all()}
    wanted = list(request.fields) if request.fields else list(grant.fields)
    unknown = [f for f in wanted if f not in known]
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(unknown)}")
    outside = [f for f in wanted if f not in grant.fields]
    if outside:
        raise AccessDenied(f"fields outside the grant: {', '.join(outside)}")
    if (
        resource.requires_consent
        and resource.subject_kind == SubjectKind.PERSON
        and not request.requested_by_subject
        and not _consented(consumer.department, resource, subject, now)
    ):
        raise ConsentRequired(
            f"the data subject has not consented to {consumer.department.code} "
            f"reading {resource.code}"
        )
    return resource, wanted, grant, subject


# The catalogue changes only when it is loaded: each process keeps what it read for a
# minute (grants and consents, which change any time, are always read afresh).
RESOURCE_CACHE_SECONDS = 60
_resource_cache: dict[str, tuple[float, DataResource | None]] = {}


def resource_cache_clear() -> None:
    _resource_cache.clear()


def data_resource_cached(code: str) -> DataResource | None:
    """An active data resource with its provider and fields, cached for a short while."""
    return _resource_cached(code)


def _resource_cached(code: str) -> DataResource | None:
    now = time.monotonic()
    hit = _resource_cache.get(code)
    if hit is not None and now - hit[0] < RESOURCE_CACHE_SECONDS:
        return hit[1]
    resource = (
        DataResource.objects.select_related("provider")
        .prefetch_related("fields")
        .filter(code=code, is_active=True)
        .first()
    )
    if len(_resource_cache) > 1000:
        _resource_cache.clear()
    _resource_cache[code] = (now, resource)
    return resource


def _consented(
    department: Department, resource: DataResource, subject: str, now: datetime.datetime
) -> bool:
    return Consent.objects.filter(
        subject__id_number=subject,
        department=department,
        resources=resource,
        revoked_at__isnull=True,
        given_at__lte=now,
        expires_at__gt=now,
    ).exists()


def _rate_check(consumer: ConsumerSystem) -> None:
    # One statement counts the request in the consumer's current minute (its own short
    # transaction: the count stands even when the exchange is refused later).
    window = int(timezone.now().timestamp() // 60)
    table = ConsumerRateWindow._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (consumer_id, "window", count) VALUES (%s, %s, 1) '  # noqa: S608
            f'ON CONFLICT (consumer_id, "window") DO UPDATE SET count = "{table}".count + 1 '
            "RETURNING count",
            [consumer.pk, window],
        )
        (count,) = cursor.fetchone()
        if count == 1:  # first request of a minute: forget the old minutes
            ConsumerRateWindow.objects.filter(consumer=consumer, window__lt=window - 1).delete()
    if count > consumer.rate_limit_per_minute:
        raise RateLimited(f"more than {consumer.rate_limit_per_minute} requests a minute")


def _provider_read(resource: DataResource, subject: str) -> list[dict[str, Any]]:
    try:
        return provider_for(resource.provider.code).records_get(
            service=resource.code, subject=subject
        )
    except ProviderTimeout as exc:
        raise ServiceTimeout(f"the provider did not answer in time: {exc}") from exc
    except UnknownProviderService as exc:
        raise ServiceFailed("the provider does not offer this service") from exc
    except ProviderError as exc:
        raise ServiceFailed(f"the provider failed: {exc}") from exc


# The platform's staff workbench, as each department's consumer system: what staff read
# about an applicant while processing an application goes through it.
WORKBENCH_SYSTEM = "yiwang-workbench"


def workbench_consumer(department: Department) -> ConsumerSystem:
    """The department's workbench system (created on first use, without a gateway token).

    Like any other system it reads only what the provider has granted it: the
    department's data officer asks for grants on the exchange pages.
    """
    system, _created = ConsumerSystem.objects.select_related("department").get_or_create(
        department=department,
        code=WORKBENCH_SYSTEM,
        defaults={"name": "一网通办审批工作台"},
    )
    return system


def platform_consumer(code: str) -> ConsumerSystem:
    """The consumer system of one of the platform's own modules (``yiwang-identity`` …)."""
    system = (
        ConsumerSystem.objects.select_related("department")
        .filter(department__code=settings.EXCHANGE_PLATFORM_DEPARTMENT, code=code)
        .first()
    )
    if system is None:
        raise ExchangeError(
            f"the platform system {code!r} is not registered: run catalog_load (or demo_load)"
        )
    return system


# ---------------------------------------------------------------------------------------
# Consumer systems


def consumer_system_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def consumer_system_create(
    *, actor: User, department: Department, code: str, name: str, rate_limit_per_minute: int = 600
) -> tuple[ConsumerSystem, str]:
    """Register a department's system; its access token is returned once."""
    if not _is_officer(actor, department):
        raise PermissionDenied(_("Only the department's data officer may register systems."))
    code = (code or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,59}", code):
        errors["code"] = [_("Use 2–60 lowercase letters, digits and hyphens.")]
    elif ConsumerSystem.objects.filter(department=department, code=code).exists():
        errors["code"] = [_("This department already has a system with this code.")]
    if not (name or "").strip():
        errors["name"] = [_("This field is required.")]
    if not 1 <= rate_limit_per_minute <= 100_000:
        errors["rate_limit_per_minute"] = [_("Between 1 and 100,000.")]
    if errors:
        raise ValidationFailed(fields=errors)
    token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
    system = ConsumerSystem.objects.create(
        department=department,
        code=code,
        name=name.strip()[:100],
        token_hash=consumer_system_token_hash(token),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    return system, token


def consumer_system_authenticate(*, client: str, token: str) -> ConsumerSystem | None:
    """The system named by an X-Road-Client identifier, if the token is its own."""
    parts = client.split("/")
    if len(parts) != 4 or parts[0] != settings.EXCHANGE_INSTANCE or parts[1] != "GOV":
        return None
    if not token:
        return None
    system = (
        ConsumerSystem.objects.select_related("department")
        .filter(department__code=parts[2], code=parts[3], is_active=True)
        .first()
    )
    if system is None or not system.token_hash:
        return None
    if not secrets.compare_digest(system.token_hash, consumer_system_token_hash(token)):
        return None
    return system


# ---------------------------------------------------------------------------------------
# Grants


def access_grant_request(
    *,
    actor: User,
    consumer: ConsumerSystem,
    resource: DataResource,
    fields: Sequence[str],
    purpose: str,
    legal_basis: str,
    duration_days: int,
    clear_fields: Sequence[str] = (),
) -> AccessGrant:
    """A consumer department's data officer asks to read fields of a resource.

    Unconditionally shared resources are granted at once; the others wait for the
    provider's data officer.
    """
    if not _is_officer(actor, consumer.department):
        raise PermissionDenied(_("Only the consumer department's data officer may ask."))
    known = {f.name: f for f in resource.fields.all()}
    errors: dict[str, list[str]] = {}
    if not resource.is_active:
        errors["resource"] = [_("This resource is not available.")]
    elif resource.sharing_type == SharingType.NOT_SHARED:
        errors["resource"] = [_("This resource is not shared with other departments.")]
    field_list = list(dict.fromkeys(fields))
    if not field_list:
        errors["fields"] = [_("Choose at least one field.")]
    elif unknown := [f for f in field_list if f not in known]:
        errors["fields"] = [_("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)}]
    clear_list = list(dict.fromkeys(clear_fields))
    if outside := [f for f in clear_list if f not in field_list]:
        errors["clear_fields"] = [
            _("Fields in clear must be among the requested fields: %(names)s.")
            % {"names": ", ".join(outside)}
        ]
    if not purpose.strip():
        errors["purpose"] = [_("This field is required.")]
    elif len(purpose) > 200:
        errors["purpose"] = [_("At most 200 characters.")]
    if not legal_basis.strip():
        errors["legal_basis"] = [_("This field is required.")]
    elif len(legal_basis) > 300:
        errors["legal_basis"] = [_("At most 300 characters.")]
    if not 1 <= duration_days <= MAX_GRANT_DAYS:
        errors["duration_days"] = [_("Between 1 and %(days)s days.") % {"days": MAX_GRANT_DAYS}]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        grant = AccessGrant.objects.create(
            consumer=consumer,
            resource=resource,
            fields=field_list,
            clear_fields=clear_list,
            purpose=purpose.strip(),
            legal_basis=legal_basis.strip(),
            duration_days=duration_days,
            requested_by=actor,
        )
        if resource.sharing_type == SharingType.UNCONDITIONAL and not clear_list:
            _approve(grant, by=None, comment=_("Shared unconditionally"))
    return grant


def _approve(grant: AccessGrant, *, by: User | None, comment: str) -> None:
    now = timezone.now()
    grant.status = AccessGrant.Status.APPROVED
    grant.decided_by = by
    grant.decided_at = now
    grant.decision_comment = comment[:300]
    grant.valid_from = now
    grant.expires_at = now + datetime.timedelta(days=grant.duration_days)
    grant.save()


def access_grant_decide(
    *, actor: User, grant: AccessGrant, approve: bool, comment: str = ""
) -> AccessGrant:
    """The provider department's data officer approves or denies a request."""
    if not _is_officer(actor, grant.resource.provider):
        raise PermissionDenied(_("Only the provider department's data officer may decide."))
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationFailed.for_field("comment", _("Please give the reason for the denial."))
    with transaction.atomic():
        locked = AccessGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.status != AccessGrant.Status.REQUESTED:
            raise Conflict(_("This request has already been decided."))
        if approve:
            _approve(locked, by=actor, comment=comment)
        else:
            locked.status = AccessGrant.Status.DENIED
            locked.decided_by = actor
            locked.decided_at = timezone.now()
            locked.decision_comment = comment[:300]
            locked.save()
    return locked


def access_grant_revoke(*, actor: User, grant: AccessGrant) -> AccessGrant:
    """Either side's data officer ends an approved grant at once."""
    if not (
        _is_officer(actor, grant.resource.provider) or _is_officer(actor, grant.consumer.department)
    ):
        raise PermissionDenied(_("Only the data officers of the two departments may revoke."))
    with transaction.atomic():
        locked = AccessGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.status != AccessGrant.Status.APPROVED:
            raise Conflict(_("Only an approved grant can be revoked."))
        locked.status = AccessGrant.Status.REVOKED
        locked.revoked_by = actor
        locked.revoked_at = timezone.now()
        locked.save()
    return locked


# ---------------------------------------------------------------------------------------
# Consent


def consent_give(
    *,
    subject: User,
    department: Department,
    resources: Sequence[DataResource],
    purpose: str,
    days: int,
    reference: str = "",
) -> Consent:
    """A citizen lets a department read her data in these resources for a purpose."""
    if not subject.id_number:
        raise PermissionDenied(_("Verify your real name first."))
    errors: dict[str, list[str]] = {}
    if not resources:
        errors["resources"] = [_("Choose at least one kind of data.")]
    if not purpose.strip():
        errors["purpose"] = [_("This field is required.")]
    if not 1 <= days <= MAX_CONSENT_DAYS:
        errors["days"] = [_("Between 1 and %(days)s days.") % {"days": MAX_CONSENT_DAYS}]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        consent = Consent.objects.create(
            subject=subject,
            department=department,
            purpose=purpose.strip()[:200],
            reference=reference[:64],
            expires_at=timezone.now() + datetime.timedelta(days=days),
        )
        consent.resources.set(resources)
    return consent


def consents_close(*, subject: User, department: Department, reference: str) -> int:
    """End the consents given for one matter (an application that has closed)."""
    if not reference:
        return 0
    return Consent.objects.filter(
        subject=subject,
        department=department,
        reference=reference,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(expires_at=timezone.now())


def consent_revoke(*, subject: User, consent: Consent) -> Consent:
    if consent.subject_id != subject.pk:
        raise NotFound()
    updated = Consent.objects.filter(pk=consent.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    consent.refresh_from_db()
    if not updated:
        raise Conflict(_("This consent has already been revoked."))
    return consent


# ---------------------------------------------------------------------------------------
# Loading the resource catalogue


@dataclass(frozen=True)
class ResourceLoadCounts:
    resources: int
    fields: int
    systems: int
    grants: int


SYSTEM_KEYS = frozenset(["code", "name", "department_kind", "grants"])


def data_resources_load(*, path: Path) -> ResourceLoadCounts:
    """Load the resource catalogue, the platform's own systems and their standing grants.

    Idempotent: resources and fields are updated in place; a standing grant is created
    only when the system has no active grant for the resource.
    """
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    departments = {d.code: d for d in Department.objects.all()}
    problems: dict[str, list[str]] = {}
    for spec in data.get("resource", []):
        if spec["provider"] not in departments:
            problems.setdefault(spec["code"], []).append(
                f"unknown provider department {spec['provider']}"
            )
    platform = departments.get(settings.EXCHANGE_PLATFORM_DEPARTMENT)
    systems_specs = data.get("platform_system", [])
    if any("department_kind" not in spec for spec in systems_specs) and platform is None:
        problems.setdefault("platform", []).append(
            f"the platform department {settings.EXCHANGE_PLATFORM_DEPARTMENT} does not exist"
        )
    for spec in systems_specs:
        kind = spec.get("department_kind")
        if kind is not None and kind not in Department.Kind.values:
            problems.setdefault(spec["code"], []).append(f"unknown kind of department {kind}")
        # A misspelt key would quietly make the system the platform department's.
        for key in sorted(set(spec) - SYSTEM_KEYS):
            problems.setdefault(spec["code"], []).append(f"unknown key {key}")
    if problems:
        raise ValidationFailed(fields=problems)
    counts = {"resources": 0, "fields": 0, "systems": 0, "grants": 0}
    with transaction.atomic():
        resources: dict[str, DataResource] = {}
        for spec in data.get("resource", []):
            resource, _created = DataResource.objects.update_or_create(
                code=spec["code"],
                defaults={
                    "name": spec["name"],
                    "description": spec["description"],
                    "provider": departments[spec["provider"]],
                    "sharing_type": spec["sharing"],
                    "subject_kind": spec["subject"],
                    "requires_consent": spec.get("consent", False),
                    "update_frequency": spec["frequency"],
                    "legal_basis": spec.get("legal_basis", ""),
                },
            )
            resources[resource.code] = resource
            counts["resources"] += 1
            for order, field_spec in enumerate(spec["fields"]):
                DataResourceField.objects.update_or_create(
                    resource=resource,
                    name=field_spec["name"],
                    defaults={
                        "label": field_spec["label"],
                        "data_type": field_spec.get("type", "string"),
                        "sensitivity": field_spec["sensitivity"],
                        "personal": field_spec.get("personal", False),
                        "mask": field_spec.get("mask", "none"),
                        "order": order,
                    },
                )
                counts["fields"] += 1
        systems: dict[str, ConsumerSystem] = {}
        for spec in systems_specs:
            # A platform module that each department of a kind runs (its workbench) names
            # the kind: every active department of it gets the system and the grants.
            if "department_kind" in spec:
                owners = sorted(
                    (
                        d
                        for d in departments.values()
                        if d.kind == spec["department_kind"] and d.is_active
                    ),
                    key=lambda d: d.code,
                )
            else:
                owners = [platform] if platform is not None else []
            for department in owners:
                system, _created = ConsumerSystem.objects.update_or_create(
                    department=department, code=spec["code"], defaults={"name": spec["name"]}
                )
                systems[f"{department.code}/{system.code}"] = system
                counts["systems"] += 1
                for grant_spec in spec.get("grants", []):
                    grant = access_grant_standing(
                        consumer=system,
                        resource=resources[grant_spec["resource"]],
                        fields=grant_spec["fields"],
                        clear_fields=grant_spec.get("clear_fields", []),
                        purpose=grant_spec["purpose"],
                        legal_basis=grant_spec["legal_basis"],
                        days=grant_spec.get("days", MAX_GRANT_DAYS),
                        comment="standing grant of the platform",
                    )
                    counts["grants"] += grant is not None
    resource_cache_clear()
    return ResourceLoadCounts(**counts)


def access_grant_standing(
    *,
    consumer: ConsumerSystem,
    resource: DataResource,
    fields: Sequence[str],
    clear_fields: Sequence[str],
    purpose: str,
    legal_basis: str,
    days: int,
    comment: str,
) -> AccessGrant | None:
    """A grant set up by configuration rather than requested (the platform's own systems,
    demo data), approved at once; None when the consumer already has one in force."""
    if selectors.grants_active(consumer).filter(resource=resource).exists():
        return None
    grant = AccessGrant.objects.create(
        consumer=consumer,
        resource=resource,
        fields=list(fields),
        clear_fields=list(clear_fields),
        purpose=purpose,
        legal_basis=legal_basis,
        duration_days=days,
        requested_by=None,
    )
    _approve(grant, by=None, comment=comment)
    return grant


def resource_openapi(resource: DataResource) -> dict[str, Any]:
    """The OpenAPI 3 description of a resource's gateway service."""
    types = {
        "string": "string",
        "date": "string",
        "datetime": "string",
        "integer": "integer",
        "boolean": "boolean",
        "decimal": "string",
    }
    properties: dict[str, Mapping[str, Any]] = {}
    for f in resource.fields.all():
        prop: dict[str, Any] = {"type": types.get(f.data_type, "string"), "title": f.label}
        if f.data_type in ("date", "datetime"):
            prop["format"] = "date" if f.data_type == "date" else "date-time"
        prop["x-sensitivity"] = f.sensitivity
        prop["x-personal"] = f.personal
        prop["x-mask"] = f.mask
        properties[f.name] = prop
    path = (
        f"/r1/{settings.EXCHANGE_INSTANCE}/GOV/{resource.provider.code}/"
        f"{resource.subsystem}/{resource.code}"
    )
    subject = SUBJECT_DESCRIPTIONS.get(resource.subject_kind, "resident ID number")
    return {
        "openapi": "3.0.3",
        "info": {"title": resource.name, "description": resource.description, "version": "1"},
        "paths": {
            path: {
                "get": {
                    "operationId": resource.code,
                    "summary": resource.name,
                    "parameters": [
                        {
                            "name": "subject",
                            "in": "query",
                            "required": True,
                            "description": f"the data subject's {subject}",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "fields",
                            "in": "query",
                            "required": False,
                            "description": "comma-separated fields (default: all granted)",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "X-Road-Client",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "X-Road-Purpose",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "X-Road-Issue",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the subject's records, granted fields only",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "records": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": properties,
                                                },
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "default": {"description": "an error: {type, message, detail}"},
                    },
                }
            }
        },
    }
