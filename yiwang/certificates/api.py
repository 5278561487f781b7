"""JSON API of e-certificates: verify a code, and the signed lists offline verifiers use.

Every endpoint here is public: anyone may check a code, and other regions' platforms and
offline verifiers fetch the trust list, the revocation lists and the anchor certificate
without an account (the lists are signed, so where they come from does not matter).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Literal, cast

from cryptography.hazmat.primitives import serialization
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.throttling import AnonRateThrottle, UserRateThrottle

from yiwang.certificates import keys, selectors, services, signedqr
from yiwang.certificates.verification import Result, RevocationStatus, platform_verifier
from yiwang.certificates.verify_views import verdict_message
from yiwang.core.api import ErrorOut
from yiwang.core.errors import NotFound

router = Router(
    tags=["certificates"], throttle=[AnonRateThrottle("60/m"), UserRateThrottle("600/m")]
)
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys((400, 422, 429), ErrorOut)
# Lists are signed afresh on each request; a proxy or client may keep one for a while.
LIST_MAX_AGE_SECONDS = 300

Revocation = Literal["checked", "stale", "missing", "not_applicable"]


class CertificateVerifyIn(Schema):
    text: str = Field(
        min_length=1,
        max_length=signedqr.MAX_TEXT_LENGTH,
        description="The text of the QR code, as a scanner reads it",
        examples=["YW1:6BFOXN*TS0BI$ZDFRH…"],
    )


class CertificateVerifyOut(Schema):
    valid: bool
    verdict: signedqr.Verdict | None = Field(
        description="Why the code is not valid; null when it is"
    )
    message: str = Field(description="The verdict in plain language, in the request's language")
    revocation: Revocation = Field(
        description=(
            "checked: not on the issuer's revocation list; stale: not on a list that is out "
            "of date; missing: no list for the key; not_applicable: not checked (an EU DCC, "
            "or a code that is not valid)"
        )
    )
    certificate: dict[str, Any] | None = Field(
        description=(
            "The certificate data of a valid code: for the platform's codes ver, t (type "
            "code), tn (type name), id (GB/T 36904 identifier), h (holder: k kind, n name, i "
            "masked identifier), is (issuer: c code, n name), d (data fields), iss (issued "
            "on), vu (valid until, if any), no (number, if any); for an EU DCC its JSON"
        ),
        examples=[
            {
                "ver": 1,
                "t": "CT-JHZ",
                "tn": "结婚证",
                "id": "1.2.156.3005.2.CTJHZ.11330106002504301J.20260520000001.001.4",
                "h": {"k": "person", "n": "林晓雯", "i": "3301**********0027"},
                "is": {"c": "330106-MZ", "n": "杭州市西湖区民政局"},
                "d": {"name": "林晓雯", "spouse_name": "周子航"},
                "iss": "2026-05-20",
            }
        ],
    )
    signer: str | None = Field(description="Who signed the code (department or country)")
    expires_at: datetime.datetime | None = Field(description="When the code itself expires")


def _json_safe(value: object) -> Any:
    """CBOR can carry what JSON cannot (bytes, tags, dates, non-text keys)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def verify_out(result: Result) -> CertificateVerifyOut:
    verified = result.verified if result.valid else None
    return CertificateVerifyOut(
        valid=verified is not None,
        verdict=result.verdict,
        message=verdict_message(result.verdict),
        revocation=cast(
            Revocation,
            result.revocation if verified is not None else RevocationStatus.NOT_APPLICABLE,
        ),
        certificate=_json_safe(verified.payload) if verified is not None else None,
        signer=verified.signer.label if verified is not None else None,
        expires_at=verified.expires_at if verified is not None else None,
    )


@router.post(
    "/certificates/verify",
    auth=None,
    response={200: CertificateVerifyOut, **ERRORS},
    summary="Verify a certificate's QR code",
    description=(
        "A code that does not verify is still a 200 answer, with `valid` false and the "
        "verdict; 422 means the request itself is malformed."
    ),
)
def certificate_verify(request: HttpRequest, payload: CertificateVerifyIn) -> CertificateVerifyOut:
    return verify_out(platform_verifier().verify(payload.text))


def _binary(data: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = f"public, max-age={LIST_MAX_AGE_SECONDS}"
    return response


def _binary_doc(content_type: str, description: str) -> dict[str, Any]:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


COSE = "application/cose"
PEM_CERTIFICATE = "application/pem-certificate-chain"


@router.get(
    "/certificates/trust-list",
    auth=None,
    response={200: None, 429: ErrorOut},
    summary="The anchor-signed trust list",
    description=(
        "A COSE_Sign1 signed by the platform's trust anchor over the list of the departments' "
        "signing certificates and the certificate types each may sign. Verifiers that accept "
        "the anchor (`/certificates/anchor`) load it to verify codes offline."
    ),
    openapi_extra=_binary_doc(COSE, "The signed trust list (COSE_Sign1)"),
)
def trust_list_sign(request: HttpRequest) -> HttpResponse:
    return _binary(keys.trust_list_sign(), content_type=COSE, filename="trust-list.cose")


@router.get(
    "/certificates/revocation-lists/{kid}",
    auth=None,
    response={200: None, 404: ErrorOut, 429: ErrorOut},
    summary="One signing key's revocation list",
    description=(
        "A COSE_Sign1 signed by the key itself, listing a truncated SHA-256 of each revoked "
        "certificate's identifier. `kid` is the key id in hex, as in the trust list."
    ),
    openapi_extra=_binary_doc(COSE, "The key's signed revocation list (COSE_Sign1)"),
)
def revocation_list_sign(request: HttpRequest, kid: str) -> HttpResponse:
    # The keys that have a revocation list are those of the trust list: every unexpired one.
    key = selectors.signing_key_published(kid)
    if key is None:
        raise NotFound()
    return _binary(
        services.revocation_list_sign(key), content_type=COSE, filename=f"{key.kid}.cose"
    )


@router.get(
    "/certificates/anchor",
    auth=None,
    response={200: None, 429: ErrorOut},
    summary="The platform's trust anchor certificate (PEM)",
    description=(
        "Configure it once, out of band (check its fingerprint with the platform's operator): "
        "it is what makes the trust list trustworthy."
    ),
    openapi_extra=_binary_doc(PEM_CERTIFICATE, "The self-signed anchor certificate, PEM"),
)
def trust_anchor(request: HttpRequest) -> HttpResponse:
    pem = keys.trust_anchor().certificate.public_bytes(serialization.Encoding.PEM)
    return _binary(pem, content_type=PEM_CERTIFICATE, filename="anchor.crt")
