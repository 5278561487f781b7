"""Contact tracing: who a trace finds and why, the exchange's log of it, staff's review."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiwang.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ValidationFailed,
    YiwangError,
)
from yiwang.core.models import AuditEntry
from yiwang.exchange.models import AccessGrant, ExchangeLogRecord
from yiwang.exchange.selectors import data_uses_for_person
from yiwang.exchange.services import subject_digest
from yiwang.health import tracing
from yiwang.health.models import ContactCandidate, ContactTrace, HealthFact, HealthStatus
from yiwang.health.selectors import health_status_current
from yiwang.health.tests.conftest import at, day
from yiwang.health.tests.test_tracing_world import (
    NOW,
    World,
    case_confirm,
    department_make,
    staff_of,
    verified_user,
    world_build,
)
from yiwang.identity.models import Department, StaffRole, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def exchange(health_department: Department, data_exchange: Any) -> Any:
    """The real catalogue, loaded after the health department the staff belong to."""
    return data_exchange


@pytest.fixture
def world(exchange: Any) -> World:
    return world_build()


def start(staff: Any, world: World, **kwargs: Any) -> ContactTrace:
    return tracing.trace_start(actor=staff, case_id_number=world.case_id, now=NOW, **kwargs)


def by_id(trace: ContactTrace) -> dict[str, ContactCandidate]:
    return {c.id_number: c for c in trace.candidates.all()}


def tracing_log(trace: ContactTrace) -> list[ExchangeLogRecord]:
    return list(ExchangeLogRecord.objects.filter(issue=f"trace:{trace.pk}").order_by("seq"))


# ---------------------------------------------------------------------------------------
# Who is found


def test_a_trace_finds_everyone_whose_stay_overlapped_the_cases_and_nobody_else(
    health_staff: User, world: World
) -> None:
    trace = start(health_staff, world)

    assert set(by_id(trace)) == {
        world.id_number("low"),
        world.id_number("high"),
        world.id_number("twice"),
        world.id_number("train"),
        world.id_number("flight"),
    }
    assert trace.summary["visits"] == 2
    assert trace.summary["trips"] == 2
    assert trace.summary["candidates"] == 5
    assert trace.summary["unidentified"] == 1
    assert isinstance(trace.summary["milliseconds"], int)


def test_the_margin_bounds_are_included_and_a_minute_beyond_is_not(
    health_staff: User, world: World
) -> None:
    found = by_id(start(health_staff, world))

    low = found[world.id_number("low")]
    assert low.matches == [
        {
            "kind": "venue",
            "venue": world.supermarket.pk,
            "venue_name": "西湖银泰超市",
            "case_at": "2026-11-20T14:10:00+08:00",
            "at": "2026-11-20T12:40:00+08:00",
        }
    ]
    assert found[world.id_number("high")].matches[0]["at"] == "2026-11-20T15:40:00+08:00"
    for outside in ("too_early", "too_late", "other_day", "other_venue"):
        assert world.id_number(outside) not in found


def test_a_smaller_margin_narrows_the_reach_to_the_stays_themselves(
    health_staff: User, world: World
) -> None:
    found = by_id(start(health_staff, world, margin_minutes=0))

    # 60 minutes each side: 12:40 and 15:40 are 90 minutes away.
    assert world.id_number("low") not in found
    assert world.id_number("high") not in found
    assert world.id_number("twice") in found
    assert ContactTrace.objects.get().margin_minutes == 0


def test_a_person_found_at_two_venues_and_on_a_trip_is_one_candidate_with_every_match(
    health_staff: User, world: World
) -> None:
    twice = by_id(start(health_staff, world))[world.id_number("twice")]

    assert twice.first_contact_on == day("2026-11-20")
    assert twice.person == world.people["twice"]
    assert twice.name == "王两次"
    assert twice.matches == [
        {
            "kind": "trip",
            "mode": "train",
            "trip": "G1234",
            "date": "2026-11-20",
            "seat": "03车01A",
            "case_seat": "05车12F",
        },
        {
            "kind": "venue",
            "venue": world.supermarket.pk,
            "venue_name": "西湖银泰超市",
            "case_at": "2026-11-20T14:10:00+08:00",
            "at": "2026-11-20T14:05:00+08:00",
        },
        {
            "kind": "venue",
            "venue": world.teahouse.pk,
            "venue_name": "龙井茶室",
            "case_at": "2026-11-21T09:20:00+08:00",
            "at": "2026-11-21T09:00:00+08:00",
        },
    ]


def test_the_cases_own_checkins_and_tickets_are_not_matches(
    health_staff: User, world: World
) -> None:
    visits = tracing.case_visits(
        person_id=world.case.pk, window_from=at("2026-11-17", 0), window_until=NOW
    )
    near = tracing.checkins_near(
        visits, margin=datetime.timedelta(minutes=30), stay=datetime.timedelta(minutes=60)
    )
    everyone = {row[0] for row in near}

    trace = start(health_staff, world)

    # Her own check-ins are at the venues at those times: only the trace leaves them out.
    assert world.case.pk in everyone
    assert world.case_id not in by_id(trace)


def test_passengers_of_the_same_trip_on_another_day_or_outside_the_window_are_not_found(
    health_staff: User, world: World
) -> None:
    found = by_id(start(health_staff, world))

    assert found[world.id_number("train")].matches == [
        {
            "kind": "trip",
            "mode": "train",
            "trip": "G1234",
            "date": "2026-11-20",
            "seat": "05车13A",
            "case_seat": "05车12F",
        }
    ]
    assert found[world.id_number("train")].person is None
    assert found[world.id_number("flight")].first_contact_on == day("2026-11-21")
    assert world.id_number("train_other_day") not in found
    assert world.id_number("old_trip") not in found


def test_the_window_runs_by_default_from_four_days_before_the_confirmation_until_now(
    health_staff: User, world: World, settings: Any
) -> None:
    settings.HEALTH_VISIT_MINUTES = 45
    trace = start(health_staff, world)

    assert trace.window_from == at("2026-11-17", 0)
    assert trace.window_until == NOW
    assert (trace.margin_minutes, trace.stay_minutes) == (30, 45)
    assert trace.department.code == "330100-WJ"
    assert trace.case_name == "林病例"
    assert trace.case_fact == HealthFact.objects.get(kind="confirmed_case")
    assert trace.status == ContactTrace.Status.OPEN


def test_a_given_window_limits_the_visits_and_trips(health_staff: User, world: World) -> None:
    trace = start(
        health_staff,
        world,
        window_from=at("2026-11-21", 0),
        window_until=at("2026-11-21", 23, 59),
    )

    assert (trace.summary["visits"], trace.summary["trips"]) == (1, 1)
    assert set(by_id(trace)) == {world.id_number("twice"), world.id_number("flight")}


def test_a_positive_test_makes_a_case_too(health_staff: User, exchange: Any) -> None:
    person = verified_user()
    case_confirm(person, kind="test_result", result="positive")

    trace = tracing.trace_start(actor=health_staff, case_id_number=person.id_number or "", now=NOW)

    assert trace.summary == {
        "visits": 0,
        "trips": 0,
        "candidates": 0,
        "unidentified": 0,
        "milliseconds": trace.summary["milliseconds"],
    }


def test_the_venue_matches_are_one_query_over_the_venue_and_time_index(world: World) -> None:
    visits = tracing.case_visits(
        person_id=world.case.pk, window_from=at("2026-11-17", 0), window_until=NOW
    )

    with CaptureQueriesContext(connection) as queries:
        rows = list(
            tracing.checkins_near(
                visits,
                margin=datetime.timedelta(minutes=30),
                stay=datetime.timedelta(minutes=60),
                exclude_person_id=world.case.pk,
            )
        )

    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    assert sql.count('"health_venuecheckin"."venue_id" =') == 2
    assert sql.count("BETWEEN") == 2
    assert len(rows) == 5  # low, high, twice twice, the unverified account


# ---------------------------------------------------------------------------------------
# Refusals


def test_a_citizen_cannot_start_a_trace(world: World) -> None:
    with pytest.raises(PermissionDenied) as refused:
        tracing.trace_start(actor=world.people["low"], case_id_number=world.case_id)

    assert refused.value.code == "not_health_staff"
    assert ContactTrace.objects.count() == 0


def test_a_person_who_is_not_a_case_cannot_be_traced(health_staff: User, exchange: Any) -> None:
    person = verified_user()
    case_confirm(person, kind="test_result", result="negative")

    with pytest.raises(ValidationFailed) as refused:
        tracing.trace_start(actor=health_staff, case_id_number=person.id_number or "", now=NOW)

    assert refused.value.fields == {
        "case_id_number": [
            "No confirmed case or positive test is recorded for this ID number: only a "
            "case's contacts can be traced."
        ]
    }
    assert ContactTrace.objects.count() == 0


def test_a_wrong_id_number_window_and_margin_are_each_reported(
    health_staff: User, exchange: Any
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        tracing.trace_start(
            actor=health_staff,
            case_id_number="330106199001011230",
            window_from=at("2026-11-20", 0),
            window_until=at("2026-11-23", 0),
            margin_minutes=241,
            now=NOW,
        )

    assert {k: [str(m) for m in v] for k, v in refused.value.fields.items()} == {
        "case_id_number": ["The check character of this ID number is wrong; please check it."],
        "margin_minutes": ["Between 0 and 240 minutes."],
        "window_until": ["The end of the window cannot be in the future."],
    }


@pytest.mark.parametrize(
    ("window_from", "window_until", "field", "message"),
    [
        (
            at("2026-11-21", 0),
            at("2026-11-20", 0),
            "window_until",
            "The end of the window must be after its start.",
        ),
        (
            at("2026-10-22", 11),
            at("2026-11-22", 11),
            "window_from",
            "A window is at most 30 days long.",
        ),
    ],
)
def test_a_window_backwards_or_too_long_is_refused(
    health_staff: User,
    world: World,
    window_from: datetime.datetime,
    window_until: datetime.datetime,
    field: str,
    message: str,
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        start(health_staff, world, window_from=window_from, window_until=window_until)

    assert {k: [str(m) for m in v] for k, v in refused.value.fields.items()} == {field: [message]}
    assert ContactTrace.objects.count() == 0


def test_a_second_start_while_the_first_trace_is_open_changes_nothing(
    health_staff: User, world: World
) -> None:
    first = start(health_staff, world)
    logged = ExchangeLogRecord.objects.count()

    with pytest.raises(Conflict) as refused:
        start(health_staff, world)

    assert refused.value.code == "health_trace_open"
    assert str(refused.value.message) == (
        f"This case already has an open trace (No. {first.pk}): review and close it before "
        "starting another."
    )
    assert ContactTrace.objects.count() == 1
    assert ExchangeLogRecord.objects.count() == logged


def test_nothing_is_traced_while_health_codes_are_switched_off(
    health_staff: User, world: World, settings: Any
) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False

    with pytest.raises(YiwangError) as refused:
        start(health_staff, world)

    assert refused.value.code == "health_disabled"
    assert ContactTrace.objects.count() == 0


# ---------------------------------------------------------------------------------------
# The exchange


def test_each_read_of_the_transport_registry_is_governed_and_logged(
    health_staff: User, world: World
) -> None:
    trace = start(health_staff, world)

    reads = [
        (r.consumer, r.provider, r.service, r.subject_masked, r.purpose, r.fields, r.outcome)
        for r in tracing_log(trace)
        if r.service != "health-contact-tracing"
    ]
    assert reads == [
        (
            "330100-WJ/yiwang-workbench",
            "330100-JT",
            "transport-trips",
            "3301**********" + world.case_id[-4:],
            "密切接触者排查",
            "mode,trip_number,travel_date,departs_at,arrives_at,seat",
            "ok",
        ),
        (
            "330100-WJ/yiwang-workbench",
            "330100-JT",
            "transport-manifest",
            "CA1234@2026-11-21",
            "密切接触者排查",
            "id_number,name,seat",
            "ok",
        ),
        (
            "330100-WJ/yiwang-workbench",
            "330100-JT",
            "transport-manifest",
            "G1234@2026-11-20",
            "密切接触者排查",
            "id_number,name,seat",
            "ok",
        ),
    ]


def test_each_person_compared_has_one_use_logged_under_her_digest(
    health_staff: User, world: World
) -> None:
    trace = start(health_staff, world)

    uses = {
        r.subject_digest: (r.provider, r.purpose, r.fields, r.outcome)
        for r in tracing_log(trace)
        if r.service == "health-contact-tracing"
    }
    expected = {
        world.id_number("low"): "venue,checked_in_at",
        world.id_number("high"): "venue,checked_in_at",
        world.id_number("twice"): "venue,checked_in_at,trip,seat",
        world.id_number("train"): "trip,seat",
        world.id_number("flight"): "trip,seat",
        world.case_id: "venue,checked_in_at",
    }
    assert uses == {
        subject_digest(number): ("330100-WJ", "密切接触者排查", fields, "ok")
        for number, fields in expected.items()
    }


def test_she_sees_the_comparison_on_her_data_use_page(health_staff: User, world: World) -> None:
    trace = start(health_staff, world)

    use = data_uses_for_person(world.people["twice"])[0]

    assert (
        use.consumer_department,
        use.consumer_system,
        use.provider_department,
        use.resource,
        use.purpose,
        use.issue,
        use.fields,
    ) == (
        "杭州市卫生健康委员会",
        "一网通办审批工作台",
        "杭州市卫生健康委员会",
        "场所码扫码及密接排查比对记录",
        "密切接触者排查",
        f"trace:{trace.pk}",
        ["到访场所", "扫码时间", "车次（航班号）", "车厢座位"],
    )


def test_without_a_grant_nothing_is_written_and_every_read_stays_in_the_log(
    health_staff: User, world: World
) -> None:
    AccessGrant.objects.filter(resource__code="transport-manifest").update(
        status=AccessGrant.Status.REVOKED
    )

    with pytest.raises(PermissionDenied) as refused:
        start(health_staff, world)

    assert refused.value.code == "health_trace_no_grant"
    assert str(refused.value.message) == (
        "The health department may not read a trip's passenger list through the data "
        "exchange: it has no grant for it. Nothing was saved; ask the department's data "
        "officer to obtain the grant."
    )
    assert ContactTrace.objects.count() == 0
    assert ContactCandidate.objects.count() == 0
    assert [
        (r.service, r.outcome)
        for r in ExchangeLogRecord.objects.exclude(service="population-basic").order_by("seq")
    ] == [
        ("transport-trips", "ok"),
        ("transport-manifest", "Server.ServerProxy.AccessDenied"),
    ]


def test_a_registry_that_cannot_be_reached_saves_nothing(
    health_staff: User, world: World, settings: Any
) -> None:
    settings.EXCHANGE_PROVIDER_URLS = {"330100-JT": "http://127.0.0.1:9"}

    with pytest.raises(ServiceUnavailable) as refused:
        start(health_staff, world)

    assert refused.value.code == "health_trace_exchange_failed"
    assert ContactTrace.objects.count() == 0
    assert ExchangeLogRecord.objects.filter(service="transport-trips").get().outcome == (
        "Server.ServerProxy.ServiceFailed"
    )


# ---------------------------------------------------------------------------------------
# Review


@pytest.fixture
def traced(health_staff: Any, world: World, default_rules: Any) -> tuple[World, ContactTrace]:
    return world, start(health_staff, world)


def test_nobodys_colour_changes_before_a_staff_confirmation(
    health_staff: User, world: World, default_rules: Any
) -> None:
    before = HealthStatus.objects.exclude(person=world.case).count()

    start(health_staff, world)

    assert HealthStatus.objects.exclude(person=world.case).count() == before
    assert HealthFact.objects.filter(kind="close_contact").count() == 0


def test_confirming_records_a_close_contact_fact_and_her_code_turns_red(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced
    candidate = by_id(trace)[world.id_number("twice")]

    decided = tracing.candidate_decide(
        actor=health_staff, candidate=candidate, decision="confirm", comment="", now=NOW
    )

    fact = HealthFact.objects.get(kind="close_contact")
    assert (
        fact.id_number,
        fact.observed_on,
        fact.source_department,
        fact.source_registry,
        fact.source_reference,
    ) == (
        world.id_number("twice"),
        day("2026-11-20"),
        "330100-WJ",
        "contact-tracing",
        f"trace:{trace.pk}",
    )
    assert (decided.decision, decided.decided_by, decided.decided_at, decided.fact) == (
        ContactCandidate.Decision.CONFIRMED,
        health_staff,
        NOW,
        fact,
    )
    status = health_status_current(world.people["twice"])
    assert status is not None
    assert (status.colour, status.rule_id) == ("red", "red.close_contact")
    entry = AuditEntry.objects.filter(action="health.candidate_confirm").get()
    assert entry.detail == {"trace": trace.pk, "fact": fact.pk}


def test_confirming_a_passenger_without_an_account_keeps_the_fact_for_her(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced
    candidate = by_id(trace)[world.id_number("train")]

    tracing.candidate_decide(actor=health_staff, candidate=candidate, decision="confirm", now=NOW)

    assert HealthFact.objects.get(kind="close_contact").id_number == world.id_number("train")


def test_dismissing_needs_a_reason_and_records_nothing_about_her(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced
    candidate = by_id(trace)[world.id_number("low")]

    with pytest.raises(ValidationFailed) as refused:
        tracing.candidate_decide(actor=health_staff, candidate=candidate, decision="dismiss")
    decided = tracing.candidate_decide(
        actor=health_staff, candidate=candidate, decision="dismiss", comment="店员，全程佩戴N95"
    )

    assert refused.value.fields == {"comment": ["Say why this person is not a close contact."]}
    assert (decided.decision, decided.comment, decided.fact) == (
        ContactCandidate.Decision.DISMISSED,
        "店员，全程佩戴N95",
        None,
    )
    assert HealthFact.objects.filter(kind="close_contact").count() == 0
    assert health_status_current(world.people["low"]) is None


def test_an_unknown_decision_is_refused(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    _world, trace = traced

    with pytest.raises(ValidationFailed) as refused:
        tracing.candidate_decide(
            actor=health_staff, candidate=trace.candidates.all()[0], decision="maybe"
        )

    assert refused.value.fields == {"decision": ["Confirm the close contact or dismiss it."]}


def test_a_second_decision_is_refused_and_changes_nothing(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced
    candidate = by_id(trace)[world.id_number("twice")]
    tracing.candidate_decide(actor=health_staff, candidate=candidate, decision="confirm", now=NOW)

    with pytest.raises(Conflict) as refused:
        tracing.candidate_decide(
            actor=health_staff, candidate=candidate, decision="dismiss", comment="弄错了"
        )

    assert refused.value.code == "health_candidate_decided"
    candidate.refresh_from_db()
    assert candidate.decision == ContactCandidate.Decision.CONFIRMED
    assert HealthFact.objects.filter(kind="close_contact").count() == 1


def test_only_the_traces_own_department_may_decide(traced: tuple[World, ContactTrace]) -> None:
    world, trace = traced
    other = department_make("330106-WJ")
    stranger = staff_of(other)
    candidate = trace.candidates.all()[0]

    with pytest.raises(NotFound):
        tracing.candidate_decide(actor=stranger, candidate=candidate, decision="confirm")
    with pytest.raises(PermissionDenied):
        tracing.candidate_decide(
            actor=world.people["high"], candidate=candidate, decision="confirm"
        )

    candidate.refresh_from_db()
    assert candidate.decision == ContactCandidate.Decision.PENDING


def test_staff_cannot_decide_about_themselves(
    health_department: Department, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced
    staff_of(health_department, user=world.people["twice"], role=StaffRole.Role.CLERK)

    with pytest.raises(PermissionDenied) as refused:
        tracing.candidate_decide(
            actor=world.people["twice"],
            candidate=by_id(trace)[world.id_number("twice")],
            decision="dismiss",
            comment="不是我",
        )

    assert refused.value.code == "health_candidate_own"


def test_several_are_decided_at_once_or_none_if_one_was_decided_before(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced
    found = by_id(trace)
    low, high = found[world.id_number("low")], found[world.id_number("high")]
    tracing.candidate_decide(actor=health_staff, candidate=high, decision="confirm", now=NOW)

    with pytest.raises(Conflict):
        tracing.candidates_decide(
            actor=health_staff, trace=trace, candidate_ids=[low.pk, high.pk], decision="confirm"
        )
    low.refresh_from_db()
    assert low.decision == ContactCandidate.Decision.PENDING

    decided = tracing.candidates_decide(
        actor=health_staff,
        trace=trace,
        candidate_ids=[low.pk, found[world.id_number("flight")].pk],
        decision="dismiss",
        comment="时间错开",
        now=NOW,
    )
    assert [c.decision for c in decided] == ["dismissed", "dismissed"]


def test_deciding_several_needs_people_of_this_trace(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    _world, trace = traced

    with pytest.raises(ValidationFailed) as none_chosen:
        tracing.candidates_decide(
            actor=health_staff, trace=trace, candidate_ids=[], decision="confirm"
        )
    with pytest.raises(ValidationFailed) as foreign:
        tracing.candidates_decide(
            actor=health_staff, trace=trace, candidate_ids=[999_999], decision="confirm"
        )

    assert none_chosen.value.fields == {"candidates": ["Choose at least one person."]}
    assert foreign.value.fields == {
        "candidates": ["Some of the people chosen are not in this trace."]
    }


def test_a_trace_closes_only_when_everyone_is_decided_and_only_once(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    _world, trace = traced

    with pytest.raises(Conflict) as pending:
        tracing.trace_close(actor=health_staff, trace=trace)
    tracing.candidates_decide(
        actor=health_staff,
        trace=trace,
        candidate_ids=list(trace.candidates.values_list("pk", flat=True)),
        decision="dismiss",
        comment="均已排除",
    )
    closed = tracing.trace_close(actor=health_staff, trace=trace, now=NOW)
    with pytest.raises(Conflict) as again:
        tracing.trace_close(actor=health_staff, trace=trace)

    assert pending.value.code == "health_trace_pending"
    assert str(pending.value.message) == (
        "Still to review: 5. Decide about everyone before closing the trace."
    )
    assert (closed.status, closed.closed_at) == (ContactTrace.Status.CLOSED, NOW)
    assert again.value.code == "health_trace_closed"
    assert AuditEntry.objects.filter(action="health.trace_close").get().detail == {"candidates": 5}


def test_a_closed_case_can_be_traced_again(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced
    tracing.candidates_decide(
        actor=health_staff,
        trace=trace,
        candidate_ids=list(trace.candidates.values_list("pk", flat=True)),
        decision="dismiss",
        comment="均已排除",
    )
    tracing.trace_close(actor=health_staff, trace=trace)

    again = start(health_staff, world)

    assert again.pk != trace.pk
    assert again.summary["candidates"] == 5


def test_opening_a_candidate_and_starting_a_trace_are_audited(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    _world, trace = traced

    tracing.candidate_open(actor=health_staff, candidate=trace.candidates.all()[0])

    started = AuditEntry.objects.get(action="health.trace_start")
    assert started.detail == {
        "department": "330100-WJ",
        "window_from": "2026-11-17T00:00:00+08:00",
        "window_until": "2026-11-22T12:00:00+08:00",
        "margin_minutes": 30,
        "visits": 2,
        "trips": 2,
        "candidates": 5,
    }
    opened = AuditEntry.objects.get(action="health.candidate_open")
    assert (opened.actor_id, opened.detail) == (health_staff.pk, {"trace": trace.pk})


# ---------------------------------------------------------------------------------------
# In words


@pytest.mark.parametrize(
    ("match", "text"),
    [
        (
            {
                "kind": "venue",
                "venue_name": "西湖银泰超市",
                "at": "2026-11-20T14:05:00+08:00",
                "case_at": "2026-11-20T14:10:00+08:00",
            },
            "Same venue: 西湖银泰超市 11-20 14:05 (case 14:10)",
        ),
        (
            {
                "kind": "venue",
                "venue_name": "龙井茶室",
                "at": "2026-11-20T23:55:00+08:00",
                "case_at": "2026-11-21T00:20:00+08:00",
            },
            "Same venue: 龙井茶室 11-20 23:55 (case 11-21 00:20)",
        ),
        (
            {
                "kind": "trip",
                "mode": "train",
                "trip": "G1234",
                "date": "2026-11-20",
                "seat": "05车13A",
                "case_seat": "03车01A",
            },
            "Same trip: G1234 11-20 05车 (case 03车)",
        ),
        (
            {
                "kind": "trip",
                "mode": "flight",
                "trip": "CA1234",
                "date": "2026-11-21",
                "seat": "31C",
                "case_seat": "32A",
            },
            "Same flight: CA1234 11-21 seat 31C (case 32A)",
        ),
    ],
)
def test_matches_are_explained_in_words(match: dict[str, Any], text: str) -> None:
    assert tracing.match_explain(match) == text


def test_the_stored_decisions_own_names_are_understood_too(
    health_staff: User, traced: tuple[World, ContactTrace]
) -> None:
    world, trace = traced

    decided = tracing.candidate_decide(
        actor=health_staff,
        candidate=by_id(trace)[world.id_number("high")],
        decision="confirmed",
        now=NOW,
    )

    assert decided.decision == ContactCandidate.Decision.CONFIRMED
    assert AuditEntry.objects.filter(action="health.candidate_confirm").count() == 1
