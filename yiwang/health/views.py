"""A person's health pages at /health/: her colour and why, declarations, the daily
health check-in, the history of her colour and her appeals.

Each view parses its input, calls one selector or service and renders. Every page needs
a login and real-name verification (colours come from facts held under the resident ID
number); while the module is switched off every page says it is not in use. Service
errors come back on the page: field messages beside their fields, the rest at the top,
with the service error's status.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from yiwang.core.errors import ServiceUnavailable, YiwangError
from yiwang.health import selectors, services
from yiwang.health.forms import (
    REGION_LIST_ID,
    AppealForm,
    DailyCheckinForm,
    DeclarationForm,
    errors_place,
)
from yiwang.health.models import HealthAppeal, HealthDeclaration, HealthStatus
from yiwang.identity.models import User

View = Callable[..., HttpResponse]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def health_page(view: View) -> View:
    """Logged in, module on, real-name verified: else the login, "not in use" or "verify
    first" page (200: nothing is wrong with the request)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            services.health_enabled_check()
        except ServiceUnavailable:
            return render(request, "health/unavailable.html")
        if not _user(request).is_real_name_verified:
            return render(request, "health/verify_needed.html")
        return view(request, *args, **kwargs)

    return wrapper


def _explained(status: HealthStatus | None) -> selectors.StatusExplained | None:
    return selectors.health_statuses_explain([status])[0] if status is not None else None


@never_cache
@require_GET
@health_page
def home(request: HttpRequest) -> HttpResponse:
    """健康码: the colour now, since when and why; today's check-in; where to go next."""
    user = _user(request)
    appeals = list(selectors.health_appeals_for_person(user)[:1])
    return render(
        request,
        "health/home.html",
        {
            "current": _explained(selectors.health_status_current(user)),
            "checkin": selectors.health_checkin_on(user, timezone.localdate()),
            "open_appeal": next((a for a in appeals if a.status == HealthAppeal.Status.OPEN), None),
        },
    )


def _declare_page(
    request: HttpRequest, form: DeclarationForm, page_errors: Sequence[str] = (), status: int = 200
) -> HttpResponse:
    return render(
        request,
        "health/declare.html",
        {
            "form": form,
            "page_errors": page_errors,
            "regions": selectors.regions_for_travel(),
            "region_list_id": REGION_LIST_ID,
        },
        status=status,
    )


def _colour_message(user: User) -> str:
    current = selectors.health_status_current(user)
    if current is None:
        return ""
    return _("Your code is now %(colour)s.") % {"colour": current.get_colour_display()}


@never_cache
@require_http_methods(["GET", "POST"])
@health_page
def declare(request: HttpRequest) -> HttpResponse:
    """Self-declaration: symptoms, contact with a case, where she stayed."""
    if request.method != "POST":
        return _declare_page(request, DeclarationForm())
    user = _user(request)
    form = DeclarationForm(request.POST)
    if not form.is_valid():
        return _declare_page(request, form, status=422)
    data = form.cleaned_data
    try:
        services.health_declaration_submit(
            person=user,
            kind=HealthDeclaration.Kind.DECLARATION,
            symptoms=data["symptoms"],
            symptoms_since=data["symptoms_since"],
            case_contact_on=data["case_contact_on"],
            stays=form.stays(),
        )
    except YiwangError as exc:
        return _declare_page(request, form, errors_place(form, exc), status=exc.status)
    messages.success(
        request, " ".join(filter(None, [_("Your declaration is recorded."), _colour_message(user)]))
    )
    return redirect("health:home")


def _daily_page(
    request: HttpRequest,
    form: DailyCheckinForm,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "health/daily.html",
        {
            "form": form,
            "page_errors": page_errors,
            "checkin": selectors.health_checkin_on(_user(request), timezone.localdate()),
            "symptom_labels": selectors.SYMPTOMS,
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@health_page
def daily(request: HttpRequest) -> HttpResponse:
    """每日健康打卡: one a day; a second one the same day shows the first."""
    if request.method != "POST":
        return _daily_page(request, DailyCheckinForm())
    user = _user(request)
    form = DailyCheckinForm(request.POST)
    if not form.is_valid():
        return _daily_page(request, form, status=422)
    try:
        _checkin, created = services.health_checkin_daily(
            person=user, symptoms=form.cleaned_data["symptoms"]
        )
    except YiwangError as exc:
        return _daily_page(request, form, errors_place(form, exc), status=exc.status)
    if created:
        text = " ".join(filter(None, [_("Today's check-in is recorded."), _colour_message(user)]))
        messages.success(request, text)
    else:
        messages.info(request, _("You had already checked in today; here is that check-in."))
    return redirect("health:daily")


@never_cache
@require_GET
@health_page
def history(request: HttpRequest) -> HttpResponse:
    """Every colour her code took: when, by which rule, from which inputs; corrections."""
    statuses = list(selectors.health_history_for(_user(request)))
    return render(
        request, "health/history.html", {"history": selectors.health_statuses_explain(statuses)}
    )


def _appeal_page(
    request: HttpRequest, form: AppealForm, page_errors: Sequence[str] = (), status: int = 200
) -> HttpResponse:
    user = _user(request)
    current = selectors.health_status_current(user)
    return render(
        request,
        "health/appeal.html",
        {
            "form": form,
            "page_errors": page_errors,
            "current": _explained(current),
            "appeals": selectors.health_appeals_for_person(user),
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@health_page
def appeal(request: HttpRequest) -> HttpResponse:
    """申诉: against the current colour; her appeals, open and resolved, with the outcome."""
    if request.method != "POST":
        return _appeal_page(request, AppealForm())
    form = AppealForm(request.POST)
    if not form.is_valid():
        return _appeal_page(request, form, status=422)
    try:
        filed = services.health_appeal_submit(
            person=_user(request), reason=form.cleaned_data["reason"]
        )
    except YiwangError as exc:
        return _appeal_page(request, form, errors_place(form, exc), status=exc.status)
    messages.success(
        request, _("Your appeal is submitted. Health staff will check it and answer here.")
    )
    return redirect("health:appeal_detail", appeal_id=filed.pk)


@never_cache
@require_GET
@health_page
def appeal_detail(request: HttpRequest, appeal_id: int) -> HttpResponse:
    """One of her appeals and its outcome; anyone else's is a 404."""
    found = selectors.health_appeal_for_person(_user(request), appeal_id)
    if found is None:
        raise Http404
    return render(
        request,
        "health/appeal_detail.html",
        {"appeal": found, "appealed": _explained(found.status_appealed)},
    )
