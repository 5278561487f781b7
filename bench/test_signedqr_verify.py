"""The signed-QR verification benchmark still runs end to end (correctness, never speed).

Runs ``signedqr_verify.py --smoke``: 50 codes signed, then checked raw and verified in full,
in two rounds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("signedqr_verify.py")


def test_smoke_run_verifies_every_code_and_reports_the_ratio(tmp_path):
    results_path = tmp_path / "results.json"

    run = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), "--smoke", "--json", results_path],
        cwd=SCRIPT.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(results_path.read_text())
    figures = results["figures"]
    assert results["codes"] == 50
    assert results["rounds"] == 2
    assert figures["checks"] == 100
    assert figures["failures"] == 0
    assert figures["revocation_checked"] is True
    assert len(figures["round_ratios"]) == 2
    for figure in ("raw_per_s", "verify_per_s", "reference_per_s", "ratio", "cpu_ratio"):
        assert figures[figure] > 0
    assert results["verifier"].startswith("the ")
    for text in (
        "ratio = verify/s ÷ raw verify/s",
        "target ≥ 0.8",
        "CPU time",
        "raw ",
        "verify ",
        "reference ",
        "verify ran the ",
    ):
        assert text in run.stdout
