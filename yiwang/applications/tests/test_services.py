from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from yiwang.applications import services
from yiwang.applications.models import (
    Application,
    Notification,
    Status,
    SupplementRequest,
    WorkTask,
)
from yiwang.applications.tests.conftest import pdf
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.models import SmsOutboxMessage
from yiwang.core.workdays import calendar
from yiwang.identity.tests.factories import UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

MIGRATION = "330106-GA-0006"
SSCARD = "330106-RS-0001"
REIMBURSE = "330106-YB-0003"


def migration_form(user) -> dict:
    return {
        "applicant_name": user.name,
        "applicant_id_number": user.id_number,
        "applicant_phone": user.phone,
        "gender": "M",
        "current_household_address": "浙江省杭州市拱墅区米市巷街道湖墅南路1号",
        "category": "house",
        "target_household_address": "浙江省杭州市西湖区文新街道文一西路100号",
        "target_head_name": user.name,
        "relationship_to_head": "本人",
        "accompanying_count": 0,
        "declaration": True,
    }


def reimburse_form(user, amount: float) -> dict:
    return {
        "applicant_name": user.name,
        "applicant_id_number": user.id_number,
        "applicant_phone": user.phone,
        "insurance_type": "employee",
        "treatment_type": "outpatient",
        "hospital": "浙江大学医学院附属第一医院",
        "hospital_region": "province",
        "start_date": "2026-11-02",
        "diagnosis": "急性支气管炎",
        "manual_reason": "card_unavailable",
        "invoice_count": 2,
        "amount": amount,
        "bank_account_name": user.name,
        "bank_name": "中国工商银行杭州分行",
        "bank_account": "6222021202001234567",
        "declaration": True,
    }


def submitted(citizen, item=MIGRATION, form=None, materials=("id-card", "household-register")):
    application = services.application_draft_create(
        applicant=citizen, item_code=item, form_data=form or migration_form(citizen)
    )
    for code in materials:
        services.application_material_upload(
            applicant=citizen, application=application, material_code=code, upload=pdf()
        )
    return services.application_submit(applicant=citizen, application_id=application.pk)


def open_task(application, name) -> WorkTask:
    return WorkTask.objects.get(
        application=application, task_name=name, state__in=["open", "claimed"]
    )


def act(staff, application, name, outcome, **kw):
    task = open_task(application, name)
    return services.task_complete(
        staff=staff[(task.department.code, task.role)], task=task, outcome=outcome, **kw
    )


# --- drafts and submission ---------------------------------------------------------------


def test_submitting_a_complete_application_numbers_it_and_queues_acceptance(
    catalogue, staff, citizen
):
    application = submitted(citizen)

    assert application.status == Status.SUBMITTED
    today = timezone.localdate()
    assert application.number == f"330106GA{today:%Y%m%d}00001"
    assert application.item_version == catalogue[MIGRATION].current_version
    task = open_task(application, "accept")
    assert (task.role, task.department.code, task.title) == ("clerk", "330106-GA", "受理")
    assert application.acceptance_due > today
    assert list(application.events.values_list("action", flat=True)) == ["draft", "submit"]


def test_numbers_count_up_per_department_and_day(catalogue, staff, citizen):
    first = submitted(citizen)
    second = submitted(VerifiedUserFactory())

    assert int(second.number[-5:]) == int(first.number[-5:]) + 1


def test_submitting_twice_creates_one_application(catalogue, citizen):
    application = submitted(citizen)

    again = services.application_submit(applicant=citizen, application_id=application.pk)

    assert again.pk == application.pk
    assert again.number == application.number
    assert Application.objects.count() == 1
    assert application.events.filter(action="submit").count() == 1


def test_the_same_idempotency_key_returns_the_same_draft(catalogue, citizen):
    first = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data={}, idempotency_key="k-1"
    )
    second = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data={}, idempotency_key="k-1"
    )

    assert first.pk == second.pk
    with pytest.raises(Conflict):
        services.application_draft_create(
            applicant=citizen, item_code=SSCARD, idempotency_key="k-1"
        )


