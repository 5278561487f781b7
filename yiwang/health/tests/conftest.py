"""Fixtures for health codes: the module switched on, the default rules, people, staff."""

from __future__ import annotations

import datetime
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from yiwang.health.services import health_rules_load
from yiwang.identity.models import Department, StaffRole
from yiwang.identity.tests.factories import DepartmentFactory, StaffRoleFactory, VerifiedUserFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DEFAULT_RULES = Path(django_settings.BASE_DIR) / "catalog-data" / "health-rules" / "hangzhou.json"


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    """These tests compare messages in the source language; the Chinese ones are checked
    for completeness by the translation test, and test_services reads one in Chinese."""
    with translation.override("en"):
        yield


def at(day: str, hour: int = 9, minute: int = 0) -> datetime.datetime:
    """A moment of a day in Hangzhou."""
    return datetime.datetime.combine(
        datetime.date.fromisoformat(day), datetime.time(hour, minute), tzinfo=SHANGHAI
    )


def day(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


@pytest.fixture(autouse=True)
def health_enabled(settings: Any) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = True


@pytest.fixture
def default_rules(db: None) -> Any:
    return health_rules_load(path=DEFAULT_RULES).rule_set


@pytest.fixture
def person(db: None) -> Any:
    return VerifiedUserFactory()


@pytest.fixture
def health_department(db: None) -> Department:
    return DepartmentFactory(code="330100-WJ", name="杭州市卫生健康委员会", kind="health")


@pytest.fixture
def health_staff(health_department: Department) -> Any:
    return StaffRoleFactory(department=health_department, role=StaffRole.Role.REVIEWER).user


@pytest.fixture
def health_admin(health_department: Department) -> Any:
    return StaffRoleFactory(department=health_department, role=StaffRole.Role.DEPARTMENT_ADMIN).user
