"""The staff second factor: enrolment, verification, throttling, recovery codes, resets,
and that staff pages and the API refuse a session that has only passed the password.

Marked ``mfa_enforced``: here ``client.force_login`` is Django's own, the password step
only, so each test shows what such a session may and may not do.
"""

from __future__ import annotations

import datetime
import logging
import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from yiwang.core.errors import Conflict, PermissionDenied, RateLimited, ValidationFailed
from yiwang.core.models import AuditEntry
from yiwang.identity import services
from yiwang.identity.authenticator import authenticator_code, authenticator_secret
from yiwang.identity.middleware import MFA_RECHECK_SECONDS, MFA_REQUIRED_SESSION_KEY
from yiwang.identity.models import ApiToken, LoginEvent, StaffRole, User
from yiwang.identity.tests.factories import (
    PASSWORD,
    DepartmentFactory,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)
from yiwang.identity.tests.mfa import authenticator_for, next_code, second_factor_complete

pytestmark = [pytest.mark.django_db, pytest.mark.mfa_enforced]

STAFF_CONSOLE = "/accounts/staff/"


def staff(role: str = StaffRole.Role.CLERK, **kwargs: object) -> User:
    return StaffRoleFactory(role=role, **kwargs).user


def platform_admin() -> User:
    return VerifiedUserFactory(is_staff=True, is_superuser=True)


def password_only(user: User) -> Client:
    """A client whose session has passed the password step and nothing more."""
    client = Client()
    client.force_login(user)
    return client


def fully_logged_in(user: User) -> Client:
    client = password_only(user)
    second_factor_complete(client, user)
    return client


def mfa_redirect(path: str) -> str:
    return f"{reverse('identity:mfa_verify')}?next={quote(path, safe='/')}"


def wrong_code(device: TOTPDevice) -> str:
    """A 6-digit code the device would not accept at any step it allows now."""
    accepted = {
        authenticator_code(device.key, at=timezone.now().timestamp() + offset * device.step)
        for offset in range(-2, 3)
    }
    return next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in accepted)


def recovery_codes_in(response) -> list[str]:
    return [
        a + b
        for a, b in re.findall(
            r"<code>([a-z2-7]{4})-([a-z2-7]{4})</code>", response.content.decode()
        )
    ]


def events(user: User) -> list[str]:
    return list(LoginEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


# ---------------------------------------------------------------------------------------
# Enrolment


def test_staff_without_an_authenticator_are_taken_from_a_staff_page_to_enrolment():
    client = password_only(staff())

    response = client.get(STAFF_CONSOLE)
    assert response.status_code == 302
    assert response["Location"] == mfa_redirect(STAFF_CONSOLE)

    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('identity:mfa_setup')}?next={quote(STAFF_CONSOLE)}"


def test_enrolment_shows_a_qr_code_of_an_unconfirmed_device_and_never_logs_its_secret(caplog):
    user = staff()
    client = password_only(user)
    caplog.set_level(logging.DEBUG)

    response = client.get(reverse("identity:mfa_setup"))

    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    html = response.content.decode()
    assert 'src="data:image/svg+xml' in html
    secret = authenticator_secret(device.key)
    assert secret in html
    # Showing the page again shows the same device, not a new one.
    client.get(reverse("identity:mfa_setup"))
    assert TOTPDevice.objects.filter(user=user).count() == 1
    client.post(reverse("identity:mfa_setup"), {"code": next_code(device)})
    for text in (device.key, secret, secret.replace(" ", "")):
        assert text not in caplog.text


