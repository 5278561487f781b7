"""Health staff's appeals workbench: who may open it, the queue across regions, one
appeal with masked identity and audit, and its resolution."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from yiwang.core.models import AuditEntry
from yiwang.health.models import HealthAppeal, HealthStatus
from yiwang.health.services import health_appeal_resolve, health_appeal_submit
from yiwang.health.tests.test_views import (
    client_for,
    field_errors,
    html,
    page_errors,
    record_close_contact,
    text,
)
from yiwang.identity.models import StaffRole, User
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    VerifiedUserFactory,
    region,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def appeal(person: User, default_rules: Any, health_department: Any) -> HealthAppeal:
    record_close_contact(person)
    return health_appeal_submit(person=person, reason="我与该病例不在同一时空。")


@pytest.fixture
def beijing_health_staff(db: None) -> User:
    """Staff of a health department far from Hangzhou, where the person lives."""
    department = DepartmentFactory(
        code="110100-WJ", name="北京市卫生健康委员会", kind="health", region=region("110100")
    )
    return StaffRoleFactory(department=department, role=StaffRole.Role.REVIEWER).user


URLS = [
    ("get", "health_staff:appeals", False),
    ("get", "health_staff:appeals_resolved", False),
    ("get", "health_staff:appeal_detail", True),
    ("post", "health_staff:appeal_resolve", True),
]


@pytest.mark.parametrize(("method", "name", "with_id"), URLS)
def test_anonymous_visitors_are_sent_to_the_login(
    method: str, name: str, with_id: bool, appeal: HealthAppeal
) -> None:
    url = reverse(name, args=[appeal.pk] if with_id else [])
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


@pytest.mark.parametrize(("method", "name", "with_id"), URLS)
def test_citizens_and_other_departments_staff_get_403(
    method: str, name: str, with_id: bool, appeal: HealthAppeal
) -> None:
    url = reverse(name, args=[appeal.pk] if with_id else [])
    other_staff = StaffRoleFactory(role=StaffRole.Role.REVIEWER).user  # public security
    for user in (VerifiedUserFactory(), other_staff):
        response = getattr(client_for(user), method)(url, {"outcome": "uphold", "comment": "x"})
        assert response.status_code == 403
    assert HealthAppeal.objects.get().status == "open"
    assert not AuditEntry.objects.filter(action__startswith="health.appeal").exists()


def test_while_switched_off_the_workbench_says_not_in_use(
    health_staff: User, settings: Any
) -> None:
    settings.HEALTH_EMERGENCY_ENABLED = False
    response = client_for(health_staff).get(reverse("health_staff:appeals"))
    assert response.status_code == 200
    assert "Health codes are not in use at present." in text(response)


def test_the_queue_shows_open_appeals_from_anywhere_masked_and_audited(
    appeal: HealthAppeal, beijing_health_staff: User, person: User
) -> None:
    response = client_for(beijing_health_staff).get(reverse("health_staff:appeals"))
    assert response.status_code == 200
    assert re.findall(r'data-appeal="(\d+)"', html(response)) == [str(appeal.pk)]
    masked = (person.name or "")[0] + "*" * (len(person.name or "") - 1)
    assert masked in text(response)
    assert (person.name or "") not in text(response)
    assert "You are recorded as a close contact of a case." in text(response)
    entry = AuditEntry.objects.get(action="health.appeals_list")
    assert (entry.actor_id, entry.detail) == (
        beijing_health_staff.pk,
        {"list": "open", "appeals": [appeal.pk]},
    )


def test_an_appeal_shows_the_masked_person_the_rule_inputs_and_history(
    appeal: HealthAppeal, health_staff: User, person: User
) -> None:
    response = client_for(health_staff).get(reverse("health_staff:appeal_detail", args=[appeal.pk]))
    assert response.status_code == 200
    id_number = person.id_number or ""
    masked_id = id_number[:4] + "*" * 10 + id_number[-4:]
    assert f'data-testid="person-id-number">{masked_id}</dd>' in html(response)
    assert id_number not in html(response)
    page = text(response)
    assert "red.close_contact" in page
    assert "Source：杭州市卫生健康委员会 · 流调系统" in page
    assert "我与该病例不在同一时空。" in page
    status = HealthStatus.objects.get(person=person)
    assert re.findall(r'class="timeline-entry" data-status="(\d+)"', html(response)) == [
        str(status.pk)
    ]
    # The form proposes every fact behind the colour for setting aside.
    assert re.findall(r'name="set_aside" value="([^"]+)"[^>]*checked', html(response)) == [
        status.inputs[0]["ref"]
    ]
    entry = AuditEntry.objects.get(action="health.appeal_read")
    assert (entry.actor_id, entry.object_id, entry.detail) == (
        health_staff.pk,
        str(appeal.pk),
        {"person": person.pk, "status": "open"},
    )


def test_an_unknown_appeal_is_not_found(health_staff: User) -> None:
    response = client_for(health_staff).get(reverse("health_staff:appeal_detail", args=[999]))
    assert response.status_code == 404
    response = client_for(health_staff).post(
        reverse("health_staff:appeal_resolve", args=[999]), {"outcome": "uphold", "comment": "x"}
    )
    assert response.status_code == 404


def test_staff_of_another_region_correct_the_colour(
    appeal: HealthAppeal, beijing_health_staff: User, person: User
) -> None:
    ref = HealthStatus.objects.get(person=person).inputs[0]["ref"]
    response = client_for(beijing_health_staff).post(
        reverse("health_staff:appeal_resolve", args=[appeal.pk]),
        {"outcome": "correct", "colour": "green", "set_aside": [ref], "comment": "经核实非密接"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("health_staff:appeals")
    appeal.refresh_from_db()
    assert (appeal.status, appeal.resolved_by, appeal.resolution_comment) == (
        "corrected",
        beijing_health_staff,
        "经核实非密接",
    )
    current = HealthStatus.objects.filter(person=person).order_by("-created_at", "-id").first()
    assert current is not None
    assert (current.colour, current.source, current.set_aside) == ("green", "correction", [ref])
    assert AuditEntry.objects.filter(action="health.appeal_correct").count() == 1
    resolved = client_for(beijing_health_staff).get(reverse("health_staff:appeals_resolved"))
    assert re.findall(r'data-appeal="(\d+)"', html(resolved)) == [str(appeal.pk)]
    assert 'data-status="corrected"' in html(resolved)


def test_a_correction_to_a_more_severe_colour_is_a_field_error(
    appeal: HealthAppeal, health_staff: User
) -> None:
    response = client_for(health_staff).post(
        reverse("health_staff:appeal_resolve", args=[appeal.pk]),
        {"outcome": "correct", "colour": "red", "comment": "x"},
    )
    assert response.status_code == 422
    assert field_errors(response) == {
        "colour": [
            "A correction makes the colour less severe; to make it more severe, record the "
            "fact that justifies it."
        ],
        "set_aside": [
            "Set aside at least one fact or declaration, or the rules give the same colour "
            "again at the next check-in."
        ],
    }
    assert HealthAppeal.objects.get().status == "open"


def test_a_missing_decision_and_comment_are_form_errors(
    appeal: HealthAppeal, health_staff: User
) -> None:
    response = client_for(health_staff).post(
        reverse("health_staff:appeal_resolve", args=[appeal.pk]), {}
    )
    assert response.status_code == 422
    assert field_errors(response) == {
        "outcome": ["This field is required."],
        "comment": ["This field is required."],
    }


def test_resolving_twice_is_a_conflict_shown_on_the_page(
    appeal: HealthAppeal, health_staff: User
) -> None:
    health_appeal_resolve(appeal=appeal, staff=health_staff, outcome="uphold", comment="属实")
    response = client_for(health_staff).post(
        reverse("health_staff:appeal_resolve", args=[appeal.pk]),
        {"outcome": "uphold", "comment": "再次"},
    )
    assert response.status_code == 409
    assert page_errors(response) == ["This appeal has already been resolved."]
    assert HealthAppeal.objects.get().resolution_comment == "属实"
