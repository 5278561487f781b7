"""Signed health codes (健康码): a person's short-lived code, and checking codes online and offline.

A health code is a signed QR code in the e-certificates' container (``certificates.signedqr``:
a CWT in a COSE_Sign1, zlib, Base45) with its own prefix (``HEALTH_CODE_PREFIX``), signed
ES256 by the city health department's key, which the platform's trust anchor certifies for
the type "health-code" and nothing else. The trust list carries that key, so another
region's platform that accepts our anchor verifies our codes offline, and we theirs.

A code lives ``HEALTH_CODE_SECONDS``: a screenshot soon stops working. Its claims hold only
what a checkpoint needs: the colour, the masked name (and an ID number masked down to its
first and last characters), the issuing region and when the colour was last evaluated.
"""

from __future__ import annotations

import base64
import datetime
import enum
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiwang.certificates import keys, signedqr
from yiwang.certificates.models import SigningKey
from yiwang.certificates.signedqr import SignedQrError, Verdict
from yiwang.certificates.verification import Verifier, peers_configured, platform_verifier
from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, PermissionDenied, ServiceUnavailable
from yiwang.core.masking import mask_name
from yiwang.health.models import Colour, HealthStatus
from yiwang.health.selectors import health_status_current
from yiwang.health.services import health_enabled_check, health_status_refresh
from yiwang.identity.models import Department, User

CODE_TYPE = "health-code"
CLAIMS_VERSION = 1
TRUST_BUNDLE_FORMAT = 1

# The claims, under short names: every byte makes the QR code denser.
CLAIM_VERSION = "ver"
CLAIM_TYPE = "t"
CLAIM_COLOUR = "c"
CLAIM_NAME = "n"
CLAIM_ID_NUMBER = "i"
CLAIM_REGION = "r"
CLAIM_EVALUATED = "e"


class Action(enum.StrEnum):
    """What a checkpoint does with a valid code."""

    PASS = "pass"  # 通行 (an action, not a password)  # noqa: S105
    FLAG = "flag"  # 请进一步核验
    REFUSE = "refuse"  # 禁止通行


ACTIONS: Mapping[str, Action] = {
    Colour.GREEN: Action.PASS,
    Colour.YELLOW: Action.FLAG,
    Colour.RED: Action.REFUSE,
}

# Words, never the colour alone: 绿码, 黄码, 红码.
COLOUR_LABELS: Mapping[str, Promise] = {
    Colour.GREEN: gettext_lazy("Green code"),
    Colour.YELLOW: gettext_lazy("Yellow code"),
    Colour.RED: gettext_lazy("Red code"),
}
ACTION_LABELS: Mapping[str, Promise] = {
    Action.PASS: gettext_lazy("Pass"),
    Action.FLAG: gettext_lazy("Check further"),
    Action.REFUSE: gettext_lazy("Do not let through"),
}

# What each verdict means, for whoever holds the checkpoint phone.
VERDICT_MESSAGES: Mapping[Verdict, Promise] = {
    Verdict.NOT_A_QR: gettext_lazy(
        "There is no code text to check, or the text is far too long to be a health code."
    ),
    Verdict.WRONG_PREFIX: gettext_lazy(
        "This is not a health code. It may be another kind of QR code, such as a payment "
        "code, a venue code or a web link."
    ),
    Verdict.BAD_BASE45: gettext_lazy(
        "The code is damaged or incomplete: it holds characters a health code cannot have. "
        "Scan it again."
    ),
    Verdict.BAD_COMPRESSION: gettext_lazy(
        "The code is damaged or incomplete: its content cannot be unpacked. Scan it again."
    ),
    Verdict.BAD_CBOR: gettext_lazy(
        "The code's content is damaged or not in the format of a health code."
    ),
    Verdict.UNKNOWN_KEY: gettext_lazy(
        "The code was signed with a key this checkpoint does not know. It may be forged, or "
        "come from a region whose health codes are not recognised here."
    ),
    Verdict.BAD_SIGNATURE: gettext_lazy(
        "The signature does not match the content: the code has been altered or forged."
    ),
    Verdict.EXPIRED: gettext_lazy(
        "The code has expired or is not valid yet. A health code is valid for a few minutes "
        "only: ask the holder to refresh it and show it again."
    ),
    Verdict.REVOKED: gettext_lazy("The code has been revoked. It is no longer valid."),
    Verdict.KEY_NOT_ALLOWED: gettext_lazy(
        "The key that signed the code may not sign health codes. Treat the code as forged."
    ),
}
VALID_MESSAGE = gettext_lazy("The health code is genuine and valid.")

