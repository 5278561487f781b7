from __future__ import annotations

import pytest
from django.test import Client

from yiwang.applications.models import Application, WorkTask
from yiwang.applications.tests.conftest import PDF
from yiwang.applications.tests.test_services import MIGRATION, migration_form
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, application_id, code):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        f"/api/v1/applications/{application_id}/materials",
        {"material_code": code, "file": SimpleUploadedFile(f"{code}.pdf", PDF, "application/pdf")},
    )


def submit_through_api(citizen) -> dict:
    client = client_for(citizen)
    response = client.post(
        "/api/v1/applications",
        {"item_code": MIGRATION, "form_data": migration_form(citizen)},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="same-key",
    )
    assert response.status_code == 201, response.json()
    application_id = response.json()["id"]
    for code in ("id-card", "household-register"):
        assert upload(client, application_id, code).status_code == 201
    response = client.post(
        f"/api/v1/applications/{application_id}/submit", content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def staff_step(staff_user, task_name, outcome, **extra) -> dict:
    client = client_for(staff_user)
    tasks = client.get("/api/v1/workbench/tasks").json()
    task = next(t for t in tasks if t["task_name"] == task_name)
    response = client.post(
        f"/api/v1/workbench/tasks/{task['id']}/complete",
        {"outcome": outcome, **extra},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_an_application_goes_from_submission_to_completion_through_the_api(
    catalogue, staff, citizen
):
    submitted = submit_through_api(citizen)
    assert submitted["status"] == "submitted"
    assert submitted["number"].startswith("330106GA")

    staff_step(
        staff[("330106-GA", "clerk")],
        "accept",
        "supplement",
        supplement_items=[
            {"material": "target-household-register", "reason": "请提供拟迁入户户口簿"}
        ],
    )
    client = client_for(citizen)
    detail = client.get(f"/api/v1/applications/{submitted['id']}").json()
    assert detail["status"] == "supplement_requested"
    assert detail["supplement_requests"][0]["items"][0]["reason"] == "请提供拟迁入户户口簿"
    assert upload(client, submitted["id"], "target-household-register").status_code == 201
    assert (
        client.post(
            f"/api/v1/applications/{submitted['id']}/resubmit", {}, content_type="application/json"
        ).json()["status"]
        == "submitted"
    )

    staff_step(staff[("330106-GA", "clerk")], "accept", "accept")
    staff_step(staff[("330106-GA", "reviewer")], "review", "pass")
    staff_step(staff[("330106-GA", "approver")], "decide", "grant", comment="准予")
    done = staff_step(staff[("330106-GA", "clerk")], "deliver", "delivered")

    assert done["status"] == "completed"
    timeline = client.get(f"/api/v1/applications/{submitted['id']}").json()["timeline"]
    assert [e["action"] for e in timeline] == [
        "draft",
        "submit",
        "accept:supplement",
        "resubmit",
        "accept:accept",
        "review:pass",
        "decide:grant",
        "deliver:delivered",
    ]
    # The applicant sees the acting role, never the staff member's name.
    assert {e["actor"] for e in timeline} == {""}


def test_creating_twice_with_the_same_idempotency_key_gives_one_draft(catalogue, citizen):
    client = client_for(citizen)
    body = {"item_code": MIGRATION, "form_data": {}}

    first = client.post(
        "/api/v1/applications", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    second = client.post(
        "/api/v1/applications", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert first.json()["id"] == second.json()["id"]
    assert Application.objects.count() == 1


def test_submitting_invalid_data_gives_field_errors_in_chinese(catalogue, citizen):
    client = client_for(citizen)
    form = {**migration_form(citizen), "applicant_phone": "12"}
    created = client.post(
        "/api/v1/applications",
        {"item_code": MIGRATION, "form_data": form},
        content_type="application/json",
    ).json()

    response = client.post(
        f"/api/v1/applications/{created['id']}/submit", content_type="application/json"
    )

    assert response.status_code == 422
    fields = response.json()["fields"]
    assert set(fields) == {"applicant_phone", "materials"}
    assert fields["applicant_phone"] == ["申请人联系电话的格式不正确。"]


def test_a_wrong_file_type_is_a_422_on_the_file_field(catalogue, citizen):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(citizen)
    created = client.post(
        "/api/v1/applications", {"item_code": MIGRATION}, content_type="application/json"
    ).json()

    response = client.post(
        f"/api/v1/applications/{created['id']}/materials",
        {
            "material_code": "id-card",
            "file": SimpleUploadedFile("x.gif", b"GIF89a....", "image/gif"),
        },
    )

    assert response.status_code == 422
    assert response.json()["code"] == "file_type"


def test_another_citizen_gets_404_for_my_application(catalogue, citizen):
    submitted = submit_through_api(citizen)
    other = client_for(VerifiedUserFactory())

    assert other.get(f"/api/v1/applications/{submitted['id']}").status_code == 404
    assert (
        other.post(
            f"/api/v1/applications/{submitted['id']}/withdraw", {}, content_type="application/json"
        ).status_code
        == 404
    )


def test_staff_of_another_department_neither_see_nor_act_on_the_task(catalogue, staff, citizen):
    submit_through_api(citizen)
    task = WorkTask.objects.get(task_name="accept")
    outsider = client_for(staff[("330106-RS", "clerk")])

    assert outsider.get("/api/v1/workbench/tasks").json() == []
    response = outsider.post(
        f"/api/v1/workbench/tasks/{task.pk}/complete",
        {"outcome": "accept"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert outsider.get(f"/api/v1/workbench/applications/{task.application_id}").status_code == 404


def test_a_reviewer_of_the_same_department_acting_on_the_clerks_task_is_a_403(
    catalogue, staff, citizen
):
    submit_through_api(citizen)
    task = WorkTask.objects.get(task_name="accept")

    response = client_for(staff[("330106-GA", "reviewer")]).post(
        f"/api/v1/workbench/tasks/{task.pk}/complete",
        {"outcome": "accept"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_acting_in_the_wrong_state_is_a_409(catalogue, staff, citizen):
    submitted = submit_through_api(citizen)
    task = WorkTask.objects.get(task_name="accept")
    client_for(citizen).post(
        f"/api/v1/applications/{submitted['id']}/withdraw",
        {"reason": "x"},
        content_type="application/json",
    )

    response = client_for(staff[("330106-GA", "clerk")]).post(
        f"/api/v1/workbench/tasks/{task.pk}/complete",
        {"outcome": "accept"},
        content_type="application/json",
    )

    assert response.status_code in (404, 409)


def test_claiming_twice_by_two_clerks_lets_the_first_win(catalogue, staff, citizen):
    from yiwang.identity.models import StaffRole

    submit_through_api(citizen)
    task = WorkTask.objects.get(task_name="accept")
    second_clerk = VerifiedUserFactory()
    StaffRole.objects.create(user=second_clerk, department=task.department, role="clerk")

    first = client_for(staff[("330106-GA", "clerk")]).post(
        f"/api/v1/workbench/tasks/{task.pk}/claim"
    )
    second = client_for(second_clerk).post(f"/api/v1/workbench/tasks/{task.pk}/claim")

    assert first.status_code == 200
    assert second.status_code == 409


def test_the_inbox_lists_messages_and_marks_them_read(catalogue, citizen):
    submit_through_api(citizen)
    client = client_for(citizen)

    messages = client.get("/api/v1/notifications?unread=true").json()
    assert len(messages) == 1
    assert client.post(f"/api/v1/notifications/{messages[0]['id']}/read").status_code == 204
    assert client.get("/api/v1/notifications?unread=true").json() == []


def test_the_task_list_of_a_role_needs_no_query_per_task(
    catalogue, staff, django_assert_max_num_queries
):
    for _ in range(3):
        submit_through_api(VerifiedUserFactory())
    client = client_for(staff[("330106-GA", "clerk")])

    with django_assert_max_num_queries(8):
        tasks = client.get("/api/v1/workbench/tasks?role=clerk").json()

    assert len(tasks) == 3


def test_a_department_admin_extends_the_time_limit_through_the_api(catalogue, staff, citizen):
    submitted = submit_through_api(citizen)
    staff_step(staff[("330106-GA", "clerk")], "accept", "accept")

    refused = client_for(staff[("330106-GA", "reviewer")]).post(
        f"/api/v1/workbench/applications/{submitted['id']}/extend",
        {"reason": "x"},
        content_type="application/json",
    )
    response = client_for(staff[("330106-GA", "department_admin")]).post(
        f"/api/v1/workbench/applications/{submitted['id']}/extend",
        {"reason": "需组织听证"},
        content_type="application/json",
    )

    assert refused.status_code == 403
    assert response.status_code == 200
    assert Application.objects.get(pk=submitted["id"]).extended_days == 10
