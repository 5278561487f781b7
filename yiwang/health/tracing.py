"""Contact tracing (流调): the people a confirmed case may have infected, and staff's review.

``trace_start`` matches the case's venue check-ins and trips in a window against
everyone else's:

* **same venue**: each check-in stands for a stay of ``HEALTH_VISIT_MINUTES``; everyone
  else whose stay at the venue overlaps one of the case's, give or take
  ``HEALTH_CONTACT_MARGIN_MINUTES``, is found by one query, a range scan of the
  ``(venue, checked_in_at)`` index per visit (``checkins_near``);
* **same trip**: the case's trips in the transport registry, then each trip's passenger
  list, read through the exchange as the health department's workbench under its grants
  (purpose ``TRACE_PURPOSE``, issue ``trace:<id>``), so every read is governed and logged.

It writes the trace and one candidate per person found (all her matches merged) in one
transaction, and appends to the exchange log, for each person whose data it compared, one
use she sees in 我的数据使用记录. Nobody's colour changes then: staff confirm or dismiss
each candidate (``candidate_decide``); a confirmation records a close-contact fact, from
which the rules compute her colour.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.audit import audit_record
from yiwang.core.errors import (
    Conflict,
    Message,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
)
from yiwang.core.identifiers import resident_id_parse
from yiwang.core.masking import mask_id_number
from yiwang.exchange.log import LogEntry, log_append
from yiwang.exchange.models import ConsumerSystem, ExchangeLogRecord
from yiwang.exchange.services import (
    AccessDenied,
    ConsentRequired,
    ExchangeError,
    ExchangeRequest,
    Unauthenticated,
    UnknownService,
    exchange_fetch,
    subject_digest,
    trip_subject_parse,
    workbench_consumer,
)
from yiwang.health.facts import health_facts_for
from yiwang.health.models import (
    ContactCandidate,
    ContactTrace,
    HealthFact,
    Venue,
    VenueCheckin,
)
from yiwang.health.selectors import health_staff_departments, user_is_health_staff
from yiwang.health.services import health_enabled_check, health_fact_record
from yiwang.identity.models import Department, User

logger = logging.getLogger(__name__)

# What the trace's reads are for, as the exchange log and each person's data-use page say.
TRACE_PURPOSE = "密切接触者排查"
# The service under which the comparison of a person's check-ins and trips is logged.
TRACE_SERVICE = "health-contact-tracing"
TRIPS_SERVICE = "transport-trips"
MANIFEST_SERVICE = "transport-manifest"
TRIP_FIELDS = ["mode", "trip_number", "travel_date", "departs_at", "arrives_at", "seat"]
MANIFEST_FIELDS = ["id_number", "name", "seat"]
# Where a confirmed contact's fact says it came from.
SOURCE_REGISTRY = "contact-tracing"
# Check-ins are purged after four weeks: a longer window would find nothing more.
WINDOW_MAX_DAYS = 30
MARGIN_MAX_MINUTES = 240
COMMENT_MAX = 2000
# What staff decide: confirm or dismiss (the stored decisions' own values are accepted too).
DECISIONS = {
    "confirm": ContactCandidate.Decision.CONFIRMED,
    "dismiss": ContactCandidate.Decision.DISMISSED,
    ContactCandidate.Decision.CONFIRMED.value: ContactCandidate.Decision.CONFIRMED,
    ContactCandidate.Decision.DISMISSED.value: ContactCandidate.Decision.DISMISSED,
}
# The log's fields for each kind of match, in the order of the resource's fields.
LOGGED_FIELDS = {"venue": ("venue", "checked_in_at"), "trip": ("trip", "seat")}
LOGGED_ORDER = ("venue", "checked_in_at", "trip", "seat")
CARRIAGE_RE = re.compile(r"^(\d{1,2})车")


# ---------------------------------------------------------------------------------------
# Reads


def traces_for_staff(user: User) -> QuerySet[ContactTrace]:
    """The traces of the user's health departments, with their candidates counted."""
    return (
        ContactTrace.objects.filter(department__in=health_staff_departments(user))
        .select_related("department", "started_by")
        .annotate(
            candidates_total=Count("candidates"),
            candidates_pending=Count(
                "candidates", filter=Q(candidates__decision=ContactCandidate.Decision.PENDING)
            ),
        )
        .order_by("-created_at", "-id")
    )


