from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.db import DatabaseError
from django.utils import timezone

from yiwang.core.errors import Conflict, PermissionDenied, ValidationFailed
from yiwang.exchange import services
from yiwang.exchange.models import AccessGrant, DataResource, ExchangeLogRecord
from yiwang.exchange.records import HouseholdMember
from yiwang.exchange.services import ExchangeRequest, exchange_fetch
from yiwang.exchange.tests.conftest import grant
from yiwang.exchange.tests.factories import PopulationRecordFactory
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db


def fetch(system, service="population-basic", subject="", purpose="户口迁移审查", **kw):
    return exchange_fetch(
        consumer=system,
        request=ExchangeRequest(service=service, subject=subject, purpose=purpose, **kw),
    )


def last_log() -> ExchangeLogRecord:
    return ExchangeLogRecord.objects.order_by("-seq").first()


# --- the governed read -----------------------------------------------------------------


def test_a_granted_read_returns_granted_fields_masked_by_policy_and_is_logged(system):
    person = PopulationRecordFactory(name="陈昊然")
    grant(system, "population-basic", ["name", "gender", "household_address", "status"],
          clear=["name"])  # fmt: skip

    result = fetch(system, subject=person.id_number, issue="330106GA2026112200001")

    assert result.records == [
        {"name": "陈昊然", "gender": "M", "household_address": "***", "status": "normal"}
    ]
    log = last_log()
    assert (log.seq, log.outcome, log.status_code) == (result.log_seq, "ok", 200)
    assert (log.consumer, log.provider, log.service) == (
        "330106-GA/household-system",
        "330100-GA",
        "population-basic",
    )
    assert log.purpose == "户口迁移审查"
    assert log.issue == "330106GA2026112200001"
    assert log.subject_digest == services.subject_digest(person.id_number)
    assert person.id_number not in log.subject_masked
    assert log.fields == "name,gender,household_address,status"


def test_a_field_not_granted_in_clear_is_masked(system):
    person = PopulationRecordFactory(name="陈昊然")
    grant(system, "population-basic", ["id_number", "name"])

    (record,) = fetch(system, subject=person.id_number).records

    assert record == {"id_number": person.id_number[:4] + "*" * 10 + person.id_number[-4:],
                      "name": "陈**"}  # fmt: skip


def test_asking_for_fine_grained_fields_returns_only_those(system):
    person = PopulationRecordFactory()
    grant(system, "population-basic", ["name", "gender", "status"], clear=["name"])

    result = fetch(system, subject=person.id_number, fields=["status"])

    assert result.records == [{"status": "normal"}]


def test_a_subject_without_records_gives_an_empty_list(system):
    grant(system, "population-basic", ["status"])

    assert fetch(system, subject="110101199003074477").records == []


@pytest.mark.parametrize(
    ("setup", "kwargs", "error", "fragment"),
    [
        ("none", {}, services.AccessDenied, "no valid grant"),
        ("expired", {}, services.AccessDenied, "no valid grant"),
        ("revoked", {}, services.AccessDenied, "no valid grant"),
        ("future", {}, services.AccessDenied, "no valid grant"),
        ("grant", {"fields": ["birth_date"]}, services.AccessDenied, "outside the grant"),
        ("grant", {"fields": ["salary"]}, services.BadRequest, "unknown fields"),
        ("grant", {"purpose": " "}, services.BadRequest, "purpose"),
        ("grant", {"subject": "330106199503120000"}, services.BadRequest, "ID number"),
        ("grant", {"service": "tax-records"}, services.UnknownService, "tax-records"),
    ],
)
def test_each_refusal_has_its_type_leaks_nothing_and_is_logged(
    system, setup, kwargs, error, fragment
):
    person = PopulationRecordFactory()
    if setup != "none":
        g = grant(system, "population-basic", ["name", "status"])
        if setup == "expired":
            g.valid_from = timezone.now() - datetime.timedelta(days=40)
            g.expires_at = timezone.now() - datetime.timedelta(days=10)
            g.save()
        elif setup == "revoked":
            g.status = AccessGrant.Status.REVOKED
            g.save()
        elif setup == "future":
            g.valid_from = timezone.now() + datetime.timedelta(days=1)
            g.save()
    arguments = {"subject": person.id_number, **kwargs}

    with pytest.raises(error, match=fragment):
        fetch(system, **arguments)

    log = last_log()
    assert (log.outcome, log.status_code) == (error.type, error.status)
    assert log.response_digest == ""
    assert log.fields == ""


