"""The public verification page: paste, photo, and everything that is not a code."""

from __future__ import annotations

import datetime
import io
import json
import zlib

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation
from PIL import Image

from yiwang.certificates import keys, services, signedqr, verify_views
from yiwang.certificates.qrimage import qr_image_encode
from yiwang.certificates.tests.test_services import HUSBAND_ID, WIFE_ID, marriage
from yiwang.certificates.verification import Verifier
from yiwang.identity.models import StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory

pytestmark = pytest.mark.django_db

URL = "/certificates/verify/"
Verdict = signedqr.Verdict


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def certificate(marriage_type, civil_affairs):
    return marriage(civil_affairs, issued_on=datetime.date(2026, 5, 20))


@pytest.fixture
def approver(civil_affairs):
    return StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.APPROVER).user


# ---------------------------------------------------------------------------------------
# Codes that fail in each way (shared with the API tests)


def _body(text: str) -> bytes:
    """The COSE bytes inside a code's text."""
    return zlib.decompress(base45.b45decode(text.removeprefix("YW1:")))


def code_tampered(text: str) -> str:
    """The same code with the holder's name changed: the signature no longer matches."""
    body = _body(text)
    forged = body.replace("林晓雯".encode(), "王小明".encode())
    assert forged != body
    return signedqr.qr_text_encode(forged, prefix="YW1:")


def code_signed_with(certificate, *, key, kid, claims=None) -> str:
    now = timezone.now()
    return signedqr.sign(
        claims=claims or services.qr_payload(certificate),
        key=key,
        kid=kid,
        prefix="YW1:",
        issuer="330106",
        issued_at=now,
        expires_at=now + datetime.timedelta(hours=1),
    )


def code_expired(certificate, settings) -> str:
    """A wallet code shown three minutes ago that lived CERTIFICATES_QR_MINUTES (1)."""
    settings.CERTIFICATES_QR_MINUTES = 1
    return services.certificate_qr(
        certificate,
        now=timezone.now() - datetime.timedelta(minutes=3),
        lifetime=datetime.timedelta(minutes=settings.CERTIFICATES_QR_MINUTES),
    )


def code_for(verdict: Verdict, certificate, settings, approver) -> str:
    """A code that fails with ``verdict``; every case signs with the issuer's real key
    unless the failure is about the key."""
    wallet = services.certificate_qr_for_wallet(certificate)
    key = services.signing_key_in_force(certificate.issuer, certificate.certificate_type)
    if verdict == Verdict.WRONG_PREFIX:
        return "https://pay.example.cn/qr?id=8812"
    if verdict == Verdict.BAD_BASE45:
        return "YW1:this is not base45"
    if verdict == Verdict.BAD_COMPRESSION:
        return "YW1:" + base45.b45encode(b"not zlib data").decode()
    if verdict == Verdict.BAD_CBOR:
        return "YW1:" + base45.b45encode(zlib.compress(b"\xff\x00 not cbor")).decode()
    if verdict == Verdict.UNKNOWN_KEY:
        return code_signed_with(
            certificate, key=ec.generate_private_key(ec.SECP256R1()), kid=b"\x01" * 8
        )
    if verdict == Verdict.BAD_SIGNATURE:
        return code_tampered(wallet)
    if verdict == Verdict.EXPIRED:
        return code_expired(certificate, settings)
    if verdict == Verdict.REVOKED:
        services.certificate_revoke(actor=approver, certificate=certificate, reason="错误登记")
        return wallet
    if verdict == Verdict.KEY_NOT_ALLOWED:
        return code_signed_with(
            certificate,
            key=keys.signing_key_private(key),
            kid=bytes.fromhex(key.kid),
            claims=services.qr_payload(certificate) | {"t": "CT-YYZZ"},
        )
    raise AssertionError(verdict)


# Every verdict but NOT_A_QR: empty and oversized text never reach the verifier.
REACHABLE_VERDICTS = [verdict for verdict in Verdict if verdict != Verdict.NOT_A_QR]


def png(text: str) -> bytes:
    return qr_image_encode(text)


def jpeg(text: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(qr_image_encode(text))).convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (200, 200), color=255).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# The page


