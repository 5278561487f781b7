"""Reads of the health module, and the colour computation (which writes nothing).

``health_colour_evaluate`` gathers a person's facts (through ``facts.health_facts_for``),
declarations and check-ins and the risk areas known at the clock into the rules'
payload, runs the active rule set and says which inputs decided.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.errors import Conflict
from yiwang.core.models import Region
from yiwang.health import rules
from yiwang.health.facts import health_facts_for
from yiwang.health.models import (
    HealthAppeal,
    HealthDeclaration,
    HealthStatus,
    RiskArea,
    RuleSet,
    TravelStay,
)
from yiwang.identity.models import Department, StaffRole, User

# Inputs older than this are not read: no rule looks further back, and data minimisation.
HORIZON_DAYS = 90
# Levels whose areas make a stay, and the check-in declaring it, abnormal.
ABNORMAL_LEVELS = (RiskArea.Level.HIGH, RiskArea.Level.MEDIUM)


@dataclass(frozen=True)
class ColourDecision:
    colour: str
    rule_id: str
    rule_set: RuleSet
    # Snapshots of the facts, declarations and risk areas the deciding rule used.
    inputs: list[dict[str, Any]]
    payload: dict[str, Any]
    clock: datetime.datetime
    # When the newest of those inputs was recorded (None when no input was used).
    newest_input_at: datetime.datetime | None


def rule_set_active() -> RuleSet | None:
    return RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).first()


def health_status_current(person: User) -> HealthStatus | None:
    return HealthStatus.objects.filter(person=person).order_by("-created_at", "-id").first()


def health_history_for(person: User) -> QuerySet[HealthStatus]:
    return HealthStatus.objects.filter(person=person).select_related("rule_set", "appeal")


def health_staff_departments(user: User) -> QuerySet[Department]:
    """The active health departments in which the user holds a staff role."""
    return Department.objects.filter(
        kind=Department.Kind.HEALTH,
        is_active=True,
        pk__in=StaffRole.objects.filter(user=user).values("department_id"),
    )


def user_is_health_staff(user: User) -> bool:
    return bool(user.is_authenticated) and health_staff_departments(user).exists()


def health_appeals_open() -> QuerySet[HealthAppeal]:
    return HealthAppeal.objects.filter(status=HealthAppeal.Status.OPEN).select_related(
        "person", "status_appealed"
    )


def health_inputs_set_aside(person: User) -> set[str]:
    """Inputs that corrections after appeals set aside for good."""
    refs: set[str] = set()
    for set_aside in HealthStatus.objects.filter(
        person=person, source=HealthStatus.Source.CORRECTION
    ).values_list("set_aside", flat=True):
        refs.update(set_aside or [])
    return refs


class _Payload:
    """The payload under construction, and which input gave each value."""

    def __init__(self) -> None:
        self.data = rules.payload_complete(None)
        self.provenance: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.recorded: dict[str, datetime.datetime] = {}

    def note(
        self,
        path: str,
        day: datetime.date,
        snapshots: list[dict[str, Any]],
        recorded: list[datetime.datetime | None],
    ) -> None:
        """Keep the latest day for ``path``, and the inputs that give it."""
        _payload, group, name = path.split(".")
        current = self.data[group][name]
        if current is None or day.isoformat() > current:
            self.data[group][name] = day.isoformat()
            self.provenance[path] = list(snapshots)
        elif day.isoformat() == current:
            self.provenance[path].extend(snapshots)
        for snapshot, at in zip(snapshots, recorded, strict=True):
            if at is not None:
                self.recorded[snapshot["ref"]] = at

    def checkin(self, day: datetime.date, snapshot: dict[str, Any], at: datetime.datetime) -> None:
        self.data["checkins"].append(day.isoformat())
        self.provenance["payload.checkins"].append(snapshot)
        self.recorded[snapshot["ref"]] = at

    def used(self, reads: frozenset[str]) -> tuple[list[dict[str, Any]], datetime.datetime | None]:
        seen: set[str] = set()
        inputs: list[dict[str, Any]] = []
        for path in sorted(reads):
            for snapshot in self.provenance.get(path, []):
                if snapshot["ref"] not in seen:
                    seen.add(snapshot["ref"])
                    inputs.append(snapshot)
        times = [self.recorded[ref] for ref in seen if ref in self.recorded]
        return inputs, max(times, default=None)


def _declaration_snapshot(declaration: HealthDeclaration) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "ref": f"declaration:{declaration.pk}",
        "kind": declaration.kind,
        "date": declaration.day.isoformat(),
    }
    if declaration.symptoms:
        snapshot["symptoms"] = list(declaration.symptoms)
    if declaration.case_contact_on:
        snapshot["case_contact_on"] = declaration.case_contact_on.isoformat()
    return snapshot


def _risk_area_snapshot(area: RiskArea) -> dict[str, Any]:
    return {
        "ref": f"risk_area:{area.pk}",
        "kind": "risk_area",
        "region": area.region.code,
        "level": area.level,
        "valid_from": area.valid_from.isoformat(),
        "valid_until": area.valid_until.isoformat() if area.valid_until else None,
    }


def _region_codes_around(stay: TravelStay) -> set[str]:
    """The stay's region and every region it lies in."""
    codes: set[str] = set()
    region: Region | None = stay.region
    while region is not None:
        codes.add(region.code)
        region = region.parent
    return codes


