"""Venue codes (场所码) and check-ins: register and close venues, scan to check in, the
person's own check-ins, and the retention purge. Use cases that write, and the reads they
need with their permission scoping, in one module.

A venue belongs to the person who registered it, or (registered while she acted for an
organisation, 办事身份) to the organisation: then whoever may act for it now, its legal
representative or a current agent, manages it. Everything here needs the module switched
on (``HEALTH_EMERGENCY_ENABLED``), except the purge, which must keep running.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import zxingcpp
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.certificates.qrimage import qr_image_encode
from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, Message, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.models import Region
from yiwang.health.models import Venue, VenueCheckin
from yiwang.health.services import health_enabled_check
from yiwang.identity.models import Organisation, User
from yiwang.identity.selectors import ActingChoice, acting_choice_for, acting_choices_for

NAME_MAX = 100
ADDRESS_MAX = 200
IDEMPOTENCY_KEY_MAX = 64
# 10 random bytes are 16 base32 characters: 80 bits nobody can guess or count through.
CODE_BYTES = 10
CODE_ATTEMPTS = 5
# A code in a URL is at most as long as the column; anything longer is not looked up.
CODE_MAX = 24
# How long an idempotency key is remembered: a client retries within seconds or minutes,
# a day covers a phone that lost its connection overnight.
IDEMPOTENCY_SECONDS = 24 * 3600
# Check-ins deleted per statement by the purge: each batch is its own short transaction.
PURGE_BATCH = 10_000
_TOKEN_SALT = "yiwang.health.venues.checkin"  # noqa: S105 - a signing salt, not a secret
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Area codes are 010 and 02x (three digits) or 0 and three more; local numbers have 7 or 8
# digits and start with 2-9.
_LANDLINE_RE = re.compile(r"^(010|02\d|0[3-9]\d{2})-?([2-9]\d{6,7})$")


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _verified_check(person: User) -> None:
    """Tracing finds people by their resident ID number: only a verified person has one."""
    if not person.is_real_name_verified or not person.id_number:
        raise PermissionDenied(
            _("Complete real-name verification to use venue codes."),
            code="health_not_verified",
        )


def _clean_text(value: str | None) -> str:
    """One line: control characters dropped, runs of white space made one space."""
    printable = "".join(c if c.isprintable() else " " for c in value or "")
    return " ".join(printable.split())


def venue_phone_parse(value: str | None) -> str:
    """A mainland mobile number, or a landline with its area code as ``0571-87654321``."""
    phone = "".join((value or "").split()).removeprefix("+86")
    if not phone:
        raise ValidationFailed.for_field("contact_phone", _("Give a contact phone number."))
    if _MOBILE_RE.match(phone):
        return phone
    landline = _LANDLINE_RE.match(phone)
    if landline is None:
        raise ValidationFailed.for_field(
            "contact_phone",
            _(
                "Enter an 11-digit mainland mobile number, or a landline with its area "
                "code such as 0571-87654321."
            ),
        )
    return f"{landline[1]}-{landline[2]}"


# ---------------------------------------------------------------------------------------
# Reads


def venue_regions() -> QuerySet[Region]:
    """The districts, counties and townships of the platform's city (HEALTH_VENUE_CITY)."""
    city = settings.HEALTH_VENUE_CITY
    return (
        Region.objects.filter(level__in=(Region.Level.COUNTY, Region.Level.TOWNSHIP))
        .filter(Q(parent__code=city) | Q(parent__parent__code=city))
        .select_related("parent")
        .order_by("code")
    )


def venues_of_person(person: User) -> QuerySet[Venue]:
    """The venues she registered for herself (not those of an organisation), newest first."""
    health_enabled_check()
    return Venue.objects.filter(registered_by=person, organisation_uscc="").select_related("region")


def venues_of_organisation(organisation: Organisation) -> QuerySet[Venue]:
    """The organisation's venues, whoever registered them, newest first."""
    health_enabled_check()
    return Venue.objects.filter(organisation_uscc=organisation.uscc).select_related("region")


