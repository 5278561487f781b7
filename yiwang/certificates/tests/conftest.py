"""Fixtures for certificates: keys in a temporary folder, two types, their issuers."""

from __future__ import annotations

import pytest

from yiwang.certificates.models import CertificateType
from yiwang.identity.models import Department
from yiwang.identity.tests.factories import DepartmentFactory


@pytest.fixture(autouse=True)
def key_dir(settings, tmp_path):
    settings.CERTIFICATES_KEY_DIR = tmp_path / "certificates"
    settings.CERTIFICATES_PEER_DIR = tmp_path / "peers"
    return settings.CERTIFICATES_KEY_DIR


@pytest.fixture
def marriage_type(db):
    return CertificateType.objects.create(
        code="CT-JHZ",
        name="结婚证",
        issuer_kind=Department.Kind.CIVIL_AFFAIRS,
        holder="person",
        fields=["name", "id_number", "spouse_name", "spouse_id_number", "registered_on"],
    )


@pytest.fixture
def licence_type(db):
    return CertificateType.objects.create(
        code="CT-YYZZ",
        name="营业执照",
        issuer_kind=Department.Kind.MARKET_REGULATION,
        holder="organisation",
        fields=["name", "uscc", "legal_representative", "registered_capital", "established_on"],
    )


@pytest.fixture
def civil_affairs(db, uscc_factory):
    return DepartmentFactory(
        code="330106-MZ",
        name="杭州市西湖区民政局",
        kind=Department.Kind.CIVIL_AFFAIRS,
        uscc=uscc_factory(kind="11", serial="002504301"),
    )


@pytest.fixture
def market_regulation(db, uscc_factory):
    return DepartmentFactory(
        code="330106-SJ",
        name="杭州市西湖区市场监督管理局",
        kind=Department.Kind.MARKET_REGULATION,
        uscc=uscc_factory(kind="11", serial="MB1957911"),
    )
