"""Identity use cases: registration, real-name verification, organisations, staff roles.

Each use case is one transaction. Checks that must leave a trace even when the use case
fails (wrong SMS codes, failed verifications) are written before the transaction opens.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import (
    AccessToken,
    Application,
    Grant,
    IDToken,
    RefreshToken,
    revoke_access_token,
)
from oauth2_provider.settings import oauth2_settings

from yiwang.core.audit import audit_record
from yiwang.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from yiwang.core.identifiers import resident_id_parse, uscc_parse
from yiwang.core.masking import mask_phone
from yiwang.core.sms import sms_send
from yiwang.core.validators import mobile_parse, person_name_parse
from yiwang.exchange.registries import PersonMatch, legal_person_registry, population_registry
from yiwang.identity.models import (
    ApiToken,
    AssuranceLevel,
    AuthorizationCodeUse,
    ClientConsent,
    ClientSubject,
    Department,
    LoginEvent,
    Organisation,
    OrganisationAgent,
    RealNameAttempt,
    SmsCode,
    StaffRole,
    User,
)
from yiwang.identity.selectors import user_needs_mfa

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------
# SMS codes


def _sms_code_hash(*, phone: str, purpose: str, code: str) -> str:
    message = f"{phone}:{purpose}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def sms_code_send(*, phone: str, purpose: str) -> None:
    """Send a fresh 6-digit code to ``phone`` for ``purpose``.

    Refuses a registration code for a number that already has an account, a second
    code within the resend interval, and more than the daily number of codes.
    """
    phone = mobile_parse(phone)
    if purpose not in SmsCode.Purpose.values:
        raise ValidationFailed.for_field("purpose", _("Unknown purpose."))
    if purpose == SmsCode.Purpose.REGISTER and User.objects.filter(phone=phone).exists():
        raise Conflict(
            _("This mobile number is already registered. Please log in."),
            fields={"phone": [_("This mobile number is already registered. Please log in.")]},
            code="phone_registered",
        )
    now = timezone.now()
    with transaction.atomic():
        recent = SmsCode.objects.filter(
            phone=phone, created_at__gte=now - datetime.timedelta(days=1)
        )
        latest = recent.order_by("-created_at").first()
        resend = settings.SMS_CODE_RESEND_SECONDS
        if latest and (now - latest.created_at).total_seconds() < resend:
            wait = resend - int((now - latest.created_at).total_seconds())
            raise RateLimited(
                _("A code was sent just now. Please wait %(seconds)s seconds.") % {"seconds": wait},
                retry_after=wait,
                fields={"phone": [_("Please wait before asking for another code.")]},
            )
        if recent.count() >= settings.SMS_CODES_PER_PHONE_PER_DAY:
            raise RateLimited(
                _("Too many codes for this number today. Please try again tomorrow."),
                retry_after=24 * 3600,
                fields={"phone": [_("Too many codes for this number today.")]},
            )
        code = f"{secrets.randbelow(10**6):06d}"
        SmsCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=_sms_code_hash(phone=phone, purpose=purpose, code=code),
            created_at=now,
            expires_at=now + datetime.timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
        )
        minutes = max(1, settings.SMS_CODE_TTL_SECONDS // 60)
        body = str(
            _(
                "[Yiwang] Your verification code is %(code)s, valid for %(minutes)s minutes. "
                "Never tell it to anyone."
            )
            % {"code": code, "minutes": minutes}
        )
        sms_send(phone=phone, body=body)
    logger.info("SMS code sent to %s for %s", mask_phone(phone), purpose)


def sms_code_check(*, phone: str, purpose: str, code: str, field: str = "code") -> SmsCode:
    """Check a code without using it up; a wrong guess is counted at once.

    Returns the matching code row, which the caller consumes with ``_sms_code_consume``
    inside its own transaction.
    """
    code = (code or "").strip()
    if not code:
        raise ValidationFailed.for_field(field, _("Please enter the SMS code."), code="required")
    latest = (
        SmsCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if latest is None:
        raise ValidationFailed.for_field(
            field, _("Please get an SMS code first."), code="sms_code_missing"
        )
    if latest.failed_attempts >= settings.SMS_CODE_MAX_ATTEMPTS:
        raise ValidationFailed.for_field(
            field,
            _("Too many wrong codes. Please get a new code."),
            code="sms_code_locked",
        )
    expected = _sms_code_hash(phone=phone, purpose=purpose, code=code)
    if not hmac.compare_digest(expected, latest.code_hash):
        SmsCode.objects.filter(pk=latest.pk).update(failed_attempts=F("failed_attempts") + 1)
        raise ValidationFailed.for_field(field, _("The SMS code is wrong."), code="sms_code_wrong")
    if latest.expires_at <= timezone.now():
        raise ValidationFailed.for_field(
            field, _("The SMS code has expired. Please get a new one."), code="sms_code_expired"
        )
    return latest


def _sms_code_consume(sms_code: SmsCode, *, field: str = "code") -> None:
    # First one wins: a conditional update, so a double submit cannot use a code twice.
    used = SmsCode.objects.filter(pk=sms_code.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if used != 1:
        raise ValidationFailed.for_field(
            field, _("This SMS code has already been used."), code="sms_code_used"
        )


# ---------------------------------------------------------------------------------------
# Registration and account settings


def _password_check(password: str, *, user: User | None = None, field: str = "password") -> None:
    if not password:
        raise ValidationFailed.for_field(field, _("Please enter a password."), code="required")
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={field: list(exc.messages)}, code="password_weak") from exc


def person_register(*, phone: str, code: str, password: str, language: str = "") -> User:
    """Create an L1 account for the owner of ``phone``, proved by an SMS code."""
    phone = mobile_parse(phone)
    _password_check(password, user=User(phone=phone))
    if User.objects.filter(phone=phone).exists():
        raise Conflict(
            fields={"phone": [_("This mobile number is already registered. Please log in.")]},
            code="phone_registered",
        )
    sms_code = sms_code_check(phone=phone, purpose=SmsCode.Purpose.REGISTER, code=code)
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    try:
        with transaction.atomic():
            _sms_code_consume(sms_code)
            user = User.objects.create_user(phone=phone, password=password, language=language)
    except IntegrityError as exc:
        raise Conflict(
            fields={"phone": [_("This mobile number is already registered. Please log in.")]},
            code="phone_registered",
        ) from exc
    logger.info("Account %s registered", user.pk)
    return user


def user_language_set(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed.for_field("language", _("Unknown language."))
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return user


# ---------------------------------------------------------------------------------------
# Real-name verification


def _real_name_attempt_record(*, user: User, succeeded: bool, reason: str) -> None:
    RealNameAttempt.objects.create(user=user, succeeded=succeeded, reason=reason)


def person_verify_real_name(*, user: User, name: str, id_number: str) -> User:
    """Raise ``user`` to L2 once name and ID number match the population registry.

    An ID number belongs to at most one account. Failures are recorded (reason only,
    never the ID number), and after too many in a day the account must wait.
    """
    name = person_name_parse(name)
    resident = resident_id_parse(id_number)
    if user.assurance_level >= AssuranceLevel.L2:
        if user.id_number == resident.number:
            return user
        raise Conflict(
            _("This account is already verified with another ID number."),
            code="already_verified",
        )
    since = timezone.now() - datetime.timedelta(days=1)
    failures = RealNameAttempt.objects.filter(user=user, succeeded=False, created_at__gte=since)
    if failures.count() >= settings.REAL_NAME_FAILURES_PER_DAY:
        raise RateLimited(
            _(
                "Too many failed verifications today. Please try again tomorrow or visit a "
                "service hall."
            ),
            retry_after=24 * 3600,
        )
    if User.objects.filter(id_number=resident.number).exclude(pk=user.pk).exists():
        _real_name_attempt_record(user=user, succeeded=False, reason="id_bound")
        raise Conflict(
            fields={
                "id_number": [
                    _(
                        "This ID number is already bound to another account. If that is not "
                        "you, please visit a service hall."
                    )
                ]
            },
            code="id_number_bound",
        )
    try:
        match = population_registry().person_match(id_number=resident.number, name=name)
    except Exception as exc:
        logger.exception("Population registry unavailable")
        raise ServiceUnavailable(
            _("The population registry cannot be reached now. Please try again later.")
        ) from exc
    if match is not PersonMatch.MATCH:
        _real_name_attempt_record(user=user, succeeded=False, reason=match.value)
        if match is PersonMatch.NAME_MISMATCH:
            raise ValidationFailed.for_field(
                "name",
                _("The name does not match the ID number in the population registry."),
                code="name_mismatch",
            )
        if match is PersonMatch.NOT_FOUND:
            raise ValidationFailed.for_field(
                "id_number",
                _("This ID number is not in the population registry."),
                code="id_not_found",
            )
        raise ValidationFailed.for_field(
            "id_number",
            _(
                "This ID number cannot be used for verification (the registration is no longer "
                "active)."
            ),
            code="id_inactive",
        )
    try:
        with transaction.atomic():
            updated = User.objects.filter(pk=user.pk, assurance_level=AssuranceLevel.L1).update(
                name=name,
                id_number=resident.number,
                assurance_level=AssuranceLevel.L2,
                verified_at=timezone.now(),
            )
            if updated != 1:
                raise Conflict(
                    _("This account was verified in the meantime."), code="already_verified"
                )
            RealNameAttempt.objects.create(user=user, succeeded=True, reason="match")
    except IntegrityError as exc:
        raise Conflict(
            fields={"id_number": [_("This ID number is already bound to another account.")]},
            code="id_number_bound",
        ) from exc
    user.refresh_from_db()
    logger.info("Account %s verified at L2", user.pk)
    return user


def person_verify_in_person(
    *, staff: User, id_number: str, name: str, client_address: str = ""
) -> User:
    """A window clerk who has seen the ID card raises its holder's account to L3."""
    clerk_of = sorted(
        StaffRole.objects.filter(user=staff, role=StaffRole.Role.CLERK).values_list(
            "department__code", flat=True
        )
    )
    if not clerk_of:
        raise PermissionDenied(_("Only window clerks may verify people in person."))
    name = person_name_parse(name)
    resident = resident_id_parse(id_number)
    person = User.objects.filter(id_number=resident.number).first()
    if person is None:
        raise NotFound(
            _(
                "No account is verified with this ID number. Ask the person to complete online "
                "real-name verification first."
            ),
            fields={"id_number": [_("No account is verified with this ID number.")]},
        )
    if person.pk == staff.pk:
        raise PermissionDenied(_("You cannot verify your own account."))
    if person.name != name:
        raise ValidationFailed.for_field(
            "name", _("The name does not match the account's verified name."), code="name_mismatch"
        )
    if person.assurance_level >= AssuranceLevel.L3:
        return person
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(
            assurance_level=AssuranceLevel.L3,
            in_person_verified_at=timezone.now(),
            in_person_verified_by=staff,
        )
        audit_record(
            actor=staff,
            action="person.verify_in_person",
            target=person,
            acting_for="department:" + ",".join(clerk_of),
            detail={"assurance_level": int(AssuranceLevel.L3)},
            client_address=client_address,
        )
    person.refresh_from_db()
    logger.info("Account %s verified in person by %s", person.pk, staff.pk)
    return person


