"""The JSON API of life-event bundles (一件事): the catalogue, the form, applying, following
a bundle, and co-applicants confirming or declining in their own accounts."""

from __future__ import annotations

import pytest
from django.test import Client

from yiwang.applications.models import BundleApplication, BundleParticipant, BundleStatus
from yiwang.applications.tests import test_bundles
from yiwang.applications.tests.test_bundles import _form, _valid_answers, newborn_submit, submit
from yiwang.catalog.models import LifeEventBundle
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db

# The service tests' catalogue (the retirement and newborn bundles) and people.
departments = test_bundles.departments
loaded = test_bundles.loaded
retiree = test_bundles.retiree
parents = test_bundles.parents

RETIREMENT_PARTS = [
    {
        "key": "retirement_approval",
        "item_code": "330106-RS-0002",
        "item_name": "职工正常退休（职）申请",
        "department": {"code": "330106-RS", "name": "杭州市西湖区人力资源和社会保障局"},
        "published": True,
        "optional": False,
        "conditional": False,
        "after": [],
    },
    {
        "key": "retiree_medical",
        "item_code": "330106-YB-0002",
        "item_name": "退休人员基本医疗保险待遇核定",
        "department": {"code": "330106-YB", "name": "杭州市西湖区医疗保障局"},
        "published": True,
        "optional": False,
        "conditional": False,
        "after": ["retirement_approval"],
    },
    {
        "key": "housing_fund",
        "item_code": "330100-GJJ-0002",
        "item_name": "住房公积金提取（退休）",
        "department": {"code": "330100-GJJ", "name": "杭州住房公积金管理中心"},
        "published": True,
        "optional": True,
        "conditional": False,
        "after": ["retirement_approval"],
    },
]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def apply(user, *, key="k1", optional=("housing_fund",), overrides=None):
    return client_for(user).post(
        "/api/v1/bundles/retirement/applications",
        {
            "form_data": _valid_answers(_form(user), overrides),
            "optional_parts": list(optional),
        },
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


# ---------------------------------------------------------------------------------------
# The catalogue


def test_the_catalogue_lists_the_open_bundles_with_their_services(
    loaded, django_assert_num_queries
):
    LifeEventBundle.objects.create(
        code="closed", name="已停办", target="person", region_code="330106", is_active=False
    )

    with django_assert_num_queries(2):
        response = Client().get("/api/v1/bundles")

    assert response.status_code == 200
    bundles = {b["code"]: b for b in response.json()}
    assert sorted(bundles) == ["newborn", "retirement"]
    retirement = bundles["retirement"]
    assert {k: v for k, v in retirement.items() if k not in ("summary", "parts")} == {
        "code": "retirement",
        "name": "退休一件事",
        "target": "person",
        "life_situation": "retirement",
        "region_code": "330106",
        "applicant_note": "由退休职工本人在线申请，无需他人确认。",
        "confirm_days": 7,
        "co_applicants": [],
    }
    assert retirement["summary"].startswith("职工达到退休条件后一次申请")
    assert retirement["parts"] == RETIREMENT_PARTS
    assert bundles["newborn"]["co_applicants"] == ["新生儿父亲"]


def test_the_catalogue_filters_bundles_by_life_situation(loaded):
    response = Client().get("/api/v1/bundles?situation=birth")

    assert [b["code"] for b in response.json()] == ["newborn"]


def test_one_bundle_is_read_by_its_code_and_an_unknown_one_is_a_404(loaded):
    response = Client().get("/api/v1/bundles/retirement")
    missing = Client().get("/api/v1/bundles/holiday")

    assert response.status_code == 200
    assert response.json()["parts"] == RETIREMENT_PARTS
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "未找到。", "fields": {}}


# ---------------------------------------------------------------------------------------
# The form and applying


def test_the_form_asks_each_fact_once_and_says_where_prefilled_values_come_from(retiree):
    response = client_for(retiree).get("/api/v1/bundles/retirement/form")

    assert response.status_code == 200
    form = response.json()
    assert (form["bundle_code"], form["bundle_name"]) == ("retirement", "退休一件事")
    assert "retirement__approval_number" not in form["form_schema"]["properties"]
    assert form["ui_schema"]["ui:order"][:3] == [
        "person__name",
        "person__id_number",
        "person__phone",
    ]
    assert [section["title"] for section in form["sections"]] == [
        "各事项共用的信息",
        "职工正常退休（职）申请",
        "退休人员基本医疗保险待遇核定",
        "住房公积金提取（退休）",
    ]
    assert form["sections"][0]["fields"] == [
        "person__name",
        "person__id_number",
        "person__phone",
        "employment__employer",
        "retirement__date",
        "bank__account_name",
        "bank__name",
        "bank__account",
    ]
    assert form["prefilled"]["person__name"] == {
        "value": "陈建国",
        "source": "实名认证信息",
        "locked": True,
    }
    assert form["prefilled"]["person__phone"] == {
        "value": retiree.phone,
        "source": "您的账户",
        "locked": False,
    }
    assert form["prefilled"]["bank__account"] == {
        "value": "6228480328765432101",
        "source": "电子证照：社会保障卡",
        "locked": True,
    }
    assert form["optional_parts"] == [
        {"key": "housing_fund", "item_code": "330100-GJJ-0002", "name": "住房公积金提取（退休）"}
    ]


