"""The printed demo guide: the personas, how to log in as them, and the URLs to open."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from django.db import DatabaseError

from yiwang.demo.departments import DEPARTMENTS
from yiwang.demo.personas import (
    COMPANY,
    DEMO_PASSWORD,
    PERSONAS,
    UNCLAIMED_RESIDENTS,
    Persona,
    demo_authenticator_key,
    persona_get,
)
from yiwang.identity.authenticator import authenticator_secret

DEFAULT_BASE_URL = "http://127.0.0.1:8000"

URLS: tuple[tuple[str, str, str], ...] = (
    ("/", "门户", "Citizen portal"),
    ("/accounts/login/", "登录", "Log in"),
    ("/admin/", "平台管理", "Administration"),
    ("/api/v1/docs", "接口文档", "API docs (OpenAPI)"),
    ("/health/", "健康码", "Health code"),
    ("/health/checkpoint/", "健康码核验（卡口）", "Checkpoint: verify health codes"),
    ("/dev/sms/", "短信发件箱", "SMS outbox (codes sent to any phone)"),
    ("/healthz", "健康检查", "Health check"),
)


def _width(text: str) -> int:
    """Columns the text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def table_render(
    rows: Sequence[Sequence[str]], *, right: Sequence[int] = (), indent: str = "  "
) -> list[str]:
    """Rows as aligned text columns; the columns numbered in ``right`` align right."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            " " * (widths[i] - _width(cell)) + cell if i in right else _pad(cell, widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _details(persona: Persona) -> Iterable[str]:
    departments = {d.code: d.name for d in DEPARTMENTS}
    for department_code, role in persona.staff_roles:
        yield f"部门 Department: {departments[department_code]} ({department_code}, {role})"
    if persona.is_staff:
        secret = authenticator_secret(demo_authenticator_key(persona.phone))
        yield f"两步登录 Authenticator key: {secret}  (或 or: manage.py demo_totp {persona.phone})"
    if persona.level == 1:
        yield f"实名认证用 Verify with: {persona.name}  {persona.id_number}"
    if persona.spouse:
        spouse = persona_get(persona.spouse)
        yield f"配偶 Spouse: {spouse.name} ({spouse.phone})"
    for relative in persona.relatives:
        yield (
            f"{relative.relation_zh} {relative.relation_en}: {relative.resident.name}  "
            f"{relative.resident.id_number}  已故 deceased "
            f"({relative.resident.died_days_before_load} 天前 days before the first demo_load; "
            "无账号 no account)"
        )
    if persona.key == COMPANY.representative:
        yield f"企业 Company: {COMPANY.name}  {COMPANY.uscc}"
    if persona.key in COMPANY.agents:
        yield (
            f"经办 Agent for: {COMPANY.name} (授权一年 authorised for "
            f"{COMPANY.agent_valid_days} days)"
        )


def personas_guide(*, claimed_id_numbers: Iterable[str] = (), health_case: str = "") -> str:
    """The persona table and the unclaimed residents, as printed by the demo commands."""
    claimed = set(claimed_id_numbers)
    lines = [
        "一网 Yiwang 演示账号 Demo personas — 全部为虚构人物 all synthetic, never real people",
        f"所有账号密码 Password for every account: {DEMO_PASSWORD}",
        "工作人员和管理员登录时还需输入验证器中的 6 位验证码：把下面的密钥加入任一验证器应用，"
        "或运行 manage.py demo_totp <手机号>。",
        "Staff and the administrator also enter a 6-digit authenticator code: add the key shown "
        "to any authenticator app, or run manage.py demo_totp <phone>.",
        "",
    ]
    header = ("#", "角色", "姓名 Name", "手机号 Phone", "密码 Password", "等级 Level")
    rows = [header] + [
        (
            str(number),
            p.role_zh,
            p.name if p.level >= 2 else f"({p.name})",
            p.phone,
            DEMO_PASSWORD,
            f"L{int(p.level)}" + (" admin" if p.platform_admin else ""),
        )
        for number, p in enumerate(PERSONAS, start=1)
    ]
    table = table_render(rows)
    lines += [table[0], "  " + "-" * (_width(table[0]) - 2)]
    for persona, row in zip(PERSONAS, table[1:], strict=True):
        lines.append(row)
        lines.append(f"      Role: {persona.role_en}")
        lines.append(f"      试试: {persona.try_zh}")
        lines.append(f"      Try:  {persona.try_en}")
        lines.extend(f"      {detail}" for detail in _details(persona))
    lines += [
        "",
        "未认领的居民 Unclaimed residents you can verify as — 用任意新手机号注册"
        "（验证码见 /dev/sms/），再以下列身份实名认证：",
        "Register with any new mobile number (the SMS code shows at /dev/sms/), then verify as:",
    ]
    for resident in UNCLAIMED_RESIDENTS:
        state = "  (已被认领 already claimed)" if resident.id_number in claimed else ""
        lines.append(f"  {_pad(resident.name, 8)}{resident.id_number}{state}")
    if health_case:
        lines += [
            "",
            "健康码演示 Health codes — 今日报告的确诊病例（虚构，无登录账号），"
            "由西湖卫健审查人员（13800000072）在 健康码工作台 → 密接排查 中输入其身份证号：",
            "A confirmed case reported today (synthetic, no login); the Xihu health reviewer "
            "(13800000072) enters her ID number under 健康码工作台 → 密接排查:",
            f"  {health_case}",
        ]
    return "\n".join(lines)


def urls_guide(base_url: str = DEFAULT_BASE_URL) -> str:
    rows = [(f"{base_url}{path}", zh, en) for path, zh, en in URLS]
    return "\n".join(["网址 URLs", *table_render(rows)])


def health_case() -> str:
    """The demo's confirmed case, "name ID-number"; empty before the demo is loaded."""
    from yiwang.demo.health import CASE_REFERENCE
    from yiwang.health.models import HealthFact
    from yiwang.identity.models import User

    try:
        fact = HealthFact.objects.filter(source_reference=CASE_REFERENCE).first()
        case = User.objects.filter(id_number=fact.id_number).first() if fact else None
    except DatabaseError:
        return ""
    return f"{case.name}  {case.id_number}" if case is not None else ""


def claimed_id_numbers() -> set[str]:
    """ID numbers of the unclaimed residents that an account has been verified with since.

    Empty when the database is not set up yet: the guide is printed all the same.
    """
    from yiwang.identity.models import User

    wanted = [r.id_number for r in UNCLAIMED_RESIDENTS]
    try:
        found = User.objects.filter(id_number__in=wanted).values_list("id_number", flat=True)
        return {number for number in found if number}
    except DatabaseError:
        return set()
