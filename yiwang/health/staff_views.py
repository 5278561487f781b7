"""Health staff's appeals workbench at /workbench/health/: the open appeals of everyone
(a person appeals wherever she is, so the queue is not limited to a region), one appeal
with the colour's rule, inputs and history, its resolution, and the resolved appeals.

Only staff of a health department, after their second factor, may open these pages;
other staff get the 403 page. Each page that shows a person's data writes an audit entry
(through the services). Names and ID numbers are masked: deciding needs neither in full.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from yiwang.core.errors import NotFound, ServiceUnavailable, YiwangError
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.health import selectors, services
from yiwang.health.forms import AppealResolveForm, errors_place
from yiwang.health.models import HealthAppeal
from yiwang.identity.decorators import staff_required
from yiwang.identity.models import User

View = Callable[..., HttpResponse]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def health_staff_page(view: View) -> View:
    """Staff after the second factor; then health staff only (403); "not in use" while
    the module is off."""

    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.user_is_health_staff(_user(request)):
            raise PermissionDenied
        try:
            services.health_enabled_check()
        except ServiceUnavailable:
            return render(request, "health/unavailable.html")
        return view(request, *args, **kwargs)

    return wrapper


def _rows(appeals: Sequence[HealthAppeal]) -> list[dict[str, Any]]:
    return [
        {
            "appeal": appeal,
            "name": mask_name(appeal.person.name),
            "rule_text": selectors.rule_text(
                appeal.status_appealed.rule_id, appeal.status_appealed.rule_set
            ),
        }
        for appeal in appeals
    ]


@never_cache
@require_GET
@health_staff_page
def appeals(request: HttpRequest) -> HttpResponse:
    """The open appeals, oldest first."""
    shown = services.health_appeals_list_read(
        staff=_user(request),
        appeals=list(selectors.health_appeals_open().order_by("created_at", "id")),
        resolved=False,
    )
    return render(request, "health/staff_appeals.html", {"rows": _rows(shown), "resolved": False})


@never_cache
@require_GET
@health_staff_page
def appeals_resolved(request: HttpRequest) -> HttpResponse:
    """The latest resolved appeals, newest decision first."""
    shown = services.health_appeals_list_read(
        staff=_user(request), appeals=list(selectors.health_appeals_resolved()), resolved=True
    )
    return render(request, "health/staff_appeals.html", {"rows": _rows(shown), "resolved": True})


def _detail_page(
    request: HttpRequest,
    appeal_id: int,
    *,
    form: AppealResolveForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    """One appeal: the person (masked), the colour appealed with its rule and inputs, the
    history of her colour, and the resolution form while it is open. Audited."""
    try:
        appeal = services.health_appeal_read(staff=_user(request), appeal_id=appeal_id)
    except NotFound as exc:
        raise Http404 from exc
    person = appeal.person
    history = selectors.health_statuses_explain(list(selectors.health_history_for(person)))
    appealed = (
        next(
            (item for item in history if item.status.pk == appeal.status_appealed_id),
            None,
        )
        or selectors.health_statuses_explain([appeal.status_appealed])[0]
    )
    context = {
        "appeal": appeal,
        "person_name": mask_name(person.name),
        "person_id_number": mask_id_number(person.id_number),
        "person_phone": mask_phone(person.phone),
        "appealed": appealed,
        "history": history,
        "form": form or AppealResolveForm(inputs=appealed.inputs),
        "page_errors": page_errors,
    }
    return render(request, "health/staff_appeal.html", context, status=status)


@never_cache
@require_GET
@health_staff_page
def appeal_detail(request: HttpRequest, appeal_id: int) -> HttpResponse:
    return _detail_page(request, appeal_id)


@never_cache
@require_POST
@health_staff_page
def appeal_resolve(request: HttpRequest, appeal_id: int) -> HttpResponse:
    """Uphold the colour, or correct it (a less severe colour, inputs set aside)."""
    appeal = selectors.health_appeal_get(appeal_id)
    if appeal is None:
        raise Http404
    appealed = selectors.health_statuses_explain([appeal.status_appealed])[0]
    form = AppealResolveForm(request.POST, inputs=appealed.inputs)
    if not form.is_valid():
        return _detail_page(request, appeal_id, form=form, status=422)
    try:
        services.health_appeal_resolve(
            appeal=appeal, staff=_user(request), **form.resolve_arguments()
        )
    except YiwangError as exc:
        page_errors = errors_place(form, exc)
        return _detail_page(
            request, appeal_id, form=form, page_errors=page_errors, status=exc.status
        )
    messages.success(request, _("The appeal is resolved; the person sees the outcome."))
    return redirect("health_staff:appeals")
