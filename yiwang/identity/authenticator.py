"""What a staff member's authenticator app needs: the secret, its otpauth URI and QR code.

These are shown to the device's owner while setting it up and never logged. The account
is named by its masked phone number, so the app and the QR code do not carry it whole.
"""

from __future__ import annotations

import base64
from binascii import unhexlify
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from yiwang.core.masking import mask_phone


def authenticator_secret(key_hex: str) -> str:
    """The base32 secret to type into an app, in groups of four."""
    secret = base64.b32encode(unhexlify(key_hex)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def authenticator_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI (Google's Key Uri Format) that authenticator apps scan."""
    issuer = settings.YIWANG_PLATFORM_NAME.replace(":", "")
    label = f"{issuer}:{mask_phone(device.user.phone)}"
    params = {
        "secret": authenticator_secret(device.key).replace(" ", ""),
        "issuer": issuer,
        "algorithm": "SHA1",
        "digits": device.digits,
        "period": device.step,
    }
    return f"otpauth://totp/{quote(label)}?{urlencode(params, quote_via=quote)}"


def authenticator_qr(uri: str) -> str:
    """The URI as a QR code, an SVG data URI for an ``<img>``."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def authenticator_code(
    key_hex: str, *, step: int = 30, digits: int = 6, at: float | None = None
) -> str:
    """The code an app shows for this secret now (or at Unix time ``at``): demo and tests."""
    totp = TOTP(unhexlify(key_hex), step=step, digits=digits)
    if at is not None:
        totp.time = at
    return f"{totp.token():0{digits}d}"
