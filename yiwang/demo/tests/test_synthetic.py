from __future__ import annotations

import datetime
import random
import re
from collections import Counter

import pytest
from stdnum.cn import ric, uscc

from yiwang.core.identifiers import (
    organisation_code_build,
    organisation_code_check_char,
    resident_id_with_check_digit,
)
from yiwang.core.validators import mobile_parse, person_name_parse
from yiwang.demo import synthetic
from yiwang.demo.synthetic import (
    HANGZHOU_COUNTIES,
    ID_COUNTY_CODES,
    Township,
    address_generate,
    legal_persons_generate,
    mobile_generate,
    person_name_generate,
    resident_id_generate,
    residents_generate,
    uscc_build,
    uscc_generate,
)

REFERENCE = datetime.date(2026, 1, 1)


# --- Organisation codes (GB 11714) and credit codes (GB 32100) -------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        # D=13: 13·3 + 2·7 + 1·9 + 4·10 + 3·5 + 5·8 + 6·4 + 9·2 = 199; 199 mod 11 = 1; 11-1 = 10 → X
        ("D2143569", "X"),
        # 1·3 + 2·7 + 3·9 + 4·10 + 5·5 + 6·8 + 7·4 + 8·2 = 201; 201 mod 11 = 3; 11-3 = 8
        ("12345678", "8"),
        # sum 0; 0 mod 11 = 0; 11-0 = 11 → 0
        ("00000000", "0"),
        # M=22 A=10 G=16 J=19 L=21: 66+70+18+160+95+56+84+8 = 557; 557 mod 11 = 7; 11-7 = 4
        ("MA2GJ7L4", "4"),
        # 7·3 + 2·9 = 39 (the rest are 0); 39 mod 11 = 6; 11-6 = 5
        ("70200000", "5"),
    ],
)
def test_organisation_code_check_char_matches_hand_computed_examples(body, check):
    assert organisation_code_check_char(body) == check
    assert organisation_code_build(body) == body + check


@pytest.mark.parametrize("body", ["1234567", "123456789", "abcdefgh", "1234-567"])
def test_organisation_code_check_char_rejects_a_malformed_body(body):
    with pytest.raises(ValueError, match="organisation code body"):
        organisation_code_check_char(body)


def test_uscc_build_puts_the_parts_in_order_and_appends_a_valid_check_char():
    code = uscc_build(prefix="91", region_code="330106", organisation_code="MA2GJ7L44")

    assert code[:17] == "91330106MA2GJ7L44"
    assert uscc.is_valid(code)


def test_uscc_build_refuses_letters_a_credit_code_may_not_contain():
    with pytest.raises(ValueError, match="may not contain"):
        uscc_build(prefix="91", region_code="330106", organisation_code="MA2GJ7LO4")


@pytest.mark.parametrize(
    ("prefix", "new_style"), [("91", True), ("91", False), ("92", True), ("11", False)]
)
def test_generated_usccs_are_valid_with_a_valid_organisation_code(prefix, new_style):
    rng = random.Random(7)
    for _ in range(300):
        code = uscc_generate(rng, region_code="330106", prefix=prefix, new_style=new_style)

        assert uscc.is_valid(code), code
        assert code[:8] == f"{prefix}330106"
        organisation_code = code[8:17]
        assert organisation_code[8] == organisation_code_check_char(organisation_code[:8])
        if prefix == "11":
            assert organisation_code.startswith("00")
        elif new_style:
            assert organisation_code.startswith("MA")
        else:
            assert organisation_code[:8].isdigit()


# --- Resident ID numbers ----------------------------------------------------------------


@pytest.mark.parametrize("male", [True, False])
def test_generated_resident_ids_are_valid_with_the_gender_in_the_sequence_parity(male):
    rng = random.Random(11)
    for _ in range(1000):
        birth = synthetic.birth_date_generate(rng, reference=REFERENCE, min_age=0, max_age=95)
        county = rng.choice(synthetic.id_county_codes_valid_in(birth.year))

        number = resident_id_generate(rng, county_code=county, birth_date=birth, male=male)

        assert ric.is_valid(number), number
        assert number[:6] == county
        assert ric.get_birth_date(number) == birth
        assert (int(number[16]) % 2 == 1) is male


@pytest.mark.parametrize(
    ("county", "year", "valid"),
    [
        ("330106", 1983, True),  # 西湖区 [1983-]
        ("330106", 1982, False),
        ("330103", 2021, True),  # 下城区 [1983-2021]
        ("330103", 2022, False),
        ("330125", 1966, True),  # 余杭县 [-1994]
        ("330110", 2000, False),  # 余杭区 [2001-]
        ("330122", 1930, True),  # 桐庐县, never changed
    ],
)
def test_id_county_codes_are_used_only_for_birth_years_they_were_assigned_in(county, year, valid):
    assert synthetic.id_county_code_valid_in(county, year) is valid
    # python-stdnum judges the same way.
    number = resident_id_with_check_digit(f"{county}{year}0101001")
    assert ric.is_valid(number) is valid


def test_resident_id_generate_refuses_a_county_code_not_assigned_in_the_birth_year():
    with pytest.raises(ValueError, match="1970"):
        resident_id_generate(
            random.Random(1), county_code="330108", birth_date=datetime.date(1970, 1, 1), male=True
        )


