"""JSON API of a person's health code: her colour and why, its history, declarations,
the daily health check-in and appeals; and health staff's appeals queue.

Every endpoint needs a login (session or bearer token); a person sees only her own
data and must be real-name verified (403 ``health_not_verified``); the staff endpoints
are for health departments' staff only (403 ``not_health_staff``), who see names and ID
numbers masked. While the module is switched off every endpoint answers 503
``health_disabled``. ``/health/checkins`` (without ``/daily``) is the venue check-ins'.
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from yiwang.core.api import ErrorOut
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.health import selectors, services
from yiwang.health.models import HealthAppeal, HealthDeclaration
from yiwang.health.services import StayIn
from yiwang.identity.models import User

router = Router(tags=["health"])
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys((401, 403, 404, 409, 422, 429, 503), ErrorOut)

ColourCode = Literal["green", "yellow", "red"]


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _person(request: HttpRequest) -> User:
    """The caller, once the module is on and she is verified (else 503 / 403)."""
    services.health_enabled_check()
    user = _me(request)
    services.health_person_check(user)
    return user


# ---------------------------------------------------------------------------------------
# Schemas


class HealthInputOut(Schema):
    ref: str = Field(description="fact:<id>, declaration:<id> or risk_area:<id>")
    kind: str = Field(
        description="A fact's kind, declaration, checkin or risk_area", examples=["close_contact"]
    )
    label: str = Field(description="The kind in words", examples=["密切接触者"])
    date: str | None = Field(description="The day it concerns (ISO)", examples=["2022-04-18"])
    details: str = Field(description="What it says, in words")
    source: str = Field(
        description="Where it comes from: department and registry, or the person herself",
        examples=["杭州市卫生健康委员会 · 流调系统"],
    )
    set_aside: bool = Field(description="Set aside by a correction after an appeal")


class HealthStatusOut(Schema):
    id: int
    colour: ColourCode
    colour_label: str = Field(examples=["红码"])
    meaning: str = Field(description="What the colour asks of the person")
    since: datetime.datetime = Field(description="When the code took this colour")
    source: Literal["rules", "correction"]
    rule_id: str = Field(examples=["red.close_contact"])
    rule_explained: str = Field(description="The deciding rule in plain words")
    comment: str = Field(description="Health staff's comment on a correction")
    appeal_id: int | None = Field(description="The appeal a correction resolved")
    inputs: list[HealthInputOut] = Field(description="The facts and declarations that decided")


class HealthStayIn(Schema):
    region: str = Field(
        max_length=12, description="Region code (GB/T 2260, or 9 digits)", examples=["330106"]
    )
    arrived_on: datetime.date | None = None
    left_on: datetime.date | None = None


class HealthDeclarationIn(Schema):
    symptoms: list[str] = Field(
        default=[],
        max_length=20,
        description="Symptom codes: " + ", ".join(selectors.SYMPTOMS),
        examples=[["fever"]],
    )
    symptoms_since: datetime.date | None = None
    case_contact_on: datetime.date | None = Field(
        default=None, description="Last day of contact with a confirmed or suspected case"
    )
    stays: list[HealthStayIn] = Field(
        default=[], description="Where the person stayed in the last 14 days"
    )


class HealthCheckinIn(Schema):
    symptoms: list[str] = Field(
        default=[], max_length=20, description="Symptom codes today; empty when well"
    )


class HealthStayOut(Schema):
    region: str
    region_name: str
    arrived_on: datetime.date
    left_on: datetime.date


class HealthDeclarationOut(Schema):
    id: int
    kind: Literal["declaration", "checkin"]
    day: datetime.date
    declared_at: datetime.datetime
    symptoms: list[str]
    symptoms_since: datetime.date | None
    case_contact_on: datetime.date | None
    stays: list[HealthStayOut]
    colour: ColourCode | None = Field(description="The colour of the code after it")


class HealthAppealIn(Schema):
    reason: str = Field(max_length=services.REASON_MAX, examples=["我与该病例不在同一时空。"])


class HealthAppealOut(Schema):
    id: int
    status: Literal["open", "upheld", "corrected"]
    status_label: str
    reason: str
    colour_appealed: ColourCode
    created_at: datetime.datetime
    resolved_at: datetime.datetime | None
    resolution_comment: str


class StaffAppealOut(HealthAppealOut):
    person_name: str = Field(description="Masked", examples=["林**"])
    person_id_number: str = Field(description="Masked", examples=["3301**********0027"])
    rule_id: str
    rule_explained: str


class StaffAppealDetailOut(StaffAppealOut):
    appealed: HealthStatusOut
    history: list[HealthStatusOut]


class HealthAppealResolveIn(Schema):
    outcome: Literal["uphold", "correct"]
    comment: str = Field(max_length=services.REASON_MAX)
    colour: ColourCode | None = Field(default=None, description="Only when correcting")
    set_aside: list[str] | None = Field(
        default=None,
        description=(
            "Only when correcting: refs of the appealed colour's facts and declarations the "
            "rules ignore from now on; all of them when omitted"
        ),
    )


# ---------------------------------------------------------------------------------------
# Serialisation


def _status_out(explained: selectors.StatusExplained) -> HealthStatusOut:
    status = explained.status
    return HealthStatusOut(
        id=status.pk,
        colour=status.colour,  # type: ignore[arg-type]
        colour_label=explained.colour_label,
        meaning=explained.meaning,
        since=status.created_at,
        source=status.source,  # type: ignore[arg-type]
        rule_id=status.rule_id,
        rule_explained=explained.rule_text,
        comment=status.comment,
        appeal_id=status.appeal_id,
        inputs=[HealthInputOut(**vars(item)) for item in explained.inputs],
    )


def _declaration_out(declaration: HealthDeclaration, colour: str | None) -> HealthDeclarationOut:
    return HealthDeclarationOut(
        id=declaration.pk,
        kind=declaration.kind,  # type: ignore[arg-type]
        day=declaration.day,
        declared_at=declaration.declared_at,
        symptoms=list(declaration.symptoms),
        symptoms_since=declaration.symptoms_since,
        case_contact_on=declaration.case_contact_on,
        stays=[
            HealthStayOut(
                region=stay.region.code,
                region_name=stay.region.full_name,
                arrived_on=stay.arrived_on,
                left_on=stay.left_on,
            )
            for stay in declaration.stays.select_related("region")
        ],
        colour=colour,  # type: ignore[arg-type]
    )


def _colour_now(person: User) -> str | None:
    current = selectors.health_status_current(person)
    return current.colour if current is not None else None


def _appeal_fields(appeal: HealthAppeal) -> dict[str, object]:
    return {
        "id": appeal.pk,
        "status": appeal.status,
        "status_label": appeal.get_status_display(),
        "reason": appeal.reason,
        "colour_appealed": appeal.status_appealed.colour,
        "created_at": appeal.created_at,
        "resolved_at": appeal.resolved_at,
        "resolution_comment": appeal.resolution_comment,
    }


def _staff_appeal_fields(appeal: HealthAppeal) -> dict[str, object]:
    appealed = appeal.status_appealed
    return {
        **_appeal_fields(appeal),
        "person_name": mask_name(appeal.person.name),
        "person_id_number": mask_id_number(appeal.person.id_number),
        "rule_id": appealed.rule_id,
        "rule_explained": selectors.rule_text(appealed.rule_id, appealed.rule_set),
    }


# ---------------------------------------------------------------------------------------
# The person's own


@router.get(
    "/health/status",
    response={200: HealthStatusOut, **ERRORS},
    summary="My health code's colour now, and why",
    description=(
        "The colour, since when, the deciding rule in plain words and the facts and "
        "declarations that decided, each with its source. 404 `health_no_status` before "
        "the first check-in or declaration."
    ),
)
def health_status_current(request: HttpRequest) -> HealthStatusOut:
    status = selectors.health_status_current(_person(request))
    if status is None:
        raise NotFound(_("Your code has no colour yet."), code="health_no_status")
    return _status_out(selectors.health_statuses_explain([status])[0])


@router.get(
    "/health/history",
    response={200: list[HealthStatusOut], **ERRORS},
    summary="Every colour my code has had, newest first",
    description="Each with its rule, inputs and, for a correction, the staff's comment.",
)
def health_history(request: HttpRequest) -> list[HealthStatusOut]:
    statuses = list(selectors.health_history_for(_person(request)))
    return [_status_out(item) for item in selectors.health_statuses_explain(statuses)]


@router.post(
    "/health/declarations",
    response={201: HealthDeclarationOut, **ERRORS},
    summary="Make a self-declaration",
    description=(
        "Symptoms, contact with a case and stays; the colour is recomputed at once. Every "
        "impossible value is a 422 with a message per field (`stays.1.left_on`). The same "
        "declaration sent again within 10 minutes answers with the one already recorded."
    ),
)
def health_declaration_submit(
    request: HttpRequest, payload: HealthDeclarationIn
) -> Status[HealthDeclarationOut]:
    person = _person(request)
    declaration = services.health_declaration_submit(
        person=person,
        kind=HealthDeclaration.Kind.DECLARATION,
        symptoms=payload.symptoms,
        symptoms_since=payload.symptoms_since,
        case_contact_on=payload.case_contact_on,
        stays=[StayIn(stay.region, stay.arrived_on, stay.left_on) for stay in payload.stays],
    )
    return Status(201, _declaration_out(declaration, _colour_now(person)))


@router.post(
    "/health/checkins/daily",
    response={200: HealthDeclarationOut, 201: HealthDeclarationOut, **ERRORS},
    summary="Make today's health check-in",
    description=(
        "One a day: 201 with the new check-in, or 200 with the one already made today "
        "(nothing changes then). The colour is recomputed with a new one."
    ),
)
def health_checkin_daily(
    request: HttpRequest, payload: HealthCheckinIn
) -> Status[HealthDeclarationOut]:
    person = _person(request)
    checkin, created = services.health_checkin_daily(person=person, symptoms=payload.symptoms)
    return Status(201 if created else 200, _declaration_out(checkin, _colour_now(person)))


@router.get(
    "/health/appeals",
    response={200: list[HealthAppealOut], **ERRORS},
    summary="My appeals, newest first, with their outcome",
)
def health_appeals_mine(request: HttpRequest) -> list[HealthAppealOut]:
    appeals = selectors.health_appeals_for_person(_person(request))
    return [HealthAppealOut(**_appeal_fields(appeal)) for appeal in appeals]  # type: ignore[arg-type]


@router.post(
    "/health/appeals",
    response={201: HealthAppealOut, **ERRORS},
    summary="Appeal against my code's current colour",
    description=(
        "409 `health_appeal_green` for a green code, `health_no_status` without a colour, "
        "`health_appeal_open` while another appeal is open. The same appeal sent again "
        "while it is open answers with it."
    ),
)
def health_appeal_submit(request: HttpRequest, payload: HealthAppealIn) -> Status[HealthAppealOut]:
    appeal = services.health_appeal_submit(person=_person(request), reason=payload.reason)
    return Status(201, HealthAppealOut(**_appeal_fields(appeal)))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Health staff


def _staff(request: HttpRequest) -> User:
    services.health_enabled_check()
    user = _me(request)
    services.health_staff_check(user)
    return user


@router.get(
    "/health/staff/appeals",
    response={200: list[StaffAppealOut], **ERRORS},
    summary="Health staff: the appeals queue",
    description=(
        "Open appeals of people anywhere, oldest first (`status=open`, the default), or "
        "the latest 200 resolved ones (`status=resolved`). Names and ID numbers masked; "
        "each listing is recorded in the audit log."
    ),
)
def health_appeals_queue(
    request: HttpRequest, status: Literal["open", "resolved"] = "open"
) -> list[StaffAppealOut]:
    staff = _staff(request)
    resolved = status == "resolved"
    appeals = list(
        selectors.health_appeals_resolved()
        if resolved
        else selectors.health_appeals_open()
        .select_related("status_appealed__rule_set")
        .order_by("created_at", "id")
    )
    shown = services.health_appeals_list_read(staff=staff, appeals=appeals, resolved=resolved)
    return [StaffAppealOut(**_staff_appeal_fields(appeal)) for appeal in shown]  # type: ignore[arg-type]


@router.get(
    "/health/staff/appeals/{appeal_id}",
    response={200: StaffAppealDetailOut, **ERRORS},
    summary="Health staff: one appeal, with the colour's rule, inputs and history",
    description="Recorded in the audit log.",
)
def health_appeal_read(request: HttpRequest, appeal_id: int) -> StaffAppealDetailOut:
    appeal = services.health_appeal_read(staff=_staff(request), appeal_id=appeal_id)
    return _staff_detail_out(appeal)


def _staff_detail_out(appeal: HealthAppeal) -> StaffAppealDetailOut:
    history = selectors.health_statuses_explain(list(selectors.health_history_for(appeal.person)))
    appealed = (
        next((item for item in history if item.status.pk == appeal.status_appealed_id), None)
        or selectors.health_statuses_explain([appeal.status_appealed])[0]
    )
    return StaffAppealDetailOut(
        **_staff_appeal_fields(appeal),  # type: ignore[arg-type]
        appealed=_status_out(appealed),
        history=[_status_out(item) for item in history],
    )


@router.post(
    "/health/staff/appeals/{appeal_id}/resolve",
    response={200: StaffAppealDetailOut, **ERRORS},
    summary="Health staff: uphold the colour, or correct it",
    description=(
        "A correction gives a less severe colour and sets aside the named facts and "
        "declarations. 409 `health_appeal_resolved` when already resolved, "
        "`health_status_changed` when the colour changed since the appeal. Audited."
    ),
)
def health_appeal_resolve(
    request: HttpRequest, appeal_id: int, payload: HealthAppealResolveIn
) -> StaffAppealDetailOut:
    staff = _staff(request)
    appeal = selectors.health_appeal_get(appeal_id)
    if appeal is None:
        raise NotFound(code="health_appeal_not_found")
    resolved = services.health_appeal_resolve(
        appeal=appeal,
        staff=staff,
        outcome=payload.outcome,
        comment=payload.comment,
        colour=payload.colour,
        set_aside=payload.set_aside,
    )
    return _staff_detail_out(resolved)
