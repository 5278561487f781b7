"""Issuing a person's health code: the signed claims, their lifetime, who gets one.

Also the helpers the other ``test_codes_*`` modules share: a colour for a person, a code's
claims read back, and another region's platform (its own anchor, key and trust list).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.cache import cache
from django.utils import timezone

from yiwang.certificates import keys, signedqr
from yiwang.certificates.models import SigningKey
from yiwang.core.audit import AuditEntry
from yiwang.core.errors import Conflict, PermissionDenied, ServiceUnavailable
from yiwang.core.models import Region
from yiwang.health import codes
from yiwang.health.models import HealthStatus
from yiwang.health.services import health_declaration_submit, health_status_refresh
from yiwang.health.tests.conftest import at
from yiwang.identity.models import AssuranceLevel, Department
from yiwang.identity.tests.factories import DepartmentFactory, UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

NOW = at("2026-11-22", 10, 30)


# ---------------------------------------------------------------------------------------
# Shared helpers


def verifier_cleared() -> Iterator[None]:
    """Around a test: the platform's verifier is built from that test's own keys."""
    codes.health_code_verifier_clear()
    yield
    codes.health_code_verifier_clear()


def city_health_department() -> Department:
    """杭州市卫生健康委员会, at the city (330100): the department that signs health codes."""
    return DepartmentFactory(
        code="330100-WJ",
        name="杭州市卫生健康委员会",
        kind=Department.Kind.HEALTH,
        region=Region.objects.get(code="330100"),
    )


@pytest.fixture(autouse=True)
def _verifier_fresh() -> Iterator[None]:
    yield from verifier_cleared()


@pytest.fixture
def city_health(db: None) -> Department:
    return city_health_department()


def colour_set(person: Any, colour: str, *, when: datetime.datetime | None = None) -> HealthStatus:
    """A colour recorded for the person (as the rules or a correction would), at ``when``."""
    moment = when or timezone.now()
    return HealthStatus.objects.create(
        person=person,
        colour=colour,
        source=HealthStatus.Source.RULES,
        rule_id=f"{colour}.test",
        evaluated_at=moment,
        created_at=moment,
    )


def claims_of(text: str) -> tuple[dict[Any, Any], dict[str, Any], bytes]:
    """The CWT claims, the health-code data and the kid of a code, read without checking."""
    sign1 = signedqr.cose_decode(
        signedqr.decompress(signedqr.base45_decode(signedqr.unprefix(text, "YWH1:")))
    )
    cwt = signedqr.cbor_loads(sign1.payload)
    assert sign1.kid is not None
    return cwt, cwt[signedqr.CLAIM_HCERT][signedqr.HCERT_DATA], sign1.kid


def reencode(text: str, change: Any) -> str:
    """The code with its COSE bytes changed by ``change`` (the signature no longer fits)."""
    body = signedqr.decompress(signedqr.base45_decode(signedqr.unprefix(text, "YWH1:")))
    return signedqr.qr_text_encode(change(body), prefix="YWH1:")


@dataclass
class ForeignPlatform:
    """Another region's platform: its trust anchor, one signing key and its trust list."""

    anchor: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    kid: bytes
    trust_list: bytes
    name: str

    def code(
        self,
        *,
        colour: str = "green",
        name: str = "王小明",
        region: str = "310100",
        issued_at: datetime.datetime | None = None,
        seconds: int = 300,
        prefix: str = "YWH1:",
    ) -> str:
        issued_at = (issued_at or timezone.now()).replace(microsecond=0)
        return codes.health_code_text(
            colour=colour,
            name=name,
            id_number="310101199001011234",
            region_code=region,
            evaluated_at=issued_at,
            key=self.key,
            kid=self.kid,
            issued_at=issued_at,
            expires_at=issued_at + datetime.timedelta(seconds=seconds),
            prefix=prefix,
        )

    def configure(self, peer_dir: Path, folder: str = "shanghai") -> None:
        """Place its anchor and trust list where the platform reads its peers'."""
        target = peer_dir / folder
        target.mkdir(parents=True, exist_ok=True)
        (target / "anchor.crt").write_bytes(self.anchor.public_bytes(serialization.Encoding.PEM))
        (target / "trust-list.cose").write_bytes(self.trust_list)


