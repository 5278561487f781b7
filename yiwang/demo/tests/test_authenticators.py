"""Demo staff personas log in with a second factor whose secret the persona list publishes."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from yiwang.demo.loader import demo_load
from yiwang.demo.personas import DEMO_PASSWORD, PERSONAS, demo_authenticator_key, persona_get
from yiwang.identity.authenticator import authenticator_secret
from yiwang.identity.models import User

pytestmark = pytest.mark.django_db

STAFF = [p for p in PERSONAS if p.is_staff]


@pytest.fixture
def loaded(regions):
    return demo_load()


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_each_staff_persona_has_a_confirmed_authenticator_with_the_published_secret(loaded):
    assert len(STAFF) == 14
    assert loaded.authenticators.created == 14
    for persona in PERSONAS:
        devices = TOTPDevice.objects.filter(user__phone=persona.phone)
        if persona.is_staff:
            device = devices.get()
            assert device.confirmed
            assert device.key == demo_authenticator_key(persona.phone)
        else:
            assert not devices.exists(), persona.key
    # Each persona's secret is its own.
    assert len({demo_authenticator_key(p.phone) for p in STAFF}) == 14


def test_loading_again_keeps_the_authenticators_and_one_a_persona_set_up_themselves(loaded):
    clerk = User.objects.get(phone=persona_get("ga_clerk").phone)
    TOTPDevice.objects.filter(user=clerk).update(key="ab" * 20)

    summary = demo_load()

    assert (summary.authenticators.created, summary.authenticators.unchanged) == (0, 14)
    assert not summary.changed
    assert TOTPDevice.objects.get(user=clerk).key == "ab" * 20


def test_the_guide_prints_the_key_and_the_command_beside_each_staff_persona(loaded):
    guide = _run("demo_personas")

    for persona in STAFF:
        secret = authenticator_secret(demo_authenticator_key(persona.phone))
        assert f"Authenticator key: {secret}" in guide
        assert f"demo_totp {persona.phone}" in guide
    citizen = persona_get("expectant_mother")
    assert f"demo_totp {citizen.phone}" not in guide


def test_demo_totp_prints_a_code_that_logs_the_persona_in(loaded):
    persona = persona_get("ga_clerk")
    client = Client()
    client.post("/accounts/login/", {"phone": persona.phone, "password": DEMO_PASSWORD})

    printed = _run("demo_totp", persona.phone)

    code = re.match(r"(\d{6})  \(", printed).group(1)
    response = client.post("/accounts/mfa/", {"code": code})
    assert response.status_code == 302
    assert client.get("/accounts/staff/").status_code == 200


@pytest.mark.parametrize("phone", ["13800000012", "13912345678"])
def test_demo_totp_refuses_citizen_personas_and_other_accounts(loaded, phone):
    with pytest.raises(CommandError, match="not a demo staff persona"):
        _run("demo_totp", phone)


def test_demo_totp_refuses_after_a_reset(loaded):
    persona = persona_get("ga_reviewer")
    TOTPDevice.objects.filter(user__phone=persona.phone).delete()

    with pytest.raises(CommandError, match="does not have the demo authenticator"):
        _run("demo_totp", persona.phone)
