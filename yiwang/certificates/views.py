"""Pages of e-certificates: the holder's wallet (我的证照) with QR codes and signed PDFs,
authorised use (授权用证), the page where a third party reads a certificate with the access
code it was given, and the staff's list of certificates shared with their departments.

Each view parses its input, calls one selector or service and renders. Service errors
come back on the page: field messages beside their fields (422), conflicts (409) as a
message at the top, with the service error's status; a certificate or authorisation that
is not the user's to see is a 404, never a 403, so ids of others' certificates say nothing.
"""

from __future__ import annotations

import base64
import datetime
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiwang.certificates import labels, selectors, services
from yiwang.certificates.forms import AccessCodeForm, AuthoriseForm
from yiwang.certificates.models import Certificate, CertificateAuthorisation
from yiwang.certificates.pdf import certificate_pdf
from yiwang.certificates.qrimage import qr_image_encode
from yiwang.core import ratelimit
from yiwang.core.errors import NotFound, RateLimited, YiwangError
from yiwang.identity import selectors as identity_selectors
from yiwang.identity.acting import acting_identity
from yiwang.identity.decorators import staff_required
from yiwang.identity.models import User

# A new authorisation lasts this long unless the holder picks another date.
AUTHORISATION_DEFAULT_DAYS = 30
# Wrong access codes one client address may enter before it must wait (codes have 60 bits;
# this keeps guessing from being a way to find other people's certificates).
ACCESS_CODE_FAILURES = 10
ACCESS_CODE_WINDOW_SECONDS = 15 * 60


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _errors_place(exc: YiwangError, *forms_: forms.Form) -> list[str]:
    """Put each field message beside its field; return what belongs at the top of the page."""
    if isinstance(exc, NotFound):
        raise Http404 from exc
    page: list[str] = []
    placed = False
    for name, field_messages in exc.fields.items():
        form = next((f for f in forms_ if name in f.fields), None)
        for message in field_messages:
            if form is not None:
                form.add_error(name, str(message))
                placed = True
            elif str(message) not in page:
                page.append(str(message))
    if not placed and not page:
        page.append(str(exc.message))
    return page


def _state(certificate: Certificate, today: datetime.date) -> dict[str, str]:
    state = labels.certificate_state(certificate, today)
    return {"state": state, "tone": labels.STATE_TONES[state]}


def _facts(certificate: Certificate, *, masked: bool) -> dict[str, Any]:
    """The holder identifier and data rows ``certificates/_certificate_facts.html`` shows."""
    return {
        "certificate": certificate,
        "holder_identifier": labels.holder_identifier_shown(certificate, masked=masked),
        "holder_identifier_label": labels.HOLDER_IDENTIFIER_LABELS[certificate.holder_kind],
        "rows": labels.data_rows(
            certificate.data,
            certificate.certificate_type.fields,
            masked=masked,
            holder_kind=certificate.holder_kind,
        ),
    }


# ---------------------------------------------------------------------------------------
# The wallet


def _wallet_groups(
    user: User, certificates: Iterable[Certificate], acting_for: str = ""
) -> list[dict[str, Any]]:
    """The certificates of the identity she acts under first (the organisation with credit
    code ``acting_for``, else her own), then her own, then each other holder's by name."""
    today = timezone.localdate()
    groups: dict[str, dict[str, Any]] = {}
    for certificate in certificates:
        group = groups.setdefault(
            certificate.holder_identifier,
            {
                "own": certificate.holder_identifier == user.id_number,
                "acting": bool(acting_for) and certificate.holder_identifier == acting_for,
                "holder_name": certificate.holder_name,
                "holder_kind": certificate.holder_kind,
                "rows": [],
            },
        )
        group["rows"].append({"certificate": certificate, **_state(certificate, today)})
    return sorted(groups.values(), key=lambda g: (not g["acting"], not g["own"], g["holder_name"]))


