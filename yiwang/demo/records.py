"""Synthetic department records for the demo, consistent with the population registry.

The household register (公安), marriages (民政), birth medical records (卫健), pension
insurance (人社), medical insurance (医保) and housing fund accounts (公积金) of the
personas are written out by hand below; those of the extra residents are drawn from a
``random.Random`` seeded by the caller, so every load gives the same records. Like
``synthetic.py`` this module only builds records (fields as in ``exchange.records``);
``loader.py`` writes them.

A few values are relative to the day of the first load, like a persona's death: the
newborn's time of birth and the months a contributing worker has paid in so far.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

from yiwang.demo.departments import (
    CITY_PUBLIC_SECURITY,
    DEPARTMENTS,
    DISTRICT_CODE,
    XIHU_HEALTH,
    XIHU_HUMAN_RESOURCES,
    XIHU_MEDICAL_SECURITY,
    XIHU_PUBLIC_SECURITY,
    department_code,
)
from yiwang.demo.personas import (
    COMPANY,
    DECEASED_FATHER,
    PERSONAS,
    UNCLAIMED_RESIDENTS,
    Resident,
    persona_get,
)
from yiwang.demo.synthetic import (
    HANGZHOU_COUNTIES,
    INDIVIDUAL_BUSINESS,
    SyntheticLegalPerson,
    SyntheticResident,
)
from yiwang.exchange.records import (
    HousingFundAccount,
    MarriageRecord,
    MedicalInsuranceRecord,
    SocialInsuranceRecord,
)
from yiwang.identity.models import Department

_D = datetime.date

ENTERPRISE_PENSION = "企业职工基本养老保险"
PUBLIC_SECTOR_PENSION = "机关事业单位基本养老保险"
FAMILY_HOUSEHOLD = "家庭户"
HEAD = "户主"
# Employers of a persona's work that are drawn from the extra legal persons.
ANY_ENTERPRISE = "*"
# Employee and employer each pay 12% of the base into the housing fund (Hangzhou).
HOUSING_FUND_RATE = Decimal("0.24")
# What a flexibly employed person (灵活就业) commonly chooses: a base near the lower limit.
FLEXIBLE_BASE = Decimal("4812.00")
# The resident scheme (城乡居民医保) dates from 2007 in Hangzhou; it has no personal account.
RESIDENT_MEDICAL_SINCE = _D(2007, 1, 1)
EMPLOYEE_MEDICAL_SINCE = _D(2001, 1, 1)
# Marriage certificates numbered J<county>-<year>-<serial> since the 2003 regulations.
MARRIAGE_NUMBERS_SINCE = _D(2004, 1, 1)
EXTRA_MARRIAGES = 15


@dataclass(frozen=True)
class Person:
    """A person on the population registry, as the department records see her."""

    id_number: str
    name: str
    gender: str  # "M" or "F"
    birth_date: datetime.date
    region_code: str  # township of the household registration
    address: str
    status: str = "normal"  # normal, deceased or cancelled

    @property
    def is_male(self) -> bool:
        return self.gender == "M"

    @property
    def county_code(self) -> str:
        return self.region_code[:6]


@dataclass(frozen=True)
class Employer:
    uscc: str
    name: str
    region_code: str  # county


# ---------------------------------------------------------------------------------------
# Records, with the fields of the models in ``exchange.records``


@dataclass(frozen=True)
class HouseholdEntry:
    household_number: str
    id_number: str
    name: str
    relationship_to_head: str
    head_id_number: str
    household_type: str
    region_code: str
    address: str
    registered_on: datetime.date


@dataclass(frozen=True)
class Marriage:
    certificate_number: str
    party_a_id_number: str  # the man (男方)
    party_a_name: str
    party_b_id_number: str  # the woman (女方)
    party_b_name: str
    registered_on: datetime.date
    registration_authority: str
    status: str = MarriageRecord.Status.MARRIED


@dataclass(frozen=True)
class BirthRecord:
    certificate_number: str
    child_name: str
    child_gender: str
    birth_weight_g: int
    birth_region_code: str
    birth_place: str
    gestational_weeks: int
    institution: str
    mother_id_number: str
    mother_name: str
    father_id_number: str
    father_name: str
    # The birth is this many days before the first load, at this time of day; the
    # hospital issues the certificate a few days later.
    born_days_before_load: int
    birth_time: datetime.time
    issued_days_after_birth: int

    def fields(self) -> dict[str, Any]:
        """The fields that never change; the dates depend on the first load."""
        values = asdict(self)
        for name in ("born_days_before_load", "birth_time", "issued_days_after_birth"):
            del values[name]
        return values

    def born_on(self, first_load: datetime.date) -> datetime.date:
        return first_load - datetime.timedelta(days=self.born_days_before_load)

    def issued_on(self, first_load: datetime.date) -> datetime.date:
        return self.born_on(first_load) + datetime.timedelta(days=self.issued_days_after_birth)


@dataclass(frozen=True)
class PensionRecord:
    id_number: str
    name: str
    social_security_number: str
    insurance_type: str
    employer_uscc: str
    employer_name: str
    first_contribution_on: datetime.date
    monthly_base: Decimal
    status: str
    card_number: str
    months_not_contributed: int = 0
    # The first month not paid for: retirement or the end of a job; None while paying in.
    contributions_ended_on: datetime.date | None = None

    def fields(self) -> dict[str, Any]:
        """The model fields except ``contribution_months``."""
        values = asdict(self)
        del values["months_not_contributed"], values["contributions_ended_on"]
        return values

    def contribution_months(self, as_of: datetime.date) -> int:
        """Months paid for from the first contribution up to the month before ``as_of``."""
        end = self.contributions_ended_on or as_of
        return months_between(self.first_contribution_on, end) - self.months_not_contributed


@dataclass(frozen=True)
class MedicalInsurance:
    id_number: str
    name: str
    scheme: str
    insured_region_code: str
    enrolled_on: datetime.date
    personal_account_balance: Decimal
    status: str = MedicalInsuranceRecord.Status.ACTIVE
    critical_illness_covered: bool = True


@dataclass(frozen=True)
class HousingFund:
    id_number: str
    name: str
    account_number: str
    employer_name: str
    opened_on: datetime.date
    monthly_deposit: Decimal
    balance: Decimal
    status: str = HousingFundAccount.Status.ACTIVE


@dataclass(frozen=True)
class DemoRecords:
    households: list[HouseholdEntry] = field(default_factory=list)
    marriages: list[Marriage] = field(default_factory=list)
    births: list[BirthRecord] = field(default_factory=list)
    pensions: list[PensionRecord] = field(default_factory=list)
    medical: list[MedicalInsurance] = field(default_factory=list)
    housing_funds: list[HousingFund] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Working lives: what the insurance records follow from


@dataclass(frozen=True)
class Work:
    """A person's working life as far as pension, medical insurance and housing fund go."""

    employer: str  # key of an employer (credit code, department code, ANY_ENTERPRISE) or ""
    first_contribution_on: datetime.date
    monthly_base: Decimal
    insurance_type: str = ENTERPRISE_PENSION
    months_not_contributed: int = 0
    status: str = SocialInsuranceRecord.Status.CONTRIBUTING
    contributions_ended_on: datetime.date | None = None
    housing_fund_opened_on: datetime.date | None = None
    housing_fund_balance: Decimal = Decimal("0.00")
    medical_balance: Decimal = Decimal("0.00")

    @property
    def in_employee_medical(self) -> bool:
        # Retirees stay in the employee scheme; someone out of work joins the resident one.
        return self.status != SocialInsuranceRecord.Status.SUSPENDED


