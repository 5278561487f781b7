"""Use cases: declarations with impossible dates, facts, rule sets, appeals, the purge."""

from __future__ import annotations

import copy
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from yiwang.core.errors import Conflict, PermissionDenied, ServiceUnavailable, ValidationFailed
from yiwang.core.models import AuditEntry, Region
from yiwang.health.models import (
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
    health_colour_evaluate,
    health_refresh_candidates,
    health_status_current,
)
from yiwang.health.services import (
    RefreshAllResult,
    StayIn,
    health_appeal_resolve,
    health_appeal_submit,
    health_checkin_daily,
    health_data_purge,
    health_declaration_submit,
    health_fact_record,
    health_fact_withdraw,
    health_rules_load,
    health_status_refresh,
    health_status_refresh_all,
    risk_area_declare,
    rule_set_activate,
    rule_set_create,
)
from yiwang.health.tests.conftest import DEFAULT_RULES, at, day
from yiwang.identity.models import Department
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

DEFINITION = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))


# Declarations with impossible dates -----------------------------------------------------


def fields_of(raised: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in raised.value.fields.items()}


def test_impossible_dates_each_get_their_own_field_error(person: Any) -> None:
    # The person was born on 1995-03-12 (her ID number says so); today is 2022-04-20.
    with pytest.raises(ValidationFailed) as raised:
        health_declaration_submit(
            person=person,
            kind="declaration",
            symptoms=["fever"],
            symptoms_since=day("2022-04-21"),
            case_contact_on=day("1990-01-01"),
            stays=[
                StayIn("330106", day("2022-04-25"), day("2022-04-26")),
                StayIn("330106", day("2022-04-10"), day("2022-04-05")),
                StayIn("330106", day("1994-12-31"), day("2022-04-01")),
            ],
            now=at("2022-04-20"),
        )
    assert raised.value.code == "validation_failed"
    assert fields_of(raised) == {
        "symptoms_since": ["The symptoms cannot begin in the future."],
        "case_contact_on": ["This date is before your date of birth."],
        "stays.0.arrived_on": ["The arrival cannot be in the future."],
        "stays.0.left_on": ["The departure cannot be in the future."],
        "stays.1.left_on": ["The departure cannot be before the arrival."],
        "stays.2.arrived_on": ["This date is before your date of birth."],
    }
    assert HealthDeclaration.objects.count() == 0
    assert TravelStay.objects.count() == 0


def test_the_field_errors_are_in_chinese_for_a_chinese_reader(person: Any) -> None:
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as raised:
        health_declaration_submit(
            person=person,
            kind="declaration",
            symptoms=["fever"],
            symptoms_since=day("2022-04-21"),
            now=at("2022-04-20"),
        )
    assert fields_of(raised)["symptoms_since"] == [_zh("The symptoms cannot begin in the future.")]


def _zh(message: str) -> str:
    with translation.override("zh-hans"):
        text = translation.gettext(message)
    assert text != message, f"no Chinese for {message!r}"
    return text


