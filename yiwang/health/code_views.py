"""Health-code pages: a person's own code, and the checkpoint that checks codes.

The checkpoint page checks codes in the browser, offline, with a trust bundle it downloads
(``trust.json``) and keeps; a small service worker keeps the page itself, so a checkpoint
phone goes on working without network once it has loaded the page. Without JavaScript its
form goes to the server, which checks the code online and shows the same result.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from yiwang.certificates.verify_views import VerifyForm
from yiwang.core import ratelimit
from yiwang.core.errors import RateLimited, YiwangError
from yiwang.health import codes
from yiwang.health.api_codes import code_image
from yiwang.identity.models import User

# Checks one address may ask the server for a minute, as on the certificates' page.
CHECKS_PER_MINUTE = 60
# The page asks for a new code this long before the old one expires; without JavaScript
# it reloads itself then.
REFRESH_BEFORE_SECONDS = 30
SERVICE_WORKER = "health/checkpoint-sw.js"


class CheckpointForm(VerifyForm):
    """The code's text, or a photo of it: the certificates' form, worded for health codes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].help_text = gettext_lazy(
            "Paste the text a QR scanner app read from the code, e.g. %(prefix)s…"
        ) % {"prefix": settings.HEALTH_CODE_PREFIX}


def _not_in_use(request: HttpRequest) -> HttpResponse:
    return render(request, "health/code_unavailable.html", {"reason": "off"})


# ---------------------------------------------------------------------------------------
# The person's code


@never_cache
@login_required
@require_GET
def code(request: HttpRequest) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    try:
        issued = codes.health_code_issue(person=person)
    except YiwangError as exc:
        if exc.code == "health_disabled":
            return _not_in_use(request)
        reason = "unverified" if exc.code == "health_identity_unverified" else "other"
        return render(
            request,
            "health/code_unavailable.html",
            {"reason": reason, "message": str(exc.message)},
            status=exc.status,
        )
    lifetime = (issued.expires_at - timezone.now()).total_seconds()
    return render(
        request,
        "health/code.html",
        {
            "code": issued,
            "image": code_image(issued.text),
            "action": codes.ACTIONS[issued.colour],
            # Without JavaScript the page reloads itself shortly before the code expires.
            "reload_seconds": max(5, int(lifetime) - REFRESH_BEFORE_SECONDS),
            "refresh_before_seconds": REFRESH_BEFORE_SECONDS,
        },
    )


# ---------------------------------------------------------------------------------------
# The checkpoint


def _checkpoint_page(
    request: HttpRequest,
    form: CheckpointForm,
    *,
    check: codes.HealthCodeCheck | None = None,
    page_errors: tuple[str, ...] = (),
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "health/checkpoint.html",
        {
            "form": form,
            "check": check,
            "page_errors": page_errors,
            "messages_for_script": {
                "verdicts": {
                    str(verdict): str(message)
                    for verdict, message in codes.VERDICT_MESSAGES.items()
                },
                "valid": str(codes.VALID_MESSAGE),
                "colours": {colour: str(label) for colour, label in codes.COLOUR_LABELS.items()},
                "actions": {action: str(label) for action, label in codes.ACTION_LABELS.items()},
                "invalid": _("Not a valid health code"),
                "name": _("Name"),
                "validUntil": _("Code valid until"),
                "issuedBy": _("Issued by"),
                "reason": _("Reason"),
                "checkedOnPhone": _("Checked on this phone, with the trust list it keeps."),
                "empty": _("Paste the text of a QR code, or choose a photo of the code."),
                "bundleMissing": _(
                    "There is no trust list on this phone yet: connect to the network once, so "
                    "that codes can be checked without it. Until then the platform's server "
                    "checks them."
                ),
                "bundleStatus": _(
                    "Trust list from %(time)s (signing keys: %(count)s). Codes are checked on "
                    "this phone, also without network."
                ),
                "bundleStale": _(
                    "The trust list is out of date: it should have been renewed by %(time)s. "
                    "Connect to the network to renew it; until then codes signed with new keys "
                    "are not recognised."
                ),
                "clockSkew": _(
                    "This phone's clock is %(minutes)s minutes off the platform's. Set the "
                    "correct time, or valid codes may be taken for expired ones."
                ),
            },
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def checkpoint(request: HttpRequest) -> HttpResponse:
    if not settings.HEALTH_EMERGENCY_ENABLED:
        return _not_in_use(request)
    if request.method != "POST":
        return _checkpoint_page(request, CheckpointForm())
    key = ratelimit.client_key("health-checkpoint", request)
    if ratelimit.window_count_add(key, 60) > CHECKS_PER_MINUTE:
        refused = RateLimited(retry_after=60)
        response = _checkpoint_page(
            request, CheckpointForm(), page_errors=(str(refused.message),), status=refused.status
        )
        response["Retry-After"] = str(refused.retry_after)
        return response
    form = CheckpointForm(request.POST, request.FILES)
    if not form.is_valid():
        return _checkpoint_page(request, form, status=422)
    text = form.code_text()
    check = codes.health_code_check(text)
    return _checkpoint_page(request, CheckpointForm(initial={"text": text}), check=check)


@require_GET
def checkpoint_trust(request: HttpRequest) -> HttpResponse:
    """The trust bundle a checkpoint phone keeps, to check codes without network."""
    if not settings.HEALTH_EMERGENCY_ENABLED:
        return JsonResponse(
            {
                "code": "health_disabled",
                "message": _("Health codes are switched off."),
                "fields": {},
            },
            status=503,
        )
    response = JsonResponse(
        codes.checkpoint_trust_bundle(), json_dumps_params={"ensure_ascii": False}
    )
    # The phone keeps its own copy; each fetch should reach the platform.
    response["Cache-Control"] = "no-cache"
    return response


_service_worker: dict[str, bytes] = {}


@require_GET
def checkpoint_service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the checkpoint's path so that it may control it."""
    script = _service_worker.get(SERVICE_WORKER)
    if script is None:
        path = finders.find(SERVICE_WORKER)
        if not isinstance(path, str):
            raise Http404
        with open(path, "rb") as file:
            script = file.read()
        _service_worker[SERVICE_WORKER] = script
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # Browsers look for a new version of the worker at each visit; no-cache lets them.
    response["Cache-Control"] = "no-cache"
    return response