def _fact_path(kind: str, result: str) -> str | None:
    if kind == "test_result":
        return f"payload.facts.{result}_test" if result in ("positive", "negative") else None
    path = f"payload.facts.{kind}"
    return path if path in rules.KNOWN_VARS else None


def health_payload_build(
    person: User, *, clock: datetime.datetime, set_aside: set[str] | frozenset[str] = frozenset()
) -> _Payload:
    today = timezone.localdate(clock)
    earliest = today - datetime.timedelta(days=HORIZON_DAYS)
    built = _Payload()

    facts = health_facts_for(person.id_number, at=clock) if person.id_number else []
    for fact in facts:
        path = _fact_path(fact.kind, fact.result)
        if path is None or fact.ref in set_aside or fact.observed_on < earliest:
            continue
        built.note(path, fact.observed_on, [fact.snapshot()], [fact.recorded_at])

    areas = list(
        RiskArea.objects.filter(declared_at__lte=clock)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=earliest))
        .select_related("region")
    )
    declarations = (
        HealthDeclaration.objects.filter(person=person, declared_at__lte=clock, day__gte=earliest)
        .prefetch_related(
            Prefetch(
                "stays",
                queryset=TravelStay.objects.select_related("region__parent__parent__parent"),
            )
        )
        .order_by("day", "id")
    )
    for declaration in declarations:
        ref = f"declaration:{declaration.pk}"
        if ref in set_aside:
            continue
        snapshot = _declaration_snapshot(declaration)
        at = declaration.declared_at
        abnormal = False
        if declaration.symptoms:
            abnormal = True
            built.note("payload.declared.symptoms", declaration.day, [snapshot], [at])
        if declaration.case_contact_on:
            abnormal = True
            built.note(
                "payload.declared.case_contact", declaration.case_contact_on, [snapshot], [at]
            )
        for stay in declaration.stays.all():
            around = _region_codes_around(stay)
            for area in areas:
                if area.region.code not in around:
                    continue
                first = max(stay.arrived_on, area.valid_from)
                last = min(stay.left_on, area.valid_until or stay.left_on, today)
                if first > last:
                    continue
                if area.level in ABNORMAL_LEVELS:
                    abnormal = True
                stay_snapshot = {
                    **snapshot,
                    "stay": {
                        "region": stay.region.code,
                        "arrived_on": stay.arrived_on.isoformat(),
                        "left_on": stay.left_on.isoformat(),
                    },
                }
                built.note(
                    f"payload.travel.{area.level}",
                    last,
                    [stay_snapshot, _risk_area_snapshot(area)],
                    [at, area.declared_at],
                )
        if declaration.kind == HealthDeclaration.Kind.CHECKIN and not abnormal:
            built.checkin(declaration.day, snapshot, at)
    return built


def health_colour_evaluate(
    *, person: User, clock: datetime.datetime | None = None
) -> ColourDecision:
    """The colour of the person's code at ``clock`` (now) by the active rule set."""
    clock = clock or timezone.now()
    rule_set = rule_set_active()
    if rule_set is None:
        raise Conflict(
            _("No health-code rule set is active: load or activate one first."),
            code="health_no_active_rule_set",
        )
    built = health_payload_build(person, clock=clock, set_aside=health_inputs_set_aside(person))
    outcome = rules.rules_evaluate(
        rule_set.definition,
        payload=built.data,
        external=rules.external_for(clock, timezone.localdate(clock)),
    )
    inputs, newest = built.used(outcome.reads)
    return ColourDecision(
        colour=outcome.colour,
        rule_id=outcome.rule_id,
        rule_set=rule_set,
        inputs=inputs,
        payload=built.data,
        clock=clock,
        newest_input_at=newest,
    )
