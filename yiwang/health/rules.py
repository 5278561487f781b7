"""The rule engine: JSON Logic rules in the CertLogic style, and their test cases.

A rule set is data (``catalog-data/health-rules/README.md`` describes the file). Each
rule has an id, the colour it gives and a JSON Logic expression over
``{"payload": ..., "external": {"clock": ..., "today": ...}}``; a rule *fires* when its
expression is true. The most severe colour among the rules that fire wins (the first such
rule in file order decides); when none fires the code is green (rule ``default``).

The operations are JSON Logic's control forms and comparisons, CertLogic's date
operations (``plusTime``, ``before``, ``not-before``, ``after``, ``not-after``) and one of
our own, ``normalCheckinsAfter``. Anything else is refused when the rule set is checked,
so a rule cannot print, loop over unknown data or call code.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from json_logic import jsonLogic  # type: ignore[import-untyped]
from json_logic.builtins import BUILTINS as JSON_LOGIC_BUILTINS  # type: ignore[import-untyped]
from json_logic.builtins import to_bool
from json_logic.cert_logic.builtins import (  # type: ignore[import-untyped]
    BUILTINS as CERT_LOGIC_BUILTINS,
)

COLOURS = ("green", "yellow", "red")
SEVERITY = {"green": 0, "yellow": 1, "red": 2}
RULE_COLOURS = ("yellow", "red")
DEFAULT_RULE_ID = "default"
CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
RULE_ID_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The payload every rule reads: each key is a date (ISO ``YYYY-MM-DD``) or null.
PAYLOAD_DATES: dict[str, tuple[str, ...]] = {
    "facts": (
        "confirmed_case",
        "suspected_case",
        "close_contact",
        "positive_test",
        "negative_test",
        "risk_area_arrival",
    ),
    "declared": ("symptoms", "case_contact"),
    "travel": ("high", "medium", "low"),
}
# ``payload.checkins``: the days (ISO dates) of normal daily check-ins.
KNOWN_VARS = frozenset(
    [f"payload.{group}.{name}" for group, names in PAYLOAD_DATES.items() for name in names]
    + ["payload.checkins", "external.clock", "external.today"]
)
CONTROL_FORMS = frozenset(["if", "?:", "and", "or", "some", "all", "none", "filter", "map"])
# Forms whose second argument is evaluated with each list item as its data.
ITEM_FORMS = frozenset(["some", "all", "none", "filter", "map"])
CHECKIN_OPERATION = "normalCheckinsAfter"
ONE_DAY = datetime.timedelta(days=1)


def _iso_day(value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and DATE_RE.match(value[:10]):
        return datetime.date.fromisoformat(value[:10])
    return None


def op_normal_checkins_after(data: Any = None, after: Any = None, *_ignored: Any) -> int:
    """The longest run of consecutive days with a normal check-in after ``after``, up to
    today. A day without one ends a run: a missed day restarts the count.
    """
    if not isinstance(data, Mapping):
        return 0
    today = _iso_day((data.get("external") or {}).get("today"))
    if today is None:
        return 0
    payload = data.get("payload") or {}
    bound = _iso_day(after)
    days = sorted(
        {
            day
            for day in map(_iso_day, payload.get("checkins") or [])
            if day is not None and day <= today and (bound is None or day > bound)
        }
    )
    longest = run = 0
    previous: datetime.date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == ONE_DAY else 1
        longest = max(longest, run)
        previous = day
    return longest


_JSON_LOGIC_ALLOWED = (
    "==",
    "!=",
    "===",
    "!==",
    "<",
    ">",
    "<=",
    ">=",
    "!",
    "!!",
    "in",
    "var",
    "missing",
    "+",
    "-",
    "min",
    "max",
)
_CERT_LOGIC_DATES = ("plusTime", "before", "not-before", "after", "not-after")

OPERATIONS: dict[str, Any] = {
    **{name: JSON_LOGIC_BUILTINS[name] for name in _JSON_LOGIC_ALLOWED},
    **{name: CERT_LOGIC_BUILTINS[name] for name in _CERT_LOGIC_DATES},
    CHECKIN_OPERATION: op_normal_checkins_after,
}
ALLOWED_OPERATIONS = frozenset(OPERATIONS) | CONTROL_FORMS


class RuleError(Exception):
    """A rule could not be evaluated (a date that is not a date, an unknown operation …)."""


@dataclass(frozen=True)
class RuleOutcome:
    colour: str
    rule_id: str
    fired: tuple[str, ...]
    # The payload variables the deciding rule reads (all of them for the default).
    reads: frozenset[str] = field(default_factory=frozenset)


def definition_digest(definition: Mapping[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def payload_complete(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The payload with every known key present (null, or no check-ins, when missing)."""
    payload = payload or {}
    complete: dict[str, Any] = {}
    for group, names in PAYLOAD_DATES.items():
        given = payload.get(group) or {}
        complete[group] = {name: given.get(name) for name in names}
    complete["checkins"] = list(payload.get("checkins") or [])
    return complete


