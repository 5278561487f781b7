"""Compile the project's .po files into .mo files.

`make messages` uses `manage.py compilemessages` when GNU gettext's msgfmt is installed
and this script when it is not. `make test` and `make demo` run it with ``--missing-only``
so a fresh checkout without compiled catalogues still shows the Chinese interface.
Uses msgfmt when present (the same call as compilemessages), else polib.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"var", "staticfiles", "node_modules", "__pycache__"}


def po_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for path in sorted(root.rglob("*.po")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") or part in SKIP for part in parts):
            continue
        if "locale" in parts and path.parent.name == "LC_MESSAGES":
            found.append(path)
    return found


def compile_one(po_path: Path, mo_path: Path, msgfmt: str | None) -> None:
    if msgfmt:
        subprocess.run(  # noqa: S603 - fixed program, paths from the repository
            [msgfmt, "--check-format", "-o", str(mo_path), str(po_path)], check=True
        )
    else:
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--missing-only", action="store_true", help="compile only .po files that have no .mo"
    )
    args = parser.parse_args()
    msgfmt = shutil.which("msgfmt")
    for po_path in po_files(ROOT):
        mo_path = po_path.with_suffix(".mo")
        if args.missing_only and mo_path.exists():
            continue
        compile_one(po_path, mo_path, msgfmt)
        tool = "msgfmt" if msgfmt else "polib"
        sys.stdout.write(f"compiled {mo_path.relative_to(ROOT)} ({tool})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