# ---------------------------------------------------------------------------------------
# Organisations and their agents


def organisation_register(*, user: User, uscc: str, name: str) -> Organisation:
    """Give the legal representative control of the organisation's account."""
    if user.assurance_level < AssuranceLevel.L2:
        raise PermissionDenied(_("Please complete real-name verification first."))
    code = uscc_parse(uscc)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed.for_field("name", _("Please enter the organisation's name."))
    try:
        facts = legal_person_registry().legal_person_get(uscc=code)
    except Exception as exc:
        logger.exception("Legal-person registry unavailable")
        raise ServiceUnavailable(
            _("The legal-person registry cannot be reached now. Please try again later.")
        ) from exc
    if facts is None:
        raise ValidationFailed.for_field(
            "uscc",
            _("This credit code is not in the legal-person registry."),
            code="uscc_not_found",
        )
    if facts.name != name:
        raise ValidationFailed.for_field(
            "name",
            _("The name does not match the legal-person registry."),
            code="name_mismatch",
        )
    if not facts.is_active:
        raise ValidationFailed.for_field(
            "uscc",
            _("This organisation is deregistered or its licence is revoked."),
            code="organisation_inactive",
        )
    if facts.legal_representative_id_number != user.id_number:
        raise PermissionDenied(
            _("You are not the legal representative registered for this organisation."),
            fields={
                "uscc": [
                    _("You are not the legal representative registered for this organisation.")
                ]
            },
            code="not_legal_representative",
        )
    with transaction.atomic():
        organisation, _created = Organisation.objects.select_for_update().get_or_create(
            uscc=code,
            defaults={
                "name": facts.name,
                "legal_representative": user,
                "region_code": facts.region_code,
            },
        )
        if organisation.legal_representative_id != user.pk or organisation.name != facts.name:
            # The registry names a new legal representative (or name): it takes control.
            organisation.legal_representative = user
            organisation.name = facts.name
            organisation.region_code = facts.region_code
            organisation.verified_at = timezone.now()
            organisation.save()
    return organisation


