from __future__ import annotations

import datetime
import random
import re
from decimal import Decimal

import pytest
from django.db.models import F, Q
from django.utils import timezone
from stdnum.cn import ric

from yiwang.demo.loader import DEPARTMENT_RECORDS, demo_load
from yiwang.demo.personas import (
    COMPANY,
    DECEASED_FATHER,
    DEMO_REFERENCE_DATE,
    DEMO_SEED,
    PERSONAS,
    persona_get,
    registry_residents,
)
from yiwang.demo.records import (
    Person,
    household_number,
    marriages_generate,
    months_between,
    persona_work,
    records_generate,
    retirement_date,
)
from yiwang.demo.synthetic import legal_persons_generate, residents_generate
from yiwang.exchange.models import (
    BirthMedicalRecord,
    HouseholdMember,
    HousingFundAccount,
    LegalPersonRecord,
    MarriageRecord,
    MedicalInsuranceRecord,
    PopulationRecord,
    SocialInsuranceRecord,
)

_D = datetime.date
RECORD_MODELS = (
    HouseholdMember,
    MarriageRecord,
    BirthMedicalRecord,
    SocialInsuranceRecord,
    MedicalInsuranceRecord,
    HousingFundAccount,
)
WORKING_PERSONAS = (
    "admin",
    "expectant_father",
    "expectant_mother",
    "retiring_worker",
    "bereaved_child",
    "business_owner",
    "business_agent",
    *(p.key for p in PERSONAS if p.staff_roles),
)


@pytest.fixture
def loaded(regions):
    return demo_load()


def _extras_and_legal_persons():
    extras = residents_generate(
        random.Random(DEMO_SEED),
        count=200,
        reference=DEMO_REFERENCE_DATE,
        exclude_id_numbers=frozenset(r.id_number for r in registry_residents()),
    )
    legal_persons = legal_persons_generate(
        random.Random(f"{DEMO_SEED}:legal-persons"),
        representatives=extras,
        reference=DEMO_REFERENCE_DATE,
        exclude_usccs=frozenset({COMPANY.uscc}),
    )
    return extras, legal_persons


def _records():
    extras, legal_persons = _extras_and_legal_persons()
    return records_generate(
        residents=registry_residents(),
        extras=extras,
        legal_persons=legal_persons,
        reference=DEMO_REFERENCE_DATE,
        seed=DEMO_SEED,
    )


def _snapshot():
    return {
        model.__name__: sorted(model.objects.values_list(*[f.attname for f in model._meta.fields]))
        for model in RECORD_MODELS
    }


# --- Pure building blocks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "male", "cadre", "retires_on"),
    [
        (_D(1964, 12, 15), True, False, _D(2024, 12, 15)),  # before the reform: 60
        (_D(1965, 1, 10), True, False, _D(2025, 2, 10)),  # first group: one month later
        (_D(1965, 5, 1), True, False, _D(2025, 7, 1)),  # second group: two months
        (_D(1966, 9, 18), True, False, _D(2027, 3, 18)),  # the retiring worker: six months
        (_D(1976, 9, 1), True, False, _D(2039, 9, 1)),  # 63 from September 1976 on
        (_D(1970, 1, 31), False, True, _D(2025, 2, 28)),  # women cadres: 55 and a month
        (_D(1981, 9, 1), False, True, _D(2039, 9, 1)),  # 58
        (_D(1975, 2, 1), False, False, _D(2025, 3, 1)),  # women workers: 50, one month
        (_D(1975, 3, 1), False, False, _D(2025, 5, 1)),  # two months for March 1975
        (_D(1984, 11, 5), False, False, _D(2039, 11, 5)),  # 55
    ],
)
def test_retirement_date_follows_the_gradual_delay(birth_date, male, cadre, retires_on):
    assert retirement_date(birth_date, male=male, cadre=cadre) == retires_on


