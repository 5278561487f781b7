from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from django.contrib.auth.password_validation import validate_password
from stdnum.cn import ric, uscc

from yiwang.core.identifiers import organisation_code_check_char
from yiwang.core.validators import mobile_parse, person_name_parse
from yiwang.demo.departments import DEPARTMENTS, KIND_CODES
from yiwang.demo.personas import (
    COMPANY,
    DECEASED_FATHER,
    DEMO_PASSWORD,
    PERSONAS,
    UNCLAIMED_RESIDENTS,
    registry_residents,
)
from yiwang.identity.models import AssuranceLevel, Department, StaffRole, User


def test_the_demo_password_passes_the_password_validators():
    for persona in PERSONAS:
        validate_password(DEMO_PASSWORD, user=User(phone=persona.phone))


def test_persona_phones_are_distinct_and_in_the_138_0000_00xx_range():
    phones = [p.phone for p in PERSONAS]

    assert len(set(phones)) == len(phones) == 22
    for phone in phones:
        assert mobile_parse(phone) == phone
        assert re.fullmatch(r"1380000\d{4}", phone)
        assert phone.startswith("13800000")


def test_every_registry_resident_has_a_valid_id_matching_gender_and_birth_date():
    residents = registry_residents()

    assert len({r.id_number for r in residents}) == len(residents) == 26
    for resident in residents:
        assert ric.is_valid(resident.id_number)
        assert ric.get_birth_date(resident.id_number) == resident.birth_date
        assert (int(resident.id_number[16]) % 2 == 1) is (resident.gender == "M")
        assert person_name_parse(resident.name) == resident.name
        assert resident.household_region_code.startswith("3301")
        assert len(resident.household_region_code) == 9


def test_the_personas_cover_the_required_roles():
    levels = Counter(p.level for p in PERSONAS)
    roles = Counter(role for p in PERSONAS for _code, role in p.staff_roles)
    staff_departments = {code for p in PERSONAS for code, _role in p.staff_roles}

    assert levels == {AssuranceLevel.L1: 1, AssuranceLevel.L2: 20, AssuranceLevel.L3: 1}
    assert roles == {
        StaffRole.Role.CLERK: 4,
        StaffRole.Role.REVIEWER: 4,
        StaffRole.Role.APPROVER: 4,
        StaffRole.Role.DEPARTMENT_ADMIN: 1,
        StaffRole.Role.DATA_OFFICER: 2,
    }
    assert staff_departments == {
        "330106-GA",
        "330106-WJ",
        "330106-RS",
        "330106-YB",
        "330100-GA",
    }
    assert [p.key for p in PERSONAS if p.platform_admin] == ["admin"]
    worker = next(p for p in PERSONAS if p.key == "retiring_worker")
    assert worker.resident.birth_date.year == 1966
    assert worker.resident.gender == "M"


def test_the_young_couple_are_each_others_spouse_and_share_a_home():
    father = next(p for p in PERSONAS if p.key == "expectant_father")
    mother = next(p for p in PERSONAS if p.key == "expectant_mother")

    assert (father.spouse, mother.spouse) == ("expectant_mother", "expectant_father")
    assert father.resident.household_address == mother.resident.household_address


def test_the_deceased_father_has_the_bereaved_childs_surname_and_no_persona():
    child = next(p for p in PERSONAS if p.key == "bereaved_child")

    assert child.relatives[0].resident == DECEASED_FATHER
    assert DECEASED_FATHER.died_days_before_load == 4
    assert DECEASED_FATHER.name[0] == child.name[0]
    assert DECEASED_FATHER.id_number not in {p.id_number for p in PERSONAS}


def test_the_company_has_a_valid_credit_code_and_persona_representative_and_agent():
    assert uscc.is_valid(COMPANY.uscc)
    assert COMPANY.uscc.startswith("91330106MA")
    assert COMPANY.uscc[16] == organisation_code_check_char(COMPANY.uscc[8:16])
    assert COMPANY.representative == "business_owner"
    assert COMPANY.agents == ("business_agent",)
    assert COMPANY.name.endswith("有限公司")


def test_unclaimed_residents_belong_to_no_persona():
    assert len(UNCLAIMED_RESIDENTS) == 3
    assert not {r.id_number for r in UNCLAIMED_RESIDENTS} & {p.id_number for p in PERSONAS}


def test_departments_are_the_full_set_for_hangzhou_and_xihu():
    assert len(DEPARTMENTS) == 26
    for region_code in ("330100", "330106"):
        kinds = {d.kind for d in DEPARTMENTS if d.region_code == region_code}
        assert kinds == set(Department.Kind.values)
    assert len({d.code for d in DEPARTMENTS}) == len({d.name for d in DEPARTMENTS}) == 26
    assert len({d.uscc for d in DEPARTMENTS}) == 26
    for department in DEPARTMENTS:
        assert department.code == f"{department.region_code}-{KIND_CODES[department.kind]}"
        assert uscc.is_valid(department.uscc)
        assert department.uscc[:8] == f"11{department.region_code}"
        assert department.uscc[16] == organisation_code_check_char(department.uscc[8:16])
        assert department.name.startswith(("杭州", "国家税务总局杭州市"))
    names = {d.code: d.name for d in DEPARTMENTS}
    assert names["330100-GA"] == "杭州市公安局"
    assert names["330106-MZ"] == "杭州市西湖区民政局"
    assert names["330106-SW"] == "国家税务总局杭州市西湖区税务局"
    assert names["330100-GJJ"] == "杭州住房公积金管理中心"


def test_the_readme_lists_every_persona_and_the_password():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")

    assert f"`{DEMO_PASSWORD}`" in readme
    for persona in PERSONAS:
        assert persona.name in readme, persona.key
    for resident in UNCLAIMED_RESIDENTS:
        assert resident.name in readme
