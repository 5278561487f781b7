"""The person's health API and health staff's appeals API: gates, exact bodies, field
errors, idempotency and query counts."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiwang.core.models import AuditEntry
from yiwang.health.models import HealthAppeal, HealthDeclaration, HealthFact, HealthStatus
from yiwang.health.services import (
    health_appeal_submit,
    health_checkin_daily,
    health_fact_record,
)
from yiwang.health.tests.test_views import record_close_contact, today
from yiwang.identity.models import User
from yiwang.identity.tests.factories import StaffRoleFactory, UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/health/status"),
    ("get", "/api/v1/health/history"),
    ("post", "/api/v1/health/declarations"),
    ("post", "/api/v1/health/checkins/daily"),
    ("get", "/api/v1/health/appeals"),
    ("post", "/api/v1/health/appeals"),
    ("get", "/api/v1/health/staff/appeals"),
    ("get", "/api/v1/health/staff/appeals/1"),
    ("post", "/api/v1/health/staff/appeals/1/resolve"),
]
PERSON_ENDPOINTS = ENDPOINTS[:6]
STAFF_ENDPOINTS = ENDPOINTS[6:]
BODIES = {
    "/api/v1/health/appeals": {"reason": "x"},
    "/api/v1/health/staff/appeals/1/resolve": {"outcome": "uphold", "comment": "x"},
}


def api(user: User | None = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def call(client: Client, method: str, path: str, body: Any = None) -> Any:
    if method == "get":
        return client.get(path)
    return client.post(path, body if body is not None else BODIES.get(path, {}), "application/json")


def iso(moment: datetime.datetime | None) -> str | None:
    """A moment as the API writes it: UTC, milliseconds, "Z"."""
    if moment is None:
        return None
    utc = moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds")
    return utc.replace("+00:00", "Z")


@pytest.fixture
def red_person(person: User, default_rules: Any, health_department: Any) -> User:
    record_close_contact(person)
    return person


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_callers_get_401(method: str, path: str) -> None:
    response = call(api(), method, path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), PERSON_ENDPOINTS)
def test_an_unverified_person_gets_403(method: str, path: str) -> None:
    response = call(api(UserFactory()), method, path)
    assert response.status_code == 403
    assert response.json() == {
        "code": "health_not_verified",
        "message": "Complete real-name verification to use health codes.",
        "fields": {},
    }
    assert HealthDeclaration.objects.count() == 0


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_while_switched_off_every_endpoint_answers_503(
    method: str, path: str, health_staff: User, settings: Any
) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    response = call(api(health_staff), method, path)
    assert response.status_code == 503
    assert response.json() == {
        "code": "health_disabled",
        "message": "Health codes are switched off.",
        "fields": {},
    }


@pytest.mark.parametrize(("method", "path"), STAFF_ENDPOINTS)
def test_the_staff_endpoints_refuse_citizens(method: str, path: str) -> None:
    response = call(api(VerifiedUserFactory()), method, path)
    assert response.status_code == 403
    assert response.json()["code"] == "not_health_staff"


# Status and history --------------------------------------------------------------------


def test_without_a_colour_the_status_is_404(person: User) -> None:
    response = api(person).get("/api/v1/health/status")
    assert response.status_code == 404
    assert response.json() == {
        "code": "health_no_status",
        "message": "Your code has no colour yet.",
        "fields": {},
    }


def test_the_status_explains_the_rule_and_its_inputs(red_person: User) -> None:
    status = HealthStatus.objects.get(person=red_person)
    fact = HealthFact.objects.get()
    response = api(red_person).get("/api/v1/health/status")
    assert response.status_code == 200
    assert response.json() == {
        "id": status.pk,
        "colour": "red",
        "colour_label": "Red",
        "meaning": (
            "Follow the health authorities' instructions for isolation and make your health "
            "check-in every day until the code turns green."
        ),
        "since": iso(status.created_at),
        "source": "rules",
        "rule_id": "red.close_contact",
        "rule_explained": (
            "You are recorded as a close contact of a case. The code turns green after 14 "
            "consecutive days of normal daily health check-ins."
        ),
        "comment": "",
        "appeal_id": None,
        "inputs": [
            {
                "ref": f"fact:{fact.pk}",
                "kind": "close_contact",
                "label": "Close contact",
                "date": fact.observed_on.isoformat(),
                "details": "",
                "source": "杭州市卫生健康委员会 · 流调系统",
                "set_aside": False,
            }
        ],
    }


def test_the_history_lists_every_colour_newest_first_in_constant_queries(
    red_person: User,
) -> None:
    client = api(red_person)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/health/history").json()) == 1
    for days_ago in (3, 5):
        health_fact_record(
            id_number=red_person.id_number or "",
            kind="test_result",
            result="negative",
            observed_on=today() - datetime.timedelta(days=days_ago),
            source_department="330100-WJ",
            source_registry="核酸检测系统",
        )
    HealthStatus.objects.create(
        person=red_person,
        colour="yellow",
        source="rules",
        rule_id="yellow.symptoms",
        inputs=[{"ref": "declaration:1", "kind": "declaration", "date": "2022-04-01"}],
        evaluated_at=timezone.now(),
    )
    with CaptureQueriesContext(connection) as two:
        body = client.get("/api/v1/health/history").json()
    assert [(item["colour"], item["rule_id"]) for item in body] == [
        ("yellow", "yellow.symptoms"),
        ("red", "red.close_contact"),
    ]
    assert body[0]["inputs"][0]["label"] == "Self-declaration"
    assert len(two) == len(one)


# Declarations and check-ins ------------------------------------------------------------


def test_a_declaration_is_created_and_the_colour_returned(person: User, default_rules: Any) -> None:
    yesterday = today() - datetime.timedelta(days=1)
    body = {
        "symptoms": ["fever"],
        "symptoms_since": yesterday.isoformat(),
        "stays": [
            {
                "region": "330106",
                "arrived_on": yesterday.isoformat(),
                "left_on": today().isoformat(),
            }
        ],
    }
    response = api(person).post("/api/v1/health/declarations", body, "application/json")
    assert response.status_code == 201
    declaration = HealthDeclaration.objects.get()
    assert response.json() == {
        "id": declaration.pk,
        "kind": "declaration",
        "day": today().isoformat(),
        "declared_at": iso(declaration.declared_at),
        "symptoms": ["fever"],
        "symptoms_since": yesterday.isoformat(),
        "case_contact_on": None,
        "stays": [
            {
                "region": "330106",
                "region_name": "浙江省杭州市西湖区",
                "arrived_on": yesterday.isoformat(),
                "left_on": today().isoformat(),
            }
        ],
        "colour": "yellow",
    }
    again = api(person).post("/api/v1/health/declarations", body, "application/json")
    assert again.json()["id"] == declaration.pk
    assert HealthDeclaration.objects.count() == 1


def test_impossible_declarations_are_422_with_a_message_per_field(person: User) -> None:
    tomorrow = (today() + datetime.timedelta(days=1)).isoformat()
    body = {
        "symptoms": ["sneezing"],
        "case_contact_on": tomorrow,
        "stays": [
            {"region": "330106", "arrived_on": today().isoformat(), "left_on": today().isoformat()},
            {"region": "999999", "arrived_on": today().isoformat(), "left_on": None},
        ],
    }
    response = api(person).post("/api/v1/health/declarations", body, "application/json")
    assert response.status_code == 422
    assert response.json() == {
        "code": "validation_failed",
        "message": "Some fields are not valid.",
        "fields": {
            "symptoms": ["Unknown symptom: sneezing."],
            "case_contact_on": ["The contact cannot be in the future."],
            "stays.1.region": ["There is no region with the code 999999."],
            "stays.1.left_on": ["Give the day you left (today if you are still there)."],
        },
    }
    assert HealthDeclaration.objects.count() == 0


def test_a_malformed_date_is_422_naming_the_field(person: User) -> None:
    response = api(person).post(
        "/api/v1/health/declarations", {"symptoms_since": "yesterday"}, "application/json"
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"symptoms_since": ["Enter a valid value."]}


def test_the_daily_checkin_is_201_then_200_with_the_same_one(
    person: User, default_rules: Any
) -> None:
    client = api(person)
    first = client.post("/api/v1/health/checkins/daily", {"symptoms": []}, "application/json")
    assert first.status_code == 201
    checkin = HealthDeclaration.objects.get()
    assert first.json() == {
        "id": checkin.pk,
        "kind": "checkin",
        "day": today().isoformat(),
        "declared_at": iso(checkin.declared_at),
        "symptoms": [],
        "symptoms_since": None,
        "case_contact_on": None,
        "stays": [],
        "colour": "green",
    }
    second = client.post(
        "/api/v1/health/checkins/daily", {"symptoms": ["fever"]}, "application/json"
    )
    assert second.status_code == 200
    assert second.json() == first.json()
    assert HealthDeclaration.objects.count() == 1


def test_an_unknown_symptom_at_checkin_is_422(person: User) -> None:
    response = api(person).post(
        "/api/v1/health/checkins/daily", {"symptoms": ["sneezing"]}, "application/json"
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"symptoms": ["Unknown symptom: sneezing."]}


# Appeals -------------------------------------------------------------------------------


def test_an_appeal_is_created_listed_and_idempotent(red_person: User) -> None:
    client = api(red_person)
    response = client.post("/api/v1/health/appeals", {"reason": "不是我"}, "application/json")
    assert response.status_code == 201
    appeal = HealthAppeal.objects.get()
    expected = {
        "id": appeal.pk,
        "status": "open",
        "status_label": "Open",
        "reason": "不是我",
        "colour_appealed": "red",
        "created_at": iso(appeal.created_at),
        "resolved_at": None,
        "resolution_comment": "",
    }
    assert response.json() == expected
    again = client.post("/api/v1/health/appeals", {"reason": "不是我"}, "application/json")
    assert again.json() == expected
    assert client.get("/api/v1/health/appeals").json() == [expected]
    # Someone else sees none of it.
    assert api(VerifiedUserFactory()).get("/api/v1/health/appeals").json() == []


def test_appeal_failures_are_409_and_422(person: User, red_person: User) -> None:
    client = api(red_person)
    empty = client.post("/api/v1/health/appeals", {"reason": " "}, "application/json")
    assert (empty.status_code, empty.json()["fields"]) == (
        422,
        {"reason": ["Say why the colour is wrong."]},
    )
    missing = client.post("/api/v1/health/appeals", {}, "application/json")
    assert (missing.status_code, missing.json()["fields"]) == (
        422,
        {"reason": ["This field is required."]},
    )
    client.post("/api/v1/health/appeals", {"reason": "一"}, "application/json")
    other = client.post("/api/v1/health/appeals", {"reason": "二"}, "application/json")
    assert (other.status_code, other.json()["code"]) == (409, "health_appeal_open")

    green = VerifiedUserFactory()
    health_checkin_daily(person=green)
    refused = api(green).post("/api/v1/health/appeals", {"reason": "?"}, "application/json")
    assert (refused.status_code, refused.json()["code"]) == (409, "health_appeal_green")


# Staff ---------------------------------------------------------------------------------


def make_appeals(count: int, default_rules: Any) -> list[HealthAppeal]:
    appeals = []
    for _index in range(count):
        person = VerifiedUserFactory()
        record_close_contact(person)
        appeals.append(health_appeal_submit(person=person, reason="不是我"))
    return appeals


def test_staff_list_open_appeals_masked_oldest_first_in_constant_queries(
    health_staff: User, default_rules: Any
) -> None:
    client = api(health_staff)
    make_appeals(1, default_rules)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/health/staff/appeals").json()) == 1
    appeals = make_appeals(3, default_rules)
    with CaptureQueriesContext(connection) as four:
        body = client.get("/api/v1/health/staff/appeals").json()
    assert len(four) == len(one)
    assert len(body) == 4
    last = appeals[-1]
    person = last.person
    assert body[-1] == {
        "id": last.pk,
        "status": "open",
        "status_label": "Open",
        "reason": "不是我",
        "colour_appealed": "red",
        "created_at": iso(last.created_at),
        "resolved_at": None,
        "resolution_comment": "",
        "person_name": (person.name or "")[0] + "*" * (len(person.name or "") - 1),
        "person_id_number": (person.id_number or "")[:4] + "*" * 10 + (person.id_number or "")[-4:],
        "rule_id": "red.close_contact",
        "rule_explained": (
            "You are recorded as a close contact of a case. The code turns green after 14 "
            "consecutive days of normal daily health check-ins."
        ),
    }
    assert (
        AuditEntry.objects.filter(actor_id=health_staff.pk, action="health.appeals_list").count()
        == 2
    )
    assert client.get("/api/v1/health/staff/appeals?status=resolved").json() == []
    bad = client.get("/api/v1/health/staff/appeals?status=closed")
    assert bad.status_code == 422


def test_staff_read_one_appeal_with_history_audited(health_staff: User, default_rules: Any) -> None:
    (appeal,) = make_appeals(1, default_rules)
    response = api(health_staff).get(f"/api/v1/health/staff/appeals/{appeal.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["appealed"]["rule_id"], len(body["history"])) == (
        appeal.pk,
        "red.close_contact",
        1,
    )
    assert appeal.person.id_number not in response.content.decode()
    assert AuditEntry.objects.filter(action="health.appeal_read", object_id=str(appeal.pk)).exists()
    missing = api(health_staff).get("/api/v1/health/staff/appeals/999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "health_appeal_not_found")


def test_staff_correct_an_appeal_then_cannot_resolve_it_again(
    health_staff: User, default_rules: Any
) -> None:
    (appeal,) = make_appeals(1, default_rules)
    ref = appeal.status_appealed.inputs[0]["ref"]
    path = f"/api/v1/health/staff/appeals/{appeal.pk}/resolve"
    client = api(health_staff)
    bad = client.post(
        path,
        {"outcome": "correct", "colour": "green", "set_aside": ["fact:0"], "comment": "x"},
        "application/json",
    )
    assert (bad.status_code, bad.json()["fields"]) == (
        422,
        {"set_aside": ["fact:0 did not decide the appealed colour."]},
    )
    response = client.post(
        path,
        {"outcome": "correct", "colour": "green", "set_aside": [ref], "comment": "经核实非密接"},
        "application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolution_comment"]) == ("corrected", "经核实非密接")
    assert [(item["colour"], item["source"]) for item in body["history"]] == [
        ("green", "correction"),
        ("red", "rules"),
    ]
    assert body["history"][0]["inputs"][0]["set_aside"] is True
    again = client.post(path, {"outcome": "uphold", "comment": "x"}, "application/json")
    assert (again.status_code, again.json()["code"]) == (409, "health_appeal_resolved")


def test_a_staff_member_cannot_resolve_her_own_appeal(
    health_staff: User, default_rules: Any, health_department: Any
) -> None:
    record_close_contact(health_staff)
    appeal = health_appeal_submit(person=health_staff, reason="不是我")
    response = api(health_staff).post(
        f"/api/v1/health/staff/appeals/{appeal.pk}/resolve",
        {"outcome": "uphold", "comment": "x"},
        "application/json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "health_appeal_own")


def test_other_departments_staff_are_not_health_staff(default_rules: Any) -> None:
    staff = StaffRoleFactory().user
    response = api(staff).get("/api/v1/health/staff/appeals")
    assert (response.status_code, response.json()["code"]) == (403, "not_health_staff")
