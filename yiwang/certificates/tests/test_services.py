"""Issuing, importing, revoking, QR codes, revocation lists and authorised use."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.utils import timezone

from yiwang.certificates import keys, services, signedqr
from yiwang.certificates.models import Certificate, CertificateUse, SigningKey
from yiwang.certificates.verification import (
    RevocationListError,
    RevocationStatus,
    platform_verifier,
    revocation_list_load,
    verifier_from_lists,
)
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.identifiers import certificate_id_parse
from yiwang.core.tests.concurrency import run_at_once
from yiwang.identity.models import Organisation, StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

WIFE_ID = "330106199203150027"
HUSBAND_ID = "330106199001010018"


def marriage(civil_affairs, holder_id=WIFE_ID, **kwargs):
    values = {
        "certificate_type": "CT-JHZ",
        "issuer": civil_affairs,
        "holder_kind": "person",
        "holder_identifier": holder_id,
        "holder_name": "林晓雯",
        "data": {
            "name": "林晓雯",
            "id_number": holder_id,
            "spouse_name": "周子航",
            "spouse_id_number": HUSBAND_ID,
            "registered_on": "2026-05-20",
        },
        "number": "J330106-2026-001234",
    }
    values.update(kwargs)
    return services.certificate_issue(**values)


@pytest.fixture
def wife(db):
    return VerifiedUserFactory(id_number=WIFE_ID, name="林晓雯")


@pytest.fixture
def approver(civil_affairs):
    return StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.APPROVER).user


# ---------------------------------------------------------------------------------------
# Issuing


def test_issuing_numbers_the_certificate_in_the_gbt_36904_layout(marriage_type, civil_affairs):
    certificate = marriage(civil_affairs, issued_on=datetime.date(2026, 5, 20))
    second = marriage(civil_affairs, issued_on=datetime.date(2026, 5, 20))

    parsed = certificate_id_parse(certificate.identifier)
    assert parsed.type_segment == "CTJHZ"
    assert parsed.issuer_uscc == civil_affairs.uscc
    assert parsed.serial == "20260520000001"
    assert certificate_id_parse(second.identifier).serial == "20260520000002"
    assert certificate.holder_identifier == WIFE_ID
    assert certificate.status == Certificate.Status.VALID
    # The department's first key was made for every type its kind issues.
    assert keys.signing_key_for(civil_affairs, "CT-JHZ") is not None


@pytest.mark.django_db(transaction=True)
def test_a_departments_first_issuances_at_once_make_one_signing_key(marriage_type, civil_affairs):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need a database server (run with DATABASE_URL on PostgreSQL)")
    writers = 4

    def issue(n: int) -> None:
        with transaction.atomic():
            marriage(civil_affairs, number=f"J330106-2026-00{n}")

    errors = run_at_once(writers, issue)

    assert errors == []
    assert Certificate.objects.count() == writers
    assert SigningKey.objects.filter(department=civil_affairs).count() == 1


def test_the_same_source_issues_one_certificate(marriage_type, civil_affairs):
    first = marriage(civil_affairs, source="application:330106MZ2026052000001")
    again = marriage(civil_affairs, source="application:330106MZ2026052000001")

    assert again.pk == first.pk
    assert Certificate.objects.count() == 1


def test_a_type_with_a_fixed_validity_expires_after_it(marriage_type, civil_affairs):
    marriage_type.validity_years = 5
    marriage_type.save()

    certificate = marriage(civil_affairs, issued_on=datetime.date(2024, 2, 29))

    assert certificate.valid_until == datetime.date(2029, 2, 28)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"certificate_type": "CT-NONE"}, "certificate_type"),
        ({"holder_kind": "organisation"}, "holder_kind"),
        ({"holder_identifier": "330106199203150022"}, "holder_identifier"),
        ({"holder_name": "  "}, "holder_name"),
        ({"data": {"name": "林晓雯", "favourite_colour": "blue"}}, "data"),
        ({"data": {"name": ["not", "text"]}}, "data"),
        (
            {"issued_on": datetime.date(2026, 5, 20), "valid_until": datetime.date(2026, 5, 19)},
            "valid_until",
        ),
    ],
)
def test_bad_issue_requests_name_the_field_and_issue_nothing(
    marriage_type, civil_affairs, change, field
):
    with pytest.raises(ValidationFailed) as caught:
        marriage(civil_affairs, **change)

    assert field in caught.value.fields
    assert not Certificate.objects.exists()


def test_a_department_of_another_kind_cannot_issue_the_type(marriage_type, market_regulation):
    with pytest.raises(PermissionDenied):
        marriage(market_regulation)

    assert not Certificate.objects.exists()


def test_a_department_without_a_credit_code_cannot_issue(marriage_type, civil_affairs):
    civil_affairs.uscc = ""
    civil_affairs.save()

    with pytest.raises(Conflict) as caught:
        marriage(civil_affairs)

    assert caught.value.code == "issuer_without_uscc"


# ---------------------------------------------------------------------------------------
# Import


IMPORT_HEADER = (
    "certificate_type,issuer,holder_kind,holder_identifier,holder_name,number,issued_on,"
    "valid_until,reference,data.name,data.id_number,data.spouse_name\n"
)


def test_import_creates_every_row_and_a_second_import_skips_them(marriage_type, civil_affairs):
    text = IMPORT_HEADER + (
        f"CT-JHZ,330106-MZ,person,{WIFE_ID},林晓雯,J1,2019-05-20,,A-1,林晓雯,{WIFE_ID},周子航\n"
        f"CT-JHZ,330106-MZ,person,{HUSBAND_ID},周子航,J1,2019-05-20,,A-2,周子航,{HUSBAND_ID},林晓雯\n"
    )

    first = services.certificates_import(csv_text=text, batch="b1")
    second = services.certificates_import(csv_text=text, batch="b2")

    assert (first.created, first.skipped, first.errors) == (2, 0, [])
    assert (second.created, second.skipped, second.errors) == (0, 2, [])
    husband = Certificate.objects.get(holder_identifier=HUSBAND_ID)
    assert husband.data == {"name": "周子航", "id_number": HUSBAND_ID, "spouse_name": "林晓雯"}
    assert husband.issued_on == datetime.date(2019, 5, 20)
    assert husband.source == "import:330106-MZ:A-2"


def test_import_with_one_bad_row_imports_nothing_and_names_each_bad_row(
    marriage_type, civil_affairs
):
    text = IMPORT_HEADER + (
        f"CT-JHZ,330106-MZ,person,{WIFE_ID},林晓雯,J1,2019-05-20,,A-1,林晓雯,{WIFE_ID},周子航\n"
        "CT-JHZ,330106-MZ,person,330106199001010013,周子航,J1,2019-05-20,,A-2,,,\n"
        f"CT-JHZ,330106-XX,person,{HUSBAND_ID},周子航,J1,2019-05-20,,A-3,,,\n"
        f"CT-JHZ,330106-MZ,person,{HUSBAND_ID},周子航,J1,20 May,,A-4,,,\n"
    )

    result = services.certificates_import(csv_text=text, batch="b1")

    assert result.created == 0
    assert result.errors == [
        "第 3 行：身份证号码校验位错误，请核对。",
        "第 4 行：未知部门 330106-XX",
        "第 5 行：issued_on 不是日期（YYYY-MM-DD）",
    ]
    assert not Certificate.objects.exists()


def test_import_without_the_required_columns_says_which_are_missing(marriage_type):
    result = services.certificates_import(csv_text="certificate_type,issuer\n", batch="b1")

    assert result.errors == [
        "缺少列：holder_kind, holder_identifier, holder_name, number, issued_on, "
        "valid_until, reference"
    ]


# ---------------------------------------------------------------------------------------
# QR codes and verification


def test_a_wallet_code_verifies_with_masked_identifiers(marriage_type, civil_affairs):
    certificate = marriage(civil_affairs)

    text = services.certificate_qr_for_wallet(certificate)
    result = platform_verifier().verify(text)

    assert text.startswith("YW1:")
    assert result.valid, result.message
    assert result.revocation == RevocationStatus.CHECKED
    assert result.payload["id"] == certificate.identifier
    assert result.payload["t"] == "CT-JHZ"
    assert result.payload["h"] == {"k": "person", "n": "林晓雯", "i": "3301**********0027"}
    assert result.payload["d"]["id_number"] == "3301**********0027"
    assert result.payload["d"]["spouse_id_number"] == "3301**********0018"
    assert result.verified.signer.label == "杭州市西湖区民政局"


def test_a_wallet_code_expires_and_then_reads_expired(marriage_type, civil_affairs, settings):
    settings.CERTIFICATES_QR_MINUTES = 10
    certificate = marriage(civil_affairs)
    text = services.certificate_qr_for_wallet(certificate)

    later = timezone.now() + datetime.timedelta(minutes=11)
    result = platform_verifier().verify(text, clock=later)

    assert result.verdict == signedqr.Verdict.EXPIRED


def test_a_revoked_certificate_reads_revoked_and_has_no_new_code(
    marriage_type, civil_affairs, approver
):
    certificate = marriage(civil_affairs)
    text = services.certificate_qr_for_wallet(certificate)

    services.certificate_revoke(actor=approver, certificate=certificate, reason="婚姻登记撤销")
    result = platform_verifier().verify(text)

    assert result.verdict == signedqr.Verdict.REVOKED
    with pytest.raises(Conflict):
        services.certificate_qr_for_wallet(certificate)


def test_revoking_needs_an_approver_of_the_issuer_a_reason_and_a_valid_certificate(
    marriage_type, civil_affairs, approver
):
    certificate = marriage(civil_affairs)
    clerk = StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.CLERK).user

    with pytest.raises(PermissionDenied):
        services.certificate_revoke(actor=clerk, certificate=certificate, reason="x")
    with pytest.raises(ValidationFailed):
        services.certificate_revoke(actor=approver, certificate=certificate, reason=" ")
    services.certificate_revoke(actor=approver, certificate=certificate, reason="错误登记")
    with pytest.raises(Conflict):
        services.certificate_revoke(actor=approver, certificate=certificate, reason="again")


def test_a_code_claiming_a_type_its_key_may_not_sign_reads_key_not_allowed(
    marriage_type, civil_affairs
):
    certificate = marriage(civil_affairs)
    key = services.signing_key_in_force(civil_affairs, marriage_type)
    payload = services.qr_payload(certificate) | {"t": "CT-YYZZ"}
    now = timezone.now()
    text = signedqr.sign(
        claims=payload,
        key=keys.signing_key_private(key),
        kid=bytes.fromhex(key.kid),
        prefix="YW1:",
        issuer="330106",
        issued_at=now,
        expires_at=now + datetime.timedelta(hours=1),
    )

    assert platform_verifier().verify(text).verdict == signedqr.Verdict.KEY_NOT_ALLOWED


def test_offline_verification_needs_only_the_published_lists(
    marriage_type, civil_affairs, approver
):
    kept = marriage(civil_affairs)
    revoked = marriage(civil_affairs)
    kept_text = services.certificate_qr_for_wallet(kept)
    revoked_text = services.certificate_qr_for_wallet(revoked)
    services.certificate_revoke(actor=approver, certificate=revoked, reason="错误登记")
    trust_list = keys.trust_list_sign()
    revocation_lists = list(services.revocation_lists_sign().values())
    anchor = keys.trust_anchor().certificate

    offline = verifier_from_lists(
        trust_lists=[trust_list],
        revocation_lists=revocation_lists,
        anchors=[anchor],
        prefix="YW1:",
    )
    Certificate.objects.all().delete()  # nothing of the database is needed from here on

    assert offline.verify(kept_text).valid
    assert offline.verify(kept_text).revocation == RevocationStatus.CHECKED
    assert offline.verify(revoked_text).verdict == signedqr.Verdict.REVOKED


def test_offline_verification_without_a_revocation_list_says_it_was_not_checked(
    marriage_type, civil_affairs
):
    text = services.certificate_qr_for_wallet(marriage(civil_affairs))
    offline = verifier_from_lists(
        trust_lists=[keys.trust_list_sign()],
        revocation_lists=[],
        anchors=[keys.trust_anchor().certificate],
        prefix="YW1:",
    )

    result = offline.verify(text)

    assert result.valid
    assert result.revocation == RevocationStatus.MISSING


def test_a_stale_revocation_list_is_reported_stale(marriage_type, civil_affairs, settings):
    settings.CERTIFICATES_REVOCATION_LIST_HOURS = 1
    text = services.certificate_qr_for_wallet(marriage(civil_affairs))
    offline = verifier_from_lists(
        trust_lists=[keys.trust_list_sign()],
        revocation_lists=list(services.revocation_lists_sign().values()),
        anchors=[keys.trust_anchor().certificate],
        prefix="YW1:",
    )

    result = offline.verify(text, clock=timezone.now() + datetime.timedelta(hours=2))

    assert result.valid
    assert result.revocation == RevocationStatus.STALE


def test_a_revocation_list_signed_by_another_key_is_refused(
    marriage_type, licence_type, civil_affairs, market_regulation
):
    marriage(civil_affairs)
    other = services.signing_key_in_force(market_regulation, licence_type)
    mz_key = services.signing_key_in_force(civil_affairs, marriage_type)
    store = signedqr.TrustStore()
    store.add_certificate(other.certificate_der())
    store.add_certificate(mz_key.certificate_der())
    forged = bytearray(services.revocation_list_sign(mz_key))
    forged[-5] ^= 0x01

    with pytest.raises(RevocationListError):
        revocation_list_load(bytes(forged), trust=store)
    with pytest.raises(RevocationListError):
        revocation_list_load(services.revocation_list_sign(mz_key), trust=signedqr.TrustStore())


def _publish_as_peer(folder, key_dir, *, anchor_from=None):
    (folder / "revocation").mkdir(parents=True)
    anchor_dir = anchor_from or key_dir
    (folder / "anchor.crt").write_bytes((anchor_dir / keys.ANCHOR_CERTIFICATE_FILE).read_bytes())
    (folder / "trust-list.cose").write_bytes(keys.trust_list_sign())
    for kid, data in services.revocation_lists_sign().items():
        (folder / "revocation" / f"{kid}.cose").write_bytes(data)


def test_another_regions_codes_verify_through_its_trust_list_in_the_peer_folder(
    marriage_type, civil_affairs, settings, tmp_path
):
    # The other region's platform: its own anchor and keys, its lists published as files.
    settings.CERTIFICATES_KEY_DIR = tmp_path / "their-keys"
    text = services.certificate_qr_for_wallet(marriage(civil_affairs))
    _publish_as_peer(settings.CERTIFICATES_PEER_DIR / "shanghai", settings.CERTIFICATES_KEY_DIR)
    # This platform knows none of those keys itself.
    settings.CERTIFICATES_KEY_DIR = tmp_path / "our-keys"
    Certificate.objects.all().delete()
    SigningKey.objects.all().delete()

    result = platform_verifier().verify(text)

    assert result.valid, result.message
    assert result.revocation == RevocationStatus.CHECKED
    assert result.verified.signer.label == "杭州市西湖区民政局"


def test_a_peer_trust_list_under_an_anchor_not_configured_is_not_used(
    marriage_type, civil_affairs, settings, tmp_path
):
    settings.CERTIFICATES_KEY_DIR = tmp_path / "their-keys"
    text = services.certificate_qr_for_wallet(marriage(civil_affairs))
    settings.CERTIFICATES_KEY_DIR = tmp_path / "impostor-keys"
    keys.trust_anchor()
    settings.CERTIFICATES_KEY_DIR = tmp_path / "their-keys"
    _publish_as_peer(
        settings.CERTIFICATES_PEER_DIR / "impostor",
        settings.CERTIFICATES_KEY_DIR,
        anchor_from=tmp_path / "impostor-keys",
    )
    settings.CERTIFICATES_KEY_DIR = tmp_path / "our-keys"
    Certificate.objects.all().delete()
    SigningKey.objects.all().delete()

    assert platform_verifier().verify(text).verdict == signedqr.Verdict.UNKNOWN_KEY


# ---------------------------------------------------------------------------------------
# Authorised use


def test_a_third_party_reads_with_the_access_code_and_the_holder_sees_each_use(
    marriage_type, civil_affairs, wife
):
    certificate = marriage(civil_affairs)
    until = timezone.localdate() + datetime.timedelta(days=30)

    authorised = services.certificate_authorise(
        holder=wife,
        certificate=certificate,
        purpose="办理住房贷款",
        valid_until=until,
        third_party_name="杭州示例银行",
    )
    read = services.certificate_read_by_code(access_code=authorised.access_code.lower())

    assert read == certificate
    assert len(authorised.access_code) == 12
    use = CertificateUse.objects.get()
    assert (use.user_label, use.purpose, use.used_by) == ("杭州示例银行", "办理住房贷款", None)


def test_a_revoked_authorisation_reads_nothing(marriage_type, civil_affairs, wife):
    certificate = marriage(civil_affairs)
    authorised = services.certificate_authorise(
        holder=wife,
        certificate=certificate,
        purpose="入职审核",
        valid_until=timezone.localdate(),
        third_party_name="某公司",
    )

    services.certificate_authorisation_revoke(
        holder=wife, authorisation_id=authorised.authorisation.pk
    )

    with pytest.raises(NotFound):
        services.certificate_read_by_code(access_code=authorised.access_code)
    assert not CertificateUse.objects.exists()


def test_a_department_reads_only_through_its_own_staff(
    marriage_type, civil_affairs, market_regulation, wife
):
    certificate = marriage(civil_affairs)
    authorised = services.certificate_authorise(
        holder=wife,
        certificate=certificate,
        purpose="个体工商户登记",
        valid_until=timezone.localdate(),
        department=market_regulation,
    )
    own = StaffRoleFactory(department=market_regulation, role=StaffRole.Role.CLERK).user
    other = StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.CLERK).user

    assert authorised.access_code == ""
    with pytest.raises(NotFound):
        services.certificate_read_by_department(
            staff=other, authorisation_id=authorised.authorisation.pk
        )
    services.certificate_read_by_department(staff=own, authorisation_id=authorised.authorisation.pk)
    assert CertificateUse.objects.get().used_by == own


def test_an_expired_certificate_cannot_be_shared(marriage_type, civil_affairs, wife):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    certificate = marriage(
        civil_affairs,
        issued_on=yesterday - datetime.timedelta(days=3650),
        valid_until=yesterday,
    )

    with pytest.raises(Conflict) as raised:
        services.certificate_authorise(
            holder=wife,
            certificate=certificate,
            purpose="办理住房贷款",
            valid_until=timezone.localdate(),
            third_party_name="杭州示例银行",
        )

    assert raised.value.code == "expired"
    assert not certificate.authorisations.exists()


def test_a_certificate_that_expires_after_sharing_can_no_longer_be_read(
    marriage_type, civil_affairs, market_regulation, wife
):
    today = timezone.localdate()
    certificate = marriage(civil_affairs, valid_until=today)
    by_code = services.certificate_authorise(
        holder=wife,
        certificate=certificate,
        purpose="办理住房贷款",
        valid_until=today + datetime.timedelta(days=30),
        third_party_name="杭州示例银行",
    )
    by_department = services.certificate_authorise(
        holder=wife,
        certificate=certificate,
        purpose="个体工商户登记",
        valid_until=today + datetime.timedelta(days=30),
        department=market_regulation,
    )
    clerk = StaffRoleFactory(department=market_regulation, role=StaffRole.Role.CLERK).user
    assert services.certificate_read_by_code(access_code=by_code.access_code) == certificate

    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=today - datetime.timedelta(days=1)
    )

    with pytest.raises(NotFound):
        services.certificate_read_by_code(access_code=by_code.access_code)
    with pytest.raises(NotFound):
        services.certificate_read_by_department(
            staff=clerk, authorisation_id=by_department.authorisation.pk
        )
    assert CertificateUse.objects.count() == 1


def test_only_the_holder_may_authorise_and_within_a_year(marriage_type, civil_affairs, wife):
    certificate = marriage(civil_affairs)
    stranger = VerifiedUserFactory()
    today = timezone.localdate()

    with pytest.raises(NotFound):
        services.certificate_authorise(
            holder=stranger,
            certificate=certificate,
            purpose="x",
            valid_until=today,
            third_party_name="某公司",
        )
    for bad in (
        {"purpose": " ", "valid_until": today, "third_party_name": "某公司"},
        {
            "purpose": "x",
            "valid_until": today - datetime.timedelta(days=1),
            "third_party_name": "a",
        },
        {
            "purpose": "x",
            "valid_until": today + datetime.timedelta(days=400),
            "third_party_name": "a",
        },
        {"purpose": "x", "valid_until": today},
    ):
        with pytest.raises(ValidationFailed):
            services.certificate_authorise(holder=wife, certificate=certificate, **bad)


def test_an_organisations_representative_holds_its_certificates(
    licence_type, market_regulation, uscc_factory
):
    organisation = Organisation.objects.create(
        uscc=uscc_factory(serial="MA2H7Q8X1"),
        name="杭州示例科技有限公司",
        legal_representative=VerifiedUserFactory(),
    )
    licence = services.certificate_issue(
        certificate_type="CT-YYZZ",
        issuer=market_regulation,
        holder_kind="organisation",
        holder_identifier=organisation.uscc,
        holder_name=organisation.name,
        data={"name": organisation.name, "uscc": organisation.uscc},
    )

    assert services.certificate_for_holder(organisation.legal_representative, licence.pk) == licence
    with pytest.raises(NotFound):
        services.certificate_for_holder(VerifiedUserFactory(), licence.pk)
