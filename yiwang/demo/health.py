"""The health-code part of the demo: rules, a risk area, venues, check-ins, trips and a case.

Everything is dated relative to the day of the first load, since codes and check-ins only
mean something near the present: a confirmed case reported today, who checked in at the
company's two venues yesterday and the day before, who was on the case's train three days
ago, and a retiree back from a risk area. The contact trace itself is left for the health
reviewer to start (tour step): nobody's colour changes before staff have looked.

The synthetic people around the personas (the case, other diners, other passengers) get
accounts without a password: they are residents who use the app, not personas to log in
as. A second load finds the case's fact and adds nothing.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from yiwang.demo.departments import DEPARTMENTS
from yiwang.demo.personas import COMPANY, DEMO_SEED, persona_get
from yiwang.demo.synthetic import SyntheticResident
from yiwang.exchange.records import TransportPassengerRecord
from yiwang.health import venues
from yiwang.health.models import HealthFact, RuleSet, Venue
from yiwang.health.services import (
    StayIn,
    health_declaration_submit,
    health_fact_record,
    health_rules_load,
    risk_area_declare,
)
from yiwang.identity.models import Department, Organisation, User
from yiwang.identity.services import person_verify_real_name

# The confirmed case's fact carries this reference: a second load finds it and stops.
CASE_REFERENCE = "demo-case-1"
# Synthetic app users: the case first, then the people around her. Phone numbers of a
# block no persona uses (139 0000 xxxx).
SYNTHETIC_USERS = 16
SYNTHETIC_PHONE = "1390000{:04d}"
# A county outside the demo city, declared a medium-risk area for the demo week.
RISK_REGION_CODE = "440305"
RISK_REGION_NOTE = "演示数据：中风险地区"
# The case's train (上海虹桥 → 杭州东), three days before the load.
TRAIN = ("G7368", "上海铁路局", "上海虹桥", "杭州东", datetime.time(8, 2), datetime.time(9, 0))
# 三墩镇, where the company and its venues are.
SANDUN = "330106109"
RULES_FILE = "catalog-data/health-rules/hangzhou.json"
CASE_REGISTRY = "传染病报告信息管理系统"


@dataclass(frozen=True)
class HealthDemo:
    rule_set: RuleSet
    rules_created: bool
    created: bool  # the scenario (case, venues, check-ins, trips) was written by this load
    case_name: str = ""
    case_id_number: str = ""
    venues: int = 0
    checkins: int = 0
    passengers: int = 0


def _health_department_code() -> str:
    """The city's health commission: it records the case and signs the codes."""
    city = min(
        (d for d in DEPARTMENTS if d.kind == Department.Kind.HEALTH), key=lambda d: d.region_code
    )
    return city.code


def _synthetic_users(extras: Sequence[SyntheticResident]) -> list[User]:
    """Accounts for adults of the demo city among the synthetic residents, verified."""
    city = settings.YIWANG_DEMO_CITY[:4]
    year = timezone.localdate().year
    chosen = [
        r
        for r in sorted(extras, key=lambda r: r.id_number)
        if r.status == "normal"
        and r.household_region_code.startswith(city)
        and 18 <= year - r.birth_date.year <= 70
    ][:SYNTHETIC_USERS]
    unusable = make_password(None)
    users = []
    for number, resident in enumerate(chosen, start=1):
        phone = SYNTHETIC_PHONE.format(number)
        user = User.objects.filter(phone=phone).first() or User.objects.create(
            phone=phone, password=unusable
        )
        users.append(
            person_verify_real_name(user=user, name=resident.name, id_number=resident.id_number)
        )
    return users


