"""API authentication: the browser session (with CSRF) or a personal bearer token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth


class ApiTokenAuth(HttpBearer):
    openapi_description = "A personal API token created under 我的 → API tokens."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from yiwang.identity.selectors import user_for_api_token

        user = user_for_api_token(token)
        if user is None:
            return None
        request.user = user
        return user


# The bearer token goes first: a request that carries one needs no CSRF token.
api_auth = [ApiTokenAuth(), django_auth]
