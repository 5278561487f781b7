"""Pages of venue codes: 我的场所码 (register, poster, QR downloads, close), the page a
scanned code opens, 我的场所记录, and the "not in use" page while the module is off."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from yiwang.certificates.qrimage import qr_image_decode
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
from yiwang.identity.models import Organisation, User
from yiwang.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Fixtures shared with the services' tests.
__all__ = ["agent", "company", "grant", "owner", "venue", "visitor"]


def client_for(user: User | None = None, organisation: Organisation | None = None) -> Client:
    """A browser that reads English (the messages compared here), logged in as ``user``."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    if organisation is not None:
        response = client.post(reverse("identity:acting_switch"), {"acting_for": organisation.pk})
        assert response.status_code == 302
    return client


@pytest.fixture
def client() -> Client:
    return client_for()


def checkin_url(venue: Venue) -> str:
    return reverse("health:venue_checkin", kwargs={"code": venue.code})


def page_token(client: Client, venue: Venue) -> str:
    response = client.get(checkin_url(venue))
    assert response.status_code == 200
    return re.search(r'name="token" value="([^"]+)"', response.content.decode())[1]


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


# ---------------------------------------------------------------------------------------
# 我的场所码


def test_my_venue_codes_lists_my_own_venues_only(person, visitor):
    mine = register(person, name="甲店")
    register(visitor, name="乙店")

    response = client_for(person).get(reverse("health:venue_list"))

    assert response.status_code == 200
    assert [v.pk for v in response.context["page"].object_list] == [mine.pk]
    assert "甲店" in text(response)
    assert "乙店" not in text(response)
    assert reverse("health:venue_new") in text(response)


def test_acting_for_an_organisation_lists_its_venues(owner, agent, company, grant):
    companys = register(owner, organisation_id=company.pk, name="知味观（湖滨店）")
    register(agent, name="王强的小店")

    response = client_for(agent, company).get(reverse("health:venue_list"))

    assert [v.pk for v in response.context["page"].object_list] == [companys.pk]
    assert f"The venue codes of {COMPANY}." in text(response)


def test_a_person_without_verification_is_asked_to_verify(client):
    client.force_login(UserFactory())

    listed = client.get(reverse("health:venue_list"))
    new = client.get(reverse("health:venue_new"))

    assert listed.status_code == 200
    assert reverse("identity:verify") in text(listed)
    assert reverse("health:venue_new") not in text(listed)
    assert new.status_code == 403
    assert "Only a person whose real name is verified" in text(new)


