"""Reads of the health module, and the colour computation (which writes nothing).

``health_colour_evaluate`` gathers a person's facts (through ``facts.health_facts_for``),
declarations and check-ins and the risk areas known at the clock into the rules'
payload, runs the active rule set and says which inputs decided.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiwang.core.errors import Conflict
from yiwang.core.models import Region
from yiwang.health import rules
from yiwang.health.facts import health_facts_for
from yiwang.health.models import (
    Colour,
    HealthAppeal,
    HealthDeclaration,
    HealthFact,
    HealthStatus,
    RiskArea,
    RuleSet,
    TravelStay,
)
from yiwang.identity.models import Department, StaffRole, User

# What a person can declare having; the code is stored, the label shown.
SYMPTOMS: dict[str, Promise] = {
    "fever": gettext_lazy("Fever"),
    "cough": gettext_lazy("Cough"),
    "sore_throat": gettext_lazy("Sore throat"),
    "fatigue": gettext_lazy("Fatigue"),
    "loss_of_smell_or_taste": gettext_lazy("Loss of smell or taste"),
    "shortness_of_breath": gettext_lazy("Shortness of breath"),
    "diarrhoea": gettext_lazy("Diarrhoea"),
}

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


def health_checkin_on(person: User, day: datetime.date) -> HealthDeclaration | None:
    """The person's daily check-in of that day, if she made one."""
    return (
        HealthDeclaration.objects.filter(
            person=person, kind=HealthDeclaration.Kind.CHECKIN, day=day
        )
        .order_by("id")
        .first()
    )


def health_appeals_for_person(person: User) -> QuerySet[HealthAppeal]:
    return HealthAppeal.objects.filter(person=person).select_related(
        "status_appealed", "resolved_by"
    )


def health_appeal_for_person(person: User, appeal_id: int) -> HealthAppeal | None:
    """One of the person's own appeals; None for anyone else's."""
    return health_appeals_for_person(person).filter(pk=appeal_id).first()


def health_appeal_get(appeal_id: int) -> HealthAppeal | None:
    return (
        HealthAppeal.objects.select_related("person", "status_appealed__rule_set", "resolved_by")
        .filter(pk=appeal_id)
        .first()
    )


def health_appeals_resolved(*, limit: int = 200) -> QuerySet[HealthAppeal]:
    """The latest resolved appeals, newest decision first."""
    return (
        HealthAppeal.objects.exclude(status=HealthAppeal.Status.OPEN)
        .select_related("person", "status_appealed__rule_set", "resolved_by")
        .order_by("-resolved_at", "-id")[:limit]
    )


# Whose colour can change with time alone: facts and declarations no older than this (the
# longest rule looks 14 days back, then waits at most 14 days of check-ins).
REFRESH_LOOKBACK_DAYS = 30


