"""``manage.py exchange_log_seal``: sign the exchange log's current chain head."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from yiwang.exchange.log import log_checkpoint


class Command(BaseCommand):
    help = "Sign the current head of the exchange log, once or every N seconds."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--every", type=int, default=0, help="Repeat every N seconds (default: once)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every: int = options["every"]
        while True:
            checkpoint = log_checkpoint()
            if checkpoint is None:
                self.stdout.write("Nothing new to sign.")
            else:
                self.stdout.write(f"Signed the chain head at #{checkpoint.seq}.")
            if every <= 0:
                return
            time.sleep(every)
