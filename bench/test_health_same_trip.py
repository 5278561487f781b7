"""The contact-tracing benchmark still finds the right people (correctness, never speed).

Runs ``health_same_trip.py --smoke`` in the test database (SQLite, or PostgreSQL when the
suite runs there): a few thousand check-ins in the real tables, three cases of five visits
with people planted at and just beyond the bounds, every result set checked against a
brute-force computation of the same rule.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from bench import health_same_trip
from yiwang.health.models import VenueCheckin

pytestmark = pytest.mark.django_db


def test_smoke_run_finds_exactly_the_people_near_each_case_through_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results_path = tmp_path / "results.json"

    status = health_same_trip.main(["--smoke", "--json", str(results_path)])

    results = json.loads(results_path.read_text())
    assert status == 0, results["problems"]
    assert results["smoke"] is True
    assert results["correct"] is True
    assert results["problems"] == []
    # 3,000 check-ins, and 3 cases × (5 visits + 4 planted people).
    assert results["load"]["rows"] == 3_027
    assert VenueCheckin.objects.count() == 3_027
    assert [case["visits"] for case in results["cases"]] == [5, 5, 5]
    # Each case's result has at least her two planted people inside the bounds.
    assert all(case["rows"] >= 2 for case in results["cases"])
    assert results["uses_index"] is True
    printed = capsys.readouterr().out
    assert "correct   yes" in printed
    assert "index     used: health_checkin_venue_time" in printed


def test_planted_people_beyond_the_bounds_would_be_reported() -> None:
    case = health_same_trip.Case(
        person_id=1, planted_in=frozenset({2, 3}), planted_out=frozenset({4, 5})
    )
    moment = datetime.datetime(2026, 11, 20, 6, 10, tzinfo=datetime.UTC)
    rows = [(3, 10, moment), (4, 10, moment)]

    assert health_same_trip.planted_check(case, rows) == [
        "case 1: planted 2 missing",
        "case 1: planted 4 found",
    ]


def test_percentiles_are_nearest_rank() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]

    assert health_same_trip.percentile(values, 50) == 3.0
    assert health_same_trip.percentile(values, 99) == 5.0
    assert health_same_trip.percentile([], 50) == 0.0
