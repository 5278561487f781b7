"""JSON API of the data exchange: the catalogue, grants for data officers, a person's view.

Department systems read data through the ``/r1/`` gateway, not here.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from yiwang.core.api import ErrorOut
from yiwang.core.errors import NotFound
from yiwang.exchange import selectors, services
from yiwang.exchange.models import AccessGrant, Consent, DataResource
from yiwang.exchange.schemas import (
    ConsentOut,
    DataUseOut,
    GrantDecisionIn,
    GrantOut,
    GrantRequestIn,
    ResourceFieldOut,
    ResourceOut,
)
from yiwang.identity.models import User

router = Router(tags=["exchange"])
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys((400, 401, 403, 404, 409, 422, 429), ErrorOut)


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _resource_out(resource: DataResource) -> ResourceOut:
    return ResourceOut(
        code=resource.code,
        name=resource.name,
        description=resource.description,
        provider_code=resource.provider.code,
        provider_name=resource.provider.name,
        service_id=(
            f"{settings.EXCHANGE_INSTANCE}/GOV/{resource.provider.code}/"
            f"{resource.subsystem}/{resource.code}"
        ),
        sharing_type=resource.sharing_type,
        subject_kind=resource.subject_kind,
        requires_consent=resource.requires_consent,
        update_frequency=resource.update_frequency,
        legal_basis=resource.legal_basis,
        fields=[
            ResourceFieldOut(
                name=f.name,
                label=f.label,
                data_type=f.data_type,
                sensitivity=f.sensitivity,
                personal=f.personal,
                mask=f.mask,
            )
            for f in resource.fields.all()
        ],
    )


def _grant_out(grant: AccessGrant) -> GrantOut:
    return GrantOut(
        id=grant.pk,
        consumer=str(grant.consumer),
        resource=grant.resource.code,
        provider_code=grant.resource.provider.code,
        fields=grant.fields,
        clear_fields=grant.clear_fields,
        purpose=grant.purpose,
        legal_basis=grant.legal_basis,
        duration_days=grant.duration_days,
        status=grant.status,
        active=grant.is_active_at(timezone.now()),
        requested_at=grant.requested_at,
        decided_at=grant.decided_at,
        decision_comment=grant.decision_comment,
        valid_from=grant.valid_from,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
    )


def _consent_out(consent: Consent) -> ConsentOut:
    now = timezone.now()
    return ConsentOut(
        id=consent.pk,
        department_code=consent.department.code,
        department_name=consent.department.name,
        resources=[r.code for r in consent.resources.all()],
        purpose=consent.purpose,
        reference=consent.reference,
        given_at=consent.given_at,
        expires_at=consent.expires_at,
        revoked_at=consent.revoked_at,
        active=consent.revoked_at is None and consent.given_at <= now < consent.expires_at,
    )


@router.get(
    "/exchange/resources",
    response={200: list[ResourceOut], **ERRORS},
    summary="The data resource catalogue (数据资源目录)",
)
def data_resources_list(request: HttpRequest) -> list[ResourceOut]:
    return [_resource_out(r) for r in selectors.data_resources_listed()]


@router.get(
    "/exchange/resources/{code}",
    response={200: ResourceOut, **ERRORS},
    summary="One data resource with its fields",
)
def data_resource_get(request: HttpRequest, code: str) -> ResourceOut:
    resource = selectors.data_resource_get(code)
    if resource is None:
        raise NotFound()
    return _resource_out(resource)


@router.get(
    "/exchange/grants",
    response={200: list[GrantOut], **ERRORS},
    summary="Grants my departments asked for (outgoing) or decide (incoming)",
)
def access_grants_list(request: HttpRequest, direction: str = "") -> list[GrantOut]:
    return [_grant_out(g) for g in selectors.grants_for_officer(_me(request), direction=direction)]


@router.post(
    "/exchange/grants",
    response={201: GrantOut, **ERRORS},
    summary="Ask for access to fields of a resource for one of my department's systems",
)
def access_grant_request(request: HttpRequest, payload: GrantRequestIn) -> Status[GrantOut]:
    consumer = selectors.consumer_system_get(payload.consumer_department, payload.consumer_system)
    resource = selectors.data_resource_get(payload.resource)
    if consumer is None or resource is None:
        raise NotFound()
    grant = services.access_grant_request(
        actor=_me(request),
        consumer=consumer,
        resource=resource,
        fields=payload.fields,
        clear_fields=payload.clear_fields,
        purpose=payload.purpose,
        legal_basis=payload.legal_basis,
        duration_days=payload.duration_days,
    )
    return Status(201, _grant_out(grant))


def _grant(request: HttpRequest, grant_id: int) -> AccessGrant:
    grant = selectors.grant_for_officer(_me(request), grant_id)
    if grant is None:
        raise NotFound()
    return grant


@router.post(
    "/exchange/grants/{grant_id}/decision",
    response={200: GrantOut, **ERRORS},
    summary="Approve or deny a request for my department's data",
)
def access_grant_decide(request: HttpRequest, grant_id: int, payload: GrantDecisionIn) -> GrantOut:
    grant = services.access_grant_decide(
        actor=_me(request),
        grant=_grant(request, grant_id),
        approve=payload.approve,
        comment=payload.comment,
    )
    return _grant_out(grant)


@router.post(
    "/exchange/grants/{grant_id}/revoke",
    response={200: GrantOut, **ERRORS},
    summary="Revoke an approved grant at once",
)
def access_grant_revoke(request: HttpRequest, grant_id: int) -> GrantOut:
    grant = services.access_grant_revoke(actor=_me(request), grant=_grant(request, grant_id))
    return _grant_out(grant)


@router.get(
    "/me/data-uses",
    response={200: list[DataUseOut], **ERRORS},
    summary="Who read my data, when, what and why (我的数据使用记录)",
)
def data_uses_list(request: HttpRequest) -> list[DataUseOut]:
    return [
        DataUseOut(
            at=use.at,  # type: ignore[arg-type]
            consumer_department=use.consumer_department,
            consumer_system=use.consumer_system,
            provider_department=use.provider_department,
            resource=use.resource,
            fields=use.fields,
            purpose=use.purpose,
            issue=use.issue,
        )
        for use in selectors.data_uses_for_person(_me(request))
    ]


@router.get(
    "/me/consents", response={200: list[ConsentOut], **ERRORS}, summary="My consents (我的授权)"
)
def consents_list(request: HttpRequest) -> list[ConsentOut]:
    return [_consent_out(c) for c in selectors.consents_for_person(_me(request))]


@router.post(
    "/me/consents/{consent_id}/revoke",
    response={200: ConsentOut, **ERRORS},
    summary="Revoke one of my consents",
)
def consent_revoke(request: HttpRequest, consent_id: int) -> ConsentOut:
    consent = selectors.consents_for_person(_me(request)).filter(pk=consent_id).first()
    if consent is None:
        raise NotFound()
    return _consent_out(services.consent_revoke(subject=_me(request), consent=consent))
