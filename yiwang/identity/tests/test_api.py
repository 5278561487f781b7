from __future__ import annotations

import re

import pytest
from django.test import Client

from yiwang.core.models import SmsOutboxMessage
from yiwang.exchange.tests.factories import (
    LegalPersonRecordFactory,
    PopulationRecordFactory,
    resident_id,
)
from yiwang.identity import services
from yiwang.identity.models import AssuranceLevel, Organisation, User
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
STRONG = "Xk9#mzLq2-qq"


def assert_error_body(response, status, code, fields=()):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert set(body["fields"]) == set(fields)
    return body


def test_register_through_the_api_then_read_me_with_the_session():
    client = Client()
    response = client.post(
        "/api/v1/auth/sms-codes", {"phone": PHONE}, content_type="application/json"
    )
    assert response.status_code == 202
    code = re.search(r"\d{6}", SmsOutboxMessage.objects.get().body).group(0)

    response = client.post(
        "/api/v1/auth/register",
        {"phone": PHONE, "code": code, "password": STRONG},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json()["acr"] == "L1"
    assert response.json()["phone"] == "138****5678"


def test_register_with_a_missing_field_names_it_in_chinese():
    response = Client().post(
        "/api/v1/auth/register", {"phone": PHONE, "code": "123456"}, content_type="application/json"
    )

    body = assert_error_body(response, 422, "validation_failed", ["password"])
    assert body["fields"]["password"] == ["这个字段是必填项。"]


def test_errors_are_in_english_when_the_client_asks_for_english():
    response = Client().post(
        "/api/v1/auth/sms-codes",
        {"phone": "123"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    body = assert_error_body(response, 422, "phone_format", ["phone"])
    assert body["fields"]["phone"] == ["Enter an 11-digit mainland mobile number."]


def test_a_malformed_json_body_is_a_422_not_a_500():
    response = Client().post("/api/v1/auth/register", "{not json", content_type="application/json")

    assert response.status_code in (400, 422)
    assert set(response.json()) == {"code", "message", "fields"}


def test_asking_for_codes_too_fast_is_a_429_with_retry_after():
    client = Client()
    client.post("/api/v1/auth/sms-codes", {"phone": PHONE}, content_type="application/json")

    response = client.post(
        "/api/v1/auth/sms-codes", {"phone": PHONE}, content_type="application/json"
    )

    assert_error_body(response, 429, "rate_limited", ["phone"])
    assert 0 < int(response["Retry-After"]) <= 60


def test_me_without_login_is_a_401():
    assert_error_body(Client().get("/api/v1/me"), 401, "not_authenticated")


def test_me_shows_identifiers_masked():
    user = VerifiedUserFactory()
    client = Client()
    client.force_login(user)

    body = client.get("/api/v1/me").json()

    assert body["id_number"] == user.id_number[:4] + "*" * 10 + user.id_number[-4:]
    assert user.id_number not in str(body)
    assert body["acr"] == "L2"


def test_real_name_verification_through_the_api():
    record = PopulationRecordFactory(name="周晓明")
    user = UserFactory()
    client = Client()
    client.force_login(user)

    response = client.post(
        "/api/v1/me/real-name-verification",
        {"name": "周晓明", "id_number": record.id_number},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["assurance_level"] == AssuranceLevel.L2


def test_an_id_bound_to_another_account_is_a_409_on_the_id_field():
    taken = VerifiedUserFactory()
    client = Client()
    client.force_login(UserFactory())

    response = client.post(
        "/api/v1/me/real-name-verification",
        {"name": taken.name, "id_number": taken.id_number},
        content_type="application/json",
    )

    assert_error_body(response, 409, "id_number_bound", ["id_number"])


def test_a_wrong_checksum_is_a_422_on_the_id_field():
    client = Client()
    client.force_login(UserFactory())
    good = resident_id(5)
    bad = good[:17] + ("0" if good[-1] != "0" else "1")

    response = client.post(
        "/api/v1/me/real-name-verification",
        {"name": "周晓明", "id_number": bad},
        content_type="application/json",
    )

    assert_error_body(response, 422, "id_checksum", ["id_number"])


def test_session_writes_without_the_csrf_token_are_refused():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())

    response = client.post("/api/v1/me/tokens", {"name": "x"}, content_type="application/json")

    assert_error_body(response, 403, "csrf_failed")


def test_a_bearer_token_authenticates_reads_and_writes_without_csrf():
    user = UserFactory()
    _token, secret = services.api_token_create(user=user, name="脚本")
    client = Client(enforce_csrf_checks=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    assert client.get("/api/v1/me", **auth).json()["id"] == user.pk
    response = client.post(
        "/api/v1/me/tokens", {"name": "第二个"}, content_type="application/json", **auth
    )

    assert response.status_code == 201
    assert response.json()["secret"].startswith("ywt_")


def test_a_wrong_bearer_token_is_a_401():
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer ywt_deadbeef_nope")

    assert_error_body(response, 401, "not_authenticated")


def test_token_list_never_shows_secrets_and_is_scoped_to_the_owner():
    user = UserFactory()
    services.api_token_create(user=user, name="mine")
    services.api_token_create(user=UserFactory(), name="theirs")
    client = Client()
    client.force_login(user)

    body = client.get("/api/v1/me/tokens").json()

    assert [t["name"] for t in body] == ["mine"]
    assert "secret" not in body[0]


def test_revoking_a_token_through_the_api():
    user = UserFactory()
    token, secret = services.api_token_create(user=user, name="t")
    client = Client()
    client.force_login(user)

    assert client.delete(f"/api/v1/me/tokens/{token.pk}").status_code == 204
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_organisation_link_and_agent_grant_through_the_api():
    owner = VerifiedUserFactory()
    company = LegalPersonRecordFactory(
        legal_representative_name=owner.name, legal_representative_id_number=owner.id_number
    )
    agent = VerifiedUserFactory()
    client = Client()
    client.force_login(owner)

    response = client.post(
        "/api/v1/me/organisations",
        {"uscc": company.uscc, "name": company.name},
        content_type="application/json",
    )
    assert response.status_code == 201
    organisation_id = response.json()["id"]
    response = client.post(
        f"/api/v1/organisations/{organisation_id}/agents",
        {"agent_phone": agent.phone, "valid_until": "2099-01-01"},
        content_type="application/json",
    )
    assert_error_body(response, 422, "validation_failed", ["valid_until"])
    response = client.post(
        f"/api/v1/organisations/{organisation_id}/agents",
        {"agent_phone": agent.phone, "valid_until": "2027-06-30"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["agent_phone"] == agent.masked_phone

    agent_client = Client()
    agent_client.force_login(agent)
    assert [a["organisation"]["uscc"] for a in agent_client.get("/api/v1/me/agencies").json()] == [
        company.uscc
    ]


def test_another_user_cannot_see_or_manage_an_organisations_agents():
    owner = VerifiedUserFactory()
    company = LegalPersonRecordFactory(legal_representative_id_number=owner.id_number)
    organisation = services.organisation_register(user=owner, uscc=company.uscc, name=company.name)
    client = Client()
    client.force_login(VerifiedUserFactory())

    assert_error_body(
        client.get(f"/api/v1/organisations/{organisation.pk}/agents"), 404, "not_found"
    )
    response = client.post(
        f"/api/v1/organisations/{organisation.pk}/agents",
        {"agent_phone": owner.phone, "valid_until": "2027-06-30"},
        content_type="application/json",
    )
    assert_error_body(response, 404, "not_found")
    assert Organisation.objects.get().agents.count() == 0


def test_in_person_verification_needs_a_clerk():
    person = VerifiedUserFactory()
    client = Client()
    client.force_login(VerifiedUserFactory())

    response = client.post(
        "/api/v1/staff/in-person-verifications",
        {"id_number": person.id_number, "name": person.name},
        content_type="application/json",
    )

    assert_error_body(response, 403, "permission_denied")
    clerk = StaffRoleFactory(role="clerk").user
    client.force_login(clerk)
    response = client.post(
        "/api/v1/staff/in-person-verifications",
        {"id_number": person.id_number, "name": person.name},
        content_type="application/json",
    )
    assert response.json()["acr"] == "L3"
    assert User.objects.get(pk=person.pk).in_person_verified_by == clerk


def test_departments_list_filters_by_region_in_two_queries_or_fewer(django_assert_max_num_queries):
    DepartmentFactory.create_batch(3)

    with django_assert_max_num_queries(2):
        body = Client().get("/api/v1/departments?region=330106").json()

    assert len(body) == 3
    assert {d["region_code"] for d in body} == {"330106"}


def test_unexpected_errors_become_a_500_with_the_error_body(monkeypatch):
    def explode(user):
        raise RuntimeError("boom")

    monkeypatch.setattr("yiwang.identity.api.selectors.staff_roles_for_user", explode)
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())

    response = client.get("/api/v1/me/staff-roles")

    assert_error_body(response, 500, "server_error")