def organisation_agent_grant(
    *,
    actor: User,
    organisation: Organisation,
    agent_phone: str,
    valid_until: datetime.date,
    services: Sequence[str] = (),
    client_address: str = "",
) -> OrganisationAgent:
    """The legal representative authorises a verified person to act for the organisation
    (or changes the services and end date of the agent's current authorisation)."""
    if organisation.legal_representative_id != actor.pk:
        raise PermissionDenied(_("Only the legal representative may authorise agents."))
    phone = mobile_parse(agent_phone, field="agent_phone")
    today = timezone.localdate()
    if valid_until <= today:
        raise ValidationFailed.for_field("valid_until", _("The end date must be in the future."))
    if valid_until > today + datetime.timedelta(days=3 * 366):
        raise ValidationFailed.for_field(
            "valid_until", _("An authorisation may last at most three years.")
        )
    agent = User.objects.filter(phone=phone, is_active=True).first()
    if agent is None:
        raise ValidationFailed.for_field(
            "agent_phone", _("No account has this mobile number."), code="agent_not_found"
        )
    if agent.pk == actor.pk:
        raise ValidationFailed.for_field(
            "agent_phone", _("You cannot authorise yourself."), code="agent_is_self"
        )
    if agent.assurance_level < AssuranceLevel.L2:
        raise ValidationFailed.for_field(
            "agent_phone",
            _("The agent must complete real-name verification first."),
            code="agent_not_verified",
        )
    with transaction.atomic():
        grant, created = OrganisationAgent.objects.select_for_update().get_or_create(
            organisation=organisation,
            agent=agent,
            revoked_at__isnull=True,
            defaults={"valid_until": valid_until, "services": list(services), "granted_by": actor},
        )
        if not created:
            grant.valid_until = valid_until
            grant.services = list(services)
            grant.granted_by = actor
            grant.granted_at = timezone.now()
            grant.save()
        audit_record(
            actor=actor,
            action="organisation_agent.grant",
            target=grant,
            acting_for=f"organisation:{organisation.uscc}",
            detail={
                "organisation": organisation.uscc,
                "services": list(services),
                "valid_until": valid_until.isoformat(),
                "renewed": not created,
            },
            client_address=client_address,
        )
    return grant


