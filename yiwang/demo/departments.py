"""The demo's government departments: the full set for Hangzhou and its 西湖区.

Department codes are ``<6-digit region code>-<kind code>``, the kind code being the
pinyin initials of the department's usual short name (公安 GA, 卫健 WJ …), so
``330106-GA`` is the public-security bureau of 西湖区 and ``330100-GA`` that of the
city. The credit codes are synthetic (prefix ``11``, government body) and derived from
the department code, so they never change between loads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from yiwang.demo.synthetic import USCC_GOVERNMENT, uscc_generate
from yiwang.identity.models import Department

CITY_CODE = "330100"
DISTRICT_CODE = "330106"  # 西湖区

KIND_CODES: dict[str, str] = {
    Department.Kind.PUBLIC_SECURITY: "GA",  # 公安
    Department.Kind.HEALTH: "WJ",  # 卫健
    Department.Kind.CIVIL_AFFAIRS: "MZ",  # 民政
    Department.Kind.HUMAN_RESOURCES: "RS",  # 人社
    Department.Kind.MEDICAL_SECURITY: "YB",  # 医保
    Department.Kind.MARKET_REGULATION: "SJ",  # 市监
    Department.Kind.TAXATION: "SW",  # 税务
    Department.Kind.HOUSING_FUND: "GJJ",  # 公积金
    Department.Kind.GOVERNMENT_SERVICES: "ZW",  # 政务服务
    Department.Kind.NATURAL_RESOURCES: "ZR",  # 自然资源
    Department.Kind.EDUCATION: "JY",  # 教育
    Department.Kind.DATA_RESOURCES: "DSJ",  # 大数据（数据资源）
    Department.Kind.TRANSPORT: "JT",  # 交通运输
}

# Names follow the real pattern of each kind: several district offices are branches of
# the city bureau (公安分局, 规划和自然资源局西湖分局), tax bureaus belong to the State
# Taxation Administration, and the housing fund is one city-wide centre with branches.
_NAMES: dict[str, tuple[str, str]] = {
    Department.Kind.PUBLIC_SECURITY: ("杭州市公安局", "杭州市公安局西湖区分局"),
    Department.Kind.HEALTH: ("杭州市卫生健康委员会", "杭州市西湖区卫生健康局"),
    Department.Kind.CIVIL_AFFAIRS: ("杭州市民政局", "杭州市西湖区民政局"),
    Department.Kind.HUMAN_RESOURCES: (
        "杭州市人力资源和社会保障局",
        "杭州市西湖区人力资源和社会保障局",
    ),
    Department.Kind.MEDICAL_SECURITY: ("杭州市医疗保障局", "杭州市医疗保障局西湖分局"),
    Department.Kind.MARKET_REGULATION: ("杭州市市场监督管理局", "杭州市西湖区市场监督管理局"),
    Department.Kind.TAXATION: ("国家税务总局杭州市税务局", "国家税务总局杭州市西湖区税务局"),
    Department.Kind.HOUSING_FUND: ("杭州住房公积金管理中心", "杭州住房公积金管理中心西湖分中心"),
    Department.Kind.GOVERNMENT_SERVICES: (
        "杭州市政务服务管理办公室",
        "杭州市西湖区政务服务管理办公室",
    ),
    Department.Kind.NATURAL_RESOURCES: ("杭州市规划和自然资源局", "杭州市规划和自然资源局西湖分局"),
    Department.Kind.EDUCATION: ("杭州市教育局", "杭州市西湖区教育局"),
    Department.Kind.DATA_RESOURCES: ("杭州市数据资源管理局", "杭州市西湖区数据资源管理局"),
    Department.Kind.TRANSPORT: ("杭州市交通运输局", "杭州市西湖区交通运输局"),
}


@dataclass(frozen=True)
class DemoDepartment:
    code: str
    name: str
    kind: str
    region_code: str
    uscc: str


def department_code(region_code: str, kind: str) -> str:
    return f"{region_code}-{KIND_CODES[kind]}"


def _department(region_code: str, kind: str, name: str) -> DemoDepartment:
    code = department_code(region_code, kind)
    rng = random.Random(f"department:{code}")
    uscc = uscc_generate(rng, region_code=region_code, prefix=USCC_GOVERNMENT)
    return DemoDepartment(code=code, name=name, kind=kind, region_code=region_code, uscc=uscc)


DEPARTMENTS: tuple[DemoDepartment, ...] = tuple(
    _department(region_code, kind, names[index])
    for index, region_code in enumerate((CITY_CODE, DISTRICT_CODE))
    for kind, names in _NAMES.items()
)

# The departments whose staff the personas are.
XIHU_PUBLIC_SECURITY = department_code(DISTRICT_CODE, Department.Kind.PUBLIC_SECURITY)
XIHU_HEALTH = department_code(DISTRICT_CODE, Department.Kind.HEALTH)
XIHU_HUMAN_RESOURCES = department_code(DISTRICT_CODE, Department.Kind.HUMAN_RESOURCES)
XIHU_MEDICAL_SECURITY = department_code(DISTRICT_CODE, Department.Kind.MEDICAL_SECURITY)
CITY_PUBLIC_SECURITY = department_code(CITY_CODE, Department.Kind.PUBLIC_SECURITY)