def test_birth_dates_give_the_asked_ages_on_the_reference_date():
    rng = random.Random(3)
    for _ in range(500):
        birth = synthetic.birth_date_generate(rng, reference=REFERENCE, min_age=18, max_age=30)
        age = (
            REFERENCE.year
            - birth.year
            - ((REFERENCE.month, REFERENCE.day) < (birth.month, birth.day))
        )

        assert 18 <= age <= 31


# --- Phones, names, addresses --------------------------------------------------------


def test_mobile_numbers_are_mainland_numbers_outside_the_persona_range():
    rng = random.Random(5)
    for _ in range(1000):
        number = mobile_generate(rng)

        assert mobile_parse(number) == number
        assert not number.startswith("1380000")


def test_names_are_valid_and_two_or_three_characters():
    rng = random.Random(9)
    for male in (True, False):
        for _ in range(500):
            name = person_name_generate(rng, male=male)

            assert person_name_parse(name) == name
            assert 2 <= len(name) <= 3
            assert name[0] in synthetic.SURNAMES


def test_an_address_names_a_given_township_and_its_code():
    townships = [Township("330106011", "转塘街道"), Township("330106012", "蒋村街道")]

    code, address = address_generate(random.Random(1), county_code="330106", townships=townships)

    township = next(t for t in townships if t.code == code)
    assert address.startswith(f"浙江省杭州市西湖区{township.name}")
    assert re.search(r"\d+幢\d单元\d+室$", address)


def test_without_townships_an_address_is_in_the_county():
    code, address = address_generate(random.Random(1), county_code="330108")

    assert code == "330108"
    assert address.startswith("浙江省杭州市滨江区")


# --- Residents and legal persons ----------------------------------------------------


def _residents(seed: int = 1, count: int = 300):
    return residents_generate(random.Random(seed), count=count, reference=REFERENCE)


def test_residents_are_the_same_for_the_same_seed_and_differ_for_another():
    assert _residents(1) == _residents(1)
    assert _residents(1) != _residents(2)


def test_residents_are_consistent_with_their_id_numbers():
    residents = _residents()

    assert len({r.id_number for r in residents}) == 300
    for resident in residents:
        assert ric.is_valid(resident.id_number)
        assert ric.get_birth_date(resident.id_number) == resident.birth_date
        assert (int(resident.id_number[16]) % 2 == 1) is (resident.gender == "M")
        assert person_name_parse(resident.name) == resident.name
        id_county = resident.id_number[:6]
        household_county = resident.household_region_code[:6]
        assert id_county in ID_COUNTY_CODES
        assert synthetic.id_county_code_valid_in(id_county, resident.birth_date.year)
        assert household_county in HANGZHOU_COUNTIES
        assert resident.household_address.startswith(
            f"浙江省杭州市{HANGZHOU_COUNTIES[household_county]}"
        )
        if resident.status == "deceased":
            assert resident.birth_date < resident.death_date < REFERENCE
        else:
            assert resident.death_date is None


def test_residents_include_a_few_deceased_and_avoid_excluded_numbers():
    first = _residents(count=50)
    excluded = frozenset(r.id_number for r in first)

    residents = residents_generate(
        random.Random(1), count=300, reference=REFERENCE, exclude_id_numbers=excluded
    )

    statuses = Counter(r.status for r in residents)
    assert 3 <= statuses["deceased"] <= 60
    assert statuses["normal"] >= 230
    assert not excluded & {r.id_number for r in residents}


def test_residents_live_in_the_given_townships():
    townships = {"330106": [Township("330106011", "转塘街道")]}

    residents = residents_generate(
        random.Random(4), count=200, reference=REFERENCE, townships_by_county=townships
    )

    in_xihu = [r for r in residents if r.household_region_code.startswith("330106")]
    assert in_xihu
    assert all(r.household_region_code == "330106011" for r in in_xihu)
    assert all("西湖区转塘街道" in r.household_address for r in in_xihu)


def test_legal_persons_are_a_realistic_mix_with_one_revoked_and_one_deregistered():
    residents = _residents()

    records = legal_persons_generate(
        random.Random(2), representatives=residents, reference=REFERENCE
    )

    assert len(records) == 20
    assert Counter(r.entity_type for r in records) == {
        synthetic.LLC: 10,
        synthetic.LLC_SOLE: 3,
        synthetic.JOINT_STOCK: 2,
        synthetic.INDIVIDUAL_BUSINESS: 5,
    }
    assert Counter(r.status for r in records) == {"active": 18, "revoked": 1, "deregistered": 1}
    assert len({r.uscc for r in records}) == len({r.name for r in records}) == 20
    by_id = {r.id_number: r for r in residents}
    for record in records:
        assert uscc.is_valid(record.uscc)
        prefix = "92" if record.entity_type == synthetic.INDIVIDUAL_BUSINESS else "91"
        assert record.uscc[:8] == prefix + record.region_code
        representative = by_id[record.legal_representative_id_number]
        assert representative.name == record.legal_representative_name
        assert representative.status == "normal"
        assert (REFERENCE - representative.birth_date).days >= 22 * 365
        assert record.established_on < REFERENCE
        assert record.business_scope.startswith("一般项目：")
        if record.entity_type == synthetic.INDIVIDUAL_BUSINESS:
            assert record.name.startswith("杭州市")
        else:
            assert record.name.endswith("有限公司")
