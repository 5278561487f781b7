"""制证: an item whose result is a certificate issues it when the application completes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from yiwang.applications import services
from yiwang.applications.models import Notification, Status
from yiwang.applications.tests.conftest import PERMIT, pdf, permit_form
from yiwang.applications.tests.test_services import act
from yiwang.certificates.models import Certificate
from yiwang.certificates.verification import platform_verifier
from yiwang.core.errors import Conflict
from yiwang.core.identifiers import certificate_id_parse
from yiwang.exchange.models import PopulationRecord
from yiwang.identity.models import Department
from yiwang.identity.tests.factories import VerifiedUserFactory

pytestmark = pytest.mark.django_db


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
        # Prefilled and locked: from her ID number and the population registry.
        "gender": "M" if int(citizen.id_number[16]) % 2 else "F",
        "household_address": PopulationRecord.objects.get(
            id_number=citizen.id_number
        ).household_address,
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


def test_every_result_effect_the_catalogue_accepts_is_implemented():
    from yiwang.applications.results import RESULT_EFFECTS as IMPLEMENTED
    from yiwang.catalog.datafiles import RESULT_EFFECTS as DECLARED

    assert set(IMPLEMENTED) == set(DECLARED)