# The online verifier is kept per process and rebuilt at least this often (so that a peer
# trust list past its next update, or a peer removed, is dropped), and at once when a code
# names a key it does not know and the keys or the peers' files have changed.
VERIFIER_MAX_AGE_SECONDS = 300
# Private keys parsed once per process (a PEM parse costs more than the signature).
_PRIVATE_KEYS_MAX = 32


def verdict_message(verdict: Verdict | None) -> str:
    return str(VALID_MESSAGE if verdict is None else VERDICT_MESSAGES[verdict])


_PREFIX_SETTINGS = ("HEALTH_CODE_PREFIX", "HEALTH_CODE_PEER_PREFIXES")
_prefixes: tuple[str, ...] | None = None


def health_code_prefixes() -> tuple[str, ...]:
    """Ours first, then other regions' (``HEALTH_CODE_PEER_PREFIXES``).

    Kept once worked out (every scan asks), and worked out again when either setting
    changes (``setting_changed``, as in tests)."""
    global _prefixes
    if _prefixes is None:
        _prefixes = tuple(
            dict.fromkeys([settings.HEALTH_CODE_PREFIX, *settings.HEALTH_CODE_PEER_PREFIXES])
        )
    return _prefixes


@receiver(setting_changed)
def _prefixes_forget(*, setting: str, **kwargs: Any) -> None:
    global _prefixes
    if setting in _PREFIX_SETTINGS:
        _prefixes = None


def mask_id_number_short(value: str | None) -> str:
    """3****************7: the first and the last character only (a checkpoint needs less
    than the owner's own pages, which keep four at each end)."""
    if not value:
        return ""
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


# ---------------------------------------------------------------------------------------
# Signing


def health_code_text(
    *,
    colour: str,
    name: str,
    id_number: str,
    region_code: str,
    evaluated_at: datetime.datetime,
    key: signedqr.PrivateKey,
    kid: bytes,
    issued_at: datetime.datetime,
    expires_at: datetime.datetime,
    prefix: str,
) -> str:
    """The signed QR text of a health code; the name and ID number are masked here."""
    return signedqr.sign(
        claims={
            CLAIM_VERSION: CLAIMS_VERSION,
            CLAIM_TYPE: CODE_TYPE,
            CLAIM_COLOUR: colour,
            CLAIM_NAME: mask_name(name),
            CLAIM_ID_NUMBER: mask_id_number_short(id_number),
            CLAIM_REGION: region_code,
            CLAIM_EVALUATED: int(evaluated_at.timestamp()),
        },
        key=key,
        kid=kid,
        prefix=prefix,
        issuer=region_code or "CN",
        issued_at=issued_at,
        expires_at=expires_at,
    )


@dataclass(frozen=True)
class HealthCode:
    """A person's freshly signed code."""

    text: str
    colour: str
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    evaluated_at: datetime.datetime
    masked_name: str
    region_code: str

    @property
    def colour_label(self) -> str:
        return str(COLOUR_LABELS[self.colour])


def health_code_department() -> Department | None:
    """The department whose key signs health codes: ``HEALTH_CODE_DEPARTMENT``, or the
    active health department of the highest region that has one (the city's 卫健委)."""
    departments = Department.objects.filter(
        kind=Department.Kind.HEALTH, is_active=True
    ).select_related("region")
    if settings.HEALTH_CODE_DEPARTMENT:
        return departments.filter(code=settings.HEALTH_CODE_DEPARTMENT).first()
    return departments.order_by("region__level", "region__code", "code").first()


def _signing_key(department: Department) -> SigningKey:
    """The department's health-code key; made on first need, once."""
    key = keys.signing_key_for(department, CODE_TYPE)
    if key is not None:
        return key
    # Two first codes at once: the second waits for the first one's key, and uses it.
    Department.objects.select_for_update().filter(pk=department.pk).first()
    key = keys.signing_key_for(department, CODE_TYPE)
    if key is None:
        key = keys.signing_key_create(department=department, certificate_types=[CODE_TYPE])
        audit_record(
            actor=None,
            action="health.code_key_create",
            target=key,
            detail={"department": department.code, "kid": key.kid},
        )
    return key


_private_keys: dict[str, ec.EllipticCurvePrivateKey] = {}


