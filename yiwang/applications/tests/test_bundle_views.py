"""Pages of life-event bundles (一件事): the guide, the one form, the status page, the
co-applicant's invitation, 我的办件 and the staff side."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from yiwang.applications.models import (
    Application,
    BundleApplication,
    BundleParticipant,
    BundleStatus,
    Status,
)
from yiwang.applications.tests import test_bundles as service_tests
from yiwang.applications.tests.test_bundles import _form, _valid_answers, newborn_submit, part
from yiwang.applications.tests.test_services import act
from yiwang.catalog.models import version_cache_clear
from yiwang.identity.models import StaffRole, User
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db

# The fixtures of the service tests: a loaded catalogue with the retirement and newborn
# bundles, their departments and staff, a retiree with certificates, and two parents.
departments = service_tests.departments
loaded = service_tests.loaded
staff = service_tests.staff
retiree = service_tests.retiree
parents = service_tests.parents

APPLY = "/bundles/retirement/apply/"
BANK_ACCOUNT = "6228480328765432101"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def posted(answers: dict[str, Any]) -> dict[str, Any]:
    """Form values as a browser sends them: ticked boxes "on", unticked ones left out."""
    data: dict[str, Any] = {}
    for name, value in answers.items():
        if value is True:
            data[name] = "on"
        elif value is not False and value is not None:
            data[name] = str(value)
    return data


def apply_post(
    client: Client,
    user: User,
    *,
    key: str = "k1",
    optional: tuple[str, ...] = ("housing_fund",),
    overrides: dict[str, Any] | None = None,
) -> Any:
    data = posted(_valid_answers(_form(user), overrides))
    data.update(idempotency_key=key, optional_parts=list(optional))
    return client.post(APPLY, data)


def field_error(response: Any, field: str) -> list[str]:
    match = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode()
    )
    return re.findall(r"<li>([^<]+)</li>", match.group(1)) if match else []


def page_errors(response: Any) -> list[str]:
    match = re.search(
        r'<div class="form-errors" role="alert" id="page-errors">(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    return re.findall(r"<p>([^<]+)</p>", match.group(1)) if match else []


def submitted_bundle(user: User, key: str = "k1") -> BundleApplication:
    response = apply_post(client_for(user), user, key=key)
    assert response.status_code == 302, response.content.decode()
    return BundleApplication.objects.get(applicant=user, idempotency_key=key)


def another_retiree() -> User:
    """A retiree without a social security card: she types the bank account."""
    user = VerifiedUserFactory()
    service_tests.submit(user, key="r", overrides={"bank__account": BANK_ACCOUNT})
    return user


def queries_for(client: Client, url: str) -> int:
    version_cache_clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# ---------------------------------------------------------------------------------------
# The guide in the catalogue


def test_the_guide_lists_each_service_its_department_and_what_it_waits_for(loaded):
    response = Client().get("/services/bundles/retirement/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>退休一件事</h1>" in html
    assert "由退休职工本人在线申请，无需他人确认。" in html
    heads = re.findall(r'<p class="bundle-part-head">\s*<a href="([^"]+)">([^<]+)</a>', html)
    assert heads == [
        ("/services/330106-RS-0002/", "职工正常退休（职）申请"),
        ("/services/330106-YB-0002/", "退休人员基本医疗保险待遇核定"),
        ("/services/330100-GJJ-0002/", "住房公积金提取（退休）"),
    ]
    for department in ("杭州市西湖区人力资源和社会保障局", "杭州市西湖区医疗保障局"):
        assert department in html
    assert html.count("职工正常退休（职）申请") == 3  # its own line and the two that wait
    assert html.count(f'href="{APPLY}"') == 2


def test_the_guide_names_who_must_also_confirm(loaded):
    html = Client().get("/services/bundles/newborn/").content.decode()

    assert "新生儿父亲" in html


def test_an_unknown_or_closed_bundle_has_no_guide(loaded):
    service_tests.LifeEventBundle.objects.filter(code="newborn").update(is_active=False)

    assert Client().get("/services/bundles/holiday/").status_code == 404
    assert Client().get("/services/bundles/newborn/").status_code == 404


def test_the_life_situation_and_the_catalogue_link_their_bundles(loaded):
    situation = Client().get("/services/situations/retirement/").content.decode()
    catalogue = Client().get("/services/").content.decode()
    searched = Client().get("/services/", {"q": "退休"}).content.decode()
    by_situation = Client().get("/services/", {"situation": "birth"}).content.decode()

    assert 'href="/services/bundles/retirement/"' in situation
    assert 'href="/services/bundles/newborn/"' not in situation
    assert 'href="/services/bundles/retirement/"' in catalogue
    assert 'href="/services/bundles/newborn/"' in catalogue
    assert "bundle-card" not in searched
    assert 'href="/services/bundles/newborn/"' in by_situation
    assert 'href="/services/bundles/retirement/"' not in by_situation


# ---------------------------------------------------------------------------------------
# The one form


def test_the_form_needs_a_login(loaded):
    response = Client().get(APPLY)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_the_form_shows_each_section_once_with_prefilled_facts_locked(retiree):
    response = client_for(retiree).get(APPLY)

    html = response.content.decode()
    assert response.status_code == 200
    legends = re.findall(r'<fieldset class="bundle-section">\s*<legend>([^<]+)', html)
    assert [legend.strip() for legend in legends] == [
        "各事项共用的信息",
        "职工正常退休（职）申请",
        "退休人员基本医疗保险待遇核定",
        "住房公积金提取（退休）",
    ]
    names = set(re.findall(r'name="(\w+__\w+)"', html))
    assert names == set(_form(retiree).schema["properties"])
    assert "retirement__approval_number" not in names
    # Asked once, although three services hold the retirement date.
    assert html.count('id="id_retirement__date"') == 1
    locked = re.search(r"<input[^>]*name=\"bank__account\"[^>]*>", html)
    assert locked is not None
    assert 'data-prefilled="locked"' in locked.group(0)
    assert "disabled" in locked.group(0)
    assert f'value="{BANK_ACCOUNT}"' in locked.group(0)
    assert "电子证照：社会保障卡" in html
    assert re.search(r'<input type="checkbox" name="optional_parts" value="housing_fund"', html)


def test_each_form_page_carries_a_new_idempotency_key(retiree):
    client = client_for(retiree)
    keys = [
        re.search(r'name="idempotency_key" value="(\w+)"', client.get(APPLY).content.decode())
        for _ in range(2)
    ]

    assert all(keys)
    assert keys[0].group(1) != keys[1].group(1)  # type: ignore[union-attr]


def test_submitting_the_form_opens_the_bundle_page(retiree):
    response = apply_post(client_for(retiree), retiree)

    bundle_application = BundleApplication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/bundles/{bundle_application.pk}/"
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    assert bundle_application.part_keys == [
        "retirement_approval",
        "retiree_medical",
        "housing_fund",
    ]
    # The locked value stays what the certificate says.
    assert bundle_application.form_data["bank.account"] == BANK_ACCOUNT


def test_an_optional_service_left_unticked_is_not_applied_for(retiree):
    apply_post(client_for(retiree), retiree, optional=())

    assert BundleApplication.objects.get().part_keys == ["retirement_approval", "retiree_medical"]


def test_posting_the_form_twice_with_the_same_key_creates_one_bundle(retiree):
    client = client_for(retiree)

    first = apply_post(client, retiree, key="same")
    again = apply_post(client, retiree, key="same")

    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert BundleApplication.objects.count() == 1
    assert Application.objects.count() == 3


def test_bad_answers_are_shown_beside_their_fields_and_what_was_typed_is_kept(retiree):
    response = apply_post(
        client_for(retiree),
        retiree,
        overrides={"retirement__date": "明年", "person__phone": "123"},
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert len(field_error(response, "retirement__date")) == 1
    assert len(field_error(response, "person__phone")) == 1
    assert page_errors(response)[0] == "部分内容填写有误。"
    assert 'value="明年"' in html
    assert 'value="123"' in html
    assert 'value="杭州示例机械有限公司"' in html
    assert 'name="idempotency_key" value="k1"' in html
    assert re.search(r'name="optional_parts" value="housing_fund"[^>]*checked', html)
    assert not BundleApplication.objects.exists()


def test_an_unknown_optional_service_is_an_error_beside_the_choice(retiree):
    response = apply_post(client_for(retiree), retiree, optional=("holiday",))

    assert response.status_code == 422
    assert field_error(response, "optional_parts")
    assert not BundleApplication.objects.exists()


def test_a_post_without_its_key_asks_to_open_the_page_again(retiree):
    data = posted(_valid_answers(_form(retiree)))

    response = client_for(retiree).post(APPLY, data)

    assert response.status_code == 422
    assert len(page_errors(response)) == 1
    assert not BundleApplication.objects.exists()


def test_a_user_below_the_real_name_level_is_told_and_nothing_is_created(loaded):
    user = VerifiedUserFactory(assurance_level=1, id_number=None, verified_at=None)
    client = client_for(user)

    shown = client.get(APPLY)
    response = apply_post(
        client,
        user,
        overrides={
            "person__name": "王小明",
            "person__id_number": "330106196511230017",
            "person__gender": "M",
            "person__birth_date": "1965-11-23",
            "bank__account_name": "王小明",
            "bank__account": BANK_ACCOUNT,
        },
    )

    assert 'class="notice notice-warning"' in shown.content.decode()
    assert response.status_code == 403
    assert page_errors(response) == ["办理此事项需要实名等级 L2。"]
    assert not BundleApplication.objects.exists()


def test_the_form_of_an_unknown_bundle_is_404(retiree):
    assert client_for(retiree).get("/bundles/holiday/apply/").status_code == 404


# ---------------------------------------------------------------------------------------
# The bundle's page


def test_the_bundle_page_shows_each_service_its_state_and_one_timeline(retiree):
    bundle_application = submitted_bundle(retiree)
    first = part(bundle_application, "retirement_approval")
    medical = part(bundle_application, "retiree_medical")

    response = client_for(retiree).get(f"/bundles/{bundle_application.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>退休一件事</h1>" in html
    assert bundle_application.number in html
    assert '<span class="badge status-running" id="bundle-status">办理中</span>' in html
    assert f'href="/applications/{first.pk}/"' in html
    assert f'href="/applications/{medical.pk}/"' in html
    assert first.number in html
    assert "杭州住房公积金管理中心" in html
    parts_section = re.search(r'<ol class="bundle-parts">(.*?)</ol>', html, re.S)
    assert parts_section is not None
    assert parts_section.group(1).count("等待前序事项") == 2
    medical_row = re.search(r'id="part-retiree_medical">(.*?)</li>', html, re.S)
    assert medical_row is not None
    assert "职工正常退休（职）申请" in medical_row.group(1)
    # Every event of the bundle and of its parts, each on the one timeline.
    events = bundle_application.events.count() + sum(
        p.events.count() for p in bundle_application.parts.all()
    )
    assert html.count('class="timeline-entry"') == events
    assert html.count('class="badge timeline-part"') >= 4
    times = re.findall(r'<time datetime="([^"]+)"', html)
    assert times == sorted(times)
    assert f'action="/bundles/{bundle_application.pk}/withdraw/"' in html


def test_a_refused_service_shows_its_reason_and_why_the_others_did_not_start(retiree, staff):
    bundle_application = submitted_bundle(retiree)
    first = act(staff, part(bundle_application, "retirement_approval"), "accept", "accept")
    act(staff, first, "decide", "deny", comment="未达到法定退休年龄")

    html = client_for(retiree).get(f"/bundles/{bundle_application.pk}/").content.decode()

    approval_row = re.search(r'id="part-retirement_approval">(.*?)</li>', html, re.S)
    medical_row = re.search(r'id="part-retiree_medical">(.*?)</li>', html, re.S)
    assert approval_row is not None
    assert medical_row is not None
    assert "未达到法定退休年龄" in approval_row.group(1)
    assert "未启动" in medical_row.group(1)
    assert "职工正常退休（职）申请未予批准。" in medical_row.group(1)
    # Closed: nothing left to withdraw.
    assert "/withdraw/" not in html


def test_only_the_applicant_sees_the_bundle_page(retiree):
    bundle_application = submitted_bundle(retiree)
    url = f"/bundles/{bundle_application.pk}/"

    anonymous = Client().get(url)

    assert client_for(VerifiedUserFactory()).get(url).status_code == 404
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("identity:login"))


def test_withdrawing_needs_the_confirmation_box(retiree):
    bundle_application = submitted_bundle(retiree)

    response = client_for(retiree).post(
        f"/bundles/{bundle_application.pk}/withdraw/", {"reason": "暂不办理"}
    )

    assert response.status_code == 422
    assert field_error(response, "confirm")
    assert "暂不办理" in response.content.decode()
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS


def test_withdrawing_the_bundle_stops_its_services(retiree):
    bundle_application = submitted_bundle(retiree)
    client = client_for(retiree)

    response = client.post(
        f"/bundles/{bundle_application.pk}/withdraw/", {"reason": "暂不办理", "confirm": "on"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/bundles/{bundle_application.pk}/"
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.WITHDRAWN
    assert part(bundle_application, "retirement_approval").status == Status.WITHDRAWN
    assert part(bundle_application, "retiree_medical").status == Status.CANCELLED
    html = client.get(response["Location"]).content.decode()
    assert "/withdraw/" not in html
    assert "暂不办理" in html


def test_nobody_else_withdraws_my_bundle(retiree):
    bundle_application = submitted_bundle(retiree)

    response = client_for(VerifiedUserFactory()).post(
        f"/bundles/{bundle_application.pk}/withdraw/", {"confirm": "on"}
    )

    assert response.status_code == 404
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS


def test_withdrawing_a_closed_bundle_is_a_conflict_on_the_page(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client_for(father).post(
        f"/bundles/invitations/{participant.pk}/decline/", {"reason": "信息有误"}
    )

    response = client_for(mother).post(
        f"/bundles/{bundle_application.pk}/withdraw/", {"confirm": "on"}
    )

    assert response.status_code == 409
    assert page_errors(response) == ["该“一件事”已结束。"]


# ---------------------------------------------------------------------------------------
# Parts link back; a part is never deleted on its own


def test_a_part_links_back_to_its_bundle(retiree):
    bundle_application = submitted_bundle(retiree)
    first = part(bundle_application, "retirement_approval")

    html = client_for(retiree).get(f"/applications/{first.pk}/").content.decode()

    assert f'href="/bundles/{bundle_application.pk}/"' in html
    assert bundle_application.number in html


def test_a_part_waiting_as_a_draft_has_no_delete_button_and_cannot_be_deleted(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client_for(father).post(f"/bundles/invitations/{participant.pk}/confirm/")
    draft = part(bundle_application, "birth_certificate")
    assert draft.status == Status.DRAFT
    client = client_for(mother)

    edit = client.get(f"/applications/{draft.pk}/edit/").content.decode()
    response = client.post(f"/applications/{draft.pk}/delete/")
    bundle_page = client.get(f"/bundles/{bundle_application.pk}/").content.decode()

    assert f"/applications/{draft.pk}/delete/" not in edit
    assert f'href="/bundles/{bundle_application.pk}/"' in edit
    assert response.status_code == 409
    assert Application.objects.filter(pk=draft.pk).exists()
    # The bundle page sends her to finish it.
    row = re.search(r'id="part-birth_certificate">(.*?)</li>', bundle_page, re.S)
    assert row is not None
    assert f'href="/applications/{draft.pk}/edit/"' in row.group(1)
    needs = bundle_application.events.get(action="part_needs_action").comment
    assert needs
    assert needs in row.group(1)


# ---------------------------------------------------------------------------------------
# The co-applicant


def test_the_co_applicant_sees_who_asks_and_the_facts_with_their_titles(parents):
    mother, father = parents
    newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()

    response = client_for(father).get(f"/bundles/invitations/{participant.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "林晓雯" in html
    assert "新生儿父亲" in html
    facts = dict(
        re.findall(
            r"<dt>([^<]+)</dt><dd>([^<]+)</dd>",
            re.search(r'<dl class="facts bundle-facts">(.*?)</dl>', html, re.S).group(1),  # type: ignore[union-attr]
        )
    )
    assert facts["新生儿姓名"] == "周小雨"
    assert facts["父亲姓名"] == "周子航"
    assert facts["父亲信息"] == "填写父亲信息"  # a choice by its label, not its value
    assert "出生医学证明首次签发" in html
    assert f'action="/bundles/invitations/{participant.pk}/confirm/"' in html
    assert f'action="/bundles/invitations/{participant.pk}/decline/"' in html


def test_only_the_named_person_opens_the_invitation(parents):
    mother, father = parents
    newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    url = f"/bundles/invitations/{participant.pk}/"

    anonymous = Client().get(url)

    assert client_for(mother).get(url).status_code == 404
    assert client_for(VerifiedUserFactory()).get(url).status_code == 404
    assert client_for(VerifiedUserFactory()).post(f"{url}confirm/").status_code == 404
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("identity:login"))
    assert BundleParticipant.objects.get().state == BundleParticipant.State.INVITED


def test_confirming_on_the_page_starts_the_bundle(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client = client_for(father)

    response = client.post(f"/bundles/invitations/{participant.pk}/confirm/")

    assert response.status_code == 302
    assert response["Location"] == f"/bundles/invitations/{participant.pk}/"
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    html = client.get(response["Location"]).content.decode()
    assert "已确认" in html
    assert "/confirm/" not in html


def test_declining_needs_a_reason_and_then_stops_the_bundle(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client = client_for(father)
    url = f"/bundles/invitations/{participant.pk}/decline/"

    empty = client.post(url, {"reason": "  "})
    declined = client.post(url, {"reason": "信息有误"})

    assert empty.status_code == 422
    assert field_error(empty, "reason")
    assert declined.status_code == 302
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.DECLINED
    assert not bundle_application.parts.exists()


def test_confirming_a_declined_invitation_is_shown_as_a_conflict(parents):
    mother, father = parents
    newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client = client_for(father)
    client.post(f"/bundles/invitations/{participant.pk}/decline/", {"reason": "信息有误"})

    response = client.post(f"/bundles/invitations/{participant.pk}/confirm/")

    assert response.status_code == 409
    assert page_errors(response) == ["该申请已无法确认。"]
    assert BundleParticipant.objects.get().state == BundleParticipant.State.DECLINED


# ---------------------------------------------------------------------------------------
# 我的办件


def test_my_applications_list_my_bundles_and_what_waits_for_my_confirmation(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()

    mine = client_for(mother).get("/applications/").content.decode()
    asked = client_for(father).get("/applications/").content.decode()

    assert f'href="/bundles/{bundle_application.pk}/"' in mine
    assert bundle_application.number in mine
    assert "/bundles/invitations/" not in mine
    assert f'href="/bundles/invitations/{participant.pk}/"' in asked
    assert f'href="/bundles/{bundle_application.pk}/"' not in asked


def test_an_answered_invitation_leaves_the_list(parents):
    mother, father = parents
    newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client = client_for(father)
    client.post(f"/bundles/invitations/{participant.pk}/confirm/")

    assert "/bundles/invitations/" not in client.get("/applications/").content.decode()


def test_my_applications_take_the_same_queries_for_one_or_three_bundles(parents):
    mother, father = parents
    others = [VerifiedUserFactory() for _ in range(2)]
    newborn_submit(mother, father, key="a")
    newborn_submit(father, mother, key="b")
    one_mine = queries_for(client_for(mother), "/applications/")
    one_asked = queries_for(client_for(father), "/applications/")
    for index, other in enumerate(others):
        newborn_submit(mother, other, key=f"m{index}")
        newborn_submit(other, father, key=f"f{index}")

    assert BundleApplication.objects.filter(applicant=mother).count() == 3
    assert queries_for(client_for(mother), "/applications/") == one_mine
    assert queries_for(client_for(father), "/applications/") == one_asked


# ---------------------------------------------------------------------------------------
# Staff


def test_the_queue_marks_bundle_parts_with_the_bundle_number(retiree, staff):
    bundle_application = submitted_bundle(retiree)
    clerk = client_for(staff[("330106-RS", StaffRole.Role.CLERK)])

    html = clerk.get("/workbench/").content.decode()

    badge = re.search(r'<span class="badge badge-bundle"[^>]*>([^<]+)</span>', html)
    assert badge is not None
    assert badge.group(1).split() == ["一件事", bundle_application.number]


def test_the_queue_takes_the_same_queries_for_one_or_three_bundle_parts(retiree, staff):
    clerk = client_for(staff[("330106-RS", StaffRole.Role.CLERK)])
    submitted_bundle(retiree)
    one = queries_for(clerk, "/workbench/")
    another_retiree()
    another_retiree()

    assert queries_for(clerk, "/workbench/") == one


def test_staff_see_the_other_services_and_the_shared_facts_of_a_part(retiree, staff):
    bundle_application = submitted_bundle(retiree)
    first = part(bundle_application, "retirement_approval")
    clerk = client_for(staff[("330106-RS", StaffRole.Role.CLERK)])

    html = clerk.get(f"/workbench/applications/{first.pk}/").content.decode()
    task_page = clerk.get(f"/workbench/tasks/{first.tasks.get(state='open').pk}/").content.decode()

    panel = re.search(r'<section class="card bundle-panel"(.*?)</section>', html, re.S)
    assert panel is not None
    text = panel.group(1)
    assert "退休一件事" in text
    assert bundle_application.number in text
    others = re.findall(r"<li>([^<]+) · ", text)
    assert others == ["退休人员基本医疗保险待遇核定", "住房公积金提取（退休）"]
    assert text.count("等待前序事项") == 2
    assert "杭州住房公积金管理中心" in text
    # Shared facts only: the retirement date is, the post-retirement address is not.
    assert "申请退休日期" in text
    assert "2026-12-01" in text
    assert "退休后居住地址" not in text
    assert 'class="card bundle-panel"' in task_page


def test_a_single_application_has_no_bundle_panel_or_badge(retiree, staff):
    bundle_application = submitted_bundle(retiree)
    first = part(bundle_application, "retirement_approval")
    Application.objects.filter(pk=first.pk).update(bundle=None, bundle_part="")
    clerk = client_for(staff[("330106-RS", StaffRole.Role.CLERK)])

    assert "bundle-panel" not in clerk.get(f"/workbench/applications/{first.pk}/").content.decode()
    assert "badge-bundle" not in clerk.get("/workbench/").content.decode()
