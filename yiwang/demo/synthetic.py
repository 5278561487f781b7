"""Generators of synthetic but valid demo data: people, identifiers, addresses, companies.

Everything is drawn from a ``random.Random`` the caller seeds, so the same seed always
gives the same records. Names are random combinations of common characters and never
describe real people; identifiers are well-formed (check characters computed) but made up.
This module is pure Python: it touches no database.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from yiwang.core.identifiers import (
    USCC_ALPHABET,
    organisation_code_build,
    resident_id_with_check_digit,
    uscc_with_check_digit,
)

# Districts of Hangzhou where the demo's residents live (household registration).
HANGZHOU_COUNTIES: Mapping[str, str] = {
    "330102": "上城区",
    "330105": "拱墅区",
    "330106": "西湖区",
    "330108": "滨江区",
    "330110": "余杭区",
}
# Codes a Hangzhou resident's ID number may start with: the county where the number was
# first issued, which it keeps for life, so a person born in 余杭县 in 1966 still carries
# 330125 though the county became a city district long ago. Each code is used only for
# birth years in which it was assigned (GB/T 2260 history, inclusive, None = open), which
# is also what python-stdnum's ``cn.ric`` checks.
ID_COUNTY_CODES: Mapping[str, tuple[str, int | None, int | None]] = {
    "330102": ("上城区", 1983, None),
    "330103": ("下城区", 1983, 2021),
    "330104": ("江干区", 1983, 2021),
    "330105": ("拱墅区", 1983, None),
    "330106": ("西湖区", 1983, None),
    "330108": ("滨江区", 1996, None),
    "330109": ("萧山区", 2001, None),
    "330110": ("余杭区", 2001, None),
    "330120": ("杭州市市区", None, 1983),
    "330121": ("萧山县", None, 1987),
    "330122": ("桐庐县", None, None),
    "330123": ("富阳县", None, 1994),
    "330125": ("余杭县", None, 1994),
    "330127": ("淳安县", None, None),
    "330181": ("萧山市", 1989, 2001),
    "330183": ("富阳市", 1994, 2014),
    "330184": ("余杭市", 1994, 2001),
}
CITY_PREFIX = "浙江省杭州市"

# Common surnames (roughly by frequency) and characters of given names.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严戴莫孔向汤楼应俞章"
)
GIVEN_MALE = "伟强磊军洋勇杰涛明超斌浩鹏辉宇航俊峰凯文博建国华志刚彬晨睿哲轩铭"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞婷雪琳颖慧倩洁晶佳欣怡萱诗雯瑶露琪梦媛馨蕾"
GIVEN_EITHER = "子晓一思嘉雨心梓宁安天若亦云清"
ETHNICITIES = ("汉族",) * 96 + ("畲族", "回族", "满族", "土家族")

# Mobile number segments of the three carriers (first three digits).
_MOBILE_SEGMENTS = (*range(130, 138), 139, *range(150, 154), *range(155, 160), 166, 173)
MOBILE_PREFIXES = tuple(
    str(segment) for segment in (*_MOBILE_SEGMENTS, *range(175, 179), *range(180, 190), 191, 199)
)

# USCC prefixes: registration authority + entity type (GB 32100 table 1 and 2).
USCC_ENTERPRISE = "91"  # market regulation, enterprise
USCC_INDIVIDUAL_BUSINESS = "92"  # market regulation, individual business (个体工商户)
USCC_GOVERNMENT = "11"  # establishment authority (编办), government body

_COMPOUND_FIRST = "翠金绿银锦碧丽望景枫桂荷兰梅竹松柏云溪湖港园嘉华新和瑞"
_COMPOUND_SECOND = "苑园庭轩府居湾里坊"
_COMPOUND_SUFFIX = ("家园", "花园", "小区", "新村", "公寓", "")
_TRADE_NAME_CHARS = "澜栖岚禾朗拓睿衡筑启弈杉曜泓沐谦峤渡汐岫榕棠屿蔚翊恒昇骁"
_LLC_INDUSTRIES: Sequence[tuple[str, str]] = (
    ("网络科技", "技术服务、技术开发、技术咨询；软件开发；网络技术服务；信息系统集成服务"),
    ("数字科技", "技术服务、技术开发；数据处理服务；人工智能应用软件开发"),
    ("餐饮管理", "餐饮管理；餐饮服务（凭许可证经营）；食品销售（仅销售预包装食品）"),
    ("文化传媒", "组织文化艺术交流活动；广告设计、代理；会议及展览服务"),
    ("贸易", "日用百货销售；服装服饰批发；五金产品零售；货物进出口"),
    ("建筑装饰工程", "住宅室内装饰装修；建筑装饰材料销售；园林绿化工程施工"),
    ("教育咨询", "教育咨询服务（不含涉许可审批的教育培训活动）；会议及展览服务"),
    ("生物科技", "生物技术推广服务；医学研究和试验发展；第一类医疗器械销售"),
    ("物业管理", "物业管理；停车场服务；家政服务"),
    ("电子商务", "互联网销售（除销售需要许可的商品）；供应链管理服务"),
)
_INDIVIDUAL_SHOPS: Sequence[tuple[str, str]] = (
    ("面馆", "餐饮服务（凭许可证经营）"),
    ("小吃店", "餐饮服务（凭许可证经营）；食品小作坊经营"),
    ("便利店", "食品销售；日用百货销售；烟草制品零售（凭许可证经营）"),
    ("水果店", "食用农产品零售"),
    ("五金店", "五金产品零售；电线、电缆经营"),
    ("理发店", "理发服务"),
)
_SAC_SUFFIXES = ("智能", "环保", "新材料", "医疗器械")


# ---------------------------------------------------------------------------------------
# Identifiers


def id_county_code_valid_in(code: str, year: int) -> bool:
    """Whether ``code`` was assigned in ``year``; codes outside Hangzhou are not judged."""
    if code not in ID_COUNTY_CODES:
        return True
    _name, start, end = ID_COUNTY_CODES[code]
    return (start is None or year >= start) and (end is None or year <= end)


def id_county_codes_valid_in(year: int) -> list[str]:
    return [code for code in ID_COUNTY_CODES if id_county_code_valid_in(code, year)]


def resident_id_generate(
    rng: random.Random, *, county_code: str, birth_date: datetime.date, male: bool
) -> str:
    """A resident ID number (GB 11643) whose sequence parity matches the gender."""
    if not id_county_code_valid_in(county_code, birth_date.year):
        raise ValueError(f"no ID number born in {birth_date.year} starts with {county_code}")
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    return resident_id_with_check_digit(f"{county_code}{birth_date:%Y%m%d}{sequence:03d}")


def organisation_code_generate(rng: random.Random, *, new_style: bool = True) -> str:
    """A 9-character organisation code.

    Codes assigned since the credit-code reform (2015) by market regulation start with
    ``MA``; older ones are all digits.
    """
    if new_style:
        body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    return organisation_code_build(body)


def uscc_build(*, prefix: str, region_code: str, organisation_code: str) -> str:
    """A unified social credit code (GB 32100) from its parts and its check character.

    ``prefix`` is the registration authority and entity type (``91`` enterprise, ``92``
    individual business, ``11`` government body).
    """
    if len(prefix) != 2 or len(region_code) != 6 or len(organisation_code) != 9:
        raise ValueError("a USCC is a 2-character prefix, 6-digit region and 9-character org code")
    if any(c not in USCC_ALPHABET for c in organisation_code):
        raise ValueError(f"{organisation_code!r} has characters a credit code may not contain")
    return uscc_with_check_digit(f"{prefix}{region_code}{organisation_code}")


def uscc_generate(
    rng: random.Random, *, region_code: str, prefix: str = USCC_ENTERPRISE, new_style: bool = True
) -> str:
    if prefix == USCC_GOVERNMENT:
        # Government bodies kept the organisation codes assigned to them long ago.
        body = "00" + "".join(rng.choice("0123456789") for _ in range(6))
        organisation_code = organisation_code_build(body)
    else:
        organisation_code = organisation_code_generate(rng, new_style=new_style)
    return uscc_build(prefix=prefix, region_code=region_code, organisation_code=organisation_code)


def mobile_generate(rng: random.Random) -> str:
    """A mainland mobile number outside the 138 0000 00xx range the personas use."""
    while True:
        number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if not number.startswith("1380000"):
            return number


# ---------------------------------------------------------------------------------------
# People and places


def person_name_generate(rng: random.Random, *, male: bool) -> str:
    """A plausible name: a common surname and one or two given-name characters."""
    given_chars = (GIVEN_MALE if male else GIVEN_FEMALE) + GIVEN_EITHER
    surname = rng.choice(SURNAMES)
    if rng.random() < 0.25:
        return surname + rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    first = rng.choice(given_chars)
    second = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    while second == first:
        second = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    return surname + first + second


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def birth_date_generate(
    rng: random.Random, *, reference: datetime.date, min_age: int, max_age: int
) -> datetime.date:
    """A birth date that makes the person ``min_age``..``max_age`` years old on ``reference``."""
    latest = _years_before(reference, min_age)
    earliest = datetime.date(reference.year - max_age - 1, reference.month, 1)
    return earliest + datetime.timedelta(days=rng.randrange((latest - earliest).days + 1))


@dataclass(frozen=True)
class Township:
    code: str
    name: str


def address_generate(
    rng: random.Random, *, county_code: str, townships: Sequence[Township] = ()
) -> tuple[str, str]:
    """A home address in ``county_code``: the region code it lies in and its text.

    The township (street) is a real one when ``townships`` are given; the residential
    compound and the building numbers are made up.
    """
    county = HANGZHOU_COUNTIES[county_code]
    compound = (
        rng.choice(_COMPOUND_FIRST) + rng.choice(_COMPOUND_FIRST) + rng.choice(_COMPOUND_SECOND)
    )
    compound += rng.choice(_COMPOUND_SUFFIX)
    building, entrance = rng.randint(1, 30), rng.randint(1, 4)
    unit = f"{building}幢{entrance}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
    if townships:
        township = rng.choice(townships)
        return township.code, f"{CITY_PREFIX}{county}{township.name}{compound}{unit}"
    return county_code, f"{CITY_PREFIX}{county}{compound}{unit}"


@dataclass(frozen=True)
class SyntheticResident:
    """A population registry record (fields as in ``exchange.PopulationRecord``)."""

    id_number: str
    name: str
    gender: str  # "M" or "F"
    birth_date: datetime.date
    ethnicity: str
    household_region_code: str
    household_address: str
    status: str = "normal"  # normal, deceased or cancelled
    death_date: datetime.date | None = None

    @property
    def is_male(self) -> bool:
        return self.gender == "M"


def residents_generate(
    rng: random.Random,
    *,
    count: int,
    reference: datetime.date,
    townships_by_county: Mapping[str, Sequence[Township]] | None = None,
    exclude_id_numbers: frozenset[str] = frozenset(),
) -> list[SyntheticResident]:
    """``count`` residents of Hangzhou of all ages; a few are deceased or moved away."""
    townships_by_county = townships_by_county or {}
    residents: list[SyntheticResident] = []
    seen = set(exclude_id_numbers)
    while len(residents) < count:
        male = rng.random() < 0.5
        birth_date = birth_date_generate(rng, reference=reference, min_age=0, max_age=92)
        household_county = rng.choice(list(HANGZHOU_COUNTIES))
        id_county = household_county
        if not id_county_code_valid_in(id_county, birth_date.year) or rng.random() < 0.25:
            # First registered elsewhere in Hangzhou, maybe in a county since abolished.
            id_county = rng.choice(id_county_codes_valid_in(birth_date.year))
        id_number = resident_id_generate(
            rng, county_code=id_county, birth_date=birth_date, male=male
        )
        name = person_name_generate(rng, male=male)
        region_code, address = address_generate(
            rng,
            county_code=household_county,
            townships=townships_by_county.get(household_county, ()),
        )
        ethnicity = rng.choice(ETHNICITIES)
        status, death_date = "normal", None
        age = reference.year - birth_date.year
        roll = rng.random()
        if age >= 30 and roll < (0.25 if age >= 75 else 0.02):
            status = "deceased"
            # Died within the last ten years, after turning twenty.
            days_as_adult = (reference - birth_date).days - 20 * 366
            death_date = reference - datetime.timedelta(
                days=rng.randint(1, min(days_as_adult, 3650))
            )
        elif roll > 0.985:
            status = "cancelled"  # moved the household registration out of the city
        if id_number in seen:
            continue
        seen.add(id_number)
        residents.append(
            SyntheticResident(
                id_number=id_number,
                name=name,
                gender="M" if male else "F",
                birth_date=birth_date,
                ethnicity=ethnicity,
                household_region_code=region_code,
                household_address=address,
                status=status,
                death_date=death_date,
            )
        )
    return residents


# ---------------------------------------------------------------------------------------
# Legal persons


@dataclass(frozen=True)
class SyntheticLegalPerson:
    """A legal-person registry record (fields as in ``exchange.LegalPersonRecord``)."""

    uscc: str
    name: str
    entity_type: str
    legal_representative_name: str
    legal_representative_id_number: str
    registered_capital: str
    established_on: datetime.date
    region_code: str
    address: str
    business_scope: str
    registration_authority: str
    status: str = "active"  # active, revoked or deregistered


LLC = "有限责任公司（自然人投资或控股）"
LLC_SOLE = "有限责任公司（自然人独资）"
JOINT_STOCK = "股份有限公司（非上市、自然人投资或控股）"
INDIVIDUAL_BUSINESS = "个体工商户"
SCOPE_CLOSING = "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"


def _trade_name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = rng.choice(_TRADE_NAME_CHARS) + rng.choice(_TRADE_NAME_CHARS)
        if name[0] != name[1] and name not in used:
            used.add(name)
            return name


def _business_address(rng: random.Random, county_code: str, townships: Sequence[Township]) -> str:
    county = HANGZHOU_COUNTIES[county_code]
    place = rng.choice(("大厦", "创意园", "科创中心", "商务楼", "广场"))
    township = rng.choice(townships).name if townships else ""
    building = rng.choice(_TRADE_NAME_CHARS) + rng.choice(_COMPOUND_FIRST) + place
    return (
        f"{CITY_PREFIX}{county}{township}{building}"
        f"{rng.randint(1, 9)}幢{rng.randint(1, 20)}{rng.randint(1, 30):02d}室"
    )


def legal_persons_generate(
    rng: random.Random,
    *,
    representatives: Sequence[SyntheticResident],
    reference: datetime.date,
    townships_by_county: Mapping[str, Sequence[Township]] | None = None,
    exclude_usccs: frozenset[str] = frozenset(),
    exclude_trade_names: frozenset[str] = frozenset(),
) -> list[SyntheticLegalPerson]:
    """Twenty legal persons of Hangzhou: 13 limited companies, 2 joint-stock companies and
    5 individual businesses; one has its licence revoked and one is deregistered.

    Each legal representative is drawn from ``representatives`` (adults, alive).
    """
    townships_by_county = townships_by_county or {}
    kinds = [LLC] * 10 + [LLC_SOLE] * 3 + [JOINT_STOCK] * 2 + [INDIVIDUAL_BUSINESS] * 5
    statuses = ["active"] * len(kinds)
    statuses[3], statuses[12] = "revoked", "deregistered"
    adults = [
        r
        for r in representatives
        if r.status == "normal" and (reference - r.birth_date).days >= 22 * 365
    ]
    used_names = set(exclude_trade_names)
    seen = set(exclude_usccs)
    records: list[SyntheticLegalPerson] = []
    for kind, status in zip(kinds, statuses, strict=True):
        representative = rng.choice(adults)
        county_code = rng.choice(list(HANGZHOU_COUNTIES))
        county = HANGZHOU_COUNTIES[county_code]
        townships = townships_by_county.get(county_code, ())
        established = birth_date_generate(rng, reference=reference, min_age=1, max_age=17)
        new_style = established.year >= 2016
        authority = f"杭州市{county}市场监督管理局"
        if kind == INDIVIDUAL_BUSINESS:
            shop, scope = rng.choice(_INDIVIDUAL_SHOPS)
            name = f"杭州市{county}{representative.name[0]}记{shop}"
            while name in used_names:
                name = f"杭州市{county}{rng.choice(_TRADE_NAME_CHARS)}记{shop}"
            used_names.add(name)
            capital = f"{rng.choice((3, 5, 10, 20))}万元人民币"
            prefix = USCC_INDIVIDUAL_BUSINESS
        elif kind == JOINT_STOCK:
            trade = _trade_name(rng, used_names)
            name = f"浙江{trade}{rng.choice(_SAC_SUFFIXES)}股份有限公司"
            scope = "技术开发、技术服务；新材料技术研发；机械设备销售；货物进出口"
            capital = f"{rng.choice((3000, 5000, 8000, 12000))}万元人民币"
            prefix = USCC_ENTERPRISE
            authority = "杭州市市场监督管理局"
        else:
            trade = _trade_name(rng, used_names)
            industry, scope = rng.choice(_LLC_INDUSTRIES)
            name = f"杭州{trade}{industry}有限公司"
            capital = f"{rng.choice((10, 50, 100, 200, 500, 1000))}万元人民币"
            prefix = USCC_ENTERPRISE
        uscc = uscc_generate(rng, region_code=county_code, prefix=prefix, new_style=new_style)
        if uscc in seen:  # pragma: no cover - one in 31**6
            continue
        seen.add(uscc)
        records.append(
            SyntheticLegalPerson(
                uscc=uscc,
                name=name,
                entity_type=kind,
                legal_representative_name=representative.name,
                legal_representative_id_number=representative.id_number,
                registered_capital=capital,
                established_on=established,
                region_code=county_code,
                address=_business_address(rng, county_code, townships),
                business_scope=f"一般项目：{scope}{SCOPE_CLOSING}",
                registration_authority=authority,
                status=status,
            )
        )
    return records