_DSJ = department_code(DISTRICT_CODE, Department.Kind.DATA_RESOURCES)
_Y = Decimal


def _public_servant(
    department: str, first: datetime.date, base: str, fund: str, medical: str
) -> Work:
    return Work(
        employer=department,
        first_contribution_on=first,
        monthly_base=_Y(base),
        insurance_type=PUBLIC_SECTOR_PENSION,
        housing_fund_opened_on=first,
        housing_fund_balance=_Y(fund),
        medical_balance=_Y(medical),
    )


def persona_work() -> dict[str, Work | None]:
    """The working life of every hand-written resident, by ID number (None: never worked)."""

    def id_of(key: str) -> str:
        return persona_get(key).id_number

    return {
        # Came to the data bureau from a software company; the pension moved with him.
        id_of("admin"): _public_servant(_DSJ, _D(2005, 7, 1), "16800", "68350.16", "5230.60"),
        id_of("expectant_father"): Work(
            employer=ANY_ENTERPRISE,
            first_contribution_on=_D(2017, 7, 1),
            monthly_base=_Y("14500"),
            # Most of the fund went into the down payment of the flat in 2023.
            housing_fund_opened_on=_D(2017, 7, 1),
            housing_fund_balance=_Y("23914.50"),
            medical_balance=_Y("3128.75"),
        ),
        id_of("expectant_mother"): Work(
            employer=ANY_ENTERPRISE,
            first_contribution_on=_D(2019, 8, 1),
            monthly_base=_Y("11200"),
            housing_fund_opened_on=_D(2019, 8, 1),
            housing_fund_balance=_Y("61275.20"),
            medical_balance=_Y("2406.30"),
        ),
        # In work since July 1986, four months without a job when his factory closed in 1998.
        id_of("retiring_worker"): Work(
            employer=ANY_ENTERPRISE,
            first_contribution_on=_D(1986, 7, 1),
            monthly_base=_Y("9800"),
            months_not_contributed=4,
            housing_fund_opened_on=_D(1999, 1, 1),
            housing_fund_balance=_Y("148902.35"),
            medical_balance=_Y("12640.80"),
        ),
        id_of("bereaved_child"): Work(
            employer=ANY_ENTERPRISE,
            first_contribution_on=_D(1995, 8, 1),
            monthly_base=_Y("8600"),
            months_not_contributed=14,
            housing_fund_opened_on=_D(2005, 3, 1),
            housing_fund_balance=_Y("88410.05"),
            medical_balance=_Y("6915.20"),
        ),
        # Retired at 60 in February 2008; the fund was paid out and the account closed.
        DECEASED_FATHER.id_number: Work(
            employer="",
            first_contribution_on=_D(1966, 9, 1),
            monthly_base=_Y("2650"),
            status=SocialInsuranceRecord.Status.RETIRED,
            contributions_ended_on=_D(2008, 3, 1),
            housing_fund_opened_on=_D(1999, 1, 1),
            medical_balance=_Y("3862.40"),
        ),
        id_of("business_owner"): Work(
            employer=COMPANY.uscc,
            first_contribution_on=_D(2006, 7, 1),
            monthly_base=_Y("20000"),
            months_not_contributed=3,  # between leaving his job and founding the company
            housing_fund_opened_on=_D(2006, 7, 1),
            housing_fund_balance=_Y("203550.72"),
            medical_balance=_Y("9408.16"),
        ),
        id_of("business_agent"): Work(
            employer=COMPANY.uscc,
            first_contribution_on=_D(2015, 8, 1),
            monthly_base=_Y("9500"),
            housing_fund_opened_on=_D(2015, 8, 1),
            housing_fund_balance=_Y("71836.90"),
            medical_balance=_Y("3775.45"),
        ),
        id_of("unverified_citizen"): None,  # a postgraduate student
        # A textile worker, retired at 50 in May 2011.
        id_of("in_person_citizen"): Work(
            employer="",
            first_contribution_on=_D(1979, 9, 1),
            monthly_base=_Y("3100"),
            status=SocialInsuranceRecord.Status.RETIRED,
            contributions_ended_on=_D(2011, 6, 1),
            housing_fund_opened_on=_D(1999, 1, 1),
            medical_balance=_Y("7524.90"),
        ),
        id_of("ga_clerk"): _public_servant(
            XIHU_PUBLIC_SECURITY, _D(2018, 8, 1), "12600", "79366.20", "2950.60"
        ),
        id_of("ga_reviewer"): _public_servant(
            XIHU_PUBLIC_SECURITY, _D(2007, 8, 1), "16200", "132480.55", "6102.35"
        ),
        id_of("ga_approver"): _public_servant(
            XIHU_PUBLIC_SECURITY, _D(1993, 8, 1), "19800", "215903.10", "11288.40"
        ),
        id_of("ga_data_officer"): _public_servant(
            XIHU_PUBLIC_SECURITY, _D(2014, 8, 1), "14100", "92750.35", "3866.10"
        ),
        id_of("city_ga_data_officer"): _public_servant(
            CITY_PUBLIC_SECURITY, _D(2011, 7, 1), "15800", "121409.60", "5217.45"
        ),
        id_of("wj_clerk"): _public_servant(
            XIHU_HEALTH, _D(2020, 8, 1), "10800", "54212.80", "1984.20"
        ),
        id_of("wj_reviewer"): _public_servant(
            XIHU_HEALTH, _D(2010, 7, 1), "15400", "118760.45", "5430.75"
        ),
        id_of("wj_approver"): _public_servant(
            XIHU_HEALTH, _D(1995, 8, 1), "18900", "176345.60", "10216.90"
        ),
        id_of("rs_clerk"): _public_servant(
            XIHU_HUMAN_RESOURCES, _D(2019, 8, 1), "11300", "63908.15", "2410.55"
        ),
        id_of("rs_reviewer"): _public_servant(
            XIHU_HUMAN_RESOURCES, _D(2013, 7, 1), "14900", "97651.30", "4386.10"
        ),
        id_of("rs_approver"): _public_servant(
            XIHU_HUMAN_RESOURCES, _D(1991, 8, 1), "18600", "189204.75", "9980.35"
        ),
        id_of("yb_officer"): _public_servant(
            XIHU_MEDICAL_SECURITY, _D(2012, 8, 1), "13600", "86412.35", "3875.60"
        ),
        id_of("rs_admin"): _public_servant(
            XIHU_HUMAN_RESOURCES, _D(2003, 7, 1), "17500", "158327.40", "7650.25"
        ),
        UNCLAIMED_RESIDENTS[0].id_number: Work(
            employer=ANY_ENTERPRISE,
            first_contribution_on=_D(2021, 7, 1),
            monthly_base=_Y("8200"),
            housing_fund_opened_on=_D(2021, 7, 1),
            housing_fund_balance=_Y("31842.60"),
            medical_balance=_Y("1512.30"),
        ),
        # Her small employer pays no housing fund.
        UNCLAIMED_RESIDENTS[1].id_number: Work(
            employer=ANY_ENTERPRISE,
            first_contribution_on=_D(2022, 7, 1),
            monthly_base=_Y("7600"),
            medical_balance=_Y("1106.85"),
        ),
        UNCLAIMED_RESIDENTS[2].id_number: Work(
            employer=ANY_ENTERPRISE,
            first_contribution_on=_D(2014, 7, 1),
            monthly_base=_Y("13800"),
            months_not_contributed=6,
            housing_fund_opened_on=_D(2014, 7, 1),
            housing_fund_balance=_Y("84119.70"),
            medical_balance=_Y("4027.60"),
        ),
    }


