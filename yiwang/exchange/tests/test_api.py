from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.exchange import services
from yiwang.exchange.log import LogEntry, log_append
from yiwang.exchange.models import AccessGrant, Consent, DataResource
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_catalogue_lists_resources_with_fields_and_service_ids(data_exchange):
    client = client_for(VerifiedUserFactory())

    listed = client.get("/api/v1/exchange/resources").json()
    one = client.get("/api/v1/exchange/resources/birth-medical-record").json()

    assert len(listed) == 11
    assert one["service_id"] == "CN-ZJ/GOV/330100-WJ/registry/birth-medical-record"
    assert one["requires_consent"] is True
    assert {f["name"]: f["sensitivity"] for f in one["fields"]}["mother_id_number"] == 4
    assert client.get("/api/v1/exchange/resources/nothing").status_code == 404


def test_officers_request_decide_and_revoke_through_the_api(system, officer, provider_officer):
    asked = client_for(officer).post(
        "/api/v1/exchange/grants",
        {
            "consumer_department": "330106-GA",
            "consumer_system": "household-system",
            "resource": "birth-medical-record",
            "fields": ["certificate_number", "child_name"],
            "purpose": "新生儿入户",
            "legal_basis": "《中华人民共和国户口登记条例》第七条",
            "duration_days": 365,
        },
        content_type="application/json",
    )
    assert asked.status_code == 201, asked.json()
    grant_id = asked.json()["id"]
    assert asked.json()["status"] == "requested"

    provider = client_for(provider_officer)
    incoming = provider.get("/api/v1/exchange/grants?direction=incoming").json()
    # Besides the platform's standing prefill grant, the request waits for the provider.
    assert [g["id"] for g in incoming if g["status"] == "requested"] == [grant_id]
    denied_without_reason = provider.post(
        f"/api/v1/exchange/grants/{grant_id}/decision",
        {"approve": False},
        content_type="application/json",
    )
    assert denied_without_reason.status_code == 422
    approved = provider.post(
        f"/api/v1/exchange/grants/{grant_id}/decision",
        {"approve": True, "comment": "同意"},
        content_type="application/json",
    ).json()
    assert (approved["status"], approved["active"]) == ("approved", True)
    # The consumer's officer may not decide; a stranger does not even see the grant.
    again = client_for(officer).post(
        f"/api/v1/exchange/grants/{grant_id}/decision",
        {"approve": True},
        content_type="application/json",
    )
    assert again.status_code == 403
    stranger = client_for(VerifiedUserFactory())
    assert stranger.post(f"/api/v1/exchange/grants/{grant_id}/revoke").status_code == 404

    revoked = client_for(officer).post(f"/api/v1/exchange/grants/{grant_id}/revoke").json()
    assert revoked["status"] == "revoked"
    assert AccessGrant.objects.get(pk=grant_id).revoked_at is not None


def test_a_grant_request_with_errors_gives_field_messages(system, officer):
    response = client_for(officer).post(
        "/api/v1/exchange/grants",
        {
            "consumer_department": "330106-GA",
            "consumer_system": "household-system",
            "resource": "birth-medical-record",
            "fields": [],
            "purpose": "",
            "legal_basis": "",
            "duration_days": 0,
        },
        content_type="application/json",
    )

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"fields", "purpose", "legal_basis", "duration_days"}


def test_a_person_sees_only_her_data_uses_and_consents(data_exchange):
    her, other = VerifiedUserFactory(), VerifiedUserFactory()
    for person, purpose in ((her, "实名认证"), (other, "别人的事")):
        log_append(
            LogEntry(
                request_id="r",
                consumer="330100-DSJ/yiwang-identity",
                provider="330100-GA",
                service="population-basic",
                purpose=purpose,
                request_digest="0" * 64,
                outcome="ok",
                status_code=200,
                subject_digest=services.subject_digest(person.id_number),
                fields="name,status",
            )
        )
    consent = services.consent_give(
        subject=her,
        department=data_exchange_department("330100-RS"),
        resources=[DataResource.objects.get(code="housing-fund")],
        purpose="退休一件事",
        days=30,
    )
    services.consent_give(
        subject=other,
        department=data_exchange_department("330100-RS"),
        resources=[DataResource.objects.get(code="housing-fund")],
        purpose="别人的",
        days=30,
    )
    client = client_for(her)

    uses = client.get("/api/v1/me/data-uses").json()
    consents = client.get("/api/v1/me/consents").json()

    assert [(u["purpose"], u["resource"], u["fields"]) for u in uses] == [
        ("实名认证", "人口基本信息", ["姓名", "人口状态"])
    ]
    assert uses[0]["consumer_system"] == "一网统一身份认证"
    assert [c["purpose"] for c in consents] == ["退休一件事"]
    assert consents[0]["active"] is True
    revoked = client.post(f"/api/v1/me/consents/{consent.pk}/revoke").json()
    assert revoked["active"] is False
    assert client.post(f"/api/v1/me/consents/{consent.pk}/revoke").status_code == 409
    others = Consent.objects.exclude(subject=her).get()
    assert client.post(f"/api/v1/me/consents/{others.pk}/revoke").status_code == 404
    assert others.expires_at > timezone.now() + datetime.timedelta(days=29)


def data_exchange_department(code):
    from yiwang.identity.models import Department

    return Department.objects.get(code=code)
