"""Applying for an organisation (委托授权): who may act on its applications, what 我的办件
shows under each identity, and both identities on every step."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from yiwang.applications import services
from yiwang.applications.models import Application, ApplicationEvent, Status, WorkTask
from yiwang.applications.tests import test_views as view_tests
from yiwang.applications.tests.test_views import PDF, PNG, VALID, client_for, staff
from yiwang.catalog.services import service_item_publish
from yiwang.core.errors import NotFound, PermissionDenied
from yiwang.identity import services as identity_services
from yiwang.identity.acting import SESSION_KEY
from yiwang.identity.models import Organisation, OrganisationAgent, StaffRole, User
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db

# The licensing item (target: natural and legal persons) and its department.
department = view_tests.department
item = view_tests.item

COMPANY = "杭州云栖数据服务有限公司"
FORM = {"applicant_name": "王强", "gender": "male", "birth_date": "1990-01-01", "staff_count": 3}
ENDED = "not_acting_for_organisation"


def pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")


def png() -> SimpleUploadedFile:
    return SimpleUploadedFile("plan.png", PNG, content_type="image/png")


@pytest.fixture
def owner() -> User:
    return VerifiedUserFactory(name="沈嘉航")


@pytest.fixture
def agent() -> User:
    return VerifiedUserFactory(name="王强")


@pytest.fixture
def company(owner: User, uscc_factory: Any) -> Organisation:
    return Organisation.objects.create(
        uscc=uscc_factory(serial="MA2GJ7L4X"), name=COMPANY, legal_representative=owner
    )


@pytest.fixture
def grant(owner: User, agent: User, company: Organisation) -> OrganisationAgent:
    return identity_services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )


def revoke(owner: User, grant: OrganisationAgent) -> None:
    identity_services.organisation_agent_revoke(actor=owner, grant=grant)


def draft_for(user: User, organisation: Organisation | None, key: str = "k") -> Application:
    return services.application_draft_create(
        applicant=user,
        item_code="330106-SJ-0001",
        form_data=FORM,
        organisation_id=organisation.pk if organisation else None,
        idempotency_key=key,
    )


def with_materials(user: User, application: Application) -> Application:
    for code, upload in (("licence", pdf()), ("floor-plan", png())):
        services.application_material_upload(
            applicant=user, application=application, material_code=code, upload=upload
        )
    return application


def submitted_for(user: User, organisation: Organisation | None, key: str = "k") -> Application:
    application = with_materials(user, draft_for(user, organisation, key))
    return services.application_submit(applicant=user, application_id=application.pk)


def supplement_requested(application: Application, department: Any) -> Application:
    task = WorkTask.objects.get(application=application, task_name="accept", state="open")
    return services.task_complete(
        staff=staff(department, StaffRole.Role.CLERK),
        task=task,
        outcome="supplement",
        supplement_items=[{"material": "licence", "reason": "营业执照复印件不清晰"}],
    )


def acting_client(user: User, organisation: Organisation | None = None) -> Client:
    client = client_for(user)
    if organisation is not None:
        response = client.post(reverse("identity:acting_switch"), {"acting_for": organisation.pk})
        assert response.status_code == 302
    return client


def listed(client: Client) -> list[int]:
    html = client.get(reverse("applications:list")).content.decode()
    return [int(pk) for pk in re.findall(r'href="/applications/(\d+)/(?:edit/)?"', html)]


def attribution(person: User, role: str, organisation: str) -> str:
    if role == "agent":
        text = gettext("%(person)s (agent for %(organisation)s)")
    else:
        text = gettext("%(person)s (legal representative of %(organisation)s)")
    return text % {"person": person.display_name, "organisation": organisation}


# ---------------------------------------------------------------------------------------
# Both identities on every step


def test_each_step_of_an_agent_names_her_and_the_organisation(item, agent, company, grant):
    application = submitted_for(agent, company)
    services.application_withdraw(applicant=agent, application=application, reason="重复申请")

    events = ApplicationEvent.objects.filter(application=application).order_by("pk")
    assert [
        (e.action, e.actor, e.acting_as, e.acting_for_uscc, e.acting_for_name) for e in events
    ] == [
        ("draft", agent, "agent", company.uscc, COMPANY),
        ("submit", agent, "agent", company.uscc, COMPANY),
        ("withdraw", agent, "agent", company.uscc, COMPANY),
    ]


def test_the_legal_representatives_steps_name_him_as_such(item, owner, company):
    application = submitted_for(owner, company)

    assert set(application.events.values_list("acting_as", "acting_for_uscc")) == {
        ("legal_representative", company.uscc)
    }


def test_personal_applications_and_staff_steps_name_no_organisation(
    item, department, agent, company, grant
):
    personal = submitted_for(agent, None, key="own")
    for_company = supplement_requested(submitted_for(agent, company), department)

    assert set(personal.events.values_list("acting_as", "acting_for_uscc")) == {("", "")}
    staff_step = for_company.events.get(action="accept:supplement")
    assert (staff_step.acting_as, staff_step.acting_for_uscc) == ("", "")


def test_the_timeline_and_the_staff_page_show_who_acted_for_whom(
    item, department, owner, agent, company, grant
):
    application = submitted_for(agent, company)
    expected = attribution(agent, "agent", COMPANY)
    clerk = staff(department, StaffRole.Role.CLERK)

    own_page = acting_client(agent, company).get(
        reverse("applications:detail", args=[application.pk])
    )
    staff_page = client_for(clerk).get(
        reverse("applications:staff_application", args=[application.pk])
    )

    for page in (own_page, staff_page):
        actors = re.findall(
            r'<p class="timeline-meta">\s*<span>([^<]+)</span>', page.content.decode()
        )
        assert actors == [expected, expected]


def test_in_english_the_attribution_reads_person_agent_for_organisation(
    item, agent, company, grant
):
    application = submitted_for(agent, company)
    client = client_for(agent)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    html = client.get(reverse("applications:detail", args=[application.pk])).content.decode()

    assert f"<span>王* (agent for {COMPANY})</span>" in html


# ---------------------------------------------------------------------------------------
# A revoked or expired agent can no longer act


@pytest.mark.parametrize(
    "use_case",
    [
        "draft_update",
        "material_upload",
        "material_remove",
        "certificates_refresh",
        "submit",
        "draft_delete",
    ],
)
def test_a_revoked_agent_can_do_nothing_more_with_her_draft_for_the_organisation(
    item, owner, agent, company, grant, use_case
):
    draft = with_materials(agent, draft_for(agent, company))
    material = draft.materials.first()
    revoke(owner, grant)
    calls = {
        "draft_update": lambda: services.application_draft_update(
            applicant=agent, application=draft, form_data={**FORM, "staff_count": 9}
        ),
        "material_upload": lambda: services.application_material_upload(
            applicant=agent, application=draft, material_code="health-cert", upload=pdf()
        ),
        "material_remove": lambda: services.application_material_remove(
            applicant=agent, application=draft, material_id=material.pk
        ),
        "certificates_refresh": lambda: services.application_certificates_refresh(
            applicant=agent, application=draft
        ),
        "submit": lambda: services.application_submit(applicant=agent, application_id=draft.pk),
        "draft_delete": lambda: services.application_draft_delete(
            applicant=agent, application=draft
        ),
    }

    with pytest.raises(PermissionDenied) as refused:
        calls[use_case]()

    assert refused.value.code == ENDED
    assert COMPANY in str(refused.value.message)
    draft.refresh_from_db()
    assert (draft.status, draft.form_data["staff_count"]) == (Status.DRAFT, 3)
    assert sorted(
        draft.materials.filter(superseded_at__isnull=True).values_list("material_code", flat=True)
    ) == ["floor-plan", "licence"]


def test_a_revoked_agent_can_no_longer_withdraw(item, owner, agent, company, grant):
    application = submitted_for(agent, company)
    revoke(owner, grant)

    with pytest.raises(PermissionDenied) as refused:
        services.application_withdraw(applicant=agent, application=application)

    assert refused.value.code == ENDED
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert not application.events.filter(action="withdraw").exists()


def test_a_revoked_agent_can_no_longer_supplement(item, department, owner, agent, company, grant):
    application = supplement_requested(submitted_for(agent, company), department)
    revoke(owner, grant)

    with pytest.raises(PermissionDenied):
        services.application_material_upload(
            applicant=agent, application=application, material_code="licence", upload=pdf()
        )
    with pytest.raises(PermissionDenied) as refused:
        services.application_resubmit(applicant=agent, application=application)

    assert refused.value.code == ENDED
    application.refresh_from_db()
    assert application.status == Status.SUPPLEMENT_REQUESTED


def test_an_expired_agency_ends_like_a_revoked_one(item, agent, company, grant):
    draft = with_materials(agent, draft_for(agent, company))
    OrganisationAgent.objects.filter(pk=grant.pk).update(
        valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )

    with pytest.raises(PermissionDenied) as refused:
        services.application_submit(applicant=agent, application_id=draft.pk)

    assert refused.value.code == ENDED


def test_an_agency_narrowed_to_other_services_ends_for_this_one(item, owner, agent, company, grant):
    draft = draft_for(agent, company)
    identity_services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=grant.valid_until,
        services=["330106-SJ-0002"],
    )

    with pytest.raises(PermissionDenied) as refused:
        services.application_draft_update(applicant=agent, application=draft, form_data=FORM)

    assert refused.value.code == ENDED


def test_a_former_legal_representative_can_no_longer_act(item, owner, company):
    draft = draft_for(owner, company)
    company.legal_representative = VerifiedUserFactory()
    company.save()

    with pytest.raises(PermissionDenied):
        services.application_draft_delete(applicant=owner, application=draft)

    assert Application.objects.filter(pk=draft.pk).exists()


def test_an_agent_authorised_again_acts_again(item, owner, agent, company, grant):
    draft = with_materials(agent, draft_for(agent, company))
    revoke(owner, grant)
    identity_services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=timezone.localdate() + datetime.timedelta(days=5),
    )

    submitted = services.application_submit(applicant=agent, application_id=draft.pk)

    assert submitted.status == Status.SUBMITTED


def test_revoking_leaves_her_own_applications_alone(item, owner, agent, company, grant):
    own = with_materials(agent, draft_for(agent, None, key="own"))
    revoke(owner, grant)

    assert services.application_submit(applicant=agent, application_id=own.pk).number


def test_the_legal_representative_cannot_act_on_an_agents_application(
    item, owner, agent, company, grant
):
    application = submitted_for(agent, company)

    with pytest.raises(NotFound):
        services.application_withdraw(applicant=owner, application=application)


# ---------------------------------------------------------------------------------------
# The pages


def test_a_revoked_agent_is_told_why_on_the_page_and_nothing_changes(
    item, owner, agent, company, grant
):
    application = submitted_for(agent, company)
    client = acting_client(agent, company)
    revoke(owner, grant)

    withdraw = client.post(
        reverse("applications:withdraw", args=[application.pk]), {"confirm": "on"}
    )
    detail = client.get(reverse("applications:detail", args=[application.pk]))

    for response in (withdraw, detail):
        assert response.status_code == 403
        assert COMPANY in response.content.decode()
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


def test_a_revoked_agent_cannot_upload_or_download_through_the_pages(
    item, owner, agent, company, grant
):
    draft = with_materials(agent, draft_for(agent, company))
    material = draft.materials.first()
    client = client_for(agent)
    revoke(owner, grant)

    upload = view_tests.upload(client, draft, "health-cert")
    download = client.get(reverse("applications:material_download", args=[draft.pk, material.pk]))
    edit = client.get(reverse("applications:edit", args=[draft.pk]))

    assert [upload.status_code, download.status_code, edit.status_code] == [403, 403, 403]
    assert draft.materials.count() == 2


def test_the_legal_representative_reads_an_agents_application_but_cannot_act_on_it(
    item, owner, agent, company, grant
):
    application = submitted_for(agent, company)
    client = acting_client(owner, company)

    response = client.get(reverse("applications:detail", args=[application.pk]))
    material = application.materials.first()
    download = client.get(
        reverse("applications:material_download", args=[application.pk, material.pk])
    )
    withdraw = client.post(
        reverse("applications:withdraw", args=[application.pk]), {"confirm": "on"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="read-only"' in html
    assert reverse("applications:withdraw", args=[application.pk]) not in html
    assert attribution(agent, "agent", COMPANY) in html
    assert download.status_code == 200
    assert withdraw.status_code == 404
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


def test_nobody_else_reads_an_organisations_application(item, agent, company, grant):
    application = submitted_for(agent, company)
    stranger = VerifiedUserFactory()

    response = client_for(stranger).get(reverse("applications:detail", args=[application.pk]))

    assert response.status_code == 404


def test_another_agents_draft_stays_hers(item, owner, agent, company, grant):
    draft = draft_for(agent, company)

    response = client_for(owner).get(reverse("applications:detail", args=[draft.pk]))

    assert response.status_code == 404


def test_my_applications_follow_the_identity_she_acts_under(item, owner, agent, company, grant):
    own = draft_for(agent, None, key="own")
    agents = submitted_for(agent, company, key="a")
    agents_draft = draft_for(agent, company, key="b")
    owners = submitted_for(owner, company, key="c")
    owners_own = draft_for(owner, None, key="d")

    assert listed(acting_client(agent)) == [own.pk]
    assert listed(acting_client(agent, company)) == [owners.pk, agents_draft.pk, agents.pk]
    # The legal representative sees every application of the company but others' drafts.
    assert listed(acting_client(owner, company)) == [owners.pk, agents.pk]
    assert listed(acting_client(owner)) == [owners_own.pk]


def test_an_agent_sees_only_the_services_her_authorisation_covers(
    item, owner, agent, company, grant
):
    owners = submitted_for(owner, company)
    client = acting_client(agent, company)
    assert listed(client) == [owners.pk]

    identity_services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=grant.valid_until,
        services=["330106-SJ-0002"],
    )

    assert listed(client) == []
    assert client.get(reverse("applications:detail", args=[owners.pk])).status_code == 404


def test_the_organisations_list_names_who_filed_each_application(
    item, owner, agent, company, grant
):
    submitted_for(agent, company)

    html = acting_client(owner, company).get(reverse("applications:list")).content.decode()

    assert 'data-testid="acting-list-note"' in html
    assert f"<dd>{agent.display_name}</dd>" in html


def test_the_list_takes_the_same_queries_for_one_or_three_of_the_organisations(
    item, owner, agent, company, grant
):
    client = acting_client(owner, company)
    submitted_for(agent, company, key="a")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("applications:list"))
    submitted_for(agent, company, key="b")
    submitted_for(owner, company, key="c")
    with CaptureQueriesContext(connection) as three:
        client.get(reverse("applications:list"))

    assert len(three) == len(one)


def test_a_stale_choice_falls_back_to_herself_on_the_next_request(
    item, owner, agent, company, grant
):
    own = draft_for(agent, None, key="own")
    submitted_for(agent, company)
    client = acting_client(agent, company)
    revoke(owner, grant)

    html = client.get(reverse("applications:list")).content.decode()

    assert client.session.get(SESSION_KEY) is None
    assert listed(client) == [own.pk]
    assert 'data-testid="acting-list-note"' not in html
    # With no organisation left to act for, the switch is gone from the header.
    assert 'data-testid="acting-switch"' not in html


# ---------------------------------------------------------------------------------------
# The apply page


def apply_page(client: Client, item: Any) -> str:
    response = client.get(reverse("applications:new", args=[item.code]))
    assert response.status_code == 200
    return str(response.content.decode())


def selected_organisation(html: str) -> str | None:
    select = re.search(r'<select name="organisation"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None
    chosen = re.search(r'<option value="(\d*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else None


def test_acting_for_the_organisation_preselects_it_on_the_apply_page(item, agent, company, grant):
    assert selected_organisation(apply_page(acting_client(agent), item)) in (None, "")

    html = apply_page(acting_client(agent, company), item)

    assert selected_organisation(html) == str(company.pk)
    assert 'data-testid="acting-note"' not in html


def test_the_preselected_organisation_is_the_one_the_draft_is_for(item, agent, company, grant):
    client = acting_client(agent, company)

    response = client.post(
        reverse("applications:new", args=[item.code]),
        {**VALID, "idempotency_key": "org", "organisation": str(company.pk)},
    )

    assert response.status_code == 302
    assert Application.objects.get().organisation == company


def test_a_person_only_service_says_she_applies_in_her_own_name(item, agent, company, grant):
    item.target = "person"
    item.save(update_fields=["target"])
    service_item_publish(item=item, actor=None)

    html = apply_page(acting_client(agent, company), item)

    assert 'name="organisation"' not in html
    note = re.search(r'<p class="notice" data-testid="acting-note">([^<]+)</p>', html)
    assert note is not None
    assert COMPANY in note.group(1)


def test_a_service_her_authorisation_does_not_cover_is_not_offered_for_the_organisation(
    item, owner, agent, company, grant
):
    identity_services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=grant.valid_until,
        services=["330106-SJ-0002"],
    )

    html = apply_page(acting_client(agent, company), item)

    assert 'name="organisation"' not in html
    assert 'data-testid="acting-note"' in html


# ---------------------------------------------------------------------------------------
# The API


def api_client(user: User) -> Client:
    return client_for(user)


def test_a_revoked_agent_is_refused_by_the_api(item, owner, agent, company, grant):
    application = submitted_for(agent, company)
    client = api_client(agent)
    revoke(owner, grant)

    withdraw = client.post(
        f"/api/v1/applications/{application.pk}/withdraw",
        {"reason": ""},
        content_type="application/json",
    )
    detail = client.get(f"/api/v1/applications/{application.pk}")
    mine = client.get("/api/v1/applications")
    companys = client.get(f"/api/v1/applications?organisation_id={company.pk}")

    assert withdraw.status_code == 403
    assert withdraw.json()["code"] == ENDED
    assert COMPANY in withdraw.json()["message"]
    assert detail.status_code == 403
    assert mine.json() == []
    assert companys.status_code == 403
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


def test_the_api_lists_the_organisations_applications_and_names_both_identities(
    item, owner, agent, company, grant
):
    application = submitted_for(agent, company)
    client = api_client(owner)

    listed_ = client.get(f"/api/v1/applications?organisation_id={company.pk}").json()
    detail = client.get(f"/api/v1/applications/{application.pk}").json()

    assert [a["id"] for a in listed_] == [application.pk]
    assert [
        (e["action"], e["actor"], e["acting_as"], e["acting_for_uscc"]) for e in detail["timeline"]
    ] == [
        ("draft", agent.display_name, "agent", company.uscc),
        ("submit", agent.display_name, "agent", company.uscc),
    ]
    refused = client.post(
        f"/api/v1/applications/{application.pk}/withdraw",
        {"reason": ""},
        content_type="application/json",
    )
    assert refused.status_code == 404
