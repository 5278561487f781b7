"""JSON API of contact tracing (流调), for health staff.

Start a trace for a confirmed case, list the department's traces, read one with the
people it found (names and ID numbers masked; opening one is a separate, audited call),
decide about each person, close the trace. Health staff only (403 for anyone else);
another department's trace is a 404; every endpoint answers 503 while health codes are
switched off (``HEALTH_EMERGENCY_ENABLED``).
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from yiwang.core.api import ErrorOut
from yiwang.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
)
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.health import tracing
from yiwang.health.models import ContactCandidate, ContactTrace
from yiwang.health.selectors import user_is_health_staff
from yiwang.health.services import health_enabled_check
from yiwang.identity.models import User

router = Router(tags=["health"])
# Every endpoint: 401 without a login, 403 for anyone but health staff, 429 throttled,
# 503 while health codes are switched off; each adds its own.
COMMON = (401, 403, 429, 503)


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return dict.fromkeys(sorted({*COMMON, *codes}), ErrorOut)


def _me(request: HttpRequest) -> User:
    """Health staff, with the module on; else 503 (off) or 403 (anyone else)."""
    try:
        health_enabled_check()
    except Conflict as exc:  # switched off, the API is not there for now: 503, not 409
        raise ServiceUnavailable(exc.message, code=exc.code) from None
    user: User = request.user  # type: ignore[assignment]
    if not user_is_health_staff(user):
        raise PermissionDenied(
            _("Only staff of a health department may trace contacts."), code="not_health_staff"
        )
    return user


def _trace(request: HttpRequest, trace_id: int) -> tuple[User, ContactTrace]:
    me = _me(request)
    trace = tracing.trace_for_staff(me, trace_id)
    if trace is None:
        raise NotFound()
    return me, trace


class TraceStartIn(Schema):
    case_id_number: str = Field(
        max_length=40,
        description="The case's resident ID number: she has a confirmed-case fact or a "
        "positive test",
        examples=["330106199001011234"],
    )
    window_from: datetime.datetime | None = Field(
        default=None,
        description="Start of the window; default: 00:00 on HEALTH_TRACE_DAYS_BEFORE (4) "
        "days before the fact's day. Without an offset, Beijing time.",
    )
    window_until: datetime.datetime | None = Field(
        default=None, description="End of the window, not in the future; default: now"
    )
    margin_minutes: int | None = Field(
        default=None,
        description="How far apart two stays at a venue may be and still count as shared "
        "(0–240); default HEALTH_CONTACT_MARGIN_MINUTES (30)",
    )


class TraceSummaryOut(Schema):
    visits: int = Field(description="The case's check-ins in the window")
    trips: int = Field(description="The case's trips in the window (transport registry)")
    candidates: int = Field(description="People found")
    unidentified: int = Field(
        description="People at the venues without real-name verification (not named)"
    )
    milliseconds: int = Field(description="How long the matching took")


class TraceOut(Schema):
    id: int
    department_code: str
    status: Literal["open", "closed"]
    case_id_number: str = Field(description="Masked", examples=["3301**********1234"])
    case_name: str = Field(description="Masked", examples=["张*"])
    window_from: datetime.datetime
    window_until: datetime.datetime
    margin_minutes: int
    stay_minutes: int = Field(description="The stay a check-in stands for")
    summary: TraceSummaryOut
    candidates_total: int
    candidates_pending: int
    started_by: str
    created_at: datetime.datetime
    closed_at: datetime.datetime | None


class MatchOut(Schema):
    kind: Literal["venue", "trip"]
    explained: str = Field(
        description="The match in words, in the request's language",
        examples=["同一场所：西湖银泰超市 11-20 14:05（病例 14:10）"],
    )
    venue: int | None = Field(default=None, description="Venue id (same venue)")
    venue_name: str | None = None
    at: datetime.datetime | None = Field(default=None, description="Her check-in")
    case_at: datetime.datetime | None = Field(default=None, description="The case's check-in")
    mode: str | None = Field(default=None, description="train, flight or coach (same trip)")
    trip: str | None = Field(default=None, examples=["G1234"])
    date: datetime.date | None = None
    seat: str | None = Field(default=None, examples=["05车12F"])
    case_seat: str | None = None


class CandidateOut(Schema):
    id: int
    id_number: str = Field(description="Masked unless opened")
    name: str = Field(description="Masked unless opened")
    has_account: bool
    first_contact_on: datetime.date
    matches: list[MatchOut]
    decision: Literal["pending", "confirmed", "dismissed"]
    decided_by: str | None
    decided_at: datetime.datetime | None
    comment: str
    fact_id: int | None = Field(description="The close-contact fact recorded on confirmation")


class TraceDetailOut(TraceOut):
    candidates: list[CandidateOut]


class CandidateDecisionIn(Schema):
    decision: Literal["confirm", "dismiss"] = Field(
        description="confirm: record a close-contact fact (her colour follows the rules); "
        "dismiss: record nothing about her"
    )
    comment: str = Field(default="", max_length=2000, description="Required to dismiss")


def _trace_out(trace: ContactTrace) -> dict[str, Any]:
    summary = {
        key: int(trace.summary.get(key, 0))
        for key in ("visits", "trips", "candidates", "unidentified", "milliseconds")
    }
    return {
        "id": trace.pk,
        "department_code": trace.department.code,
        "status": trace.status,
        "case_id_number": mask_id_number(trace.case_id_number),
        "case_name": mask_name(trace.case_name),
        "window_from": trace.window_from,
        "window_until": trace.window_until,
        "margin_minutes": trace.margin_minutes,
        "stay_minutes": trace.stay_minutes,
        "summary": summary,
        "candidates_total": getattr(trace, "candidates_total", 0),
        "candidates_pending": getattr(trace, "candidates_pending", 0),
        "started_by": trace.started_by.display_name,
        "created_at": trace.created_at,
        "closed_at": trace.closed_at,
    }


def _candidate_out(candidate: ContactCandidate, *, masked: bool = True) -> CandidateOut:
    return CandidateOut(
        id=candidate.pk,
        id_number=mask_id_number(candidate.id_number) if masked else candidate.id_number,
        name=mask_name(candidate.name) if masked else candidate.name,
        has_account=candidate.person_id is not None,
        first_contact_on=candidate.first_contact_on,
        matches=[
            MatchOut(**match, explained=tracing.match_explain(match)) for match in candidate.matches
        ],
        decision=candidate.decision,  # type: ignore[arg-type]
        decided_by=candidate.decided_by.display_name if candidate.decided_by else None,
        decided_at=candidate.decided_at,
        comment=candidate.comment,
        fact_id=candidate.fact_id,
    )


def _detail_out(me: User, trace_id: int) -> TraceDetailOut:
    trace = tracing.trace_for_staff(me, trace_id)
    if trace is None:  # pragma: no cover - checked by the caller
        raise NotFound()
    return TraceDetailOut(
        **_trace_out(trace),
        candidates=[_candidate_out(c) for c in tracing.trace_candidates(trace)],
    )


@router.post(
    "/health/traces",
    response={201: TraceDetailOut, **_errors(409, 422)},
    summary="Start a contact trace for a confirmed case (流调)",
    description=(
        "Compares the case's venue check-ins and trips in the window with everyone else's "
        "and returns the people found, for review; nobody's colour changes yet. 422: the "
        "ID number is not valid, the person is not a confirmed case or has no positive "
        "test, or the window or margin is wrong (by field). 409: the case already has an "
        "open trace in your department. 403: you are not health staff, or the health "
        "department has no grant to read the transport registry. 503: health codes are "
        "switched off, or the transport registry could not be read (nothing is saved)."
    ),
)
def trace_start(request: HttpRequest, payload: TraceStartIn) -> Status[TraceDetailOut]:
    me = _me(request)
    trace = tracing.trace_start(
        actor=me,
        case_id_number=payload.case_id_number,
        window_from=payload.window_from,
        window_until=payload.window_until,
        margin_minutes=payload.margin_minutes,
    )
    return Status(201, _detail_out(me, trace.pk))


@router.get(
    "/health/traces",
    response={200: list[TraceOut], **_errors(422)},
    summary="My department's contact traces, newest first",
)
def traces_list(
    request: HttpRequest,
    status: Literal["open", "closed"] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    me = _me(request)
    if not 1 <= limit <= 200 or offset < 0:
        raise ValidationFailed.for_field(
            "limit", _("Use a limit of 1 to 200 and an offset of 0 or more.")
        )
    traces = tracing.traces_for_staff(me)
    if status is not None:
        traces = traces.filter(status=status)
    return [_trace_out(trace) for trace in traces[offset : offset + limit]]


@router.get(
    "/health/traces/{trace_id}",
    response={200: TraceDetailOut, **_errors(404)},
    summary="A contact trace with the people it found (masked) and why",
)
def trace_get(request: HttpRequest, trace_id: int) -> TraceDetailOut:
    me, trace = _trace(request, trace_id)
    return _detail_out(me, trace.pk)


@router.post(
    "/health/traces/{trace_id}/candidates/{candidate_id}/open",
    response={200: CandidateOut, **_errors(404)},
    summary="Open one person found: her full name and ID number (audited)",
)
def candidate_open(request: HttpRequest, trace_id: int, candidate_id: int) -> CandidateOut:
    me = _me(request)
    candidate = tracing.candidate_for_staff(me, trace_id, candidate_id)
    if candidate is None:
        raise NotFound()
    return _candidate_out(tracing.candidate_open(actor=me, candidate=candidate), masked=False)


@router.post(
    "/health/traces/{trace_id}/candidates/{candidate_id}/decision",
    response={200: CandidateOut, **_errors(404, 409, 422)},
    summary="Confirm a person as a close contact, or dismiss her",
    description=(
        "Confirming records a close-contact fact (from your department, source registry "
        "contact-tracing, reference trace:<id>, on her first day of contact) and refreshes "
        "her colour if she has an account. 409: she has already been decided about, or the "
        "trace is closed. 422: no comment for a dismissal."
    ),
)
def candidate_decide(
    request: HttpRequest, trace_id: int, candidate_id: int, payload: CandidateDecisionIn
) -> CandidateOut:
    me = _me(request)
    candidate = tracing.candidate_for_staff(me, trace_id, candidate_id)
    if candidate is None:
        raise NotFound()
    decided = tracing.candidate_decide(
        actor=me, candidate=candidate, decision=payload.decision, comment=payload.comment
    )
    return _candidate_out(decided)


@router.post(
    "/health/traces/{trace_id}/close",
    response={200: TraceOut, **_errors(404, 409)},
    summary="Close a contact trace once everyone found has been decided about",
    description="409: someone is still to be reviewed, or the trace is already closed.",
)
def trace_close(request: HttpRequest, trace_id: int) -> dict[str, Any]:
    me, trace = _trace(request, trace_id)
    tracing.trace_close(actor=me, trace=trace)
    closed = tracing.trace_for_staff(me, trace.pk)
    if closed is None:  # pragma: no cover - it was there a moment ago
        raise NotFound()
    return _trace_out(closed)
