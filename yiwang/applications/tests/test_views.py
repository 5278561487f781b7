from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve, reverse

from yiwang.applications.models import (
    Application,
    ApplicationMaterial,
    Notification,
    Status,
    WorkTask,
)
from yiwang.catalog.models import Material, ServiceItem, ServiceStandard
from yiwang.catalog.services import service_item_publish
from yiwang.identity.models import Department, Organisation, StaffRole, User
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    VerifiedUserFactory,
)

pytestmark = pytest.mark.django_db

PROCESS = Path(settings.BASE_DIR) / "catalog-data" / "processes" / "licensing-standard.bpmn"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "applicant_name": {"type": "string", "title": "申请人姓名", "minLength": 2},
        "gender": {"type": "string", "title": "性别", "enum": ["male", "female"]},
        "birth_date": {"type": "string", "title": "出生日期", "format": "date"},
        "shop_kind": {
            "type": "string",
            "title": "经营类别",
            "enum": ["food", "drink"],
            "description": "按营业执照填写",
        },
        "floor_area": {"type": "number", "title": "经营面积（平方米）", "minimum": 1},
        "staff_count": {"type": "integer", "title": "从业人数", "minimum": 1},
        "reason": {"type": "string", "title": "申请事由"},
        "promise": {"type": "boolean", "title": "承诺所填信息真实"},
    },
    "required": ["applicant_name", "gender", "birth_date", "staff_count"],
}
UI: dict[str, Any] = {
    "ui:order": [
        "applicant_name",
        "gender",
        "birth_date",
        "shop_kind",
        "floor_area",
        "staff_count",
        "reason",
        "promise",
    ],
    "gender": {"ui:widget": "radio", "enumNames": ["男", "女"]},
    "shop_kind": {"ui:widget": "select", "enumNames": ["餐饮", "饮品"]},
    "reason": {"ui:widget": "textarea", "ui:placeholder": "请简要说明", "ui:help": "不超过200字"},
}
# The order ui:order gives (PostgreSQL keeps no key order in the schema itself).
FIELD_ORDER = [
    "applicant_name",
    "gender",
    "birth_date",
    "shop_kind",
    "floor_area",
    "staff_count",
    "reason",
    "promise",
]
VALID = {
    "applicant_name": "张三",
    "gender": "female",
    "birth_date": "1990-01-01",
    "shop_kind": "food",
    "floor_area": "35.5",
    "staff_count": "3",
    "reason": "开店",
    "promise": "on",
}


def field_error(response: Any, field: str) -> list[str]:
    """The messages shown beside one field (Django renders them with the field's id)."""
    match = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode()
    )
    return re.findall(r"<li>([^<]+)</li>", match.group(1)) if match else []


def queue_numbers(response: Any) -> list[str]:
    """The application numbers listed in a workbench queue."""
    return re.findall(r'<a href="/workbench/tasks/\d+/">(\w+)</a>', response.content.decode())


