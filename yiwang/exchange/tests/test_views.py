"""The exchange pages: a citizen's data uses and consents, and the data officers' pages.

Pages are requested in English (the language cookie), so the assertions do not depend on
the Chinese catalogue.
"""

from __future__ import annotations

import datetime
import re
import uuid
from html import unescape
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from yiwang.exchange import services
from yiwang.exchange.log import LogEntry, log_append
from yiwang.exchange.models import (
    AccessGrant,
    Consent,
    ConsumerSystem,
    DataResource,
    DataResourceField,
    SharingType,
    SubjectKind,
)
from yiwang.identity.models import Department, StaffRole, User
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------------------
# Helpers


def client_for(user: User | None = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def field_error(response: Any, field_id: str) -> list[str]:
    """The messages shown beside one field (Django renders them with the field's id)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html(response))
    return [unescape(m) for m in re.findall(r"<li>([^<]+)</li>", match.group(1))] if match else []


def page_errors(response: Any) -> list[str]:
    match = re.search(
        r'<div class="form-errors" role="alert" id="page-errors">(.*?)</div>', html(response), re.S
    )
    return [unescape(m) for m in re.findall(r"<p>([^<]+)</p>", match.group(1))] if match else []


def shown_messages(response: Any) -> list[str]:
    return [
        unescape(m) for m in re.findall(r'<li class="message [^"]*">([^<]+)</li>', html(response))
    ]


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def is_login_redirect(response: Any, url: str) -> bool:
    return response.status_code == 302 and response["Location"] == (
        f"{reverse('identity:login')}?next={url}"
    )


def read_of(
    person: User,
    *,
    system: ConsumerSystem,
    resource: DataResource,
    purpose: str,
    fields: str = "name,id_number",
    issue: str = "",
    outcome: str = "ok",
) -> None:
    """Log one read of a person's data, as the exchange does."""
    assert person.id_number
    log_append(
        LogEntry(
            request_id=uuid.uuid4().hex,
            consumer=str(system),
            provider=resource.provider.code,
            service=resource.code,
            purpose=purpose,
            issue=issue,
            subject_digest=services.subject_digest(person.id_number),
            subject_masked="330106**********",
            fields=fields if outcome == "ok" else "",
            request_digest="0" * 64,
            response_digest="1" * 64 if outcome == "ok" else "",
            outcome=outcome,
            status_code=200 if outcome == "ok" else 403,
        )
    )


def consent_of(
    person: User,
    department: Department,
    resource: DataResource,
    *,
    purpose: str = "最低生活保障审核",
    reference: str = "",
    days: int = 30,
) -> Consent:
    consent = Consent.objects.create(
        subject=person,
        department=department,
        purpose=purpose,
        reference=reference,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    consent.resources.set([resource])
    return consent


def grant_of(
    system: ConsumerSystem,
    resource: DataResource,
    requested_by: User,
    *,
    status: str = AccessGrant.Status.REQUESTED,
    fields: tuple[str, ...] = ("name", "gender"),
    purpose: str = "核对救助对象身份",
    expired: bool = False,
) -> AccessGrant:
    now = timezone.now()
    grant = AccessGrant.objects.create(
        consumer=system,
        resource=resource,
        fields=list(fields),
        purpose=purpose,
        legal_basis="《社会救助暂行办法》第十一条",
        duration_days=365,
        status=status,
        requested_by=requested_by,
    )
    if status == AccessGrant.Status.APPROVED:
        grant.decided_at = now - datetime.timedelta(days=400 if expired else 1)
        grant.valid_from = grant.decided_at
        grant.expires_at = grant.valid_from + datetime.timedelta(days=365)
        grant.save()
    return grant


# ---------------------------------------------------------------------------------------
# Fixtures: a provider (public security) and a consumer (civil affairs) department


@pytest.fixture
def provider() -> Department:
    return DepartmentFactory(code="330106-GA", name="杭州市公安局西湖区分局")


@pytest.fixture
def consumer_department() -> Department:
    return DepartmentFactory(
        code="330106-MZ", name="杭州市西湖区民政局", kind=Department.Kind.CIVIL_AFFAIRS
    )


@pytest.fixture
def resource(provider: Department) -> DataResource:
    resource = DataResource.objects.create(
        code="population-basic",
        name="人口基本信息",
        description="户籍人口的基本信息。",
        provider=provider,
        sharing_type=SharingType.CONDITIONAL,
        subject_kind=SubjectKind.PERSON,
        requires_consent=True,
        update_frequency=DataResource.Frequency.REALTIME,
        legal_basis="《中华人民共和国居民身份证法》",
    )
    for order, (name, label, sensitivity, mask) in enumerate(
        [
            ("name", "姓名", 3, DataResourceField.Mask.NAME),
            ("id_number", "公民身份号码", 4, DataResourceField.Mask.ID_NUMBER),
            ("gender", "性别", 2, DataResourceField.Mask.NONE),
            ("household_address", "户籍地址", 3, DataResourceField.Mask.REDACT),
        ]
    ):
        DataResourceField.objects.create(
            resource=resource,
            name=name,
            label=label,
            sensitivity=sensitivity,
            personal=True,
            mask=mask,
            order=order,
        )
    return resource


@pytest.fixture
def open_resource(consumer_department: Department) -> DataResource:
    """Shared unconditionally, with no personal fields, provided by the consumer side."""
    resource = DataResource.objects.create(
        code="welfare-institutions",
        name="养老机构名录",
        description="登记的养老机构。",
        provider=consumer_department,
        sharing_type=SharingType.UNCONDITIONAL,
        subject_kind=SubjectKind.ORGANISATION,
        update_frequency=DataResource.Frequency.MONTHLY,
    )
    DataResourceField.objects.create(
        resource=resource, name="name", label="机构名称", sensitivity=1, order=0
    )
    return resource


@pytest.fixture
def system(consumer_department: Department) -> ConsumerSystem:
    return ConsumerSystem.objects.create(
        department=consumer_department, code="assistance", name="社会救助系统"
    )


@pytest.fixture
def provider_officer(provider: Department) -> User:
    return StaffRoleFactory(
        department=provider, role=StaffRole.Role.DATA_OFFICER, user__name="赵数据"
    ).user


@pytest.fixture
def consumer_officer(consumer_department: Department) -> User:
    return StaffRoleFactory(
        department=consumer_department, role=StaffRole.Role.DATA_OFFICER, user__name="钱数据"
    ).user


@pytest.fixture
def citizen() -> User:
    return VerifiedUserFactory(name="李小梅")


@pytest.fixture
def neighbour() -> User:
    return VerifiedUserFactory(name="王大伟")


OFFICER_PAGES = [
    ("exchange:overview", []),
    ("exchange:resources", []),
    ("exchange:resource", ["population-basic"]),
    ("exchange:resource_openapi", ["population-basic"]),
    ("exchange:grants", []),
    ("exchange:systems", []),
]


# ---------------------------------------------------------------------------------------
# My data uses


def test_data_uses_redirect_an_anonymous_visitor_to_login():
    url = reverse("exchange_me:data_uses")

    assert is_login_redirect(client_for().get(url), url)


def test_a_citizen_sees_who_read_her_data_and_only_hers(
    citizen, neighbour, system, resource, provider
):
    read_of(citizen, system=system, resource=resource, purpose="低保资格核查", issue="A2025001")
    read_of(citizen, system=system, resource=resource, purpose="refused", outcome="AccessDenied")
    read_of(neighbour, system=system, resource=resource, purpose="邻居的核查")
    read_of(
        citizen,
        system=system,
        resource=resource,
        purpose="临时救助复核",
        fields="gender,household_address",
    )

    response = client_for(citizen).get(reverse("exchange_me:data_uses"))

    assert response.status_code == 200
    page = html(response)
    assert re.findall(r'<dd class="data-use-purpose">([^<]+)</dd>', page) == [
        "临时救助复核",
        "低保资格核查",
    ]
    assert re.findall(r'<dd class="data-use-fields">([^<]+)</dd>', page) == [
        "性别、户籍地址",
        "姓名、公民身份号码",
    ]
    assert re.findall(r'<dd class="data-use-issue">([^<]+)</dd>', page) == ["—", "A2025001"]
    assert (
        re.findall(r'<strong class="data-use-reader">([^<]+)</strong>', page)
        == ["杭州市西湖区民政局 · 社会救助系统"] * 2
    )
    assert page.count(f'人口基本信息 <span class="muted">({provider.name})</span>') == 2
    assert "邻居的核查" not in page
    assert "refused" not in page
    assert "Every time a department reads your data" in page


def test_data_uses_say_so_when_nobody_read_the_data(citizen):
    response = client_for(citizen).get(reverse("exchange_me:data_uses"))

    assert response.status_code == 200
    assert "No department has read your data yet." in html(response)


def test_an_unverified_user_is_asked_to_verify_to_see_her_data_uses():
    response = client_for(UserFactory()).get(reverse("exchange_me:data_uses"))

    assert response.status_code == 200
    assert reverse("identity:verify") in html(response)
    assert "No department has read your data yet." not in html(response)


def test_the_data_uses_take_the_same_queries_for_one_or_three_reads(citizen, system, resource):
    client = client_for(citizen)
    url = reverse("exchange_me:data_uses")
    read_of(citizen, system=system, resource=resource, purpose="一")
    one = queries_for(client, url)
    read_of(citizen, system=system, resource=resource, purpose="二")
    read_of(citizen, system=system, resource=resource, purpose="三")

    assert queries_for(client, url) == one


# ---------------------------------------------------------------------------------------
# My consents


@pytest.mark.parametrize("name", ["exchange_me:consents"])
def test_consents_redirect_an_anonymous_visitor_to_login(name):
    url = reverse(name)

    assert is_login_redirect(client_for().get(url), url)


def test_revoking_a_consent_anonymously_redirects_to_login(citizen, consumer_department, resource):
    consent = consent_of(citizen, consumer_department, resource)

    response = client_for().post(reverse("exchange_me:consent_revoke", args=[consent.pk]))

    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_a_citizen_sees_her_consents_with_their_states_and_only_hers(
    citizen, neighbour, consumer_department, resource
):
    active = consent_of(citizen, consumer_department, resource, reference="A2025001")
    expired = consent_of(citizen, consumer_department, resource, purpose="旧的核查")
    Consent.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    revoked = consent_of(citizen, consumer_department, resource, purpose="撤回的核查")
    Consent.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    consent_of(neighbour, consumer_department, resource, purpose="邻居的核查")

    response = client_for(citizen).get(reverse("exchange_me:consents"))

    assert response.status_code == 200
    page = html(response)
    states = dict(
        re.findall(
            r'data-consent="(\d+)".*?<span class="badge status-\w+ consent-state">(\w+)</span>',
            page,
            re.S,
        )
    )
    assert states == {
        str(active.pk): "Active",
        str(expired.pk): "Expired",
        str(revoked.pk): "Revoked",
    }
    assert "邻居的核查" not in page
    assert "A2025001" in page
    assert "人口基本信息" in page
    # Only the active consent can be revoked.
    assert re.findall(r'action="/me/consents/(\d+)/revoke/"', page) == [str(active.pk)]


def test_a_citizen_revokes_her_consent(citizen, consumer_department, resource):
    consent = consent_of(citizen, consumer_department, resource)

    response = client_for(citizen).post(
        reverse("exchange_me:consent_revoke", args=[consent.pk]), follow=True
    )

    assert response.redirect_chain == [(reverse("exchange_me:consents"), 302)]
    assert shown_messages(response) == ["Your consent to 杭州市西湖区民政局 has been revoked."]
    consent.refresh_from_db()
    assert consent.revoked_at is not None


def test_revoking_a_consent_twice_shows_the_conflict(citizen, consumer_department, resource):
    consent = consent_of(citizen, consumer_department, resource)
    client = client_for(citizen)
    client.post(reverse("exchange_me:consent_revoke", args=[consent.pk]))
    consent.refresh_from_db()
    first_revoked_at = consent.revoked_at

    response = client.post(reverse("exchange_me:consent_revoke", args=[consent.pk]))

    assert response.status_code == 409
    assert page_errors(response) == ["This consent has already been revoked."]
    consent.refresh_from_db()
    assert consent.revoked_at == first_revoked_at


def test_revoking_someone_elses_consent_is_not_found(
    citizen, neighbour, consumer_department, resource
):
    consent = consent_of(neighbour, consumer_department, resource)

    response = client_for(citizen).post(reverse("exchange_me:consent_revoke", args=[consent.pk]))

    assert response.status_code == 404
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_a_consent_is_not_revoked_by_a_get(citizen, consumer_department, resource):
    consent = consent_of(citizen, consumer_department, resource)

    response = client_for(citizen).get(reverse("exchange_me:consent_revoke", args=[consent.pk]))

    assert response.status_code == 405
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_the_consents_take_the_same_queries_for_one_or_three(
    citizen, consumer_department, resource
):
    client = client_for(citizen)
    url = reverse("exchange_me:consents")
    consent_of(citizen, consumer_department, resource)
    one = queries_for(client, url)
    consent_of(citizen, consumer_department, resource)
    consent_of(citizen, consumer_department, resource)

    assert queries_for(client, url) == one


def test_the_me_page_links_to_my_data_uses_and_consents(citizen):
    page = html(client_for(citizen).get(reverse("portal:me")))

    assert f'href="{reverse("exchange_me:data_uses")}"' in page
    assert f'href="{reverse("exchange_me:consents")}"' in page
    assert f'href="{reverse("exchange:overview")}"' not in page


# ---------------------------------------------------------------------------------------
# Data officers: who may open the pages


@pytest.mark.parametrize(("name", "args"), OFFICER_PAGES)
def test_officer_pages_redirect_an_anonymous_visitor_to_login(name, args):
    url = reverse(name, args=args)

    assert is_login_redirect(client_for().get(url), url)


@pytest.mark.parametrize(("name", "args"), OFFICER_PAGES)
@pytest.mark.parametrize("role", [None, StaffRole.Role.CLERK, StaffRole.Role.APPROVER])
def test_officer_pages_are_forbidden_to_anyone_who_is_no_data_officer(
    name, args, role, resource, provider
):
    user = VerifiedUserFactory()
    if role is not None:
        StaffRoleFactory(user=user, department=provider, role=role)

    response = client_for(user).get(reverse(name, args=args))

    assert response.status_code == 403
    assert "You are not allowed to see this page." in html(response)


def test_an_officer_of_an_inactive_department_is_forbidden(provider, provider_officer):
    Department.objects.filter(pk=provider.pk).update(is_active=False)

    response = client_for(provider_officer).get(reverse("exchange:overview"))

    assert response.status_code == 403


def test_the_navigation_shows_data_sharing_to_data_officers_only(provider, provider_officer):
    clerk = StaffRoleFactory(department=provider, role=StaffRole.Role.CLERK).user
    link = f'<a href="{reverse("exchange:overview")}">Data sharing</a>'

    assert html(client_for(provider_officer).get(reverse("portal:home"))).count(link) == 1
    assert link not in html(client_for(clerk).get(reverse("portal:home")))


def test_a_department_administrator_is_a_data_officer_too(provider):
    admin = StaffRoleFactory(department=provider, role=StaffRole.Role.DEPARTMENT_ADMIN).user

    assert client_for(admin).get(reverse("exchange:overview")).status_code == 200


# ---------------------------------------------------------------------------------------
# Overview and catalogue


def test_the_overview_lists_the_officers_departments_and_pending_requests(
    provider, provider_officer, consumer_officer, system, resource
):
    StaffRoleFactory(
        user=provider_officer,
        department=DepartmentFactory(name="杭州市西湖区卫生健康局"),
        role=StaffRole.Role.DEPARTMENT_ADMIN,
    )
    StaffRoleFactory(
        user=provider_officer,
        department=DepartmentFactory(name="只是窗口的部门"),
        role=StaffRole.Role.CLERK,
    )
    grant_of(system, resource, consumer_officer)
    grant_of(system, resource, consumer_officer, status=AccessGrant.Status.APPROVED)

    response = client_for(provider_officer).get(reverse("exchange:overview"))

    assert response.status_code == 200
    page = html(response)
    departments = re.findall(
        r"<li>([^<]+) <span", page.split('class="list officer-departments">')[1]
    )
    assert sorted(departments) == ["杭州市公安局西湖区分局", "杭州市西湖区卫生健康局"]
    assert re.findall(r'class="badge status-attention pending-count">([^<]+)<', page) == [
        "1 to decide"
    ]


def test_the_catalogue_lists_every_departments_resources(consumer_officer, resource, open_resource):
    response = client_for(consumer_officer).get(reverse("exchange:resources"))

    assert response.status_code == 200
    rows = re.findall(r'<tr class="resource-row">(.*?)</tr>', html(response), re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    assert [[re.sub(r"<[^>]+>", "", c) for c in row] for row in cells] == [
        [
            "population-basic",
            "人口基本信息",
            "杭州市公安局西湖区分局",
            "Shared on conditions",
            "Natural person (resident ID number)",
            "Yes",
            "Real time",
        ],
        [
            "welfare-institutions",
            "养老机构名录",
            "杭州市西湖区民政局",
            "Shared unconditionally",
            "Organisation (unified social credit code)",
            "No",
            "Monthly",
        ],
    ]


def test_a_resource_shows_its_fields_and_openapi_link(consumer_officer, resource, system):
    response = client_for(consumer_officer).get(reverse("exchange:resource", args=[resource.code]))

    assert response.status_code == 200
    page = html(response)
    rows = re.findall(r'<tr class="field-row">(.*?)</tr>', page, re.S)
    cells = [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]
    assert cells[0] == ["姓名", "name", "string", "3 sensitive", "Yes", "Name: 张*"]
    assert [row[1] for row in cells] == ["name", "id_number", "gender", "household_address"]
    assert 'href="/exchange/resources/population-basic/openapi.json"' in page
    assert 'class="form request-form"' in page


def test_an_unknown_resource_is_not_found(consumer_officer):
    response = client_for(consumer_officer).get(reverse("exchange:resource", args=["nothing"]))

    assert response.status_code == 404


def test_a_resource_without_systems_to_read_with_links_to_registering_one(
    provider_officer, resource
):
    response = client_for(provider_officer).get(reverse("exchange:resource", args=[resource.code]))

    page = html(response)
    assert 'class="form request-form"' not in page
    assert f'href="{reverse("exchange:systems")}"' in page


def test_the_openapi_description_is_served_as_json(consumer_officer, resource):
    response = client_for(consumer_officer).get(
        reverse("exchange:resource_openapi", args=[resource.code])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == services.resource_openapi(resource)
    assert body["info"]["title"] == "人口基本信息"


# ---------------------------------------------------------------------------------------
# Asking for access


def request_data(system: ConsumerSystem, **overrides: Any) -> dict[str, Any]:
    return {
        "consumer": str(system.pk),
        "fields": ["name", "gender"],
        "clear_fields": ["name"],
        "purpose": "核对救助对象身份",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "duration_days": "180",
        **overrides,
    }


def test_an_officer_asks_for_access_and_the_request_waits_for_the_provider(
    consumer_officer, system, resource
):
    response = client_for(consumer_officer).post(
        reverse("exchange:resource", args=[resource.code]), request_data(system), follow=True
    )

    assert response.redirect_chain == [(reverse("exchange:grants"), 302)]
    assert shown_messages(response) == [
        "Your request for 人口基本信息 has been sent to 杭州市公安局西湖区分局."
    ]
    grant = AccessGrant.objects.get()
    assert (grant.consumer, grant.resource, grant.requested_by) == (
        system,
        resource,
        consumer_officer,
    )
    assert grant.fields == ["name", "gender"]
    assert grant.clear_fields == ["name"]
    assert grant.purpose == "核对救助对象身份"
    assert grant.duration_days == 180
    assert grant.status == AccessGrant.Status.REQUESTED
    assert re.findall(r'class="badge status-attention grant-state">([^<]+)<', html(response)) == [
        "Awaiting decision"
    ]


def test_unconditionally_shared_data_is_granted_at_once(provider_officer, provider, open_resource):
    # The provider's officer reads the consumer department's open data with its own system.
    own = ConsumerSystem.objects.create(department=provider, code="case-system", name="案件系统")

    response = client_for(provider_officer).post(
        reverse("exchange:resource", args=[open_resource.code]),
        request_data(own, fields=["name"], clear_fields=[]),
        follow=True,
    )

    assert shown_messages(response) == [
        "Access to 养老机构名录 is granted: it is shared unconditionally."
    ]
    grant = AccessGrant.objects.get()
    assert grant.status == AccessGrant.Status.APPROVED
    assert grant.is_active_at(timezone.now())


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"fields": []}, "fields", "Choose at least one field."),
        ({"fields": ["name", "shoe_size"]}, "fields", "Select a valid choice."),
        ({"purpose": "  "}, "purpose", "This field is required."),
        ({"duration_days": "5000"}, "duration_days", "Ensure this value is less than"),
        ({"consumer": "999999"}, "consumer", "Select a valid choice."),
        (
            {"fields": ["gender"], "clear_fields": ["name"]},
            "clear_fields",
            "Fields in clear must be among the requested fields: name.",
        ),
    ],
)
def test_an_invalid_request_shows_the_errors_beside_the_fields_and_creates_nothing(
    consumer_officer, system, resource, overrides, field, message
):
    response = client_for(consumer_officer).post(
        reverse("exchange:resource", args=[resource.code]), request_data(system, **overrides)
    )

    assert response.status_code == 422
    errors = field_error(response, f"id_{field}")
    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert not AccessGrant.objects.exists()


