"""The wallet pages: list, detail with QR code, PDF, authorised use, the third party's page
and the staff's list of certificates shared with their departments.

Pages are requested in English (the language cookie), so the assertions do not depend on
the Chinese catalogue.
"""

from __future__ import annotations

import base64
import datetime
import io
import re
from html import unescape
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from yiwang.certificates import keys, services, views
from yiwang.certificates.models import CertificateAuthorisation, CertificateUse
from yiwang.certificates.qrimage import qr_image_decode
from yiwang.certificates.verification import platform_verifier
from yiwang.identity.models import Department, Organisation, OrganisationAgent, StaffRole, User
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

pytestmark = pytest.mark.django_db

WIFE_ID = "330106199203150027"
HUSBAND_ID = "330106199001010018"
ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


# ---------------------------------------------------------------------------------------
# Helpers


def client_for(user: User | None = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def field_error(response: Any, field_id: str) -> list[str]:
    """The messages shown beside one field (Django renders them with the field's id)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html(response))
    return [unescape(m) for m in re.findall(r"<li>([^<]+)</li>", match.group(1))] if match else []


def all_field_errors(response: Any) -> dict[str, list[str]]:
    found = re.findall(r'<ul class="errorlist" id="id_(\w+)_error">(.*?)</ul>', html(response))
    return {
        name: [unescape(m) for m in re.findall(r"<li>([^<]+)</li>", items)] for name, items in found
    }


def page_errors(response: Any) -> list[str]:
    match = re.search(
        r'<div class="form-errors" role="alert" id="page-errors">(.*?)</div>', html(response), re.S
    )
    return [unescape(m) for m in re.findall(r"<p>([^<]+)</p>", match.group(1))] if match else []


def shown_messages(response: Any) -> list[str]:
    return [
        unescape(m) for m in re.findall(r'<li class="message [^"]*">([^<]+)</li>', html(response))
    ]


def facts(response: Any) -> dict[str, str]:
    """The certificate's details as shown: label → value."""
    block = re.search(r'<dl class="facts certificate-facts">(.*?)</dl>', html(response), re.S)
    assert block is not None
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", block.group(1), re.S)
    return {
        unescape(label.strip()): unescape(re.sub(r"<[^>]+>", "", value).strip())
        for label, value in pairs
    }


def states(response: Any) -> dict[int, str]:
    """Each listed certificate's state badge: id → state."""
    return {
        int(pk): state
        for pk, state in re.findall(
            r'data-certificate="(\d+)">.*?data-state="(\w+)"', html(response), re.S
        )
    }


def is_login_redirect(response: Any, url: str) -> bool:
    return response.status_code == 302 and response["Location"] == (
        f"{reverse('identity:login')}?next={url}"
    )


def wallet_code(response: Any) -> str:
    """The text of the QR code the detail page shows."""
    match = re.search(r'<img src="data:image/png;base64,([^"]+)"', html(response))
    assert match is not None
    return qr_image_decode(base64.b64decode(match.group(1)))


def marriage(civil_affairs, holder_id=WIFE_ID, **kwargs):
    values = {
        "certificate_type": "CT-JHZ",
        "issuer": civil_affairs,
        "holder_kind": "person",
        "holder_identifier": holder_id,
        "holder_name": "林晓雯" if holder_id == WIFE_ID else "周子航",
        "data": {
            "name": "林晓雯",
            "id_number": WIFE_ID,
            "spouse_name": "周子航",
            "spouse_id_number": HUSBAND_ID,
            "registered_on": "2026-05-20",
        },
        "number": "J330106-2026-001234",
        "issued_on": datetime.date(2026, 5, 20),
    }
    values.update(kwargs)
    return services.certificate_issue(**values)


def licence(market_regulation, organisation):
    return services.certificate_issue(
        certificate_type="CT-YYZZ",
        issuer=market_regulation,
        holder_kind="organisation",
        holder_identifier=organisation.uscc,
        holder_name=organisation.name,
        data={"name": organisation.name, "uscc": organisation.uscc},
        issued_on=datetime.date(2025, 3, 1),
    )


def revoke(certificate, civil_affairs):
    approver = StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.APPROVER).user
    return services.certificate_revoke(actor=approver, certificate=certificate, reason="登记错误")


@pytest.fixture
def wife(db):
    return VerifiedUserFactory(id_number=WIFE_ID, name="林晓雯")


@pytest.fixture
def husband(db):
    return VerifiedUserFactory(id_number=HUSBAND_ID, name="周子航")


@pytest.fixture
def certificate(marriage_type, civil_affairs):
    return marriage(civil_affairs)


@pytest.fixture
def housing_fund(db):
    return DepartmentFactory(
        code="330100-GJJ", name="杭州住房公积金管理中心", kind=Department.Kind.HOUSING_FUND
    )


