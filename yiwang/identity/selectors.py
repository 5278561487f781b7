"""Reads of identity data, scoped to who is asking."""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import AccessToken, Application

from yiwang.identity.models import (
    ActingRole,
    ApiToken,
    ClientConsent,
    ClientPolicy,
    Department,
    LoginEvent,
    Organisation,
    OrganisationAgent,
    StaffRole,
    User,
)


def user_for_api_token(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None. Records the token's last use."""
    token = api_token_for_secret(secret)
    return token.user if token is not None else None


def api_token_for_secret(secret: str) -> ApiToken | None:
    """The valid token with this secret, or None. Records the token's last use.

    Annotated with ``user_is_staff_member`` (the holder has a staff role), so the
    second-factor rule for staff costs no extra query.
    """
    from yiwang.identity.services import API_TOKEN_PREFIX, api_token_hash

    if not secret.startswith(API_TOKEN_PREFIX):
        return None
    prefix = secret[len(API_TOKEN_PREFIX) :].split("_", 1)[0]
    token = (
        ApiToken.objects.select_related("user")
        .annotate(user_is_staff_member=Exists(StaffRole.objects.filter(user=OuterRef("user"))))
        .filter(prefix=prefix, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, api_token_hash(secret)):
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    # Recorded to the minute: a write per request would cost more than it tells.
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_tokens_for_user(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def staff_roles_for_user(user: User) -> QuerySet[StaffRole]:
    return (
        StaffRole.objects.filter(user=user, department__is_active=True)
        .select_related("department", "department__region")
        .order_by("department__code", "role")
    )


def user_is_staff_member(user: User) -> bool:
    return bool(user.is_authenticated) and StaffRole.objects.filter(user=user).exists()


def user_has_role(user: User, role: str) -> bool:
    return StaffRole.objects.filter(user=user, role=role, department__is_active=True).exists()


def user_has_role_in_department(
    user: User, department: Department, roles: Iterable[str] | None = None
) -> bool:
    """Whether the user holds a role (any role, or one of ``roles``) in the department."""
    roles_held = StaffRole.objects.filter(user=user, department=department)
    if roles is not None:
        roles_held = roles_held.filter(role__in=list(roles))
    return roles_held.exists()


def organisations_represented_by(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(legal_representative=user).order_by("name")


def agencies_for_user(user: User) -> QuerySet[OrganisationAgent]:
    """Organisations the user may currently act for as an authorised agent."""
    today = timezone.localdate()
    return (
        OrganisationAgent.objects.filter(
            agent=user, revoked_at__isnull=True, valid_until__gte=today
        )
        .select_related("organisation")
        .order_by("organisation__name")
    )


@dataclass(frozen=True)
class ActingChoice:
    """An organisation the person may act for now, and how (办事身份)."""

    organisation: Organisation
    role: str  # an ActingRole
    # An agent's grant: the service item codes it covers (empty: every service), its end.
    services: tuple[str, ...] = ()
    valid_until: datetime.date | None = None

    @property
    def is_legal_representative(self) -> bool:
        return self.role == ActingRole.LEGAL_REPRESENTATIVE

    @property
    def role_label(self) -> str:
        return str(ActingRole(self.role).label)

    def covers(self, item_code: str) -> bool:
        """Whether she may act for the organisation in this service."""
        return self.is_legal_representative or not self.services or item_code in self.services


def acting_choices_for(user: User) -> list[ActingChoice]:
    """The organisations the user may act for right now, by name: those she represents,
    then those of her current agencies (an organisation she also represents once only)."""
    if not user.is_authenticated:
        return []
    choices = {
        organisation.pk: ActingChoice(organisation, ActingRole.LEGAL_REPRESENTATIVE)
        for organisation in organisations_represented_by(user)
    }
    for grant in agencies_for_user(user):
        choices.setdefault(
            grant.organisation_id,
            ActingChoice(
                grant.organisation,
                ActingRole.AGENT,
                services=tuple(grant.services or ()),
                valid_until=grant.valid_until,
            ),
        )
    return sorted(
        choices.values(), key=lambda choice: (choice.organisation.name, choice.organisation.pk)
    )


def acting_choice_for(user: User, organisation_id: int) -> ActingChoice | None:
    """How the user may act for this organisation now, or None."""
    return next((c for c in acting_choices_for(user) if c.organisation.pk == organisation_id), None)


def organisation_role(user: User, organisation: Organisation, *, item_code: str) -> str:
    """How the user may act for the organisation in this service now: as its legal
    representative, as an agent whose current grant covers the service, or not at all ("").

    Read from the database, not from ``organisation``: the registry may have named a new
    legal representative since it was loaded."""
    if Organisation.objects.filter(pk=organisation.pk, legal_representative=user).exists():
        return ActingRole.LEGAL_REPRESENTATIVE
    for grant in agencies_for_user(user).filter(organisation=organisation):
        if not grant.services or item_code in grant.services:
            return ActingRole.AGENT
    return ""


def agents_of_organisation(organisation: Organisation) -> QuerySet[OrganisationAgent]:
    return (
        OrganisationAgent.objects.filter(organisation=organisation)
        .select_related("agent")
        .order_by("revoked_at", "-granted_at")
    )


def organisation_for_representative(user: User, organisation_id: int) -> Organisation | None:
    return Organisation.objects.filter(pk=organisation_id, legal_representative=user).first()


def departments_list(
    *, region_code: str | None = None, kind: str | None = None
) -> QuerySet[Department]:
    departments = Department.objects.filter(is_active=True).select_related("region")
    if region_code:
        departments = departments.filter(
            Q(region__code=region_code) | Q(region__parent__code=region_code)
        )
    if kind:
        departments = departments.filter(kind=kind)
    return departments.order_by("code")


# ---------------------------------------------------------------------------------------
# Single sign-on


def client_application_get(client_id: str) -> Application | None:
    return Application.objects.filter(client_id=client_id).first()


def client_policy_for(application: Application) -> ClientPolicy | None:
    return ClientPolicy.objects.select_related("department").filter(application=application).first()


def client_scopes_allowed(application: Application) -> list[str]:
    """The scopes the application may request: its policy's, or only openid without one."""
    policy = client_policy_for(application)
    return policy.scopes if policy is not None else ["openid"]


def client_consent_covers(user: User, application: Application, scopes: Iterable[str]) -> bool:
    """Whether the person's active consent to the application covers all of ``scopes``."""
    consent = ClientConsent.objects.filter(
        user=user, application=application, revoked_at__isnull=True
    ).first()
    return consent is not None and set(scopes) <= set(consent.scopes)


def client_consents_for_user(user: User) -> QuerySet[ClientConsent]:
    """The person's consents to applications, active ones first, newest first."""
    return (
        ClientConsent.objects.filter(user=user)
        .select_related("application", "application__yiwang_policy__department")
        .order_by(F("revoked_at").desc(nulls_first=True), "-granted_at")
    )


def access_token_by_value(token: str) -> AccessToken | None:
    """The stored access token with this value (tokens are kept only as their SHA-256)."""
    checksum = hashlib.sha256(token.encode()).hexdigest()
    return (
        AccessToken.objects.select_related("application", "user")
        .filter(token_checksum=checksum)
        .first()
    )


# ---------------------------------------------------------------------------------------
# Account security: the staff second factor and the login history


def user_needs_mfa(user: User) -> bool:
    """Staff (a staff role, or a platform administrator) log in with a second factor."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return StaffRole.objects.filter(user=user).exists()


@dataclass(frozen=True)
class MfaStatus:
    enrolled: bool  # a confirmed authenticator
    recovery_codes_left: int


def mfa_status_for_user(user: User) -> MfaStatus:
    return MfaStatus(
        enrolled=TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        recovery_codes_left=StaticToken.objects.filter(
            device__user=user, device__confirmed=True
        ).count(),
    )


def login_events_for_user(user: User, *, limit: int = 50) -> QuerySet[LoginEvent]:
    """The account's own login history, newest first."""
    return LoginEvent.objects.filter(user=user).order_by("-created_at", "-pk")[:limit]


def staff_member_get(user_id: int) -> User | None:
    """The account with this id if it belongs to staff (a role, or a platform admin)."""
    return (
        User.objects.filter(pk=user_id)
        .filter(Q(is_staff=True) | Q(is_superuser=True) | Q(staff_roles__isnull=False))
        .distinct()
        .first()
    )


def departments_administered_by(user: User) -> QuerySet[Department]:
    return Department.objects.filter(
        staff_roles__user=user, staff_roles__role=StaffRole.Role.DEPARTMENT_ADMIN
    ).distinct()


def staff_of_administered_departments(actor: User) -> QuerySet[User]:
    """The staff of the departments the actor administers, with their second-factor state.

    Each user carries ``mfa_enrolled`` and ``administered_roles`` (their roles in those
    departments). Platform administrators, whom only another platform administrator may
    reset, are left out, as is the actor.
    """
    departments = departments_administered_by(actor)
    return (
        User.objects.filter(
            staff_roles__department__in=departments, is_staff=False, is_superuser=False
        )
        .exclude(pk=actor.pk)
        .annotate(
            mfa_enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
        .prefetch_related(
            Prefetch(
                "staff_roles",
                queryset=StaffRole.objects.filter(department__in=departments)
                .select_related("department")
                .order_by("department__code", "role"),
                to_attr="administered_roles",
            )
        )
        .distinct()
        .order_by("name", "phone")
    )
