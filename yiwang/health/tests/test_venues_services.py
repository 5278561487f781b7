"""Venue codes (场所码): registering and closing venues, who manages them, check-ins with
their replays and dedupe window, 我的场所记录, and the retention purge.

The fixtures here are shared by the other test_venues_* modules.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiwang.certificates.qrimage import qr_image_decode
from yiwang.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
)
from yiwang.core.models import AuditEntry
from yiwang.health import venues
from yiwang.health.models import Venue, VenueCheckin
from yiwang.health.tests.conftest import at
from yiwang.identity import services as identity_services
from yiwang.identity.models import Organisation, OrganisationAgent, User
from yiwang.identity.tests.factories import UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

COMPANY = "杭州知味餐饮管理有限公司"
FORM: dict[str, Any] = {
    "name": "知味观（湖滨店）",
    "kind": "restaurant",
    "region_code": "330106011",
    "address": "仁和路83号",
    "contact_phone": "0571-87654321",
}
T0 = at("2022-03-01", 12, 0)


def register(person: User, **changes: Any) -> Venue:
    return venues.venue_register(person=person, **{**FORM, **changes}).venue


def checkin_at(person: User, venue: Venue, moment: datetime.datetime) -> VenueCheckin:
    return VenueCheckin.objects.create(person=person, venue=venue, checked_in_at=moment)


def confirm(person: User, venue: Venue, *, issued: datetime.datetime, now: datetime.datetime):
    token = venues.checkin_token_issue(person=person, venue=venue, now=issued)
    return venues.checkin_confirm(person=person, venue_code=venue.code, token=token, now=now)


@pytest.fixture
def venue(person: User) -> Venue:
    return register(person)


@pytest.fixture
def visitor() -> User:
    return VerifiedUserFactory()


@pytest.fixture
def owner() -> User:
    return VerifiedUserFactory(name="沈嘉航")


@pytest.fixture
def agent() -> User:
    return VerifiedUserFactory(name="王强")


@pytest.fixture
def company(owner: User, uscc_factory: Any) -> Organisation:
    return Organisation.objects.create(
        uscc=uscc_factory(serial="MA2GJ7L4X"), name=COMPANY, legal_representative=owner
    )


@pytest.fixture
def grant(owner: User, agent: User, company: Organisation) -> OrganisationAgent:
    return identity_services.organisation_agent_grant(
        actor=owner,
        organisation=company,
        agent_phone=agent.phone,
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )


# ---------------------------------------------------------------------------------------
# Registration


def test_a_verified_person_registers_a_venue_with_a_random_code(person):
    registration = venues.venue_register(person=person, **FORM, now=T0)

    venue = registration.venue
    assert registration.created is True
    assert re.fullmatch(r"[a-z2-7]{16}", venue.code)
    assert (
        venue.name,
        venue.kind,
        venue.region.code,
        venue.address,
        venue.contact_phone,
        venue.registered_by,
        venue.organisation_uscc,
        venue.organisation_name,
        venue.created_at,
        venue.closed_at,
    ) == (
        "知味观（湖滨店）",
        "restaurant",
        "330106011",
        "仁和路83号",
        "0571-87654321",
        person,
        "",
        "",
        T0,
        None,
    )
    entry = AuditEntry.objects.get(action="health.venue_register")
    assert (entry.actor_id, entry.object_id, entry.detail) == (
        person.pk,
        str(venue.pk),
        {"kind": "restaurant", "region": "330106011"},
    )


def test_every_venue_gets_its_own_code(person):
    codes = {register(person, name=f"门店{n}").code for n in range(20)}

    assert len(codes) == 20


def test_a_code_already_taken_is_drawn_again(person, venue, monkeypatch):
    drawn = iter([venue.code, "bbbbbbbbbbbbbbbb"])
    monkeypatch.setattr(venues, "_venue_code_new", lambda: next(drawn))

    second = register(person, name="知味观（武林店）")

    assert second.code == "bbbbbbbbbbbbbbbb"
    assert Venue.objects.count() == 2


def test_no_free_code_after_five_draws_is_a_conflict_and_stores_nothing(person, venue, monkeypatch):
    monkeypatch.setattr(venues, "_venue_code_new", lambda: venue.code)

    with pytest.raises(Conflict) as raised:
        register(person, name="知味观（武林店）")

    assert raised.value.code == "venue_code_exhausted"
    assert Venue.objects.count() == 1


def test_every_invalid_field_is_reported_at_once_and_nothing_is_stored(person):
    with pytest.raises(ValidationFailed) as raised:
        venues.venue_register(
            person=person,
            name="  ",
            kind="zoo",
            region_code="310101",
            address="",
            contact_phone="12345",
        )

    assert {name: [str(m) for m in msgs] for name, msgs in raised.value.fields.items()} == {
        "name": ["Give the venue's name as it is shown at its entrance."],
        "kind": ["Choose the kind of venue."],
        "region_code": ["Choose a district, county or street of 杭州市."],
        "address": ["Give the street address, with the building number."],
        "contact_phone": [
            "Enter an 11-digit mainland mobile number, or a landline with its area code "
            "such as 0571-87654321."
        ],
    }
    assert Venue.objects.count() == 0


@pytest.mark.parametrize(
    ("code", "accepted"),
    [
        ("330106", True),  # 西湖区, a district of the city
        ("330106011", True),  # 转塘街道, a street of it
        ("330100", False),  # the city itself
        ("330000", False),  # the province
        ("320102", False),  # a district of another city
        ("320102001", False),  # a street of another city
        ("", False),
    ],
)
def test_the_region_is_a_district_county_or_street_of_the_city(person, code, accepted):
    if accepted:
        assert register(person, region_code=code).region.code == code
    else:
        with pytest.raises(ValidationFailed) as raised:
            register(person, region_code=code)
        assert list(raised.value.fields) == ["region_code"]


def test_the_city_is_a_setting(person, settings):
    settings.HEALTH_VENUE_CITY = "320100"

    assert register(person, region_code="320102").region.code == "320102"
    with pytest.raises(ValidationFailed):
        register(person, region_code="330106")


@pytest.mark.parametrize(
    ("entered", "stored"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0571-87654321", "0571-87654321"),
        ("057187654321", "0571-87654321"),
        ("0571 8765432", "0571-8765432"),
        ("010-62345678", "010-62345678"),
        ("02087654321", "020-87654321"),
    ],
)
def test_a_mobile_or_landline_number_is_accepted_and_normalised(entered, stored):
    assert venues.venue_phone_parse(entered) == stored


@pytest.mark.parametrize(
    "entered",
    [
        "",
        "12345",
        "1380013800",  # ten digits
        "12800138000",  # no mobile number starts with 12
        "0571-07654321",  # a local number never starts with 0
        "0571-876543210",  # nine local digits
        "4008001234",  # a service number, not a landline
        "95533",
        "0571-8765432a",
    ],
)
def test_anything_else_is_not_a_contact_phone(entered):
    with pytest.raises(ValidationFailed) as raised:
        venues.venue_phone_parse(entered)

    assert list(raised.value.fields) == ["contact_phone"]


def test_a_name_or_address_too_long_is_refused(person):
    with pytest.raises(ValidationFailed) as raised:
        register(person, name="店" * 101, address="路" * 201)

    assert {name: [str(m) for m in msgs] for name, msgs in raised.value.fields.items()} == {
        "name": ["At most 100 characters."],
        "address": ["At most 200 characters."],
    }


def test_white_space_and_control_characters_are_tidied(person):
    venue = register(person, name="  知味观 \t（湖滨店）\x00 ", address=" 仁和路\n83号 ")

    assert (venue.name, venue.address) == ("知味观 （湖滨店）", "仁和路 83号")


def test_a_person_without_real_name_verification_cannot_register():
    with pytest.raises(PermissionDenied) as raised:
        register(UserFactory())

    assert raised.value.code == "health_not_verified"
    assert Venue.objects.count() == 0


def test_registering_twice_with_the_same_key_creates_one_venue(person):
    first = venues.venue_register(person=person, **FORM, idempotency_key="form-1")
    second = venues.venue_register(person=person, **FORM, idempotency_key="form-1")

    assert (first.created, second.created) == (True, False)
    assert second.venue.pk == first.venue.pk
    assert Venue.objects.count() == 1


def test_another_key_registers_another_venue(person):
    first = venues.venue_register(person=person, **FORM, idempotency_key="form-1")
    second = venues.venue_register(person=person, **FORM, idempotency_key="form-2")

    assert second.venue.pk != first.venue.pk


def test_the_same_key_of_another_person_is_hers_alone(person, visitor):
    mine = venues.venue_register(person=person, **FORM, idempotency_key="form-1")
    hers = venues.venue_register(person=visitor, **FORM, idempotency_key="form-1")

    assert hers.created is True
    assert hers.venue.registered_by == visitor
    assert hers.venue.pk != mine.venue.pk


def test_a_key_longer_than_64_characters_is_refused(person):
    with pytest.raises(ValidationFailed) as raised:
        venues.venue_register(person=person, **FORM, idempotency_key="k" * 65)

    assert list(raised.value.fields) == ["idempotency_key"]


def test_nothing_is_registered_while_the_module_is_switched_off(person, settings):
    settings.HEALTH_EMERGENCY_ENABLED = False

    with pytest.raises(ServiceUnavailable) as raised:
        register(person)

    assert (raised.value.status, raised.value.code) == (503, "health_disabled")
    assert Venue.objects.count() == 0


# ---------------------------------------------------------------------------------------
# Organisations and who manages a venue


def test_a_venue_registered_for_an_organisation_is_the_organisations(owner, company):
    venue = register(owner, organisation_id=company.pk)

    assert (venue.organisation_uscc, venue.organisation_name, venue.registered_by) == (
        company.uscc,
        COMPANY,
        owner,
    )
    entry = AuditEntry.objects.get(action="health.venue_register")
    assert entry.acting_for == COMPANY


def test_every_agent_of_the_organisation_manages_its_venues(owner, agent, company, grant):
    venue = register(owner, organisation_id=company.pk)

    assert venues.venue_for_manager(agent, venue.pk) == venue
    closed = venues.venue_close(actor=agent, venue_id=venue.pk, now=T0)

    assert closed.closed_at == T0
    assert list(venues.venues_for_acting(agent, company.pk)) == [venue]


def test_the_legal_representative_manages_a_venue_an_agent_registered(owner, agent, company, grant):
    venue = register(agent, organisation_id=company.pk)

    assert venues.venue_for_manager(owner, venue.pk) == venue


def test_a_revoked_agent_can_no_longer_manage_the_venue_she_registered(
    owner, agent, company, grant
):
    venue = register(agent, organisation_id=company.pk)
    identity_services.organisation_agent_revoke(actor=owner, grant=grant)

    with pytest.raises(PermissionDenied) as raised:
        venues.venue_for_manager(agent, venue.pk)
    with pytest.raises(PermissionDenied):
        venues.venue_close(actor=agent, venue_id=venue.pk)

    assert raised.value.code == "not_acting_for_organisation"
    assert str(raised.value.message) == (
        f"You no longer act for {COMPANY}, so you can no longer manage its venue codes."
    )
    assert Venue.objects.get(pk=venue.pk).closed_at is None
    with pytest.raises(PermissionDenied):
        venues.venues_for_acting(agent, company.pk)


def test_an_expired_agency_ends_the_management_too(owner, agent, company, grant):
    venue = register(owner, organisation_id=company.pk)
    OrganisationAgent.objects.filter(pk=grant.pk).update(
        valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )

    with pytest.raises(NotFound):
        venues.venue_for_manager(agent, venue.pk)


def test_registering_for_an_organisation_she_does_not_act_for_is_refused(visitor, company):
    with pytest.raises(PermissionDenied) as raised:
        register(visitor, organisation_id=company.pk)

    assert raised.value.code == "not_acting_for_organisation"
    assert Venue.objects.count() == 0


def test_another_persons_venue_is_not_found(venue, visitor):
    with pytest.raises(NotFound):
        venues.venue_for_manager(visitor, venue.pk)
    with pytest.raises(NotFound):
        venues.venue_close(actor=visitor, venue_id=venue.pk)

    assert Venue.objects.get(pk=venue.pk).closed_at is None


def test_an_organisations_venue_is_not_the_personal_venue_of_whoever_registered_it(owner, company):
    own = register(owner, name="沈家小铺")
    companys = register(owner, organisation_id=company.pk)

    assert list(venues.venues_for_acting(owner, None)) == [own]
    assert list(venues.venues_for_acting(owner, company.pk)) == [companys]


def test_my_venues_are_listed_newest_first(person):
    older = register(person, name="甲店")
    newer = register(person, name="乙店")

    assert list(venues.venues_of_person(person)) == [newer, older]


def test_closing_a_venue_is_recorded_and_closing_it_again_changes_nothing(person, venue):
    venues.venue_close(actor=person, venue_id=venue.pk, now=T0)
    again = venues.venue_close(actor=person, venue_id=venue.pk, now=T0 + datetime.timedelta(1))

    assert again.closed_at == T0
    assert AuditEntry.objects.filter(action="health.venue_close").count() == 1


def test_an_unknown_venue_id_is_not_found(person):
    with pytest.raises(NotFound):
        venues.venue_close(actor=person, venue_id=987654)


# ---------------------------------------------------------------------------------------
# The QR code


def test_the_png_qr_code_reads_back_as_the_check_in_url(venue):
    url = f"https://yiwang.example.cn/health/v/{venue.code}/"

    assert qr_image_decode(venues.venue_qr_png(url)) == url


def test_the_svg_qr_code_scales_to_any_size():
    svg = venues.venue_qr_svg("https://yiwang.example.cn/health/v/abcdefghijklmnop/").decode()

    assert re.search(r'<svg width="(\d+)" height="\1" viewBox="0 0 \1 \1"', svg)


def test_the_check_in_path_is_the_short_venue_path(venue):
    assert venues.venue_checkin_url(venue) == f"/health/v/{venue.code}/"


# ---------------------------------------------------------------------------------------
# Scanning to check in (the page's signed form)


def test_confirming_the_page_records_one_checkin(venue, visitor):
    result = confirm(visitor, venue, issued=T0, now=T0 + datetime.timedelta(seconds=20))

    assert result.created is True
    checkin = VenueCheckin.objects.get()
    assert (checkin.person, checkin.venue, checkin.checked_in_at) == (
        visitor,
        venue,
        T0 + datetime.timedelta(seconds=20),
    )
    assert result.checkin == checkin


def test_the_same_form_posted_again_returns_the_first_checkin(venue, visitor):
    token = venues.checkin_token_issue(person=visitor, venue=venue, now=T0)
    first = venues.checkin_confirm(person=visitor, venue_code=venue.code, token=token, now=T0)
    replay = venues.checkin_confirm(
        person=visitor, venue_code=venue.code, token=token, now=T0 + datetime.timedelta(minutes=9)
    )

    assert (first.created, replay.created) == (True, False)
    assert replay.checkin.pk == first.checkin.pk
    assert VenueCheckin.objects.count() == 1


def test_a_replay_is_caught_by_the_tokens_time_even_without_a_dedupe_window(
    venue, visitor, settings
):
    settings.HEALTH_CHECKIN_DEDUPE_MINUTES = 0
    token = venues.checkin_token_issue(person=visitor, venue=venue, now=T0)
    first = venues.checkin_confirm(
        person=visitor, venue_code=venue.code, token=token, now=T0 + datetime.timedelta(seconds=5)
    )
    replay = venues.checkin_confirm(
        person=visitor, venue_code=venue.code, token=token, now=T0 + datetime.timedelta(minutes=9)
    )
    fresh = confirm(
        visitor,
        venue,
        issued=T0 + datetime.timedelta(minutes=9),
        now=T0 + datetime.timedelta(minutes=9, seconds=5),
    )

    assert replay.checkin.pk == first.checkin.pk
    assert fresh.created is True
    assert VenueCheckin.objects.count() == 2


@pytest.mark.parametrize(
    ("after", "new_row"),
    [
        (datetime.timedelta(minutes=29, seconds=59), False),
        (datetime.timedelta(minutes=30), False),
        (datetime.timedelta(minutes=30, seconds=1), True),
    ],
)
def test_a_second_scan_within_the_dedupe_window_is_the_first_checkin(
    venue, visitor, after, new_row
):
    first = confirm(visitor, venue, issued=T0, now=T0)
    second = confirm(visitor, venue, issued=T0 + after, now=T0 + after)

    assert second.created is new_row
    assert (second.checkin.pk == first.checkin.pk) is not new_row
    assert VenueCheckin.objects.count() == (2 if new_row else 1)


def test_the_dedupe_window_is_a_setting(venue, visitor, settings):
    settings.HEALTH_CHECKIN_DEDUPE_MINUTES = 5
    confirm(visitor, venue, issued=T0, now=T0)

    later = T0 + datetime.timedelta(minutes=6)
    assert confirm(visitor, venue, issued=later, now=later).created is True


def test_the_dedupe_window_is_per_venue_and_per_person(person, venue, visitor):
    other_venue = register(person, name="知味观（武林店）")
    confirm(visitor, venue, issued=T0, now=T0)

    assert confirm(visitor, other_venue, issued=T0, now=T0).created is True
    assert confirm(person, venue, issued=T0, now=T0).created is True
    assert VenueCheckin.objects.count() == 3


@pytest.mark.parametrize(("age", "accepted"), [(600, True), (601, False)])
def test_a_page_older_than_its_validity_is_refused_and_nothing_is_stored(
    venue, visitor, age, accepted
):
    now = T0 + datetime.timedelta(seconds=age)
    if accepted:
        assert confirm(visitor, venue, issued=T0, now=now).created is True
        return
    with pytest.raises(Conflict) as raised:
        confirm(visitor, venue, issued=T0, now=now)

    assert (raised.value.status, raised.value.code) == (409, "checkin_token_expired")
    assert str(raised.value.message) == (
        "This check-in page has expired. Scan the venue code again."
    )
    assert VenueCheckin.objects.count() == 0


def test_the_pages_validity_is_a_setting(venue, visitor, settings):
    settings.HEALTH_CHECKIN_TOKEN_SECONDS = 60

    with pytest.raises(Conflict):
        confirm(visitor, venue, issued=T0, now=T0 + datetime.timedelta(seconds=61))


def test_a_page_opened_by_another_person_is_refused(venue, visitor, person):
    token = venues.checkin_token_issue(person=person, venue=venue, now=T0)

    with pytest.raises(PermissionDenied) as raised:
        venues.checkin_confirm(person=visitor, venue_code=venue.code, token=token, now=T0)

    assert raised.value.code == "checkin_token_mismatch"
    assert VenueCheckin.objects.count() == 0


def test_a_page_of_another_venue_is_refused(person, venue, visitor):
    other_venue = register(person, name="知味观（武林店）")
    token = venues.checkin_token_issue(person=visitor, venue=other_venue, now=T0)

    with pytest.raises(PermissionDenied) as raised:
        venues.checkin_confirm(person=visitor, venue_code=venue.code, token=token, now=T0)

    assert raised.value.code == "checkin_token_mismatch"
    assert VenueCheckin.objects.count() == 0


# Tokens are made in the test, not at collection: a signature carries the time it was made,
# and parallel workers must collect the same test ids.
FORGED_TOKENS = {
    "empty": lambda: "",
    "garbage": lambda: "not-a-token",
    "another_salt": lambda: signing.dumps({"v": "x", "u": 1, "t": 0}, salt="another.salt"),
    "missing_fields": lambda: signing.dumps({"v": "x"}, salt="yiwang.health.venues.checkin"),
}


@pytest.mark.parametrize("forged", FORGED_TOKENS)
def test_a_forged_or_damaged_token_is_refused(venue, visitor, forged):
    token = FORGED_TOKENS[forged]()
    with pytest.raises(PermissionDenied) as raised:
        venues.checkin_confirm(person=visitor, venue_code=venue.code, token=token, now=T0)

    assert raised.value.code == "checkin_token_invalid"
    assert VenueCheckin.objects.count() == 0


def test_a_token_altered_by_one_character_is_refused(venue, visitor):
    token = venues.checkin_token_issue(person=visitor, venue=venue, now=T0)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    with pytest.raises(PermissionDenied) as raised:
        venues.checkin_confirm(person=visitor, venue_code=venue.code, token=altered, now=T0)

    assert raised.value.code == "checkin_token_invalid"


@pytest.mark.parametrize("code", ["aaaaaaaaaaaaaaaa", "", "a" * 25, "../../admin"])
def test_a_code_that_is_no_venues_is_not_found(visitor, code):
    with pytest.raises(NotFound) as raised:
        venues.venue_by_code(code)

    assert (raised.value.status, raised.value.code) == (404, "venue_not_found")
    assert "not a registered venue code" in str(raised.value.message)


def test_a_code_is_found_whatever_its_case(venue):
    assert venues.venue_by_code(f" {venue.code.upper()} ") == venue


def test_a_closed_venue_takes_no_checkins(person, venue, visitor):
    venues.venue_close(actor=person, venue_id=venue.pk)

    with pytest.raises(Conflict) as raised:
        confirm(visitor, venue, issued=T0, now=T0)

    assert raised.value.code == "venue_closed"
    assert str(raised.value.message) == (
        "知味观（湖滨店） has closed its venue code: check-ins are no longer taken here."
    )
    assert VenueCheckin.objects.count() == 0


def test_a_person_without_real_name_verification_cannot_check_in(venue):
    unverified = UserFactory()

    with pytest.raises(PermissionDenied) as raised:
        confirm(unverified, venue, issued=T0, now=T0)

    assert raised.value.code == "health_not_verified"
    assert VenueCheckin.objects.count() == 0


def test_nobody_checks_in_while_the_module_is_switched_off(venue, visitor, settings):
    settings.HEALTH_EMERGENCY_ENABLED = False

    with pytest.raises(ServiceUnavailable):
        confirm(visitor, venue, issued=T0, now=T0)
    with pytest.raises(ServiceUnavailable):
        venues.checkin_record(person=visitor, venue_code=venue.code, idempotency_key="k")

    assert VenueCheckin.objects.count() == 0


# ---------------------------------------------------------------------------------------
# Checking in from the app's scanner (an idempotency key)


def test_the_same_key_returns_the_same_checkin(venue, visitor):
    first = venues.checkin_record(
        person=visitor, venue_code=venue.code, idempotency_key="scan-1", now=T0
    )
    again = venues.checkin_record(
        person=visitor,
        venue_code=venue.code,
        idempotency_key="scan-1",
        now=T0 + datetime.timedelta(hours=2),
    )

    assert (first.created, again.created) == (True, False)
    assert again.checkin.pk == first.checkin.pk
    assert VenueCheckin.objects.count() == 1


def test_a_new_key_within_the_dedupe_window_returns_the_earlier_checkin(venue, visitor):
    first = venues.checkin_record(
        person=visitor, venue_code=venue.code, idempotency_key="scan-1", now=T0
    )
    second = venues.checkin_record(
        person=visitor,
        venue_code=venue.code,
        idempotency_key="scan-2",
        now=T0 + datetime.timedelta(minutes=10),
    )
    third = venues.checkin_record(
        person=visitor,
        venue_code=venue.code,
        idempotency_key="scan-3",
        now=T0 + datetime.timedelta(minutes=31),
    )

    assert second.checkin.pk == first.checkin.pk
    assert third.created is True
    assert VenueCheckin.objects.count() == 2


def test_a_forgotten_key_still_meets_the_dedupe_window(venue, visitor):
    from django.core.cache import cache

    first = venues.checkin_record(
        person=visitor, venue_code=venue.code, idempotency_key="scan-1", now=T0
    )
    cache.clear()
    again = venues.checkin_record(
        person=visitor,
        venue_code=venue.code,
        idempotency_key="scan-1",
        now=T0 + datetime.timedelta(minutes=1),
    )

    assert again.checkin.pk == first.checkin.pk
    assert VenueCheckin.objects.count() == 1


def test_a_key_used_at_another_venue_is_a_conflict(person, venue, visitor):
    other_venue = register(person, name="知味观（武林店）")
    venues.checkin_record(person=visitor, venue_code=venue.code, idempotency_key="scan-1", now=T0)

    with pytest.raises(Conflict) as raised:
        venues.checkin_record(
            person=visitor, venue_code=other_venue.code, idempotency_key="scan-1", now=T0
        )

    assert raised.value.code == "idempotency_key_reused"
    assert VenueCheckin.objects.count() == 1


def test_another_persons_key_is_not_mine(venue, visitor, person):
    theirs = venues.checkin_record(
        person=person, venue_code=venue.code, idempotency_key="scan-1", now=T0
    )
    mine = venues.checkin_record(
        person=visitor, venue_code=venue.code, idempotency_key="scan-1", now=T0
    )

    assert mine.created is True
    assert mine.checkin.pk != theirs.checkin.pk
    assert mine.checkin.person == visitor


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "Send a new random key with each scan."), ("k" * 65, "At most 64 characters.")],
)
def test_a_missing_or_overlong_key_is_a_field_error(venue, visitor, key, message):
    with pytest.raises(ValidationFailed) as raised:
        venues.checkin_record(person=visitor, venue_code=venue.code, idempotency_key=key)

    assert [str(m) for m in raised.value.fields["idempotency_key"]] == [message]
    assert VenueCheckin.objects.count() == 0


def test_the_scanner_is_told_an_unknown_or_closed_code(person, venue, visitor):
    with pytest.raises(NotFound) as unknown:
        venues.checkin_record(person=visitor, venue_code="zzzzzzzzzzzzzzzz", idempotency_key="k")
    venues.venue_close(actor=person, venue_id=venue.pk)
    with pytest.raises(Conflict) as closed:
        venues.checkin_record(person=visitor, venue_code=venue.code, idempotency_key="k")

    assert (unknown.value.code, closed.value.code) == ("venue_not_found", "venue_closed")
    assert VenueCheckin.objects.count() == 0


# ---------------------------------------------------------------------------------------
# 我的场所记录


def test_my_checkins_are_mine_of_the_retention_period_newest_first(person, venue, visitor):
    now = timezone.now()
    kept_old = checkin_at(visitor, venue, now - datetime.timedelta(days=27, hours=23))
    recent = checkin_at(visitor, venue, now - datetime.timedelta(hours=1))
    checkin_at(visitor, venue, now - datetime.timedelta(days=28, minutes=1))
    checkin_at(person, venue, now - datetime.timedelta(minutes=5))

    assert list(venues.checkins_of_person(visitor, now=now)) == [recent, kept_old]


def test_my_checkins_need_the_module_switched_on(visitor, settings):
    settings.HEALTH_EMERGENCY_ENABLED = False

    with pytest.raises(ServiceUnavailable):
        venues.checkins_of_person(visitor)


# ---------------------------------------------------------------------------------------
# Retention


def test_the_purge_deletes_what_is_older_than_28_days_to_the_second(venue, visitor):
    now = T0
    exactly = checkin_at(visitor, venue, now - datetime.timedelta(days=28))
    younger = checkin_at(visitor, venue, now - datetime.timedelta(days=27, hours=23))
    checkin_at(visitor, venue, now - datetime.timedelta(days=28, seconds=1))
    checkin_at(visitor, venue, now - datetime.timedelta(days=90))

    result = venues.checkins_purge(now=now)

    assert (result.count, result.before, result.dry_run) == (
        2,
        now - datetime.timedelta(days=28),
        False,
    )
    assert set(VenueCheckin.objects.all()) == {exactly, younger}


def test_the_retention_period_is_a_setting(venue, visitor, settings):
    settings.HEALTH_CHECKIN_RETENTION_DAYS = 7
    kept = checkin_at(visitor, venue, T0 - datetime.timedelta(days=6))
    checkin_at(visitor, venue, T0 - datetime.timedelta(days=8))

    assert venues.checkins_purge(now=T0).count == 1
    assert list(VenueCheckin.objects.all()) == [kept]


def test_the_purge_takes_an_explicit_cutoff(venue, visitor):
    kept = checkin_at(visitor, venue, T0)
    checkin_at(visitor, venue, T0 - datetime.timedelta(seconds=1))

    assert venues.checkins_purge(before=T0).count == 1
    assert list(VenueCheckin.objects.all()) == [kept]


def test_the_purge_deletes_in_batches_one_statement_each(venue, visitor):
    for minutes in range(5):
        checkin_at(visitor, venue, T0 - datetime.timedelta(days=40, minutes=minutes))
    kept = checkin_at(visitor, venue, T0)

    with CaptureQueriesContext(connection) as queries:
        result = venues.checkins_purge(now=T0, batch_size=2)

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert result.count == 5
    # 2 + 2 + 1: the short batch ends the run.
    assert len(deletes) == 3
    assert all("LIMIT 2" in sql for sql in deletes)
    assert list(VenueCheckin.objects.all()) == [kept]


def test_a_dry_run_counts_and_deletes_nothing(venue, visitor):
    for days in (29, 30, 31):
        checkin_at(visitor, venue, T0 - datetime.timedelta(days=days))
    checkin_at(visitor, venue, T0)

    result = venues.checkins_purge(now=T0, dry_run=True)

    assert (result.count, result.dry_run) == (3, True)
    assert VenueCheckin.objects.count() == 4
    assert not AuditEntry.objects.filter(action="health.checkins_purge").exists()


def test_the_purge_is_audited_and_a_second_run_finds_nothing(venue, visitor):
    checkin_at(visitor, venue, T0 - datetime.timedelta(days=30))

    assert venues.checkins_purge(now=T0).count == 1
    assert venues.checkins_purge(now=T0).count == 0

    entry = AuditEntry.objects.get(action="health.checkins_purge")
    assert (entry.actor_id, entry.detail) == (
        None,
        {"deleted": 1, "before": (T0 - datetime.timedelta(days=28)).isoformat()},
    )


def test_the_purge_runs_while_the_module_is_switched_off(venue, visitor, settings):
    checkin_at(visitor, venue, T0 - datetime.timedelta(days=30))
    settings.HEALTH_EMERGENCY_ENABLED = False

    assert venues.checkins_purge(now=T0).count == 1


def test_a_batch_size_below_one_is_refused(venue, visitor):
    checkin_at(visitor, venue, T0 - datetime.timedelta(days=30))

    with pytest.raises(ValidationFailed):
        venues.checkins_purge(now=T0, batch_size=0)

    assert VenueCheckin.objects.count() == 1
