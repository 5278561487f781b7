"""The demo personas: who they are, how to log in as them and what to try.

All people here are synthetic: the names are common combinations, the ID numbers are
made up (with valid check characters) and the phone numbers are in the 138 0000 00xx
range, which no carrier assigns to a subscriber. Every persona with an account logs in
with ``DEMO_PASSWORD``.

This module is data only; ``loader.py`` turns it into registry records and accounts
through the identity services, and ``guide.py`` prints it.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from yiwang.core.identifiers import organisation_code_build, resident_id_with_check_digit
from yiwang.demo.departments import (
    CITY_PUBLIC_SECURITY,
    XIHU_HEALTH,
    XIHU_HUMAN_RESOURCES,
    XIHU_MEDICAL_SECURITY,
    XIHU_PUBLIC_SECURITY,
)
from yiwang.demo.synthetic import LLC, SCOPE_CLOSING, uscc_build
from yiwang.identity.models import AssuranceLevel, StaffRole

DEMO_PASSWORD = "Yiwang@2026"  # noqa: S105 - published on purpose: the demo's shared password
# Staff personas log in with a second factor too: an authenticator whose secret is derived
# from this published seed and the phone number, so anyone trying the demo can add it.
DEMO_AUTHENTICATOR_SEED = "yiwang-demo-authenticator"
# Seed of the extra registry records (residents and legal persons besides the personas).
DEMO_SEED = 2026
# Reference date of the extra records, fixed so that every load gives the same records.
DEMO_REFERENCE_DATE = datetime.date(2026, 1, 1)
EXTRA_RESIDENTS = 200


def demo_authenticator_key(phone: str) -> str:
    """The hex TOTP secret of a demo staff persona's authenticator (20 bytes)."""
    return hashlib.sha256(f"{DEMO_AUTHENTICATOR_SEED}:{phone}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Resident:
    """A person in the population registry."""

    name: str
    gender: str  # "M" or "F"
    birth_date: datetime.date
    id_county_code: str  # county of first registration, the ID number's first six digits
    sequence: int  # the ID number's 3-digit sequence: odd for men, even for women
    household_region_code: str  # township (street) code
    household_address: str
    ethnicity: str = "汉族"
    # Set for a deceased person: the death is this many days before the first load.
    died_days_before_load: int | None = None

    def __post_init__(self) -> None:
        if (self.sequence % 2 == 1) != (self.gender == "M"):
            raise ValueError(f"{self.name}: the sequence parity must match the gender")

    @property
    def id_number(self) -> str:
        return resident_id_with_check_digit(
            f"{self.id_county_code}{self.birth_date:%Y%m%d}{self.sequence:03d}"
        )


@dataclass(frozen=True)
class Relative:
    """A relative of a persona who is in the registry but has no account."""

    relation_zh: str
    relation_en: str
    resident: Resident


@dataclass(frozen=True)
class Persona:
    key: str
    role_zh: str
    role_en: str
    phone: str
    resident: Resident
    level: AssuranceLevel
    try_zh: str
    try_en: str
    staff_roles: tuple[tuple[str, StaffRole.Role], ...] = ()  # (department code, role)
    platform_admin: bool = False
    spouse: str = ""  # key of the spouse persona
    relatives: tuple[Relative, ...] = ()

    @property
    def name(self) -> str:
        return self.resident.name

    @property
    def is_staff(self) -> bool:
        """Staff and platform administrators log in with a second factor."""
        return bool(self.staff_roles) or self.platform_admin

    @property
    def id_number(self) -> str:
        return self.resident.id_number


@dataclass(frozen=True)
class Company:
    """A legal person in the registry whose legal representative is a persona."""

    organisation_code_body: str  # 8 characters; the check character is computed
    region_code: str
    name: str
    entity_type: str
    registered_capital: str
    established_on: datetime.date
    address: str
    business_scope: str
    registration_authority: str
    representative: str  # persona key
    agents: tuple[str, ...]  # persona keys, authorised by the representative
    agent_valid_days: int = 365

    @property
    def uscc(self) -> str:
        return uscc_build(
            prefix="91",
            region_code=self.region_code,
            organisation_code=organisation_code_build(self.organisation_code_body),
        )


_XIHU = "浙江省杭州市西湖区"
_CLERK, _REVIEWER, _APPROVER = (
    StaffRole.Role.CLERK,
    StaffRole.Role.REVIEWER,
    StaffRole.Role.APPROVER,
)
_D = datetime.date

DECEASED_FATHER = Resident(
    name="赵德明",
    gender="M",
    birth_date=_D(1948, 2, 27),
    id_county_code="330121",
    sequence=15,
    household_region_code="330106005",
    household_address=f"{_XIHU}翠苑街道桂溪苑2幢1单元501室",
    died_days_before_load=4,
)


def _staff(
    key: str,
    role_zh: str,
    role_en: str,
    phone: str,
    resident: Resident,
    department: str,
    role: StaffRole.Role,
    try_zh: str,
    try_en: str,
) -> Persona:
    return Persona(
        key=key,
        role_zh=role_zh,
        role_en=role_en,
        phone=phone,
        resident=resident,
        level=AssuranceLevel.L2,
        try_zh=try_zh,
        try_en=try_en,
        staff_roles=((department, role),),
    )


_CLERK_TRY = (
    "在工作台受理办件；在窗口为持证人线下核验身份（升至 L3）",
    "Accept applications at the workbench; verify a person in person (raises to L3)",
)
_REVIEWER_TRY = ("审查已受理的办件，提出审查意见", "Review accepted applications")
_APPROVER_TRY = (
    "对审查后的办件作出准予或不予的决定",
    "Decide reviewed applications: grant or deny",
)

PERSONAS: tuple[Persona, ...] = (
    Persona(
        key="admin",
        role_zh="平台管理员",
        role_en="Platform administrator",
        phone="13800000001",
        resident=Resident(
            name="周立言",
            gender="M",
            birth_date=_D(1983, 4, 16),
            id_county_code="330106",
            sequence=213,
            household_region_code="330106006",
            household_address=f"{_XIHU}文新街道锦枫苑3幢2单元301室",
        ),
        level=AssuranceLevel.L2,
        platform_admin=True,
        try_zh="登录 /admin/ 管理部门、人员角色与登记库",
        try_en="Log in at /admin/ to manage departments, staff roles and the registries",
    ),
    Persona(
        key="expectant_father",
        role_zh="准爸爸（新婚夫妻）",
        role_en="Expectant father (married couple)",
        phone="13800000011",
        resident=Resident(
            name="陈昊然",
            gender="M",
            birth_date=_D(1995, 3, 12),
            id_county_code="330106",
            sequence=31,
            household_region_code="330106012",
            household_address=f"{_XIHU}蒋村街道岚湖家园6幢1单元1202室",
        ),
        level=AssuranceLevel.L2,
        spouse="expectant_mother",
        try_zh="在“我的办件”中确认妻子提交的出生“一件事”；办事服务 → 生育登记",
        try_en="Confirm the birth life event his wife submitted, in 我的办件; "
        "apply for 生育登记 under 办事服务",
    ),
    Persona(
        key="expectant_mother",
        role_zh="准妈妈（新婚夫妻）",
        role_en="Expectant mother (married couple)",
        phone="13800000012",
        resident=Resident(
            name="林语桐",
            gender="F",
            birth_date=_D(1997, 7, 8),
            id_county_code="330108",
            sequence=46,
            household_region_code="330106012",
            household_address=f"{_XIHU}蒋村街道岚湖家园6幢1单元1202室",
        ),
        level=AssuranceLevel.L2,
        spouse="expectant_father",
        try_zh="办理出生“一件事”：一张表办齐出生医学证明、落户、接种证、医保和社保卡，丈夫在本人账户确认；办结后在电子证照中查看孩子的证照",
        try_en="Apply for the birth life event: one form for the birth certificate, household "
        "registration, vaccination, insurance and card; her husband confirms in his account; "
        "then see the child's certificates in the wallet",
    ),
    Persona(
        key="retiring_worker",
        role_zh="即将退休职工",
        role_en="Worker about to retire",
        phone="13800000021",
        resident=Resident(
            name="王建国",
            gender="M",
            birth_date=_D(1966, 9, 18),
            id_county_code="330125",
            sequence=17,
            household_region_code="330105016",
            household_address="浙江省杭州市拱墅区朝晖街道梅枫花园12幢3单元402室",
        ),
        level=AssuranceLevel.L2,
        try_zh="办事服务 → 职工正常退休（职）申请；"
        "健康码：申报去过风险地区后为黄码，可每日打卡或申诉",
        try_en="Apply for 职工正常退休（职）申请 (in work since 1986); health code: yellow "
        "after declaring a stay in a risk area; check in daily or appeal",
    ),
    Persona(
        key="bereaved_child",
        role_zh="逝者家属（子女）",
        role_en="Bereaved family member (child)",
        phone="13800000031",
        resident=Resident(
            name="赵雅琴",
            gender="F",
            birth_date=_D(1976, 11, 3),
            id_county_code="330121",
            sequence=22,
            household_region_code="330106005",
            household_address=f"{_XIHU}翠苑街道桂溪苑2幢1单元501室",
        ),
        level=AssuranceLevel.L2,
        relatives=(Relative("父亲", "father", DECEASED_FATHER),),
        try_zh="父亲已在人口库登记为死亡（无法再用于实名认证）；（后续版本）身后“一件事”",
        try_en="Her father is recorded as deceased in the population registry (his ID can no "
        "longer be verified); (coming) the death life event",
    ),
    Persona(
        key="business_owner",
        role_zh="企业法定代表人",
        role_en="Business owner (legal representative)",
        phone="13800000041",
        resident=Resident(
            name="沈嘉航",
            gender="M",
            birth_date=_D(1984, 6, 21),
            id_county_code="330106",
            sequence=57,
            household_region_code="330106109",
            household_address=f"{_XIHU}三墩镇锦澜庭9幢2单元801室",
        ),
        level=AssuranceLevel.L2,
        try_zh="以法定代表人身份进入企业空间；授权或撤销经办人",
        try_en="Act for his company as legal representative; authorise or revoke agents",
    ),
    Persona(
        key="business_agent",
        role_zh="企业经办人",
        role_en="Authorised agent of the company",
        phone="13800000042",
        resident=Resident(
            name="许静怡",
            gender="F",
            birth_date=_D(1993, 10, 5),
            id_county_code="330125",
            sequence=84,
            household_region_code="330110014",
            household_address="浙江省杭州市余杭区仓前街道禾润公寓5幢1单元603室",
        ),
        level=AssuranceLevel.L2,
        try_zh="在“我的”中查看可代办的企业（授权一年有效）",
        try_en="See the company you may act for under 我的 (authorised for one year)",
    ),
    Persona(
        key="unverified_citizen",
        role_zh="未实名市民（L1）",
        role_en="Registered citizen, not verified (L1)",
        phone="13800000051",
        resident=Resident(
            name="何沐阳",
            gender="M",
            birth_date=_D(2001, 12, 24),
            id_county_code="330106",
            sequence=19,
            household_region_code="330106004",
            household_address=f"{_XIHU}西溪街道云溪苑8幢3单元205室",
        ),
        level=AssuranceLevel.L1,
        try_zh="完成实名认证（姓名与身份证号见下），升至 L2",
        try_en="Complete real-name verification (name and ID number below) to reach L2",
    ),
    Persona(
        key="in_person_citizen",
        role_zh="线下核验市民（L3）",
        role_en="Citizen verified in person (L3)",
        phone="13800000052",
        resident=Resident(
            name="钱慧芬",
            gender="F",
            birth_date=_D(1961, 5, 30),
            id_county_code="330123",
            sequence=68,
            household_region_code="330102012",
            household_address="浙江省杭州市上城区采荷街道荷华里4幢2单元602室",
        ),
        level=AssuranceLevel.L3,
        try_zh="已由窗口人员线下核验（L3），可办理要求最高认证等级的事项",
        try_en="Verified in person by a window clerk (L3): may use services that require it",
    ),
    _staff(
        "ga_clerk",
        "窗口人员 · 西湖公安",
        "Window clerk, Xihu public security",
        "13800000061",
        Resident(
            name="孙晓婷",
            gender="F",
            birth_date=_D(1996, 8, 14),
            id_county_code="330105",
            sequence=26,
            household_region_code="330105003",
            household_address="浙江省杭州市拱墅区小河街道碧桂苑7幢1单元303室",
        ),
        XIHU_PUBLIC_SECURITY,
        _CLERK,
        *_CLERK_TRY,
    ),
    _staff(
        "ga_reviewer",
        "审查人员 · 西湖公安",
        "Reviewer, Xihu public security",
        "13800000062",
        Resident(
            name="刘志强",
            gender="M",
            birth_date=_D(1985, 1, 9),
            id_county_code="330106",
            sequence=35,
            household_region_code="330106014",
            household_address=f"{_XIHU}古荡街道华松苑11幢2单元702室",
        ),
        XIHU_PUBLIC_SECURITY,
        _REVIEWER,
        *_REVIEWER_TRY,
    ),
    _staff(
        "ga_approver",
        "审批人员 · 西湖公安",
        "Approver, Xihu public security",
        "13800000063",
        Resident(
            name="郑国华",
            gender="M",
            birth_date=_D(1972, 10, 27),
            id_county_code="330120",
            sequence=11,
            household_region_code="330102011",
            household_address="浙江省杭州市上城区凯旋街道新和坊5幢1单元401室",
        ),
        XIHU_PUBLIC_SECURITY,
        _APPROVER,
        *_APPROVER_TRY,
    ),
    _staff(
        "ga_data_officer",
        "数据管理员 · 西湖公安",
        "Data officer, Xihu public security",
        "13800000064",
        Resident(
            name="钱雨桐",
            gender="F",
            birth_date=_D(1990, 3, 21),
            id_county_code="330106",
            sequence=142,
            household_region_code="330106011",
            household_address=f"{_XIHU}西溪街道西溪花园凌波苑6幢2单元402室",
        ),
        XIHU_PUBLIC_SECURITY,
        StaffRole.Role.DATA_OFFICER,
        "为本部门的业务系统申请共享数据授权；查看本部门的共享授权",
        "Ask other departments for data grants for Xihu public security's systems",
    ),
    _staff(
        "city_ga_data_officer",
        "数据管理员 · 杭州市公安局",
        "Data officer, Hangzhou public security bureau",
        "13800000065",
        Resident(
            name="冯启航",
            gender="M",
            birth_date=_D(1987, 12, 5),
            id_county_code="330103",
            sequence=59,
            household_region_code="330102011",
            household_address="浙江省杭州市上城区凯旋街道景芳三区12幢1单元502室",
        ),
        CITY_PUBLIC_SECURITY,
        StaffRole.Role.DATA_OFFICER,
        "审批其他部门对人口、户籍数据的共享申请（西湖公安有一件待审批）",
        "Decide other departments' requests for population and household data (one is waiting)",
    ),
    _staff(
        "wj_clerk",
        "窗口人员 · 西湖卫健",
        "Window clerk, Xihu health",
        "13800000071",
        Resident(
            name="吴佳怡",
            gender="F",
            birth_date=_D(1998, 2, 19),
            id_county_code="330108",
            sequence=62,
            household_region_code="330108003",
            household_address="浙江省杭州市滨江区长河街道瑞园公寓2幢1单元1101室",
        ),
        XIHU_HEALTH,
        _CLERK,
        *_CLERK_TRY,
    ),
    _staff(
        "wj_reviewer",
        "审查人员 · 西湖卫健",
        "Reviewer, Xihu health",
        "13800000072",
        Resident(
            name="黄伟",
            gender="M",
            birth_date=_D(1987, 12, 2),
            id_county_code="330106",
            sequence=93,
            household_region_code="330106013",
            household_address=f"{_XIHU}留下街道松溪里3幢2单元502室",
        ),
        XIHU_HEALTH,
        _REVIEWER,
        "审查已受理的办件；健康码工作台 → 密接排查："
        "为今日确诊病例发起排查并审核密接人员（病例身份证号见下）",
        "Review accepted applications; 健康码工作台 → 密接排查: trace today's confirmed case "
        "and review the people found (the case's ID number is printed below)",
    ),
    _staff(
        "wj_approver",
        "审批人员 · 西湖卫健",
        "Approver, Xihu health",
        "13800000073",
        Resident(
            name="徐丽萍",
            gender="F",
            birth_date=_D(1974, 3, 15),
            id_county_code="330127",
            sequence=40,
            household_region_code="330106002",
            household_address=f"{_XIHU}北山街道梅兰坊1幢1单元201室",
        ),
        XIHU_HEALTH,
        _APPROVER,
        *_APPROVER_TRY,
    ),
    _staff(
        "rs_clerk",
        "窗口人员 · 西湖人社",
        "Window clerk, Xihu human resources",
        "13800000081",
        Resident(
            name="杨子涵",
            gender="F",
            birth_date=_D(1997, 5, 11),
            id_county_code="330184",
            sequence=28,
            household_region_code="330110005",
            household_address="浙江省杭州市余杭区五常街道银湖湾9幢1单元803室",
        ),
        XIHU_HUMAN_RESOURCES,
        _CLERK,
        *_CLERK_TRY,
    ),
    _staff(
        "rs_reviewer",
        "审查人员 · 西湖人社",
        "Reviewer, Xihu human resources",
        "13800000082",
        Resident(
            name="朱俊杰",
            gender="M",
            birth_date=_D(1990, 9, 30),
            id_county_code="330106",
            sequence=77,
            household_region_code="330106011",
            household_address=f"{_XIHU}转塘街道枫桂园6幢3单元301室",
        ),
        XIHU_HUMAN_RESOURCES,
        _REVIEWER,
        *_REVIEWER_TRY,
    ),
    _staff(
        "rs_approver",
        "审批人员 · 西湖人社",
        "Approver, Xihu human resources",
        "13800000083",
        Resident(
            name="马秀英",
            gender="F",
            birth_date=_D(1970, 6, 6),
            id_county_code="330121",
            sequence=54,
            household_region_code="330105002",
            household_address="浙江省杭州市拱墅区湖墅街道港湖苑2幢2单元602室",
        ),
        XIHU_HUMAN_RESOURCES,
        _APPROVER,
        *_APPROVER_TRY,
    ),
    Persona(
        key="yb_officer",
        role_zh="医保经办 · 西湖医保（受理、审查、决定）",
        role_en="Medical insurance officer, Xihu medical security (accept, review, decide)",
        phone="13800000084",
        resident=Resident(
            name="陶雨欣",
            gender="F",
            birth_date=_D(1988, 3, 21),
            id_county_code="330106",
            sequence=134,
            household_region_code="330106003",
            household_address=f"{_XIHU}古荡街道嘉绿苑北区7幢2单元402室",
        ),
        level=AssuranceLevel.L2,
        try_zh="办理新生儿参保登记、退休人员医保待遇等医保办件（一人负责受理至决定）",
        try_en="Handle medical insurance applications such as newborn enrolment, "
        "from acceptance to decision",
        staff_roles=(
            (XIHU_MEDICAL_SECURITY, _CLERK),
            (XIHU_MEDICAL_SECURITY, _REVIEWER),
            (XIHU_MEDICAL_SECURITY, _APPROVER),
        ),
    ),
    _staff(
        "rs_admin",
        "部门管理员 · 西湖人社",
        "Department administrator, Xihu human resources",
        "13800000091",
        Resident(
            name="胡振宇",
            gender="M",
            birth_date=_D(1980, 11, 18),
            id_county_code="330122",
            sequence=101,
            household_region_code="330106006",
            household_address=f"{_XIHU}文新街道嘉和府10幢1单元901室",
        ),
        XIHU_HUMAN_RESOURCES,
        StaffRole.Role.DEPARTMENT_ADMIN,
        "为西湖区人社局的工作人员授予或撤销角色",
        "Grant and revoke staff roles of Xihu human resources",
    ),
)

COMPANY = Company(
    organisation_code_body="MA2GJ7L4",
    region_code="330106",
    name="杭州岚禾数智科技有限公司",
    entity_type=LLC,
    registered_capital="200万元人民币",
    established_on=_D(2019, 6, 12),
    address=f"{_XIHU}三墩镇岚禾创意园3幢502室",
    business_scope="一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；"
    f"软件开发；信息系统集成服务；数据处理服务{SCOPE_CLOSING}",
    registration_authority="杭州市西湖区市场监督管理局",
    representative="business_owner",
    agents=("business_agent",),
)

# Residents in the registry that no account is bound to: a new demo user can register
# with any mobile number and verify as one of them.
UNCLAIMED_RESIDENTS: tuple[Resident, ...] = (
    Resident(
        name="蒋思远",
        gender="M",
        birth_date=_D(1999, 4, 2),
        id_county_code="330106",
        sequence=115,
        household_region_code="330106005",
        household_address=f"{_XIHU}翠苑街道丽景苑5幢2单元402室",
    ),
    Resident(
        name="邵雨萱",
        gender="F",
        birth_date=_D(2000, 8, 19),
        id_county_code="330105",
        sequence=126,
        household_region_code="330105007",
        household_address="浙江省杭州市拱墅区大关街道荷园小区3幢1单元202室",
    ),
    Resident(
        name="韩明哲",
        gender="M",
        birth_date=_D(1992, 1, 25),
        id_county_code="330181",
        sequence=37,
        household_region_code="330108001",
        household_address="浙江省杭州市滨江区西兴街道兰溪公寓12幢1单元1502室",
    ),
)


def persona_get(key: str) -> Persona:
    for persona in PERSONAS:
        if persona.key == key:
            return persona
    raise KeyError(key)


def registry_residents() -> tuple[Resident, ...]:
    """Every hand-written resident: personas, their relatives and the unclaimed ones."""
    relatives = tuple(r.resident for p in PERSONAS for r in p.relatives)
    return tuple(p.resident for p in PERSONAS) + relatives + UNCLAIMED_RESIDENTS