def test_the_pages_need_a_login(client, venue):
    for url in (
        reverse("health:venue_list"),
        reverse("health:venue_new"),
        reverse("health:venue_poster", args=[venue.pk]),
        reverse("health:venue_qr", args=[venue.pk, "png"]),
        reverse("health:venue_checkins"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("identity:login"))


def test_registering_a_venue_leads_to_its_poster(person):
    client = client_for(person)
    form = client.get(reverse("health:venue_new"))
    key = form.context["form"].initial["idempotency_key"]

    response = client.post(reverse("health:venue_new"), {**FORM, "idempotency_key": key})

    venue = Venue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("health:venue_poster", args=[venue.pk])
    assert (venue.name, venue.registered_by, venue.organisation_uscc) == (
        "知味观（湖滨店）",
        person,
        "",
    )


def test_the_form_offers_the_districts_and_streets_of_the_city(person):
    response = client_for(person).get(reverse("health:venue_new"))

    choices = response.context["form"].fields["region_code"].choices
    groups = dict(choices[1:])
    assert choices[0][0] == ""
    assert ("330106011", "转塘街道") in groups["西湖区"]
    assert ("330106", "西湖区") in groups["西湖区"]
    assert all(
        code.startswith("3301") for _group, options in choices[1:] for code, _name in options
    )


def test_the_same_form_posted_twice_registers_one_venue(person):
    client = client_for(person)
    data = {**FORM, "idempotency_key": "f" * 32}

    first = client.post(reverse("health:venue_new"), data)
    second = client.post(reverse("health:venue_new"), data)

    assert Venue.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_acting_for_an_organisation_registers_its_venue(agent, company, grant):
    client = client_for(agent, company)
    form = client.get(reverse("health:venue_new"))
    assert f"You register this venue for {COMPANY}" in text(form)

    client.post(reverse("health:venue_new"), {**FORM, "idempotency_key": "k1"})

    venue = Venue.objects.get()
    assert (venue.organisation_uscc, venue.organisation_name, venue.registered_by) == (
        company.uscc,
        COMPANY,
        agent,
    )


def test_invalid_fields_are_shown_beside_them_and_nothing_is_stored(person):
    response = client_for(person).post(
        reverse("health:venue_new"),
        {**FORM, "name": "", "contact_phone": "12345", "idempotency_key": "k1"},
    )

    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors == {
        "name": ["Give the venue's name as it is shown at its entrance."],
        "contact_phone": [
            "Enter an 11-digit mainland mobile number, or a landline with its area code "
            "such as 0571-87654321."
        ],
    }
    assert Venue.objects.count() == 0


def test_a_region_not_offered_is_a_field_error(person):
    response = client_for(person).post(
        reverse("health:venue_new"), {**FORM, "region_code": "310101", "idempotency_key": "k1"}
    )

    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["region_code"]
    assert Venue.objects.count() == 0


def test_a_form_without_its_key_has_expired(person):
    response = client_for(person).post(reverse("health:venue_new"), FORM)

    assert response.status_code == 422
    assert "This form has expired. Please open the page again." in text(response)
    assert Venue.objects.count() == 0


def test_closing_a_venue_from_the_list(person, venue):
    response = client_for(person).post(reverse("health:venue_close", args=[venue.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("health:venue_list")
    assert Venue.objects.get().closed_at is not None


def test_another_person_cannot_close_my_venue(venue, visitor):
    response = client_for(visitor).post(reverse("health:venue_close", args=[venue.pk]))

    assert response.status_code == 404
    assert Venue.objects.get().closed_at is None


def test_closing_needs_a_post(person, venue):
    response = client_for(person).get(reverse("health:venue_close", args=[venue.pk]))

    assert response.status_code == 405
    assert Venue.objects.get().closed_at is None


# ---------------------------------------------------------------------------------------
# The poster and its QR code


def test_the_poster_shows_the_venue_and_the_qr_code_of_its_check_in_page(person, venue):
    response = client_for(person).get(reverse("health:venue_poster", args=[venue.pk]))

    body = text(response)
    assert response.status_code == 200
    assert response.context["checkin_url"] == f"http://testserver/health/v/{venue.code}/"
    assert "知味观（湖滨店）" in body
    assert "浙江省杭州市西湖区转塘街道 仁和路83号" in body
    assert 'src="data:image/svg+xml;base64,' in body
    assert 'lang="zh-Hans"' in body
    assert "health/venues.css" in body
    assert reverse("health:venue_qr", args=[venue.pk, "png"]) in body
    assert reverse("health:venue_qr", args=[venue.pk, "svg"]) in body


def test_the_poster_is_laid_out_for_a4_print():
    from django.contrib.staticfiles import finders

    with open(finders.find("health/venues.css"), encoding="utf-8") as file:
        css = file.read()

    assert "@media print" in css
    assert "size: A4 portrait" in css


def test_the_png_download_reads_back_as_the_absolute_check_in_url(person, venue):
    response = client_for(person).get(reverse("health:venue_qr", args=[venue.pk, "png"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'attachment; filename="venue-{venue.code}.png"'
    assert qr_image_decode(response.content) == f"http://testserver/health/v/{venue.code}/"


def test_the_svg_download(person, venue):
    response = client_for(person).get(reverse("health:venue_qr", args=[venue.pk, "svg"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.decode().count("<svg ") == 1


def test_another_format_is_not_found(person, venue):
    response = client_for(person).get(reverse("health:venue_qr", args=[venue.pk, "gif"]))

    assert response.status_code == 404


def test_another_persons_poster_and_qr_code_are_not_found(venue, visitor):
    client = client_for(visitor)

    assert client.get(reverse("health:venue_poster", args=[venue.pk])).status_code == 404
    assert client.get(reverse("health:venue_qr", args=[venue.pk, "png"])).status_code == 404
    assert client.get(reverse("health:venue_qr", args=[venue.pk, "svg"])).status_code == 404


def test_an_agent_prints_the_organisations_poster(owner, agent, company, grant):
    venue = register(owner, organisation_id=company.pk)

    response = client_for(agent).get(reverse("health:venue_poster", args=[venue.pk]))

    assert response.status_code == 200


def test_a_revoked_agent_is_told_she_no_longer_acts_for_the_organisation(
    owner, agent, company, grant
):
    venue = register(agent, organisation_id=company.pk)
    identity_services.organisation_agent_revoke(actor=owner, grant=grant)

    response = client_for(agent).get(reverse("health:venue_poster", args=[venue.pk]))

    assert response.status_code == 403
    assert f"You no longer act for {COMPANY}" in text(response)


# ---------------------------------------------------------------------------------------
# The page a scanned code opens


def test_an_unknown_code_is_a_404_saying_it_is_no_venue_code(client):
    response = client.get("/health/v/aaaaaaaaaaaaaaaa/")

    assert response.status_code == 404
    assert "This is not a registered venue code. It may have been forged or mistyped" in text(
        response
    )


def test_a_closed_venue_says_so_before_any_login(client, person, venue):
    venues.venue_close(actor=person, venue_id=venue.pk)

    response = client.get(checkin_url(venue))

    assert response.status_code == 409
    assert (
        "知味观（湖滨店） has closed its venue code: check-ins are no longer taken here."
        in text(response)
    )


def test_without_a_login_the_code_leads_to_the_login_and_back(client, venue):
    response = client.get(checkin_url(venue))

    assert response.status_code == 302
    assert response["Location"] == (f"{reverse('identity:login')}?next=/health/v/{venue.code}/")


def test_the_page_shows_the_venue_and_a_signed_confirm_button(venue, visitor):
    client = client_for(visitor)

    response = client.get(checkin_url(venue))

    body = text(response)
    assert response.status_code == 200
    assert "知味观（湖滨店）" in body
    assert visitor.masked_id_number in body
    assert visitor.id_number not in body
    assert response["Cache-Control"].startswith("max-age=0")
    assert VenueCheckin.objects.count() == 0


def test_confirming_records_the_checkin_and_shows_the_time(venue, visitor):
    client = client_for(visitor)

    response = client.post(checkin_url(venue), {"token": page_token(client, venue)})

    checkin = VenueCheckin.objects.get()
    assert response.status_code == 200
    assert (checkin.person, checkin.venue) == (visitor, venue)
    assert response.context["created"] is True
    local = timezone.localtime(checkin.checked_in_at)
    assert f"{local:%H:%M}" in text(response)
    assert reverse("health:code") in text(response)


def test_the_same_form_posted_again_says_she_already_checked_in(venue, visitor):
    client = client_for(visitor)
    token = page_token(client, venue)
    client.post(checkin_url(venue), {"token": token})

    replay = client.post(checkin_url(venue), {"token": token})

    checkin = VenueCheckin.objects.get()
    assert replay.status_code == 200
    local = timezone.localtime(checkin.checked_in_at)
    assert f"You already checked in here at {local:%H:%M}; nothing new was recorded." in text(
        replay
    )


def test_an_expired_page_asks_to_scan_again_and_stores_nothing(venue, visitor):
    client = client_for(visitor)
    old = venues.checkin_token_issue(
        person=visitor, venue=venue, now=timezone.now() - datetime.timedelta(seconds=601)
    )

    response = client.post(checkin_url(venue), {"token": old})

    assert response.status_code == 409
    assert "This check-in page has expired. Scan the venue code again." in text(response)
    assert checkin_url(venue) in text(response)
    assert VenueCheckin.objects.count() == 0


def test_a_page_opened_by_another_person_is_refused(person, venue, visitor):
    theirs = page_token(client_for(person), venue)

    response = client_for(visitor).post(checkin_url(venue), {"token": theirs})

    assert response.status_code == 403
    assert "This check-in page was opened for another person or another venue." in text(response)
    assert VenueCheckin.objects.count() == 0


@pytest.mark.parametrize("data", [{}, {"token": "forged"}])
def test_a_post_without_a_valid_token_is_refused(venue, visitor, data):
    response = client_for(visitor).post(checkin_url(venue), data)

    assert response.status_code == 403
    assert VenueCheckin.objects.count() == 0


def test_a_person_without_verification_is_asked_to_verify_and_come_back(client, venue):
    client.force_login(UserFactory())

    response = client.get(checkin_url(venue))

    assert response.status_code == 403
    assert f"{reverse('identity:verify')}?next=/health/v/{venue.code}/" in text(response)


def test_posting_to_a_closed_venue_stores_nothing(person, venue, visitor):
    client = client_for(visitor)
    token = page_token(client, venue)
    venues.venue_close(actor=person, venue_id=venue.pk)

    response = client.post(checkin_url(venue), {"token": token})

    assert response.status_code == 409
    assert VenueCheckin.objects.count() == 0


# ---------------------------------------------------------------------------------------
# 我的场所记录


def test_my_checkins_are_listed_newest_first_with_venue_and_time(person, venue, visitor):
    now = timezone.now()
    older = checkin_at(visitor, venue, now - datetime.timedelta(days=2))
    newer = checkin_at(visitor, venue, now - datetime.timedelta(hours=1))
    checkin_at(visitor, venue, now - datetime.timedelta(days=29))
    checkin_at(person, venue, now)

    response = client_for(visitor).get(reverse("health:venue_checkins"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [newer, older]
    assert "浙江省杭州市西湖区转塘街道 仁和路83号" in text(response)
    assert f"{timezone.localtime(newer.checked_in_at):%Y-%m-%d %H:%M}" in text(response)


def test_my_checkins_come_in_pages_of_20_at_a_constant_cost(
    person, visitor, django_assert_num_queries
):
    now = timezone.now()
    client = client_for(visitor)
    checkin_at(visitor, register(person, name="店0"), now)
    client.get(reverse("health:venue_checkins"))  # the session is loaded once
    with CountingQueries() as one_row:
        client.get(reverse("health:venue_checkins"))
    for n in range(1, 25):
        checkin_at(visitor, register(person, name=f"店{n}"), now - datetime.timedelta(hours=n))

    with django_assert_num_queries(one_row.count):
        first = client.get(reverse("health:venue_checkins"))
    second = client.get(reverse("health:venue_checkins"), {"page": 2})

    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 5
    assert "Page 1 of 2" in text(first)


def test_my_venue_codes_cost_the_same_whatever_their_number(person, django_assert_num_queries):
    client = client_for(person)
    register(person, name="店0")
    client.get(reverse("health:venue_list"))
    with CountingQueries() as few:
        client.get(reverse("health:venue_list"))
    for n in range(1, 12):
        register(person, name=f"店{n}")

    with django_assert_num_queries(few.count):
        response = client.get(reverse("health:venue_list"))

    assert len(response.context["page"].object_list) == 12


class CountingQueries:
    def __enter__(self) -> CountingQueries:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self._context = CaptureQueriesContext(connection)
        self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)
        self.count = len(self._context.captured_queries)


# ---------------------------------------------------------------------------------------
# Switched off


def test_every_page_says_venue_codes_are_not_in_use_while_switched_off(
    client, person, venue, settings
):
    settings.HEALTH_EMERGENCY_ENABLED = False
    client.force_login(person)

    for method, url in (
        ("get", reverse("health:venue_list")),
        ("get", reverse("health:venue_new")),
        ("post", reverse("health:venue_new")),
        ("get", reverse("health:venue_poster", args=[venue.pk])),
        ("get", reverse("health:venue_qr", args=[venue.pk, "png"])),
        ("post", reverse("health:venue_close", args=[venue.pk])),
        ("get", checkin_url(venue)),
        ("post", checkin_url(venue)),
        ("get", reverse("health:venue_checkins")),
    ):
        response = getattr(client, method)(url)
        assert response.status_code == 503, url
        assert "Venue codes are not in use" in text(response)
    assert Venue.objects.get().closed_at is None
    assert VenueCheckin.objects.count() == 0


def test_a_scanned_code_says_not_in_use_even_before_a_login(client, venue, settings):
    settings.HEALTH_EMERGENCY_ENABLED = False

    response = client.get(checkin_url(venue))

    assert response.status_code == 503
