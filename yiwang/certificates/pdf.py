"""The certificate as a signed A4 PDF (电子证照版式文件), for printing or sending on.

reportlab draws the page: the type, the holder, the data with Chinese labels, the issuer
and dates, the GB/T 36904 identifier, the long-lived signed QR code and the issuer's red
round seal. pyHanko then signs it as PAdES baseline B-B with the key that signs the
issuer's QR codes, whose X.509 certificate chains to the platform's trust anchor.

Text uses reportlab's CID font STSong-Light: no font file to install or embed, and every
PDF viewer renders Chinese with it.
"""

from __future__ import annotations

import datetime
import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.colors import Color  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from yiwang.certificates import keys, services
from yiwang.certificates.labels import (
    HOLDER_IDENTIFIER_LABELS,
    data_rows,
    qr_expires_at,
)
from yiwang.certificates.models import Certificate, SigningKey
from yiwang.certificates.qrimage import qr_image_encode
from yiwang.core.errors import Conflict

FONT = "STSong-Light"
INK = Color(0.1, 0.1, 0.1)
MUTED = Color(0.4, 0.4, 0.4)
FRAME = Color(0.55, 0.45, 0.25)
SEAL_RED = Color(0.85, 0.06, 0.08)
PAGE_WIDTH, PAGE_HEIGHT = A4
LABEL_RIGHT = 68 * mm
VALUE_LEFT = 72 * mm
VALUE_WIDTH = 110 * mm
ROWS_TOP = 232 * mm
# The QR code, the issuer's lines and the seal take the bottom of the last page.
BOTTOM_BLOCK_TOP = 100 * mm
PAGE_BOTTOM = 28 * mm
QR_SIZE = 46 * mm
SEAL_RADIUS = 21 * mm
SEAL_TEXT = "电子证照专用章"
FILL_AND_STROKE = 2  # PDF text rendering mode


@dataclass(frozen=True)
class _Line:
    label: str
    value: str