@pytest.fixture
def company(wife, uscc_factory):
    return Organisation.objects.create(
        uscc=uscc_factory(serial="MA2B3C4D5"),
        name="杭州晓雯茶叶有限公司",
        legal_representative=wife,
    )


def authorise(certificate, holder, **kwargs):
    values = {
        "holder": holder,
        "certificate": certificate,
        "purpose": "住房公积金贷款",
        "valid_until": timezone.localdate() + datetime.timedelta(days=30),
    }
    values.update(kwargs)
    return services.certificate_authorise(**values)


# ---------------------------------------------------------------------------------------
# Logging in


@pytest.mark.parametrize(
    ("method", "name", "kwargs"),
    [
        ("get", "certificates:list", {}),
        ("get", "certificates:detail", {"certificate_id": 1}),
        ("get", "certificates:pdf", {"certificate_id": 1}),
        ("post", "certificates:authorise", {"certificate_id": 1}),
        ("post", "certificates:authorisation_revoke", {"authorisation_id": 1}),
        ("get", "certificates_staff:list", {}),
        ("post", "certificates_staff:read", {"authorisation_id": 1}),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(method, name, kwargs):
    url = reverse(name, kwargs=kwargs)

    response = getattr(client_for(), method)(url)

    assert is_login_redirect(response, url)


def test_the_urls_are_where_the_portal_links_them():
    assert reverse("certificates:list") == "/me/certificates/"
    assert reverse("certificates:detail", args=[7]) == "/me/certificates/7/"
    assert reverse("certificates:pdf", args=[7]) == "/me/certificates/7/pdf"
    assert reverse("certificates_shared:read") == "/certificates/shared/"
    assert reverse("certificates_staff:list") == "/workbench/certificates/"


def test_the_me_page_links_to_the_wallet(wife):
    response = client_for(wife).get(reverse("portal:me"))

    assert f'<a href="{reverse("certificates:list")}">My certificates</a>' in html(response)


# ---------------------------------------------------------------------------------------
# The wallet list


def test_the_wallet_lists_her_own_and_her_organisations_certificates_in_groups(
    wife,
    husband,
    certificate,
    company,
    licence_type,
    market_regulation,
    civil_affairs,
    uscc_factory,
):
    company_licence = licence(market_regulation, company)
    husbands = marriage(civil_affairs, holder_id=HUSBAND_ID)
    stranger = Organisation.objects.create(
        uscc=uscc_factory(serial="MA7B8C9D0"), name="别人的公司", legal_representative=husband
    )
    licence(market_regulation, stranger)

    response = client_for(wife).get(reverse("certificates:list"))

    assert response.status_code == 200
    page = html(response)
    headings = re.findall(r'<h2 id="group-\d+">([^<]+)</h2>', page)
    assert headings == ["Mine", "杭州晓雯茶叶有限公司"]
    assert states(response) == {certificate.pk: "valid", company_licence.pk: "valid"}
    assert husbands.pk not in states(response)
    assert "别人的公司" not in page
    row = re.search(rf'data-certificate="{certificate.pk}">(.*?)</li>', page, re.S).group(1)
    assert f'<a href="/me/certificates/{certificate.pk}/">结婚证</a>' in row
    assert "<dd>J330106-2026-001234</dd>" in row
    assert "<dd>杭州市西湖区民政局</dd>" in row
    assert "<dd>2026-05-20 – no end date</dd>" in row


def test_an_agent_sees_the_organisations_certificates_only_while_the_agency_lasts(
    wife, husband, company, licence_type, market_regulation
):
    company_licence = licence(market_regulation, company)
    agency = OrganisationAgent.objects.create(
        organisation=company,
        agent=husband,
        valid_until=timezone.localdate() + datetime.timedelta(days=10),
        granted_by=wife,
    )

    assert states(client_for(husband).get(reverse("certificates:list"))) == {
        company_licence.pk: "valid"
    }
    detail = client_for(husband).get(reverse("certificates:detail", args=[company_licence.pk]))
    assert detail.status_code == 200

    agency.revoked_at = timezone.now()
    agency.save()

    assert states(client_for(husband).get(reverse("certificates:list"))) == {}
    detail = client_for(husband).get(reverse("certificates:detail", args=[company_licence.pk]))
    assert detail.status_code == 404


def test_acting_for_her_organisation_its_certificates_come_first(
    wife, certificate, company, licence_type, market_regulation
):
    licence(market_regulation, company)
    client = client_for(wife)

    personal = client.get(reverse("certificates:list"))
    client.post(reverse("identity:acting_switch"), {"acting_for": company.pk})
    acting = client.get(reverse("certificates:list"))

    assert re.findall(r'<h2 id="group-\d+">([^<]+)</h2>', html(personal)) == [
        "Mine",
        "杭州晓雯茶叶有限公司",
    ]
    assert re.findall(r'<h2 id="group-\d+">([^<]+)</h2>', html(acting)) == [
        "杭州晓雯茶叶有限公司",
        "Mine",
    ]
    assert 'data-testid="acting-wallet-note"' not in html(personal)
    assert "its certificates come first" in html(acting)


def test_acting_for_an_organisation_without_certificates_says_so(wife, certificate, company):
    client = client_for(wife)
    client.post(reverse("identity:acting_switch"), {"acting_for": company.pk})

    page = html(client.get(reverse("certificates:list")))

    assert "which has no electronic certificates yet" in page
    assert re.findall(r'<h2 id="group-\d+">([^<]+)</h2>', page) == ["Mine"]


def test_the_wallet_shows_each_certificate_valid_expired_or_revoked(
    wife, marriage_type, civil_affairs
):
    valid = marriage(civil_affairs)
    expired = marriage(
        civil_affairs, issued_on=datetime.date(2019, 1, 1), valid_until=datetime.date(2021, 1, 1)
    )
    revoked = revoke(marriage(civil_affairs), civil_affairs)

    response = client_for(wife).get(reverse("certificates:list"))

    assert states(response) == {valid.pk: "valid", expired.pk: "expired", revoked.pk: "revoked"}
    badges = re.findall(
        r'<span class="badge (status-\w+) certificate-state"[^>]*>(\w+)<', html(response)
    )
    assert sorted(badges) == [
        ("status-bad", "Revoked"),
        ("status-closed", "Expired"),
        ("status-ok", "Valid"),
    ]


def test_the_wallet_reads_a_fixed_number_of_queries_however_many_certificates(
    wife, company, marriage_type, civil_affairs, licence_type, market_regulation
):
    marriage(civil_affairs)
    client = client_for(wife)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("certificates:list")).status_code == 200
        return len(captured)

    one = queries()
    marriage(civil_affairs)
    licence(market_regulation, company)
    licence(market_regulation, company)

    assert queries() == one


def test_an_unverified_account_is_asked_to_verify_its_real_name(db):
    response = client_for(UserFactory()).get(reverse("certificates:list"))

    assert response.status_code == 200
    assert (
        "Your certificates are found by your resident ID number. Complete real-name "
        "verification to see them." in html(response)
    )
    assert states(response) == {}


# ---------------------------------------------------------------------------------------
# The detail page


def test_the_detail_shows_a_fresh_wallet_code_that_verifies(wife, certificate):
    response = client_for(wife).get(reverse("certificates:detail", args=[certificate.pk]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    result = platform_verifier().verify(wallet_code(response))
    assert result.valid
    assert result.payload["id"] == certificate.identifier
    assert result.payload["h"] == {"k": "person", "n": "林晓雯", "i": "3301**********0027"}
    lifetime = result.verified.expires_at - result.verified.issued_at
    assert lifetime == datetime.timedelta(minutes=settings.CERTIFICATES_QR_MINUTES)
    shown = timezone.localtime(result.verified.expires_at).strftime("%Y-%m-%d %H:%M")
    assert f"It can be verified until {shown}" in html(response)
    refresh = f'<a href="/me/certificates/{certificate.pk}/" class="button secondary">'
    assert refresh in html(response)
    assert f'href="/me/certificates/{certificate.pk}/pdf"' in html(response)


def test_the_detail_masks_id_numbers(wife, certificate):
    response = client_for(wife).get(reverse("certificates:detail", args=[certificate.pk]))

    assert facts(response) == {
        "Holder": "林晓雯",
        "公民身份号码": "3301**********0027",
        "Certificate number": "J330106-2026-001234",
        "姓名": "林晓雯",
        "配偶姓名": "周子航",
        "配偶公民身份号码": "3301**********0018",
        "登记日期": "2026-05-20",
        "Issued by": "杭州市西湖区民政局",
        "Issued on": "2026-05-20",
        "Valid until": "No end date",
        "Certificate identifier": certificate.identifier,
    }
    assert WIFE_ID not in html(response)
    assert HUSBAND_ID not in html(response)


@pytest.mark.parametrize("kind", ["revoked", "expired"])
def test_a_revoked_or_expired_certificate_shows_its_state_and_no_code(
    wife, marriage_type, civil_affairs, kind
):
    if kind == "revoked":
        certificate = revoke(marriage(civil_affairs), civil_affairs)
        message = (
            "The issuing department has revoked this certificate. It has no QR code and "
            "cannot be downloaded or shared."
        )
    else:
        certificate = marriage(
            civil_affairs,
            issued_on=datetime.date(2019, 1, 1),
            valid_until=timezone.localdate() - datetime.timedelta(days=1),
        )
        message = (
            "This certificate has expired. It has no QR code and cannot be downloaded or shared."
        )

    response = client_for(wife).get(reverse("certificates:detail", args=[certificate.pk]))

    assert response.status_code == 200
    page = html(response)
    assert "data:image/png" not in page
    assert f'data-state="{kind}"' in page
    assert message in page
    assert "authorise-form" not in page
    assert f'href="/me/certificates/{certificate.pk}/pdf"' not in page


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "certificates:detail"),
        ("get", "certificates:pdf"),
        ("post", "certificates:authorise"),
    ],
)
def test_another_persons_certificate_is_not_found(husband, certificate, method, name):
    response = getattr(client_for(husband), method)(reverse(name, args=[certificate.pk]))

    assert response.status_code == 404
    assert not CertificateAuthorisation.objects.exists()


