"""In a real browser: a checkpoint phone that goes on checking codes without network, and
a person's code page that replaces its code before it expires."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import base45  # type: ignore[import-untyped]
import pytest
from django.test import Client

from yiwang.certificates import keys, signedqr
from yiwang.certificates.models import SigningKey
from yiwang.core.models import Region
from yiwang.health import codes
from yiwang.health.tests.test_codes_issue import (
    colour_set,
    foreign_platform,
    reencode,
    verifier_cleared,
)
from yiwang.health.tests.test_codes_verify import signed_with
from yiwang.identity.models import Department
from yiwang.identity.tests.factories import DepartmentFactory, VerifiedUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _verifier_fresh() -> Iterator[None]:
    yield from verifier_cleared()


@pytest.fixture
def english(browser: Any, live_server: Any) -> Iterator[Any]:
    """A phone-sized page in English (the texts the tests compare), as ``page`` otherwise."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        locale="en-GB",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def signer(regions: None) -> Department:
    return DepartmentFactory(
        code="330100-WJ",
        name="杭州市卫生健康委员会",
        kind=Department.Kind.HEALTH,
        region=Region.objects.get(code="330100"),
    )


def person_with(colour: str, name: str) -> Any:
    person = VerifiedUserFactory(name=name, language="en")
    colour_set(person, colour)
    return person


def test_a_checkpoint_phone_checks_codes_without_network(english: Any, signer: Any) -> None:
    from playwright.sync_api import expect

    green = codes.health_code_issue(person=person_with("green", "林晓雯")).text
    red = codes.health_code_issue(person=person_with("red", "周子航")).text
    yellow = codes.health_code_issue(person=person_with("yellow", "王小明")).text
    tampered = reencode(green, lambda body: body[:-1] + bytes([body[-1] ^ 0x01]))
    page = english
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )

    page.goto("/health/checkpoint/")
    bundle = page.locator("#checkpoint-bundle")
    expect(bundle).to_have_attribute("data-state", "fresh")
    expect(bundle).to_have_attribute("data-kept", "yes")
    expect(page.locator("#checkpoint-bundle-status")).to_contain_text("(signing keys: 1)")
    page.context.set_offline(True)

    shown = [0]

    def check(text: str) -> Any:
        """Check a text; the locator waits for its own result (the page numbers them)."""
        page.locator("textarea[name=text]").fill(text)
        page.locator("#verify-form button[type=submit]").click()
        shown[0] += 1
        return page.locator(f"#checkpoint-outcome[data-sequence='{shown[0]}']")

    outcome = check(green)
    expect(outcome).to_have_attribute("data-checked", "phone")
    expect(outcome).to_have_attribute("data-action", "pass")
    expect(outcome).to_have_class("card checkpoint-result checkpoint-pass colour-green")
    expect(outcome.locator(".checkpoint-action")).to_have_text("Pass")
    expect(outcome.locator(".checkpoint-colour")).to_have_text("Green code")
    expect(outcome.locator(".checkpoint-name")).to_have_text("林**")
    expect(outcome.locator(".checkpoint-issuer")).to_have_text("杭州市卫生健康委员会 (330100)")

    outcome = check(red)
    expect(outcome).to_have_attribute("data-action", "refuse")
    expect(outcome.locator(".checkpoint-action")).to_have_text("Do not let through")
    expect(outcome.locator(".checkpoint-colour")).to_have_text("Red code")
    expect(outcome.locator(".checkpoint-name")).to_have_text("周**")

    outcome = check(tampered)
    expect(outcome).to_have_attribute("data-verdict", "bad_signature")
    expect(outcome).to_have_class("card checkpoint-result checkpoint-invalid")
    expect(outcome.locator(".checkpoint-action")).to_have_text("Not a valid health code")
    expect(outcome.locator(".checkpoint-message")).to_have_text(
        "The signature does not match the content: the code has been altered or forged."
    )

    outcome = check("https://pay.example.cn/qr?id=8812")
    expect(outcome).to_have_attribute("data-verdict", "wrong_prefix")

    # Still without network, the page comes back from the service worker, the trust list
    # from the phone's storage.
    page.reload()
    shown[0] = 0
    expect(bundle).to_have_attribute("data-state", "stored")
    outcome = check(yellow)
    expect(outcome).to_have_attribute("data-checked", "phone")
    expect(outcome.locator(".checkpoint-action")).to_have_text("Check further")
    expect(outcome.locator(".checkpoint-name")).to_have_text("王**")
    assert posts == []


