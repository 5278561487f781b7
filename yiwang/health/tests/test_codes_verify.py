"""Checking health codes: each way a code fails, other regions' codes, offline verifiers,
and the checkpoint's trust bundle."""

from __future__ import annotations

import base64
import datetime
import zlib
from collections.abc import Iterator
from typing import Any

import base45  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from yiwang.certificates import keys, signedqr
from yiwang.certificates.models import SigningKey
from yiwang.certificates.verification import Verifier, verifier_from_lists
from yiwang.health import codes
from yiwang.health.tests.test_codes_issue import (
    city_health_department,
    colour_set,
    foreign_platform,
    reencode,
    verifier_cleared,
)
from yiwang.identity.models import Department
from yiwang.identity.tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _verifier_fresh() -> Iterator[None]:
    yield from verifier_cleared()


@pytest.fixture
def city_health(db: None) -> Department:
    return city_health_department()


Verdict = signedqr.Verdict


def now() -> datetime.datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def code_of(person: Any, city_health: Department) -> Any:
    """``code_of(colour)``: the person's freshly issued code of that colour."""
    person.name = "林晓雯"
    person.save(update_fields=["name"])

    def make(colour: str) -> codes.HealthCode:
        colour_set(person, colour)
        return codes.health_code_issue(person=person)

    return make


def check(text: str, **kwargs: Any) -> codes.HealthCodeCheck:
    return codes.health_code_check(text, **kwargs)


def signed_with(key: Any, kid: bytes, *, claims: dict[str, Any] | None = None) -> str:
    """A code signed with ``key``; its claims a health code's unless given."""
    moment = now()
    return signedqr.sign(
        claims=claims
        or {"ver": 1, "t": "health-code", "c": "green", "n": "林**", "i": "3**X", "r": "330100"},
        key=key,
        kid=kid,
        prefix="YWH1:",
        issuer="330100",
        issued_at=moment,
        expires_at=moment + datetime.timedelta(minutes=5),
    )


def city_key() -> Any:
    key = SigningKey.objects.get(certificate_types=["health-code"])
    return keys.signing_key_private(key), bytes.fromhex(key.kid)


# ---------------------------------------------------------------------------------------
# Valid codes


@pytest.mark.parametrize(
    ("colour", "action", "words"),
    [
        ("green", "pass", ("Green code", "Pass")),
        ("yellow", "flag", ("Yellow code", "Check further")),
        ("red", "refuse", ("Red code", "Do not let through")),
    ],
)
def test_a_valid_code_gives_its_colour_and_what_the_checkpoint_does(
    code_of: Any, colour: str, action: str, words: tuple[str, str]
) -> None:
    issued = code_of(colour)

    result = check(issued.text)
    expected = codes.HealthCodeCheck(
        verdict=None,
        detail="valid",
        colour=colour,
        masked_name="林**",
        masked_id_number=result.masked_id_number,
        region="330100",
        issuer="杭州市卫生健康委员会",
        issued_at=issued.issued_at,
        valid_until=issued.expires_at,
        evaluated_at=result.evaluated_at,
    )

    # The same object as the constructor makes (``of_valid`` fills it in directly).
    assert (type(result), result, vars(result), hash(result)) == (
        codes.HealthCodeCheck,
        expected,
        vars(expected),
        hash(expected),
    )
    assert (result.valid, result.action, (result.colour_label, result.action_label)) == (
        True,
        action,
        words,
    )
    assert result.masked_id_number.count("*") == 16
    assert result.message == "The health code is genuine and valid."


# ---------------------------------------------------------------------------------------
# Every way a code fails


def test_nothing_or_too_much_text_is_not_a_qr_code() -> None:
    empty = check("")
    oversized = check("YWH1:" + "A" * signedqr.MAX_TEXT_LENGTH)

    assert (empty.verdict, empty.detail) == (Verdict.NOT_A_QR, "no QR code text")
    assert (oversized.verdict, oversized.detail) == (Verdict.NOT_A_QR, "too long for a QR code")
    assert oversized.message == (
        "There is no code text to check, or the text is far too long to be a health code."
    )


