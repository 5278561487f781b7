"""Life-event bundles (一件事): one form, a part per department, parts that wait, co-applicants."""

from __future__ import annotations

import datetime
import json
import shutil
import tomllib

import pytest
from django.utils import timezone, translation

from yiwang.applications import bundles
from yiwang.applications.models import (
    Application,
    BundleApplication,
    BundleParticipant,
    BundleStatus,
    Notification,
    Status,
)
from yiwang.applications.tests.test_services import act
from yiwang.catalog.datafiles import CatalogDataError
from yiwang.catalog.models import LifeEventBundle, ServiceItemVersion
from yiwang.catalog.services import catalog_load
from yiwang.certificates import services as certificate_services
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.models import Region
from yiwang.identity.models import Department, StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

CATALOG = __import__("pathlib").Path(__file__).resolve().parents[3] / "catalog-data"
RETIREMENT_ITEMS = {
    "330106-RS-0002": "human_resources",
    "330106-YB-0002": "medical_security",
    "330100-GJJ-0002": "housing_fund",
    "330106-WJ-0001": "health",
    "330106-WJ-0002": "health",
}
DEPARTMENTS = {
    "330106-GA": ("杭州市公安局西湖区分局", Department.Kind.PUBLIC_SECURITY, "330106"),
    "330106-RS": ("杭州市西湖区人力资源和社会保障局", Department.Kind.HUMAN_RESOURCES, "330106"),
    "330106-YB": ("杭州市西湖区医疗保障局", Department.Kind.MEDICAL_SECURITY, "330106"),
    "330100-GJJ": ("杭州住房公积金管理中心", Department.Kind.HOUSING_FUND, "330100"),
    "330106-WJ": ("杭州市西湖区卫生健康局", Department.Kind.HEALTH, "330106"),
}
# A small bundle with a co-applicant, over two items of the birth bundle.
NEWBORN = """
code = "newborn"
name = "新生儿证件联办"
target = "person"
life_situation = "birth"
region_code = "330106"
confirm_days = 7
wait_limit_days = 5

[prefill]
"mother.name" = "applicant.name"
"mother.id_number" = "applicant.id_number"
"guardian.name" = "applicant.name"
"guardian.id_number" = "applicant.id_number"
"guardian.phone" = "applicant.phone"

[[parts]]
key = "birth_certificate"
item = "330106-WJ-0001"

[[parts]]
key = "vaccination"
item = "330106-WJ-0002"
after = ["birth_certificate"]

[[co_applicants]]
label = "新生儿父亲"
name = "father.name"
id_number = "father.id_number"
parts = ["birth_certificate"]
"""


def _catalogue(root, *, bundle_files, items=RETIREMENT_ITEMS):
    (root / "forms").mkdir(parents=True)
    for name in ("certificate-types.toml", "life-situations.toml", "standards.toml"):
        shutil.copy(CATALOG / name, root / name)
    for folder in ("processes", "decisions"):
        shutil.copytree(CATALOG / folder, root / folder)
    for code, kind in items.items():
        source = CATALOG / "items" / kind / f"{code}.toml"
        (root / "items" / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy(source, root / "items" / kind / source.name)
        form = tomllib.loads(source.read_text())["form"]
        shutil.copy(CATALOG / "forms" / f"{form}.json", root / "forms" / f"{form}.json")
    (root / "bundles").mkdir()
    for name, text in bundle_files.items():
        (root / "bundles" / f"{name}.toml").write_text(text)


def departments_create(table, uscc_factory, series):
    """The departments of ``table`` (code → name, kind, region), each a legal person whose
    credit code is numbered in ``series`` (five digits, distinct per test module)."""
    for index, (code, (name, kind, region)) in enumerate(table.items()):
        Department.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "region": Region.objects.get(code=region),
                "uscc": uscc_factory(kind="11", serial=f"{series}{index:04d}"),
            },
        )


def bundle_answers(form, fixed, overrides):
    """The merged form answered: the first choice of every choice field, yes to every box,
    then ``fixed``, then ``overrides``; prefilled fields and None values left out."""
    answers = {}
    for name, prop in form.schema["properties"].items():
        if name in form.prefilled:
            continue
        if "enum" in prop:
            answers[name] = prop["enum"][0]
        elif prop.get("type") == "boolean":
            answers[name] = True
    answers.update(fixed)
    answers.update(overrides)
    return {k: v for k, v in answers.items() if k in form.schema["properties"] and v is not None}