def trace_for_staff(user: User, trace_id: int) -> ContactTrace | None:
    return traces_for_staff(user).filter(pk=trace_id).first()


def trace_candidates(trace: ContactTrace) -> QuerySet[ContactCandidate]:
    return trace.candidates.select_related("decided_by").order_by("first_contact_on", "id")


def candidate_for_staff(user: User, trace_id: int, candidate_id: int) -> ContactCandidate | None:
    return (
        ContactCandidate.objects.filter(
            pk=candidate_id,
            trace_id=trace_id,
            trace__department__in=health_staff_departments(user),
        )
        .select_related("trace__department", "decided_by")
        .first()
    )


@dataclass(frozen=True)
class Visit:
    """One of the case's check-ins."""

    venue_id: int
    at: datetime.datetime


def case_visits(
    *, person_id: int, window_from: datetime.datetime, window_until: datetime.datetime
) -> list[Visit]:
    """The case's check-ins in the window (the (person, checked_in_at) index)."""
    rows = (
        VenueCheckin.objects.filter(
            person_id=person_id, checked_in_at__range=(window_from, window_until)
        )
        .order_by("checked_in_at", "id")
        .values_list("venue_id", "checked_in_at")
    )
    return [Visit(venue_id, at) for venue_id, at in rows]


def _reach_ranges(
    visits: Iterable[Visit], reach: datetime.timedelta
) -> list[tuple[int, datetime.datetime, datetime.datetime]]:
    """Per venue, the times a stay overlapping a visit's may begin; overlapping ones merged."""
    by_venue: dict[int, list[datetime.datetime]] = defaultdict(list)
    for visit in visits:
        by_venue[visit.venue_id].append(visit.at)
    ranges: list[tuple[int, datetime.datetime, datetime.datetime]] = []
    for venue_id in sorted(by_venue):
        merged: list[list[datetime.datetime]] = []
        for at in sorted(by_venue[venue_id]):
            if merged and at - reach <= merged[-1][1]:
                merged[-1][1] = at + reach
            else:
                merged.append([at - reach, at + reach])
        ranges += [(venue_id, low, high) for low, high in merged]
    return ranges


def checkins_near(
    visits: Sequence[Visit],
    *,
    margin: datetime.timedelta,
    stay: datetime.timedelta,
    exclude_person_id: int | None = None,
) -> QuerySet[VenueCheckin, tuple[int, int, datetime.datetime]]:
    """Everyone's check-ins whose stay overlaps a visit's, give or take the margin.

    A stay is ``[t, t + stay]``; two overlap, give or take ``margin``, when the other
    check-in is in ``[visit - margin - stay, visit + stay + margin]`` (bounds included).
    One query: on PostgreSQL a bitmap OR of one range scan of the ``(venue,
    checked_in_at)`` index per visit, on SQLite a multi-index OR. Rows are
    ``(person_id, venue_id, checked_in_at)``.
    """
    ranges = _reach_ranges(visits, margin + stay)
    if not ranges:
        return VenueCheckin.objects.none().values_list("person_id", "venue_id", "checked_in_at")
    condition = Q()
    for venue_id, low, high in ranges:
        condition |= Q(venue_id=venue_id, checked_in_at__range=(low, high))
    rows = VenueCheckin.objects.filter(condition)
    if exclude_person_id is not None:
        rows = rows.exclude(person_id=exclude_person_id)
    return rows.order_by().values_list("person_id", "venue_id", "checked_in_at")


