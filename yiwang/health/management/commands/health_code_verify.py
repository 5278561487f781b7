"""``manage.py health_code_verify``: check a health code offline, with signed trust lists only."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from yiwang.certificates.keys import TrustListError
from yiwang.certificates.signedqr import MAX_TEXT_LENGTH, TrustStore
from yiwang.certificates.verification import Verifier, verifier_from_lists
from yiwang.health.api_codes import verify_out
from yiwang.health.codes import HealthCodeCheck, health_code_prefixes, health_code_verify

VALID, INVALID, USAGE = 0, 1, 2


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _usage_error(f"cannot read {what} {path}: {exc.strerror}") from exc


class Command(BaseCommand):
    help = (
        "Check a health code offline, with nothing but signed trust lists (this platform's "
        "from /api/v1/certificates/trust-list, other regions' from theirs) and the anchor "
        "certificates they are signed with. Prints the colour and what a checkpoint does "
        "(pass, flag, refuse). Exit code 0: valid; 1: not valid; 2: a usage error, or a "
        "trust list that cannot be used (badly signed, wrong anchor, out of date)."
    )
    # It reads files only: no database, no system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", nargs="?", help="The QR code's text.")
        parser.add_argument(
            "--stdin", action="store_true", help="Read the QR code's text from standard input."
        )
        parser.add_argument(
            "--trust-list",
            type=Path,
            action="append",
            required=True,
            help="A signed trust list (COSE); repeat for other regions' lists.",
        )
        parser.add_argument(
            "--anchor",
            type=Path,
            action="append",
            required=True,
            help="An anchor certificate (PEM) the trust lists may be signed by; repeatable.",
        )
        parser.add_argument(
            "--at", help="Check as at this time (ISO 8601; local time unless it has an offset)."
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = self._text(options)
        at = _at(options["at"])
        verifier = _verifier(options["trust_list"], options["anchor"], at=at)
        check = health_code_verify(text, verifier=verifier, clock=at)
        if options["json"]:
            body = verify_out(check).model_dump(mode="json")
            self.stdout.write(json.dumps(body, ensure_ascii=False, indent=2))
        else:
            self._print(check)
        if not check.valid:
            raise CommandError(f"not valid: {check.verdict}", returncode=INVALID)

    def _text(self, options: dict[str, Any]) -> str:
        if (options["text"] is not None) == bool(options["stdin"]):
            raise _usage_error("give the code one way: its TEXT or --stdin")
        if options["stdin"]:
            # A little more than a code can hold, so that a longer one is still refused.
            return str(sys.stdin.read(MAX_TEXT_LENGTH + 1)).strip()
        return str(options["text"]).strip()

    def _print(self, check: HealthCodeCheck) -> None:
        if not check.valid:
            self.stdout.write(self.style.ERROR(f"NOT VALID ({check.verdict})"))
            self.stdout.write(check.message)
            self.stdout.write(f"detail: {check.detail}")
            return
        self.stdout.write(self.style.SUCCESS(f"VALID: {check.colour} → {check.action}"))
        self.stdout.write(f"{check.colour_label}: {check.action_label}")
        self.stdout.write(f"name: {check.masked_name}")
        valid_until = check.valid_until.isoformat() if check.valid_until else ""
        self.stdout.write(f"code valid until: {valid_until}")
        self.stdout.write(f"issued by: {check.issuer} ({check.region})")


def _at(value: str | None) -> datetime.datetime:
    if value is None:
        return timezone.now()
    try:
        at = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise _usage_error(f"--at {value!r} is not an ISO 8601 date and time") from None
    return at if timezone.is_aware(at) else timezone.make_aware(at)


def _verifier(trust_lists: list[Path], anchors: list[Path], *, at: datetime.datetime) -> Verifier:
    certificates = []
    for path in anchors:
        try:
            certificates.append(
                x509.load_pem_x509_certificate(_read(path, "the anchor certificate"))
            )
        except ValueError as exc:
            raise _usage_error(f"{path} is not a PEM certificate") from exc
    # Each list on its own, so that an error names the file it is about.
    store = TrustStore()
    for path in trust_lists:
        try:
            loaded = verifier_from_lists(
                trust_lists=[_read(path, "the trust list")],
                revocation_lists=[],
                anchors=certificates,
                prefix=health_code_prefixes()[0],
                now=at,
            )
        except TrustListError as exc:
            raise _usage_error(f"{path} cannot be used: {exc}") from exc
        store.update(loaded.trust)
    return Verifier(trust=store, prefix=health_code_prefixes()[0])