@pytest.fixture
def departments(regions, data_exchange, uscc_factory):
    made = {}
    for index, (code, (name, kind, region)) in enumerate(DEPARTMENTS.items()):
        department, _created = Department.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "region": Region.objects.get(code=region)},
        )
        if not department.uscc:
            department.uscc = uscc_factory(kind="11", serial=f"00250{index:04d}")
            department.save(update_fields=["uscc"])
        made[code] = department
    return made


@pytest.fixture
def loaded(departments, tmp_path):
    _catalogue(
        tmp_path / "catalog",
        bundle_files={
            "retirement": (CATALOG / "bundles" / "retirement.toml").read_text(),
            "newborn": NEWBORN,
        },
    )
    catalog_load(root=tmp_path / "catalog")
    return departments


def staff_of(departments):
    """A user in each role of each department, by (department code, role)."""
    return {
        (department.code, role): StaffRoleFactory(department=department, role=role).user
        for department in departments
        for role in StaffRole.Role.values
    }


@pytest.fixture
def staff(loaded):
    return staff_of(loaded.values())


@pytest.fixture
def retiree(loaded):
    person = VerifiedUserFactory(id_number="330106196511230017", name="陈建国")
    for code, issuer, data in (
        ("CT-JMSFZ", "330106-GA", {"name": person.name, "id_number": person.id_number}),
        (
            "CT-SHBZK",
            "330106-RS",
            {
                "name": person.name,
                "social_security_number": person.id_number,
                "bank_account": "6228480328765432101",
            },
        ),
    ):
        certificate_services.certificate_issue(
            certificate_type=code,
            issuer=loaded[issuer],
            holder_kind="person",
            holder_identifier=person.id_number,
            holder_name=person.name,
            data=data,
        )
    return person


RETIREMENT_FORM = {
    "person__phone": "13900001111",
    "person__address": "浙江省杭州市西湖区文三路100号",
    "employment__employer": "杭州示例机械有限公司",
    "employment__employer_uscc": "91330106MA2XXXXX1X",
    "retirement_approval__retirement_type": "normal",
    "retirement__date": "2026-12-01",
    "retirement_approval__post_retirement_address": "浙江省杭州市西湖区文三路100号",
    "bank__name": "中国农业银行杭州西湖支行",
    "housing_fund__account_number": "330100123456",
    "declaration": True,
}


def _form(applicant, code="retirement"):
    return bundles.bundle_form(applicant=applicant, bundle=LifeEventBundle.objects.get(code=code))


def _valid_answers(form, overrides=None):
    """Every field the merged form asks, answered: the example values, then the first
    allowed value or a plausible default for the rest."""
    answers = {}
    for name, prop in form.schema["properties"].items():
        if name in form.prefilled:
            continue
        if "enum" in prop:
            answers[name] = prop["enum"][0]
        elif prop.get("type") == "boolean":
            answers[name] = True
        elif prop.get("type") == "integer":
            answers[name] = max(1, prop.get("minimum", 1))
        elif prop.get("format") == "date":
            answers[name] = "2026-12-01"
        else:
            answers[name] = None
    answers.update({k: v for k, v in RETIREMENT_FORM.items() if k in answers or k == "declaration"})
    answers.update(overrides or {})
    return {k: v for k, v in answers.items() if v is not None}


def submit(applicant, *, optional=("housing_fund",), key="k1", overrides=None):
    form = _form(applicant)
    return bundles.bundle_submit(
        applicant=applicant,
        bundle=form.bundle,
        form_data=_valid_answers(form, overrides),
        optional_parts=optional,
        idempotency_key=key,
    )


def part(bundle_application, key):
    return Application.objects.get(bundle=bundle_application, bundle_part=key)


def completed(staff, application):
    application = act(staff, application, "accept", "accept")
    application = act(staff, application, "decide", "grant")
    return act(staff, application, "deliver", "delivered")


# ---------------------------------------------------------------------------------------
# Definitions