def test_the_page_is_open_to_everyone_and_works_without_javascript(client):
    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert '<textarea name="text"' in page
    assert 'type="file" name="image" accept="image/png,image/jpeg"' in page
    assert 'enctype="multipart/form-data"' in page
    # The camera part stays hidden unless the script finds a barcode detector.
    assert '<div class="field verify-camera" id="verify-camera" hidden' in page
    assert 'src="/static/certificates/verify-camera.js" defer' in page
    assert response["Cache-Control"] == ("max-age=0, no-cache, no-store, must-revalidate, private")


def test_a_pasted_wallet_code_shows_the_certificate_with_masked_identifiers(client, certificate):
    text = services.certificate_qr_for_wallet(certificate)

    response = client.post(URL, {"text": text})

    outcome = response.context["outcome"]
    assert response.status_code == 200
    assert (outcome.valid, outcome.verdict, outcome.revocation) == (True, "", "checked")
    assert outcome.message == "The certificate is valid: it was signed by the issuing department."
    assert outcome.revocation_message == (
        "Checked: the certificate is not on its issuer's revocation list."
    )
    assert outcome.signer == "杭州市西湖区民政局"
    assert outcome.certificate == verify_views.CertificateShown(
        type_name="结婚证",
        type_code="CT-JHZ",
        identifier=certificate.identifier,
        number="J330106-2026-001234",
        holder_name="林晓雯",
        holder_kind="Natural person",
        holder_id="3301**********0027",
        holder_id_label="公民身份号码",
        issuer_name="杭州市西湖区民政局",
        issuer_code="330106-MZ",
        issued_on="2026-05-20",
        valid_until="",
        # Labelled as on the paper certificate, in its type's order.
        fields=[
            ("姓名", "林晓雯"),
            ("公民身份号码", "3301**********0027"),
            ("配偶姓名", "周子航"),
            ("配偶公民身份号码", "3301**********0018"),
            ("登记日期", "2026-05-20"),
        ],
    )
    page = response.content.decode()
    assert "Valid</h2>" in page
    assert certificate.identifier in page
    assert "No end date" in page
    assert WIFE_ID not in page
    assert HUSBAND_ID not in page
    # The checked text stays in the box.
    assert response.context["form"]["text"].value() == text


def test_a_code_surrounded_by_whitespace_from_a_scanner_still_verifies(client, certificate):
    text = services.certificate_qr_for_wallet(certificate)

    response = client.post(URL, {"text": f"  {text}\r\n"})

    assert response.context["outcome"].valid is True


@pytest.mark.parametrize("verdict", REACHABLE_VERDICTS, ids=str)
def test_each_failing_code_shows_not_valid_with_its_plain_language_reason(
    client, certificate, settings, approver, verdict
):
    text = code_for(verdict, certificate, settings, approver)

    response = client.post(URL, {"text": text})

    outcome = response.context["outcome"]
    assert response.status_code == 200
    assert (outcome.valid, outcome.verdict) == (False, str(verdict))
    assert outcome.message == str(verify_views.VERDICT_MESSAGES[verdict])
    assert outcome.certificate is None
    page = response.content.decode()
    assert "Not valid</h2>" in page
    assert f"<code>{verdict}</code>" in page
    assert "林晓雯" not in page  # nothing of an unverified code is shown


def test_the_verdict_messages_explain_each_failure_in_plain_words(client, certificate):
    assert set(verify_views.VERDICT_MESSAGES) == set(Verdict)
    with translation.override("en"):
        bad_signature = str(verify_views.VERDICT_MESSAGES[Verdict.BAD_SIGNATURE])
        revoked = str(verify_views.VERDICT_MESSAGES[Verdict.REVOKED])
    assert bad_signature == (
        "The signature does not match the content: the code has been altered or forged."
    )
    assert revoked == (
        "The issuing department has revoked this certificate. It is no longer valid."
    )
    assert (
        str(verify_views.VERDICT_MESSAGES[Verdict.REVOKED]) == "发证部门已注销该证照，证照已失效。"
    )