def rule_reads(logic: object) -> frozenset[str]:
    """The top-level variables an expression reads; ``payload.checkins`` for the
    check-in operation."""
    found: set[str] = set()
    for operator, argument, in_item in _walk(logic):
        if in_item:
            continue
        if operator == "var":
            name = argument[0] if isinstance(argument, list) and argument else argument
            if isinstance(name, str):
                found.add(name)
        elif operator == CHECKIN_OPERATION:
            found.add("payload.checkins")
    return frozenset(found)


def _walk(logic: object, in_item: bool = False) -> Iterator[tuple[str, Any, bool]]:
    if isinstance(logic, list):
        for item in logic:
            yield from _walk(item, in_item)
    elif isinstance(logic, dict) and len(logic) == 1:
        operator, argument = next(iter(logic.items()))
        yield operator, argument, in_item
        arguments = argument if isinstance(argument, list) else [argument]
        for index, sub in enumerate(arguments):
            yield from _walk(sub, in_item or (operator in ITEM_FORMS and index > 0))


def _logic_problems(logic: object, where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(logic, dict) or len(logic) != 1:
        return [_("%(where)s: the logic must be one JSON Logic operation.") % {"where": where}]

    def visit(node: object, in_item: bool) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, in_item)
            return
        if not isinstance(node, dict):
            return
        if len(node) != 1:
            problems.append(
                _("%(where)s: an object must hold exactly one operation.") % {"where": where}
            )
            return
        operator, argument = next(iter(node.items()))
        if operator not in ALLOWED_OPERATIONS:
            problems.append(
                _("%(where)s: unknown operation %(operation)s.")
                % {"where": where, "operation": json.dumps(operator, ensure_ascii=False)}
            )
            return
        if operator == "var" and not in_item:
            name = argument[0] if isinstance(argument, list) and argument else argument
            if name not in KNOWN_VARS:
                problems.append(
                    _("%(where)s: unknown variable %(name)s.")
                    % {"where": where, "name": json.dumps(name, ensure_ascii=False)}
                )
        arguments = argument if isinstance(argument, list) else [argument]
        for index, sub in enumerate(arguments):
            visit(sub, in_item or (operator in ITEM_FORMS and index > 0))

    visit(logic, False)
    return problems


def definition_problems(definition: object) -> list[str]:
    """Everything wrong with a rule-set definition (empty when it is well formed).

    The test cases are checked for shape here and run by ``test_cases_run``.
    """
    if not isinstance(definition, dict):
        return [_("The rule set must be a JSON object.")]
    problems: list[str] = []
    code = definition.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        problems.append(_("code: lower-case letters, digits, - and _, starting with a letter."))
    if not isinstance(definition.get("name"), str) or not definition["name"].strip():
        problems.append(_("name: the rule set needs a name."))
    rules = definition.get("rules")
    if not isinstance(rules, list) or not rules:
        problems.append(_("rules: the rule set needs at least one rule."))
        rules = []
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            problems.append(_("%(where)s: a rule must be a JSON object.") % {"where": where})
            continue
        rule_id = rule.get("id")
        if not isinstance(rule_id, str) or not RULE_ID_RE.match(rule_id) or rule_id == "default":
            problems.append(
                _("%(where)s.id: lower-case letters, digits, ., - and _ (not “default”).")
                % {"where": where}
            )
        elif rule_id in seen:
            problems.append(
                _("%(where)s.id: the id %(id)s is used twice.") % {"where": where, "id": rule_id}
            )
        else:
            seen.add(rule_id)
            where = f"rules[{index}] ({rule_id})"
        if rule.get("colour") not in RULE_COLOURS:
            problems.append(
                _("%(where)s.colour: a rule gives red or yellow (green is the default).")
                % {"where": where}
            )
        problems.extend(_logic_problems(rule.get("logic"), f"{where}.logic"))
    tests = definition.get("tests")
    if not isinstance(tests, list) or not tests:
        problems.append(_("tests: the rule set needs at least one test case."))
        tests = []
    for index, case in enumerate(tests):
        where = f"tests[{index}]"
        if not isinstance(case, dict):
            problems.append(_("%(where)s: a test case must be a JSON object.") % {"where": where})
            continue
        if _clock_parse(case.get("clock")) is None:
            problems.append(
                _("%(where)s.clock: a date and time with its offset, such as %(example)s.")
                % {"where": where, "example": "2022-04-10T09:00:00+08:00"}
            )
        if case.get("expected") not in COLOURS:
            problems.append(_("%(where)s.expected: green, yellow or red.") % {"where": where})
        if "rule" in case and case["rule"] not in (*seen, DEFAULT_RULE_ID):
            problems.append(
                _("%(where)s.rule: no rule has the id %(id)s.")
                % {"where": where, "id": json.dumps(case["rule"], ensure_ascii=False)}
            )
        if not isinstance(case.get("payload", {}), dict):
            problems.append(_("%(where)s.payload: must be a JSON object.") % {"where": where})
    return problems


