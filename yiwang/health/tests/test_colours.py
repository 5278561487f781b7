"""Colours computed from real rows: facts, declarations, check-ins and risk areas."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from yiwang.core.errors import Conflict
from yiwang.health.models import HealthFact, HealthStatus, RiskArea
from yiwang.health.selectors import health_colour_evaluate, health_status_current
from yiwang.health.services import (
    StayIn,
    health_declaration_submit,
    health_fact_record,
    health_status_refresh,
    risk_area_declare,
)
from yiwang.health.tests.conftest import at, day

pytestmark = pytest.mark.usefixtures("default_rules")


def fact(
    person: Any, kind: str, on: str, *, result: str = "", recorded: str | None = None
) -> HealthFact:
    return health_fact_record(
        id_number=person.id_number,
        kind=kind,
        result=result,
        observed_on=day(on),
        source_department="330100-WJ",
        source_registry="传染病报告系统",
        reference="R-1",
        now=at(recorded or on, 8),
    )


def checkins(person: Any, first: str, last: str, *, skip: tuple[str, ...] = ()) -> None:
    current = day(first)
    while current <= day(last):
        if current.isoformat() not in skip:
            health_declaration_submit(person=person, kind="checkin", now=at(current.isoformat(), 7))
        current += datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _health_department(health_department: Any) -> None:
    """Facts name their source department, which must exist."""


def test_nobody_known_is_green(person: Any) -> None:
    decision = health_colour_evaluate(person=person, clock=at("2022-04-20"))
    assert (decision.colour, decision.rule_id, decision.inputs) == ("green", "default", [])


@pytest.mark.parametrize(
    ("kind", "result", "rule"),
    [
        ("confirmed_case", "", "red.confirmed_case"),
        ("suspected_case", "", "red.suspected_case"),
        ("close_contact", "", "red.close_contact"),
        ("test_result", "positive", "red.positive_test"),
        ("risk_area_arrival", "", "yellow.risk_area_arrival"),
    ],
)
def test_each_fact_gives_its_colour_and_is_named_as_used(
    person: Any, kind: str, result: str, rule: str
) -> None:
    recorded = fact(person, kind, "2022-04-18", result=result)
    decision = health_colour_evaluate(person=person, clock=at("2022-04-20"))
    assert decision.rule_id == rule
    assert decision.colour == rule.split(".")[0]
    assert decision.inputs == [
        {
            "ref": f"fact:{recorded.pk}",
            "kind": kind,
            "date": "2022-04-18",
            "source": "330100-WJ/传染病报告系统",
            **({"result": result} if result else {}),
        }
    ]


def test_a_negative_test_is_green(person: Any) -> None:
    fact(person, "test_result", "2022-04-18", result="negative")
    assert health_colour_evaluate(person=person, clock=at("2022-04-20")).colour == "green"


def test_a_withdrawn_fact_is_not_used(person: Any) -> None:
    recorded = fact(person, "close_contact", "2022-04-18")
    HealthFact.objects.filter(pk=recorded.pk).update(withdrawn_at=at("2022-04-19"))
    assert health_colour_evaluate(person=person, clock=at("2022-04-20")).colour == "green"
    # Before its withdrawal it was in force.
    assert health_colour_evaluate(person=person, clock=at("2022-04-18", 12)).colour == "red"


def test_a_fact_recorded_after_the_clock_is_not_known_then(person: Any) -> None:
    fact(person, "close_contact", "2022-04-15", recorded="2022-04-18")
    assert health_colour_evaluate(person=person, clock=at("2022-04-17")).colour == "green"
    assert health_colour_evaluate(person=person, clock=at("2022-04-18", 9)).colour == "red"


def test_declared_symptoms_are_yellow(person: Any) -> None:
    declaration = health_declaration_submit(
        person=person, kind="declaration", symptoms=["fever", "cough"], now=at("2022-04-19")
    )
    decision = health_colour_evaluate(person=person, clock=at("2022-04-20"))
    assert (decision.colour, decision.rule_id) == ("yellow", "yellow.symptoms")
    assert decision.inputs == [
        {
            "ref": f"declaration:{declaration.pk}",
            "kind": "declaration",
            "date": "2022-04-19",
            "symptoms": ["fever", "cough"],
        }
    ]


def test_a_declared_contact_with_a_case_is_yellow(person: Any) -> None:
    health_declaration_submit(
        person=person, kind="declaration", case_contact_on=day("2022-04-17"), now=at("2022-04-19")
    )
    decision = health_colour_evaluate(person=person, clock=at("2022-04-20"))
    assert (decision.colour, decision.rule_id) == ("yellow", "yellow.case_contact")


def test_red_turns_green_after_14_consecutive_normal_checkins(person: Any) -> None:
    fact(person, "close_contact", "2022-04-01")
    checkins(person, "2022-04-02", "2022-04-14")
    assert health_status_current(person).colour == "red"  # 13 check-ins
    checkins(person, "2022-04-15", "2022-04-15")
    current = health_status_current(person)
    assert (current.colour, current.rule_id) == ("green", "default")
    assert list(
        HealthStatus.objects.filter(person=person)
        .order_by("created_at")
        .values_list("colour", "rule_id")
    ) == [("red", "red.close_contact"), ("green", "default")]


def test_a_missed_day_restarts_the_red_count(person: Any) -> None:
    fact(person, "close_contact", "2022-04-01")
    checkins(person, "2022-04-02", "2022-04-15", skip=("2022-04-08",))
    assert health_status_current(person).colour == "red"
    # 7 check-ins after the missed day (9th–15th); 7 more make 14 in a row.
    checkins(person, "2022-04-16", "2022-04-21")
    assert health_status_current(person).colour == "red"
    checkins(person, "2022-04-22", "2022-04-22")
    assert health_status_current(person).colour == "green"


def test_yellow_turns_green_after_7_consecutive_normal_checkins(person: Any) -> None:
    health_declaration_submit(
        person=person, kind="checkin", symptoms=["fever"], now=at("2022-04-01")
    )
    assert health_status_current(person).colour == "yellow"
    checkins(person, "2022-04-02", "2022-04-07")
    assert health_status_current(person).colour == "yellow"
    checkins(person, "2022-04-08", "2022-04-08")
    assert health_status_current(person).colour == "green"


def test_an_abnormal_checkin_breaks_the_run(person: Any) -> None:
    fact(person, "risk_area_arrival", "2022-04-01")
    checkins(person, "2022-04-02", "2022-04-04")
    health_declaration_submit(
        person=person, kind="checkin", case_contact_on=day("2022-04-05"), now=at("2022-04-05")
    )
    checkins(person, "2022-04-06", "2022-04-08")
    decision = health_colour_evaluate(person=person, clock=at("2022-04-08", 12))
    assert (decision.colour, decision.rule_id) == ("yellow", "yellow.risk_area_arrival")


def test_checkin_twice_a_day_is_refused(person: Any) -> None:
    health_declaration_submit(person=person, kind="checkin", now=at("2022-04-02", 7))
    with pytest.raises(Conflict) as raised:
        health_declaration_submit(person=person, kind="checkin", now=at("2022-04-02", 20))
    assert raised.value.code == "health_checkin_exists"


# Risk areas -------------------------------------------------------------------------


def stay(person: Any, region: str, arrived: str, left: str, *, now: str) -> None:
    health_declaration_submit(
        person=person,
        kind="declaration",
        stays=[StayIn(region, day(arrived), day(left))],
        now=at(now),
    )


def area(
    region: str, level: str, start: str, end: str | None, *, declared: str = "2022-04-01"
) -> RiskArea:
    return risk_area_declare(
        actor=None,
        region_code=region,
        level=level,
        valid_from=day(start),
        valid_until=day(end) if end else None,
        now=at(declared, 6),
    )


def test_a_stay_inside_a_high_risk_area_during_its_window_is_yellow(person: Any) -> None:
    declared = area("330106", "high", "2022-04-10", "2022-04-20")
    # 转塘街道 lies in 西湖区: the district's designation covers it.
    stay(person, "330106011", "2022-04-05", "2022-04-12", now="2022-04-13")
    decision = health_colour_evaluate(person=person, clock=at("2022-04-14"))
    assert (decision.colour, decision.rule_id) == ("yellow", "yellow.high_risk_stay")
    assert decision.payload["travel"]["high"] == "2022-04-12"
    refs = [item["ref"] for item in decision.inputs]
    assert f"risk_area:{declared.pk}" in refs


def test_a_stay_before_the_window_opened_is_green(person: Any) -> None:
    area("330106", "high", "2022-04-10", None)
    stay(person, "330106", "2022-04-01", "2022-04-09", now="2022-04-13")
    assert health_colour_evaluate(person=person, clock=at("2022-04-14")).colour == "green"


def test_a_stay_after_the_window_closed_is_green(person: Any) -> None:
    area("330106", "medium", "2022-04-01", "2022-04-05")
    stay(person, "330106", "2022-04-06", "2022-04-09", now="2022-04-13")
    assert health_colour_evaluate(person=person, clock=at("2022-04-14")).colour == "green"


def test_the_last_day_of_the_window_counts(person: Any) -> None:
    area("330106", "medium", "2022-04-01", "2022-04-05")
    stay(person, "330106", "2022-04-05", "2022-04-09", now="2022-04-13")
    decision = health_colour_evaluate(person=person, clock=at("2022-04-14"))
    assert (decision.colour, decision.payload["travel"]["medium"]) == ("yellow", "2022-04-05")


def test_a_stay_more_than_14_days_ago_is_green(person: Any) -> None:
    area("330106", "high", "2022-04-01", None)
    stay(person, "330106", "2022-04-01", "2022-04-02", now="2022-04-13")
    assert health_colour_evaluate(person=person, clock=at("2022-04-15")).colour == "yellow"
    assert health_colour_evaluate(person=person, clock=at("2022-04-16")).colour == "green"


def test_a_low_risk_area_or_another_district_is_green(person: Any) -> None:
    area("330106", "low", "2022-04-01", None)
    area("330102", "high", "2022-04-01", None)
    stay(person, "330106", "2022-04-05", "2022-04-09", now="2022-04-13")
    assert health_colour_evaluate(person=person, clock=at("2022-04-14")).colour == "green"


def test_a_risk_area_declared_after_the_clock_is_not_known_then(person: Any) -> None:
    stay(person, "330106", "2022-04-05", "2022-04-09", now="2022-04-13")
    # Declared on the 14th, for a window from the 1st.
    area("330106", "high", "2022-04-01", None, declared="2022-04-14")
    assert health_colour_evaluate(person=person, clock=at("2022-04-13", 12)).colour == "green"
    assert health_colour_evaluate(person=person, clock=at("2022-04-14", 12)).colour == "yellow"


# Status history -----------------------------------------------------------------------


def test_history_records_only_changes_and_never_rewrites(person: Any) -> None:
    first = health_status_refresh(person=person, clock=at("2022-04-01"))
    again = health_status_refresh(person=person, clock=at("2022-04-02"))
    assert first.pk == again.pk
    assert first.colour == "green"
    fact(person, "suspected_case", "2022-04-03")
    red = health_status_current(person)
    assert (red.colour, red.rule_id, red.rule_set.code) == ("red", "red.suspected_case", "hangzhou")
    assert HealthStatus.objects.filter(person=person).count() == 2
    first.refresh_from_db()
    assert (first.colour, first.rule_id) == ("green", "default")


def test_no_active_rule_set_is_a_conflict(person: Any) -> None:
    from yiwang.health.models import RuleSet

    RuleSet.objects.update(status=RuleSet.Status.RETIRED)
    with pytest.raises(Conflict) as raised:
        health_colour_evaluate(person=person, clock=at("2022-04-01"))
    assert raised.value.code == "health_no_active_rule_set"
