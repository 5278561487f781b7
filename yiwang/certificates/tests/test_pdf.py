"""The certificate PDF: what it says, its QR code, and its PAdES signature."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from yiwang.certificates import keys, services
from yiwang.certificates.pdf import certificate_pdf
from yiwang.certificates.qrimage import qr_image_decode
from yiwang.certificates.verification import platform_verifier
from yiwang.core.errors import Conflict
from yiwang.identity.models import StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory

pytestmark = pytest.mark.django_db

WIFE_ID = "330106199203150027"
HUSBAND_ID = "330106199001010018"


def marriage(civil_affairs, **kwargs):
    values = {
        "certificate_type": "CT-JHZ",
        "issuer": civil_affairs,
        "holder_kind": "person",
        "holder_identifier": WIFE_ID,
        "holder_name": "林晓雯",
        "data": {
            "name": "林晓雯",
            "id_number": WIFE_ID,
            "spouse_name": "周子航",
            "spouse_id_number": HUSBAND_ID,
            "registered_on": "2026-05-20",
        },
        "number": "J330106-2026-001234",
        "issued_on": datetime.date(2026, 5, 20),
    }
    values.update(kwargs)
    return services.certificate_issue(**values)


def anchor_asn1() -> asn1_x509.Certificate:
    der = keys.trust_anchor().certificate.public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)


def signature_of(pdf: bytes):
    signatures = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert len(signatures) == 1
    return signatures[0]


def _literal_strings(stream: bytes) -> list[bytes]:
    """The literal strings of a content stream, unescaped (PDF 32000 §7.3.4.2)."""
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    strings, index = [], 0
    while (start := stream.find(b"(", index)) != -1:
        out, depth, i = bytearray(), 1, start + 1
        while depth:
            char = stream[i : i + 1]
            if char == b"\\":
                following = stream[i + 1 : i + 2]
                octal = re.match(rb"[0-7]{1,3}", stream[i + 1 : i + 4])
                if octal:
                    out.append(int(octal.group(), 8) & 0xFF)
                    i += 1 + len(octal.group())
                    continue
                out += escapes.get(following, following)
                i += 2
                continue
            if char == b"(":
                depth += 1
            elif char == b")":
                depth -= 1
                if not depth:
                    break
            out += char
            i += 1
        strings.append(bytes(out))
        index = i + 1
    return strings


def pages_of(pdf: bytes) -> list:
    return [p.get_object() for p in PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"]]


def page_text(page) -> str:
    """The page's text: every string is drawn in the UCS-2 encoded CID font."""
    contents = page["/Contents"]
    streams = contents if isinstance(contents, list) else [contents]
    return "\n".join(
        part.decode("utf-16-be")
        for stream in streams
        for part in _literal_strings(stream.get_object().data)
    )


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page_text(page) for page in pages_of(pdf))


def qr_texts_of(pdf: bytes) -> list[str]:
    """The text of every QR picture on every page."""
    texts = []
    for page in pages_of(pdf):
        for _name, ref in page["/Resources"].get("/XObject", {}).items():
            image = ref.get_object()
            if image["/Subtype"] != "/Image":
                continue
            mode = {"/DeviceGray": "L", "/DeviceRGB": "RGB"}[image["/ColorSpace"]]
            picture = Image.frombytes(mode, (image["/Width"], image["/Height"]), image.data)
            png = io.BytesIO()
            picture.save(png, format="PNG")
            texts.append(qr_image_decode(png.getvalue()))
    return texts


# ---------------------------------------------------------------------------------------
# The signature