def test_months_between_counts_calendar_months_before_the_end_month():
    assert months_between(_D(1986, 7, 1), _D(2026, 11, 22)) == 484
    assert months_between(_D(2025, 12, 1), _D(2026, 1, 1)) == 1
    assert months_between(_D(2026, 1, 1), _D(2026, 1, 31)) == 0


def test_household_number_is_the_township_and_a_serial_and_never_repeats():
    used: set[str] = set()

    first = household_number("330106012", "某地1号", seed=DEMO_SEED, used=used)
    again = household_number("330106012", "某地1号", seed=DEMO_SEED, used=used)

    assert re.fullmatch(r"330106012\d{3}", first)
    assert again == f"330106012{(int(first[-3:]) + 1) % 1000:03d}"
    assert household_number("330106", "某地2号", seed=DEMO_SEED, used=used).startswith("330106000")


def test_records_are_the_same_on_every_build():
    assert _records() == _records()


def test_every_hand_written_resident_has_a_working_life_written_out():
    assert set(persona_work()) == {r.id_number for r in registry_residents()}


def test_extra_marriages_join_living_adults_of_opposite_gender_once_each():
    extras, _legal = _extras_and_legal_persons()
    people = [
        Person(
            id_number=r.id_number,
            name=r.name,
            gender=r.gender,
            birth_date=r.birth_date,
            region_code=r.household_region_code,
            address=r.household_address,
            status=r.status,
        )
        for r in extras
    ]
    by_id = {p.id_number: p for p in people}

    marriages = marriages_generate(
        random.Random(1), people=people, count=15, reference=DEMO_REFERENCE_DATE
    )

    assert len(marriages) == 15
    parties = [m.party_a_id_number for m in marriages] + [m.party_b_id_number for m in marriages]
    assert len(set(parties)) == 30
    assert [m.status for m in marriages].count(MarriageRecord.Status.DIVORCED) == 1
    for marriage in marriages:
        man, woman = by_id[marriage.party_a_id_number], by_id[marriage.party_b_id_number]
        assert (man.gender, woman.gender, man.status, woman.status) == (
            "M",
            "F",
            "normal",
            "normal",
        )
        assert (man.name, woman.name) == (marriage.party_a_name, marriage.party_b_name)
        assert marriage.registered_on >= _D(man.birth_date.year + 22, 1, 1)
        assert marriage.registered_on >= _D(woman.birth_date.year + 20, 1, 1)
        assert marriage.registered_on < DEMO_REFERENCE_DATE
        county = re.fullmatch(r"J(\d{6})-(\d{4})-\d{6}", marriage.certificate_number)
        assert county is not None
        assert int(county.group(2)) == marriage.registered_on.year
        assert marriage.registration_authority.endswith("民政局婚姻登记处")


def test_insurance_records_are_consistent_with_the_working_lives():
    records = _records()
    pensions = {p.id_number: p for p in records.pensions}
    funds = {f.id_number: f for f in records.housing_funds}

    for medical in records.medical:
        pension = pensions.get(medical.id_number)
        if medical.scheme == MedicalInsuranceRecord.Scheme.RESIDENT:
            assert medical.personal_account_balance == Decimal("0.00")
            assert pension is None or pension.status == SocialInsuranceRecord.Status.SUSPENDED
        else:
            assert pension is not None
            assert medical.personal_account_balance > 0
    for pension in records.pensions:
        birth_date = ric.get_birth_date(pension.id_number)
        assert pension.first_contribution_on >= _D(birth_date.year + 16, 1, 1)
        assert 0 <= pension.contribution_months(DEMO_REFERENCE_DATE) <= 12 * 50
        assert pension.social_security_number == pension.id_number
        assert re.fullmatch(r"A\d{8}", pension.card_number)
        if pension.status == SocialInsuranceRecord.Status.RETIRED:
            assert pension.contribution_months(DEMO_REFERENCE_DATE) >= 15 * 12
            assert pension.employer_uscc == ""
    for fund in records.housing_funds:
        assert fund.id_number in pensions
        if fund.status == HousingFundAccount.Status.ACTIVE:
            expected = pensions[fund.id_number].monthly_base * Decimal("0.24")
            assert fund.monthly_deposit == expected.quantize(Decimal("1.00"))
        else:
            assert fund.monthly_deposit == 0
    assert len({f.account_number for f in funds.values()}) == len(funds)