def test_a_system_of_another_department_cannot_ask(consumer_officer, provider, resource, system):
    foreign = ConsumerSystem.objects.create(department=provider, code="other", name="别人的系统")

    response = client_for(consumer_officer).post(
        reverse("exchange:resource", args=[resource.code]), request_data(foreign)
    )

    assert response.status_code == 422
    assert field_error(response, "id_consumer")[0].startswith("Select a valid choice.")
    assert not AccessGrant.objects.exists()


def test_data_that_is_not_shared_cannot_be_asked_for(consumer_officer, system, resource):
    DataResource.objects.filter(pk=resource.pk).update(sharing_type=SharingType.NOT_SHARED)

    client = client_for(consumer_officer)
    page = html(client.get(reverse("exchange:resource", args=[resource.code])))
    response = client.post(reverse("exchange:resource", args=[resource.code]), request_data(system))

    assert 'class="form request-form"' not in page
    assert response.status_code == 422
    assert page_errors(response) == [
        "Some fields are not valid.",
        "This resource is not shared with other departments.",
    ]
    assert not AccessGrant.objects.exists()


# ---------------------------------------------------------------------------------------
# Grants: deciding and revoking


def grant_ids(response: Any, direction: str) -> list[int]:
    section = html(response).split(f'id="{direction}"')
    if len(section) < 2:
        return []
    return [int(i) for i in re.findall(r'data-grant="(\d+)"', section[1].split("</ul>")[0])]


