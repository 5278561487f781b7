"""The platform as OpenID Connect provider: django-oauth-toolkit's validator and scopes.

Named in ``OAUTH2_PROVIDER`` (config/settings.py). The scopes and claims themselves are
in ``yiwang.identity.claims``; each client's policy in ``ClientPolicy``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors

from yiwang.identity import selectors, services
from yiwang.identity.claims import CLAIM_SCOPE, CLAIM_VALUES, SCOPES
from yiwang.identity.models import User


class ClientScopes(BaseScopes):
    """Scopes from ``claims.SCOPES``; an application may request those its policy allows.

    A request for any other scope fails with the standard ``invalid_scope`` error.
    """

    def get_all_scopes(self) -> dict[str, Any]:
        return dict(SCOPES)

    def get_available_scopes(
        self, application: Application | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return list(SCOPES)
        return selectors.client_scopes_allowed(application)

    def get_default_scopes(
        self, application: Application | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return ["openid"]


class ClientValidator(OAuth2Validator):
    """Claims by scope and client policy, the real-name level as ``acr``, pairwise ``sub``.

    Also enforces the policy's minimum level when a code is issued (the authorisation
    page sends people below it to verification first), records consent with every code,
    and revokes the tokens of a code that is exchanged twice.
    """

    oidc_claim_scope = dict(CLAIM_SCOPE)

    # -- claims -------------------------------------------------------------------------

    def get_additional_claims(self, request: OauthlibRequest) -> dict[str, Any]:
        allowed = set(selectors.client_scopes_allowed(request.client))
        if getattr(request, "yiwang_id_token", False):
            allowed &= {"openid"}
        # Only claims of scopes the policy (still) allows are offered; of those, the base
        # class keeps the ones of the scopes the token was granted. Values are computed
        # only for the claims kept.
        claims: dict[str, Any] = {
            "sub": lambda r: services.client_subject_for(user=r.user, application=r.client)
        }
        for claim, value in CLAIM_VALUES.items():
            if CLAIM_SCOPE[claim] in allowed:
                claims[claim] = lambda r, value=value: value(r.user)
        return claims

    def get_oidc_claims(self, token: Any, token_handler: Any, request: OauthlibRequest) -> Any:
        claims = super().get_oidc_claims(token, token_handler, request)
        return {claim: value for claim, value in claims.items() if value is not None}

    def get_id_token_dictionary(
        self, token: Any, token_handler: Any, request: OauthlibRequest
    ) -> Any:
        # The ID token says who (sub) and how sure (acr); the rest comes from userinfo.
        request.yiwang_id_token = True
        try:
            return super().get_id_token_dictionary(token, token_handler, request)
        finally:
            request.yiwang_id_token = False

    def get_discovery_claims(self, request: Any) -> list[str]:
        return list(CLAIM_SCOPE)

    # -- prompt=none ---------------------------------------------------------------------

    def validate_silent_login(self, request: OauthlibRequest) -> bool:
        # The authorisation view answers login_required itself before anything else.
        return True

    def validate_silent_authorization(self, request: OauthlibRequest) -> bool:
        # The person is not known here; the authorisation view checks the stored consent
        # and the minimum level, and answers consent_required or interaction_required.
        return True

    # -- authorisation codes ------------------------------------------------------------

    def save_authorization_code(
        self,
        client_id: str,
        code: dict[str, Any],
        request: OauthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        user: User = request.user
        policy = selectors.client_policy_for(request.client)
        if policy is None or user.assurance_level < policy.min_assurance_level:
            raise errors.AccessDeniedError(request=request)
        with transaction.atomic():
            super().save_authorization_code(client_id, code, request, *args, **kwargs)
            services.client_consent_give(
                user=user, application=request.client, scopes=request.scopes
            )

    def validate_code(
        self,
        client_id: str,
        code: str,
        client: Application,
        request: OauthlibRequest,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            return True
        services.authorization_code_replay_revoke(code=code, application=client)
        return False

    def save_bearer_token(
        self, token: dict[str, Any], request: OauthlibRequest, *args: Any, **kwargs: Any
    ) -> Any:
        result = super().save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code":
            services.authorization_code_use_record(
                code=request.code, application=request.client, access_token=token["access_token"]
            )
        return result
