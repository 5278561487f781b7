"""The OpenID Connect provider's endpoints, mounted at /oidc/ (config/urls.py).

The namespace is django-oauth-toolkit's own, which reverses these names to build the
issuer and the discovery document. Only what department applications need is here: no
client self-registration, no device flow, no implicit or password grant.
"""

from django.urls import path, re_path
from oauth2_provider import views as dot_views

from yiwang.identity import oidc_views
from yiwang.identity.middleware import second_factor_exempt

app_name = "oauth2_provider"

urlpatterns = [
    re_path(
        r"^\.well-known/openid-configuration$",
        oidc_views.DiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    # RFC 8414 metadata under the issuer; it also fixes the issuer sent as `iss` (RFC 9207).
    path(
        ".well-known/oauth-authorization-server",
        dot_views.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
    path(".well-known/jwks.json", dot_views.JwksInfoView.as_view(), name="jwks-info"),
    path("authorize/", oidc_views.AuthorizeView.as_view(), name="authorize"),
    path("token/", dot_views.TokenView.as_view(), name="token"),
    path("userinfo/", dot_views.UserInfoView.as_view(), name="user-info"),
    path("revoke/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", oidc_views.IntrospectView.as_view(), name="introspect"),
    # Signing out must not first ask a staff member for her second factor.
    path(
        "logout/",
        second_factor_exempt(oidc_views.LogoutView.as_view()),
        name="rp-initiated-logout",
    ),
]