# --- Loaded into the registries -------------------------------------------------------


@pytest.mark.django_db
def test_the_couple_share_a_household_headed_by_the_husband(loaded):
    father, mother = persona_get("expectant_father"), persona_get("expectant_mother")

    husband = HouseholdMember.objects.get(id_number=father.id_number)
    wife = HouseholdMember.objects.get(id_number=mother.id_number)

    assert husband.household_number == wife.household_number == "330106012924"
    assert HouseholdMember.objects.filter(household_number="330106012924").count() == 2
    assert (husband.relationship_to_head, wife.relationship_to_head) == ("户主", "配偶")
    assert husband.head_id_number == wife.head_id_number == father.id_number
    assert (husband.household_type, husband.region_code) == ("家庭户", "330106012")
    assert husband.address == wife.address == "浙江省杭州市西湖区蒋村街道岚湖家园6幢1单元1202室"
    assert (husband.registered_on, wife.registered_on) == (_D(2023, 10, 16), _D(2025, 6, 9))


@pytest.mark.django_db
def test_the_couple_married_in_may_2025_at_the_xihu_marriage_registry(loaded):
    father, mother = persona_get("expectant_father"), persona_get("expectant_mother")

    record = MarriageRecord.objects.get(
        Q(party_a_id_number=father.id_number) | Q(party_b_id_number=father.id_number)
    )

    assert (record.certificate_number, record.registered_on) == (
        "J330106-2025-002718",
        _D(2025, 5, 20),
    )
    assert (record.party_a_id_number, record.party_a_name) == (father.id_number, "陈昊然")
    assert (record.party_b_id_number, record.party_b_name) == (mother.id_number, "林语桐")
    assert record.registration_authority == "杭州市西湖区民政局婚姻登记处"
    assert record.status == MarriageRecord.Status.MARRIED
    assert not MarriageRecord.objects.filter(
        Q(party_a_id_number=mother.id_number) | Q(party_b_id_number=mother.id_number)
    ).exclude(pk=record.pk)


@pytest.mark.django_db
def test_the_newborn_was_born_five_days_before_the_first_load_to_both_parents(loaded):
    father, mother = persona_get("expectant_father"), persona_get("expectant_mother")
    born_on = timezone.localdate() - datetime.timedelta(days=5)

    record = BirthMedicalRecord.objects.get(mother_id_number=mother.id_number)

    assert record.certificate_number == "Q330615872"
    assert (record.child_name, record.child_gender, record.birth_weight_g) == ("陈语安", "F", 3350)
    assert (record.mother_name, record.father_id_number, record.father_name) == (
        "林语桐",
        father.id_number,
        "陈昊然",
    )
    assert record.institution == "浙江大学医学院附属妇产科医院"
    assert record.birth_region_code == "330102003"
    birth_at = timezone.localtime(record.birth_at)
    assert (birth_at.date(), birth_at.time()) == (born_on, datetime.time(8, 36))
    assert record.issued_on == born_on + datetime.timedelta(days=3)
    # Not yet registered: the birth life event does that.
    assert not HouseholdMember.objects.filter(name="陈语安").exists()


@pytest.mark.django_db
def test_a_later_load_keeps_the_birth_and_the_months_paid_of_the_first_load(loaded):
    worker = persona_get("retiring_worker")
    BirthMedicalRecord.objects.update(birth_at=F("birth_at") - datetime.timedelta(days=40))
    SocialInsuranceRecord.objects.filter(id_number=worker.id_number).update(
        contribution_months=F("contribution_months") - 2
    )
    before = _snapshot()

    summary = demo_load()

    assert (summary.birth_records.unchanged, summary.social_insurance.updated) == (1, 0)
    assert _snapshot() == before


