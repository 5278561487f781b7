"""``manage.py exchange_log_verify``: check the whole exchange log; exit 1 on any finding."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yiwang.exchange.log import log_verify


class Command(BaseCommand):
    help = (
        "Recompute every record's hash and every link of the exchange log, and check the "
        "signed checkpoints. Names each altered, deleted, inserted or reordered record."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = log_verify()
        took = time.perf_counter() - started
        if result.records == 0:
            self.stdout.write("The exchange log is empty.")
        else:
            self.stdout.write(
                f"{result.records} records (#{result.first_seq}–#{result.last_seq}) checked "
                f"in {took:.1f} s; {result.checkpoints} valid signed checkpoints, the last at "
                f"#{result.last_checkpoint_seq or 0}; {result.unsealed} records after it."
            )
        for finding in result.findings:
            self.stderr.write(f"{finding.kind.upper():<10} #{finding.seq}: {finding.message}")
        if not result.ok:
            raise CommandError(f"The exchange log is NOT intact: {len(result.findings)} findings.")
        self.stdout.write(self.style.SUCCESS("The exchange log is intact."))
