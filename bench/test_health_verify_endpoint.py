"""The health-code check endpoint benchmark still runs end to end (correctness, never speed).

Runs ``health_verify_endpoint.py --smoke`` on SQLite: 24 codes issued, then checked through
gunicorn on loopback, taking turns with as many requests of the floor (a text that is not a
health code); every answer is compared with the code's colour, action and masked name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("health_verify_endpoint.py")


def test_smoke_run_answers_every_check_correctly(tmp_path: Path) -> None:
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
    assert results["server_log_problems"] == []
    assert [(p["name"], p["ok"]) for p in results["phases"]] == [("floor", 24), ("verify", 24)]
    assert figures["colours"] == {"green": 8, "yellow": 8, "red": 8}
    for figure in ("floor_per_s", "verify_per_s", "ratio", "cpu_ms_per_check"):
        assert figures[figure] > 0
    assert sorted(figures["cores_for"]) == ["Guangzhou, daily average", "Hainan, peak"]
    for text in ("ratio = checks/s ÷ floor req/s", "p99", "checks per core-second"):
        assert text in run.stdout
