"""Use cases of health codes: declarations and check-ins, facts, risk areas, rule sets,
colours, appeals, and the purge when the module is switched off.

Everything that collects or changes personal health data refuses while the module is
switched off (``HEALTH_EMERGENCY_ENABLED``); the purge refuses while it is on.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.audit import audit_record
from yiwang.core.errors import (
    Conflict,
    Message,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
    YiwangError,
)
from yiwang.core.identifiers import resident_id_parse
from yiwang.core.models import Region
from yiwang.health import rules
from yiwang.health.models import (
    Colour,
    ContactCandidate,
    ContactTrace,
    HealthAppeal,
    HealthDeclaration,
    HealthFact,
    HealthStatus,
    RiskArea,
    RuleSet,
    TravelStay,
    Venue,
    VenueCheckin,
)
from yiwang.health.selectors import (
    SYMPTOMS,
    health_appeal_get,
    health_checkin_on,
    health_colour_evaluate,
    health_refresh_candidates,
    health_status_current,
    rule_set_active,
    user_is_health_staff,
)
from yiwang.identity.models import Department, StaffRole, User

logger = logging.getLogger(__name__)

STAYS_MAX = 30
REASON_MAX = 2000
CORRECTION_RULE_ID = "correction"
# The same self-declaration sent again within this time (a double tap, a retried request)
# is the one already recorded, not a second one.
DECLARATION_REPEAT_WINDOW = datetime.timedelta(minutes=10)


def health_enabled_check() -> None:
    """Refuse (503) while the module is switched off (``HEALTH_EMERGENCY_ENABLED``)."""
    if not settings.HEALTH_EMERGENCY_ENABLED:
        raise ServiceUnavailable(_("Health codes are switched off."), code="health_disabled")


def health_person_check(person: User) -> None:
    """Colours come from facts held under the resident ID number: only a verified person
    has one."""
    if not person.is_real_name_verified or not person.id_number:
        raise PermissionDenied(
            _("Complete real-name verification to use health codes."),
            code="health_not_verified",
        )


def _health_admin_check(actor: User | None) -> None:
    """Platform administrators and health departments' administrators manage rules and
    risk areas; ``None`` is the platform itself (a management command)."""
    if actor is None or actor.is_superuser or actor.is_staff:
        return
    if StaffRole.objects.filter(
        user=actor,
        role=StaffRole.Role.DEPARTMENT_ADMIN,
        department__kind=Department.Kind.HEALTH,
        department__is_active=True,
    ).exists():
        return
    raise PermissionDenied(
        _("Only administrators of a health department may do this."), code="not_health_admin"
    )


# ---------------------------------------------------------------------------------------
# Declarations and daily check-ins


@dataclass(frozen=True)
class StayIn:
    region_code: str
    arrived_on: datetime.date | None
    left_on: datetime.date | None


def _birth_date(person: User) -> datetime.date | None:
    if not person.id_number:
        return None
    try:
        return resident_id_parse(person.id_number).birth_date
    except ValidationFailed:
        return None


def _date_problem(
    value: datetime.date | None,
    *,
    today: datetime.date,
    birth: datetime.date | None,
    future: Message,
) -> Message | None:
    if value is None:
        return None
    if value > today:
        return future
    if birth is not None and value < birth:
        return _("This date is before your date of birth.")
    return None


@transaction.atomic
def health_declaration_submit(
    *,
    person: User,
    kind: str,
    symptoms: Sequence[str] = (),
    symptoms_since: datetime.date | None = None,
    case_contact_on: datetime.date | None = None,
    stays: Sequence[StayIn] = (),
    now: datetime.datetime | None = None,
) -> HealthDeclaration:
    """Record a self-declaration or today's check-in, then refresh the person's colour.

    Every impossible value is reported at once, by field; nothing is stored then. The
    same self-declaration sent again within ``DECLARATION_REPEAT_WINDOW`` is the one
    already recorded; a second check-in the same day is refused (``health_checkin_daily``
    answers with the first instead).
    """
    health_enabled_check()
    health_person_check(person)
    now = now or timezone.now()
    today = timezone.localdate(now)
    birth = _birth_date(person)
    errors: dict[str, list[Message]] = {}

    def add(field: str, message: Message | None) -> None:
        if message is not None:
            errors.setdefault(field, []).append(message)

    if kind not in HealthDeclaration.Kind.values:
        add("kind", _("Choose a self-declaration or a daily check-in."))
    for code in symptoms:
        if code not in SYMPTOMS:
            add("symptoms", _("Unknown symptom: %(code)s.") % {"code": code})
    if symptoms_since is not None and not symptoms:
        add("symptoms_since", _("Give the date the symptoms began only with the symptoms."))
    add(
        "symptoms_since",
        _date_problem(
            symptoms_since,
            today=today,
            birth=birth,
            future=_("The symptoms cannot begin in the future."),
        ),
    )
    add(
        "case_contact_on",
        _date_problem(
            case_contact_on,
            today=today,
            birth=birth,
            future=_("The contact cannot be in the future."),
        ),
    )
    if len(stays) > STAYS_MAX:
        add("stays", _("At most %(count)d stays in one declaration.") % {"count": STAYS_MAX})
    regions = {
        region.code: region
        for region in Region.objects.filter(code__in=[stay.region_code for stay in stays])
    }
    for index, stay in enumerate(stays[:STAYS_MAX]):
        prefix = f"stays.{index}"
        if not stay.region_code:
            add(f"{prefix}.region", _("Give the region where you stayed."))
        elif stay.region_code not in regions:
            add(
                f"{prefix}.region",
                _("There is no region with the code %(code)s.") % {"code": stay.region_code},
            )
        if stay.arrived_on is None:
            add(f"{prefix}.arrived_on", _("Give the day you arrived."))
        if stay.left_on is None:
            add(f"{prefix}.left_on", _("Give the day you left (today if you are still there)."))
        add(
            f"{prefix}.arrived_on",
            _date_problem(
                stay.arrived_on,
                today=today,
                birth=birth,
                future=_("The arrival cannot be in the future."),
            ),
        )
        add(
            f"{prefix}.left_on",
            _date_problem(
                stay.left_on,
                today=today,
                birth=birth,
                future=_("The departure cannot be in the future."),
            ),
        )
        if stay.arrived_on and stay.left_on and stay.left_on < stay.arrived_on:
            add(f"{prefix}.left_on", _("The departure cannot be before the arrival."))
    if errors:
        raise ValidationFailed(fields=errors)

    symptoms = list(dict.fromkeys(symptoms))
    if kind == HealthDeclaration.Kind.DECLARATION:
        repeated = _declaration_repeated(
            person,
            now=now,
            symptoms=symptoms,
            symptoms_since=symptoms_since,
            case_contact_on=case_contact_on,
            stays=stays,
        )
        if repeated is not None:
            return repeated
    if (
        kind == HealthDeclaration.Kind.CHECKIN
        and HealthDeclaration.objects.filter(
            person=person, kind=HealthDeclaration.Kind.CHECKIN, day=today
        ).exists()
    ):
        raise Conflict(_("You have already checked in today."), code="health_checkin_exists")
    try:
        with transaction.atomic():
            declaration = HealthDeclaration.objects.create(
                person=person,
                kind=kind,
                day=today,
                declared_at=now,
                symptoms=symptoms,
                symptoms_since=symptoms_since,
                case_contact_on=case_contact_on,
            )
    except IntegrityError as exc:  # a check-in made at the same moment
        raise Conflict(
            _("You have already checked in today."), code="health_checkin_exists"
        ) from exc
    TravelStay.objects.bulk_create(
        TravelStay(
            declaration=declaration,
            region=regions[stay.region_code],
            arrived_on=stay.arrived_on,
            left_on=stay.left_on,
        )
        for stay in stays
        if stay.arrived_on is not None and stay.left_on is not None  # checked above
    )
    _refresh_if_rules(person, now)
    return declaration


def _declaration_repeated(
    person: User,
    *,
    now: datetime.datetime,
    symptoms: list[str],
    symptoms_since: datetime.date | None,
    case_contact_on: datetime.date | None,
    stays: Sequence[StayIn],
) -> HealthDeclaration | None:
    """The person's self-declaration with exactly these answers made just before, if any."""
    wanted = sorted(f"{stay.region_code} {stay.arrived_on} {stay.left_on}" for stay in stays)
    recent = HealthDeclaration.objects.filter(
        person=person,
        kind=HealthDeclaration.Kind.DECLARATION,
        declared_at__gt=now - DECLARATION_REPEAT_WINDOW,
        declared_at__lte=now,
        symptoms_since=symptoms_since,
        case_contact_on=case_contact_on,
    ).prefetch_related(Prefetch("stays", queryset=TravelStay.objects.select_related("region")))
    for declaration in recent:
        stored = sorted(
            f"{stay.region.code} {stay.arrived_on} {stay.left_on}"
            for stay in declaration.stays.all()
        )
        if sorted(declaration.symptoms) == sorted(symptoms) and stored == wanted:
            return declaration
    return None