@pytest.mark.parametrize(
    "text",
    ["https://pay.example.cn/qr?id=8812", "YW1:6BFOXN*TS0BI$ZDFRH", "HC1:NCFOXN%TS3DH", "ywh1:AB"],
    ids=["link", "certificate", "eu-dcc", "lower-case"],
)
def test_another_kind_of_code_has_the_wrong_prefix(text: str) -> None:
    result = check(text)

    assert (result.verdict, result.detail) == (
        Verdict.WRONG_PREFIX,
        "the code does not start with YWH1:",
    )
    assert result.message.startswith("This is not a health code.")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("YWH1:this is not base45", Verdict.BAD_BASE45),
        ("YWH1:", Verdict.BAD_BASE45),
        ("YWH1:" + base45.b45encode(b"not zlib data").decode(), Verdict.BAD_COMPRESSION),
        (
            "YWH1:" + base45.b45encode(zlib.compress(b"\xff\x00 not cbor")).decode(),
            Verdict.BAD_CBOR,
        ),
        ("YWH1:" + base45.b45encode(zlib.compress(b"\x82\x01\x02")).decode(), Verdict.BAD_CBOR),
    ],
    ids=["base45", "empty", "zlib", "cbor", "not-cose"],
)
def test_garbage_after_the_prefix_gets_the_layer_that_failed(text: str, verdict: Verdict) -> None:
    assert check(text).verdict == verdict


def test_a_changed_signature_byte_is_a_bad_signature(code_of: Any) -> None:
    text = code_of("green").text
    tampered = reencode(text, lambda body: body[:-1] + bytes([body[-1] ^ 0x01]))

    result = check(tampered)

    assert (result.verdict, result.detail) == (
        Verdict.BAD_SIGNATURE,
        "the signature does not verify",
    )
    assert (result.colour, result.action, result.masked_name) == (None, None, "")


def test_a_name_changed_in_the_code_is_a_bad_signature(code_of: Any) -> None:
    text = code_of("red").text
    tampered = reencode(text, lambda body: body.replace("林**".encode(), "王**".encode()))

    assert check(tampered).verdict == Verdict.BAD_SIGNATURE


def test_a_code_checked_after_it_expired_is_expired(code_of: Any) -> None:
    issued = code_of("green")

    late = check(issued.text, clock=issued.expires_at + datetime.timedelta(seconds=1))
    early = check(issued.text, clock=issued.issued_at - datetime.timedelta(seconds=1))

    assert (late.verdict, late.detail) == (Verdict.EXPIRED, "expired")
    assert (early.verdict, early.detail) == (
        Verdict.EXPIRED,
        "not valid yet: issued after the validation time",
    )
    assert late.message.startswith("The code has expired or is not valid yet.")


def test_a_code_signed_with_an_unknown_key_is_refused(code_of: Any) -> None:
    code_of("green")
    text = signed_with(ec.generate_private_key(ec.SECP256R1()), b"\x01" * 8)

    result = check(text)

    assert (result.verdict, result.detail) == (
        Verdict.UNKNOWN_KEY,
        "signed with a key this verifier does not trust",
    )


def test_a_certificate_key_signing_a_health_code_is_not_allowed(
    code_of: Any, uscc_factory: Any
) -> None:
    code_of("green")
    civil_affairs = DepartmentFactory(code="330106-MZ", kind=Department.Kind.CIVIL_AFFAIRS)
    certificate_key = keys.signing_key_create(
        department=civil_affairs, certificate_types=["CT-JHZ"]
    )

    result = check(
        signed_with(keys.signing_key_private(certificate_key), bytes.fromhex(certificate_key.kid))
    )

    assert (result.verdict, result.detail) == (
        Verdict.KEY_NOT_ALLOWED,
        "the key may sign only CT-JHZ, not health-code",
    )
    assert result.message == (
        "The key that signed the code may not sign health codes. Treat the code as forged."
    )


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"ver": 1, "t": "CT-JHZ", "c": "green", "n": "林**"}, "its type is not health-code"),
        ({"ver": 1, "t": "health-code", "c": "blue", "n": "林**"}, "no known colour"),
        ({"ver": 1, "t": "health-code", "c": "green", "n": 7}, "no name"),
        (
            {"ver": 1, "t": "health-code", "c": "green", "n": "林**", "e": 10**20},
            "the evaluation time is out of range",
        ),
    ],
    ids=["type", "colour", "name", "evaluated"],
)
def test_a_health_key_signing_something_else_is_not_a_health_code(
    code_of: Any, claims: dict[str, Any], detail: str
) -> None:
    code_of("green")
    key, kid = city_key()

    result = check(signed_with(key, kid, claims=claims))

    assert (result.verdict, result.detail) == (Verdict.BAD_CBOR, f"not a health code: {detail}")


