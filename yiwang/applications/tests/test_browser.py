"""The one-stop journey in a real browser: a citizen applies, staff ask for a supplement,
the citizen supplements, staff grant and deliver, and every step is on the timeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from yiwang.applications.models import Application, Status
from yiwang.applications.tests.conftest import PDF
from yiwang.identity.selectors import user_needs_mfa
from yiwang.identity.tests.factories import PASSWORD
from yiwang.identity.tests.mfa import authenticator_for, second_factor_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SSCARD = "330106-RS-0001"


def log_in(page, user) -> None:
    # Staff have an authenticator and type its code after the password.
    device = authenticator_for(user) if user_needs_mfa(user) else None
    page.goto("/accounts/login/")
    page.get_by_label("手机号").fill(user.phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if device is not None:
        second_factor_in_browser(page, device)
    expect(page.get_by_role("heading", name="我的", exact=True)).to_be_visible()


def staff_page(browser, live_server, user):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, user)
    return page


def open_task(page, number: str, queue: str) -> None:
    page.goto(f"/workbench/?queue={queue}")
    page.get_by_role("link", name=number).click()


def complete(page, outcome: str) -> None:
    page.get_by_label(outcome, exact=True).check()
    page.get_by_role("button", name="办理完成").click()


def test_apply_supplement_grant_and_follow_every_step(
    page, browser, live_server, catalogue, staff, citizen, tmp_path: Path
):
    pdf = tmp_path / "身份证.pdf"
    pdf.write_bytes(PDF)

    # The citizen finds the service and applies.
    log_in(page, citizen)
    page.goto("/services/?q=社会保障卡")
    page.get_by_role("link", name="社会保障卡申领").first.click()
    page.get_by_role("link", name="在线申请").first.click()
    page.get_by_label("本人申领").check()
    page.get_by_label("持卡人姓名").fill(citizen.name)
    page.get_by_label("持卡人公民身份号码").fill(citizen.id_number)
    page.get_by_label("男", exact=True).check()
    # 免填写: her verified name and ID number are filled in and locked; her phone is filled.
    expect(page.get_by_label("申请人姓名")).to_have_value(citizen.name)
    expect(page.get_by_label("申请人姓名")).to_be_disabled()
    expect(page.get_by_label("申请人公民身份号码")).to_have_value(citizen.id_number)
    expect(page.get_by_label("申请人联系电话")).to_have_value(citizen.phone)
    page.get_by_label("本人", exact=True).check()
    page.get_by_label("社会保障卡金融账户开户银行").select_option("中国工商银行")
    page.get_by_label("窗口自取").check()
    page.get_by_label(re.compile("本人承诺")).check()
    page.get_by_role("button", name="保存草稿").click()

    upload = page.locator("form.upload-form").filter(has_text="居民身份证").first
    upload.locator("input[type=file]").set_input_files(str(pdf))
    upload.get_by_role("button", name="上传", exact=True).click()
    page.get_by_role("button", name="提交申请").click()
    application = Application.objects.get(applicant=citizen)
    expect(page.get_by_text(application.number).first).to_be_visible()

    # The window clerk asks, once, for everything missing.
    clerk = staff_page(browser, live_server, staff[("330106-RS", "clerk")])
    open_task(clerk, application.number, "accept")
    clerk.get_by_role("button", name="认领").click()
    clerk.get_by_label("一次性告知补正").check()
    clerk.get_by_role("checkbox", name="数码照片回执号").check()
    clerk.get_by_label("原因：数码照片回执号").fill("请补充数码照片回执号")
    clerk.get_by_role("button", name="办理完成").click()
    expect(clerk.get_by_role("heading", name="办件工作台")).to_be_visible()
    application.refresh_from_db()
    assert application.status == Status.SUPPLEMENT_REQUESTED

    # The citizen sees the notice and supplements.
    page.goto(f"/applications/{application.pk}/")
    expect(page.get_by_text("数码照片回执号：请补充数码照片回执号")).to_be_visible()
    page.get_by_label("数码照片回执号").fill("HZ2026112201")
    page.get_by_role("button", name="补正完成，重新提交").click()
    expect(page.get_by_text("已提交").first).to_be_visible()

    # Accepted, granted, delivered.
    open_task(clerk, application.number, "accept")
    complete(clerk, "受理")
    approver = staff_page(browser, live_server, staff[("330106-RS", "approver")])
    open_task(approver, application.number, "decide")
    complete(approver, "准予")
    open_task(clerk, application.number, "deliver")
    complete(clerk, "已送达")

    application.refresh_from_db()
    assert application.status == Status.COMPLETED
    page.goto(f"/applications/{application.pk}/")
    expect(page.get_by_text("已办结").first).to_be_visible()
    timeline = page.locator(".timeline")
    for step in ["提交申请", "一次性告知补正", "补正完成，重新提交", "受理", "准予许可", "已送达"]:
        expect(timeline.get_by_text(step).first).to_be_visible()