def test_the_grants_page_lists_incoming_and_outgoing_requests(
    provider_officer, consumer_officer, system, resource
):
    grant = grant_of(system, resource, consumer_officer)

    provider_page = client_for(provider_officer).get(reverse("exchange:grants"))
    consumer_page = client_for(consumer_officer).get(reverse("exchange:grants"))

    assert grant_ids(provider_page, "incoming") == [grant.pk]
    assert grant_ids(provider_page, "outgoing") == []
    assert f'action="{reverse("exchange:grant_decide", args=[grant.pk])}"' in html(provider_page)
    assert grant_ids(consumer_page, "incoming") == []
    assert grant_ids(consumer_page, "outgoing") == [grant.pk]
    assert "exchange/grants/" + str(grant.pk) + "/decide/" not in html(consumer_page)
    assert re.findall(r'<dd class="grant-fields">([^<]+)</dd>', html(consumer_page)) == [
        "姓名、性别"
    ]


def test_an_officer_of_an_unrelated_department_sees_no_grants(system, resource, consumer_officer):
    grant_of(system, resource, consumer_officer)
    stranger = StaffRoleFactory(role=StaffRole.Role.DATA_OFFICER).user

    response = client_for(stranger).get(reverse("exchange:grants"))

    assert grant_ids(response, "incoming") == []
    assert grant_ids(response, "outgoing") == []