# The couple's marriage, and where each household of the personas registered and when.
COUPLE_MARRIAGE_NUMBER = "J330106-2025-002718"
COUPLE_MARRIED_ON = _D(2025, 5, 20)
XIHU_MARRIAGE_REGISTRY = "杭州市西湖区民政局婚姻登记处"


def persona_registration_dates() -> dict[str, datetime.date]:
    """When the personas living together registered at their address, by ID number."""
    return {
        # The father moved into 桂溪苑 with his daughter in 1996.
        DECEASED_FATHER.id_number: _D(1996, 8, 20),
        persona_get("bereaved_child").id_number: _D(1996, 8, 20),
        # He bought the flat in 2023; she moved her registration in after the wedding.
        persona_get("expectant_father").id_number: _D(2023, 10, 16),
        persona_get("expectant_mother").id_number: _D(2025, 6, 9),
    }


def newborn_record() -> BirthRecord:
    father, mother = persona_get("expectant_father"), persona_get("expectant_mother")
    return BirthRecord(
        certificate_number="Q330615872",
        child_name="陈语安",
        child_gender="F",
        birth_weight_g=3350,
        birth_region_code="330102003",  # 上城区湖滨街道, where the hospital stands
        birth_place="浙江省杭州市上城区",
        gestational_weeks=39,
        institution="浙江大学医学院附属妇产科医院",
        mother_id_number=mother.id_number,
        mother_name=mother.name,
        father_id_number=father.id_number,
        father_name=father.name,
        born_days_before_load=5,
        birth_time=datetime.time(8, 36),
        issued_days_after_birth=3,
    )


