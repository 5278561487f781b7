"""Who is on the other end of a request: the client address and a short user-agent summary."""

from __future__ import annotations

import re

from axes.helpers import get_client_ip_address
from django.http import HttpRequest

# (pattern, name): the first that matches names the browser; order matters (Edge and
# WeChat say "Chrome" too, Chrome says "Safari").
_BROWSERS = (
    (re.compile(r"MicroMessenger/(\d+)"), "WeChat"),
    (re.compile(r"AlipayClient/(\d+)"), "Alipay"),
    (re.compile(r"Edg(?:e|A|iOS)?/(\d+)"), "Edge"),
    (re.compile(r"(?:OPR|Opera)/(\d+)"), "Opera"),
    (re.compile(r"Firefox/(\d+)"), "Firefox"),
    (re.compile(r"(?:HeadlessChrome|Chromium|CriOS|Chrome)/(\d+)"), "Chrome"),
    (re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"), "Safari"),
    (re.compile(r"^curl/(\d+)"), "curl"),
    (re.compile(r"python-requests/(\d+)"), "python-requests"),
)
_SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def client_address(request: HttpRequest) -> str:
    """The client's address as django-axes reads it behind the configured proxies."""
    return str(get_client_ip_address(request) or "")


def user_agent_summary(user_agent: str) -> str:
    """Browser and system, such as Chrome 131 · Android: enough to recognise a device,
    without keeping the whole string."""
    browser = ""
    for pattern, name in _BROWSERS:
        match = pattern.search(user_agent)
        if match:
            browser = f"{name} {match.group(1)}"
            break
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    summary = " · ".join(part for part in (browser, system) if part)
    if summary:
        return summary
    # Something else (an app, a script): its first product token, as far as the slash.
    return user_agent.strip().split(" ", 1)[0].split("/", 1)[0][:40]


def request_user_agent(request: HttpRequest) -> str:
    return user_agent_summary(request.META.get("HTTP_USER_AGENT", "")[:500])
