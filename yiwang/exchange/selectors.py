"""Reads of the exchange, scoped to who asks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from yiwang.exchange.models import (
    AccessGrant,
    Consent,
    ConsumerSystem,
    DataResource,
    DataResourceField,
    ExchangeLogRecord,
    PopulationRecord,
)
from yiwang.identity.models import Department, StaffRole, User


def data_resources_listed() -> QuerySet[DataResource]:
    """The catalogue as every department sees it."""
    return (
        DataResource.objects.filter(is_active=True)
        .select_related("provider")
        .prefetch_related("fields")
    )


def data_resource_get(code: str) -> DataResource | None:
    return data_resources_listed().filter(code=code).first()


def data_resource_fields() -> dict[str, list[str]]:
    """Every active resource's code and field names, in order."""
    active = DataResource.objects.filter(is_active=True)
    fields: dict[str, list[str]] = {code: [] for code in active.values_list("code", flat=True)}
    rows = DataResourceField.objects.filter(resource__is_active=True).order_by("resource", "order")
    for code, name in rows.values_list("resource__code", "name"):
        fields[code].append(name)
    return fields


def data_resources_of_provider(department_code: str, subsystem: str) -> QuerySet[DataResource]:
    """The services one provider subsystem offers (the gateway's ``listMethods``)."""
    return data_resources_listed().filter(provider__code=department_code, subsystem=subsystem)


def grants_active(
    consumer: ConsumerSystem, *, at: datetime.datetime | None = None
) -> QuerySet[AccessGrant]:
    """The consumer's approved grants in force at the moment (now by default)."""
    moment = at or timezone.now()
    return AccessGrant.objects.filter(
        consumer=consumer,
        status=AccessGrant.Status.APPROVED,
        valid_from__lte=moment,
        expires_at__gt=moment,
    )


def consumer_system_get(department_code: str, code: str) -> ConsumerSystem | None:
    return (
        ConsumerSystem.objects.select_related("department")
        .filter(department__code=department_code, code=code)
        .first()
    )


def officer_departments(user: User) -> QuerySet[Department]:
    """The departments whose data officer (or administrator) the user is."""
    return Department.objects.filter(
        is_active=True,
        staff_roles__user=user,
        staff_roles__role__in=[StaffRole.Role.DATA_OFFICER, StaffRole.Role.DEPARTMENT_ADMIN],
    ).distinct()


def grants_for_officer(user: User, *, direction: str = "") -> QuerySet[AccessGrant]:
    """Grants the user's departments asked for (outgoing) or must decide (incoming)."""
    departments = list(officer_departments(user).values_list("pk", flat=True))
    incoming = Q(resource__provider__in=departments)
    outgoing = Q(consumer__department__in=departments)
    scope = {"incoming": incoming, "outgoing": outgoing}.get(direction, incoming | outgoing)
    return AccessGrant.objects.filter(scope).select_related(
        "consumer__department", "resource__provider", "requested_by", "decided_by"
    )


def grant_for_officer(user: User, grant_id: int) -> AccessGrant | None:
    return grants_for_officer(user).filter(pk=grant_id).first()


def consumer_systems_for_officer(user: User) -> QuerySet[ConsumerSystem]:
    return ConsumerSystem.objects.filter(department__in=officer_departments(user)).select_related(
        "department"
    )


def consents_for_person(user: User) -> QuerySet[Consent]:
    return (
        Consent.objects.filter(subject=user)
        .select_related("department")
        .prefetch_related("resources")
    )


@dataclass(frozen=True)
class DataUse:
    """One read of a person's data, as she is shown it."""

    seq: int
    at: object
    consumer_department: str
    consumer_system: str
    provider_department: str
    resource: str
    purpose: str
    issue: str
    fields: list[str]


def data_uses_for_person(user: User, *, limit: int = 200) -> list[DataUse]:
    """Who read this person's data, when, what and why: successful exchanges only."""
    from yiwang.exchange.services import subject_digest

    if not user.id_number:
        return []
    records = list(
        ExchangeLogRecord.objects.filter(
            subject_digest=subject_digest(user.id_number), outcome="ok"
        ).order_by("-seq")[:limit]
    )
    codes = {r.consumer.split("/")[0] for r in records} | {r.provider for r in records}
    departments = dict(Department.objects.filter(code__in=codes).values_list("code", "name"))
    systems = {
        str(s): s.name
        for s in ConsumerSystem.objects.filter(department__code__in=codes).select_related(
            "department"
        )
    }
    resources = dict(
        DataResource.objects.filter(code__in={r.service for r in records}).values_list(
            "code", "name"
        )
    )
    labels = {
        (r.code, f.name): f.label
        for r in DataResource.objects.filter(code__in=resources).prefetch_related("fields")
        for f in r.fields.all()
    }
    return [
        DataUse(
            seq=r.seq,
            at=r.created_at,
            consumer_department=departments.get(r.consumer.split("/")[0], r.consumer),
            consumer_system=systems.get(r.consumer, r.consumer),
            provider_department=departments.get(r.provider, r.provider),
            resource=resources.get(r.service, r.service),
            purpose=r.purpose,
            issue=r.issue,
            fields=[labels.get((r.service, f), f) for f in r.fields.split(",") if f],
        )
        for r in records
    ]


def wards_of(id_number: str) -> list[str]:
    """The ID numbers of the minors the population registry names this person guardian of
    (a parent acts for her child: the child's certificates are in her wallet)."""
    if not id_number:
        return []
    today = timezone.localdate()
    try:
        adult_born_by = today.replace(year=today.year - 18)
    except ValueError:  # 29 February
        adult_born_by = today.replace(year=today.year - 18, day=28)
    return list(
        PopulationRecord.objects.filter(
            Q(guardian_1_id_number=id_number) | Q(guardian_2_id_number=id_number),
            status=PopulationRecord.Status.NORMAL,
            birth_date__gt=adult_born_by,
        )
        .order_by("birth_date")
        .values_list("id_number", flat=True)
    )
