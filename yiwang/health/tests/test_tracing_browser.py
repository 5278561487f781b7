"""A health officer's contact trace in a real browser, on a phone: start it for a confirmed
case, open a person, confirm her, dismiss the others together, close the trace."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from yiwang.health.models import ContactTrace, HealthFact
from yiwang.health.tests.test_tracing_world import world_build
from yiwang.identity.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logged_in(page: Any, live_server: Any, user: Any) -> Any:
    client = Client()
    client.force_login(user)  # with the second factor (the root conftest)
    page.context.add_cookies(
        [
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
        ]
    )
    return page


def test_an_officer_traces_a_case_reviews_everyone_and_closes_the_trace(
    page: Any, live_server: Any, health_staff: User, data_exchange: Any
) -> None:
    world = world_build()
    officer = logged_in(page, live_server, health_staff)

    officer.goto("/workbench/health/traces/")
    officer.get_by_test_id("trace-start-link").click()
    officer.get_by_label("The case's resident ID number").fill(world.case_id)
    officer.get_by_label("From").fill("2026-11-17T00:00")
    officer.get_by_label("Until").fill("2026-11-22T12:00")
    officer.get_by_role("button", name="Start the trace").click()

    expect(officer.locator(".messages")).to_contain_text("The trace found 5 people to review.")
    rows = officer.locator("tr.trace-candidate")
    expect(rows).to_have_count(5)
    assert officer.evaluate("document.documentElement.scrollWidth") <= 390
    twice = rows.filter(has_text="Same venue: 龙井茶室 11-21 09:00 (case 09:20)")
    expect(twice).to_contain_text("Same trip: G1234 11-20 03车 (case 05车)")
    expect(twice.locator(".trace-person")).to_have_text("王**")

    twice.locator(".trace-person").click()
    officer.get_by_test_id("candidate-open").click()
    expect(officer.get_by_test_id("candidate-id-number")).to_have_text(world.id_number("twice"))
    officer.get_by_label("Confirm as a close contact").check()
    officer.get_by_role("button", name="Record the decision").click()

    expect(officer.locator(".messages")).to_contain_text("Confirmed as a close contact")
    for checkbox in officer.locator("input[name=candidates]").all():
        checkbox.check()
    officer.get_by_label("Dismiss: not a close contact").check()
    officer.locator("#trace-bulk-form textarea[name=comment]").fill("时间错开，均已排除")
    officer.get_by_role("button", name="Decide for the people chosen").click()
    expect(officer.locator(".messages")).to_contain_text("Decided: 4.")
    officer.get_by_test_id("trace-close").click()

    expect(officer.get_by_test_id("trace-status")).to_have_text("Closed")
    assert ContactTrace.objects.get().status == "closed"
    assert list(
        HealthFact.objects.filter(kind="close_contact").values_list("id_number", flat=True)
    ) == [world.id_number("twice")]
