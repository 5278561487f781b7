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
def catalogue(regions, tmp_path, data_exchange, uscc_factory) -> dict[str, ServiceItem]:
    xihu = Region.objects.get(code="330106")
    # Departments that issue certificates are legal persons with credit codes.
    for index, (code, (name, kind)) in enumerate(DEPARTMENTS.items()):
        Department.objects.create(
            code=code,
            name=name,
            kind=kind,
            region=xihu,
            uscc=uscc_factory(kind="11", serial=f"00260{index:04d}"),
        )
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


PERMIT = "330106-GA-0005"  # 居住证申领: issues CT-JZZ 居住证


@pytest.fixture
def permit_catalogue(regions, tmp_path, data_exchange, uscc_factory):
    Department.objects.create(
        code="330106-GA",
        name="杭州市公安局西湖区分局",
        kind=Department.Kind.PUBLIC_SECURITY,
        region=Region.objects.get(code="330106"),
        uscc=uscc_factory(kind="11", serial="002508811"),
    )
    root = tmp_path / "catalog"
    (root / "items" / "public_security").mkdir(parents=True)
    (root / "forms").mkdir()
    for name in ("certificate-types.toml", "life-situations.toml", "standards.toml"):
        shutil.copy(CATALOG / name, root / name)
    for folder in ("processes", "decisions"):
        shutil.copytree(CATALOG / folder, root / folder)
    shutil.copy(
        CATALOG / "items" / "public_security" / f"{PERMIT}.toml", root / "items" / "public_security"
    )
    shutil.copy(CATALOG / "forms" / "residence-permit.json", root / "forms")
    catalog_load(root=root)


@pytest.fixture
def police():
    department = Department.objects.get(code="330106-GA")
    return {
        ("330106-GA", role): StaffRoleFactory(department=department, role=role).user
        for role in StaffRole.Role.values
    }


def permit_form(citizen):
    return {
        "applicant_name": citizen.name,
        "applicant_id_number": citizen.id_number,
        "applicant_phone": "13800000011",
        "gender": "F",
        "household_address": "浙江省温州市鹿城区五马街道解放街12号",
        "residence_address": "浙江省杭州市西湖区文三路477号3幢501室",
        "residence_since": "2025-03-01",
        "residence_basis": "residence",
        "housing_type": "rented",
        "delivery_method": "window",
        "declaration": True,
    }
