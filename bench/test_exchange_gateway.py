"""The gateway benchmark still runs end to end (correctness, never speed).

Runs ``exchange_gateway.py --smoke`` on SQLite: 20 direct and 20 gateway calls through
gunicorn on loopback, then a 2,000-record log filled and verified.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("exchange_gateway.py")


def test_smoke_run_answers_every_call_and_verifies_the_log(tmp_path):
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
    assert [(p["name"], p["ok"]) for p in results["phases"]] == [("direct", 20), ("gateway", 20)]
    assert figures["log_intact"] is True
    # 2,000 filled, or more if the calls themselves logged beyond that.
    assert figures["log_records"] >= 2000
    for figure in ("direct_per_s", "gateway_per_s", "ratio", "verify_per_s"):
        assert figures[figure] > 0
    for text in ("ratio = gateway req/s ÷ direct req/s", "target ≥ 0.7", "added latency p50"):
        assert text in run.stdout
