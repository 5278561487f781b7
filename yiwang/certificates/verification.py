"""Verifying certificate QR codes, online or offline.

An offline verifier needs nothing but the cached, signed lists: the trust list (which keys
may sign which certificate types, signed by a trust anchor the verifier accepts) and each
key's revocation list (signed by the key). ``Verifier`` is that verifier; the platform's
own one (``platform_verifier``) is built from the database, plus other regions' trust lists
placed in ``CERTIFICATES_PEER_DIR``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from django.conf import settings
from django.utils import timezone

from yiwang.certificates import signedqr
from yiwang.certificates.services import REVOCATION_LIST_FORMAT, revocation_hash

logger = logging.getLogger(__name__)


class RevocationListError(Exception):
    """A revocation list that must not be used: bad signature, unknown key, malformed."""


@dataclass(frozen=True)
class RevocationList:
    kid: bytes
    issued_at: datetime.datetime
    next_update: datetime.datetime
    revoked: frozenset[bytes]

    def is_stale(self, now: datetime.datetime) -> bool:
        return now > self.next_update


def revocation_list_load(data: bytes, *, trust: signedqr.TrustStore) -> RevocationList:
    """Check a revocation list's signature by the key it is for."""
    try:
        sign1 = signedqr.cose_decode(data)
    except signedqr.SignedQrError as exc:
        raise RevocationListError(f"not a signed revocation list: {exc.message}") from exc
    signer = trust.get(sign1.kid) if sign1.kid is not None else None
    if signer is None:
        raise RevocationListError("signed by a key that is not in the trust list")
    try:
        signedqr.signature_verify(sign1, signer.public_key)
    except signedqr.SignedQrError as exc:
        raise RevocationListError("the revocation list's signature does not verify") from exc
    try:
        document: Any = signedqr.cbor_loads(sign1.payload)
        kid = bytes(document["kid"])
        issued_at = datetime.datetime.fromtimestamp(document["issued_at"], tz=datetime.UTC)
        next_update = datetime.datetime.fromtimestamp(document["next_update"], tz=datetime.UTC)
        revoked = frozenset(bytes(entry) for entry in document["revoked"])
    except (KeyError, TypeError, ValueError, OverflowError, cbor2.CBORError) as exc:
        raise RevocationListError("the revocation list is malformed") from exc
    if document.get("format") != REVOCATION_LIST_FORMAT:
        raise RevocationListError(f"unknown revocation list format {document.get('format')!r}")
    if kid != sign1.kid:
        raise RevocationListError("the list is for another key than the one that signed it")
    return RevocationList(kid=kid, issued_at=issued_at, next_update=next_update, revoked=revoked)


class RevocationStatus:
    CHECKED = "checked"
    STALE = "stale"  # the cached list is past its next update: fetch a new one
    MISSING = "missing"  # no list for the key: revocation could not be checked
    NOT_APPLICABLE = "not_applicable"  # e.g. an EU DCC, whose revocation is not ours


@dataclass(frozen=True)
class Result:
    """The outcome of verifying one scanned text."""

    verdict: signedqr.Verdict | None  # None when valid
    message: str
    verified: signedqr.Verified | None = None
    revocation: str = RevocationStatus.NOT_APPLICABLE

    @property
    def valid(self) -> bool:
        return self.verdict is None

    @property
    def payload(self) -> Mapping[str, Any]:
        return self.verified.payload if self.verified is not None else {}


@dataclass
class Verifier:
    """Verifies the platform's codes (``prefix``) and EU DCC codes against one trust store."""

    trust: signedqr.TrustStore
    prefix: str
    revocation_lists: dict[bytes, RevocationList] = field(default_factory=dict)

    def verify(self, text: str, *, clock: datetime.datetime | None = None) -> Result:
        clock = clock or timezone.now()
        revocation = {"status": RevocationStatus.NOT_APPLICABLE}

        def revoked(kid: bytes, payload: Mapping[str, Any]) -> bool:
            identifier = payload.get("id")
            if not isinstance(identifier, str):
                return False
            digest = revocation_hash(identifier)
            listed = self.revocation_lists.get(kid)
            if listed is None:
                revocation["status"] = RevocationStatus.MISSING
                return False
            revocation["status"] = (
                RevocationStatus.STALE if listed.is_stale(clock) else RevocationStatus.CHECKED
            )
            return digest in listed.revoked

        try:
            verified = signedqr.verify(
                text,
                trust=self.trust,
                clock=clock,
                prefix=(self.prefix, signedqr.EU_DCC_PREFIX),
                certificate_type=_type_of,
                revoked=revoked,
            )
        except signedqr.SignedQrError as exc:
            return Result(verdict=exc.verdict, message=exc.message, revocation=revocation["status"])
        return Result(
            verdict=None, message="valid", verified=verified, revocation=revocation["status"]
        )


