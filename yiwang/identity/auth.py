"""API authentication: the browser session (with CSRF) or a personal bearer token.

Staff pass the second factor here too: a session only once it is verified with the
authenticator, a bearer token only if it was created from such a session. Either way a
staff request without it is refused with 403 ``mfa_required``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from yiwang.core.errors import PermissionDenied


class ApiTokenAuth(HttpBearer):
    openapi_description = "A personal API token created under 我的 → API tokens."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from yiwang.identity.selectors import api_token_for_secret

        api_token = api_token_for_secret(token)
        if api_token is None:
            return None
        user = api_token.user
        staff = user.is_staff or user.is_superuser or api_token.user_is_staff_member  # type: ignore[attr-defined]
        if staff and not api_token.second_factor:
            raise PermissionDenied(
                _(
                    "Staff tokens must be created after logging in with the authenticator. "
                    "Create a new token."
                ),
                code="mfa_required",
            )
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


class SessionAuth(NinjaSessionAuth):
    """Django's session, for staff only once the session has passed the second factor."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        from yiwang.identity.middleware import second_factor_missing

        user = super().authenticate(request, key)
        if user is not None and second_factor_missing(request):
            raise PermissionDenied(
                _("Please confirm your login with your authenticator first."),
                code="mfa_required",
            )
        return user


def second_factor_passed_by(request: HttpRequest) -> bool:
    """Whether this API request carries the second factor (a verified session or token)."""
    from yiwang.identity.middleware import second_factor_passed

    api_token = getattr(request, "api_token", None)
    if api_token is not None:
        return bool(api_token.second_factor)
    return second_factor_passed(request.user)


# The bearer token goes first: a request that carries one needs no CSRF token.
api_auth = [ApiTokenAuth(), SessionAuth()]
