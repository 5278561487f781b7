"""``manage.py certificates_import FILE.csv``: import existing certificates, all rows or none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiwang.certificates.services import certificates_import


class Command(BaseCommand):
    help = (
        "Import certificates a department issued before it used the platform, from a CSV "
        "file (columns: certificate_type, issuer, holder_kind, holder_identifier, "
        "holder_name, number, issued_on, valid_until, reference, data.<field>…). Nothing is "
        "imported when any row is wrong; rows imported before (same issuer and reference) "
        "are skipped. Exit code 1 when there are errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file.")
        parser.add_argument(
            "--batch", default=None, help="Name of this import (default: the file's name)."
        )
        parser.add_argument(
            "--encoding",
            default="utf-8-sig",
            help="The file's encoding (default UTF-8; spreadsheets often save CSV as gb18030).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            csv_text = path.read_text(encoding=options["encoding"])
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except (UnicodeDecodeError, LookupError) as exc:
            raise CommandError(
                f"{path} is not {options['encoding']} text: {exc}. Give its --encoding."
            ) from exc
        result = certificates_import(csv_text=csv_text, batch=options["batch"] or path.name)
        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(
                f"{len(result.errors)} errors in {path}: nothing was imported.", returncode=1
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.created} certificates imported, {result.skipped} imported before "
                f"and skipped."
            )
        )
