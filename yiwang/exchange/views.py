"""Pages of the data exchange: a citizen's data uses and consents, and the data officers'.

Each view parses its input, calls one selector or service and renders. Service errors
come back on the page: field messages beside their fields (422), conflicts (409) and
refusals (403) as a message at the top, with the service error's status.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.exchange import selectors, services
from yiwang.exchange.forms import AccessRequestForm, ConsumerSystemForm, GrantDecideForm
from yiwang.exchange.models import (
    AccessGrant,
    Consent,
    ConsumerSystem,
    DataResource,
    SharingType,
)
from yiwang.identity.middleware import redirect_to_second_factor, second_factor_passed
from yiwang.identity.models import User

# Badge tone of each grant or consent state (the tones of site.css).
TONES = {
    "requested": "attention",
    "approved": "ok",
    "active": "ok",
    "denied": "bad",
    "revoked": "closed",
    "expired": "closed",
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _errors_place(exc: YiwangError, *forms_: forms.Form) -> list[str]:
    """Put each field message beside its field; return what belongs at the top of the page."""
    if isinstance(exc, NotFound):
        raise Http404 from exc
    page = [str(exc.message)]
    for name, field_messages in exc.fields.items():
        form = next((f for f in forms_ if name in f.fields), None)
        for message in field_messages:
            if form is not None:
                form.add_error(name, str(message))
            elif str(message) not in page:
                page.append(str(message))
    return page


def officer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only a data officer (or administrator) of some department may open the view, after
    the second factor."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not selectors.officer_departments(_user(request)).exists():
            raise PermissionDenied
        if not second_factor_passed(request.user):
            return redirect_to_second_factor(request)
        return view(request, *args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------
# A citizen's own data


@login_required
@require_GET
def data_use_list(request: HttpRequest) -> HttpResponse:
    """Every successful read of the citizen's data by any department, newest first."""
    user = _user(request)
    return render(
        request,
        "exchange/data_uses.html",
        {"uses": selectors.data_uses_for_person(user), "verified": bool(user.id_number)},
    )


def _consent_state(consent: Consent, now: datetime.datetime) -> str:
    if consent.revoked_at is not None:
        return "revoked"
    if consent.expires_at <= now:
        return "expired"
    return "active"


def _consents_page(
    request: HttpRequest, *, page_errors: Sequence[str] = (), status: int = 200
) -> HttpResponse:
    now = timezone.now()
    rows = []
    for consent in selectors.consents_for_person(_user(request)):
        state = _consent_state(consent, now)
        rows.append({"consent": consent, "state": state, "tone": TONES[state]})
    return render(
        request,
        "exchange/consents.html",
        {"rows": rows, "page_errors": page_errors},
        status=status,
    )


@login_required
@require_GET
def consent_list(request: HttpRequest) -> HttpResponse:
    return _consents_page(request)


@login_required
@require_POST
def consent_revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    user = _user(request)
    consent = selectors.consents_for_person(user).filter(pk=consent_id).first()
    if consent is None:
        raise Http404
    try:
        services.consent_revoke(subject=user, consent=consent)
    except YiwangError as exc:
        return _consents_page(request, page_errors=_errors_place(exc), status=exc.status)
    messages.success(
        request,
        _("Your consent to %(department)s has been revoked.")
        % {"department": consent.department.name},
    )
    return redirect("exchange_me:consents")


# ---------------------------------------------------------------------------------------
# Data officers: overview and the resource catalogue


@officer_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "exchange/overview.html",
        {
            "departments": selectors.officer_departments(user),
            "pending": selectors.grants_for_officer(user, direction="incoming")
            .filter(status=AccessGrant.Status.REQUESTED)
            .count(),
        },
    )


@officer_required
@require_GET
def resource_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "exchange/resources.html", {"resources": selectors.data_resources_listed()}
    )


def _resource(code: str) -> DataResource:
    resource = selectors.data_resource_get(code)
    if resource is None:
        raise Http404
    return resource


@officer_required
@require_http_methods(["GET", "POST"])
def resource_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The resource's fields, and the form to ask for access to them."""
    user = _user(request)
    resource = _resource(code)
    systems = selectors.consumer_systems_for_officer(user).filter(is_active=True)
    status = 200
    page_errors: list[str] = []
    if request.method == "POST":
        form = AccessRequestForm(request.POST, resource=resource, systems=systems)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                grant = services.access_grant_request(
                    actor=user,
                    consumer=data["consumer"],
                    resource=resource,
                    fields=data["fields"],
                    clear_fields=data["clear_fields"],
                    purpose=data["purpose"],
                    legal_basis=data["legal_basis"],
                    duration_days=data["duration_days"],
                )
            except YiwangError as exc:
                page_errors = _errors_place(exc, form)
                status = exc.status
            else:
                if grant.status == AccessGrant.Status.APPROVED:
                    messages.success(
                        request,
                        _("Access to %(resource)s is granted: it is shared unconditionally.")
                        % {"resource": resource.name},
                    )
                else:
                    messages.success(
                        request,
                        _("Your request for %(resource)s has been sent to %(provider)s.")
                        % {"resource": resource.name, "provider": resource.provider.name},
                    )
                return redirect("exchange:grants")
    else:
        form = AccessRequestForm(resource=resource, systems=systems)
    return render(
        request,
        "exchange/resource.html",
        {
            "resource": resource,
            "form": form,
            "can_request": resource.sharing_type != SharingType.NOT_SHARED,
            "has_systems": systems.exists(),
            "page_errors": page_errors,
        },
        status=status,
    )


