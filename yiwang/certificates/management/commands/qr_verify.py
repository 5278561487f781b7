"""``manage.py qr_verify``: the offline verifier, reading only a folder of published lists."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from yiwang.certificates.api import verify_out
from yiwang.certificates.keys import TrustListError
from yiwang.certificates.qrimage import QrImageError, qr_image_decode
from yiwang.certificates.signedqr import MAX_TEXT_LENGTH
from yiwang.certificates.verification import (
    Result,
    RevocationListError,
    RevocationStatus,
    Verifier,
    revocation_list_load,
    verifier_from_lists,
)
from yiwang.certificates.verify_views import MAX_IMAGE_BYTES

INVALID, USAGE = 1, 2


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _usage_error(f"cannot read {what} {path}: {exc.strerror}") from exc


def _anchor_read(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(_read(path, "the anchor certificate"))
    except ValueError as exc:
        raise _usage_error(f"{path} is not a PEM certificate") from exc


class Command(BaseCommand):
    help = (
        "Verify a certificate QR code offline, with nothing but a folder of published lists "
        "(as `certificates_publish --out DIR` writes it: anchor.crt, trust-list.cose, "
        "revocation/<kid>.cose). Exit code 0: valid; 1: not valid; 2: a usage error, or "
        "lists that cannot be used (missing, badly signed, out of date)."
    )
    # It reads files only: no database, no system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", nargs="?", help="The QR code's text.")
        parser.add_argument("--image", type=Path, help="A PNG or JPEG photo of the QR code.")
        parser.add_argument(
            "--stdin", action="store_true", help="Read the QR code's text from standard input."
        )
        parser.add_argument(
            "--lists", type=Path, required=True, help="Folder of the published lists."
        )
        parser.add_argument(
            "--anchor",
            type=Path,
            action="append",
            default=[],
            help="Another anchor certificate (PEM) to accept besides DIR/anchor.crt; repeatable.",
        )
        parser.add_argument(
            "--at", help="Verify as at this time (ISO 8601; local time unless it has an offset)."
        )
        parser.add_argument(
            "--prefix",
            default=None,
            help="Prefix of the codes to accept besides HC1: (default: CERTIFICATES_QR_PREFIX).",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = self._text(options)
        at = _at(options["at"])
        folder: Path = options["lists"]
        prefix: str = options["prefix"] or settings.CERTIFICATES_QR_PREFIX
        verifier = _verifier(folder, options["anchor"], prefix=prefix, at=at)
        result = verifier.verify(text, clock=at)
        if options["json"]:
            body = verify_out(result).model_dump(mode="json")
            self.stdout.write(json.dumps(body, ensure_ascii=False, indent=2))
        else:
            self._print(result)
        if not result.valid:
            raise CommandError(f"not valid: {result.verdict}", returncode=INVALID)
        problem = _revocation_problem(result, verifier, folder)
        if problem:
            raise _usage_error(f"the signature is valid, but {problem}")

    def _text(self, options: dict[str, Any]) -> str:
        given = [options["text"] is not None, options["image"] is not None, options["stdin"]]
        if sum(given) != 1:
            raise _usage_error("give the code one way: its TEXT, --image FILE or --stdin")
        if options["stdin"]:
            # A little more than a code can hold, so that a longer one is still refused.
            return str(sys.stdin.read(MAX_TEXT_LENGTH + 1)).strip()
        if options["image"] is not None:
            path: Path = options["image"]
            data = _read(path, "the picture")
            if len(data) > MAX_IMAGE_BYTES:
                raise _usage_error(f"{path} is larger than 5 MB")
            try:
                return qr_image_decode(data)
            except QrImageError as exc:
                raise _usage_error(f"{path}: {exc}") from exc
        return str(options["text"]).strip()

    def _print(self, result: Result) -> None:
        out = verify_out(result)
        if out.valid:
            self.stdout.write(self.style.SUCCESS("VALID"))
        else:
            self.stdout.write(self.style.ERROR(f"NOT VALID ({out.verdict})"))
        self.stdout.write(out.message)
        if not result.valid:
            self.stdout.write(f"detail: {result.message}")
            return
        self.stdout.write(f"signer: {out.signer}")
        self.stdout.write(f"code expires: {out.expires_at.isoformat() if out.expires_at else ''}")
        self.stdout.write(f"revocation: {out.revocation}")
        self.stdout.write(json.dumps(out.certificate, ensure_ascii=False, indent=2))


def _at(value: str | None) -> datetime.datetime:
    if value is None:
        return timezone.now()
    try:
        at = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise _usage_error(f"--at {value!r} is not an ISO 8601 date and time") from None
    return at if timezone.is_aware(at) else timezone.make_aware(at)


def _verifier(
    folder: Path, extra_anchors: list[Path], *, prefix: str, at: datetime.datetime
) -> Verifier:
    """The folder's anchor plus any given ones; its trust list; every revocation list.

    Each list must load: a list that is badly signed, malformed or (the trust list) out of
    date stops verification with a message naming its file.
    """
    anchors = [_anchor_read(path) for path in [folder / "anchor.crt", *extra_anchors]]
    trust_path = folder / "trust-list.cose"
    trust_list = _read(trust_path, "the trust list")
    try:
        verifier = verifier_from_lists(
            trust_lists=[trust_list], revocation_lists=[], anchors=anchors, prefix=prefix, now=at
        )
    except TrustListError as exc:
        raise _usage_error(f"{trust_path} cannot be used: {exc}") from exc
    for path in sorted((folder / "revocation").glob("*.cose")):
        try:
            listed = revocation_list_load(_read(path, "the revocation list"), trust=verifier.trust)
        except RevocationListError as exc:
            raise _usage_error(f"{path} cannot be used: {exc}") from exc
        verifier.revocation_lists[listed.kid] = listed
    return verifier


def _revocation_problem(result: Result, verifier: Verifier, folder: Path) -> str:
    """Why a valid signature's revocation could not be checked, or "" when it was."""
    if result.verified is None:
        return ""
    kid = result.verified.kid
    path = folder / "revocation" / f"{kid.hex()}.cose"
    if result.revocation == RevocationStatus.MISSING:
        return f"there is no revocation list for its key ({path} is missing)"
    if result.revocation == RevocationStatus.STALE:
        listed = verifier.revocation_lists[kid]
        return (
            f"the revocation list {path} is out of date (its next update was due "
            f"{listed.next_update.isoformat()}): publish and fetch the lists again"
        )
    return ""
