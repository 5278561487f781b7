"""Consent given with an application, and staff reading registry data through the exchange."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from yiwang.applications import services
from yiwang.applications.models import Status
from yiwang.applications.tests.conftest import pdf
from yiwang.applications.tests.test_services import act, migration_form, submitted
from yiwang.core.errors import Conflict, NotFound
from yiwang.exchange import selectors as exchange_selectors
from yiwang.exchange.models import (
    AccessGrant,
    Consent,
    ConsumerSystem,
    DataResource,
    ExchangeLogRecord,
)
from yiwang.exchange.services import (
    WORKBENCH_SYSTEM,
    access_grant_decide,
    access_grant_request,
    consent_revoke,
)
from yiwang.exchange.tests.factories import HouseholdMemberFactory, MarriageRecordFactory
from yiwang.identity.models import Department, StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory

pytestmark = pytest.mark.django_db

MIGRATION = "330106-GA-0006"  # reads household-register and marriage-record, both with consent
HOUSEHOLD_FIELDS = [
    "household_number",
    "name",
    "relationship_to_head",
    "household_type",
    "region_code",
    "address",
    "registered_on",
]
MARRIAGE_FIELDS = ["certificate_number", "party_a_name", "party_b_name", "registered_on", "status"]


def officer(department_code: str):
    return StaffRoleFactory(
        department=Department.objects.get(code=department_code), role=StaffRole.Role.DATA_OFFICER
    ).user


def workbench_grant(resource: str, fields: list[str], *, clear: list[str] = ()) -> AccessGrant:
    """330106-GA's officer asks for its workbench system; the provider's officer approves."""
    system = ConsumerSystem.objects.get(department__code="330106-GA", code=WORKBENCH_SYSTEM)
    data = DataResource.objects.get(code=resource)
    grant = access_grant_request(
        actor=officer("330106-GA"),
        consumer=system,
        resource=data,
        fields=fields,
        clear_fields=list(clear),
        purpose="户口迁移审批核验",
        legal_basis="《中华人民共和国户口登记条例》",
        duration_days=365,
    )
    return access_grant_decide(actor=officer(data.provider.code), grant=grant, approve=True)


@pytest.fixture
def records(citizen):
    household = HouseholdMemberFactory(id_number=citizen.id_number, name=citizen.name)
    marriage = MarriageRecordFactory(party_a_id_number=citizen.id_number, party_a_name=citizen.name)
    return household, marriage


@pytest.fixture
def granted(catalogue):
    return [
        workbench_grant("household-register", HOUSEHOLD_FIELDS, clear=["name", "address"]),
        workbench_grant("marriage-record", MARRIAGE_FIELDS, clear=["status"]),
    ]


def submit(citizen, *, consent: bool):
    application = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data=migration_form(citizen)
    )
    for code in ("id-card", "household-register"):
        services.application_material_upload(
            applicant=citizen, application=application, material_code=code, upload=pdf()
        )
    return services.application_submit(
        applicant=citizen, application_id=application.pk, consent_data_reads=consent
    )


def clerk(staff):
    return staff[("330106-GA", StaffRole.Role.CLERK)]


def test_consent_given_on_submission_names_the_department_the_data_and_the_application(
    catalogue, citizen
):
    application = submit(citizen, consent=True)

    consent = Consent.objects.get(subject=citizen)
    assert consent.department.code == "330106-GA"
    assert consent.reference == application.number
    assert application.number in consent.purpose
    assert {r.code for r in consent.resources.all()} == {"household-register", "marriage-record"}
    assert consent.revoked_at is None
    expected_end = consent.given_at + datetime.timedelta(days=services.DATA_READ_CONSENT_DAYS)
    assert abs(consent.expires_at - expected_end) < datetime.timedelta(seconds=5)
    # It is in "我的" with the others.
    assert list(exchange_selectors.consents_for_person(citizen)) == [consent]


def test_no_consent_is_recorded_without_the_applicants_yes(catalogue, citizen):
    submit(citizen, consent=False)

    assert not Consent.objects.exists()


def test_submitting_twice_with_consent_records_one_consent(catalogue, citizen):
    application = submit(citizen, consent=True)

    again = services.application_submit(
        applicant=citizen, application_id=application.pk, consent_data_reads=True
    )

    assert again.pk == application.pk
    assert Consent.objects.count() == 1


def test_only_reads_that_need_consent_are_put_to_the_applicant(catalogue, citizen):
    snapshot = {"data_reads": [{"resource": "population-basic", "consent": False}]}
    assert services.consent_resources(snapshot) == []
    assert services.consent_resources({}) == []


def test_staff_read_the_declared_data_with_consent_and_the_citizen_sees_who(
    catalogue, staff, citizen, records, granted
):
    household, marriage = records
    application = submit(citizen, consent=True)

    results = services.application_data_read(staff=clerk(staff), application=application)

    assert [r.outcome for r in results] == ["ok", "ok"]
    household_read, marriage_read = results
    assert household_read.name == "户籍登记信息"
    assert household_read.provider == "杭州市公安局"
    assert [f["name"] for f in household_read.fields] == HOUSEHOLD_FIELDS
    (record,) = household_read.records
    assert record["household_number"].endswith(household.household_number[-4:])
    assert record["household_number"] != household.household_number  # masked: not in clear
    assert record["name"] == citizen.name  # granted in clear
    assert record["address"] == household.address
    (record,) = marriage_read.records
    assert record["certificate_number"] != marriage.certificate_number
    assert record["party_a_name"] != citizen.name  # masked
    assert record["status"] == marriage.status
    # Logged as the department's workbench, with the application as the case.
    logged = ExchangeLogRecord.objects.filter(issue=application.number).order_by("seq")
    assert [(r.consumer, r.service, r.outcome) for r in logged] == [
        ("330106-GA/yiwang-workbench", "household-register", "ok"),
        ("330106-GA/yiwang-workbench", "marriage-record", "ok"),
    ]
    uses = exchange_selectors.data_uses_for_person(citizen)
    assert {(u.consumer_department, u.issue) for u in uses} == {
        ("杭州市公安局西湖区分局", application.number)
    }
    # The timeline says which staff member read what.
    event = application.events.get(action="data_read")
    assert event.actor == clerk(staff)
    assert event.data == {
        "reads": [
            {"resource": "household-register", "name": "户籍登记信息", "outcome": "ok"},
            {"resource": "marriage-record", "name": "婚姻登记信息", "outcome": "ok"},
        ]
    }


def test_without_consent_staff_are_told_to_examine_the_materials(
    catalogue, staff, citizen, records, granted
):
    application = submit(citizen, consent=False)

    results = services.application_data_read(staff=clerk(staff), application=application)

    assert [r.outcome for r in results] == ["Server.ServerProxy.ConsentRequired"] * 2
    assert all(r.records == [] for r in results)
    assert "申请人未授权" in results[0].message
    refused = ExchangeLogRecord.objects.filter(issue=application.number)
    assert {r.outcome for r in refused} == {"Server.ServerProxy.ConsentRequired"}
    assert not exchange_selectors.data_uses_for_person(citizen)


def test_a_revoked_consent_stops_further_reads(catalogue, staff, citizen, records, granted):
    application = submit(citizen, consent=True)
    consent_revoke(subject=citizen, consent=Consent.objects.get(subject=citizen))

    results = services.application_data_read(staff=clerk(staff), application=application)

    assert {r.outcome for r in results} == {"Server.ServerProxy.ConsentRequired"}


def test_without_a_grant_the_department_is_told_to_ask_for_one(catalogue, staff, citizen, records):
    workbench_grant("household-register", HOUSEHOLD_FIELDS)
    application = submit(citizen, consent=True)

    results = services.application_data_read(staff=clerk(staff), application=application)

    assert [r.outcome for r in results] == ["ok", "Server.ServerProxy.AccessDenied"]
    assert "数据管理员" in results[1].message


def test_a_grant_narrower_than_the_fields_the_item_needs_releases_nothing(
    catalogue, staff, citizen, records
):
    workbench_grant("household-register", ["household_number", "name"])
    workbench_grant("marriage-record", MARRIAGE_FIELDS)
    application = submit(citizen, consent=True)

    results = services.application_data_read(staff=clerk(staff), application=application)

    assert results[0].outcome == "Server.ServerProxy.AccessDenied"
    assert results[0].records == []
    assert results[1].outcome == "ok"


def test_an_applicant_without_records_gets_an_empty_answer_not_an_error(
    catalogue, staff, citizen, granted
):
    application = submit(citizen, consent=True)

    results = services.application_data_read(staff=clerk(staff), application=application)

    assert [(r.outcome, r.records) for r in results] == [("ok", []), ("ok", [])]


def test_staff_of_another_department_cannot_read(catalogue, staff, citizen, records, granted):
    application = submit(citizen, consent=True)

    with pytest.raises(NotFound):
        services.application_data_read(
            staff=staff[("330106-RS", StaffRole.Role.CLERK)], application=application
        )

    assert not ExchangeLogRecord.objects.filter(issue=application.number).exists()


def test_consents_end_when_the_application_is_withdrawn(catalogue, staff, citizen, granted):
    application = submit(citizen, consent=True)

    application = services.application_withdraw(applicant=citizen, application=application)

    consent = Consent.objects.get(subject=citizen)
    assert consent.expires_at <= timezone.now()
    assert consent.revoked_at is None
    with pytest.raises(Conflict):
        services.application_data_read(staff=clerk(staff), application=application)


def test_consents_end_when_the_application_is_refused(catalogue, staff, citizen, granted):
    application = submit(citizen, consent=True)

    application = act(staff, application, "accept", "refuse", comment="不符合迁入条件")

    assert application.status == Status.NOT_ACCEPTED
    assert Consent.objects.get(subject=citizen).expires_at <= timezone.now()


def test_consents_of_other_applications_stay_when_one_closes(catalogue, citizen, granted):
    first = submit(citizen, consent=True)
    second = submit(citizen, consent=True)

    services.application_withdraw(applicant=citizen, application=first)

    still = Consent.objects.get(reference=second.number)
    assert still.expires_at > timezone.now()


def test_an_application_submitted_through_the_old_helper_has_no_consent(catalogue, citizen):
    application = submitted(citizen)

    assert application.status == Status.SUBMITTED
    assert not Consent.objects.exists()


# ---------------------------------------------------------------------------------------
# Pages and API


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def draft(citizen):
    application = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data=migration_form(citizen)
    )
    for code in ("id-card", "household-register"):
        services.application_material_upload(
            applicant=citizen, application=application, material_code=code, upload=pdf()
        )
    return application


def posted_form(citizen) -> dict[str, str]:
    return {
        name: ("on" if value is True else str(value))
        for name, value in migration_form(citizen).items()
    }


def test_the_draft_page_asks_for_consent_naming_the_data_and_its_purpose(catalogue, citizen):
    application = draft(citizen)

    page = client_for(citizen).get(reverse("applications:edit", args=[application.pk]))

    html = page.content.decode()
    assert 'name="consent_data_reads"' in html
    assert "户籍登记信息" in html
    assert "婚姻登记信息" in html
    assert "户口迁入：核验迁出地户籍信息" in html
    assert "与户主关系" in html  # the field labels


def test_ticking_consent_on_the_draft_page_records_it_with_the_submission(catalogue, citizen):
    application = draft(citizen)

    response = client_for(citizen).post(
        reverse("applications:edit", args=[application.pk]),
        {**posted_form(citizen), "consent_data_reads": "1", "action": "submit"},
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert Consent.objects.get(subject=citizen).reference == application.number


def test_a_refused_submission_keeps_the_consent_ticked_and_records_nothing(catalogue, citizen):
    application = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data=migration_form(citizen)
    )

    response = client_for(citizen).post(
        reverse("applications:edit", args=[application.pk]),
        {**posted_form(citizen), "consent_data_reads": "1", "action": "submit"},
    )

    assert response.status_code == 422  # materials missing
    assert 'name="consent_data_reads" value="1" checked' in response.content.decode()
    assert not Consent.objects.exists()


def test_staff_read_registry_data_from_the_application_page(
    catalogue, staff, citizen, records, granted
):
    application = submit(citizen, consent=True)
    client = client_for(clerk(staff))
    page = client.get(reverse("applications:staff_application", args=[application.pk]))
    assert "户籍登记信息" in page.content.decode()

    response = client.post(reverse("applications:staff_data_read", args=[application.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert citizen.name in html  # granted in clear
    assert records[0].address in html
    assert "通过数据共享交换查询了登记数据" in html  # on the timeline
    assert ExchangeLogRecord.objects.filter(issue=application.number, outcome="ok").count() == 2


def test_staff_read_from_the_task_page_stay_on_the_task(
    catalogue, staff, citizen, records, granted
):
    application = submit(citizen, consent=False)
    task = application.tasks.get(task_name="accept")
    client = client_for(clerk(staff))

    response = client.post(
        reverse("applications:staff_data_read", args=[application.pk]), {"task": task.pk}
    )

    assert response.status_code == 200
    assert response.templates[0].name == "applications/task.html"
    assert "申请人未授权本部门查询这些数据" in response.content.decode()


def test_a_task_of_another_application_is_not_found(catalogue, staff, citizen, granted):
    first = submit(citizen, consent=True)
    second = submit(citizen, consent=True)
    task = first.tasks.get(task_name="accept")

    response = client_for(clerk(staff)).post(
        reverse("applications:staff_data_read", args=[second.pk]), {"task": task.pk}
    )

    assert response.status_code == 404
    assert not ExchangeLogRecord.objects.exists()


def test_other_departments_and_citizens_cannot_read(catalogue, staff, citizen, granted):
    application = submit(citizen, consent=True)
    url = reverse("applications:staff_data_read", args=[application.pk])

    other_staff = client_for(staff[("330106-RS", StaffRole.Role.CLERK)]).post(url)
    applicant = client_for(citizen).post(url)

    assert other_staff.status_code == 404
    assert applicant.status_code in (403, 404)
    assert not ExchangeLogRecord.objects.exists()


def test_reading_a_closed_application_is_refused_on_the_page(catalogue, staff, citizen, granted):
    application = submit(citizen, consent=True)
    services.application_withdraw(applicant=citizen, application=application)

    response = client_for(clerk(staff)).post(
        reverse("applications:staff_data_read", args=[application.pk])
    )

    assert response.status_code == 409
    assert "该申请已办结。" in response.content.decode()


def test_the_api_takes_consent_on_submission_and_gives_staff_the_reads(
    catalogue, staff, citizen, records, granted
):
    application = draft(citizen)
    applicant = client_for(citizen)

    response = applicant.post(
        f"/api/v1/applications/{application.pk}/submit",
        {"consent_data_reads": True},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert Consent.objects.get(subject=citizen).reference == response.json()["number"]

    reads = client_for(clerk(staff)).post(
        f"/api/v1/workbench/applications/{application.pk}/data-reads"
    )

    assert reads.status_code == 200, reads.content
    body = reads.json()
    assert [r["outcome"] for r in body] == ["ok", "ok"]
    assert body[0]["records"][0]["name"] == citizen.name
    assert body[0]["fields"][0] == {"name": "household_number", "label": "户号"}


def test_the_api_submission_without_a_body_gives_no_consent(catalogue, citizen):
    application = draft(citizen)

    response = client_for(citizen).generic("POST", f"/api/v1/applications/{application.pk}/submit")

    assert response.status_code == 200, response.content
    assert not Consent.objects.exists()


def test_the_staff_api_hides_other_departments_applications(catalogue, staff, citizen, granted):
    application = submit(citizen, consent=True)

    response = client_for(staff[("330106-RS", StaffRole.Role.CLERK)]).post(
        f"/api/v1/workbench/applications/{application.pk}/data-reads"
    )

    assert response.status_code == 404
    assert not ExchangeLogRecord.objects.exists()
