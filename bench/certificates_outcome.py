"""Benchmark: 免填写、免提交, the fields a person still types and the files she still uploads.

The requirement (certificates issue): *for the 10 highest-volume items and for each life
event, report typed fields and uploads per application, with and without prefill and
e-certificates; typed fields should remain only for facts no registry holds.*

1. Loads the demo (``demo_load``: regions, departments, the catalogue, the persona
   accounts, the registries and the personas' e-certificates) into a throwaway SQLite
   database.
2. For each item, the persona who would apply (``PERSONA_BY_ITEM``, else by the item's
   life situations, ``PERSONA_BY_SITUATION``; an organisation item: ``business_owner``
   for his company) starts a draft with ``application_draft_create``, inside a
   transaction rolled back afterwards.
3. **Typed fields** without prefill: the form schema's top-level ``required`` (conditional
   ``allOf``/``if``-``then`` requirements are left out); with prefill: those minus what
   ``form_prefill`` filled (locked or not). **Uploads** without certificates: the item's
   required materials; with: those minus what the draft got attached from a valid
   certificate (``_certificates_attach``, the service's own rule).
4. The 10 items (a stated list: there is no volume data in the demo) and each life
   situation (its items summed) are reported with totals, and with the names of the
   required fields and materials that remain.

Run: ``.venv/bin/python bench/certificates_outcome.py`` (about 20 seconds); ``--smoke``
(the test suite's check) measures three of the items and one life situation. Counts, never
timings; prints no verdict.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The 10 most-used citizen and business services of the demo catalogue. A stated
# assumption: the demo has no application volumes to rank items by.
TOP_ITEMS = (
    "330106-RS-0001",  # 社会保障卡申领
    "330106-GA-0005",  # 居住证申领
    "330106-GA-0001",  # 出生登记
    "330100-GJJ-0004",  # 住房公积金提取（租赁住房）
    "330106-YB-0003",  # 医疗费用手工（零星）报销
    "330106-SJ-0002",  # 个体工商户设立登记
    "330106-SJ-0001",  # 企业设立登记（有限责任公司）
    "330106-ZR-0001",  # 不动产转移登记（存量房买卖）
    "330106-MZ-0001",  # 内地居民结婚登记
    "330106-RS-0010",  # 失业登记
)
SMOKE_ITEMS = ("330106-RS-0001", "330106-GA-0001", "330106-SJ-0001")
SMOKE_SITUATIONS = ("marriage",)

# Who applies for a person item: by the first of its life situations in this order (the
# most particular first: a retirement item that is also social insurance is the retiree's) ...
PERSONA_BY_SITUATION = {
    "death": "bereaved_child",
    "retirement": "retiring_worker",
    "birth": "expectant_mother",
    "marriage": "in_person_citizen",
    "disability": "in_person_citizen",
    "social-assistance": "in_person_citizen",
    "medical-reimbursement": "retiring_worker",
    "education": "expectant_father",
    "employment": "expectant_father",
    "household": "expectant_father",
    "housing": "expectant_father",
    "social-insurance": "expectant_father",
    "travel": "expectant_father",
}
# ... unless the item names its own applicant here.
PERSONA_BY_ITEM = {
    "330106-WJ-0003": "expectant_father",  # 生育登记: the demo guide has him apply
    "330106-SJ-0002": "business_owner",  # 个体工商户: a person item, no company
    "330106-ZR-0001": "retiring_worker",  # the seller, who holds the property certificate
    "330106-ZR-0003": "retiring_worker",  # 不动产登记资料查询 of his own home
    "330106-RS-0011": "expectant_father",  # 工伤认定 ("both"): the injured worker applies
    "330106-GA-0004": "in_person_citizen",  # 身份证补领 needs L3
}
ORGANISATION_PERSONA = "business_owner"


@dataclass
class Outcome:
    code: str
    name: str
    persona: str
    organisation: bool
    fields_without: int
    fields_with: int
    uploads_without: int
    uploads_with: int
    fields_remaining: list[str] = field(default_factory=list)
    fields_prefilled: list[str] = field(default_factory=list)
    # Required materials still to upload: those with a certificate type nobody (of
    # hers) holds a valid certificate of, and those no certificate type applies to.
    uploads_remaining_certificate_missing: list[str] = field(default_factory=list)
    uploads_remaining_no_certificate_type: list[str] = field(default_factory=list)
    level_raised: bool = False  # the persona's level was raised to the item's for the run


def persona_for(code: str, target: str, situations: Sequence[str]) -> str:
    if code in PERSONA_BY_ITEM:
        return PERSONA_BY_ITEM[code]
    if target == "organisation":
        return ORGANISATION_PERSONA
    for situation, persona in PERSONA_BY_SITUATION.items():
        if situation in situations:
            return persona
    return "expectant_father"


class _Rollback(Exception):
    pass


def item_outcome(code: str) -> Outcome:
    """Start the persona's draft of one item and count what is left to her; rolled back."""
    from django.db import transaction

    from yiwang.applications.prefill import form_prefill
    from yiwang.applications.services import application_draft_create
    from yiwang.catalog.models import ServiceItem
    from yiwang.demo.personas import COMPANY, persona_get
    from yiwang.identity.models import Organisation, User

    item = ServiceItem.objects.select_related("current_version").get(code=code)
    if item.current_version is None:
        raise ValueError(f"{code} has no published version")
    snapshot = item.current_version.snapshot
    situations = list(item.life_situations.values_list("code", flat=True))
    key = persona_for(code, item.target, situations)
    applicant = User.objects.get(id_number=persona_get(key).id_number)
    organisation = (
        Organisation.objects.get(uscc=COMPANY.uscc) if item.target == "organisation" else None
    )
    schema = (snapshot.get("form") or {}).get("schema") or snapshot.get("form_schema") or {}
    required_fields = list(schema.get("required", []))
    required_materials = [m for m in snapshot.get("materials", []) if m.get("required")]
    outcome = Outcome(
        code=code,
        name=snapshot.get("name", item.name),
        persona=key,
        organisation=organisation is not None,
        fields_without=len(required_fields),
        fields_with=0,
        uploads_without=len(required_materials),
        uploads_with=0,
    )
    try:
        with transaction.atomic():
            if applicant.assurance_level < item.min_assurance_level:
                # No demo persona of the right kind has the level: count as if she had it.
                applicant.assurance_level = item.min_assurance_level
                applicant.save(update_fields=["assurance_level"])
                outcome.level_raised = True
            prefilled = form_prefill(
                applicant=applicant, organisation=organisation, snapshot=snapshot
            )
            application = application_draft_create(
                applicant=applicant,
                item_code=code,
                organisation_id=organisation.pk if organisation else None,
                prefilled=prefilled,
            )
            attached = set(
                application.materials.filter(superseded_at__isnull=True).values_list(
                    "material_code", flat=True
                )
            )
            raise _Rollback
    except _Rollback:
        pass
    outcome.fields_prefilled = [name for name in required_fields if name in prefilled]
    outcome.fields_remaining = [name for name in required_fields if name not in prefilled]
    outcome.fields_with = len(outcome.fields_remaining)
    for material in required_materials:
        if material["code"] in attached:
            continue
        label = f"{material['code']} ({material['name']})"
        if material.get("certificate_type"):
            outcome.uploads_remaining_certificate_missing.append(
                f"{label} [{material['certificate_type']}]"
            )
        else:
            outcome.uploads_remaining_no_certificate_type.append(label)
    outcome.uploads_with = len(outcome.uploads_remaining_certificate_missing) + len(
        outcome.uploads_remaining_no_certificate_type
    )
    return outcome