def test_applying_starts_the_first_part_and_the_others_wait_for_it(retiree):
    response = apply(retiree)

    assert response.status_code == 201
    created = response.json()
    bundle_application = BundleApplication.objects.get()
    assert created == {
        "id": bundle_application.pk,
        "number": bundle_application.number,
        "bundle_code": "retirement",
        "bundle_name": "退休一件事",
        "status": "in_progress",
        "status_label": "办理中",
        "part_keys": ["retirement_approval", "retiree_medical", "housing_fund"],
        "submitted_at": created["submitted_at"],
        "confirm_due": None,
        "closed_at": None,
    }
    assert created["number"].startswith("YJS330106")

    detail = client_for(retiree).get(f"/api/v1/bundle-applications/{created['id']}").json()

    parts = {p.bundle_part: p for p in bundle_application.parts.all()}
    assert detail["parts"] == [
        {
            "key": "retirement_approval",
            "item_code": "330106-RS-0002",
            "name": "职工正常退休（职）申请",
            "department_code": "330106-RS",
            "department_name": "杭州市西湖区人力资源和社会保障局",
            "waits_for": [],
            "application_id": parts["retirement_approval"].pk,
            "number": parts["retirement_approval"].number,
            "status": "submitted",
            "status_label": "已提交",
            "dropped": False,
        },
        {
            "key": "retiree_medical",
            "item_code": "330106-YB-0002",
            "name": "退休人员基本医疗保险待遇核定",
            "department_code": "330106-YB",
            "department_name": "杭州市西湖区医疗保障局",
            "waits_for": ["retirement_approval"],
            "application_id": parts["retiree_medical"].pk,
            "number": None,
            "status": "waiting",
            "status_label": "等待前序事项",
            "dropped": False,
        },
        {
            "key": "housing_fund",
            "item_code": "330100-GJJ-0002",
            "name": "住房公积金提取（退休）",
            "department_code": "330100-GJJ",
            "department_name": "杭州住房公积金管理中心",
            "waits_for": ["retirement_approval"],
            "application_id": parts["housing_fund"].pk,
            "number": None,
            "status": "waiting",
            "status_label": "等待前序事项",
            "dropped": False,
        },
    ]
    assert detail["participants"] == []
    # The bundle's own entries and its parts' in one timeline, oldest first.
    timeline = [(e["part"], e["action"], e["to_status"]) for e in detail["timeline"]]
    assert timeline == [
        ("", "submit", ""),
        ("retirement_approval", "bundle_part", "draft"),
        ("retirement_approval", "submit", "submitted"),
        ("retirement_approval", "part_submitted", ""),
        ("retiree_medical", "bundle_part", "waiting"),
        ("housing_fund", "bundle_part", "waiting"),
    ]
    times = [e["created_at"] for e in detail["timeline"]]
    assert times == sorted(times)
    assert detail["timeline"][0]["actor_role"] == "applicant"


def test_applying_twice_with_the_same_key_creates_one_bundle(retiree):
    first = apply(retiree, key="same")
    again = apply(retiree, key="same")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert BundleApplication.objects.count() == 1


def test_an_optional_part_left_out_is_not_applied_for(retiree):
    response = apply(retiree, optional=())

    assert response.json()["part_keys"] == ["retirement_approval", "retiree_medical"]


def test_bad_answers_are_field_errors_on_the_merged_form_and_nothing_is_written(retiree):
    response = apply(retiree, overrides={"retirement__date": "明年", "person__phone": "123"})

    assert response.status_code == 422
    assert response.json() == {
        "code": "validation_failed",
        "message": "部分内容填写有误。",
        "fields": {
            "person__phone": ["申请人联系电话的格式不正确。"],
            "retirement__date": ["请输入日期，例如 2026-01-31。"],
        },
    }
    assert not BundleApplication.objects.exists()