def test_the_provider_approves_a_request(provider_officer, consumer_officer, system, resource):
    grant = grant_of(system, resource, consumer_officer)

    response = client_for(provider_officer).post(
        reverse("exchange:grant_decide", args=[grant.pk]),
        {"decision": "approve", "comment": ""},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("exchange:grants"), 302)]
    assert shown_messages(response) == [
        "The request of 杭州市西湖区民政局 for 人口基本信息 has been approved."
    ]
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.APPROVED
    assert grant.decided_by == provider_officer
    assert grant.expires_at == grant.valid_from + datetime.timedelta(days=365)


def test_a_denial_without_a_reason_is_refused(provider_officer, consumer_officer, system, resource):
    grant = grant_of(system, resource, consumer_officer)

    response = client_for(provider_officer).post(
        reverse("exchange:grant_decide", args=[grant.pk]), {"decision": "deny", "comment": " "}
    )

    assert response.status_code == 422
    assert field_error(response, f"id_grant{grant.pk}_comment") == [
        "Please give the reason for the denial."
    ]
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REQUESTED


def test_a_decision_without_approve_or_deny_changes_nothing(
    provider_officer, consumer_officer, system, resource
):
    grant = grant_of(system, resource, consumer_officer)

    response = client_for(provider_officer).post(
        reverse("exchange:grant_decide", args=[grant.pk]), {"decision": "maybe", "comment": "?"}
    )

    assert response.status_code == 422
    assert 'class="form-errors" role="alert"><p>Select a valid choice.' in html(response)
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REQUESTED


