"""Fuzzing the decoders: hostile text and pictures get a verdict, never a crash or a hang.

The requirement: *malformed, truncated, oversized or hostile QR text and images never raise
a 500 and never hang.* ``verify`` may only return ``Verified`` or raise ``SignedQrError``;
``qr_image_decode`` may only return text or raise ``QrImageError``. The deadline is the
"never hang" half; it is generous on purpose, so a slow shared machine does not fail CI.

Derandomised and without an example database, so every run tries the same inputs.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from yiwang.certificates import signedqr
from yiwang.certificates.qrimage import MAX_PIXELS, QrImageError, qr_image_decode, qr_image_encode
from yiwang.certificates.signedqr import SignedQrError, TrustStore, Verified
from yiwang.certificates.tests.test_signedqr import (
    CLOCK,
    EXPIRES_AT,
    ISSUED_AT,
    VACCINATION,
    certificate_for,
)

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=2000,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FUZZ, max_examples=60)

KEY = ec.generate_private_key(ec.SECP256R1())
CERTIFICATE = certificate_for(KEY)
KID = signedqr.key_id(CERTIFICATE)
TRUST = TrustStore.from_certificates([CERTIFICATE])
VALID = signedqr.sign(
    claims=VACCINATION,
    key=KEY,
    kid=KID,
    prefix="HC1:",
    issuer="CN",
    issued_at=ISSUED_AT,
    expires_at=EXPIRES_AT,
)
VALID_ZLIB = base45.b45decode(VALID.removeprefix("HC1:"))
VALID_COSE = zlib.decompress(VALID_ZLIB)
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def verify(text: object) -> Verified | None:
    """``verify``'s result, or None for a verdict; any other exception fails the test."""
    try:
        return signedqr.verify(text, trust=TRUST, clock=CLOCK)  # type: ignore[arg-type]
    except SignedQrError as error:
        verdict = error.verdict
    assert verdict in signedqr.Verdict
    return None


def wrap(content: bytes) -> str:
    return signedqr.qr_text_encode(content, prefix="HC1:")


def assert_original_or_refused(text: str) -> None:
    """A changed code either fails, or verifies to exactly what was signed."""
    verified = verify(text)
    if verified is not None:
        assert verified.payload == VACCINATION
        assert verified.kid == KID
        assert (verified.issued_at, verified.expires_at) == (ISSUED_AT, EXPIRES_AT)


def signed(payload: bytes, *, header: Mapping[int, Any] | None = None) -> str:
    """``payload`` in a COSE_Sign1 with a good signature by the trusted key."""
    protected = cbor2.dumps(header if header is not None else {1: -7, 4: KID})
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    signature = signedqr.ES256.sign(KEY, to_sign)
    return wrap(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


# ---------------------------------------------------------------------------------------
# Strategies

# Tags CBOR gives meaning to, so the decoder's semantic handling is reached, and others.
SEMANTIC_TAGS = [0, 1, 2, 3, 4, 5, 16, 17, 18, 21, 22, 23, 24, 25, 28, 29, 30, 32, 35, 36]
SEMANTIC_TAGS += [37, 52, 54, 61, 96, 97, 98, 100, 256, 258, 260, 261, 1004, 55799]
# Bignums (tags 2 and 3) past 14,000 bits also have more digits than str() will print.
huge_ints = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=1, max_value=40_000).map(lambda bits: 2**bits - 1),
    st.integers(min_value=1, max_value=40_000).map(lambda bits: -(2**bits)),
)
cbor_leaves = st.one_of(
    st.none(),
    st.booleans(),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=64),
    st.text(max_size=32),
)
cbor_keys = st.one_of(st.integers(min_value=-300, max_value=300), st.text(max_size=8), st.binary())
cbor_values = st.recursive(
    cbor_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(cbor_keys, children, max_size=6),
        st.builds(
            cbor2.CBORTag,
            st.one_of(st.sampled_from(SEMANTIC_TAGS), st.integers(0, 2**64 - 1)),
            children,
        ),
    ),
    max_leaves=30,
)
timestamps = st.one_of(
    st.integers(min_value=int(ISSUED_AT.timestamp()) - 10, max_value=int(EXPIRES_AT.timestamp())),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    cbor_leaves,
)
cwt_claims = st.fixed_dictionaries(
    {},
    optional={
        1: cbor_values,
        4: timestamps,
        6: timestamps,
        -260: st.one_of(cbor_values, st.fixed_dictionaries({1: cbor_values})),
    },
)


