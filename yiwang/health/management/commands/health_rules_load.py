"""``manage.py health_rules_load [FILE]``: load the health-code rules file (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiwang.core.errors import ValidationFailed
from yiwang.health.services import health_rules_load

DEFAULT_FILE = Path("catalog-data") / "health-rules" / "hangzhou.json"


class Command(BaseCommand):
    help = (
        "Check a health-code rules file, run its test cases and, when it differs from every "
        "stored version, store it as a new version and activate it. An invalid file or a "
        "failing test case writes nothing. Default: catalog-data/health-rules/hangzhou.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path, help="The rules file (JSON).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"] or settings.BASE_DIR / DEFAULT_FILE
        try:
            result = health_rules_load(path=path)
        except ValidationFailed as exc:
            lines = [str(exc.message)]
            for field, messages in exc.fields.items():
                lines.extend(f"  {field}: {message}" for message in messages)
            raise CommandError("\n".join(lines)) from exc
        rule_set = result.rule_set
        if result.created:
            self.stdout.write(f"{rule_set.code} v{rule_set.version} loaded and activated.")
        else:
            self.stdout.write(
                f"{rule_set.code}: unchanged (same as v{rule_set.version}); nothing written."
            )