def _private_key(key: SigningKey) -> ec.EllipticCurvePrivateKey:
    # A kid is a digest of the key's certificate: one kid, one key, in any key folder.
    private = _private_keys.get(key.kid)
    if private is None:
        private = keys.signing_key_private(key)
        if len(_private_keys) >= _PRIVATE_KEYS_MAX:
            _private_keys.clear()
        _private_keys[key.kid] = private
    return private


def _evaluated_marker(person: User) -> str:
    return f"health:code:evaluated:{person.pk}"


def _end_of_day(moment: datetime.datetime) -> datetime.datetime:
    day = timezone.localdate(moment) + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(), tzinfo=timezone.get_current_timezone())


def _colour_current(person: User, now: datetime.datetime) -> tuple[HealthStatus, datetime.datetime]:
    """The person's current colour and when it was last evaluated.

    The colour is recomputed when there is none yet, or when it was last evaluated before
    today. A recomputation that finds the same colour writes nothing (the history holds
    changes only), so the moment is kept in the cache until the day ends: the rules then
    run at most once a day per person for her code, however often she shows it.
    """
    status = health_status_current(person)
    evaluated = status.evaluated_at if status is not None else None
    marker = cache.get(_evaluated_marker(person))
    if isinstance(marker, int | float) and (evaluated is None or marker > evaluated.timestamp()):
        evaluated = datetime.datetime.fromtimestamp(marker, tz=datetime.UTC)
    if evaluated is None or timezone.localdate(evaluated) < timezone.localdate(now):
        try:
            status = health_status_refresh(person=person, clock=now)
        except Conflict as exc:
            # No rule set is active: the colour recorded last stands, if there is one.
            if exc.code != "health_no_active_rule_set":
                raise
        else:
            evaluated = now
            cache.set(
                _evaluated_marker(person),
                now.timestamp(),
                timeout=int((_end_of_day(now) - now).total_seconds()) + 60,
            )
    if status is None or evaluated is None:
        raise Conflict(
            _(
                "Your health code has no colour yet. Make a health declaration first; the "
                "colour is worked out from it."
            ),
            code="health_no_colour",
        )
    return status, max(evaluated, status.evaluated_at)


@transaction.atomic
def health_code_issue(*, person: User, clock: datetime.datetime | None = None) -> HealthCode:
    """A freshly signed code of the person's current colour, valid ``HEALTH_CODE_SECONDS``.

    Only for a person whose real name is verified. Refused while health codes are switched
    off, and when the person has no colour yet.
    """
    health_enabled_check()
    now = clock or timezone.now()
    if not (
        person.is_authenticated
        and person.is_real_name_verified
        and person.id_number
        and person.name
    ):
        raise PermissionDenied(
            _("A health code is issued only to a person whose real name is verified."),
            code="health_identity_unverified",
        )
    status, evaluated_at = _colour_current(person, now)
    department = health_code_department()
    if department is None:
        raise ServiceUnavailable(
            _("No health department issues health codes yet."), code="health_code_no_issuer"
        )
    key = _signing_key(department)
    issued_at = now.replace(microsecond=0)
    expires_at = min(
        issued_at + datetime.timedelta(seconds=settings.HEALTH_CODE_SECONDS),
        key.not_after.replace(microsecond=0),
    )
    region_code = department.region.code
    text = health_code_text(
        colour=status.colour,
        name=person.name,
        id_number=person.id_number or "",
        region_code=region_code,
        evaluated_at=evaluated_at,
        key=_private_key(key),
        kid=bytes.fromhex(key.kid),
        issued_at=issued_at,
        expires_at=expires_at,
        prefix=settings.HEALTH_CODE_PREFIX,
    )
    return HealthCode(
        text=text,
        colour=status.colour,
        issued_at=issued_at,
        expires_at=expires_at,
        evaluated_at=evaluated_at.replace(microsecond=0),
        masked_name=mask_name(person.name),
        region_code=region_code,
    )


