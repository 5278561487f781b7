from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from yiwang.core.identifiers import resident_id_with_check_digit, uscc_with_check_digit
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


def resident_id(
    sequence: int, *, region: str = "330106", birth: str = "19950312", male: bool = True
) -> str:
    """A valid synthetic resident ID number; the sequence parity follows the gender."""
    serial = (sequence * 2 + (1 if male else 0)) % 1000
    return resident_id_with_check_digit(f"{region}{birth}{serial:03d}")


def organisation_uscc(sequence: int, *, region: str = "330106") -> str:
    # The 9-character organisation code body only needs to be well-formed for the USCC check.
    return uscc_with_check_digit(f"91{region}MA{sequence:07d}"[:17])


class PopulationRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PopulationRecord

    id_number = factory.Sequence(lambda n: resident_id(n))
    name = factory.Sequence(
        lambda n: f"测试{'甲乙丙丁戊己庚辛壬癸'[n % 10]}{'一二三四五六七八九十'[(n // 10) % 10]}"
    )
    gender = PopulationRecord.Gender.MALE
    birth_date = datetime.date(1995, 3, 12)
    household_region_code = "330106"
    household_address = "浙江省杭州市西湖区文新街道文一西路1号"


class LegalPersonRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalPersonRecord

    uscc = factory.Sequence(lambda n: organisation_uscc(n))
    name = factory.Sequence(lambda n: f"杭州测试科技有限公司{n}")
    entity_type = "有限责任公司（自然人投资或控股）"
    legal_representative_name = "测试甲"
    legal_representative_id_number = factory.Sequence(lambda n: resident_id(n))
    registered_capital = "100万元人民币"
    established_on = datetime.date(2020, 5, 18)
    region_code = "330106"
    address = "浙江省杭州市西湖区转塘街道双流路1号"
    registration_authority = "杭州市西湖区市场监督管理局"


class HouseholdMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HouseholdMember

    id_number = factory.Sequence(lambda n: resident_id(n))
    name = factory.Sequence(lambda n: f"户主{'甲乙丙丁戊己庚辛壬癸'[n % 10]}")
    # Each entry heads its own household unless told otherwise.
    household_number = factory.Sequence(lambda n: f"330106012{n % 1000:03d}")
    relationship_to_head = "户主"
    head_id_number = factory.SelfAttribute("id_number")
    household_type = "家庭户"
    region_code = "330106012"
    address = "浙江省杭州市西湖区蒋村街道测试家园1幢1单元101室"
    registered_on = datetime.date(2015, 6, 1)


class MarriageRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarriageRecord

    certificate_number = factory.Sequence(lambda n: f"J330106-2025-{n % 999999 + 1:06d}")
    party_a_id_number = factory.Sequence(lambda n: resident_id(n, birth="19930506"))
    party_a_name = "测试男"
    party_b_id_number = factory.Sequence(lambda n: resident_id(n, birth="19950817", male=False))
    party_b_name = "测试女"
    registered_on = datetime.date(2025, 5, 20)
    registration_authority = "杭州市西湖区民政局婚姻登记处"
    status = MarriageRecord.Status.MARRIED


class BirthMedicalRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BirthMedicalRecord

    # A letter and nine digits, as printed on the certificate.
    certificate_number = factory.Sequence(lambda n: f"Q33{n % 10**7:07d}")
    child_name = "测试宝"
    child_gender = PopulationRecord.Gender.FEMALE
    birth_at = datetime.datetime(2026, 1, 5, 8, 36, tzinfo=ZoneInfo("Asia/Shanghai"))
    birth_weight_g = 3350
    birth_region_code = "330102003"
    birth_place = "浙江省杭州市上城区"
    gestational_weeks = 39
    institution = "浙江大学医学院附属妇产科医院"
    mother_id_number = factory.Sequence(lambda n: resident_id(n, birth="19970708", male=False))
    mother_name = "测试母"
    father_id_number = factory.Sequence(lambda n: resident_id(n, birth="19950312"))
    father_name = "测试父"
    issued_on = datetime.date(2026, 1, 8)


class SocialInsuranceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialInsuranceRecord

    id_number = factory.Sequence(lambda n: resident_id(n))
    name = factory.Sequence(lambda n: f"参保{'甲乙丙丁戊己庚辛壬癸'[n % 10]}")
    social_security_number = factory.SelfAttribute("id_number")
    insurance_type = "企业职工基本养老保险"
    employer_uscc = factory.Sequence(lambda n: organisation_uscc(n))
    employer_name = factory.Sequence(lambda n: f"杭州测试科技有限公司{n}")
    first_contribution_on = datetime.date(2017, 7, 1)
    contribution_months = 102
    monthly_base = Decimal("12000.00")
    status = SocialInsuranceRecord.Status.CONTRIBUTING
    card_number = factory.Sequence(lambda n: f"A{n % 10**8:08d}")


class MedicalInsuranceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MedicalInsuranceRecord

    id_number = factory.Sequence(lambda n: resident_id(n))
    name = factory.Sequence(lambda n: f"参保{'甲乙丙丁戊己庚辛壬癸'[n % 10]}")
    scheme = MedicalInsuranceRecord.Scheme.EMPLOYEE
    insured_region_code = "330106"
    enrolled_on = datetime.date(2017, 7, 1)
    status = MedicalInsuranceRecord.Status.ACTIVE
    personal_account_balance = Decimal("3128.75")
    critical_illness_covered = True


class HousingFundAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HousingFundAccount

    id_number = factory.Sequence(lambda n: resident_id(n))
    name = factory.Sequence(lambda n: f"缴存{'甲乙丙丁戊己庚辛壬癸'[n % 10]}")
    account_number = factory.Sequence(lambda n: f"3301{n % 10**8:08d}")
    employer_name = factory.Sequence(lambda n: f"杭州测试科技有限公司{n}")
    opened_on = datetime.date(2017, 7, 1)
    monthly_deposit = Decimal("2880.00")  # 24% of a 12 000 yuan base
    balance = Decimal("61275.20")
    status = HousingFundAccount.Status.ACTIVE
