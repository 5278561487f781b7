"""The login history, from the authentication signals.

Every way in sends them (the login page, Django admin's login form, single sign-on's
login), so the history misses none. The receivers only record; they decide nothing.
"""

from __future__ import annotations

import time
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from yiwang.core.clients import client_address, request_user_agent
from yiwang.identity.middleware import LOGIN_AT_SESSION_KEY, MFA_REQUIRED_SESSION_KEY
from yiwang.identity.models import LoginEvent, User
from yiwang.identity.selectors import user_needs_mfa
from yiwang.identity.services import login_event_record


def _record(request: HttpRequest | None, user: Any, kind: str) -> None:
    if not isinstance(user, User) or user.pk is None:
        return
    login_event_record(
        user=user,
        kind=kind,
        client_address=client_address(request) if request is not None else "",
        user_agent=request_user_agent(request) if request is not None else "",
    )


def _account(username: object) -> User | None:
    phone = "".join(str(username or "").split())
    if not phone:
        return None
    return User.objects.filter(phone=phone).first()


@receiver(user_logged_in, dispatch_uid="identity_login_recorded")
def login_recorded(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT_SESSION_KEY] = now
        request.session[MFA_REQUIRED_SESSION_KEY] = [user.pk, user_needs_mfa(user), now]
    _record(request, user, LoginEvent.Kind.LOGIN_SUCCEEDED)


@receiver(user_logged_out, dispatch_uid="identity_logout_recorded")
def logout_recorded(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    kind = getattr(request, "yiwang_logout_kind", LoginEvent.Kind.LOGOUT)
    _record(request, user, kind)


@receiver(user_login_failed, dispatch_uid="identity_login_failure_recorded")
def login_failure_recorded(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # A refusal during a lockout is recorded as such by the lockout receiver below.
    if request is None or getattr(request, "axes_locked_out", False):
        return
    _record(request, _account(credentials.get("username")), LoginEvent.Kind.LOGIN_FAILED)


@receiver(user_locked_out, dispatch_uid="identity_lockout_recorded")
def lockout_recorded(
    sender: Any, request: HttpRequest | None = None, username: object = None, **kwargs: Any
) -> None:
    # django-axes passes no username when it hides usernames from its logs; the
    # credentials of the refused attempt are on the request.
    credentials = getattr(request, "axes_credentials", None) or {}
    _record(request, _account(credentials.get("username") or username), LoginEvent.Kind.LOCKED_OUT)
