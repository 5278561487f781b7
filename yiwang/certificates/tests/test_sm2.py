"""SM2 with SM3 in signed QR codes: known answers, a second implementation, hostile input.

The known-answer vector is the SM2 signature example of GM/T 0003.5 (GB/T 32918.5) on the
SM2 curve with the default user id. The YW1 code below was signed once by gmssl 3.2.2
(pure Python, ``CryptSM2.sign_with_sm3``), a second implementation installed only for
that; the same run checked the other way round, that gmssl verifies tongsuopy's
signatures. The SM2 formulas are also written out here in plain Python, from GM/T 0003.2,
so that what tongsuopy computes (the Z value, e = SM3(Z ‖ M)) is checked, not assumed.
"""

from __future__ import annotations

import datetime
import hashlib
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from tongsuopy.crypto.asymciphers import ec as tongsuo_ec  # type: ignore[import-untyped]

from yiwang.certificates import signedqr, sm2
from yiwang.certificates.signedqr import SignedQrError, TrustStore, Verdict

UTC = datetime.UTC
ISSUED_AT = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EXPIRES_AT = datetime.datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
CLOCK = datetime.datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
KID = b"sm2-key1"
CLAIMS = {"type": "CT-JHZ", "name": "张伟", "registered_on": "2026-02-14"}

# SM2 curve (GB/T 32918.5): y² = x³ + ax + b over F_p, base point G of order n.
P = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF
A = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC
B = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
N = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123
G = (
    0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7,
    0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0,
)

# GM/T 0003.5 (GB/T 32918.5), the signature example: key, nonce k, message, (r, s).
KAT_PRIVATE = 0x3945208F_7B2144B1_3F36E38A_C6D39F95_88939369_2860B51A_42FB81EF_4DF7C5B8
KAT_PUBLIC = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
KAT_K = 0x59276E27_D506861A_16680F3A_D9C02DCC_EF3CC1FA_3CDBE4CE_6D54B80D_EAC1BC21
KAT_MESSAGE = b"message digest"
KAT_SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)

# Signed by gmssl 3.2.2; its private key is 7d8aab20a0fd338ca7844ad4e1baa6d7
# b41d9842fde8393fe0e1574b37ed1aa4 (SHA-256 of "yiwang sm2 test vector", mod n).
GMSSL_PUBLIC = bytes.fromhex(
    "04974f172ec248d36fd8d3dab089efc86ba4fac09a4636274b3e2426c1c04d3c09"
    "070bcc5e322086a4b771fa49dfbfe444232722d772153ec487f63890ac345c33"
)
GMSSL_KID = b"gmssl-01"
GMSSL_TO_BE_SIGNED = bytes.fromhex(
    "846a5369676e61747572653151a2013a000101f40448676d73736c2d3031405861a40162434e041a"
    "6a968600061a69a3f200390103a101a3646e616d65781ee69dade5b79ee4b880e7bd91e7a791e68a"
    "80e69c89e99990e585ace58fb864747970656743542d59595a5a64757363637239313333303130"
    "364d4132434658595a3158"
)
GMSSL_SIGNATURE = bytes.fromhex(
    "fa9b2e9b2a0515006926c38f7b79615c55a5ab363dffdd9ddfd20cc025a1cd5a"
    "eb9f8e0f4df31111a0facdc0cd85f073eaf43d5060aae9f37a888b1a2ea3d1b1"
)
GMSSL_CODE = (
    "YW1:NCF$90O10FFWXWGSLK/E7W508%U+69T$DSQE3W5EC6Z7B0XK0JC$%9CF3E1J600BF3UWKC10Y50.FKNTK"
    "..DF$DF8F.6TC:LQ9N7-SEDGJ/N%CT0KI-MH-6TPJHRIJW0TQ%LR7ILVC%FF* C1N8:W5EDBAJB7%EIPC JE+9"
    "69L6$96-%6+A8WM8R7B4IBQ7BT98 RJWRJ-S0F20N+4B6INFFCUBL.KP%6QFW5/J.OQ4DOLKKAMBV7K2.1ZWUC"
    "A2ZVV$GO/-GJTEK*UB7ADRL5ZUZBH.D3.VK9LMML5J3"
)


# ---------------------------------------------------------------------------------------
# GM/T 0003.2 in plain Python (slow, and only for checking)

Point = tuple[int, int] | None