def test_an_expired_code_explains_that_a_new_one_is_needed(client, certificate, settings, approver):
    text = code_for(Verdict.EXPIRED, certificate, settings, approver)

    outcome = client.post(URL, {"text": text}).context["outcome"]

    assert outcome.message == (
        "The code is outside its validity period: it has expired or is not valid yet. Ask "
        "the holder to open the certificate again and show a new code."
    )
    assert outcome.detail == "expired"


@pytest.mark.parametrize(("picture", "name"), [(png, "code.png"), (jpeg, "code.jpg")])
def test_a_photo_of_the_code_verifies_and_its_text_comes_back_in_the_box(
    client, certificate, picture, name
):
    text = services.certificate_qr_for_wallet(certificate)
    upload = SimpleUploadedFile(name, picture(text))

    response = client.post(URL, {"text": "", "image": upload})

    assert response.status_code == 200
    assert response.context["outcome"].valid is True
    assert response.context["outcome"].certificate.identifier == certificate.identifier
    assert response.context["form"]["text"].value() == text


def test_a_photo_wins_over_text_left_in_the_box(client, certificate):
    text = services.certificate_qr_for_wallet(certificate)

    response = client.post(
        URL, {"text": "YW1:OLD", "image": SimpleUploadedFile("code.png", png(text))}
    )

    assert response.context["outcome"].valid is True
    assert response.context["form"]["text"].value() == text


def test_a_photo_of_a_tampered_code_reads_bad_signature(client, certificate):
    text = code_tampered(services.certificate_qr_for_wallet(certificate))

    response = client.post(URL, {"image": SimpleUploadedFile("code.png", png(text))})

    assert response.context["outcome"].verdict == "bad_signature"


# ---------------------------------------------------------------------------------------
# Input that is not a code: a field error, 422, never a 500


NOT_AN_IMAGE = "Choose a PNG or JPEG picture."
NO_CODE = (
    "No QR code could be read in this picture. Take a sharp photo from closer, with the "
    "whole code in view."
)
TOO_LARGE = "The photo is larger than 5 MB. Take a photo of just the code."
UNREADABLE = (
    "This text holds characters that are not part of a certificate code. Paste only the text "
    "of the code, or upload a photo of it."
)


def test_an_empty_form_asks_for_the_text_or_a_photo(client):
    response = client.post(URL, {"text": "  "})

    assert response.status_code == 422
    assert response.context["form"].errors == {
        "text": ["Paste the text of a QR code, or choose a photo of the code."]
    }
    assert response.context["outcome"] is None


def test_text_longer_than_any_qr_code_is_refused_and_kept_in_the_box(client):
    text = "YW1:" + "A" * signedqr.MAX_TEXT_LENGTH

    response = client.post(URL, {"text": text})

    assert response.status_code == 422
    assert response.context["form"].errors == {
        "text": [
            "This text is longer than any QR code can hold (at most 8192 characters). Paste "
            "only the text of the code."
        ]
    }
    assert response.context["form"]["text"].value() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("YW1:\x00\x01\x02", "Null characters are not allowed."),
        ("YW1:\x01\x02\x1b[0m\x7f", UNREADABLE),
        ("\ufffd\ufffdPNG\ufffd", UNREADABLE),
        ("YW1:\ue000", UNREADABLE),
    ],
    ids=["nul", "controls", "undecodable-bytes", "private-use"],
)
def test_binary_garbage_pasted_as_text_is_a_field_error(client, text, message):
    response = client.post(URL, {"text": text})

    assert response.status_code == 422
    assert response.context["form"].errors == {"text": [message]}


def test_undecodable_bytes_in_the_request_are_a_field_error(client):
    response = client.post(
        URL,
        b"text=YW1%3A%FF%FE%00%80",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["text"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7\n%binary", NOT_AN_IMAGE),
        (b"YW1:a code saved as text", NOT_AN_IMAGE),
        (bytes(range(256)) * 4, NOT_AN_IMAGE),
        (b"GIF89a\x01\x00\x01\x00", NOT_AN_IMAGE),
        (b"\x89PNG\r\n\x1a\n" + b"\x00broken" * 10, NO_CODE),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, NO_CODE),
    ],
    ids=["pdf", "text-file", "binary", "gif", "broken-png", "broken-jpeg"],
)
def test_a_file_that_is_not_a_png_or_jpeg_picture_is_refused(client, content, message):
    response = client.post(URL, {"image": SimpleUploadedFile("upload.png", content)})

    assert response.status_code == 422
    assert response.context["form"].errors == {"image": [message]}


