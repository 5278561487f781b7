"""The client address as shown (masked) and the short summary of a browser."""

from __future__ import annotations

import pytest

from yiwang.core.clients import user_agent_summary
from yiwang.core.masking import mask_ip_address


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("203.0.113.57", "203.0.113.*"),
        ("10.0.0.1", "10.0.0.*"),
        ("2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3:*"),
        ("2001:0db8:0000:0000::1", "2001:db8:0:*"),
        ("::1", "0:0:0:*"),
        ("not an address", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_an_address_is_shown_without_its_host_part(address, masked):
    assert mask_ip_address(address) == masked


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome 131 · Android",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari 17 · iOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323d) NetType/WIFI",
            "WeChat 8 · iOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
            "Edge 131 · Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0",
            "Firefox 132 · macOS",
        ),
        ("curl/8.5.0", "curl 8"),
        ("okhttp/4.12.0", "okhttp"),
        ("", ""),
    ],
)
def test_a_browser_is_summarised_by_name_major_version_and_system(agent, summary):
    assert user_agent_summary(agent) == summary
