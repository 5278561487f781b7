"""The platform's trust anchor, the departments' signing keys and the signed trust list.

One trust anchor (a self-signed X.509 CA, P-256) certifies each department's signing
keys. The trust list is the anchor-signed list of those certificates, with the
certificate types each key may sign; another region's platform that is configured with
this anchor's certificate accepts the list and so verifies our codes offline (互通互认).

Private keys are PEM files under ``CERTIFICATES_KEY_DIR``, readable by the owner only,
created on first use; the database holds only public certificates. The trust list is a
COSE_Sign1 (the signed-QR core's container) over a CBOR map.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from yiwang.certificates import signedqr
from yiwang.certificates.models import SigningKey
from yiwang.core.keyfiles import key_dir_locked, private_key_read, private_key_write
from yiwang.identity.models import Department

ANCHOR_KEY_FILE = "anchor.pem"
ANCHOR_CERTIFICATE_FILE = "anchor.crt"
ANCHOR_YEARS = 20
SIGNING_KEY_YEARS = 4
TRUST_LIST_FORMAT = 1


class KeyUnavailable(Exception):
    """A key that should exist cannot be found or read."""


def _key_dir() -> Path:
    return Path(settings.CERTIFICATES_KEY_DIR)


def _read_private(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        loaded = private_key_read(path)
    except FileNotFoundError as exc:
        raise KeyUnavailable(f"the private key {path.name} is missing from {path.parent}") from exc
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise KeyUnavailable(f"{path} does not hold an EC private key")
    return loaded


def _name(common_name: str, organisation: str = "") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


# ---------------------------------------------------------------------------------------
# The trust anchor


@dataclass(frozen=True)
class Anchor:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def trust_anchor() -> Anchor:
    """The platform's trust anchor, created (key and self-signed certificate) on first use.

    The first use may come from several web workers at once: one creates it while the
    others wait on the key directory's lock, then read it.
    """
    anchor = _anchor_read(partial_ok=True)
    if anchor is None:
        with key_dir_locked(_key_dir()):
            anchor = _anchor_read(partial_ok=False) or _anchor_create()
    return anchor


def _anchor_read(*, partial_ok: bool) -> Anchor | None:
    """The anchor, or None when it does not exist (or, with ``partial_ok``, is half made:
    another process may be writing it)."""
    key_path = _key_dir() / ANCHOR_KEY_FILE
    certificate_path = _key_dir() / ANCHOR_CERTIFICATE_FILE
    if key_path.exists() and certificate_path.exists():
        return Anchor(
            key=_read_private(key_path),
            certificate=x509.load_pem_x509_certificate(certificate_path.read_bytes()),
        )
    if not partial_ok and (key_path.exists() or certificate_path.exists()):
        raise KeyUnavailable(f"only one of {ANCHOR_KEY_FILE} and {ANCHOR_CERTIFICATE_FILE} exists")
    return None


def _anchor_create() -> Anchor:
    key_path = _key_dir() / ANCHOR_KEY_FILE
    certificate_path = _key_dir() / ANCHOR_CERTIFICATE_FILE
    key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()
    name = _name(settings.CERTIFICATES_ANCHOR_NAME)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=366 * ANCHOR_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    private_key_write(key_path, key)
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Anchor(key=key, certificate=certificate)


# ---------------------------------------------------------------------------------------
# Department signing keys


def signing_key_create(
    *, department: Department, certificate_types: Sequence[str], years: int = SIGNING_KEY_YEARS
) -> SigningKey:
    """A new signing key for the department, certified by the anchor for these types."""
    if not certificate_types:
        raise ValueError("name the certificate types the key may sign")
    anchor = trust_anchor()
    key = ec.generate_private_key(ec.SECP256R1())
    now = timezone.now()
    not_after = min(
        now + datetime.timedelta(days=366 * years), anchor.certificate.not_valid_after_utc
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(department.name, settings.CERTIFICATES_ANCHOR_NAME))
        .issuer_name(anchor.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(anchor.key.public_key()),
            critical=False,
        )
        .sign(anchor.key, hashes.SHA256())
    )
    kid = signedqr.key_id(certificate).hex()
    private_key_write(_key_dir() / f"{kid}.pem", key)
    return SigningKey.objects.create(
        department=department,
        kid=kid,
        algorithm="ES256",
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        certificate_types=sorted(set(certificate_types)),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def signing_key_for(department: Department, certificate_type: str) -> SigningKey | None:
    """The department's newest key in force that may sign this certificate type."""
    now = timezone.now()
    for key in SigningKey.objects.filter(
        department=department, retired_at__isnull=True, not_before__lte=now, not_after__gt=now
    ).order_by("-created_at"):
        if certificate_type in key.certificate_types:
            return key
    return None


