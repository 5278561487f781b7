"""免填写 and 免提交: forms start from government data; certificates replace uploads."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from yiwang.applications import services
from yiwang.applications.models import ApplicationMaterial, Status
from yiwang.applications.prefill import form_prefill
from yiwang.applications.tests.conftest import PERMIT, pdf, permit_form
from yiwang.catalog.models import ServiceItem
from yiwang.certificates import services as certificate_services
from yiwang.certificates.models import Certificate
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import Region
from yiwang.exchange.models import ExchangeLogRecord, PopulationRecord
from yiwang.exchange.tests.factories import PopulationRecordFactory
from yiwang.identity.models import Department, StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

REGISTRY_ADDRESS = "浙江省温州市鹿城区五马街道解放街12号"


@pytest.fixture
def resident():
    citizen = VerifiedUserFactory(id_number="330106199203150027", name="林晓雯")
    PopulationRecordFactory(
        id_number=citizen.id_number, name=citizen.name, household_address=REGISTRY_ADDRESS
    )
    return citizen


def draft(citizen, **posted):
    return services.application_draft_create(applicant=citizen, item_code=PERMIT, form_data=posted)


def test_a_draft_starts_from_her_verified_identity_and_the_population_registry(
    permit_catalogue, resident
):
    application = draft(resident, residence_address="浙江省杭州市西湖区文三路477号")

    assert application.form_data == {
        "applicant_name": "林晓雯",
        "applicant_id_number": "330106199203150027",
        "applicant_phone": resident.phone,
        "gender": "F",
        "household_address": REGISTRY_ADDRESS,
        "residence_address": "浙江省杭州市西湖区文三路477号",
    }
    assert application.prefilled == {
        "applicant_name": {"source": "实名认证信息", "locked": True},
        "applicant_id_number": {"source": "实名认证信息", "locked": True},
        "applicant_phone": {"source": "您的账户", "locked": False},
        "gender": {"source": "实名认证信息", "locked": True},
        "household_address": {"source": "人口基本信息（杭州市公安局）", "locked": True},
    }
    # The registry read is governed and logged like any other, about her alone.
    read = ExchangeLogRecord.objects.get(service="population-basic")
    assert read.consumer.endswith("/yiwang-prefill")
    assert read.outcome == "ok"


def test_locked_values_cannot_be_changed_but_the_phone_can(permit_catalogue, resident):
    application = draft(resident, applicant_name="别人", applicant_phone="13900000000")

    assert application.form_data["applicant_name"] == "林晓雯"
    assert application.form_data["applicant_phone"] == "13900000000"
    services.application_draft_update(
        applicant=resident,
        application=application,
        form_data={**application.form_data, "household_address": "随便写的地址", "gender": "M"},
    )
    application.refresh_from_db()
    assert application.form_data["household_address"] == REGISTRY_ADDRESS
    assert application.form_data["gender"] == "F"


def test_without_a_registry_record_the_field_is_left_to_type(permit_catalogue):
    citizen = VerifiedUserFactory()
    PopulationRecord.objects.filter(id_number=citizen.id_number).delete()

    application = draft(citizen)

    assert "household_address" not in application.form_data
    assert "household_address" not in application.prefilled
    assert application.prefilled["applicant_name"]["locked"] is True


def test_an_unverified_account_gets_no_verified_identity(permit_catalogue, resident):
    resident.assurance_level = 1
    snapshot = ServiceItem.objects.get(code=PERMIT).current_version.snapshot

    filled = form_prefill(applicant=resident, organisation=None, snapshot=snapshot)

    assert set(filled) == {"applicant_phone", "household_address"}


def test_the_new_application_page_shows_sources_and_locks_verified_fields(
    permit_catalogue, resident, client
):
    client.force_login(resident)

    html = client.get(reverse("applications:new", args=[PERMIT])).content.decode()

    name_input = re.search(r'<input[^>]*name="applicant_name"[^>]*>', html).group(0)
    assert "disabled" in name_input
    assert 'value="林晓雯"' in name_input
    assert 'data-prefilled="locked"' in name_input
    phone_input = re.search(r'<input[^>]*name="applicant_phone"[^>]*>', html).group(0)
    assert "disabled" not in phone_input
    assert 'data-prefilled="editable"' in phone_input
    assert "来自：人口基本信息（杭州市公安局）" in html


# ---------------------------------------------------------------------------------------
# 免提交


@pytest.fixture
def id_card(permit_catalogue, resident):
    return certificate_services.certificate_issue(
        certificate_type="CT-JMSFZ",
        issuer=Department.objects.get(code="330106-GA"),
        holder_kind="person",
        holder_identifier=resident.id_number,
        holder_name=resident.name,
        data={"name": resident.name, "id_number": resident.id_number},
    )


@pytest.fixture
def deed(permit_catalogue, resident, uscc_factory):
    land = Department.objects.create(
        code="330106-ZR",
        name="杭州市规划和自然资源局西湖分局",
        kind=Department.Kind.NATURAL_RESOURCES,
        region=Region.objects.get(code="330106"),
        uscc=uscc_factory(kind="11", serial="MB0F12345"),
    )
    return certificate_services.certificate_issue(
        certificate_type="CT-BDCQZS",
        issuer=land,
        holder_kind="person",
        holder_identifier=resident.id_number,
        holder_name=resident.name,
        data={"certificate_number": "浙(2023)杭州市不动产权第0123456号", "obligee": resident.name},
    )


def test_materials_her_certificates_prove_are_attached_and_need_no_upload(
    permit_catalogue, resident, id_card, deed
):
    application = draft(resident, **permit_form(resident))
    services.application_material_upload(
        applicant=resident, application=application, material_code="photo", upload=pdf()
    )

    submitted = services.application_submit(applicant=resident, application_id=application.pk)

    assert submitted.status == Status.SUBMITTED
    attached = {
        m.material_code: (m.certificate_ref, bool(m.file))
        for m in ApplicationMaterial.objects.filter(application=application)
    }
    assert attached == {
        "id-card": (id_card.identifier, False),
        "lease-or-deed": (deed.identifier, False),
        "photo": ("", True),
    }


def test_a_certificate_revoked_before_submission_no_longer_proves_the_material(
    permit_catalogue, resident, id_card, deed
):
    application = draft(resident, **permit_form(resident))
    services.application_material_upload(
        applicant=resident, application=application, material_code="photo", upload=pdf()
    )
    approver = StaffRoleFactory(
        department=Department.objects.get(code="330106-GA"), role=StaffRole.Role.APPROVER
    ).user
    certificate_services.certificate_revoke(actor=approver, certificate=id_card, reason="证件挂失")

    with pytest.raises(ValidationFailed) as caught:
        services.application_submit(applicant=resident, application_id=application.pk)

    assert caught.value.fields["materials"] == ["请提供：居民身份证。"]
    # Nothing of the failed submission stays; the draft page takes the certificate off.
    assert ApplicationMaterial.objects.filter(
        application=application, certificate_ref=id_card.identifier, superseded_at__isnull=True
    ).exists()
    services.application_certificates_refresh(applicant=resident, application=application)
    assert not ApplicationMaterial.objects.filter(
        application=application, certificate_ref=id_card.identifier, superseded_at__isnull=True
    ).exists()


def test_a_newer_certificate_replaces_the_older_one_and_an_upload_is_kept(
    permit_catalogue, resident, id_card, deed
):
    application = draft(resident, **permit_form(resident))
    services.application_material_upload(
        applicant=resident, application=application, material_code="photo", upload=pdf()
    )
    renewed = certificate_services.certificate_issue(
        certificate_type="CT-JMSFZ",
        issuer=Department.objects.get(code="330106-GA"),
        holder_kind="person",
        holder_identifier=resident.id_number,
        holder_name=resident.name,
        data={"name": resident.name, "id_number": resident.id_number},
        source="renewal:2026",
    )

    services.application_certificates_refresh(applicant=resident, application=application)

    current = {
        m.material_code: m.certificate_ref
        for m in ApplicationMaterial.objects.filter(
            application=application, superseded_at__isnull=True
        )
    }
    assert current == {"id-card": renewed.identifier, "lease-or-deed": deed.identifier, "photo": ""}
    assert ApplicationMaterial.objects.get(certificate_ref=id_card.identifier).superseded_at


def test_files_she_uploaded_stay_and_her_certificates_are_then_not_read(permit_catalogue, resident):
    application = draft(resident, **permit_form(resident))
    for code in ("id-card", "lease-or-deed", "photo"):
        services.application_material_upload(
            applicant=resident, application=application, material_code=code, upload=pdf()
        )
    # A certificate issued after the uploads does not replace them.
    certificate_services.certificate_issue(
        certificate_type="CT-JMSFZ",
        issuer=Department.objects.get(code="330106-GA"),
        holder_kind="person",
        holder_identifier=resident.id_number,
        holder_name=resident.name,
        data={"name": resident.name, "id_number": resident.id_number},
        source="issue:2026",
    )

    with CaptureQueriesContext(connection) as queries:
        services.application_submit(applicant=resident, application_id=application.pk)

    assert not [q for q in queries.captured_queries if "certificates_certificate" in q["sql"]]
    current = ApplicationMaterial.objects.filter(
        application=application, superseded_at__isnull=True
    )
    assert sorted((m.material_code, m.certificate_ref, bool(m.file)) for m in current) == [
        ("id-card", "", True),
        ("lease-or-deed", "", True),
        ("photo", "", True),
    ]


def test_staff_see_the_certificate_material_verified(permit_catalogue, resident, id_card, deed):
    application = draft(resident, **permit_form(resident))
    services.application_material_upload(
        applicant=resident, application=application, material_code="photo", upload=pdf()
    )
    services.application_submit(applicant=resident, application_id=application.pk)
    clerk = StaffRoleFactory(
        department=Department.objects.get(code="330106-GA"), role=StaffRole.Role.CLERK
    ).user
    from django.test import Client

    staff_client = Client()
    staff_client.force_login(clerk)

    html = staff_client.get(
        reverse("applications:staff_application", args=[application.pk])
    ).content.decode()

    assert id_card.identifier in html
    assert Certificate.objects.get(pk=id_card.pk).status == "valid"
    assert html.count("certificate-badge") == 2


def _current(application) -> dict[str, str]:
    return {
        m.material_code: m.certificate_ref
        for m in ApplicationMaterial.objects.filter(
            application=application, superseded_at__isnull=True
        )
    }


def _certificate_material(application, code: str) -> ApplicationMaterial:
    return ApplicationMaterial.objects.get(
        application=application, material_code=code, superseded_at__isnull=True
    )


def test_a_certificate_she_takes_off_stays_off_and_is_not_submitted(
    permit_catalogue, resident, id_card, deed
):
    application = draft(resident, **permit_form(resident))
    services.application_material_remove(
        applicant=resident,
        application=application,
        material_id=_certificate_material(application, "lease-or-deed").pk,
    )
    services.application_material_upload(
        applicant=resident, application=application, material_code="photo", upload=pdf()
    )

    # Neither the draft page nor the submission puts it back: she chose not to share it.
    services.application_certificates_refresh(applicant=resident, application=application)
    assert _current(application) == {"id-card": id_card.identifier, "photo": ""}
    with pytest.raises(ValidationFailed) as caught:
        services.application_submit(applicant=resident, application_id=application.pk)
    assert caught.value.fields["materials"] == [
        "请提供：居住地住址证明（不动产权证书或经备案的房屋租赁合同）。"
    ]

    # An upload provides it instead.
    services.application_material_upload(
        applicant=resident, application=application, material_code="lease-or-deed", upload=pdf()
    )
    submitted = services.application_submit(applicant=resident, application_id=application.pk)
    assert submitted.status == Status.SUBMITTED
    assert _current(application) == {
        "id-card": id_card.identifier,
        "photo": "",
        "lease-or-deed": "",
    }


def test_she_can_use_the_certificate_again_after_taking_it_off(
    permit_catalogue, resident, id_card, deed
):
    application = draft(resident, **permit_form(resident))
    services.application_material_remove(
        applicant=resident,
        application=application,
        material_id=_certificate_material(application, "id-card").pk,
    )

    material = services.application_certificate_use(
        applicant=resident, application=application, material_code="id-card"
    )

    assert material.certificate_ref == id_card.identifier
    services.application_certificates_refresh(applicant=resident, application=application)
    assert _current(application) == {
        "id-card": id_card.identifier,
        "lease-or-deed": deed.identifier,
    }


def test_using_a_certificate_again_is_refused_when_none_proves_it(
    permit_catalogue, resident, id_card, deed
):
    application = draft(resident, **permit_form(resident))
    services.application_material_remove(
        applicant=resident,
        application=application,
        material_id=_certificate_material(application, "id-card").pk,
    )
    approver = StaffRoleFactory(
        department=Department.objects.get(code="330106-GA"), role=StaffRole.Role.APPROVER
    ).user
    certificate_services.certificate_revoke(actor=approver, certificate=id_card, reason="证件挂失")

    with pytest.raises(ValidationFailed) as no_certificate:
        services.application_certificate_use(
            applicant=resident, application=application, material_code="id-card"
        )
    with pytest.raises(ValidationFailed) as not_provable:
        services.application_certificate_use(
            applicant=resident, application=application, material_code="photo"
        )

    assert no_certificate.value.code == "no_certificate"
    assert not_provable.value.fields == {"material_code": ["这项材料不能用电子证照证明。"]}
    # Nothing changed: the decline still holds.
    assert ApplicationMaterial.objects.get(
        application=application, material_code="id-card"
    ).declined


def test_a_file_she_uploaded_for_the_material_comes_first(permit_catalogue, resident, id_card):
    application = draft(resident, **permit_form(resident))
    services.application_material_remove(
        applicant=resident,
        application=application,
        material_id=_certificate_material(application, "id-card").pk,
    )
    services.application_material_upload(
        applicant=resident, application=application, material_code="id-card", upload=pdf()
    )

    with pytest.raises(ValidationFailed) as caught:
        services.application_certificate_use(
            applicant=resident, application=application, material_code="id-card"
        )

    assert caught.value.code == "file_uploaded"
    assert _current(application) == {"id-card": ""}


def test_the_draft_page_offers_the_certificate_again_and_the_api_uses_it(
    permit_catalogue, resident, id_card, deed, client
):
    client.force_login(resident)
    application = draft(resident, **permit_form(resident))
    material = _certificate_material(application, "id-card")

    removed = client.post(
        reverse("applications:material_remove", args=[application.pk, material.pk]), follow=True
    )
    html = removed.content.decode()

    assert "您的电子证照已撤下，不会为这项材料共享。" in html
    assert "您已撤下这项材料的电子证照。" in html
    assert reverse("applications:material_certificate_use", args=[application.pk]) in html

    response = client.post(
        f"/api/v1/applications/{application.pk}/materials/id-card/certificate",
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["certificate_ref"] == id_card.identifier
    again = client.post(
        f"/api/v1/applications/{application.pk}/materials/photo/certificate",
        content_type="application/json",
    )
    assert again.status_code == 422
    assert again.json()["fields"] == {"material_code": ["这项材料不能用电子证照证明。"]}
    html = client.get(reverse("applications:edit", args=[application.pk])).content.decode()
    assert "您已撤下这项材料的电子证照。" not in html


def test_the_draft_page_button_puts_the_certificate_back(
    permit_catalogue, resident, id_card, deed, client
):
    client.force_login(resident)
    application = draft(resident, **permit_form(resident))
    services.application_material_remove(
        applicant=resident,
        application=application,
        material_id=_certificate_material(application, "id-card").pk,
    )

    response = client.post(
        reverse("applications:material_certificate_use", args=[application.pk]),
        {"material_code": "id-card"},
    )

    assert response.status_code == 302
    assert _current(application)["id-card"] == id_card.identifier
    other = VerifiedUserFactory()
    client.force_login(other)
    refused = client.post(
        reverse("applications:material_certificate_use", args=[application.pk]),
        {"material_code": "id-card"},
    )
    assert refused.status_code == 404