def page_errors(response: Any) -> list[str]:
    match = re.search(
        r'<div class="form-errors" role="alert" id="page-errors">(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    return re.findall(r"<p>([^<]+)</p>", match.group(1)) if match else []


@pytest.fixture
def department() -> Department:
    return DepartmentFactory(code="330106-SJ", name="西湖区市场监督管理局")


@pytest.fixture
def item(department: Department) -> ServiceItem:
    """A published licensing item running the standard licensing process."""
    standard = ServiceStandard.objects.create(
        code="000109001000",
        name="食品经营许可",
        item_type="licensing",
        department_kind="market_regulation",
    )
    item = ServiceItem.objects.create(
        code="330106-SJ-0001",
        standard=standard,
        name="食品经营许可证核发",
        item_type="licensing",
        department=department,
        region_code="330106",
        target="both",
        legal_limit_days=20,
        promised_limit_days=10,
        form_schema=SCHEMA,
        ui_schema=UI,
        bpmn_xml=PROCESS.read_text(encoding="utf-8"),
        bpmn_process_id="licensing_standard",
    )
    Material.objects.create(
        item=item, code="licence", name="营业执照", form="copy", required=True, order=0
    )
    Material.objects.create(
        item=item,
        code="floor-plan",
        name="经营场所平面图",
        form="original",
        required=True,
        order=1,
    )
    Material.objects.create(
        item=item,
        code="health-cert",
        name="从业人员健康证明",
        form="copy",
        required=False,
        condition="从业人员超过 5 人时提供",
        order=2,
    )
    service_item_publish(item=item, actor=None)
    return item


@pytest.fixture
def citizen() -> User:
    return VerifiedUserFactory(name="李小梅")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff(department: Department, role: str, name: str = "王五") -> User:
    return StaffRoleFactory(department=department, role=role, user__name=name).user


def draft_of(
    client: Client, item: ServiceItem, data: dict[str, str] | None = None, key: str = "k1"
) -> Application:
    response = client.post(
        reverse("applications:new", args=[item.code]),
        {**(VALID if data is None else data), "idempotency_key": key, "action": "save"},
    )
    assert response.status_code == 302, response.content.decode()
    return Application.objects.get(pk=resolve(response["Location"]).kwargs["application_id"])


def upload(
    client: Client,
    application: Application,
    code: str,
    content: bytes = PDF,
    name: str = "scan.pdf",
) -> Any:
    return client.post(
        reverse("applications:material_upload", args=[application.pk]),
        {"material_code": code, "file": SimpleUploadedFile(name, content)},
    )


def submitted_of(client: Client, item: ServiceItem) -> Application:
    application = draft_of(client, item)
    assert upload(client, application, "licence").status_code == 302
    assert upload(client, application, "floor-plan", PNG, "plan.png").status_code == 302
    response = client.post(
        reverse("applications:edit", args=[application.pk]), {**VALID, "action": "submit"}
    )
    assert response.status_code == 302, response.content.decode()
    application.refresh_from_db()
    return application


def open_task(application: Application, name: str) -> WorkTask:
    return WorkTask.objects.get(application=application, task_name=name, state="open")


def complete(client: Client, task: WorkTask, **data: str) -> Any:
    return client.post(reverse("applications:task_complete", args=[task.pk]), data)


# ---------------------------------------------------------------------------------------
# Applying


def test_apply_page_renders_every_schema_field_with_its_chinese_label(citizen, item):
    response = client_for(citizen).get(reverse("applications:new", args=[item.code]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>申请：食品经营许可证核发</h1>" in html
    labels = re.findall(r'<label for="id_(\w+)"[^>]*>([^<]+)', html)
    assert labels == [
        ("applicant_name", "申请人姓名"),
        ("birth_date", "出生日期"),
        ("shop_kind", "经营类别"),
        ("floor_area", "经营面积（平方米）"),
        ("staff_count", "从业人数"),
        ("reason", "申请事由"),
        ("promise", "承诺所填信息真实"),
    ]
    # The radio group is a fieldset whose legend is the title; its options use enumNames.
    assert re.search(r"<legend>性别<span class=\"required-mark\"", html)
    assert re.findall(r'<input type="radio" name="gender" value="(\w+)"', html) == [
        "male",
        "female",
    ]
    assert re.search(r'value="male"[^>]*>\s*男</label>', html)
    assert '<option value="food">餐饮</option>' in html
    assert re.search(r'<input type="date" name="birth_date"[^>]*aria-required="true"', html)
    assert re.search(r'<input type="number" name="staff_count"[^>]*step="1"', html)
    assert re.search(r'<input type="number" name="floor_area"[^>]*step="any"', html)
    assert re.search(r'<textarea name="reason"[^>]*placeholder="请简要说明"', html)
    assert re.search(r'<input type="checkbox" name="promise"', html)
    assert "按营业执照填写" in html
    assert "不超过200字" in html
    assert re.search(r'<input type="hidden" name="idempotency_key" value="[0-9a-f]{32}"', html)
    assert "保存草稿" in html


def test_each_apply_page_carries_a_new_idempotency_key(citizen, item):
    client = client_for(citizen)
    url = reverse("applications:new", args=[item.code])
    pattern = r'name="idempotency_key" value="([0-9a-f]{32})"'

    first = re.search(pattern, client.get(url).content.decode()).group(1)
    second = re.search(pattern, client.get(url).content.decode()).group(1)

    assert first != second


def test_saving_the_apply_form_stores_values_in_the_schema_types(citizen, item):
    application = draft_of(client_for(citizen), item)

    assert application.status == Status.DRAFT
    assert application.form_data == {
        "applicant_name": "张三",
        "gender": "female",
        "birth_date": "1990-01-01",
        "shop_kind": "food",
        "floor_area": 35.5,
        "staff_count": 3,
        "reason": "开店",
        "promise": True,
    }


def test_saving_the_apply_form_redirects_to_the_draft_page(citizen, item):
    client = client_for(citizen)
    response = client.post(
        reverse("applications:new", args=[item.code]),
        {**VALID, "idempotency_key": "k1", "action": "save"},
    )

    application = Application.objects.get()
    assert response["Location"] == reverse("applications:edit", args=[application.pk])


def test_posting_the_apply_form_twice_with_the_same_key_creates_one_draft(citizen, item):
    client = client_for(citizen)
    url = reverse("applications:new", args=[item.code])

    first = client.post(url, {**VALID, "idempotency_key": "same", "action": "save"})
    second = client.post(
        url, {**VALID, "staff_count": "4", "idempotency_key": "same", "action": "save"}
    )

    application = Application.objects.get()
    assert first["Location"] == second["Location"]
    assert application.form_data["staff_count"] == 4


def test_apply_page_of_an_unknown_item_is_404(citizen, item):
    response = client_for(citizen).get(reverse("applications:new", args=["330106-SJ-9999"]))

    assert response.status_code == 404


def test_apply_page_needs_login(item):
    response = Client().get(reverse("applications:new", args=[item.code]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_apply_page_offers_the_organisations_the_user_represents(citizen, item, uscc_factory):
    Organisation.objects.create(
        uscc=uscc_factory(), name="杭州小梅餐饮有限公司", legal_representative=citizen
    )

    html = client_for(citizen).get(reverse("applications:new", args=[item.code])).content.decode()

    assert '<label for="id_organisation">以单位身份申请</label>' in html
    assert re.findall(r'<option value="(\d*)"[^>]*>([^<]+)</option>', html)[:2] == [
        ("", "本人"),
        (str(Organisation.objects.get().pk), "杭州小梅餐饮有限公司"),
    ]


def test_applying_for_an_organisation_records_it(citizen, item, uscc_factory):
    organisation = Organisation.objects.create(
        uscc=uscc_factory(), name="杭州小梅餐饮有限公司", legal_representative=citizen
    )
    client = client_for(citizen)
    client.post(
        reverse("applications:new", args=[item.code]),
        {**VALID, "idempotency_key": "org", "organisation": str(organisation.pk)},
    )

    assert Application.objects.get().organisation == organisation


def test_apply_page_hides_the_organisation_choice_from_people_without_one(citizen, item):
    html = client_for(citizen).get(reverse("applications:new", args=[item.code])).content.decode()

    assert 'name="organisation"' not in html


def test_a_founding_item_is_applied_for_without_an_organisation(citizen, item, uscc_factory):
    # Even with a company of her own, founding another one names none.
    Organisation.objects.create(
        uscc=uscc_factory(), name="杭州小梅餐饮有限公司", legal_representative=citizen
    )
    item.target = "organisation"
    item.founding = True
    item.save(update_fields=["target", "founding"])
    service_item_publish(item=item, actor=None)
    client = client_for(citizen)

    html = client.get(reverse("applications:new", args=[item.code])).content.decode()
    client.post(
        reverse("applications:new", args=[item.code]), {**VALID, "idempotency_key": "found"}
    )

    assert 'name="organisation"' not in html
    application = Application.objects.get()
    assert application.organisation is None
    assert application.snapshot["founding"] is True


def test_apply_refuses_a_user_below_the_items_real_name_level(item):
    user = VerifiedUserFactory(assurance_level=1, id_number=None, verified_at=None)

    response = client_for(user).post(
        reverse("applications:new", args=[item.code]), {**VALID, "idempotency_key": "x"}
    )

    assert response.status_code == 403
    assert page_errors(response) == ["办理此事项需要实名等级 L2。"]
    assert not Application.objects.exists()


def test_draft_page_shows_the_form_prefilled_and_the_materials(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)

    html = client.get(reverse("applications:edit", args=[application.pk])).content.decode()

    assert re.search(r'<input type="text" name="applicant_name" value="张三"', html)
    assert re.search(r'<input type="number" name="staff_count" value="3"', html)
    assert re.search(r'<input type="radio" name="gender" value="female"[^>]*checked', html)
    assert re.findall(r'<h3 class="material-name">([^<]+)</h3>', html) == [
        "营业执照",
        "经营场所平面图",
        "从业人员健康证明",
    ]
    assert "从业人员超过 5 人时提供" in html
    assert html.count('accept=".pdf,.jpg,.jpeg,.png"') == 3
    assert "提交申请" in html


def test_saving_the_draft_page_updates_the_form(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)

    response = client.post(
        reverse("applications:edit", args=[application.pk]),
        {**VALID, "reason": "扩大经营", "action": "save"},
    )

    application.refresh_from_db()
    assert response.status_code == 302
    assert application.form_data["reason"] == "扩大经营"
    assert application.status == Status.DRAFT


def test_submitting_invalid_data_shows_the_chinese_message_beside_the_field(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)
    upload(client, application, "licence")
    upload(client, application, "floor-plan")

    response = client.post(
        reverse("applications:edit", args=[application.pk]),
        {**VALID, "applicant_name": "", "staff_count": "0", "action": "submit"},
    )

    application.refresh_from_db()
    assert response.status_code == 422
    assert field_error(response, "applicant_name") == ["这个字段是必填项。"]
    assert field_error(response, "staff_count") == ["请输入不小于 1 的值。"]
    assert field_error(response, "birth_date") == []
    assert application.status == Status.DRAFT
    assert application.number is None


def test_submitting_without_the_required_materials_names_them(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)

    response = client.post(
        reverse("applications:edit", args=[application.pk]), {**VALID, "action": "submit"}
    )

    assert response.status_code == 422
    assert page_errors(response) == ["部分内容填写有误。", "请提供：营业执照、经营场所平面图。"]


def test_submitting_a_complete_draft_opens_the_detail_page_with_the_number(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)
    upload(client, application, "licence")
    upload(client, application, "floor-plan", PNG, "plan.png")

    response = client.post(
        reverse("applications:edit", args=[application.pk]),
        {**VALID, "action": "submit"},
        follow=True,
    )

    application.refresh_from_db()
    assert response.redirect_chain == [(reverse("applications:detail", args=[application.pk]), 302)]
    assert application.status == Status.SUBMITTED
    assert f"申请已提交，办件编号 {application.number}。" in response.content.decode()


def test_uploading_a_file_of_the_wrong_type_shows_the_error_beside_the_file(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)

    response = upload(client, application, "licence", b"just some text", "notes.txt")

    assert response.status_code == 422
    assert field_error(response, "licence_file") == ["请上传 PDF、JPEG 或 PNG 文件。"]
    assert not ApplicationMaterial.objects.exists()


def test_uploading_without_a_file_is_refused(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)

    response = client.post(
        reverse("applications:material_upload", args=[application.pk]),
        {"material_code": "licence"},
    )

    assert response.status_code == 422
    assert field_error(response, "licence_file") == ["这个字段是必填项。"]


def test_an_uploaded_file_is_listed_and_can_be_removed(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)
    upload(client, application, "licence", name="执照.pdf")
    material = ApplicationMaterial.objects.get()

    html = client.get(reverse("applications:edit", args=[application.pk])).content.decode()
    response = client.post(
        reverse("applications:material_remove", args=[application.pk, material.pk])
    )

    material.refresh_from_db()
    assert "执照.pdf" in html
    assert response.status_code == 302
    assert material.superseded_at is not None


def test_the_applicant_downloads_her_file_through_django(citizen, item):
    client = client_for(citizen)
    application = draft_of(client, item)
    upload(client, application, "licence", name="执照.pdf")
    material = ApplicationMaterial.objects.get()

    response = client.get(
        reverse("applications:material_download", args=[application.pk, material.pk])
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]


def test_another_citizen_cannot_open_my_application_or_download_my_file(citizen, item):
    client = client_for(citizen)
    application = submitted_of(client, item)
    material = ApplicationMaterial.objects.filter(application=application).first()
    other = client_for(VerifiedUserFactory())

    assert other.get(reverse("applications:detail", args=[application.pk])).status_code == 404
    assert other.get(reverse("applications:edit", args=[application.pk])).status_code == 404
    download = reverse("applications:material_download", args=[application.pk, material.pk])
    assert other.get(download).status_code == 404
    withdraw = reverse("applications:withdraw", args=[application.pk])
    assert other.post(withdraw, {"confirm": "on"}).status_code == 404
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


# ---------------------------------------------------------------------------------------
# My applications


def test_my_applications_lists_number_item_status_and_dates(citizen, item):
    client = client_for(citizen)
    application = submitted_of(client, item)

    html = client.get(reverse("applications:list")).content.decode()

    assert application.number in html
    assert "食品经营许可证核发" in html
    assert '<span class="badge status-running">已提交</span>' in html
    assert application.submitted_at.astimezone().strftime("%Y-%m-%d") in html


def test_the_list_only_shows_my_applications(citizen, item):
    submitted_of(client_for(citizen), item)

    html = client_for(VerifiedUserFactory()).get(reverse("applications:list")).content.decode()

    assert "食品经营许可证核发" not in html
    assert "您还没有办件。" in html


def test_detail_shows_the_form_data_with_the_schema_titles(citizen, item):
    client = client_for(citizen)
    application = submitted_of(client, item)

    html = client.get(reverse("applications:detail", args=[application.pk])).content.decode()

    rows = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html)
    assert ("性别", "女") in rows
    assert ("经营类别", "餐饮") in rows
    assert ("从业人数", "3") in rows
    assert ("承诺所填信息真实", "是") in rows
    assert ("部门", "西湖区市场监督管理局") in rows


def test_withdrawing_needs_the_confirmation_box(citizen, item):
    client = client_for(citizen)
    application = submitted_of(client, item)

    response = client.post(reverse("applications:withdraw", args=[application.pk]), {})

    application.refresh_from_db()
    assert response.status_code == 422
    assert field_error(response, "confirm") == ["请勾选以确认撤回。"]
    assert application.status == Status.SUBMITTED


def test_withdrawing_cancels_the_open_tasks(citizen, item):
    client = client_for(citizen)
    application = submitted_of(client, item)

    response = client.post(
        reverse("applications:withdraw", args=[application.pk]),
        {"confirm": "on", "reason": "不再需要"},
    )

    application.refresh_from_db()
    assert response.status_code == 302
    assert application.status == Status.WITHDRAWN
    assert list(application.tasks.values_list("state", flat=True)) == ["cancelled"]


def test_withdrawing_after_a_decision_is_a_conflict(citizen, item, department):
    client = client_for(citizen)
    application = submitted_of(client, item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))
    reviewer = client_for(staff(department, StaffRole.Role.REVIEWER))
    approver = client_for(staff(department, StaffRole.Role.APPROVER))
    complete(clerk, open_task(application, "accept"), outcome="accept")
    complete(reviewer, open_task(application, "review"), outcome="pass")
    complete(approver, open_task(application, "decide"), outcome="grant")

    response = client.post(
        reverse("applications:withdraw", args=[application.pk]), {"confirm": "on"}
    )

    assert response.status_code == 409
    assert page_errors(response) == ["申请只能在提交后、作出决定前撤回。"]


# ---------------------------------------------------------------------------------------
# Staff


def test_the_workbench_is_for_staff_only(citizen):
    assert client_for(citizen).get(reverse("applications:workbench")).status_code == 403


def test_workbench_queues_show_the_right_tasks_per_role(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))
    reviewer = client_for(staff(department, StaffRole.Role.REVIEWER))
    url = reverse("applications:workbench")

    clerk_page = clerk.get(url)
    reviewer_before = reviewer.get(url)
    complete(clerk, open_task(application, "accept"), outcome="accept")
    reviewer_after = reviewer.get(url)
    clerk_after = clerk.get(url)

    tabs = r'<a href="\?queue=(\w+)" class="tab"[^>]*>([^<]+)<span class="tab-count">(\d+)'
    tab_list = re.findall(tabs, clerk_page.content.decode())
    assert [(q, label.strip(), n) for q, label, n in tab_list] == [
        ("accept", "待受理", "1"),
        ("deliver", "待送达", "0"),
        ("mine", "我的任务", "0"),
    ]
    assert queue_numbers(clerk_page) == [application.number]
    assert "李**" in clerk_page.content.decode()
    assert [(q, n) for q, _label, n in re.findall(tabs, reviewer_before.content.decode())] == [
        ("review", "0"),
        ("mine", "0"),
    ]
    assert queue_numbers(reviewer_before) == []
    assert queue_numbers(reviewer_after) == [application.number]
    assert queue_numbers(clerk_after) == []


def test_the_deliver_queue_holds_granted_applications(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))
    complete(clerk, open_task(application, "accept"), outcome="accept")
    complete(
        client_for(staff(department, StaffRole.Role.REVIEWER)),
        open_task(application, "review"),
        outcome="pass",
    )
    approver = client_for(staff(department, StaffRole.Role.APPROVER))
    decide_queue = approver.get(reverse("applications:workbench") + "?queue=decide")
    complete(approver, open_task(application, "decide"), outcome="grant")

    deliver = clerk.get(reverse("applications:workbench") + "?queue=deliver")
    accept = clerk.get(reverse("applications:workbench") + "?queue=accept")

    assert queue_numbers(decide_queue) == [application.number]
    assert queue_numbers(deliver) == [application.number]
    assert queue_numbers(accept) == []


def test_a_queue_the_user_does_not_hold_is_404(department):
    clerk = client_for(staff(department, StaffRole.Role.CLERK))

    response = clerk.get(reverse("applications:workbench") + "?queue=decide")

    assert response.status_code == 404


def test_my_tasks_lists_what_i_claimed(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))
    task = open_task(application, "accept")

    clerk.post(reverse("applications:task_claim", args=[task.pk]))
    mine = clerk.get(reverse("applications:workbench") + "?queue=mine")

    task.refresh_from_db()
    assert task.state == WorkTask.State.CLAIMED
    assert queue_numbers(mine) == [application.number]


