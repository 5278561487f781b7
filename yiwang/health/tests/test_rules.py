"""The rule engine, and every test case of the default rules file (run in CI)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from yiwang.health import rules
from yiwang.health.tests.conftest import DEFAULT_RULES

DEFINITION = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))


def test_default_rules_file_is_well_formed() -> None:
    assert rules.definition_problems(DEFINITION) == []


@pytest.mark.parametrize(
    "case", DEFINITION["tests"], ids=[case["name"] for case in DEFINITION["tests"]]
)
def test_default_rules_case(case: dict[str, Any]) -> None:
    clock = rules._clock_parse(case["clock"])
    assert clock is not None
    outcome = rules.rules_evaluate(
        DEFINITION, payload=case["payload"], external=rules.external_for(clock, clock.date())
    )
    assert (outcome.colour, outcome.rule_id) == (case["expected"], case["rule"])


def test_every_default_rule_decides_at_least_one_case() -> None:
    deciding = {case["rule"] for case in DEFINITION["tests"]}
    assert {rule["id"] for rule in DEFINITION["rules"]} | {"default"} == deciding


def test_test_cases_run_reports_a_wrong_expectation() -> None:
    definition = copy.deepcopy(DEFINITION)
    definition["tests"][1]["expected"] = "green"
    failures = rules.test_cases_run(definition)
    assert [(f.index, f.name) for f in failures] == [(1, definition["tests"][1]["name"])]
    assert "expected green, got red (rule red.confirmed_case)" in failures[0].message


def test_test_cases_run_reports_the_wrong_deciding_rule() -> None:
    definition = copy.deepcopy(DEFINITION)
    definition["tests"][1]["rule"] = "red.close_contact"
    failures = rules.test_cases_run(definition)
    assert len(failures) == 1
    assert (
        "expected rule red.close_contact to decide, got red.confirmed_case" in failures[0].message
    )


def test_a_rule_failing_at_evaluation_is_a_failing_case() -> None:
    definition = copy.deepcopy(DEFINITION)
    definition["tests"] = [
        {
            "name": "bad date",
            "clock": "2022-04-20T09:00:00+08:00",
            "expected": "red",
            "payload": {"facts": {"confirmed_case": "not a date"}},
        }
    ]
    definition["rules"][0]["logic"] = {
        "before": [{"var": "payload.facts.confirmed_case"}, {"var": "external.today"}]
    }
    failures = rules.test_cases_run(definition)
    assert len(failures) == 1
    assert failures[0].message.startswith("a rule failed: red.confirmed_case:")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(code="Hang Zhou"), "code: lower-case letters"),
        (lambda d: d.update(name=""), "name: the rule set needs a name."),
        (lambda d: d.update(rules=[]), "rules: the rule set needs at least one rule."),
        (lambda d: d.update(tests=[]), "tests: the rule set needs at least one test case."),
        (
            lambda d: d["rules"][1].update(id="red.confirmed_case"),
            "rules[1].id: the id red.confirmed_case is used twice.",
        ),
        (lambda d: d["rules"][0].update(id="default"), "rules[0].id: lower-case letters"),
        (
            lambda d: d["rules"][0].update(colour="green"),
            "rules[0] (red.confirmed_case).colour: a rule gives red or yellow",
        ),
        (
            lambda d: d["rules"][0].update(logic={"log": "x"}),
            'rules[0] (red.confirmed_case).logic: unknown operation "log".',
        ),
        (
            lambda d: d["rules"][0].update(logic={"var": "payload.facts.confirmed"}),
            'rules[0] (red.confirmed_case).logic: unknown variable "payload.facts.confirmed".',
        ),
        (
            lambda d: d["rules"][0].update(logic={"and": [{"a": 1, "b": 2}]}),
            "rules[0] (red.confirmed_case).logic: an object must hold exactly one operation.",
        ),
        (
            lambda d: d["rules"][0].update(logic=True),
            "rules[0] (red.confirmed_case).logic: the logic must be one JSON Logic operation.",
        ),
        (lambda d: d["tests"][0].update(clock="2022-04-20T09:00:00"), "tests[0].clock:"),
        (
            lambda d: d["tests"][0].update(expected="blue"),
            "tests[0].expected: green, yellow or red.",
        ),
        (
            lambda d: d["tests"][0].update(rule="red.nothing"),
            'tests[0].rule: no rule has the id "red.nothing".',
        ),
        (lambda d: d["tests"][0].update(payload=[]), "tests[0].payload: must be a JSON object."),
    ],
)
def test_definition_problems_name_the_place(change: Any, problem: str) -> None:
    definition = copy.deepcopy(DEFINITION)
    change(definition)
    problems = rules.definition_problems(definition)
    # The first problem is the one made; test cases naming a removed rule may follow.
    assert problems[0].startswith(problem), problems


def test_a_definition_that_is_not_an_object_is_refused() -> None:
    assert rules.definition_problems([]) == ["The rule set must be a JSON object."]


def test_variables_inside_item_operations_are_not_checked_against_the_payload() -> None:
    logic = {"some": [{"var": "payload.checkins"}, {"==": [{"var": ""}, "2022-04-01"]}]}
    assert rules._logic_problems(logic, "x") == []
    assert rules.rule_reads(logic) == {"payload.checkins"}


def _checkins(days: list[str], today: str, after: str | None) -> int:
    data = {"payload": {"checkins": days}, "external": {"today": today}}
    return rules.op_normal_checkins_after(data, after)


def test_checkins_count_the_longest_run_after_the_date() -> None:
    days = ["2022-04-02", "2022-04-03", "2022-04-05", "2022-04-06", "2022-04-07"]
    assert _checkins(days, "2022-04-10", "2022-04-01") == 3
    assert _checkins(days, "2022-04-10", "2022-04-05") == 2
    assert _checkins(days, "2022-04-10", None) == 3


def test_checkins_after_today_do_not_count() -> None:
    days = ["2022-04-09", "2022-04-10", "2022-04-11"]
    assert _checkins(days, "2022-04-10", "2022-04-01") == 2


def test_checkins_without_today_count_nothing() -> None:
    assert rules.op_normal_checkins_after({"payload": {"checkins": ["2022-04-09"]}}, None) == 0
    assert rules.op_normal_checkins_after(None, None) == 0


def test_the_most_severe_colour_wins_and_the_first_rule_of_it_decides() -> None:
    payload = {
        "facts": {"close_contact": "2022-04-19", "suspected_case": "2022-04-19"},
        "declared": {"symptoms": "2022-04-19"},
    }
    outcome = rules.rules_evaluate(
        DEFINITION,
        payload=payload,
        external={"clock": "2022-04-20T09:00:00+08:00", "today": "2022-04-20"},
    )
    assert outcome.colour == "red"
    assert outcome.rule_id == "red.suspected_case"
    assert outcome.fired == ("red.suspected_case", "red.close_contact", "yellow.symptoms")
    assert outcome.reads == {"payload.facts.suspected_case", "payload.checkins"}