def organisation_agent_revoke(
    *, actor: User, grant: OrganisationAgent, client_address: str = ""
) -> OrganisationAgent:
    """Revoke an agent's authorisation: from the next request she can no longer act for
    the organisation, not even on the applications she started for it."""
    if grant.organisation.legal_representative_id != actor.pk:
        raise PermissionDenied(_("Only the legal representative may revoke agents."))
    with transaction.atomic():
        revoked = OrganisationAgent.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit_record(
                actor=actor,
                action="organisation_agent.revoke",
                target=grant,
                acting_for=f"organisation:{grant.organisation.uscc}",
                detail={"organisation": grant.organisation.uscc},
                client_address=client_address,
            )
    grant.refresh_from_db()
    return grant


# ---------------------------------------------------------------------------------------
# Staff roles


def _may_manage_staff(actor: User, department: Department) -> bool:
    if actor.is_superuser:
        return True
    return StaffRole.objects.filter(
        user=actor, department=department, role=StaffRole.Role.DEPARTMENT_ADMIN
    ).exists()


def _acting_for(actor: User, department: Department) -> str:
    """Whom an actor managing staff acts for: the department, unless a platform admin."""
    return "" if actor.is_superuser else f"department:{department.code}"


def staff_role_grant(
    *, actor: User, user: User, department: Department, role: str, client_address: str = ""
) -> StaffRole:
    if role not in StaffRole.Role.values:
        raise ValidationFailed.for_field("role", _("Unknown role."))
    if not _may_manage_staff(actor, department):
        raise PermissionDenied(_("Only an administrator of this department may grant its roles."))
    if user.assurance_level < AssuranceLevel.L2:
        raise ValidationFailed.for_field(
            "user", _("Staff must complete real-name verification first."), code="not_verified"
        )
    if not department.is_active:
        raise ValidationFailed.for_field("department", _("This department is not active."))
    with transaction.atomic():
        staff_role, created = StaffRole.objects.get_or_create(
            user=user, department=department, role=role, defaults={"granted_by": actor}
        )
        if created:
            audit_record(
                actor=actor,
                action="staff_role.grant",
                target=user,
                acting_for=_acting_for(actor, department),
                detail={"department": department.code, "role": role},
                client_address=client_address,
            )
    return staff_role


