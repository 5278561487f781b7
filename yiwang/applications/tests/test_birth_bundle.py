"""出生一件事 end to end at the service level: the hospital's birth report, the father's
confirmation, five departments' parts, the child's ID number and her certificates in both
parents' wallets."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from yiwang.applications import bundles, services
from yiwang.applications.models import BundleStatus, Status
from yiwang.applications.tests.test_bundles import (
    CATALOG,
    _catalogue,
    completed,
    part,
    staff_of,
)
from yiwang.applications.tests.test_bundles import departments as departments  # fixture
from yiwang.applications.tests.test_services import act
from yiwang.catalog.models import LifeEventBundle
from yiwang.catalog.services import catalog_load
from yiwang.certificates import selectors as certificate_selectors
from yiwang.certificates import services as certificate_services
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.core.identifiers import resident_id_parse, resident_id_with_check_digit
from yiwang.exchange import registrations
from yiwang.exchange.models import PopulationRecord
from yiwang.exchange.records import BirthMedicalRecord, HouseholdMember
from yiwang.exchange.tests.factories import (
    BirthMedicalRecordFactory,
    HouseholdMemberFactory,
    PopulationRecordFactory,
)
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db

BIRTH_ITEMS = {
    "330106-WJ-0001": "health",
    "330106-GA-0001": "public_security",
    "330106-WJ-0002": "health",
    "330106-YB-0001": "medical_security",
    "330106-RS-0001": "human_resources",
}
MOTHER_ID = resident_id_with_check_digit("33010619920315002")
FATHER_ID = resident_id_with_check_digit("33010619900708001")


@pytest.fixture
def birth_catalogue(departments, tmp_path):
    _catalogue(
        tmp_path / "catalog",
        bundle_files={"birth": (CATALOG / "bundles" / "birth.toml").read_text()},
        items=BIRTH_ITEMS,
    )
    catalog_load(root=tmp_path / "catalog")
    return departments


@pytest.fixture
def staff(birth_catalogue):
    return staff_of(birth_catalogue.values())


@pytest.fixture
def parents(birth_catalogue):
    """A married couple in one household (the father heads it) and the hospital's report
    of their daughter's birth five days ago, not yet named."""
    mother = VerifiedUserFactory(id_number=MOTHER_ID, name="林晓雨", phone="13900002222")
    father = VerifiedUserFactory(id_number=FATHER_ID, name="周明远")
    for person, gender in ((mother, "F"), (father, "M")):
        PopulationRecordFactory(
            id_number=person.id_number,
            name=person.name,
            gender=gender,
            birth_date=resident_id_parse(person.id_number).birth_date,
            household_region_code="330106012000",
            household_address="浙江省杭州市西湖区蒋村街道西溪花园3幢2单元502室",
        )
    HouseholdMemberFactory(id_number=FATHER_ID, name=father.name, household_number="330106012345")
    HouseholdMemberFactory(
        id_number=MOTHER_ID,
        name=mother.name,
        household_number="330106012345",
        relationship_to_head="妻",
        head_id_number=FATHER_ID,
    )
    born = timezone.now() - datetime.timedelta(days=5)
    BirthMedicalRecordFactory(
        certificate_number="Q330677801",
        child_name="",
        child_gender="F",
        birth_at=born,
        mother_id_number=MOTHER_ID,
        mother_name=mother.name,
        father_id_number=FATHER_ID,
        father_name=father.name,
    )
    gongan = birth_catalogue["330106-GA"]
    for code, data in (
        ("CT-JMSFZ", {"name": mother.name, "id_number": MOTHER_ID}),
        (
            "CT-JMHKB",
            {
                "household_number": "330106012345",
                "head_of_household": father.name,
                "name": mother.name,
                "id_number": MOTHER_ID,
            },
        ),
    ):
        certificate_services.certificate_issue(
            certificate_type=code,
            issuer=gongan,
            holder_kind="person",
            holder_identifier=MOTHER_ID,
            holder_name=mother.name,
            data=data,
        )
    return mother, father


def _answers(form, **overrides):
    answers = {}
    for name, prop in form.schema["properties"].items():
        if name in form.prefilled:
            continue
        if "enum" in prop:
            answers[name] = prop["enum"][0]
        elif prop.get("type") == "boolean":
            answers[name] = True
    answers.update(overrides)
    return answers


