"""The throughput benchmark still drives applications end to end (correctness, never speed).

Runs ``applications_throughput.py --smoke`` on SQLite, so it needs no PostgreSQL server and
always runs with the suite: five applications through gunicorn on loopback, two clients.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("applications_throughput.py")


def test_smoke_run_completes_every_application_without_errors(tmp_path):
    results_path = tmp_path / "results.json"

    run = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--smoke", "--database", "sqlite", "--json", results_path],
        cwd=SCRIPT.parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(results_path.read_text())
    figures = results["figures"]
    assert figures["errors"] == 0
    assert figures["completed"] == figures["applications"] == 5
    assert results["database_check"] == {"applications": 5, "completed": 5, "open_tasks": 0}
    requests = {phase["name"]: phase["requests"] for phase in results["phases"]}
    # 户口迁移 and 社保卡申领 alternate: 3 + 2 applications, 2 and 1 required materials.
    assert requests == {
        "draft": 5,
        "upload": 8,
        "submit": 5,
        "list:accept": 2,
        "accept": 5,
        "list:review": 1,
        "review": 3,
        "list:decide": 2,
        "decide": 5,
        "list:deliver": 2,
        "deliver": 5,
        "baseline": 5,
    }
    assert figures["steps"] == 18
    for figure in ("submissions_per_s", "steps_per_s", "baseline_per_s", "ratio"):
        assert figures[figure] > 0
    for text in (
        "submissions/s (submit call)",
        "workflow steps/s",
        "baseline inserts/s",
        "ratio = submissions/s ÷ baseline inserts/s",
        "target ≥ 0.5",
        "p99 ms",
    ):
        assert text in run.stdout
