from __future__ import annotations

import datetime
import io
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from PIL import Image

from yiwang.certificates import signedqr
from yiwang.certificates.qrimage import QrImageError, qr_image_decode, qr_image_encode
from yiwang.certificates.signedqr import SignedQrError, TrustStore, Verdict

UTC = datetime.UTC
NOT_BEFORE = datetime.datetime(2026, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2028, 1, 1, tzinfo=UTC)
ISSUED_AT = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EXPIRES_AT = datetime.datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
CLOCK = datetime.datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
VACCINATION = {
    "ver": "1.3.0",
    "nam": {"fn": "Zhang", "fnt": "ZHANG", "gn": "Wei", "gnt": "WEI"},
    "dob": "1990-05-17",
    "v": [{"tg": "840539006", "dn": 2, "sd": 2, "dt": "2026-02-20", "co": "CN"}],
}
TEST_KEY_USAGE = x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.1")


def certificate_for(
    key: ec.EllipticCurvePrivateKey, *, key_usages: list[x509.ObjectIdentifier] | None = None
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Yiwang DSC"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
    )
    if key_usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(key_usages), critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return certificate_for(key)


@pytest.fixture(scope="module")
def trust(certificate: x509.Certificate) -> TrustStore:
    return TrustStore.from_certificates([certificate])


def make_code(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    kid: bytes,
    *,
    claims: Mapping[str, Any] = VACCINATION,
    prefix: str = "HC1:",
    expires_at: datetime.datetime = EXPIRES_AT,
    algorithm: int = signedqr.ES256.cose_id,
) -> str:
    return signedqr.sign(
        claims=claims,
        key=key,
        kid=kid,
        prefix=prefix,
        issuer="CN",
        issued_at=ISSUED_AT,
        expires_at=expires_at,
        algorithm=algorithm,
    )


def verdict_of(text: object, trust: TrustStore, **options: Any) -> Verdict:
    with pytest.raises(SignedQrError) as caught:
        signedqr.verify(text, trust=trust, clock=options.pop("clock", CLOCK), **options)
    return caught.value.verdict


def wrap(cose: bytes, prefix: str = "HC1:") -> str:
    return signedqr.qr_text_encode(cose, prefix=prefix)


def test_sign_then_verify_returns_the_signed_content(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    kid = signedqr.key_id(certificate)
    text = make_code(key, kid)

    verified = signedqr.verify(text, trust=trust, clock=CLOCK)

    assert text.startswith("HC1:")
    assert verified.payload == VACCINATION
    assert verified.issuer == "CN"
    assert verified.issued_at == ISSUED_AT
    assert verified.expires_at == EXPIRES_AT
    assert verified.kid == kid
    assert verified.signer.certificate == certificate
    assert verified.signer.label == "CN"
    assert verified.algorithm == "ES256"
    assert verified.certificate_type == "v"


def test_kid_is_the_first_eight_bytes_of_the_certificate_hash(
    certificate: x509.Certificate,
) -> None:
    assert signedqr.key_id(certificate) == certificate.fingerprint(hashes.SHA256())[:8]


def test_platform_prefix_verifies_only_when_accepted(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    text = make_code(key, signedqr.key_id(certificate), prefix="YW1:")

    assert signedqr.verify(text, trust=trust, clock=CLOCK, prefix=("HC1:", "YW1:")).kid
    assert verdict_of(text, trust) == Verdict.WRONG_PREFIX


@pytest.mark.parametrize("text", ["", None, b"HC1:NCF"])
def test_empty_or_non_text_is_not_a_qr(trust: TrustStore, text: object) -> None:
    assert verdict_of(text, trust) == Verdict.NOT_A_QR


def test_wrong_prefix(trust: TrustStore) -> None:
    assert verdict_of("HC2:NCFOXN", trust) == Verdict.WRONG_PREFIX


@pytest.mark.parametrize("text", ["HC1:", "HC1:abc", "HC1:GGW", "HC1:A"])
def test_garbage_base45(trust: TrustStore, text: str) -> None:
    assert verdict_of(text, trust) == Verdict.BAD_BASE45


@pytest.mark.parametrize("size", [1, 2, 3, 309, 20_000])
def test_base45_decode_round_trips_any_length(size: int) -> None:
    # 20,000 bytes is longer than any QR code, past the precomputed lane mask.
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    text = base45.b45encode(data).decode()

    assert signedqr.base45_decode(text) == data
    assert signedqr.base45_decode(text + "\n") == data


@pytest.mark.parametrize("text", [":::", "GGW:", "AB\u00e9", "ab"])
def test_base45_decode_refuses_a_group_out_of_range_or_foreign_characters(text: str) -> None:
    with pytest.raises(SignedQrError) as caught:
        signedqr.base45_decode(text)
    assert caught.value.verdict == Verdict.BAD_BASE45


def test_base45_of_data_that_is_not_zlib(trust: TrustStore) -> None:
    text = "HC1:" + base45.b45encode(b"plain bytes, not compressed").decode()
    assert verdict_of(text, trust) == Verdict.BAD_COMPRESSION


def test_content_too_large_to_inflate(trust: TrustStore) -> None:
    text = wrap(b"\0" * (signedqr.MAX_DECOMPRESSED + 1))
    assert verdict_of(text, trust) == Verdict.BAD_COMPRESSION


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xff not cbor",
        cbor2.dumps({1: 2}),
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"payload"])),
        cbor2.dumps(cbor2.CBORTag(18, ["not bytes", {}, b"", b""])),
    ],
    ids=["not-cbor", "not-cose", "three-elements", "wrong-types"],
)
def test_zlib_of_content_that_is_not_cose(trust: TrustStore, content: bytes) -> None:
    assert verdict_of(wrap(content), trust) == Verdict.BAD_CBOR


