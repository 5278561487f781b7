from __future__ import annotations

import pytest
from django.test import Client

from yiwang.exchange.log import LogEntry, log_append
from yiwang.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "dataresource",
    "consumersystem",
    "accessgrant",
    "consent",
    "exchangelogrecord",
    "exchangelogcheckpoint",
    "householdmember",
    "birthmedicalrecord",
]


@pytest.fixture
def admin_client(data_exchange):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize("model", PAGES)
def test_every_exchange_list_opens_for_the_platform_admin(admin_client, model):
    assert admin_client.get(f"/admin/exchange/{model}/").status_code == 200


def test_the_log_cannot_be_added_to_changed_or_deleted_in_admin(admin_client):
    record = log_append(
        LogEntry(
            request_id="r",
            consumer="330106-GA/s",
            provider="330100-GA",
            service="population-basic",
            purpose="p",
            request_digest="0" * 64,
            outcome="ok",
            status_code=200,
        )
    )

    assert admin_client.get("/admin/exchange/exchangelogrecord/add/").status_code == 403
    page = admin_client.get(f"/admin/exchange/exchangelogrecord/{record.pk}/change/")
    assert page.status_code == 200
    assert b'name="purpose"' not in page.content  # shown, not editable
    deleted = admin_client.post(
        f"/admin/exchange/exchangelogrecord/{record.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403