def test_the_provider_denies_a_request_with_a_reason(
    provider_officer, consumer_officer, system, resource
):
    grant = grant_of(system, resource, consumer_officer)

    response = client_for(provider_officer).post(
        reverse("exchange:grant_decide", args=[grant.pk]),
        {"decision": "deny", "comment": "用途与所需字段不符"},
        follow=True,
    )

    assert shown_messages(response) == [
        "The request of 杭州市西湖区民政局 for 人口基本信息 has been denied."
    ]
    grant.refresh_from_db()
    assert (grant.status, grant.decision_comment) == (
        AccessGrant.Status.DENIED,
        "用途与所需字段不符",
    )


def test_a_decided_request_cannot_be_decided_again(
    provider_officer, consumer_officer, system, resource
):
    grant = grant_of(system, resource, consumer_officer, status=AccessGrant.Status.APPROVED)

    response = client_for(provider_officer).post(
        reverse("exchange:grant_decide", args=[grant.pk]), {"decision": "deny", "comment": "晚了"}
    )

    assert response.status_code == 409
    assert page_errors(response) == ["This request has already been decided."]
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.APPROVED


def test_the_consumer_cannot_decide_its_own_request(consumer_officer, system, resource):
    grant = grant_of(system, resource, consumer_officer)

    response = client_for(consumer_officer).post(
        reverse("exchange:grant_decide", args=[grant.pk]), {"decision": "approve"}
    )

    assert response.status_code == 403
    assert page_errors(response) == ["Only the provider department's data officer may decide."]
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REQUESTED