# ---------------------------------------------------------------------------------------
# Text


@FUZZ
@given(
    st.one_of(
        st.text(),
        st.text(st.characters(codec=None, exclude_categories=[])),
        st.text(alphabet=BASE45_ALPHABET).map(lambda text: "HC1:" + text),
        st.text().map(lambda text: "HC1:" + text),
        st.tuples(st.text(min_size=1, max_size=10), st.integers(1, 100_000)).map(
            lambda parts: "HC1:" + parts[0] * parts[1]
        ),
        st.integers(0, 20_000).map(lambda n: "HC1:" + "0" * n),
        st.none(),
        st.binary(),
        st.integers(),
    )
)
def test_arbitrary_text_gets_a_verdict(text: object) -> None:
    assert verify(text) is None


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=600).map(lambda data: base45.b45encode(data).decode()),
        st.text(alphabet=BASE45_ALPHABET + "\n\r\0abcé", max_size=40),
        st.text(max_size=20),
    )
)
def test_base45_decode_agrees_with_the_reference_implementation(text: str) -> None:
    try:
        expected: bytes | None = base45.b45decode(text) if text else None
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(SignedQrError) as caught:
            signedqr.base45_decode(text)
        assert caught.value.verdict == signedqr.Verdict.BAD_BASE45
    else:
        assert signedqr.base45_decode(text) == expected


@FUZZ
@given(st.binary(max_size=6000))
def test_arbitrary_bytes_in_base45_get_a_verdict(data: bytes) -> None:
    assert verify("HC1:" + base45.b45encode(data).decode()) is None


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID) - 1))
def test_truncated_code_is_refused(length: int) -> None:
    assert verify(VALID[:length]) is None


@FUZZ
@given(
    st.integers(min_value=0, max_value=len(VALID) - 1),
    st.one_of(st.sampled_from(BASE45_ALPHABET), st.characters()),
)
def test_changed_character_never_verifies_to_other_content(index: int, character: str) -> None:
    assert_original_or_refused(VALID[:index] + character + VALID[index + 1 :])


@FUZZ
@given(
    st.sampled_from(["zlib", "cose"]),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_changed_bytes_never_verify_to_other_content(
    layer: str, changes: list[tuple[int, int]]
) -> None:
    data = bytearray(VALID_ZLIB if layer == "zlib" else VALID_COSE)
    for position, value in changes:
        data[position % len(data)] = value
    text = "HC1:" + base45.b45encode(bytes(data)).decode() if layer == "zlib" else wrap(bytes(data))
    assert_original_or_refused(text)


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID_COSE) * 8 - 1))
def test_flipped_bit_in_the_cose_never_verifies_to_other_content(bit: int) -> None:
    data = bytearray(VALID_COSE)
    data[bit // 8] ^= 1 << (bit % 8)
    assert_original_or_refused(wrap(bytes(data)))


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=4000),
        st.binary(max_size=4000).map(lambda data: b"\x78\x9c" + data),
        st.binary(max_size=4000).map(lambda data: b"\x78\xda" + data),
    )
)
def test_arbitrary_zlib_streams_get_a_verdict(data: bytes) -> None:
    assert verify("HC1:" + base45.b45encode(data).decode()) is None


