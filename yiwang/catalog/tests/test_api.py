from __future__ import annotations

import pytest
from django.test import Client

from yiwang.catalog.models import ServiceItem
from yiwang.catalog.services import service_item_publish

pytestmark = pytest.mark.django_db


def _get(path: str, **params):
    return Client().get(path, params, HTTP_ACCEPT_LANGUAGE="en")


def test_the_list_is_public_paginated_and_shaped(loaded):
    response = _get("/api/v1/service-items", limit=2)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [item["code"] for item in body["items"]] == ["330100-SJ-0001", "330106-GA-0001"]
    assert body["items"][1] == {
        "code": "330106-GA-0001",
        "name": "出生登记",
        "item_type": "confirmation",
        "item_type_label": "Administrative confirmation",
        "department": {"code": "330106-GA", "name": "杭州市公安局西湖区分局"},
        "region_code": "330106",
        "target": "person",
        "summary": "为新生儿申报户口登记。",
        "promised_limit_days": 1,
        "legal_limit_days": 20,
        "visits_required": 0,
        "online_depth": 4,
        "cross_region": False,
    }
    second_page = _get("/api/v1/service-items", limit=2, offset=2).json()
    assert [item["code"] for item in second_page["items"]] == ["330106-WJ-0001"]


def test_the_list_filters_by_query_and_the_other_parameters(loaded):
    by_query = _get("/api/v1/service-items", q="落户").json()
    by_situation = _get("/api/v1/service-items", situation="birth", cross_region="true").json()
    by_department = _get("/api/v1/service-items", department="330100-SJ", target="organisation")
    by_region = _get("/api/v1/service-items", region="330100").json()

    assert [i["code"] for i in by_query["items"]] == ["330106-GA-0001"]
    assert [i["code"] for i in by_situation["items"]] == ["330106-WJ-0001"]
    assert [i["code"] for i in by_department.json()["items"]] == ["330100-SJ-0001"]
    assert [i["code"] for i in by_region["items"]] == ["330100-SJ-0001"]


def test_the_list_runs_a_fixed_number_of_queries_however_many_items(
    loaded, django_assert_num_queries
):
    for n in range(2, 12):
        item = ServiceItem.objects.get(code="330106-GA-0001")
        item.pk, item.code, item.current_version = None, f"330106-GA-{n:04d}", None
        item.save()
        service_item_publish(item=item, actor=None)

    with django_assert_num_queries(2):
        response = _get("/api/v1/service-items", limit=100)
    with django_assert_num_queries(2):
        searched = _get("/api/v1/service-items", q="出生 登记", limit=100)

    assert response.json()["count"] == 13
    assert searched.json()["count"] == 11


def test_a_limit_above_100_is_refused_in_our_error_shape(loaded):
    response = _get("/api/v1/service-items", limit=101)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert set(response.json()["fields"]) == {"limit"}


def test_the_detail_has_the_guide_materials_form_and_version(loaded):
    response = _get("/api/v1/service-items/330106-GA-0001")

    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1
    assert (body["name"], body["standard_code"], body["region_name"]) == (
        "出生登记",
        "000173001000",
        "西湖区",
    )
    assert (body["legal_limit_days"], body["promised_limit_days"]) == (20, 1)
    assert body["life_situations"] == ["birth"]
    assert [m["code"] for m in body["materials"]] == [
        "birth-certificate",
        "parent-id-card",
        "marriage-certificate",
    ]
    assert body["materials"][1]["certificate_type"] == "resident-id-card"
    assert body["materials"][1]["certificate_type_name"] == "居民身份证"
    assert body["materials"][2]["condition"] == "父母已登记结婚的"
    # jsonb keeps no key order; the field order is ui:order.
    assert set(body["form_schema"]["properties"]) == {"child_name", "birth_date", "gender"}
    assert body["ui_schema"]["ui:order"] == ["child_name", "birth_date", "gender"]
    assert "bpmn_xml" not in body


def test_the_detail_shows_the_published_version_not_unpublished_edits(loaded):
    ServiceItem.objects.filter(code="330106-GA-0001").update(name="改过的名称")

    body = _get("/api/v1/service-items/330106-GA-0001").json()

    assert (body["name"], body["version"]) == ("出生登记", 1)


def test_an_unknown_or_unpublished_item_is_a_404_in_our_error_shape(loaded):
    ServiceItem.objects.filter(code="330106-WJ-0001").update(status=ServiceItem.Status.RETIRED)

    for code in ("330106-XX-0001", "330106-WJ-0001"):
        response = _get(f"/api/v1/service-items/{code}")

        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}


def test_life_situations_list_with_counts_and_target_filter(loaded):
    everything = _get("/api/v1/life-situations").json()
    organisations = _get("/api/v1/life-situations", target="organisation").json()

    assert everything == [
        {"code": "birth", "name": "生育", "target": "person", "item_count": 2},
        {"code": "retirement", "name": "退休", "target": "person", "item_count": 0},
        {"code": "start-business", "name": "开办企业", "target": "organisation", "item_count": 1},
    ]
    assert [s["code"] for s in organisations] == ["start-business"]
