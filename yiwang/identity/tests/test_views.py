from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from yiwang.core.models import SmsOutboxMessage
from yiwang.exchange.tests.factories import LegalPersonRecordFactory, PopulationRecordFactory
from yiwang.identity import services
from yiwang.identity.models import AssuranceLevel, OrganisationAgent, User
from yiwang.identity.tests.factories import (
    PASSWORD,
    StaffRoleFactory,
    UserFactory,
    VerifiedUserFactory,
)

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
STRONG = "Xk9#mzLq2-qq"


def field_errors(response) -> list[str]:
    return re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>\s*<li>([^<]+)</li>', response.content.decode()
    )


def test_register_page_sends_a_code_then_registers_and_logs_in():
    client = Client()
    response = client.post(reverse("identity:register"), {"phone": PHONE, "action": "send_code"})
    assert response.status_code == 200
    assert "验证码已发送" in response.content.decode()
    code = re.search(r"\d{6}", SmsOutboxMessage.objects.get().body).group(0)
    assert "验证码" in SmsOutboxMessage.objects.get().body

    response = client.post(
        reverse("identity:register"),
        {
            "phone": PHONE,
            "code": code,
            "password": STRONG,
            "password_again": STRONG,
            "action": "register",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("identity:verify")
    assert client.get(reverse("portal:me")).status_code == 200
    assert User.objects.get().phone == PHONE


def test_register_with_a_wrong_code_shows_the_error_beside_the_field_and_keeps_the_input():
    client = Client()
    client.post(reverse("identity:register"), {"phone": PHONE, "action": "send_code"})
    code = re.search(r"\d{6}", SmsOutboxMessage.objects.get().body).group(0)
    wrong = "000000" if code != "000000" else "111111"

    response = client.post(
        reverse("identity:register"),
        {
            "phone": PHONE,
            "code": wrong,
            "password": STRONG,
            "password_again": STRONG,
            "action": "register",
        },
    )

    assert response.status_code == 422
    assert field_errors(response) == ["短信验证码错误。"]
    assert f'value="{PHONE}"' in response.content.decode()
    assert not User.objects.exists()


def test_register_with_different_passwords_is_refused_before_any_code_is_used():
    response = Client().post(
        reverse("identity:register"),
        {
            "phone": PHONE,
            "code": "123456",
            "password": STRONG,
            "password_again": STRONG + "x",
            "action": "register",
        },
    )

    assert response.status_code == 422
    assert field_errors(response) == ["两次输入的密码不一致。"]


def test_asking_for_a_code_for_a_registered_number_says_so():
    UserFactory(phone=PHONE)

    response = Client().post(reverse("identity:register"), {"phone": PHONE, "action": "send_code"})

    assert response.status_code == 409
    assert field_errors(response) == ["该手机号已注册，请直接登录。"]


def test_the_register_page_speaks_english_when_chosen():
    client = Client()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    response = client.post(reverse("identity:register"), {"phone": "123", "action": "send_code"})

    assert field_errors(response) == ["Enter an 11-digit mainland mobile number."]
    assert '<html lang="en">' in response.content.decode()


def test_login_with_the_right_password_goes_to_my_page():
    user = UserFactory(phone=PHONE, language="en")
    client = Client()

    response = client.post(reverse("identity:login"), {"phone": PHONE, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:me")
    assert response.cookies["django_language"].value == "en"
    assert int(client.session["_auth_user_id"]) == user.pk


def test_login_follows_a_safe_next_but_not_an_external_one():
    UserFactory(phone=PHONE)

    inside = Client().post(
        reverse("identity:login") + "?next=/accounts/verify/",
        {"phone": PHONE, "password": PASSWORD},
    )
    outside = Client().post(
        reverse("identity:login") + "?next=https://evil.example/",
        {"phone": PHONE, "password": PASSWORD},
    )

    assert inside["Location"] == "/accounts/verify/"
    assert outside["Location"] == reverse("portal:me")


def test_a_wrong_password_says_so_without_telling_which_part_is_wrong():
    UserFactory(phone=PHONE)

    response = Client().post(
        reverse("identity:login"), {"phone": PHONE, "password": "wrong-password"}
    )

    assert response.status_code == 422
    assert "手机号或密码错误。" in response.content.decode()


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account_even_for_the_right_password():
    UserFactory(phone=PHONE)
    client = Client()
    for _ in range(3):
        client.post(reverse("identity:login"), {"phone": PHONE, "password": "wrong-password"})

    response = client.post(reverse("identity:login"), {"phone": PHONE, "password": PASSWORD})

    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_a_post():
    client = Client()
    client.force_login(UserFactory())

    assert client.get(reverse("identity:logout")).status_code == 405
    assert client.post(reverse("identity:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_forms_are_protected_by_csrf():
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("identity:login"), {"phone": PHONE, "password": PASSWORD})

    assert response.status_code == 403


def test_my_page_needs_login():
    response = Client().get(reverse("portal:me"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_verify_page_verifies_and_my_page_shows_the_id_masked():
    record = PopulationRecordFactory(name="沈佳怡")
    client = Client()
    client.force_login(UserFactory())

    response = client.post(
        reverse("identity:verify"), {"name": "沈佳怡", "id_number": record.id_number}
    )
    assert response.status_code == 302

    page = client.get(reverse("portal:me")).content.decode()
    assert record.id_number not in page
    assert record.id_number[:4] + "**********" + record.id_number[-4:] in page
    assert "L2" in page


@pytest.mark.parametrize(
    ("name", "id_change", "message"),
    [
        ("沈佳怡", "checksum", "身份证号码校验位错误，请核对。"),
        ("沈佳", None, "姓名与人口库中该身份证号码登记的姓名不一致。"),
    ],
)
def test_verify_page_shows_each_error_beside_its_field(name, id_change, message):
    record = PopulationRecordFactory(name="沈佳怡")
    number = record.id_number
    if id_change == "checksum":
        number = number[:17] + ("0" if number[-1] != "0" else "1")
    user = UserFactory()
    client = Client()
    client.force_login(user)

    response = client.post(reverse("identity:verify"), {"name": name, "id_number": number})

    assert response.status_code == 422
    assert field_errors(response) == [message]
    user.refresh_from_db()
    assert user.assurance_level == AssuranceLevel.L1


def test_the_staff_console_is_for_staff_only():
    client = Client()
    client.force_login(VerifiedUserFactory())
    assert client.get(reverse("identity:staff_console")).status_code == 403

    clerk = StaffRoleFactory(role="clerk")
    client.force_login(clerk.user)
    page = client.get(reverse("identity:staff_console")).content.decode()
    assert clerk.department.name in page
    assert "窗口受理" in page


def test_a_clerk_verifies_a_person_in_person_from_the_console():
    clerk = StaffRoleFactory(role="clerk").user
    person = VerifiedUserFactory()
    client = Client()
    client.force_login(clerk)

    response = client.post(
        reverse("identity:staff_in_person_verify"),
        {"id_number": person.id_number, "name": person.name},
    )

    assert response.status_code == 200
    person.refresh_from_db()
    assert person.assurance_level == AssuranceLevel.L3


def test_organisation_pages_link_authorise_and_revoke_an_agent():
    owner = VerifiedUserFactory()
    company = LegalPersonRecordFactory(
        legal_representative_name=owner.name, legal_representative_id_number=owner.id_number
    )
    agent = VerifiedUserFactory()
    client = Client()
    client.force_login(owner)

    response = client.post(
        reverse("identity:organisation_new"), {"uscc": company.uscc, "name": company.name}
    )
    assert response.status_code == 302
    detail = response["Location"]
    response = client.post(detail, {"agent_phone": agent.phone, "valid_until": "2027-06-30"})
    assert response.status_code == 302
    grant = OrganisationAgent.objects.get()

    response = client.post(
        reverse("identity:organisation_agent_revoke", args=[grant.organisation_id, grant.pk])
    )

    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_an_organisation_page_is_hidden_from_everyone_but_its_representative():
    owner = VerifiedUserFactory()
    company = LegalPersonRecordFactory(legal_representative_id_number=owner.id_number)
    organisation = services.organisation_register(user=owner, uscc=company.uscc, name=company.name)
    client = Client()
    client.force_login(VerifiedUserFactory())

    assert (
        client.get(reverse("identity:organisation_detail", args=[organisation.pk])).status_code
        == 404
    )


@override_settings(SMS_OUTBOX_VISIBLE=False)
def test_the_sms_outbox_is_hidden_unless_enabled():
    assert Client().get(reverse("portal:sms_outbox")).status_code == 404


def test_the_sms_outbox_shows_sent_codes_when_enabled():
    services.sms_code_send(phone=PHONE, purpose="register")

    page = Client().get(reverse("portal:sms_outbox")).content.decode()

    assert PHONE in page
    assert re.search(r"\d{6}", SmsOutboxMessage.objects.get().body).group(0) in page


def test_an_unknown_page_is_a_friendly_404():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_switching_language_is_remembered_for_the_account():
    user = UserFactory(language="zh-hans")
    client = Client()
    client.force_login(user)

    response = client.post(reverse("set_language"), {"language": "en", "next": "/me/"})

    assert response.status_code == 302
    assert response["Location"] == "/me/"
    user.refresh_from_db()
    assert user.language == "en"


def test_switching_to_an_unknown_language_changes_nothing():
    user = UserFactory(language="zh-hans")
    client = Client()
    client.force_login(user)

    client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    user.refresh_from_db()
    assert user.language == "zh-hans"
