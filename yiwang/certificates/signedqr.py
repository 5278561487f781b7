"""Signed QR codes in the EU Digital COVID Certificate container (HCERT).

A code is built in layers, and verification peels them off in the same order:
claims → CWT (a CBOR map: iss 1, exp 4, iat 6, the certificate data under the hcert
claim -260 → {1: data}) → COSE_Sign1 (tag 18) → zlib → Base45 → text with a prefix
(``HC1:`` for the EU DCC; the platform's own codes use their own, e.g. ``YW1:``).

Each failure is reported as one ``Verdict``; ``verify`` raises ``SignedQrError``
carrying it. Every layer is also a function of its own (``unprefix``, ``base45_decode``
…) so that a conformance suite can check the layers one by one. No Django, no network:
the trust store is built from certificates or keys the caller already holds.
"""

from __future__ import annotations

import datetime
import enum
import functools
import hashlib
import importlib
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, TypeGuard, cast

import base45  # type: ignore[import-untyped]
import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from yiwang.certificates import sm2

logger = logging.getLogger(__name__)

EU_DCC_PREFIX = "HC1:"

# CWT claim keys (RFC 8392) and the hcert claim of the EU DCC.
CLAIM_ISSUER = 1
CLAIM_EXPIRES = 4
CLAIM_ISSUED_AT = 6
CLAIM_HCERT = -260
HCERT_DATA = 1

# COSE header labels (RFC 9052) and tags.
HEADER_ALG = 1
HEADER_KID = 4
TAG_COSE_SIGN1 = 18
TAG_CWT = 61

# A QR code holds at most 4,296 alphanumeric characters; anything much longer is not one.
MAX_TEXT_LENGTH = 8192
# A zlib bomb stops here: real certificate data is a few kilobytes.
MAX_DECOMPRESSED = 256 * 1024

# EU DCC signing certificates name the certificate types they may sign in their extended
# key usage. Early versions of the specification printed the OIDs with a stray ".0" after
# the enterprise arc, and some national signing certificates still carry that form.
DCC_TEST = "t"
DCC_VACCINATION = "v"
DCC_RECOVERY = "r"
DCC_CERTIFICATE_TYPES = (DCC_TEST, DCC_VACCINATION, DCC_RECOVERY)
DCC_KEY_USAGE_OIDS: Mapping[str, str] = {
    "1.3.6.1.4.1.1847.2021.1.1": DCC_TEST,
    "1.3.6.1.4.1.1847.2021.1.2": DCC_VACCINATION,
    "1.3.6.1.4.1.1847.2021.1.3": DCC_RECOVERY,
    "1.3.6.1.4.1.0.1847.2021.1.1": DCC_TEST,
    "1.3.6.1.4.1.0.1847.2021.1.2": DCC_VACCINATION,
    "1.3.6.1.4.1.0.1847.2021.1.3": DCC_RECOVERY,
}


class Verdict(enum.StrEnum):
    NOT_A_QR = "not_a_qr"
    WRONG_PREFIX = "wrong_prefix"
    BAD_BASE45 = "bad_base45"
    BAD_COMPRESSION = "bad_compression"
    BAD_CBOR = "bad_cbor"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    REVOKED = "revoked"
    KEY_NOT_ALLOWED = "key_not_allowed"


class SignedQrError(Exception):
    """A code that does not verify; ``verdict`` says which step failed."""

    def __init__(self, verdict: Verdict, message: str) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.message = message

    def __str__(self) -> str:
        return f"{self.verdict}: {self.message}"


# ---------------------------------------------------------------------------------------
# Algorithms


@dataclass(frozen=True)
class Algorithm:
    """A COSE signature algorithm.

    ``verify(public_key, signature, message)`` raises ``InvalidSignature`` (also for a key
    of the wrong kind); ``sign(private_key, message)`` returns the COSE signature bytes.
    """

    cose_id: int
    name: str
    verify: Callable[[object, bytes, bytes], None]
    sign: Callable[[object, bytes], bytes]


_P256_BYTES = 32
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


# isinstance() against cryptography's abstract key class costs more than half a
# microsecond; the answer for each concrete class is kept.
_EC_PUBLIC_KEY_CLASSES: dict[type, bool] = {}