def test_an_unknown_certificate_is_not_found(wife, certificate):
    response = client_for(wife).get(reverse("certificates:detail", args=[certificate.pk + 100]))

    assert response.status_code == 404


# ---------------------------------------------------------------------------------------
# PDF


def test_the_pdf_downloads_signed_by_the_issuer(wife, certificate, civil_affairs):
    response = client_for(wife).get(reverse("certificates:pdf", args=[certificate.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E7%BB%93%E5%A9%9A%E8%AF%81-%E6%9E%97%E6%99%93%E9%9B%AF.pdf"
    )
    content = b"".join(response.streaming_content)
    anchor = asn1_x509.Certificate.load(
        keys.trust_anchor().certificate.public_bytes(serialization.Encoding.DER)
    )
    (signature,) = PdfFileReader(io.BytesIO(content)).embedded_signatures
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[anchor]))
    assert status.bottom_line is True
    assert signature.signer_cert.subject.native["common_name"] == civil_affairs.name


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("revoked", "A revoked certificate cannot be downloaded."),
        ("expired", "This certificate has expired."),
    ],
)
def test_a_revoked_or_expired_certificate_has_no_pdf(
    wife, marriage_type, civil_affairs, kind, message
):
    if kind == "revoked":
        certificate = revoke(marriage(civil_affairs), civil_affairs)
    else:
        certificate = marriage(
            civil_affairs,
            issued_on=datetime.date(2019, 1, 1),
            valid_until=timezone.localdate() - datetime.timedelta(days=1),
        )

    response = client_for(wife).get(reverse("certificates:pdf", args=[certificate.pk]))

    assert response.status_code == 409
    assert response["Content-Type"].startswith("text/html")
    assert page_errors(response) == [message]


