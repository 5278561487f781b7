from __future__ import annotations

import pytest

from yiwang.catalog import selectors
from yiwang.catalog.models import ServiceItem
from yiwang.catalog.services import service_item_publish, service_item_retire

pytestmark = pytest.mark.django_db

BIRTH = "330106-GA-0001"
CERTIFICATE = "330106-WJ-0001"
BUSINESS = "330100-SJ-0001"


def _codes(**filters) -> list[str]:
    return [item.code for item in selectors.service_items_published(**filters)]


def _copy(code: str, *, new_code: str, name: str, publish: bool = True) -> ServiceItem:
    item = ServiceItem.objects.get(code=code)
    situations = list(item.life_situations.all())
    item.pk = None
    item.code, item.name, item.keywords = new_code, name, ""
    item.status, item.current_version = ServiceItem.Status.DRAFT, None
    item.save()
    item.life_situations.set(situations)
    if publish:
        service_item_publish(item=item, actor=None)
    return item


def test_without_filters_every_published_item_is_listed_by_code(loaded):
    assert _codes() == [BUSINESS, BIRTH, CERTIFICATE]


def test_a_chinese_keyword_finds_the_item_through_its_keywords(loaded):
    assert _codes(query="落户") == [BIRTH]


def test_a_query_matches_material_names_and_standard_names(loaded):
    assert _codes(query="结婚证") == [BIRTH]
    assert _codes(query="个体工商户登记") == [BUSINESS]


def test_every_whitespace_separated_term_must_match(loaded):
    assert _codes(query="出生 首次") == [CERTIFICATE]
    assert _codes(query="出生　签发") == [CERTIFICATE]  # an ideographic space separates too
    assert _codes(query="出生 开店") == []


def test_a_query_written_without_spaces_matches_text_with_spaces(loaded):
    assert _codes(query="新生儿落户") == [BIRTH]
    assert _codes(query="开店营业执照") == [BUSINESS]


def test_an_exact_name_comes_first_then_names_containing_the_query(loaded):
    contains = _copy(BUSINESS, new_code="330100-SJ-0002", name="营业执照变更登记")
    exact = _copy(BUSINESS, new_code="330100-SJ-0003", name="营业执照")

    assert _codes(query="营业执照") == [exact.code, contains.code, BUSINESS]


def test_drafts_and_retired_items_are_never_listed(loaded):
    _copy(BIRTH, new_code="330106-GA-0002", name="出生登记草稿", publish=False)
    service_item_retire(item=ServiceItem.objects.get(code=CERTIFICATE), actor=None)

    assert _codes() == [BUSINESS, BIRTH]
    assert _codes(query="出生") == [BIRTH]
    assert selectors.service_item_get(CERTIFICATE) is None
    assert selectors.service_item_get("330106-GA-0002") is None


def test_target_filter_includes_items_for_both(loaded):
    ServiceItem.objects.filter(code=BUSINESS).update(target="both")

    assert _codes(target="person") == [BUSINESS, BIRTH, CERTIFICATE]
    assert _codes(target="organisation") == [BUSINESS]


def test_filters_by_department_situation_and_cross_region(loaded):
    assert _codes(department_code="330106-WJ") == [CERTIFICATE]
    assert _codes(life_situation="birth") == [BIRTH, CERTIFICATE]
    assert _codes(life_situation="start-business", query="执照") == [BUSINESS]
    assert _codes(cross_region=True) == [CERTIFICATE]
    assert _codes(cross_region=False) == [BUSINESS, BIRTH]


def test_a_region_filter_includes_the_regions_above_it(loaded):
    assert _codes(region_code="330106011") == [BUSINESS, BIRTH, CERTIFICATE]
    assert _codes(region_code="330100") == [BUSINESS]
    assert _codes(region_code="110101") == []


def test_a_cross_region_item_is_available_from_anywhere_others_only_locally(loaded):
    birth = ServiceItem.objects.get(code=BIRTH)
    certificate = ServiceItem.objects.get(code=CERTIFICATE)
    business = ServiceItem.objects.get(code=BUSINESS)

    assert selectors.service_item_available_from(certificate, "110101") is True
    assert selectors.service_item_available_from(birth, "330106011") is True
    assert selectors.service_item_available_from(birth, "330106") is True
    assert selectors.service_item_available_from(birth, "330102") is False
    assert selectors.service_item_available_from(birth, "110101") is False
    assert selectors.service_item_available_from(business, "330106") is True
    assert selectors.service_item_available_from(business, "330200") is False


def test_life_situations_count_only_published_items(loaded):
    service_item_retire(item=ServiceItem.objects.get(code=CERTIFICATE), actor=None)

    counts = [(s.code, s.item_count) for s in selectors.life_situations()]

    assert counts == [("birth", 1), ("retirement", 0), ("start-business", 1)]
    assert [s.code for s in selectors.life_situations("organisation")] == ["start-business"]


def test_catalog_departments_are_those_with_published_items(loaded, departments):
    service_item_retire(item=ServiceItem.objects.get(code=CERTIFICATE), actor=None)

    found = [(d.code, d.item_count) for d in selectors.catalog_departments()]

    assert found == [("330100-SJ", 1), ("330106-GA", 1)]


def test_service_item_get_fetches_materials_and_situations_in_fixed_queries(
    loaded, django_assert_num_queries
):
    with django_assert_num_queries(3):
        item = selectors.service_item_get(BIRTH)
        materials = [
            (m.code, m.certificate_type and m.certificate_type.code) for m in item.materials.all()
        ]
        situations = [s.code for s in item.life_situations.all()]
        number = item.current_version.number

    assert materials[0] == ("birth-certificate", "birth-medical-certificate")
    assert (situations, number) == (["birth"], 1)
