"""QR images: read the text of a scanned or uploaded picture, draw a code as PNG.

zxing-cpp reads and writes the symbols; Pillow opens PNG and JPEG and writes PNG. Both
ship wheels with everything inside, so no system library is needed.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, UnidentifiedImageError

# A phone photo is far below this; Pillow's own decompression-bomb guard starts higher.
MAX_PIXELS = 25_000_000
_QR_CODE = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class QrImageError(ValueError):
    """The picture cannot be opened, or holds no readable QR code."""


def qr_image_decode(image: bytes) -> str:
    """The text of the QR code in a PNG or JPEG picture (the first one, if several)."""
    try:
        with Image.open(io.BytesIO(image)) as picture:
            if picture.width * picture.height > MAX_PIXELS:
                raise QrImageError("the picture is too large")
            picture.load()
            codes = zxingcpp.read_barcodes(picture, formats=_QR_CODE)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise QrImageError("not a PNG or JPEG picture") from exc
    for code in codes:
        if code.valid and code.text:
            return code.text
    raise QrImageError("no readable QR code in the picture")


def qr_image_encode(text: str, *, scale: int = 4, ec_level: str = "Q") -> bytes:
    """A PNG of ``text`` as a QR code; ``scale`` pixels per module, quiet zone included.

    Level Q (25% recovery) is what the EU DCC recommends for printed and screen codes.
    """
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    picture = Image.fromarray(code.to_image(scale=scale))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