def test_invalid_form_data_is_refused_field_by_field_and_nothing_changes(catalogue, citizen):
    form = migration_form(citizen)
    form["applicant_phone"] = "12345"
    form["category"] = "lottery"
    del form["target_head_name"]
    application = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data=form
    )
    for code in ("id-card", "household-register"):
        services.application_material_upload(
            applicant=citizen, application=application, material_code=code, upload=pdf()
        )

    with pytest.raises(ValidationFailed) as exc:
        services.application_submit(applicant=citizen, application_id=application.pk)

    assert set(exc.value.fields) == {"applicant_phone", "category", "target_head_name"}
    application.refresh_from_db()
    assert application.status == Status.DRAFT
    assert application.number is None
    assert not WorkTask.objects.exists()


def test_missing_required_materials_are_named(catalogue, citizen):
    application = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data=migration_form(citizen)
    )

    with pytest.raises(ValidationFailed) as exc:
        services.application_submit(applicant=citizen, application_id=application.pk)

    assert exc.value.fields.keys() == {"materials"}
    assert "居民身份证" in str(exc.value.fields["materials"][0])


def test_an_l1_account_cannot_apply_for_an_l2_service(catalogue):
    with pytest.raises(PermissionDenied):
        services.application_draft_create(applicant=UserFactory(), item_code=MIGRATION)


def test_an_unknown_or_unpublished_item_is_not_found(catalogue, citizen):
    catalogue[SSCARD].status = "retired"
    catalogue[SSCARD].save()

    with pytest.raises(NotFound):
        services.application_draft_create(applicant=citizen, item_code="nope")
    with pytest.raises(NotFound):
        services.application_draft_create(applicant=citizen, item_code=SSCARD)


def test_a_non_cross_region_item_refuses_applicants_from_elsewhere(catalogue, citizen):
    assert not catalogue[REIMBURSE].cross_region

    with pytest.raises(PermissionDenied) as exc:
        services.application_draft_create(
            applicant=citizen, item_code=REIMBURSE, applied_from_region_code="110101"
        )

    assert exc.value.code == "not_cross_region"


def test_a_cross_region_item_accepts_applicants_from_other_provinces(catalogue, citizen):
    assert catalogue[SSCARD].cross_region

    application = services.application_draft_create(
        applicant=citizen, item_code=SSCARD, applied_from_region_code="110101"
    )

    assert application.applied_from_region_code == "110101"


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("a.exe", b"MZ\x90\x00binary", "file_type"),
        ("fake.pdf", b"<html>not a pdf</html>", "file_type"),
        ("empty.pdf", b"", "file_empty"),
    ],
)
def test_uploads_are_checked_by_content(catalogue, citizen, name, content, code):
    from django.core.files.uploadedfile import SimpleUploadedFile

    application = services.application_draft_create(applicant=citizen, item_code=MIGRATION)

    with pytest.raises(ValidationFailed) as exc:
        services.application_material_upload(
            applicant=citizen,
            application=application,
            material_code="id-card",
            upload=SimpleUploadedFile(name, content),
        )

    assert exc.value.code == code
    assert not application.materials.exists()


def test_an_upload_over_ten_megabytes_is_refused(catalogue, citizen):
    from django.core.files.uploadedfile import SimpleUploadedFile

    application = services.application_draft_create(applicant=citizen, item_code=MIGRATION)
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024))

    with pytest.raises(ValidationFailed) as exc:
        services.application_material_upload(
            applicant=citizen, application=application, material_code="id-card", upload=big
        )

    assert exc.value.code == "file_too_large"


def test_someone_elses_application_is_not_found(catalogue, citizen):
    application = services.application_draft_create(applicant=citizen, item_code=MIGRATION)
    other = VerifiedUserFactory()

    with pytest.raises(NotFound):
        services.application_submit(applicant=other, application_id=application.pk)
    with pytest.raises(NotFound):
        services.application_material_upload(
            applicant=other, application=application, material_code="id-card", upload=pdf()
        )


# --- the licensing process end to end ------------------------------------------------------