def staff_role_revoke(*, actor: User, staff_role: StaffRole, client_address: str = "") -> None:
    if not _may_manage_staff(actor, staff_role.department):
        raise PermissionDenied(_("Only an administrator of this department may revoke its roles."))
    with transaction.atomic():
        deleted, _counts = StaffRole.objects.filter(pk=staff_role.pk).delete()
        if deleted:
            audit_record(
                actor=actor,
                action="staff_role.revoke",
                target=staff_role.user,
                acting_for=_acting_for(actor, staff_role.department),
                detail={"department": staff_role.department.code, "role": staff_role.role},
                client_address=client_address,
            )


# ---------------------------------------------------------------------------------------
# API tokens

API_TOKEN_PREFIX = "ywt_"  # noqa: S105 (a public marker that makes leaked tokens findable)


def api_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    *,
    user: User,
    name: str,
    expires_at: datetime.datetime | None = None,
    second_factor: bool = False,
) -> tuple[ApiToken, str]:
    """Create a bearer token; the secret is returned once and only its hash is kept.

    ``second_factor``: the request that asks for it has passed the second factor (a
    session verified with the authenticator, or a token made from one). Staff may use
    only such tokens, so their tokens are refused without it.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.for_field("name", _("Please give the token a name."))
    if len(name) > 100:
        raise ValidationFailed.for_field("name", _("At most 100 characters."))
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed.for_field("expires_at", _("The expiry must be in the future."))
    prefix = secrets.token_hex(4)
    secret = f"{API_TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    if not second_factor and user_needs_mfa(user):
        raise PermissionDenied(
            _("Staff create API tokens only after the second factor."), code="mfa_required"
        )
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        key_hash=api_token_hash(secret),
        expires_at=expires_at,
        second_factor=second_factor,
    )
    return token, secret


def api_token_revoke(*, user: User, token_id: int) -> None:
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated != 1 and not ApiToken.objects.filter(pk=token_id, user=user).exists():
        raise NotFound()


# ---------------------------------------------------------------------------------------
# Single sign-on (OpenID Connect): consents, pairwise subjects, used authorisation codes


def client_consent_give(
    *, user: User, application: Application, scopes: Sequence[str]
) -> ClientConsent:
    """Record that the person lets the application receive the claims of ``scopes``.

    One active consent per person and application; consenting to more scopes later
    widens it. Consenting again to scopes already covered changes nothing.
    """
    scopes = [scope for scope in dict.fromkeys(scopes) if scope]
    with transaction.atomic():
        consent = (
            ClientConsent.objects.select_for_update()
            .filter(user=user, application=application, revoked_at__isnull=True)
            .first()
        )
        if consent is None:
            return ClientConsent.objects.create(user=user, application=application, scopes=scopes)
        if set(scopes) <= set(consent.scopes):
            return consent
        consent.scopes = [*consent.scopes, *(s for s in scopes if s not in consent.scopes)]
        consent.granted_at = timezone.now()
        consent.save(update_fields=["scopes", "granted_at"])
    return consent


def client_consent_revoke(*, user: User, consent: ClientConsent) -> ClientConsent:
    """Withdraw a consent: the application's tokens for the person stop working at once.

    Access tokens and ID tokens are deleted, refresh tokens revoked and unused codes
    deleted, so the next sign-in asks for consent again.
    """
    if consent.user_id != user.pk:
        raise PermissionDenied(_("This is not your consent."))
    with transaction.atomic():
        revoked = ClientConsent.objects.filter(pk=consent.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            application = consent.application
            for access_token in AccessToken.objects.filter(user=user, application=application):
                revoke_access_token(access_token)
            for refresh_token in RefreshToken.objects.filter(
                user=user, application=application, revoked__isnull=True
            ):
                refresh_token.revoke()
            IDToken.objects.filter(user=user, application=application).delete()
            Grant.objects.filter(user=user, application=application).delete()
    consent.refresh_from_db()
    if revoked:
        logger.info("Account %s revoked its consent to client %s", user.pk, consent.application_id)
    return consent


def client_subject_for(*, user: User, application: Application) -> str:
    """The ``sub`` the application knows the person by, made on first use and kept."""
    found = (
        ClientSubject.objects.filter(user=user, application=application)
        .values_list("subject", flat=True)
        .first()
    )
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return ClientSubject.objects.create(
                user=user, application=application, subject=secrets.token_urlsafe(24)
            ).subject
    except IntegrityError:
        # Made by a concurrent request for the same person and application.
        return ClientSubject.objects.get(user=user, application=application).subject


def _code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def authorization_code_use_record(
    *, code: str, application: Application, access_token: str
) -> None:
    """Remember which tokens an authorisation code was exchanged for.

    Records older than the longest a refresh token lives have no live tokens left to
    revoke: they are removed on the way.
    """
    checksum = hashlib.sha256(access_token.encode()).hexdigest()
    token_family = (
        RefreshToken.objects.filter(access_token__token_checksum=checksum)
        .values_list("token_family", flat=True)
        .first()
    )
    lifetime = datetime.timedelta(
        seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
        or oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS
    )
    with transaction.atomic():
        AuthorizationCodeUse.objects.filter(used_at__lt=timezone.now() - lifetime).delete()
        AuthorizationCodeUse.objects.create(
            code_digest=_code_digest(code),
            application=application,
            token_family=token_family,
            access_token_checksum=checksum,
        )


def authorization_code_replay_revoke(*, code: str, application: Application) -> bool:
    """A used code came again: revoke what it was exchanged for. True if it had been used."""
    use = AuthorizationCodeUse.objects.filter(
        code_digest=_code_digest(code), application=application
    ).first()
    if use is None:
        return False
    with transaction.atomic():
        access_tokens = AccessToken.objects.filter(token_checksum=use.access_token_checksum)
        if use.token_family is not None:
            access_tokens |= AccessToken.objects.filter(
                pk__in=RefreshToken.objects.filter(token_family=use.token_family).values(
                    "access_token_id"
                )
            )
        IDToken.objects.filter(access_token__in=list(access_tokens)).delete()
        RefreshToken.revoke_family(use.token_family)
        for access_token in AccessToken.objects.filter(token_checksum=use.access_token_checksum):
            revoke_access_token(access_token)
    logger.warning(
        "Authorisation code of client %s used twice: its tokens are revoked", application.pk
    )
    return True


# ---------------------------------------------------------------------------------------
# Account security: login history and the staff second factor (django-otp: an
# authenticator app's TOTP codes, and single-use recovery codes)

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery codes"


def login_event_record(
    *, user: User, kind: str, client_address: str = "", user_agent: str = ""
) -> LoginEvent:
    """Add one entry to the account's login history (no password, no phone number)."""
    return LoginEvent.objects.create(
        user=user,
        kind=kind,
        client_address=client_address or None,
        user_agent=user_agent[:60],
    )


