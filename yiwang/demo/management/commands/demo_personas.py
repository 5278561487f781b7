"""``manage.py demo_personas``: print the demo personas, their logins and the URLs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from yiwang.demo.guide import (
    DEFAULT_BASE_URL,
    claimed_id_numbers,
    health_case,
    personas_guide,
    urls_guide,
)


class Command(BaseCommand):
    help = "Print the demo personas: role, name, phone, password and what to try."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--base-url", default=DEFAULT_BASE_URL, help="Where the demo is served."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            personas_guide(claimed_id_numbers=claimed_id_numbers(), health_case=health_case())
        )
        self.stdout.write("")
        self.stdout.write(urls_guide(options["base_url"].rstrip("/")))
