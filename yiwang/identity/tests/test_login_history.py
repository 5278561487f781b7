"""The login history, the absolute session time limit and the password policy."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from yiwang.core.errors import ValidationFailed
from yiwang.identity import services
from yiwang.identity.middleware import LOGIN_AT_SESSION_KEY
from yiwang.identity.models import LoginEvent, User
from yiwang.identity.tests.factories import PASSWORD, UserFactory, VerifiedUserFactory

pytestmark = pytest.mark.django_db

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0"


def browser(address: str = "203.0.113.57", agent: str = ANDROID_CHROME) -> Client:
    return Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)


def log_in(client: Client, phone: str, password: str = PASSWORD):
    return client.post(reverse("identity:login"), {"phone": phone, "password": password})


def history(user: User) -> list[tuple[str, str | None, str]]:
    return list(
        LoginEvent.objects.filter(user=user)
        .order_by("pk")
        .values_list("kind", "client_address", "user_agent")
    )


# ---------------------------------------------------------------------------------------
# What is recorded


def test_a_login_is_recorded_with_the_address_and_a_summary_of_the_browser():
    user = UserFactory()

    assert log_in(browser(), user.phone).status_code == 302

    assert history(user) == [("login_succeeded", "203.0.113.57", "Chrome 131 · Android")]
    assert LoginEvent.objects.get().masked_client_address == "203.0.113.*"


def test_a_wrong_password_is_recorded_for_the_account_without_the_password_or_phone():
    user = UserFactory()

    response = log_in(browser(), user.phone, "Wrong-password-1")

    assert response.status_code == 422
    assert history(user) == [("login_failed", "203.0.113.57", "Chrome 131 · Android")]
    for event in LoginEvent.objects.all():
        stored = " ".join(str(getattr(event, f.attname)) for f in LoginEvent._meta.fields)
        assert "Wrong-password-1" not in stored
        assert user.phone not in stored


def test_a_wrong_password_for_a_number_without_an_account_is_recorded_nowhere():
    log_in(browser(), "13911112222", "Wrong-password-1")

    assert not LoginEvent.objects.exists()


def test_a_lockout_and_the_refusals_during_it_are_recorded():
    user = UserFactory()
    client = browser()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        log_in(client, user.phone, "Wrong-password-1")

    response = log_in(client, user.phone)

    assert response.status_code == 429
    kinds = [kind for kind, _address, _agent in history(user)]
    assert kinds == [
        *["login_failed"] * (django_settings.AXES_FAILURE_LIMIT - 1),
        "locked_out",
        "locked_out",
    ]


def test_logging_out_is_recorded():
    user = UserFactory()
    client = browser()
    log_in(client, user.phone)

    client.post(reverse("identity:logout"))

    assert [kind for kind, _a, _b in history(user)] == ["login_succeeded", "logout"]


# ---------------------------------------------------------------------------------------
# What the account's owner sees


def test_the_security_page_shows_my_history_with_addresses_masked_and_no_one_elses():
    me, someone = UserFactory(), UserFactory()
    mine = browser("198.51.100.23", MAC_FIREFOX)
    log_in(mine, me.phone)
    log_in(browser("192.0.2.99"), someone.phone)
    log_in(browser("192.0.2.99"), someone.phone, "Wrong-password-1")

    response = mine.get(reverse("portal:me_security"))

    assert response.status_code == 200
    assert [e.user_id for e in response.context["events"]] == [me.pk]
    html = response.content.decode()
    assert "198.51.100.*" in html
    assert "Firefox 132 · macOS" in html
    assert "198.51.100.23" not in html
    assert "192.0.2" not in html
    assert response.context["needs_mfa"] is False


def test_the_security_page_lists_failures_newest_first():
    user = UserFactory()
    log_in(browser(), user.phone, "Wrong-password-1")
    client = browser()
    log_in(client, user.phone)

    events = list(client.get(reverse("portal:me_security")).context["events"])

    assert [(e.kind, e.is_failure) for e in events] == [
        ("login_succeeded", False),
        ("login_failed", True),
    ]


def test_the_security_page_needs_a_login():
    response = Client().get(reverse("portal:me_security"))

    assert response["Location"] == f"{reverse('identity:login')}?next=/me/security/"


# ---------------------------------------------------------------------------------------
# The absolute session time limit


def logged_in_since(user: User, seconds_ago: int) -> Client:
    client = browser()
    client.force_login(user)
    session = client.session
    session[LOGIN_AT_SESSION_KEY] = int(time.time()) - seconds_ago
    session.save()
    return client


def test_a_login_ends_at_the_absolute_limit_however_active(settings):
    settings.SESSION_ABSOLUTE_SECONDS = 3600
    user = VerifiedUserFactory()
    client = logged_in_since(user, 3601)

    response = client.get(reverse("portal:me"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('identity:login')}?next=/me/"
    assert "_auth_user_id" not in client.session
    assert history(user)[-1][0] == LoginEvent.Kind.SESSION_EXPIRED
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(messages) == 1
    assert "1" in messages[0]


def test_a_login_within_the_limit_goes_on(settings):
    settings.SESSION_ABSOLUTE_SECONDS = 3600
    user = VerifiedUserFactory()
    client = logged_in_since(user, 3500)

    assert client.get(reverse("portal:me")).status_code == 200
    assert history(user)[-1][0] == LoginEvent.Kind.LOGIN_SUCCEEDED


def test_the_api_answers_401_when_the_login_has_expired(settings):
    settings.SESSION_ABSOLUTE_SECONDS = 600
    client = logged_in_since(VerifiedUserFactory(), 601)

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_a_session_from_before_the_limit_existed_starts_counting_now():
    user = VerifiedUserFactory()
    client = browser()
    client.force_login(user)
    session = client.session
    del session[LOGIN_AT_SESSION_KEY]
    session.save()

    assert client.get(reverse("portal:me")).status_code == 200
    assert abs(client.session[LOGIN_AT_SESSION_KEY] - time.time()) < 60


def test_the_limit_defaults_to_twelve_hours_and_the_idle_timeout_to_thirty_minutes():
    assert django_settings.SESSION_ABSOLUTE_SECONDS == 12 * 3600
    assert django_settings.SESSION_COOKIE_AGE == 30 * 60
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is True


# ---------------------------------------------------------------------------------------
# The password policy


def test_the_password_validators_are_the_real_ones():
    names = [v["NAME"].rsplit(".", 1)[1] for v in django_settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]
    assert django_settings.AUTH_PASSWORD_VALIDATORS[0]["OPTIONS"] == {
        "user_attributes": ("phone", "name", "email")
    }
    assert django_settings.AUTH_PASSWORD_VALIDATORS[1]["OPTIONS"] == {"min_length": 8}


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Xk9#mzL", "shorter than 8"),
        ("password1", "common"),
        ("qwertyuiop", "common"),
        ("738204619283", "only digits"),
        ("13812345678ab", "like the phone number"),
    ],
)
def test_registration_refuses_a_weak_password(password, why):
    with pytest.raises(ValidationFailed) as exc:
        services.person_register(phone="13812345678", code="123456", password=password)

    assert exc.value.code == "password_weak", why
    assert list(exc.value.fields) == ["password"]
    assert not User.objects.exists()


def test_the_registration_page_shows_why_a_password_is_refused():
    response = Client().post(
        reverse("identity:register"),
        {
            "action": "register",
            "phone": "13812345678",
            "code": "123456",
            "password": "12345678",
            "password_again": "12345678",
        },
    )

    assert response.status_code == 422
    assert response.context["form"].errors["password"]
    assert not User.objects.exists()