def _code_normalise(code: str) -> str:
    """What the person typed, without the spaces and dashes codes are shown with."""
    return "".join((code or "").split()).replace("-", "").lower()


def _second_factor_throttled(device: Any) -> int:
    """Seconds the device still refuses codes after wrong ones (django-otp's back-off)."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return 0
    locked_until = (info or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, math.ceil(float((locked_until - timezone.now()).total_seconds())))


def _second_factor_refused(
    *, user: User, wait: int, client_address: str, user_agent: str
) -> RateLimited:
    login_event_record(
        user=user,
        kind=LoginEvent.Kind.MFA_THROTTLED,
        client_address=client_address,
        user_agent=user_agent,
    )
    return RateLimited(
        _("Too many wrong codes. Please wait %(seconds)s seconds and try again.")
        % {"seconds": wait},
        retry_after=wait,
        code="mfa_throttled",
    )


def _second_factor_wrong(*, user: User, client_address: str, user_agent: str) -> ValidationFailed:
    login_event_record(
        user=user,
        kind=LoginEvent.Kind.MFA_FAILED,
        client_address=client_address,
        user_agent=user_agent,
    )
    return ValidationFailed.for_field(
        "code", _("The code is wrong or has been used."), code="mfa_code_wrong"
    )


def _recovery_codes_replace(user: User) -> list[str]:
    """A new set of recovery codes; the old set stops working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return sorted(codes)