def test_an_unknown_or_inactive_consumer_is_refused_and_logged(system):
    person = PopulationRecordFactory()
    grant(system, "population-basic", ["status"])
    system.is_active = False
    system.save()

    with pytest.raises(services.Unauthenticated):
        fetch(system, subject=person.id_number)
    with pytest.raises(services.Unauthenticated):
        exchange_fetch(
            consumer=None,
            consumer_label="CN-ZJ/GOV/330106-XX/ghost",
            request=ExchangeRequest(service="population-basic", subject="", purpose="x"),
        )

    assert list(ExchangeLogRecord.objects.values_list("consumer", "outcome")) == [
        ("330106-GA/household-system", "Client.Unauthenticated"),
        ("CN-ZJ/GOV/330106-XX/ghost", "Client.Unauthenticated"),
    ]


def test_a_resource_needing_consent_is_read_only_with_a_live_consent(system):
    citizen = VerifiedUserFactory()
    grant(system, "household-register", ["relationship_to_head"])
    HouseholdMember.objects.create(
        household_number="330106012001",
        id_number=citizen.id_number,
        name=citizen.name,
        relationship_to_head="户主",
        head_id_number=citizen.id_number,
        household_type="家庭户",
        region_code="330106012",
        address="浙江省杭州市西湖区蒋村街道岚湖家园6幢1单元1202室",
        registered_on=datetime.date(2020, 5, 6),
    )

    with pytest.raises(services.ConsentRequired):
        fetch(system, service="household-register", subject=citizen.id_number)

    consent = services.consent_give(
        subject=citizen,
        department=system.department,
        resources=[DataResource.objects.get(code="household-register")],
        purpose="户口迁移",
        days=30,
    )
    result = fetch(system, service="household-register", subject=citizen.id_number)
    assert result.records == [{"relationship_to_head": "户主"}]

    services.consent_revoke(subject=citizen, consent=consent)
    with pytest.raises(services.ConsentRequired):
        fetch(system, service="household-register", subject=citizen.id_number)


def test_a_consent_to_another_department_does_not_count(system, data_exchange):
    from yiwang.identity.models import Department

    citizen = VerifiedUserFactory()
    grant(system, "household-register", ["relationship_to_head"])
    services.consent_give(
        subject=citizen,
        department=Department.objects.get(code="330100-RS"),
        resources=[DataResource.objects.get(code="household-register")],
        purpose="其他",
        days=30,
    )

    with pytest.raises(services.ConsentRequired):
        fetch(system, service="household-register", subject=citizen.id_number)


def test_a_consumer_over_its_rate_is_refused(system):
    person = PopulationRecordFactory()
    grant(system, "population-basic", ["status"])
    system.rate_limit_per_minute = 2
    system.save()

    fetch(system, subject=person.id_number)
    fetch(system, subject=person.id_number)
    with pytest.raises(services.RateLimited):
        fetch(system, subject=person.id_number)


def test_when_the_log_cannot_be_written_no_data_leaves(system):
    person = PopulationRecordFactory()
    grant(system, "population-basic", ["name"], clear=["name"])

    with (
        mock.patch("yiwang.exchange.services.log_append", side_effect=DatabaseError("disk full")),
        pytest.raises(services.LogWriteFailed),
    ):
        fetch(system, subject=person.id_number)

    assert not ExchangeLogRecord.objects.exists()


# --- providers over HTTP ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "error"),
    [("error", services.ServiceFailed), ("garbage", services.ServiceFailed),
     ("slow", services.ServiceTimeout)],
)  # fmt: skip
def test_a_failing_department_service_gives_a_clear_error(
    system, settings, department_service, mode, error
):
    url, handler = department_service
    handler.mode = mode
    settings.EXCHANGE_PROVIDER_URLS = {"330100-GA": url}
    settings.EXCHANGE_PROVIDER_TIMEOUT = 0.5
    grant(system, "population-basic", ["status"])

    with pytest.raises(error):
        fetch(system, subject="110101199003074477")

    assert last_log().outcome == error.type


def test_a_department_service_over_http_is_governed_like_a_local_one(
    system, settings, department_service
):
    url, handler = department_service
    handler.records = {
        "population-basic": [
            {"_subject": "110101199003074477", "name": "李四", "status": "normal", "gender": "M"}
        ]
    }
    settings.EXCHANGE_PROVIDER_URLS = {"330100-GA": url}
    grant(system, "population-basic", ["name", "status"])

    result = fetch(system, subject="110101199003074477")

    assert result.records == [{"name": "李*", "status": "normal"}]