def venues_for_acting(person: User, organisation_id: int | None) -> QuerySet[Venue]:
    """我的场所码: her own venues, or those of the organisation she acts for (403 if she
    may not act for it now)."""
    if organisation_id is None:
        return venues_of_person(person)
    return venues_of_organisation(_acting_choice(person, organisation_id).organisation)


def _acting_choice(person: User, organisation_id: int) -> ActingChoice:
    choice = acting_choice_for(person, organisation_id)
    if choice is None:
        raise PermissionDenied(
            _("You may not act for this organisation."), code="not_acting_for_organisation"
        )
    return choice


def venue_for_manager(user: User, venue_id: int, *, for_update: bool = False) -> Venue:
    """A venue the user manages now. Anyone else's is not found (404), so ids say nothing;
    a venue she registered for an organisation she no longer acts for is refused (403)."""
    health_enabled_check()
    rows = Venue.objects.select_related("region")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    venue = rows.filter(pk=venue_id).first()
    if venue is None:
        raise NotFound()
    if not venue.organisation_uscc:
        if venue.registered_by_id != user.pk:
            raise NotFound()
        return venue
    if any(c.organisation.uscc == venue.organisation_uscc for c in acting_choices_for(user)):
        return venue
    if venue.registered_by_id == user.pk:
        raise PermissionDenied(
            _(
                "You no longer act for %(organisation)s, so you can no longer manage its "
                "venue codes."
            )
            % {"organisation": venue.organisation_name},
            code="not_acting_for_organisation",
        )
    raise NotFound()


def venue_by_code(code: str) -> Venue:
    """The venue a scanned code names; a code that is not one (forged or mistyped) is a
    404 ``venue_not_found``. Closed venues are returned: the caller says they are closed."""
    health_enabled_check()
    code = (code or "").strip().lower()
    venue = (
        Venue.objects.select_related("region").filter(code=code).first()
        if 0 < len(code) <= CODE_MAX
        else None
    )
    if venue is None:
        raise NotFound(
            _(
                "This is not a registered venue code. It may have been forged or mistyped: "
                "tell the venue, and scan only codes on its official poster."
            ),
            code="venue_not_found",
        )
    return venue


def venue_checkin_url(venue: Venue) -> str:
    """The path the venue's QR code opens (made absolute with the site's address)."""
    return reverse("health:venue_checkin", kwargs={"code": venue.code})


def checkin_retention_days() -> int:
    return int(settings.HEALTH_CHECKIN_RETENTION_DAYS)


def checkins_retained_since(now: datetime.datetime | None = None) -> datetime.datetime:
    """The oldest moment a check-in is kept for: HEALTH_CHECKIN_RETENTION_DAYS ago."""
    return _now(now) - datetime.timedelta(days=checkin_retention_days())


def checkins_of_person(
    person: User, *, now: datetime.datetime | None = None
) -> QuerySet[VenueCheckin]:
    """我的场所记录: her check-ins of the retention period, newest first."""
    health_enabled_check()
    return (
        VenueCheckin.objects.filter(person=person, checked_in_at__gte=checkins_retained_since(now))
        .select_related("venue__region")
        .order_by("-checked_in_at", "-id")
    )


# ---------------------------------------------------------------------------------------
# QR codes


def venue_qr_png(url: str, *, scale: int = 10) -> bytes:
    return qr_image_encode(url, scale=scale)


def venue_qr_svg(url: str) -> bytes:
    """The QR code as SVG, one unit a module, scalable to any print size."""
    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="Q")
    svg = code.to_svg(add_quiet_zones=True)
    size = re.search(r'<svg width="(\d+)" height="(\d+)"', svg)
    if size is not None:
        # Without a viewBox the drawing keeps its pixel size whatever size it is shown at.
        svg = svg.replace(
            size[0],
            f'{size[0]} viewBox="0 0 {size[1]} {size[2]}" shape-rendering="crispEdges"',
            1,
        )
    return svg.encode()


