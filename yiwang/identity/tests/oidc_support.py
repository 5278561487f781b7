"""Helpers for the single sign-on tests: registered clients, PKCE, the authorisation dance
through Django's test client, and token requests."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client
from oauth2_provider.models import Application

from yiwang.identity.models import ClientPolicy, Department
from yiwang.identity.tests.factories import DepartmentFactory

REDIRECT_URI = "https://shebao.example.gov.cn/callback"
LOGOUT_URI = "https://shebao.example.gov.cn/"
SECRET = "client-secret-only-the-tests-know"
AUTHORIZE = "/oidc/authorize/"
TOKEN = "/oidc/token/"
USERINFO = "/oidc/userinfo/"
INTROSPECT = "/oidc/introspect/"
REVOKE = "/oidc/revoke/"
LOGOUT = "/oidc/logout/"


def client_register(
    *,
    client_id: str = "shebao",
    name: str = "社保业务系统",
    scopes: Sequence[str] = ("profile", "phone"),
    min_level: int = 1,
    department: Department | None = None,
    redirect_uri: str = REDIRECT_URI,
    policy: bool = True,
) -> Application:
    """A confidential client as a platform administrator registers it, with its policy."""
    application = Application.objects.create(
        client_id=client_id,
        client_secret=SECRET,
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        algorithm=Application.RS256_ALGORITHM,
        redirect_uris=redirect_uri,
        post_logout_redirect_uris=LOGOUT_URI,
    )
    if policy:
        ClientPolicy.objects.create(
            application=application,
            department=department or DepartmentFactory(name="杭州市西湖区人力资源和社会保障局"),
            allowed_scopes=list(scopes),
            min_assurance_level=min_level,
        )
    return application


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_url(
    application: Application,
    *,
    scope: str = "openid profile",
    challenge: str | None = None,
    state: str = "state-1",
    nonce: str = "nonce-1",
    redirect_uri: str = REDIRECT_URI,
    **extra: str,
) -> str:
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        **extra,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{AUTHORIZE}?{urlencode(params)}"


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def consent_form_data(response: Any) -> dict[str, str]:
    """The hidden fields of the consent form, as the browser would post them back."""
    page = response.content.decode()
    form = page[page.index('data-testid="oidc-consent"') :]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    return {name: _unescape(value) for name, value in fields}


def _unescape(value: str) -> str:
    for escaped, plain in (("&quot;", '"'), ("&#x27;", "'"), ("&lt;", "<"), ("&gt;", ">")):
        value = value.replace(escaped, plain)
    return value.replace("&amp;", "&")


def code_obtain(
    client: Client, application: Application, *, scope: str = "openid profile", nonce: str = "n"
) -> tuple[str, str]:
    """Sign in to the application as the logged-in person (consenting if asked).

    Returns the authorisation code and the PKCE verifier it was asked with.
    """
    verifier, challenge = pkce_pair()
    response = client.get(authorize_url(application, scope=scope, challenge=challenge, nonce=nonce))
    if response.status_code == 200:
        response = client.post(AUTHORIZE, {**consent_form_data(response), "allow": "on"})
    assert response.status_code == 302, response.content.decode()[:500]
    query = query_of(response["Location"])
    assert "code" in query, query
    return query["code"], verifier


def basic_auth(client_id: str, secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_request(
    client: Client,
    application: Application,
    code: str,
    verifier: str | None,
    *,
    redirect_uri: str = REDIRECT_URI,
) -> tuple[int, dict[str, Any]]:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    response = client.post(TOKEN, data, HTTP_AUTHORIZATION=basic_auth(application.client_id))
    return response.status_code, json.loads(response.content)


def tokens_obtain(
    client: Client, application: Application, *, scope: str = "openid profile"
) -> dict[str, Any]:
    code, verifier = code_obtain(client, application, scope=scope)
    status, body = token_request(client, application, code, verifier)
    assert status == 200, body
    return body


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (signatures are checked in the end-to-end test)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def introspect(client: Client, token: str, *, as_client: str) -> tuple[int, dict[str, Any]]:
    response = client.post(INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=basic_auth(as_client))
    body = json.loads(response.content) if response.content else {}
    return response.status_code, body