def test_a_task_claimed_by_someone_else_cannot_be_claimed(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    task = open_task(application, "accept")
    client_for(staff(department, StaffRole.Role.CLERK, "赵六")).post(
        reverse("applications:task_claim", args=[task.pk])
    )

    response = client_for(staff(department, StaffRole.Role.CLERK)).post(
        reverse("applications:task_claim", args=[task.pk])
    )

    assert response.status_code == 409
    assert page_errors(response) == ["该任务已被他人认领。"]


def test_staff_of_another_department_get_404_for_the_task(citizen, item):
    application = submitted_of(client_for(citizen), item)
    task = open_task(application, "accept")
    material = ApplicationMaterial.objects.filter(application=application).first()
    outsider = client_for(staff(DepartmentFactory(), StaffRole.Role.CLERK))

    assert outsider.get(reverse("applications:task", args=[task.pk])).status_code == 404
    assert outsider.post(reverse("applications:task_claim", args=[task.pk])).status_code == 404
    assert complete(outsider, task, outcome="accept").status_code == 404
    assert (
        outsider.get(reverse("applications:staff_application", args=[application.pk])).status_code
        == 404
    )
    download = reverse("applications:staff_material_download", args=[application.pk, material.pk])
    assert outsider.get(download).status_code == 404
    task.refresh_from_db()
    assert task.state == WorkTask.State.OPEN


def test_staff_download_materials_of_their_departments_applications(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    material = ApplicationMaterial.objects.get(application=application, material_code="licence")
    clerk = client_for(staff(department, StaffRole.Role.CLERK))

    response = clerk.get(
        reverse("applications:staff_material_download", args=[application.pk, material.pk])
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


def test_task_page_shows_the_application_and_the_outcomes_of_the_step(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))

    html = clerk.get(
        reverse("applications:task", args=[open_task(application, "accept").pk])
    ).content.decode()

    assert re.findall(r'<input type="radio" name="outcome" value="(\w+)"', html) == [
        "accept",
        "refuse",
        "supplement",
    ]
    assert "认领" in html
    assert ("从业人数", "3") in re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html)
    assert re.findall(r'name="(sup_[\w-]+)"', html) == [
        "sup_material_licence",
        "sup_material_licence_reason",
        "sup_material_floor-plan",
        "sup_material_floor-plan_reason",
        "sup_material_health-cert",
        "sup_material_health-cert_reason",
        *[
            name
            for field in FIELD_ORDER
            for name in (f"sup_field_{field}", f"sup_field_{field}_reason")
        ],
    ]


def test_refusing_without_a_reason_shows_the_error_beside_the_comment(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))

    response = complete(clerk, open_task(application, "accept"), outcome="refuse")

    application.refresh_from_db()
    assert response.status_code == 422
    assert field_error(response, "comment") == ["请说明理由。"]
    assert application.status == Status.SUBMITTED