def _submit(mother, **overrides):
    form = bundles.bundle_form(applicant=mother, bundle=LifeEventBundle.objects.get(code="birth"))
    return bundles.bundle_submit(
        applicant=mother,
        bundle=form.bundle,
        form_data=_answers(form, child__name="周一诺", delivery__method="window", **overrides),
        optional_parts=["social_security_card"],
        idempotency_key="birth-1",
    )


def test_the_birth_form_takes_the_hospital_report_and_asks_only_the_name(parents):
    mother, _father = parents
    form = bundles.bundle_form(applicant=mother, bundle=LifeEventBundle.objects.get(code="birth"))

    filled = {name: p.value for name, p in form.prefilled.items()}
    born_on = timezone.localdate() - datetime.timedelta(days=5)
    assert filled["child__birth_date"] == born_on.isoformat()
    assert filled["child__gender"] == "F"
    assert filled["child__birth_place"] == "浙江省杭州市上城区"
    assert filled["birth_certificate__gestational_weeks"] == 39
    assert filled["birth_certificate__birth_weight"] == 3350
    assert filled["father__id_number"] == FATHER_ID
    assert filled["household__head_name"] == "周明远"
    assert form.prefilled["child__birth_date"].locked is True
    # What nobody holds yet is asked: the name the parents give, and their choices.
    typed = {
        name
        for name, prop in form.schema["properties"].items()
        if name not in form.prefilled and "enum" not in prop and prop.get("type") != "boolean"
    }
    assert typed == {
        "child__name",
        "delivery__address",  # only when the new pages are posted
        "social_security_card__photo_receipt_number",  # only for card holders of 16 and over
    }
    # Facts a part takes from an earlier part's certificate are not asked at all.
    assert "child__birth_certificate_number" not in form.schema["properties"]
    assert "child__id_number" not in form.schema["properties"]


def test_the_birth_bundle_ends_with_every_certificate_in_both_parents_wallets(parents, staff):
    mother, father = parents
    bundle_application = _submit(mother)
    assert bundle_application.status == BundleStatus.CONFIRMING
    invitation = bundle_application.participants.get()
    bundles.bundle_confirm(user=father, participant_id=invitation.pk)

    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    assert part(bundle_application, "birth_certificate").status == Status.SUBMITTED
    assert part(bundle_application, "household").status == Status.WAITING

    completed(staff, part(bundle_application, "birth_certificate"))
    report = BirthMedicalRecord.objects.get(certificate_number="Q330677801")
    assert report.child_name == "周一诺"
    household = part(bundle_application, "household")
    vaccination = part(bundle_application, "vaccination")
    assert household.status == vaccination.status == Status.SUBMITTED
    assert household.form_data["birth_certificate_number"] == "Q330677801"

    completed(staff, household)
    child = PopulationRecord.objects.get(birth_certificate_number="Q330677801")
    parsed = resident_id_parse(child.id_number)
    assert child.id_number[:6] == "330106"
    assert parsed.birth_date == timezone.localdate() - datetime.timedelta(days=5)
    assert int(child.id_number[16]) % 2 == 0  # a girl
    assert (child.guardian_1_id_number, child.guardian_2_id_number) == (MOTHER_ID, FATHER_ID)
    page = HouseholdMember.objects.get(id_number=child.id_number)
    assert (page.household_number, page.head_id_number, page.relationship_to_head) == (
        "330106012345",
        FATHER_ID,
        "子",  # the first option of 与户主关系, as the test answered
    )
    insurance = part(bundle_application, "medical_insurance")
    card = part(bundle_application, "social_security_card")
    assert insurance.form_data["child_id_number"] == child.id_number
    assert card.form_data["holder_id_number"] == child.id_number

    for key in ("vaccination", "medical_insurance", "social_security_card"):
        completed(staff, part(bundle_application, key))

    bundle_application.refresh_from_db()
    assert bundle_application.status == BundleStatus.COMPLETED
    mothers = {
        (c.certificate_type.code, c.holder_identifier)
        for c in certificate_selectors.certificates_of_holder(mother)
    }
    assert {
        ("CT-CSYXZM", MOTHER_ID),
        ("CT-YFJZZ", MOTHER_ID),
        ("CT-JMHKB", child.id_number),
        ("CT-YBDZPZ", child.id_number),
        ("CT-SHBZK", child.id_number),
    } <= mothers
    fathers = {
        (c.certificate_type.code, c.holder_identifier)
        for c in certificate_selectors.certificates_of_holder(father)
    }
    assert fathers == {
        ("CT-JMHKB", child.id_number),
        ("CT-YBDZPZ", child.id_number),
        ("CT-SHBZK", child.id_number),
    }
    birth_certificate = certificate_selectors.certificate_issued_for(
        f"application:{part(bundle_application, 'birth_certificate').number}"
    )
    assert birth_certificate.number == "Q330677801"
    assert birth_certificate.data["gender"] == "女"
    assert birth_certificate.data["issuing_hospital"] == report.institution


