"""The compiled fast path of ``signedqr.verify`` against the Python reference.

The fast path (``_verify_fast.pyx``) may answer a code only as the reference does: the same
``Verified`` fields, or the same verdict for the two it gives itself (a bad signature, a
revoked code); for everything else it must hand the code back (None). Checked on the EU
DCC conformance cases, on codes with payloads, headers and envelopes of every shape the
subset it reads allows, on codes one character or byte away from valid ones, and on
arbitrary text. Also: codes of the usual shape do take the fast path, and a build older
than its source is not used.

The fast path is built by ``scripts/build_fast.py`` (``make sync``) where a C compiler is;
CI must have it, elsewhere these tests are skipped without one.
"""

from __future__ import annotations

import datetime
import logging
import os
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from yiwang.certificates import signedqr
from yiwang.certificates.signedqr import SignedQrError, TrustStore, Verdict, Verified
from yiwang.certificates.tests import test_eu_dcc_conformance as conformance
from yiwang.certificates.tests.test_signedqr import CLOCK, EXPIRES_AT, ISSUED_AT, VACCINATION
from yiwang.certificates.tests.test_signedqr_fuzz import (
    CERTIFICATE,
    KEY,
    KID,
    TRUST,
    VALID,
    VALID_COSE,
)

FAST = signedqr._fast

needs_fast = pytest.mark.skipif(
    FAST is None, reason="the compiled fast path is not built (no C compiler)"
)