# ---------------------------------------------------------------------------------------
# Other regions' codes


def test_a_code_of_a_configured_region_verifies(code_of: Any, settings: Any) -> None:
    code_of("green")
    shanghai = foreign_platform()
    shanghai.configure(settings.CERTIFICATES_PEER_DIR)

    result = check(shanghai.code(colour="yellow"))

    assert (result.valid, result.colour, result.action) == (True, "yellow", "flag")
    assert (result.masked_name, result.region, result.issuer) == (
        "王**",
        "310100",
        "上海市卫生健康委员会",
    )


def test_a_code_of_a_region_whose_trust_list_is_not_configured_is_an_unknown_key(
    code_of: Any,
) -> None:
    code_of("green")

    assert check(foreign_platform().code()).verdict == Verdict.UNKNOWN_KEY


def test_a_trust_list_signed_by_another_anchor_than_the_configured_one_is_not_used(
    code_of: Any, settings: Any
) -> None:
    code_of("green")
    shanghai = foreign_platform()
    impostor = foreign_platform()
    shanghai.trust_list = impostor.trust_list
    shanghai.configure(settings.CERTIFICATES_PEER_DIR)

    assert check(impostor.code()).verdict == Verdict.UNKNOWN_KEY


def test_a_region_key_for_other_types_may_not_sign_health_codes(
    code_of: Any, settings: Any
) -> None:
    code_of("green")
    shanghai = foreign_platform(types=("CT-JHZ",))
    shanghai.configure(settings.CERTIFICATES_PEER_DIR)

    assert check(shanghai.code()).verdict == Verdict.KEY_NOT_ALLOWED


def test_another_regions_own_prefix_is_accepted_once_configured(
    code_of: Any, settings: Any
) -> None:
    code_of("green")
    shanghai = foreign_platform()
    shanghai.configure(settings.CERTIFICATES_PEER_DIR)
    text = shanghai.code(prefix="SHH1:")

    before = check(text)
    settings.HEALTH_CODE_PEER_PREFIXES = ["SHH1:"]
    after = check(text)

    assert (before.verdict, before.detail) == (
        Verdict.WRONG_PREFIX,
        "the code does not start with YWH1:",
    )
    assert (after.valid, after.region) == (True, "310100")


def test_a_region_configured_after_the_first_check_is_picked_up(
    code_of: Any, settings: Any
) -> None:
    code_of("green")
    shanghai = foreign_platform()
    text = shanghai.code()
    assert check(text).verdict == Verdict.UNKNOWN_KEY

    shanghai.configure(settings.CERTIFICATES_PEER_DIR)

    assert check(text).valid is True


def test_a_new_signing_key_is_trusted_at_once(code_of: Any) -> None:
    first = code_of("green")
    assert check(first.text).valid is True
    keys.signing_key_retire(SigningKey.objects.get())

    second = code_of("red")

    assert claims_kid(second.text) != claims_kid(first.text)
    assert (check(second.text).valid, check(first.text).valid) == (True, True)


def claims_kid(text: str) -> bytes | None:
    return signedqr.cose_decode(signedqr.decompress(signedqr.base45_decode(text[5:]))).kid


# ---------------------------------------------------------------------------------------
# Offline: nothing but the signed trust lists


def test_an_offline_verifier_needs_the_trust_list_and_no_database(
    code_of: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    issued = code_of("yellow")
    shanghai = foreign_platform()
    trust_list = keys.trust_list_sign()
    anchor = keys.trust_anchor().certificate
    offline = verifier_from_lists(
        trust_lists=[trust_list, shanghai.trust_list],
        revocation_lists=[],
        anchors=[anchor, shanghai.anchor],
        prefix=settings.HEALTH_CODE_PREFIX,
    )

    with django_assert_num_queries(0):
        ours = codes.health_code_verify(issued.text, verifier=offline, clock=now())
        theirs = codes.health_code_verify(shanghai.code(), verifier=offline, clock=now())
        stranger = codes.health_code_verify(
            foreign_platform().code(), verifier=offline, clock=now()
        )

    assert (ours.valid, ours.colour, ours.issuer) == (True, "yellow", "杭州市卫生健康委员会")
    assert (theirs.valid, theirs.issuer) == (True, "上海市卫生健康委员会")
    assert stranger.verdict == Verdict.UNKNOWN_KEY


@given(text=st.text(max_size=300) | st.text(alphabet=signedqr.BASE45_ALPHABET, max_size=300))
@hypothesis_settings(
    derandomize=True,
    database=None,
    deadline=2000,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_any_text_gets_a_verdict_and_never_an_exception(text: str) -> None:
    verifier = Verifier(trust=signedqr.TrustStore(), prefix="YWH1:")
    clock = datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC)

    for candidate in (text, "YWH1:" + text):
        result = codes.health_code_verify(candidate, verifier=verifier, clock=clock)
        assert isinstance(result.verdict, Verdict)
        assert (result.colour, result.action) == (None, None)


@given(data=st.binary(max_size=200))
@hypothesis_settings(derandomize=True, database=None, deadline=2000, max_examples=100)
def test_any_bytes_packed_as_a_code_get_a_verdict(data: bytes) -> None:
    verifier = Verifier(trust=signedqr.TrustStore(), prefix="YWH1:")
    clock = datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC)

    for packed in (data, zlib.compress(data)):
        text = "YWH1:" + base45.b45encode(packed).decode()
        assert isinstance(
            codes.health_code_verify(text, verifier=verifier, clock=clock).verdict, Verdict
        )