def test_a_supplement_request_needs_at_least_one_item(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))

    response = complete(clerk, open_task(application, "accept"), outcome="supplement")

    assert response.status_code == 422
    assert "请一次性列出所有需要补正的内容（一次性告知）。" in page_errors(response)


def test_a_ticked_supplement_row_needs_a_reason(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))

    response = complete(
        clerk,
        open_task(application, "accept"),
        outcome="supplement",
        sup_material_licence="on",
    )

    assert response.status_code == 422
    assert field_error(response, "sup_material_licence_reason") == ["请说明缺少或有误之处。"]


def test_supplement_round_trip_from_clerk_to_applicant_and_back(citizen, item, department):
    applicant = client_for(citizen)
    application = submitted_of(applicant, item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK))

    response = complete(
        clerk,
        open_task(application, "accept"),
        outcome="supplement",
        comment="请补正后重新提交",
        **{
            "sup_material_floor-plan": "on",
            "sup_material_floor-plan_reason": "平面图未标注面积",
            "sup_field_floor_area_reason": "面积与平面图不一致",
        },
    )
    detail = applicant.get(reverse("applications:detail", args=[application.pk]))

    application.refresh_from_db()
    assert response.status_code == 302
    assert application.status == Status.SUPPLEMENT_REQUESTED
    html = detail.content.decode()
    assert re.findall(r"<li><strong>([^<]+)</strong>：([^<]+)</li>", html) == [
        ("经营场所平面图", "平面图未标注面积"),
        ("经营面积（平方米）", "面积与平面图不一致"),
    ]
    # Only the requested material can be uploaded, and only the named field corrected.
    supplement = html[html.index('id="supplement"') : html.index("</section>")]
    assert re.findall(r'<h3 class="material-name">([^<]+)</h3>', supplement) == ["经营场所平面图"]
    assert re.findall(r'<input type="number" name="(\w+)"', supplement) == ["floor_area"]

    early = applicant.post(
        reverse("applications:resubmit", args=[application.pk]), {"floor_area": "40"}
    )
    assert early.status_code == 422
    assert page_errors(early) == ["部分内容填写有误。", "请提供：经营场所平面图。"]

    assert upload(applicant, application, "floor-plan", PNG, "plan-v2.png").status_code == 302
    resubmitted = applicant.post(
        reverse("applications:resubmit", args=[application.pk]), {"floor_area": "40"}
    )

    application.refresh_from_db()
    assert resubmitted.status_code == 302
    assert application.status == Status.SUBMITTED
    assert application.form_data["floor_area"] == 40
    assert application.form_data["staff_count"] == 3
    assert (
        WorkTask.objects.filter(application=application, task_name="accept", state="open").count()
        == 1
    )