def _at(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    """A local time of the day; minutes past 59 run on into the next hours."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
    return start + datetime.timedelta(minutes=minute)


def health_demo_load(
    *, users: Mapping[str, User], extras: Sequence[SyntheticResident]
) -> HealthDemo:
    """Load the health-code demo (see the module docs); idempotent."""
    loaded = health_rules_load(path=settings.BASE_DIR / RULES_FILE)
    if HealthFact.objects.filter(source_reference=CASE_REFERENCE).exists():
        return HealthDemo(rule_set=loaded.rule_set, rules_created=loaded.created, created=False)

    now = timezone.now()
    today = timezone.localdate(now)
    rng = random.Random(f"{DEMO_SEED}:health")
    people = _synthetic_users(extras)
    case, others = people[0], people[1:]

    # A retiree back from a risk area: yellow until seven days have passed.
    risk_area_declare(
        actor=None,
        region_code=RISK_REGION_CODE,
        level="medium",
        valid_from=today - datetime.timedelta(days=10),
        valid_until=today + datetime.timedelta(days=4),
        note=RISK_REGION_NOTE,
        now=now,
    )
    health_declaration_submit(
        person=users["retiring_worker"],
        kind="declaration",
        stays=[
            StayIn(
                region_code=RISK_REGION_CODE,
                arrived_on=today - datetime.timedelta(days=6),
                left_on=today - datetime.timedelta(days=3),
            )
        ],
        now=now,
    )

    # The company's two venues, registered by its representative and its agent.
    organisation = Organisation.objects.get(uscc=COMPANY.uscc)
    office = venues.venue_register(
        person=users[COMPANY.representative],
        organisation_id=organisation.pk,
        name="杭州岚禾数智科技有限公司（三墩办公区）",
        kind=Venue.Kind.OFFICE,
        region_code=SANDUN,
        address="杭州市西湖区三墩镇岚禾创意园3幢5楼",
        contact_phone=persona_get(COMPANY.representative).phone,
        idempotency_key="demo-venue-office",
        now=now - datetime.timedelta(days=20),
    ).venue
    canteen = venues.venue_register(
        person=users[COMPANY.agents[0]],
        organisation_id=organisation.pk,
        name="岚禾创意园职工餐厅",
        kind=Venue.Kind.RESTAURANT,
        region_code=SANDUN,
        address="杭州市西湖区三墩镇岚禾创意园1幢1楼",
        contact_phone=persona_get(COMPANY.agents[0]).phone,
        idempotency_key="demo-venue-canteen",
        now=now - datetime.timedelta(days=20),
    ).venue

    yesterday = today - datetime.timedelta(days=1)
    before = today - datetime.timedelta(days=2)
    scans: list[tuple[User, Venue, datetime.datetime]] = [
        # The case at lunch yesterday; the expectant father at the next table.
        (case, canteen, _at(yesterday, 12, 10)),
        (users["expectant_father"], canteen, _at(yesterday, 12, 25)),
        (case, office, _at(before, 9, 5)),
    ]
    for person in others[:6]:  # around the case's lunch
        scans.append((person, canteen, _at(yesterday, 11, 40 + rng.randrange(50))))
    for person in others[6:10]:  # the evening shift: no overlap with the case
        scans.append((person, canteen, _at(yesterday, 17, rng.randrange(50))))
    for person in others[10:]:  # the office the morning before
        scans.append((person, office, _at(before, 8, 30 + rng.randrange(30))))
    for number, (person, venue, moment) in enumerate(scans):
        venues.checkin_record(
            person=person,
            venue_code=venue.code,
            idempotency_key=f"demo-checkin-{number}",
            now=moment,
        )

    # The case's train, with the expectant mother two rows behind, and others aboard.
    travel_day = today - datetime.timedelta(days=3)
    trip_number, carrier, departure, arrival, departs, arrives = TRAIN
    aboard = [
        (case, "05车08F"),
        (users["expectant_mother"], "05车10A"),
        *(
            (person, f"{rng.randrange(1, 9):02d}车{rng.randrange(1, 18):02d}{'ABCDF'[i % 5]}")
            for i, person in enumerate([*others[2:5], *others[12:15]])
        ),
    ]
    TransportPassengerRecord.objects.bulk_create(
        TransportPassengerRecord(
            mode=TransportPassengerRecord.Mode.TRAIN,
            trip_number=trip_number,
            travel_date=travel_day,
            carrier=carrier,
            id_number=person.id_number or "",
            name=person.name,
            departure=departure,
            arrival=arrival,
            departs_at=_at(travel_day, departs.hour, departs.minute),
            arrives_at=_at(travel_day, arrives.hour, arrives.minute),
            seat=seat,
        )
        for person, seat in aboard
    )

    # Reported today: the case's code turns red at once.
    health_fact_record(
        id_number=case.id_number or "",
        kind=HealthFact.Kind.CONFIRMED_CASE,
        observed_on=today,
        source_department=_health_department_code(),
        source_registry=CASE_REGISTRY,
        reference=CASE_REFERENCE,
        now=now,
    )
    return HealthDemo(
        rule_set=loaded.rule_set,
        rules_created=loaded.created,
        created=True,
        case_name=case.name,
        case_id_number=case.id_number or "",
        venues=2,
        checkins=len(scans),
        passengers=len(aboard),
    )
