"""The health-code demo: the case, the retiree's yellow code, and a trace that finds the couple."""

from __future__ import annotations

import pytest

from yiwang.demo.health import CASE_REFERENCE, TRAIN
from yiwang.demo.loader import demo_load
from yiwang.demo.personas import persona_get
from yiwang.exchange.records import TransportPassengerRecord
from yiwang.health.models import (
    ContactCandidate,
    HealthFact,
    RuleSet,
    Venue,
    VenueCheckin,
)
from yiwang.health.selectors import health_status_current
from yiwang.health.tracing import candidate_decide, trace_start
from yiwang.identity.models import Organisation, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(regions, settings):
    settings.HEALTH_EMERGENCY_ENABLED = True
    return demo_load()


def _user(key: str) -> User:
    return User.objects.get(phone=persona_get(key).phone)


def test_demo_loads_the_rules_the_case_and_a_yellow_retiree(loaded):
    assert RuleSet.objects.get(status=RuleSet.Status.ACTIVE).code == "hangzhou"
    fact = HealthFact.objects.get(source_reference=CASE_REFERENCE)
    case = User.objects.get(id_number=fact.id_number)
    assert loaded.health_case == f"{case.name} {case.id_number}"
    assert not case.has_usable_password()
    current = health_status_current(case)
    assert current is not None
    assert (current.colour, current.rule_id) == ("red", "red.confirmed_case")
    retiree = health_status_current(_user("retiring_worker"))
    assert retiree is not None
    assert retiree.colour == "yellow"
    # Personas nobody declared anything about have no colour yet: green on first look.
    assert health_status_current(_user("expectant_father")) is None


def test_demo_venues_belong_to_the_company_and_hold_the_check_ins(loaded):
    company = Organisation.objects.get()
    assert sorted(Venue.objects.values_list("organisation_uscc", flat=True)) == [company.uscc] * 2
    assert VenueCheckin.objects.count() == 18
    assert TransportPassengerRecord.objects.filter(trip_number=TRAIN[0]).count() == 8


def test_the_xihu_reviewer_traces_the_case_and_finds_the_couple(loaded):
    fact = HealthFact.objects.get(source_reference=CASE_REFERENCE)
    reviewer = _user("wj_reviewer")
    trace = trace_start(actor=reviewer, case_id_number=fact.id_number)

    found = {c.id_number: c for c in ContactCandidate.objects.filter(trace=trace)}
    father, mother = _user("expectant_father"), _user("expectant_mother")
    assert [m["kind"] for m in found[father.id_number].matches] == ["venue"]
    assert [m["kind"] for m in found[mother.id_number].matches] == ["trip"]
    assert fact.id_number not in found
    # Lunch guests within the stay and margin, the couple and other passengers are found;
    # the evening shift (the 7th to 10th of the others: phones …0008 to …0011) is not.
    evening = User.objects.filter(phone__in=[f"1390000{n:04d}" for n in range(8, 12)])
    assert not set(evening.values_list("id_number", flat=True)) & set(found)
    # Nobody's colour changed before the reviewer decided.
    assert health_status_current(father) is None

    candidate_decide(actor=reviewer, candidate=found[father.id_number], decision="confirm")
    current = health_status_current(father)
    assert current is not None
    assert current.colour == "red"


def test_a_second_load_adds_no_health_data(loaded):
    counts = (VenueCheckin.objects.count(), HealthFact.objects.count(), User.objects.count())
    again = demo_load()
    assert not again.health.changed
    assert again.health_case == ""
    assert (VenueCheckin.objects.count(), HealthFact.objects.count(), User.objects.count()) == (
        counts
    )
