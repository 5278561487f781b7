"""SM2 signatures with SM3, the profile of Chinese e-certificates and e-seals, for COSE.

SM2 is GB/T 32918 (GM/T 0003), SM3 is GB/T 32905 (GM/T 0004); GB/T 38540 signs e-seals
with them. An SM2 signature is not over SM3(M) but over e = SM3(Z ‖ M), where
Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) binds the curve, the signer's public key
and the signer's distinguishing identifier; GM/T 0009 sets the identifier to
"1234567812345678" when none is agreed, and that default is the only one used here.

Signing and verifying are tongsuopy's (Tongsuo, formerly BabaSSL). Its SM2 signature
(``EVP_DigestSign`` on an SM2 key) computes Z itself, with the default identifier: it
verifies the GM/T 0003.5 example signature, and its own signatures check out against the
formula computed in plain Python (``tests/test_sm2.py``). It offers no way to pass another
identifier or to sign a digest computed outside, so other identifiers are not supported.

In COSE the signature is r ‖ s, 32 bytes each, as for ES256 (RFC 9053 §2.1); tongsuopy
reads and writes DER. tongsuopy is optional: without it this module still imports,
``AVAILABLE`` is false, and ``sign`` and ``verify`` raise ``Unavailable``.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

try:
    from tongsuopy.crypto import exceptions as _tongsuo_errors  # type: ignore[import-untyped]
    from tongsuopy.crypto import hashes as _tongsuo_hashes
    from tongsuopy.crypto.asymciphers import ec as _tongsuo_ec  # type: ignore[import-untyped]
except ImportError:
    AVAILABLE = False
else:
    AVAILABLE = True

# The IANA "COSE Algorithms" registry keeps ids below -65536 for private use, and SM2 has
# no registered id: draft-dang-webauthn-sm2 proposed -48 and expired, and the COSE ML-DSA
# draft uses -48 for ML-DSA-44. The id is -(65536 + 501): 501 is the last arc of the object
# identifier of SM2-with-SM3, 1.2.156.10197.1.501 (GM/T 0006), so it can be traced back.
COSE_ALGORITHM_ID = -66037

DEFAULT_USER_ID = b"1234567812345678"
# The order n of the SM2 curve's base point (GB/T 32918.5): r and s lie in [1, n - 1].
ORDER = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123
_HALF = 32  # bytes in r and in s


class Unavailable(RuntimeError):
    """SM2 was asked for, and tongsuopy is not installed."""

    def __init__(self) -> None:
        super().__init__("SM2 not available: tongsuopy is not installed")


# tongsuopy ships no type information: its keys, as far as this module relies on them.
class Sm2PublicKey(Protocol):
    def verify(self, signature: bytes, data: bytes, signature_algorithm: Any, /) -> None: ...


class Sm2PrivateKey(Protocol):
    def public_key(self) -> Sm2PublicKey: ...

    def sign(self, data: bytes, signature_algorithm: Any, /) -> bytes: ...


def _require() -> None:
    if not AVAILABLE:
        raise Unavailable


def is_public_key(key: object) -> TypeGuard[Sm2PublicKey]:
    return (
        AVAILABLE
        and isinstance(key, _tongsuo_ec.EllipticCurvePublicKey)
        and isinstance(key.curve, _tongsuo_ec.SM2)
    )


def is_private_key(key: object) -> TypeGuard[Sm2PrivateKey]:
    return (
        AVAILABLE
        and isinstance(key, _tongsuo_ec.EllipticCurvePrivateKey)
        and isinstance(key.curve, _tongsuo_ec.SM2)
    )


def generate_private_key() -> Sm2PrivateKey:
    _require()
    key: Sm2PrivateKey = _tongsuo_ec.generate_private_key(_tongsuo_ec.SM2())
    return key


def public_key_from_point(point: bytes) -> Sm2PublicKey:
    """A public key from its X9.62 point (04 ‖ x ‖ y, or compressed), as SM2 keys are sent."""
    _require()
    key: Sm2PublicKey = _tongsuo_ec.EllipticCurvePublicKey.from_encoded_point(
        _tongsuo_ec.SM2(), point
    )
    return key


def sign(key: object, message: bytes) -> bytes:
    """The SM2 signature of ``message`` (default identifier) as r ‖ s."""
    _require()
    if not is_private_key(key):
        raise ValueError("SM2 needs an SM2 private key")
    der = key.sign(message, _tongsuo_ec.ECDSA(_tongsuo_hashes.SM3()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(_HALF, "big") + s.to_bytes(_HALF, "big")


def verify(key: object, signature: bytes, message: bytes) -> None:
    """Check an r ‖ s SM2 signature; raises ``InvalidSignature``, also for a key that is not
    an SM2 public key, and ``Unavailable`` without tongsuopy."""
    _require()
    if not is_public_key(key) or len(signature) != 2 * _HALF:
        raise InvalidSignature
    r = int.from_bytes(signature[:_HALF], "big")
    s = int.from_bytes(signature[_HALF:], "big")
    if not (0 < r < ORDER and 0 < s < ORDER):
        raise InvalidSignature
    try:
        key.verify(encode_dss_signature(r, s), message, _tongsuo_ec.ECDSA(_tongsuo_hashes.SM3()))
    except (_tongsuo_errors.InvalidSignature, _tongsuo_errors.InternalError):
        # InternalError: OpenSSL answered with an error, not with "no" (a broken signature).
        raise InvalidSignature from None