# ---------------------------------------------------------------------------------------
# Registering and closing venues


@dataclass(frozen=True)
class VenueRegistration:
    venue: Venue
    created: bool


def _idempotency_key_check(key: str) -> str:
    key = (key or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed.for_field(
            "idempotency_key",
            _("At most %(count)d characters.") % {"count": IDEMPOTENCY_KEY_MAX},
        )
    return key


def _remembered_key(kind: str, person: User, key: str) -> str:
    # Hashed: any characters the client sends make a short, safe cache key.
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"health:{kind}:{person.pk}:{digest}"


def _lock(person: User) -> None:
    """One use case at a time per person: a double tap arrives as two requests at once,
    and both would see nothing yet and both write."""
    User.objects.select_for_update().filter(pk=person.pk).first()


def _venue_code_new() -> str:
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode().lower()


@transaction.atomic
def venue_register(
    *,
    person: User,
    name: str,
    kind: str,
    region_code: str,
    address: str,
    contact_phone: str,
    organisation_id: int | None = None,
    idempotency_key: str = "",
    now: datetime.datetime | None = None,
) -> VenueRegistration:
    """Register a venue for herself, or for the organisation she acts for.

    Every invalid field is reported at once; nothing is stored then. The same
    idempotency key (a form posted twice, a retried request) returns the same venue.
    """
    health_enabled_check()
    _verified_check(person)
    key = _idempotency_key_check(idempotency_key)
    organisation = (
        _acting_choice(person, organisation_id).organisation
        if organisation_id is not None
        else None
    )
    errors: dict[str, list[Message]] = {}
    name = _clean_text(name)
    address = _clean_text(address)
    if not name:
        errors["name"] = [_("Give the venue's name as it is shown at its entrance.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("At most %(count)d characters.") % {"count": NAME_MAX}]
    if kind not in Venue.Kind.values:
        errors["kind"] = [_("Choose the kind of venue.")]
    region = venue_regions().filter(code=(region_code or "").strip()).first()
    if region is None:
        errors["region_code"] = [
            _("Choose a district, county or street of %(city)s.")
            % {"city": _city_name() or settings.HEALTH_VENUE_CITY}
        ]
    if not address:
        errors["address"] = [_("Give the street address, with the building number.")]
    elif len(address) > ADDRESS_MAX:
        errors["address"] = [_("At most %(count)d characters.") % {"count": ADDRESS_MAX}]
    try:
        phone = venue_phone_parse(contact_phone)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors or region is None:
        raise ValidationFailed(fields=errors)

    _lock(person)
    if key:
        remembered = cache.get(_remembered_key("venue", person, key))
        existing = (
            Venue.objects.filter(pk=remembered, registered_by=person).first()
            if remembered is not None
            else None
        )
        if existing is not None:
            return VenueRegistration(existing, created=False)
    venue = _venue_create(
        name=name,
        kind=kind,
        region=region,
        address=address,
        registered_by=person,
        organisation=organisation,
        contact_phone=phone,
        created_at=_now(now),
    )
    if key:
        cache.set(_remembered_key("venue", person, key), venue.pk, IDEMPOTENCY_SECONDS)
    audit_record(
        actor=person,
        action="health.venue_register",
        target=venue,
        acting_for=organisation.name if organisation is not None else "",
        detail={"kind": kind, "region": region.code},
    )
    return VenueRegistration(venue, created=True)


def _city_name() -> str:
    city = Region.objects.filter(code=settings.HEALTH_VENUE_CITY).first()
    return city.name if city is not None else ""


def _venue_create(
    *, organisation: Organisation | None, registered_by: User, **fields: Any
) -> Venue:
    """A new venue with a fresh random code, drawn again in the unlikely event it is taken."""
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Venue.objects.create(
                    code=_venue_code_new(),
                    registered_by=registered_by,
                    organisation_uscc=organisation.uscc if organisation is not None else "",
                    organisation_name=organisation.name[:100] if organisation is not None else "",
                    **fields,
                )
        except IntegrityError:
            continue
    raise Conflict(
        _("No free venue code could be drawn. Please try again."), code="venue_code_exhausted"
    )


@transaction.atomic
def venue_close(*, actor: User, venue_id: int, now: datetime.datetime | None = None) -> Venue:
    """Close a venue she manages: its code refuses check-ins from then. Closing a closed
    venue changes nothing."""
    venue = venue_for_manager(actor, venue_id, for_update=True)
    if venue.closed_at is not None:
        return venue
    venue.closed_at = _now(now)
    venue.save(update_fields=["closed_at"])
    audit_record(
        actor=actor,
        action="health.venue_close",
        target=venue,
        acting_for=venue.organisation_name,
    )
    return venue


# ---------------------------------------------------------------------------------------
# Check-ins


@dataclass(frozen=True)
class CheckinResult:
    checkin: VenueCheckin
    # False when an earlier check-in was returned: a replayed form or key, or a second
    # scan within HEALTH_CHECKIN_DEDUPE_MINUTES.
    created: bool


def _open_venue(code: str) -> Venue:
    venue = venue_by_code(code)
    if venue.closed_at is not None:
        raise Conflict(
            _("%(venue)s has closed its venue code: check-ins are no longer taken here.")
            % {"venue": venue.name},
            code="venue_closed",
        )
    return venue


def checkin_token_issue(*, person: User, venue: Venue, now: datetime.datetime | None = None) -> str:
    """The signed token the check-in page's confirm button carries: this venue, this
    person, issued now. It is valid for HEALTH_CHECKIN_TOKEN_SECONDS."""
    issued = int(_now(now).timestamp())
    return signing.dumps({"v": venue.code, "u": person.pk, "t": issued}, salt=_TOKEN_SALT)


def _token_issued_at(
    token: str, *, person: User, venue: Venue, now: datetime.datetime
) -> datetime.datetime:
    try:
        payload = signing.loads(token or "", salt=_TOKEN_SALT)
        issued = datetime.datetime.fromtimestamp(int(payload["t"]), tz=datetime.UTC)
        bound_to = (payload["v"], payload["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise PermissionDenied(
            _("This check-in page was not issued by the platform. Scan the venue code again."),
            code="checkin_token_invalid",
        ) from exc
    if bound_to != (venue.code, person.pk):
        raise PermissionDenied(
            _(
                "This check-in page was opened for another person or another venue. "
                "Scan the venue code yourself."
            ),
            code="checkin_token_mismatch",
        )
    if now - issued > datetime.timedelta(seconds=settings.HEALTH_CHECKIN_TOKEN_SECONDS):
        raise Conflict(
            _("This check-in page has expired. Scan the venue code again."),
            code="checkin_token_expired",
        )
    return issued


def _checkin_since(person: User, venue: Venue, since: datetime.datetime) -> VenueCheckin | None:
    return (
        VenueCheckin.objects.select_related("venue__region")
        .filter(person=person, venue=venue, checked_in_at__gte=since)
        .order_by("-checked_in_at", "-id")
        .first()
    )


def _dedupe_since(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(minutes=settings.HEALTH_CHECKIN_DEDUPE_MINUTES)


def _checkin_create(person: User, venue: Venue, now: datetime.datetime) -> VenueCheckin:
    return VenueCheckin.objects.create(person=person, venue=venue, checked_in_at=now)


@transaction.atomic
def checkin_confirm(
    *, person: User, venue_code: str, token: str, now: datetime.datetime | None = None
) -> CheckinResult:
    """Record the check-in the venue's page asked her to confirm.

    The token is signed, bound to the venue and the person, and expires. One row per
    replay without a column for the token: any check-in of hers at this venue since the
    token was issued is the one this token made (or one made just before it), so a
    replayed form returns it. Scanning again within the dedupe window does the same.
    Derived from the rows rather than a nonce kept in the cache, because the cache may
    evict entries (the database cache culls at MAX_ENTRIES) and a lost nonce would let a
    replay through; the rows are there as long as the token is valid.
    """
    health_enabled_check()
    _verified_check(person)
    now = _now(now)
    venue = _open_venue(venue_code)
    issued = _token_issued_at(token, person=person, venue=venue, now=now)
    _lock(person)
    existing = _checkin_since(person, venue, min(issued, _dedupe_since(now)))
    if existing is not None:
        return CheckinResult(existing, created=False)
    return CheckinResult(_checkin_create(person, venue, now), created=True)


@transaction.atomic
def checkin_record(
    *,
    person: User,
    venue_code: str,
    idempotency_key: str,
    now: datetime.datetime | None = None,
) -> CheckinResult:
    """A check-in from the app's own scanner; the same idempotency key returns the same
    check-in. A key is remembered for a day (in the cache); a second scan within the
    dedupe window returns the earlier check-in whether or not the key is still known."""
    health_enabled_check()
    _verified_check(person)
    now = _now(now)
    key = _idempotency_key_check(idempotency_key)
    if not key:
        raise ValidationFailed.for_field(
            "idempotency_key", _("Send a new random key with each scan.")
        )
    venue = _open_venue(venue_code)
    _lock(person)
    remembered_key = _remembered_key("checkin", person, key)
    remembered = cache.get(remembered_key)
    if remembered is not None:
        earlier = (
            VenueCheckin.objects.select_related("venue__region")
            .filter(pk=remembered, person=person)
            .first()
        )
        if earlier is not None:
            if earlier.venue_id != venue.pk:
                raise Conflict(
                    _("This idempotency key was already used for a check-in at another venue."),
                    code="idempotency_key_reused",
                )
            return CheckinResult(earlier, created=False)
    existing = _checkin_since(person, venue, _dedupe_since(now))
    result = (
        CheckinResult(existing, created=False)
        if existing is not None
        else CheckinResult(_checkin_create(person, venue, now), created=True)
    )
    cache.set(remembered_key, result.checkin.pk, IDEMPOTENCY_SECONDS)
    return result


# ---------------------------------------------------------------------------------------
# Retention


@dataclass(frozen=True)
class CheckinsPurged:
    before: datetime.datetime
    count: int
    dry_run: bool


def checkins_purge(
    *,
    before: datetime.datetime | None = None,
    batch_size: int = PURGE_BATCH,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
) -> CheckinsPurged:
    """Delete check-ins older than ``before`` (default: HEALTH_CHECKIN_RETENTION_DAYS ago).

    Not one transaction: each batch of ``batch_size`` rows is deleted by its own short
    statement (``DELETE ... WHERE id IN (SELECT id ... LIMIT n)``), so a table of a
    hundred million rows is never locked at once and a stopped run keeps what it did.
    Runs whether the module is on or off; safe to run daily and twice at once.
    """
    if batch_size < 1:
        raise ValidationFailed.for_field("batch_size", _("Delete at least one row a batch."))
    cutoff = before or checkins_retained_since(now)
    old = VenueCheckin.objects.filter(checked_in_at__lt=cutoff)
    if dry_run:
        return CheckinsPurged(before=cutoff, count=old.count(), dry_run=True)
    deleted = 0
    while True:
        with transaction.atomic():
            batch = old.order_by().values("pk")[:batch_size]
            count, _by_model = VenueCheckin.objects.filter(pk__in=batch).delete()
        deleted += count
        if count < batch_size:
            break
    if deleted:
        audit_record(
            actor=None,
            action="health.checkins_purge",
            object_type="health.venuecheckin",
            detail={"deleted": deleted, "before": cutoff.isoformat()},
        )
    return CheckinsPurged(before=cutoff, count=deleted, dry_run=False)