def mfa_enrolment_start(*, user: User) -> TOTPDevice:
    """The authenticator a staff member is setting up: made unconfirmed on the first call.

    Its secret is shown to its owner (QR code) until a code from the app confirms it.
    """
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict(_("An authenticator is already set up."), code="mfa_enrolled")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def mfa_enrolment_confirm(
    *, user: User, code: str, client_address: str = "", user_agent: str = ""
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator with a code it shows, and make the recovery codes.

    Returns the device and the recovery codes, which are shown once. A wrong code
    counts towards the device's back-off and is kept in the login history.
    """
    code = _code_normalise(code)
    if not code:
        raise ValidationFailed.for_field("code", _("Please enter the code."), code="required")
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise Conflict(
                _("There is no authenticator being set up. Please start again."),
                code="mfa_not_enrolling",
            )
        wait = _second_factor_throttled(device)
        # verify_token saves the failure count itself: kept, as nothing is raised here.
        verified = wait == 0 and device.verify_token(code)
        codes: list[str] = []
        if verified:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            codes = _recovery_codes_replace(user)
            audit_record(
                actor=user,
                action="mfa.enrol",
                target=user,
                detail={"device": "totp", "recovery_codes": len(codes)},
                client_address=client_address,
            )
    if wait:
        raise _second_factor_refused(
            user=user, wait=wait, client_address=client_address, user_agent=user_agent
        )
    if not verified:
        raise _second_factor_wrong(user=user, client_address=client_address, user_agent=user_agent)
    logger.info("Account %s set up an authenticator", user.pk)
    return device, codes


def mfa_verify(
    *, user: User, code: str, client_address: str = "", user_agent: str = ""
) -> TOTPDevice | StaticDevice:
    """Check a staff member's second factor: the authenticator's code or a recovery code.

    A recovery code works once. Wrong codes slow the device down (1, 2, 4 … seconds
    after each) and are kept in the login history, as are successes.
    """
    code = _code_normalise(code)
    if not code:
        raise ValidationFailed.for_field("code", _("Please enter the code."), code="required")
    is_totp = code.isdigit() and len(code) == 6
    model: type[TOTPDevice] | type[StaticDevice] = TOTPDevice if is_totp else StaticDevice
    wait = 0
    verified = False
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None and is_totp:
            raise Conflict(
                _("No authenticator is set up for this account."), code="mfa_not_enrolled"
            )
        if device is not None:
            wait = _second_factor_throttled(device)
            verified = wait == 0 and device.verify_token(code)
    if wait:
        raise _second_factor_refused(
            user=user, wait=wait, client_address=client_address, user_agent=user_agent
        )
    if not verified or device is None:
        raise _second_factor_wrong(user=user, client_address=client_address, user_agent=user_agent)
    login_event_record(
        user=user,
        kind=LoginEvent.Kind.MFA_SUCCEEDED if is_totp else LoginEvent.Kind.MFA_RECOVERY_CODE_USED,
        client_address=client_address,
        user_agent=user_agent,
    )
    return device


def mfa_recovery_codes_regenerate(*, user: User, client_address: str = "") -> list[str]:
    """A new set of recovery codes for a staff member with an authenticator."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict(
            _("Set up an authenticator before making recovery codes."), code="mfa_not_enrolled"
        )
    with transaction.atomic():
        codes = _recovery_codes_replace(user)
        audit_record(
            actor=user,
            action="mfa.recovery_codes_regenerate",
            target=user,
            detail={"recovery_codes": len(codes)},
            client_address=client_address,
        )
    return codes


