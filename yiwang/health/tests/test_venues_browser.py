"""The journeys of venue codes in a real browser: a shop owner registers her venue and
prints its poster, whose QR code opens the check-in page; a visitor scans it, logs in,
confirms, and finds the visit under 我的场所记录."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from yiwang.certificates.qrimage import qr_image_decode
from yiwang.health.models import Venue, VenueCheckin
from yiwang.health.tests.test_venues_services import register
from yiwang.identity.tests.factories import PASSWORD, VerifiedUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user) -> None:
    page.get_by_label("手机号").fill(user.phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_an_owner_registers_a_venue_and_its_printed_code_opens_the_check_in_page(page, live_server):
    owner = VerifiedUserFactory()

    page.goto("/health/venues/new/")
    log_in(page, owner)
    page.locator("input[name=name]").fill("知味观（湖滨店）")
    page.locator("select[name=kind]").select_option("restaurant")
    page.locator("select[name=region_code]").select_option("330106011")
    page.locator("input[name=address]").fill("仁和路83号")
    page.locator("input[name=contact_phone]").fill("0571 87654321")
    page.locator("form.venue-form button[type=submit]").click()

    poster = page.get_by_test_id("venue-poster")
    expect(poster).to_contain_text("知味观（湖滨店）")
    expect(poster).to_contain_text("浙江省杭州市西湖区转塘街道 仁和路83号")
    venue = Venue.objects.get()
    assert venue.contact_phone == "0571-87654321"
    picture = poster.locator("img.venue-poster-qr").screenshot()
    assert qr_image_decode(picture) == f"{live_server.url}/health/v/{venue.code}/"
    # Printed, the poster is all there is on the page.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".venue-poster-print")).to_be_hidden()
    expect(poster).to_be_visible()


def test_a_visitor_scans_logs_in_and_checks_in_once(page):
    venue = register(VerifiedUserFactory(), name="知味观（湖滨店）")
    visitor = VerifiedUserFactory()

    page.goto(f"/health/v/{venue.code}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    log_in(page, visitor)

    expect(page.locator("#venue-name")).to_have_text("知味观（湖滨店）")
    page.locator(".venue-checkin-card button[type=submit]").click()
    done = page.get_by_test_id("checkin-done")
    expect(done).to_have_attribute("data-created", "true")
    assert VenueCheckin.objects.get().person == visitor

    # Scanning again a minute later is the same check-in, not a second one.
    page.goto(f"/health/v/{venue.code}/")
    page.locator(".venue-checkin-card button[type=submit]").click()
    expect(page.get_by_test_id("checkin-done")).to_have_attribute("data-created", "false")
    expect(page.get_by_test_id("checkin-repeat")).to_be_visible()
    assert VenueCheckin.objects.count() == 1

    page.goto("/health/venues/checkins/")
    expect(page.locator(".venue-checkin-row")).to_have_count(1)
    expect(page.locator(".venue-checkin-row")).to_contain_text("知味观（湖滨店）")


def test_a_forged_code_says_it_is_no_venue_code(page):
    page.goto("/health/v/aaaaaaaaaaaaaaaa/")

    expect(page.locator("#page-errors")).to_have_attribute("data-code", "venue_not_found")