@transaction.atomic
def health_checkin_daily(
    *, person: User, symptoms: Sequence[str] = (), now: datetime.datetime | None = None
) -> tuple[HealthDeclaration, bool]:
    """Today's health check-in: recorded, or the one already made today (one a day).

    Returns the check-in and whether it is new; the colour is refreshed with a new one.
    """
    health_enabled_check()
    health_person_check(person)
    now = now or timezone.now()
    existing = health_checkin_on(person, timezone.localdate(now))
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return (
                health_declaration_submit(
                    person=person,
                    kind=HealthDeclaration.Kind.CHECKIN,
                    symptoms=symptoms,
                    now=now,
                ),
                True,
            )
    except Conflict as exc:  # a check-in made at the same moment
        existing = health_checkin_on(person, timezone.localdate(now))
        if exc.code != "health_checkin_exists" or existing is None:
            raise
        return existing, False


# ---------------------------------------------------------------------------------------
# Government facts


@transaction.atomic
def health_fact_record(
    *,
    id_number: str,
    kind: str,
    observed_on: datetime.date,
    source_department: str,
    source_registry: str,
    result: str = "",
    region_code: str = "",
    reference: str = "",
    now: datetime.datetime | None = None,
) -> HealthFact:
    """Record a fact a department reports about a person, and refresh her colour."""
    health_enabled_check()
    now = now or timezone.now()
    number = resident_id_parse(id_number).number
    errors: dict[str, list[Message]] = {}
    if kind not in HealthFact.Kind.values:
        errors["kind"] = [_("Unknown kind of fact.")]
    if kind == HealthFact.Kind.TEST_RESULT and result not in HealthFact.Result.values:
        errors["result"] = [_("A test result is positive or negative.")]
    if kind != HealthFact.Kind.TEST_RESULT and result:
        errors["result"] = [_("Only a test has a result.")]
    if observed_on > timezone.localdate(now):
        errors["observed_on"] = [_("The date cannot be in the future.")]
    if not Department.objects.filter(code=source_department).exists():
        errors["source_department"] = [_("There is no department with this code.")]
    if not source_registry.strip():
        errors["source_registry"] = [_("Name the registry the fact comes from.")]
    if region_code and not Region.objects.filter(code=region_code).exists():
        errors["region_code"] = [
            _("There is no region with the code %(code)s.") % {"code": region_code}
        ]
    if errors:
        raise ValidationFailed(fields=errors)
    fact = HealthFact.objects.create(
        id_number=number,
        kind=kind,
        result=result,
        observed_on=observed_on,
        region_code=region_code,
        source_department=source_department,
        source_registry=source_registry.strip(),
        source_reference=reference,
        recorded_at=now,
    )
    person = User.objects.filter(id_number=number).first()
    if person is not None:
        _refresh_if_rules(person, now)
    return fact


