"""Load or refresh the administrative divisions, and the townships of chosen cities."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiwang.core.errors import ValidationFailed
from yiwang.core.regions import RegionDataError, regions_load


class Command(BaseCommand):
    help = (
        "Load every province, city and county (GB/T 2260), and the townships (streets) "
        "of the cities given. Safe to run again: it only updates what changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        townships = parser.add_mutually_exclusive_group()
        townships.add_argument(
            "--townships-of",
            action="append",
            metavar="CODE",
            dest="township_city_codes",
            help=(
                "6-digit code of a city (or province, or county) whose townships to load; "
                "repeatable. Default: YIWANG_DEMO_CITY."
            ),
        )
        townships.add_argument(
            "--all-townships",
            action="store_true",
            help="Load the townships of the whole country (about 38,000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = options["township_city_codes"] or [settings.YIWANG_DEMO_CITY]
        try:
            result = regions_load(township_city_codes=codes, all_townships=options["all_townships"])
        except ValidationFailed as exc:
            raise CommandError(str(exc.message)) from exc
        except RegionDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Regions: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged."
            )
        )