# ---------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True)
class HealthCodeCheck:
    """The outcome of checking one scanned text: a verdict, or a valid code's claims."""

    verdict: Verdict | None  # None when valid
    detail: str  # the verifier's own words: which check failed
    colour: str | None = None
    masked_name: str = ""
    masked_id_number: str = ""
    region: str = ""  # the issuing region's code, as the code states it
    issuer: str = ""  # who signed: the department, from the trust list
    issued_at: datetime.datetime | None = None
    valid_until: datetime.datetime | None = None
    evaluated_at: datetime.datetime | None = None

    @classmethod
    def of_valid(
        cls,
        *,
        colour: str,
        masked_name: str,
        masked_id_number: str,
        region: str,
        issuer: str,
        issued_at: datetime.datetime,
        valid_until: datetime.datetime,
        evaluated_at: datetime.datetime | None,
    ) -> HealthCodeCheck:
        """The result for a valid code: the same object as the constructor makes, filled in
        directly. A checkpoint builds one per scan, and the frozen constructor's write per
        field through ``object.__setattr__`` cost as much as all the claims' checks."""
        check = cls.__new__(cls)
        check.__dict__.update(
            verdict=None,
            detail="valid",
            colour=colour,
            masked_name=masked_name,
            masked_id_number=masked_id_number,
            region=region,
            issuer=issuer,
            issued_at=issued_at,
            valid_until=valid_until,
            evaluated_at=evaluated_at,
        )
        return check

    @property
    def valid(self) -> bool:
        return self.verdict is None

    @property
    def action(self) -> Action | None:
        return ACTIONS[self.colour] if self.verdict is None and self.colour else None

    @property
    def message(self) -> str:
        return verdict_message(self.verdict)

    @property
    def colour_label(self) -> str:
        return str(COLOUR_LABELS[self.colour]) if self.colour else ""

    @property
    def action_label(self) -> str:
        action = self.action
        return str(ACTION_LABELS[action]) if action else ""


def _not_a_health_code(why: str) -> SignedQrError:
    return SignedQrError(Verdict.BAD_CBOR, f"not a health code: {why}")


