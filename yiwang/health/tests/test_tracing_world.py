"""The town the contact-tracing tests trace in (helpers only; this module has no tests).

A confirmed case (confirmed on 2026-11-21, traced at noon on 11-22) checked in at 西湖银泰
超市 on 11-20 at 14:10 and at 龙井茶室 on 11-21 at 09:20, took train G1234 on 11-20 (seat
05车12F), flight CA1234 on 11-21 (seat 32A) and, outside the window, K100 on 11-10.
Everyone else is placed just inside or just outside what counts as a contact (a stay of 60
minutes, a margin of 30: check-ins from 90 minutes before to 90 after the case's).
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass, field
from typing import Any, cast

from yiwang.core.models import Region
from yiwang.exchange.records import TransportPassengerRecord
from yiwang.exchange.tests.factories import resident_id
from yiwang.health.models import HealthFact, Venue, VenueCheckin
from yiwang.health.services import health_fact_record
from yiwang.health.tests.conftest import at, day
from yiwang.identity.models import Department, StaffRole, User
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

NOW = at("2026-11-22", 12)
CONFIRMED_ON = day("2026-11-21")


# Typed doors to the identity factories (factory_boy's calls are untyped).
def verified_user(name: str = "") -> User:
    kwargs = {"record__name": name} if name else {}
    return cast(User, VerifiedUserFactory(**kwargs))  # type: ignore[no-untyped-call]


def plain_user(**kwargs: Any) -> User:
    return cast(User, UserFactory(**kwargs))  # type: ignore[no-untyped-call]


def department_make(code: str, kind: str = Department.Kind.HEALTH) -> Department:
    return cast(Department, DepartmentFactory(code=code, kind=kind))  # type: ignore[no-untyped-call]


def staff_of(
    department: Department | None = None,
    *,
    user: User | None = None,
    role: str = StaffRole.Role.REVIEWER,
) -> User:
    """A staff member of the department (a clerk of a new public-security bureau if none)."""
    kwargs: dict[str, Any] = {"role": role}
    if department is not None:
        kwargs["department"] = department
    else:
        kwargs["role"] = StaffRole.Role.CLERK
    if user is not None:
        kwargs["user"] = user
    return cast(StaffRole, StaffRoleFactory(**kwargs)).user  # type: ignore[no-untyped-call]


def venue_make(name: str, owner: User) -> Venue:
    return Venue.objects.create(
        code=secrets.token_urlsafe(12),
        name=name,
        kind=Venue.Kind.SHOP,
        region=Region.objects.get(code="330106"),
        address="浙江省杭州市西湖区文三路1号",
        registered_by=owner,
        contact_phone="13800000000",
    )


def checkin(person: User, venue: Venue, moment: datetime.datetime) -> VenueCheckin:
    return VenueCheckin.objects.create(person=person, venue=venue, checked_in_at=moment)


def ticket(
    id_number: str,
    name: str,
    trip_number: str,
    travel_day: str,
    seat: str,
    *,
    mode: str = "train",
    departs: tuple[int, int] = (8, 5),
) -> TransportPassengerRecord:
    departs_at = at(travel_day, *departs)
    return TransportPassengerRecord.objects.create(
        mode=mode,
        trip_number=trip_number,
        travel_date=day(travel_day),
        carrier="中国东方航空" if mode == "flight" else "中国铁路上海局集团",
        id_number=id_number,
        name=name,
        departure="杭州",
        arrival="上海",
        departs_at=departs_at,
        arrives_at=departs_at + datetime.timedelta(hours=1),
        seat=seat,
    )


def case_confirm(person: User, *, kind: str = "confirmed_case", result: str = "") -> HealthFact:
    return health_fact_record(
        id_number=person.id_number or "",
        kind=kind,
        result=result,
        observed_on=CONFIRMED_ON,
        source_department="330100-WJ",
        source_registry="传染病网络直报",
        now=NOW - datetime.timedelta(hours=20),
    )


@dataclass
class World:
    case: User
    supermarket: Venue
    teahouse: Venue
    people: dict[str, User] = field(default_factory=dict)
    # Passengers without an account: name -> ID number.
    passengers: dict[str, str] = field(default_factory=dict)

    @property
    def case_id(self) -> str:
        return self.case.id_number or ""

    def id_number(self, key: str) -> str:
        if key in self.people:
            return self.people[key].id_number or ""
        return self.passengers[key]


def world_build(**kwargs: Any) -> World:
    """The case, her venues and trips, and the people around her (see the module's docs)."""
    owner = plain_user()
    case = verified_user("林病例")
    case_confirm(case)
    world = World(
        case=case,
        supermarket=venue_make("西湖银泰超市", owner),
        teahouse=venue_make("龙井茶室", owner),
    )
    names = {
        "low": "钱边界",  # 12:40 at the supermarket: exactly 90 minutes before the case
        "too_early": "孙太早",  # 12:39
        "high": "李边界",  # 15:40: exactly 90 minutes after
        "too_late": "周太晚",  # 15:41
        "other_day": "吴隔天",  # the supermarket at 14:10 the day before
        "other_venue": "郑别处",  # the teahouse at 14:10 on 11-20, while the case shopped
        "twice": "王两次",  # supermarket 14:05, teahouse 11-21 09:00, and on G1234
    }
    for key, name in names.items():
        world.people[key] = verified_user(name)
    world.people["unverified"] = plain_user()
    for key, moment in [
        ("low", at("2026-11-20", 12, 40)),
        ("too_early", at("2026-11-20", 12, 39)),
        ("high", at("2026-11-20", 15, 40)),
        ("too_late", at("2026-11-20", 15, 41)),
        ("other_day", at("2026-11-19", 14, 10)),
        ("twice", at("2026-11-20", 14, 5)),
        ("unverified", at("2026-11-20", 14, 30)),
    ]:
        checkin(world.people[key], world.supermarket, moment)
    checkin(world.people["other_venue"], world.teahouse, at("2026-11-20", 14, 10))
    checkin(world.people["twice"], world.teahouse, at("2026-11-21", 9, 0))
    checkin(case, world.supermarket, at("2026-11-20", 14, 10))
    checkin(case, world.teahouse, at("2026-11-21", 9, 20))
    # Before the window (it starts on 11-17): not a visit.
    checkin(case, world.teahouse, at("2026-11-16", 9, 20))

    world.passengers = {
        "train": resident_id(901, region="330102"),
        "flight": resident_id(902, region="330102"),
        "train_other_day": resident_id(903, region="330102"),
        "old_trip": resident_id(904, region="330102"),
    }
    ticket(world.case_id, case.name, "G1234", "2026-11-20", "05车12F")
    ticket(world.passengers["train"], "赵同车", "G1234", "2026-11-20", "05车13A")
    ticket(world.id_number("twice"), "王两次", "G1234", "2026-11-20", "03车01A")
    ticket(world.passengers["train_other_day"], "冯隔天", "G1234", "2026-11-19", "05车12F")
    ticket(world.case_id, case.name, "CA1234", "2026-11-21", "32A", mode="flight")
    ticket(world.passengers["flight"], "陈同机", "CA1234", "2026-11-21", "31C", mode="flight")
    ticket(world.case_id, case.name, "K100", "2026-11-10", "12车01号")
    ticket(world.passengers["old_trip"], "褚旧程", "K100", "2026-11-10", "12车02号")
    return world