CHECKS = settings(
    derandomize=True,
    database=None,
    deadline=2000,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PREFIXES = ("HC1:",)

Outcome = tuple[Any, ...]


def typed(value: Any) -> Any:
    """``value`` with every part's type beside it: 1 == True == 1.0, but not here."""
    if type(value) is dict:
        return (dict, [(typed(key), typed(item)) for key, item in value.items()])
    if type(value) is list:
        return (list, [typed(item) for item in value])
    return (type(value), value)


def _fields(verified: Verified) -> Outcome:
    return (
        "valid",
        typed(verified.payload),
        verified.issuer,
        verified.issued_at,
        verified.issued_at.tzinfo,
        verified.expires_at,
        verified.expires_at.tzinfo,
        verified.kid,
        verified.signer,
        verified.algorithm,
        verified.certificate_type,
    )


def reference(text: object, **options: Any) -> Outcome:
    try:
        return _fields(
            signedqr.verify_reference(
                text,  # type: ignore[arg-type]
                trust=options.get("trust", TRUST),
                clock=options.get("clock", CLOCK),
                prefix=options.get("prefixes", PREFIXES),
                certificate_type=options.get("certificate_type"),
                revoked=options.get("revoked"),
            )
        )
    except SignedQrError as error:
        return ("refused", error.verdict, error.message)


def fast(text: object, **options: Any) -> Outcome | None:
    """The fast path's answer, or None when it hands the code back."""
    assert FAST is not None
    try:
        verified = FAST.verify(
            text,
            options.get("trust", TRUST),
            options.get("clock", CLOCK),
            options.get("prefixes", PREFIXES),
            options.get("certificate_type"),
            options.get("revoked"),
        )
    except SignedQrError as error:
        return ("refused", error.verdict, error.message)
    if verified is None:
        return None
    assert type(verified) is Verified
    return _fields(verified)


def agrees(text: object, **options: Any) -> bool:
    """The fast path answers as the reference does, or not at all; True when it answered."""
    answer = fast(text, **options)
    if answer is not None:
        assert answer == reference(text, **options)
        assert answer[0] == "valid" or answer[1] in (Verdict.BAD_SIGNATURE, Verdict.REVOKED)
    return answer is not None


def signed(
    claims: Mapping[Any, Any] | None = None,
    *,
    payload: bytes | None = None,
    protected: bytes | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    envelope: Callable[[list[Any]], Any] = lambda sign1: cbor2.CBORTag(18, sign1),
    key: ec.EllipticCurvePrivateKey = KEY,
) -> str:
    """A code signed with ``KEY``, with the parts given and the usual ones for the rest."""
    if payload is None:
        payload = cbor2.dumps(
            {
                1: "CN",
                6: int(ISSUED_AT.timestamp()),
                4: int(EXPIRES_AT.timestamp()),
                -260: {1: dict(VACCINATION if claims is None else claims)},
            }
        )
    if protected is None:
        protected = cbor2.dumps({1: -7, 4: KID})
    signature = signedqr.ES256.sign(key, signedqr._to_be_signed(protected, payload))
    sign1 = [protected, dict(unprotected or {}), payload, signature]
    return signedqr.qr_text_encode(cbor2.dumps(envelope(sign1)), prefix="HC1:")


# ---------------------------------------------------------------------------------------
# The build


def test_ci_builds_the_fast_path() -> None:
    if os.environ.get("CI") != "true":
        pytest.skip("only CI must have a C compiler")
    assert FAST is not None, "scripts/build_fast.py did not build the fast path"


@needs_fast
def test_a_build_older_than_its_source_is_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert FAST is not None
    monkeypatch.setattr(FAST, "SOURCE_DIGEST", "0" * 64)
    with caplog.at_level(logging.WARNING, logger="yiwang.certificates.signedqr"):
        assert signedqr._fast_load() is None
    assert "older than its source" in caplog.text
    monkeypatch.undo()
    assert signedqr._fast_load() is FAST


@needs_fast
def test_the_environment_can_leave_it_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIWANG_NO_FAST_PATH", "1")
    assert signedqr._fast_load() is None


def test_verify_without_the_fast_path_gives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    text = signed()
    with_it = signedqr.verify(text, trust=TRUST, clock=CLOCK)
    monkeypatch.setattr(signedqr, "_fast", None)
    assert signedqr.verify(text, trust=TRUST, clock=CLOCK) == with_it


# ---------------------------------------------------------------------------------------
# Codes of the usual shape take it, and get the reference's answer


@needs_fast
def test_a_usual_code_takes_the_fast_path() -> None:
    text = VALID  # as the platform signs it (signedqr.sign)
    assert agrees(text)
    assert agrees(text + "\n\n")  # a scanner's trailing newline
    assert agrees(text, certificate_type="v")
    assert agrees(text, certificate_type=signedqr.dcc_type)
    assert agrees(text, prefixes=("YWC1:", "HC1:"))


@needs_fast
@pytest.mark.parametrize(
    "envelope",
    [
        lambda sign1: cbor2.CBORTag(18, sign1),
        lambda sign1: sign1,
        lambda sign1: cbor2.CBORTag(61, cbor2.CBORTag(18, sign1)),
        lambda sign1: cbor2.CBORTag(61, sign1),
    ],
    ids=["tag 18", "untagged", "tag 61 and 18", "tag 61"],
)
def test_every_envelope_the_reference_reads_quickly(envelope: Callable[[list[Any]], Any]) -> None:
    assert agrees(signed(envelope=envelope))
    assert agrees(signed(envelope=envelope, protected=cbor2.dumps({1: -7}), unprotected={4: KID}))


@needs_fast
def test_the_two_verdicts_it_gives_are_the_references() -> None:
    text = signed()
    asked: list[bytes] = []

    def revoked(kid: bytes, data: Mapping[str, Any]) -> bool:
        asked.append(kid)
        return True

    assert fast(text, revoked=revoked) == reference(text, revoked=lambda *_: True)
    assert asked == [KID]  # once, not again by the reference
    other_key = ec.generate_private_key(ec.SECP256R1())
    forged = signed(key=other_key)
    assert fast(forged) == ("refused", Verdict.BAD_SIGNATURE, "the signature does not verify")
    assert reference(forged) == fast(forged)


@needs_fast
@pytest.mark.parametrize(
    ("text", "options"),
    [
        pytest.param(lambda: signed(), {"clock": EXPIRES_AT + datetime.timedelta(1)}, id="expired"),
        pytest.param(lambda: signed(), {"clock": ISSUED_AT - datetime.timedelta(1)}, id="not yet"),
        pytest.param(lambda: signed(), {"clock": CLOCK.replace(tzinfo=None)}, id="naive clock"),
        pytest.param(lambda: signed(), {"trust": TrustStore()}, id="unknown key"),
        pytest.param(lambda: signed(), {"certificate_type": "t"}, id="key not allowed"),
        pytest.param(lambda: signed(), {"prefixes": ("YWC1:",)}, id="wrong prefix"),
        pytest.param(lambda: "HC1:" + "A" * 9000, {}, id="too long"),
        pytest.param(lambda: signed({"v": [{"dn": 1.5}]}), {}, id="a float (valid)"),
        pytest.param(lambda: signed(payload=cbor2.dumps({1: "CN"})), {}, id="no hcert"),
        pytest.param(
            lambda: signed(protected=cbor2.dumps({1: -7, 4: KID, 3: cbor2.CBORTag(1, 0)})),
            {},
            id="a tag in the header (valid)",
        ),
        pytest.param(
            lambda: signed(protected=cbor2.dumps({1: -37, 4: KID})), {}, id="another algorithm"
        ),
        pytest.param(lambda: signed(protected=b"\xa2\x01\x26\x01\x26"), {}, id="duplicate key"),
        pytest.param(lambda: signed(protected=cbor2.dumps({1: -7, 4: "kid"})), {}, id="text kid"),
    ],
)
def test_anything_else_goes_back_to_the_reference(
    text: Callable[[], str], options: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    code = text()
    valid = "(valid)" in request.node.callspec.id
    if options.get("certificate_type") == "t":
        trust = TrustStore()
        trust.add_certificate(CERTIFICATE, allowed_types=["v"])
        options = {**options, "trust": trust}
    assert fast(code, **options) is None
    if options.get("clock", CLOCK).tzinfo is None:
        with pytest.raises(ValueError, match="timezone-aware"):
            reference(code, **options)
    else:
        assert reference(code, **options)[0] == ("valid" if valid else "refused")


@needs_fast
def test_the_conformance_cases() -> None:
    """Every EU DCC case with a QR text: the fast path answers as the reference or not."""
    answered = 0
    for path in conformance.case_files():
        case = conformance.load_case(path)
        try:
            text = case.field("PREFIX")
            trust = TrustStore([conformance.signer(case)])
            clock = conformance.validation_clock(case)
        except (conformance.CaseIncomplete, ValueError):
            continue
        answered += agrees(text, trust=trust, clock=clock)
    assert answered > 100  # most cases are valid codes of the usual shape


# ---------------------------------------------------------------------------------------
# Fuzzing: any payload, header or damage


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
KEYS = (
    st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.text(max_size=8)
    | st.binary(max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@needs_fast
@CHECKS
@given(claims=st.dictionaries(st.text(max_size=4), VALUES, max_size=6))
def test_any_certificate_data_decodes_as_the_reference_decodes_it(
    claims: dict[str, Any],
) -> None:
    assert agrees(signed(claims))


@needs_fast
@CHECKS
@given(payload=st.binary(max_size=200) | VALUES.map(cbor2.dumps))
def test_any_signed_payload(payload: bytes) -> None:
    agrees(signed(payload=payload))


@needs_fast
@CHECKS
@given(
    extra=st.dictionaries(KEYS, VALUES, max_size=3),
    kid_unprotected=st.booleans(),
)
def test_any_header(extra: dict[Any, Any], kid_unprotected: bool) -> None:
    assume(1 not in extra and 4 not in extra)
    if kid_unprotected:
        text = signed(protected=cbor2.dumps({1: -7, **extra}), unprotected={4: KID, **extra})
    else:
        text = signed(protected=cbor2.dumps({1: -7, 4: KID, **extra}), unprotected=extra)
    assert agrees(text)


@needs_fast
@CHECKS
@given(timestamps=st.tuples(st.integers(-(2**64), 2**64 - 1), st.integers(-(2**64), 2**64 - 1)))
def test_any_validity_period(timestamps: tuple[int, int]) -> None:
    issued, expires = timestamps
    payload = cbor2.dumps({6: issued, 4: expires, -260: {1: dict(VACCINATION)}})
    agrees(signed(payload=payload))


@needs_fast
@CHECKS
@given(at=st.integers(0, len(VALID) - 1), character=st.characters(max_codepoint=0x7F))
def test_one_character_changed(at: int, character: str) -> None:
    agrees(VALID[:at] + character + VALID[at + 1 :])


@needs_fast
@CHECKS
@given(
    at=st.integers(0, len(VALID_COSE) - 1),
    byte=st.integers(0, 255),
    cut=st.integers(0, len(VALID_COSE)),
)
def test_one_byte_changed_or_cut(at: int, byte: int, cut: int) -> None:
    cose = bytearray(VALID_COSE)
    cose[at] = byte
    agrees(signedqr.qr_text_encode(bytes(cose), prefix="HC1:"))
    agrees(signedqr.qr_text_encode(VALID_COSE[:cut], prefix="HC1:"))
    agrees(signedqr.qr_text_encode(VALID_COSE + bytes([byte]), prefix="HC1:"))


@needs_fast
@CHECKS
@given(content=st.binary(max_size=300), text=st.text(max_size=300))
def test_arbitrary_content_and_text(content: bytes, text: str) -> None:
    agrees(signedqr.qr_text_encode(content, prefix="HC1:"))
    agrees("HC1:" + text)
    agrees(text)
    agrees("HC1:" + zlib.compress(content).hex().upper())


@needs_fast
def test_threads_checking_codes_at_once_each_get_their_own_answer() -> None:
    """The fast path keeps one zlib inflater; it is used only while the GIL is held."""
    texts = [signed({"v": [{"ci": f"URN:UVCI:01:CN:{index:04d}"}]}) for index in range(40)]
    expected = [reference(text) for text in texts]

    def check_all(_: int) -> list[Outcome | None]:
        return [fast(text) for text in texts for _ in range(5)][::5]

    with ThreadPoolExecutor(max_workers=4) as pool:
        for answers in pool.map(check_all, range(8)):
            assert answers == expected
