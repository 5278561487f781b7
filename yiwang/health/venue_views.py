"""Pages of venue codes (场所码): 我的场所码 (register, print, close), the page a scanned
code opens (confirm the check-in), and 我的场所记录.

Each view parses its input, calls one selector or service and renders. Another person's
venue is a 404, so its id says nothing. While the module is switched off every page says
it is not in use (503).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.core.forms import Form, form_add_service_error
from yiwang.health import venues
from yiwang.health.models import Venue
from yiwang.health.selectors import health_status_current
from yiwang.health.services import health_enabled_check
from yiwang.identity.acting import acting_identity
from yiwang.identity.models import User

PAGE_SIZE = 20
QR_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


# ---------------------------------------------------------------------------------------
# Forms


def _region_choices() -> list[tuple[str, Any]]:
    """Districts, each with its streets, as option groups."""
    groups: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for region in venues.venue_regions():
        if region.level == region.Level.COUNTY:
            groups[region.code] = (region.name, [(region.code, region.name)])
        elif region.parent is not None and region.parent.code in groups:
            groups[region.parent.code][1].append((region.code, region.name))
    return [("", _("Choose a district or street")), *groups.values()]


class VenueForm(Form):
    """Checked by ``venues.venue_register``, which reports every field's problem at once."""

    name = forms.CharField(
        label=gettext_lazy("Venue name"),
        required=False,
        max_length=venues.NAME_MAX,
        help_text=gettext_lazy("As shown at the entrance, e.g. 西湖银泰城 or 知味观（湖滨店）."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of venue"),
        required=False,
        choices=[("", gettext_lazy("Choose the kind of venue")), *Venue.Kind.choices],
    )
    region_code = forms.ChoiceField(label=gettext_lazy("District or street"), required=False)
    address = forms.CharField(
        label=gettext_lazy("Address"),
        required=False,
        max_length=venues.ADDRESS_MAX,
        help_text=gettext_lazy("Road, number and building."),
    )
    contact_phone = forms.CharField(
        label=gettext_lazy("Contact phone"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("A mobile number, or a landline with its area code."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region_code"]
        assert isinstance(region, forms.ChoiceField)  # noqa: S101 - narrows the type
        region.choices = _region_choices()
        for name in ("name", "kind", "region_code", "address", "contact_phone"):
            self.fields[name].widget.attrs["aria-required"] = "true"


class CheckinForm(Form):
    token = forms.CharField(max_length=500, widget=forms.HiddenInput)


# ---------------------------------------------------------------------------------------
# Helpers


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _module_on(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """While health codes are switched off, every page says they are not in use."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            health_enabled_check()
            return view(request, *args, **kwargs)
        except YiwangError as exc:
            if exc.code != "health_disabled":
                raise
            return render(request, "health/venue_off.html", status=503)

    return wrapper


def _managed(request: HttpRequest, venue_id: int) -> Venue:
    """A venue she manages; anyone else's is a 404 (a 403 page if she stopped acting for
    its organisation)."""
    try:
        return venues.venue_for_manager(_user(request), venue_id)
    except NotFound as exc:
        raise Http404 from exc


def _refused(request: HttpRequest, exc: YiwangError, template: str) -> HttpResponse:
    return render(request, template, {"message": exc.message, "code": exc.code}, status=exc.status)


# ---------------------------------------------------------------------------------------
# 我的场所码


@_module_on
@login_required
@require_GET
def venue_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    acting = acting_identity(request)
    organisation = acting.organisation
    venue_rows = venues.venues_for_acting(user, organisation.pk if organisation else None)
    page = Paginator(venue_rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "health/venue_list.html",
        {
            "page": page,
            "acting_organisation": organisation,
            "verified": user.is_real_name_verified,
        },
    )


@_module_on
@login_required
@require_http_methods(["GET", "POST"])
def venue_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    acting = acting_identity(request)
    if not user.is_real_name_verified:
        return render(request, "health/venue_verify_needed.html", status=403)
    status = 200
    if request.method == "POST":
        form = VenueForm(request.POST)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                registration = venues.venue_register(
                    person=user,
                    name=data["name"],
                    kind=data["kind"],
                    region_code=data["region_code"],
                    address=data["address"],
                    contact_phone=data["contact_phone"],
                    organisation_id=acting.organisation.pk if acting.organisation else None,
                    idempotency_key=data["idempotency_key"],
                )
            except YiwangError as exc:
                form_add_service_error(form, exc)
                status = exc.status
            else:
                if registration.created:
                    message = _("%(venue)s is registered. Print the poster for its entrance.")
                    messages.success(request, message % {"venue": registration.venue.name})
                return redirect("health:venue_poster", venue_id=registration.venue.pk)
        elif "idempotency_key" in form.errors:
            form.add_error(None, _("This form has expired. Please open the page again."))
    else:
        form = VenueForm(initial={"idempotency_key": uuid.uuid4().hex})
    return render(
        request,
        "health/venue_new.html",
        {"form": form, "acting_organisation": acting.organisation},
        status=status,
    )


@_module_on
@login_required
@require_POST
def venue_close(request: HttpRequest, venue_id: int) -> HttpResponse:
    try:
        venue = venues.venue_close(actor=_user(request), venue_id=venue_id)
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        return _refused(request, exc, "health/venue_refused.html")
    messages.success(
        request,
        _("%(venue)s is closed: its code no longer takes check-ins.") % {"venue": venue.name},
    )
    return redirect("health:venue_list")


def _data_uri(content: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"


@_module_on
@login_required
@require_GET
def venue_poster(request: HttpRequest, venue_id: int) -> HttpResponse:
    """The A4 poster to print: name, address, the QR code of the check-in page, how to."""
    try:
        venue = _managed(request, venue_id)
    except YiwangError as exc:
        return _refused(request, exc, "health/venue_refused.html")
    url = request.build_absolute_uri(venues.venue_checkin_url(venue))
    return render(
        request,
        "health/venue_poster.html",
        {
            "venue": venue,
            "checkin_url": url,
            "qr_src": _data_uri(venues.venue_qr_svg(url), QR_FORMATS["svg"]),
            "retention_days": venues.checkin_retention_days(),
        },
    )


@_module_on
@login_required
@require_GET
def venue_qr(request: HttpRequest, venue_id: int, fmt: str) -> HttpResponse:
    """The poster's QR code alone, as PNG or SVG, to download."""
    if fmt not in QR_FORMATS:
        raise Http404
    try:
        venue = _managed(request, venue_id)
    except YiwangError as exc:
        return _refused(request, exc, "health/venue_refused.html")
    url = request.build_absolute_uri(venues.venue_checkin_url(venue))
    content = venues.venue_qr_png(url) if fmt == "png" else venues.venue_qr_svg(url)
    response = HttpResponse(content, content_type=QR_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="venue-{venue.code}.{fmt}"'
    return response


# ---------------------------------------------------------------------------------------
# The page a scanned code opens


@_module_on
@never_cache
@require_http_methods(["GET", "POST"])
def venue_checkin(request: HttpRequest, code: str) -> HttpResponse:
    """Show the venue and a confirm button (GET); record the check-in (POST).

    An unknown code and a closed venue are said before asking anyone to log in.
    """
    try:
        venue = venues.venue_by_code(code)
    except YiwangError as exc:
        return _refused(request, exc, "health/venue_checkin_refused.html")
    if venue.closed_at is not None:
        return render(request, "health/venue_checkin_closed.html", {"venue": venue}, status=409)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("health:venue_checkin", kwargs={"code": venue.code}))
    user = _user(request)
    if not user.is_real_name_verified:
        return render(
            request,
            "health/venue_verify_needed.html",
            {"venue": venue, "next": request.path},
            status=403,
        )
    if request.method == "GET":
        form = CheckinForm(initial={"token": venues.checkin_token_issue(person=user, venue=venue)})
        return render(
            request,
            "health/venue_checkin.html",
            {"venue": venue, "form": form, "retention_days": venues.checkin_retention_days()},
        )
    try:
        result = venues.checkin_confirm(
            person=user, venue_code=venue.code, token=request.POST.get("token", "")
        )
    except YiwangError as exc:
        return render(
            request,
            "health/venue_checkin_refused.html",
            {"message": exc.message, "code": exc.code, "venue": venue},
            status=exc.status,
        )
    return render(
        request,
        "health/venue_checkin_done.html",
        {
            "checkin": result.checkin,
            "created": result.created,
            "venue": venue,
            "colour": health_status_current(user),
        },
    )


# ---------------------------------------------------------------------------------------
# 我的场所记录


@_module_on
@login_required
@require_GET
def venue_checkins(request: HttpRequest) -> HttpResponse:
    page = Paginator(venues.checkins_of_person(_user(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "health/venue_checkins.html",
        {"page": page, "retention_days": venues.checkin_retention_days()},
    )