def test_an_unknown_optional_part_is_a_field_error(retiree):
    response = apply(retiree, optional=("holiday",))

    assert response.status_code == 422
    assert response.json()["fields"] == {"parts": ["请在可选事项中选择。"]}


def test_an_idempotency_key_over_64_characters_is_refused(retiree):
    response = apply(retiree, key="k" * 65)

    assert response.status_code == 422
    assert response.json()["fields"] == {"Idempotency-Key": ["最多 64 个字符。"]}
    assert not BundleApplication.objects.exists()


def test_applying_for_an_unknown_bundle_is_a_404(retiree):
    response = client_for(retiree).post(
        "/api/v1/bundles/holiday/applications", {"form_data": {}}, content_type="application/json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/bundles/retirement/form"),
        ("post", "/api/v1/bundles/retirement/applications"),
        ("get", "/api/v1/bundle-applications"),
        ("get", "/api/v1/bundle-applications/1"),
        ("post", "/api/v1/bundle-applications/1/withdraw"),
        ("get", "/api/v1/bundle-invitations"),
        ("post", "/api/v1/bundle-invitations/1/confirm"),
        ("post", "/api/v1/bundle-invitations/1/decline"),
    ],
)
def test_the_bundle_endpoints_need_a_login(loaded, method, path):
    response = getattr(Client(), method)(path, {}, content_type="application/json")

    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "message": "请先登录。", "fields": {}}


# ---------------------------------------------------------------------------------------
# Following and withdrawing


def test_my_bundles_are_listed_newest_first_without_a_query_per_bundle(
    retiree, django_assert_max_num_queries
):
    first = submit(retiree, key="a")
    second = submit(retiree, key="b", optional=())
    submit(VerifiedUserFactory(), key="a", overrides={"bank__account": "6228480328765432102"})
    client = client_for(retiree)

    # The session, the user, the bundles; the rest is the request's savepoint and session.
    with django_assert_max_num_queries(6):
        listed = client.get("/api/v1/bundle-applications").json()

    assert [(b["id"], b["number"], b["part_keys"]) for b in listed] == [
        (second.pk, second.number, ["retirement_approval", "retiree_medical"]),
        (first.pk, first.number, ["retirement_approval", "retiree_medical", "housing_fund"]),
    ]


def test_another_citizen_neither_sees_nor_withdraws_my_bundle(retiree):
    bundle_application = submit(retiree)
    other = client_for(VerifiedUserFactory())

    assert other.get(f"/api/v1/bundle-applications/{bundle_application.pk}").status_code == 404
    withdrawn = other.post(
        f"/api/v1/bundle-applications/{bundle_application.pk}/withdraw",
        {"reason": "x"},
        content_type="application/json",
    )
    assert withdrawn.status_code == 404
    assert other.get("/api/v1/bundle-applications").json() == []
    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS


def test_withdrawing_stops_the_parts_and_withdrawing_again_changes_nothing(retiree):
    bundle_application = submit(retiree)
    client = client_for(retiree)
    url = f"/api/v1/bundle-applications/{bundle_application.pk}/withdraw"

    response = client.post(url, {"reason": "暂不办理"}, content_type="application/json")
    again = client.post(url, {"reason": "暂不办理"}, content_type="application/json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_label"]) == ("withdrawn", "已撤回")
    assert again.status_code == 200
    assert again.json() == response.json()
    detail = client.get(f"/api/v1/bundle-applications/{bundle_application.pk}").json()
    assert [(p["key"], p["status"]) for p in detail["parts"]] == [
        ("retirement_approval", "withdrawn"),
        ("retiree_medical", "cancelled"),
        ("housing_fund", "cancelled"),
    ]
    assert detail["timeline"][-1]["action"] == "withdraw"
    assert detail["timeline"][-1]["comment"] == "暂不办理"


