"""Citizen-facing pages that gather from the other apps, and the error pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from yiwang.core.clients import client_address
from yiwang.core.errors import YiwangError
from yiwang.core.selectors import sms_outbox_recent
from yiwang.identity import selectors as identity_selectors
from yiwang.identity import services as identity_services
from yiwang.identity.middleware import duration_text, second_factor_exempt
from yiwang.identity.models import User


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


@login_required
def me(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "portal/me.html",
        {
            "organisations": identity_selectors.organisations_represented_by(user),
            "agencies": identity_selectors.agencies_for_user(user),
            "staff_roles": identity_selectors.staff_roles_for_user(user),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def me_security(request: HttpRequest) -> HttpResponse:
    """Account security under "Me": the login history, and staff's second factor."""
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST" and request.POST.get("action") == "recovery_codes":
        try:
            codes = identity_services.mfa_recovery_codes_regenerate(
                user=user, client_address=client_address(request)
            )
        except YiwangError as exc:
            messages.error(request, str(exc.message))
        else:
            return render(
                request,
                "identity/mfa_recovery_codes.html",
                {"codes": codes, "next": reverse("portal:me_security")},
            )
    needs_mfa = identity_selectors.user_needs_mfa(user)
    return render(
        request,
        "portal/me_security.html",
        {
            "events": identity_selectors.login_events_for_user(user),
            "needs_mfa": needs_mfa,
            "mfa": identity_selectors.mfa_status_for_user(user) if needs_mfa else None,
            "idle_limit": duration_text(settings.SESSION_COOKIE_AGE),
            "absolute_limit": duration_text(settings.SESSION_ABSOLUTE_SECONDS),
        },
    )


@second_factor_exempt
@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a logged-in user keeps the choice on every device."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        identity_services.user_language_set(user=request.user, language=language)
    return response


@second_factor_exempt
def sms_outbox(request: HttpRequest) -> HttpResponse:
    """The local SMS backend's outbox, so the demo can be used without a phone."""
    if not settings.SMS_OUTBOX_VISIBLE:
        raise Http404
    return render(request, "portal/sms_outbox.html", {"sms_messages": sms_outbox_recent()})


@second_factor_exempt
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "portal/error.html", {"status": 400}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Views refuse with a message meant for the person (why, and what to do), or none.
    message = str(exception) if exception is not None else ""
    return render(request, "portal/error.html", {"status": 403, "message": message}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "portal/error.html", {"status": 404}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/error.html", {"status": 500}, status=500)