def test_a_picture_without_a_code_is_refused(client):
    response = client.post(URL, {"image": SimpleUploadedFile("white.png", blank_png())})

    assert response.status_code == 422
    assert response.context["form"].errors == {"image": [NO_CODE]}


def test_an_empty_file_is_refused(client):
    response = client.post(URL, {"image": SimpleUploadedFile("empty.png", b"")})

    assert response.status_code == 422
    assert response.context["form"].errors == {"image": ["The submitted file is empty."]}


def test_a_photo_over_5_mb_is_refused_before_it_is_opened(client, certificate, monkeypatch):
    opened = []
    monkeypatch.setattr(verify_views, "qr_image_decode", opened.append)
    content = png(services.certificate_qr_for_wallet(certificate))
    oversized = content + b"\x00" * (verify_views.MAX_IMAGE_BYTES + 1 - len(content))

    response = client.post(URL, {"image": SimpleUploadedFile("big.png", oversized)})

    assert response.status_code == 422
    assert response.context["form"].errors == {"image": [TOO_LARGE]}
    assert opened == []


def test_a_photo_of_exactly_5_mb_is_read(client, certificate):
    text = services.certificate_qr_for_wallet(certificate)
    content = png(text)
    # PNG readers ignore what follows the IEND chunk.
    padded = content + b"\x00" * (verify_views.MAX_IMAGE_BYTES - len(content))

    response = client.post(URL, {"image": SimpleUploadedFile("big.png", padded)})

    assert response.status_code == 200
    assert response.context["outcome"].valid is True


def test_a_request_beyond_the_upload_limit_is_a_bad_request_not_a_server_error(client):
    response = client.post(URL, {"text": "A" * 3_000_000})

    assert response.status_code == 400


def test_one_address_checking_too_many_codes_is_asked_to_wait(client, certificate):
    text = services.certificate_qr_for_wallet(certificate)
    for _ in range(verify_views.CHECKS_PER_MINUTE):
        assert client.post(URL, {"text": "x"}).status_code == 200

    refused = client.post(URL, {"text": text})
    other_address = client.post(URL, {"text": text}, REMOTE_ADDR="192.0.2.7")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.context["outcome"] is None
    assert "Too many requests. Please try again later." in refused.content.decode()
    assert other_address.status_code == 200
    assert other_address.context["outcome"].valid is True


def test_other_methods_are_not_allowed(client):
    assert client.put(URL).status_code == 405


# ---------------------------------------------------------------------------------------
# EU DCC codes


DCC_PAYLOAD = {
    "ver": "1.3.0",
    "nam": {"fn": "Mustermann", "gn": "Erika", "fnt": "MUSTERMANN", "gnt": "ERIKA"},
    "dob": "1964-08-12",
    "v": [
        {
            "tg": "840539006",
            "vp": "1119349007",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 2,
            "sd": 2,
            "dt": "2021-05-29",
            "co": "AT",
            "is": "Ministry of Health, Austria",
            "ci": "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B",
        }
    ],
}


@pytest.fixture
def dcc_verifier(monkeypatch):
    """A platform verifier that also trusts one EU DCC signer (country AT)."""
    key = ec.generate_private_key(ec.SECP256R1())
    store = signedqr.TrustStore()
    store.add_key(b"\xdc" * 8, key.public_key(), label="AT")
    verifier = Verifier(trust=store, prefix="YW1:")
    monkeypatch.setattr(verify_views, "platform_verifier", lambda: verifier)
    now = timezone.now()
    return signedqr.sign(
        claims=DCC_PAYLOAD,
        key=key,
        kid=b"\xdc" * 8,
        prefix="HC1:",
        issuer="AT",
        issued_at=now,
        expires_at=now + datetime.timedelta(days=30),
    )


