"""The offline health-code verification benchmark still runs end to end (correctness,
never speed).

Runs ``health_code_verify.py --smoke``: 60 health codes signed, then checked raw, as signed
QR codes and as health codes, in two rounds; a tampered, a late and a certificate key's code
must be refused, each with its own verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("health_code_verify.py")


def test_smoke_run_verifies_every_code_and_reports_the_ratio(tmp_path: Path) -> None:
    results_path = tmp_path / "results.json"

    run = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--smoke", "--json", results_path],
        cwd=SCRIPT.parent.parent,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(results_path.read_text())
    figures = results["figures"]
    assert (results["codes"], results["rounds"], figures["checks"]) == (60, 2, 120)
    assert results["colours"] == {"green": 20, "yellow": 20, "red": 20}
    assert figures["failures"] == 0
    assert figures["actions"] == {"pass": 40, "flag": 40, "refuse": 40}
    assert figures["refusals"] == {
        "tampered": "bad_signature",
        "late": "expired",
        "certificate_key": "key_not_allowed",
    }
    assert len(figures["round_ratios"]) == 2
    for figure in ("raw_per_s", "container_per_s", "verify_per_s", "ratio", "cpu_ratio"):
        assert figures[figure] > 0
    assert results["verifier"].startswith("the ")
    for text in (
        "ratio = verify/s ÷ raw verify/s",
        "target ≥ 0.8",
        "CPU time",
        "container",
        "the container ran the ",
    ):
        assert text in run.stdout
