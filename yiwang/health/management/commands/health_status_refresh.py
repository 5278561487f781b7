"""``manage.py health_status_refresh``: recompute the colours that change with time."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiwang.core.errors import YiwangError
from yiwang.health.services import health_status_refresh_all


class Command(BaseCommand):
    help = (
        "Recompute the health-code colour of everyone whose colour can change with time "
        "alone: anyone whose code is not green, and anyone with facts or declarations of "
        "the last 30 days (a yellow code turns green after enough normal check-ins, a "
        "risk-area arrival stops counting after 14 days). Colours are also recomputed at "
        "each declaration, check-in and fact; run this once a day, shortly after midnight, "
        "from a timer (a systemd timer or cron), e.g. `manage.py health_status_refresh`. "
        "Writes a colour only where it changed; safe to run again. Refused while "
        "HEALTH_EMERGENCY_ENABLED is off or no rule set is active."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--at",
            dest="clock",
            type=datetime.datetime.fromisoformat,
            help="Compute the colours as of this moment (ISO 8601 with offset); default now.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="People read from the database at a time (default 500).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clock = options.get("clock")
        if clock is not None and clock.tzinfo is None:
            raise CommandError("--at needs a time zone offset, e.g. 2022-04-20T00:30:00+08:00.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            result = health_status_refresh_all(clock=clock, batch_size=options["batch_size"])
        except YiwangError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            f"Checked {result.checked}, changed {result.changed}, failed {result.failed}."
        )
        if result.failed:
            raise CommandError(f"{result.failed} colour(s) could not be recomputed; see the log.")