def test_confirming_with_a_code_from_the_app_gives_ten_recovery_codes_once():
    user = staff()
    client = password_only(user)
    client.get(reverse("identity:mfa_setup"))
    device = TOTPDevice.objects.get(user=user)

    response = client.post(
        f"{reverse('identity:mfa_setup')}?next={STAFF_CONSOLE}", {"code": next_code(device)}
    )

    assert response.status_code == 200
    codes = recovery_codes_in(response)
    assert len(codes) == len(set(codes)) == 10
    assert sorted(
        StaticToken.objects.filter(device__user=user).values_list("token", flat=True)
    ) == (sorted(codes))
    device.refresh_from_db()
    assert device.confirmed is True
    assert f'href="{STAFF_CONSOLE}"' in response.content.decode()
    # The session has passed the second factor: the staff page opens.
    assert client.get(STAFF_CONSOLE).status_code == 200
    entry = AuditEntry.objects.get(action="mfa.enrol")
    assert (entry.actor_id, entry.object_id) == (user.pk, str(user.pk))
    assert entry.detail == {"device": "totp", "recovery_codes": 10}
    # The codes are not shown again: the setup page now leads to the code prompt.
    response = client.get(reverse("identity:mfa_setup"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:mfa_verify"))


def test_a_wrong_code_at_enrolment_confirms_nothing_and_is_recorded():
    user = staff()
    client = password_only(user)
    client.get(reverse("identity:mfa_setup"))
    device = TOTPDevice.objects.get(user=user)

    response = client.post(reverse("identity:mfa_setup"), {"code": wrong_code(device)})

    assert response.status_code == 422
    device.refresh_from_db()
    assert (device.confirmed, device.throttling_failure_count) == (False, 1)
    assert not StaticDevice.objects.filter(user=user).exists()
    assert events(user) == [LoginEvent.Kind.LOGIN_SUCCEEDED, LoginEvent.Kind.MFA_FAILED]
    assert not AuditEntry.objects.filter(action="mfa.enrol").exists()
    assert client.get(STAFF_CONSOLE).status_code == 302


def test_enrolment_cannot_start_twice_and_confirm_needs_a_device_being_set_up():
    user = staff()
    authenticator_for(user)

    with pytest.raises(Conflict):
        services.mfa_enrolment_start(user=user)
    with pytest.raises(Conflict):
        services.mfa_enrolment_confirm(user=user, code="123456")
    with pytest.raises(ValidationFailed):
        services.mfa_enrolment_confirm(user=user, code="  ")


def test_citizens_are_not_sent_to_enrolment():
    citizen = VerifiedUserFactory()
    client = password_only(citizen)

    assert client.get(reverse("identity:mfa_setup"))["Location"] == reverse("portal:me")
    assert client.get(reverse("identity:mfa_verify"))["Location"] == reverse("portal:me")
    assert not TOTPDevice.objects.filter(user=citizen).exists()


# ---------------------------------------------------------------------------------------
# Verification at login


def test_login_then_the_authenticator_code_opens_the_page_asked_for():
    user = staff()
    device = authenticator_for(user)
    client = Client()

    response = client.post(
        f"{reverse('identity:login')}?next={STAFF_CONSOLE}",
        {"phone": user.phone, "password": PASSWORD, "next": STAFF_CONSOLE},
    )
    assert response["Location"] == STAFF_CONSOLE
    response = client.get(STAFF_CONSOLE)
    assert response["Location"] == mfa_redirect(STAFF_CONSOLE)
    assert client.get(response["Location"]).status_code == 200

    response = client.post(
        reverse("identity:mfa_verify"), {"code": next_code(device), "next": STAFF_CONSOLE}
    )

    assert response.status_code == 302
    assert response["Location"] == STAFF_CONSOLE
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get(STAFF_CONSOLE).status_code == 200
    assert events(user) == [LoginEvent.Kind.LOGIN_SUCCEEDED, LoginEvent.Kind.MFA_SUCCEEDED]


def test_the_second_factor_gives_the_session_a_new_key():
    user = staff()
    device = authenticator_for(user)
    client = password_only(user)
    before = client.session.session_key

    client.post(reverse("identity:mfa_verify"), {"code": next_code(device)})

    assert client.session.session_key != before
    assert client.get(STAFF_CONSOLE).status_code == 200


def test_a_wrong_code_is_refused_and_recorded():
    user = staff()
    device = authenticator_for(user)
    client = password_only(user)

    response = client.post(reverse("identity:mfa_verify"), {"code": wrong_code(device)})

    assert response.status_code == 422
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert events(user)[-1] == LoginEvent.Kind.MFA_FAILED
    assert client.get(STAFF_CONSOLE).status_code == 302


def test_a_code_works_once():
    user = staff()
    device = authenticator_for(user)
    code = next_code(device)
    services.mfa_verify(user=user, code=code)

    with pytest.raises(ValidationFailed) as exc:
        services.mfa_verify(user=user, code=code)

    assert exc.value.code == "mfa_code_wrong"


def test_wrong_codes_slow_the_authenticator_down_even_for_the_right_code(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    user = staff()
    device = authenticator_for(user)
    client = password_only(user)
    client.post(reverse("identity:mfa_verify"), {"code": wrong_code(device)})

    response = client.post(reverse("identity:mfa_verify"), {"code": next_code(device)})

    assert response.status_code == 429
    assert DEVICE_ID_SESSION_KEY not in client.session
    device.refresh_from_db()
    # A try while slowed down is refused unchecked: it is recorded, not counted as wrong.
    assert device.throttling_failure_count == 1
    assert events(user)[-2:] == [LoginEvent.Kind.MFA_FAILED, LoginEvent.Kind.MFA_THROTTLED]
    with pytest.raises(RateLimited) as exc:
        services.mfa_verify(user=user, code=next_code(device))
    assert 0 < exc.value.retry_after <= 60

    # Once the wait is over the right code is accepted, and the count starts again.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - datetime.timedelta(seconds=61)
    )
    response = client.post(reverse("identity:mfa_verify"), {"code": next_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_each_wrong_code_doubles_the_wait(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 10
    user = staff()
    device = authenticator_for(user)
    waits = []
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            services.mfa_verify(user=user, code=wrong_code(device))
        with pytest.raises(RateLimited) as exc:
            services.mfa_verify(user=user, code=wrong_code(device))
        waits.append(exc.value.retry_after)
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_timestamp=timezone.now() - datetime.timedelta(seconds=1000)
        )

    # In whole seconds, rounded up from when the wrong code was typed.
    assert [10 * round(w / 10) for w in waits] == [10, 20, 40]


def test_a_code_is_refused_for_staff_who_have_no_authenticator():
    user = staff()

    with pytest.raises(Conflict) as exc:
        services.mfa_verify(user=user, code="123456")

    assert exc.value.code == "mfa_not_enrolled"


def test_an_unsafe_next_address_is_not_followed():
    user = staff()
    device = authenticator_for(user)
    client = password_only(user)

    response = client.post(
        reverse("identity:mfa_verify"),
        {"code": next_code(device), "next": "https://evil.example/phish"},
    )

    assert response["Location"] == reverse("portal:me")


# ---------------------------------------------------------------------------------------
# Recovery codes


def test_a_recovery_code_stands_in_for_the_app_once():
    user = staff()
    authenticator_for(user)
    codes = services.mfa_recovery_codes_regenerate(user=user)
    client = password_only(user)

    # Typed as shown (with its dash), in capitals.
    shown = f"{codes[0][:4]}-{codes[0][4:]}".upper()
    response = client.post(reverse("identity:mfa_verify"), {"code": shown})

    assert response.status_code == 302
    assert client.get(STAFF_CONSOLE).status_code == 200
    assert StaticToken.objects.filter(device__user=user).count() == 9
    assert events(user)[-1] == LoginEvent.Kind.MFA_RECOVERY_CODE_USED
    again = password_only(user)
    response = again.post(reverse("identity:mfa_verify"), {"code": codes[0]})
    assert response.status_code == 422
    assert again.get(STAFF_CONSOLE).status_code == 302


def test_new_recovery_codes_replace_the_old_ones():
    user = staff()
    authenticator_for(user)
    old = services.mfa_recovery_codes_regenerate(user=user)
    client = fully_logged_in(user)

    response = client.post(reverse("portal:me_security"), {"action": "recovery_codes"})

    new = recovery_codes_in(response)
    assert len(new) == 10
    assert not set(new) & set(old)
    assert services.mfa_verify(user=user, code=new[1])
    with pytest.raises(ValidationFailed):
        services.mfa_verify(user=user, code=old[1])
    assert AuditEntry.objects.filter(action="mfa.recovery_codes_regenerate").count() == 2


def test_recovery_codes_need_an_authenticator():
    with pytest.raises(Conflict):
        services.mfa_recovery_codes_regenerate(user=staff())


# ---------------------------------------------------------------------------------------
# What a session without the second factor may open


@pytest.mark.parametrize(
    ("url_name", "role"),
    [
        ("identity:staff_console", StaffRole.Role.CLERK),
        ("identity:staff_in_person_verify", StaffRole.Role.CLERK),
        ("identity:staff_mfa", StaffRole.Role.DEPARTMENT_ADMIN),
        ("applications:workbench", StaffRole.Role.REVIEWER),
        ("certificates_staff:list", StaffRole.Role.CLERK),
        ("exchange:overview", StaffRole.Role.DATA_OFFICER),
        # A staff member's own citizen pages wait for the second factor too.
        ("portal:me", StaffRole.Role.APPROVER),
    ],
)
def test_staff_pages_send_an_unverified_session_to_the_second_factor(url_name, role):
    user = staff(role)
    authenticator_for(user)
    url = reverse(url_name)

    response = password_only(user).get(url)

    assert response.status_code == 302
    assert response["Location"] == mfa_redirect(url)
    assert fully_logged_in(user).get(url).status_code == 200


def test_django_admin_sends_an_unverified_platform_administrator_to_the_second_factor():
    admin = platform_admin()

    response = password_only(admin).get("/admin/")

    assert response["Location"] == mfa_redirect("/admin/")
    assert fully_logged_in(admin).get("/admin/").status_code == 200


def test_a_role_granted_during_a_session_is_enforced_at_once_on_staff_pages():
    citizen = VerifiedUserFactory()
    client = password_only(citizen)
    assert client.get(reverse("portal:me")).status_code == 200

    StaffRoleFactory(user=citizen)

    assert client.get(STAFF_CONSOLE)["Location"] == mfa_redirect(STAFF_CONSOLE)


def test_a_role_granted_during_a_session_reaches_the_api_within_a_minute():
    citizen = VerifiedUserFactory()
    client = password_only(citizen)
    assert client.get("/api/v1/me").status_code == 200
    StaffRoleFactory(user=citizen)
    session = client.session
    user_id, required, checked_at = session[MFA_REQUIRED_SESSION_KEY]
    assert required is False
    session[MFA_REQUIRED_SESSION_KEY] = [user_id, required, checked_at - MFA_RECHECK_SECONDS]
    session.save()

    response = client.get("/api/v1/me")

    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


def test_logging_out_and_switching_language_need_no_second_factor():
    client = password_only(staff())

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    response = client.post(reverse("identity:logout"))
    assert response["Location"] == reverse("portal:home")
    assert "_auth_user_id" not in client.session


def test_the_api_refuses_an_unverified_staff_session_with_403():
    user = staff()
    authenticator_for(user)
    client = password_only(user)

    for response in (
        client.get("/api/v1/me/staff-roles"),
        client.get("/api/v1/me"),
        client.post("/api/v1/me/tokens", {"name": "t"}, content_type="application/json"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "mfa_required"
    assert not ApiToken.objects.exists()
    assert fully_logged_in(user).get("/api/v1/me/staff-roles").status_code == 200


def test_a_staff_token_works_only_if_made_after_the_second_factor():
    user = staff()
    authenticator_for(user)
    created = fully_logged_in(user).post(
        "/api/v1/me/tokens", {"name": "script"}, content_type="application/json"
    )
    assert created.status_code == 201
    assert ApiToken.objects.get().second_factor is True

    response = Client().get(
        "/api/v1/me/staff-roles", HTTP_AUTHORIZATION=f"Bearer {created.json()['secret']}"
    )

    assert response.status_code == 200
    # A token made with such a token also carries the second factor.
    response = Client().post(
        "/api/v1/me/tokens",
        {"name": "another"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {created.json()['secret']}",
    )
    assert response.status_code == 201
    assert ApiToken.objects.filter(second_factor=True).count() == 2


def test_a_token_made_as_a_citizen_stops_working_for_staff_when_the_person_becomes_staff():
    citizen = VerifiedUserFactory()
    _token, secret = services.api_token_create(user=citizen, name="script")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert Client().get("/api/v1/me", **bearer).status_code == 200

    StaffRoleFactory(user=citizen)

    response = Client().get("/api/v1/me", **bearer)
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


def test_staff_cannot_make_a_token_without_the_second_factor():
    with pytest.raises(PermissionDenied) as exc:
        services.api_token_create(user=staff(), name="t")

    assert exc.value.code == "mfa_required"
    assert not ApiToken.objects.exists()


def test_citizens_are_unaffected():
    citizen = VerifiedUserFactory()
    client = password_only(citizen)

    assert client.get(reverse("portal:me")).status_code == 200
    assert client.get(reverse("portal:me_security")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/api/v1/me/tokens", {"name": "t"}, content_type="application/json")
    assert response.status_code == 201
    assert client.get(STAFF_CONSOLE).status_code == 403


# ---------------------------------------------------------------------------------------
# Resets by administrators


def test_a_platform_administrator_resets_staff_authenticators_in_django_admin():
    member = staff()
    authenticator_for(member)
    services.mfa_recovery_codes_regenerate(user=member)
    member_session = fully_logged_in(member)
    admin = platform_admin()
    client = fully_logged_in(admin)

    response = client.post(
        reverse("admin:identity_user_changelist"),
        {"action": "second_factor_reset", "_selected_action": [member.pk]},
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert not StaticDevice.objects.filter(user=member).exists()
    entry = AuditEntry.objects.get(action="mfa.reset")
    assert (entry.actor_id, entry.object_id, entry.acting_for) == (admin.pk, str(member.pk), "")
    assert entry.detail == {"devices_removed": 2}
    # The member's session no longer counts as verified: enrolment again.
    response = member_session.get(STAFF_CONSOLE)
    assert response["Location"] == mfa_redirect(STAFF_CONSOLE)
    assert member_session.get(response["Location"])["Location"].startswith(
        reverse("identity:mfa_setup")
    )


def test_a_department_administrator_sees_and_resets_the_staff_of_their_department():
    department = DepartmentFactory()
    admin = staff(StaffRole.Role.DEPARTMENT_ADMIN, department=department)
    enrolled = staff(department=department)
    authenticator_for(enrolled)
    new = staff(StaffRole.Role.REVIEWER, department=department)
    other = staff()
    client = fully_logged_in(admin)

    page = client.get(reverse("identity:staff_mfa"))

    assert page.status_code == 200
    assert {u.pk: u.mfa_enrolled for u in page.context["staff"]} == {
        enrolled.pk: True,
        new.pk: False,
    }
    assert other.masked_phone not in page.content.decode()

    response = client.post(reverse("identity:staff_mfa_reset", args=[enrolled.pk]))

    assert response["Location"] == reverse("identity:staff_mfa")
    assert not TOTPDevice.objects.filter(user=enrolled).exists()
    entry = AuditEntry.objects.get(action="mfa.reset")
    assert (entry.actor_id, entry.acting_for) == (admin.pk, f"department:{department.code}")


def test_a_department_administrator_of_another_department_is_refused():
    member = staff()
    device = authenticator_for(member)
    outsider = staff(StaffRole.Role.DEPARTMENT_ADMIN)

    response = fully_logged_in(outsider).post(reverse("identity:staff_mfa_reset", args=[member.pk]))

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not AuditEntry.objects.filter(action="mfa.reset").exists()


def test_staff_who_are_not_department_administrators_cannot_open_or_reset():
    department = DepartmentFactory()
    clerk = staff(department=department)
    colleague = staff(StaffRole.Role.REVIEWER, department=department)
    authenticator_for(colleague)
    client = fully_logged_in(clerk)

    assert client.get(reverse("identity:staff_mfa")).status_code == 403
    assert client.post(reverse("identity:staff_mfa_reset", args=[colleague.pk])).status_code == 403
    assert TOTPDevice.objects.filter(user=colleague).exists()


def test_a_department_administrator_cannot_reset_a_platform_administrator_or_themselves():
    department = DepartmentFactory()
    admin = staff(StaffRole.Role.DEPARTMENT_ADMIN, department=department)
    boss = platform_admin()
    StaffRoleFactory(user=boss, department=department)
    authenticator_for(boss)

    with pytest.raises(PermissionDenied):
        services.mfa_reset(actor=admin, user=boss)
    with pytest.raises(PermissionDenied) as exc:
        services.mfa_reset(actor=admin, user=admin)
    assert exc.value.code == "mfa_reset_self"
    assert TOTPDevice.objects.filter(user=boss).exists()
    assert not AuditEntry.objects.filter(action="mfa.reset").exists()


def test_a_citizen_resets_nobody():
    member = staff()
    authenticator_for(member)

    with pytest.raises(PermissionDenied):
        services.mfa_reset(actor=UserFactory(), user=member)
    assert TOTPDevice.objects.filter(user=member).exists()


def test_signing_out_of_single_sign_on_needs_no_second_factor():
    member = staff()
    client = password_only(member)

    response = client.get("/oidc/logout/")

    assert response.status_code == 200
    assert "/accounts/mfa/" not in response.get("Location", "")
    # The workbench still asks for it.
    assert client.get(reverse("applications:workbench"))["Location"].startswith("/accounts/mfa/")
