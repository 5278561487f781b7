"""``manage.py health_checkins_purge``: delete venue check-ins past their retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from yiwang.core.errors import YiwangError
from yiwang.health.venues import PURGE_BATCH, checkins_purge


class Command(BaseCommand):
    help = (
        "Delete venue check-ins older than HEALTH_CHECKIN_RETENTION_DAYS (default 28). "
        "Rows go in batches, each its own short transaction, so even a very large table "
        "is never locked at once; an interrupted run keeps what it deleted. Safe to run "
        "daily (from cron or a systemd timer) and whether health codes are on or off. "
        "--dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=PURGE_BATCH,
            help=f"Rows deleted per statement (default {PURGE_BATCH}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = checkins_purge(batch_size=options["batch_size"], dry_run=options["dry_run"])
        except YiwangError as exc:
            raise CommandError(str(exc.message)) from exc
        before = timezone.localtime(result.before).isoformat(timespec="seconds")
        if result.dry_run:
            self.stdout.write(f"Would delete {result.count} check-ins from before {before}.")
        else:
            self.stdout.write(f"Deleted {result.count} check-ins from before {before}.")