def _sum(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {
        name: sum(row[name] for row in rows)
        for name in ("fields_without", "fields_with", "uploads_without", "uploads_with")
    }


def measure(smoke: bool) -> dict[str, Any]:
    from yiwang.catalog.models import LifeSituation, ServiceItem

    published = ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED)
    outcomes: dict[str, Outcome] = {}

    def outcome_of(code: str) -> Outcome:
        if code not in outcomes:
            outcomes[code] = item_outcome(code)
        return outcomes[code]

    items = [asdict(outcome_of(code)) for code in (SMOKE_ITEMS if smoke else TOP_ITEMS)]
    situations = []
    for situation in LifeSituation.objects.order_by("order", "code"):
        if smoke and situation.code not in SMOKE_SITUATIONS:
            continue
        codes = list(
            published.filter(life_situations=situation)
            .order_by("code")
            .values_list("code", flat=True)
        )
        rows = [asdict(outcome_of(code)) for code in codes]
        situations.append(
            {
                "code": situation.code,
                "name": situation.name,
                "target": situation.target,
                "items": [row["code"] for row in rows],
                "personas": sorted({row["persona"] for row in rows}),
                **_sum(rows),
            }
        )
    every = [asdict(outcome) for outcome in outcomes.values()]
    return {
        "top_items": items,
        "top_items_totals": _sum(items),
        "life_situations": situations,
        "items": sorted(every, key=lambda row: row["code"]),
    }


