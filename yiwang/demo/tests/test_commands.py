from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from yiwang.demo.personas import PERSONAS, UNCLAIMED_RESIDENTS
from yiwang.identity import services
from yiwang.identity.models import User

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_demo_load_prints_a_summary_and_says_when_nothing_changed(regions):
    first = _run("demo_load")
    second = _run("demo_load")

    assert "人口库 Population registry" in first
    assert re.search(r"人口库 Population registry\s+226\s+226\s+0", first)
    assert "Demo loaded" in first
    assert re.search(r"人口库 Population registry\s+226\s+0\s+0", second)
    assert "nothing changed" in second


def test_every_persona_can_log_in_with_the_printed_phone_and_password(regions):
    _run("demo_load")

    guide = _run("demo_personas")

    password = re.search(r"Password for every account: (\S+)", guide).group(1)
    phones = re.findall(r"\b(1380000\d{4})\s+" + re.escape(password), guide)
    assert phones == [p.phone for p in PERSONAS]
    for phone in phones:
        client = Client()
        response = client.post("/accounts/login/", {"phone": phone, "password": password})
        assert response.status_code == 302, phone
        assert client.session["_auth_user_id"] == str(User.objects.get(phone=phone).pk)


def test_demo_personas_prints_roles_names_urls_and_the_unclaimed_residents(regions):
    _run("demo_load")

    guide = _run("demo_personas", "--base-url", "http://demo.example:9000/")

    for persona in PERSONAS:
        assert persona.role_zh in guide
        assert persona.role_en in guide
        assert persona.name in guide
        assert persona.try_zh in guide
    for resident in UNCLAIMED_RESIDENTS:
        assert f"{resident.name}  {resident.id_number}" in guide
    assert "already claimed" not in guide
    for path in ("/admin/", "/api/v1/docs", "/dev/sms/", "/accounts/login/"):
        assert f"http://demo.example:9000{path}" in guide
    # The L1 persona's own registry entry, to verify with.
    unverified = next(p for p in PERSONAS if p.level == 1)
    assert f"Verify with: {unverified.name}  {unverified.id_number}" in guide


def test_demo_personas_marks_an_unclaimed_resident_someone_verified_as(regions):
    _run("demo_load")
    resident = UNCLAIMED_RESIDENTS[2]
    newcomer = User.objects.create_user(phone="13912345678", password="Whatever-12345")
    services.person_verify_real_name(
        user=newcomer, name=resident.name, id_number=resident.id_number
    )

    guide = _run("demo_personas")

    assert f"{resident.id_number}  (已被认领 already claimed)" in guide
    assert guide.count("already claimed") == 1


def test_demo_personas_prints_without_a_loaded_demo():
    guide = _run("demo_personas")

    assert "13800000001" in guide