def test_a_birth_the_hospital_never_reported_issues_nothing(parents, staff):
    mother, father = parents
    BirthMedicalRecord.objects.all().delete()
    form = bundles.bundle_form(applicant=mother, bundle=LifeEventBundle.objects.get(code="birth"))
    bundle_application = bundles.bundle_submit(
        applicant=mother,
        bundle=form.bundle,
        form_data=_answers(
            form,
            child__name="周一诺",
            child__gender="F",
            child__birth_date="2026-11-17",
            child__birth_time="08:36",
            child__birth_place="浙江省杭州市上城区",
            child__birth_hospital="浙江大学医学院附属妇产科医院",
            birth_certificate__gestational_weeks=39,
            birth_certificate__birth_weight=3350,
            father__name=father.name,
            father__id_number=FATHER_ID,
            delivery__method="window",
        ),
        idempotency_key="unreported",
    )
    bundles.bundle_confirm(user=father, participant_id=bundle_application.participants.get().pk)
    application = part(bundle_application, "birth_certificate")
    application = act(staff, application, "accept", "accept")
    application = act(staff, application, "decide", "grant")
    with pytest.raises(Conflict) as raised:
        act(staff, application, "deliver", "delivered")

    assert raised.value.code == "certificate_not_issued"
    assert "助产机构" in raised.value.message or "hospital" in raised.value.message
    application.refresh_from_db()
    assert application.status != Status.COMPLETED
    assert (
        not certificate_selectors.certificates_of_holder(mother)
        .filter(certificate_type__code="CT-CSYXZM")
        .exists()
    )


def test_a_certificate_for_an_adult_who_is_not_the_applicant_is_refused(parents):
    _mother, father = parents
    stranger = VerifiedUserFactory(id_number="330106199001010018", name="王强")
    draft = services.application_draft_create(applicant=stranger, item_code="330106-RS-0001")
    result = draft.snapshot["result"]

    draft.form_data = {"holder_name": father.name, "holder_id_number": FATHER_ID}
    with pytest.raises(Conflict) as raised:
        services._result_holder(draft, result, {})
    assert raised.value.code == "holder_not_in_care"
    draft.form_data = {"holder_name": stranger.name, "holder_id_number": stranger.id_number}
    assert services._result_holder(draft, result, {}) == (
        "person",
        stranger.id_number,
        stranger.name,
    )


def test_registering_the_same_birth_twice_gives_one_person_and_one_number(parents):
    kwargs = {
        "birth_certificate_number": "Q330677801",
        "name": "周一诺",
        "gender": "F",
        "birth_date": datetime.date(2026, 11, 17),
        "ethnicity": "汉族",
        "guardians": (MOTHER_ID, FATHER_ID),
        "follows": FATHER_ID,
        "relationship_to_head": "女",
    }
    first = registrations.birth_register(**kwargs)
    again = registrations.birth_register(**kwargs)

    assert first.person.pk == again.person.pk
    assert PopulationRecord.objects.filter(birth_certificate_number="Q330677801").count() == 1
    assert first.head_name == "周明远"
    # A second girl born the same day in the county gets the next even sequence code.
    BirthMedicalRecordFactory(certificate_number="Q330677802", mother_id_number=MOTHER_ID)
    twin = registrations.birth_register(
        **{**kwargs, "birth_certificate_number": "Q330677802", "name": "周一言"}
    )
    assert int(twin.person.id_number[14:17]) == int(first.person.id_number[14:17]) + 2


def test_a_birth_registration_on_a_stranger_s_certificate_number_is_refused(parents):
    with pytest.raises(ValidationFailed) as raised:
        registrations.birth_register(
            birth_certificate_number="Q330677801",
            name="周一诺",
            gender="F",
            birth_date=datetime.date(2026, 11, 17),
            ethnicity="汉族",
            guardians=("330106199001010018", ""),
            follows="330106199001010018",
            relationship_to_head="女",
        )
    assert "birth_certificate_number" in raised.value.fields