def test_the_timeline_lists_every_step_in_chinese(citizen, item, department):
    applicant = client_for(citizen)
    application = submitted_of(applicant, item)
    clerk = client_for(staff(department, StaffRole.Role.CLERK, "钱七"))
    reviewer = client_for(staff(department, StaffRole.Role.REVIEWER))
    approver = client_for(staff(department, StaffRole.Role.APPROVER))
    complete(clerk, open_task(application, "accept"), outcome="accept")
    complete(reviewer, open_task(application, "review"), outcome="pass", comment="材料齐全")
    complete(approver, open_task(application, "decide"), outcome="grant")
    complete(clerk, open_task(application, "deliver"), outcome="delivered")

    html = applicant.get(reverse("applications:detail", args=[application.pk])).content.decode()

    assert re.findall(r'<strong class="timeline-action">([^<]+)</strong>', html) == [
        "创建草稿",
        "提交申请",
        "受理",
        "审查通过",
        "准予许可",
        "已送达",
    ]
    assert "窗口受理 · 钱*" in html
    assert "材料齐全" in html
    assert "草稿 → 已提交" in html
    application.refresh_from_db()
    assert application.status == Status.COMPLETED
    assert '<span class="badge status-ok">已办结</span>' in html


def test_a_department_admin_assigns_a_task_to_a_clerk(citizen, item, department):
    application = submitted_of(client_for(citizen), item)
    task = open_task(application, "accept")
    clerk = staff(department, StaffRole.Role.CLERK)
    admin = client_for(staff(department, StaffRole.Role.DEPARTMENT_ADMIN))

    page = admin.get(reverse("applications:task", args=[task.pk])).content.decode()
    response = admin.post(
        reverse("applications:task_assign", args=[task.pk]), {"assignee": str(clerk.pk)}
    )

    task.refresh_from_db()
    assert '<select name="assignee"' in page
    assert response.status_code == 302
    assert task.assignee == clerk


