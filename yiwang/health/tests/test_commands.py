"""``health_rules_load`` and ``health_data_purge``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from yiwang.health.models import HealthFact, RuleSet


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_rules_load_loads_the_default_file_once(db: None) -> None:
    assert run("health_rules_load") == "hangzhou v1 loaded and activated.\n"
    assert run("health_rules_load") == "hangzhou: unchanged (same as v1); nothing written.\n"
    assert RuleSet.objects.get().status == "active"


def test_rules_load_names_every_problem_and_writes_nothing(db: None, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"code": "x", "name": "x", "rules": [], "tests": []}))
    with pytest.raises(CommandError) as raised:
        run("health_rules_load", str(path))
    assert str(raised.value).splitlines()[1:] == [
        "  definition: rules: the rule set needs at least one rule.",
        "  definition: tests: the rule set needs at least one test case.",
    ]
    assert RuleSet.objects.count() == 0


def test_purge_command_refuses_while_enabled(db: None) -> None:
    HealthFact.objects.create(
        id_number="x",
        kind="close_contact",
        observed_on="2022-04-01",
        source_department="d",
        source_registry="r",
    )
    with pytest.raises(CommandError, match="HEALTH_EMERGENCY_ENABLED"):
        run("health_data_purge")
    assert HealthFact.objects.count() == 1


def test_purge_command_deletes_once_switched_off(db: None, settings: Any) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    HealthFact.objects.create(
        id_number="x",
        kind="close_contact",
        observed_on="2022-04-01",
        source_department="d",
        source_registry="r",
    )
    assert run("health_data_purge") == (
        "Deleted: 0 appeals, 0 statuses, 0 declarations, 1 facts, 0 contact traces, "
        "0 checkins, 0 venues.\n"
    )
    assert HealthFact.objects.count() == 0