# ---------------------------------------------------------------------------------------
# Authorising use


def authorise_form(**changes: Any) -> dict[str, str]:
    data = {
        "grantee": "department",
        "department": "",
        "third_party_name": "",
        "third_party_uscc": "",
        "purpose": "住房公积金贷款",
        "valid_until": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
    }
    data.update(changes)
    return data


def test_the_holder_authorises_a_department(wife, certificate, housing_fund):
    url = reverse("certificates:authorise", args=[certificate.pk])
    until = timezone.localdate() + datetime.timedelta(days=30)

    response = client_for(wife).post(url, authorise_form(department=str(housing_fund.pk)))

    assert response.status_code == 302
    assert response["Location"] == reverse("certificates:detail", args=[certificate.pk])
    authorisation = CertificateAuthorisation.objects.get()
    assert (
        authorisation.certificate_id,
        authorisation.granted_by_id,
        authorisation.department_id,
        authorisation.third_party_name,
        authorisation.purpose,
        authorisation.valid_until,
        authorisation.access_code_hash,
    ) == (certificate.pk, wife.pk, housing_fund.pk, "", "住房公积金贷款", until, "")
    page = client_for(wife).get(response["Location"])
    listed = re.search(r'<li class="authorisation"(.*?)</li>', html(page), re.S).group(1)
    assert '<strong class="authorisation-grantee">杭州住房公积金管理中心</strong>' in listed
    assert 'data-state="active"' in listed
    assert f'action="/me/certificates/authorisations/{authorisation.pk}/revoke/"' in listed


def test_the_confirmation_names_the_department_and_the_date(wife, certificate, housing_fund):
    until = timezone.localdate() + datetime.timedelta(days=30)

    response = client_for(wife).post(
        reverse("certificates:authorise", args=[certificate.pk]),
        authorise_form(department=str(housing_fund.pk)),
        follow=True,
    )

    assert shown_messages(response) == [
        f"杭州住房公积金管理中心 may read this certificate until {until.isoformat()}."
    ]