def _platform_admin(user: User) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm("identity.change_user"))


def mfa_reset(*, actor: User, user: User, client_address: str = "") -> int:
    """Remove a staff member's authenticator and recovery codes (a lost phone, say).

    They set up a new authenticator at their next page. Allowed to platform
    administrators, and to a department administrator for the staff of that department
    (not for platform administrators, nor for themselves). Returns the devices removed.
    """
    if actor.pk == user.pk:
        raise PermissionDenied(
            _("You cannot reset your own authenticator. Ask another administrator."),
            code="mfa_reset_self",
        )
    acting_for = ""
    if not _platform_admin(actor):
        if user.is_staff or user.is_superuser:
            raise PermissionDenied(
                _(
                    "Only a platform administrator may reset a platform administrator's "
                    "authenticator."
                )
            )
        administered = StaffRole.objects.filter(
            user=actor, role=StaffRole.Role.DEPARTMENT_ADMIN
        ).values("department_id")
        shared = sorted(
            StaffRole.objects.filter(user=user, department_id__in=administered)
            .values_list("department__code", flat=True)
            .distinct()
        )
        if not shared:
            raise PermissionDenied(
                _("Only an administrator of the staff member's department may reset it.")
            )
        acting_for = "department:" + ",".join(shared)
    with transaction.atomic():
        removed = 0
        for model in (TOTPDevice, StaticDevice):
            devices = model.objects.filter(user=user)
            removed += devices.count()
            devices.delete()
        audit_record(
            actor=actor,
            action="mfa.reset",
            target=user,
            acting_for=acting_for,
            detail={"devices_removed": removed},
            client_address=client_address,
        )
    logger.info("Account %s: second factor reset by %s", user.pk, actor.pk)
    return removed
