"""Life-event bundles (一件事): several items applied for at once, with one merged form.

A bundle is data (``catalog-data/bundles/*.toml``, see catalog-data/README.md): its parts
(each an item), which part waits for which, which parts are optional or apply by a rule,
the co-applicants who must confirm, and prefill sources for facts the items' forms do not
prefill themselves.

The merged form asks each fact once. A field's fact is its ``x-data-element`` UI hint
(``child.name``); a field without one is a fact of its part alone (``<part>.<field>``).
:func:`merged_form` builds it from the parts' forms; the catalogue loader uses it to
check a bundle, and the applications module to show and split the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from json_logic import jsonLogic  # type: ignore[import-untyped]

PART_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
ELEMENT = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")
BUNDLE_KEYS = (
    "code",
    "name",
    "target",
    "life_situation",
    "region_code",
    "summary",
    "applicant_note",
    "confirm_days",
    "wait_limit_days",
    "prefill",
    "parts",
    "co_applicants",
)
PART_KEYS = ("key", "item", "optional", "when", "after", "from_results")
CO_APPLICANT_KEYS = ("label", "name", "id_number", "list", "parts")
# JSON Logic operators whose later arguments read each element of the first.
_ITERATING = frozenset({"some", "all", "none", "map", "filter", "reduce"})
# What must agree between two fields holding the same fact.
_SAME = ("type", "enum", "format")


def field_element(part: str, field_name: str, hints: Mapping[str, Any]) -> str:
    """The fact a part's form field holds."""
    element = hints.get("x-data-element")
    if isinstance(element, str) and ELEMENT.match(element):
        return element
    return f"{part}.{field_name}"


def input_name(element: str) -> str:
    """The merged form's field name for a fact: ``child.name`` → ``child__name``."""
    return element.replace(".", "__")


@dataclass
class MergedField:
    """One fact of the merged form and where each part keeps it."""

    element: str
    schema: dict[str, Any]
    ui: dict[str, Any]
    # part key → that part's field name
    fields: dict[str, str] = field(default_factory=dict)
    # parts whose schema lists the field as required (unconditionally)
    required_in: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return input_name(self.element)

    @property
    def shared(self) -> bool:
        return len(self.fields) > 1


@dataclass
class MergedForm:
    fields: dict[str, MergedField]  # element → field, in the order first met
    problems: list[tuple[str, str]]  # (where, message): facts whose definitions disagree

    def for_part(self, part: str) -> dict[str, MergedField]:
        """The part's field name → its merged field."""
        return {f.fields[part]: f for f in self.fields.values() if part in f.fields}


def _form_order(schema: Mapping[str, Any], ui: Mapping[str, Any]) -> list[str]:
    properties = list((schema.get("properties") or {}).keys())
    order = [name for name in ui.get("ui:order", []) if name in properties]
    return order + [name for name in properties if name not in order]


def merged_form(
    parts: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]],
    *,
    exclude: Mapping[str, Iterable[str]] | None = None,
) -> MergedForm:
    """Merge the forms of ``parts`` — (key, JSON Schema, UI hints) — fact by fact.

    ``exclude`` maps a part to the facts it takes from elsewhere (``from_results``): the
    part keeps them, but they are not asked.
    """
    excluded = {key: set(elements) for key, elements in (exclude or {}).items()}
    merged: dict[str, MergedField] = {}
    problems: list[tuple[str, str]] = []
    for key, schema, ui in parts:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        seen: dict[str, str] = {}
        for name in _form_order(schema, ui):
            hints = dict(ui.get(name) or {})
            element = field_element(key, name, hints)
            if element in seen:
                problems.append(
                    (
                        f"{key}.{name}",
                        _("The field holds the same fact %(element)s as %(other)s.")
                        % {"element": element, "other": seen[element]},
                    )
                )
                continue
            seen[element] = name
            if element in excluded.get(key, ()):
                continue
            prop = dict(properties[name])
            existing = merged.get(element)
            if existing is None:
                existing = merged[element] = MergedField(element=element, schema=prop, ui=hints)
            else:
                for aspect in _SAME:
                    if existing.schema.get(aspect) != prop.get(aspect):
                        first = next(iter(existing.fields.items()))
                        problems.append(
                            (
                                f"{key}.{name}",
                                _(
                                    "The fact %(element)s has another %(aspect)s in "
                                    "%(other)s; fields of one fact must agree."
                                )
                                % {
                                    "element": element,
                                    "aspect": aspect,
                                    "other": f"{first[0]}.{first[1]}",
                                },
                            )
                        )
                        break
                # The first part's hints win; a prefill hint is taken from any part.
                if "ui:prefill" not in existing.ui and "ui:prefill" in hints:
                    existing.ui["ui:prefill"] = hints["ui:prefill"]
            existing.fields[key] = name
            if name in required:
                existing.required_in.append(key)
    return MergedForm(fields=merged, problems=problems)


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"child.name": "x"}`` → ``{"child": {"name": "x"}}``: the data a rule reads."""
    tree: dict[str, Any] = {}
    for element, value in values.items():
        node = tree
        *path, last = element.split(".")
        for step in path:
            child = node.get(step)
            if not isinstance(child, dict):
                child = node[step] = {}
            node = child
        node[last] = value
    return tree


class RuleError(ValueError):
    """A part's ``when`` rule could not be evaluated."""


def rule_holds(rule: Mapping[str, Any] | None, values: Mapping[str, Any]) -> bool:
    """Whether a JSON Logic rule over the merged facts holds (no rule: it does)."""
    if not rule:
        return True
    try:
        return bool(jsonLogic(dict(rule), nested(values)))
    except Exception as exc:  # the library raises whatever a bad rule provokes
        raise RuleError(str(exc)) from exc


def rule_variables(rule: object) -> set[str]:
    """The facts a JSON Logic rule reads (``{"var": "claim.amount"}``)."""
    found: set[str] = set()
    if isinstance(rule, Mapping):
        for operator, argument in rule.items():
            if operator == "var":
                name = argument[0] if isinstance(argument, list) and argument else argument
                if isinstance(name, str) and name:
                    found.add(name)
            elif operator in _ITERATING and isinstance(argument, list) and argument:
                # Inside, "var" names a key of each element of the array: only the array
                # itself is a fact of the form.
                found |= rule_variables(argument[0])
            else:
                found |= rule_variables(argument)
    elif isinstance(rule, list):
        for argument in rule:
            found |= rule_variables(argument)
    return found


def parts_waiting_on(definition: Mapping[str, Any], key: str) -> list[str]:
    """The parts that wait, directly or not, for the part ``key``."""
    waiting: list[str] = []
    frontier = {key}
    for part in definition["parts"]:  # parts only wait for parts declared before them
        if frontier & set(part.get("after", [])):
            waiting.append(part["key"])
            frontier.add(part["key"])
    return waiting
