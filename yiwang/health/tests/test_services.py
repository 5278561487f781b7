"""Use cases: declarations with impossible dates, facts, rule sets, appeals, the purge."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from yiwang.core.errors import Conflict, PermissionDenied, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.health.models import (
    HealthAppeal,
    HealthDeclaration,
    HealthFact,
    HealthStatus,
    RiskArea,
    RuleSet,
    TravelStay,
)
from yiwang.health.selectors import health_colour_evaluate, health_status_current
from yiwang.health.services import (
    StayIn,
    health_appeal_resolve,
    health_appeal_submit,
    health_data_purge,
    health_declaration_submit,
    health_fact_record,
    health_rules_load,
    health_status_refresh,
    risk_area_declare,
    rule_set_activate,
    rule_set_create,
)
from yiwang.health.tests.conftest import DEFAULT_RULES, at, day
from yiwang.identity.tests.factories import VerifiedUserFactory

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
    with pytest.raises(Conflict) as raised:
        health_declaration_submit(person=person, kind="checkin", now=at("2022-04-20"))
    assert raised.value.code == "health_disabled"
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
    settings.HEALTH_EMERGENCY_ENABLED = False
    counts = health_data_purge()
    assert counts == {"appeals": 1, "statuses": 2, "declarations": 1, "facts": 1}
    assert [
        model.objects.count()
        for model in (HealthAppeal, HealthStatus, HealthDeclaration, TravelStay, HealthFact)
    ] == [0, 0, 0, 0, 0]
    # Not personal: the rules and risk areas stay.
    assert (RuleSet.objects.count(), RiskArea.objects.count()) == (1, 1)
    assert AuditEntry.objects.get(action="health.purge").detail == counts
