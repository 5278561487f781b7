"""``manage.py demo_load``: load the demo data and personas (safe to run again)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yiwang.core.errors import YiwangError
from yiwang.demo.guide import table_render
from yiwang.demo.loader import demo_load


class Command(BaseCommand):
    help = (
        "Load the demo: regions, Hangzhou departments, the population and legal-person "
        "registries, and the persona accounts. Running it again changes nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--city",
            default=None,
            help="6-digit code of the city whose townships to load (default: YIWANG_DEMO_CITY).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        # The services log each verification; at normal verbosity the summary says enough.
        identity_logger = logging.getLogger("yiwang.identity")
        previous_level = identity_logger.level
        if options["verbosity"] < 2:
            identity_logger.setLevel(logging.WARNING)
        try:
            summary = demo_load(city_code=options["city"])
        except YiwangError as exc:
            # The demo data clashes with what is in the database (say, a persona's phone
            # number verified with another ID number); nothing was written.
            details = "; ".join(
                f"{name}: {', '.join(str(m) for m in messages)}"
                for name, messages in exc.fields.items()
            )
            raise CommandError(f"demo_load failed, nothing was changed: {exc} {details}") from exc
        finally:
            identity_logger.setLevel(previous_level)
        rows = [("", "total", "new", "updated"), *summary.rows()]
        for line in table_render(rows, right=(1, 2, 3)):
            self.stdout.write(line)
        elapsed = time.monotonic() - started
        if summary.changed:
            self.stdout.write(self.style.SUCCESS(f"Demo loaded in {elapsed:.1f} s."))
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Demo already loaded; nothing changed ({elapsed:.1f} s).")
            )
        self.stdout.write("Logins: manage.py demo_personas · Start: manage.py demo_serve")
