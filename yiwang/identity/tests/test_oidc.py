"""Single sign-on: the platform as OpenID Connect provider, through Django's test client.

The end-to-end login with a real relying-party library is in test_oidc_flow.py.
"""

from __future__ import annotations

import base64
import datetime
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken

from yiwang.exchange.tests.factories import PopulationRecordFactory
from yiwang.identity.models import (
    AssuranceLevel,
    AuthorizationCodeUse,
    ClientConsent,
    ClientPolicy,
    ClientSubject,
    Organisation,
    User,
)
from yiwang.identity.tests.factories import UserFactory, VerifiedUserFactory
from yiwang.identity.tests.oidc_support import (
    AUTHORIZE,
    INTROSPECT,
    LOGOUT,
    LOGOUT_URI,
    REDIRECT_URI,
    REVOKE,
    TOKEN,
    USERINFO,
    authorize_url,
    basic_auth,
    client_register,
    code_obtain,
    consent_form_data,
    introspect,
    jwt_claims,
    pkce_pair,
    query_of,
    token_request,
    tokens_obtain,
)

pytestmark = pytest.mark.django_db

ID_TOKEN_STANDARD_CLAIMS = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "jti"}


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def userinfo(client: Client, access_token: str) -> tuple[int, dict[str, object]]:
    response = client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return response.status_code, json.loads(response.content) if response.content else {}


def refresh(client: Client, client_id: str, refresh_token: str) -> tuple[int, dict[str, object]]:
    response = client.post(
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(client_id),
    )
    return response.status_code, json.loads(response.content)


# ---------------------------------------------------------------------------------------
# Discovery and keys