@FUZZ
@given(st.binary(max_size=4000))
def test_zlib_of_arbitrary_bytes_gets_a_verdict(data: bytes) -> None:
    assert verify(wrap(data)) is None


@FUZZ
@given(cbor_values)
def test_zlib_of_arbitrary_cbor_gets_a_verdict(value: object) -> None:
    assert verify(wrap(cbor2.dumps(value))) is None


@FUZZ
@given(
    st.sampled_from(
        [b"\x81", b"\x9f", b"\xa1\x00", b"\xa1\x04", b"\xd8\x12", b"\xd8\x3d", b"\xc6"]
    ),
    st.integers(min_value=1, max_value=100_000),
    st.sampled_from(["outer", "protected", "payload"]),
)
def test_deeply_nested_cbor_gets_a_verdict(opener: bytes, depth: int, where: str) -> None:
    # Arrays, indefinite arrays, maps, tags: each level is one more frame on the stack.
    nested = opener * depth + b"\x00"
    if where == "outer":
        text = wrap(nested)
    elif where == "protected":
        text = wrap(cbor2.dumps(cbor2.CBORTag(18, [nested, {4: KID}, b"", b"\0" * 64])))
    else:
        text = signed(nested)
    assert verify(text) is None


@FEW
@given(
    st.integers(min_value=signedqr.MAX_DECOMPRESSED - 64, max_value=50_000_000),
    st.sampled_from([b"\0", b"HC1", bytes(range(256))]),
    st.sampled_from(["plain", "nested", "appended"]),
)
def test_zlib_bomb_is_refused(size: int, fill: bytes, shape: str) -> None:
    content = zlib.compress((fill * (size // len(fill) + 1))[:size], 9)
    if shape == "nested":
        content = zlib.compress(content, 9)
    elif shape == "appended":
        content = zlib.compress(VALID_COSE) + content
    verdict = None
    try:
        signedqr.verify(wrap(content), trust=TRUST, clock=CLOCK)
    except SignedQrError as error:
        verdict = error.verdict
    assert verdict in (
        signedqr.Verdict.NOT_A_QR,
        signedqr.Verdict.BAD_COMPRESSION,
        signedqr.Verdict.BAD_CBOR,
    )


@FUZZ
@given(
    st.sampled_from([None, 18, 61, 0, 55799]),
    st.lists(cbor_values, max_size=6),
    st.booleans(),
)
def test_wrong_cose_shapes_get_a_verdict(tag: int | None, items: list[Any], as_map: bool) -> None:
    value: object = dict(enumerate(items)) if as_map else items
    if tag is not None:
        value = cbor2.CBORTag(tag, value)
    if tag == 61:
        value = cbor2.CBORTag(61, cbor2.CBORTag(18, value))
    assert verify(wrap(cbor2.dumps(value))) is None


@FUZZ
@given(
    st.dictionaries(cbor_keys, cbor_values, max_size=4),
    st.one_of(st.sampled_from([-7, -37, -8, 0]), huge_ints, cbor_values),
    st.one_of(st.just(KID), cbor_values),
    st.sampled_from(["protected", "unprotected"]),
    st.binary(max_size=300),
    st.one_of(st.binary(min_size=64, max_size=64), st.binary(max_size=600)),
)
def test_hostile_headers_under_a_trusted_kid_get_a_verdict(
    extra: dict[Any, Any],
    algorithm: object,
    kid: object,
    where: str,
    payload: bytes,
    signature: bytes,
) -> None:
    # A kid is public: anyone can make a code that reaches the signature check.
    header = {**extra, 1: algorithm, 4: kid}
    protected, unprotected = (header, extra) if where == "protected" else (extra, header)
    sign1 = cbor2.CBORTag(18, [cbor2.dumps(protected), unprotected, payload, signature])
    assert verify(wrap(cbor2.dumps(sign1))) is None


@FUZZ
@given(st.one_of(cwt_claims, cbor_values))
def test_signed_arbitrary_claims_verify_to_themselves_or_get_a_verdict(claims: object) -> None:
    # A trusted signer's mistakes reach the claims decoder: they must not crash it either.
    payload = cbor2.dumps(claims)
    verified = verify(signed(payload))
    if verified is not None:
        assert isinstance(claims, dict)
        assert verified.payload == claims[-260][1]


@FUZZ
@given(st.binary(max_size=2000))
def test_signed_arbitrary_bytes_get_a_verdict(payload: bytes) -> None:
    assert verify(signed(payload)) is None


# ---------------------------------------------------------------------------------------
# Pictures


def decode(image: bytes) -> str | None:
    """The text read, or None for ``QrImageError``; any other exception fails the test."""
    try:
        return qr_image_decode(image)
    except QrImageError:
        return None


def picture(mode: str, image_format: str) -> bytes:
    with Image.open(io.BytesIO(qr_image_encode(VALID, scale=2))) as qr:
        buffer = io.BytesIO()
        qr.convert(mode).save(buffer, format=image_format)
        return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, *, depth: int = 8, colour: int = 0) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    )


PICTURES = {
    "png-grey": picture("L", "PNG"),
    "png-palette": picture("P", "PNG"),
    "png-rgba": picture("RGBA", "PNG"),
    "png-16bit": picture("I;16", "PNG"),
    "jpeg-rgb": picture("RGB", "JPEG"),
    "jpeg-cmyk": picture("CMYK", "JPEG"),
}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_every_seed_picture_reads(name: str) -> None:
    assert decode(PICTURES[name]) == VALID


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.binary(max_size=2000).map(lambda data: b"\x89PNG\r\n\x1a\n" + data),
        st.binary(max_size=2000).map(lambda data: b"\xff\xd8\xff" + data),
    )
)
def test_arbitrary_bytes_are_not_a_picture(data: bytes) -> None:
    assert decode(data) is None


