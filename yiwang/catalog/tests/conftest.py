from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from yiwang.catalog.services import CatalogLoadResult, catalog_load
from yiwang.core.models import Region
from yiwang.identity.models import Department

DATA = Path(__file__).parent / "data"

# The fixture catalogue's departments: (code, name, kind, region).
DEPARTMENTS = (
    ("330106-GA", "杭州市公安局西湖区分局", Department.Kind.PUBLIC_SECURITY, "330106"),
    ("330106-WJ", "杭州市西湖区卫生健康局", Department.Kind.HEALTH, "330106"),
    ("330100-SJ", "杭州市市场监督管理局", Department.Kind.MARKET_REGULATION, "330100"),
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages built outside a request are compared in their English source text."""
    with translation.override("en"):
        yield


@pytest.fixture
def departments(regions: None) -> dict[str, Department]:
    return {
        code: Department.objects.create(
            code=code, name=name, kind=kind, region=Region.objects.get(code=region)
        )
        for code, name, kind, region in DEPARTMENTS
    }


@pytest.fixture
def catalog_root(tmp_path: Path) -> Path:
    """A copy of the fixture catalogue that a test may change."""
    root = tmp_path / "catalog"
    shutil.copytree(DATA, root)
    return root


@pytest.fixture
def loaded(departments: dict[str, Department], catalog_root: Path) -> CatalogLoadResult:
    return catalog_load(root=catalog_root)
