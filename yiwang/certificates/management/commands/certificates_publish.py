"""``manage.py certificates_publish --out DIR``: write the signed lists for other verifiers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError, CommandParser

from yiwang.certificates import keys, services
from yiwang.certificates.verification import RevocationListError, revocation_list_load

ANCHOR_FILE = "anchor.crt"
TRUST_LIST_FILE = "trust-list.cose"
REVOCATION_DIR = "revocation"


def file_write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target, then rename over it: a reader sees the old file or the new
    one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private; these are public documents for a web server to serve.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Write the platform's anchor certificate, signed trust list and each signing key's "
        "signed revocation list into DIR, in the layout of a peer folder "
        "(CERTIFICATES_PEER_DIR/<name>/) and of `qr_verify --lists`: anchor.crt, "
        "trust-list.cose, revocation/<kid>.cose. Each file is replaced atomically; "
        "revocation lists of keys no longer in the trust list are removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="Folder to publish into.")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} exists and is not a folder.")
        # Everything is signed, and checked the way a verifier will load it, before any
        # file is written: a failure leaves the folder as it was.
        try:
            anchor = keys.trust_anchor().certificate
            trust_list = keys.trust_list_sign()
            loaded = keys.trust_list_load(trust_list, anchors=[anchor])
            revocation_lists = services.revocation_lists_sign()
            revoked = {
                kid: len(revocation_list_load(data, trust=loaded.store).revoked)
                for kid, data in revocation_lists.items()
            }
        except (keys.KeyUnavailable, keys.TrustListError, RevocationListError) as exc:
            raise CommandError(f"Nothing published: {exc}") from exc

        anchor_path = out / ANCHOR_FILE
        file_write_atomic(anchor_path, anchor.public_bytes(serialization.Encoding.PEM))
        self.stdout.write(f"wrote {anchor_path}")
        revocation_dir = out / REVOCATION_DIR
        for kid, data in revocation_lists.items():
            path = revocation_dir / f"{kid}.cose"
            file_write_atomic(path, data)
            self.stdout.write(f"wrote {path} ({revoked[kid]} revoked)")
        # The trust list last: a verifier that fetches in between finds each key it names
        # with its revocation list already in place.
        trust_path = out / TRUST_LIST_FILE
        file_write_atomic(trust_path, trust_list)
        self.stdout.write(
            f"wrote {trust_path} ({len(loaded.store)} keys, next update "
            f"{loaded.next_update.isoformat()})"
        )
        # A list left for a key that has expired would no longer load: the key is gone
        # from the trust list.
        if revocation_dir.is_dir():
            for path in sorted(revocation_dir.glob("*.cose")):
                if path.stem not in revocation_lists:
                    path.unlink()
                    self.stdout.write(f"removed {path}")
        self.stdout.write(self.style.SUCCESS(f"Lists published in {out}."))
