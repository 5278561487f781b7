"""身后一件事 at the service level: the heirs named in the form each confirm; the parts that
need no heir's word (death registration, cremation, the funeral grant) do not wait for them."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.applications import bundles, services
from yiwang.applications.models import (
    Application,
    BundleApplication,
    BundleParticipant,
    BundleStatus,
    Notification,
    Status,
)
from yiwang.applications.tests.conftest import pdf
from yiwang.applications.tests.test_bundle_views import field_error, posted
from yiwang.applications.tests.test_bundles import (
    CATALOG,
    DEPARTMENTS,
    _catalogue,
    bundle_answers,
    completed,
    departments_create,
    part,
    staff_of,
)
from yiwang.catalog.models import LifeEventBundle
from yiwang.catalog.services import catalog_load
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.identity.models import Department
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db

ITEMS = {
    "330106-GA-0002": "public_security",
    "330100-MZ-0001": "civil_affairs",
    "330106-RS-0004": "human_resources",
    "330106-RS-0003": "human_resources",
    "330100-GJJ-0003": "housing_fund",
}


@pytest.fixture
def bereaved(regions, data_exchange, uscc_factory, tmp_path):
    departments_create(
        {**DEPARTMENTS, "330100-MZ": ("杭州市民政局", Department.Kind.CIVIL_AFFAIRS, "330100")},
        uscc_factory,
        "00280",
    )
    _catalogue(
        tmp_path / "catalog",
        bundle_files={"death": (CATALOG / "bundles" / "death.toml").read_text()},
        items=ITEMS,
    )
    catalog_load(root=tmp_path / "catalog")
    applicant = VerifiedUserFactory(
        id_number="330106198507120026", name="赵敏", phone="13900005555", assurance_level=3
    )
    return applicant, staff_of(Department.objects.all())


ANSWERS = {
    "deceased__name": "赵国强",
    "deceased__id_number": "330106195303040011",
    "deceased__death_date": "2026-11-18",
    "deceased__death_place": "浙江省杭州市西湖区人民医院",
    "deceased__death_certificate_number": "N330106202611180012",
    "cremation__pickup_address": "浙江省杭州市西湖区人民医院太平间",
    "cremation__cremation_date": "2026-11-21",
    "person__address": "浙江省杭州市西湖区文三路100号",
    "funeral_grant__dependants_count": 0,
    "bank__name": "中国农业银行杭州西湖支行",
    "bank__account": "6228480328765432101",
    "inheritance__heirs_count": 3,
    "housing_fund__account_number": "330100123456",
}
HEIRS = [
    {"name": "赵敏杰", "id_number": "330106198810200036", "relationship": "child"},
    {"name": "孙丽华", "id_number": "330106195508080025", "relationship": "spouse"},
]


def _answers(form, **overrides):
    return bundle_answers(form, {**ANSWERS, "inheritance__other_heirs": HEIRS}, overrides)


def _submit(applicant, **overrides):
    form = bundles.bundle_form(
        applicant=applicant, bundle=LifeEventBundle.objects.get(code="death")
    )
    return bundles.bundle_submit(
        applicant=applicant,
        bundle=form.bundle,
        form_data=_answers(form, **overrides),
        optional_parts=["housing_fund"],
        idempotency_key="death-1",
    )


@pytest.fixture
def heirs(bereaved):
    return [VerifiedUserFactory(id_number=h["id_number"], name=h["name"]) for h in HEIRS]


def _participant(user):
    return BundleParticipant.objects.get(id_number=user.id_number)


def _parts(bundle_application):
    return dict(bundle_application.parts.values_list("bundle_part", "status"))


def _death_registration_completed(applicant, staff, bundle_application):
    registration = part(bundle_application, "death_registration")
    for code in ("death-certificate", "household-register", "applicant-id-card"):
        services.application_material_upload(
            applicant=applicant, application=registration, material_code=code, upload=pdf()
        )
    services.application_submit(applicant=applicant, application_id=registration.pk)
    registration.refresh_from_db()
    return completed(staff, registration)


def test_each_named_heir_is_invited_and_only_the_inheritance_waits_for_them(bereaved, heirs):
    applicant, _staff = bereaved
    bundle_application = _submit(applicant)

    assert bundle_application.status == BundleStatus.CONFIRMING
    assert sorted(BundleParticipant.objects.values_list("label", "name")) == [
        ("继承人", "孙丽华"),
        ("继承人", "赵敏杰"),
    ]
    for heir in heirs:
        assert Notification.objects.filter(user=heir, title="请确认：身后一件事").exists()
    # The registration and the cremation are not the heirs' to agree to: they start now
    # (as drafts: their certificates are not in the wallet, so the applicant uploads them).
    assert _parts(bundle_application) == {
        "death_registration": Status.DRAFT,
        "cremation": Status.DRAFT,
        "funeral_grant": Status.WAITING,
    }

    bundles.bundle_confirm(user=heirs[0], participant_id=_participant(heirs[0]).pk)
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.CONFIRMING
    assert "pension_inheritance" not in _parts(bundle_application)

    bundles.bundle_confirm(user=heirs[1], participant_id=_participant(heirs[1]).pk)
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    parts = _parts(bundle_application)
    # They wait for the household to be cancelled, like the funeral grant.
    assert parts["pension_inheritance"] == Status.WAITING
    assert parts["housing_fund"] == Status.WAITING
    pension = part(bundle_application, "pension_inheritance")
    assert pension.form_data["other_heirs"] == HEIRS


def test_a_part_confirmed_after_what_it_waits_for_is_done_starts_at_once(bereaved, heirs):
    applicant, staff = bereaved
    bundle_application = _submit(applicant)
    registration = _death_registration_completed(applicant, staff, bundle_application)
    assert registration.status == Status.COMPLETED
    # The funeral grant waited only for the registration: it has moved on.
    assert part(bundle_application, "funeral_grant").status != Status.WAITING

    for heir in heirs:
        bundles.bundle_confirm(user=heir, participant_id=_participant(heir).pk)

    pension = part(bundle_application, "pension_inheritance")
    assert pension.status != Status.WAITING
    assert pension.events.filter(action="bundle_ready").exists()


def test_an_heir_who_declines_stops_the_inheritance_and_nothing_else(bereaved, heirs):
    applicant, _staff = bereaved
    bundle_application = _submit(applicant)

    bundles.bundle_decline(
        user=heirs[0], participant_id=_participant(heirs[0]).pk, reason="由我本人另行申请"
    )

    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    # The other heir's confirmation is no longer needed for anything.
    assert _participant(heirs[1]).state == BundleParticipant.State.EXPIRED
    with pytest.raises(Conflict):
        bundles.bundle_confirm(user=heirs[1], participant_id=_participant(heirs[1]).pk)
    assert bundles.dropped_parts(bundle_application) == {"pension_inheritance", "housing_fund"}
    assert set(_parts(bundle_application)) == {"death_registration", "cremation", "funeral_grant"}
    message = Notification.objects.get(user=applicant, title="身后一件事已被拒绝")
    assert "由我本人另行申请" in message.body
    assert "基本养老保险个人账户余额继承、住房公积金提取（职工死亡）" in message.body
    assert "其他事项继续办理" in message.body


def test_heirs_who_do_not_confirm_in_time_drop_the_inheritance(bereaved, heirs):
    applicant, staff = bereaved
    bundle_application = _submit(applicant)
    bundles.bundle_confirm(user=heirs[0], participant_id=_participant(heirs[0]).pk)

    counts = bundles.bundles_check(now=timezone.now() + datetime.timedelta(days=30))

    bundle_application.refresh_from_db()
    assert counts["bundles_expired"] == 1
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    assert _participant(heirs[0]).state == BundleParticipant.State.CONFIRMED
    assert _participant(heirs[1]).state == BundleParticipant.State.EXPIRED
    message = Notification.objects.get(user=applicant, title="身后一件事未在期限内确认")
    assert "基本养老保险个人账户余额继承" in message.body
    # What runs goes on and closes the bundle when it is done.
    _death_registration_completed(applicant, staff, bundle_application)
    assert "pension_inheritance" not in _parts(bundle_application)


def test_heirs_rows_are_checked_and_the_applicant_is_not_invited(bereaved, heirs):
    applicant, _staff = bereaved
    bad = [
        HEIRS[0],
        {"name": "孙丽华", "id_number": "330106195508080026", "relationship": "spouse"},
    ]
    with pytest.raises(ValidationFailed) as refused:
        _submit(applicant, inheritance__other_heirs=bad)
    assert refused.value.fields == {
        "inheritance__other_heirs": ["请填写继承人孙丽华的有效公民身份号码。"]
    }
    missing = [{"name": "孙丽华", "relationship": "spouse"}]
    with pytest.raises(ValidationFailed) as refused:
        _submit(applicant, inheritance__other_heirs=missing)
    assert refused.value.fields["inheritance__other_heirs"] == [
        "第1行，公民身份号码：这个字段是必填项。"
    ]
    assert not Application.objects.exists()

    # The applicant listing herself among the heirs does not invite herself.
    me = {"name": applicant.name, "id_number": applicant.id_number, "relationship": "child"}
    bundle_application = _submit(applicant, inheritance__other_heirs=[me, HEIRS[0]])
    assert list(bundle_application.participants.values_list("name", flat=True)) == ["赵敏杰"]


def test_a_sole_heir_lists_nobody_and_everything_starts(bereaved):
    applicant, _staff = bereaved
    bundle_application = _submit(applicant, inheritance__other_heirs=None)

    assert bundle_application.status == BundleStatus.IN_PROGRESS
    assert not bundle_application.participants.exists()
    assert _parts(bundle_application)["pension_inheritance"] == Status.WAITING


def test_withdrawing_while_heirs_are_asked_stops_the_running_parts_too(bereaved, heirs):
    applicant, _staff = bereaved
    bundle_application = _submit(applicant)

    bundles.bundle_withdraw(applicant=applicant, bundle_id=bundle_application.pk, reason="")

    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.WITHDRAWN
    assert set(_parts(bundle_application).values()) == {Status.CANCELLED}
    assert set(BundleParticipant.objects.values_list("state", flat=True)) == {
        BundleParticipant.State.EXPIRED
    }
    with pytest.raises(Conflict):
        bundles.bundle_confirm(user=heirs[0], participant_id=_participant(heirs[0]).pk)


def test_the_page_asks_the_heirs_in_rows_and_shows_what_was_not_applied_for(bereaved, heirs):
    applicant, _staff = bereaved
    client = Client()
    client.force_login(applicant)
    page = client.get("/bundles/death/apply/").content.decode()
    assert 'name="inheritance__other_heirs-0-name"' in page
    assert 'name="inheritance__other_heirs-2-relationship"' in page

    form = bundles.bundle_form(
        applicant=applicant, bundle=LifeEventBundle.objects.get(code="death")
    )
    data = posted({k: v for k, v in _answers(form).items() if k != "inheritance__other_heirs"})
    for index, heir in enumerate(HEIRS):
        for key, value in heir.items():
            data[f"inheritance__other_heirs-{index}-{key}"] = value
    data.update(idempotency_key="page-1", optional_parts=["housing_fund"])
    # A bad ID number in a row is named with the heir, and the rows come back as typed.
    wrong = {**data, "inheritance__other_heirs-1-id_number": "330106195508080026"}
    response = client.post("/bundles/death/apply/", wrong)
    assert response.status_code == 422
    assert field_error(response, "inheritance__other_heirs") == [
        "请填写继承人孙丽华的有效公民身份号码。"
    ]
    assert 'value="330106195508080026"' in response.content.decode()

    response = client.post("/bundles/death/apply/", data)
    assert response.status_code == 302
    bundle_application = BundleApplication.objects.get(applicant=applicant)
    assert bundle_application.participants.count() == 2

    bundles.bundle_decline(
        user=heirs[1], participant_id=_participant(heirs[1]).pk, reason="不同意由其代领"
    )
    page = client.get(f"/bundles/{bundle_application.pk}/").content.decode()
    pension = page[page.index('id="part-pension_inheritance"') :]
    pension = pension[: pension.index("</li>")]
    assert "不再申请" in pension
    assert "有共同申请人拒绝确认或未按时确认" in pension
