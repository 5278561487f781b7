"""开办企业一件事 at the service level: the founder applies once, registration founds the
company with a new credit code, and the later parts are applied for in its name."""

from __future__ import annotations

import pytest

from yiwang.applications import bundles, services
from yiwang.applications.models import BundleStatus, Status
from yiwang.applications.tests.conftest import pdf
from yiwang.applications.tests.test_bundles import (
    CATALOG,
    DEPARTMENTS,
    _catalogue,
    bundle_answers,
    departments_create,
    part,
    staff_of,
)
from yiwang.applications.tests.test_services import act
from yiwang.catalog.datafiles import CatalogDataError
from yiwang.catalog.models import LifeEventBundle
from yiwang.catalog.services import catalog_load
from yiwang.certificates import selectors as certificate_selectors
from yiwang.certificates import services as certificate_services
from yiwang.certificates.models import Certificate
from yiwang.core.errors import ValidationFailed
from yiwang.core.identifiers import uscc_parse
from yiwang.exchange import registrations
from yiwang.exchange.models import LegalPersonRecord
from yiwang.identity import services as identity_services
from yiwang.identity.models import Department, Organisation
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db

ITEMS = {
    "330106-SJ-0001": "market_regulation",
    "330106-GA-0007": "public_security",
    "330106-SW-0001": "taxation",
    "330106-SW-0002": "taxation",
    "330106-RS-0005": "human_resources",
    "330100-GJJ-0001": "housing_fund",
}
MORE_DEPARTMENTS = {
    **DEPARTMENTS,
    "330106-SJ": ("杭州市西湖区市场监督管理局", Department.Kind.MARKET_REGULATION, "330106"),
    "330106-SW": ("国家税务总局杭州市西湖区税务局", Department.Kind.TAXATION, "330106"),
}


@pytest.fixture
def opening(regions, data_exchange, uscc_factory, tmp_path):
    departments_create(MORE_DEPARTMENTS, uscc_factory, "00270")
    _catalogue(
        tmp_path / "catalog",
        bundle_files={
            "business-opening": (CATALOG / "bundles" / "business-opening.toml").read_text()
        },
        items=ITEMS,
    )
    catalog_load(root=tmp_path / "catalog")
    staff = staff_of(Department.objects.all())
    founder = VerifiedUserFactory(id_number="330106199001010018", name="王强", phone="13900003333")
    certificate_services.certificate_issue(
        certificate_type="CT-JMSFZ",
        issuer=Department.objects.get(code="330106-GA"),
        holder_kind="person",
        holder_identifier=founder.id_number,
        holder_name=founder.name,
        data={"name": founder.name, "id_number": founder.id_number},
    )
    return founder, staff


ANSWERS = {
    "organisation__name": "杭州云栖数据服务有限公司",
    "organisation__address": "浙江省杭州市西湖区三墩镇西园八路2号1幢301室",
    "organisation__registered_capital": 100,
    "establishment__capital_due_date": "2031-12-31",
    "organisation__business_scope": "一般项目：技术服务、技术开发、技术咨询；数据处理服务。",
    "establishment__shareholders": "王强，货币出资100万元，占100%",
    "establishment__with_seal": "yes",
    "establishment__with_tax": "yes",
    "establishment__with_social_insurance": "yes",
    "establishment__with_housing_fund": "no",
    "delivery__method": "window",
    "seal__engraver": "杭州西湖印章刻制有限公司",
    "tax_confirmation__finance_officer": "李娜",
    "tax_confirmation__finance_officer_id_number": "330106199203150024",
    "tax_confirmation__finance_officer_phone": "13900004444",
    "bank__account_name": "杭州云栖数据服务有限公司",
    "bank__name": "中国工商银行杭州西湖支行",
    "bank__account": "1202020309900123456",
    "invoice__monthly_sales": 20,
    "social_insurance__employee_count": 3,
}


def _answers(form, **overrides):
    return bundle_answers(form, ANSWERS, overrides)


def _submit(founder, **overrides):
    form = bundles.bundle_form(
        applicant=founder, bundle=LifeEventBundle.objects.get(code="business-opening")
    )
    return bundles.bundle_submit(
        applicant=founder,
        bundle=form.bundle,
        form_data=_answers(form, **overrides),
        optional_parts=["invoice"],
        idempotency_key="open-1",
    )


def test_the_form_asks_the_company_once_and_not_what_registration_gives(opening):
    founder, _staff = opening
    form = bundles.bundle_form(
        applicant=founder, bundle=LifeEventBundle.objects.get(code="business-opening")
    )

    names = set(form.schema["properties"])
    assert "organisation__uscc" not in names
    assert "organisation__established_on" not in names
    assert form.prefilled["organisation__legal_representative_id_number"].value == (
        founder.id_number
    )
    assert form.prefilled["agent__phone"].value == "13900003333"


