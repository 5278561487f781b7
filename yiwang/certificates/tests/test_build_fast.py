"""``scripts/build_fast.py``: builds what is missing or stale, and a failed build leaves none.

Each test builds a one-line extension of its own in a temporary directory, never the
project's fast path (which other tests are using).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "build_fast.py"

needs_compiler = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

GOOD = 'SOURCE_DIGEST = "@SOURCE_DIGEST@"\n\ndef answer():\n    return 42\n'
BROKEN = "cdef int answer(:\n"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_fast_under_test", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def build_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    script = _script()
    (tmp_path / "probe").mkdir()
    monkeypatch.chdir(tmp_path)  # main() changes into ROOT; this puts the cwd back after
    monkeypatch.setattr(script, "ROOT", tmp_path)
    monkeypatch.setattr(script, "BUILD", tmp_path / ".build")
    monkeypatch.setattr(script, "EXTENSIONS", [("probe._fast", "probe/_fast.pyx", [])])
    return script


@needs_compiler
def test_builds_once_with_its_source_digest_then_is_up_to_date(
    build_fast: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "probe" / "_fast.pyx"
    source.write_text(GOOD)

    assert build_fast.main([]) == 0
    built = build_fast._built_path("probe._fast")
    assert built.exists()
    assert "building probe._fast" in capsys.readouterr().err

    spec = importlib.util.spec_from_file_location("probe._fast", built)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.answer() == 42
    assert hashlib.sha256(source.read_bytes()).hexdigest() == module.SOURCE_DIGEST

    assert build_fast.main([]) == 0
    assert "building" not in capsys.readouterr().err  # up to date: nothing built again

    source.write_text(GOOD + "\n# changed\n")
    assert build_fast.main([]) == 0
    assert "building probe._fast" in capsys.readouterr().err  # stale: built again


@needs_compiler
def test_a_failed_build_leaves_no_module_behind(
    build_fast: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "probe" / "_fast.pyx"
    source.write_text(GOOD)
    assert build_fast.main([]) == 0
    source.write_text(BROKEN)

    assert build_fast.main([]) == 1

    assert "probe._fast not built" in capsys.readouterr().err
    assert not build_fast._built_path("probe._fast").exists()  # the old build is gone too


def test_without_python_headers_nothing_is_built(
    build_fast: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "probe" / "_fast.pyx").write_text(GOOD)
    monkeypatch.setattr(build_fast.sysconfig, "get_paths", lambda: {"include": str(tmp_path)})

    assert build_fast.main([]) == 1

    assert "python3-dev" in capsys.readouterr().err
    assert not build_fast._built_path("probe._fast").exists()
