"""The health-code API: a person's fresh code, and checking a code without an account."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.certificates import signedqr
from yiwang.certificates.qrimage import qr_image_decode
from yiwang.health.tests.test_codes_issue import (
    city_health_department,
    colour_set,
    foreign_platform,
    reencode,
    verifier_cleared,
)
from yiwang.identity.models import Department
from yiwang.identity.services import api_token_create
from yiwang.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _verifier_fresh() -> Iterator[None]:
    yield from verifier_cleared()


@pytest.fixture
def city_health(db: None) -> Department:
    return city_health_department()


VERIFY = "/api/v1/health/codes/verify"
MINE = "/api/v1/health/codes/mine"


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def holder(person: Any, city_health: Any) -> Any:
    person.name = "林晓雯"
    person.language = "en"  # her pages and answers follow her own choice of language
    person.save(update_fields=["name", "language"])
    return person


def verify(client: Client, body: Any, **extra: Any) -> Any:
    return client.post(VERIFY, json.dumps(body), content_type="application/json", **extra)


def mine(client: Client, holder: Any) -> dict[str, Any]:
    client.force_login(holder)
    response = client.get(MINE)
    assert response.status_code == 200, response.content
    return dict(response.json())


# ---------------------------------------------------------------------------------------
# GET /health/codes/mine


def test_the_person_gets_a_fresh_code_with_its_picture(client: Client, holder: Any) -> None:
    colour_set(holder, "yellow")
    before = timezone.now().replace(microsecond=0)

    body = mine(client, holder)

    assert sorted(body) == [
        "colour",
        "colour_label",
        "evaluated_at",
        "expires_at",
        "image",
        "issued_at",
        "masked_name",
        "text",
    ]
    assert (body["colour"], body["colour_label"], body["masked_name"]) == (
        "yellow",
        "Yellow code",
        "林**",
    )
    issued_at = datetime.datetime.fromisoformat(body["issued_at"])
    assert before <= issued_at <= timezone.now()
    assert datetime.datetime.fromisoformat(body["expires_at"]) - issued_at == datetime.timedelta(
        seconds=300
    )
    assert body["text"].startswith("YWH1:")
    assert body["image"].startswith("data:image/png;base64,")
    picture = base64.b64decode(body["image"].removeprefix("data:image/png;base64,"))
    assert qr_image_decode(picture) == body["text"]


def test_each_call_signs_a_new_code(client: Client, holder: Any) -> None:
    colour_set(holder, "green")
    first = mine(client, holder)["text"]
    second = mine(client, holder)["text"]

    assert first != second  # ECDSA signatures are randomised


def test_a_bearer_token_works_too(client: Client, holder: Any) -> None:
    colour_set(holder, "green")
    _, secret = api_token_create(user=holder, name="手机")

    response = client.get(MINE, HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert (response.status_code, response.json()["colour"]) == (200, "green")


def test_without_login_there_is_no_code(client: Client, holder: Any) -> None:
    response = client.get(MINE)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_unverified_person_is_refused(client: Client, city_health: Any) -> None:
    client.force_login(UserFactory())

    response = client.get(MINE)

    assert response.status_code == 403
    assert response.json() == {
        "code": "health_identity_unverified",
        "message": "A health code is issued only to a person whose real name is verified.",
        "fields": {},
    }


def test_a_person_without_a_colour_is_told_why(client: Client, holder: Any) -> None:
    client.force_login(holder)

    response = client.get(MINE)

    assert response.status_code == 409
    assert response.json()["code"] == "health_no_colour"


def test_switched_off_both_endpoints_answer_503(client: Client, holder: Any, settings: Any) -> None:
    colour_set(holder, "green")
    text = mine(client, holder)["text"]
    settings.HEALTH_EMERGENCY_ENABLED = False

    for response in (client.get(MINE), verify(client, {"text": text})):
        assert response.status_code == 503
        assert response.json() == {
            "code": "health_disabled",
            "message": "Health codes are switched off.",
            "fields": {},
        }


# ---------------------------------------------------------------------------------------
# POST /health/codes/verify


def test_a_valid_code_shows_colour_action_masked_name_and_validity(
    client: Client, holder: Any
) -> None:
    colour_set(holder, "red")
    code = mine(client, holder)
    client.logout()

    response = verify(client, {"text": code["text"]})

    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "verdict": None,
        "message": "The health code is genuine and valid.",
        "colour": "red",
        "action": "refuse",
        "masked_name": "林**",
        "valid_until": code["expires_at"],
        "region": "330100",
        "issuer": "杭州市卫生健康委员会",
    }


def test_the_answer_never_holds_the_full_name_or_id_number(client: Client, holder: Any) -> None:
    colour_set(holder, "green")
    text = mine(client, holder)["text"]

    raw = verify(client, {"text": text}).content.decode()

    assert holder.name not in raw
    assert holder.id_number not in raw
    assert holder.id_number[-4:] not in raw


def test_a_code_that_does_not_verify_is_a_200_with_its_verdict(client: Client, holder: Any) -> None:
    colour_set(holder, "green")
    text = mine(client, holder)["text"]
    tampered = reencode(text, lambda body: body[:-1] + bytes([body[-1] ^ 0xFF]))

    response = verify(client, {"text": tampered})

    assert response.status_code == 200
    assert response.json() == {
        "valid": False,
        "verdict": "bad_signature",
        "message": (
            "The signature does not match the content: the code has been altered or forged."
        ),
        "colour": None,
        "action": None,
        "masked_name": None,
        "valid_until": None,
        "region": None,
        "issuer": None,
    }


def test_another_regions_code_verifies_once_its_trust_list_is_configured(
    client: Client, holder: Any, settings: Any
) -> None:
    shanghai = foreign_platform()
    text = shanghai.code(colour="green")
    unknown = verify(client, {"text": text}).json()["verdict"]
    shanghai.configure(settings.CERTIFICATES_PEER_DIR)

    body = verify(client, {"text": text}).json()

    assert unknown == "unknown_key"
    assert (body["valid"], body["action"], body["region"], body["issuer"]) == (
        True,
        "pass",
        "310100",
        "上海市卫生健康委员会",
    )


def test_verifying_needs_no_account_and_no_csrf_token(holder: Any) -> None:
    colour_set(holder, "green")
    text = mine(Client(), holder)["text"]
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")

    response = verify(strict, {"text": text})

    assert (response.status_code, response.json()["valid"]) == (200, True)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"text": ["This field is required."]}),
        ({"text": ""}, {"text": ["This value is too short."]}),
        ({"text": "A" * (signedqr.MAX_TEXT_LENGTH + 1)}, {"text": ["This value is too long."]}),
        ({"text": 42}, {"text": ["Enter a valid value."]}),
    ],
    ids=["missing", "empty", "too-long", "number"],
)
def test_a_malformed_body_is_a_422_naming_the_field(
    client: Client, body: Any, fields: dict[str, list[str]]
) -> None:
    response = verify(client, body)

    assert response.status_code == 422
    assert response.json() == {
        "code": "validation_failed",
        "message": "Some fields are not valid.",
        "fields": fields,
    }


def test_the_longest_text_a_code_may_have_is_checked_not_refused(client: Client) -> None:
    response = verify(client, {"text": "YWH1:" + "A" * (signedqr.MAX_TEXT_LENGTH - 5)})

    assert (response.status_code, response.json()["verdict"]) == (200, "bad_compression")


def test_a_body_over_the_upload_limit_is_a_413(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

    response = verify(client, {"text": "YWH1:" + "A" * (64 * 1024 + 1)})

    assert (response.status_code, response.json()["code"]) == (413, "too_large")


def test_a_body_that_is_not_json_is_a_400(client: Client) -> None:
    response = client.post(VERIFY, b"\xff\x00YWH1:", content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (400, "http_error")


def test_anonymous_checks_are_rate_limited(client: Client) -> None:
    for _ in range(60):
        assert verify(client, {"text": "x"}).status_code == 200

    refused = verify(client, {"text": "x"})
    other_address = verify(client, {"text": "x"}, REMOTE_ADDR="192.0.2.7")

    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert other_address.status_code == 200


# ---------------------------------------------------------------------------------------
# The schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(Client().get("/api/v1/openapi.json").json())


def test_checking_is_public_and_the_own_code_needs_authentication(schema: dict[str, Any]) -> None:
    check = schema["paths"][VERIFY]["post"]
    own = schema["paths"][MINE]["get"]

    assert "security" not in check
    assert own["security"] == [{"ApiTokenAuth": []}, {"SessionAuth": []}]
    assert (check["summary"], own["summary"]) == (
        "Check a health code",
        "A fresh health code of the logged-in person",
    )
    assert sorted(check["responses"]) == ["200", "400", "413", "422", "429", "503"]
    assert sorted(own["responses"]) == ["200", "401", "403", "409", "429", "503"]
    assert check["tags"] == own["tags"] == ["health"]


def test_the_check_answer_documents_each_field(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    answer = components["HealthCodeVerifyOut"]

    assert components["HealthCodeVerifyIn"]["properties"]["text"]["maxLength"] == 8192
    assert sorted(answer["properties"]) == [
        "action",
        "colour",
        "issuer",
        "masked_name",
        "message",
        "region",
        "valid",
        "valid_until",
        "verdict",
    ]
    for name in ("verdict", "colour", "action", "masked_name", "valid_until", "region"):
        assert answer["properties"][name].get("description"), name