def test_an_unrelated_officer_cannot_find_a_grant(consumer_officer, system, resource):
    grant = grant_of(system, resource, consumer_officer)
    stranger = StaffRoleFactory(role=StaffRole.Role.DATA_OFFICER).user
    client = client_for(stranger)

    decide = client.post(reverse("exchange:grant_decide", args=[grant.pk]), {"decision": "approve"})
    revoke = client.post(reverse("exchange:grant_revoke", args=[grant.pk]))

    assert (decide.status_code, revoke.status_code) == (404, 404)
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REQUESTED


@pytest.mark.parametrize("side", ["provider", "consumer"])
def test_either_side_revokes_an_approved_grant(
    side, provider_officer, consumer_officer, system, resource
):
    grant = grant_of(system, resource, consumer_officer, status=AccessGrant.Status.APPROVED)
    officer = provider_officer if side == "provider" else consumer_officer

    response = client_for(officer).post(
        reverse("exchange:grant_revoke", args=[grant.pk]), follow=True
    )

    assert shown_messages(response) == [
        "The grant of 杭州市西湖区民政局 for 人口基本信息 has been revoked."
    ]
    grant.refresh_from_db()
    assert (grant.status, grant.revoked_by) == (AccessGrant.Status.REVOKED, officer)


def test_a_grant_that_is_not_approved_cannot_be_revoked(
    provider_officer, consumer_officer, system, resource
):
    grant = grant_of(system, resource, consumer_officer)

    response = client_for(provider_officer).post(reverse("exchange:grant_revoke", args=[grant.pk]))

    assert response.status_code == 409
    assert page_errors(response) == ["Only an approved grant can be revoked."]
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REQUESTED