def test_supplement_resubmit_grant_and_deliver_with_every_step_on_the_timeline(
    catalogue, staff, citizen
):
    application = submitted(citizen)
    application = act(
        staff,
        application,
        "accept",
        "supplement",
        comment="材料不全",
        supplement_items=[
            {"material": "target-household-register", "reason": "请提供拟迁入户的户口簿"},
            {"field": "relationship_to_head", "reason": "与户主关系填写不规范"},
        ],
    )
    assert application.status == Status.SUPPLEMENT_REQUESTED
    assert application.paused_since == timezone.localdate()
    request = SupplementRequest.objects.get()
    assert [i["reason"] for i in request.items] == [
        "请提供拟迁入户的户口簿",
        "与户主关系填写不规范",
    ]
    assert not WorkTask.objects.filter(state__in=["open", "claimed"]).exists()
    assert Notification.objects.filter(
        user=citizen, body__contains="请提供拟迁入户的户口簿"
    ).exists()

    with pytest.raises(ValidationFailed) as exc:
        services.application_resubmit(applicant=citizen, application=application)
    assert exc.value.fields.keys() == {"materials"}

    services.application_material_upload(
        applicant=citizen,
        application=application,
        material_code="target-household-register",
        upload=pdf(),
    )
    form = {**application.form_data, "relationship_to_head": "子"}
    application = services.application_resubmit(
        applicant=citizen, application=application, form_data=form
    )
    assert application.status == Status.SUBMITTED
    assert application.paused_since is None
    assert application.form_data["relationship_to_head"] == "子"

    application = act(staff, application, "accept", "accept")
    assert application.status == Status.ACCEPTED
    assert application.legal_due is not None
    assert application.promised_due <= application.legal_due
    application = act(staff, application, "review", "pass", comment="符合条件")
    assert application.status == Status.UNDER_REVIEW
    application = act(staff, application, "decide", "grant", comment="准予迁入")
    assert (application.status, application.decision) == (Status.GRANTED, "granted")
    application = act(staff, application, "deliver", "delivered")

    assert application.status == Status.COMPLETED
    assert application.completed_at is not None
    assert list(application.events.values_list("action", flat=True)) == [
        "draft",
        "submit",
        "accept:supplement",
        "resubmit",
        "accept:accept",
        "review:pass",
        "decide:grant",
        "deliver:delivered",
    ]
    statuses = list(application.events.values_list("to_status", flat=True))
    assert statuses[-1] == Status.COMPLETED
    assert not WorkTask.objects.filter(state__in=["open", "claimed"]).exists()


def test_refusing_to_accept_needs_a_reason_and_closes_the_application(
    catalogue, staff, citizen, django_capture_on_commit_callbacks
):
    application = submitted(citizen)

    with pytest.raises(ValidationFailed) as exc:
        act(staff, application, "accept", "refuse")
    assert exc.value.fields.keys() == {"comment"}

    with django_capture_on_commit_callbacks(execute=True):
        application = act(staff, application, "accept", "refuse", comment="不属于本机关管辖")

    assert application.status == Status.NOT_ACCEPTED
    assert SmsOutboxMessage.objects.filter(phone=citizen.phone).exists()


def test_a_denial_is_recorded_and_the_application_completes(catalogue, staff, citizen):
    application = submitted(citizen)
    act(staff, application, "accept", "accept")
    act(staff, application, "review", "pass")
    application = act(staff, application, "decide", "deny", comment="不符合迁入条件")

    # A denial ends the process: the decision with its reasons goes to the applicant.
    assert (application.status, application.decision) == (Status.COMPLETED, "denied")
    assert Notification.objects.filter(user=citizen, body="不符合迁入条件").exists()


def test_a_supplement_request_must_list_something(catalogue, staff, citizen):
    application = submitted(citizen)

    with pytest.raises(ValidationFailed) as exc:
        act(staff, application, "accept", "supplement", supplement_items=[])

    assert exc.value.fields.keys() == {"supplement_items"}
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


def test_an_outcome_the_step_does_not_have_is_refused(catalogue, staff, citizen):
    application = submitted(citizen)

    with pytest.raises(ValidationFailed):
        act(staff, application, "accept", "grant")


# --- who may act ------------------------------------------------------------------------------