# ---------------------------------------------------------------------------------------
# Dates


def months_between(start: datetime.date, end: datetime.date) -> int:
    """Calendar months from ``start``'s month up to, not including, ``end``'s month."""
    return (end.year - start.year) * 12 + end.month - start.month


def _add_months(day: datetime.date, months: int) -> datetime.date:
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    # The 31st of a shorter month becomes its last day.
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _age(birth_date: datetime.date, on: datetime.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def retirement_date(birth_date: datetime.date, *, male: bool, cadre: bool = False) -> datetime.date:
    """The statutory retirement date under the 2024 decision on a gradual delay.

    Men retire at 60, women cadres at 55 and women workers at 50, later by one month for
    every four months (two for women workers) that they were born after 1965, 1970 or
    1975 began, up to 63, 58 and 55.
    """
    if male:
        age, start_year, step, most = 60, 1965, 4, 36
    elif cadre:
        age, start_year, step, most = 55, 1970, 4, 36
    else:
        age, start_year, step, most = 50, 1975, 2, 60
    born_after = months_between(datetime.date(start_year, 1, 1), birth_date)
    delay = 0 if born_after < 0 else min(most, born_after // step + 1)
    return _add_months(birth_date, age * 12 + delay)


# ---------------------------------------------------------------------------------------
# Identifiers


def _digest_number(*parts: object, digits: int) -> int:
    # A digest rather than the shared random stream: a record keeps its number when
    # records are added before it.
    text = ":".join(str(p) for p in parts)
    modulus: int = 10**digits
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % modulus


def _unique_number(prefix: str, serial: int, *, width: int, used: set[str]) -> str:
    """``prefix`` and the first ``width``-digit serial from ``serial`` on not yet used."""
    modulus: int = 10**width
    for step in range(modulus):
        number = f"{prefix}{(serial + step) % modulus:0{width}d}"
        if number not in used:
            used.add(number)
            return number
    raise ValueError(f"no {width}-digit number left after {prefix}")


def household_number(region_code: str, address: str, *, seed: object, used: set[str]) -> str:
    """A 12-digit household number: the 9-digit township code and a 3-digit serial."""
    township = region_code.ljust(9, "0")[:9]
    serial = _digest_number(seed, "household", address, digits=3)
    return _unique_number(township, serial, width=3, used=used)


def housing_fund_account_number(id_number: str, *, seed: object, used: set[str]) -> str:
    """A 12-digit account number of the Hangzhou centre (3301…)."""
    serial = _digest_number(seed, "housing-fund", id_number, digits=8)
    return _unique_number("3301", serial, width=8, used=used)


def social_security_card_number(id_number: str, *, seed: object) -> str:
    """A card number as printed on the third-generation card: a letter and 8 digits."""
    return f"A{_digest_number(seed, 'card', id_number, digits=8):08d}"


def _yuan(amount: float | Decimal) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------
# Household register (公安)


def households_build(
    rng: random.Random,
    *,
    people: Sequence[Person],
    spouses: set[frozenset[str]],
    parents: set[tuple[str, str]],
    registered_on: Mapping[str, datetime.date],
    reference: datetime.date,
    seed: object,
) -> list[HouseholdEntry]:
    """One entry per person; people registered at the same address share a household.

    ``parents`` holds (parent, child) ID numbers. The head is the husband of a married
    couple in the household, or else its oldest member.
    """
    by_address: dict[str, list[Person]] = {}
    for person in people:
        by_address.setdefault(person.address, []).append(person)
    used: set[str] = set()
    entries: list[HouseholdEntry] = []
    for address, members in by_address.items():
        head = _household_head(members, spouses)
        number = household_number(head.region_code, address, seed=seed, used=used)
        head_registered = registered_on.get(head.id_number) or _registration_draw(
            rng, head, reference
        )
        for member in sorted(members, key=lambda m: (m != head, m.birth_date)):
            entries.append(
                HouseholdEntry(
                    household_number=number,
                    id_number=member.id_number,
                    name=member.name,
                    relationship_to_head=_relationship(member, head, spouses, parents),
                    head_id_number=head.id_number,
                    household_type=FAMILY_HOUSEHOLD,
                    region_code=member.region_code,
                    address=address,
                    registered_on=_member_registered_on(
                        member, head, head_registered, registered_on
                    ),
                )
            )
    return entries


def _member_registered_on(
    member: Person,
    head: Person,
    head_registered: datetime.date,
    registered_on: Mapping[str, datetime.date],
) -> datetime.date:
    if member.id_number in registered_on:
        return registered_on[member.id_number]
    if member == head:
        return head_registered
    # Moved in with the head, or registered at birth if born later.
    return max(head_registered, member.birth_date + datetime.timedelta(days=20))


def _household_head(members: Sequence[Person], spouses: set[frozenset[str]]) -> Person:
    husbands = [
        m
        for m in members
        if m.is_male and any(frozenset({m.id_number, o.id_number}) in spouses for o in members)
    ]
    return min(husbands or members, key=lambda m: m.birth_date)


def _relationship(
    member: Person, head: Person, spouses: set[frozenset[str]], parents: set[tuple[str, str]]
) -> str:
    # Terms of GB/T 4761 (家庭关系代码) as printed in the household register.
    if member == head:
        return HEAD
    if frozenset({member.id_number, head.id_number}) in spouses:
        return "配偶"
    if (head.id_number, member.id_number) in parents:
        return "子" if member.is_male else "女"
    if (member.id_number, head.id_number) in parents:
        return "父亲" if member.is_male else "母亲"
    return "其他"


def _registration_draw(
    rng: random.Random, person: Person, reference: datetime.date
) -> datetime.date:
    """Registered here at birth, or moved in: a child with the parents, else as an adult.

    Only someone whose ID number was first issued in this district can have been
    registered here since birth.
    """
    at_birth = person.birth_date + datetime.timedelta(days=rng.randint(7, 30))
    minor = _age(person.birth_date, reference) < 18
    if person.id_number[:6] == person.county_code and (minor or rng.random() < 0.3):
        return at_birth
    if minor:
        earliest = person.birth_date + datetime.timedelta(days=30)
    else:
        earliest = max(_add_months(person.birth_date, 18 * 12), datetime.date(1985, 1, 1))
    latest = reference - datetime.timedelta(days=30)
    if earliest >= latest:
        return at_birth
    return earliest + datetime.timedelta(days=rng.randrange((latest - earliest).days))


# ---------------------------------------------------------------------------------------
# Marriages (民政)


def couple_marriage() -> Marriage:
    husband, wife = persona_get("expectant_father"), persona_get("expectant_mother")
    return Marriage(
        certificate_number=COUPLE_MARRIAGE_NUMBER,
        party_a_id_number=husband.id_number,
        party_a_name=husband.name,
        party_b_id_number=wife.id_number,
        party_b_name=wife.name,
        registered_on=COUPLE_MARRIED_ON,
        registration_authority=XIHU_MARRIAGE_REGISTRY,
    )


def marriages_generate(
    rng: random.Random,
    *,
    people: Sequence[Person],
    count: int,
    reference: datetime.date,
    exclude_numbers: frozenset[str] = frozenset(),
) -> list[Marriage]:
    """Up to ``count`` marriages between living adults of opposite gender; one divorced.

    The man is at most three years younger and eight years older than the woman; they
    married at the man's district after both reached the legal age (22 and 20).
    """
    living = [p for p in people if p.status == "normal"]
    men = [p for p in living if p.is_male and p.birth_date.year >= 1960]
    women = [p for p in living if not p.is_male and p.birth_date.year >= 1962]
    rng.shuffle(men)
    taken: set[str] = set()
    numbers = set(exclude_numbers)
    marriages: list[Marriage] = []
    for man in men:
        if len(marriages) == count:
            break
        partners = [
            w
            for w in women
            if w.id_number not in taken and -3 <= w.birth_date.year - man.birth_date.year <= 8
        ]
        if not partners:
            continue
        woman = rng.choice(partners)
        earliest = max(
            _add_months(man.birth_date, 22 * 12),
            _add_months(woman.birth_date, 20 * 12),
            MARRIAGE_NUMBERS_SINCE,
        )
        latest = min(_add_months(earliest, 12 * 12), reference - datetime.timedelta(days=30))
        if earliest >= latest:
            continue
        taken.add(woman.id_number)
        married_on = earliest + datetime.timedelta(days=rng.randrange((latest - earliest).days))
        county = man.county_code if man.county_code in HANGZHOU_COUNTIES else DISTRICT_CODE
        number = _unique_number(
            f"J{county}-{married_on.year}-", rng.randint(1, 9999), width=6, used=numbers
        )
        marriages.append(
            Marriage(
                certificate_number=number,
                party_a_id_number=man.id_number,
                party_a_name=man.name,
                party_b_id_number=woman.id_number,
                party_b_name=woman.name,
                registered_on=married_on,
                registration_authority=f"杭州市{HANGZHOU_COUNTIES[county]}民政局婚姻登记处",
                status=(
                    MarriageRecord.Status.DIVORCED
                    if len(marriages) == 4
                    else MarriageRecord.Status.MARRIED
                ),
            )
        )
    return marriages


# ---------------------------------------------------------------------------------------
# Pension, medical insurance, housing fund (人社, 医保, 公积金)


def work_draw(
    rng: random.Random,
    person: Person,
    *,
    reference: datetime.date,
    enterprises: Sequence[Employer],
    own_company: Employer | None = None,
    own_shop: bool = False,
) -> Work | None:
    """The working life of an extra resident (None for a child, student or never employed).

    A legal representative works for his company; the owner of an individual business
    pays in as a flexibly employed person (灵活就业).
    """
    age = _age(person.birth_date, reference)
    if age < 18:
        return None
    started = _month_start(_add_months(person.birth_date, 12 * rng.randint(18, min(24, age))))
    retires_on = retirement_date(
        person.birth_date, male=person.is_male, cadre=not person.is_male and rng.random() < 0.3
    )
    if retires_on <= reference:
        if rng.random() < 0.2:
            return None
        pension_from = _month_start(_add_months(retires_on, 1))
        return Work(
            employer="",
            first_contribution_on=started,
            monthly_base=_Y(rng.randrange(15, 80) * 100),
            months_not_contributed=rng.randint(0, months_between(started, pension_from) // 10),
            status=SocialInsuranceRecord.Status.RETIRED,
            contributions_ended_on=pension_from,
            medical_balance=_yuan(rng.uniform(600, 9000)),
        )
    if own_company is None and not own_shop and age < 23 and rng.random() < 0.7:
        return None  # at university
    roll = rng.random()
    if own_company is not None:
        employer = own_company.uscc
    elif own_shop or 0.1 <= roll < 0.2:
        employer = ""
    elif roll < 0.1:
        return None
    else:
        employer = rng.choice(enterprises).uscc
    paid_so_far = months_between(started, reference)
    base = _Y(rng.randrange(48, 250) * 100) if employer else FLEXIBLE_BASE
    status = SocialInsuranceRecord.Status.CONTRIBUTING
    ended: datetime.date | None = None
    if employer and own_company is None and paid_so_far > 24 and rng.random() < 0.08:
        status = SocialInsuranceRecord.Status.SUSPENDED  # between jobs
        ended = _month_start(_add_months(reference, -rng.randint(2, 18)))
    fund_opened: datetime.date | None = None
    fund_balance = _Y("0.00")
    if employer and rng.random() < 0.75:
        fund_opened = max(started, datetime.date(1999, 1, 1))
        deposit = (base * HOUSING_FUND_RATE).quantize(Decimal(1))
        fund_months = months_between(fund_opened, ended or reference)
        fund_balance = _yuan(deposit * fund_months * _Y(rng.uniform(0.15, 0.9)))
    return Work(
        employer=employer,
        first_contribution_on=started,
        monthly_base=base,
        months_not_contributed=rng.randint(0, paid_so_far // 8),
        status=status,
        contributions_ended_on=ended,
        housing_fund_opened_on=fund_opened,
        housing_fund_balance=fund_balance,
        medical_balance=_yuan(
            base * _Y("0.02") * min(paid_so_far, 120) * _Y(rng.uniform(0.2, 0.8))
        ),
    )


# A job lost seals the housing fund account; retirement closes it.
_FUND_STATUS: Mapping[str, str] = {
    SocialInsuranceRecord.Status.CONTRIBUTING: HousingFundAccount.Status.ACTIVE,
    SocialInsuranceRecord.Status.SUSPENDED: HousingFundAccount.Status.SEALED,
}


def insurance_build(
    person: Person,
    work: Work | None,
    *,
    employers: Mapping[str, Employer],
    seed: object,
    used_account_numbers: set[str],
) -> tuple[PensionRecord | None, MedicalInsurance, HousingFund | None]:
    """The person's pension, medical insurance and housing fund records."""
    employer = employers[work.employer] if work and work.employer else None
    medical_region = employer.region_code if employer else person.county_code
    if work is None or not work.in_employee_medical:
        enrolled = (
            work.contributions_ended_on
            if work and work.contributions_ended_on
            else max(person.birth_date + datetime.timedelta(days=30), RESIDENT_MEDICAL_SINCE)
        )
        medical = MedicalInsurance(
            id_number=person.id_number,
            name=person.name,
            scheme=MedicalInsuranceRecord.Scheme.RESIDENT,
            insured_region_code=person.county_code,
            enrolled_on=enrolled,
            personal_account_balance=_Y("0.00"),  # the resident scheme has no account
        )
    else:
        medical = MedicalInsurance(
            id_number=person.id_number,
            name=person.name,
            scheme=MedicalInsuranceRecord.Scheme.EMPLOYEE,
            insured_region_code=medical_region,
            enrolled_on=max(work.first_contribution_on, EMPLOYEE_MEDICAL_SINCE),
            personal_account_balance=work.medical_balance,
        )
    if work is None:
        return None, medical, None
    pension = PensionRecord(
        id_number=person.id_number,
        name=person.name,
        social_security_number=person.id_number,  # the social security number is the ID
        insurance_type=work.insurance_type,
        employer_uscc=employer.uscc if employer else "",
        employer_name=employer.name if employer else "",
        first_contribution_on=work.first_contribution_on,
        monthly_base=_yuan(work.monthly_base),
        status=work.status,
        card_number=social_security_card_number(person.id_number, seed=seed),
        months_not_contributed=work.months_not_contributed,
        contributions_ended_on=work.contributions_ended_on,
    )
    fund = None
    if work.housing_fund_opened_on is not None:
        fund_status = _FUND_STATUS.get(work.status, HousingFundAccount.Status.CLOSED)
        paying = fund_status == HousingFundAccount.Status.ACTIVE
        fund = HousingFund(
            id_number=person.id_number,
            name=person.name,
            account_number=housing_fund_account_number(
                person.id_number, seed=seed, used=used_account_numbers
            ),
            employer_name=employer.name if employer else "",
            opened_on=work.housing_fund_opened_on,
            monthly_deposit=(
                (work.monthly_base * HOUSING_FUND_RATE).quantize(Decimal("1.00"))
                if paying
                else _Y("0.00")
            ),
            balance=(
                _yuan(work.housing_fund_balance)
                if fund_status != HousingFundAccount.Status.CLOSED
                else _Y("0.00")
            ),
            status=fund_status,
        )
    return pension, medical, fund


# ---------------------------------------------------------------------------------------
# Everything


def person_from_resident(resident: Resident) -> Person:
    return Person(
        id_number=resident.id_number,
        name=resident.name,
        gender=resident.gender,
        birth_date=resident.birth_date,
        region_code=resident.household_region_code,
        address=resident.household_address,
        status="normal" if resident.died_days_before_load is None else "deceased",
    )


def person_from_synthetic(resident: SyntheticResident) -> Person:
    return Person(
        id_number=resident.id_number,
        name=resident.name,
        gender=resident.gender,
        birth_date=resident.birth_date,
        region_code=resident.household_region_code,
        address=resident.household_address,
        status=resident.status,
    )


def _persona_parents() -> set[tuple[str, str]]:
    """(parent, child) ID numbers among the personas and their relatives."""
    pairs: set[tuple[str, str]] = set()
    for persona in PERSONAS:
        for relative in persona.relatives:
            if relative.relation_zh in ("父亲", "母亲"):
                pairs.add((relative.resident.id_number, persona.id_number))
            elif relative.relation_zh in ("儿子", "女儿"):
                pairs.add((persona.id_number, relative.resident.id_number))
    return pairs


def _employers(legal_persons: Sequence[SyntheticLegalPerson]) -> dict[str, Employer]:
    employers = {COMPANY.uscc: Employer(COMPANY.uscc, COMPANY.name, COMPANY.region_code)}
    employers |= {d.code: Employer(d.uscc, d.name, d.region_code) for d in DEPARTMENTS}
    employers |= {lp.uscc: Employer(lp.uscc, lp.name, lp.region_code) for lp in legal_persons}
    return employers


def records_generate(
    *,
    residents: Sequence[Resident],
    extras: Sequence[SyntheticResident],
    legal_persons: Sequence[SyntheticLegalPerson],
    reference: datetime.date,
    seed: object,
) -> DemoRecords:
    """The department records of the hand-written residents and the extra ones.

    Extra residents who died or moved their registration away have none: their
    registration and insurance ended then. The deceased persona's records stay as they
    were, for the death life event to close.
    """
    people = [person_from_resident(r) for r in residents]
    living_extras = [person_from_synthetic(r) for r in extras if r.status == "normal"]
    on_register = people + living_extras
    employers = _employers(legal_persons)
    active = [lp for lp in legal_persons if lp.status == "active"]
    enterprises = [employers[lp.uscc] for lp in active if lp.entity_type != INDIVIDUAL_BUSINESS]

    marriages = [couple_marriage()]
    marriages += marriages_generate(
        random.Random(f"{seed}:marriages"),
        people=living_extras,
        count=EXTRA_MARRIAGES,
        reference=reference,
        exclude_numbers=frozenset({COUPLE_MARRIAGE_NUMBER}),
    )
    spouses = {
        frozenset({m.party_a_id_number, m.party_b_id_number})
        for m in marriages
        if m.status == MarriageRecord.Status.MARRIED
    }
    households = households_build(
        random.Random(f"{seed}:households"),
        people=on_register,
        spouses=spouses,
        parents=_persona_parents(),
        registered_on=persona_registration_dates(),
        reference=reference,
        seed=seed,
    )

    rng = random.Random(f"{seed}:work")
    works = persona_work()
    companies = {lp.legal_representative_id_number: lp for lp in active}
    records = DemoRecords(households=households, marriages=marriages, births=[newborn_record()])
    used_account_numbers: set[str] = set()
    for person in on_register:
        if person.id_number in works:
            work = works[person.id_number]
            if work is not None and work.employer == ANY_ENTERPRISE:
                work = replace(work, employer=rng.choice(enterprises).uscc)
        else:
            company = companies.get(person.id_number)
            shop = company is not None and company.entity_type == INDIVIDUAL_BUSINESS
            work = work_draw(
                rng,
                person,
                reference=reference,
                enterprises=enterprises,
                own_company=employers[company.uscc] if company and not shop else None,
                own_shop=shop,
            )
        pension, medical, fund = insurance_build(
            person,
            work,
            employers=employers,
            seed=seed,
            used_account_numbers=used_account_numbers,
        )
        records.medical.append(medical)
        if pension is not None:
            records.pensions.append(pension)
        if fund is not None:
            records.housing_funds.append(fund)
    return records