def test_the_bundle_is_loaded_with_its_parts_in_order(loaded):
    bundle = LifeEventBundle.objects.get(code="retirement")

    assert bundle.name == "退休一件事"
    assert bundle.life_situation.code == "retirement"
    assert bundle.part_items == ["330106-RS-0002", "330106-YB-0002", "330100-GJJ-0002"]
    assert bundle.definition["parts"][1]["from_results"] == {
        "retirement.approval_number": "retirement_approval.approval_number"
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            (
                'after = ["retirement_approval"]\nfrom_results',
                'after = ["housing_fund"]\nfrom_results',
            ),
            "parts[1].after",
            "'housing_fund' is not a part declared before this one.",
        ),
        (('item = "330106-YB-0002"', 'item = "330106-YB-9999"'), "parts[1].item", "No item"),
        (
            ('"retirement_approval.approval_number"', '"retirement_approval.nonsense"'),
            "parts[1].from_results.retirement.approval_number",
            "has no field 'nonsense'",
        ),
        (
            ('"bank.account_name" = "applicant.name"', '"bank.nothing" = "applicant.name"'),
            "prefill.bank.nothing",
            "does not ask bank.nothing",
        ),
        (
            ('life_situation = "retirement"', 'life_situation = "napping"'),
            "life_situation",
            "No life situation",
        ),
    ],
    ids=["later-part", "unknown-item", "unknown-result-field", "unknown-prefill", "situation"],
)
def test_a_wrong_bundle_file_is_refused_naming_the_field(
    departments, tmp_path, change, field, message
):
    text = (CATALOG / "bundles" / "retirement.toml").read_text()
    assert change[0] in text
    _catalogue(
        tmp_path / "catalog", bundle_files={"retirement": text.replace(change[0], change[1])}
    )

    with pytest.raises(CatalogDataError) as raised, translation.override("en"):
        catalog_load(root=tmp_path / "catalog")

    problems = {p.field: p.message for p in raised.value.problems}
    assert field in problems, problems
    assert message in problems[field]
    assert not LifeEventBundle.objects.exists()


def test_a_rule_reading_a_fact_the_form_does_not_ask_is_refused(departments, tmp_path):
    text = NEWBORN.replace(
        'after = ["birth_certificate"]\n',
        'after = ["birth_certificate"]\nwhen = { "==" = [ { "var" = "child.shoe_size" }, 1 ] }\n',
    )
    _catalogue(tmp_path / "catalog", bundle_files={"newborn": text})

    with pytest.raises(CatalogDataError) as raised, translation.override("en"):
        catalog_load(root=tmp_path / "catalog")

    assert [p.message for p in raised.value.problems] == [
        "The rule reads child.shoe_size, which the form does not ask."
    ]


# ---------------------------------------------------------------------------------------
# One form


def test_each_shared_fact_is_asked_once_and_prefilled(retiree):
    form = _form(retiree)

    names = list(form.schema["properties"])
    assert len(names) == len(set(names))
    # The applicant's name, the retirement date and the employer are in all three forms.
    for shared in ("person__name", "retirement__date", "employment__employer"):
        assert shared in names
    assert form.sections[0][0] == "各事项共用的信息"
    assert {"person__name", "retirement__date", "bank__account"} <= set(form.sections[0][1])
    # Not asked: it comes from the retirement approval once issued.
    assert "retirement__approval_number" not in names
    assert form.prefilled["person__name"].value == "陈建国"
    assert form.prefilled["person__name"].locked is True
    # The bundle's own prefill: the pension goes to the social security card's account.
    assert form.prefilled["bank__account"].value == "6228480328765432101"
    assert form.prefilled["bank__account"].source == "电子证照：社会保障卡"


def test_submitting_starts_the_first_part_and_the_others_wait(retiree, staff):
    bundle_application = submit(retiree)

    assert bundle_application.status == BundleStatus.IN_PROGRESS
    assert bundle_application.number.startswith("YJS330106")
    assert bundle_application.part_keys == [
        "retirement_approval",
        "retiree_medical",
        "housing_fund",
    ]
    first = part(bundle_application, "retirement_approval")
    assert first.status == Status.SUBMITTED
    assert first.form_data["applicant_name"] == "陈建国"
    assert first.form_data["bank_account"] == "6228480328765432101"
    # Both certificate materials attached, nothing uploaded.
    assert sorted(first.materials.values_list("material_code", flat=True)) == [
        "id-card",
        "social-security-card",
    ]
    for key in ("retiree_medical", "housing_fund"):
        waiting = part(bundle_application, key)
        assert waiting.status == Status.WAITING
        assert waiting.number is None
        assert waiting.form_data["employer_name"] == "杭州示例机械有限公司"
    assert not first.tasks.filter(department__code="330106-YB").exists()


def test_the_same_key_submits_once(retiree):
    first = submit(retiree, key="same")
    again = submit(retiree, key="same")

    assert again.pk == first.pk
    assert BundleApplication.objects.count() == 1
    assert Application.objects.count() == 3