def point_add(p: Point, q: Point) -> Point:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    if p == q:
        slope = (3 * p[0] * p[0] + A) * pow(2 * p[1], -1, P) % P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (slope * slope - p[0] - q[0]) % P
    return x, (slope * (p[0] - x) - p[1]) % P


def point_multiply(k: int, point: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        k >>= 1
    return result


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def z_value(public: tuple[int, int], user_id: bytes = sm2.DEFAULT_USER_ID) -> bytes:
    """Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), ENTL the id's length in bits."""
    parts = [A, B, G[0], G[1], public[0], public[1]]
    return sm3(
        (8 * len(user_id)).to_bytes(2, "big")
        + user_id
        + b"".join(value.to_bytes(32, "big") for value in parts)
    )


def digest(public: tuple[int, int], message: bytes) -> int:
    return int.from_bytes(sm3(z_value(public) + message), "big")


def reference_sign(private: int, k: int, message: bytes) -> bytes:
    public = point_multiply(private, G)
    kg = point_multiply(k, G)
    assert public is not None
    assert kg is not None
    r = (digest(public, message) + kg[0]) % N
    s = pow(1 + private, -1, N) * (k - r * private) % N
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def reference_verify(public: tuple[int, int], signature: bytes, message: bytes) -> bool:
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    t = (r + s) % N
    if not (0 < r < N and 0 < s < N) or t == 0:
        return False
    point = point_add(point_multiply(s, G), point_multiply(t, public))
    return point is not None and (digest(public, message) + point[0]) % N == r


def point_of(public_key: object) -> tuple[int, int]:
    numbers = public_key.public_numbers()  # type: ignore[attr-defined]
    return numbers.x, numbers.y


# ---------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def key() -> sm2.Sm2PrivateKey:
    return sm2.generate_private_key()


@pytest.fixture(scope="module")
def trust(key: sm2.Sm2PrivateKey) -> TrustStore:
    store = TrustStore()
    store.add_key(KID, key.public_key(), label="杭州市西湖区民政局")
    return store


def sm2_code(key: object, kid: bytes = KID) -> str:
    return signedqr.sign(
        claims=CLAIMS,
        key=key,  # type: ignore[arg-type]
        kid=kid,
        prefix="YW1:",
        issuer="CN",
        issued_at=ISSUED_AT,
        expires_at=EXPIRES_AT,
        algorithm=signedqr.SM2_SM3.cose_id,
    )


def verdict_of(text: str, trust: TrustStore) -> tuple[Verdict, str]:
    with pytest.raises(SignedQrError) as caught:
        signedqr.verify(text, trust=trust, clock=CLOCK, prefix="YW1:")
    return caught.value.verdict, caught.value.message


def resigned(text: str, change: str) -> str:
    """The code with its signature or payload changed, the rest kept."""
    sign1 = signedqr.cose_decode(
        signedqr.decompress(signedqr.base45_decode(signedqr.unprefix(text, "YW1:")))
    )
    payload, signature = sign1.payload, sign1.signature
    if change == "signature":
        signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
    else:
        claims = cbor2.loads(payload)
        claims[4] += 86_400  # a day longer
        payload = cbor2.dumps(claims)
    cose = cbor2.dumps(cbor2.CBORTag(18, [sign1.protected, {}, payload, signature]))
    return signedqr.qr_text_encode(cose, prefix="YW1:")


# ---------------------------------------------------------------------------------------
# The algorithm id


def test_the_algorithm_id_is_in_cose_private_use_and_names_sm2_with_sm3() -> None:
    assert signedqr.SM2_SM3.cose_id == -66037 < -65536
    assert -signedqr.SM2_SM3.cose_id - 65536 == 501  # 1.2.156.10197.1.501, SM2-with-SM3
    assert signedqr.ALGORITHMS[-66037] is signedqr.SM2_SM3


def test_the_algorithm_id_is_in_the_protected_header(key: sm2.Sm2PrivateKey) -> None:
    text = sm2_code(key)

    sign1 = signedqr.cose_decode(
        signedqr.decompress(signedqr.base45_decode(signedqr.unprefix(text, "YW1:")))
    )

    assert sign1.protected_header == {1: -66037, 4: KID}
    assert len(sign1.signature) == 64


# ---------------------------------------------------------------------------------------
# Known answers and a second implementation


def test_plain_python_reference_reproduces_the_standard_example() -> None:
    public = point_multiply(KAT_PRIVATE, G)

    assert public == (
        int.from_bytes(KAT_PUBLIC[1:33], "big"),
        int.from_bytes(KAT_PUBLIC[33:], "big"),
    )
    assert reference_sign(KAT_PRIVATE, KAT_K, KAT_MESSAGE) == KAT_SIGNATURE
    assert reference_verify(public, KAT_SIGNATURE, KAT_MESSAGE)


def test_standard_example_signature_verifies() -> None:
    public_key = sm2.public_key_from_point(KAT_PUBLIC)

    sm2.verify(public_key, KAT_SIGNATURE, KAT_MESSAGE)


def test_standard_example_key_derives_the_standard_public_key() -> None:
    private_key = tongsuo_ec.derive_private_key(KAT_PRIVATE, tongsuo_ec.SM2())

    assert point_of(private_key.public_key()) == point_of(sm2.public_key_from_point(KAT_PUBLIC))


def test_standard_example_signature_does_not_verify_another_message() -> None:
    public_key = sm2.public_key_from_point(KAT_PUBLIC)

    with pytest.raises(InvalidSignature):
        sm2.verify(public_key, KAT_SIGNATURE, b"message digesT")


def test_tongsuopy_signs_sm3_of_z_and_the_message_with_the_default_user_id(
    key: sm2.Sm2PrivateKey,
) -> None:
    message = b"Signature1 and whatever else a Sig_structure holds"

    signature = sm2.sign(key, message)

    public = point_of(key.public_key())
    assert reference_verify(public, signature, message)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    plain = int.from_bytes(sm3(message), "big")  # no Z: what tongsuopy does not sign
    point = point_add(point_multiply(s, G), point_multiply((r + s) % N, public))
    assert point is not None
    assert (plain + point[0]) % N != r


def test_code_signed_by_gmssl_verifies() -> None:
    trust = TrustStore()
    trust.add_key(GMSSL_KID, sm2.public_key_from_point(GMSSL_PUBLIC))

    verified = signedqr.verify(GMSSL_CODE, trust=trust, clock=CLOCK, prefix="YW1:")

    assert verified.algorithm == "SM2"
    assert verified.kid == GMSSL_KID
    assert verified.issuer == "CN"
    assert (verified.issued_at, verified.expires_at) == (ISSUED_AT, EXPIRES_AT)
    assert verified.payload == {
        "type": "CT-YYZZ",
        "name": "杭州一网科技有限公司",
        "uscc": "91330106MA2CFXYZ1X",
    }


def test_gmssl_signature_verifies_over_the_sig_structure() -> None:
    public_key = sm2.public_key_from_point(GMSSL_PUBLIC)
    public = point_of(public_key)

    sm2.verify(public_key, GMSSL_SIGNATURE, GMSSL_TO_BE_SIGNED)
    assert reference_verify(public, GMSSL_SIGNATURE, GMSSL_TO_BE_SIGNED)


# ---------------------------------------------------------------------------------------
# Signing and verifying codes


def test_sign_then_verify_an_sm2_code(key: sm2.Sm2PrivateKey, trust: TrustStore) -> None:
    text = sm2_code(key)

    verified = signedqr.verify(
        text, trust=trust, clock=CLOCK, prefix="YW1:", certificate_type="CT-JHZ"
    )

    assert text.startswith("YW1:")
    assert verified.payload == CLAIMS
    assert verified.algorithm == "SM2"
    assert verified.kid == KID
    assert verified.signer.label == "杭州市西湖区民政局"
    assert verified.certificate_type == "CT-JHZ"


@pytest.mark.parametrize("change", ["signature", "payload"])
def test_tampered_sm2_code_has_a_bad_signature(
    key: sm2.Sm2PrivateKey, trust: TrustStore, change: str
) -> None:
    assert verdict_of(resigned(sm2_code(key), change), trust) == (
        Verdict.BAD_SIGNATURE,
        "the signature does not verify",
    )


def test_sm2_code_signed_by_another_sm2_key_has_a_bad_signature(trust: TrustStore) -> None:
    other = sm2.generate_private_key()

    assert verdict_of(sm2_code(other), trust)[0] == Verdict.BAD_SIGNATURE


def test_sm2_code_checked_with_a_p256_key_has_a_bad_signature(key: sm2.Sm2PrivateKey) -> None:
    trust = TrustStore()
    trust.add_key(KID, ec.generate_private_key(ec.SECP256R1()).public_key())

    assert verdict_of(sm2_code(key), trust) == (
        Verdict.BAD_SIGNATURE,
        "the signature does not verify",
    )


def test_sm2_code_checked_with_an_rsa_key_has_a_bad_signature(key: sm2.Sm2PrivateKey) -> None:
    trust = TrustStore()
    trust.add_key(KID, rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())

    assert verdict_of(sm2_code(key), trust)[0] == Verdict.BAD_SIGNATURE


@pytest.mark.parametrize("algorithm", [signedqr.ES256.cose_id, signedqr.PS256.cose_id])
def test_es256_or_ps256_code_checked_with_an_sm2_key_has_a_bad_signature(
    trust: TrustStore, algorithm: int
) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    text = signedqr.sign(
        claims=CLAIMS,
        key=p256 if algorithm == signedqr.ES256.cose_id else rsa_key,
        kid=KID,
        prefix="YW1:",
        issuer="CN",
        issued_at=ISSUED_AT,
        expires_at=EXPIRES_AT,
        algorithm=algorithm,
    )

    assert verdict_of(text, trust)[0] == Verdict.BAD_SIGNATURE


def test_signing_sm2_with_a_p256_key_is_refused() -> None:
    with pytest.raises(ValueError, match="SM2 needs an SM2 private key"):
        sm2_code(ec.generate_private_key(ec.SECP256R1()))


def test_signing_es256_with_an_sm2_key_is_refused(key: sm2.Sm2PrivateKey) -> None:
    with pytest.raises(ValueError, match="ES256 needs a P-256 private key"):
        signedqr.cose_sign1(b"", key=key, kid=KID)


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        b"\0" * 63,
        b"\0" * 64,  # r = s = 0
        N.to_bytes(32, "big") + (1).to_bytes(32, "big"),  # r = n
        (1).to_bytes(32, "big") + N.to_bytes(32, "big"),  # s = n
        b"\xff" * 64,
        b"\1" * 65,
    ],
    ids=["empty", "short", "zero", "r-is-n", "s-is-n", "all-ones", "long"],
)
def test_malformed_sm2_signature_has_a_bad_signature(trust: TrustStore, signature: bytes) -> None:
    protected = cbor2.dumps({1: signedqr.SM2_SM3.cose_id, 4: KID})
    cwt = cbor2.dumps(
        {1: "CN", 4: int(EXPIRES_AT.timestamp()), 6: int(ISSUED_AT.timestamp()), -260: {1: CLAIMS}}
    )
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, cwt, signature]))

    assert verdict_of(signedqr.qr_text_encode(cose, prefix="YW1:"), trust)[0] == (
        Verdict.BAD_SIGNATURE
    )