@officer_required
@require_GET
def resource_openapi(request: HttpRequest, code: str) -> HttpResponse:
    return JsonResponse(
        services.resource_openapi(_resource(code)), json_dumps_params={"ensure_ascii": False}
    )


# ---------------------------------------------------------------------------------------
# Data officers: grants


def _grant_state(grant: AccessGrant, now: datetime.datetime) -> str:
    if grant.status == AccessGrant.Status.APPROVED and not grant.is_active_at(now):
        return "expired"
    return str(grant.status)


def _grant_rows(
    grants: Sequence[AccessGrant],
    now: datetime.datetime,
    *,
    decide_form: tuple[int, GrantDecideForm] | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for grant in grants:
        state = _grant_state(grant, now)
        labels = {f.name: f.label for f in grant.resource.fields.all()}
        form = None
        if grant.status == AccessGrant.Status.REQUESTED:
            form = (
                decide_form[1]
                if decide_form and decide_form[0] == grant.pk
                else GrantDecideForm(auto_id=f"id_grant{grant.pk}_%s")
            )
        rows.append(
            {
                "grant": grant,
                "state": state,
                "tone": TONES[state],
                "fields": [labels.get(name, name) for name in grant.fields],
                "clear_fields": [labels.get(name, name) for name in grant.clear_fields],
                "decide_form": form,
            }
        )
    return rows


def _grants_page(
    request: HttpRequest,
    *,
    decide_form: tuple[int, GrantDecideForm] | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    incoming = selectors.grants_for_officer(user, direction="incoming").prefetch_related(
        "resource__fields"
    )
    outgoing = selectors.grants_for_officer(user, direction="outgoing").prefetch_related(
        "resource__fields"
    )
    return render(
        request,
        "exchange/grants.html",
        {
            "incoming": _grant_rows(list(incoming), now, decide_form=decide_form),
            "outgoing": _grant_rows(list(outgoing), now),
            "page_errors": page_errors,
        },
        status=status,
    )


def _officer_grant(request: HttpRequest, grant_id: int) -> AccessGrant:
    grant = selectors.grant_for_officer(_user(request), grant_id)
    if grant is None:
        raise Http404
    return grant


@officer_required
@require_GET
def grant_list(request: HttpRequest) -> HttpResponse:
    return _grants_page(request)


@officer_required
@require_POST
def grant_decide(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = _officer_grant(request, grant_id)
    form = GrantDecideForm(request.POST, auto_id=f"id_grant{grant.pk}_%s")
    if not form.is_valid():
        return _grants_page(request, decide_form=(grant.pk, form), status=422)
    approve = form.cleaned_data["approve"]
    try:
        services.access_grant_decide(
            actor=_user(request), grant=grant, approve=approve, comment=form.cleaned_data["comment"]
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _grants_page(
            request, decide_form=(grant.pk, form), page_errors=page_errors, status=exc.status
        )
    if approve:
        message = _("The request of %(consumer)s for %(resource)s has been approved.")
    else:
        message = _("The request of %(consumer)s for %(resource)s has been denied.")
    messages.success(
        request,
        message % {"consumer": grant.consumer.department.name, "resource": grant.resource.name},
    )
    return redirect("exchange:grants")


@officer_required
@require_POST
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    grant = _officer_grant(request, grant_id)
    try:
        services.access_grant_revoke(actor=_user(request), grant=grant)
    except YiwangError as exc:
        return _grants_page(request, page_errors=_errors_place(exc), status=exc.status)
    messages.success(
        request,
        _("The grant of %(consumer)s for %(resource)s has been revoked.")
        % {"consumer": grant.consumer.department.name, "resource": grant.resource.name},
    )
    return redirect("exchange:grants")


# ---------------------------------------------------------------------------------------
# Data officers: consumer systems


def _client_id(system: ConsumerSystem) -> str:
    """The identifier the system sends as X-Road-Client."""
    return f"{settings.EXCHANGE_INSTANCE}/GOV/{system.department.code}/{system.code}"


@officer_required
@never_cache
@require_http_methods(["GET", "POST"])
def system_list(request: HttpRequest) -> HttpResponse:
    """The departments' systems and the form to register one; a new token is shown once."""
    user = _user(request)
    departments = selectors.officer_departments(user)
    status = 200
    page_errors: list[str] = []
    if request.method == "POST":
        form = ConsumerSystemForm(request.POST, departments=departments)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                system, token = services.consumer_system_create(
                    actor=user,
                    department=data["department"],
                    code=data["code"],
                    name=data["name"],
                    rate_limit_per_minute=data["rate_limit_per_minute"],
                )
            except YiwangError as exc:
                page_errors = _errors_place(exc, form)
                status = exc.status
            else:
                # Rendered, not redirected: the token is in this response and nowhere else.
                return render(
                    request,
                    "exchange/system_created.html",
                    {"system": system, "token": token, "client_id": _client_id(system)},
                )
    else:
        form = ConsumerSystemForm(departments=departments)
    systems = [
        {"system": system, "client_id": _client_id(system)}
        for system in selectors.consumer_systems_for_officer(user)
    ]
    return render(
        request,
        "exchange/systems.html",
        {"systems": systems, "form": form, "page_errors": page_errors},
        status=status,
    )
