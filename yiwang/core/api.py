"""API plumbing shared by every router: the error body, and the core endpoints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Field, Router, Schema
from ninja.throttling import AnonRateThrottle, UserRateThrottle

from yiwang.core import selectors
from yiwang.core.errors import NotFound
from yiwang.core.models import Region

# Regions are public reference data that address pickers query as the user types.
router = Router(tags=["regions"], throttle=[AnonRateThrottle("600/m"), UserRateThrottle("1200/m")])


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


def error_response(
    status: int, code: str, message: str, fields: Mapping[str, Sequence[Any]] | None = None
) -> HttpResponse:
    body = {
        "code": code,
        "message": message,
        "fields": {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()},
    }
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


_PYDANTIC_MESSAGES = {
    "missing": gettext_noop("This field is required."),
    "string_too_long": gettext_noop("This value is too long."),
    "string_too_short": gettext_noop("This value is too short."),
    "json_invalid": gettext_noop("The request body is not valid JSON."),
}


def pydantic_errors_to_fields(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Turn pydantic's error list into ``{field: [messages]}`` in the user's language."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        # The first remaining part is the payload's parameter name when the body is a schema.
        name = loc[-1] if loc else "__all__"
        kind = str(error.get("type", ""))
        message = _(_PYDANTIC_MESSAGES.get(kind, gettext_noop("Enter a valid value.")))
        fields.setdefault(name, []).append(message)
    return fields


class RegionOut(Schema):
    code: str = Field(description="6 digits (GB/T 2260) or 9 for a township", examples=["330106"])
    name: str = Field(examples=["西湖区"])
    level: int = Field(description="1 province, 2 city, 3 county, 4 township", examples=[3])
    parent_code: str | None = Field(examples=["330100"])
    full_name: str = Field(examples=["浙江省杭州市西湖区"])


class RegionDetailOut(RegionOut):
    ancestors: list[RegionOut] = Field(description="From the province down to the parent")


def _region_out(region: Region) -> RegionOut:
    return RegionOut(
        code=region.code,
        name=region.name,
        level=region.level,
        parent_code=region.parent.code if region.parent else None,
        full_name=region.full_name,
    )


@router.get(
    "/regions",
    response={200: list[RegionOut], 404: ErrorOut},
    auth=None,
    summary="Regions directly under a region, or the provinces",
)
def regions_children(request: HttpRequest, parent: str | None = None) -> list[RegionOut]:
    children = [_region_out(region) for region in selectors.regions_children(parent)]
    # An empty list is either a township (no children) or a code that does not exist.
    if not children and parent is not None and selectors.region_get(parent) is None:
        raise NotFound()
    return children


@router.get(
    "/regions/{code}",
    response={200: RegionDetailOut, 404: ErrorOut},
    auth=None,
    summary="One region, with its ancestors",
)
def region_get(request: HttpRequest, code: str) -> RegionDetailOut:
    region = selectors.region_get(code)
    if region is None:
        raise NotFound()
    *ancestors, _self = selectors.region_path(region)
    return RegionDetailOut(
        **_region_out(region).model_dump(),
        ancestors=[_region_out(ancestor) for ancestor in ancestors],
    )