def test_the_pdf_carries_a_pades_signature_that_validates_against_the_anchor(
    marriage_type, civil_affairs
):
    certificate = marriage(civil_affairs)

    signature = signature_of(certificate_pdf(certificate))
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[anchor_asn1()]))

    assert (status.intact, status.valid, status.trusted, status.bottom_line) == (
        True,
        True,
        True,
        True,
    )
    assert status.coverage.name == "ENTIRE_FILE"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    # PAdES B-B: the signing certificate is bound by signing-certificate-v2 and the
    # signing time is in /M, not in a CMS signing-time attribute.
    assert [a["type"].native for a in signature.signer_info["signed_attrs"]] == [
        "content_type",
        "message_digest",
        "signing_certificate_v2",
    ]
    key = keys.signing_key_for(civil_affairs, "CT-JHZ")
    assert signature.signer_cert.dump() == key.certificate_der()
    assert signature.signer_cert.subject.native["common_name"] == "杭州市西湖区民政局"
    assert [c.dump() for c in signature.other_embedded_certs] == [anchor_asn1().dump()]
    assert status.md_algorithm == "sha256"


def test_changing_one_byte_of_the_pdf_breaks_its_signature(marriage_type, civil_affairs):
    certificate = marriage(civil_affairs)
    pdf = certificate_pdf(certificate)
    # The identifier in the document information, inside the signed byte range.
    position = pdf.index(f"({certificate.identifier})".encode()) + 1
    assert pdf[position : position + 1] == b"1"
    tampered = pdf[:position] + b"7" + pdf[position + 1 :]

    status = validate_pdf_signature(
        signature_of(tampered), ValidationContext(trust_roots=[anchor_asn1()])
    )

    assert status.intact is False
    assert status.bottom_line is False


def test_a_verifier_with_another_anchor_cannot_trust_the_signature(marriage_type, civil_affairs):
    pdf = certificate_pdf(marriage(civil_affairs))
    other_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "另一个信任根")])
    now = timezone.now()
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(other_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(other_key, hashes.SHA256())
    )
    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(other.public_bytes(serialization.Encoding.DER))]
    )

    status = validate_pdf_signature(signature_of(pdf), context)

    # Intact, but the anchor it carries is not one this verifier was configured with.
    assert (status.intact, status.trusted, status.bottom_line) == (True, False, False)
    assert status.trust_problem_indic.name == "NO_CERTIFICATE_CHAIN_FOUND"


def test_a_pdf_signed_after_the_key_is_retired_is_signed_by_the_new_key(
    marriage_type, civil_affairs
):
    certificate = marriage(civil_affairs)
    old = keys.signing_key_for(civil_affairs, "CT-JHZ")
    keys.signing_key_retire(old)

    signature = signature_of(certificate_pdf(certificate))

    new = keys.signing_key_for(civil_affairs, "CT-JHZ")
    assert new.kid != old.kid
    assert signature.signer_cert.dump() == new.certificate_der()


# ---------------------------------------------------------------------------------------
# What it says


def test_the_pdf_shows_the_type_holder_data_issuer_dates_identifier_and_seal(
    marriage_type, civil_affairs
):
    certificate = marriage(civil_affairs, valid_until=datetime.date(2036, 5, 19))

    pdf = certificate_pdf(certificate)
    text = pdf_text(pdf)

    assert len(pages_of(pdf)) == 1
    lines = text.split("\n")
    # The title, then label and value pairs in the type's field order.
    assert lines[lines.index("结婚证") :][:23] == [
        "结婚证",
        "持证人",
        "林晓雯",
        "公民身份号码",
        WIFE_ID,
        "证照编号",
        "J330106-2026-001234",
        "姓名",
        "林晓雯",
        "公民身份号码",
        WIFE_ID,
        "配偶姓名",
        "周子航",
        "配偶公民身份号码",
        HUSBAND_ID,
        "登记日期",
        "2026-05-20",
        "发证机关",
        "杭州市西湖区民政局",
        "发证日期",
        "2026年05月20日",
        "有效期至",
        "2036年05月19日",
    ]
    assert f"证照标识  {certificate.identifier}" in lines
    assert "电子证照专用章" in lines
    # The seal's rim reads the issuer's name, one character at a time.
    seal_start = lines.index("电子证照专用章") - len("杭州市西湖区民政局")
    assert "".join(lines[seal_start : lines.index("电子证照专用章")]) == "杭州市西湖区民政局"
    reader = PdfFileReader(io.BytesIO(pdf))
    assert reader.trailer["/Info"]["/Title"] == "结婚证"