def _claims_check(data: Mapping[str, Any]) -> tuple[str, str, str, str, datetime.datetime | None]:
    """Colour, masked name, masked ID number, region and evaluation time of signed data."""
    if data.get(CLAIM_TYPE) != CODE_TYPE:
        raise _not_a_health_code("its type is not health-code")
    colour = data.get(CLAIM_COLOUR)
    if not isinstance(colour, str) or colour not in ACTIONS:
        raise _not_a_health_code("no known colour")
    name = data.get(CLAIM_NAME)
    if not isinstance(name, str):
        raise _not_a_health_code("no name")
    id_number = data.get(CLAIM_ID_NUMBER)
    region = data.get(CLAIM_REGION)
    evaluated = data.get(CLAIM_EVALUATED)
    evaluated_at = None
    if type(evaluated) is int:
        try:
            evaluated_at = datetime.datetime.fromtimestamp(evaluated, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            raise _not_a_health_code("the evaluation time is out of range") from None
    return (
        colour,
        name,
        id_number if isinstance(id_number, str) else "",
        region if isinstance(region, str) else "",
        evaluated_at,
    )


def health_code_verify(
    text: str, *, verifier: Verifier, clock: datetime.datetime
) -> HealthCodeCheck:
    """Check a scanned text as a health code at ``clock``, with the verifier's trust store only.

    Never raises for any text: each failure is a verdict. Codes of other regions verify when
    the verifier trusts their keys (a peer's trust list); a key that may not sign health
    codes (a certificate key, say) gives ``key_not_allowed``. Reads no database, so it works
    offline with a verifier built from cached lists (``verifier_from_lists``).
    """
    try:
        verified = signedqr.verify(
            text,
            trust=verifier.trust,
            clock=clock,
            prefix=health_code_prefixes(),
            certificate_type=CODE_TYPE,
        )
        colour, name, id_number, region, evaluated_at = _claims_check(verified.payload)
    except SignedQrError as exc:
        return HealthCodeCheck(verdict=exc.verdict, detail=exc.message)
    return HealthCodeCheck.of_valid(
        colour=colour,
        masked_name=name,
        masked_id_number=id_number,
        region=region,
        issuer=verified.signer.label,
        issued_at=verified.issued_at,
        valid_until=verified.expires_at,
        evaluated_at=evaluated_at,
    )


@dataclass
class _CachedVerifier:
    verifier: Verifier
    stamp: tuple[Any, ...]
    built: float


_verifier_lock = threading.Lock()
_verifier_cached: _CachedVerifier | None = None


def _trust_stamp(now: datetime.datetime) -> tuple[Any, ...]:
    """What the platform's verifier is built from: the keys in force and the peers' files.

    Random kids, so a stamp never matches another set of keys by chance.
    """
    kids = tuple(
        SigningKey.objects.filter(not_after__gt=now).order_by("kid").values_list("kid", flat=True)
    )
    files = []
    for peer in peers_configured():
        for path in (peer.anchor, peer.trust_list):
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((str(path), stat.st_mtime_ns, stat.st_size))
    return (kids, tuple(files))


def _verifier_build(now: datetime.datetime, *, unless_unchanged: bool) -> Verifier:
    global _verifier_cached
    stamp = _trust_stamp(now)
    with _verifier_lock:
        cached = _verifier_cached
        if unless_unchanged and cached is not None and cached.stamp == stamp:
            return cached.verifier
    verifier = platform_verifier(now=now)
    with _verifier_lock:
        _verifier_cached = _CachedVerifier(verifier, stamp, time.monotonic())
    return verifier


def health_code_verifier(*, now: datetime.datetime | None = None) -> Verifier:
    """The platform's verifier (its own keys and the peers' trust lists), kept per process:
    checking a code then reads no database. Rebuilt after five minutes at the latest."""
    cached = _verifier_cached
    if cached is not None and time.monotonic() - cached.built < VERIFIER_MAX_AGE_SECONDS:
        return cached.verifier
    return _verifier_build(now or timezone.now(), unless_unchanged=False)


def health_code_verifier_current(*, now: datetime.datetime | None = None) -> Verifier:
    """The verifier, rebuilt first if the keys in force or the peers' files have changed
    (one query and a few file stats)."""
    return _verifier_build(now or timezone.now(), unless_unchanged=True)


def health_code_verifier_clear() -> None:
    global _verifier_cached
    with _verifier_lock:
        _verifier_cached = None


def health_code_check(text: str, *, clock: datetime.datetime | None = None) -> HealthCodeCheck:
    """Check a scanned text online, with the platform's verifier, now.

    A key the kept verifier does not know may be new (another process made it, a peer's
    trust list was renewed): the keys are looked at again then, and the code checked once
    more if they changed.
    """
    clock = clock or timezone.now()
    verifier = health_code_verifier(now=clock)
    result = health_code_verify(text, verifier=verifier, clock=clock)
    if result.verdict == Verdict.UNKNOWN_KEY:
        current = health_code_verifier_current(now=clock)
        if current is not verifier:
            result = health_code_verify(text, verifier=current, clock=clock)
    return result


# ---------------------------------------------------------------------------------------
# The checkpoint's trust bundle


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def checkpoint_trust_bundle(*, now: datetime.datetime | None = None) -> dict[str, Any]:
    """The keys a checkpoint phone verifies health codes with, offline, as JSON data.

    Every P-256 key the platform's verifier trusts (its own and the configured peers'),
    with the types it may sign: a key that may not sign health codes is listed too, so that
    the phone says "key not allowed", as the server does, rather than "unknown key". The
    phone warns once ``next_update`` has passed.
    """
    now = now or timezone.now()
    verifier = health_code_verifier_current(now=now)
    regions = dict(
        SigningKey.objects.filter(not_after__gt=now).values_list(
            "kid", "department__region__full_name"
        )
    )
    entries = []
    for entry in sorted(verifier.trust.entries(), key=lambda item: item.kid):
        public_key = entry.public_key
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            continue  # only ES256 is verified in the browser; other codes go online
        numbers = public_key.public_numbers()
        entries.append(
            {
                "kid": entry.kid.hex(),
                "alg": signedqr.ES256.name,
                "jwk": {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": _b64url(numbers.x.to_bytes(32, "big")),
                    "y": _b64url(numbers.y.to_bytes(32, "big")),
                },
                "spki": base64.b64encode(
                    public_key.public_bytes(
                        serialization.Encoding.DER,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                ).decode("ascii"),
                "types": sorted(entry.allowed_types),
                "not_before": _iso(entry.not_before),
                "not_after": _iso(entry.not_after),
                "issuer": entry.label,
                "region": regions.get(entry.kid.hex()) or entry.label,
            }
        )
    return {
        "format": TRUST_BUNDLE_FORMAT,
        "type": CODE_TYPE,
        "prefixes": list(health_code_prefixes()),
        "generated_at": now.isoformat(),
        "next_update": (
            now + datetime.timedelta(hours=settings.HEALTH_CHECKPOINT_TRUST_HOURS)
        ).isoformat(),
        "keys": entries,
    }