def _type_of(payload: Mapping[str, Any]) -> str | None:
    """The type a code's data claims: the platform's ``t``, else an EU DCC's v, t or r."""
    kind = payload.get("t")
    return kind if isinstance(kind, str) else signedqr.dcc_type(payload)


def verifier_from_lists(
    *,
    trust_lists: Iterable[bytes],
    revocation_lists: Iterable[bytes],
    anchors: Iterable[x509.Certificate],
    prefix: str,
    now: datetime.datetime | None = None,
) -> Verifier:
    """An offline verifier from cached signed lists (``manage.py qr_verify`` uses this)."""
    from yiwang.certificates.keys import trust_list_load

    anchors = list(anchors)
    store = signedqr.TrustStore()
    for data in trust_lists:
        loaded = trust_list_load(data, anchors=anchors, now=now)
        store.update(loaded.store)
    lists: dict[bytes, RevocationList] = {}
    for data in revocation_lists:
        listed = revocation_list_load(data, trust=store)
        lists[listed.kid] = listed
    return Verifier(trust=store, prefix=prefix, revocation_lists=lists)


def platform_verifier(*, now: datetime.datetime | None = None) -> Verifier:
    """The platform's own verifier: its keys and revocations read from the database now,
    plus the trust and revocation lists of the other regions it accepts."""
    from yiwang.certificates.keys import TrustListError, trust_list_load
    from yiwang.certificates.models import Certificate, SigningKey

    now = now or timezone.now()
    fresh_until = now + datetime.timedelta(hours=settings.CERTIFICATES_REVOCATION_LIST_HOURS)
    store = signedqr.TrustStore()
    lists: dict[bytes, RevocationList] = {}
    keys = list(SigningKey.objects.filter(not_after__gt=now).select_related("department"))
    revoked: dict[tuple[int, str], set[bytes]] = {}
    for department_id, type_code, identifier in Certificate.objects.filter(
        status=Certificate.Status.REVOKED
    ).values_list("issuer_id", "certificate_type__code", "identifier"):
        revoked.setdefault((department_id, type_code), set()).add(revocation_hash(identifier))
    for key in keys:
        entry = store.add_certificate(
            key.certificate_der(),
            label=key.department.name,
            allowed_types=key.certificate_types,
        )
        hashes: set[bytes] = set()
        for code in key.certificate_types:
            hashes |= revoked.get((key.department_id, code), set())
        # Read live from the database: as fresh as a list can be, for this verifier's life.
        lists[entry.kid] = RevocationList(
            kid=entry.kid, issued_at=now, next_update=fresh_until, revoked=frozenset(hashes)
        )
    for peer in peers_configured():
        try:
            anchor = x509.load_pem_x509_certificate(peer.anchor.read_bytes())
            loaded = trust_list_load(peer.trust_list.read_bytes(), anchors=[anchor], now=now)
        except (OSError, ValueError, TrustListError) as exc:
            logger.warning("peer trust list %s not used: %s", peer.name, exc)
            continue
        store.update(loaded.store)
        for path in peer.revocation_lists:
            try:
                listed = revocation_list_load(path.read_bytes(), trust=loaded.store)
            except (OSError, RevocationListError) as exc:
                logger.warning("peer revocation list %s not used: %s", path, exc)
                continue
            lists[listed.kid] = listed
    return Verifier(trust=store, prefix=settings.CERTIFICATES_QR_PREFIX, revocation_lists=lists)


@dataclass(frozen=True)
class Peer:
    """Another region's platform whose certificates this one accepts (互通互认)."""

    name: str
    anchor: Path
    trust_list: Path
    revocation_lists: list[Path]


def peers_configured() -> list[Peer]:
    """``CERTIFICATES_PEER_DIR/<name>/`` holds ``anchor.crt`` (configured once, out of
    band), ``trust-list.cose`` and ``revocation/*.cose`` (fetched as they are published)."""
    root = Path(settings.CERTIFICATES_PEER_DIR)
    if not root.is_dir():
        return []
    return [
        Peer(
            name=folder.name,
            anchor=folder / "anchor.crt",
            trust_list=folder / "trust-list.cose",
            revocation_lists=sorted((folder / "revocation").glob("*.cose")),
        )
        for folder in sorted(root.iterdir())
        if (folder / "anchor.crt").is_file() and (folder / "trust-list.cose").is_file()
    ]