def test_a_third_party_gets_an_access_code_shown_once(wife, certificate, uscc_factory):
    bank_uscc = uscc_factory(serial="MA0B1C2D3")

    response = client_for(wife).post(
        reverse("certificates:authorise", args=[certificate.pk]),
        authorise_form(
            grantee="third_party", third_party_name="杭州银行西湖支行", third_party_uscc=bank_uscc
        ),
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    code = re.search(
        r'<code class="token sms-body" id="access-code">([^<]+)</code>', html(response)
    )
    assert code is not None
    access_code = code.group(1)
    assert len(access_code) == 12
    assert set(access_code) <= set(ACCESS_CODE_ALPHABET)
    assert (
        "Give this code to 杭州银行西湖支行. They open the page below and enter it to see the "
        "certificate, until the authorisation ends or you revoke it." in unescape(html(response))
    )
    assert '<a href="http://testserver/certificates/shared/" id="shared-url"' in html(response)
    authorisation = CertificateAuthorisation.objects.get()
    assert (authorisation.department_id, authorisation.third_party_name) == (
        None,
        "杭州银行西湖支行",
    )
    assert authorisation.third_party_uscc == bank_uscc
    assert access_code not in authorisation.access_code_hash
    assert services.certificate_read_by_code(access_code=access_code).pk == certificate.pk
    # The detail page lists the authorisation but never the code.
    detail = client_for(wife).get(reverse("certificates:detail", args=[certificate.pk]))
    assert access_code not in html(detail)
    assert '<strong class="authorisation-grantee">杭州银行西湖支行</strong>' in html(detail)


def test_a_third_party_choice_ignores_a_department_picked_before(wife, certificate, housing_fund):
    client_for(wife).post(
        reverse("certificates:authorise", args=[certificate.pk]),
        authorise_form(
            grantee="third_party", third_party_name="某用人单位", department=str(housing_fund.pk)
        ),
    )

    authorisation = CertificateAuthorisation.objects.get()
    assert (authorisation.department_id, authorisation.third_party_name) == (None, "某用人单位")


def _days(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"purpose": "  "}, {"purpose": ["Say what it will be used for."]}),
        ({"purpose": "贷" * 201}, {"purpose": ["The purpose is too long."]}),
        ({"valid_until": -1}, {"valid_until": ["The date has already passed."]}),
        ({"valid_until": 367}, {"valid_until": ["An authorisation lasts at most one year."]}),
        ({"valid_until": "2026-02-30"}, {"valid_until": ["Enter a valid date."]}),
        ({"valid_until": ""}, {"valid_until": ["This field is required."]}),
        ({}, {"grantee": ["Choose a department, or name the third party."]}),
        (
            {"grantee": "third_party", "third_party_name": " "},
            {"grantee": ["Choose a department, or name the third party."]},
        ),
        (
            {"grantee": "nobody"},
            {"grantee": ["Select a valid choice. nobody is not one of the available choices."]},
        ),
        (
            {"department": "999999"},
            {
                "department": [
                    "Select a valid choice. That choice is not one of the available choices."
                ]
            },
        ),
        (
            {"grantee": "third_party", "third_party_name": "银行", "third_party_uscc": "12345"},
            {"third_party_uscc": ["A unified social credit code has 18 characters."]},
        ),
        (
            {
                "grantee": "third_party",
                "third_party_name": "银行",
                "third_party_uscc": "91330106MA2B3C4D5X",
            },
            {
                "third_party_uscc": [
                    "The check character of this credit code is wrong; please check it."
                ]
            },
        ),
        (
            {"grantee": "third_party", "third_party_name": "行" * 201},
            {"third_party_name": ["Ensure this value has at most 200 characters (it has 201)."]},
        ),
    ],
)
def test_a_bad_authorisation_says_what_is_wrong_beside_the_field_and_grants_nothing(
    wife, certificate, changes, errors
):
    if isinstance(changes.get("valid_until"), int):
        changes = {**changes, "valid_until": _days(changes["valid_until"])}

    response = client_for(wife).post(
        reverse("certificates:authorise", args=[certificate.pk]), authorise_form(**changes)
    )

    assert response.status_code == 422
    assert all_field_errors(response) == errors
    assert page_errors(response) == []
    assert not CertificateAuthorisation.objects.exists()
    # The page is the certificate's page again, with what was entered kept.
    assert facts(response)["Holder"] == "林晓雯"


def test_an_inactive_department_cannot_be_chosen(wife, certificate, housing_fund):
    housing_fund.is_active = False
    housing_fund.save()

    response = client_for(wife).post(
        reverse("certificates:authorise", args=[certificate.pk]),
        authorise_form(department=str(housing_fund.pk)),
    )

    assert response.status_code == 422
    assert field_error(response, "id_department") == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert f'<option value="{housing_fund.pk}"' not in html(response)


def test_a_revoked_certificate_cannot_be_shared(wife, marriage_type, civil_affairs, housing_fund):
    certificate = revoke(marriage(civil_affairs), civil_affairs)

    response = client_for(wife).post(
        reverse("certificates:authorise", args=[certificate.pk]),
        authorise_form(department=str(housing_fund.pk)),
    )

    assert response.status_code == 409
    assert page_errors(response) == ["A revoked certificate cannot be shared."]
    assert not CertificateAuthorisation.objects.exists()


def test_authorising_needs_a_post(wife, certificate):
    response = client_for(wife).get(reverse("certificates:authorise", args=[certificate.pk]))

    assert response.status_code == 405


# ---------------------------------------------------------------------------------------
# Revoking an authorisation


