"""The 免填写、免提交 benchmark still counts end to end (correctness of its report shape).

Runs ``certificates_outcome.py --smoke``: the demo loaded into a throwaway SQLite database,
three items and one life situation drafted by their personas and rolled back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("certificates_outcome.py")
COUNTS = ("fields_without", "fields_with", "uploads_without", "uploads_with")


def test_smoke_run_reports_counts_that_prefill_and_certificates_never_raise(tmp_path: Path) -> None:
    results_path = tmp_path / "results.json"

    run = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--smoke", "--json", results_path],
        cwd=SCRIPT.parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(results_path.read_text())
    assert set(results) >= {"date", "smoke", "top_items", "top_items_totals", "life_situations"}
    assert results["smoke"] is True
    assert [row["code"] for row in results["top_items"]] == [
        "330106-RS-0001",
        "330106-GA-0001",
        "330106-SJ-0001",
    ]
    assert [row["code"] for row in results["life_situations"]] == ["marriage"]
    assert results["life_situations"][0]["items"] == ["330106-MZ-0001"]
    rows = [*results["top_items"], *results["life_situations"], results["top_items_totals"]]
    for row in rows:
        assert set(row) >= set(COUNTS)
        assert 0 <= row["fields_with"] <= row["fields_without"]
        assert 0 <= row["uploads_with"] <= row["uploads_without"]
    for row in results["items"]:
        assert row["fields_with"] == len(row["fields_remaining"])
        assert row["uploads_with"] == len(row["uploads_remaining_certificate_missing"]) + len(
            row["uploads_remaining_no_certificate_type"]
        )
    # 社保卡申领: her ID card (CT-JMSFZ) proves the one required material.
    card = results["top_items"][0]
    assert (card["persona"], card["uploads_without"], card["uploads_with"]) == (
        "expectant_mother",
        1,
        0,
    )
    assert "typed fields" in run.stdout
    assert "uploads" in run.stdout
