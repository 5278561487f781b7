"""Single sign-on pages: authorisation (consent), discovery, introspection, logout, and
the person's list of applications she has let in ("我的" → authorised applications).

The protocol work is django-oauth-toolkit's; these subclasses add the client policy
(minimum real-name level, owning department), stored consent and Yiwang's templates.
"""

from __future__ import annotations

import calendar
import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import Application
from oauth2_provider.views import (
    AuthorizationView,
    ConnectDiscoveryInfoView,
    IntrospectTokenView,
    RPInitiatedLogoutView,
)
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.openid.connect.core import exceptions as oidc_errors

from yiwang.identity import selectors, services
from yiwang.identity.claims import ACR_VALUES, acr_value, consent_rows
from yiwang.identity.models import AssuranceLevel, ClientPolicy, User


class AuthorizeView(AuthorizationView):
    """The authorisation endpoint: checks the client's policy, then asks for consent.

    A person below the policy's real-name level is sent to verification (L2) or told to
    verify in person (L3); a consent already given to the same scopes skips the screen.
    """

    template_name = "identity/oidc_authorize.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        prompt = set(request.GET.get("prompt", "").split())
        response: HttpResponse | None = None
        if not prompt & {"login", "create"}:  # those go back to the login page first
            response = self._policy_applied(request, prompt)
        if response is None:
            response = super().get(request, *args, **kwargs)  # the consent screen
        return response

    def _policy_applied(self, request: HttpRequest, prompt: set[str]) -> HttpResponse | None:
        """The answer when the client's policy or a stored consent decides; else None."""
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self._error(error, None)
        # Validated above: the client exists.
        application = selectors.client_application_get(credentials["client_id"])
        policy = selectors.client_policy_for(application)
        user: User = request.user  # type: ignore[assignment]

        def refuse(error: errors.OAuth2Error) -> HttpResponse:
            error.state = credentials.get("state")
            wrapped = OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])
            return self._error(wrapped, application)

        if policy is None or not policy.department.is_active:
            return refuse(
                errors.UnauthorizedClientError(
                    description="The client is not registered for single sign-on."
                )
            )
        if credentials.get("code_challenge_method") != "S256":
            return refuse(
                errors.InvalidRequestError(description="PKCE with code_challenge_method S256.")
            )
        if user.assurance_level < policy.min_assurance_level:
            if "none" in prompt:
                return refuse(oidc_errors.InteractionRequired())
            return self._level_required(application, policy, user, credentials)
        if "consent" not in prompt and selectors.client_consent_covers(user, application, scopes):
            if isinstance(credentials.get("ui_locales"), list):
                credentials["ui_locales"] = " ".join(credentials["ui_locales"])
            try:
                uri, _headers, _body, _status = self.create_authorization_response(
                    request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
                )
            except OAuthToolkitError as error:
                return self._error(error, application)
            redirect_response: HttpResponse = self.redirect(uri, application)
            return redirect_response
        if "none" in prompt:
            return refuse(oidc_errors.ConsentRequired())
        return None

    def _error(self, error: OAuthToolkitError, application: Application | None) -> HttpResponse:
        response: HttpResponse = self.error_response(error, application)
        return response

    def _level_required(
        self,
        application: Application,
        policy: ClientPolicy,
        user: User,
        credentials: dict[str, Any],
    ) -> HttpResponse:
        request = self.request
        if policy.min_assurance_level == AssuranceLevel.L2:
            messages.info(
                request,
                _(
                    "%(application)s needs a verified real name. Please verify, and you will be "
                    "taken back to it."
                )
                % {"application": application.name},
            )
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('identity:verify')}?{query}")
        cancel = errors.AccessDeniedError(state=credentials.get("state"))
        return render(
            request,
            "identity/oidc_level_required.html",
            {
                "application": application,
                "policy": policy,
                "required_level": AssuranceLevel(policy.min_assurance_level),
                "cancel_url": cancel.in_uri(credentials["redirect_uri"]),
            },
            status=403,
        )

    def form_valid(self, form: Any) -> HttpResponse:
        # The consent form's hidden fields come back from the browser: an unknown client
        # is a bad request, not a server error.
        if selectors.client_application_get(form.cleaned_data["client_id"]) is None:
            raise SuspiciousOperation("Consent posted for an unknown client")
        response: HttpResponse = super().form_valid(form)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        application = kwargs.get("application")
        if application is not None:
            context["policy"] = selectors.client_policy_for(application)
            context["claim_rows"] = consent_rows(self.request.user, kwargs.get("scopes", []))
        return context


class DiscoveryView(ConnectDiscoveryInfoView):
    """The discovery document, with what django-oauth-toolkit leaves out for us."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        document = json.loads(response.content)
        document.update(
            {
                "acr_values_supported": ACR_VALUES,
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "revocation_endpoint": request.build_absolute_uri(
                    reverse("oauth2_provider:revoke-token")
                ),
                "introspection_endpoint": request.build_absolute_uri(
                    reverse("oauth2_provider:introspect")
                ),
                # Not "login": the login page lets a logged-in person straight through.
                "prompt_values_supported": ["none", "consent"],
            }
        )
        extended = JsonResponse(document)
        extended["Access-Control-Allow-Origin"] = "*"
        return extended


class IntrospectView(IntrospectTokenView):
    """Token introspection (RFC 7662) for department APIs, authenticated as a client.

    Says which application the token was issued to (``client_id``, ``aud``), the scopes,
    the person's pairwise ``sub`` for that application and her level (``acr``); never
    the mobile number django-oauth-toolkit would give as ``username``. An API accepts a
    token only when ``active`` is true and ``aud`` names the client it serves.
    """

    @staticmethod
    def get_token_response(token_value: str | None = None) -> HttpResponse:
        if token_value is None:
            missing: HttpResponse = IntrospectTokenView.get_token_response(None)
            return missing
        token = selectors.access_token_by_value(token_value)
        if token is None or not token.is_valid():
            return JsonResponse({"active": False})
        application = token.application
        data: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "scope": token.scope,
            "exp": calendar.timegm(token.expires.utctimetuple()),
            "iat": calendar.timegm(token.created.utctimetuple()),
            "client_id": application.client_id if application else None,
            "aud": token.resource or ([application.client_id] if application else []),
        }
        if token.user is not None and application is not None:
            data["sub"] = services.client_subject_for(user=token.user, application=application)
            data["acr"] = acr_value(token.user.assurance_level)
        return JsonResponse(data)


class LogoutView(RPInitiatedLogoutView):
    """RP-initiated logout: ends the Yiwang session and the person's tokens."""

    template_name = "identity/oidc_logout.html"


# ---------------------------------------------------------------------------------------
# "我的" → authorised applications


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
@require_GET
def authorised_apps(request: HttpRequest) -> HttpResponse:
    consents = selectors.client_consents_for_user(_user(request))
    rows = [
        {
            "consent": consent,
            "policy": getattr(consent.application, "yiwang_policy", None),
            "claims": consent_rows(_user(request), consent.scopes),
        }
        for consent in consents
    ]
    return render(request, "identity/authorised_apps.html", {"rows": rows})


@login_required
@require_POST
def authorised_app_revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    user = _user(request)
    consent = selectors.client_consents_for_user(user).filter(pk=consent_id).first()
    if consent is None:
        raise Http404
    services.client_consent_revoke(user=user, consent=consent)
    messages.success(
        request,
        _("%(application)s can no longer use your account. It will ask again next time.")
        % {"application": consent.application.name},
    )
    return redirect("identity_me:authorised_apps")