def test_an_optional_part_left_out_is_not_created(retiree):
    bundle_application = submit(retiree, optional=())

    assert bundle_application.part_keys == ["retirement_approval", "retiree_medical"]
    assert not Application.objects.filter(bundle_part="housing_fund").exists()


def test_bad_answers_are_errors_on_the_merged_fields_and_nothing_is_written(retiree):
    with pytest.raises(ValidationFailed) as raised:
        submit(retiree, overrides={"retirement__date": "明年", "person__phone": "123"})

    fields = raised.value.fields
    assert set(fields) >= {"retirement__date", "person__phone"}
    # One message per field, although three forms hold the date.
    assert len(fields["retirement__date"]) == 1
    assert not BundleApplication.objects.exists()
    assert not Application.objects.exists()


def test_an_unknown_optional_part_is_refused(retiree):
    with pytest.raises(ValidationFailed) as raised:
        submit(retiree, optional=("holiday",))

    assert "parts" in raised.value.fields
    assert not BundleApplication.objects.exists()


# ---------------------------------------------------------------------------------------
# Parts that wait


def test_when_the_approval_is_issued_the_waiting_parts_start_with_its_number(retiree, staff):
    bundle_application = submit(retiree)

    completed(staff, part(bundle_application, "retirement_approval"))

    medical = part(bundle_application, "retiree_medical")
    first = part(bundle_application, "retirement_approval")
    assert medical.status == Status.SUBMITTED
    assert medical.form_data["retirement_approval_number"] == first.number
    attached = dict(medical.materials.values_list("material_code", "certificate_ref"))
    assert attached["retirement-approval"].startswith("1.2.156.3005.2.")
    assert part(bundle_application, "housing_fund").status == Status.SUBMITTED
    assert medical.events.filter(action="bundle_ready").exists()


def test_a_catalogue_change_while_a_part_waits_does_not_reach_it(retiree, staff, tmp_path):
    bundle_application = submit(retiree)
    waiting = part(bundle_application, "retiree_medical")
    pinned = waiting.item_version_id
    # Meanwhile the medical-security item is republished with a new required field.
    root = tmp_path / "catalog"
    form_path = root / "forms" / "retiree-medical-benefit.json"
    form = json.loads(form_path.read_text())
    form["schema"]["properties"]["new_question"] = {"type": "string", "title": "新增问题"}
    form["schema"]["required"].append("new_question")
    form["ui"]["ui:order"].append("new_question")
    form_path.write_text(json.dumps(form, ensure_ascii=False))
    catalog_load(root=root)
    republished = ServiceItemVersion.objects.filter(item__code="330106-YB-0002").latest("pk")
    assert republished.pk != pinned

    completed(staff, part(bundle_application, "retirement_approval"))

    waiting.refresh_from_db()
    # It started on the version it was applied for: the new question was never asked of
    # the applicant, so it could not have been answered, and it is not required of her.
    assert waiting.status == Status.SUBMITTED
    assert waiting.item_version_id == pinned
    assert "new_question" not in waiting.snapshot["form"]["schema"]["properties"]
    # A bundle submitted now asks the new question.
    assert "retiree_medical__new_question" in _form(retiree).schema["properties"]


def test_a_denied_part_cancels_what_waits_for_it_and_the_bundle_closes(retiree, staff):
    bundle_application = submit(retiree)
    first = part(bundle_application, "retirement_approval")
    first = act(staff, first, "accept", "accept")
    act(staff, first, "decide", "deny", comment="未达到法定退休年龄")

    bundle_application.refresh_from_db()
    for key in ("retiree_medical", "housing_fund"):
        cancelled = part(bundle_application, key)
        assert cancelled.status == Status.CANCELLED
        assert (
            cancelled.events.get(action="bundle_cancel").comment
            == "职工正常退休（职）申请未予批准。"
        )
    assert bundle_application.status == BundleStatus.COMPLETED
    assert Notification.objects.filter(user=retiree, title="退休一件事已办结").exists()


def test_withdrawing_keeps_what_is_done_and_stops_the_rest(retiree, staff):
    bundle_application = submit(retiree)
    completed(staff, part(bundle_application, "retirement_approval"))

    bundles.bundle_withdraw(applicant=retiree, bundle_id=bundle_application.pk, reason="暂不办理")

    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.WITHDRAWN
    assert part(bundle_application, "retirement_approval").status == Status.COMPLETED
    assert part(bundle_application, "retiree_medical").status == Status.WITHDRAWN
    assert part(bundle_application, "housing_fund").status == Status.WITHDRAWN
    with pytest.raises(NotFound):
        bundles.bundle_withdraw(applicant=VerifiedUserFactory(), bundle_id=bundle_application.pk)