def signing_key_private(key: SigningKey) -> ec.EllipticCurvePrivateKey:
    return _read_private(_key_dir() / f"{key.kid}.pem")


@transaction.atomic
def signing_key_retire(key: SigningKey) -> SigningKey:
    """Stop signing with the key; it stays in the trust list until it expires."""
    SigningKey.objects.filter(pk=key.pk, retired_at__isnull=True).update(retired_at=timezone.now())
    key.refresh_from_db()
    return key


# ---------------------------------------------------------------------------------------
# The trust list


def trust_list_sign(*, now: datetime.datetime | None = None) -> bytes:
    """The anchor-signed list of every unexpired department signing certificate."""
    now = now or timezone.now()
    anchor = trust_anchor()
    keys = SigningKey.objects.filter(not_after__gt=now).select_related("department")
    document = {
        "format": TRUST_LIST_FORMAT,
        "issuer": settings.CERTIFICATES_ANCHOR_NAME,
        "issued_at": int(now.timestamp()),
        "next_update": int(
            (now + datetime.timedelta(days=settings.CERTIFICATES_TRUST_LIST_DAYS)).timestamp()
        ),
        "keys": [
            {
                "kid": bytes.fromhex(key.kid),
                "department": key.department.code,
                "name": key.department.name,
                "certificate": x509.load_pem_x509_certificate(
                    key.certificate_pem.encode()
                ).public_bytes(serialization.Encoding.DER),
                "types": list(key.certificate_types),
                "retired": key.retired_at is not None,
            }
            for key in keys.order_by("kid")
        ],
    }
    payload = cbor2.dumps(document, canonical=True)
    return signedqr.cose_sign1(
        payload,
        key=anchor.key,
        kid=signedqr.key_id(anchor.certificate),
        algorithm=signedqr.ES256.cose_id,
    )


class TrustListError(Exception):
    """A trust list that must not be used: bad signature, wrong anchor, stale, malformed."""


@dataclass(frozen=True)
class TrustList:
    issuer: str
    issued_at: datetime.datetime
    next_update: datetime.datetime
    store: signedqr.TrustStore
    departments: dict[bytes, str]


def trust_list_load(
    data: bytes, *, anchors: Iterable[x509.Certificate], now: datetime.datetime | None = None
) -> TrustList:
    """Check a trust list against the anchors this platform accepts and build its store.

    Each entry's certificate must be issued by the anchor that signed the list.
    """
    now = now or timezone.now()
    try:
        sign1 = signedqr.cose_decode(data)
    except signedqr.SignedQrError as exc:
        raise TrustListError(f"not a signed trust list: {exc.message}") from exc
    anchor = next((a for a in anchors if signedqr.key_id(a) == sign1.kid), None)
    if anchor is None:
        raise TrustListError("signed by an anchor this platform does not accept")
    try:
        signedqr.signature_verify(sign1, anchor.public_key())
    except signedqr.SignedQrError as exc:
        raise TrustListError("the trust list's signature does not verify") from exc
    try:
        document: Any = signedqr.cbor_loads(sign1.payload)
        issued_at = datetime.datetime.fromtimestamp(document["issued_at"], tz=datetime.UTC)
        next_update = datetime.datetime.fromtimestamp(document["next_update"], tz=datetime.UTC)
        entries = list(document["keys"])
    except (KeyError, TypeError, ValueError, OverflowError, cbor2.CBORError) as exc:
        raise TrustListError("the trust list is malformed") from exc
    if document.get("format") != TRUST_LIST_FORMAT:
        raise TrustListError(f"unknown trust list format {document.get('format')!r}")
    if now > next_update:
        raise TrustListError("the trust list is out of date: fetch a new one")
    store = signedqr.TrustStore()
    departments: dict[bytes, str] = {}
    for entry in entries:
        try:
            certificate = x509.load_der_x509_certificate(entry["certificate"])
            certificate.verify_directly_issued_by(anchor)
        except (KeyError, TypeError, ValueError, InvalidSignature) as exc:
            raise TrustListError("an entry's certificate is not issued by the anchor") from exc
        trusted = store.add_certificate(
            certificate, label=str(entry.get("name", "")), allowed_types=entry.get("types", [])
        )
        if trusted.kid != entry.get("kid"):
            raise TrustListError("an entry's kid does not match its certificate")
        departments[trusted.kid] = str(entry.get("department", ""))
    return TrustList(
        issuer=str(document.get("issuer", "")),
        issued_at=issued_at,
        next_update=next_update,
        store=store,
        departments=departments,
    )