@login_required
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    """我的证照: hers and those of whom she may hold them up for; acting for an organisation
    (办事身份), its certificates come first."""
    user = _user(request)
    acting = acting_identity(request)
    return render(
        request,
        "certificates/list.html",
        {
            "groups": _wallet_groups(
                user,
                selectors.certificates_of_holder(user),
                acting.organisation.uscc if acting.organisation is not None else "",
            ),
            "acting_organisation": acting.organisation,
            "verified": bool(user.id_number),
        },
    )


def _own_certificate(request: HttpRequest, certificate_id: int) -> Certificate:
    try:
        return services.certificate_for_holder(_user(request), certificate_id)
    except NotFound as exc:
        raise Http404 from exc


def _wallet_code(certificate: Certificate) -> dict[str, Any] | None:
    """A freshly signed short-lived code as an inline PNG, or None if it may have none."""
    try:
        text = services.certificate_qr_for_wallet(certificate)
    except YiwangError:  # revoked or expired since the state was read
        return None
    png = base64.b64encode(qr_image_encode(text, scale=5)).decode()
    return {"src": f"data:image/png;base64,{png}", "expires_at": labels.qr_expires_at(text)}


def _authorisation_rows(certificate: Certificate, today: datetime.date) -> list[dict[str, Any]]:
    rows = []
    for authorisation in selectors.authorisations_of_certificate(certificate):
        if authorisation.revoked_at is not None:
            state, tone = "revoked", "closed"
        elif authorisation.valid_until < today:
            state, tone = "expired", "closed"
        else:
            state, tone = "active", "ok"
        rows.append({"authorisation": authorisation, "state": state, "tone": tone})
    return rows


def _authorise_form(data: Any = None) -> AuthoriseForm:
    initial = {
        "valid_until": timezone.localdate() + datetime.timedelta(days=AUTHORISATION_DEFAULT_DAYS)
    }
    return AuthoriseForm(data, initial=initial, departments=identity_selectors.departments_list())


def _detail_page(
    request: HttpRequest,
    certificate: Certificate,
    *,
    form: AuthoriseForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    state = _state(certificate, today)
    return render(
        request,
        "certificates/detail.html",
        {
            **_facts(certificate, masked=True),
            **state,
            "code": _wallet_code(certificate) if state["state"] == labels.State.VALID else None,
            "authorisations": _authorisation_rows(certificate, today),
            "uses": selectors.uses_of_certificate(certificate),
            "form": form or _authorise_form(),
            "page_errors": page_errors,
        },
        status=status,
    )


@login_required
@never_cache
@require_GET
def certificate_detail(request: HttpRequest, certificate_id: int) -> HttpResponse:
    return _detail_page(request, _own_certificate(request, certificate_id))


@login_required
@never_cache
@require_GET
def certificate_download(request: HttpRequest, certificate_id: int) -> HttpResponseBase:
    """The certificate as a signed PDF; a revoked or expired one has none (409)."""
    certificate = _own_certificate(request, certificate_id)
    try:
        content = certificate_pdf(certificate)
    except YiwangError as exc:
        return render(
            request,
            "certificates/unavailable.html",
            {"certificate": certificate, "message": exc.message},
            status=exc.status,
        )
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"{certificate.certificate_type.name}-{certificate.holder_name}.pdf",
        content_type="application/pdf",
    )


# ---------------------------------------------------------------------------------------
# Authorised use