def test_a_part_waiting_too_long_is_escalated_once(retiree, staff):
    bundle_application = submit(retiree)
    later = timezone.now() + datetime.timedelta(days=30)

    counts = bundles.bundles_check(now=later)
    again = bundles.bundles_check(now=later)

    assert counts["parts_escalated"] == 2
    assert again["parts_escalated"] == 0
    medical = part(bundle_application, "retiree_medical")
    assert medical.events.filter(action="bundle_wait_escalate").count() == 1
    admin = staff[("330106-RS", StaffRole.Role.DEPARTMENT_ADMIN)]
    assert Notification.objects.filter(user=admin, title__contains="仍在等待").exists()


# ---------------------------------------------------------------------------------------
# Co-applicants


@pytest.fixture
def parents(loaded):
    mother = VerifiedUserFactory(id_number="330106199203150027", name="林晓雯")
    father = VerifiedUserFactory(id_number="330106199001010018", name="周子航")
    return mother, father


def newborn_submit(mother, father, key="n1"):
    form = _form(mother, "newborn")
    answers = _valid_answers(
        form,
        {
            "father__name": father.name,
            "father__id_number": father.id_number,
            "father_unknown": "known",
            "child__name": "周小雨",
            "child__birth_date": "2026-11-20",
            "child__birth_time": "08:30",
            "child__birth_place": "浙江省杭州市西湖区",
            "child__birth_hospital": "杭州市西湖区妇幼保健院",
            "child__birth_certificate_number": "Q330123456",
            "person__phone": "13900002222",
        },
    )
    return bundles.bundle_submit(
        applicant=mother, bundle=form.bundle, form_data=answers, idempotency_key=key
    )


def test_nothing_starts_until_the_co_applicant_confirms(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)

    assert bundle_application.status == BundleStatus.CONFIRMING
    assert not bundle_application.parts.exists()
    participant = BundleParticipant.objects.get()
    assert (participant.label, participant.id_number) == ("新生儿父亲", father.id_number)
    assert Notification.objects.filter(user=father, title="请确认：新生儿证件联办").exists()

    bundles.bundle_confirm(user=father, participant_id=participant.pk)

    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    assert part(bundle_application, "vaccination").status == Status.WAITING
    # Her ID card is not in her wallet, so it must be uploaded: that part waits for the
    # mother as a draft. (The registration form is the online form: nothing to provide.)
    first = part(bundle_application, "birth_certificate")
    assert first.status == Status.DRAFT
    needs = bundle_application.events.get(action="part_needs_action")
    assert needs.comment == "请提供：母亲居民身份证。"


def test_only_the_named_person_may_answer(parents):
    mother, father = parents
    newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()

    for stranger in (mother, VerifiedUserFactory()):
        with pytest.raises(NotFound):
            bundles.bundle_confirm(user=stranger, participant_id=participant.pk)
    assert BundleParticipant.objects.get().state == BundleParticipant.State.INVITED


def test_a_co_applicant_who_declines_stops_the_bundle(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)
    participant = BundleParticipant.objects.get()

    with pytest.raises(ValidationFailed):
        bundles.bundle_decline(user=father, participant_id=participant.pk, reason=" ")
    bundles.bundle_decline(user=father, participant_id=participant.pk, reason="信息有误")

    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.DECLINED
    assert not bundle_application.parts.exists()
    assert Notification.objects.filter(user=mother, title="新生儿证件联办已被拒绝").exists()
    with pytest.raises(Conflict):
        bundles.bundle_confirm(user=father, participant_id=participant.pk)


def test_a_bundle_not_confirmed_in_time_expires_with_a_message(parents):
    mother, father = parents
    bundle_application = newborn_submit(mother, father)

    counts = bundles.bundles_check(now=timezone.now() + datetime.timedelta(days=8))

    bundle_application.refresh_from_db()
    assert counts["bundles_expired"] == 1
    assert bundle_application.status == BundleStatus.EXPIRED
    assert BundleParticipant.objects.get().state == BundleParticipant.State.EXPIRED
    message = Notification.objects.get(user=mother, title="新生儿证件联办未在期限内确认")
    assert "新生儿父亲" in message.body
