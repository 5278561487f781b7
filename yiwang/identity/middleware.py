"""Middleware of logged-in sessions: the account's language, the absolute time limit, and
the second factor staff must pass."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yiwang.core.api import error_response

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


class UserLanguageMiddleware:
    """Puts the account's saved language into the language cookie when none is set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


# ---------------------------------------------------------------------------------------
# Login limits: the absolute session time limit, and the staff second factor

# Set when the password step succeeds (identity.receivers), as a Unix time.
LOGIN_AT_SESSION_KEY = "yiwang_login_at"
# [user id, whether the second factor is required, when that was checked]
MFA_REQUIRED_SESSION_KEY = "yiwang_mfa_required"
# A staff role granted during a session is noticed within this many seconds (at once on
# staff pages, whose decorators check the roles themselves).
MFA_RECHECK_SECONDS = 60


def second_factor_exempt(view: ViewT) -> ViewT:
    """Mark a view that a staff member may open before the second factor (the MFA pages,
    logging out, switching the language)."""
    view.second_factor_exempt = True  # type: ignore[attr-defined]
    return view


def second_factor_passed(user: Any) -> bool:
    """Whether this request's session has passed the second factor (django-otp)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(callable(is_verified) and is_verified())


def second_factor_required(request: HttpRequest) -> bool:
    """Whether the logged-in user must pass the second factor (staff and administrators).

    The answer is kept in the session for ``MFA_RECHECK_SECONDS``: citizens' requests
    then cost no query.
    """
    from yiwang.identity.selectors import user_needs_mfa

    user: Any = request.user
    if user.is_staff or user.is_superuser:
        return True
    now = int(time.time())
    cached = request.session.get(MFA_REQUIRED_SESSION_KEY)
    if (
        isinstance(cached, list)
        and len(cached) == 3
        and cached[0] == user.pk
        and 0 <= now - cached[2] < MFA_RECHECK_SECONDS
    ):
        return bool(cached[1])
    required = user_needs_mfa(user)
    request.session[MFA_REQUIRED_SESSION_KEY] = [user.pk, required, now]
    return required


def second_factor_missing(request: HttpRequest) -> bool:
    """A logged-in staff member whose session has not passed the second factor yet."""
    user = request.user
    return (
        bool(user.is_authenticated)
        and not second_factor_passed(user)
        and second_factor_required(request)
    )


def redirect_to_second_factor(request: HttpRequest) -> HttpResponse:
    query = urlencode({"next": request.get_full_path()}, safe="/")
    return HttpResponseRedirect(f"{reverse('identity:mfa_verify')}?{query}")


def _is_api(request: HttpRequest) -> bool:
    match = request.resolver_match
    return match is not None and "ninja" in match.app_names


def duration_text(seconds: int) -> str:
    """A session limit as people read it: 12 hours, 30 minutes."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minutes = max(1, seconds // 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


class SessionAbsoluteTimeoutMiddleware:
    """Ends a login ``SESSION_ABSOLUTE_SECONDS`` after the password step, however active.

    The idle timeout (``SESSION_COOKIE_AGE``, renewed on each request) ends a session left
    alone; this one ends a session kept busy, say on a shared counter computer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not request.user.is_authenticated:
            return None
        now = int(time.time())
        started = request.session.get(LOGIN_AT_SESSION_KEY)
        if not isinstance(started, int):
            # A session from before this limit existed: its time starts now.
            request.session[LOGIN_AT_SESSION_KEY] = now
            return None
        limit = settings.SESSION_ABSOLUTE_SECONDS
        if now - started < limit:
            return None
        from yiwang.identity.models import LoginEvent

        request.yiwang_logout_kind = LoginEvent.Kind.SESSION_EXPIRED  # type: ignore[attr-defined]
        logout(request)
        message = _(
            "For your security, a login lasts at most %(duration)s. Please log in again."
        ) % {"duration": duration_text(limit)}
        if _is_api(request):
            return error_response(401, "session_expired", message)
        messages.info(request, message)
        return redirect_to_login(request.get_full_path())


class StaffSecondFactorMiddleware:
    """Sends a staff member who has not passed the second factor to the MFA page.

    Every page is covered, Django admin and single sign-on included; the JSON API
    answers 403 ``mfa_required`` itself (``identity.auth``), and views marked
    ``second_factor_exempt`` stay open.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if getattr(view, "second_factor_exempt", False) or _is_api(request):
            return None
        if not second_factor_missing(request):
            return None
        return redirect_to_second_factor(request)