@transaction.atomic
def health_fact_withdraw(
    *,
    fact: HealthFact,
    reason: str,
    department_code: str = "",
    actor: User | None = None,
    now: datetime.datetime | None = None,
) -> HealthFact:
    """The department that recorded a fact withdraws it (recorded in error, superseded).

    The department is ``department_code`` (a department's feed) or, for a person, one of
    the departments she is staff of; either way only the fact's own source department may
    withdraw it. The fact stays, marked withdrawn from ``now``: colours computed before
    keep showing what they used. The person's colour is refreshed at once.
    """
    health_enabled_check()
    now = now or timezone.now()
    code = department_code or fact.source_department
    mine = code == fact.source_department
    if actor is not None:
        mine = (
            mine
            and StaffRole.objects.filter(
                user=actor, department__code=code, department__is_active=True
            ).exists()
        )
    elif not department_code:
        mine = False
    if not mine:
        raise PermissionDenied(
            _("Only the department that recorded a fact may withdraw it."),
            code="health_fact_not_yours",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.for_field("reason", _("Say why the fact is withdrawn."))
    if len(reason) > REASON_MAX:
        raise ValidationFailed.for_field(
            "reason", _("At most %(count)d characters.") % {"count": REASON_MAX}
        )
    fact = HealthFact.objects.select_for_update().get(pk=fact.pk)
    if fact.withdrawn_at is not None:
        raise Conflict(_("This fact has already been withdrawn."), code="health_fact_withdrawn")
    fact.withdrawn_at = now
    fact.save(update_fields=["withdrawn_at"])
    audit_record(
        actor=actor,
        action="health.fact_withdraw",
        target=fact,
        detail={
            "department": fact.source_department,
            "kind": fact.kind,
            "observed_on": fact.observed_on.isoformat(),
            "reason": reason,
        },
    )
    person = User.objects.filter(id_number=fact.id_number).first()
    if person is not None:
        _refresh_if_rules(person, now)
    return fact


# ---------------------------------------------------------------------------------------
# Risk areas


@transaction.atomic
def risk_area_declare(
    *,
    actor: User | None,
    region_code: str,
    level: str,
    valid_from: datetime.date,
    valid_until: datetime.date | None = None,
    note: str = "",
    now: datetime.datetime | None = None,
) -> RiskArea:
    _health_admin_check(actor)
    errors: dict[str, list[Message]] = {}
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        errors["region"] = [_("There is no region with the code %(code)s.") % {"code": region_code}]
    if level not in RiskArea.Level.values:
        errors["level"] = [_("Choose high, medium or low risk.")]
    if valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = [_("The end of the window cannot be before its start.")]
    if region is None or errors:
        raise ValidationFailed(fields=errors)
    area = RiskArea.objects.create(
        region=region,
        level=level,
        valid_from=valid_from,
        valid_until=valid_until,
        declared_by=actor,
        declared_at=now or timezone.now(),
        note=note,
    )
    audit_record(
        actor=actor,
        action="health.risk_area_declare",
        target=area,
        detail={
            "region": region_code,
            "level": level,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else None,
        },
    )
    return area


# ---------------------------------------------------------------------------------------
# Rule sets


def _definition_check(definition: object) -> None:
    problems = rules.definition_problems(definition)
    if problems:
        raise ValidationFailed(
            _("The rule set is not valid."),
            fields={"definition": problems},
            code="health_rules_invalid",
        )


def _test_cases_check(definition: Mapping[str, Any]) -> None:
    failures = rules.test_cases_run(definition)
    if failures:
        raise ValidationFailed(
            _("%(count)d of the rule set's test cases fail.") % {"count": len(failures)},
            fields={"tests": [str(failure) for failure in failures]},
            code="health_rules_tests_fail",
        )


@transaction.atomic
def rule_set_create(
    *, definition: Mapping[str, Any], actor: User | None = None, source: str = ""
) -> RuleSet:
    """A new draft version of the rule set the definition names (checked, not yet tested)."""
    _health_admin_check(actor)
    _definition_check(definition)
    code = definition["code"]
    latest = (
        RuleSet.objects.select_for_update()
        .filter(code=code)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    return RuleSet.objects.create(
        code=code,
        version=(latest or 0) + 1,
        name=definition["name"],
        definition=dict(definition),
        digest=rules.definition_digest(definition),
        source=source[:300],
    )


@transaction.atomic
def rule_set_activate(
    *, rule_set: RuleSet, actor: User | None = None, now: datetime.datetime | None = None
) -> RuleSet:
    """Make this version the one colours are computed with, if every test case passes.

    The version active until now is retired. Refused, listing the failing cases, when
    any fails; nothing changes then.
    """
    _health_admin_check(actor)
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if rule_set.status == RuleSet.Status.ACTIVE:
        return rule_set
    if rule_set.status == RuleSet.Status.RETIRED:
        raise Conflict(
            _("A retired version cannot be activated again; copy it as a new draft."),
            code="health_rule_set_retired",
        )
    _definition_check(rule_set.definition)
    _test_cases_check(rule_set.definition)
    previous = RuleSet.objects.select_for_update().filter(status=RuleSet.Status.ACTIVE).first()
    if previous is not None:
        previous.status = RuleSet.Status.RETIRED
        previous.save(update_fields=["status"])
    rule_set.status = RuleSet.Status.ACTIVE
    rule_set.activated_at = now or timezone.now()
    rule_set.activated_by = actor
    rule_set.save(update_fields=["status", "activated_at", "activated_by"])
    audit_record(
        actor=actor,
        action="health.rule_set_activate",
        target=rule_set,
        detail={
            "code": rule_set.code,
            "version": rule_set.version,
            "digest": rule_set.digest,
            "retired": previous.version if previous else None,
        },
    )
    return rule_set


@dataclass(frozen=True)
class RulesLoadResult:
    rule_set: RuleSet
    created: bool


def health_rules_load(*, path: Path) -> RulesLoadResult:
    """Load a rules file: a new, active version when it differs from every stored one.

    The file is checked and its test cases run before anything is written; an unchanged
    file (the same definition as any stored version of its code) writes nothing.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed.for_field(
            "file", _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
        ) from exc
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed.for_field(
            "file",
            _("%(path)s is not valid JSON (line %(line)d, column %(column)d): %(error)s")
            % {"path": path, "line": exc.lineno, "column": exc.colno, "error": exc.msg},
        ) from exc
    _definition_check(definition)
    _test_cases_check(definition)
    with transaction.atomic():
        digest = rules.definition_digest(definition)
        existing = RuleSet.objects.filter(code=definition["code"], digest=digest).first()
        if existing is not None:
            return RulesLoadResult(existing, created=False)
        rule_set = rule_set_create(definition=definition, source=f"file:{path.name}")
        return RulesLoadResult(rule_set_activate(rule_set=rule_set), created=True)


# ---------------------------------------------------------------------------------------
# Colours


def _refresh_if_rules(person: User, now: datetime.datetime) -> None:
    if rule_set_active() is not None:
        health_status_refresh(person=person, clock=now)


@transaction.atomic
def health_status_refresh(*, person: User, clock: datetime.datetime | None = None) -> HealthStatus:
    """Compute the person's colour at ``clock``; record it when it changed.

    A correction after an appeal stands until a rule fires on an input recorded after it.
    """
    return _status_refresh(person, clock or timezone.now())[0]


def _status_refresh(person: User, clock: datetime.datetime) -> tuple[HealthStatus, bool]:
    """The person's colour at ``clock``, and whether it is a new row (a change)."""
    health_enabled_check()
    # One refresh at a time per person: two would both see the old colour and both write.
    User.objects.select_for_update().filter(pk=person.pk).first()
    decision = health_colour_evaluate(person=person, clock=clock)
    latest = health_status_current(person)
    if latest is not None and latest.source == HealthStatus.Source.CORRECTION:
        new_evidence = (
            decision.rule_id != rules.DEFAULT_RULE_ID
            and decision.newest_input_at is not None
            and decision.newest_input_at > latest.created_at
        )
        if not new_evidence:
            return latest, False
    if latest is not None and latest.colour == decision.colour:
        return latest, False
    status = HealthStatus.objects.create(
        person=person,
        colour=decision.colour,
        source=HealthStatus.Source.RULES,
        rule_set=decision.rule_set,
        rule_id=decision.rule_id,
        inputs=decision.inputs,
        evaluated_at=clock,
        created_at=clock,
    )
    return status, True


@dataclass(frozen=True)
class RefreshAllResult:
    checked: int
    changed: int
    failed: int


def health_status_refresh_all(
    *, clock: datetime.datetime | None = None, batch_size: int = 500
) -> RefreshAllResult:
    """Recompute the colour of everyone whose colour could change with time.

    That is anyone whose code is not green, or who has facts or declarations of the last
    ``selectors.REFRESH_LOOKBACK_DAYS`` days: a yellow turns green after enough normal
    check-ins, a risk-area arrival stops counting after 14 days. Run daily (``manage.py
    health_status_refresh``). Each person is refreshed in a transaction of her own, so one
    failure (logged by account id, counted) neither stops the run nor undoes the others.
    """
    health_enabled_check()
    clock = clock or timezone.now()
    if rule_set_active() is None:
        raise Conflict(
            _("No health-code rule set is active: load or activate one first."),
            code="health_no_active_rule_set",
        )
    checked = changed = failed = 0
    last_pk = 0
    while True:
        batch = list(health_refresh_candidates(clock=clock, after_pk=last_pk, limit=batch_size))
        if not batch:
            break
        for person in batch:
            checked += 1
            try:
                with transaction.atomic():
                    _status, is_new = _status_refresh(person, clock)
            except (YiwangError, rules.RuleError):
                failed += 1
                logger.exception("Health colour refresh failed for account %s", person.pk)
                continue
            changed += int(is_new)
        last_pk = batch[-1].pk
    return RefreshAllResult(checked=checked, changed=changed, failed=failed)


# ---------------------------------------------------------------------------------------
# Appeals


@transaction.atomic
def health_appeal_submit(
    *, person: User, reason: str, now: datetime.datetime | None = None
) -> HealthAppeal:
    """The person appeals the current colour of her code.

    The same appeal sent again while it is open is the one already recorded.
    """
    health_enabled_check()
    health_person_check(person)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.for_field("reason", _("Say why the colour is wrong."))
    if len(reason) > REASON_MAX:
        raise ValidationFailed.for_field(
            "reason", _("At most %(count)d characters.") % {"count": REASON_MAX}
        )
    current = health_status_current(person)
    if current is None:
        raise Conflict(_("Your code has no colour to appeal yet."), code="health_no_status")
    if current.colour == Colour.GREEN:
        raise Conflict(_("A green code needs no appeal."), code="health_appeal_green")
    open_appeal = HealthAppeal.objects.filter(
        person=person, status=HealthAppeal.Status.OPEN
    ).first()
    if open_appeal is not None:
        if open_appeal.reason == reason and open_appeal.status_appealed_id == current.pk:
            return open_appeal
        raise Conflict(_("Your earlier appeal is still being handled."), code="health_appeal_open")
    return HealthAppeal.objects.create(
        person=person,
        status_appealed=current,
        reason=reason,
        created_at=now or timezone.now(),
    )


APPEAL_OUTCOMES = ("uphold", "correct")


@transaction.atomic
def health_appeal_resolve(
    *,
    appeal: HealthAppeal,
    staff: User,
    outcome: str,
    comment: str,
    colour: str | None = None,
    set_aside: Sequence[str] | None = None,
    now: datetime.datetime | None = None,
) -> HealthAppeal:
    """Health staff uphold the colour, or correct it to a less severe one.

    A correction is a new colour in the history; the facts and declarations behind the
    appealed colour named in ``set_aside`` (all of them when None) are set aside from then
    on. Any health department's staff may resolve any appeal: a person appeals wherever
    she is. Either way an audit entry is written.
    """
    health_enabled_check()
    now = now or timezone.now()
    if not user_is_health_staff(staff):
        raise PermissionDenied(
            _("Only staff of a health department may resolve appeals."), code="not_health_staff"
        )
    if staff.pk == appeal.person_id:
        raise PermissionDenied(_("You cannot resolve your own appeal."), code="health_appeal_own")
    appeal = (
        HealthAppeal.objects.select_for_update().select_related("status_appealed").get(pk=appeal.pk)
    )
    if appeal.status != HealthAppeal.Status.OPEN:
        raise Conflict(_("This appeal has already been resolved."), code="health_appeal_resolved")
    comment = (comment or "").strip()
    errors: dict[str, list[Message]] = {}
    if outcome not in APPEAL_OUTCOMES:
        errors["outcome"] = [_("Uphold the colour or correct it.")]
    if not comment:
        errors["comment"] = [_("Explain the decision to the person.")]
    appealed = appeal.status_appealed
    if outcome == "uphold" and colour is not None:
        errors["colour"] = [_("Give a colour only when correcting it.")]
    if outcome == "uphold" and set_aside:
        errors["set_aside"] = [_("Set inputs aside only when correcting the colour.")]
    available = [
        str(item["ref"])
        for item in appealed.inputs
        if str(item.get("ref", "")).startswith(("fact:", "declaration:"))
    ]
    if outcome == "correct" and set_aside is not None:
        unknown = [ref for ref in set_aside if ref not in available]
        if unknown:
            errors["set_aside"] = [
                _("%(refs)s did not decide the appealed colour.") % {"refs": ", ".join(unknown)}
            ]
        elif available and not set_aside:
            errors["set_aside"] = [
                _(
                    "Set aside at least one fact or declaration, or the rules give the "
                    "same colour again at the next check-in."
                )
            ]
    if outcome == "correct":
        if colour not in Colour.values:
            errors["colour"] = [_("Choose green, yellow or red.")]
        elif rules.SEVERITY[colour] >= rules.SEVERITY[appealed.colour]:
            errors["colour"] = [
                _(
                    "A correction makes the colour less severe; to make it more severe, "
                    "record the fact that justifies it."
                )
            ]
    if errors:
        raise ValidationFailed(fields=errors)
    current = health_status_current(appeal.person)
    if outcome == "correct" and (current is None or current.pk != appealed.pk):
        raise Conflict(
            _("The colour has changed since the appeal; uphold the appeal and look again."),
            code="health_status_changed",
        )

    appeal.status = (
        HealthAppeal.Status.CORRECTED if outcome == "correct" else HealthAppeal.Status.UPHELD
    )
    appeal.resolved_at = now
    appeal.resolved_by = staff
    appeal.resolution_comment = comment
    appeal.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_comment"])
    detail: dict[str, Any] = {"outcome": outcome, "colour_appealed": appealed.colour}
    if outcome == "correct" and colour is not None:
        set_aside = available if set_aside is None else list(dict.fromkeys(set_aside))
        correction = HealthStatus.objects.create(
            person=appeal.person,
            colour=colour,
            source=HealthStatus.Source.CORRECTION,
            rule_id=CORRECTION_RULE_ID,
            inputs=appealed.inputs,
            evaluated_at=now,
            appeal=appeal,
            set_aside=set_aside,
            comment=comment,
            created_at=now,
        )
        detail.update({"colour": colour, "status": correction.pk, "set_aside": set_aside})
    audit_record(actor=staff, action=f"health.appeal_{outcome}", target=appeal, detail=detail)
    return appeal


def health_staff_check(staff: User) -> None:
    if not user_is_health_staff(staff):
        raise PermissionDenied(
            _("Only staff of a health department may handle appeals."), code="not_health_staff"
        )


@transaction.atomic
def health_appeal_read(*, staff: User, appeal_id: int) -> HealthAppeal:
    """Health staff open one appeal, with the person's colour and its inputs: audited."""
    health_enabled_check()
    health_staff_check(staff)
    appeal = health_appeal_get(appeal_id)
    if appeal is None:
        raise NotFound(_("There is no such appeal."), code="health_appeal_not_found")
    audit_record(
        actor=staff,
        action="health.appeal_read",
        target=appeal,
        detail={"person": appeal.person_id, "status": appeal.status},
    )
    return appeal


@transaction.atomic
def health_appeals_list_read(
    *, staff: User, appeals: Sequence[HealthAppeal], resolved: bool
) -> Sequence[HealthAppeal]:
    """Health staff look at a list of appeals (masked names, colours, reasons): audited,
    naming the appeals they saw."""
    health_enabled_check()
    health_staff_check(staff)
    audit_record(
        actor=staff,
        action="health.appeals_list",
        object_type="health.healthappeal",
        detail={
            "list": "resolved" if resolved else "open",
            "appeals": [appeal.pk for appeal in appeals],
        },
    )
    return appeals


# ---------------------------------------------------------------------------------------
# Switching the module off


@transaction.atomic
def health_data_purge(*, actor: User | None = None) -> dict[str, int]:
    """Delete every person's health data: appeals, colours, declarations, facts, venues,
    check-ins and contact traces.

    Rule sets and risk areas are not personal and stay. Refused while the module is on.
    """
    if settings.HEALTH_EMERGENCY_ENABLED:
        raise Conflict(
            _("Switch health codes off (HEALTH_EMERGENCY_ENABLED) before purging their data."),
            code="health_enabled",
        )
    counts = {
        "appeals": HealthAppeal.objects.count(),
        "statuses": HealthStatus.objects.count(),
        "declarations": HealthDeclaration.objects.count(),
        "facts": HealthFact.objects.count(),
        "contact_traces": ContactTrace.objects.count(),
        "checkins": VenueCheckin.objects.count(),
        "venues": Venue.objects.count(),
    }
    # Traces point at facts, appeals and colours at each other: children first.
    ContactCandidate.objects.all().delete()
    ContactTrace.objects.all().delete()
    VenueCheckin.objects.all().delete()
    Venue.objects.all().delete()
    HealthStatus.objects.update(appeal=None)
    HealthAppeal.objects.all().delete()
    HealthStatus.objects.all().delete()
    TravelStay.objects.all().delete()
    HealthDeclaration.objects.all().delete()
    HealthFact.objects.all().delete()
    audit_record(actor=actor, action="health.purge", object_type="health", detail=counts)
    return counts