def _is_ec_public_key(key: object) -> TypeGuard[ec.EllipticCurvePublicKey]:
    kind = type(key)
    known = _EC_PUBLIC_KEY_CLASSES.get(kind)
    if known is None:
        known = _EC_PUBLIC_KEY_CLASSES[kind] = issubclass(kind, ec.EllipticCurvePublicKey)
    return known


def _der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\0")
    if not value or value[0] & 0x80:
        value = b"\0" + value
    return b"\x02" + bytes((len(value),)) + value


def _der_signature(signature: bytes) -> bytes:
    """r || s of two 32-byte halves as DER, byte for byte what ``encode_dss_signature`` writes;
    built from the bytes, as converting to integers and back costs twice as long."""
    body = _der_integer(signature[:32]) + _der_integer(signature[32:])
    return b"\x30" + bytes((len(body),)) + body  # at most 70 bytes: a one-byte length


def _es256_key_ok(key: object) -> TypeGuard[ec.EllipticCurvePublicKey]:
    """Whether ``key`` is a P-256 public key."""
    return _is_ec_public_key(key) and isinstance(key.curve, ec.SECP256R1)


def _es256_verify(key: object, signature: bytes, message: bytes) -> None:
    if not _es256_key_ok(key) or len(signature) != 2 * _P256_BYTES:
        raise InvalidSignature
    # COSE carries r || s; cryptography verifies the DER form.
    key.verify(_der_signature(signature), message, _ECDSA_SHA256)


def _es256_sign(key: object, message: bytes) -> bytes:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("ES256 needs a P-256 private key")
    r, s = decode_dss_signature(key.sign(message, _ECDSA_SHA256))
    return r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")


def _pss() -> padding.PSS:
    # RFC 8230: the salt is as long as the hash.
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def _ps256_verify(key: object, signature: bytes, message: bytes) -> None:
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignature
    key.verify(signature, message, _pss(), hashes.SHA256())


def _ps256_sign(key: object, message: bytes) -> bytes:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("PS256 needs an RSA private key")
    return key.sign(message, _pss(), hashes.SHA256())


ES256 = Algorithm(cose_id=-7, name="ES256", verify=_es256_verify, sign=_es256_sign)
PS256 = Algorithm(cose_id=-37, name="PS256", verify=_ps256_verify, sign=_ps256_sign)
# SM2 with SM3 and the default user id (GB/T 38540 seals, GM/T 0003), r || s like ES256,
# under the private-use id -66037 (``sm2.COSE_ALGORITHM_ID`` says why that one).
SM2_SM3 = Algorithm(cose_id=sm2.COSE_ALGORITHM_ID, name="SM2", verify=sm2.verify, sign=sm2.sign)

# The algorithms this platform signs and verifies with, by COSE id.
ALGORITHMS: dict[int, Algorithm] = {
    ES256.cose_id: ES256,
    PS256.cose_id: PS256,
    SM2_SM3.cose_id: SM2_SM3,
}


# ---------------------------------------------------------------------------------------
# Trust store

# SM2 keys are tongsuopy's: cryptography reads neither them nor certificates holding them.
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | sm2.Sm2PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | sm2.Sm2PrivateKey


def key_id(certificate: x509.Certificate) -> bytes:
    """The EU DCC kid: the first 8 bytes of SHA-256 over the certificate's DER."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).digest()[:8]


def allowed_types_of(certificate: x509.Certificate) -> frozenset[str]:
    """The DCC types a signing certificate may sign; empty means every type.

    Raises ``ValueError`` when the certificate's extensions cannot be parsed: a key whose
    limits cannot be read must not be trusted for everything.
    """
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(
        DCC_KEY_USAGE_OIDS[oid.dotted_string]
        for oid in usage
        if oid.dotted_string in DCC_KEY_USAGE_OIDS
    )


def _label_of(certificate: x509.Certificate) -> str:
    for name in (certificate.subject, certificate.issuer):
        countries = name.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
        if countries:
            return str(countries[0].value)
    common_names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common_names[0].value) if common_names else ""


@dataclass(frozen=True)
class TrustEntry:
    """A key trusted to sign codes: the signing certificate's, or a bare key."""

    kid: bytes
    public_key: PublicKey
    certificate: x509.Certificate | None = None
    allowed_types: frozenset[str] = frozenset()  # empty: every type
    label: str = ""  # issuer or country

    # Read once: each read of the certificate's field builds a new datetime.
    @functools.cached_property
    def not_before(self) -> datetime.datetime | None:
        return self.certificate.not_valid_before_utc if self.certificate else None

    @functools.cached_property
    def not_after(self) -> datetime.datetime | None:
        return self.certificate.not_valid_after_utc if self.certificate else None

    @functools.cached_property
    def es256_key(self) -> bool:
        """Whether the key is a P-256 key (one that ES256 codes can be checked with)."""
        return _es256_key_ok(self.public_key)


