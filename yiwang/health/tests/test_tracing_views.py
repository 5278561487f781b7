"""Health staff's contact-tracing pages: who may open them, masking, forms and errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from yiwang.core.masking import mask_id_number
from yiwang.core.models import AuditEntry
from yiwang.health.models import ContactCandidate, ContactTrace, HealthFact
from yiwang.health.tests.test_tracing_world import (
    NOW,
    World,
    department_make,
    staff_of,
    world_build,
)
from yiwang.health.tracing import trace_start
from yiwang.identity.models import Department, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(health_department: Department, data_exchange: Any) -> World:
    return world_build()


@pytest.fixture
def trace(health_staff: Any, world: World) -> ContactTrace:
    return trace_start(actor=health_staff, case_id_number=world.case_id, now=NOW)


def client_for(user: Any = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def text(response: Any) -> str:
    """The page's visible text, tags dropped and white space collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def page_errors(response: Any) -> str:
    match = re.search(r'id="page-errors">(.*?)</div>', response.content.decode(), re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match[1]).split()) if match else ""


def candidate_of(world: World, key: str) -> ContactCandidate:
    return ContactCandidate.objects.get(id_number=world.id_number(key))


def test_anonymous_visitors_are_sent_to_the_login() -> None:
    response = client_for().get(reverse("health_staff:traces"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_people_who_are_not_health_staff_get_the_403_page(world: World) -> None:
    other_staff = staff_of()  # a clerk of a public-security bureau

    assert client_for(world.people["low"]).get(reverse("health_staff:traces")).status_code == 403
    assert client_for(other_staff).get(reverse("health_staff:traces")).status_code == 403


def test_the_list_shows_the_departments_traces_with_the_case_masked(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    other = department_make("330106-WJ")
    stranger = staff_of(other)

    mine = text(client_for(health_staff).get(reverse("health_staff:traces")))
    theirs = text(client_for(stranger).get(reverse("health_staff:traces")))

    assert f"{trace.pk} 林** {mask_id_number(world.case_id)}" in mine
    assert "5 5 to review Under review" in mine
    assert world.case_id not in mine
    assert "Your department has not started a trace yet." in theirs


def test_a_trace_is_started_from_the_form(health_staff: User, world: World) -> None:
    client = client_for(health_staff)

    form = client.get(reverse("health_staff:trace_start"))
    response = client.post(
        reverse("health_staff:trace_start"),
        {
            "case_id_number": world.case_id,
            "window_from": "2026-11-17T00:00",
            "window_until": "2026-11-22T12:00",
            "margin_minutes": "30",
        },
    )

    trace = ContactTrace.objects.get()
    assert form.status_code == 200
    assert "Empty: 4 days before the confirmation or positive test." in text(form)
    assert response.status_code == 302
    assert response["Location"] == reverse("health_staff:trace", args=[trace.pk])
    assert trace.summary["candidates"] == 5
    followed = client.get(response["Location"])
    assert "The trace found 5 people to review." in text(followed)


def test_a_wrong_id_number_is_shown_beside_its_field_and_nothing_is_saved(
    health_staff: User, world: World
) -> None:
    response = client_for(health_staff).post(
        reverse("health_staff:trace_start"), {"case_id_number": "330106199001011230"}
    )

    assert response.status_code == 422
    assert "The check character of this ID number is wrong; please check it." in text(response)
    assert ContactTrace.objects.count() == 0


def test_a_person_who_is_not_a_case_is_refused_on_the_form(
    health_staff: User, world: World
) -> None:
    response = client_for(health_staff).post(
        reverse("health_staff:trace_start"), {"case_id_number": world.id_number("low")}
    )

    assert response.status_code == 422
    assert "No confirmed case or positive test is recorded for this ID number" in text(response)


def test_a_second_trace_of_an_open_case_is_refused_at_the_top(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    response = client_for(health_staff).post(
        reverse("health_staff:trace_start"),
        {"case_id_number": world.case_id, "window_until": "2026-11-22T12:00"},
    )

    assert response.status_code == 409
    assert page_errors(response) == (
        f"This case already has an open trace (No. {trace.pk}): review and close it before "
        "starting another."
    )


def test_the_trace_shows_each_person_masked_and_why_she_was_found(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    page = text(client_for(health_staff).get(reverse("health_staff:trace", args=[trace.pk])))

    assert "2 check-ins and 2 trips of the case; 5 people" in page
    assert "Also there without real-name verification, so not named here: 1." in page
    assert f"钱** {mask_id_number(world.id_number('low'))}" in page
    assert "Same venue: 西湖银泰超市 11-20 12:40 (case 14:10)" in page
    assert "Same trip: G1234 11-20 03车 (case 05车)" in page
    assert "Same flight: CA1234 11-21 seat 31C (case 32A)" in page
    for key in ("low", "high", "twice", "train", "flight"):
        assert world.id_number(key) not in page
    assert "钱边界" not in page


def test_another_departments_trace_and_candidates_are_not_found(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    other = department_make("330106-WJ")
    stranger = client_for(staff_of(other))
    candidate = candidate_of(world, "low")

    assert stranger.get(reverse("health_staff:trace", args=[trace.pk])).status_code == 404
    assert (
        stranger.get(
            reverse("health_staff:trace_candidate", args=[trace.pk, candidate.pk])
        ).status_code
        == 404
    )
    assert (
        stranger.post(
            reverse("health_staff:trace_candidate_decide", args=[trace.pk, candidate.pk]),
            {"decision": "confirm"},
        ).status_code
        == 404
    )
    assert stranger.post(reverse("health_staff:trace_close", args=[trace.pk])).status_code == 404
    candidate.refresh_from_db()
    assert candidate.decision == "pending"


def test_opening_a_person_shows_her_in_full_and_is_audited(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    candidate = candidate_of(world, "low")
    url = reverse("health_staff:trace_candidate", args=[trace.pk, candidate.pk])
    client = client_for(health_staff)

    masked = text(client.get(url))
    opened = text(client.post(url))

    assert world.id_number("low") not in masked
    assert "Show the full name and ID number" in masked
    assert world.id_number("low") in opened
    assert "钱边界" in opened
    assert AuditEntry.objects.filter(action="health.candidate_open").count() == 1


def test_a_person_is_confirmed_from_her_row(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    candidate = candidate_of(world, "twice")

    response = client_for(health_staff).post(
        reverse("health_staff:trace_candidate_decide", args=[trace.pk, candidate.pk]),
        {"decision": "confirm", "comment": ""},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("health_staff:trace", args=[trace.pk])
    candidate.refresh_from_db()
    assert candidate.decision == "confirmed"
    assert HealthFact.objects.get(kind="close_contact").id_number == world.id_number("twice")


def test_dismissing_without_a_reason_is_shown_beside_the_comment(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    candidate = candidate_of(world, "low")

    response = client_for(health_staff).post(
        reverse("health_staff:trace_candidate_decide", args=[trace.pk, candidate.pk]),
        {"decision": "dismiss", "comment": " "},
    )

    assert response.status_code == 422
    assert "Say why this person is not a close contact." in text(response)
    candidate.refresh_from_db()
    assert candidate.decision == "pending"


def test_a_decision_sent_twice_is_refused_the_second_time(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    candidate = candidate_of(world, "low")
    url = reverse("health_staff:trace_candidate_decide", args=[trace.pk, candidate.pk])
    client = client_for(health_staff)
    client.post(url, {"decision": "dismiss", "comment": "店员"})

    again = client.post(url, {"decision": "dismiss", "comment": "店员"})

    assert again.status_code == 409
    assert page_errors(again) == "This person has already been decided about."


def test_several_people_are_decided_at_once(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    chosen = [candidate_of(world, key).pk for key in ("low", "high")]
    client = client_for(health_staff)

    none = client.post(
        reverse("health_staff:trace_decide", args=[trace.pk]),
        {"decision": "dismiss", "comment": "x"},
    )
    response = client.post(
        reverse("health_staff:trace_decide", args=[trace.pk]),
        {"candidates": chosen, "decision": "dismiss", "comment": "时间错开"},
    )

    assert none.status_code == 422
    assert "Choose at least one person." in text(none)
    assert response.status_code == 302
    assert sorted(
        ContactCandidate.objects.filter(decision="dismissed").values_list("pk", flat=True)
    ) == sorted(chosen)


def test_closing_waits_for_every_decision(
    health_staff: User, world: World, trace: ContactTrace
) -> None:
    client = client_for(health_staff)
    close = reverse("health_staff:trace_close", args=[trace.pk])

    early = client.post(close)
    client.post(
        reverse("health_staff:trace_decide", args=[trace.pk]),
        {
            "candidates": list(trace.candidates.values_list("pk", flat=True)),
            "decision": "dismiss",
            "comment": "均已排除",
        },
    )
    page = text(client.get(reverse("health_staff:trace", args=[trace.pk])))
    closed = client.post(close)

    assert early.status_code == 409
    assert page_errors(early) == (
        "Still to review: 5. Decide about everyone before closing the trace."
    )
    assert "Close the trace" in page
    assert closed.status_code == 302
    trace.refresh_from_db()
    assert trace.status == "closed"


def test_while_switched_off_the_pages_say_tracing_is_not_in_use(
    health_staff: User, trace: ContactTrace, settings: Any
) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    client = client_for(health_staff)

    listed = client.get(reverse("health_staff:traces"))
    closed = client.post(reverse("health_staff:trace_close", args=[trace.pk]))

    assert listed.status_code == 503
    assert "Contact tracing is not in use at present." in text(listed)
    assert closed.status_code == 503
    trace.refresh_from_db()
    assert trace.status == "open"
