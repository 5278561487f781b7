"""JSON API of health codes: a person's fresh code, and checking a scanned code.

Checking is open to anyone, as for e-certificates: a checkpoint needs no account, and what it
learns is what the code itself shows (the colour, the masked name, until when the code is
valid), never the full name or ID number. Both endpoints answer 503 while health codes are
switched off (``HEALTH_EMERGENCY_ENABLED``).
"""

from __future__ import annotations

import base64
import datetime
from typing import Literal, cast

from django.http import HttpRequest
from ninja import Field, Router, Schema

from yiwang.certificates.qrimage import qr_image_encode
from yiwang.certificates.signedqr import MAX_TEXT_LENGTH, Verdict
from yiwang.core.api import ErrorOut
from yiwang.health import codes
from yiwang.health.services import health_enabled_check
from yiwang.identity.models import User

# The API's own throttles apply (60 a minute without an account, 600 with one), the same
# rates as the certificates' verification.
router = Router(tags=["health"])

ColourOut = Literal["green", "yellow", "red"]
ActionOut = Literal["pass", "flag", "refuse"]


class HealthCodeVerifyIn(Schema):
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_LENGTH,
        description="The text of the QR code, as a scanner reads it",
        examples=["YWH1:6BFOXN*TS0BI$ZDFRH…"],
    )


class HealthCodeVerifyOut(Schema):
    valid: bool
    verdict: Verdict | None = Field(description="Why the code is not valid; null when it is")
    message: str = Field(description="The verdict in plain language, in the request's language")
    colour: ColourOut | None = Field(description="The code's colour; null unless valid")
    action: ActionOut | None = Field(
        description=(
            "What the checkpoint does: pass (green), flag, i.e. check further (yellow), "
            "refuse (red); null unless valid"
        )
    )
    masked_name: str | None = Field(
        description="The holder's name, masked (张*); null unless valid", examples=["林**"]
    )
    valid_until: datetime.datetime | None = Field(
        description="When the code itself expires (a few minutes after it was shown)"
    )
    region: str | None = Field(
        description="Code of the region whose health department issued the code",
        examples=["330100"],
    )
    issuer: str | None = Field(
        description="Who signed the code, as the trust list names it",
        examples=["杭州市卫生健康委员会"],
    )


def verify_out(check: codes.HealthCodeCheck) -> HealthCodeVerifyOut:
    valid = check.verdict is None
    return HealthCodeVerifyOut(
        valid=valid,
        verdict=check.verdict,
        message=check.message,
        colour=cast(ColourOut, check.colour) if valid else None,
        action=cast(ActionOut, str(check.action)) if valid and check.action else None,
        masked_name=check.masked_name if valid else None,
        valid_until=check.valid_until if valid else None,
        region=check.region if valid else None,
        issuer=check.issuer if valid else None,
    )


class HealthCodeOut(Schema):
    text: str = Field(description="The QR code's text, to draw as a QR code")
    colour: ColourOut
    colour_label: str = Field(description="The colour in words, in the request's language")
    masked_name: str = Field(examples=["林**"])
    issued_at: datetime.datetime
    expires_at: datetime.datetime = Field(
        description="When the code stops verifying; ask for a new one before"
    )
    evaluated_at: datetime.datetime = Field(description="When the colour was last worked out")
    image: str = Field(description="The QR code as a PNG image, in a data: URL")


def code_image(text: str) -> str:
    """The QR code as an inline PNG, drawn as the certificates' wallet draws its codes."""
    return "data:image/png;base64," + base64.b64encode(qr_image_encode(text, scale=5)).decode()


@router.post(
    "/health/codes/verify",
    auth=None,
    response={200: HealthCodeVerifyOut, **dict.fromkeys((400, 413, 422, 429, 503), ErrorOut)},
    summary="Check a health code",
    description=(
        "Open to anyone: a checkpoint needs no account. A code that does not verify is still "
        "a 200 answer, with `valid` false and the verdict; 422 means the request itself is "
        "malformed (no text, or longer than any QR code). Codes of other regions verify when "
        "their trust lists are configured. The answer shows the colour, the masked name and "
        "the validity only."
    ),
)
def health_code_check(request: HttpRequest, payload: HealthCodeVerifyIn) -> HealthCodeVerifyOut:
    health_enabled_check()  # 503 while switched off
    return verify_out(codes.health_code_check(payload.text))


@router.get(
    "/health/codes/mine",
    response={200: HealthCodeOut, **dict.fromkeys((401, 403, 409, 429, 503), ErrorOut)},
    summary="A fresh health code of the logged-in person",
    description=(
        "Signed now, valid for a few minutes (`expires_at`): the code page asks for a new one "
        "before it expires. 403: the person's real name is not verified; 409: her code has "
        "no colour yet; 503: health codes are switched off."
    ),
)
def health_code_issue(request: HttpRequest) -> HealthCodeOut:
    health_enabled_check()  # 503 while switched off
    person = cast(User, request.user)
    issued = codes.health_code_issue(person=person)
    return HealthCodeOut(
        text=issued.text,
        colour=cast(ColourOut, issued.colour),
        colour_label=issued.colour_label,
        masked_name=issued.masked_name,
        issued_at=issued.issued_at,
        expires_at=issued.expires_at,
        evaluated_at=issued.evaluated_at,
        image=code_image(issued.text),
    )