class TrustStore:
    """The keys a verifier trusts, by kid. Held in memory; nothing is fetched."""

    def __init__(self, entries: Iterable[TrustEntry] = ()) -> None:
        self._entries: dict[bytes, TrustEntry] = {}
        for entry in entries:
            self.add(entry)

    @classmethod
    def from_certificates(
        cls, certificates: Iterable[x509.Certificate | bytes], *, label: str | None = None
    ) -> TrustStore:
        """A store of signing certificates (objects or DER bytes)."""
        store = cls()
        for certificate in certificates:
            store.add_certificate(certificate, label=label)
        return store

    def add(self, entry: TrustEntry) -> TrustEntry:
        self._entries[entry.kid] = entry
        return entry

    def add_certificate(
        self,
        certificate: x509.Certificate | bytes,
        *,
        label: str | None = None,
        allowed_types: Iterable[str] | None = None,
    ) -> TrustEntry:
        """Trust a signing certificate; its types come from its key usage unless given."""
        if isinstance(certificate, bytes):
            certificate = x509.load_der_x509_certificate(certificate)
        public_key = certificate.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise ValueError(f"unsupported key type {type(public_key).__name__}")
        return self.add(
            TrustEntry(
                kid=key_id(certificate),
                public_key=public_key,
                certificate=certificate,
                allowed_types=(
                    frozenset(allowed_types)
                    if allowed_types is not None
                    else allowed_types_of(certificate)
                ),
                label=label if label is not None else _label_of(certificate),
            )
        )

    def add_key(
        self,
        kid: bytes,
        public_key: PublicKey,
        *,
        label: str = "",
        allowed_types: Iterable[str] = (),
    ) -> TrustEntry:
        """Trust a bare key: no certificate, so no validity period to check against.

        The way to trust an SM2 key (``sm2.public_key_from_point``)."""
        return self.add(
            TrustEntry(
                kid=kid, public_key=public_key, allowed_types=frozenset(allowed_types), label=label
            )
        )

    def get(self, kid: bytes) -> TrustEntry | None:
        return self._entries.get(kid)

    def entries(self) -> list[TrustEntry]:
        return list(self._entries.values())

    def update(self, other: TrustStore) -> None:
        """Trust every key of another store too (another region's trust list)."""
        self._entries.update(other._entries)

    def __contains__(self, kid: object) -> bool:
        return kid in self._entries

    def __len__(self) -> int:
        return len(self._entries)


# ---------------------------------------------------------------------------------------
# The layers, outside in


def unprefix(text: object, prefix: str | tuple[str, ...] = (EU_DCC_PREFIX,)) -> str:
    """The Base45 text after the prefix."""
    if not isinstance(text, str) or not text:
        raise SignedQrError(Verdict.NOT_A_QR, "no QR code text")
    if len(text) > MAX_TEXT_LENGTH:
        raise SignedQrError(Verdict.NOT_A_QR, "too long for a QR code")
    prefixes = (prefix,) if isinstance(prefix, str) else prefix
    for candidate in prefixes:
        if text.startswith(candidate):
            return text[len(candidate) :]
    raise SignedQrError(
        Verdict.WRONG_PREFIX, f"the code does not start with {' or '.join(prefixes)}"
    )


BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# Each Base45 character's value (RFC 9285), and 0xFF for every byte that is not one.
_BASE45_VALUES = bytes(
    BASE45_ALPHABET.index(chr(byte)) if chr(byte) in BASE45_ALPHABET else 0xFF
    for byte in range(256)
)
# 0xFF in the low byte of every 24-bit lane, for as many lanes as a QR code's text has.
_LANES = MAX_TEXT_LENGTH // 3 + 1
_LANE_MASK = int.from_bytes(b"\xff\0\0" * _LANES, "little")
_LANE_HIGH = _LANE_MASK << 16  # a lane's top byte: set only for a group above 0xFFFF