def test_an_eu_dcc_shows_its_holder_and_vaccination(client, dcc_verifier):
    response = client.post(URL, {"text": dcc_verifier})

    outcome = response.context["outcome"]
    assert (outcome.valid, outcome.signer, outcome.revocation) == (True, "AT", "not_applicable")
    assert outcome.certificate == verify_views.CertificateShown(
        type_name="EU Digital COVID Certificate: vaccination",
        identifier="URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B",
        holder_name="Erika Mustermann",
        issuer_name="Ministry of Health, Austria",
        issued_on="2021-05-29",
        fields=[
            ("Date of birth", "1964-08-12"),
            ("Disease or agent targeted", "840539006"),
            ("Vaccine or prophylaxis", "1119349007"),
            ("Vaccine product", "EU/1/20/1528"),
            ("Manufacturer", "ORG-100030215"),
            ("Dose number", "2"),
            ("Total doses", "2"),
            ("Date", "2021-05-29"),
            ("Country", "AT"),
            ("Issuer", "Ministry of Health, Austria"),
            ("Certificate identifier", "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B"),
        ],
    )
    # Revocation of an EU DCC is not this platform's: said plainly, without a warning.
    assert outcome.revocation_message == (
        "Not checked: certificates of this kind are not revoked through this platform."
    )
    assert response.context["revocation_warning"] is False


# ---------------------------------------------------------------------------------------
# In a browser: the camera where the browser can read codes, the photo where it cannot

# A stand-in for the phone: a camera stream from a canvas, and a barcode detector that
# sees the code on the second frame it is shown.
FAKE_CAMERA = """
window.__codeText = %s;
window.__detectCalls = 0;
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
  constructor(options) { window.__detectorFormats = options.formats; }
  detect(source) {
    window.__detectCalls += 1;
    return Promise.resolve(
      window.__detectCalls < 2 ? [] : [{format: "qr_code", rawValue: window.__codeText}]
    );
  }
};
navigator.mediaDevices.getUserMedia = function (constraints) {
  window.__constraints = constraints;
  var canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 64;
  canvas.getContext("2d").fillRect(0, 0, 64, 64);
  return Promise.resolve(canvas.captureStream());
};
"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_verifier_scans_the_code_with_the_phone_camera(page, marriage_type, civil_affairs):
    from playwright.sync_api import expect

    certificate = marriage(civil_affairs)
    text = services.certificate_qr_for_wallet(certificate)
    page.add_init_script(FAKE_CAMERA % json.dumps(text))

    page.goto(URL)
    page.locator("#verify-camera-start").click()

    expect(page.locator("#verify-result .verify-valid")).to_be_visible()
    expect(page.locator(".verify-certificate")).to_contain_text(certificate.identifier)
    expect(page.locator(".verify-certificate")).to_contain_text("3301**********0027")
    expect(page.locator("textarea[name=text]")).to_have_value(text)
    # The result page has the camera ready again, for the next code; QR codes only.
    expect(page.locator("#verify-camera-start")).to_be_visible()
    assert page.evaluate("window.__detectorFormats") == ["qr_code"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_camera_button_stays_hidden_where_the_browser_cannot_read_codes(page, marriage_type):
    from playwright.sync_api import expect

    page.goto(URL)

    expect(page.locator("textarea[name=text]")).to_be_visible()
    expect(page.locator("#verify-camera")).to_be_hidden()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_photo_of_the_code_is_checked(
    browser, live_server, marriage_type, civil_affairs, tmp_path
):
    from playwright.sync_api import expect

    certificate = marriage(civil_affairs)
    text = code_tampered(services.certificate_qr_for_wallet(certificate))
    photo = tmp_path / "code.png"
    photo.write_bytes(png(text))
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="zh-CN", is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(URL)
        page.locator("input[name=image]").set_input_files(photo)
        page.locator("#verify-form button[type=submit]").click()

        expect(page.locator("#verify-result .verify-invalid")).to_be_visible()
        expect(page.locator("#verify-result code")).to_have_text("bad_signature")
    finally:
        context.close()
