from __future__ import annotations

from django.db.models import QuerySet

from yiwang.core.models import Region, SmsOutboxMessage


def sms_outbox_recent(limit: int = 50) -> QuerySet[SmsOutboxMessage]:
    return SmsOutboxMessage.objects.order_by("-created_at", "-id")[:limit]


def region_get(code: str) -> Region | None:
    """The region with this code, with all its ancestors fetched in the same query."""
    # Four levels at most, so three parents: region_path() then needs no further query.
    return Region.objects.select_related("parent__parent__parent").filter(code=code).first()


def regions_children(parent_code: str | None) -> QuerySet[Region]:
    """The regions directly under ``parent_code``, or the provinces when it is None."""
    regions = Region.objects.select_related("parent").order_by("code")
    if parent_code is None:
        return regions.filter(parent__isnull=True)
    return regions.filter(parent__code=parent_code)


def region_path(region: Region) -> list[Region]:
    """The region's ancestors from its province down, followed by the region itself."""
    path = [region]
    ancestor = region.parent
    while ancestor is not None:
        path.insert(0, ancestor)
        ancestor = ancestor.parent
    return path
