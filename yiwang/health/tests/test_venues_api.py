"""The JSON API of venue codes: /api/v1/health/venues and /api/v1/health/checkins."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiwang.health import venues
from yiwang.health.models import Venue, VenueCheckin
from yiwang.health.tests.test_venues_services import (
    COMPANY,
    FORM,
    agent,
    checkin_at,
    company,
    grant,
    owner,
    register,
    venue,
    visitor,
)
from yiwang.identity import services as identity_services
from yiwang.identity.models import User
from yiwang.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Fixtures shared with the services' tests.
__all__ = ["agent", "company", "grant", "owner", "venue", "visitor"]

VENUES = "/api/v1/health/venues"
CHECKINS = "/api/v1/health/checkins"


def client_for(user: User | None = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, body or {}, content_type="application/json")


def queries_for(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(path).status_code == 200
    return len(context.captured_queries)


# ---------------------------------------------------------------------------------------
# Venues


def test_registering_a_venue_answers_201_with_the_venue(person):
    response = post(client_for(person), VENUES, {**FORM, "idempotency_key": "r1"})

    venue = Venue.objects.get()
    body = response.json()
    assert response.status_code == 201
    assert body == {
        "id": venue.pk,
        "code": venue.code,
        "checkin_url": f"/health/v/{venue.code}/",
        "name": "知味观（湖滨店）",
        "kind": "restaurant",
        "kind_label": "Restaurant or café",
        "region_code": "330106011",
        "region_name": "浙江省杭州市西湖区转塘街道",
        "address": "仁和路83号",
        "contact_phone": "0571-87654321",
        "organisation_uscc": "",
        "organisation_name": "",
        "created_at": body["created_at"],
        "closed_at": None,
    }


def test_the_same_key_answers_200_with_the_same_venue(person):
    client = client_for(person)
    first = post(client, VENUES, {**FORM, "idempotency_key": "r1"})
    second = post(client, VENUES, {**FORM, "idempotency_key": "r1"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert Venue.objects.count() == 1


def test_invalid_fields_answer_422_by_field(person):
    response = post(client_for(person), VENUES, {**FORM, "kind": "zoo", "contact_phone": "12345"})

    assert response.status_code == 422
    assert response.json() == {
        "code": "validation_failed",
        "message": "Some fields are not valid.",
        "fields": {
            "kind": ["Choose the kind of venue."],
            "contact_phone": [
                "Enter an 11-digit mainland mobile number, or a landline with its area code "
                "such as 0571-87654321."
            ],
        },
    }
    assert Venue.objects.count() == 0


def test_a_missing_field_answers_422(person):
    response = post(client_for(person), VENUES, {"name": "知味观"})

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"kind", "region_code", "address", "contact_phone"}


def test_an_unverified_person_is_refused_with_403():
    response = post(client_for(UserFactory()), VENUES, FORM)

    assert response.status_code == 403
    assert response.json()["code"] == "health_not_verified"
    assert Venue.objects.count() == 0


def test_without_a_login_the_api_answers_401():
    assert post(client_for(), VENUES, FORM).status_code == 401
    assert client_for().get(VENUES).status_code == 401
    assert (
        post(client_for(), CHECKINS, {"venue_code": "x", "idempotency_key": "k"}).status_code == 401
    )
    assert client_for().get(CHECKINS).status_code == 401


def test_registering_for_an_organisation(agent, company, grant):
    response = post(client_for(agent), VENUES, {**FORM, "organisation_id": company.pk})

    assert response.status_code == 201
    assert (response.json()["organisation_uscc"], response.json()["organisation_name"]) == (
        company.uscc,
        COMPANY,
    )


def test_registering_for_an_organisation_she_does_not_act_for_is_403(visitor, company):
    response = post(client_for(visitor), VENUES, {**FORM, "organisation_id": company.pk})

    assert response.status_code == 403
    assert response.json()["code"] == "not_acting_for_organisation"


def test_my_venues_are_mine_or_the_organisations(owner, agent, company, grant):
    own = register(owner, name="沈家小铺")
    companys = register(owner, organisation_id=company.pk)

    mine = client_for(owner).get(VENUES).json()
    theirs = client_for(agent).get(VENUES, {"organisation_id": company.pk}).json()
    agents_own = client_for(agent).get(VENUES).json()

    assert [v["id"] for v in mine] == [own.pk]
    assert [v["id"] for v in theirs] == [companys.pk]
    assert agents_own == []


def test_listing_an_organisations_venues_she_does_not_act_for_is_403(visitor, company):
    response = client_for(visitor).get(VENUES, {"organisation_id": company.pk})

    assert response.status_code == 403


def test_the_venue_list_costs_the_same_whatever_its_length(person):
    client = client_for(person)
    register(person, name="店0")
    client.get(VENUES)
    one = queries_for(client, VENUES)
    for n in range(1, 15):
        register(person, name=f"店{n}")

    assert queries_for(client, VENUES) == one
    assert len(client.get(VENUES).json()) == 15


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
def test_a_limit_out_of_range_is_422(person, params):
    assert client_for(person).get(VENUES, params).status_code == 422
    assert client_for(person).get(CHECKINS, params).status_code == 422


def test_the_list_pages_with_limit_and_offset(person):
    names = [register(person, name=f"店{n}").name for n in range(5)]

    page = client_for(person).get(VENUES, {"limit": 2, "offset": 1}).json()

    assert [v["name"] for v in page] == [names[3], names[2]]


def test_closing_a_venue(person, venue):
    response = post(client_for(person), f"{VENUES}/{venue.pk}/close")

    assert response.status_code == 200
    assert response.json()["closed_at"] is not None
    assert Venue.objects.get().closed_at is not None


def test_closing_another_persons_venue_is_404(venue, visitor):
    response = post(client_for(visitor), f"{VENUES}/{venue.pk}/close")

    assert response.status_code == 404
    assert Venue.objects.get().closed_at is None


def test_an_agent_closes_the_organisations_venue_until_revoked(owner, agent, company, grant):
    first = register(agent, organisation_id=company.pk, name="甲店")
    second = register(agent, organisation_id=company.pk, name="乙店")

    assert post(client_for(agent), f"{VENUES}/{first.pk}/close").status_code == 200
    identity_services.organisation_agent_revoke(actor=owner, grant=grant)
    refused = post(client_for(agent), f"{VENUES}/{second.pk}/close")

    assert refused.status_code == 403
    assert refused.json()["code"] == "not_acting_for_organisation"
    assert Venue.objects.get(pk=second.pk).closed_at is None


# ---------------------------------------------------------------------------------------
# Check-ins


def test_a_scan_answers_201_then_200_for_the_same_key(venue, visitor):
    client = client_for(visitor)
    body = {"venue_code": venue.code, "idempotency_key": "scan-1"}

    first = post(client, CHECKINS, body)
    again = post(client, CHECKINS, body)

    checkin = VenueCheckin.objects.get()
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == {
        "id": checkin.pk,
        "venue_code": venue.code,
        "venue_name": "知味观（湖滨店）",
        "venue_address": "浙江省杭州市西湖区转塘街道 仁和路83号",
        "checked_in_at": first.json()["checked_in_at"],
    }
    assert again.json() == first.json()
    assert (checkin.person, checkin.venue) == (visitor, venue)


def test_an_unknown_code_is_404_venue_not_found(visitor):
    response = post(
        client_for(visitor), CHECKINS, {"venue_code": "aaaaaaaaaaaaaaaa", "idempotency_key": "k"}
    )

    assert response.status_code == 404
    assert response.json()["code"] == "venue_not_found"
    assert "not a registered venue code" in response.json()["message"]


def test_a_closed_venue_is_409_venue_closed(person, venue, visitor):
    venues.venue_close(actor=person, venue_id=venue.pk)

    response = post(
        client_for(visitor), CHECKINS, {"venue_code": venue.code, "idempotency_key": "k"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "venue_closed"
    assert VenueCheckin.objects.count() == 0


def test_an_unverified_person_cannot_check_in(venue):
    response = post(
        client_for(UserFactory()), CHECKINS, {"venue_code": venue.code, "idempotency_key": "k"}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "health_not_verified"


def test_a_scan_without_a_key_is_422(venue, visitor):
    response = post(client_for(visitor), CHECKINS, {"venue_code": venue.code})

    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["idempotency_key"]


def test_a_key_reused_at_another_venue_is_409(person, venue, visitor):
    other = register(person, name="知味观（武林店）")
    client = client_for(visitor)
    post(client, CHECKINS, {"venue_code": venue.code, "idempotency_key": "k"})

    response = post(client, CHECKINS, {"venue_code": other.code, "idempotency_key": "k"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_my_checkins_of_the_retention_period_newest_first(person, venue, visitor):
    now = timezone.now()
    older = checkin_at(visitor, venue, now - datetime.timedelta(days=3))
    newer = checkin_at(visitor, venue, now - datetime.timedelta(minutes=3))
    checkin_at(visitor, venue, now - datetime.timedelta(days=28, minutes=1))
    checkin_at(person, venue, now)

    response = client_for(visitor).get(CHECKINS)

    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [newer.pk, older.pk]


def test_the_checkin_list_costs_the_same_whatever_its_length(person, visitor):
    client = client_for(visitor)
    now = timezone.now()
    checkin_at(visitor, register(person, name="店0"), now)
    client.get(CHECKINS)
    one = queries_for(client, CHECKINS)
    for n in range(1, 15):
        checkin_at(visitor, register(person, name=f"店{n}"), now - datetime.timedelta(hours=n))

    assert queries_for(client, CHECKINS) == one
    assert len(client.get(CHECKINS).json()) == 15


# ---------------------------------------------------------------------------------------
# Switched off


def test_every_endpoint_answers_503_while_switched_off(person, venue, visitor, settings):
    settings.HEALTH_EMERGENCY_ENABLED = False
    client = client_for(person)

    answers = [
        post(client, VENUES, FORM),
        client.get(VENUES),
        post(client, f"{VENUES}/{venue.pk}/close"),
        post(client, CHECKINS, {"venue_code": venue.code, "idempotency_key": "k"}),
        client.get(CHECKINS),
    ]

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(503, "health_disabled")] * 5
    assert Venue.objects.get().closed_at is None
    assert VenueCheckin.objects.count() == 0


def test_the_endpoints_are_documented():
    schema = client_for().get("/api/v1/openapi.json").json()

    register_op = schema["paths"]["/api/v1/health/venues"]["post"]
    checkin_op = schema["paths"]["/api/v1/health/checkins"]["post"]
    assert {"200", "201", "403", "422", "503"} <= set(register_op["responses"])
    assert {"200", "201", "404", "409", "503"} <= set(checkin_op["responses"])
    assert "venue_not_found" in checkin_op["description"]