@functools.cache
def _font_register() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _date(day: datetime.date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _lines(certificate: Certificate) -> list[_Line]:
    """What the certificate says, labelled as on paper (full numbers: it is the certificate)."""
    lines = [
        _Line("持证人", certificate.holder_name),
        _Line(HOLDER_IDENTIFIER_LABELS[certificate.holder_kind], certificate.holder_identifier),
    ]
    if certificate.number:
        lines.append(_Line("证照编号", certificate.number))
    lines += [
        _Line(row.label, row.value)
        for row in data_rows(
            certificate.data,
            certificate.certificate_type.fields,
            masked=False,
            holder_kind=certificate.holder_kind,
        )
    ]
    lines += [
        _Line("发证机关", certificate.issuer.name),
        _Line("发证日期", _date(certificate.issued_on)),
        _Line("有效期至", _date(certificate.valid_until) if certificate.valid_until else "长期"),
    ]
    return lines


def _frame(canvas: Canvas, certificate: Certificate) -> None:
    canvas.setStrokeColor(FRAME)
    canvas.setLineWidth(1.2)
    canvas.rect(12 * mm, 12 * mm, PAGE_WIDTH - 24 * mm, PAGE_HEIGHT - 24 * mm)
    canvas.setLineWidth(0.4)
    canvas.rect(14 * mm, 14 * mm, PAGE_WIDTH - 28 * mm, PAGE_HEIGHT - 28 * mm)
    canvas.setFillColor(MUTED)
    canvas.setFont(FONT, 9)
    canvas.drawCentredString(
        PAGE_WIDTH / 2, PAGE_HEIGHT - 24 * mm, f"{settings.YIWANG_PLATFORM_NAME}　电子证照"
    )
    canvas.drawCentredString(PAGE_WIDTH / 2, 18 * mm, f"证照标识  {certificate.identifier}")


def _heading(canvas: Canvas, certificate: Certificate) -> None:
    canvas.setFillColor(INK)
    canvas.setFont(FONT, 26)
    canvas.drawCentredString(PAGE_WIDTH / 2, 252 * mm, certificate.certificate_type.name)


def _wrap(text: str, size: float, width: float) -> list[str]:
    """Lines of at most ``width``: Chinese breaks between any two characters, Latin text
    at a space where there is one (reportlab's own splitter breaks only at spaces)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, used = "", 0.0
        for character in paragraph:
            advance = float(pdfmetrics.stringWidth(character, FONT, size))
            if used + advance <= width or not line:
                line, used = line + character, used + advance
                continue
            cut = line.rfind(" ") if character.isascii() and line[-1].isascii() else -1
            if cut > 0:
                lines.append(line[:cut])
                line = line[cut + 1 :] + character
            else:
                lines.append(line)
                line = character.lstrip()
            used = float(pdfmetrics.stringWidth(line, FONT, size))
        lines.append(line)
    return lines


def _rows_draw(canvas: Canvas, certificate: Certificate, lines: Sequence[_Line]) -> float:
    """Draw the labelled lines from the top, on as many pages as they need; the height
    where the last page's text ends."""
    size = 11.0
    wrapped = [(line.label, _wrap(line.value, size, VALUE_WIDTH)) for line in lines]
    if sum(max(1, len(parts)) for _label, parts in wrapped) * size * 1.7 > (
        ROWS_TOP - BOTTOM_BLOCK_TOP
    ):
        size = 9.0
        wrapped = [(line.label, _wrap(line.value, size, VALUE_WIDTH)) for line in lines]
    leading = size * 1.7
    y = ROWS_TOP
    for label, parts in wrapped:
        needed = max(1, len(parts)) * leading
        if y - needed < PAGE_BOTTOM:
            canvas.showPage()
            _frame(canvas, certificate)
            y = PAGE_HEIGHT - 40 * mm
        canvas.setFont(FONT, size)
        canvas.setFillColor(MUTED)
        canvas.drawRightString(LABEL_RIGHT, y, label)
        canvas.setFillColor(INK)
        for part in parts or [""]:
            canvas.drawString(VALUE_LEFT, y, part)
            y -= leading
        y -= size * 0.4
    return float(y)


def _qr_draw(canvas: Canvas, qr_text: str, expires_at: datetime.datetime) -> None:
    # A raster image (8 pixels a module) rather than vector squares: scanners read it
    # the same, and it is the very picture the wallet shows.
    picture = ImageReader(io.BytesIO(qr_image_encode(qr_text, scale=8)))
    left, bottom = 28 * mm, 42 * mm
    canvas.drawImage(picture, left, bottom, QR_SIZE, QR_SIZE)
    canvas.setFillColor(MUTED)
    canvas.setFont(FONT, 9)
    centre = left + QR_SIZE / 2
    canvas.drawCentredString(centre, bottom - 5 * mm, "扫描二维码核验本证照")
    local = timezone.localtime(expires_at)
    canvas.drawCentredString(centre, bottom - 9.5 * mm, f"二维码有效期至 {local:%Y-%m-%d %H:%M}")


def _star(canvas: Canvas, cx: float, cy: float, outer: float) -> None:
    inner = outer * 0.382
    path = canvas.beginPath()
    for point in range(10):
        radius = outer if point % 2 == 0 else inner
        angle = math.radians(90 + point * 36)
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        if point == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def _seal_draw(canvas: Canvas, cx: float, cy: float, issuer_name: str) -> None:
    """The issuer's round seal: its name along the rim, a star, 电子证照专用章 below."""
    canvas.saveState()
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setStrokeAlpha(0.88)
    canvas.setFillAlpha(0.88)
    rim = 1.1 * mm
    canvas.setLineWidth(rim)
    canvas.circle(cx, cy, SEAL_RADIUS - rim / 2, stroke=1, fill=0)
    _star(canvas, cx, cy, SEAL_RADIUS * 0.3)
    # Seal lettering is bold; the CID font has one weight, so its glyphs are also outlined.
    canvas.setLineWidth(0.35)

    name = issuer_name.strip() or " "
    # Characters stand on a circle inside the rim, tops outwards, over at most 250°.
    size = min(5.2 * mm, (SEAL_RADIUS * 2.6) / max(len(name), 1))
    radius = SEAL_RADIUS - rim - 0.8 * mm - size * 0.88
    step = min(math.radians(250) / len(name), size * 1.12 / radius)
    start = math.pi / 2 + step * len(name) / 2
    canvas.setFont(FONT, size)
    for index, character in enumerate(name):
        angle = start - (index + 0.5) * step
        canvas.saveState()
        canvas.translate(cx + radius * math.cos(angle), cy + radius * math.sin(angle))
        canvas.rotate(math.degrees(angle) - 90)
        canvas.drawCentredString(0, 0, character, mode=FILL_AND_STROKE)
        canvas.restoreState()

    canvas.setFont(FONT, 3.3 * mm)
    canvas.drawCentredString(cx, cy - SEAL_RADIUS * 0.58, SEAL_TEXT, mode=FILL_AND_STROKE)
    canvas.restoreState()


def _issuer_draw(canvas: Canvas, certificate: Certificate, now: datetime.datetime) -> None:
    """The issuer and the date of issue, stamped over with the seal as on paper."""
    centre = PAGE_WIDTH - 58 * mm
    canvas.setFillColor(INK)
    canvas.setFont(FONT, 11)
    canvas.drawCentredString(centre, 70 * mm, certificate.issuer.name)
    canvas.drawCentredString(centre, 62 * mm, _date(certificate.issued_on))
    _seal_draw(canvas, centre, 66 * mm, certificate.issuer.name)
    canvas.setFont(FONT, 8)
    canvas.setFillColor(MUTED)
    canvas.drawCentredString(
        PAGE_WIDTH / 2,
        23 * mm,
        f"本文件于 {timezone.localtime(now):%Y-%m-%d %H:%M} 生成，由发证机关电子签名",
    )


def _document_draw(certificate: Certificate, *, qr_text: str, now: datetime.datetime) -> bytes:
    _font_register()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(certificate.certificate_type.name)
    canvas.setSubject(certificate.identifier)
    canvas.setAuthor(certificate.issuer.name)
    canvas.setCreator(settings.YIWANG_PLATFORM_NAME)
    _frame(canvas, certificate)
    _heading(canvas, certificate)
    end = _rows_draw(canvas, certificate, _lines(certificate))
    if end < BOTTOM_BLOCK_TOP:
        canvas.showPage()
        _frame(canvas, certificate)
    _qr_draw(canvas, qr_text, qr_expires_at(qr_text))
    _issuer_draw(canvas, certificate, now)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _signer(key: SigningKey) -> signers.SimpleSigner:
    private = keys.signing_key_private(key).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    anchor = keys.trust_anchor().certificate.public_bytes(serialization.Encoding.DER)
    # The anchor travels in the signature, so a verifier can build the whole chain.
    chain = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    chain.register(asn1_x509.Certificate.load(anchor))
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(key.certificate_der()),
        signing_key=asn1_keys.PrivateKeyInfo.load(private),
        cert_registry=chain,
    )


def _sign(document: bytes, *, key: SigningKey, certificate: Certificate) -> bytes:
    """PAdES baseline B-B: CAdES detached, signing-certificate-v2, no timestamp."""
    metadata = signers.PdfSignatureMetadata(
        field_name="Signature1",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="电子证照签发",
        name=certificate.issuer.name,
    )
    signed = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(document)), metadata, signer=_signer(key)
    )
    return bytes(signed.getvalue())


def certificate_pdf(certificate: Certificate, *, now: datetime.datetime | None = None) -> bytes:
    """The certificate as an A4 PDF signed by its issuer's key in force.

    A revoked or expired certificate has none (``Conflict``).
    """
    if certificate.status != Certificate.Status.VALID:
        raise Conflict(_("A revoked certificate cannot be downloaded."), code="revoked")
    now = now or timezone.now()
    # As long as the certificate or the key lasts: the code is printed.
    qr_text = services.certificate_qr(certificate, now=now, lifetime=None)
    key = services.signing_key_in_force(certificate.issuer, certificate.certificate_type)
    document = _document_draw(certificate, qr_text=qr_text, now=now)
    return _sign(document, key=key, certificate=certificate)
