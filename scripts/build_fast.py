"""Build the compiled fast paths (Cython) in place, when a C compiler is at hand.

    uv run --locked python scripts/build_fast.py           # build what is missing or stale
    uv run --locked python scripts/build_fast.py --force   # build again

Each fast path is a ``.pyx`` beside the Python module it speeds up, which stays the
reference: without a compiler nothing is built, the platform uses the reference, and only
the speed differs. The build embeds the SHA-256 of its source, so the module ignores a
build older than the source beside it. Run by ``scripts/bootstrap.sh`` after every sync.
Exits 0 when built or up to date, 1 when a build failed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build"

# (module, source, C libraries)
EXTENSIONS = [
    ("yiwang.certificates._verify_fast", "yiwang/certificates/_verify_fast.pyx", ["z"]),
]


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


def _built_path(module: str) -> Path:
    suffix = str(sysconfig.get_config_var("EXT_SUFFIX"))
    return ROOT / (module.replace(".", "/") + suffix)


def _stamp(module: str) -> Path:
    return BUILD / f"{module}.sha256"


def _up_to_date(module: str, digest: str) -> bool:
    stamp = _stamp(module)
    return (
        _built_path(module).exists()
        and stamp.exists()
        and stamp.read_text(encoding="ascii").strip() == digest
    )


def _build(module: str, source: Path, libraries: list[str], digest: str) -> None:
    # Imported here: a machine without them can still run `--help`.
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]

    BUILD.mkdir(exist_ok=True)
    work = BUILD / module
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    pyx = work / source.name
    pyx.write_text(
        source.read_text(encoding="utf-8").replace("@SOURCE_DIGEST@", digest), encoding="utf-8"
    )
    extension = Extension(module, [str(pyx)], libraries=libraries)
    # The C file is written beside the copied source, everything else under `work` too.
    distribution = Distribution(
        {"ext_modules": cythonize([extension], quiet=True)}  # type: ignore[no-untyped-call]
    )
    command = distribution.get_command_obj("build_ext")
    command.inplace = True
    command.build_temp = str(work / "temp")
    command.build_lib = str(work / "lib")
    distribution.run_command("build_ext")
    _stamp(module).write_text(digest + "\n", encoding="ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="build even when up to date")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if importlib.util.find_spec("Cython") is None:
        _say("build_fast: Cython is not installed (uv sync); nothing built")
        return 1
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        _say(
            f"build_fast: no {headers} (Debian: apt-get install python3-dev); nothing built",
        )
        return 1
    failed = 0
    for module, source_name, libraries in EXTENSIONS:
        source = ROOT / source_name
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if not args.force and _up_to_date(module, digest):
            continue
        _say(f"build_fast: building {module}")
        try:
            _build(module, source, libraries, digest)
        except Exception as exc:  # a compiler error, a missing header: the reference stays
            _built_path(module).unlink(missing_ok=True)
            _say(f"build_fast: {module} not built: {exc}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