@pytest.mark.django_db
def test_the_retiring_worker_has_paid_in_since_july_1986_for_at_least_480_months(loaded):
    worker = persona_get("retiring_worker")
    today = timezone.localdate()

    record = SocialInsuranceRecord.objects.get(id_number=worker.id_number)

    # Every month from July 1986 up to the first load but the four of 1998 without a job.
    assert record.contribution_months == months_between(_D(1986, 7, 1), today) - 4
    assert record.contribution_months >= 480
    assert record.first_contribution_on == _D(1986, 7, 1)
    assert (record.insurance_type, record.status) == (
        "企业职工基本养老保险",
        SocialInsuranceRecord.Status.CONTRIBUTING,
    )
    assert record.monthly_base == Decimal("9800.00")
    assert record.social_security_number == worker.id_number
    employer = LegalPersonRecord.objects.get(uscc=record.employer_uscc)
    assert (employer.name, employer.status) == (record.employer_name, "active")


@pytest.mark.django_db
def test_the_deceased_father_heads_the_household_as_a_pensioner(loaded):
    daughter = persona_get("bereaved_child")

    father = HouseholdMember.objects.get(id_number=DECEASED_FATHER.id_number)
    child = HouseholdMember.objects.get(id_number=daughter.id_number)
    pension = SocialInsuranceRecord.objects.get(id_number=DECEASED_FATHER.id_number)
    medical = MedicalInsuranceRecord.objects.get(id_number=DECEASED_FATHER.id_number)
    fund = HousingFundAccount.objects.get(id_number=DECEASED_FATHER.id_number)

    assert father.household_number == child.household_number == "330106005644"
    assert (father.relationship_to_head, child.relationship_to_head) == ("户主", "女")
    assert child.head_id_number == DECEASED_FATHER.id_number
    assert father.registered_on == child.registered_on == _D(1996, 8, 20)
    assert pension.status == SocialInsuranceRecord.Status.RETIRED
    assert (pension.first_contribution_on, pension.contribution_months) == (_D(1966, 9, 1), 498)
    assert (pension.employer_uscc, pension.employer_name) == ("", "")
    assert (medical.scheme, medical.status) == ("employee", "active")
    assert (fund.status, fund.balance) == (HousingFundAccount.Status.CLOSED, Decimal("0.00"))


@pytest.mark.django_db
def test_the_company_pays_in_for_its_owner_and_its_agent(loaded):
    for key in ("business_owner", "business_agent"):
        persona = persona_get(key)
        pension = SocialInsuranceRecord.objects.get(id_number=persona.id_number)
        medical = MedicalInsuranceRecord.objects.get(id_number=persona.id_number)
        fund = HousingFundAccount.objects.get(id_number=persona.id_number)

        assert (pension.employer_uscc, pension.employer_name) == (COMPANY.uscc, COMPANY.name)
        assert pension.status == SocialInsuranceRecord.Status.CONTRIBUTING
        assert (medical.scheme, medical.insured_region_code) == ("employee", "330106")
        assert (fund.employer_name, fund.status) == (COMPANY.name, "active")


@pytest.mark.django_db
def test_working_personas_have_housing_fund_accounts_at_their_employer(loaded):
    for key in WORKING_PERSONAS:
        persona = persona_get(key)
        fund = HousingFundAccount.objects.get(id_number=persona.id_number)
        pension = SocialInsuranceRecord.objects.get(id_number=persona.id_number)

        assert fund.status == HousingFundAccount.Status.ACTIVE, key
        assert fund.name == persona.name
        assert re.fullmatch(r"3301\d{8}", fund.account_number)
        assert fund.employer_name == pension.employer_name != ""
        assert fund.monthly_deposit == pension.monthly_base * Decimal("0.24")
        assert fund.balance > 0
    staff = SocialInsuranceRecord.objects.get(id_number=persona_get("ga_clerk").id_number)
    assert (staff.insurance_type, staff.employer_name) == (
        "机关事业单位基本养老保险",
        "杭州市公安局西湖区分局",
    )


