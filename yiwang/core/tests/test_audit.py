"""The audit log: its hash chain, what records to it, and who may read it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from yiwang.core.audit import audit_record, audit_verify
from yiwang.core.errors import PermissionDenied
from yiwang.core.hashchain import GENESIS_HASH
from yiwang.core.models import AuditEntry, AuditHead
from yiwang.core.tests.concurrency import run_at_once
from yiwang.identity import services
from yiwang.identity.models import Department, StaffRole, User
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

pytestmark = pytest.mark.django_db


def entries(count: int, actor: User | None = None) -> list[AuditEntry]:
    return [
        audit_record(actor=actor, action="test.action", object_id=str(n), detail={"n": n})
        for n in range(1, count + 1)
    ]


def verify_command() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("audit_log_verify", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def superuser() -> User:
    return VerifiedUserFactory(is_staff=True, is_superuser=True)


# ---------------------------------------------------------------------------------------
# The chain


def test_entries_are_numbered_and_each_links_to_the_one_before():
    first, second, third = entries(3)

    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.entry_hash
    assert third.prev_hash == second.entry_hash
    assert AuditHead.objects.get().seq == 3
    assert AuditHead.objects.get().entry_hash == third.entry_hash
    result = audit_verify()
    assert (result.ok, result.entries, result.last_seq) == (True, 3, 3)


def test_the_verify_command_reports_an_intact_log():
    entries(2)

    out, err = verify_command()

    assert "2 entries (#1–#2)" in out
    assert "The audit log is intact." in out
    assert err == ""


def test_an_empty_log_is_intact():
    assert audit_verify().ok
    assert "empty" in verify_command()[0]


def test_an_altered_entry_is_found_and_named():
    entries(5)
    # Behind the platform's back (the model refuses to change an entry).
    AuditEntry.objects.filter(seq=3).update(detail={"n": 99})

    result = audit_verify()

    assert not result.ok
    assert (result.first_break.seq, result.first_break.kind) == (3, "altered")
    with pytest.raises(CommandError, match="from entry #3 on"):
        verify_command()


@pytest.mark.parametrize(
    "field", ["action", "object_id", "object_repr", "acting_for", "client_address"]
)
def test_a_change_to_any_hashed_text_is_found(field):
    entries(2)
    AuditEntry.objects.filter(seq=1).update(**{field: "changed"})

    assert (audit_verify().first_break.seq, audit_verify().first_break.kind) == (1, "altered")


def test_a_changed_actor_or_time_is_found():
    entries(2, actor=UserFactory())
    other = UserFactory()
    AuditEntry.objects.filter(seq=2).update(actor=other)

    assert audit_verify().first_break.seq == 2


def test_a_deleted_entry_in_the_middle_is_found():
    entries(5)
    AuditEntry.objects.filter(seq=2).delete()

    result = audit_verify()

    assert (result.first_break.seq, result.first_break.kind) == (3, "missing")
    assert "#2" in result.first_break.message


def test_deleted_entries_at_the_end_are_found_from_the_head():
    entries(5)
    AuditEntry.objects.filter(seq__gte=4).delete()

    result = audit_verify()

    assert (result.first_break.seq, result.first_break.kind) == (4, "head")


def test_a_rewritten_and_renumbered_chain_is_found_by_its_links():
    entries(4)
    # Entry 2 removed and the later ones renumbered to close the gap.
    AuditEntry.objects.filter(seq=2).delete()
    for seq in (3, 4):
        AuditEntry.objects.filter(seq=seq).update(seq=seq - 1)

    result = audit_verify()

    assert (result.first_break.seq, result.first_break.kind) == (2, "unlinked")


def test_an_entry_is_never_changed_or_deleted_through_the_model():
    entry = entries(1)[0]

    entry.action = "other"
    with pytest.raises(ValueError, match="never changed"):
        entry.save()
    with pytest.raises(ValueError, match="never deleted"):
        entry.delete()
    assert AuditEntry.objects.get().action == "test.action"


def test_personal_identifiers_in_texts_are_masked():
    entry = audit_record(
        actor=None,
        action="test.action",
        object_repr="申请人 13812345678 33010619900101123X",
        acting_for="line\nbreak",
    )

    assert entry.object_repr == "申请人 138****5678 3301**********123X"
    assert entry.acting_for == "line break"
    assert audit_verify().ok


def test_an_anonymous_actor_is_recorded_as_none():
    from django.contrib.auth.models import AnonymousUser

    entry = audit_record(actor=AnonymousUser(), action="test.action")

    assert entry.actor_id is None
    assert audit_verify().ok


# ---------------------------------------------------------------------------------------
# What is recorded


def test_every_django_admin_add_change_and_delete_is_recorded(hangzhou):
    admin = superuser()
    client = Client()
    client.force_login(admin)

    response = client.post(
        reverse("admin:identity_department_add"),
        {
            "code": "330100-AUD",
            "name": "杭州市审计局",
            "kind": "government_services",
            "region": hangzhou.pk,
            "uscc": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    department = Department.objects.get(code="330100-AUD")
    client.post(
        reverse("admin:identity_department_change", args=[department.pk]),
        {
            "code": "330100-AUD",
            "name": "杭州市审计局（改）",
            "kind": "government_services",
            "region": hangzhou.pk,
            "uscc": "",
            "is_active": "on",
        },
    )
    client.post(reverse("admin:identity_department_delete", args=[department.pk]), {"post": "yes"})

    recorded = list(AuditEntry.objects.filter(object_type="identity.department").order_by("seq"))
    assert [e.action for e in recorded] == ["admin.add", "admin.change", "admin.delete"]
    assert {e.actor_id for e in recorded} == {admin.pk}
    assert {e.object_id for e in recorded} == {str(department.pk)}
    assert recorded[1].detail == {"changes": [{"verb": "changed", "fields": ["Name"]}]}
    # Field names only, never the values.
    assert "审计局（改）" not in str(recorded[1].detail)
    assert audit_verify().ok


def test_a_bulk_delete_in_django_admin_records_each_object():
    admin = superuser()
    departments = DepartmentFactory.create_batch(3)
    client = Client()
    client.force_login(admin)

    client.post(
        reverse("admin:identity_department_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [d.pk for d in departments],
            "post": "yes",
        },
    )

    assert not Department.objects.filter(pk__in=[d.pk for d in departments]).exists()
    assert sorted(
        AuditEntry.objects.filter(action="admin.delete").values_list("object_id", flat=True)
    ) == sorted(str(d.pk) for d in departments)


def test_staff_role_grants_and_revocations_are_recorded():
    department = DepartmentFactory()
    admin = StaffRoleFactory(department=department, role=StaffRole.Role.DEPARTMENT_ADMIN).user
    person = VerifiedUserFactory()

    role = services.staff_role_grant(
        actor=admin, user=person, department=department, role="reviewer"
    )
    # Granting what is already held changes nothing and records nothing.
    services.staff_role_grant(actor=admin, user=person, department=department, role="reviewer")
    services.staff_role_revoke(actor=admin, staff_role=role)

    grant, revoke = AuditEntry.objects.filter(action__startswith="staff_role.").order_by("seq")
    for entry, action in ((grant, "staff_role.grant"), (revoke, "staff_role.revoke")):
        assert entry.action == action
        assert (entry.actor_id, entry.object_id) == (admin.pk, str(person.pk))
        assert entry.acting_for == f"department:{department.code}"
        assert entry.detail == {"department": department.code, "role": "reviewer"}


def test_a_refused_grant_records_nothing():
    department = DepartmentFactory()
    with pytest.raises(PermissionDenied):
        services.staff_role_grant(
            actor=VerifiedUserFactory(),
            user=VerifiedUserFactory(),
            department=department,
            role="clerk",
        )

    assert not AuditEntry.objects.exists()


def test_in_person_verification_by_a_clerk_is_recorded():
    clerk_role = StaffRoleFactory(role=StaffRole.Role.CLERK)
    person = VerifiedUserFactory()

    services.person_verify_in_person(
        staff=clerk_role.user,
        id_number=person.id_number,
        name=person.name,
        client_address="203.0.113.9",
    )

    entry = AuditEntry.objects.get(action="person.verify_in_person")
    assert (entry.actor_id, entry.object_id) == (clerk_role.user.pk, str(person.pk))
    assert entry.acting_for == f"department:{clerk_role.department.code}"
    assert entry.detail == {"assurance_level": 3}
    assert entry.client_address == "203.0.113.9"
    assert person.id_number not in entry.object_repr


# ---------------------------------------------------------------------------------------
# Who reads it


def test_superusers_read_the_log_in_django_admin_and_nobody_changes_it():
    entry = entries(1)[0]
    client = Client()
    client.force_login(superuser())

    assert client.get(reverse("admin:core_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:core_auditentry_change", args=[entry.pk])).status_code == 200
    assert client.get(reverse("admin:core_auditentry_add")).status_code == 403
    response = client.post(
        reverse("admin:core_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert AuditEntry.objects.count() == 1


def test_platform_staff_who_are_not_superusers_do_not_see_the_log():
    admin = VerifiedUserFactory(is_staff=True)
    client = Client()
    client.force_login(admin)

    assert client.get(reverse("admin:core_auditentry_changelist")).status_code == 403


# ---------------------------------------------------------------------------------------
# Concurrent appends


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_queue_behind_the_head_and_form_one_chain():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need a database server (run with DATABASE_URL on PostgreSQL)")
    audit_record(actor=None, action="test.first")
    writers = 8

    errors = run_at_once(
        writers,
        lambda n: audit_record(actor=None, action="test.concurrent", object_id=str(n)),
    )

    assert errors == []
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, writers + 2)
    )
    assert audit_verify().ok
