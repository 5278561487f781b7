"""A published subset of the real catalogue, with staff in the implementing departments."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.catalog.models import ServiceItem
from yiwang.catalog.services import catalog_load
from yiwang.core.models import Region
from yiwang.identity.models import Department, StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory, VerifiedUserFactory

CATALOG = Path(settings.BASE_DIR) / "catalog-data"
# 户口迁移 (licensing, full process), 社保卡申领 (confirmation), 医疗费用报销 (payment + DMN).
ITEMS = {
    "330106-GA-0006": "public_security",
    "330106-RS-0001": "human_resources",
    "330106-YB-0003": "medical_security",
}
DEPARTMENTS = {
    "330106-GA": ("杭州市公安局西湖区分局", Department.Kind.PUBLIC_SECURITY),
    "330106-RS": ("杭州市西湖区人力资源和社会保障局", Department.Kind.HUMAN_RESOURCES),
    "330106-YB": ("杭州市西湖区医疗保障局", Department.Kind.MEDICAL_SECURITY),
}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name: str = "材料.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture
def catalogue(regions, tmp_path, data_exchange) -> dict[str, ServiceItem]:
    xihu = Region.objects.get(code="330106")
    for code, (name, kind) in DEPARTMENTS.items():
        Department.objects.create(code=code, name=name, kind=kind, region=xihu)
    root = tmp_path / "catalog"
    root.mkdir()
    for name in ("certificate-types.toml", "life-situations.toml", "standards.toml"):
        shutil.copy(CATALOG / name, root / name)
    for folder in ("processes", "decisions"):
        shutil.copytree(CATALOG / folder, root / folder)
    (root / "forms").mkdir()
    for code, kind in ITEMS.items():
        source = CATALOG / "items" / kind / f"{code}.toml"
        (root / "items" / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy(source, root / "items" / kind / source.name)
        form = tomllib.loads(source.read_text())["form"]
        shutil.copy(CATALOG / "forms" / f"{form}.json", root / "forms" / f"{form}.json")
    catalog_load(root=root)
    return {item.code: item for item in ServiceItem.objects.all()}


@pytest.fixture
def staff(catalogue):
    """clerk / reviewer / approver / department_admin of each department."""
    people = {}
    for department in Department.objects.all():
        for role in StaffRole.Role.values:
            people[(department.code, role)] = StaffRoleFactory(
                department=department, role=role
            ).user
    return people


@pytest.fixture
def citizen():
    return VerifiedUserFactory()