# ---------------------------------------------------------------------------------------
# Inbox


def test_inbox_lists_messages_and_marks_one_read(citizen, item):
    client = client_for(citizen)
    application = submitted_of(client, item)
    notification = Notification.objects.get(user=citizen)

    page = client.get(reverse("applications:notifications")).content.decode()
    response = client.post(
        reverse("applications:notification_read", args=[notification.pk]),
        {"next": reverse("applications:detail", args=[application.pk])},
    )
    after = client.get(reverse("applications:notifications")).content.decode()

    notification.refresh_from_db()
    assert f"办件 {application.number} 已提交" in page
    assert '<li class="card notification unread">' in page
    assert '<span class="nav-count"><span aria-hidden="true">1</span>' in page
    assert response["Location"] == reverse("applications:detail", args=[application.pk])
    assert notification.read_at is not None
    assert '<li class="card notification unread">' not in after
    assert 'class="nav-count"' not in after


def test_nobody_marks_another_users_message_read(citizen, item):
    submitted_of(client_for(citizen), item)
    notification = Notification.objects.get(user=citizen)

    response = client_for(VerifiedUserFactory()).post(
        reverse("applications:notification_read", args=[notification.pk])
    )

    notification.refresh_from_db()
    assert response.status_code == 404
    assert notification.read_at is None


