"""A person's health pages: her colour and why, declaring, the daily check-in, the
history and appeals; the login, verification and module-switch gates in front of them.

Pages are requested in English (the language cookie), so the assertions do not depend on
the Chinese catalogue. The pages run on the real clock: data is made "today".
"""

from __future__ import annotations

import datetime
import re
from html import unescape
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from yiwang.health.models import HealthAppeal, HealthDeclaration, HealthStatus, TravelStay
from yiwang.health.services import (
    health_appeal_resolve,
    health_appeal_submit,
    health_checkin_daily,
    health_fact_record,
)
from yiwang.identity.models import User
from yiwang.identity.tests.factories import UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

PAGES = ["health:home", "health:declare", "health:daily", "health:history", "health:appeal"]


def client_for(user: User | None = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def text(response: Any) -> str:
    """The page's visible text, tags dropped and white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html(response))).split())


def field_errors(response: Any) -> dict[str, list[str]]:
    found = re.findall(r'<ul class="errorlist" id="id_(\w+)_error">(.*?)</ul>', html(response))
    return {
        name: [unescape(m) for m in re.findall(r"<li>([^<]+)</li>", items)] for name, items in found
    }


def page_errors(response: Any) -> list[str]:
    match = re.search(r'id="page-errors">(.*?)</div>', html(response), re.S)
    return [unescape(m) for m in re.findall(r"<p>([^<]+)</p>", match.group(1))] if match else []


def today() -> datetime.date:
    return timezone.localdate()


def record_close_contact(person: User, *, days_ago: int = 1) -> None:
    health_fact_record(
        id_number=person.id_number or "",
        kind="close_contact",
        observed_on=today() - datetime.timedelta(days=days_ago),
        source_department="330100-WJ",
        source_registry="流调系统",
    )


@pytest.fixture
def red_person(person: User, default_rules: Any, health_department: Any) -> User:
    record_close_contact(person)
    return person


# Gates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_the_login(name: str) -> None:
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('identity:login')}?next={reverse(name)}"


@pytest.mark.parametrize("name", PAGES)
def test_an_unverified_person_is_told_how_to_verify(name: str) -> None:
    response = client_for(UserFactory()).get(reverse(name))
    assert response.status_code == 200
    assert 'data-testid="health-verify-needed"' in html(response)
    assert f'href="{reverse("identity:verify")}"' in html(response)


def test_an_unverified_person_cannot_post_a_checkin() -> None:
    response = client_for(UserFactory()).post(reverse("health:daily"), {})
    assert response.status_code == 200
    assert 'data-testid="health-verify-needed"' in html(response)
    assert HealthDeclaration.objects.count() == 0


@pytest.mark.parametrize("name", PAGES)
def test_while_switched_off_every_page_says_not_in_use(
    name: str, person: User, settings: Any
) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    response = client_for(person).get(reverse(name))
    assert response.status_code == 200
    assert "Health codes are not in use at present." in text(response)


def test_while_switched_off_a_post_stores_nothing(person: User, settings: Any) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    response = client_for(person).post(reverse("health:daily"), {})
    assert response.status_code == 200
    assert "Health codes are not in use at present." in text(response)
    assert HealthDeclaration.objects.count() == 0


def test_the_navigation_links_to_the_health_code(person: User) -> None:
    response = client_for(person).get(reverse("health:home"))
    assert f'<a href="{reverse("health:home")}">Health code</a>' in html(response)
    assert reverse("health_staff:appeals") not in html(response)


def test_health_staff_see_the_workbench_link(health_staff: User) -> None:
    response = client_for(health_staff).get(reverse("health:home"))
    assert f'<a href="{reverse("health_staff:appeals")}">Health-code workbench</a>' in html(
        response
    )


# Home ----------------------------------------------------------------------------------


def test_home_without_a_colour_invites_the_first_checkin(person: User) -> None:
    response = client_for(person).get(reverse("health:home"))
    assert response.status_code == 200
    assert "No colour yet" in text(response)
    assert f'href="{reverse("health:daily")}" data-testid="checkin-start"' in html(response)


def test_home_shows_the_colour_the_rule_and_the_fact_with_its_source(red_person: User) -> None:
    status = HealthStatus.objects.get(person=red_person)
    response = client_for(red_person).get(reverse("health:home"))
    page = text(response)
    assert 'class="card health-colour health-colour-red" data-colour="red"' in html(response)
    assert f"Since {timezone.localtime(status.created_at):%Y-%m-%d %H:%M}" in page
    assert (
        "You are recorded as a close contact of a case. The code turns green after 14 "
        "consecutive days of normal daily health check-ins."
    ) in page
    observed = (today() - datetime.timedelta(days=1)).isoformat()
    assert f"Close contact {observed}" in page
    assert "Source：杭州市卫生健康委员会 · 流调系统" in page
    for name in ("health:declare", "health:history", "health:appeal"):
        assert f'href="{reverse(name)}"' in html(response)
    assert f'<a class="button health-code-link" href="{reverse("health:code")}">' in html(response)
    assert f'href="{reverse("health:venue_checkins")}">My venue check-ins</a>' in html(response)
    assert f'href="{reverse("health:venue_list")}">My venue codes</a>' in html(response)


def test_home_shows_todays_checkin_once_done(person: User, default_rules: Any) -> None:
    checkin, _created = health_checkin_daily(person=person)
    response = client_for(person).get(reverse("health:home"))
    assert f"Done today at {timezone.localtime(checkin.declared_at):%H:%M}." in text(response)
    assert 'data-testid="checkin-start"' not in html(response)
    assert "Green" in text(response)


# Self-declaration ----------------------------------------------------------------------


def stay_row(row: int, region: str, arrived: datetime.date, left: datetime.date) -> dict[str, str]:
    return {
        f"stay_{row}_region": region,
        f"stay_{row}_arrived_on": arrived.isoformat(),
        f"stay_{row}_left_on": left.isoformat(),
    }


def test_the_declaration_form_offers_five_stay_rows_and_cities(person: User) -> None:
    response = client_for(person).get(reverse("health:declare"))
    assert response.status_code == 200
    assert html(response).count('<fieldset class="rows-row health-stay">') == 5
    assert '<details class="health-more-stays">' in html(response)
    assert '<option value="330100">浙江省杭州市</option>' in html(response)


def test_a_declaration_is_stored_and_the_colour_recomputed(
    person: User, default_rules: Any
) -> None:
    client = client_for(person)
    yesterday = today() - datetime.timedelta(days=1)
    data = {"symptoms": ["fever", "cough"], "symptoms_since": yesterday.isoformat()}
    data |= stay_row(1, "330106", yesterday, today())
    response = client.post(reverse("health:declare"), data, follow=True)
    assert response.redirect_chain == [(reverse("health:home"), 302)]
    assert "Your declaration is recorded. Your code is now Yellow." in text(response)
    declaration = HealthDeclaration.objects.get(person=person)
    assert (declaration.kind, declaration.symptoms, declaration.symptoms_since) == (
        "declaration",
        ["fever", "cough"],
        yesterday,
    )
    assert [(s.region.code, s.arrived_on, s.left_on) for s in declaration.stays.all()] == [
        ("330106", yesterday, today())
    ]
    assert HealthStatus.objects.get(person=person).rule_id == "yellow.symptoms"


def test_the_same_declaration_sent_twice_is_stored_once(person: User, default_rules: Any) -> None:
    client = client_for(person)
    data = {"case_contact_on": today().isoformat()}
    assert client.post(reverse("health:declare"), data).status_code == 302
    assert client.post(reverse("health:declare"), data).status_code == 302
    assert HealthDeclaration.objects.filter(person=person).count() == 1


def test_the_services_field_errors_are_shown_on_the_rows_they_concern(person: User) -> None:
    tomorrow = today() + datetime.timedelta(days=1)
    data = {"symptoms_since": today().isoformat()}
    # Row 0 is blank: the service's stays.0 and stays.1 are rows 2 and 4.
    data |= stay_row(2, "999999", today(), today() - datetime.timedelta(days=1))
    data |= stay_row(4, "330106", tomorrow, tomorrow)
    response = client_for(person).post(reverse("health:declare"), data)
    assert response.status_code == 422
    assert field_errors(response) == {
        "symptoms_since": ["Give the date the symptoms began only with the symptoms."],
        "stay_2_region": ["There is no region with the code 999999."],
        "stay_2_left_on": ["The departure cannot be before the arrival."],
        "stay_4_arrived_on": ["The arrival cannot be in the future."],
        "stay_4_left_on": ["The departure cannot be in the future."],
    }
    # The rows after the first are folded away, but open when they hold answers.
    assert '<details class="health-more-stays" open>' in html(response)
    assert HealthDeclaration.objects.count() == 0
    assert TravelStay.objects.count() == 0


def test_a_row_without_its_region_or_dates_is_an_error_on_that_row(person: User) -> None:
    response = client_for(person).post(
        reverse("health:declare"), {"stay_3_arrived_on": today().isoformat()}
    )
    assert response.status_code == 422
    assert field_errors(response) == {
        "stay_3_region": ["Give the region where you stayed."],
        "stay_3_left_on": ["Give the day you left (today if you are still there)."],
    }


def test_a_date_that_is_not_a_date_is_refused_by_the_form(person: User) -> None:
    response = client_for(person).post(reverse("health:declare"), {"case_contact_on": "soon"})
    assert response.status_code == 422
    assert field_errors(response) == {"case_contact_on": ["Enter a valid date."]}
    assert HealthDeclaration.objects.count() == 0


def test_an_unknown_symptom_is_refused_by_the_form(person: User) -> None:
    response = client_for(person).post(reverse("health:declare"), {"symptoms": ["sneezing"]})
    assert response.status_code == 422
    assert field_errors(response) == {
        "symptoms": ["Select a valid choice. sneezing is not one of the available choices."]
    }


# Daily check-in ------------------------------------------------------------------------


def test_the_daily_checkin_is_recorded_once_a_day(person: User, default_rules: Any) -> None:
    client = client_for(person)
    assert 'class="form health-daily-form"' in html(client.get(reverse("health:daily")))
    response = client.post(reverse("health:daily"), {}, follow=True)
    assert response.redirect_chain == [(reverse("health:daily"), 302)]
    assert "Today's check-in is recorded. Your code is now Green." in text(response)
    checkin = HealthDeclaration.objects.get(person=person)
    assert (checkin.kind, checkin.day, checkin.symptoms) == ("checkin", today(), [])
    shown = f"You checked in today at {timezone.localtime(checkin.declared_at):%Y-%m-%d %H:%M}."
    assert shown in text(response)
    assert "No symptoms" in text(response)
    assert 'class="form health-daily-form"' not in html(response)

    again = client.post(reverse("health:daily"), {"symptoms": ["fever"]}, follow=True)
    assert "You had already checked in today; here is that check-in." in text(again)
    assert list(HealthDeclaration.objects.values_list("pk", "symptoms")) == [(checkin.pk, [])]


def test_a_checkin_with_symptoms_shows_them(person: User, default_rules: Any) -> None:
    response = client_for(person).post(
        reverse("health:daily"), {"symptoms": ["fever", "cough"]}, follow=True
    )
    assert "Symptoms：Fever、Cough" in text(response)
    assert "Your code is now Yellow." in text(response)


# History -------------------------------------------------------------------------------


def test_history_lists_every_colour_with_its_rule_inputs_and_corrections(
    red_person: User, health_staff: User
) -> None:
    red = HealthStatus.objects.get(person=red_person)
    appeal = health_appeal_submit(person=red_person, reason="不是我")
    health_appeal_resolve(
        appeal=appeal, staff=health_staff, outcome="correct", colour="green", comment="经核实非密接"
    )
    response = client_for(red_person).get(reverse("health:history"))
    assert response.status_code == 200
    entries = re.findall(r'data-status="(\d+)" data-source="(\w+)"', html(response))
    correction = HealthStatus.objects.get(person=red_person, source="correction")
    assert entries == [(str(correction.pk), "correction"), (str(red.pk), "rules")]
    page = text(response)
    assert "Health staff corrected the colour after your appeal." in page
    assert "Health staff's comment：经核实非密接" in page
    assert "Set aside" in page
    assert "You are recorded as a close contact of a case." in page


# Appeals -------------------------------------------------------------------------------


def test_an_appeal_is_submitted_once_and_shown_with_its_state(red_person: User) -> None:
    client = client_for(red_person)
    assert 'class="form health-appeal-form"' in html(client.get(reverse("health:appeal")))
    response = client.post(reverse("health:appeal"), {"reason": "我与该病例不在同一时空。"})
    appeal = HealthAppeal.objects.get(person=red_person)
    assert response.status_code == 302
    assert response["Location"] == reverse("health:appeal_detail", args=[appeal.pk])
    again = client.post(reverse("health:appeal"), {"reason": "我与该病例不在同一时空。"})
    assert again["Location"] == reverse("health:appeal_detail", args=[appeal.pk])
    assert HealthAppeal.objects.count() == 1
    detail = client.get(reverse("health:appeal_detail", args=[appeal.pk]))
    assert 'data-status="open"' in html(detail)
    assert "我与该病例不在同一时空。" in text(detail)
    listing = client.get(reverse("health:appeal"))
    assert f'data-appeal="{appeal.pk}"' in html(listing)


def test_a_second_different_appeal_while_one_is_open_is_refused(red_person: User) -> None:
    client = client_for(red_person)
    client.post(reverse("health:appeal"), {"reason": "第一次"})
    response = client.post(reverse("health:appeal"), {"reason": "第二次"})
    assert response.status_code == 409
    assert page_errors(response) == ["Your earlier appeal is still being handled."]
    assert HealthAppeal.objects.count() == 1


def test_an_appeal_without_a_reason_is_a_field_error(red_person: User) -> None:
    response = client_for(red_person).post(reverse("health:appeal"), {"reason": "  "})
    assert response.status_code == 422
    assert field_errors(response) == {"reason": ["This field is required."]}
    assert HealthAppeal.objects.count() == 0


def test_a_green_code_cannot_be_appealed(person: User, default_rules: Any) -> None:
    health_checkin_daily(person=person)
    client = client_for(person)
    assert "Only a yellow or red code can be appealed." in text(
        client.get(reverse("health:appeal"))
    )
    response = client.post(reverse("health:appeal"), {"reason": "?"})
    assert response.status_code == 409
    assert page_errors(response) == ["A green code needs no appeal."]


def test_the_outcome_of_a_resolved_appeal_is_shown(red_person: User, health_staff: User) -> None:
    appeal = health_appeal_submit(person=red_person, reason="不是我")
    health_appeal_resolve(appeal=appeal, staff=health_staff, outcome="uphold", comment="信息属实")
    response = client_for(red_person).get(reverse("health:appeal_detail", args=[appeal.pk]))
    assert 'data-status="upheld"' in html(response)
    assert "Health staff's comment 信息属实" in text(response)


def test_another_persons_appeal_is_not_found(red_person: User) -> None:
    appeal = health_appeal_submit(person=red_person, reason="不是我")
    response = client_for(VerifiedUserFactory()).get(
        reverse("health:appeal_detail", args=[appeal.pk])
    )
    assert response.status_code == 404


# A journey in a real browser -----------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_citizen_checks_in_with_a_fever_and_sees_why_her_code_is_yellow(
    page: Any, default_rules: Any
) -> None:
    from playwright.sync_api import expect

    from yiwang.identity.tests.factories import PASSWORD

    person = VerifiedUserFactory()
    page.goto(reverse("identity:login"))
    page.get_by_label("手机号").fill(person.phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.locator(f'.site-nav a[href="{reverse("health:home")}"]').click()
    expect(page.locator(".health-colour")).to_have_attribute("data-colour", "")

    page.get_by_test_id("checkin-start").click()
    page.locator('input[name="symptoms"][value="fever"]').check()
    page.locator(".health-daily-form button[type=submit]").click()
    expect(page.get_by_test_id("checkin-today")).to_be_visible()

    page.goto(reverse("health:home"))
    expect(page.locator(".health-colour")).to_have_attribute("data-colour", "yellow")
    expect(page.get_by_test_id("checkin-done")).to_be_visible()
    expect(page.locator(".health-input")).to_have_count(1)
    assert HealthStatus.objects.get(person=person).rule_id == "yellow.symptoms"