@login_required
@never_cache
@require_POST
def certificate_authorise(request: HttpRequest, certificate_id: int) -> HttpResponse:
    """Let a department, or a third party with an access code, read the certificate."""
    user = _user(request)
    certificate = _own_certificate(request, certificate_id)
    form = _authorise_form(request.POST)
    if not form.is_valid():
        return _detail_page(request, certificate, form=form, status=422)
    try:
        authorised = services.certificate_authorise(
            holder=user,
            certificate=certificate,
            purpose=form.cleaned_data["purpose"],
            valid_until=form.cleaned_data["valid_until"],
            **form.grantee_arguments(),
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _detail_page(
            request, certificate, form=form, page_errors=page_errors, status=exc.status
        )
    authorisation = authorised.authorisation
    if authorised.access_code:
        # Rendered, not redirected: the code is in this response and nowhere else.
        return render(
            request,
            "certificates/authorised.html",
            {
                "certificate": certificate,
                "authorisation": authorisation,
                "access_code": authorised.access_code,
                "shared_url": request.build_absolute_uri(reverse("certificates_shared:read")),
            },
        )
    messages.success(
        request,
        _("%(department)s may read this certificate until %(date)s.")
        % {
            "department": authorisation.department.name if authorisation.department else "",
            "date": authorisation.valid_until.isoformat(),
        },
    )
    return redirect("certificates:detail", certificate_id=certificate.pk)


@login_required
@require_POST
def authorisation_revoke(request: HttpRequest, authorisation_id: int) -> HttpResponse:
    try:
        authorisation = services.certificate_authorisation_revoke(
            holder=_user(request), authorisation_id=authorisation_id
        )
    except NotFound as exc:
        raise Http404 from exc
    messages.success(
        request,
        _("The authorisation of %(grantee)s has been revoked.")
        % {"grantee": _grantee_name(authorisation)},
    )
    return redirect("certificates:detail", certificate_id=authorisation.certificate_id)


def _grantee_name(authorisation: CertificateAuthorisation) -> str:
    if authorisation.department is not None:
        return authorisation.department.name
    return authorisation.third_party_name


# ---------------------------------------------------------------------------------------
# A third party reads with its access code


def _shared_page(
    request: HttpRequest,
    form: AccessCodeForm,
    *,
    certificate: Certificate | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "page_errors": page_errors}
    if certificate is not None:
        context |= _facts(certificate, masked=False)
        context |= _state(certificate, timezone.localdate())
    return render(request, "certificates/shared.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def shared_read(request: HttpRequest) -> HttpResponse:
    """Anyone holding an access code sees the certificate it opens; each read is logged."""
    if request.method != "POST":
        return _shared_page(request, AccessCodeForm())
    form = AccessCodeForm(request.POST)
    key = ratelimit.client_key("certificates-access-code-failures", request)
    if ratelimit.window_count(key) >= ACCESS_CODE_FAILURES:
        refused = RateLimited(
            _("Too many wrong access codes from this address. Please try again later."),
            retry_after=ACCESS_CODE_WINDOW_SECONDS,
        )
        response = _shared_page(
            request, form, page_errors=[str(refused.message)], status=refused.status
        )
        response["Retry-After"] = str(refused.retry_after)
        return response
    if not form.is_valid():
        return _shared_page(request, form, status=422)
    try:
        certificate = services.certificate_read_by_code(
            access_code=form.cleaned_data["access_code"]
        )
    except NotFound as exc:
        ratelimit.window_count_add(key, ACCESS_CODE_WINDOW_SECONDS)
        form.add_error("access_code", str(exc.message))
        return _shared_page(request, form, status=exc.status)
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _shared_page(request, form, page_errors=page_errors, status=exc.status)
    return _shared_page(request, AccessCodeForm(), certificate=certificate)


# ---------------------------------------------------------------------------------------
# Staff: certificates shared with their departments


def _staff_department_ids(user: User) -> list[int]:
    return [role.department_id for role in identity_selectors.staff_roles_for_user(user)]


@staff_required
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    authorisations = selectors.authorisations_for_departments(_staff_department_ids(_user(request)))
    return render(request, "certificates/staff_list.html", {"authorisations": authorisations})


@staff_required
@never_cache
@require_POST
def staff_read(request: HttpRequest, authorisation_id: int) -> HttpResponse:
    """Read a certificate shared with one of the user's departments; the holder sees it."""
    try:
        certificate = services.certificate_read_by_department(
            staff=_user(request), authorisation_id=authorisation_id
        )
    except NotFound as exc:
        raise Http404 from exc
    return render(
        request,
        "certificates/staff_read.html",
        {**_facts(certificate, masked=False), **_state(certificate, timezone.localdate())},
    )
