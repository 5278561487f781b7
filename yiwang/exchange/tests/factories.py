from __future__ import annotations

import datetime

import factory

from yiwang.core.identifiers import resident_id_with_check_digit, uscc_with_check_digit
from yiwang.exchange.models import LegalPersonRecord, PopulationRecord


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