def test_discovery_names_the_endpoints_scopes_acr_values_and_only_the_safe_choices():
    document = Client().get("/oidc/.well-known/openid-configuration").json()

    assert document["issuer"] == "http://testserver/oidc"
    assert document["authorization_endpoint"] == "http://testserver/oidc/authorize/"
    assert document["token_endpoint"] == "http://testserver/oidc/token/"
    assert document["userinfo_endpoint"] == "http://testserver/oidc/userinfo/"
    assert document["jwks_uri"] == "http://testserver/oidc/.well-known/jwks.json"
    assert document["end_session_endpoint"] == "http://testserver/oidc/logout/"
    assert document["revocation_endpoint"] == "http://testserver/oidc/revoke/"
    assert document["introspection_endpoint"] == "http://testserver/oidc/introspect/"
    assert document["scopes_supported"] == [
        "openid",
        "profile",
        "phone",
        "identity",
        "organisation",
    ]
    assert document["acr_values_supported"] == ["L1", "L2", "L3"]
    assert document["prompt_values_supported"] == ["none", "consent"]
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["subject_types_supported"] == ["pairwise"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(document["claims_supported"]) == {
        "sub",
        "acr",
        "name",
        "phone_number",
        "phone_number_verified",
        "id_number",
        "assurance_level",
        "organisations",
    }


def test_the_jwks_publishes_the_public_half_of_the_configured_key(settings):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    keys = Client().get("/oidc/.well-known/jwks.json").json()["keys"]

    private = load_pem_private_key(
        settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"].encode(), password=None
    )
    numbers = private.public_key().public_numbers()
    assert len(keys) == 1
    assert (keys[0]["kty"], keys[0]["alg"], keys[0]["use"]) == ("RSA", "RS256", "sig")
    n = keys[0]["n"]
    assert int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big") == numbers.n
    assert "d" not in keys[0]  # never the private exponent


# ---------------------------------------------------------------------------------------
# Authorisation requests that must fail


def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect():
    application = client_register()
    _verifier, challenge = pkce_pair()
    client = logged_in(VerifiedUserFactory())

    response = client.get(
        authorize_url(application, challenge=challenge, redirect_uri="https://evil.example/cb")
    )

    assert response.status_code == 400
    assert "Location" not in response
    assert 'data-testid="oidc-error">invalid_request<' in response.content.decode()
    assert not Grant.objects.exists()


def test_an_unknown_client_gets_an_error_page_and_no_redirect():
    client_register()
    _verifier, challenge = pkce_pair()
    client = logged_in(VerifiedUserFactory())

    response = client.get(authorize_url(Application(client_id="nobody"), challenge=challenge))

    assert response.status_code == 400
    assert "Location" not in response
    assert 'data-testid="oidc-error">invalid_request<' in response.content.decode()


@pytest.mark.parametrize("scope", ["openid identity", "openid email"])
def test_a_scope_the_client_may_not_ask_for_is_refused_with_invalid_scope(scope):
    application = client_register(scopes=["profile", "phone"])
    _verifier, challenge = pkce_pair()
    client = logged_in(VerifiedUserFactory())

    response = client.get(authorize_url(application, scope=scope, challenge=challenge))

    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    answer = query_of(response["Location"])
    assert (answer["error"], answer["state"]) == ("invalid_scope", "state-1")
    assert "code" not in answer
    assert not ClientConsent.objects.exists()


def test_a_request_without_pkce_is_refused():
    application = client_register()
    client = logged_in(VerifiedUserFactory())

    response = client.get(authorize_url(application, challenge=None))

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert not Grant.objects.exists()


def test_a_request_with_the_plain_pkce_method_is_refused():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    url = authorize_url(application, code_challenge="x" * 43, code_challenge_method="plain")

    response = client.get(url)

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert "consent" not in response.content.decode()


def test_a_client_without_a_policy_may_not_sign_anyone_in():
    application = client_register(policy=False)
    _verifier, challenge = pkce_pair()
    client = logged_in(VerifiedUserFactory())

    response = client.get(authorize_url(application, scope="openid", challenge=challenge))

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "unauthorized_client"


def test_a_client_of_an_inactive_department_may_not_sign_anyone_in():
    application = client_register()
    department = application.yiwang_policy.department
    department.is_active = False
    department.save()
    _verifier, challenge = pkce_pair()

    response = logged_in(VerifiedUserFactory()).get(authorize_url(application, challenge=challenge))

    assert query_of(response["Location"])["error"] == "unauthorized_client"


def test_a_person_who_is_not_logged_in_is_sent_to_the_login_page_first():
    application = client_register()
    _verifier, challenge = pkce_pair()
    url = authorize_url(application, challenge=challenge)

    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login") + "?next=")
    assert query_of(response["Location"])["next"] == url


# ---------------------------------------------------------------------------------------
# Consent


def test_the_consent_screen_names_the_department_and_each_piece_of_data_released():
    user = VerifiedUserFactory(phone="13912340001")
    application = client_register(scopes=["profile", "phone", "identity"])
    _verifier, challenge = pkce_pair()

    response = logged_in(user).get(
        authorize_url(application, scope="openid phone", challenge=challenge)
    )

    page = response.content.decode()
    claims = page[page.index('data-testid="oidc-claims"') : page.index("</dl>")]
    assert response.status_code == 200
    assert "社保业务系统" in page
    assert "杭州市西湖区人力资源和社会保障局" in page
    assert "139****0001" in claims
    assert "13912340001" not in page
    assert user.name not in claims  # profile was not asked for
    assert user.id_number[:4] not in claims  # nor identity
    assert len(re.findall(r"<dt>", claims)) == 3  # identifier, level, phone


def test_consenting_stores_the_consent_and_the_next_sign_in_skips_the_screen():
    user = VerifiedUserFactory()
    application = client_register()
    client = logged_in(user)

    code_obtain(client, application, scope="openid profile")

    consent = ClientConsent.objects.get()
    assert (consent.user, consent.application, consent.scopes) == (
        user,
        application,
        ["openid", "profile"],
    )
    assert consent.revoked_at is None
    _verifier, challenge = pkce_pair()
    again = client.get(authorize_url(application, scope="openid", challenge=challenge))
    assert again.status_code == 302
    assert "code" in query_of(again["Location"])
    assert ClientConsent.objects.count() == 1


def test_asking_for_more_scopes_asks_again_and_widens_the_one_consent():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code_obtain(client, application, scope="openid profile")
    _verifier, challenge = pkce_pair()

    screen = client.get(authorize_url(application, scope="openid phone", challenge=challenge))
    assert screen.status_code == 200
    client.post(AUTHORIZE, {**consent_form_data(screen), "allow": "on"})

    assert ClientConsent.objects.get().scopes == ["openid", "profile", "phone"]


def test_prompt_consent_shows_the_screen_again():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code_obtain(client, application)
    _verifier, challenge = pkce_pair()

    response = client.get(authorize_url(application, challenge=challenge, prompt="consent"))

    assert response.status_code == 200
    assert 'data-testid="oidc-consent"' in response.content.decode()


def test_prompt_none_without_consent_answers_consent_required_and_with_consent_a_code():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    _verifier, challenge = pkce_pair()

    refused = client.get(authorize_url(application, challenge=challenge, prompt="none"))
    code_obtain(client, application)
    allowed = client.get(authorize_url(application, challenge=challenge, prompt="none"))

    assert query_of(refused["Location"])["error"] == "consent_required"
    assert query_of(refused["Location"])["state"] == "state-1"
    assert "code" in query_of(allowed["Location"])


def test_cancelling_on_the_consent_screen_answers_access_denied_and_stores_nothing():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    _verifier, challenge = pkce_pair()
    screen = client.get(authorize_url(application, challenge=challenge))

    response = client.post(AUTHORIZE, consent_form_data(screen))

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "access_denied"
    assert not ClientConsent.objects.exists()
    assert not Grant.objects.exists()


# ---------------------------------------------------------------------------------------
# Minimum real-name level


def test_an_l1_person_is_sent_to_verification_and_then_back_to_the_application():
    record = PopulationRecordFactory(name="沈佳怡")
    user = UserFactory()
    application = client_register(min_level=AssuranceLevel.L2)
    client = logged_in(user)
    _verifier, challenge = pkce_pair()
    url = authorize_url(application, challenge=challenge)

    sent = client.get(url)
    assert sent.status_code == 302
    assert sent["Location"].startswith(reverse("identity:verify") + "?")
    assert query_of(sent["Location"]) == {"next": url}
    assert not Grant.objects.exists()

    verified = client.post(sent["Location"], {"name": "沈佳怡", "id_number": record.id_number})
    assert verified.status_code == 302
    assert verified["Location"] == url
    screen = client.get(url)
    assert screen.status_code == 200
    assert 'data-testid="oidc-consent"' in screen.content.decode()


def test_verification_ignores_a_next_address_on_another_site():
    record = PopulationRecordFactory(name="沈佳怡")
    client = logged_in(UserFactory())

    response = client.post(
        reverse("identity:verify") + "?next=https://evil.example/",
        {"name": "沈佳怡", "id_number": record.id_number},
    )

    assert response["Location"] == reverse("portal:me")


def test_an_l1_person_with_prompt_none_gets_interaction_required():
    application = client_register(min_level=AssuranceLevel.L2)
    _verifier, challenge = pkce_pair()

    response = logged_in(UserFactory()).get(
        authorize_url(application, challenge=challenge, prompt="none")
    )

    assert query_of(response["Location"])["error"] == "interaction_required"


def test_a_client_requiring_l3_tells_an_l2_person_to_verify_in_person():
    application = client_register(min_level=AssuranceLevel.L3)
    _verifier, challenge = pkce_pair()

    response = logged_in(VerifiedUserFactory()).get(authorize_url(application, challenge=challenge))

    page = response.content.decode()
    assert response.status_code == 403
    assert 'data-testid="oidc-level-required"' in page
    cancel = re.search(r'<a class="button secondary" href="([^"]+)"', page).group(1)
    cancel = cancel.replace("&amp;", "&")
    assert cancel.startswith(REDIRECT_URI + "?")
    assert query_of(cancel) == {"error": "access_denied", "state": "state-1"}
    assert not Grant.objects.exists()


def test_a_consent_form_posted_below_the_minimum_level_gets_no_code():
    application = client_register(min_level=AssuranceLevel.L2)
    _verifier, challenge = pkce_pair()
    form = {
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "state-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "allow": "on",
    }

    response = logged_in(UserFactory()).post(AUTHORIZE, form)

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "access_denied"
    assert not Grant.objects.exists()
    assert not ClientConsent.objects.exists()


def test_a_consent_form_for_an_unknown_client_is_a_bad_request():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    _verifier, challenge = pkce_pair()
    screen = client.get(authorize_url(application, challenge=challenge))

    response = client.post(
        AUTHORIZE, {**consent_form_data(screen), "client_id": "nobody", "allow": "on"}
    )

    assert response.status_code == 400
    assert not Grant.objects.exists()
    assert not ClientConsent.objects.exists()


# ---------------------------------------------------------------------------------------
# The token endpoint


def test_the_code_with_a_wrong_verifier_is_invalid_grant_and_gives_no_token():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code, _verifier = code_obtain(client, application)

    status, body = token_request(client, application, code, pkce_pair()[0])

    assert (status, body["error"]) == (400, "invalid_grant")
    assert not AccessToken.objects.exists()


def test_the_code_without_a_verifier_is_refused():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code, _verifier = code_obtain(client, application)

    status, body = token_request(client, application, code, None)

    assert (status, body["error"]) == (400, "invalid_request")
    assert not AccessToken.objects.exists()


def test_an_expired_code_is_invalid_grant():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code, verifier = code_obtain(client, application)
    Grant.objects.update(expires=timezone.now() - datetime.timedelta(seconds=1))

    status, body = token_request(client, application, code, verifier)

    assert (status, body["error"]) == (400, "invalid_grant")
    assert not AccessToken.objects.exists()


def test_a_code_redeemed_with_another_redirect_uri_is_refused():
    application = client_register(redirect_uri=f"{REDIRECT_URI} https://shebao.example.gov.cn/b")
    client = logged_in(VerifiedUserFactory())
    code, verifier = code_obtain(client, application)

    status, body = token_request(
        client, application, code, verifier, redirect_uri="https://shebao.example.gov.cn/b"
    )

    assert status == 400
    assert body["error"] in {"invalid_request", "invalid_grant"}
    assert not AccessToken.objects.exists()


def test_another_client_cannot_redeem_the_code():
    application = client_register()
    other = client_register(client_id="other", redirect_uri=REDIRECT_URI)
    client = logged_in(VerifiedUserFactory())
    code, verifier = code_obtain(client, application)

    status, body = token_request(client, other, code, verifier)

    assert (status, body["error"]) == (400, "invalid_grant")
    assert not AccessToken.objects.exists()


def test_a_replayed_code_is_invalid_grant_and_revokes_the_tokens_it_gave():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code, verifier = code_obtain(client, application)
    status, tokens = token_request(client, application, code, verifier)
    assert status == 200
    assert AuthorizationCodeUse.objects.count() == 1

    status, body = token_request(client, application, code, verifier)

    assert (status, body["error"]) == (400, "invalid_grant")
    assert not AccessToken.objects.exists()
    assert not IDToken.objects.exists()
    assert userinfo(client, tokens["access_token"])[0] == 401
    assert introspect(client, tokens["access_token"], as_client="shebao")[1] == {"active": False}
    assert refresh(client, "shebao", tokens["refresh_token"])[1]["error"] == "invalid_grant"


def test_a_replayed_code_also_revokes_tokens_refreshed_since():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code, verifier = code_obtain(client, application)
    _status, first = token_request(client, application, code, verifier)
    status, refreshed = refresh(client, "shebao", first["refresh_token"])
    assert status == 200

    token_request(client, application, code, verifier)

    assert introspect(client, refreshed["access_token"], as_client="shebao")[1] == {"active": False}
    assert refresh(client, "shebao", refreshed["refresh_token"])[1]["error"] == "invalid_grant"


# ---------------------------------------------------------------------------------------
# Claims


def test_userinfo_gives_the_claims_of_the_consented_scopes_only_and_the_id_token_fewer():
    user = VerifiedUserFactory(phone="13912340002")
    application = client_register(scopes=["profile", "phone", "identity"])
    client = logged_in(user)

    tokens = tokens_obtain(client, application, scope="openid phone")
    status, claims = userinfo(client, tokens["access_token"])

    subject = ClientSubject.objects.get(user=user, application=application).subject
    assert status == 200
    assert claims == {
        "sub": subject,
        "acr": "L2",
        "phone_number": "+8613912340002",
        "phone_number_verified": True,
    }
    id_token = jwt_claims(tokens["id_token"])
    assert set(id_token) == ID_TOKEN_STANDARD_CLAIMS | {"sub", "acr"}
    assert (id_token["sub"], id_token["acr"], id_token["aud"]) == (subject, "L2", "shebao")


def test_the_identity_scope_gives_the_id_number_and_level():
    user = VerifiedUserFactory()
    application = client_register(scopes=["identity"])
    client = logged_in(user)

    tokens = tokens_obtain(client, application, scope="openid identity")

    claims = userinfo(client, tokens["access_token"])[1]
    assert (claims["id_number"], claims["assurance_level"]) == (user.id_number, "L2")
    assert "name" not in claims
    assert "phone_number" not in claims


def test_the_organisation_scope_lists_the_organisations_the_person_represents(uscc_factory):
    user = VerifiedUserFactory()
    organisation = Organisation.objects.create(
        uscc=uscc_factory(), name="杭州岚禾数智科技有限公司", legal_representative=user
    )
    application = client_register(scopes=["organisation"])
    client = logged_in(user)

    tokens = tokens_obtain(client, application, scope="openid organisation")

    assert userinfo(client, tokens["access_token"])[1]["organisations"] == [
        {"uscc": organisation.uscc, "name": organisation.name, "role": "legal_representative"}
    ]


def test_an_unverified_account_has_no_name_claim():
    application = client_register(scopes=["profile"])
    client = logged_in(UserFactory())

    tokens = tokens_obtain(client, application, scope="openid profile")

    claims = userinfo(client, tokens["access_token"])[1]
    assert "name" not in claims
    assert claims["acr"] == "L1"


def test_a_scope_removed_from_the_policy_stops_releasing_its_claims():
    application = client_register(scopes=["profile", "phone"])
    client = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(client, application, scope="openid profile phone")

    ClientPolicy.objects.filter(application=application).update(allowed_scopes=["profile"])

    claims = userinfo(client, tokens["access_token"])[1]
    assert "phone_number" not in claims
    assert "name" in claims


def test_each_application_knows_a_person_by_its_own_stable_identifier():
    user = VerifiedUserFactory()
    first = client_register(client_id="first")
    second = client_register(client_id="second")
    client = logged_in(user)

    sub_first = jwt_claims(tokens_obtain(client, first)["id_token"])["sub"]
    sub_again = jwt_claims(tokens_obtain(client, first)["id_token"])["sub"]
    sub_second = jwt_claims(tokens_obtain(client, second)["id_token"])["sub"]

    assert sub_first == sub_again
    assert sub_first != sub_second
    assert str(user.pk) not in {sub_first, sub_second}
    assert user.phone not in {sub_first, sub_second}
    assert len(sub_first) >= 32


# ---------------------------------------------------------------------------------------
# Introspection and revocation for department APIs


def test_introspection_by_another_client_says_whose_token_it_is_and_never_the_phone():
    user = VerifiedUserFactory(phone="13912340003")
    frontend = client_register(client_id="shebao")
    api = client_register(client_id="gjj-api")
    client = logged_in(user)
    tokens = tokens_obtain(client, frontend)

    status, body = introspect(client, tokens["access_token"], as_client=api.client_id)

    assert status == 200
    assert body["active"] is True
    assert (body["client_id"], body["aud"]) == ("shebao", ["shebao"])
    assert body["scope"] == "openid profile"
    assert body["sub"] == ClientSubject.objects.get(user=user, application=frontend).subject
    assert body["acr"] == "L2"
    assert "username" not in body
    assert "13912340003" not in json.dumps(body)
    # A department API that serves the gjj-api client accepts only tokens meant for it.
    assert api.client_id not in body["aud"]


def test_introspection_requires_client_authentication():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(client, application)

    anonymous = Client().post(INTROSPECT, {"token": tokens["access_token"]})
    wrong_secret = Client().post(
        INTROSPECT,
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth("shebao", "not-the-secret"),
    )

    assert anonymous.status_code == wrong_secret.status_code == 403
    assert b"active" not in anonymous.content + wrong_secret.content


def test_a_revoked_token_introspects_inactive_and_userinfo_refuses_it():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(client, application)

    response = client.post(
        REVOKE,
        {"token": tokens["access_token"], "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic_auth("shebao"),
    )

    assert response.status_code == 200
    assert introspect(client, tokens["access_token"], as_client="shebao")[1] == {"active": False}
    assert userinfo(client, tokens["access_token"])[0] == 401
    assert refresh(client, "shebao", tokens["refresh_token"])[1]["error"] == "invalid_grant"


def test_a_client_cannot_revoke_another_clients_token():
    application = client_register()
    client_register(client_id="other")
    client = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(client, application)

    response = client.post(
        REVOKE, {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=basic_auth("other")
    )

    assert response.status_code == 200  # RFC 7009: no hint whether the token exists
    assert introspect(client, tokens["access_token"], as_client="shebao")[1]["active"] is True


def test_an_expired_token_introspects_inactive():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(client, application)
    AccessToken.objects.update(expires=timezone.now() - datetime.timedelta(seconds=1))

    assert introspect(client, tokens["access_token"], as_client="shebao")[1] == {"active": False}


# ---------------------------------------------------------------------------------------
# Authorised applications under 我的, and withdrawing consent


def test_my_authorised_applications_lists_the_application_with_its_department_and_data():
    user = VerifiedUserFactory(phone="13912340004")
    application = client_register()
    client = logged_in(user)
    code_obtain(client, application, scope="openid phone")

    page = client.get(reverse("identity_me:authorised_apps")).content.decode()

    consent = ClientConsent.objects.get()
    assert f'data-client-consent="{consent.pk}"' in page
    assert "社保业务系统" in page
    assert "杭州市西湖区人力资源和社会保障局" in page
    assert "139****0004" in page
    assert reverse("identity_me:authorised_app_revoke", args=[consent.pk]) in page
    me = client.get(reverse("portal:me")).content.decode()
    assert reverse("identity_me:authorised_apps") in me


def test_withdrawing_consent_revokes_the_tokens_and_the_next_sign_in_asks_again():
    user = VerifiedUserFactory()
    application = client_register()
    other = client_register(client_id="other")
    client = logged_in(user)
    tokens = tokens_obtain(client, application)
    kept = tokens_obtain(client, other)
    code_obtain(client, application)  # a code not yet exchanged
    consent = ClientConsent.objects.get(application=application)

    response = client.post(reverse("identity_me:authorised_app_revoke", args=[consent.pk]))

    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert introspect(client, tokens["access_token"], as_client="shebao")[1] == {"active": False}
    assert refresh(client, "shebao", tokens["refresh_token"])[1]["error"] == "invalid_grant"
    assert not Grant.objects.filter(application=application).exists()
    assert not IDToken.objects.filter(application=application).exists()
    assert not RefreshToken.objects.filter(application=application, revoked__isnull=True).exists()
    # The other application keeps its consent and tokens.
    assert introspect(client, kept["access_token"], as_client="other")[1]["active"] is True
    _verifier, challenge = pkce_pair()
    again = client.get(authorize_url(application, challenge=challenge))
    assert again.status_code == 200
    assert 'data-testid="oidc-consent"' in again.content.decode()


def test_nobody_can_withdraw_another_persons_consent():
    application = client_register()
    owner = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(owner, application)
    consent = ClientConsent.objects.get()
    intruder = logged_in(VerifiedUserFactory())

    response = intruder.post(reverse("identity_me:authorised_app_revoke", args=[consent.pk]))

    assert response.status_code == 404
    consent.refresh_from_db()
    assert consent.revoked_at is None
    assert introspect(owner, tokens["access_token"], as_client="shebao")[1]["active"] is True


def test_withdrawing_needs_a_post():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    code_obtain(client, application)
    consent = ClientConsent.objects.get()

    response = client.get(reverse("identity_me:authorised_app_revoke", args=[consent.pk]))

    assert response.status_code == 405
    assert ClientConsent.objects.get().revoked_at is None


# ---------------------------------------------------------------------------------------
# RP-initiated logout


def test_logout_with_the_id_token_ends_the_session_and_the_tokens_and_returns_with_state():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(client, application)

    response = client.get(
        LOGOUT,
        {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGOUT_URI,
            "state": "bye-1",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"{LOGOUT_URI}?state=bye-1"
    assert "_auth_user_id" not in client.session
    assert introspect(client, tokens["access_token"], as_client="shebao")[1] == {"active": False}


def test_logout_to_an_unregistered_address_is_refused_and_keeps_the_session():
    application = client_register()
    client = logged_in(VerifiedUserFactory())
    tokens = tokens_obtain(client, application)

    response = client.get(
        LOGOUT,
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
    )

    assert response.status_code == 400
    assert "Location" not in response
    assert 'data-testid="oidc-error"' in response.content.decode()
    assert "_auth_user_id" in client.session
    assert introspect(client, tokens["access_token"], as_client="shebao")[1]["active"] is True


def test_logout_without_an_id_token_asks_first():
    client = logged_in(VerifiedUserFactory())

    asked = client.get(LOGOUT)
    assert asked.status_code == 200
    assert 'data-testid="oidc-logout"' in asked.content.decode()
    assert "_auth_user_id" in client.session

    client.post(LOGOUT, {"allow": "on"})
    assert "_auth_user_id" not in client.session


# ---------------------------------------------------------------------------------------
# Registration in the admin


def _admin_form(department_id: int, **changes: str) -> dict[str, object]:
    form: dict[str, object] = {
        "client_id": "hz-gjj",
        "client_secret": "a-long-secret-for-the-housing-fund-system",
        "hash_client_secret": "on",
        "name": "公积金业务系统",
        "client_type": "confidential",
        "authorization_grant_type": "authorization-code",
        "redirect_uris": "https://gjj.example.gov.cn/callback",
        "post_logout_redirect_uris": "",
        "allowed_origins": "",
        "algorithm": "RS256",
        "yiwang_policy-TOTAL_FORMS": "1",
        "yiwang_policy-INITIAL_FORMS": "0",
        "yiwang_policy-MIN_NUM_FORMS": "1",
        "yiwang_policy-MAX_NUM_FORMS": "1",
        "yiwang_policy-0-department": str(department_id),
        "yiwang_policy-0-allowed_scopes": ["phone", "identity"],
        "yiwang_policy-0-min_assurance_level": "2",
    }
    form.update(changes)
    return form


def test_a_platform_administrator_registers_a_client_with_its_policy():
    from yiwang.identity.tests.factories import DepartmentFactory

    admin = User.objects.create_superuser(phone="13900009999", password="Admin-Pass-42")
    department = DepartmentFactory(name="杭州住房公积金管理中心")
    client = logged_in(admin)

    page = client.get("/admin/oauth2_provider/application/add/")
    response = client.post("/admin/oauth2_provider/application/add/", _admin_form(department.pk))

    assert page.status_code == 200
    assert "yiwang_policy-0-allowed_scopes" in page.content.decode()
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = ClientPolicy.objects.get(application__client_id="hz-gjj")
    assert (policy.department, policy.allowed_scopes, policy.min_assurance_level) == (
        department,
        ["phone", "identity"],
        AssuranceLevel.L2,
    )
    assert policy.scopes == ["openid", "phone", "identity"]


def test_the_admin_refuses_a_sign_in_client_without_rs256_or_without_a_policy():
    from yiwang.identity.tests.factories import DepartmentFactory

    admin = User.objects.create_superuser(phone="13900009999", password="Admin-Pass-42")
    department = DepartmentFactory()
    client = logged_in(admin)

    hs256 = client.post(
        "/admin/oauth2_provider/application/add/",
        _admin_form(department.pk, algorithm="HS256"),
    )
    no_policy = client.post(
        "/admin/oauth2_provider/application/add/",
        _admin_form(department.pk, **{"yiwang_policy-TOTAL_FORMS": "0"}),
    )

    assert hs256.status_code == no_policy.status_code == 200
    assert "algorithm" in hs256.context["adminform"].form.errors
    assert no_policy.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert not ClientPolicy.objects.exists()