def test_staff_of_another_role_or_department_may_not_act(catalogue, staff, citizen):
    application = submitted(citizen)
    task = open_task(application, "accept")

    for key in [("330106-GA", "reviewer"), ("330106-RS", "clerk")]:
        with pytest.raises(PermissionDenied):
            services.task_complete(staff=staff[key], task=task, outcome="accept")
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


def test_a_task_claimed_by_a_colleague_cannot_be_completed_by_me(catalogue, staff, citizen):
    application = submitted(citizen)
    task = open_task(application, "accept")
    colleague = VerifiedUserFactory()
    from yiwang.identity.models import StaffRole

    StaffRole.objects.create(user=colleague, department=task.department, role="clerk")
    services.task_claim(staff=colleague, task=task)

    with pytest.raises(PermissionDenied) as exc:
        services.task_complete(staff=staff[("330106-GA", "clerk")], task=task, outcome="accept")
    assert exc.value.code == "task_claimed_by_other"
    with pytest.raises(Conflict):
        services.task_claim(staff=staff[("330106-GA", "clerk")], task=task)


def test_completing_a_finished_task_again_is_a_conflict(catalogue, staff, citizen):
    application = submitted(citizen)
    task = open_task(application, "accept")
    services.task_complete(staff=staff[("330106-GA", "clerk")], task=task, outcome="accept")

    with pytest.raises(Conflict):
        services.task_complete(staff=staff[("330106-GA", "clerk")], task=task, outcome="accept")


def test_a_department_admin_assigns_a_task_to_a_clerk(catalogue, staff, citizen):
    application = submitted(citizen)
    task = open_task(application, "accept")
    clerk = staff[("330106-GA", "clerk")]

    task = services.task_assign(
        actor=staff[("330106-GA", "department_admin")], task=task, assignee=clerk
    )

    assert (task.state, task.assignee) == ("claimed", clerk)
    with pytest.raises(PermissionDenied):
        services.task_assign(actor=clerk, task=task, assignee=clerk)
    with pytest.raises(ValidationFailed):
        services.task_assign(
            actor=staff[("330106-GA", "department_admin")],
            task=task,
            assignee=staff[("330106-GA", "reviewer")],
        )


# --- withdrawal -----------------------------------------------------------------------------


def test_withdrawing_before_the_decision_cancels_the_open_tasks(catalogue, staff, citizen):
    application = submitted(citizen)
    act(staff, application, "accept", "accept")

    application = services.application_withdraw(
        applicant=citizen, application=application, reason="不迁了"
    )

    assert application.status == Status.WITHDRAWN
    assert not WorkTask.objects.filter(state__in=["open", "claimed"]).exists()
    assert application.events.last().comment == "不迁了"


def test_withdrawing_after_the_decision_is_a_conflict(catalogue, staff, citizen):
    application = submitted(citizen)
    act(staff, application, "accept", "accept")
    act(staff, application, "review", "pass")
    application = act(staff, application, "decide", "grant")

    with pytest.raises(Conflict):
        services.application_withdraw(applicant=citizen, application=application)
    application.refresh_from_db()
    assert application.status == Status.GRANTED


def test_staff_cannot_act_on_a_withdrawn_application(catalogue, staff, citizen):
    application = submitted(citizen)
    task = open_task(application, "accept")
    services.application_withdraw(applicant=citizen, application=application)

    with pytest.raises(Conflict):
        services.task_complete(staff=staff[("330106-GA", "clerk")], task=task, outcome="accept")


# --- DMN routing -----------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "next_step"), [(800.0, "decide"), (50000.0, "review")])
def test_reimbursement_routing_follows_the_decision_table(
    catalogue, staff, citizen, amount, next_step
):
    application = submitted(
        citizen,
        item=REIMBURSE,
        form=reimburse_form(citizen, amount),
        materials=("insurance-voucher", "invoices", "expense-list", "medical-record"),
    )

    act(staff, application, "accept", "accept")

    assert open_task(application, next_step).task_name == next_step


# --- deadlines -------------------------------------------------------------------------------