def test_withdrawing_a_declined_bundle_is_a_409(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client_for(father).post(
        f"/api/v1/bundle-invitations/{participant.pk}/decline",
        {"reason": "信息有误"},
        content_type="application/json",
    )

    response = client_for(mother).post(
        f"/api/v1/bundle-applications/{bundle_application.pk}/withdraw",
        {},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "bundle_closed",
        "message": "该“一件事”已结束。",
        "fields": {},
    }


# ---------------------------------------------------------------------------------------
# Co-applicants


def test_the_applicant_sees_her_co_applicant_masked(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)

    response = client_for(mother).get(f"/api/v1/bundle-applications/{bundle_application.pk}")

    detail = response.json()
    assert (detail["status"], detail["status_label"]) == ("confirming", "等待共同申请人确认")
    assert detail["participants"] == [
        {
            "label": "新生儿父亲",
            "name": "周**",
            "id_number": "3301**********0018",
            "state": "invited",
            "state_label": "待确认",
            "responded_at": None,
            "reason": "",
        }
    ]
    # Nothing is created before he confirms.
    assert [(p["key"], p["application_id"], p["status"]) for p in detail["parts"]] == [
        ("birth_certificate", None, None),
        ("vaccination", None, None),
    ]
    invite = next(e for e in detail["timeline"] if e["action"] == "invite")
    assert invite["data"] == {"label": "新生儿父亲", "name": "周**"}
    # His ID number and name appear nowhere in full.
    assert father.id_number not in response.content.decode()
    assert father.name not in response.content.decode()


def test_the_co_applicant_sees_the_invitation_and_confirms_it(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client = client_for(father)

    invitations = client.get("/api/v1/bundle-invitations").json()

    assert invitations == [
        {
            "id": participant.pk,
            "label": "新生儿父亲",
            "state": "invited",
            "state_label": "待确认",
            "bundle_number": bundle_application.number,
            "bundle_code": "newborn",
            "bundle_name": "新生儿证件联办",
            "bundle_status": "confirming",
            "applicant_name": "林**",
            "part_names": ["出生医学证明首次签发", "预防接种证办理"],
            "submitted_at": invitations[0]["submitted_at"],
            "confirm_due": invitations[0]["confirm_due"],
            "responded_at": None,
        }
    ]
    assert client_for(mother).get("/api/v1/bundle-invitations").json() == []
    assert client_for(VerifiedUserFactory()).get("/api/v1/bundle-invitations").json() == []

    url = f"/api/v1/bundle-invitations/{participant.pk}/confirm"
    confirmed = client.post(url)
    again = client.post(url)

    assert confirmed.status_code == 200
    assert (confirmed.json()["state"], confirmed.json()["bundle_status"]) == (
        "confirmed",
        "in_progress",
    )
    assert again.status_code == 200
    assert again.json()["state"] == "confirmed"
    assert client.get("/api/v1/bundle-invitations").json() == []
    detail = client_for(mother).get(f"/api/v1/bundle-applications/{bundle_application.pk}").json()
    assert [(p["key"], p["status"]) for p in detail["parts"]] == [
        ("birth_certificate", "draft"),
        ("vaccination", "waiting"),
    ]
    assert detail["participants"][0]["state"] == "confirmed"
    confirm = next(e for e in detail["timeline"] if e["action"] == "confirm")
    assert confirm["actor_role"] == "co_applicant"


def test_only_the_named_person_may_answer_an_invitation(parents):
    mother, father = parents
    newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()

    for someone in (mother, VerifiedUserFactory()):
        client = client_for(someone)
        confirm = client.post(f"/api/v1/bundle-invitations/{participant.pk}/confirm")
        decline = client.post(
            f"/api/v1/bundle-invitations/{participant.pk}/decline",
            {"reason": "不同意"},
            content_type="application/json",
        )
        assert (confirm.status_code, decline.status_code) == (404, 404)
    assert BundleParticipant.objects.get().state == BundleParticipant.State.INVITED


def test_declining_needs_a_reason_and_stops_the_bundle(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client = client_for(father)
    url = f"/api/v1/bundle-invitations/{participant.pk}/decline"

    blank = client.post(url, {"reason": " "}, content_type="application/json")
    declined = client.post(url, {"reason": "信息有误"}, content_type="application/json")

    assert blank.status_code == 422
    assert blank.json()["fields"] == {"reason": ["请说明理由。"]}
    assert declined.status_code == 200
    assert (declined.json()["state"], declined.json()["bundle_status"]) == (
        "declined",
        "declined",
    )
    detail = client_for(mother).get(f"/api/v1/bundle-applications/{bundle_application.pk}").json()
    assert detail["participants"][0]["reason"] == "信息有误"
    assert detail["parts"][0]["application_id"] is None


def test_answering_a_closed_invitation_is_a_409(parents):
    mother, father = parents
    newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()
    client = client_for(father)
    client.post(
        f"/api/v1/bundle-invitations/{participant.pk}/decline",
        {"reason": "信息有误"},
        content_type="application/json",
    )

    confirm = client.post(f"/api/v1/bundle-invitations/{participant.pk}/confirm")
    decline = client.post(
        f"/api/v1/bundle-invitations/{participant.pk}/decline",
        {"reason": "再次拒绝"},
        content_type="application/json",
    )

    assert confirm.status_code == 409
    assert confirm.json() == {
        "code": "not_confirmable",
        "message": "该申请已无法确认。",
        "fields": {},
    }
    assert decline.status_code == 409
    assert decline.json()["code"] == "not_confirmable"