def test_grants_show_their_states_including_expired(
    provider_officer, consumer_officer, system, resource
):
    requested = grant_of(system, resource, consumer_officer)
    approved = grant_of(system, resource, consumer_officer, status=AccessGrant.Status.APPROVED)
    expired = grant_of(
        system, resource, consumer_officer, status=AccessGrant.Status.APPROVED, expired=True
    )
    denied = grant_of(system, resource, consumer_officer, status=AccessGrant.Status.DENIED)

    response = client_for(provider_officer).get(reverse("exchange:grants"))

    states = dict(
        re.findall(
            r'data-grant="(\d+)".*?class="badge status-\w+ grant-state">([^<]+)<',
            html(response),
            re.S,
        )
    )
    assert states == {
        str(requested.pk): "Awaiting decision",
        str(approved.pk): "Approved",
        str(expired.pk): "Expired",
        str(denied.pk): "Denied",
    }
    # Only the active grant can be revoked, only the open request decided.
    assert re.findall(r'action="/exchange/grants/(\d+)/revoke/"', html(response)) == [
        str(approved.pk)
    ]
    assert re.findall(r'action="/exchange/grants/(\d+)/decide/"', html(response)) == [
        str(requested.pk)
    ]


def test_the_grants_page_takes_the_same_queries_for_one_or_three_grants(
    provider_officer, consumer_officer, system, resource
):
    client = client_for(provider_officer)
    url = reverse("exchange:grants")
    grant_of(system, resource, consumer_officer)
    one = queries_for(client, url)
    grant_of(system, resource, consumer_officer, status=AccessGrant.Status.APPROVED)
    grant_of(system, resource, consumer_officer, status=AccessGrant.Status.DENIED)

    assert queries_for(client, url) == one


