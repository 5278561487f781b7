"""Pages for registration, login, real-name verification, organisations and staff."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from yiwang.core.clients import client_address, request_user_agent
from yiwang.core.errors import PermissionDenied, YiwangError
from yiwang.core.forms import form_add_service_error, form_submit
from yiwang.identity import selectors, services
from yiwang.identity.acting import acting_identity_switch
from yiwang.identity.authenticator import authenticator_qr, authenticator_secret, authenticator_uri
from yiwang.identity.decorators import staff_required
from yiwang.identity.forms import (
    AgentGrantForm,
    AuthenticatorConfirmForm,
    InPersonVerifyForm,
    LoginForm,
    OrganisationForm,
    RealNameForm,
    RegisterForm,
    SecondFactorForm,
)
from yiwang.identity.middleware import second_factor_exempt, second_factor_passed
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


@second_factor_exempt
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
            # Back to where verification was asked for, such as an application's sign-in.
            return redirect(_safe_next(request, "portal:me"))
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
                client_address=client_address(request),
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
    services.organisation_agent_revoke(
        actor=user, grant=grant, client_address=client_address(request)
    )
    messages.success(request, _("The authorisation has been revoked."))
    return redirect("identity:organisation_detail", organisation_id=organisation.pk)


@login_required
@require_POST
def acting_switch(request: HttpRequest) -> HttpResponse:
    """Act for herself or for one of her organisations (办事身份切换), from the header or 我的."""
    raw = request.POST.get("acting_for", "").strip()
    if raw and not raw.isdigit():
        raise DjangoPermissionDenied(_("You may not act for this organisation."))
    try:
        identity = acting_identity_switch(request, int(raw) if raw else None)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.message)) from exc
    if identity.choice is None:
        messages.success(request, _("You now act for yourself."))
    else:
        messages.success(
            request,
            _("You now act for %(organisation)s as its %(role)s.")
            % {
                "organisation": identity.choice.organisation.name,
                "role": identity.choice.role_label,
            },
        )
    return redirect(_safe_next(request, "portal:me"))


@staff_required
def staff_console(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "identity/staff_console.html",
        {
            "roles": selectors.staff_roles_for_user(user),
            "is_clerk": selectors.user_has_role(user, "clerk"),
            "is_department_admin": selectors.user_has_role(user, "department_admin"),
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
                staff=user,
                id_number=data["id_number"],
                name=data["name"],
                client_address=client_address(request),
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


# ---------------------------------------------------------------------------------------
# The staff second factor


def _next_url(request: HttpRequest) -> str:
    """Where to go after the second factor: the safe ``next``, else the "Me" page."""
    return resolve_url(_safe_next(request, settings.LOGIN_REDIRECT_URL))


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url}, safe='/')}"


def _second_factor_login(request: HttpRequest, device: object) -> None:
    otp_login(request, device)
    # A new session key for the stronger login, as Django does for the password step.
    request.session.cycle_key()


@second_factor_exempt
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step of a staff login: a code from the authenticator, or a recovery code."""
    user: User = request.user  # type: ignore[assignment]
    next_url = _next_url(request)
    if second_factor_passed(user) or not selectors.user_needs_mfa(user):
        return redirect(next_url)
    if not selectors.mfa_status_for_user(user).enrolled:
        return redirect(_with_next("identity:mfa_setup", next_url))
    form = SecondFactorForm(request.POST or None)
    status = 200
    if request.method == "POST":
        device, status = form_submit(
            form,
            lambda data: services.mfa_verify(
                user=user,
                code=data["code"],
                client_address=client_address(request),
                user_agent=request_user_agent(request),
            ),
        )
        if device is not None:
            _second_factor_login(request, device)
            if not isinstance(device, TOTPDevice):
                left = selectors.mfa_status_for_user(user).recovery_codes_left
                messages.warning(
                    request,
                    ngettext(
                        "You used a recovery code; %(count)d is left. Make new ones under "
                        "Me → Account security.",
                        "You used a recovery code; %(count)d are left. Make new ones under "
                        "Me → Account security.",
                        left,
                    )
                    % {"count": left},
                )
            return redirect(next_url)
    return render(
        request, "identity/mfa_verify.html", {"form": form, "next": next_url}, status=status
    )


@second_factor_exempt
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator: scan its QR code, confirm with a code, get recovery codes."""
    user: User = request.user  # type: ignore[assignment]
    next_url = _next_url(request)
    if not selectors.user_needs_mfa(user):
        return redirect(next_url)
    if selectors.mfa_status_for_user(user).enrolled:
        return redirect(_with_next("identity:mfa_verify", next_url))
    device = services.mfa_enrolment_start(user=user)
    form = AuthenticatorConfirmForm(request.POST or None)
    status = 200
    if request.method == "POST":
        enrolled, status = form_submit(
            form,
            lambda data: services.mfa_enrolment_confirm(
                user=user,
                code=data["code"],
                client_address=client_address(request),
                user_agent=request_user_agent(request),
            ),
        )
        if enrolled is not None:
            confirmed, codes = enrolled
            _second_factor_login(request, confirmed)
            messages.success(request, _("Your authenticator is set up."))
            return render(
                request,
                "identity/mfa_recovery_codes.html",
                {"codes": codes, "next": next_url},
            )
    uri = authenticator_uri(device)
    return render(
        request,
        "identity/mfa_setup.html",
        {
            "form": form,
            "next": next_url,
            "qr": authenticator_qr(uri),
            "secret": authenticator_secret(device.key),
        },
        status=status,
    )


@staff_required
@require_http_methods(["GET"])
def staff_mfa(request: HttpRequest) -> HttpResponse:
    """A department administrator's list of their staff and whether each has set up an
    authenticator, with a reset for a lost phone."""
    user: User = request.user  # type: ignore[assignment]
    if not selectors.user_has_role(user, "department_admin"):
        raise DjangoPermissionDenied
    return render(
        request,
        "identity/staff_mfa.html",
        {
            "departments": selectors.departments_administered_by(user),
            "staff": selectors.staff_of_administered_departments(user),
        },
    )


@staff_required
@require_POST
def staff_mfa_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    target = selectors.staff_member_get(user_id)
    if target is None:
        raise Http404
    try:
        services.mfa_reset(actor=actor, user=target, client_address=client_address(request))
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc.message)) from exc
    messages.success(
        request,
        _("The authenticator of %(name)s is reset: they set up a new one at their next login.")
        % {"name": target.display_name},
    )
    return redirect("identity:staff_mfa")