def _clock_parse(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        clock = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return clock if clock.tzinfo is not None else None


def external_for(clock: datetime.datetime, today: datetime.date) -> dict[str, str]:
    return {"clock": clock.isoformat(), "today": today.isoformat()}


def rules_evaluate(
    definition: Mapping[str, Any], *, payload: Mapping[str, Any], external: Mapping[str, Any]
) -> RuleOutcome:
    """Run every rule on the payload; the most severe colour among those that fire wins."""
    data = {"payload": payload_complete(payload), "external": dict(external)}
    fired: list[tuple[str, str, object]] = []
    for rule in definition["rules"]:
        try:
            result = jsonLogic(rule["logic"], data, OPERATIONS)
        except Exception as exc:  # the library raises whatever a bad value provokes
            raise RuleError(f"{rule['id']}: {exc}") from exc
        if to_bool(result):
            fired.append((rule["id"], rule["colour"], rule["logic"]))
    if not fired:
        return RuleOutcome("green", DEFAULT_RULE_ID, (), KNOWN_VARS)
    worst = max(SEVERITY[colour] for _id, colour, _logic in fired)
    rule_id, colour, logic = next(item for item in fired if SEVERITY[item[1]] == worst)
    return RuleOutcome(colour, rule_id, tuple(item[0] for item in fired), rule_reads(logic))


@dataclass(frozen=True)
class TestCaseFailure:
    index: int
    name: str
    message: str

    def __str__(self) -> str:
        return f"tests[{self.index}] {self.name}: {self.message}"


def test_cases_run(definition: Mapping[str, Any]) -> list[TestCaseFailure]:
    """Run the definition's test cases; the failures, each with what was expected."""
    failures: list[TestCaseFailure] = []
    for index, case in enumerate(definition.get("tests") or []):
        name = str(case.get("name") or "")
        clock = _clock_parse(case.get("clock"))
        if clock is None:
            failures.append(TestCaseFailure(index, name, _("the clock is not a date and time.")))
            continue
        external = external_for(clock, clock.date())
        try:
            outcome = rules_evaluate(
                definition, payload=case.get("payload") or {}, external=external
            )
        except RuleError as exc:
            failures.append(
                TestCaseFailure(index, name, _("a rule failed: %(error)s") % {"error": exc})
            )
            continue
        if outcome.colour != case.get("expected"):
            failures.append(
                TestCaseFailure(
                    index,
                    name,
                    _("expected %(expected)s, got %(colour)s (rule %(rule)s).")
                    % {
                        "expected": case.get("expected"),
                        "colour": outcome.colour,
                        "rule": outcome.rule_id,
                    },
                )
            )
        elif "rule" in case and outcome.rule_id != case["rule"]:
            failures.append(
                TestCaseFailure(
                    index,
                    name,
                    _("expected rule %(expected)s to decide, got %(rule)s.")
                    % {"expected": case["rule"], "rule": outcome.rule_id},
                )
            )
    return failures


# Not a test for pytest to collect, despite its name.
test_cases_run.__test__ = False  # type: ignore[attr-defined]