# ---------------------------------------------------------------------------------------
# Consumer systems


def test_the_systems_page_lists_the_departments_systems_without_token_hashes(
    consumer_officer, system, provider
):
    ConsumerSystem.objects.filter(pk=system.pk).update(token_hash="f" * 64)
    ConsumerSystem.objects.create(department=provider, code="other", name="别人的系统")

    response = client_for(consumer_officer).get(reverse("exchange:systems"))

    assert response.status_code == 200
    page = html(response)
    assert re.findall(r"<code>([^<]+)</code>", page) == ["CN-ZJ/GOV/330106-MZ/assistance"]
    assert "别人的系统" not in page
    assert "f" * 64 not in page
    departments = re.findall(r'<option value="(\d+)"', page)
    assert departments == [str(system.department_id)]


def test_an_officer_registers_a_system_and_sees_its_token_once(
    consumer_officer, consumer_department
):
    client = client_for(consumer_officer)

    response = client.post(
        reverse("exchange:systems"),
        {
            "department": str(consumer_department.pk),
            "code": "elderly-care",
            "name": "养老服务系统",
            "rate_limit_per_minute": "120",
        },
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = re.findall(r'<code class="token sms-body" id="token">([^<]+)</code>', html(response))
    assert len(token) == 1
    assert token[0].startswith(services.TOKEN_PREFIX)
    assert "it is not shown again" in html(response)
    system = ConsumerSystem.objects.get(code="elderly-care")
    assert (system.department, system.name, system.rate_limit_per_minute) == (
        consumer_department,
        "养老服务系统",
        120,
    )
    assert system.token_hash == services.consumer_system_token_hash(token[0])
    assert system.token_hash not in html(response)
    listing = html(client.get(reverse("exchange:systems")))
    assert token[0] not in listing
    assert "CN-ZJ/GOV/330106-MZ/elderly-care" in listing


def test_a_system_cannot_be_registered_for_a_department_one_is_not_officer_of(
    consumer_officer, provider
):
    response = client_for(consumer_officer).post(
        reverse("exchange:systems"),
        {
            "department": str(provider.pk),
            "code": "sneaky",
            "name": "偷偷的系统",
            "rate_limit_per_minute": "600",
        },
    )

    assert response.status_code == 422
    assert field_error(response, "id_department")[0].startswith("Select a valid choice.")
    assert not ConsumerSystem.objects.filter(code="sneaky").exists()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("Bad Code", "Use 2–60 lowercase letters, digits and hyphens."),
        ("assistance", "This department already has a system with this code."),
    ],
)
def test_a_bad_system_code_is_shown_beside_the_field(
    consumer_officer, consumer_department, system, code, message
):
    response = client_for(consumer_officer).post(
        reverse("exchange:systems"),
        {
            "department": str(consumer_department.pk),
            "code": code,
            "name": "又一个系统",
            "rate_limit_per_minute": "600",
        },
    )

    assert response.status_code == 422
    assert field_error(response, "id_code") == [message]
    assert page_errors(response) == ["Some fields are not valid."]
    assert ConsumerSystem.objects.count() == 1