def base45_decode(text: str) -> bytes:
    """RFC 9285 Base45 (a trailing newline is ignored, as scanners may add one).

    A Python loop per character cost nearly as much as the signature check, so every three
    characters become one 24-bit lane of a big integer and all groups are decoded at
    once: each lane holds c + 45·d + 2025·e ≤ 91124, which has room to spare. The lanes
    are read big-endian, so each comes out as 0, high byte, low byte in text order and
    the result is that with every third byte dropped.
    """
    if not text:
        raise SignedQrError(Verdict.BAD_BASE45, "nothing after the prefix")
    try:
        digits = text.rstrip("\n").encode("ascii").translate(_BASE45_VALUES)
    except UnicodeEncodeError:
        raise SignedQrError(Verdict.BAD_BASE45, "not valid Base45") from None
    groups, rest = divmod(len(digits), 3)
    if rest == 1 or b"\xff" in digits:
        raise SignedQrError(Verdict.BAD_BASE45, "not valid Base45")
    end = 3 * groups
    lanes = int.from_bytes(digits[:end], "big")  # each lane: c << 16 | d << 8 | e
    if groups <= _LANES:
        mask, high = _LANE_MASK, _LANE_HIGH
    else:
        mask = int.from_bytes(b"\xff\0\0" * groups, "little")
        high = mask << 16
    values = ((lanes >> 16) & mask) + 45 * ((lanes >> 8) & mask) + 2025 * (lanes & mask)
    if values & high:
        raise SignedQrError(Verdict.BAD_BASE45, "not valid Base45")  # a group above 0xFFFF
    data = bytearray(values.to_bytes(end, "big"))
    del data[::3]
    if rest:
        last = digits[-2] + 45 * digits[-1]
        if last > 0xFF:
            raise SignedQrError(Verdict.BAD_BASE45, "not valid Base45")
        data.append(last)
    return bytes(data)


def decompress(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, MAX_DECOMPRESSED)
    except zlib.error:
        raise SignedQrError(Verdict.BAD_COMPRESSION, "not zlib-compressed data") from None
    if inflater.unconsumed_tail:
        raise SignedQrError(Verdict.BAD_COMPRESSION, "the content is too large")
    if not inflater.eof or inflater.unused_data:
        raise SignedQrError(Verdict.BAD_COMPRESSION, "the compressed data is truncated or padded")
    return inflated


_CBOR_ERRORS = (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError)
_CBOR_INT_MIN = -(2**64)
_CBOR_INT_END = 2**64


def cbor_loads(data: bytes) -> Any:
    """Exactly one CBOR item: no trailing bytes, no duplicate map keys."""
    stream = BytesIO(data)
    value = cbor2.CBORDecoder(stream, allow_duplicate_keys=False).decode()
    if stream.tell() != len(data):
        raise ValueError("trailing bytes after the CBOR item")
    return value


def _is_map(value: object) -> bool:
    # cbor2 decodes maps to dicts; the exact type check spares the slower abc check.
    return type(value) is dict or isinstance(value, Mapping)


def _header(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any], label: int) -> Any:
    """A header parameter; the protected header wins."""
    if label in protected:
        return protected[label]
    return unprotected.get(label)


def _algorithm_id(value: object) -> int | None:
    # A CBOR int fits in 65 bits; a bignum (tag 2 or 3) is not a COSE algorithm id, and
    # printing one with thousands of digits in the error message would raise.
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and _CBOR_INT_MIN <= value < _CBOR_INT_END
    ):
        return value
    return None


def _byte_string_head(length: int) -> bytes:
    """The head of a CBOR byte string in its shortest form, as cbor2 writes it."""
    if length < 24:
        return bytes((0x40 | length,))
    if length <= 0xFF:
        return bytes((0x58, length))
    if length <= 0xFFFF:
        return b"\x59" + length.to_bytes(2, "big")
    if length <= 0xFFFF_FFFF:
        return b"\x5a" + length.to_bytes(4, "big")
    return b"\x5b" + length.to_bytes(8, "big")