def test_the_holder_revokes_an_authorisation_and_the_code_stops_working(wife, certificate):
    authorised = authorise(certificate, wife, third_party_name="杭州银行西湖支行")

    response = client_for(wife).post(
        reverse("certificates:authorisation_revoke", args=[authorised.authorisation.pk]),
        follow=True,
    )

    assert response.redirect_chain == [(f"/me/certificates/{certificate.pk}/", 302)]
    assert shown_messages(response) == ["The authorisation of 杭州银行西湖支行 has been revoked."]
    authorised.authorisation.refresh_from_db()
    assert authorised.authorisation.revoked_at is not None
    listed = re.search(r'<li class="authorisation"(.*?)</li>', html(response), re.S).group(1)
    assert 'data-state="revoked"' in listed
    assert "/revoke/" not in listed
    shared = client_for().post(
        reverse("certificates_shared:read"), {"access_code": authorised.access_code}
    )
    assert shared.status_code == 404


def test_another_persons_authorisation_cannot_be_revoked(wife, husband, certificate, housing_fund):
    authorised = authorise(certificate, wife, department=housing_fund)

    response = client_for(husband).post(
        reverse("certificates:authorisation_revoke", args=[authorised.authorisation.pk])
    )

    assert response.status_code == 404
    authorised.authorisation.refresh_from_db()
    assert authorised.authorisation.revoked_at is None


def test_revoking_needs_a_post(wife, certificate, housing_fund):
    authorised = authorise(certificate, wife, department=housing_fund)

    response = client_for(wife).get(
        reverse("certificates:authorisation_revoke", args=[authorised.authorisation.pk])
    )

    assert response.status_code == 405


def test_an_ended_authorisation_shows_expired_without_a_revoke_button(
    wife, certificate, housing_fund
):
    authorised = authorise(certificate, wife, department=housing_fund)
    CertificateAuthorisation.objects.filter(pk=authorised.authorisation.pk).update(
        valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )

    response = client_for(wife).get(reverse("certificates:detail", args=[certificate.pk]))

    listed = re.search(r'<li class="authorisation"(.*?)</li>', html(response), re.S).group(1)
    assert 'data-state="expired"' in listed
    assert "/revoke/" not in listed


# ---------------------------------------------------------------------------------------
# The third party's page


def test_the_shared_page_asks_for_the_code_without_login(db):
    response = client_for().get(reverse("certificates_shared:read"))

    assert response.status_code == 200
    assert 'name="access_code"' in html(response)
    assert "certificate-facts" not in html(response)


