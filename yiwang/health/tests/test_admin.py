"""Django admin: rule sets are checked and tested on save and on activation."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from yiwang.health.models import HealthFact, RuleSet
from yiwang.health.tests.test_services import DEFINITION, broken_definition
from yiwang.identity.models import User


@pytest.fixture
def admin_client_(db: None) -> Client:
    user = User.objects.create_superuser("13800009999", "Correct-Horse-42")
    client = Client()
    client.force_login(user)
    return client


def test_adding_a_rule_set_with_failing_cases_shows_them_and_stores_nothing(
    admin_client_: Client,
) -> None:
    response = admin_client_.post(
        reverse("admin:health_ruleset_add"),
        {"definition": json.dumps(broken_definition(), ensure_ascii=False)},
    )
    assert response.status_code == 200
    assert "tests[6] close contact, 13 normal check-ins: still red" in response.content.decode()
    assert RuleSet.objects.count() == 0


def test_adding_a_valid_rule_set_makes_a_draft_and_the_action_activates_it(
    admin_client_: Client,
) -> None:
    response = admin_client_.post(
        reverse("admin:health_ruleset_add"),
        {"definition": json.dumps(DEFINITION, ensure_ascii=False)},
    )
    assert response.status_code == 302
    rule_set = RuleSet.objects.get()
    assert (rule_set.code, rule_set.version, rule_set.status) == ("hangzhou", 1, "draft")
    admin_client_.post(
        reverse("admin:health_ruleset_changelist"),
        {"action": "activate", "_selected_action": [rule_set.pk]},
    )
    rule_set.refresh_from_db()
    assert rule_set.status == "active"


def test_the_activate_action_refuses_a_version_whose_cases_fail(admin_client_: Client) -> None:
    # Stored without the admin's checks, as an old version might have been.
    draft = RuleSet.objects.create(
        code="hangzhou", version=1, name="x", definition=broken_definition(), digest="x"
    )
    response = admin_client_.post(
        reverse("admin:health_ruleset_changelist"),
        {"action": "activate", "_selected_action": [draft.pk]},
        follow=True,
    )
    assert "tests[6] close contact" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_an_active_version_cannot_be_edited(admin_client_: Client) -> None:
    active = RuleSet.objects.create(
        code="hangzhou", version=1, name="x", definition=DEFINITION, digest="x", status="active"
    )
    changed: Any = copy.deepcopy(DEFINITION)
    changed["description"] = "edited"  # valid: a draft would take it
    admin_client_.post(
        reverse("admin:health_ruleset_change", args=[active.pk]),
        {"definition": json.dumps(changed)},
    )
    active.refresh_from_db()
    assert active.definition["description"] == DEFINITION["description"]


def test_a_draft_can_be_edited_and_is_checked(admin_client_: Client) -> None:
    draft = RuleSet.objects.create(
        code="hangzhou", version=1, name="x", definition=DEFINITION, digest="x"
    )
    changed: Any = copy.deepcopy(DEFINITION)
    changed["description"] = "edited"
    response = admin_client_.post(
        reverse("admin:health_ruleset_change", args=[draft.pk]),
        {"definition": json.dumps(changed)},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.definition["description"] == "edited"
    changed["code"] = "shanghai"
    response = admin_client_.post(
        reverse("admin:health_ruleset_change", args=[draft.pk]),
        {"definition": json.dumps(changed)},
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.definition["code"] == "hangzhou"


def test_facts_are_read_only_in_admin(admin_client_: Client) -> None:
    fact = HealthFact.objects.create(
        id_number="x",
        kind="close_contact",
        observed_on="2022-04-01",
        source_department="d",
        source_registry="r",
    )
    assert admin_client_.get(reverse("admin:health_healthfact_add")).status_code == 403
    response = admin_client_.post(
        reverse("admin:health_healthfact_change", args=[fact.pk]), {"kind": "confirmed_case"}
    )
    assert response.status_code == 403
    fact.refresh_from_db()
    assert fact.kind == "close_contact"