def health_refresh_candidates(
    *, clock: datetime.datetime, after_pk: int = 0, limit: int = 500
) -> QuerySet[User]:
    """People whose colour may differ at ``clock`` from the one recorded, in account order
    from ``after_pk`` (a page of ``limit``): anyone not green now, or with facts or
    declarations of the last ``REFRESH_LOOKBACK_DAYS`` days."""
    since = timezone.localdate(clock) - datetime.timedelta(days=REFRESH_LOOKBACK_DAYS)
    latest_colour = (
        HealthStatus.objects.filter(person=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("colour")[:1]
    )
    not_green = (
        User.objects.annotate(current_colour=Subquery(latest_colour))
        .filter(current_colour__in=[Colour.YELLOW, Colour.RED])
        .values("pk")
    )
    declared = HealthDeclaration.objects.filter(day__gte=since).values("person_id")
    facts = HealthFact.objects.filter(observed_on__gte=since).values("id_number")
    return (
        User.objects.filter(pk__gt=after_pk, is_active=True)
        .filter(Q(pk__in=not_green) | Q(pk__in=declared) | Q(id_number__in=facts))
        .order_by("pk")
        .only("pk", "id_number", "assurance_level")[:limit]
    )


def regions_for_travel() -> QuerySet[Region]:
    """Provinces and cities, offered as suggestions for a stay (a district by its code)."""
    return Region.objects.filter(level__lte=Region.Level.CITY).only("code", "full_name")


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


# ---------------------------------------------------------------------------------------
# Colours explained in plain words: the deciding rule, and the inputs with their sources

RULE_TEXTS: dict[str, Promise] = {
    rules.DEFAULT_RULE_ID: gettext_lazy(
        "No rule applies: nothing in the government's records or in your declarations "
        "calls for isolation."
    ),
    "correction": gettext_lazy("Health staff corrected the colour after your appeal."),
    "red.confirmed_case": gettext_lazy(
        "You are recorded as a confirmed case. The code turns green after 14 consecutive "
        "days of normal daily health check-ins."
    ),
    "red.positive_test": gettext_lazy(
        "One of your tests was positive. The code turns green after 14 consecutive days "
        "of normal daily health check-ins."
    ),
    "red.suspected_case": gettext_lazy(
        "You are recorded as a suspected case. The code turns green after 14 consecutive "
        "days of normal daily health check-ins."
    ),
    "red.close_contact": gettext_lazy(
        "You are recorded as a close contact of a case. The code turns green after 14 "
        "consecutive days of normal daily health check-ins."
    ),
    "yellow.risk_area_arrival": gettext_lazy(
        "Government records show you arrived from a medium- or high-risk area within the "
        "last 14 days. The code turns green after 7 consecutive days of normal daily "
        "health check-ins."
    ),
    "yellow.high_risk_stay": gettext_lazy(
        "You declared a stay in a high-risk area within the last 14 days. The code turns "
        "green after 7 consecutive days of normal daily health check-ins."
    ),
    "yellow.medium_risk_stay": gettext_lazy(
        "You declared a stay in a medium-risk area within the last 14 days. The code "
        "turns green after 7 consecutive days of normal daily health check-ins."
    ),
    "yellow.symptoms": gettext_lazy(
        "You declared symptoms such as fever or a cough. The code turns green after 7 "
        "consecutive days of normal daily health check-ins."
    ),
    "yellow.case_contact": gettext_lazy(
        "You declared contact with a confirmed or suspected case. The code turns green "
        "after 7 consecutive days of normal daily health check-ins."
    ),
}

COLOUR_MEANINGS: dict[str, Promise] = {
    Colour.GREEN: gettext_lazy("You may pass freely."),
    Colour.YELLOW: gettext_lazy(
        "Stay at home and make your health check-in every day until the code turns green."
    ),
    Colour.RED: gettext_lazy(
        "Follow the health authorities' instructions for isolation and make your health "
        "check-in every day until the code turns green."
    ),
}


@dataclass(frozen=True)
class InputExplained:
    ref: str
    kind: str
    label: str
    date: str | None
    details: str
    source: str
    set_aside: bool


@dataclass(frozen=True)
class StatusExplained:
    status: HealthStatus
    colour_label: str
    meaning: str
    rule_text: str
    inputs: list[InputExplained]


def rule_text(rule_id: str, rule_set: RuleSet | None = None) -> str:
    """The deciding rule in plain words: ours for the known rules, else the rule set's own
    description of the rule, else its id."""
    if rule_id in RULE_TEXTS:
        return str(RULE_TEXTS[rule_id])
    if rule_set is not None:
        for rule in rule_set.definition.get("rules") or []:
            if isinstance(rule, dict) and rule.get("id") == rule_id and rule.get("description"):
                return str(rule["description"])
    return rule_id


def _symptom_labels(codes: list[str]) -> str:
    return "、".join(str(SYMPTOMS.get(code, code)) for code in codes)


def _input_explain(
    item: dict[str, Any],
    *,
    regions: dict[str, str],
    departments: dict[str, str],
    set_aside: set[str],
) -> InputExplained:
    ref = str(item.get("ref", ""))
    kind = str(item.get("kind", ""))
    details: list[str] = []
    if ref.startswith("fact:") or kind in HealthFact.Kind.values:
        label = str(HealthFact.Kind(kind).label) if kind in HealthFact.Kind.values else kind
        if item.get("result") in HealthFact.Result.values:
            details.append(str(HealthFact.Result(item["result"]).label))
        if item.get("region"):
            details.append(regions.get(item["region"], item["region"]))
        department, _slash, registry = str(item.get("source", "")).partition("/")
        source = " · ".join(
            part for part in (departments.get(department, department), registry) if part
        )
    elif kind == "risk_area":
        label = _("Risk area")
        level = item.get("level", "")
        details.append(
            _("%(region)s, %(level)s from %(start)s to %(end)s")
            % {
                "region": regions.get(item.get("region", ""), item.get("region", "")),
                "level": RiskArea.Level(level).label if level in RiskArea.Level.values else level,
                "start": item.get("valid_from") or "",
                "end": item.get("valid_until") or _("further notice"),
            }
        )
        source = _("Declared by the health authorities")
    else:
        label = (
            str(HealthDeclaration.Kind(kind).label)
            if kind in HealthDeclaration.Kind.values
            else kind
        )
        if item.get("symptoms"):
            details.append(
                _("Symptoms: %(symptoms)s") % {"symptoms": _symptom_labels(item["symptoms"])}
            )
        if item.get("case_contact_on"):
            details.append(_("Contact with a case on %(date)s") % {"date": item["case_contact_on"]})
        stay = item.get("stay")
        if isinstance(stay, dict):
            details.append(
                _("Stay in %(region)s from %(arrived)s to %(left)s")
                % {
                    "region": regions.get(stay.get("region", ""), stay.get("region", "")),
                    "arrived": stay.get("arrived_on", ""),
                    "left": stay.get("left_on", ""),
                }
            )
        if kind == HealthDeclaration.Kind.CHECKIN and not details:
            details.append(_("No symptoms"))
        source = _("Your own declaration")
    return InputExplained(
        ref=ref,
        kind=kind,
        label=label,
        date=item.get("date"),
        details="；".join(details),
        source=source,
        set_aside=ref in set_aside,
    )


def health_statuses_explain(statuses: Sequence[HealthStatus]) -> list[StatusExplained]:
    """Each colour with its rule and inputs in words; two queries for any number of them
    (the region and department names the inputs refer to)."""
    region_codes: set[str] = set()
    department_codes: set[str] = set()
    for status in statuses:
        for item in status.inputs or []:
            if item.get("region"):
                region_codes.add(str(item["region"]))
            if isinstance(item.get("stay"), dict) and item["stay"].get("region"):
                region_codes.add(str(item["stay"]["region"]))
            if item.get("source"):
                department_codes.add(str(item["source"]).partition("/")[0])
    regions = (
        dict(Region.objects.filter(code__in=region_codes).values_list("code", "full_name"))
        if region_codes
        else {}
    )
    departments = (
        dict(Department.objects.filter(code__in=department_codes).values_list("code", "name"))
        if department_codes
        else {}
    )
    explained = []
    for status in statuses:
        set_aside = set(status.set_aside or [])
        explained.append(
            StatusExplained(
                status=status,
                colour_label=status.get_colour_display(),
                meaning=str(COLOUR_MEANINGS.get(status.colour, "")),
                rule_text=rule_text(status.rule_id, status.rule_set),
                inputs=[
                    _input_explain(
                        item, regions=regions, departments=departments, set_aside=set_aside
                    )
                    for item in status.inputs or []
                ],
            )
        )
    return explained
