"""The demo catalogue in catalog-data/ loads: enough items, each with a guide that works."""

from __future__ import annotations

import pytest
from django.conf import settings

from yiwang.catalog.models import ServiceItem
from yiwang.catalog.services import catalog_load
from yiwang.core.models import Region
from yiwang.core.workflow import process_validate
from yiwang.demo.departments import DEPARTMENTS
from yiwang.identity.models import Department

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_departments(regions):
    for d in DEPARTMENTS:
        Department.objects.create(
            code=d.code,
            name=d.name,
            kind=d.kind,
            region=Region.objects.get(code=d.region_code),
            uscc=d.uscc,
        )


def test_the_real_catalogue_has_40_items_across_6_departments_each_usable(demo_departments):
    result = catalog_load(root=settings.BASE_DIR / "catalog-data")

    items = ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED).select_related(
        "current_version"
    )
    assert items.count() == result.items.total >= 40
    assert items.values("department").distinct().count() >= 6
    for item in items:
        snapshot = item.current_version.snapshot
        assert snapshot["materials"], item.code
        assert snapshot["form"]["schema"]["properties"], item.code
        process_validate(
            bpmn_xml=snapshot["bpmn_xml"],
            process_id=snapshot["process_id"],
            dmn_xmls=snapshot["dmn_xmls"],
        )
    again = catalog_load(root=settings.BASE_DIR / "catalog-data")
    assert (again.changed, again.versions_created) == (False, 0)
