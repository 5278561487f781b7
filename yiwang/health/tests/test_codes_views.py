"""The pages: a person's code, and the checkpoint (its form, trust bundle and worker)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.certificates import signedqr
from yiwang.certificates.qrimage import qr_image_decode, qr_image_encode
from yiwang.certificates.signedqr import Verdict
from yiwang.health import code_views, codes
from yiwang.health.tests.test_codes_issue import (
    city_health_department,
    colour_set,
    reencode,
    verifier_cleared,
)
from yiwang.identity.models import Department
from yiwang.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _verifier_fresh() -> Iterator[None]:
    yield from verifier_cleared()


@pytest.fixture
def city_health(db: None) -> Department:
    return city_health_department()


CODE = "/health/code/"
CHECKPOINT = "/health/checkpoint/"
TRUST = "/health/checkpoint/trust.json"


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def holder(person: Any, city_health: Any) -> Any:
    person.name = "林晓雯"
    person.language = "en"
    person.save(update_fields=["name", "language"])
    return person


def qr_text_of(page: str) -> str:
    found = re.search(r'id="health-code-image" src="data:image/png;base64,([^"]+)"', page)
    assert found is not None
    return qr_image_decode(base64.b64decode(found.group(1)))


# ---------------------------------------------------------------------------------------
# The person's code


def test_the_code_page_shows_colour_in_words_qr_name_and_validity(
    client: Client, holder: Any
) -> None:
    colour_set(holder, "yellow")
    client.force_login(holder)

    response = client.get(CODE)

    page = response.content.decode()
    issued = response.context["code"]
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert issued.colour == "yellow"
    assert '<section class="health-code colour-yellow" id="health-code"' in page
    assert '<h2 class="health-code-colour" id="health-code-colour">Yellow code</h2>' in page
    assert '<p class="health-code-name" id="health-code-name">林**</p>' in page
    expires = timezone.localtime(issued.expires_at)
    assert f"Valid until {expires:%H:%M:%S}" in page
    assert f'data-expires="{expires.isoformat()}"' in page
    assert 'data-api="/api/v1/health/codes/mine"' in page
    assert 'alt="Health code QR code: Yellow code"' in page
    assert holder.id_number not in page
    assert holder.name not in page
    # The QR code is the signed code, and it verifies.
    text = qr_text_of(page)
    assert text == issued.text
    assert codes.health_code_check(text).colour == "yellow"


def test_without_javascript_the_page_reloads_before_the_code_expires(
    client: Client, holder: Any
) -> None:
    colour_set(holder, "green")
    client.force_login(holder)

    page = client.get(CODE).content.decode()

    # 300 seconds of validity, a new page 30 seconds before the end (a second may pass).
    assert re.search(r'<noscript><meta http-equiv="refresh" content="(269|270)"></noscript>', page)
    assert '<script src="/static/health/code-refresh.js" defer></script>' in page


def test_the_code_page_needs_a_login(client: Client) -> None:
    response = client.get(CODE)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/health/code/"


def test_a_person_without_a_verified_identity_is_sent_to_verify_it(
    client: Client, city_health: Any
) -> None:
    client.force_login(UserFactory(language="en"))

    response = client.get(CODE)

    page = response.content.decode()
    assert response.status_code == 403
    assert "A health code is issued only to a person whose real name is verified." in page
    assert 'href="/accounts/verify/"' in page


def test_a_person_without_a_colour_is_told_what_to_do(client: Client, holder: Any) -> None:
    client.force_login(holder)

    response = client.get(CODE)

    assert response.status_code == 409
    assert "Your health code has no colour yet. Make a health declaration first" in (
        response.content.decode()
    )


def test_switched_off_the_code_page_says_codes_are_not_in_use(
    client: Client, holder: Any, settings: Any
) -> None:
    colour_set(holder, "green")
    settings.HEALTH_EMERGENCY_ENABLED = False
    client.force_login(holder)

    response = client.get(CODE)

    page = response.content.decode()
    assert response.status_code == 200
    assert '<section class="card health-code-off" id="health-code-off" role="status">' in page
    assert "Health codes are not in use" in page
    assert "health-code-image" not in page


def test_the_code_page_answers_get_only(client: Client, holder: Any) -> None:
    client.force_login(holder)

    assert client.post(CODE).status_code == 405


# ---------------------------------------------------------------------------------------
# The checkpoint page


def test_the_checkpoint_is_open_to_everyone_and_works_without_javascript(client: Client) -> None:
    response = client.get(CHECKPOINT)

    page = response.content.decode()
    assert response.status_code == 200
    assert '<form method="post" enctype="multipart/form-data" action="/health/checkpoint/"' in page
    assert '<textarea name="text"' in page
    assert "e.g. YWH1:…" in page
    assert '<div class="field verify-camera" id="verify-camera" hidden' in page
    assert 'src="/static/certificates/verify-camera.js" defer' in page
    assert '<script src="/static/health/checkpoint.js" defer></script>' in page
    assert 'data-trust-url="/health/checkpoint/trust.json"' in page
    assert 'data-worker-url="/health/checkpoint/sw.js"' in page
    found = re.search(
        r'<script id="checkpoint-messages" type="application/json">(.*?)</script>', page
    )
    assert found is not None
    messages = json.loads(found.group(1))
    assert messages["verdicts"] == {
        str(verdict): str(message) for verdict, message in codes.VERDICT_MESSAGES.items()
    }
    assert messages["actions"] == {
        "pass": "Pass",
        "flag": "Check further",
        "refuse": "Do not let through",
    }
    assert messages["colours"] == {
        "green": "Green code",
        "yellow": "Yellow code",
        "red": "Red code",
    }


@pytest.mark.parametrize(
    ("colour", "action", "heading"),
    [
        ("green", "pass", "Pass"),
        ("yellow", "flag", "Check further"),
        ("red", "refuse", "Do not let through"),
    ],
)
def test_a_pasted_code_is_checked_online_and_its_action_shown(
    client: Client, holder: Any, colour: str, action: str, heading: str
) -> None:
    colour_set(holder, colour)
    issued = codes.health_code_issue(person=holder)

    response = client.post(CHECKPOINT, {"text": f"  {issued.text}\n"})

    page = response.content.decode()
    check = response.context["check"]
    assert response.status_code == 200
    assert (check.valid, check.colour, check.action) == (True, colour, action)
    assert f'<section class="card checkpoint-result checkpoint-{action} colour-{colour}"' in page
    assert f'data-verdict="valid" data-action="{action}" data-checked="server"' in page
    assert f'id="checkpoint-outcome-heading">{heading}</h2>' in page
    assert '<dd class="checkpoint-name">林**</dd>' in page
    assert '<dd class="checkpoint-issuer">杭州市卫生健康委员会 (330100)</dd>' in page
    assert holder.id_number[-4:] not in page
    # The form comes back with the checked text, for the next look.
    assert response.context["form"].initial == {"text": issued.text}


def test_a_tampered_code_shows_its_verdict_in_plain_words(client: Client, holder: Any) -> None:
    colour_set(holder, "green")
    text = codes.health_code_issue(person=holder).text
    tampered = reencode(text, lambda body: body[:-1] + bytes([body[-1] ^ 0x01]))

    response = client.post(CHECKPOINT, {"text": tampered})

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-verdict="bad_signature" data-action="" data-checked="server"' in page
    assert "Not a valid health code" in page
    assert "The signature does not match the content" in page
    assert "<code>bad_signature</code>" in page


def test_a_photo_of_a_code_is_read_and_checked(client: Client, holder: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    colour_set(holder, "red")
    text = codes.health_code_issue(person=holder).text
    photo = SimpleUploadedFile("code.png", qr_image_encode(text), content_type="image/png")

    response = client.post(CHECKPOINT, {"image": photo})

    assert (response.context["check"].action, response.context["form"].initial) == (
        "refuse",
        {"text": text},
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": ""}, "Paste the text of a QR code, or choose a photo of the code."),
        ({"text": "   "}, "Paste the text of a QR code, or choose a photo of the code."),
        (
            {"text": "A" * (signedqr.MAX_TEXT_LENGTH + 1)},
            "This text is longer than any QR code can hold (at most 8192 characters).",
        ),
    ],
    ids=["empty", "blank", "oversized"],
)
def test_empty_or_oversized_input_is_a_field_error(
    client: Client, data: dict[str, str], message: str
) -> None:
    response = client.post(CHECKPOINT, data)

    assert response.status_code == 422
    assert response.context["check"] is None
    assert message in response.content.decode()
    assert list(response.context["form"].errors) == ["text"]


@pytest.mark.parametrize(
    "text",
    ["\x00\x01binary", "YWH1:\ufffd\ufffd", "YWH1:%%%", "YWH1:" + "Z" * 8000, "💥" * 100],
    ids=["control", "replacement", "base45", "long", "emoji"],
)
def test_no_input_gives_a_server_error(client: Client, text: str) -> None:
    response = client.post(CHECKPOINT, {"text": text})

    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert isinstance(response.context["check"].verdict, Verdict)


def test_one_address_checking_too_many_codes_is_asked_to_wait(client: Client) -> None:
    for _ in range(code_views.CHECKS_PER_MINUTE):
        assert client.post(CHECKPOINT, {"text": "x"}).status_code == 200

    refused = client.post(CHECKPOINT, {"text": "x"})
    other_address = client.post(CHECKPOINT, {"text": "x"}, REMOTE_ADDR="192.0.2.7")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.context["check"] is None
    assert "Too many requests. Please try again later." in refused.content.decode()
    assert other_address.status_code == 200


def test_switched_off_the_checkpoint_says_codes_are_not_in_use(
    client: Client, settings: Any
) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False

    for response in (client.get(CHECKPOINT), client.post(CHECKPOINT, {"text": "YWH1:AB"})):
        assert response.status_code == 200
        assert "Health codes are not in use" in response.content.decode()
        assert "check" not in response.context


# ---------------------------------------------------------------------------------------
# The trust bundle and the service worker


def test_the_trust_bundle_is_public_json_fetched_afresh(client: Client, holder: Any) -> None:
    colour_set(holder, "green")
    codes.health_code_issue(person=holder)

    response = client.get(TRUST)

    bundle = response.json()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-cache"
    assert (bundle["format"], bundle["type"], bundle["prefixes"]) == (1, "health-code", ["YWH1:"])
    assert [entry["issuer"] for entry in bundle["keys"]] == ["杭州市卫生健康委员会"]
    assert "杭州市卫生健康委员会" in response.content.decode()  # UTF-8, not \\u escapes


def test_switched_off_the_trust_bundle_answers_503(client: Client, settings: Any) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False

    response = client.get(TRUST)

    assert response.status_code == 503
    assert response.json() == {
        "code": "health_disabled",
        "message": "Health codes are switched off.",
        "fields": {},
    }


def test_the_service_worker_is_served_from_the_checkpoints_path(client: Client) -> None:
    response = client.get("/health/checkpoint/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert b'var CACHE = "yiwang-health-checkpoint-v1";' in response.content
    assert client.post("/health/checkpoint/sw.js").status_code == 405