# --- grants -----------------------------------------------------------------------------


def test_a_conditional_request_waits_for_the_provider_and_is_approved(
    system, officer, provider_officer
):
    resource = DataResource.objects.get(code="birth-medical-record")
    requested = services.access_grant_request(
        actor=officer,
        consumer=system,
        resource=resource,
        fields=["certificate_number", "child_name", "mother_id_number"],
        clear_fields=["child_name"],
        purpose="新生儿入户",
        legal_basis="《中华人民共和国户口登记条例》第七条",
        duration_days=365,
    )
    assert requested.status == AccessGrant.Status.REQUESTED

    approved = services.access_grant_decide(actor=provider_officer, grant=requested, approve=True)

    assert approved.status == AccessGrant.Status.APPROVED
    assert approved.is_active_at(timezone.now())
    assert approved.expires_at - approved.valid_from == datetime.timedelta(days=365)
    with pytest.raises(Conflict):
        services.access_grant_decide(actor=provider_officer, grant=requested, approve=False,
                                     comment="晚了")  # fmt: skip


def test_an_unconditional_request_is_granted_at_once(system, officer):
    granted = services.access_grant_request(
        actor=officer,
        consumer=system,
        resource=DataResource.objects.get(code="legal-person-basic"),
        fields=["uscc", "name"],
        purpose="核验单位",
        legal_basis="公示信息",
        duration_days=30,
    )

    assert granted.status == AccessGrant.Status.APPROVED


def test_a_request_with_bad_fields_is_refused_field_by_field(system, officer):
    with pytest.raises(ValidationFailed) as caught:
        services.access_grant_request(
            actor=officer,
            consumer=system,
            resource=DataResource.objects.get(code="birth-medical-record"),
            fields=["child_name", "salary"],
            clear_fields=["mother_name"],
            purpose="",
            legal_basis="x",
            duration_days=0,
        )

    assert set(caught.value.fields) == {"fields", "clear_fields", "purpose", "duration_days"}
    assert not AccessGrant.objects.filter(consumer=system).exists()


def test_only_the_right_officers_request_decide_and_revoke(system, officer, provider_officer):
    resource = DataResource.objects.get(code="birth-medical-record")
    outsider = VerifiedUserFactory()
    with pytest.raises(PermissionDenied):
        services.access_grant_request(
            actor=provider_officer, consumer=system, resource=resource, fields=["child_name"],
            purpose="p", legal_basis="b", duration_days=1,
        )  # fmt: skip
    requested = services.access_grant_request(
        actor=officer, consumer=system, resource=resource, fields=["child_name"],
        purpose="p", legal_basis="b", duration_days=1,
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.access_grant_decide(actor=officer, grant=requested, approve=True)
    with pytest.raises(ValidationFailed):
        services.access_grant_decide(actor=provider_officer, grant=requested, approve=False)
    approved = services.access_grant_decide(actor=provider_officer, grant=requested, approve=True)
    with pytest.raises(PermissionDenied):
        services.access_grant_revoke(actor=outsider, grant=approved)

    revoked = services.access_grant_revoke(actor=officer, grant=approved)

    assert revoked.status == AccessGrant.Status.REVOKED
    with pytest.raises(Conflict):
        services.access_grant_revoke(actor=provider_officer, grant=approved)


def test_a_system_token_is_shown_once_and_authenticates_only_its_system(system_and_token):
    system, token = system_and_token

    assert token.startswith("ywx_")
    assert token not in system.token_hash
    assert (
        services.consumer_system_authenticate(
            client="CN-ZJ/GOV/330106-GA/household-system", token=token
        )
        == system
    )
    assert (
        services.consumer_system_authenticate(
            client="CN-ZJ/GOV/330106-GA/household-system", token=token + "x"
        )
        is None
    )
    assert (
        services.consumer_system_authenticate(client="CN-ZJ/GOV/330106-GA/other", token=token)
        is None
    )


# --- the platform's own reads ----------------------------------------------------------


def test_real_name_verification_reads_through_the_exchange(data_exchange):
    from yiwang.exchange.registries import ExchangePopulationRegistry, PersonMatch

    person = PopulationRecordFactory(name="林语桐")

    match = ExchangePopulationRegistry().person_match(id_number=person.id_number, name="林语桐")

    assert match is PersonMatch.MATCH
    log = last_log()
    assert (log.consumer, log.service, log.fields) == (
        "330100-DSJ/yiwang-identity",
        "population-basic",
        "name,status",
    )
    assert log.subject_digest == services.subject_digest(person.id_number)