def test_a_third_party_reads_the_certificate_with_the_code_and_the_read_is_logged(
    wife, certificate
):
    authorised = authorise(certificate, wife, third_party_name="杭州银行西湖支行")

    response = client_for().post(
        reverse("certificates_shared:read"),
        # As read out over the phone: lower case, with spaces around.
        {"access_code": f"  {authorised.access_code.lower()} "},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    shown = facts(response)
    assert shown["公民身份号码"] == WIFE_ID
    assert shown["配偶公民身份号码"] == HUSBAND_ID
    assert shown["Certificate identifier"] == certificate.identifier
    assert 'data-state="valid"' in html(response)
    use = CertificateUse.objects.get()
    assert (use.authorisation_id, use.certificate_id, use.used_by_id, use.user_label) == (
        authorised.authorisation.pk,
        certificate.pk,
        None,
        "杭州银行西湖支行",
    )
    assert use.purpose == "住房公积金贷款"


@pytest.mark.parametrize("case", ["wrong", "ended", "revoked_certificate"])
def test_a_wrong_or_ended_code_is_not_found_and_logs_nothing(
    wife, certificate, civil_affairs, case
):
    authorised = authorise(certificate, wife, third_party_name="杭州银行西湖支行")
    code = authorised.access_code
    if case == "wrong":
        code = "ABCDEFGHJKLM" if code != "ABCDEFGHJKLM" else "ABCDEFGHJKLN"
    elif case == "ended":
        CertificateAuthorisation.objects.update(
            valid_until=timezone.localdate() - datetime.timedelta(days=1)
        )
    else:
        revoke(certificate, civil_affairs)

    response = client_for().post(reverse("certificates_shared:read"), {"access_code": code})

    assert response.status_code == 404
    assert field_error(response, "id_access_code") == [
        "No certificate is shared with this access code, or its authorisation has ended."
    ]
    assert "certificate-facts" not in html(response)
    assert not CertificateUse.objects.exists()


def test_an_empty_code_is_asked_for(db):
    response = client_for().post(reverse("certificates_shared:read"), {"access_code": " "})

    assert response.status_code == 422
    assert field_error(response, "id_access_code") == ["Enter the access code."]


def test_too_many_wrong_codes_from_one_address_are_refused_for_a_while(wife, certificate):
    authorised = authorise(certificate, wife, third_party_name="杭州银行西湖支行")
    guesser = client_for()
    url = reverse("certificates_shared:read")
    for attempt in range(views.ACCESS_CODE_FAILURES):
        wrong = f"WRONGCODE{attempt:03d}"
        assert guesser.post(url, {"access_code": wrong}).status_code == 404

    refused = guesser.post(url, {"access_code": authorised.access_code})

    assert refused.status_code == 429
    assert refused["Retry-After"] == str(views.ACCESS_CODE_WINDOW_SECONDS)
    assert page_errors(refused) == [
        "Too many wrong access codes from this address. Please try again later."
    ]
    assert "certificate-facts" not in html(refused)
    assert not CertificateUse.objects.exists()
    # Another address is not held back by this one's guesses.
    other = client_for().post(
        url, {"access_code": authorised.access_code}, REMOTE_ADDR="198.51.100.7"
    )
    assert other.status_code == 200
    assert CertificateUse.objects.count() == 1


def test_right_codes_do_not_count_towards_the_limit(wife, certificate):
    authorised = authorise(certificate, wife, third_party_name="杭州银行西湖支行")
    client = client_for()
    url = reverse("certificates_shared:read")

    for _attempt in range(views.ACCESS_CODE_FAILURES + 2):
        assert client.post(url, {"access_code": authorised.access_code}).status_code == 200

    assert CertificateUse.objects.count() == views.ACCESS_CODE_FAILURES + 2


# ---------------------------------------------------------------------------------------
# Uses, as the holder sees them


def test_the_holder_sees_who_read_it_when_and_why(wife, certificate, housing_fund):
    bank = authorise(certificate, wife, third_party_name="杭州银行西湖支行", purpose="个人贷款")
    fund = authorise(certificate, wife, department=housing_fund)
    clerk = StaffRoleFactory(department=housing_fund, user__name="王芳").user
    services.certificate_read_by_code(access_code=bank.access_code)
    services.certificate_read_by_department(staff=clerk, authorisation_id=fund.authorisation.pk)

    response = client_for(wife).get(reverse("certificates:detail", args=[certificate.pk]))

    rows = re.findall(
        r'<tr class="use-row">\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*><time datetime="[^"]+">'
        r"([^<]+)</time></td>\s*<td[^>]*>([^<]+)</td>",
        html(response),
    )
    uses = list(CertificateUse.objects.order_by("-used_at"))
    assert rows == [
        (
            "杭州住房公积金管理中心 王芳",
            timezone.localtime(uses[0].used_at).strftime("%Y-%m-%d %H:%M"),
            "住房公积金贷款",
        ),
        (
            "杭州银行西湖支行",
            timezone.localtime(uses[1].used_at).strftime("%Y-%m-%d %H:%M"),
            "个人贷款",
        ),
    ]


# ---------------------------------------------------------------------------------------
# Staff


def test_staff_see_the_certificates_shared_with_their_departments_only(
    wife, certificate, housing_fund, civil_affairs
):
    shared = authorise(certificate, wife, department=housing_fund)
    elsewhere = authorise(certificate, wife, department=civil_affairs)
    revoked = authorise(certificate, wife, department=housing_fund, purpose="已撤回")
    services.certificate_authorisation_revoke(
        holder=wife, authorisation_id=revoked.authorisation.pk
    )
    clerk = StaffRoleFactory(department=housing_fund).user

    response = client_for(clerk).get(reverse("certificates_staff:list"))

    assert response.status_code == 200
    listed = [
        int(pk)
        for pk in re.findall(r'class="shared-row" data-authorisation="(\d+)"', html(response))
    ]
    assert listed == [shared.authorisation.pk]
    assert elsewhere.authorisation.pk not in listed
    row = re.search(r'class="shared-row"(.*?)</tr>', html(response), re.S).group(1)
    assert ">结婚证</td>" in row
    assert ">林晓雯</td>" in row
    assert ">住房公积金贷款</td>" in row
    assert f'action="/workbench/certificates/{shared.authorisation.pk}/read/"' in row


def test_a_staff_read_shows_the_certificate_and_is_logged(wife, certificate, housing_fund):
    shared = authorise(certificate, wife, department=housing_fund)
    clerk = StaffRoleFactory(department=housing_fund, user__name="王芳").user

    response = client_for(clerk).post(
        reverse("certificates_staff:read", args=[shared.authorisation.pk])
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert facts(response)["公民身份号码"] == WIFE_ID
    assert facts(response)["Certificate identifier"] == certificate.identifier
    use = CertificateUse.objects.get()
    assert (use.authorisation_id, use.used_by_id, use.user_label, use.purpose) == (
        shared.authorisation.pk,
        clerk.pk,
        "杭州住房公积金管理中心 王芳",
        "住房公积金贷款",
    )


@pytest.mark.parametrize("case", ["other_department", "revoked", "expired"])
def test_staff_cannot_read_what_is_not_shared_with_their_department(
    wife, certificate, housing_fund, civil_affairs, case
):
    shared = authorise(certificate, wife, department=housing_fund)
    clerk = StaffRoleFactory(department=housing_fund).user
    if case == "other_department":
        clerk = StaffRoleFactory(department=civil_affairs).user
    elif case == "revoked":
        services.certificate_authorisation_revoke(
            holder=wife, authorisation_id=shared.authorisation.pk
        )
    else:
        CertificateAuthorisation.objects.update(
            valid_until=timezone.localdate() - datetime.timedelta(days=1)
        )

    response = client_for(clerk).post(
        reverse("certificates_staff:read", args=[shared.authorisation.pk])
    )

    assert response.status_code == 404
    assert not CertificateUse.objects.exists()


def test_a_citizen_without_a_staff_role_may_not_open_the_staff_pages(
    wife, certificate, housing_fund
):
    shared = authorise(certificate, wife, department=housing_fund)

    listing = client_for(wife).get(reverse("certificates_staff:list"))
    read = client_for(wife).post(reverse("certificates_staff:read", args=[shared.authorisation.pk]))

    assert (listing.status_code, read.status_code) == (403, 403)
    assert not CertificateUse.objects.exists()


def test_a_staff_read_needs_a_post(wife, certificate, housing_fund):
    shared = authorise(certificate, wife, department=housing_fund)
    clerk = StaffRoleFactory(department=housing_fund).user

    response = client_for(clerk).get(
        reverse("certificates_staff:read", args=[shared.authorisation.pk])
    )

    assert response.status_code == 405
    assert not CertificateUse.objects.exists()


def test_the_staff_list_reads_a_fixed_number_of_queries(
    wife, marriage_type, civil_affairs, housing_fund
):
    clerk = StaffRoleFactory(department=housing_fund).user
    authorise(marriage(civil_affairs), wife, department=housing_fund)
    client = client_for(clerk)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("certificates_staff:list")).status_code == 200
        return len(captured)

    one = queries()
    authorise(marriage(civil_affairs), wife, department=housing_fund)
    authorise(marriage(civil_affairs), wife, department=housing_fund)

    assert queries() == one


# ---------------------------------------------------------------------------------------
# The journey in a real browser


@pytest.fixture
def browser_pages(browser, live_server):
    """Phone-sized pages in English, each in its own context, logged in through a session
    cookie when given a user; the contexts close before the live server stops."""
    contexts = []

    def open_page(user: User | None = None):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}]
        if user is not None:
            client = Client()
            client.force_login(user)
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            cookies.append(
                {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}
            )
        context.add_cookies(cookies)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_holder_shares_a_certificate_with_a_bank_sees_the_read_and_revokes_it(
    browser_pages, marriage_type, civil_affairs
):
    from playwright.sync_api import expect

    wife = VerifiedUserFactory(id_number=WIFE_ID, name="林晓雯")
    certificate = marriage(civil_affairs)
    holder = browser_pages(wife)

    holder.goto("/me/")
    holder.get_by_role("link", name="My certificates").click()
    holder.get_by_role("link", name="结婚证").click()
    expect(holder.get_by_role("img", name="QR code of this certificate")).to_be_visible()
    # Nothing on the page is wider than the phone's screen.
    assert holder.evaluate("document.documentElement.scrollWidth") <= 390

    holder.get_by_label("A third party, such as a bank or an employer").check()
    holder.get_by_label("Name of the third party").fill("杭州银行西湖支行")
    holder.get_by_label("Purpose").fill("个人住房贷款")
    until = timezone.localdate() + datetime.timedelta(days=7)
    holder.get_by_label("Valid until").fill(until.isoformat())
    holder.get_by_role("button", name="Authorise").click()
    access_code = holder.locator("#access-code").inner_text()
    assert len(access_code) == 12

    bank = browser_pages()
    bank.goto("/certificates/shared/")
    bank.get_by_role("textbox", name="Access code").fill(access_code)
    bank.get_by_role("button", name="Show the certificate").click()
    expect(bank.locator(".fact-identifier")).to_have_text(certificate.identifier)
    expect(bank.locator(".fact-holder-identifier")).to_have_text(WIFE_ID)

    holder.get_by_role("link", name="Back to the certificate").click()
    expect(holder.locator(".use-row")).to_have_count(1)
    expect(holder.locator(".use-row")).to_contain_text("杭州银行西湖支行")
    expect(holder.locator(".use-row")).to_contain_text("个人住房贷款")
    holder.get_by_role("button", name="Revoke").click()
    expect(holder.locator(".authorisation-state")).to_have_text("Revoked")

    bank.get_by_role("textbox", name="Access code").fill(access_code)
    bank.get_by_role("button", name="Show the certificate").click()
    expect(bank.locator("#id_access_code_error")).to_have_text(
        "No certificate is shared with this access code, or its authorisation has ended."
    )
