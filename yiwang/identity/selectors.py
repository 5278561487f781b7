"""Reads of identity data, scoped to who is asking."""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from yiwang.identity.models import (
    ApiToken,
    Department,
    Organisation,
    OrganisationAgent,
    StaffRole,
    User,
)


def user_for_api_token(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None. Records the token's last use."""
    from yiwang.identity.services import API_TOKEN_PREFIX, api_token_hash

    if not secret.startswith(API_TOKEN_PREFIX):
        return None
    prefix = secret[len(API_TOKEN_PREFIX) :].split("_", 1)[0]
    token = (
        ApiToken.objects.select_related("user")
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
    return token.user


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
