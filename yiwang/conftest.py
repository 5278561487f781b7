"""Fixtures shared by the apps' tests: a real Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail(
            "Browser tests need Debian's chromium (apt-get install chromium fonts-noto-cjk); "
            "`make test` installs it. Set CHROMIUM_PATH to use another build.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser(live_server: Any) -> Iterator[object]:
    # Every page opens the live server, and asking for it here starts it first, so that it
    # stops last: Chromium's kept-alive connections end while the live server still shares
    # the in-memory test database with the threads that serve them.
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests
    # make from that thread are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # Playwright starts Chromium headless with a fresh temporary profile of its own.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[object]:
    """A phone-sized page in a fresh browser context, Chinese first."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
