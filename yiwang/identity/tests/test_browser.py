"""The journey a new citizen takes in a real browser: register, then verify her real name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from yiwang.exchange.tests.factories import PopulationRecordFactory, resident_id
from yiwang.identity.models import AssuranceLevel, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13987654321"
PASSWORD = "Qz7!harbour-lamp"


def read_code_from_outbox(page) -> str:
    """Read the newest code for PHONE from the demo SMS outbox page, as a demo user would."""
    outbox = page.context.new_page()
    outbox.goto("/dev/sms/")
    body = outbox.locator("tr", has_text=PHONE).first.locator(".sms-body").inner_text()
    outbox.close()
    return re.search(r"\d{6}", body).group(0)


def test_a_citizen_registers_and_verifies_her_real_name(page):
    record = PopulationRecordFactory(
        name="叶知秋", gender="F", id_number=resident_id(21, male=False)
    )

    page.goto("/")
    page.get_by_role("link", name="注册").first.click()
    expect(page.get_by_role("heading", name="注册")).to_be_visible()
    page.get_by_label("手机号").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送")).to_be_visible()

    page.get_by_label("短信验证码").fill(read_code_from_outbox(page))
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()

    expect(page.get_by_role("heading", name="实名认证")).to_be_visible()
    expect(page.get_by_text("注册成功")).to_be_visible()

    # A mistyped check character is caught beside the field and nothing is saved.
    wrong = record.id_number[:17] + ("0" if record.id_number[-1] != "0" else "1")
    page.get_by_label("姓名").fill("叶知秋")
    page.get_by_label("居民身份证号码").fill(wrong)
    page.get_by_role("button", name="提交认证").click()
    expect(page.get_by_text("身份证号码校验位错误，请核对。")).to_be_visible()
    assert User.objects.get(phone=PHONE).assurance_level == AssuranceLevel.L1

    page.get_by_label("居民身份证号码").fill(record.id_number)
    page.get_by_role("button", name="提交认证").click()

    expect(page.get_by_text("实名认证成功（L2）")).to_be_visible()
    expect(page.get_by_test_id("assurance-level")).to_have_text("L2 人口库实名核验")
    masked = record.id_number[:4] + "*" * 10 + record.id_number[-4:]
    expect(page.get_by_text(masked)).to_be_visible()
    assert record.id_number not in page.content()
    user = User.objects.get(phone=PHONE)
    assert (user.name, user.id_number, user.assurance_level) == (
        "叶知秋",
        record.id_number,
        AssuranceLevel.L2,
    )


def test_logging_in_as_staff_opens_the_console(page):
    from yiwang.identity.tests.factories import PASSWORD as STAFF_PASSWORD
    from yiwang.identity.tests.factories import StaffRoleFactory
    from yiwang.identity.tests.mfa import authenticator_for, second_factor_in_browser

    role = StaffRoleFactory(role="reviewer")
    device = authenticator_for(role.user)

    page.goto("/accounts/login/")
    page.get_by_label("手机号").fill(role.user.phone)
    page.get_by_label("密码").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="登录").click()
    second_factor_in_browser(page, device)
    page.get_by_role("link", name="工作台", exact=True).click()

    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.get_by_role("cell", name=role.department.name)).to_be_visible()
    expect(page.get_by_role("cell", name="审查")).to_be_visible()


def test_the_page_switches_to_english_and_back(page):
    page.goto("/")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Register").first).to_be_visible()

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("link", name="注册").first).to_be_visible()
