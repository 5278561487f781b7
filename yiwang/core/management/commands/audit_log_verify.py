"""``manage.py audit_log_verify``: check the audit log's hash chain; exit 1 if it is broken."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from yiwang.core.audit import audit_verify


class Command(BaseCommand):
    help = (
        "Recompute every audit log entry's hash and link in order, and compare the end "
        "of the chain with its head. Names the first entry that breaks the chain."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = audit_verify()
        took = time.perf_counter() - started
        if result.entries == 0 and result.ok:
            self.stdout.write("The audit log is empty.")
            return
        checked = f"#1–#{result.last_seq}" if result.entries else "none left"
        self.stdout.write(f"{result.entries} entries ({checked}) checked in {took:.1f} s.")
        if result.first_break is not None:
            found = result.first_break
            self.stderr.write(f"{found.kind.upper():<9} #{found.seq}: {found.message}")
            raise CommandError(f"The audit log is NOT intact from entry #{found.seq} on.")
        self.stdout.write(self.style.SUCCESS("The audit log is intact."))