def test_an_overdue_acceptance_fires_the_timer_and_escalates_once(catalogue, staff, citizen):
    application = submitted(citizen)
    later = timezone.now() + datetime.timedelta(days=30)

    first = services.deadlines_check(now=later)
    second = services.deadlines_check(now=later)

    application.refresh_from_db()
    assert first["overdue"] == 1
    assert second == {
        "warned": 0,
        "overdue": 0,
        "timers": 0,
        "bundles_expired": 0,
        "parts_escalated": 0,
    }
    assert application.overdue_since is not None
    actions = list(application.events.values_list("action", flat=True))
    assert "overdue_escalated" in actions
    assert any(a.startswith("timer:") for a in actions)
    admin = staff[("330106-GA", "department_admin")]
    assert Notification.objects.filter(user=admin, application=application).exists()


def test_a_paused_application_is_not_flagged(catalogue, staff, citizen):
    application = submitted(citizen)
    act(
        staff,
        application,
        "accept",
        "supplement",
        supplement_items=[{"field": "category", "reason": "请确认"}],
    )

    counts = services.deadlines_check(now=timezone.now() + datetime.timedelta(days=30))

    application.refresh_from_db()
    assert counts["overdue"] == 0
    assert application.overdue_since is None


def test_a_reviewer_returning_the_application_asks_the_applicant_once_for_everything(
    catalogue, staff, citizen
):
    application = submitted(citizen)
    act(staff, application, "accept", "accept")

    application = act(
        staff,
        application,
        "review",
        "return",
        comment="材料不清晰",
        supplement_items=[{"material": "household-register", "reason": "户口簿复印件不清晰"}],
    )

    assert application.status == Status.SUPPLEMENT_REQUESTED
    services.application_material_upload(
        applicant=citizen, application=application, material_code="household-register", upload=pdf()
    )
    application = services.application_resubmit(applicant=citizen, application=application)
    assert application.status == Status.SUBMITTED
    assert open_task(application, "accept").role == "clerk"


def test_after_a_resubmission_the_acceptance_deadline_starts_again(catalogue, staff, citizen):
    application = submitted(citizen)
    act(
        staff,
        application,
        "accept",
        "supplement",
        supplement_items=[{"field": "category", "reason": "请确认"}],
    )
    application = services.application_resubmit(applicant=citizen, application=application)

    counts = services.deadlines_check(now=timezone.now() + datetime.timedelta(days=1))

    assert counts == {
        "warned": 0,
        "overdue": 0,
        "timers": 0,
        "bundles_expired": 0,
        "parts_escalated": 0,
    }


def test_a_decision_is_texted_and_e_mailed_to_an_applicant_with_an_address(
    catalogue, staff, django_capture_on_commit_callbacks, mailoutbox
):
    citizen = VerifiedUserFactory(email="lin@example.cn")
    application = submitted(citizen)
    act(staff, application, "accept", "accept")
    act(staff, application, "review", "pass")

    with django_capture_on_commit_callbacks(execute=True):
        act(staff, application, "decide", "grant", comment="准予迁入")

    assert [m.to for m in mailoutbox] == [["lin@example.cn"]]
    assert application.number in mailoutbox[0].subject
    assert SmsOutboxMessage.objects.filter(
        phone=citizen.phone, body__contains=application.number
    ).exists()
    notification = Notification.objects.get(user=citizen, body="准予迁入")
    assert notification.email_sent_at is not None
    assert notification.sms_sent_at is not None


def test_an_applicant_without_an_address_gets_no_e_mail(
    catalogue, staff, citizen, django_capture_on_commit_callbacks, mailoutbox
):
    application = submitted(citizen)

    with django_capture_on_commit_callbacks(execute=True):
        act(staff, application, "accept", "refuse", comment="不属于本机关管辖")

    assert mailoutbox == []


