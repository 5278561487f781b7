"""The certificates API: verifying a code, and the published lists, all without an account."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from django.test import Client
from django.utils import timezone

from yiwang.certificates import keys, services, signedqr, verify_views
from yiwang.certificates.tests.test_services import marriage
from yiwang.certificates.tests.test_verify_views import REACHABLE_VERDICTS, code_for
from yiwang.certificates.verification import RevocationStatus, revocation_list_load
from yiwang.identity.models import StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

VERIFY = "/api/v1/certificates/verify"


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def certificate(marriage_type, civil_affairs):
    return marriage(civil_affairs, issued_on=datetime.date(2026, 5, 20))


@pytest.fixture
def approver(civil_affairs):
    return StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.APPROVER).user


def verify(client, body):
    return client.post(VERIFY, json.dumps(body), content_type="application/json")


def expiry_of(text: str) -> datetime.datetime:
    sign1 = signedqr.cose_decode(signedqr.decompress(signedqr.base45_decode(text[4:])))
    return signedqr.cwt_decode(sign1.payload).expires_at


# ---------------------------------------------------------------------------------------
# POST /certificates/verify


def test_a_valid_code_returns_its_certificate_data_signer_and_expiry(client, certificate):
    text = services.certificate_qr_for_wallet(certificate)

    response = verify(client, {"text": text})

    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "verdict": None,
        "message": "The certificate is valid: it was signed by the issuing department.",
        "revocation": "checked",
        "certificate": {
            "ver": 1,
            "t": "CT-JHZ",
            "tn": "结婚证",
            "id": certificate.identifier,
            "h": {"k": "person", "n": "林晓雯", "i": "3301**********0027"},
            "is": {"c": "330106-MZ", "n": "杭州市西湖区民政局"},
            "d": {
                "name": "林晓雯",
                "id_number": "3301**********0027",
                "spouse_name": "周子航",
                "spouse_id_number": "3301**********0018",
                "registered_on": "2026-05-20",
            },
            "iss": "2026-05-20",
            "no": "J330106-2026-001234",
        },
        "signer": "杭州市西湖区民政局",
        "expires_at": expiry_of(text).isoformat().replace("+00:00", "Z"),
    }


@pytest.mark.parametrize("verdict", REACHABLE_VERDICTS, ids=str)
def test_a_code_that_does_not_verify_is_a_200_with_its_verdict(
    client, certificate, settings, approver, verdict
):
    text = code_for(verdict, certificate, settings, approver)

    response = verify(client, {"text": text})

    assert response.status_code == 200
    assert response.json() == {
        "valid": False,
        "verdict": str(verdict),
        "message": str(verify_views.VERDICT_MESSAGES[verdict]),
        "revocation": "not_applicable",
        "certificate": None,
        "signer": None,
        "expires_at": None,
    }


def test_the_message_follows_the_requests_language(certificate):
    text = services.certificate_qr_for_wallet(certificate)
    english = Client(HTTP_ACCEPT_LANGUAGE="en")

    body = verify(english, {"text": "HTTPS://EXAMPLE.CN"}).json()

    assert body["message"] == (
        "This is not an electronic certificate code. It may be another kind of QR code, such "
        "as a payment code or a web link."
    )
    assert verify(english, {"text": text}).json()["valid"] is True


def test_verifying_needs_no_account_and_no_csrf_token(certificate):
    text = services.certificate_qr_for_wallet(certificate)
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(VERIFY, json.dumps({"text": text}), content_type="application/json")

    assert response.status_code == 200
    assert response.json()["valid"] is True


def test_a_logged_in_user_verifies_the_same_way(certificate):
    text = services.certificate_qr_for_wallet(certificate)
    client = Client(enforce_csrf_checks=True)
    client.force_login(VerifiedUserFactory())

    response = client.post(VERIFY, json.dumps({"text": text}), content_type="application/json")

    assert response.status_code == 200
    assert response.json()["valid"] is True


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"text": ["This field is required."]}),
        ({"text": ""}, {"text": ["This value is too short."]}),
        ({"text": "A" * (signedqr.MAX_TEXT_LENGTH + 1)}, {"text": ["This value is too long."]}),
        ({"text": 42}, {"text": ["Enter a valid value."]}),
        ({"text": ["YW1:"]}, {"text": ["Enter a valid value."]}),
    ],
    ids=["missing", "empty", "too-long", "number", "list"],
)
def test_a_malformed_body_is_a_422_naming_the_field(client, body, fields):
    response = verify(client, body)

    assert response.status_code == 422
    assert response.json() == {
        "code": "validation_failed",
        "message": "Some fields are not valid.",
        "fields": fields,
    }


@pytest.mark.parametrize("body", [b"\xff\x00YW1:", b'{"text": "YW1:'], ids=["binary", "cut"])
def test_a_body_that_is_not_json_is_a_400_as_everywhere_in_the_api(client, body):
    response = client.post(VERIFY, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "http_error",
        "message": "Cannot parse request body",
        "fields": {},
    }


def test_a_body_over_the_upload_limit_is_a_413_not_a_server_error(client, settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    body = json.dumps({"text": "YW1:" + "A" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = client.post(VERIFY, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "Unhandled error" not in caplog.text


def test_the_longest_text_a_code_may_have_is_verified_not_refused(client):
    response = verify(client, {"text": "YW1:" + "A" * (signedqr.MAX_TEXT_LENGTH - 4)})

    assert response.status_code == 200
    assert response.json()["verdict"] == "bad_base45"


def test_anonymous_verification_is_rate_limited(client):
    for _ in range(60):
        assert verify(client, {"text": "x"}).status_code == 200

    response = verify(client, {"text": "x"})

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"


# ---------------------------------------------------------------------------------------
# The published lists


def test_the_trust_list_is_anchor_signed_and_names_every_signing_key(client, certificate):
    key = services.signing_key_in_force(certificate.issuer, certificate.certificate_type)

    response = client.get("/api/v1/certificates/trust-list")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/cose"
    assert response["Content-Disposition"] == 'attachment; filename="trust-list.cose"'
    assert response["Cache-Control"] == "public, max-age=300"
    loaded = keys.trust_list_load(response.content, anchors=[keys.trust_anchor().certificate])
    assert [entry.kid.hex() for entry in loaded.store.entries()] == [key.kid]
    assert loaded.store.get(bytes.fromhex(key.kid)).label == "杭州市西湖区民政局"


def test_a_keys_revocation_list_lists_its_revoked_certificates(
    client, certificate, civil_affairs, approver
):
    kept = marriage(civil_affairs)
    services.certificate_revoke(actor=approver, certificate=certificate, reason="错误登记")
    key = services.signing_key_in_force(certificate.issuer, certificate.certificate_type)
    trust = keys.trust_list_load(keys.trust_list_sign(), anchors=[keys.trust_anchor().certificate])

    response = client.get(f"/api/v1/certificates/revocation-lists/{key.kid.upper()}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/cose"
    assert response["Content-Disposition"] == f'attachment; filename="{key.kid}.cose"'
    listed = revocation_list_load(response.content, trust=trust.store)
    assert listed.kid.hex() == key.kid
    assert listed.revoked == frozenset({services.revocation_hash(certificate.identifier)})
    assert services.revocation_hash(kept.identifier) not in listed.revoked


@pytest.mark.parametrize("kid", ["0011223344556677", "not-a-kid", "x" * 300])
def test_an_unknown_kid_has_no_revocation_list(client, certificate, kid):
    response = client.get(f"/api/v1/certificates/revocation-lists/{kid}")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}


def test_an_expired_keys_revocation_list_is_no_longer_published(client, certificate):
    key = services.signing_key_in_force(certificate.issuer, certificate.certificate_type)
    key.not_after = timezone.now() - datetime.timedelta(seconds=1)
    key.save()

    response = client.get(f"/api/v1/certificates/revocation-lists/{key.kid}")

    assert response.status_code == 404


def test_the_anchor_certificate_is_served_as_pem(client, key_dir):
    response = client.get("/api/v1/certificates/anchor")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pem-certificate-chain"
    assert response.content == (key_dir / keys.ANCHOR_CERTIFICATE_FILE).read_bytes()
    anchor = x509.load_pem_x509_certificate(response.content)
    assert anchor.subject.rfc4514_string() == "CN=一网电子证照信任根,C=CN"


def test_the_lists_verify_a_code_offline_as_another_platform_would(client, certificate):
    text = services.certificate_qr_for_wallet(certificate)
    key = services.signing_key_in_force(certificate.issuer, certificate.certificate_type)
    anchor = x509.load_pem_x509_certificate(client.get("/api/v1/certificates/anchor").content)
    trust_list = client.get("/api/v1/certificates/trust-list").content
    revocation = client.get(f"/api/v1/certificates/revocation-lists/{key.kid}").content
    from yiwang.certificates.verification import verifier_from_lists

    offline = verifier_from_lists(
        trust_lists=[trust_list], revocation_lists=[revocation], anchors=[anchor], prefix="YW1:"
    )
    result = offline.verify(text)

    assert (result.valid, result.revocation) == (True, RevocationStatus.CHECKED)


# ---------------------------------------------------------------------------------------
# The schema


@pytest.fixture(scope="module")
def schema():
    return Client().get("/api/v1/openapi.json").json()


def test_every_certificates_endpoint_is_public_in_the_schema(schema):
    operations = {
        (path, method): operation
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/certificates/")
        for method, operation in methods.items()
    }

    assert sorted(operations) == [
        ("/api/v1/certificates/anchor", "get"),
        ("/api/v1/certificates/revocation-lists/{kid}", "get"),
        ("/api/v1/certificates/trust-list", "get"),
        ("/api/v1/certificates/verify", "post"),
    ]
    assert [op for op in operations.values() if "security" in op] == []
    assert {op["tags"][0] for op in operations.values()} == {"certificates"}


def test_the_verify_operation_documents_its_body_answer_and_errors(schema):
    operation = schema["paths"]["/api/v1/certificates/verify"]["post"]
    components = schema["components"]["schemas"]

    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CertificateVerifyIn"}
    assert components["CertificateVerifyIn"]["required"] == ["text"]
    assert components["CertificateVerifyIn"]["properties"]["text"]["maxLength"] == 8192
    assert sorted(operation["responses"]) == ["200", "400", "422", "429"]
    answer = components["CertificateVerifyOut"]
    assert sorted(answer["properties"]) == [
        "certificate",
        "expires_at",
        "message",
        "revocation",
        "signer",
        "valid",
        "verdict",
    ]
    assert components["Verdict"]["enum"] == [verdict.value for verdict in signedqr.Verdict]
    assert answer["properties"]["revocation"]["enum"] == [
        "checked",
        "stale",
        "missing",
        "not_applicable",
    ]


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/api/v1/certificates/trust-list", "application/cose"),
        ("/api/v1/certificates/revocation-lists/{kid}", "application/cose"),
        ("/api/v1/certificates/anchor", "application/pem-certificate-chain"),
    ],
)
def test_the_list_operations_document_their_binary_answers(schema, path, media_type):
    responses = schema["paths"][path]["get"]["responses"]

    assert responses["200"]["content"] == {
        media_type: {"schema": {"type": "string", "format": "binary"}}
    }
    assert "429" in responses
