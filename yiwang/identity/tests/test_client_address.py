"""Lockout and rate limits key on the real client address, which clients cannot forge."""

from __future__ import annotations

import pytest
from axes.helpers import get_client_ip_address
from django.test import RequestFactory, override_settings

FORWARDED = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7", "REMOTE_ADDR": "10.0.0.2"}


def test_without_a_proxy_the_forwarded_header_is_ignored():
    request = RequestFactory().get("/", **FORWARDED)

    assert get_client_ip_address(request) == "10.0.0.2"


@override_settings(
    AXES_IPWARE_PROXY_COUNT=1,
    AXES_IPWARE_META_PRECEDENCE_ORDER=("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
)
def test_behind_one_proxy_the_address_it_appended_is_used_not_the_forged_one():
    request = RequestFactory().get("/", **FORWARDED)

    assert get_client_ip_address(request) == "203.0.113.7"


@pytest.mark.parametrize(("num_proxies", "expected"), [(0, "10.0.0.2"), (1, "203.0.113.7")])
def test_api_rate_limits_use_the_same_address(num_proxies, expected):
    from ninja.conf import settings as ninja_settings
    from ninja.throttling import AnonRateThrottle

    request = RequestFactory().get("/", **FORWARDED)
    previous = ninja_settings.NUM_PROXIES
    ninja_settings.NUM_PROXIES = num_proxies
    try:
        assert AnonRateThrottle("1/m").get_ident(request) == expected
    finally:
        ninja_settings.NUM_PROXIES = previous
