"""Run the deadline sweep: warnings at 80 %, overdue flags, escalation, BPMN timers."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from yiwang.applications.services import deadlines_check


class Command(BaseCommand):
    help = "Check application deadlines (warn, flag overdue, escalate, fire process timers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            help="Repeat every N seconds until stopped (0: run once).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every: int = options["every"]
        while True:
            counts = deadlines_check()
            self.stdout.write(
                f"deadlines: {counts['warned']} warned, {counts['overdue']} overdue, "
                f"{counts['timers']} timers fired; bundles: {counts['bundles_expired']} "
                f"expired unconfirmed, {counts['parts_escalated']} waiting parts escalated"
            )
            if every <= 0:
                return
            time.sleep(every)