def _local(value: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _place(seat: str, mode: str) -> str:
    """Where on the trip: the carriage of a train or coach ("05车"), a flight's seat."""
    if not seat:
        return "—"
    match = CARRIAGE_RE.match(seat)
    if mode != "flight" and match:
        return match[0]
    return seat


def match_explain(match: dict[str, Any]) -> str:
    """One match in words, for staff: where or on what, and when, next to the case."""
    if match.get("kind") == "venue":
        at = _local(str(match.get("at", "")))
        case_at = _local(str(match.get("case_at", "")))
        if at is None or case_at is None:
            return _("Same venue: %(venue)s") % {"venue": match.get("venue_name", "")}
        case_format = "%H:%M" if case_at.date() == at.date() else "%m-%d %H:%M"
        return _("Same venue: %(venue)s %(at)s (case %(case_at)s)") % {
            "venue": match.get("venue_name", ""),
            "at": at.strftime("%m-%d %H:%M"),
            "case_at": case_at.strftime(case_format),
        }
    mode = str(match.get("mode", ""))
    day = str(match.get("date", ""))[5:]
    values = {
        "trip": match.get("trip", ""),
        "date": day,
        "place": _place(str(match.get("seat", "")), mode),
        "case_place": _place(str(match.get("case_seat", "")), mode),
    }
    if mode == "flight":
        return _("Same flight: %(trip)s %(date)s seat %(place)s (case %(case_place)s)") % values
    return _("Same trip: %(trip)s %(date)s %(place)s (case %(case_place)s)") % values


# ---------------------------------------------------------------------------------------
# Starting a trace


def _health_department(actor: User) -> Department:
    if not user_is_health_staff(actor):
        raise PermissionDenied(
            _("Only staff of a health department may trace contacts."), code="not_health_staff"
        )
    department = health_staff_departments(actor).order_by("code").first()
    if department is None:  # pragma: no cover - user_is_health_staff said there is one
        raise PermissionDenied(code="not_health_staff")
    return department


def _trace_check(actor: User, trace: ContactTrace) -> None:
    """Health staff of the trace's own department only; other traces do not exist for them."""
    if not user_is_health_staff(actor):
        raise PermissionDenied(
            _("Only staff of a health department may trace contacts."), code="not_health_staff"
        )
    if not health_staff_departments(actor).filter(pk=trace.department_id).exists():
        raise NotFound()


def _aware(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _case_fact(id_number: str, now: datetime.datetime) -> tuple[datetime.date, HealthFact | None]:
    """The day of the latest fact that makes the person a case, and its row if local."""
    facts = [
        fact
        for fact in health_facts_for(id_number, at=now)
        if fact.kind == HealthFact.Kind.CONFIRMED_CASE
        or (fact.kind == HealthFact.Kind.TEST_RESULT and fact.result == HealthFact.Result.POSITIVE)
    ]
    if not facts:
        raise ValidationFailed(
            _("This person is not a confirmed case."),
            fields={
                "case_id_number": [
                    _(
                        "No confirmed case or positive test is recorded for this ID number: "
                        "only a case's contacts can be traced."
                    )
                ]
            },
            code="health_trace_not_a_case",
        )
    latest = max(facts, key=lambda fact: (fact.observed_on, fact.ref))
    row = None
    if latest.ref.startswith("fact:") and latest.ref[5:].isdigit():
        row = HealthFact.objects.filter(pk=int(latest.ref[5:])).first()
    return latest.observed_on, row


@dataclass
class _Found:
    """A person a trace found, while it is being built."""

    id_number: str
    name: str = ""
    person_id: int | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    days: set[datetime.date] = field(default_factory=set)


class _FetchFailed(Exception):
    """An exchange read refused or failed inside the trace's transaction."""

    def __init__(self, error: ExchangeError, request: ExchangeRequest) -> None:
        super().__init__(error.message)
        self.error = error
        self.request = request


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _log_copy(request_id: str) -> LogEntry | None:
    record = ExchangeLogRecord.objects.filter(request_id=request_id).first()
    if record is None:
        return None
    return LogEntry(**{f.name: getattr(record, f.name) for f in dataclasses.fields(LogEntry)})


def _fetch(
    consumer: ConsumerSystem,
    *,
    service: str,
    subject: str,
    fields: list[str],
    issue: str,
    reads: list[LogEntry],
) -> list[dict[str, Any]]:
    """Read through the exchange; keep a copy of what it logged, in ``reads``."""
    request = ExchangeRequest(
        service=service,
        subject=subject,
        purpose=TRACE_PURPOSE,
        fields=fields,
        issue=issue,
        request_id=uuid.uuid4().hex,
    )
    try:
        records = exchange_fetch(consumer=consumer, request=request).records
    except ExchangeError as exc:
        copy = _log_copy(request.request_id)
        if copy is not None:
            reads.append(copy)
        raise _FetchFailed(exc, request) from exc
    copy = _log_copy(request.request_id)
    if copy is not None:
        reads.append(copy)
    return records


def _reads_relog(reads: list[LogEntry]) -> None:
    """Log again the reads of a trace whose transaction was rolled back, their log records
    with it: the data did leave the registry (or was refused), and the log must say so."""
    for entry in reads:
        try:
            log_append(entry)
        except DatabaseError:
            logger.exception("The exchange log could not be written (request %s)", entry.request_id)


def _overlaps(
    record: dict[str, Any], window_from: datetime.datetime, window_until: datetime.datetime
) -> bool:
    departs = _local(str(record.get("departs_at") or ""))
    arrives = _local(str(record.get("arrives_at") or ""))
    if departs is not None and arrives is not None and timezone.is_aware(departs):
        return departs <= window_until and arrives >= window_from
    try:
        day = datetime.date.fromisoformat(str(record.get("travel_date")))
    except ValueError:
        return False
    return timezone.localdate(window_from) <= day <= timezone.localdate(window_until)


def _venue_matches(
    found: dict[str, _Found],
    *,
    case_person: User,
    visits: list[Visit],
    margin: datetime.timedelta,
    stay: datetime.timedelta,
) -> int:
    """Add everyone who shared a venue with the case; the number without an ID number."""
    rows = list(checkins_near(visits, margin=margin, stay=stay, exclude_person_id=case_person.pk))
    if not rows:
        return 0
    people = {
        pk: (id_number or "", name)
        for pk, id_number, name in User.objects.filter(pk__in={row[0] for row in rows}).values_list(
            "pk", "id_number", "name"
        )
    }
    venues = dict(Venue.objects.filter(pk__in={row[1] for row in rows}).values_list("pk", "name"))
    case_times: dict[int, list[datetime.datetime]] = defaultdict(list)
    for visit in visits:
        case_times[visit.venue_id].append(visit.at)
    unidentified: set[int] = set()
    for person_id, venue_id, at in sorted(rows, key=lambda row: (row[2], row[0])):
        id_number, name = people.get(person_id, ("", ""))
        if not id_number:  # an account without real-name verification: no fact can name her
            unidentified.add(person_id)
            continue
        case_at = min(case_times[venue_id], key=lambda moment: abs(moment - at))
        entry = found.setdefault(id_number, _Found(id_number, name, person_id))
        entry.person_id = person_id
        entry.name = entry.name or name
        entry.matches.append(
            {
                "kind": "venue",
                "venue": venue_id,
                "venue_name": venues.get(venue_id, ""),
                "case_at": timezone.localtime(case_at).isoformat(),
                "at": timezone.localtime(at).isoformat(),
            }
        )
        entry.days.add(timezone.localdate(at))
    return len(unidentified)


def _trip_matches(
    found: dict[str, _Found],
    *,
    consumer: ConsumerSystem,
    case_id_number: str,
    issue: str,
    window_from: datetime.datetime,
    window_until: datetime.datetime,
    reads: list[LogEntry],
) -> int:
    """Add everyone on the case's trips in the window; the number of trips."""
    trips: dict[str, tuple[str, datetime.date, dict[str, Any]]] = {}
    for record in _fetch(
        consumer,
        service=TRIPS_SERVICE,
        subject=case_id_number,
        fields=TRIP_FIELDS,
        issue=issue,
        reads=reads,
    ):
        number = str(record.get("trip_number") or "").strip().upper()
        subject = f"{number}@{str(record.get('travel_date') or '').strip()}"
        parsed = trip_subject_parse(subject)
        # A record the provider got wrong names no trip whose passengers could be asked for.
        if parsed is not None and _overlaps(record, window_from, window_until):
            trips.setdefault(subject, (*parsed, record))
    for subject, (number, day, trip) in sorted(trips.items()):
        for passenger in _fetch(
            consumer,
            service=MANIFEST_SERVICE,
            subject=subject,
            fields=MANIFEST_FIELDS,
            issue=issue,
            reads=reads,
        ):
            id_number = str(passenger.get("id_number") or "").strip().upper()
            if not id_number or id_number == case_id_number:
                continue
            entry = found.setdefault(id_number, _Found(id_number))
            entry.name = entry.name or str(passenger.get("name") or "")
            entry.matches.append(
                {
                    "kind": "trip",
                    "mode": trip.get("mode", ""),
                    "trip": number,
                    "date": day.isoformat(),
                    "seat": passenger.get("seat") or "",
                    "case_seat": trip.get("seat") or "",
                }
            )
            entry.days.add(day)
    return len(trips)


def _match_order(match: dict[str, Any]) -> str:
    return str(match.get("at") or match.get("date") or "")


def _log_use(
    *,
    consumer: str,
    department: Department,
    trace: ContactTrace,
    id_number: str,
    fields: Iterable[str],
    matches: list[dict[str, Any]],
) -> None:
    """One use of a person's data in the exchange log: she sees it on her data-use page."""
    digest = subject_digest(id_number)
    wanted = set(fields)
    entry = LogEntry(
        request_id=uuid.uuid4().hex,
        consumer=consumer,
        provider=department.code,
        service=TRACE_SERVICE,
        purpose=TRACE_PURPOSE,
        issue=f"trace:{trace.pk}",
        subject_digest=digest,
        subject_masked=mask_id_number(id_number),
        fields=",".join(name for name in LOGGED_ORDER if name in wanted),
        request_digest=_digest({"trace": trace.pk, "service": TRACE_SERVICE, "subject": digest}),
        response_digest=_digest(matches),
        outcome="ok",
        status_code=200,
    )
    try:
        log_append(entry)
    except DatabaseError as exc:
        logger.exception("The exchange log could not be written (trace %s)", trace.pk)
        raise ServiceUnavailable(
            _("The data-use log could not be written, so the trace was not saved."),
            code="health_trace_log_failed",
        ) from exc


@dataclass(frozen=True)
class _Window:
    start: datetime.datetime
    end: datetime.datetime
    margin: int


def _window_check(
    *,
    errors: dict[str, list[Message]],
    fact_day: datetime.date | None,
    window_from: datetime.datetime | None,
    window_until: datetime.datetime | None,
    margin_minutes: int | None,
    now: datetime.datetime,
) -> _Window | None:
    margin = settings.HEALTH_CONTACT_MARGIN_MINUTES if margin_minutes is None else margin_minutes
    if not 0 <= margin <= MARGIN_MAX_MINUTES:
        errors.setdefault("margin_minutes", []).append(
            _("Between 0 and %(max)d minutes.") % {"max": MARGIN_MAX_MINUTES}
        )
    end = _aware(window_until) or now
    if end > now:
        errors.setdefault("window_until", []).append(
            _("The end of the window cannot be in the future.")
        )
    start = _aware(window_from)
    if start is None and fact_day is not None:
        first_day = fact_day - datetime.timedelta(days=settings.HEALTH_TRACE_DAYS_BEFORE)
        start = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
    if start is None:
        return None
    if end <= start:
        errors.setdefault("window_until", []).append(
            _("The end of the window must be after its start.")
        )
    elif end - start > datetime.timedelta(days=WINDOW_MAX_DAYS):
        errors.setdefault("window_from", []).append(
            _("A window is at most %(days)d days long.") % {"days": WINDOW_MAX_DAYS}
        )
    return _Window(start, end, margin)


def trace_start(
    *,
    actor: User,
    case_id_number: str,
    window_from: datetime.datetime | None = None,
    window_until: datetime.datetime | None = None,
    margin_minutes: int | None = None,
    now: datetime.datetime | None = None,
) -> ContactTrace:
    """Find the people who shared a venue or a trip with a confirmed case, for review.

    Health staff only; the trace belongs to the staff member's health department. The
    case needs a confirmed-case fact or a positive test. The window runs by default from
    ``HEALTH_TRACE_DAYS_BEFORE`` days before that fact's day until now. Refused while the
    case has an open trace in the department (a second submission changes nothing).
    Nothing is written when a read of the transport registry is refused or fails.
    """
    health_enabled_check()
    department = _health_department(actor)
    now = now or timezone.now()
    errors: dict[str, list[Message]] = {}
    number = ""
    try:
        number = resident_id_parse(case_id_number, field="case_id_number").number
    except ValidationFailed as exc:
        errors.update(exc.fields)
    fact_day: datetime.date | None = None
    case_fact: HealthFact | None = None
    if number:
        try:
            fact_day, case_fact = _case_fact(number, now)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    window = _window_check(
        errors=errors,
        fact_day=fact_day,
        window_from=window_from,
        window_until=window_until,
        margin_minutes=margin_minutes,
        now=now,
    )
    if errors or window is None:
        raise ValidationFailed(fields=errors)
    # The exchange's reads are logged inside the trace's transaction; if it is rolled back,
    # their records go with it, so they are logged again (their issue names no trace then).
    reads: list[LogEntry] = []
    try:
        return _trace_run(
            actor=actor,
            department=department,
            case_id_number=number,
            case_fact=case_fact,
            window=window,
            now=now,
            reads=reads,
        )
    except _FetchFailed as failed:
        _reads_relog(reads)
        raise _exchange_error(failed) from failed
    except Exception:
        _reads_relog(reads)
        raise


def _exchange_error(failed: _FetchFailed) -> PermissionDenied | ServiceUnavailable:
    logger.warning(
        "Contact trace: %s refused or failed: %s (%s)",
        failed.request.service,
        failed.error.type,
        failed.error.message,
    )
    names = {TRIPS_SERVICE: _("the case's trips"), MANIFEST_SERVICE: _("a trip's passenger list")}
    what = names.get(failed.request.service, failed.request.service)
    if isinstance(failed.error, AccessDenied | ConsentRequired | Unauthenticated):
        return PermissionDenied(
            _(
                "The health department may not read %(what)s through the data exchange: "
                "it has no grant for it. Nothing was saved; ask the department's data "
                "officer to obtain the grant."
            )
            % {"what": what},
            code="health_trace_no_grant",
        )
    if isinstance(failed.error, UnknownService):
        return ServiceUnavailable(
            _(
                "The data exchange does not offer %(what)s: the transport registry is not in "
                "its catalogue. Nothing was saved."
            )
            % {"what": what},
            code="health_trace_exchange_failed",
        )
    return ServiceUnavailable(
        _(
            "The transport registry could not be read (%(what)s) through the data exchange. "
            "Nothing was saved; please try again later."
        )
        % {"what": what},
        code="health_trace_exchange_failed",
    )


@transaction.atomic
def _trace_run(
    *,
    actor: User,
    department: Department,
    case_id_number: str,
    case_fact: HealthFact | None,
    window: _Window,
    now: datetime.datetime,
    reads: list[LogEntry],
) -> ContactTrace:
    # One start at a time per department: a second submission sees the first trace.
    Department.objects.select_for_update().filter(pk=department.pk).first()
    open_trace = (
        ContactTrace.objects.filter(
            department=department,
            case_id_number=case_id_number,
            status=ContactTrace.Status.OPEN,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if open_trace is not None:
        raise Conflict(
            _(
                "This case already has an open trace (No. %(id)d): review and close it "
                "before starting another."
            )
            % {"id": open_trace},
            code="health_trace_open",
        )
    case_person = User.objects.filter(id_number=case_id_number).first()
    stay = settings.HEALTH_VISIT_MINUTES
    trace = ContactTrace.objects.create(
        department=department,
        case_id_number=case_id_number,
        case_name=case_person.name if case_person is not None else "",
        case_fact=case_fact,
        window_from=window.start,
        window_until=window.end,
        margin_minutes=window.margin,
        stay_minutes=stay,
        started_by=actor,
        created_at=now,
    )
    issue = f"trace:{trace.pk}"
    started = time.monotonic()
    found: dict[str, _Found] = {}
    visits: list[Visit] = []
    unidentified = 0
    if case_person is not None:
        visits = case_visits(
            person_id=case_person.pk, window_from=window.start, window_until=window.end
        )
        unidentified = _venue_matches(
            found,
            case_person=case_person,
            visits=visits,
            margin=datetime.timedelta(minutes=window.margin),
            stay=datetime.timedelta(minutes=stay),
        )
    consumer = workbench_consumer(department)
    trips = _trip_matches(
        found,
        consumer=consumer,
        case_id_number=case_id_number,
        issue=issue,
        window_from=window.start,
        window_until=window.end,
        reads=reads,
    )
    milliseconds = round((time.monotonic() - started) * 1000)

    people = [found[key] for key in sorted(found, key=lambda key: (min(found[key].days), key))]
    accounts = dict(
        User.objects.filter(
            id_number__in=[p.id_number for p in people if p.person_id is None]
        ).values_list("id_number", "pk")
    )
    ContactCandidate.objects.bulk_create(
        ContactCandidate(
            trace=trace,
            id_number=person.id_number,
            name=person.name[:50],
            person_id=person.person_id or accounts.get(person.id_number),
            matches=sorted(person.matches, key=_match_order),
            first_contact_on=min(person.days),
        )
        for person in people
    )
    consumer_label = str(consumer)
    if case_person is not None:
        _log_use(
            consumer=consumer_label,
            department=department,
            trace=trace,
            id_number=case_id_number,
            fields=LOGGED_FIELDS["venue"],
            matches=[{"venue": v.venue_id, "at": v.at.isoformat()} for v in visits],
        )
    for person in people:
        _log_use(
            consumer=consumer_label,
            department=department,
            trace=trace,
            id_number=person.id_number,
            fields=[name for m in person.matches for name in LOGGED_FIELDS[m["kind"]]],
            matches=person.matches,
        )
    trace.summary = {
        "visits": len(visits),
        "trips": trips,
        "candidates": len(people),
        "unidentified": unidentified,
        "milliseconds": milliseconds,
    }
    trace.save(update_fields=["summary"])
    audit_record(
        actor=actor,
        action="health.trace_start",
        target=trace,
        detail={
            "department": department.code,
            "window_from": window.start.isoformat(),
            "window_until": window.end.isoformat(),
            "margin_minutes": window.margin,
            **{key: trace.summary[key] for key in ("visits", "trips", "candidates")},
        },
    )
    return trace


# ---------------------------------------------------------------------------------------
# Review


def candidate_open(*, actor: User, candidate: ContactCandidate) -> ContactCandidate:
    """Health staff open a candidate to see her full name and ID number; it is audited."""
    health_enabled_check()
    _trace_check(actor, candidate.trace)
    audit_record(
        actor=actor,
        action="health.candidate_open",
        target=candidate,
        detail={"trace": candidate.trace_id},
    )
    return candidate


@transaction.atomic
def candidate_decide(
    *,
    actor: User,
    candidate: ContactCandidate,
    decision: str,
    comment: str = "",
    now: datetime.datetime | None = None,
) -> ContactCandidate:
    """Confirm a candidate as a close contact, or dismiss her; pending candidates only.

    A confirmation records a close-contact fact on her first day of contact, from the
    trace's department; recording it refreshes her colour if she has an account (and a
    rule set is active). A dismissal records nothing but the decision.
    """
    health_enabled_check()
    now = now or timezone.now()
    _trace_check(actor, candidate.trace)
    # Decisions and the closing of one trace take turns.
    trace = (
        ContactTrace.objects.select_for_update()
        .select_related("department")
        .get(pk=candidate.trace_id)
    )
    if candidate.person_id == actor.pk or (
        actor.id_number and candidate.id_number == actor.id_number
    ):
        raise PermissionDenied(_("You cannot decide about yourself."), code="health_candidate_own")
    comment = (comment or "").strip()
    errors: dict[str, list[Message]] = {}
    outcome = DECISIONS.get(decision)
    if outcome is None:
        errors["decision"] = [_("Confirm the close contact or dismiss it.")]
    if outcome == ContactCandidate.Decision.DISMISSED and not comment:
        errors["comment"] = [_("Say why this person is not a close contact.")]
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [_("At most %(count)d characters.") % {"count": COMMENT_MAX}]
    if errors or outcome is None:
        raise ValidationFailed(fields=errors)
    if trace.status != ContactTrace.Status.OPEN:
        raise Conflict(_("This trace is closed."), code="health_trace_closed")
    # First one wins: a second decision (another officer, a resubmitted form) changes nothing.
    claimed = ContactCandidate.objects.filter(
        pk=candidate.pk, decision=ContactCandidate.Decision.PENDING
    ).update(decision=outcome, decided_by=actor, decided_at=now, comment=comment)
    if not claimed:
        raise Conflict(
            _("This person has already been decided about."), code="health_candidate_decided"
        )
    candidate.refresh_from_db()
    confirmed = outcome == ContactCandidate.Decision.CONFIRMED
    if confirmed:
        candidate.fact = health_fact_record(
            id_number=candidate.id_number,
            kind=HealthFact.Kind.CLOSE_CONTACT,
            observed_on=candidate.first_contact_on,
            source_department=trace.department.code,
            source_registry=SOURCE_REGISTRY,
            reference=f"trace:{trace.pk}",
            now=now,
        )
        candidate.save(update_fields=["fact"])
    audit_record(
        actor=actor,
        action="health.candidate_confirm" if confirmed else "health.candidate_dismiss",
        target=candidate,
        detail={"trace": trace.pk, "fact": candidate.fact_id},
    )
    return candidate


@transaction.atomic
def candidates_decide(
    *,
    actor: User,
    trace: ContactTrace,
    candidate_ids: Sequence[int],
    decision: str,
    comment: str = "",
    now: datetime.datetime | None = None,
) -> list[ContactCandidate]:
    """Decide several candidates of one trace alike: all of them, or none if any fails."""
    health_enabled_check()
    _trace_check(actor, trace)
    wanted = list(dict.fromkeys(candidate_ids))
    candidates = list(trace.candidates.filter(pk__in=wanted).order_by("first_contact_on", "id"))
    if not wanted:
        raise ValidationFailed.for_field("candidates", _("Choose at least one person."))
    if len(candidates) != len(wanted):
        raise ValidationFailed.for_field(
            "candidates", _("Some of the people chosen are not in this trace.")
        )
    now = now or timezone.now()
    return [
        candidate_decide(
            actor=actor, candidate=candidate, decision=decision, comment=comment, now=now
        )
        for candidate in candidates
    ]


@transaction.atomic
def trace_close(
    *, actor: User, trace: ContactTrace, now: datetime.datetime | None = None
) -> ContactTrace:
    """Close a trace once every candidate has been decided."""
    health_enabled_check()
    _trace_check(actor, trace)
    trace = ContactTrace.objects.select_for_update().get(pk=trace.pk)
    if trace.status != ContactTrace.Status.OPEN:
        raise Conflict(_("This trace is already closed."), code="health_trace_closed")
    pending = trace.candidates.filter(decision=ContactCandidate.Decision.PENDING).count()
    if pending:
        raise Conflict(
            _("Still to review: %(count)s. Decide about everyone before closing the trace.")
            % {"count": pending},
            code="health_trace_pending",
        )
    trace.status = ContactTrace.Status.CLOSED
    trace.closed_at = now or timezone.now()
    trace.save(update_fields=["status", "closed_at"])
    audit_record(
        actor=actor,
        action="health.trace_close",
        target=trace,
        detail={"candidates": trace.candidates.count()},
    )
    return trace