# The start of every Sig_structure: an array of four, then the text "Signature1".
_SIGNATURE1 = b"\x84\x6aSignature1"


def _to_be_signed(protected: bytes, payload: bytes) -> bytes:
    """``["Signature1", protected, h'', payload]`` written out byte by byte, exactly as
    ``cbor2.dumps`` writes it, without building and encoding a list for every check."""
    return b"".join(
        (
            _SIGNATURE1,
            _byte_string_head(len(protected)),
            protected,
            b"\x40",
            _byte_string_head(len(payload)),
            payload,
        )
    )


@dataclass(frozen=True)
class Sign1:
    """A decoded COSE_Sign1. ``protected`` keeps the exact bytes the signature covers."""

    protected: bytes
    protected_header: Mapping[Any, Any]
    unprotected_header: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    def header(self, label: int) -> Any:
        """A header parameter; the protected header wins."""
        return _header(self.protected_header, self.unprotected_header, label)

    @property
    def kid(self) -> bytes | None:
        kid = self.header(HEADER_KID)
        return kid if isinstance(kid, bytes) else None

    @property
    def algorithm(self) -> int | None:
        return _algorithm_id(self.header(HEADER_ALG))

    def to_be_signed(self) -> bytes:
        """The Sig_structure (RFC 9052 §4.4) with no external data."""
        return _to_be_signed(self.protected, self.payload)


# protected (the bytes), protected header, unprotected header, payload, signature
_Sign1Parts = tuple[bytes, Mapping[Any, Any], Mapping[Any, Any], bytes, bytes]


def _byte_string_at(data: bytes, at: int) -> tuple[bytes, int] | None:
    """The definite-length byte string whose head is at ``at``, and the offset after it."""
    if at >= len(data):
        return None
    head = data[at]
    if 0x40 <= head < 0x58:
        start, length = at + 1, head - 0x40
    elif 0x58 <= head <= 0x5A:
        start = at + 1 + (1 << (head - 0x58))  # a 1, 2 or 4 byte length
        length = int.from_bytes(data[at + 1 : start], "big")
    else:
        return None
    end = start + length
    return (data[start:end], end) if end <= len(data) else None


def _sign1_read(data: bytes) -> _Sign1Parts | None:
    """A COSE_Sign1 in the usual shape, read without decoding it whole; None for any other.

    The usual shape: tag 61 or not, tag 18 or not, an array of four, definite-length byte
    strings for the protected header, payload and signature, and nothing after it. Only
    the two headers are decoded, by cbor2 and as strictly as ``cbor_loads``. Whatever this
    does not accept goes to ``_sign1_decode``, which decodes the whole item and gives the
    same parts where this gives any: a decoder starts afresh at each item it is asked for.
    """
    at = 2 if data.startswith(b"\xd8\x3d") else 0  # tag 61
    if data[at : at + 1] == b"\xd2":  # tag 18
        at += 1
    if data[at : at + 1] != b"\x84":
        return None
    protected = _byte_string_at(data, at + 1)
    if protected is None:
        return None
    protected_bytes, at = protected
    stream = BytesIO(data)
    decoder = cbor2.CBORDecoder(stream, allow_duplicate_keys=False)
    protected_header: Any = {}
    unprotected: Any = {}
    try:
        if protected_bytes:
            stream.seek(at - len(protected_bytes))
            protected_header = decoder.decode()
            if stream.tell() != at:
                return None
        if data[at : at + 1] == b"\xa0":
            at += 1
        else:
            stream.seek(at)
            unprotected = decoder.decode()
            at = stream.tell()
    except _CBOR_ERRORS:
        return None
    payload = _byte_string_at(data, at)
    if payload is None or not _is_map(unprotected):
        return None
    signature = _byte_string_at(data, payload[1])
    if signature is None or signature[1] != len(data):
        return None
    return protected_bytes, protected_header, unprotected, payload[0], signature[0]


