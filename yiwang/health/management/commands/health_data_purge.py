"""``manage.py health_data_purge``: delete the health module's personal data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yiwang.core.errors import Conflict
from yiwang.health.services import health_data_purge


class Command(BaseCommand):
    help = (
        "Delete every appeal, colour, declaration, fact, venue, check-in and contact trace of "
        "the health-code module. Refused while HEALTH_EMERGENCY_ENABLED is on. Rule sets "
        "and risk areas stay."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = health_data_purge()
        except Conflict as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            "Deleted: "
            + ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())
            + "."
        )
