"""Test support for the staff second factor: a known authenticator, and logging in with it.

``force_login`` in the suite stands for a completed login, which for staff includes the
second factor (the root conftest completes it; tests marked ``mfa_enforced`` get the
password step only). Browser tests type the authenticator's current code like a person.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from yiwang.identity.authenticator import authenticator_code
from yiwang.identity.models import User
from yiwang.identity.selectors import user_needs_mfa

# The authenticator secret test staff share (hex, 20 bytes): its codes are computable.
TEST_AUTHENTICATOR_KEY = "3132333435363738393031323334353637383930"


def authenticator_for(user: User) -> TOTPDevice:
    """The user's confirmed authenticator, set up with ``TEST_AUTHENTICATOR_KEY`` if none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="authenticator", key=TEST_AUTHENTICATOR_KEY, confirmed=True
        )
    return device


def next_code(device: TOTPDevice) -> str:
    """A code the device accepts now: the current one, or the next if that was just used.

    A code works once (each time step at most once), and the device allows one step of
    clock difference either way, so a second login within the same 30 seconds can use the
    next step's code.
    """
    device.refresh_from_db()
    now = time.time()
    current = int(now - device.t0) // device.step + device.drift
    for t in range(current - device.tolerance, current + device.tolerance + 1):
        if t > device.last_t and t >= current:
            return authenticator_code(
                device.key, step=device.step, digits=device.digits, at=device.t0 + t * device.step
            )
    raise AssertionError("The authenticator has used every code it would accept now.")


def second_factor_complete(client: Client, user: Any) -> None:
    """Mark the client's session as having passed the second factor, for staff."""
    if not isinstance(user, User) or not user_needs_mfa(user):
        return
    device = authenticator_for(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def second_factor_in_browser(page: Any, device: TOTPDevice) -> None:
    """On the two-step login page, type the authenticator's code and confirm."""
    from playwright.sync_api import expect

    expect(page).to_have_url(re.compile(r"/accounts/mfa/\?"))
    page.locator("#id_code").fill(next_code(device))
    page.get_by_test_id("mfa-confirm").click()
