"""``manage.py health_checkins_purge``, and the admin pages of venues and check-ins."""

from __future__ import annotations

import datetime
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from yiwang.health.models import Venue, VenueCheckin
from yiwang.health.tests.test_venues_services import checkin_at, venue, visitor
from yiwang.identity.models import User

pytestmark = pytest.mark.django_db

# Fixtures shared with the services' tests.
__all__ = ["venue", "visitor"]

CUTOFF = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00"


def run(*args: str) -> str:
    out = StringIO()
    call_command("health_checkins_purge", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_and_new(venue, visitor) -> VenueCheckin:
    now = timezone.now()
    for days in (29, 30, 45):
        checkin_at(visitor, venue, now - datetime.timedelta(days=days))
    return checkin_at(visitor, venue, now - datetime.timedelta(days=27))


def test_the_command_deletes_what_is_past_the_retention_period(old_and_new):
    output = run()

    assert re.fullmatch(rf"Deleted 3 check-ins from before {CUTOFF}\.\n", output)
    assert list(VenueCheckin.objects.all()) == [old_and_new]


def test_a_dry_run_only_counts(old_and_new):
    output = run("--dry-run")

    assert re.fullmatch(rf"Would delete 3 check-ins from before {CUTOFF}\.\n", output)
    assert VenueCheckin.objects.count() == 4


def test_a_smaller_batch_deletes_the_same(old_and_new):
    assert run("--batch-size", "1").startswith("Deleted 3 check-ins")
    assert run().startswith("Deleted 0 check-ins")


def test_a_batch_size_below_one_is_an_error(old_and_new):
    with pytest.raises(CommandError, match=r"Delete at least one row a batch\."):
        run("--batch-size", "0")

    assert VenueCheckin.objects.count() == 4


def test_the_help_says_it_is_safe_to_run_daily():
    from yiwang.health.management.commands.health_checkins_purge import Command

    assert "Safe to run daily" in Command.help
    assert "HEALTH_CHECKIN_RETENTION_DAYS" in Command.help


# ---------------------------------------------------------------------------------------
# Admin


@pytest.fixture
def admin_client_() -> Client:
    user = User.objects.create_superuser("13800009999", "Correct-Horse-42")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_checkins_are_read_only_in_the_admin(admin_client_, venue, visitor):
    checkin = checkin_at(visitor, venue, timezone.now())

    listed = admin_client_.get(reverse("admin:health_venuecheckin_changelist"))
    added = admin_client_.get(reverse("admin:health_venuecheckin_add"))
    deleted = admin_client_.post(
        reverse("admin:health_venuecheckin_delete", args=[checkin.pk]), {"post": "yes"}
    )

    assert listed.status_code == 200
    assert visitor.id_number not in listed.content.decode()
    assert (added.status_code, deleted.status_code) == (403, 403)
    assert VenueCheckin.objects.count() == 1


def test_an_administrator_can_close_a_venue_but_not_change_or_delete_it(admin_client_, venue):
    url = reverse("admin:health_venue_change", args=[venue.pk])
    page = admin_client_.get(url)

    response = admin_client_.post(
        url,
        {"name": "改名", "closed_at_0": "2022-03-01", "closed_at_1": "12:00:00"},
    )
    deleted = admin_client_.post(
        reverse("admin:health_venue_delete", args=[venue.pk]), {"post": "yes"}
    )

    venue = Venue.objects.get()
    assert page.status_code == 200
    assert response.status_code == 302
    assert venue.name == "知味观（湖滨店）"
    assert timezone.localtime(venue.closed_at).strftime("%Y-%m-%d %H:%M") == "2022-03-01 12:00"
    assert deleted.status_code == 403