def _pad(text: str, width: int) -> str:
    """Left-aligned in ``width`` terminal columns: a Chinese character takes two."""
    wide = sum(unicodedata.east_asian_width(char) in "WF" for char in text)
    return text + " " * max(0, width - len(text) - wide)


def report(results: dict[str, Any]) -> str:
    def line(label: str, persona: str, row: dict[str, Any]) -> str:
        return (
            f"  {_pad(label, 40)}{persona:<22}{row['fields_without']:>6} → {row['fields_with']:<5}"
            f"{row['uploads_without']:>6} → {row['uploads_with']:<5}"
        )

    header = f"  {'':<40}{'persona':<22}{'typed fields':>13}{'uploads':>12}"
    lines = [
        "",
        "Yiwang 免填写、免提交 benchmark (required fields typed, required materials uploaded;",
        "without → with prefill and e-certificates)",
        f"  date      {results['date']}",
        "",
        "10 items (a stated list, not measured volumes)",
        header,
    ]
    for row in results["top_items"]:
        persona = row["persona"] + (" +org" if row["organisation"] else "")
        lines.append(line(f"{row['code']} {row['name'][:14]}", persona, row))
    lines.append(line("total", "", results["top_items_totals"]))
    lines += ["", "life situations (每个事项一次, summed)", header]
    for row in results["life_situations"]:
        label = f"{row['code']} {row['name']} ({len(row['items'])})"
        lines.append(line(label, f"{len(row['personas'])} persona(s)", row))
    lines += ["", "still typed / still uploaded, per item"]
    for row in results["items"]:
        lines.append(f"  {row['code']} {row['name']} — {row['persona']}")
        lines.append(f"      typed: {', '.join(row['fields_remaining']) or '—'}")
        missing = row["uploads_remaining_certificate_missing"]
        if missing:
            lines.append(f"      upload, no valid certificate of hers: {', '.join(missing)}")
        if row["uploads_remaining_no_certificate_type"]:
            lines.append(
                "      upload, no certificate type: "
                + ", ".join(row["uploads_remaining_no_certificate_type"])
            )
        if row["level_raised"]:
            lines.append("      (persona's assurance level raised to the item's for this count)")
    return "\n".join(lines)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="three items, one life situation")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway data directory")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    workdir = Path(tempfile.mkdtemp(prefix="yiwang-bench-certificates-"))
    saved = dict(os.environ)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "YIWANG_DATA_DIR")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        YIWANG_HTTPS="0",
        DEBUG="0",
        YIWANG_DATA_DIR=str(workdir),
    )
    try:
        os.environ.clear()
        os.environ.update(env)
        return _run(args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace) -> int:
    import django
    from django.core.management import call_command

    django.setup()
    logging.getLogger().setLevel(logging.WARNING)
    from yiwang.demo.loader import demo_load

    print("loading: migrations and the demo …", flush=True)
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    demo_load()
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} Python {platform.python_version()}",
        "smoke": args.smoke,
        "notes": [
            "typed fields: the form schema's top-level required list; conditional "
            "(allOf if/then) requirements are not counted",
            "10 items: a fixed list of the most-used services, not measured volumes",
        ],
        **measure(args.smoke),
    }
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
