from __future__ import annotations

import datetime
import re

import pytest
from django.test import override_settings
from django.utils import timezone

from yiwang.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from yiwang.core.models import SmsOutboxMessage
from yiwang.exchange.models import LegalPersonRecord, PopulationRecord
from yiwang.exchange.tests.factories import (
    LegalPersonRecordFactory,
    PopulationRecordFactory,
    resident_id,
)
from yiwang.identity import services
from yiwang.identity.models import (
    ApiToken,
    AssuranceLevel,
    Organisation,
    OrganisationAgent,
    RealNameAttempt,
    SmsCode,
    StaffRole,
    User,
)
from yiwang.identity.selectors import user_for_api_token
from yiwang.identity.tests.factories import (
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
STRONG = "Xk9#mzLq2-qq"


def last_code(phone: str = PHONE) -> str:
    body = SmsOutboxMessage.objects.filter(phone=phone).first().body
    return re.search(r"\b(\d{6})\b", body).group(1)


def age_codes(seconds: int) -> None:
    """Move every SMS code back in time, as if ``seconds`` had passed."""
    delta = datetime.timedelta(seconds=seconds)
    for code in SmsCode.objects.all():
        code.created_at -= delta
        code.expires_at -= delta
        code.save()


# --- SMS codes ------------------------------------------------------------------------


def test_send_code_writes_a_six_digit_code_to_the_outbox_and_stores_only_its_hash():
    services.sms_code_send(phone=PHONE, purpose="register")

    code = last_code()
    stored = SmsCode.objects.get()
    assert len(code) == 6
    assert stored.phone == PHONE
    assert code not in stored.code_hash
    assert stored.expires_at - stored.created_at == datetime.timedelta(seconds=300)


def test_send_code_accepts_spaces_and_country_prefix():
    services.sms_code_send(phone="+86 138 1234 5678", purpose="register")

    assert SmsOutboxMessage.objects.get().phone == PHONE


@pytest.mark.parametrize("phone", ["12345678901", "1381234567", "abc", "23812345678"])
def test_send_code_rejects_a_malformed_number(phone):
    with pytest.raises(ValidationFailed) as exc:
        services.sms_code_send(phone=phone, purpose="register")

    assert exc.value.code == "phone_format"
    assert list(exc.value.fields) == ["phone"]
    assert not SmsOutboxMessage.objects.exists()


def test_send_code_again_within_a_minute_is_refused_with_the_wait():
    services.sms_code_send(phone=PHONE, purpose="register")

    with pytest.raises(RateLimited) as exc:
        services.sms_code_send(phone=PHONE, purpose="register")

    assert 0 < exc.value.retry_after <= 60
    assert SmsOutboxMessage.objects.count() == 1


def test_send_code_after_the_resend_interval_sends_a_new_code():
    services.sms_code_send(phone=PHONE, purpose="register")
    age_codes(61)

    services.sms_code_send(phone=PHONE, purpose="register")

    assert SmsOutboxMessage.objects.count() == 2


@override_settings(SMS_CODES_PER_PHONE_PER_DAY=3)
def test_send_code_stops_at_the_daily_limit():
    for _ in range(3):
        services.sms_code_send(phone=PHONE, purpose="register")
        age_codes(61)

    with pytest.raises(RateLimited):
        services.sms_code_send(phone=PHONE, purpose="register")

    assert SmsOutboxMessage.objects.count() == 3


def test_send_registration_code_to_a_registered_number_is_a_conflict():
    UserFactory(phone=PHONE)

    with pytest.raises(Conflict) as exc:
        services.sms_code_send(phone=PHONE, purpose="register")

    assert exc.value.code == "phone_registered"
    assert not SmsOutboxMessage.objects.exists()


def test_send_code_for_an_unknown_purpose_is_refused():
    with pytest.raises(ValidationFailed):
        services.sms_code_send(phone=PHONE, purpose="bogus")


def test_a_wrong_code_is_counted_even_though_the_check_fails():
    services.sms_code_send(phone=PHONE, purpose="register")
    wrong = "000000" if last_code() != "000000" else "111111"

    with pytest.raises(ValidationFailed) as exc:
        services.sms_code_check(phone=PHONE, purpose="register", code=wrong)

    assert exc.value.code == "sms_code_wrong"
    assert SmsCode.objects.get().failed_attempts == 1


@override_settings(SMS_CODE_MAX_ATTEMPTS=3)
def test_after_too_many_wrong_codes_even_the_right_code_is_refused():
    services.sms_code_send(phone=PHONE, purpose="register")
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            services.sms_code_check(phone=PHONE, purpose="register", code=wrong)

    with pytest.raises(ValidationFailed) as exc:
        services.sms_code_check(phone=PHONE, purpose="register", code=right)

    assert exc.value.code == "sms_code_locked"


def test_an_expired_code_is_refused_as_expired():
    services.sms_code_send(phone=PHONE, purpose="register")
    age_codes(301)

    with pytest.raises(ValidationFailed) as exc:
        services.sms_code_check(phone=PHONE, purpose="register", code=last_code())

    assert exc.value.code == "sms_code_expired"


def test_checking_without_any_code_asks_to_get_one_first():
    with pytest.raises(ValidationFailed) as exc:
        services.sms_code_check(phone=PHONE, purpose="register", code="123456")

    assert exc.value.code == "sms_code_missing"


def test_a_code_for_another_purpose_does_not_count():
    services.sms_code_send(phone=PHONE, purpose="reset_password")

    with pytest.raises(ValidationFailed) as exc:
        services.sms_code_check(phone=PHONE, purpose="register", code=last_code())

    assert exc.value.code == "sms_code_missing"


# --- Registration ---------------------------------------------------------------------


def test_register_creates_an_l1_account_that_can_log_in():
    services.sms_code_send(phone=PHONE, purpose="register")

    user = services.person_register(phone=PHONE, code=last_code(), password=STRONG, language="en")

    assert user.assurance_level == AssuranceLevel.L1
    assert user.id_number is None
    assert user.language == "en"
    assert user.check_password(STRONG)
    assert SmsCode.objects.get().used_at is not None


def test_register_with_a_weak_password_saves_nothing_and_keeps_the_code_usable():
    services.sms_code_send(phone=PHONE, purpose="register")
    code = last_code()

    with pytest.raises(ValidationFailed) as exc:
        services.person_register(phone=PHONE, code=code, password="12345678")

    assert list(exc.value.fields) == ["password"]
    assert not User.objects.exists()
    assert SmsCode.objects.get().used_at is None
    assert services.person_register(phone=PHONE, code=code, password=STRONG).phone == PHONE


def test_register_with_a_wrong_code_creates_no_account():
    services.sms_code_send(phone=PHONE, purpose="register")
    wrong = "000000" if last_code() != "000000" else "111111"

    with pytest.raises(ValidationFailed) as exc:
        services.person_register(phone=PHONE, code=wrong, password=STRONG)

    assert exc.value.fields.keys() == {"code"}
    assert not User.objects.exists()


def test_register_twice_with_the_same_code_creates_one_account():
    services.sms_code_send(phone=PHONE, purpose="register")
    code = last_code()
    services.person_register(phone=PHONE, code=code, password=STRONG)

    with pytest.raises(Conflict) as exc:
        services.person_register(phone=PHONE, code=code, password=STRONG)

    assert exc.value.code == "phone_registered"
    assert User.objects.count() == 1


def test_register_with_an_expired_code_is_refused():
    services.sms_code_send(phone=PHONE, purpose="register")
    age_codes(400)

    with pytest.raises(ValidationFailed) as exc:
        services.person_register(phone=PHONE, code=last_code(), password=STRONG)

    assert exc.value.code == "sms_code_expired"
    assert not User.objects.exists()


def test_a_code_cannot_be_consumed_twice():
    services.sms_code_send(phone=PHONE, purpose="register")
    sms_code = services.sms_code_check(phone=PHONE, purpose="register", code=last_code())
    services._sms_code_consume(sms_code)

    with pytest.raises(ValidationFailed) as exc:
        services._sms_code_consume(sms_code)

    assert exc.value.code == "sms_code_used"


# --- Real-name verification -----------------------------------------------------------


@pytest.fixture
def resident():
    return PopulationRecordFactory(name="林小雨", gender="F", id_number=resident_id(7, male=False))


def test_verify_with_matching_name_and_id_raises_the_account_to_l2(resident):
    user = UserFactory()

    verified = services.person_verify_real_name(
        user=user, name="林小雨", id_number=resident.id_number
    )

    assert verified.assurance_level == AssuranceLevel.L2
    assert verified.id_number == resident.id_number
    assert verified.name == "林小雨"
    assert verified.verified_at is not None
    assert RealNameAttempt.objects.filter(user=user, succeeded=True).count() == 1


def test_verify_accepts_a_lowercase_x_and_spaces(resident):
    record = PopulationRecordFactory(id_number=resident_id(3, birth="19880101"), name="王五")
    lowered = record.id_number.lower()
    user = UserFactory()

    services.person_verify_real_name(user=user, name=" 王五 ", id_number=f" {lowered} ")

    user.refresh_from_db()
    assert user.id_number == record.id_number


def test_verify_with_a_wrong_check_character_names_the_field_and_saves_nothing(resident):
    user = UserFactory()
    body = resident.id_number[:17]
    wrong = body + ("0" if resident.id_number[-1] != "0" else "1")

    with pytest.raises(ValidationFailed) as exc:
        services.person_verify_real_name(user=user, name="林小雨", id_number=wrong)

    assert exc.value.code == "id_checksum"
    assert exc.value.fields.keys() == {"id_number"}
    user.refresh_from_db()
    assert user.assurance_level == AssuranceLevel.L1
    assert user.id_number is None


def test_verify_with_a_name_not_matching_the_registry_names_the_name_field(resident):
    user = UserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.person_verify_real_name(user=user, name="林小云", id_number=resident.id_number)

    assert exc.value.code == "name_mismatch"
    assert exc.value.fields.keys() == {"name"}
    user.refresh_from_db()
    assert user.assurance_level == AssuranceLevel.L1
    assert RealNameAttempt.objects.get(user=user).reason == "name_mismatch"


def test_verify_with_an_id_not_in_the_registry_is_refused():
    user = UserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.person_verify_real_name(user=user, name="林小雨", id_number=resident_id(99))

    assert exc.value.code == "id_not_found"


def test_verify_with_an_unknown_region_code_is_refused():
    user = UserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.person_verify_real_name(
            user=user, name="林小雨", id_number=resident_id(1, region="999999")
        )

    assert exc.value.code == "id_region"
    assert not RealNameAttempt.objects.exists()


def test_verify_as_a_deceased_person_is_refused(resident):
    resident.status = PopulationRecord.Status.DECEASED
    resident.save()
    user = UserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.person_verify_real_name(user=user, name="林小雨", id_number=resident.id_number)

    assert exc.value.code == "id_inactive"


def test_an_id_number_bound_to_another_account_cannot_be_used_again(resident):
    services.person_verify_real_name(
        user=UserFactory(), name="林小雨", id_number=resident.id_number
    )
    second = UserFactory()

    with pytest.raises(Conflict) as exc:
        services.person_verify_real_name(user=second, name="林小雨", id_number=resident.id_number)

    assert exc.value.code == "id_number_bound"
    assert exc.value.fields.keys() == {"id_number"}
    assert User.objects.filter(id_number=resident.id_number).count() == 1


def test_verifying_again_with_the_same_id_is_idempotent(resident):
    user = UserFactory()
    services.person_verify_real_name(user=user, name="林小雨", id_number=resident.id_number)

    again = services.person_verify_real_name(user=user, name="林小雨", id_number=resident.id_number)

    assert again.assurance_level == AssuranceLevel.L2
    assert RealNameAttempt.objects.filter(user=user).count() == 1


def test_a_verified_account_cannot_switch_to_another_id(resident):
    user = UserFactory()
    services.person_verify_real_name(user=user, name="林小雨", id_number=resident.id_number)
    other = PopulationRecordFactory()

    with pytest.raises(Conflict) as exc:
        services.person_verify_real_name(user=user, name=other.name, id_number=other.id_number)

    assert exc.value.code == "already_verified"


@override_settings(REAL_NAME_FAILURES_PER_DAY=2)
def test_too_many_failed_verifications_are_rate_limited(resident):
    user = UserFactory()
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            services.person_verify_real_name(user=user, name="错名字", id_number=resident.id_number)

    with pytest.raises(RateLimited):
        services.person_verify_real_name(user=user, name="林小雨", id_number=resident.id_number)

    user.refresh_from_db()
    assert user.assurance_level == AssuranceLevel.L1


class UnreachableRegistry:
    def person_match(self, *, id_number, name):
        raise ConnectionError("registry down")


@override_settings(POPULATION_REGISTRY="yiwang.identity.tests.test_services.UnreachableRegistry")
def test_an_unreachable_registry_is_a_503_and_verifies_nobody(resident):
    user = UserFactory()

    with pytest.raises(ServiceUnavailable):
        services.person_verify_real_name(user=user, name="林小雨", id_number=resident.id_number)

    user.refresh_from_db()
    assert user.assurance_level == AssuranceLevel.L1


# --- In-person verification (L3) ------------------------------------------------------


def test_a_window_clerk_raises_a_verified_person_to_l3():
    clerk = StaffRoleFactory(role=StaffRole.Role.CLERK).user
    person = VerifiedUserFactory()

    result = services.person_verify_in_person(
        staff=clerk, id_number=person.id_number, name=person.name
    )

    assert result.assurance_level == AssuranceLevel.L3
    assert result.in_person_verified_by == clerk
    assert result.in_person_verified_at is not None


def test_a_reviewer_may_not_verify_in_person():
    reviewer = StaffRoleFactory(role=StaffRole.Role.REVIEWER).user
    person = VerifiedUserFactory()

    with pytest.raises(PermissionDenied):
        services.person_verify_in_person(
            staff=reviewer, id_number=person.id_number, name=person.name
        )

    person.refresh_from_db()
    assert person.assurance_level == AssuranceLevel.L2


def test_a_citizen_may_not_verify_in_person():
    person = VerifiedUserFactory()

    with pytest.raises(PermissionDenied):
        services.person_verify_in_person(
            staff=VerifiedUserFactory(), id_number=person.id_number, name=person.name
        )


def test_a_clerk_cannot_verify_their_own_account():
    clerk = StaffRoleFactory(role=StaffRole.Role.CLERK).user

    with pytest.raises(PermissionDenied):
        services.person_verify_in_person(staff=clerk, id_number=clerk.id_number, name=clerk.name)


def test_in_person_verification_of_an_id_without_an_account_is_not_found():
    clerk = StaffRoleFactory(role=StaffRole.Role.CLERK).user

    with pytest.raises(NotFound):
        services.person_verify_in_person(staff=clerk, id_number=resident_id(55), name="张三")


def test_in_person_verification_with_a_different_name_is_refused():
    clerk = StaffRoleFactory(role=StaffRole.Role.CLERK).user
    person = VerifiedUserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.person_verify_in_person(staff=clerk, id_number=person.id_number, name="别人")

    assert exc.value.fields.keys() == {"name"}


# --- Organisations and agents ---------------------------------------------------------


@pytest.fixture
def owner():
    return VerifiedUserFactory()


@pytest.fixture
def company(owner):
    return LegalPersonRecordFactory(
        name="杭州云帆测试科技有限公司",
        legal_representative_name=owner.name,
        legal_representative_id_number=owner.id_number,
    )


def test_the_legal_representative_links_the_organisation(owner, company):
    organisation = services.organisation_register(user=owner, uscc=company.uscc, name=company.name)

    assert organisation.legal_representative == owner
    assert organisation.uscc == company.uscc
    assert organisation.region_code == "330106"


def test_linking_the_same_organisation_twice_keeps_one(owner, company):
    services.organisation_register(user=owner, uscc=company.uscc, name=company.name)
    services.organisation_register(user=owner, uscc=company.uscc.lower(), name=company.name)

    assert Organisation.objects.count() == 1


def test_an_l1_account_cannot_link_an_organisation(company):
    with pytest.raises(PermissionDenied):
        services.organisation_register(user=UserFactory(), uscc=company.uscc, name=company.name)


def test_someone_else_than_the_legal_representative_cannot_link_it(company):
    with pytest.raises(PermissionDenied) as exc:
        services.organisation_register(
            user=VerifiedUserFactory(), uscc=company.uscc, name=company.name
        )

    assert exc.value.code == "not_legal_representative"
    assert not Organisation.objects.exists()


def test_a_credit_code_with_a_wrong_check_character_is_refused(owner, company):
    wrong = company.uscc[:17] + ("0" if company.uscc[-1] != "0" else "1")

    with pytest.raises(ValidationFailed) as exc:
        services.organisation_register(user=owner, uscc=wrong, name=company.name)

    assert exc.value.code == "uscc_checksum"


def test_a_credit_code_not_in_the_registry_is_refused(owner):
    with pytest.raises(ValidationFailed) as exc:
        services.organisation_register(user=owner, uscc="91330106MA2H2K8C4Y", name="不存在公司")

    assert exc.value.code in {"uscc_not_found", "uscc_checksum"}


def test_a_name_not_matching_the_registry_is_refused(owner, company):
    with pytest.raises(ValidationFailed) as exc:
        services.organisation_register(user=owner, uscc=company.uscc, name="别的公司")

    assert exc.value.code == "name_mismatch"


def test_a_deregistered_organisation_cannot_be_linked(owner, company):
    company.status = LegalPersonRecord.Status.DEREGISTERED
    company.save()

    with pytest.raises(ValidationFailed) as exc:
        services.organisation_register(user=owner, uscc=company.uscc, name=company.name)

    assert exc.value.code == "organisation_inactive"


def test_a_new_legal_representative_takes_control(owner, company):
    services.organisation_register(user=owner, uscc=company.uscc, name=company.name)
    successor = VerifiedUserFactory()
    company.legal_representative_id_number = successor.id_number
    company.save()

    organisation = services.organisation_register(
        user=successor, uscc=company.uscc, name=company.name
    )

    assert organisation.legal_representative == successor
    assert Organisation.objects.count() == 1


@pytest.fixture
def organisation(owner, company):
    return services.organisation_register(user=owner, uscc=company.uscc, name=company.name)


def next_year():
    return timezone.localdate() + datetime.timedelta(days=365)


def test_the_legal_representative_authorises_a_verified_agent(owner, organisation):
    agent = VerifiedUserFactory()

    grant = services.organisation_agent_grant(
        actor=owner, organisation=organisation, agent_phone=agent.phone, valid_until=next_year()
    )

    assert grant.agent == agent
    assert grant.granted_by == owner
    assert grant.revoked_at is None


def test_authorising_the_same_agent_again_updates_the_one_grant(owner, organisation):
    agent = VerifiedUserFactory()
    services.organisation_agent_grant(
        actor=owner, organisation=organisation, agent_phone=agent.phone, valid_until=next_year()
    )
    later = next_year() + datetime.timedelta(days=30)

    services.organisation_agent_grant(
        actor=owner, organisation=organisation, agent_phone=agent.phone, valid_until=later
    )

    assert OrganisationAgent.objects.get().valid_until == later


def test_an_agent_cannot_authorise_further_agents(owner, organisation):
    agent = VerifiedUserFactory()
    services.organisation_agent_grant(
        actor=owner, organisation=organisation, agent_phone=agent.phone, valid_until=next_year()
    )

    with pytest.raises(PermissionDenied):
        services.organisation_agent_grant(
            actor=agent,
            organisation=organisation,
            agent_phone=VerifiedUserFactory().phone,
            valid_until=next_year(),
        )


@pytest.mark.parametrize(
    ("make_agent", "code"),
    [
        (lambda owner: UserFactory(), "agent_not_verified"),
        (lambda owner: owner, "agent_is_self"),
    ],
)
def test_an_unfit_agent_is_refused(owner, organisation, make_agent, code):
    agent = make_agent(owner)

    with pytest.raises(ValidationFailed) as exc:
        services.organisation_agent_grant(
            actor=owner, organisation=organisation, agent_phone=agent.phone, valid_until=next_year()
        )

    assert exc.value.code == code
    assert not OrganisationAgent.objects.exists()


def test_an_agent_phone_without_an_account_is_refused(owner, organisation):
    with pytest.raises(ValidationFailed) as exc:
        services.organisation_agent_grant(
            actor=owner,
            organisation=organisation,
            agent_phone="13700000000",
            valid_until=next_year(),
        )

    assert exc.value.code == "agent_not_found"


@pytest.mark.parametrize("days", [0, -1, 3 * 366 + 1])
def test_an_authorisation_period_out_of_range_is_refused(owner, organisation, days):
    agent = VerifiedUserFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.organisation_agent_grant(
            actor=owner,
            organisation=organisation,
            agent_phone=agent.phone,
            valid_until=timezone.localdate() + datetime.timedelta(days=days),
        )

    assert exc.value.fields.keys() == {"valid_until"}


def test_revoking_an_agent_takes_effect_at_once(owner, organisation):
    from yiwang.identity.selectors import agencies_for_user

    agent = VerifiedUserFactory()
    grant = services.organisation_agent_grant(
        actor=owner, organisation=organisation, agent_phone=agent.phone, valid_until=next_year()
    )
    assert list(agencies_for_user(agent)) == [grant]

    services.organisation_agent_revoke(actor=owner, grant=grant)

    assert list(agencies_for_user(agent)) == []


def test_only_the_legal_representative_may_revoke(owner, organisation):
    agent = VerifiedUserFactory()
    grant = services.organisation_agent_grant(
        actor=owner, organisation=organisation, agent_phone=agent.phone, valid_until=next_year()
    )

    with pytest.raises(PermissionDenied):
        services.organisation_agent_revoke(actor=agent, grant=grant)

    grant.refresh_from_db()
    assert grant.revoked_at is None


# --- Staff roles ----------------------------------------------------------------------


def test_a_department_admin_grants_a_role_in_their_department():
    admin_role = StaffRoleFactory(role=StaffRole.Role.DEPARTMENT_ADMIN)
    newcomer = VerifiedUserFactory()

    role = services.staff_role_grant(
        actor=admin_role.user, user=newcomer, department=admin_role.department, role="reviewer"
    )

    assert role.granted_by == admin_role.user
    assert role.department == admin_role.department


def test_a_department_admin_cannot_grant_roles_in_another_department():
    admin_role = StaffRoleFactory(role=StaffRole.Role.DEPARTMENT_ADMIN)

    with pytest.raises(PermissionDenied):
        services.staff_role_grant(
            actor=admin_role.user,
            user=VerifiedUserFactory(),
            department=DepartmentFactory(),
            role="clerk",
        )


def test_a_clerk_cannot_grant_roles():
    clerk_role = StaffRoleFactory(role=StaffRole.Role.CLERK)

    with pytest.raises(PermissionDenied):
        services.staff_role_grant(
            actor=clerk_role.user,
            user=VerifiedUserFactory(),
            department=clerk_role.department,
            role="clerk",
        )


def test_staff_roles_need_a_verified_person():
    superuser = UserFactory(is_superuser=True, is_staff=True)

    with pytest.raises(ValidationFailed) as exc:
        services.staff_role_grant(
            actor=superuser, user=UserFactory(), department=DepartmentFactory(), role="clerk"
        )

    assert exc.value.code == "not_verified"


def test_a_platform_administrator_grants_and_revokes_any_role():
    superuser = UserFactory(is_superuser=True, is_staff=True)
    role = services.staff_role_grant(
        actor=superuser, user=VerifiedUserFactory(), department=DepartmentFactory(), role="approver"
    )

    services.staff_role_revoke(actor=superuser, staff_role=role)

    assert not StaffRole.objects.exists()


def test_an_unknown_role_is_refused():
    superuser = UserFactory(is_superuser=True, is_staff=True)

    with pytest.raises(ValidationFailed):
        services.staff_role_grant(
            actor=superuser, user=VerifiedUserFactory(), department=DepartmentFactory(), role="king"
        )


# --- API tokens -----------------------------------------------------------------------


def test_a_token_authenticates_its_user_until_revoked():
    user = UserFactory()
    token, secret = services.api_token_create(user=user, name="办事机器人")

    assert user_for_api_token(secret) == user
    assert ApiToken.objects.get().key_hash != secret

    services.api_token_revoke(user=user, token_id=token.pk)

    assert user_for_api_token(secret) is None


def test_an_expired_or_tampered_token_authenticates_nobody():
    user = UserFactory()
    token, secret = services.api_token_create(
        user=user, name="t", expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    assert user_for_api_token(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None

    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert user_for_api_token(secret) is None


def test_revoking_someone_elses_token_is_not_found():
    token, _secret = services.api_token_create(user=UserFactory(), name="t")

    with pytest.raises(NotFound):
        services.api_token_revoke(user=UserFactory(), token_id=token.pk)

    assert ApiToken.objects.get().revoked_at is None