# ---------------------------------------------------------------------------------------
# The checkpoint's trust bundle


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def test_the_trust_bundle_lists_every_key_with_its_types_and_validity(
    code_of: Any, settings: Any
) -> None:
    code_of("green")
    shanghai = foreign_platform()
    shanghai.configure(settings.CERTIFICATES_PEER_DIR)
    civil_affairs = DepartmentFactory(code="330106-MZ", kind=Department.Kind.CIVIL_AFFAIRS)
    keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])
    moment = now()

    bundle = codes.checkpoint_trust_bundle(now=moment)

    health_key = SigningKey.objects.get(certificate_types=["health-code"])
    by_kid = {entry["kid"]: entry for entry in bundle["keys"]}
    assert {key: bundle[key] for key in ("format", "type", "prefixes", "generated_at")} == {
        "format": 1,
        "type": "health-code",
        "prefixes": ["YWH1:"],
        "generated_at": moment.isoformat(),
    }
    assert bundle["next_update"] == (moment + datetime.timedelta(hours=24)).isoformat()
    assert sorted(by_kid) == sorted(
        [health_key.kid, shanghai.kid.hex(), SigningKey.objects.get(department=civil_affairs).kid]
    )
    ours = by_kid[health_key.kid]
    public = keys.signing_key_private(health_key).public_key().public_numbers()
    assert (_b64url_int(ours["jwk"]["x"]), _b64url_int(ours["jwk"]["y"])) == (public.x, public.y)
    assert {key: ours[key] for key in ("alg", "types", "issuer", "region", "not_after")} == {
        "alg": "ES256",
        "types": ["health-code"],
        "issuer": "杭州市卫生健康委员会",
        "region": "浙江省杭州市",
        "not_after": health_key.not_after.isoformat(),
    }
    assert (ours["jwk"]["kty"], ours["jwk"]["crv"]) == ("EC", "P-256")
    theirs = by_kid[shanghai.kid.hex()]
    assert (theirs["types"], theirs["issuer"], theirs["region"]) == (
        ["health-code"],
        "上海市卫生健康委员会",
        "上海市卫生健康委员会",
    )
    assert by_kid[SigningKey.objects.get(department=civil_affairs).kid]["types"] == ["CT-JHZ"]


def test_the_bundle_names_other_regions_prefixes_too(settings: Any, city_health: Any) -> None:
    settings.HEALTH_CODE_PEER_PREFIXES = ["SHH1:", "YWH1:"]

    assert codes.checkpoint_trust_bundle()["prefixes"] == ["YWH1:", "SHH1:"]


def test_checking_a_known_key_s_code_reads_no_database(
    code_of: Any, django_assert_num_queries: Any
) -> None:
    text = code_of("green").text
    assert check(text).valid is True  # the verifier is built and kept

    with django_assert_num_queries(0):
        again = check(text)

    assert again.valid is True


def test_an_unknown_key_looks_at_the_keys_once_and_keeps_the_verifier(
    code_of: Any, django_assert_num_queries: Any
) -> None:
    code_of("green")
    stranger = foreign_platform().code()
    check(stranger)
    kept = codes.health_code_verifier()

    with django_assert_num_queries(1):
        result = check(stranger)

    assert result.verdict == Verdict.UNKNOWN_KEY
    assert codes.health_code_verifier() is kept