def test_the_department_admin_extends_a_licensing_decision_once_by_ten_working_days(
    catalogue, staff, citizen
):
    from yiwang.core.workdays import add_working_days

    application = submitted(citizen)
    application = act(staff, application, "accept", "accept")
    due = application.legal_due
    admin = staff[("330106-GA", "department_admin")]

    with pytest.raises(PermissionDenied):
        services.application_extend(
            actor=staff[("330106-GA", "clerk")], application=application, reason="x"
        )
    with pytest.raises(ValidationFailed):
        services.application_extend(actor=admin, application=application, reason="")
    application = services.application_extend(
        actor=admin, application=application, reason="需现场核查"
    )

    assert application.legal_due == add_working_days(due, 10)
    assert application.extended_days == 10
    assert application.events.last().action == "extend"
    with pytest.raises(Conflict):
        services.application_extend(actor=admin, application=application, reason="再延")


def test_a_confirmation_item_cannot_be_extended(catalogue, staff, citizen):
    application = submitted(citizen, item=SSCARD, form=sscard_form(citizen), materials=("id-card",))
    act(staff, application, "accept", "accept")

    with pytest.raises(Conflict) as exc:
        services.application_extend(
            actor=staff[("330106-RS", "department_admin")], application=application, reason="x"
        )

    assert exc.value.code == "extension_not_applicable"


def sscard_form(user) -> dict:
    return {
        "holder_type": "self",
        "holder_name": user.name,
        "holder_id_number": user.id_number,
        "holder_gender": "M",
        "applicant_name": user.name,
        "applicant_id_number": user.id_number,
        "applicant_phone": user.phone,
        "guardian_relationship": "self",
        "bank": "中国工商银行",
        "delivery_method": "window",
        "declaration": True,
    }


def test_a_broken_workflow_state_fails_that_application_only_and_changes_nothing(
    catalogue, staff, citizen
):
    broken = submitted(citizen)
    healthy = submitted(VerifiedUserFactory())
    Application.objects.filter(pk=broken.pk).update(workflow_state={"format": "garbage"})
    task = open_task(broken, "accept")

    with pytest.raises(Conflict) as exc:
        services.task_complete(staff=staff[("330106-GA", "clerk")], task=task, outcome="accept")

    assert exc.value.code == "workflow_error"
    broken.refresh_from_db()
    assert broken.status == Status.SUBMITTED
    assert broken.workflow_state == {"format": "garbage"}
    assert WorkTask.objects.get(pk=task.pk).state == "open"
    assert list(broken.events.values_list("action", flat=True)) == ["draft", "submit"]
    # The sweep skips the broken one and still handles the others.
    counts = services.deadlines_check(now=timezone.now() + datetime.timedelta(days=30))
    healthy.refresh_from_db()
    assert counts["overdue"] == 1
    assert healthy.overdue_since is not None


def test_an_application_keeps_the_version_it_was_submitted_under_after_the_item_changes(
    catalogue, staff, citizen
):
    from yiwang.catalog.services import service_item_publish

    application = submitted(citizen)
    item = catalogue[MIGRATION]
    item.name = "户口迁移（迁入）新版"
    item.legal_limit_days = 5
    item.promised_limit_days = 2
    item.save()
    service_item_publish(item=item, actor=None)
    item.refresh_from_db()
    assert item.current_version.number == 2

    application = act(staff, application, "accept", "accept")

    # Limits and name come from version 1, not from the live item or version 2.
    old = application.item_version.snapshot
    assert application.item_version.number == 1
    today = timezone.localdate()
    assert application.legal_due == calendar().add_working_days(today, old["legal_limit_days"])
    assert application.legal_due != calendar().add_working_days(today, 5)
    assert application.snapshot["name"] == old["name"] != item.name
    # A new application runs under version 2.
    newer = submitted(VerifiedUserFactory())
    assert newer.version.number == 2
    assert newer.snapshot["name"] == "户口迁移（迁入）新版"


# --- 免提交 at submission -----------------------------------------------------------------


