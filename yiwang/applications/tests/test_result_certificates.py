"""制证: an item whose result is a certificate issues it when the application completes."""

from __future__ import annotations

import shutil

import pytest
from django.utils import timezone

from yiwang.applications import services
from yiwang.applications.models import Notification, Status
from yiwang.applications.tests.conftest import CATALOG, pdf
from yiwang.applications.tests.test_services import act
from yiwang.catalog.services import catalog_load
from yiwang.certificates.models import Certificate
from yiwang.certificates.verification import platform_verifier
from yiwang.core.errors import Conflict
from yiwang.core.identifiers import certificate_id_parse
from yiwang.core.models import Region
from yiwang.identity.models import Department, StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

PERMIT = "330106-GA-0005"  # 居住证申领: issues CT-JZZ 居住证


@pytest.fixture
def permit_catalogue(regions, tmp_path, data_exchange, uscc_factory):
    Department.objects.create(
        code="330106-GA",
        name="杭州市公安局西湖区分局",
        kind=Department.Kind.PUBLIC_SECURITY,
        region=Region.objects.get(code="330106"),
        uscc=uscc_factory(kind="11", serial="002508811"),
    )
    root = tmp_path / "catalog"
    (root / "items" / "public_security").mkdir(parents=True)
    (root / "forms").mkdir()
    for name in ("certificate-types.toml", "life-situations.toml", "standards.toml"):
        shutil.copy(CATALOG / name, root / name)
    for folder in ("processes", "decisions"):
        shutil.copytree(CATALOG / folder, root / folder)
    shutil.copy(
        CATALOG / "items" / "public_security" / f"{PERMIT}.toml", root / "items" / "public_security"
    )
    shutil.copy(CATALOG / "forms" / "residence-permit.json", root / "forms")
    catalog_load(root=root)


@pytest.fixture
def police():
    department = Department.objects.get(code="330106-GA")
    return {
        ("330106-GA", role): StaffRoleFactory(department=department, role=role).user
        for role in StaffRole.Role.values
    }


def permit_form(citizen):
    return {
        "applicant_name": citizen.name,
        "applicant_id_number": citizen.id_number,
        "applicant_phone": "13800000011",
        "gender": "F",
        "household_address": "浙江省温州市鹿城区五马街道解放街12号",
        "residence_address": "浙江省杭州市西湖区文三路477号3幢501室",
        "residence_since": "2025-03-01",
        "residence_basis": "residence",
        "housing_type": "rented",
        "delivery_method": "window",
        "declaration": True,
    }


def submitted_permit(citizen):
    application = services.application_draft_create(
        applicant=citizen, item_code=PERMIT, form_data=permit_form(citizen)
    )
    for code in ("id-card", "photo", "lease-or-deed"):
        services.application_material_upload(
            applicant=citizen, application=application, material_code=code, upload=pdf()
        )
    return services.application_submit(applicant=citizen, application_id=application.pk)


def completed(police, application):
    application = act(police, application, "accept", "accept")
    application = act(police, application, "decide", "grant")
    return act(police, application, "deliver", "delivered")


def test_completing_the_application_issues_the_certificate_to_the_applicant(
    permit_catalogue, police
):
    citizen = VerifiedUserFactory()
    application = completed(police, submitted_permit(citizen))

    assert application.status == Status.COMPLETED
    certificate = Certificate.objects.get()
    assert certificate.certificate_type.code == "CT-JZZ"
    assert (certificate.holder_kind, certificate.holder_identifier, certificate.holder_name) == (
        "person",
        citizen.id_number,
        citizen.name,
    )
    assert certificate.source == f"application:{application.number}"
    assert certificate.number == application.number
    today = timezone.localdate()
    assert certificate.data == {
        "name": citizen.name,
        "id_number": citizen.id_number,
        "gender": "F",
        "household_address": "浙江省温州市鹿城区五马街道解放街12号",
        "residence_address": "浙江省杭州市西湖区文三路477号3幢501室",
        "certificate_number": application.number,
        "issuing_authority": "杭州市公安局西湖区分局",
        "issued_on": today.isoformat(),
    }
    # 居住证 is valid for one year (certificate-types.toml).
    assert certificate.valid_until == today.replace(year=today.year + 1)
    assert certificate_id_parse(certificate.identifier).type_segment == "CTJZZ"
    event = application.events.get(action="certificate_issued")
    assert event.data["identifier"] == certificate.identifier
    assert Notification.objects.filter(user=citizen, title="您的居住证已签发").exists()


def test_the_issued_certificate_verifies(permit_catalogue, police):
    from yiwang.certificates.services import certificate_qr_for_wallet

    completed(police, submitted_permit(VerifiedUserFactory()))

    result = platform_verifier().verify(certificate_qr_for_wallet(Certificate.objects.get()))

    assert result.valid, result.message
    assert result.payload["t"] == "CT-JZZ"


def test_a_refused_application_issues_nothing(permit_catalogue, police):
    application = submitted_permit(VerifiedUserFactory())

    act(police, application, "accept", "refuse", comment="非本辖区居住")

    assert not Certificate.objects.exists()


def test_when_the_certificate_cannot_be_issued_the_step_is_not_completed(permit_catalogue, police):
    application = submitted_permit(VerifiedUserFactory())
    application = act(police, application, "accept", "accept")
    application = act(police, application, "decide", "grant")
    Department.objects.filter(code="330106-GA").update(uscc="")

    with pytest.raises(Conflict) as caught:
        act(police, application, "deliver", "delivered")

    assert caught.value.code == "certificate_not_issued"
    application.refresh_from_db()
    assert application.status != Status.COMPLETED
    assert not Certificate.objects.exists()
