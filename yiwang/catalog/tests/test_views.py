from __future__ import annotations

import pytest
from django.test import Client

from yiwang.catalog.models import ServiceItem
from yiwang.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _page(path: str, **params) -> tuple[int, str]:
    response = Client().get(path, params)
    return response.status_code, response.content.decode()


def test_the_services_page_lists_cards_with_limit_visits_and_badge(loaded):
    status, html = _page("/services/")

    assert status == 200
    assert html.count('class="service-card card"') == 3
    assert "出生登记" in html
    assert "杭州市公安局西湖区分局" in html
    assert 'class="badge badge-cross-region"' in html
    assert html.count("badge-cross-region") == 1
    assert 'href="/services/330106-GA-0001/"' in html


def test_the_services_page_searches_and_filters(loaded):
    _status, searched = _page("/services/", q="落户")
    _status, organisations = _page("/services/", target="organisation")
    _status, by_department = _page("/services/", department="330106-WJ")
    _status, by_situation = _page("/services/", situation="birth")

    assert searched.count('class="service-card card"') == 1
    assert "出生登记" in searched
    assert organisations.count('class="service-card card"') == 1
    assert "个体工商户设立登记" in organisations
    assert by_department.count('class="service-card card"') == 1
    assert by_situation.count('class="service-card card"') == 2
    assert 'href="?situation=birth" aria-current="true"' in by_situation


def test_an_unknown_filter_value_is_ignored_not_an_error(loaded):
    status, html = _page("/services/", department="nope", q="出生")

    assert status == 200
    assert html.count('class="service-card card"') == 2


def test_a_search_without_results_says_so(loaded):
    status, html = _page("/services/", q="不存在的事项")

    assert status == 200
    assert 'class="service-card card"' not in html


def test_the_guide_shows_limits_materials_certificates_and_the_apply_link(loaded):
    status, html = _page("/services/330106-GA-0001/")

    assert status == 200
    assert "<h1>出生登记</h1>" in html
    assert "《出生医学证明》" in html
    assert "父母居民身份证" in html
    assert "居民身份证" in html
    assert "父母已登记结婚的" in html
    assert "《中华人民共和国户口登记条例》第七条" in html
    assert "网上申请" in html
    assert "杭州市公安局西湖区分局" in html
    assert 'href="/applications/new/330106-GA-0001/"' in html
    assert html.count('class="help certificate-note"') == 2


def test_the_guide_shows_the_published_version_not_unpublished_edits(loaded):
    ServiceItem.objects.filter(code="330106-GA-0001").update(name="改过的名称")

    _status, html = _page("/services/330106-GA-0001/")

    assert "<h1>出生登记</h1>" in html
    assert "改过的名称" not in html


def test_an_unknown_or_retired_item_has_no_guide_page(loaded):
    ServiceItem.objects.filter(code="330106-WJ-0001").update(status=ServiceItem.Status.RETIRED)

    assert _page("/services/330106-XX-0001/")[0] == 404
    assert _page("/services/330106-WJ-0001/")[0] == 404


def test_a_life_situation_page_lists_its_items(loaded):
    status, html = _page("/services/situations/birth/")

    assert status == 200
    assert "<h1>生育</h1>" in html
    assert html.count('class="service-card card"') == 2
    assert _page("/services/situations/nope/")[0] == 404


def test_the_home_page_links_the_life_situations_that_have_items(loaded):
    status, html = _page("/")

    assert status == 200
    assert 'href="/services/situations/birth/"' in html
    assert 'href="/services/situations/start-business/"' in html
    assert 'href="/services/situations/retirement/"' not in html
    assert 'href="/services/"' in html


def test_the_pages_are_in_english_on_request(loaded):
    response = Client().get("/services/330106-GA-0001/", HTTP_ACCEPT_LANGUAGE="en")

    assert "Apply online" in response.content.decode()
    assert "Materials" in response.content.decode()


# ---------------------------------------------------------------------------------------
# Administration


def _admin_client() -> Client:
    """An administrator who reads the site in English, the messages' source language."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(is_staff=True, is_superuser=True, language="en"))
    return client


def test_the_admin_publish_action_publishes_a_changed_item_as_a_new_version(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    ServiceItem.objects.filter(pk=item.pk).update(fee="免费")

    response = _admin_client().post(
        "/admin/catalog/serviceitem/",
        {"action": "publish_selected", "_selected_action": [item.pk]},
        follow=True,
    )

    item.refresh_from_db()
    assert response.status_code == 200
    assert item.current_version.number == 2
    assert item.current_version.snapshot["fee"] == "免费"
    assert [str(m) for m in response.context["messages"]] == ["1 item published."]


def test_the_admin_publish_action_reports_an_invalid_item_and_publishes_nothing_for_it(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    ServiceItem.objects.filter(pk=item.pk).update(bpmn_process_id="missing")

    response = _admin_client().post(
        "/admin/catalog/serviceitem/",
        {"action": "publish_selected", "_selected_action": [item.pk]},
        follow=True,
    )

    item.refresh_from_db()
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("330106-GA-0001 出生登记: This item cannot be published. bpmn_xml:")
    assert item.current_version.number == 1


def test_the_admin_pages_of_the_catalogue_open(loaded):
    client = _admin_client()
    item = ServiceItem.objects.get(code="330106-GA-0001")

    for path in (
        "/admin/catalog/serviceitem/",
        f"/admin/catalog/serviceitem/{item.pk}/change/",
        "/admin/catalog/serviceitemversion/",
        f"/admin/catalog/serviceitemversion/{item.current_version_id}/change/",
        "/admin/catalog/lifesituation/",
        "/admin/catalog/servicestandard/",
        "/admin/certificates/certificatetype/",
        f"/admin/catalog/serviceitem/?department__id__exact={item.department_id}&status__exact=published",
    ):
        assert client.get(path).status_code == 200, path