# ---------------------------------------------------------------------------------------
# Query counts of the lists


def queries_for(client: Client, url: str) -> int:
    """Queries of one page view, counted from a cold version cache (one read per version)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yiwang.catalog.models import version_cache_clear

    version_cache_clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_my_applications_list_takes_the_same_queries_for_one_or_three(citizen, item):
    client = client_for(citizen)
    url = reverse("applications:list")
    draft_of(client, item, key="a")
    one = queries_for(client, url)
    draft_of(client, item, key="b")
    draft_of(client, item, key="c")

    assert queries_for(client, url) == one


def test_a_workbench_queue_takes_the_same_queries_for_one_or_three_tasks(item, department):
    clerk = client_for(staff(department, StaffRole.Role.CLERK))
    url = reverse("applications:workbench")
    submitted_of(client_for(VerifiedUserFactory()), item)
    one = queries_for(clerk, url)
    submitted_of(client_for(VerifiedUserFactory()), item)
    submitted_of(client_for(VerifiedUserFactory()), item)

    assert queries_for(clerk, url) == one


def test_the_inbox_takes_the_same_queries_for_one_or_three_messages(citizen, item):
    client = client_for(citizen)
    url = reverse("applications:notifications")
    submitted_of(client, item)
    one = queries_for(client, url)
    Notification.objects.create(user=citizen, title="a", body="b")
    Notification.objects.create(user=citizen, title="c", body="d")

    assert queries_for(client, url) == one


def test_an_apply_post_without_its_key_asks_to_open_the_page_again(citizen, item):
    response = client_for(citizen).post(reverse("applications:new", args=[item.code]), VALID)

    assert response.status_code == 422
    assert page_errors(response) == ["此表单已失效，请重新打开申请页面。"]
    assert not Application.objects.exists()