@pytest.fixture
def certificate_of(regions, catalogue, uscc_factory):
    """Issue a certificate of the given type to a citizen (by the department of its kind)."""
    from yiwang.certificates import services as certificate_services
    from yiwang.core.models import Region
    from yiwang.identity.models import Department

    civil_affairs = Department.objects.create(
        code="330106-MZ",
        name="杭州市西湖区民政局",
        kind=Department.Kind.CIVIL_AFFAIRS,
        region=Region.objects.get(code="330106"),
        uscc=uscc_factory(kind="11", serial="002690M01"),
    )
    issuers = {"CT-JHZ": civil_affairs, "CT-JMHKB": Department.objects.get(code="330106-GA")}

    def issue(certificate_type, citizen):
        return certificate_services.certificate_issue(
            certificate_type=certificate_type,
            issuer=issuers[certificate_type],
            holder_kind="person",
            holder_identifier=citizen.id_number,
            holder_name=citizen.name,
            data={"name": citizen.name, "id_number": citizen.id_number}
            if certificate_type == "CT-JMHKB"
            else {"holder_name": citizen.name, "holder_id_number": citizen.id_number},
        )

    return issue


def _migration_draft(citizen, uploads=()):
    application = services.application_draft_create(
        applicant=citizen, item_code=MIGRATION, form_data=migration_form(citizen)
    )
    for code in uploads:
        services.application_material_upload(
            applicant=citizen, application=application, material_code=code, upload=pdf()
        )
    return application


def _current_materials(application) -> dict[str, str]:
    from yiwang.applications.models import ApplicationMaterial

    return {
        m.material_code: m.certificate_ref or "file"
        for m in ApplicationMaterial.objects.filter(
            application=application, superseded_at__isnull=True
        )
    }


def test_an_optional_material_proved_when_the_draft_was_made_stays_proved_at_submission(
    catalogue, citizen, certificate_of
):
    marriage = certificate_of("CT-JHZ", citizen)
    application = _migration_draft(citizen)
    assert _current_materials(application) == {"marriage-certificate": marriage.identifier}
    for code in ("id-card", "household-register"):
        services.application_material_upload(
            applicant=citizen, application=application, material_code=code, upload=pdf()
        )

    services.application_submit(applicant=citizen, application_id=application.pk)

    assert _current_materials(application) == {
        "marriage-certificate": marriage.identifier,
        "id-card": "file",
        "household-register": "file",
    }


def test_the_submission_adds_no_optional_material_she_has_not_seen_and_reads_no_certificate(
    catalogue, citizen, certificate_of
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    application = _migration_draft(citizen, uploads=("id-card", "household-register"))
    # Issued after the draft was made and shown: nothing of the submission depends on it.
    certificate_of("CT-JHZ", citizen)

    with CaptureQueriesContext(connection) as queries:
        services.application_submit(applicant=citizen, application_id=application.pk)

    assert not [q for q in queries.captured_queries if "certificates_certificate" in q["sql"]]
    assert _current_materials(application) == {"id-card": "file", "household-register": "file"}
    # The next draft she opens offers it.
    services.application_certificates_refresh(applicant=citizen, application=application)
    assert "marriage-certificate" not in _current_materials(application)  # submitted: unchanged
    other = _migration_draft(citizen)
    assert "marriage-certificate" in _current_materials(other)


def test_a_required_material_is_proved_at_submission_by_a_certificate_issued_after_the_draft(
    catalogue, citizen, certificate_of
):
    application = _migration_draft(citizen, uploads=("id-card",))
    register = certificate_of("CT-JMHKB", citizen)
    certificate_of("CT-JHZ", citizen)

    submitted_application = services.application_submit(
        applicant=citizen, application_id=application.pk
    )

    assert submitted_application.status == Status.SUBMITTED
    # The household register proves the required material; the optional marriage
    # certificate, which she has not seen on this draft, is not added.
    assert _current_materials(application) == {
        "id-card": "file",
        "household-register": register.identifier,
    }


def test_without_the_certificate_a_missing_required_material_still_refuses_the_submission(
    catalogue, citizen, certificate_of
):
    application = _migration_draft(citizen, uploads=("id-card",))
    certificate_of("CT-JHZ", citizen)

    with pytest.raises(ValidationFailed) as caught:
        services.application_submit(applicant=citizen, application_id=application.pk)

    assert caught.value.fields["materials"] == ["请提供：申请人居民户口簿。"]
    assert Application.objects.get(pk=application.pk).status == Status.DRAFT
    assert _current_materials(application) == {"id-card": "file"}