@pytest.mark.django_db
def test_every_registry_resident_has_a_household_entry_and_medical_insurance(loaded):
    ids = {r.id_number for r in registry_residents()}

    assert (
        set(HouseholdMember.objects.filter(id_number__in=ids).values_list("id_number", flat=True))
        == ids
    )
    assert (
        set(
            MedicalInsuranceRecord.objects.filter(id_number__in=ids).values_list(
                "id_number", flat=True
            )
        )
        == ids
    )
    student = MedicalInsuranceRecord.objects.get(
        id_number=persona_get("unverified_citizen").id_number
    )
    assert (student.scheme, student.personal_account_balance) == ("resident", Decimal("0.00"))
    assert not SocialInsuranceRecord.objects.filter(id_number=student.id_number).exists()


@pytest.mark.django_db
def test_department_records_belong_to_living_registered_residents_at_their_address(loaded):
    population = {r.id_number: r for r in PopulationRecord.objects.all()}
    living = {i for i, r in population.items() if r.status == PopulationRecord.Status.NORMAL}
    on_register = living | {DECEASED_FATHER.id_number}

    assert set(HouseholdMember.objects.values_list("id_number", flat=True)) == on_register
    assert set(MedicalInsuranceRecord.objects.values_list("id_number", flat=True)) == on_register
    for entry in HouseholdMember.objects.all():
        record = population[entry.id_number]
        assert (entry.name, entry.address, entry.region_code) == (
            record.name,
            record.household_address,
            record.household_region_code,
        )
        assert entry.registered_on >= record.birth_date
        assert re.fullmatch(rf"{entry.region_code.ljust(9, '0')}\d{{3}}", entry.household_number)
    for model in (SocialInsuranceRecord, HousingFundAccount):
        assert set(model.objects.values_list("id_number", flat=True)) <= on_register
    for marriage in MarriageRecord.objects.all():
        man = population[marriage.party_a_id_number]
        woman = population[marriage.party_b_id_number]
        assert (man.gender, woman.gender) == ("M", "F")
        assert (man.name, woman.name) == (marriage.party_a_name, marriage.party_b_name)
    for id_number in on_register:
        assert ric.is_valid(id_number)


@pytest.mark.django_db
def test_the_registries_hold_the_department_records(loaded):
    assert [getattr(loaded, name).created for name in DEPARTMENT_RECORDS] == [
        204,  # 26 hand-written residents and the 178 extra ones alive and registered here
        16,
        1,
        150,
        204,
        71,
    ]
    assert HouseholdMember.objects.values("household_number").distinct().count() == 202
    assert MarriageRecord.objects.filter(status=MarriageRecord.Status.DIVORCED).count() == 1
    assert ("户籍 Household register", "204", "204", "0") in loaded.rows()
    assert ("出生医学证明 Birth medical records", "1", "1", "0") in loaded.rows()


@pytest.mark.django_db
def test_loading_twice_changes_no_department_record(loaded):
    before = _snapshot()

    summary = demo_load()

    assert not summary.changed
    assert [getattr(summary, name).unchanged for name in DEPARTMENT_RECORDS] == [
        204,
        16,
        1,
        150,
        204,
        71,
    ]
    assert _snapshot() == before


@pytest.mark.django_db
def test_loading_again_restores_an_edited_department_record(loaded):
    persona = persona_get("expectant_mother")
    HouseholdMember.objects.filter(id_number=persona.id_number).update(relationship_to_head="户主")

    summary = demo_load()

    assert (summary.household_register.updated, summary.household_register.unchanged) == (1, 203)
    assert HouseholdMember.objects.get(id_number=persona.id_number).relationship_to_head == "配偶"
