"""Acting for an organisation (办事身份切换) and the audit of agents' authorisations."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from yiwang.core.errors import PermissionDenied
from yiwang.core.models import AuditEntry
from yiwang.identity import services
from yiwang.identity.acting import SESSION_KEY, acting_identity
from yiwang.identity.models import Organisation, OrganisationAgent, User
from yiwang.identity.selectors import acting_choices_for
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> User:
    return VerifiedUserFactory(name="沈嘉航")


@pytest.fixture
def agent() -> User:
    return VerifiedUserFactory(name="许静怡")


@pytest.fixture
def company(owner: User, uscc_factory: Any) -> Organisation:
    return Organisation.objects.create(
        uscc=uscc_factory(serial="MA2GJ7L4X"),
        name="杭州岚禾数智科技有限公司",
        legal_representative=owner,
    )


@pytest.fixture
def other_company(uscc_factory: Any) -> Organisation:
    return Organisation.objects.create(
        uscc=uscc_factory(serial="MA7B8C9D0"),
        name="别人的公司",
        legal_representative=VerifiedUserFactory(),
    )


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


@pytest.fixture
def grant(owner: User, agent: User, company: Organisation) -> OrganisationAgent:
    return services.organisation_agent_grant(
        actor=owner, organisation=company, agent_phone=agent.phone, valid_until=in_days(30)
    )


def client_for(user: User, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def switch(client: Client, value: object, **extra: str) -> Any:
    return client.post(reverse("identity:acting_switch"), {"acting_for": value, **extra})


# ---------------------------------------------------------------------------------------
# Whom she may act for


def test_the_choices_are_her_organisations_and_current_agencies_by_name(
    owner, agent, company, grant, other_company, uscc_factory
):
    second = Organisation.objects.create(
        uscc=uscc_factory(serial="MA1A2B3C4"),
        name="杭州安和餐饮有限公司",
        legal_representative=agent,
    )
    OrganisationAgent.objects.create(
        organisation=other_company,
        agent=agent,
        valid_until=in_days(-1),
        granted_by=other_company.legal_representative,
    )

    choices = acting_choices_for(agent)

    assert [(c.organisation, c.role, c.services) for c in choices] == [
        (second, "legal_representative", ()),
        (company, "agent", ()),
    ]
    assert choices[1].valid_until == grant.valid_until


def test_an_agents_choice_covers_only_the_services_of_her_grant(owner, agent, company):
    services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=in_days(30),
        services=["330106-SJ-0001"],
    )

    (choice,) = acting_choices_for(agent)

    assert choice.covers("330106-SJ-0001")
    assert not choice.covers("330106-SJ-0002")


def test_nobody_without_an_organisation_has_a_choice(agent):
    assert acting_choices_for(agent) == []


# ---------------------------------------------------------------------------------------
# Switching


def test_an_agent_switches_to_the_organisation_and_back(agent, company, grant):
    client = client_for(agent)

    response = switch(client, company.pk, next=reverse("applications:list"))

    assert response.status_code == 302
    assert response["Location"] == reverse("applications:list")
    assert client.session[SESSION_KEY] == company.pk
    html = client.get(reverse("portal:me")).content.decode()
    assert re.search(
        rf'<button type="submit" name="acting_for" value="{company.pk}" aria-current', html
    )

    response = switch(client, "")

    assert response["Location"] == reverse("portal:me")
    assert SESSION_KEY not in client.session


def test_the_legal_representative_switches_to_his_organisation(owner, company):
    client = client_for(owner)

    assert switch(client, company.pk).status_code == 302

    assert client.session[SESSION_KEY] == company.pk


@pytest.mark.parametrize("value", ["other", "9999", "abc", "-1"])
def test_switching_to_an_organisation_she_does_not_act_for_is_refused(
    agent, company, grant, other_company, value
):
    client = client_for(agent)
    switch(client, company.pk)
    organisation_id = {"other": other_company.pk}.get(value, value)

    response = switch(client, organisation_id)

    assert response.status_code == 403
    # The choice she had stays.
    assert client.session[SESSION_KEY] == company.pk


def test_a_revoked_agent_cannot_switch_to_the_organisation(owner, agent, company, grant):
    services.organisation_agent_revoke(actor=owner, grant=grant)

    response = switch(client_for(agent), company.pk)

    assert response.status_code == 403


def test_switching_needs_a_post_with_the_csrf_token_and_a_login(agent, company, grant):
    url = reverse("identity:acting_switch")

    assert client_for(agent).get(url).status_code == 405
    assert (
        client_for(agent, enforce_csrf_checks=True)
        .post(url, {"acting_for": company.pk})
        .status_code
        == 403
    )
    anonymous = Client().post(url, {"acting_for": company.pk})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("identity:login"))


def test_switching_never_sends_her_to_another_site(agent, company, grant):
    response = switch(client_for(agent), company.pk, next="https://evil.example/")

    assert response["Location"] == reverse("portal:me")


def test_a_revoked_choice_falls_back_to_herself_silently(owner, agent, company, grant):
    client = client_for(agent)
    switch(client, company.pk)
    services.organisation_agent_revoke(actor=owner, grant=grant)

    response = client.get(reverse("portal:me"))

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert 'data-testid="acting-switch"' not in response.content.decode()


def test_an_expired_choice_falls_back_to_herself(agent, company, grant):
    factory = RequestFactory()
    request = factory.get("/")
    request.user = agent
    request.session = {SESSION_KEY: company.pk}  # type: ignore[assignment]
    OrganisationAgent.objects.filter(pk=grant.pk).update(valid_until=in_days(-1))

    identity = acting_identity(request)

    assert identity.is_personal
    assert identity.choices == ()
    assert request.session == {}


def test_the_header_offers_the_switch_only_to_people_with_an_organisation(
    owner, agent, company, grant
):
    nobody = client_for(VerifiedUserFactory()).get(reverse("portal:me")).content.decode()
    owners = client_for(owner).get(reverse("portal:me")).content.decode()

    assert 'data-testid="acting-switch"' not in nobody
    assert 'data-testid="acting-switch"' in owners
    buttons = re.findall(r'name="acting_for" value="(\d*)"', owners.split("</header>")[0])
    assert buttons == ["", str(company.pk)]


# ---------------------------------------------------------------------------------------
# Audit of authorisations


def test_authorising_an_agent_is_audited_with_the_organisation(owner, agent, company):
    grant = services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=in_days(30),
        services=["330106-SJ-0001"],
        client_address="203.0.113.7",
    )

    entry = AuditEntry.objects.get()
    assert (entry.actor_id, entry.action, entry.acting_for, entry.object_id) == (
        owner.pk,
        "organisation_agent.grant",
        f"organisation:{company.uscc}",
        str(grant.pk),
    )
    assert entry.detail == {
        "organisation": company.uscc,
        "services": ["330106-SJ-0001"],
        "valid_until": in_days(30).isoformat(),
        "renewed": False,
    }
    assert entry.client_address == "203.0.113.7"
    assert agent.phone not in entry.object_repr


def test_renewing_an_authorisation_is_audited_as_such(owner, agent, company, grant):
    services.organisation_agent_grant(
        actor=owner, organisation=company, agent_phone=agent.phone, valid_until=in_days(60)
    )

    assert [e.detail["renewed"] for e in AuditEntry.objects.order_by("seq")] == [False, True]


def test_revoking_is_audited_once(owner, company, grant):
    services.organisation_agent_revoke(actor=owner, grant=grant)
    services.organisation_agent_revoke(actor=owner, grant=grant)

    revocations = AuditEntry.objects.filter(action="organisation_agent.revoke")
    assert [(e.actor_id, e.acting_for) for e in revocations] == [
        (owner.pk, f"organisation:{company.uscc}")
    ]


def test_a_refused_authorisation_or_revocation_leaves_no_entry(owner, agent, company, grant):
    before = AuditEntry.objects.count()

    with pytest.raises(PermissionDenied):
        services.organisation_agent_revoke(actor=agent, grant=grant)
    with pytest.raises(PermissionDenied):
        services.organisation_agent_grant(
            actor=agent,
            organisation=company,
            agent_phone=VerifiedUserFactory().phone,
            valid_until=in_days(30),
        )

    assert AuditEntry.objects.count() == before


def test_the_organisation_page_records_the_client_address(owner, agent, company, grant):
    client = client_for(owner, REMOTE_ADDR="198.51.100.4")

    client.post(reverse("identity:organisation_agent_revoke", args=[company.pk, grant.pk]))

    entry = AuditEntry.objects.get(action="organisation_agent.revoke")
    assert entry.client_address == "198.51.100.4"
