from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone
from oauth2_provider.models import Application

from yiwang.catalog.models import ServiceItem
from yiwang.demo.loader import DEMO_SSO_CLIENT, demo_load
from yiwang.demo.personas import (
    COMPANY,
    DECEASED_FATHER,
    DEMO_PASSWORD,
    PERSONAS,
    UNCLAIMED_RESIDENTS,
    persona_get,
)
from yiwang.exchange.models import LegalPersonRecord, PopulationRecord
from yiwang.identity import services
from yiwang.identity.models import (
    AssuranceLevel,
    Department,
    Organisation,
    OrganisationAgent,
    RealNameAttempt,
    StaffRole,
    User,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(regions):
    return demo_load()


def _user(key: str) -> User:
    return User.objects.get(phone=persona_get(key).phone)


def _snapshot() -> dict[str, object]:
    return {
        "users": sorted(
            User.objects.values_list(
                "phone", "password", "name", "id_number", "assurance_level", "verified_at"
            )
        ),
        "population": sorted(PopulationRecord.objects.values_list("id_number", "updated_at")),
        "legal_persons": sorted(LegalPersonRecord.objects.values_list("uscc", "updated_at")),
        "departments": sorted(Department.objects.values_list("code", "name", "uscc", "region_id")),
        "roles": sorted(StaffRole.objects.values_list("pk", "user_id", "department_id", "role")),
        "organisations": sorted(Organisation.objects.values_list("pk", "legal_representative_id")),
        "agents": sorted(OrganisationAgent.objects.values_list("pk", "valid_until", "granted_at")),
        "attempts": RealNameAttempt.objects.count(),
    }


def test_demo_load_creates_each_persona_at_its_level_with_the_registry_name_and_id(loaded):
    # Besides the personas: the health-code scenario's synthetic app users, who cannot log in.
    synthetic = User.objects.filter(phone__startswith="1390000")
    assert synthetic.count() == 16
    assert not any(user.has_usable_password() for user in synthetic)
    assert User.objects.count() - synthetic.count() == len(PERSONAS) == 22
    for persona in PERSONAS:
        user = _user(persona.key)
        assert user.assurance_level == persona.level, persona.key
        if persona.level >= AssuranceLevel.L2:
            record = PopulationRecord.objects.get(id_number=user.id_number)
            assert (user.name, user.id_number) == (persona.name, persona.id_number)
            assert record.name == persona.name
            assert record.status == PopulationRecord.Status.NORMAL
            # Verified through the service, which records each successful attempt.
            assert RealNameAttempt.objects.filter(user=user, succeeded=True).count() == 1
        else:
            assert (user.name, user.id_number) == ("", None)
            assert PopulationRecord.objects.filter(id_number=persona.id_number).exists()


def test_the_l3_persona_was_verified_in_person_by_the_public_security_clerk(loaded):
    citizen = _user("in_person_citizen")

    assert citizen.assurance_level == AssuranceLevel.L3
    assert citizen.in_person_verified_by == _user("ga_clerk")
    assert citizen.in_person_verified_at is not None


def test_only_the_platform_administrator_is_staff_and_superuser(loaded):
    admins = User.objects.filter(is_staff=True, is_superuser=True)

    assert list(admins) == [_user("admin")]
    assert not User.objects.filter(is_staff=True).exclude(pk=_user("admin").pk).exists()


def test_working_roles_in_four_departments_one_department_admin_two_data_officers(loaded):
    working = StaffRole.objects.exclude(
        role__in=[StaffRole.Role.DEPARTMENT_ADMIN, StaffRole.Role.DATA_OFFICER]
    )
    by_department = {
        code: Counter(working.filter(department__code=code).values_list("role", flat=True))
        for code in ("330106-GA", "330106-WJ", "330106-RS", "330106-YB")
    }

    assert working.count() == 12
    # One person per role, except the medical insurance officer, who holds all three.
    assert working.values("user").distinct().count() == 10
    assert set(working.filter(department__code="330106-YB").values_list("user", flat=True)) == {
        _user("yb_officer").pk
    }
    assert by_department == {
        code: {"clerk": 1, "reviewer": 1, "approver": 1} for code in by_department
    }
    department_admin = StaffRole.objects.get(role=StaffRole.Role.DEPARTMENT_ADMIN)
    assert department_admin.user == _user("rs_admin")
    assert department_admin.department.code == "330106-RS"
    officers = StaffRole.objects.filter(role=StaffRole.Role.DATA_OFFICER)
    assert {(r.user, r.department.code) for r in officers} == {
        (_user("ga_data_officer"), "330106-GA"),
        (_user("city_ga_data_officer"), "330100-GA"),
    }
    assert all(role.granted_by == _user("admin") for role in StaffRole.objects.all())
    assert all(role.user.assurance_level >= AssuranceLevel.L2 for role in StaffRole.objects.all())


def test_departments_are_loaded_for_hangzhou_and_xihu(loaded):
    assert Department.objects.count() == 26
    assert Department.objects.filter(region__code="330100").count() == 13
    assert Department.objects.filter(region__code="330106").count() == 13
    police = Department.objects.get(code="330106-GA")
    assert (police.name, police.kind) == ("杭州市公安局西湖区分局", Department.Kind.PUBLIC_SECURITY)
    assert police.uscc.startswith("11330106")


def test_demo_load_loads_and_publishes_the_service_catalogue(loaded):
    published = ServiceItem.objects.filter(status=ServiceItem.Status.PUBLISHED)

    assert loaded.catalog.items.created == published.count() >= 40
    assert loaded.catalog.versions_created == published.count()
    assert not published.filter(current_version__isnull=True).exists()


def test_the_business_owner_represents_one_organisation_with_one_active_agent(loaded):
    owner = _user("business_owner")
    today = timezone.localdate()

    organisation = Organisation.objects.get(legal_representative=owner)
    grant = OrganisationAgent.objects.get(organisation=organisation)
    assert (organisation.uscc, organisation.name) == (COMPANY.uscc, COMPANY.name)
    assert organisation.region_code == "330106"
    assert grant.agent == _user("business_agent")
    assert grant.revoked_at is None
    assert grant.is_active_on(today)
    assert grant.valid_until == today + datetime.timedelta(days=365)
    assert grant.granted_by == owner
    record = LegalPersonRecord.objects.get(uscc=COMPANY.uscc)
    assert record.legal_representative_id_number == owner.id_number
    assert record.status == LegalPersonRecord.Status.ACTIVE
    assert record.entity_type.startswith("有限责任公司")


def test_the_deceased_father_is_in_the_registry_as_deceased_without_an_account(loaded):
    record = PopulationRecord.objects.get(id_number=DECEASED_FATHER.id_number)

    assert record.name == "赵德明"
    assert record.status == PopulationRecord.Status.DECEASED
    assert record.death_date == timezone.localdate() - datetime.timedelta(days=4)
    assert not User.objects.filter(id_number=DECEASED_FATHER.id_number).exists()
    assert record.household_address == persona_get("bereaved_child").resident.household_address


def test_the_registries_hold_the_extra_records(loaded):
    statuses = Counter(PopulationRecord.objects.values_list("status", flat=True))
    legal = Counter(LegalPersonRecord.objects.values_list("status", flat=True))

    # 22 personas, the deceased father, 3 unclaimed residents and 200 more.
    assert PopulationRecord.objects.count() == 226
    assert statuses["deceased"] >= 2
    assert LegalPersonRecord.objects.count() == 21
    assert legal == {"active": 19, "revoked": 1, "deregistered": 1}
    assert LegalPersonRecord.objects.filter(entity_type="个体工商户").count() == 5
    assert LegalPersonRecord.objects.filter(entity_type__startswith="股份有限公司").count() == 2


def test_an_unclaimed_resident_can_be_verified_by_a_new_account(loaded):
    resident = UNCLAIMED_RESIDENTS[0]
    assert not User.objects.filter(id_number=resident.id_number).exists()
    newcomer = User.objects.create_user(phone="13912345678", password=DEMO_PASSWORD)

    services.person_verify_real_name(
        user=newcomer, name=resident.name, id_number=resident.id_number
    )

    newcomer.refresh_from_db()
    assert newcomer.assurance_level == AssuranceLevel.L2


def test_demo_load_twice_changes_nothing(loaded):
    before = _snapshot()

    summary = demo_load()

    assert not summary.changed
    assert _snapshot() == before
    assert summary.population.unchanged == 226
    assert summary.household_register.unchanged == summary.medical_insurance.unchanged == 204
    assert summary.data_grants.unchanged == summary.data_grants.total > 0
    assert summary.accounts.unchanged == 22
    assert summary.sso_clients.unchanged == 1


def test_the_demo_registers_the_social_security_system_for_single_sign_on(loaded):
    application = Application.objects.get(client_id="demo-shebao")
    policy = application.yiwang_policy

    assert loaded.sso_clients.created == Application.objects.count() == 1
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.algorithm == Application.RS256_ALGORITHM
    assert application.redirect_uris == "http://localhost:8765/callback"
    assert application.client_secret != DEMO_SSO_CLIENT.secret  # stored hashed
    assert check_password(DEMO_SSO_CLIENT.secret, application.client_secret)
    assert (policy.department.code, policy.department.name) == (
        "330106-RS",
        "杭州市西湖区人力资源和社会保障局",
    )
    assert policy.scopes == ["openid", "profile", "phone", "identity"]
    assert policy.min_assurance_level == AssuranceLevel.L2


def test_demo_load_again_keeps_a_changed_password_and_restores_a_revoked_agent(loaded):
    owner = _user("business_owner")
    owner.set_password("Another-Secret-9")
    owner.save()
    services.organisation_agent_revoke(actor=owner, grant=OrganisationAgent.objects.get())

    summary = demo_load()

    assert _user("business_owner").check_password("Another-Secret-9")
    assert summary.agents.created == 1
    assert OrganisationAgent.objects.filter(revoked_at__isnull=True).count() == 1


def test_demo_load_again_restores_an_edited_registry_record(loaded):
    PopulationRecord.objects.filter(id_number=UNCLAIMED_RESIDENTS[1].id_number).update(
        name="改过的名"
    )

    summary = demo_load()

    assert summary.population.updated == 1
    assert PopulationRecord.objects.get(id_number=UNCLAIMED_RESIDENTS[1].id_number).name == "邵雨萱"


def test_each_workbench_may_read_what_its_items_declare_and_one_request_waits(loaded):
    from yiwang.exchange.models import AccessGrant
    from yiwang.exchange.services import (
        WORKBENCH_SYSTEM,
        ExchangeRequest,
        consent_give,
        exchange_fetch,
        workbench_consumer,
    )

    granted = AccessGrant.objects.filter(
        consumer__code=WORKBENCH_SYSTEM, status=AccessGrant.Status.APPROVED
    )
    by_department: dict[str, set[str]] = {}
    for grant in granted.select_related("consumer__department", "resource"):
        by_department.setdefault(grant.consumer.department.code, set()).add(grant.resource.code)
    assert by_department == {
        "330106-GA": {"birth-medical-record", "household-register", "marriage-record"},
        "330106-RS": {"social-insurance"},
        "330106-YB": {"birth-medical-record", "medical-insurance", "social-insurance"},
        "330100-GJJ": {"housing-fund", "social-insurance"},
        # Contact tracing (流调) reads the transport registry.
        "330100-WJ": {"transport-manifest", "transport-trips"},
        "330106-WJ": {"transport-manifest", "transport-trips"},
    }
    household = granted.get(
        consumer__department__code="330106-GA", resource__code="household-register"
    )
    # The union of the fields its three items read; identifiers are not granted in clear.
    assert "registered_on" in household.fields  # read only by 户口迁移
    assert "id_number" not in household.clear_fields
    assert "name" in household.clear_fields

    waiting = AccessGrant.objects.get(status=AccessGrant.Status.REQUESTED)
    assert (waiting.consumer.code, waiting.resource.code) == ("hukou-system", "population-basic")
    assert waiting.requested_by == _user("ga_data_officer")

    # With the applicant's consent, 西湖公安's workbench reads the couple's household entry.
    father = _user("expectant_father")
    workbench = workbench_consumer(household.consumer.department)
    consent_give(
        subject=father,
        department=workbench.department,
        resources=[household.resource],
        purpose="出生登记",
        days=30,
    )
    answer = exchange_fetch(
        consumer=workbench,
        request=ExchangeRequest(
            service="household-register", subject=father.id_number, purpose="出生登记核验"
        ),
    )
    (record,) = answer.records
    assert record["name"] == father.name
    assert record["household_number"] == "330106012924"


def test_the_personas_hold_their_certificates_and_they_verify(loaded):
    from yiwang.certificates import selectors as certificate_selectors
    from yiwang.certificates.services import certificate_qr_for_wallet
    from yiwang.certificates.verification import platform_verifier

    wife = User.objects.get(phone="13800000012")
    owner = User.objects.get(phone="13800000041")

    wallet = certificate_selectors.certificates_of_holder(wife)
    assert sorted(c.certificate_type.code for c in wallet) == ["CT-JHZ", "CT-JMHKB", "CT-JMSFZ"]
    marriage = next(c for c in wallet if c.certificate_type.code == "CT-JHZ")
    assert marriage.data["spouse_name"] == "陈昊然"
    assert sorted(
        c.certificate_type.code for c in certificate_selectors.certificates_of_holder(owner)
    ) == ["CT-JMHKB", "CT-JMSFZ", "CT-YYZZ"]
    verifier = platform_verifier()
    assert all(verifier.verify(certificate_qr_for_wallet(c)).valid for c in wallet)
    assert loaded.certificates.total == 18


def test_the_expectant_mother_s_birth_bundle_is_filled_from_the_demo_registries(loaded):
    from yiwang.applications.bundles import bundle_form, bundle_published

    mother, father = _user("expectant_mother"), _user("expectant_father")
    form = bundle_form(applicant=mother, bundle=bundle_published("birth"))

    filled = {name: p.value for name, p in form.prefilled.items()}
    assert filled["child__name"] == "陈语安"
    assert filled["father__id_number"] == father.id_number
    assert filled["household__head_name"] == father.name
    assert filled["mother__id_number"] == mother.id_number
    # Nothing left to type but what applies only to other cases.
    typed = {
        name
        for name, prop in form.schema["properties"].items()
        if name not in form.prefilled and "enum" not in prop and prop.get("type") != "boolean"
    }
    assert typed == {"delivery__address", "social_security_card__photo_receipt_number"}


def test_the_expectant_father_s_household_move_arrives_with_its_certificates(loaded):
    from yiwang.applications import services as application_services

    father = User.objects.get(phone="13800000011")

    draft = application_services.application_draft_create(
        applicant=father, item_code="330106-GA-0006", form_data={}
    )

    from yiwang.certificates import selectors as certificate_selectors

    own = {
        c.certificate_type.code: c.identifier
        for c in certificate_selectors.certificates_of_holder(father)
    }
    proved = {
        m.material_code: m.certificate_ref
        for m in draft.materials.filter(superseded_at__isnull=True)
    }
    assert proved["id-card"] == own["CT-JMSFZ"]
    assert proved["household-register"] == own["CT-JMHKB"]
