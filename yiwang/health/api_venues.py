"""JSON API of venue codes (场所码): register, list and close venues; check in from the
app's scanner; my check-ins.

A person sees only her own venues (or those of the organisation she names in
``organisation_id`` and may act for now) and her own check-ins. Every endpoint answers
503 ``health_disabled`` while health codes are switched off, and 403
``health_not_verified`` to a person whose real name is not verified where it writes.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from yiwang.core.api import ErrorOut
from yiwang.core.errors import ValidationFailed
from yiwang.health import venues
from yiwang.health.models import Venue, VenueCheckin
from yiwang.identity.models import User

router = Router(tags=["health"])
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys((401, 403, 404, 409, 422, 429, 503), ErrorOut)
LIMIT_MAX = 200


class VenueRegisterIn(Schema):
    name: str = Field(max_length=200, examples=["知味观（湖滨店）"])
    kind: str = Field(description="One of the venue kinds", examples=["restaurant"])
    region_code: str = Field(
        description="A district, county or street (township) of the platform's city",
        examples=["330106011"],
    )
    address: str = Field(max_length=400, examples=["仁和路83号"])
    contact_phone: str = Field(
        max_length=40,
        description="A mainland mobile number, or a landline with its area code",
        examples=["0571-87654321"],
    )
    organisation_id: int | None = Field(
        None, description="Register for this organisation, which you act for (办事身份)"
    )
    idempotency_key: str = Field(
        "",
        max_length=64,
        description="The same key returns the venue the first request registered",
    )


class VenueOut(Schema):
    id: int
    code: str = Field(description="The random code in the venue's QR code")
    checkin_url: str = Field(description="The page the QR code opens", examples=["/health/v/…/"])
    name: str
    kind: str
    kind_label: str
    region_code: str
    region_name: str
    address: str
    contact_phone: str
    organisation_uscc: str
    organisation_name: str
    created_at: datetime.datetime
    closed_at: datetime.datetime | None


class CheckinIn(Schema):
    venue_code: str = Field(max_length=64, description="The code read from the venue's QR code")
    idempotency_key: str = Field(
        max_length=64,
        description="A new random key for each scan; sent again, it returns the same check-in",
    )


class CheckinOut(Schema):
    id: int
    venue_code: str
    venue_name: str
    venue_address: str
    checked_in_at: datetime.datetime


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _venue_out(venue: Venue) -> VenueOut:
    return VenueOut(
        id=venue.pk,
        code=venue.code,
        checkin_url=venues.venue_checkin_url(venue),
        name=venue.name,
        kind=venue.kind,
        kind_label=str(Venue.Kind(venue.kind).label),
        region_code=venue.region.code,
        region_name=venue.region.full_name,
        address=venue.address,
        contact_phone=venue.contact_phone,
        organisation_uscc=venue.organisation_uscc,
        organisation_name=venue.organisation_name,
        created_at=venue.created_at,
        closed_at=venue.closed_at,
    )


def _checkin_out(checkin: VenueCheckin) -> CheckinOut:
    venue = checkin.venue
    return CheckinOut(
        id=checkin.pk,
        venue_code=venue.code,
        venue_name=venue.name,
        venue_address=f"{venue.region.full_name} {venue.address}",
        checked_in_at=checkin.checked_in_at,
    )


def _page_check(limit: int, offset: int) -> None:
    if not 1 <= limit <= LIMIT_MAX or offset < 0:
        raise ValidationFailed.for_field(
            "limit",
            _("Use a limit of 1 to %(max)d and an offset of 0 or more.") % {"max": LIMIT_MAX},
        )


@router.post(
    "/health/venues",
    response={200: VenueOut, 201: VenueOut, **ERRORS},
    summary="Register a venue (场所码); 201 when new, 200 for a repeated idempotency key",
)
def venue_register(request: HttpRequest, payload: VenueRegisterIn) -> Status[VenueOut]:
    """Registers a venue for me, or for the organisation ``organisation_id`` I act for
    (then everyone who acts for it manages the venue). Errors: 403 ``health_not_verified``
    (real name not verified) or ``not_acting_for_organisation``; 422 with the invalid
    fields; 503 ``health_disabled``."""
    registration = venues.venue_register(
        person=_me(request),
        name=payload.name,
        kind=payload.kind,
        region_code=payload.region_code,
        address=payload.address,
        contact_phone=payload.contact_phone,
        organisation_id=payload.organisation_id,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201 if registration.created else 200, _venue_out(registration.venue))


@router.get(
    "/health/venues",
    response={200: list[VenueOut], **ERRORS},
    summary="My venues (我的场所码), or an organisation's I act for; newest first",
)
def venues_list(
    request: HttpRequest, organisation_id: int | None = None, limit: int = 50, offset: int = 0
) -> list[VenueOut]:
    """Without ``organisation_id``: the venues I registered for myself. With it: that
    organisation's venues (403 ``not_acting_for_organisation`` if I do not act for it)."""
    _page_check(limit, offset)
    found = venues.venues_for_acting(_me(request), organisation_id)
    return [_venue_out(venue) for venue in found[offset : offset + limit]]


@router.post(
    "/health/venues/{venue_id}/close",
    response={200: VenueOut, **ERRORS},
    summary="Close a venue: its code takes no more check-ins (closing again changes nothing)",
)
def venue_close(request: HttpRequest, venue_id: int) -> VenueOut:
    """404 for a venue I do not manage; 403 ``not_acting_for_organisation`` for an
    organisation's venue I registered but no longer act for."""
    return _venue_out(venues.venue_close(actor=_me(request), venue_id=venue_id))


@router.post(
    "/health/checkins",
    response={200: CheckinOut, 201: CheckinOut, **ERRORS},
    summary="Check in at a scanned venue code; 201 when recorded, 200 for the same check-in",
)
def checkin_record(request: HttpRequest, payload: CheckinIn) -> Status[CheckinOut]:
    """The app's scanner sends the code it read. The same ``idempotency_key`` returns the
    same check-in (200), as does a second scan of the same venue within the dedupe
    window. Errors: 404 ``venue_not_found`` (not a registered venue code: forged or
    mistyped), 409 ``venue_closed``, 409 ``idempotency_key_reused`` (the key was used at
    another venue), 403 ``health_not_verified``, 503 ``health_disabled``."""
    result = venues.checkin_record(
        person=_me(request),
        venue_code=payload.venue_code,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201 if result.created else 200, _checkin_out(result.checkin))


@router.get(
    "/health/checkins",
    response={200: list[CheckinOut], **ERRORS},
    summary="My check-ins (我的场所记录) of the retention period, newest first",
)
def checkins_list(request: HttpRequest, limit: int = 50, offset: int = 0) -> list[CheckinOut]:
    _page_check(limit, offset)
    found = venues.checkins_of_person(_me(request))
    return [_checkin_out(checkin) for checkin in found[offset : offset + limit]]
