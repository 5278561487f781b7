"""The contact-tracing API: health staff only, their department's traces, exact answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from yiwang.core.masking import mask_id_number
from yiwang.exchange.models import AccessGrant
from yiwang.health.models import ContactCandidate, ContactTrace, HealthFact
from yiwang.health.tests.test_tracing_world import World, department_make, staff_of, world_build
from yiwang.identity.models import Department, User

pytestmark = pytest.mark.django_db

ORDER = ("low", "twice", "high", "train", "flight")
WINDOW = {"window_from": "2026-11-17T00:00:00+08:00", "window_until": "2026-11-22T12:00:00+08:00"}


@pytest.fixture
def world(health_department: Department, data_exchange: Any) -> World:
    return world_build()


def client_for(user: Any = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def started(staff: Any, world: World) -> dict[str, Any]:
    response = post(
        client_for(staff),
        "/api/v1/health/traces",
        {"case_id_number": world.case_id, **WINDOW},
    )
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def test_starting_a_trace_answers_the_people_found_masked_and_why(
    health_staff: User, world: World
) -> None:
    body = started(health_staff, world)

    trace = ContactTrace.objects.get()
    candidates = {c.id_number: c.pk for c in ContactCandidate.objects.all()}
    assert isinstance(body["summary"].pop("milliseconds"), int)
    # By the day of first contact (then by ID number, which the factories number).
    days = [c["first_contact_on"] for c in body["candidates"]]
    assert days == sorted(days)
    body["candidates"].sort(
        key=lambda c: [world.id_number(k) for k in ORDER].index(
            next(n for n, pk in candidates.items() if pk == c["id"])
        )
    )
    assert body == {
        "id": trace.pk,
        "department_code": "330100-WJ",
        "status": "open",
        "case_id_number": mask_id_number(world.case_id),
        "case_name": "林**",
        "window_from": "2026-11-16T16:00:00Z",
        "window_until": "2026-11-22T04:00:00Z",
        "margin_minutes": 30,
        "stay_minutes": 60,
        "summary": {"visits": 2, "trips": 2, "candidates": 5, "unidentified": 1},
        "candidates_total": 5,
        "candidates_pending": 5,
        "started_by": health_staff.display_name,
        "created_at": body["created_at"],
        "closed_at": None,
        "candidates": [
            {
                "id": candidates[world.id_number("low")],
                "id_number": mask_id_number(world.id_number("low")),
                "name": "钱**",
                "has_account": True,
                "first_contact_on": "2026-11-20",
                "matches": [
                    {
                        "kind": "venue",
                        "explained": "Same venue: 西湖银泰超市 11-20 12:40 (case 14:10)",
                        "venue": world.supermarket.pk,
                        "venue_name": "西湖银泰超市",
                        "at": "2026-11-20T12:40:00+08:00",
                        "case_at": "2026-11-20T14:10:00+08:00",
                        "mode": None,
                        "trip": None,
                        "date": None,
                        "seat": None,
                        "case_seat": None,
                    }
                ],
                "decision": "pending",
                "decided_by": None,
                "decided_at": None,
                "comment": "",
                "fact_id": None,
            },
            {
                "id": candidates[world.id_number("twice")],
                "id_number": mask_id_number(world.id_number("twice")),
                "name": "王**",
                "has_account": True,
                "first_contact_on": "2026-11-20",
                "matches": [
                    {
                        "kind": "trip",
                        "explained": "Same trip: G1234 11-20 03车 (case 05车)",
                        "venue": None,
                        "venue_name": None,
                        "at": None,
                        "case_at": None,
                        "mode": "train",
                        "trip": "G1234",
                        "date": "2026-11-20",
                        "seat": "03车01A",
                        "case_seat": "05车12F",
                    },
                    {
                        "kind": "venue",
                        "explained": "Same venue: 西湖银泰超市 11-20 14:05 (case 14:10)",
                        "venue": world.supermarket.pk,
                        "venue_name": "西湖银泰超市",
                        "at": "2026-11-20T14:05:00+08:00",
                        "case_at": "2026-11-20T14:10:00+08:00",
                        "mode": None,
                        "trip": None,
                        "date": None,
                        "seat": None,
                        "case_seat": None,
                    },
                    {
                        "kind": "venue",
                        "explained": "Same venue: 龙井茶室 11-21 09:00 (case 09:20)",
                        "venue": world.teahouse.pk,
                        "venue_name": "龙井茶室",
                        "at": "2026-11-21T09:00:00+08:00",
                        "case_at": "2026-11-21T09:20:00+08:00",
                        "mode": None,
                        "trip": None,
                        "date": None,
                        "seat": None,
                        "case_seat": None,
                    },
                ],
                "decision": "pending",
                "decided_by": None,
                "decided_at": None,
                "comment": "",
                "fact_id": None,
            },
            {
                "id": candidates[world.id_number("high")],
                "id_number": mask_id_number(world.id_number("high")),
                "name": "李**",
                "has_account": True,
                "first_contact_on": "2026-11-20",
                "matches": [
                    {
                        "kind": "venue",
                        "explained": "Same venue: 西湖银泰超市 11-20 15:40 (case 14:10)",
                        "venue": world.supermarket.pk,
                        "venue_name": "西湖银泰超市",
                        "at": "2026-11-20T15:40:00+08:00",
                        "case_at": "2026-11-20T14:10:00+08:00",
                        "mode": None,
                        "trip": None,
                        "date": None,
                        "seat": None,
                        "case_seat": None,
                    }
                ],
                "decision": "pending",
                "decided_by": None,
                "decided_at": None,
                "comment": "",
                "fact_id": None,
            },
            {
                "id": candidates[world.id_number("train")],
                "id_number": mask_id_number(world.id_number("train")),
                "name": "赵**",
                "has_account": False,
                "first_contact_on": "2026-11-20",
                "matches": [
                    {
                        "kind": "trip",
                        "explained": "Same trip: G1234 11-20 05车 (case 05车)",
                        "venue": None,
                        "venue_name": None,
                        "at": None,
                        "case_at": None,
                        "mode": "train",
                        "trip": "G1234",
                        "date": "2026-11-20",
                        "seat": "05车13A",
                        "case_seat": "05车12F",
                    }
                ],
                "decision": "pending",
                "decided_by": None,
                "decided_at": None,
                "comment": "",
                "fact_id": None,
            },
            {
                "id": candidates[world.id_number("flight")],
                "id_number": mask_id_number(world.id_number("flight")),
                "name": "陈**",
                "has_account": False,
                "first_contact_on": "2026-11-21",
                "matches": [
                    {
                        "kind": "trip",
                        "explained": "Same flight: CA1234 11-21 seat 31C (case 32A)",
                        "venue": None,
                        "venue_name": None,
                        "at": None,
                        "case_at": None,
                        "mode": "flight",
                        "trip": "CA1234",
                        "date": "2026-11-21",
                        "seat": "31C",
                        "case_seat": "32A",
                    }
                ],
                "decision": "pending",
                "decided_by": None,
                "decided_at": None,
                "comment": "",
                "fact_id": None,
            },
        ],
    }


def trace_add(department: Department, world: World, staff: Any) -> ContactTrace:
    first = ContactTrace.objects.order_by("pk").first()
    assert first is not None
    return ContactTrace.objects.create(
        department=department,
        case_id_number=world.case_id,
        window_from=first.window_from,
        window_until=first.window_until,
        margin_minutes=30,
        stay_minutes=60,
        started_by=staff,
    )


def test_the_list_shows_the_departments_traces_in_a_fixed_number_of_queries(
    health_staff: User, health_department: Department, world: World
) -> None:
    first = started(health_staff, world)
    trace_add(department_make("330106-WJ"), world, health_staff)
    client = client_for(health_staff)
    client.get("/api/v1/health/traces")  # the session and throttle are warm from here

    with CaptureQueriesContext(connection) as one:
        listed = client.get("/api/v1/health/traces").json()
    more = [trace_add(health_department, world, staff_of()) for _ in range(3)]
    with CaptureQueriesContext(connection) as four:
        listed_again = client.get("/api/v1/health/traces").json()

    assert [(t["id"], t["candidates_total"], t["candidates_pending"]) for t in listed] == [
        (first["id"], 5, 5)
    ]
    assert [t["id"] for t in listed_again] == [t.pk for t in reversed(more)] + [first["id"]]
    assert len(four.captured_queries) == len(one.captured_queries)
    assert client.get("/api/v1/health/traces?status=closed").json() == []
    assert client.get("/api/v1/health/traces?limit=0").status_code == 422


def test_a_trace_reads_back_as_it_was_started(health_staff: User, world: World) -> None:
    body = started(health_staff, world)

    again = client_for(health_staff).get(f"/api/v1/health/traces/{body['id']}").json()

    body["summary"].pop("milliseconds")
    again["summary"].pop("milliseconds")
    assert again == body


def test_deciding_and_closing_through_the_api(health_staff: User, world: World) -> None:
    body = started(health_staff, world)
    client = client_for(health_staff)
    base = f"/api/v1/health/traces/{body['id']}"
    first = ContactCandidate.objects.get(id_number=world.id_number("low")).pk
    others = [c["id"] for c in body["candidates"] if c["id"] != first]

    confirmed = post(client, f"{base}/candidates/{first}/decision", {"decision": "confirm"})
    twice = post(client, f"{base}/candidates/{first}/decision", {"decision": "confirm"})
    no_reason = post(client, f"{base}/candidates/{others[0]}/decision", {"decision": "dismiss"})
    too_early = post(client, f"{base}/close")
    for candidate in others:
        post(
            client,
            f"{base}/candidates/{candidate}/decision",
            {"decision": "dismiss", "comment": "已排除"},
        )
    closed = post(client, f"{base}/close")

    fact = HealthFact.objects.get(kind="close_contact")
    assert confirmed.status_code == 200
    assert confirmed.json() | {"matches": []} == {
        "id": first,
        "id_number": mask_id_number(world.id_number("low")),
        "name": "钱**",
        "has_account": True,
        "first_contact_on": "2026-11-20",
        "matches": [],
        "decision": "confirmed",
        "decided_by": health_staff.display_name,
        "decided_at": confirmed.json()["decided_at"],
        "comment": "",
        "fact_id": fact.pk,
    }
    assert (twice.status_code, twice.json()["code"]) == (409, "health_candidate_decided")
    assert no_reason.status_code == 422
    assert no_reason.json() == {
        "code": "validation_failed",
        "message": "Some fields are not valid.",
        "fields": {"comment": ["Say why this person is not a close contact."]},
    }
    assert too_early.status_code == 409
    assert too_early.json() == {
        "code": "health_trace_pending",
        "message": "Still to review: 4. Decide about everyone before closing the trace.",
        "fields": {},
    }
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["candidates_pending"]) == ("closed", 0)
    assert post(client, f"{base}/close").json()["code"] == "health_trace_closed"


def test_opening_a_person_shows_her_full_name_and_id_number(
    health_staff: User, world: World
) -> None:
    body = started(health_staff, world)
    candidate = {"id": ContactCandidate.objects.get(id_number=world.id_number("low")).pk}

    opened = post(
        client_for(health_staff),
        f"/api/v1/health/traces/{body['id']}/candidates/{candidate['id']}/open",
    ).json()

    assert (opened["id_number"], opened["name"]) == (world.id_number("low"), "钱边界")


def test_a_citizen_is_refused_and_an_anonymous_caller_asked_to_log_in(world: World) -> None:
    citizen = client_for(world.people["low"])

    refused = post(citizen, "/api/v1/health/traces", {"case_id_number": world.case_id})

    assert refused.status_code == 403
    assert refused.json() == {
        "code": "not_health_staff",
        "message": "Only staff of a health department may trace contacts.",
        "fields": {},
    }
    assert citizen.get("/api/v1/health/traces").status_code == 403
    assert client_for().get("/api/v1/health/traces").status_code == 401


def test_another_departments_trace_does_not_exist_for_staff_elsewhere(
    health_staff: User, world: World
) -> None:
    body = started(health_staff, world)
    other = department_make("330106-WJ")
    stranger = client_for(staff_of(other))
    candidate = body["candidates"][0]["id"]
    base = f"/api/v1/health/traces/{body['id']}"

    assert stranger.get(base).status_code == 404
    assert stranger.get("/api/v1/health/traces").json() == []
    assert post(
        stranger, f"{base}/candidates/{candidate}/decision", {"decision": "confirm"}
    ).json() == {
        "code": "not_found",
        "message": "Not found.",
        "fields": {},
    }
    assert post(stranger, f"{base}/candidates/{candidate}/open").status_code == 404
    assert post(stranger, f"{base}/close").status_code == 404
    assert ContactCandidate.objects.get(pk=candidate).decision == "pending"


def test_bad_input_is_reported_by_field(health_staff: User, world: World) -> None:
    response = post(
        client_for(health_staff),
        "/api/v1/health/traces",
        {"case_id_number": "33010619900101123", "margin_minutes": -5},
    )

    assert response.status_code == 422
    assert response.json()["fields"] == {
        "case_id_number": ["A resident ID number has 18 characters."],
        "margin_minutes": ["Between 0 and 240 minutes."],
    }
    assert ContactTrace.objects.count() == 0


def test_a_missing_grant_is_a_clear_refusal_and_saves_nothing(
    health_staff: User, world: World
) -> None:
    AccessGrant.objects.filter(resource__code="transport-trips").delete()

    response = post(
        client_for(health_staff),
        "/api/v1/health/traces",
        {"case_id_number": world.case_id, **WINDOW},
    )

    assert response.status_code == 403
    assert response.json() == {
        "code": "health_trace_no_grant",
        "message": (
            "The health department may not read the case's trips through the data exchange: "
            "it has no grant for it. Nothing was saved; ask the department's data officer to "
            "obtain the grant."
        ),
        "fields": {},
    }
    assert ContactTrace.objects.count() == 0


def test_the_api_is_unavailable_while_health_codes_are_switched_off(
    health_staff: User, world: World, settings: Any
) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    client = client_for(health_staff)

    listed = client.get("/api/v1/health/traces")
    start = post(client, "/api/v1/health/traces", {"case_id_number": world.case_id})

    assert (listed.status_code, listed.json()["code"]) == (503, "health_disabled")
    assert (start.status_code, start.json()["code"]) == (503, "health_disabled")