def test_registration_founds_the_company_and_the_other_parts_follow_in_its_name(opening):
    founder, staff = opening
    bundle_application = _submit(founder)
    assert bundle_application.status == BundleStatus.IN_PROGRESS
    # The housing fund was not asked for in the registration form: it does not apply.
    assert "housing_fund" not in bundle_application.part_keys
    assert {"seal", "tax_confirmation", "invoice", "social_insurance"} <= set(
        bundle_application.part_keys
    )

    # The articles, appointments and premises are to be uploaded: the founder does it on
    # the registration's own page, then submits it.
    establishment = part(bundle_application, "establishment")
    assert establishment.status == Status.DRAFT
    assert establishment.organisation is None
    for code in ("articles", "appointments", "premises"):
        services.application_material_upload(
            applicant=founder, application=establishment, material_code=code, upload=pdf()
        )
    services.application_submit(applicant=founder, application_id=establishment.pk)
    establishment.refresh_from_db()
    for name, outcome in (
        ("accept", "accept"),
        ("review", "pass"),
        ("decide", "grant"),
        ("deliver", "delivered"),
    ):
        establishment = act(staff, establishment, name, outcome)

    record = LegalPersonRecord.objects.get(name="杭州云栖数据服务有限公司")
    assert uscc_parse(record.uscc) == record.uscc
    assert record.uscc.startswith("91330106MA")
    assert record.legal_representative_id_number == founder.id_number
    company = Organisation.objects.get(uscc=record.uscc)
    assert company.legal_representative == founder
    licence = certificate_selectors.certificate_issued_for(f"application:{establishment.number}")
    assert (licence.certificate_type.code, licence.holder_identifier) == ("CT-YYZZ", record.uscc)
    assert licence.data["entity_type"] == "有限责任公司（自然人投资或控股）"

    seal = part(bundle_application, "seal")
    assert seal.organisation == company
    assert seal.form_data["organisation_uscc"] == record.uscc
    assert seal.status == Status.SUBMITTED  # its licence and ID cards are e-certificates
    social = part(bundle_application, "social_insurance")
    assert social.form_data["established_on"] == record.established_on.isoformat()
    # The invoice waits for the tax confirmation as well.
    assert part(bundle_application, "invoice").status == Status.WAITING


def test_a_company_name_in_use_is_refused_at_registration(opening):
    company = {
        "name": "杭州云栖数据服务有限公司",
        "entity_type": "有限责任公司（自然人独资）",
        "address": "浙江省杭州市西湖区三墩镇西园八路2号",
        "registered_capital": "100万元人民币",
        "business_scope": "技术服务",
        "legal_representative_name": "王强",
        "legal_representative_id_number": "330106199001010018",
        "region_code": "330106",
        "registration_authority": "杭州市西湖区市场监督管理局",
    }
    registrations.company_register(**company)

    with pytest.raises(ValidationFailed) as raised:
        registrations.company_register(**company)

    assert "company_name" in raised.value.fields
    assert LegalPersonRecord.objects.filter(name="杭州云栖数据服务有限公司").count() == 1


def test_an_organisation_bundle_whose_first_part_founds_nothing_is_refused(opening, tmp_path):
    text = (CATALOG / "bundles" / "business-opening.toml").read_text()
    text = text.replace(
        'item = "330106-GA-0007"            # 公章刻制备案\nafter = ["establishment"]',
        'item = "330106-GA-0007"            # 公章刻制备案',
    )
    root = tmp_path / "again"
    _catalogue(root, bundle_files={"business-opening": text}, items=ITEMS)

    with pytest.raises(CatalogDataError) as raised:
        catalog_load(root=root)

    assert "parts[1].after" in [p.field for p in raised.value.problems]


def test_a_company_founded_for_someone_else_gets_its_licence_for_its_representative(opening):
    founder, staff = opening
    # A founder (e.g. an agency's clerk) registers a company whose legal representative
    # is someone else: the licence is the company's all the same.
    representative = VerifiedUserFactory(id_number="330106198506150024", name="李娜")
    application = services.application_draft_create(
        applicant=founder,
        item_code="330106-SJ-0001",
        form_data={
            "company_name": "杭州西溪文创设计有限公司",
            "company_type": "llc_sole_natural_person",
            "company_address": "浙江省杭州市西湖区文一西路588号2幢201室",
            "registered_capital": 50,
            "capital_due_date": "2031-12-31",
            "business_scope": "一般项目：专业设计服务；平面设计。",
            "legal_representative": representative.name,
            "legal_representative_id_number": representative.id_number,
            "legal_representative_role": "director",
            "shareholders": "李娜，货币出资50万元，占100%",
            "contact_name": founder.name,
            "contact_id_number": founder.id_number,
            "contact_phone": founder.phone,
            "with_seal": "no",
            "with_tax": "no",
            "with_social_insurance": "no",
            "with_housing_fund": "no",
            "delivery_method": "window",
            "declaration": True,
        },
    )
    assert application.organisation is None
    for code in ("articles", "appointments", "premises"):
        services.application_material_upload(
            applicant=founder, application=application, material_code=code, upload=pdf()
        )
    services.application_submit(applicant=founder, application_id=application.pk)
    application.refresh_from_db()
    for name, outcome in (
        ("accept", "accept"),
        ("review", "pass"),
        ("decide", "grant"),
        ("deliver", "delivered"),
    ):
        application = act(staff, application, name, outcome)

    record = LegalPersonRecord.objects.get(name="杭州西溪文创设计有限公司")
    assert record.legal_representative_id_number == representative.id_number
    # The founder does not get the company's account.
    assert not Organisation.objects.filter(uscc=record.uscc).exists()
    licence = certificate_selectors.certificate_issued_for(f"application:{application.number}")
    assert (licence.holder_kind, licence.holder_identifier, licence.holder_name) == (
        "organisation",
        record.uscc,
        "杭州西溪文创设计有限公司",
    )
    assert licence.data["legal_representative"] == "李娜"
    # Once she takes the company's account, the licence is in her wallet; not his.
    assert licence.pk not in certificate_ids(founder)
    identity_services.organisation_register(
        user=representative, uscc=record.uscc, name="杭州西溪文创设计有限公司"
    )
    assert licence.pk in certificate_ids(representative)


def certificate_ids(user):
    return set(
        Certificate.objects.filter(
            holder_identifier__in=certificate_services.holder_identifiers_of(user)
        ).values_list("pk", flat=True)
    )