def test_signed_payload_that_is_not_a_cwt(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    cose = signedqr.cose_sign1(cbor2.dumps({1: "CN"}), key=key, kid=signedqr.key_id(certificate))
    assert verdict_of(wrap(cose), trust) == Verdict.BAD_CBOR


def test_tampered_signature(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    cose = signedqr.cose_sign1(
        cbor2.dumps({1: "CN", 4: 1790000000, 6: 1770000000, -260: {1: VACCINATION}}),
        key=key,
        kid=signedqr.key_id(certificate),
    )
    sign1 = signedqr.cose_decode(cose)
    signature = bytes([sign1.signature[0] ^ 0x01]) + sign1.signature[1:]
    tampered = cbor2.dumps(
        cbor2.CBORTag(
            18, [sign1.protected, dict(sign1.unprotected_header), sign1.payload, signature]
        )
    )
    assert verdict_of(wrap(tampered), trust) == Verdict.BAD_SIGNATURE


def test_tampered_payload(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    sign1 = signedqr.cose_decode(
        zlib.decompress(
            base45.b45decode(make_code(key, signedqr.key_id(certificate)).removeprefix("HC1:"))
        )
    )
    forged = cbor2.dumps({1: "CN", 4: 1999999999, 6: 1770000000, -260: {1: VACCINATION}})
    tampered = cbor2.dumps(cbor2.CBORTag(18, [sign1.protected, {}, forged, sign1.signature]))
    assert verdict_of(wrap(tampered), trust) == Verdict.BAD_SIGNATURE


def test_unknown_kid(key: ec.EllipticCurvePrivateKey, trust: TrustStore) -> None:
    assert verdict_of(make_code(key, b"12345678"), trust) == Verdict.UNKNOWN_KEY


def test_signed_by_another_key_with_a_trusted_kid(
    certificate: x509.Certificate, trust: TrustStore
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    assert verdict_of(make_code(other, signedqr.key_id(certificate)), trust) == (
        Verdict.BAD_SIGNATURE
    )


@pytest.mark.parametrize(
    "clock",
    [
        EXPIRES_AT + datetime.timedelta(seconds=1),
        ISSUED_AT - datetime.timedelta(seconds=1),
    ],
    ids=["expired", "not-yet-valid"],
)
def test_outside_the_validity_period(
    key: ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    trust: TrustStore,
    clock: datetime.datetime,
) -> None:
    text = make_code(key, signedqr.key_id(certificate))
    assert verdict_of(text, trust, clock=clock) == Verdict.EXPIRED


def test_valid_longer_than_the_signing_certificate(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    text = make_code(
        key, signedqr.key_id(certificate), expires_at=NOT_AFTER + datetime.timedelta(days=1)
    )
    assert verdict_of(text, trust) == Verdict.EXPIRED


def test_revoked_through_the_callback(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    asked: list[tuple[bytes, Mapping[str, Any]]] = []

    def revoked(kid: bytes, payload: Mapping[str, Any]) -> bool:
        asked.append((kid, payload))
        return True

    kid = signedqr.key_id(certificate)
    assert verdict_of(make_code(key, kid), trust, revoked=revoked) == Verdict.REVOKED
    assert asked == [(kid, VACCINATION)]


def test_key_not_allowed_for_the_certificate_type(key: ec.EllipticCurvePrivateKey) -> None:
    certificate = certificate_for(key, key_usages=[TEST_KEY_USAGE])
    trust = TrustStore.from_certificates([certificate])
    kid = signedqr.key_id(certificate)
    test_result = {**{k: v for k, v in VACCINATION.items() if k != "v"}, "t": [{"tr": "260415000"}]}

    entry = trust.get(kid)
    assert entry is not None
    assert entry.allowed_types == frozenset({"t"})
    assert verdict_of(make_code(key, kid), trust) == Verdict.KEY_NOT_ALLOWED
    assert signedqr.verify(make_code(key, kid, claims=test_result), trust=trust, clock=CLOCK)


def test_certificate_type_given_by_the_caller_is_checked_against_a_bare_key(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    trust = TrustStore()
    trust.add_key(b"yiwang01", key.public_key(), label="Yiwang", allowed_types=["health-code"])
    text = make_code(key, b"yiwang01", claims={"code": "green"}, prefix="YW1:")

    verified = signedqr.verify(
        text, trust=trust, clock=CLOCK, prefix="YW1:", certificate_type="health-code"
    )

    assert verified.payload == {"code": "green"}
    assert verified.signer.certificate is None
    assert verdict_of(text, trust, prefix="YW1:", certificate_type="venue-code") == (
        Verdict.KEY_NOT_ALLOWED
    )


def test_kid_in_the_unprotected_header_is_accepted(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    kid = signedqr.key_id(certificate)
    cwt = cbor2.dumps(
        {
            1: "CN",
            4: int(EXPIRES_AT.timestamp()),
            6: int(ISSUED_AT.timestamp()),
            -260: {1: VACCINATION},
        }
    )
    cose = signedqr.cose_sign1(cwt, key=key, kid=kid, kid_protected=False)

    sign1 = signedqr.cose_decode(cose)
    assert signedqr.HEADER_KID not in sign1.protected_header
    assert signedqr.verify(wrap(cose), trust=trust, clock=CLOCK).kid == kid


@pytest.mark.parametrize(
    "algorithm",
    [2**20000, -(2**20000), 2**64],
    ids=["huge-bignum", "huge-negative-bignum", "just-above-a-cbor-int"],
)
def test_bignum_algorithm_id_is_an_unsupported_algorithm(
    certificate: x509.Certificate, trust: TrustStore, algorithm: int
) -> None:
    # Found by fuzzing: the error message printed the id, and str() refuses 6,000 digits.
    protected = cbor2.dumps({1: algorithm, 4: signedqr.key_id(certificate)})
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, b"", b"\0" * 64]))

    with pytest.raises(SignedQrError) as caught:
        signedqr.verify(wrap(cose), trust=trust, clock=CLOCK)

    assert caught.value.verdict == Verdict.BAD_SIGNATURE
    assert caught.value.message == "unsupported signature algorithm None"


def test_ps256_with_an_rsa_key() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    trust = TrustStore()
    trust.add_key(b"rsa-key1", rsa_key.public_key())
    text = make_code(rsa_key, b"rsa-key1", algorithm=signedqr.PS256.cose_id)

    assert signedqr.verify(text, trust=trust, clock=CLOCK).algorithm == "PS256"


def test_naive_clock_is_refused(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, trust: TrustStore
) -> None:
    text = make_code(key, signedqr.key_id(certificate))
    with pytest.raises(ValueError, match="timezone-aware"):
        signedqr.verify(text, trust=trust, clock=CLOCK.replace(tzinfo=None))


def test_error_names_its_verdict(trust: TrustStore) -> None:
    with pytest.raises(SignedQrError, match=r"^wrong_prefix: the code does not start with HC1:$"):
        signedqr.verify("XX1:ABC", trust=trust, clock=CLOCK)


def test_qr_image_round_trip(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
) -> None:
    text = make_code(key, signedqr.key_id(certificate))

    png = qr_image_encode(text)

    assert png.startswith(b"\x89PNG")
    assert qr_image_decode(png) == text


@pytest.mark.parametrize("image", [b"", b"not an image"])
def test_qr_image_decode_refuses_what_is_not_a_picture(image: bytes) -> None:
    with pytest.raises(QrImageError):
        qr_image_decode(image)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)


def test_qr_image_decode_refuses_a_png_with_a_broken_chunk() -> None:
    # Found by fuzzing: Pillow reports a chunk it cannot parse as SyntaxError.
    with Image.open(io.BytesIO(qr_image_encode("HC1:NCF"))) as picture:
        rows = picture.convert("L").tobytes()
        width, height = picture.size
    pixels = zlib.compress(
        b"".join(b"\0" + rows[y * width : (y + 1) * width] for y in range(height))
    )
    half = len(pixels) // 2
    broken = (
        png_header(width, height)
        + png_chunk(b"IDAT", pixels[:half])
        + struct.pack(">I", len(pixels) - half)
        + b"\0IEN"  # the second chunk's type, damaged
        + pixels[half:]
    )

    with pytest.raises(QrImageError, match="damaged or truncated") as caught:
        qr_image_decode(broken)

    assert isinstance(caught.value.__cause__, SyntaxError)


def test_qr_image_decode_refuses_a_png_with_a_short_header_chunk() -> None:
    # Found by fuzzing: Pillow raises ValueError for an IHDR chunk under 13 bytes.
    with pytest.raises(QrImageError, match="not a PNG or JPEG picture"):
        qr_image_decode(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", b"\0\0\0\1\0\0\0\1\x08"))


@pytest.mark.parametrize(
    ("width", "height"),
    [(5001, 5000), (10_000, 10_000), (20_000, 10_000)],
    ids=["above-our-limit", "above-pillow-warning", "above-pillow-error"],
)
def test_qr_image_decode_refuses_a_picture_with_too_many_pixels(width: int, height: int) -> None:
    # Between Pillow's two limits it only warns; where warnings are errors (as in this suite)
    # the warning used to escape as an exception of its own.
    picture = png_header(width, height) + png_chunk(b"IEND", b"")

    with pytest.raises(QrImageError, match="too large"):
        qr_image_decode(picture)


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF", "WEBP"])
def test_qr_image_decode_reads_only_png_and_jpeg(image_format: str) -> None:
    with Image.open(io.BytesIO(qr_image_encode("HC1:NCF"))) as picture:
        buffer = io.BytesIO()
        picture.convert("L").save(buffer, format=image_format)

    with pytest.raises(QrImageError, match="not a PNG or JPEG picture"):
        qr_image_decode(buffer.getvalue())


def test_qr_image_decode_reads_a_jpeg(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
) -> None:
    text = make_code(key, signedqr.key_id(certificate))
    with Image.open(io.BytesIO(qr_image_encode(text))) as picture:
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, format="JPEG")

    assert qr_image_decode(buffer.getvalue()) == text


# ---------------------------------------------------------------------------------------
# The shortcuts of the verification path agree with the general code


@pytest.mark.parametrize("length", [0, 1, 23, 24, 255, 256, 65535, 65536])
def test_sig_structure_is_what_cbor2_writes(length: int) -> None:
    protected = cbor2.dumps({1: -7, 4: b"12345678"})
    payload = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    sign1 = signedqr.Sign1(protected, {1: -7}, {}, payload, b"")

    assert sign1.to_be_signed() == cbor2.dumps(["Signature1", protected, b"", payload])


@pytest.mark.parametrize(
    ("r", "s"),
    [(1, 1), (0x7F, 0x80), (2**255, 2**256 - 1), (2**248 - 1, 2**247), (0, 5), (2**64, 1)],
)
def test_es256_signature_goes_to_the_der_cryptography_writes(r: int, s: int) -> None:
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")

    assert signedqr._der_signature(signature) == encode_dss_signature(r, s)


COSE_SHAPES = {
    "tagged": lambda parts: cbor2.dumps(cbor2.CBORTag(18, parts)),
    "untagged": lambda parts: cbor2.dumps(parts),
    "cwt-tagged": lambda parts: cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, parts))),
    "cwt-only": lambda parts: cbor2.dumps(cbor2.CBORTag(61, parts)),
    "trailing-byte": lambda parts: cbor2.dumps(cbor2.CBORTag(18, parts)) + b"\0",
    "five-items": lambda parts: cbor2.dumps(cbor2.CBORTag(18, [*parts, b""])),
    "long-lengths": lambda parts: (
        b"\xd2\x84\x59"
        + len(parts[0]).to_bytes(2, "big")
        + parts[0]
        + cbor2.dumps(parts[1])
        + b"\x5a"
        + len(parts[2]).to_bytes(4, "big")
        + parts[2]
        + b"\x58\x40"
        + parts[3]
    ),
    "indefinite-payload": lambda parts: (
        b"\xd2\x84"
        + cbor2.dumps(parts[0])
        + cbor2.dumps(parts[1])
        + b"\x5f"
        + cbor2.dumps(parts[2][:5])
        + cbor2.dumps(parts[2][5:])
        + b"\xff"
        + cbor2.dumps(parts[3])
    ),
}


def cose_outcome(data: bytes) -> object:
    """What cose_decode gives: the Sign1 as a tuple, or the verdict and message."""
    try:
        sign1 = signedqr.cose_decode(data)
    except SignedQrError as error:
        return (error.verdict, error.message)
    return (
        sign1.protected,
        sign1.protected_header,
        sign1.unprotected_header,
        sign1.payload,
        sign1.signature,
    )


def cose_outcome_decoded_whole(data: bytes) -> object:
    try:
        parts = signedqr._sign1_decode(data)
        if not isinstance(parts[1], Mapping):
            raise SignedQrError(Verdict.BAD_CBOR, "the protected header is not a map")
        kid = parts[1][4] if 4 in parts[1] else parts[2].get(4)
        if kid is not None and not isinstance(kid, bytes):
            raise SignedQrError(Verdict.BAD_CBOR, "the kid is not a byte string")
    except SignedQrError as error:
        return (error.verdict, error.message)
    return parts


@pytest.mark.parametrize("shape", sorted(COSE_SHAPES))
@pytest.mark.parametrize(
    ("protected", "unprotected"),
    [
        ({1: -7, 4: b"12345678"}, {}),
        ({1: -7}, {4: b"12345678"}),
        ({}, {1: -7, 4: b"12345678"}),
        ({1: -7, 4: "not bytes"}, {}),
        ({1: -7}, {4: 12}),
        ([1, 2], {}),
    ],
    ids=["kid-protected", "kid-unprotected", "empty-protected", "text-kid", "int-kid", "array"],
)
def test_cose_read_directly_or_decoded_whole_gives_the_same(
    shape: str, protected: object, unprotected: dict[int, Any]
) -> None:
    payload = cbor2.dumps({1: "CN", -260: {1: VACCINATION}})
    parts = [cbor2.dumps(protected) if protected else b"", unprotected, payload, b"\1" * 64]
    data = COSE_SHAPES[shape](parts)

    assert cose_outcome(data) == cose_outcome_decoded_whole(data)


@pytest.mark.parametrize("shape", ["tagged", "untagged", "cwt-tagged", "cwt-only", "long-lengths"])
def test_usual_cose_shapes_are_read_without_decoding_them_whole(shape: str) -> None:
    parts = [cbor2.dumps({1: -7}), {4: b"12345678"}, b"payload", b"\1" * 64]

    assert signedqr._sign1_read(COSE_SHAPES[shape](parts)) == (
        parts[0],
        {1: -7},
        {4: b"12345678"},
        b"payload",
        b"\1" * 64,
    )


@pytest.mark.parametrize(
    "protected",
    [b"\xa1\x01", b"\xa1\x01\x26\x00", b"\xa2\x01\x26\x01\x26", b"\xff"],
    ids=["truncated", "trailing-byte", "duplicate-key", "not-cbor"],
)
def test_protected_header_read_directly_is_as_strict_as_decoded_whole(protected: bytes) -> None:
    data = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, b"", b"\1" * 64]))

    assert signedqr._sign1_read(data) is None
    assert cose_outcome(data) == (Verdict.BAD_CBOR, "the protected header is not valid CBOR")
