"""QR images: read the text of a scanned or uploaded picture, draw a code as PNG.

zxing-cpp reads and writes the symbols; Pillow opens PNG and JPEG and writes PNG. Both
ship wheels with everything inside, so no system library is needed.
"""

from __future__ import annotations

import io
import struct

import zxingcpp
from PIL import Image

# A phone photo is far below this; Pillow's own decompression-bomb guard starts higher.
MAX_PIXELS = 25_000_000
_QR_CODE = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
# Only these plugins parse what is uploaded: fewer parsers for hostile input to reach, and
# none that hands the file to another program (EPS would run Ghostscript).
_FORMATS = ("PNG", "JPEG")
# What Pillow's parsers and decoders raise for a damaged file (a broken PNG chunk is a
# SyntaxError, a short IHDR a ValueError, a truncated stream an OSError or EOFError).
_DAMAGED = (OSError, EOFError, SyntaxError, ValueError, struct.error)
_TOO_LARGE = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class QrImageError(ValueError):
    """The picture cannot be opened, or holds no readable QR code.

    The only exception ``qr_image_decode`` raises, whatever the bytes it is given.
    """


def _picture_open(image: bytes) -> Image.Image:
    """The decoded picture, at most ``MAX_PIXELS`` large."""
    try:
        picture = Image.open(io.BytesIO(image), formats=_FORMATS)
    except _TOO_LARGE as exc:
        # Pillow warns above its own limit, which is higher than ours; where warnings are
        # errors the warning arrives here as an exception.
        raise QrImageError("the picture is too large") from exc
    except _DAMAGED as exc:
        raise QrImageError("not a PNG or JPEG picture") from exc
    if picture.width * picture.height > MAX_PIXELS:
        picture.close()
        raise QrImageError("the picture is too large")
    try:
        picture.load()
    except _DAMAGED as exc:
        picture.close()
        raise QrImageError("the picture is damaged or truncated") from exc
    return picture


def qr_image_decode(image: bytes) -> str:
    """The text of the QR code in a PNG or JPEG picture (the first one, if several).

    Raises ``QrImageError`` for anything else: not a picture, damaged, too large, no code.
    """
    with _picture_open(image) as picture:
        try:
            codes = zxingcpp.read_barcodes(picture, formats=_QR_CODE)
        except (TypeError, ValueError) as exc:  # a pixel format zxing-cpp cannot take
            raise QrImageError("the picture cannot be read") from exc
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