def _certificate(
    subject: str, public_key: Any, issuer: x509.Name | None, signer: Any, *, ca: bool
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
        ]
    )
    now = timezone.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .sign(signer, hashes.SHA256())
    )


def foreign_platform(
    *, name: str = "上海市卫生健康委员会", types: tuple[str, ...] = ("health-code",)
) -> ForeignPlatform:
    """A second anchor and a key it certifies, in a trust list as ``keys.trust_list_sign``
    writes one (the same format, signed by that anchor)."""
    anchor_key = ec.generate_private_key(ec.SECP256R1())
    anchor = _certificate("上海一网信任根", anchor_key.public_key(), None, anchor_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(name, key.public_key(), anchor.subject, anchor_key, ca=False)
    kid = signedqr.key_id(certificate)
    now = timezone.now()
    document = {
        "format": keys.TRUST_LIST_FORMAT,
        "issuer": "上海一网信任根",
        "issued_at": int(now.timestamp()),
        "next_update": int((now + datetime.timedelta(days=7)).timestamp()),
        "keys": [
            {
                "kid": kid,
                "department": "310100-WJ",
                "name": name,
                "certificate": certificate.public_bytes(serialization.Encoding.DER),
                "types": list(types),
                "retired": False,
            }
        ],
    }
    trust_list = signedqr.cose_sign1(
        cbor2.dumps(document, canonical=True), key=anchor_key, kid=signedqr.key_id(anchor)
    )
    return ForeignPlatform(anchor=anchor, key=key, kid=kid, trust_list=trust_list, name=name)


# ---------------------------------------------------------------------------------------
# The code and its claims


def test_a_code_carries_the_colour_masked_identity_region_and_evaluation(
    person: Any, city_health: Department
) -> None:
    person.name = "林晓雯"
    person.save(update_fields=["name"])
    status = colour_set(person, "yellow", when=NOW - datetime.timedelta(hours=2))

    issued = codes.health_code_issue(person=person, clock=NOW)

    cwt, data, kid = claims_of(issued.text)
    assert issued.text.startswith("YWH1:")
    assert data == {
        "ver": 1,
        "t": "health-code",
        "c": "yellow",
        "n": "林**",
        "i": person.id_number[0] + "*" * 16 + person.id_number[-1],
        "r": "330100",
        "e": int(status.evaluated_at.timestamp()),
    }
    assert cwt[signedqr.CLAIM_ISSUER] == "330100"
    assert cwt[signedqr.CLAIM_ISSUED_AT] == int(NOW.timestamp())
    assert cwt[signedqr.CLAIM_EXPIRES] == int(NOW.timestamp()) + 300
    key = SigningKey.objects.get()
    assert kid == bytes.fromhex(key.kid)
    assert issued == codes.HealthCode(
        text=issued.text,
        colour="yellow",
        issued_at=NOW,
        expires_at=NOW + datetime.timedelta(seconds=300),
        evaluated_at=status.evaluated_at.replace(microsecond=0),
        masked_name="林**",
        region_code="330100",
    )
    assert issued.colour_label == "Yellow code"


def test_no_full_name_or_id_number_is_in_the_code(person: Any, city_health: Department) -> None:
    colour_set(person, "green")

    text = codes.health_code_issue(person=person).text

    body = signedqr.decompress(signedqr.base45_decode(text.removeprefix("YWH1:")))
    assert person.id_number.encode() not in body
    assert person.name.encode() not in body
    assert person.id_number[1:-1].encode() not in body


def test_the_lifetime_follows_the_setting(
    person: Any, city_health: Department, settings: Any
) -> None:
    settings.HEALTH_CODE_SECONDS = 60
    colour_set(person, "green", when=NOW)

    issued = codes.health_code_issue(person=person, clock=NOW)

    assert issued.expires_at == NOW + datetime.timedelta(seconds=60)
    cwt, _, _ = claims_of(issued.text)
    assert cwt[signedqr.CLAIM_EXPIRES] - cwt[signedqr.CLAIM_ISSUED_AT] == 60


def test_the_code_verifies_until_it_expires_and_not_a_second_later(
    person: Any, city_health: Department
) -> None:
    now = timezone.now().replace(microsecond=0)  # after the key's certificate begins
    colour_set(person, "red", when=now)
    text = codes.health_code_issue(person=person, clock=now).text
    verifier = codes.health_code_verifier(now=now)

    last_moment = codes.health_code_verify(
        text, verifier=verifier, clock=now + datetime.timedelta(seconds=300)
    )
    too_late = codes.health_code_verify(
        text, verifier=verifier, clock=now + datetime.timedelta(seconds=301)
    )

    assert (last_moment.valid, last_moment.colour, last_moment.action) == (True, "red", "refuse")
    assert (too_late.valid, too_late.verdict) == (False, signedqr.Verdict.EXPIRED)


def district_health() -> Department:
    return DepartmentFactory(
        code="330106-WJ",
        name="杭州市西湖区卫生健康局",
        kind=Department.Kind.HEALTH,
        region=Region.objects.get(code="330106"),
    )


def test_the_city_health_department_signs_with_a_key_for_health_codes_only(
    person: Any, city_health: Department
) -> None:
    district_health()
    DepartmentFactory(
        code="330000-WJ",
        name="浙江省卫生健康委员会（已停用）",
        kind=Department.Kind.HEALTH,
        region=Region.objects.get(code="330000"),
        is_active=False,
    )
    colour_set(person, "green")

    codes.health_code_issue(person=person)
    codes.health_code_issue(person=person)

    key = SigningKey.objects.get()
    assert (key.department, key.certificate_types) == (city_health, ["health-code"])
    assert keys.signing_key_for(city_health, "health-code") == key
    entry = AuditEntry.objects.get(action="health.code_key_create")
    assert (entry.actor_id, entry.detail) == (None, {"department": "330100-WJ", "kid": key.kid})


def test_the_province_department_signs_when_there_is_one(
    person: Any, city_health: Department
) -> None:
    province = DepartmentFactory(
        code="330000-WJ",
        name="浙江省卫生健康委员会",
        kind=Department.Kind.HEALTH,
        region=Region.objects.get(code="330000"),
    )
    colour_set(person, "green")

    issued = codes.health_code_issue(person=person)

    assert SigningKey.objects.get().department == province
    assert issued.region_code == "330000"


def test_a_configured_department_signs_instead(
    person: Any, city_health: Department, settings: Any
) -> None:
    district = district_health()
    settings.HEALTH_CODE_DEPARTMENT = "330106-WJ"
    colour_set(person, "green")

    issued = codes.health_code_issue(person=person)

    assert SigningKey.objects.get().department == district
    assert issued.region_code == "330106"


def test_a_retired_key_is_replaced_by_a_new_one(person: Any, city_health: Department) -> None:
    colour_set(person, "green")
    first = codes.health_code_issue(person=person)
    keys.signing_key_retire(SigningKey.objects.get())

    second = codes.health_code_issue(person=person)

    assert SigningKey.objects.count() == 2
    assert claims_of(first.text)[2] != claims_of(second.text)[2]


def test_without_a_health_department_no_code_is_issued(person: Any) -> None:
    colour_set(person, "green")

    with pytest.raises(ServiceUnavailable) as refused:
        codes.health_code_issue(person=person)

    assert refused.value.code == "health_code_no_issuer"
    assert str(refused.value.message) == "No health department issues health codes yet."


# ---------------------------------------------------------------------------------------
# Whose colour, and when it is worked out


def test_a_colour_evaluated_today_is_used_as_it_is(
    person: Any, city_health: Department, default_rules: Any, django_assert_num_queries: Any
) -> None:
    status = colour_set(person, "yellow", when=NOW - datetime.timedelta(hours=1))
    codes.health_code_issue(person=person, clock=NOW)  # the key is made on the first

    # The savepoint and its release, the colour, the department, the key: no rules.
    with django_assert_num_queries(5):
        issued = codes.health_code_issue(person=person, clock=NOW)

    # The rules would say green (nothing is known of her); today's colour stands.
    assert issued.colour == "yellow"
    assert HealthStatus.objects.filter(person=person).get() == status


def test_without_a_colour_the_rules_work_one_out_first(
    person: Any, city_health: Department, default_rules: Any
) -> None:
    issued = codes.health_code_issue(person=person, clock=NOW)

    status = HealthStatus.objects.get(person=person)
    assert (issued.colour, status.colour, status.rule_id) == ("green", "green", "default")
    assert issued.evaluated_at == NOW


def test_a_colour_from_yesterday_is_worked_out_again_once_today(
    person: Any, city_health: Department, default_rules: Any
) -> None:
    yesterday = colour_set(person, "green", when=NOW - datetime.timedelta(days=1))

    first = codes.health_code_issue(person=person, clock=NOW)
    later = NOW + datetime.timedelta(minutes=5)
    health_declaration_submit(person=person, kind="declaration", symptoms=["fever"], now=later)
    # The declaration itself worked the colour out again: yellow from now.
    second = codes.health_code_issue(person=person, clock=later + datetime.timedelta(minutes=1))

    # The same colour wrote no new row; the moment it was worked out is the code's.
    assert (first.colour, first.evaluated_at) == ("green", NOW)
    assert list(HealthStatus.objects.filter(person=person)) == [
        HealthStatus.objects.get(person=person, colour="yellow"),
        yesterday,
    ]
    assert (second.colour, second.evaluated_at) == ("yellow", later)


def test_the_rules_run_at_most_once_a_day_for_the_code(
    person: Any, city_health: Department, default_rules: Any, monkeypatch: Any
) -> None:
    colour_set(person, "green", when=NOW - datetime.timedelta(days=1))
    runs: list[datetime.datetime] = []
    refresh = health_status_refresh

    def counted(**kwargs: Any) -> HealthStatus:
        runs.append(kwargs["clock"])
        return refresh(**kwargs)

    monkeypatch.setattr(codes, "health_status_refresh", counted)

    for minutes in (0, 1, 30):
        codes.health_code_issue(person=person, clock=NOW + datetime.timedelta(minutes=minutes))
    tomorrow = NOW + datetime.timedelta(days=1)
    issued = codes.health_code_issue(person=person, clock=tomorrow)

    assert runs == [NOW, tomorrow]
    assert issued.evaluated_at == tomorrow


def test_without_an_active_rule_set_the_last_colour_stands(
    person: Any, city_health: Department
) -> None:
    colour_set(person, "red", when=NOW - datetime.timedelta(days=3))

    issued = codes.health_code_issue(person=person, clock=NOW)

    assert issued.colour == "red"
    assert cache.get(f"health:code:evaluated:{person.pk}") is None


def test_without_a_colour_and_without_rules_the_person_is_told_why(
    person: Any, city_health: Department
) -> None:
    with pytest.raises(Conflict) as refused:
        codes.health_code_issue(person=person, clock=NOW)

    assert refused.value.code == "health_no_colour"
    assert str(refused.value.message) == (
        "Your health code has no colour yet. Make a health declaration first; the colour is "
        "worked out from it."
    )
    assert SigningKey.objects.count() == 0


def test_a_person_without_a_verified_real_name_gets_no_code(city_health: Department) -> None:
    unverified = UserFactory(name="林晓雯")

    with pytest.raises(PermissionDenied) as refused:
        codes.health_code_issue(person=unverified)

    assert refused.value.code == "health_identity_unverified"
    assert str(refused.value.message) == (
        "A health code is issued only to a person whose real name is verified."
    )


def test_a_demoted_account_gets_no_code(city_health: Department) -> None:
    person = VerifiedUserFactory()
    colour_set(person, "green")
    person.assurance_level = AssuranceLevel.L1
    person.id_number = None

    with pytest.raises(PermissionDenied):
        codes.health_code_issue(person=person)


def test_no_code_while_health_codes_are_switched_off(
    person: Any, city_health: Department, settings: Any
) -> None:
    colour_set(person, "green")
    settings.HEALTH_EMERGENCY_ENABLED = False

    with pytest.raises(ServiceUnavailable) as refused:
        codes.health_code_issue(person=person)

    assert refused.value.code == "health_disabled"
    assert SigningKey.objects.count() == 0


def test_the_mask_keeps_only_the_first_and_last_characters() -> None:
    assert codes.mask_id_number_short("33010619900101123X") == "3****************X"
    assert codes.mask_id_number_short("ab") == "**"
    assert codes.mask_id_number_short("") == ""