@FUZZ
@given(
    st.sampled_from(sorted(PICTURES)),
    st.lists(
        st.tuples(st.sampled_from(["set", "cut", "insert", "delete"]), st.integers(0), st.binary()),
        min_size=1,
        max_size=4,
    ),
)
def test_damaged_picture_reads_or_gets_an_error(
    name: str, changes: list[tuple[str, int, bytes]]
) -> None:
    data = bytearray(PICTURES[name])
    for action, position, chunk in changes:
        at = position % (len(data) or 1)
        if action == "set":
            data[at : at + len(chunk)] = chunk
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = chunk
        else:
            del data[at : at + len(chunk) + 1]
    text = decode(bytes(data))
    if text is not None:
        assert_original_or_refused(text)


@FUZZ
@given(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.sampled_from([(8, 0), (1, 0), (16, 0), (8, 2), (8, 3), (8, 6), (16, 6), (3, 9)]),
    st.binary(max_size=200),
)
def test_png_of_any_declared_size_gets_an_answer(
    width: int, height: int, depth_colour: tuple[int, int], pixels: bytes
) -> None:
    depth, colour = depth_colour
    data = png_header(width, height, depth=depth, colour=colour)
    data += png_chunk(b"IDAT", zlib.compress(pixels)) + png_chunk(b"IEND", b"")
    assert decode(data) is None


@settings(FUZZ, max_examples=8)  # each example compresses tens of megabytes
@given(st.integers(min_value=MAX_PIXELS + 1, max_value=40_000_000), st.integers(1, 4))
def test_decompression_bomb_picture_is_refused(pixels: int, aspect: int) -> None:
    # Real, decodable PNGs of a blank page: a few kilobytes that would inflate past the limit.
    width = int((pixels * aspect) ** 0.5)
    height = pixels // width + 1
    row = b"\0" + b"\xff" * width
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    data = png_header(width, height) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    with pytest.raises(QrImageError, match="too large"):
        qr_image_decode(data)
