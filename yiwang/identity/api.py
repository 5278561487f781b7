"""JSON API for accounts, real-name verification, organisations and staff.

Each endpoint parses its input, calls one service or selector and serialises the result.
Personal identifiers are returned masked.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status
from ninja.throttling import AnonRateThrottle

from yiwang.core.api import ErrorOut
from yiwang.core.clients import client_address
from yiwang.core.errors import NotFound
from yiwang.identity import selectors, services
from yiwang.identity.auth import second_factor_passed_by
from yiwang.identity.models import Organisation, OrganisationAgent, User
from yiwang.identity.schemas import (
    AgencyOut,
    AgentGrantIn,
    AgentOut,
    ApiTokenCreatedOut,
    ApiTokenCreateIn,
    ApiTokenOut,
    DepartmentOut,
    InPersonVerifyIn,
    OrganisationOut,
    OrganisationRegisterIn,
    PersonRegisterIn,
    RealNameVerifyIn,
    SmsCodeSendIn,
    StaffRoleOut,
    UserOut,
)

router = Router()
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys(
    (400, 401, 403, 404, 409, 422, 429, 503), ErrorOut
)


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.pk,
        phone=user.masked_phone,
        name=user.name,
        id_number=user.masked_id_number,
        assurance_level=user.assurance_level,
        acr=f"L{user.assurance_level}",
        language=user.language,
        verified_at=user.verified_at,
    )


def _organisation_out(organisation: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=organisation.pk,
        uscc=organisation.uscc,
        name=organisation.name,
        region_code=organisation.region_code,
    )


def _agent_out(grant: OrganisationAgent) -> AgentOut:
    return AgentOut(
        id=grant.pk,
        agent_name=grant.agent.display_name,
        agent_phone=grant.agent.masked_phone,
        valid_until=grant.valid_until,
        services=grant.services,
        revoked_at=grant.revoked_at,
    )


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@router.post(
    "/auth/sms-codes",
    auth=None,
    throttle=[AnonRateThrottle("10/m")],
    response={202: None, **ERRORS},
    tags=["accounts"],
    summary="Send an SMS code",
)
def sms_code_send(request: HttpRequest, payload: SmsCodeSendIn) -> Status[None]:
    services.sms_code_send(phone=payload.phone, purpose=payload.purpose)
    return Status(202, None)


@router.post(
    "/auth/register",
    auth=None,
    throttle=[AnonRateThrottle("10/m")],
    response={201: UserOut, **ERRORS},
    tags=["accounts"],
    summary="Register with a mobile number and SMS code",
)
def person_register(request: HttpRequest, payload: PersonRegisterIn) -> Status[UserOut]:
    user = services.person_register(
        phone=payload.phone,
        code=payload.code,
        password=payload.password,
        language=getattr(request, "LANGUAGE_CODE", ""),
    )
    return Status(201, _user_out(user))


@router.get("/me", response={200: UserOut, **ERRORS}, tags=["accounts"], summary="My account")
def me_get(request: HttpRequest) -> UserOut:
    return _user_out(_me(request))


@router.post(
    "/me/real-name-verification",
    response={200: UserOut, **ERRORS},
    tags=["accounts"],
    summary="Verify my real name against the population registry (to L2)",
)
def person_verify_real_name(request: HttpRequest, payload: RealNameVerifyIn) -> UserOut:
    user = services.person_verify_real_name(
        user=_me(request), name=payload.name, id_number=payload.id_number
    )
    return _user_out(user)


@router.get(
    "/me/organisations",
    response={200: list[OrganisationOut], **ERRORS},
    tags=["organisations"],
    summary="Organisations I represent",
)
def organisations_represented(request: HttpRequest) -> list[OrganisationOut]:
    return [_organisation_out(o) for o in selectors.organisations_represented_by(_me(request))]


@router.post(
    "/me/organisations",
    response={201: OrganisationOut, **ERRORS},
    tags=["organisations"],
    summary="Link an organisation I represent (checked against the legal-person registry)",
)
def organisation_register(
    request: HttpRequest, payload: OrganisationRegisterIn
) -> Status[OrganisationOut]:
    organisation = services.organisation_register(
        user=_me(request), uscc=payload.uscc, name=payload.name
    )
    return Status(201, _organisation_out(organisation))


@router.get(
    "/me/agencies",
    response={200: list[AgencyOut], **ERRORS},
    tags=["organisations"],
    summary="Organisations I may act for as an authorised agent",
)
def agencies_list(request: HttpRequest) -> list[AgencyOut]:
    return [
        AgencyOut(
            id=grant.pk,
            organisation=_organisation_out(grant.organisation),
            valid_until=grant.valid_until,
            services=grant.services,
        )
        for grant in selectors.agencies_for_user(_me(request))
    ]


def _represented(request: HttpRequest, organisation_id: int) -> Organisation:
    organisation = selectors.organisation_for_representative(_me(request), organisation_id)
    if organisation is None:
        raise NotFound()
    return organisation


@router.get(
    "/organisations/{organisation_id}/agents",
    response={200: list[AgentOut], **ERRORS},
    tags=["organisations"],
    summary="Agents of an organisation I represent",
)
def organisation_agents_list(request: HttpRequest, organisation_id: int) -> list[AgentOut]:
    organisation = _represented(request, organisation_id)
    return [_agent_out(g) for g in selectors.agents_of_organisation(organisation)]


@router.post(
    "/organisations/{organisation_id}/agents",
    response={201: AgentOut, **ERRORS},
    tags=["organisations"],
    summary="Authorise an agent",
)
def organisation_agent_grant(
    request: HttpRequest, organisation_id: int, payload: AgentGrantIn
) -> Status[AgentOut]:
    organisation = _represented(request, organisation_id)
    grant = services.organisation_agent_grant(
        actor=_me(request),
        organisation=organisation,
        agent_phone=payload.agent_phone,
        valid_until=payload.valid_until,
        services=payload.services,
        client_address=client_address(request),
    )
    return Status(201, _agent_out(grant))


@router.delete(
    "/organisations/{organisation_id}/agents/{grant_id}",
    response={204: None, **ERRORS},
    tags=["organisations"],
    summary="Revoke an agent's authorisation",
)
def organisation_agent_revoke(
    request: HttpRequest, organisation_id: int, grant_id: int
) -> Status[None]:
    organisation = _represented(request, organisation_id)
    grant = selectors.agents_of_organisation(organisation).filter(pk=grant_id).first()
    if grant is None:
        raise NotFound()
    services.organisation_agent_revoke(
        actor=_me(request), grant=grant, client_address=client_address(request)
    )
    return Status(204, None)


@router.get(
    "/me/staff-roles",
    response={200: list[StaffRoleOut], **ERRORS},
    tags=["staff"],
    summary="My staff roles",
)
def staff_roles_list(request: HttpRequest) -> list[StaffRoleOut]:
    return [
        StaffRoleOut(
            department_code=role.department.code,
            department_name=role.department.name,
            region_code=role.department.region.code,
            role=role.role,
        )
        for role in selectors.staff_roles_for_user(_me(request))
    ]


@router.post(
    "/staff/in-person-verifications",
    response={200: UserOut, **ERRORS},
    tags=["staff"],
    summary="Verify a person in person at a service hall window (to L3)",
)
def person_verify_in_person(request: HttpRequest, payload: InPersonVerifyIn) -> UserOut:
    person = services.person_verify_in_person(
        staff=_me(request),
        id_number=payload.id_number,
        name=payload.name,
        client_address=client_address(request),
    )
    return _user_out(person)


@router.get(
    "/departments",
    auth=None,
    response={200: list[DepartmentOut], **ERRORS},
    tags=["departments"],
    summary="Departments, optionally of one region",
)
def departments_list(
    request: HttpRequest, region: str | None = None, kind: str | None = None
) -> list[DepartmentOut]:
    return [
        DepartmentOut(code=d.code, name=d.name, kind=d.kind, region_code=d.region.code, uscc=d.uscc)
        for d in selectors.departments_list(region_code=region, kind=kind)
    ]


@router.get(
    "/me/tokens",
    response={200: list[ApiTokenOut], **ERRORS},
    tags=["accounts"],
    summary="My API tokens",
)
def api_tokens_list(request: HttpRequest) -> list[ApiTokenOut]:
    return [ApiTokenOut.from_orm(t) for t in selectors.api_tokens_for_user(_me(request))]


@router.post(
    "/me/tokens",
    response={201: ApiTokenCreatedOut, **ERRORS},
    tags=["accounts"],
    summary="Create an API token (the secret is shown once)",
)
def api_token_create(request: HttpRequest, payload: ApiTokenCreateIn) -> Status[ApiTokenCreatedOut]:
    token, secret = services.api_token_create(
        user=_me(request),
        name=payload.name,
        expires_at=payload.expires_at,
        second_factor=second_factor_passed_by(request),
    )
    out = ApiTokenOut.from_orm(token)
    return Status(201, ApiTokenCreatedOut(**out.dict(), secret=secret))


@router.delete(
    "/me/tokens/{token_id}",
    response={204: None, **ERRORS},
    tags=["accounts"],
    summary="Revoke an API token",
)
def api_token_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    services.api_token_revoke(user=_me(request), token_id=token_id)
    return Status(204, None)
