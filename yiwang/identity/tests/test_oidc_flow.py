"""A department application signs a person in through Yiwang, end to end.

The relying party is a real OpenID Connect client library (authlib) talking HTTP to the
running provider; the person's browser is a requests session that fills in the real
login form (with its CSRF token) and the consent screen. The ID token's signature is
checked against the keys the discovery document points at.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from yiwang.identity.models import ClientConsent
from yiwang.identity.tests.factories import PASSWORD, VerifiedUserFactory
from yiwang.identity.tests.oidc_support import LOGOUT_URI, SECRET, client_register

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "http://localhost:8765/callback"


def _hidden_fields(page: str, marker: str) -> dict[str, str]:
    form = page[page.index(marker) :]
    form = form[: form.index("</form>")]
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def sessions() -> Iterator[ExitStack]:
    """Closes the HTTP sessions a test opens instead of leaving their kept-alive
    connections to the live server for the garbage collector."""
    with ExitStack() as stack:
        yield stack


def test_a_relying_party_signs_a_person_in_with_pkce_and_checks_the_id_token(live_server, sessions):
    user = VerifiedUserFactory(phone="13912348888")
    client_register(client_id="shebao", redirect_uri=CALLBACK, scopes=["profile", "phone"])
    issuer = f"{live_server.url}/oidc"
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == issuer

    # The relying party sends the browser to the authorisation endpoint.
    rp = sessions.enter_context(
        OAuth2Session(
            "shebao",
            SECRET,
            scope="openid profile phone",
            redirect_uri=CALLBACK,
            code_challenge_method="S256",
        )
    )
    verifier, nonce = generate_token(48), generate_token(20)
    authorize, state = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    assert "code_challenge=" in authorize
    assert "code_challenge_method=S256" in authorize

    # Not logged in: the login form, then back to the authorisation request.
    browser = sessions.enter_context(requests.Session())
    to_login = browser.get(authorize, allow_redirects=False, timeout=10)
    assert to_login.status_code == 302
    login_url = urljoin(live_server.url, to_login.headers["Location"])
    login_page = browser.get(login_url, timeout=10).text
    form = _hidden_fields(login_page, '<form method="post"')
    logged_in = browser.post(
        login_url,
        data={**form, "phone": user.phone, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 302
    consent_page = browser.get(
        urljoin(live_server.url, logged_in.headers["Location"]), allow_redirects=False, timeout=10
    )
    assert consent_page.status_code == 200
    assert "139****8888" in consent_page.text

    # Consent: back to the relying party with a code, its state and the issuer.
    consent = _hidden_fields(consent_page.text, 'data-testid="oidc-consent"')
    back = browser.post(
        consent_page.url, data={**consent, "allow": "on"}, allow_redirects=False, timeout=10
    )
    assert back.status_code == 302
    callback = back.headers["Location"]
    assert callback.startswith(CALLBACK + "?")
    assert _query(callback)["state"] == state
    assert _query(callback)["iss"] == issuer
    assert ClientConsent.objects.get().scopes == ["openid", "profile", "phone"]

    # The relying party exchanges the code (client secret + PKCE verifier).
    token = rp.fetch_token(
        discovery["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "openid profile phone"

    # The ID token verifies with the published keys and says who, for whom, how sure.
    keys = KeySet.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": "shebao"},
        nonce={"essential": True, "value": nonce},
        acr={"essential": True, "value": "L2"},
        sub={"essential": True},
        exp={"essential": True},
    ).validate(id_token.claims)
    assert id_token.header["kid"] in {key["kid"] for key in keys.as_dict()["keys"]}
    assert "phone_number" not in id_token.claims  # the rest comes from userinfo

    # A token whose claims were changed no longer verifies.
    header, payload, signature = token["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "acr": "L3"}).encode()).rstrip(b"=")
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged.decode()}.{signature}", keys, algorithms=["RS256"])

    # Userinfo: the claims of the consented scopes, under the same pairwise subject.
    info = rp.get(discovery["userinfo_endpoint"], timeout=10).json()
    assert info == {
        "sub": id_token.claims["sub"],
        "acr": "L2",
        "name": user.name,
        "phone_number": "+8613912348888",
        "phone_number_verified": True,
    }

    # Introspection, revocation, introspection again.
    active = rp.introspect_token(discovery["introspection_endpoint"], token=token["access_token"])
    assert active.json()["active"] is True
    assert active.json()["client_id"] == "shebao"
    revoked = rp.revoke_token(
        discovery["revocation_endpoint"],
        token=token["access_token"],
        token_type_hint="access_token",
    )
    assert revoked.status_code == 200
    inactive = rp.introspect_token(discovery["introspection_endpoint"], token=token["access_token"])
    assert inactive.json() == {"active": False}
    assert rp.get(discovery["userinfo_endpoint"], timeout=10).status_code == 401

    # RP-initiated logout ends the Yiwang session too.
    logout = browser.get(
        discovery["end_session_endpoint"],
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": LOGOUT_URI,
            "state": "bye",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert logout.status_code == 302
    assert logout.headers["Location"] == f"{LOGOUT_URI}?state=bye"
    me = browser.get(f"{live_server.url}/me/", allow_redirects=False, timeout=10)
    assert me.status_code == 302
    assert "/accounts/login/" in me.headers["Location"]
