"""Pages for registration, login, real-name verification, organisations and staff."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yiwang.core.errors import YiwangError
from yiwang.core.forms import form_add_service_error, form_submit
from yiwang.identity import selectors, services
from yiwang.identity.decorators import staff_required
from yiwang.identity.forms import (
    AgentGrantForm,
    InPersonVerifyForm,
    LoginForm,
    OrganisationForm,
    RealNameForm,
    RegisterForm,
)
from yiwang.identity.models import SmsCode, User


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Two steps on one form: ask for an SMS code, then register with it."""
    if request.user.is_authenticated:
        return redirect("portal:me")
    form = RegisterForm(request.POST or None)
    code_sent = False
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "register")
        if action == "send_code":
            # Only the phone number matters for this step.
            form = RegisterForm({"phone": request.POST.get("phone", "")})
            form.is_valid()
            try:
                services.sms_code_send(phone=form.data["phone"], purpose=SmsCode.Purpose.REGISTER)
            except YiwangError as exc:
                form_add_service_error(form, exc)
                status = exc.status
            else:
                code_sent = True
        else:
            user, status = form_submit(
                form,
                lambda data: services.person_register(
                    phone=data["phone"],
                    code=data["code"],
                    password=data["password"],
                    language=get_language() or "",
                ),
            )
            if user is not None:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(
                    request,
                    _("Welcome! Please complete real-name verification to use online services."),
                )
                return redirect("identity:verify")
    return render(
        request, "identity/register.html", {"form": form, "code_sent": code_sent}, status=status
    )


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request, "portal:me"))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            user = authenticate(
                request,
                username="".join(form.cleaned_data["phone"].split()),
                password=form.cleaned_data["password"],
            )
            if getattr(request, "axes_locked_out", False):
                return render(request, "identity/locked_out.html", status=429)
            if user is not None:
                login(request, user)
                response = redirect(_safe_next(request, settings.LOGIN_REDIRECT_URL))
                _set_language_cookie(response, user.language)
                return response
            form.add_error(None, _("The mobile number or password is wrong."))
        status = 422
    return render(
        request,
        "identity/login.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def verify_real_name(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = RealNameForm(request.POST or None)
    status = 200
    if request.method == "POST":
        verified, status = form_submit(
            form,
            lambda data: services.person_verify_real_name(
                user=user, name=data["name"], id_number=data["id_number"]
            ),
        )
        if verified is not None:
            messages.success(request, _("Real-name verification succeeded (L2)."))
            return redirect("portal:me")
    return render(request, "identity/verify.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def organisation_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = OrganisationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        organisation, status = form_submit(
            form,
            lambda data: services.organisation_register(
                user=user, uscc=data["uscc"], name=data["name"]
            ),
        )
        if organisation is not None:
            messages.success(request, _("The organisation is now linked to your account."))
            return redirect("identity:organisation_detail", organisation_id=organisation.pk)
    return render(request, "identity/organisation_new.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def organisation_detail(request: HttpRequest, organisation_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    organisation = selectors.organisation_for_representative(user, organisation_id)
    if organisation is None:
        raise Http404
    form = AgentGrantForm(request.POST or None)
    status = 200
    if request.method == "POST":
        grant, status = form_submit(
            form,
            lambda data: services.organisation_agent_grant(
                actor=user,
                organisation=organisation,
                agent_phone=data["agent_phone"],
                valid_until=data["valid_until"],
            ),
        )
        if grant is not None:
            messages.success(request, _("The agent has been authorised."))
            return redirect("identity:organisation_detail", organisation_id=organisation.pk)
    return render(
        request,
        "identity/organisation_detail.html",
        {
            "organisation": organisation,
            "agents": selectors.agents_of_organisation(organisation),
            "form": form,
        },
        status=status,
    )


@login_required
@require_POST
def organisation_agent_revoke_view(
    request: HttpRequest, organisation_id: int, grant_id: int
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    organisation = selectors.organisation_for_representative(user, organisation_id)
    if organisation is None:
        raise Http404
    grant = selectors.agents_of_organisation(organisation).filter(pk=grant_id).first()
    if grant is None:
        raise Http404
    services.organisation_agent_revoke(actor=user, grant=grant)
    messages.success(request, _("The authorisation has been revoked."))
    return redirect("identity:organisation_detail", organisation_id=organisation.pk)


@staff_required
def staff_console(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "identity/staff_console.html",
        {
            "roles": selectors.staff_roles_for_user(user),
            "is_clerk": selectors.user_has_role(user, "clerk"),
            "form": InPersonVerifyForm(),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def staff_in_person_verify(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = InPersonVerifyForm(request.POST or None)
    status = 200
    verified: User | None = None
    if request.method == "POST":
        verified, status = form_submit(
            form,
            lambda data: services.person_verify_in_person(
                staff=user, id_number=data["id_number"], name=data["name"]
            ),
        )
        if verified is not None:
            form = InPersonVerifyForm()
    return render(
        request,
        "identity/staff_in_person.html",
        {"form": form, "verified": verified},
        status=status,
    )