def test_a_certificate_without_an_end_date_reads_long_term(marriage_type, civil_affairs):
    lines = pdf_text(certificate_pdf(marriage(civil_affairs))).split("\n")

    assert lines[lines.index("有效期至") + 1] == "长期"


def test_a_long_certificate_continues_on_a_second_page_and_stays_signed(
    marriage_type, civil_affairs
):
    long_text = "婚姻登记档案记载事项" * 50  # 500 characters, the most a field may hold
    certificate = marriage(
        civil_affairs,
        data={
            "name": long_text,
            "spouse_name": long_text,
            "registered_on": long_text,
            "id_number": WIFE_ID,
        },
    )

    pdf = certificate_pdf(certificate)

    pages = pages_of(pdf)
    assert len(pages) == 2
    assert "电子证照专用章" in page_text(pages[1]).split("\n")
    assert long_text in "".join(page_text(pages[0]).split("\n"))
    status = validate_pdf_signature(
        signature_of(pdf), ValidationContext(trust_roots=[anchor_asn1()])
    )
    assert status.bottom_line is True


def test_the_pdf_qr_code_is_the_long_lived_signed_code(marriage_type, civil_affairs):
    certificate = marriage(civil_affairs, valid_until=datetime.date(2028, 5, 19))

    (text,) = qr_texts_of(certificate_pdf(certificate))

    result = platform_verifier().verify(text)
    assert result.valid
    assert result.payload["id"] == certificate.identifier
    assert result.payload["h"]["i"] == "3301**********0027"
    # It lasts until the certificate's last day ends, not a wallet code's few minutes.
    end = datetime.datetime(2028, 5, 20, tzinfo=timezone.get_current_timezone())
    assert result.verified.expires_at == end


def test_the_pdf_qr_code_of_a_certificate_without_end_lasts_as_long_as_the_key(
    marriage_type, civil_affairs
):
    certificate = marriage(civil_affairs)

    (text,) = qr_texts_of(certificate_pdf(certificate))

    key = keys.signing_key_for(civil_affairs, "CT-JHZ")
    result = platform_verifier().verify(text)
    assert result.verified.expires_at == key.not_after.replace(microsecond=0)


# ---------------------------------------------------------------------------------------
# No PDF


def test_a_revoked_certificate_has_no_pdf(marriage_type, civil_affairs):
    certificate = marriage(civil_affairs)
    approver = StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.APPROVER).user
    services.certificate_revoke(actor=approver, certificate=certificate, reason="登记错误")

    with pytest.raises(Conflict) as caught:
        certificate_pdf(certificate)

    assert caught.value.code == "revoked"


def test_an_expired_certificate_has_no_pdf(marriage_type, civil_affairs):
    certificate = marriage(
        civil_affairs,
        issued_on=datetime.date(2020, 1, 1),
        valid_until=timezone.localdate() - datetime.timedelta(days=1),
    )

    with pytest.raises(Conflict) as caught:
        certificate_pdf(certificate)

    assert caught.value.code == "expired"


def test_an_organisations_pdf_names_it_by_its_credit_code(
    licence_type, market_regulation, uscc_factory
):
    company_uscc = uscc_factory(serial="MA2B3C4D5")
    certificate = services.certificate_issue(
        certificate_type="CT-YYZZ",
        issuer=market_regulation,
        holder_kind="organisation",
        holder_identifier=company_uscc,
        holder_name="杭州晓雯茶叶有限公司",
        data={
            "name": "杭州晓雯茶叶有限公司",
            "uscc": company_uscc,
            "registered_capital": "100万元",
        },
        issued_on=datetime.date(2025, 3, 1),
    )

    lines = pdf_text(certificate_pdf(certificate)).split("\n")

    assert lines[lines.index("营业执照") :][:11] == [
        "营业执照",
        "持证人",
        "杭州晓雯茶叶有限公司",
        "统一社会信用代码",
        company_uscc,
        "名称",
        "杭州晓雯茶叶有限公司",
        "统一社会信用代码",
        company_uscc,
        "注册资本",
        "100万元",
    ]