def _sign1_decode(data: bytes) -> _Sign1Parts:
    """A COSE_Sign1 of any shape, decoded whole with cbor2."""
    try:
        item = cbor_loads(data)
    except _CBOR_ERRORS:
        raise SignedQrError(Verdict.BAD_CBOR, "not valid CBOR") from None
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        item = item.value
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_COSE_SIGN1:
        item = item.value
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise SignedQrError(Verdict.BAD_CBOR, "not a COSE_Sign1 structure")
    protected, unprotected, payload, signature = item
    if not (
        isinstance(protected, bytes)
        and _is_map(unprotected)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise SignedQrError(Verdict.BAD_CBOR, "not a COSE_Sign1 structure")
    try:
        protected_header = cbor_loads(protected) if protected else {}
    except _CBOR_ERRORS:
        raise SignedQrError(Verdict.BAD_CBOR, "the protected header is not valid CBOR") from None
    return protected, protected_header, unprotected, payload, signature


def _cose_parts(data: bytes) -> _Sign1Parts:
    parts = _sign1_read(data) or _sign1_decode(data)
    if not _is_map(parts[1]):
        raise SignedQrError(Verdict.BAD_CBOR, "the protected header is not a map")
    kid = _header(parts[1], parts[2], HEADER_KID)
    if kid is not None and not isinstance(kid, bytes):
        raise SignedQrError(Verdict.BAD_CBOR, "the kid is not a byte string")
    return parts


def cose_decode(data: bytes) -> Sign1:
    """A COSE_Sign1, tagged 18 or untagged, optionally inside a CWT tag 61."""
    return Sign1(*_cose_parts(data))


def _signature_check(
    alg: int | None, public_key: object, signature: bytes, to_be_signed: bytes
) -> Algorithm:
    algorithm = ALGORITHMS.get(alg) if alg is not None else None
    if algorithm is None:
        raise SignedQrError(Verdict.BAD_SIGNATURE, f"unsupported signature algorithm {alg}")
    try:
        algorithm.verify(public_key, signature, to_be_signed)
    except (InvalidSignature, ValueError):
        raise SignedQrError(Verdict.BAD_SIGNATURE, "the signature does not verify") from None
    except sm2.Unavailable as unavailable:
        raise SignedQrError(Verdict.BAD_SIGNATURE, str(unavailable)) from None
    return algorithm


def signature_verify(sign1: Sign1, public_key: object) -> Algorithm:
    """Check the signature with the signer's key; returns the algorithm used."""
    return _signature_check(sign1.algorithm, public_key, sign1.signature, sign1.to_be_signed())


@dataclass(frozen=True)
class Claims:
    """The CWT: who issued it, when, until when, and the certificate data."""

    issuer: str | None
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    payload: Mapping[str, Any]
    raw: Mapping[Any, Any]


def _timestamp(claims: Mapping[Any, Any], key: int, name: str) -> datetime.datetime:
    value = claims.get(key)
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise SignedQrError(Verdict.BAD_CBOR, f"the CWT has no numeric {name} claim")
    try:
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise SignedQrError(Verdict.BAD_CBOR, f"the {name} claim is out of range") from None


def _claims_read(
    payload: bytes,
) -> tuple[str | None, datetime.datetime, datetime.datetime, Mapping[str, Any], Mapping[Any, Any]]:
    """Claims' fields in order: issuer, issued_at, expires_at, payload (the data), raw."""
    try:
        claims = cbor_loads(payload)
    except _CBOR_ERRORS:
        raise SignedQrError(Verdict.BAD_CBOR, "the payload is not valid CBOR") from None
    if not _is_map(claims):
        raise SignedQrError(Verdict.BAD_CBOR, "the payload is not a CWT claims map")
    hcert = claims.get(CLAIM_HCERT)
    data = hcert.get(HCERT_DATA) if _is_map(hcert) else None
    if not _is_map(data):
        raise SignedQrError(Verdict.BAD_CBOR, "the CWT holds no certificate data")
    issuer = claims.get(CLAIM_ISSUER)
    return (
        issuer if isinstance(issuer, str) else None,
        _timestamp(claims, CLAIM_ISSUED_AT, "iat"),
        _timestamp(claims, CLAIM_EXPIRES, "exp"),
        cast(Mapping[str, Any], data),
        claims,
    )


def cwt_decode(payload: bytes) -> Claims:
    return Claims(*_claims_read(payload))


def _validity_check(
    issued_at: datetime.datetime,
    expires_at: datetime.datetime,
    clock: datetime.datetime,
    signer: TrustEntry,
) -> None:
    if clock.tzinfo is None:
        raise ValueError("clock must be timezone-aware")
    if clock < issued_at:
        raise SignedQrError(Verdict.EXPIRED, "not valid yet: issued after the validation time")
    if clock > expires_at:
        raise SignedQrError(Verdict.EXPIRED, "expired")
    if signer.not_before is not None and issued_at < signer.not_before:
        raise SignedQrError(Verdict.EXPIRED, "issued before the signing certificate became valid")
    if signer.not_after is not None and expires_at > signer.not_after:
        raise SignedQrError(Verdict.EXPIRED, "valid longer than its signing certificate")


def validity_check(claims: Claims, *, clock: datetime.datetime, signer: TrustEntry) -> None:
    """notBefore <= iat <= clock <= exp <= notAfter (the certificate bounds if there is one)."""
    _validity_check(claims.issued_at, claims.expires_at, clock, signer)


def dcc_type(payload: Mapping[str, Any]) -> str | None:
    """The EU DCC type ("v", "t" or "r"), or None unless exactly one is present."""
    present = [kind for kind in DCC_CERTIFICATE_TYPES if kind in payload]
    return present[0] if len(present) == 1 else None


def key_usage_check(signer: TrustEntry, certificate_type: str | None) -> None:
    if not signer.allowed_types:
        return
    if certificate_type not in signer.allowed_types:
        raise SignedQrError(
            Verdict.KEY_NOT_ALLOWED,
            f"the key may sign only {', '.join(sorted(signer.allowed_types))}, "
            f"not {certificate_type or 'an unknown type'}",
        )


# ---------------------------------------------------------------------------------------
# Verifying and signing


@dataclass(frozen=True)
class Verified:
    payload: Mapping[str, Any]  # the certificate data
    issuer: str | None
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    kid: bytes
    signer: TrustEntry  # the key, its certificate if any, its label
    algorithm: str
    certificate_type: str | None


def verify(
    text: str,
    *,
    trust: TrustStore,
    clock: datetime.datetime,
    prefix: str | tuple[str, ...] = (EU_DCC_PREFIX,),
    certificate_type: str | Callable[[Mapping[str, Any]], str | None] | None = None,
    revoked: Callable[[bytes, Mapping[str, Any]], bool] | None = None,
) -> Verified:
    """Verify a scanned code at ``clock``; raises ``SignedQrError`` with the verdict.

    ``certificate_type`` is the type the code is checked as against the key's allowed
    types, or a function that reads it from the certificate data; when not given it is
    read from EU DCC data (v, t or r). ``revoked(kid, data)``
    is asked last, for a code that is otherwise valid.

    Codes of the usual shape are checked by the compiled fast path when it is built
    (``_verify_fast``): it answers "valid", or refuses a bad signature or a revoked code
    once every other check has passed; every other code goes to ``verify_reference``.
    """
    prefixes = (prefix,) if isinstance(prefix, str) else tuple(prefix)
    if _fast is not None:
        verified = _fast.verify(text, trust, clock, prefixes, certificate_type, revoked)
        if verified is not None:
            return verified  # type: ignore[no-any-return]
    return verify_reference(
        text,
        trust=trust,
        clock=clock,
        prefix=prefixes,
        certificate_type=certificate_type,
        revoked=revoked,
    )


def verify_reference(
    text: str,
    *,
    trust: TrustStore,
    clock: datetime.datetime,
    prefix: str | tuple[str, ...] = (EU_DCC_PREFIX,),
    certificate_type: str | Callable[[Mapping[str, Any]], str | None] | None = None,
    revoked: Callable[[bytes, Mapping[str, Any]], bool] | None = None,
) -> Verified:
    """``verify`` in Python alone: the reference the fast path is tested against.

    The same steps as ``cose_decode``, ``signature_verify``, ``cwt_decode`` and
    ``validity_check``, on their parts rather than their objects: building a Sign1 and a
    Claims for every code cost more than the checks between them.
    """
    protected, protected_header, unprotected, payload, signature = _cose_parts(
        decompress(base45_decode(unprefix(text, prefix)))
    )
    kid = _header(protected_header, unprotected, HEADER_KID)  # bytes or None by now
    signer = trust.get(kid) if kid is not None else None
    if signer is None:
        raise SignedQrError(Verdict.UNKNOWN_KEY, "signed with a key this verifier does not trust")
    algorithm = _signature_check(
        _algorithm_id(_header(protected_header, unprotected, HEADER_ALG)),
        signer.public_key,
        signature,
        _to_be_signed(protected, payload),
    )
    issuer, issued_at, expires_at, data, _ = _claims_read(payload)
    _validity_check(issued_at, expires_at, clock, signer)
    if callable(certificate_type):
        kind = certificate_type(data)
    elif certificate_type is not None:
        kind = certificate_type
    else:
        kind = dcc_type(data)
    key_usage_check(signer, kind)
    if revoked is not None and revoked(kid, data):
        raise SignedQrError(Verdict.REVOKED, "the certificate has been revoked")
    return Verified(
        payload=data,
        issuer=issuer,
        issued_at=issued_at,
        expires_at=expires_at,
        kid=kid,
        signer=signer,
        algorithm=algorithm.name,
        certificate_type=kind,
    )


def _fast_load() -> Any:
    """The compiled fast path, if it is built from the source beside it; else None.

    ``YIWANG_NO_FAST_PATH=1`` in the environment leaves it out."""
    if os.environ.get("YIWANG_NO_FAST_PATH") == "1":
        return None
    try:
        _verify_fast = importlib.import_module("yiwang.certificates._verify_fast")
    except ImportError:
        return None
    source = Path(__file__).with_name("_verify_fast.pyx")
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
    except OSError:
        digest = None
    if digest is not None and digest != _verify_fast.SOURCE_DIGEST:
        logger.warning("signedqr: the compiled fast path is older than its source; not used")
        return None
    _verify_fast.setup(
        Verified,
        TrustEntry,
        _ECDSA_SHA256,
        dcc_type,
        datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
        InvalidSignature,
        lambda: SignedQrError(Verdict.BAD_SIGNATURE, "the signature does not verify"),
        lambda: SignedQrError(Verdict.REVOKED, "the certificate has been revoked"),
    )
    return _verify_fast


_fast = _fast_load()


def cose_sign1(
    payload: bytes,
    *,
    key: PrivateKey,
    kid: bytes,
    algorithm: int = ES256.cose_id,
    kid_protected: bool = True,
) -> bytes:
    """A tagged COSE_Sign1 over ``payload``; the kid goes in the protected header unless
    ``kid_protected`` is false (the DCC allows either, the protected one saves nothing)."""
    signer = ALGORITHMS[algorithm]
    protected_header: dict[int, Any] = {HEADER_ALG: algorithm}
    unprotected_header: dict[int, Any] = {}
    (protected_header if kid_protected else unprotected_header)[HEADER_KID] = kid
    protected = cbor2.dumps(protected_header, canonical=True)
    to_sign = Sign1(protected, protected_header, unprotected_header, payload, b"").to_be_signed()
    signature = signer.sign(key, to_sign)
    return cbor2.dumps(
        cbor2.CBORTag(TAG_COSE_SIGN1, [protected, unprotected_header, payload, signature]),
        canonical=True,
    )


def qr_text_encode(cose: bytes, *, prefix: str) -> str:
    """COSE bytes → zlib → Base45 → prefixed text."""
    encoded: bytes = base45.b45encode(zlib.compress(cose, 9))
    return prefix + encoded.decode("ascii")


def sign(
    *,
    claims: Mapping[str, Any],
    key: PrivateKey,
    kid: bytes,
    prefix: str,
    issuer: str,
    issued_at: datetime.datetime,
    expires_at: datetime.datetime,
    algorithm: int = ES256.cose_id,
) -> str:
    """The QR text for certificate data ``claims``, signed with ``key`` (ES256 by default)."""
    if not prefix:
        raise ValueError("a prefix is required")
    if issued_at.tzinfo is None or expires_at.tzinfo is None:
        raise ValueError("issued_at and expires_at must be timezone-aware")
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    cwt = cbor2.dumps(
        {
            CLAIM_ISSUER: issuer,
            CLAIM_ISSUED_AT: int(issued_at.timestamp()),
            CLAIM_EXPIRES: int(expires_at.timestamp()),
            CLAIM_HCERT: {HCERT_DATA: dict(claims)},
        },
        canonical=True,
    )
    return qr_text_encode(cose_sign1(cwt, key=key, kid=kid, algorithm=algorithm), prefix=prefix)
