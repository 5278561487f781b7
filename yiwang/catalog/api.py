"""Public JSON API of the service catalogue: browse, search and read a guide; the
life-event bundles (一件事) and the items they are made of."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.throttling import AnonRateThrottle, UserRateThrottle

from yiwang.catalog import selectors
from yiwang.catalog.models import ItemType, LifeEventBundle, ServiceItem
from yiwang.catalog.schemas import (
    DepartmentRefOut,
    LifeEventBundleFilters,
    LifeEventBundleOut,
    LifeEventBundlePartOut,
    LifeSituationFilters,
    LifeSituationOut,
    MaterialOut,
    ServiceItemDetailOut,
    ServiceItemFilters,
    ServiceItemOut,
    ServiceItemPageOut,
)
from yiwang.core.api import ErrorOut
from yiwang.core.errors import NotFound

# Public reference data, like the regions: search boxes query it as people type.
router = Router(
    tags=["catalogue"], throttle=[AnonRateThrottle("600/m"), UserRateThrottle("1200/m")]
)
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys((404, 422, 429), ErrorOut)


def _item_out(item: ServiceItem) -> ServiceItemOut:
    return ServiceItemOut(
        code=item.code,
        name=item.name,
        item_type=item.item_type,
        item_type_label=str(item.get_item_type_display()),
        department=DepartmentRefOut(code=item.department.code, name=item.department.name),
        region_code=item.region_code,
        target=item.target,
        summary=item.summary,
        promised_limit_days=item.promised_limit_days,
        legal_limit_days=item.legal_limit_days,
        visits_required=item.visits_required,
        online_depth=item.online_depth,
        cross_region=item.cross_region,
    )


@router.get(
    "/service-items",
    auth=None,
    response={200: ServiceItemPageOut, **ERRORS},
    summary="Search the published service items",
)
def service_items_published(
    request: HttpRequest, filters: Query[ServiceItemFilters]
) -> ServiceItemPageOut:
    items = selectors.service_items_published(
        department_code=filters.department,
        region_code=filters.region,
        life_situation=filters.situation,
        target=filters.target,
        query=filters.q,
        cross_region=filters.cross_region,
    )
    page = items[filters.offset : filters.offset + filters.limit]
    return ServiceItemPageOut(count=items.count(), items=[_item_out(item) for item in page])


@router.get(
    "/service-items/{code}",
    auth=None,
    response={200: ServiceItemDetailOut, **ERRORS},
    summary="The guide of one published item, with its materials and form",
)
def service_item_get(request: HttpRequest, code: str) -> ServiceItemDetailOut:
    item = selectors.service_item_get(code)
    if item is None or item.current_version is None:
        raise NotFound()
    version = item.current_version
    guide: dict[str, Any] = version.snapshot
    return ServiceItemDetailOut(
        code=guide["code"],
        name=guide["name"],
        version=version.number,
        published_at=version.published_at,
        standard_code=guide["standard"]["code"],
        standard_name=guide["standard"]["name"],
        item_type=guide["item_type"],
        item_type_label=str(ItemType(guide["item_type"]).label),
        department=DepartmentRefOut(**guide["department"]),
        region_code=guide["region"]["code"],
        region_name=guide["region"]["name"],
        target=guide["target"],
        summary=guide["summary"],
        legal_limit_days=guide["legal_limit_days"],
        promised_limit_days=guide["promised_limit_days"],
        visits_required=guide["visits_required"],
        online_depth=guide["online_depth"],
        fee=guide["fee"],
        legal_basis=guide["legal_basis"],
        conditions=guide["conditions"],
        procedure=guide["procedure"],
        cross_region=guide["cross_region"],
        min_assurance_level=guide["min_assurance_level"],
        life_situations=[s.code for s in item.life_situations.all()],
        materials=[MaterialOut(**m) for m in guide["materials"]],
        form_schema=guide["form"]["schema"],
        ui_schema=guide["form"]["ui"],
    )


@router.get(
    "/life-situations",
    auth=None,
    response={200: list[LifeSituationOut], **ERRORS},
    summary="Life situations (主题) and how many published items each has",
)
def life_situations(
    request: HttpRequest, filters: Query[LifeSituationFilters]
) -> list[LifeSituationOut]:
    return [
        LifeSituationOut(
            code=s.code, name=s.name, target=s.target, item_count=getattr(s, "item_count", 0)
        )
        for s in selectors.life_situations(filters.target)
    ]


def _bundle_out(bundle: LifeEventBundle, items: dict[str, ServiceItem]) -> LifeEventBundleOut:
    definition = bundle.definition
    parts = []
    for part in definition["parts"]:
        item = items[part["item"]]
        parts.append(
            LifeEventBundlePartOut(
                key=part["key"],
                item_code=item.code,
                item_name=item.name,
                department=DepartmentRefOut(code=item.department.code, name=item.department.name),
                published=(
                    item.status == ServiceItem.Status.PUBLISHED
                    and item.current_version_id is not None
                ),
                optional=part["optional"],
                conditional=bool(part["when"]),
                after=list(part["after"]),
            )
        )
    return LifeEventBundleOut(
        code=bundle.code,
        name=bundle.name,
        target=bundle.target,
        life_situation=definition.get("life_situation"),
        region_code=bundle.region_code,
        summary=bundle.summary,
        applicant_note=bundle.applicant_note,
        confirm_days=definition["confirm_days"],
        co_applicants=[entry["label"] for entry in definition.get("co_applicants", [])],
        parts=parts,
    )


@router.get(
    "/bundles",
    auth=None,
    response={200: list[LifeEventBundleOut], **ERRORS},
    summary="Life-event bundles (一件事) open for applications, with their services",
)
def bundles_published(
    request: HttpRequest, filters: Query[LifeEventBundleFilters]
) -> list[LifeEventBundleOut]:
    bundles = list(
        selectors.bundles_published(target=filters.target, life_situation=filters.situation)
    )
    items = selectors.bundle_part_items(bundles)
    return [_bundle_out(bundle, items) for bundle in bundles]


@router.get(
    "/bundles/{code}",
    auth=None,
    response={200: LifeEventBundleOut, **ERRORS},
    summary="One life-event bundle (一件事) with its services",
)
def bundle_get(request: HttpRequest, code: str) -> LifeEventBundleOut:
    bundle = selectors.bundle_get(code)
    if bundle is None:
        raise NotFound()
    return _bundle_out(bundle, selectors.bundle_part_items([bundle]))
