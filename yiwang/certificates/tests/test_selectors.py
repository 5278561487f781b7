"""Which certificate proves a material: the holder's newest valid one of each type."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from yiwang.certificates import selectors, services
from yiwang.certificates.tests.test_services import HUSBAND_ID, WIFE_ID, marriage
from yiwang.identity.models import StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory

pytestmark = pytest.mark.django_db


def licence(market_regulation, uscc: str, **kwargs):
    return services.certificate_issue(
        certificate_type="CT-YYZZ",
        issuer=market_regulation,
        holder_kind="organisation",
        holder_identifier=uscc,
        holder_name="杭州西溪数字科技有限公司",
        data={"name": "杭州西溪数字科技有限公司", "uscc": uscc},
        **kwargs,
    )


def test_the_newest_valid_certificate_of_each_type_is_chosen(
    marriage_type, licence_type, civil_affairs, market_regulation, uscc_factory
):
    today = timezone.localdate()
    older = marriage(civil_affairs, issued_on=today - datetime.timedelta(days=400), source="a")
    newest = marriage(civil_affairs, issued_on=today - datetime.timedelta(days=3), source="b")
    # Issued the same day as the newest, but earlier: the later one wins.
    same_day_first = marriage(civil_affairs, issued_on=today - datetime.timedelta(days=3))
    assert same_day_first.pk > newest.pk
    uscc = uscc_factory(serial="MA2H3K7Q1")
    own_licence = licence(market_regulation, uscc)

    found = selectors.certificates_valid_of([WIFE_ID, uscc], ["CT-JHZ", "CT-YYZZ"])

    assert found == {"CT-JHZ": same_day_first, "CT-YYZZ": own_licence}
    assert older not in found.values()


def test_expired_revoked_other_types_and_other_holders_are_left_out(
    marriage_type, licence_type, civil_affairs, market_regulation, uscc_factory
):
    today = timezone.localdate()
    approver = StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.APPROVER).user
    expired = marriage(
        civil_affairs,
        issued_on=today - datetime.timedelta(days=400),
        valid_until=today - datetime.timedelta(days=1),
        source="x",
    )
    revoked = marriage(civil_affairs, source="r")
    services.certificate_revoke(actor=approver, certificate=revoked, reason="证件挂失")
    marriage(civil_affairs, holder_id=HUSBAND_ID, source="h")  # someone else's
    licence(market_regulation, uscc_factory(serial="MA2H3K7Q1"))  # a type not asked for

    assert selectors.certificates_valid_of([WIFE_ID, ""], ["CT-JHZ"]) == {}
    assert expired.valid_until < today

    # Valid through today, and with no end at all, it proves the material.
    last_day = marriage(civil_affairs, valid_until=today, source="d")
    assert selectors.certificates_valid_of([WIFE_ID], ["CT-JHZ"]) == {"CT-JHZ": last_day}
    last_day.delete()
    open_ended = marriage(civil_affairs, source="o")
    assert selectors.certificates_valid_of([WIFE_ID], ["CT-JHZ"]) == {"CT-JHZ": open_ended}
    assert selectors.certificates_valid_of([WIFE_ID], ["CT-YYZZ"]) == {}
    assert selectors.certificates_valid_of([], ["CT-JHZ"]) == {}