def test_the_phone_gives_the_servers_verdict_for_each_failure(
    english: Any, signer: Any, settings: Any
) -> None:
    """The same texts checked on the phone and by the server get the same verdict."""
    from playwright.sync_api import expect

    issued = codes.health_code_issue(person=person_with("green", "林晓雯"))
    civil_affairs = DepartmentFactory(code="330106-MZ", kind=Department.Kind.CIVIL_AFFAIRS)
    certificate_key = keys.signing_key_create(
        department=civil_affairs, certificate_types=["CT-JHZ"]
    )
    health_key = SigningKey.objects.get(certificate_types=["health-code"])
    shanghai = foreign_platform()
    shanghai.configure(settings.CERTIFICATES_PEER_DIR)
    cose = signedqr.decompress(signedqr.base45_decode(issued.text.removeprefix("YWH1:")))
    texts = {
        "valid": issued.text,
        "configured region": shanghai.code(colour="red"),
        "unknown key": foreign_platform().code(),
        "certificate key": signed_with(
            keys.signing_key_private(certificate_key), bytes.fromhex(certificate_key.kid)
        ),
        "not a health code": signed_with(
            keys.signing_key_private(health_key),
            bytes.fromhex(health_key.kid),
            claims={"ver": 1, "t": "CT-JHZ", "c": "green", "n": "林**"},
        ),
        "base45": "YWH1:this is not base45",
        "zlib": "YWH1:" + base45.b45encode(b"not zlib data").decode(),
        "cbor": "YWH1:" + base45.b45encode(zlib.compress(b"\xff\x00 not cbor")).decode(),
        "trailing byte": signedqr.qr_text_encode(cose + b"\x00", prefix="YWH1:"),
        "zlib padded": "YWH1:" + base45.b45encode(zlib.compress(cose) + b"\x00").decode(),
        "too long": "YWH1:" + "A" * 8200,
    }
    expected = {name: codes.health_code_check(text) for name, text in texts.items()}
    page = english
    page.goto("/health/checkpoint/")
    expect(page.locator("#checkpoint-bundle")).to_have_attribute("data-state", "fresh")

    for sequence, (name, text) in enumerate(texts.items(), start=1):
        page.locator("textarea[name=text]").fill(text)
        page.locator("#verify-form button[type=submit]").click()
        outcome = page.locator(f"#checkpoint-outcome[data-sequence='{sequence}']")
        server = expected[name]
        expect(outcome, name).to_have_attribute("data-checked", "phone")
        expect(outcome, name).to_have_attribute("data-verdict", str(server.verdict or "valid"))
        expect(outcome, name).to_have_attribute("data-action", str(server.action or ""))
    assert {name: str(check.verdict) for name, check in expected.items()} == {
        "valid": "None",
        "configured region": "None",
        "unknown key": "unknown_key",
        "certificate key": "key_not_allowed",
        "not a health code": "bad_cbor",
        "base45": "bad_base45",
        "zlib": "bad_compression",
        "cbor": "bad_cbor",
        "trailing byte": "bad_cbor",
        "zlib padded": "bad_compression",
        "too long": "not_a_qr",
    }


def test_the_code_page_shows_a_new_code_before_the_old_one_expires(
    english: Any, signer: Any, settings: Any, live_server: Any
) -> None:
    import base64
    import re

    from playwright.sync_api import expect

    from yiwang.certificates.qrimage import qr_image_decode

    # 32 seconds of validity: the page asks for a new code 30 seconds before the end.
    settings.HEALTH_CODE_SECONDS = 32
    person = person_with("green", "林晓雯")
    client = Client()
    client.force_login(person)
    english.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = english

    page.goto("/health/code/")
    box = page.locator("#health-code")
    expect(page.locator("#health-code-colour")).to_have_text("Green code")
    expect(page.locator("#health-code-countdown")).to_have_text(re.compile(r"^0:[0-3]\d left$"))
    first = page.locator("#health-code-image").get_attribute("src")
    # Meanwhile a fact turns her code red: the next code shows it, without a reload.
    colour_set(person, "red")

    expect(page.locator("#health-code-status")).to_have_text("A new code is shown.", timeout=15_000)
    expect(page.locator("#health-code-colour")).to_have_text("Red code", timeout=15_000)
    expect(box).to_have_class("health-code colour-red")
    expect(page.locator("#health-code-image")).to_have_attribute(
        "alt", "Health code QR code: Red code"
    )
    source = page.locator("#health-code-image").get_attribute("src")
    assert source != first
    text = qr_image_decode(base64.b64decode(source.removeprefix("data:image/png;base64,")))
    assert (codes.health_code_check(text).colour, codes.health_code_check(text).action) == (
        "red",
        "refuse",
    )


def test_without_javascript_the_code_page_reloads_itself_with_a_new_code(
    browser: Any, live_server: Any, signer: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    # 35 seconds of validity: the page reloads itself 30 seconds before the end (after 5).
    settings.HEALTH_CODE_SECONDS = 35
    person = person_with("yellow", "林晓雯")
    client = Client()
    client.force_login(person)
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB", is_mobile=True
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    try:
        page.goto("/health/code/")
        first = page.locator("#health-code-image").get_attribute("src")
        expect(page.locator("#health-code-colour")).to_have_text("Yellow code")
        expect(page.locator("#health-code-countdown")).to_have_text("")  # no script, no clock

        with page.expect_navigation(timeout=20_000):
            pass

        expect(page.locator("#health-code-colour")).to_have_text("Yellow code")
        assert page.locator("#health-code-image").get_attribute("src") != first
    finally:
        context.close()