@settings(derandomize=True, database=None, max_examples=100, deadline=2000)
@given(st.one_of(st.binary(min_size=64, max_size=64), st.binary(max_size=200)))
def test_arbitrary_sm2_signatures_get_a_verdict(signature: bytes) -> None:
    public_key = sm2.public_key_from_point(KAT_PUBLIC)
    try:
        sm2.verify(public_key, signature, KAT_MESSAGE)
    except InvalidSignature:
        return
    assert signature == KAT_SIGNATURE


# ---------------------------------------------------------------------------------------
# Without tongsuopy


def test_without_tongsuopy_an_sm2_code_has_a_bad_signature(
    key: sm2.Sm2PrivateKey, trust: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = sm2_code(key)
    monkeypatch.setattr(sm2, "AVAILABLE", False)

    assert verdict_of(text, trust) == (
        Verdict.BAD_SIGNATURE,
        "SM2 not available: tongsuopy is not installed",
    )
    with pytest.raises(sm2.Unavailable):
        sm2_code(key)


def test_the_module_imports_without_tongsuopy(key: sm2.Sm2PrivateKey) -> None:
    # A fresh interpreter in which importing tongsuopy fails, as where it is not installed.
    script = """
import datetime, sys
sys.modules["tongsuopy"] = None
from yiwang.certificates import signedqr, sm2
assert not sm2.AVAILABLE and -66037 in signedqr.ALGORITHMS
clock = datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC)
for key in (None, object()):
    trust = signedqr.TrustStore()
    if key is not None:
        trust.add_key(b"sm2-key1", key)
    try:
        signedqr.verify(sys.argv[1], trust=trust, clock=clock, prefix="YW1:")
    except signedqr.SignedQrError as error:
        print(error)
"""
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script, sm2_code(key)],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "unknown_key: signed with a key this verifier does not trust",
        "bad_signature: SM2 not available: tongsuopy is not installed",
    ]