def test_unknown_codes_and_missing_dates_are_field_errors(person: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        health_declaration_submit(
            person=person,
            kind="visit",
            symptoms=["sneezing"],
            stays=[StayIn("999999", None, None)],
            now=at("2022-04-20"),
        )
    assert fields_of(raised) == {
        "kind": ["Choose a self-declaration or a daily check-in."],
        "symptoms": ["Unknown symptom: sneezing."],
        "stays.0.region": ["There is no region with the code 999999."],
        "stays.0.arrived_on": ["Give the day you arrived."],
        "stays.0.left_on": ["Give the day you left (today if you are still there)."],
    }
    assert HealthDeclaration.objects.count() == 0


def test_a_symptom_date_without_symptoms_is_refused(person: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        health_declaration_submit(
            person=person,
            kind="declaration",
            symptoms_since=day("2022-04-19"),
            now=at("2022-04-20"),
        )
    assert fields_of(raised) == {
        "symptoms_since": ["Give the date the symptoms began only with the symptoms."]
    }


def test_a_possible_declaration_is_stored_with_its_stays(person: Any) -> None:
    declaration = health_declaration_submit(
        person=person,
        kind="declaration",
        stays=[StayIn("330106011", day("2022-04-18"), day("2022-04-20"))],
        now=at("2022-04-20", 23, 30),
    )
    assert declaration.day == day("2022-04-20")
    assert [(s.region.code, s.arrived_on, s.left_on) for s in declaration.stays.all()] == [
        ("330106011", day("2022-04-18"), day("2022-04-20"))
    ]


def test_declaring_while_switched_off_is_refused(person: Any, settings: Any) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    with pytest.raises(ServiceUnavailable) as raised:
        health_declaration_submit(person=person, kind="checkin", now=at("2022-04-20"))
    assert (raised.value.code, raised.value.status) == ("health_disabled", 503)
    assert HealthDeclaration.objects.count() == 0


# Facts ---------------------------------------------------------------------------------


def test_a_fact_keeps_its_source(person: Any, health_department: Any) -> None:
    recorded = health_fact_record(
        id_number=person.id_number,
        kind="test_result",
        result="positive",
        observed_on=day("2022-04-19"),
        source_department="330100-WJ",
        source_registry="核酸检测结果库",
        reference="NAT-2022-0419-001",
        now=at("2022-04-20"),
    )
    assert (recorded.source_department, recorded.source_registry, recorded.source_reference) == (
        "330100-WJ",
        "核酸检测结果库",
        "NAT-2022-0419-001",
    )


def test_bad_facts_are_refused_by_field(person: Any, health_department: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        health_fact_record(
            id_number=person.id_number,
            kind="test_result",
            observed_on=day("2022-04-21"),
            source_department="999999-XX",
            source_registry=" ",
            region_code="999999",
            now=at("2022-04-20"),
        )
    assert set(fields_of(raised)) == {
        "result",
        "observed_on",
        "source_department",
        "source_registry",
        "region_code",
    }
    with pytest.raises(ValidationFailed) as raised:
        health_fact_record(
            id_number=person.id_number,
            kind="close_contact",
            result="negative",
            observed_on=day("2022-04-19"),
            source_department="330100-WJ",
            source_registry="r",
            now=at("2022-04-20"),
        )
    assert fields_of(raised) == {"result": ["Only a test has a result."]}
    with pytest.raises(ValidationFailed) as raised:
        health_fact_record(
            id_number="330106199503121234",
            kind="close_contact",
            observed_on=day("2022-04-19"),
            source_department="330100-WJ",
            source_registry="r",
        )
    assert list(fields_of(raised)) == ["id_number"]
    assert HealthFact.objects.count() == 0


# Risk areas ----------------------------------------------------------------------------


def test_risk_areas_are_declared_by_health_administrators_with_an_audit_entry(
    health_admin: Any,
) -> None:
    declared = risk_area_declare(
        actor=health_admin,
        region_code="330106",
        level="high",
        valid_from=day("2022-04-10"),
        valid_until=day("2022-04-20"),
    )
    entry = AuditEntry.objects.get(action="health.risk_area_declare")
    assert (entry.actor_id, entry.object_id) == (health_admin.pk, str(declared.pk))


def test_other_staff_cannot_declare_risk_areas(health_staff: Any) -> None:
    with pytest.raises(PermissionDenied):
        risk_area_declare(
            actor=health_staff, region_code="330106", level="high", valid_from=day("2022-04-10")
        )
    assert RiskArea.objects.count() == 0


def test_a_risk_window_ending_before_it_starts_is_refused(db: None) -> None:
    with pytest.raises(ValidationFailed) as raised:
        risk_area_declare(
            actor=None,
            region_code="330106",
            level="severe",
            valid_from=day("2022-04-10"),
            valid_until=day("2022-04-09"),
        )
    assert set(fields_of(raised)) == {"level", "valid_until"}


# Rule sets -----------------------------------------------------------------------------


def broken_definition() -> dict[str, Any]:
    definition = copy.deepcopy(DEFINITION)
    # Close contacts would clear after 7 check-ins instead of 14: three cases catch it.
    close_contact = next(r for r in definition["rules"] if r["id"] == "red.close_contact")
    close_contact["logic"]["and"][1]["<"][1] = 7
    return definition


def test_activation_is_refused_listing_the_failing_cases(default_rules: RuleSet) -> None:
    draft = rule_set_create(definition=broken_definition())
    assert (draft.code, draft.version, draft.status) == ("hangzhou", 2, "draft")
    with pytest.raises(ValidationFailed) as raised:
        rule_set_activate(rule_set=draft)
    assert raised.value.code == "health_rules_tests_fail"
    failing = fields_of(raised)["tests"]
    assert failing == [
        "tests[6] close contact, 13 normal check-ins: still red: expected red, got green "
        "(rule default).",
        "tests[8] close contact, 14 check-ins with a missed day: red: expected red, got green "
        "(rule default).",
        "tests[9] check-ins on or before the contact day do not count: expected red, got green "
        "(rule default).",
    ]
    draft.refresh_from_db()
    default_rules.refresh_from_db()
    assert (draft.status, default_rules.status) == ("draft", "active")


def test_activation_retires_the_previous_version_with_an_audit_entry(
    default_rules: RuleSet, health_admin: Any
) -> None:
    definition = copy.deepcopy(DEFINITION)
    definition["description"] = "v2"
    draft = rule_set_create(definition=definition, actor=health_admin)
    rule_set_activate(rule_set=draft, actor=health_admin)
    default_rules.refresh_from_db()
    draft.refresh_from_db()
    assert (default_rules.status, draft.status) == ("retired", "active")
    entry = AuditEntry.objects.filter(action="health.rule_set_activate").latest("seq")
    assert entry.actor_id == health_admin.pk
    assert entry.detail["version"] == 2
    assert entry.detail["retired"] == 1
    with pytest.raises(Conflict):
        rule_set_activate(rule_set=default_rules)


def test_only_health_administrators_manage_rule_sets(health_staff: Any) -> None:
    with pytest.raises(PermissionDenied):
        rule_set_create(definition=DEFINITION, actor=health_staff)
    assert RuleSet.objects.count() == 0


def test_loading_the_same_file_twice_writes_one_version(db: None) -> None:
    first = health_rules_load(path=DEFAULT_RULES)
    second = health_rules_load(path=DEFAULT_RULES)
    assert (first.created, second.created) == (True, False)
    assert first.rule_set.pk == second.rule_set.pk
    assert first.rule_set.status == "active"
    assert RuleSet.objects.count() == 1


def test_a_changed_file_becomes_a_new_active_version(db: None, tmp_path: Path) -> None:
    health_rules_load(path=DEFAULT_RULES)
    changed = copy.deepcopy(DEFINITION)
    changed["name"] = "杭州健康码规则（修订）"
    path = tmp_path / "hangzhou.json"
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    result = health_rules_load(path=path)
    assert (result.created, result.rule_set.version, result.rule_set.status) == (True, 2, "active")
    assert list(RuleSet.objects.order_by("version").values_list("status", flat=True)) == [
        "retired",
        "active",
    ]


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        ("{not json", "file", "is not valid JSON (line 1, column 2)"),
        (json.dumps({**DEFINITION, "rules": []}), "definition", "rules: the rule set needs"),
        (json.dumps(broken_definition()), "tests", "tests[6] close contact"),
    ],
)
def test_a_bad_file_is_refused_and_writes_nothing(
    db: None, tmp_path: Path, content: str, field: str, message: str
) -> None:
    path = tmp_path / "rules.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationFailed) as raised:
        health_rules_load(path=path)
    assert message in fields_of(raised)[field][0]
    assert RuleSet.objects.count() == 0


def test_a_missing_file_is_refused(db: None, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as raised:
        health_rules_load(path=tmp_path / "none.json")
    assert "Cannot read" in fields_of(raised)["file"][0]


# Appeals -------------------------------------------------------------------------------


@pytest.fixture
def red_person(person: Any, default_rules: RuleSet, health_department: Any) -> Any:
    health_fact_record(
        id_number=person.id_number,
        kind="close_contact",
        observed_on=day("2022-04-18"),
        source_department="330100-WJ",
        source_registry="流调系统",
        now=at("2022-04-18"),
    )
    return person


def test_a_correction_is_a_new_colour_kept_in_history_with_an_audit_entry(
    red_person: Any, health_staff: Any
) -> None:
    red = health_status_current(red_person)
    appeal = health_appeal_submit(
        person=red_person, reason="我与该病例不在同一时空。", now=at("2022-04-19")
    )
    health_appeal_resolve(
        appeal=appeal,
        staff=health_staff,
        outcome="correct",
        colour="green",
        comment="经核实，非密接。",
        now=at("2022-04-19", 15),
    )
    appeal.refresh_from_db()
    assert (appeal.status, appeal.resolved_by) == ("corrected", health_staff)
    current = health_status_current(red_person)
    assert (current.colour, current.source, current.rule_id, current.appeal) == (
        "green",
        "correction",
        "correction",
        appeal,
    )
    assert current.set_aside == [red.inputs[0]["ref"]]
    assert list(
        HealthStatus.objects.filter(person=red_person)
        .order_by("created_at")
        .values_list("colour", "source")
    ) == [("red", "rules"), ("green", "correction")]
    entry = AuditEntry.objects.get(action="health.appeal_correct")
    assert (entry.actor_id, entry.object_id) == (health_staff.pk, str(appeal.pk))
    assert entry.detail["colour_appealed"] == "red"
    assert entry.detail["colour"] == "green"
    # The close-contact fact is set aside: later refreshes stay green.
    assert health_status_refresh(person=red_person, clock=at("2022-04-20")) == current
    assert health_colour_evaluate(person=red_person, clock=at("2022-04-20")).colour == "green"


def test_a_correction_yields_to_a_new_fact(red_person: Any, health_staff: Any) -> None:
    appeal = health_appeal_submit(person=red_person, reason="错误", now=at("2022-04-19"))
    health_appeal_resolve(
        appeal=appeal,
        staff=health_staff,
        outcome="correct",
        colour="green",
        comment="核实",
        now=at("2022-04-19", 15),
    )
    health_fact_record(
        id_number=red_person.id_number,
        kind="suspected_case",
        observed_on=day("2022-04-20"),
        source_department="330100-WJ",
        source_registry="传染病报告系统",
        now=at("2022-04-20"),
    )
    current = health_status_current(red_person)
    assert (current.colour, current.rule_id) == ("red", "red.suspected_case")


def test_upholding_keeps_the_colour_and_is_audited(red_person: Any, health_staff: Any) -> None:
    appeal = health_appeal_submit(person=red_person, reason="错误", now=at("2022-04-19"))
    health_appeal_resolve(appeal=appeal, staff=health_staff, outcome="uphold", comment="属实")
    appeal.refresh_from_db()
    assert appeal.status == "upheld"
    assert health_status_current(red_person).colour == "red"
    assert AuditEntry.objects.filter(action="health.appeal_uphold").count() == 1


def test_appeal_failures(red_person: Any, health_staff: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        health_appeal_submit(person=red_person, reason="  ")
    assert list(fields_of(raised)) == ["reason"]
    appeal = health_appeal_submit(person=red_person, reason="错误", now=at("2022-04-19"))
    with pytest.raises(Conflict) as conflict:
        health_appeal_submit(person=red_person, reason="再次")
    assert conflict.value.code == "health_appeal_open"

    citizen = VerifiedUserFactory()
    with pytest.raises(PermissionDenied):
        health_appeal_resolve(appeal=appeal, staff=citizen, outcome="uphold", comment="x")
    with pytest.raises(ValidationFailed) as raised:
        health_appeal_resolve(
            appeal=appeal, staff=health_staff, outcome="correct", colour="red", comment=""
        )
    assert fields_of(raised) == {
        "comment": ["Explain the decision to the person."],
        "colour": [
            "A correction makes the colour less severe; to make it more severe, record the "
            "fact that justifies it."
        ],
    }
    with pytest.raises(ValidationFailed) as raised:
        health_appeal_resolve(appeal=appeal, staff=health_staff, outcome="forgive", comment="x")
    assert list(fields_of(raised)) == ["outcome"]
    health_appeal_resolve(appeal=appeal, staff=health_staff, outcome="uphold", comment="属实")
    with pytest.raises(Conflict) as conflict:
        health_appeal_resolve(appeal=appeal, staff=health_staff, outcome="uphold", comment="x")
    assert conflict.value.code == "health_appeal_resolved"
    assert HealthStatus.objects.filter(source="correction").count() == 0


def test_staff_cannot_resolve_their_own_appeal(
    default_rules: RuleSet, health_staff: Any, health_department: Any
) -> None:
    health_fact_record(
        id_number=health_staff.id_number,
        kind="close_contact",
        observed_on=day("2022-04-18"),
        source_department="330100-WJ",
        source_registry="流调系统",
        now=at("2022-04-18"),
    )
    appeal = health_appeal_submit(person=health_staff, reason="错误", now=at("2022-04-19"))
    with pytest.raises(PermissionDenied):
        health_appeal_resolve(appeal=appeal, staff=health_staff, outcome="uphold", comment="x")


def test_a_green_code_cannot_be_appealed(person: Any, default_rules: RuleSet) -> None:
    with pytest.raises(Conflict) as conflict:
        health_appeal_submit(person=person, reason="?")
    assert conflict.value.code == "health_no_status"
    health_status_refresh(person=person, clock=at("2022-04-19"))
    with pytest.raises(Conflict) as conflict:
        health_appeal_submit(person=person, reason="?")
    assert conflict.value.code == "health_appeal_green"


# Purge ---------------------------------------------------------------------------------


def test_purge_is_refused_while_enabled(red_person: Any) -> None:
    health_appeal_submit(person=red_person, reason="错误", now=at("2022-04-19"))
    with pytest.raises(Conflict) as conflict:
        health_data_purge()
    assert conflict.value.code == "health_enabled"
    assert (HealthFact.objects.count(), HealthStatus.objects.count()) == (1, 1)
    assert HealthAppeal.objects.count() == 1


def test_purge_deletes_the_personal_data_once_switched_off(
    red_person: Any, health_staff: Any, settings: Any
) -> None:
    health_declaration_submit(
        person=red_person,
        kind="declaration",
        stays=[StayIn("330106", day("2022-04-10"), day("2022-04-12"))],
        now=at("2022-04-18", 10),
    )
    appeal = health_appeal_submit(person=red_person, reason="错误", now=at("2022-04-19"))
    health_appeal_resolve(
        appeal=appeal,
        staff=health_staff,
        outcome="correct",
        colour="green",
        comment="核实",
        now=at("2022-04-19", 15),
    )
    risk_area_declare(actor=None, region_code="330106", level="high", valid_from=day("2022-04-01"))
    venue = Venue.objects.create(
        code="purge-test-venue",
        name="西溪湿地游客中心",
        kind=Venue.Kind.VENUE,
        region=Region.objects.get(code="330106"),
        address="杭州市西湖区天目山路518号",
        registered_by=health_staff,
        contact_phone="13900001111",
    )
    checkin = VenueCheckin.objects.create(
        venue=venue, person=red_person, checked_in_at=at("2022-04-17", 14)
    )
    trace = ContactTrace.objects.create(
        department=Department.objects.get(code="330100-WJ"),
        case_id_number=red_person.id_number,
        window_from=at("2022-04-14"),
        window_until=at("2022-04-18"),
        margin_minutes=30,
        stay_minutes=60,
        started_by=health_staff,
    )
    ContactCandidate.objects.create(
        trace=trace,
        id_number=red_person.id_number,
        matches=[{"kind": "venue", "venue": venue.pk, "at": checkin.checked_in_at.isoformat()}],
        first_contact_on=day("2022-04-17"),
    )
    settings.HEALTH_EMERGENCY_ENABLED = False
    counts = health_data_purge()
    assert counts == {
        "appeals": 1,
        "statuses": 2,
        "declarations": 1,
        "facts": 1,
        "contact_traces": 1,
        "checkins": 1,
        "venues": 1,
    }
    assert [
        model.objects.count()
        for model in (
            HealthAppeal,
            HealthStatus,
            HealthDeclaration,
            TravelStay,
            HealthFact,
            ContactTrace,
            ContactCandidate,
            VenueCheckin,
            Venue,
        )
    ] == [0, 0, 0, 0, 0, 0, 0, 0, 0]
    # Not personal: the rules and risk areas stay.
    assert (RuleSet.objects.count(), RiskArea.objects.count()) == (1, 1)
    assert AuditEntry.objects.get(action="health.purge").detail == counts


# Daily check-ins, repeats and verification ------------------------------------------


def test_a_second_daily_checkin_the_same_day_is_the_first(
    person: Any, default_rules: RuleSet
) -> None:
    first, created = health_checkin_daily(person=person, now=at("2022-04-20", 7))
    assert created is True
    again, created = health_checkin_daily(
        person=person, symptoms=["fever"], now=at("2022-04-20", 20)
    )
    assert (again, created) == (first, False)
    assert list(HealthDeclaration.objects.values_list("symptoms", flat=True)) == [[]]
    _next_day, created = health_checkin_daily(person=person, now=at("2022-04-21", 7))
    assert created is True


def test_the_same_declaration_again_within_ten_minutes_is_the_first(person: Any) -> None:
    stays = [StayIn("330106", day("2022-04-18"), day("2022-04-19"))]
    first = health_declaration_submit(
        person=person, kind="declaration", stays=stays, now=at("2022-04-20", 9, 0)
    )
    again = health_declaration_submit(
        person=person, kind="declaration", stays=stays, now=at("2022-04-20", 9, 9)
    )
    assert again == first
    other = health_declaration_submit(
        person=person,
        kind="declaration",
        symptoms=["cough"],
        stays=stays,
        now=at("2022-04-20", 9, 9),
    )
    later = health_declaration_submit(
        person=person, kind="declaration", stays=stays, now=at("2022-04-20", 9, 11)
    )
    assert len({first.pk, other.pk, later.pk}) == 3
    assert HealthDeclaration.objects.count() == 3


def test_an_unverified_person_cannot_declare_or_appeal(db: None) -> None:
    unverified = UserFactory()
    for attempt in (
        lambda: health_declaration_submit(person=unverified, kind="declaration"),
        lambda: health_checkin_daily(person=unverified),
        lambda: health_appeal_submit(person=unverified, reason="x"),
    ):
        with pytest.raises(PermissionDenied) as raised:
            attempt()
        assert raised.value.code == "health_not_verified"
    assert HealthDeclaration.objects.count() == 0


def test_the_same_appeal_again_is_the_open_one(red_person: Any) -> None:
    first = health_appeal_submit(person=red_person, reason="不是我", now=at("2022-04-19"))
    assert health_appeal_submit(person=red_person, reason=" 不是我 ") == first
    assert HealthAppeal.objects.count() == 1


def test_a_correction_sets_aside_only_the_inputs_named(red_person: Any, health_staff: Any) -> None:
    health_fact_record(
        id_number=red_person.id_number,
        kind="suspected_case",
        observed_on=day("2022-04-18"),
        source_department="330100-WJ",
        source_registry="传染病报告系统",
        now=at("2022-04-18", 10),
    )
    appealed = health_status_current(red_person)
    refs = [item["ref"] for item in appealed.inputs]
    appeal = health_appeal_submit(person=red_person, reason="错误", now=at("2022-04-19"))
    with pytest.raises(ValidationFailed) as raised:
        health_appeal_resolve(
            appeal=appeal,
            staff=health_staff,
            outcome="correct",
            colour="green",
            set_aside=["fact:999999"],
            comment="x",
        )
    assert fields_of(raised) == {"set_aside": ["fact:999999 did not decide the appealed colour."]}
    with pytest.raises(ValidationFailed) as raised:
        health_appeal_resolve(
            appeal=appeal, staff=health_staff, outcome="uphold", set_aside=refs, comment="x"
        )
    assert fields_of(raised) == {"set_aside": ["Set inputs aside only when correcting the colour."]}
    health_appeal_resolve(
        appeal=appeal,
        staff=health_staff,
        outcome="correct",
        colour="yellow",
        set_aside=refs[:1],
        comment="部分核实",
        now=at("2022-04-19", 15),
    )
    current = health_status_current(red_person)
    assert (current.colour, current.set_aside) == ("yellow", refs[:1])
    entry = AuditEntry.objects.get(action="health.appeal_correct")
    assert entry.detail["set_aside"] == refs[:1]


# Withdrawing a fact --------------------------------------------------------------------


def test_the_recording_department_withdraws_a_fact_and_the_colour_follows(
    red_person: Any, health_staff: Any
) -> None:
    fact = HealthFact.objects.get()
    withdrawn = health_fact_withdraw(
        fact=fact, actor=health_staff, reason="录入错误", now=at("2022-04-19", 10)
    )
    assert withdrawn.withdrawn_at == at("2022-04-19", 10)
    current = health_status_current(red_person)
    assert (current.colour, current.rule_id) == ("green", "default")
    entry = AuditEntry.objects.get(action="health.fact_withdraw")
    assert (entry.actor_id, entry.object_id, entry.detail) == (
        health_staff.pk,
        str(fact.pk),
        {
            "department": "330100-WJ",
            "kind": "close_contact",
            "observed_on": "2022-04-18",
            "reason": "录入错误",
        },
    )
    # The red colour before keeps the fact it used.
    assert HealthStatus.objects.filter(colour="red", inputs__0__ref=f"fact:{fact.pk}").exists()
    with pytest.raises(Conflict) as raised:
        health_fact_withdraw(fact=fact, actor=health_staff, reason="again")
    assert raised.value.code == "health_fact_withdrawn"
    assert AuditEntry.objects.filter(action="health.fact_withdraw").count() == 1


def test_a_feed_withdraws_by_its_department_code(red_person: Any) -> None:
    fact = HealthFact.objects.get()
    health_fact_withdraw(
        fact=fact, department_code="330100-WJ", reason="重复上报", now=at("2022-04-19")
    )
    entry = AuditEntry.objects.get(action="health.fact_withdraw")
    assert entry.actor_id is None
    assert health_status_current(red_person).colour == "green"


def test_only_the_recording_department_may_withdraw_a_fact(red_person: Any) -> None:
    fact = HealthFact.objects.get()
    other_department = DepartmentFactory(code="330100-GA", kind="public_security")
    other_staff = StaffRoleFactory(department=other_department).user
    attempts = [
        {"actor": other_staff},
        {"actor": other_staff, "department_code": "330100-WJ"},
        {"department_code": "330100-GA"},
        {},
    ]
    for arguments in attempts:
        with pytest.raises(PermissionDenied) as raised:
            health_fact_withdraw(fact=fact, reason="x", **arguments)
        assert raised.value.code == "health_fact_not_yours"
    fact.refresh_from_db()
    assert fact.withdrawn_at is None
    assert health_status_current(red_person).colour == "red"


def test_a_withdrawal_needs_a_reason(red_person: Any) -> None:
    fact = HealthFact.objects.get()
    with pytest.raises(ValidationFailed) as raised:
        health_fact_withdraw(fact=fact, department_code="330100-WJ", reason="  ")
    assert fields_of(raised) == {"reason": ["Say why the fact is withdrawn."]}
    fact.refresh_from_db()
    assert fact.withdrawn_at is None


def test_a_fact_about_someone_without_an_account_is_withdrawn_without_a_colour(
    default_rules: RuleSet, health_department: Any
) -> None:
    fact = health_fact_record(
        id_number="11010519491231002X",
        kind="close_contact",
        observed_on=day("2022-04-18"),
        source_department="330100-WJ",
        source_registry="流调系统",
        now=at("2022-04-18"),
    )
    health_fact_withdraw(fact=fact, department_code="330100-WJ", reason="x")
    assert HealthStatus.objects.count() == 0


# Refreshing the colours that change with time ------------------------------------------


def test_a_yellow_code_turns_green_by_the_daily_refresh_after_enough_checkins(
    person: Any, default_rules: RuleSet
) -> None:
    health_declaration_submit(
        person=person,
        kind="declaration",
        symptoms=["fever"],
        symptoms_since=day("2022-04-10"),
        now=at("2022-04-10"),
    )
    assert health_status_current(person).colour == "yellow"
    # Seven normal check-ins that arrived without a refresh (an outage, a bulk import).
    for offset in range(1, 8):
        HealthDeclaration.objects.create(
            person=person,
            kind="checkin",
            day=day(f"2022-04-{10 + offset}"),
            declared_at=at(f"2022-04-{10 + offset}", 7),
        )
    assert health_status_refresh_all(clock=at("2022-04-16", 23)) == RefreshAllResult(
        checked=1, changed=0, failed=0
    )
    assert health_status_current(person).colour == "yellow"
    result = health_status_refresh_all(clock=at("2022-04-18", 0, 30))
    assert result == RefreshAllResult(checked=1, changed=1, failed=0)
    current = health_status_current(person)
    assert (current.colour, current.rule_id, current.evaluated_at) == (
        "green",
        "default",
        at("2022-04-18", 0, 30),
    )
    assert health_status_refresh_all(clock=at("2022-04-18", 0, 40)).changed == 0


def test_a_risk_area_arrival_stops_counting_after_14_days_by_the_refresh(
    person: Any, default_rules: RuleSet, health_department: Any
) -> None:
    health_fact_record(
        id_number=person.id_number,
        kind="risk_area_arrival",
        observed_on=day("2022-04-01"),
        source_department="330100-WJ",
        source_registry="交通卡口",
        now=at("2022-04-01"),
    )
    assert health_status_current(person).colour == "yellow"
    assert health_status_refresh_all(clock=at("2022-04-14")).changed == 0
    assert health_status_refresh_all(clock=at("2022-04-15")).changed == 1
    assert health_status_current(person).colour == "green"


def test_the_refresh_reads_only_people_whose_colour_can_change(
    person: Any, default_rules: RuleSet, health_department: Any
) -> None:
    red = VerifiedUserFactory()
    health_fact_record(
        id_number=red.id_number,
        kind="confirmed_case",
        observed_on=day("2022-03-01"),
        source_department="330100-WJ",
        source_registry="传染病报告系统",
        now=at("2022-03-01"),
    )
    old_green = VerifiedUserFactory()
    health_declaration_submit(person=old_green, kind="checkin", now=at("2022-01-01"))
    recent = VerifiedUserFactory()
    health_declaration_submit(person=recent, kind="checkin", now=at("2022-04-01"))
    VerifiedUserFactory()  # never declared anything
    candidates = list(health_refresh_candidates(clock=at("2022-04-20")))
    assert candidates == sorted([red, recent], key=lambda user: user.pk)
    # In pages: two people, one at a time.
    result = health_status_refresh_all(clock=at("2022-04-20"), batch_size=1)
    assert result == RefreshAllResult(checked=2, changed=0, failed=0)


def test_the_refresh_is_refused_without_an_active_rule_set_or_when_switched_off(
    db: None, settings: Any
) -> None:
    with pytest.raises(Conflict) as raised:
        health_status_refresh_all()
    assert raised.value.code == "health_no_active_rule_set"
    settings.HEALTH_EMERGENCY_ENABLED = False
    with pytest.raises(ServiceUnavailable):
        health_status_refresh_all()


def test_the_refresh_command_prints_its_counts(
    person: Any, default_rules: RuleSet, health_department: Any
) -> None:
    health_fact_record(
        id_number=person.id_number,
        kind="risk_area_arrival",
        observed_on=day("2022-04-10"),
        source_department="330100-WJ",
        source_registry="交通卡口",
        now=at("2022-04-10"),
    )
    out = StringIO()
    call_command("health_status_refresh", "--at", "2022-04-30T00:30:00+08:00", stdout=out)
    assert out.getvalue() == "Checked 1, changed 1, failed 0.\n"
    assert health_status_current(person).colour == "green"
    with pytest.raises(CommandError, match="--at needs a time zone offset"):
        call_command("health_status_refresh", "--at", "2022-04-30T00:30:00")


def test_the_refresh_command_fails_when_switched_off(db: None, settings: Any) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    with pytest.raises(CommandError, match=r"Health codes are switched off\."):
        call_command("health_status_refresh")
