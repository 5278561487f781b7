"""Repeatable rows in an item's form (an array of objects, e.g. the other heirs)."""

from __future__ import annotations

import json

from django.utils import translation

from yiwang.applications.forms import SchemaForm, form_data_rows
from yiwang.applications.formschema import form_errors
from yiwang.applications.tests.test_bundles import CATALOG

FORM = json.loads((CATALOG / "forms" / "pension-account-inheritance.json").read_text())
SCHEMA, UI = FORM["schema"], FORM["ui"]
SON = {"name": "赵敏杰", "id_number": "330106198810200036", "relationship": "child"}
WIFE = {"name": "孙丽华", "id_number": "330106195508080025", "relationship": "spouse"}


def _posted(form):
    assert form.is_valid(), form.errors
    return form.form_data()


def test_rows_are_read_in_order_and_blank_rows_are_left_out():
    data = {
        "other_heirs-0-name": " 赵敏杰 ",
        "other_heirs-0-id_number": "330106198810200036",
        "other_heirs-0-relationship": "child",
        "other_heirs-1-name": "",
        "other_heirs-1-id_number": "",
        "other_heirs-1-relationship": "",
        "other_heirs-2-name": "孙丽华",
        "other_heirs-2-id_number": "330106195508080025",
        "other_heirs-2-relationship": "spouse",
    }
    form = SchemaForm(SCHEMA, UI, data, only=["other_heirs"])

    assert _posted(form) == {"other_heirs": [SON, WIFE]}


def test_no_filled_row_leaves_the_field_out():
    form = SchemaForm(SCHEMA, UI, {"other_heirs-0-name": " "}, only=["other_heirs"])

    assert _posted(form) == {}


def test_a_row_beyond_the_limit_is_not_read():
    data = {f"other_heirs-{i}-name": f"继承人{i}" for i in range(25)}
    form = SchemaForm(SCHEMA, UI, data, only=["other_heirs"])

    rows = _posted(form)["other_heirs"]
    # 19 rows are allowed; the schema says so for anything sent beyond them.
    assert len(rows) == 21
    with translation.override("zh-hans"):
        assert form_errors(SCHEMA, {"other_heirs": rows})["other_heirs"] == ["最多填写 19 行。"]


def test_the_filled_rows_come_back_with_spare_blank_rows():
    form = SchemaForm(SCHEMA, UI, form_data={"other_heirs": [SON]}, only=["other_heirs"])
    html = str(form["other_heirs"])

    assert 'name="other_heirs-0-name" id="id_other_heirs-0-name" value="赵敏杰"' in html
    assert '<option value="child" selected>' in html
    assert 'name="other_heirs-2-name"' in html
    assert 'name="other_heirs-3-name"' not in html


def test_a_wrong_cell_is_named_by_row_and_column():
    rows = [SON, {"name": "孙丽华", "id_number": "33010619550808", "relationship": "spouse"}]
    with translation.override("zh-hans"):
        errors = form_errors(SCHEMA, {"other_heirs": rows})

    assert errors["other_heirs"] == ["第2行，公民身份号码：公民身份号码的格式不正确。"]


def test_the_rows_are_read_back_in_words():
    rows = dict(form_data_rows(SCHEMA, UI, {"other_heirs": [SON, WIFE]}))

    assert rows["其他第一顺序继承人"] == (
        "赵敏杰 330106198810200036 子女；孙丽华 330106195508080025 配偶"
    )
