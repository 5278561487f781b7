from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_catalog_load_prints_counts_and_nothing_new_the_second_time(departments, catalog_root):
    first, second = StringIO(), StringIO()

    call_command("catalog_load", "--root", str(catalog_root), stdout=first)
    call_command("catalog_load", "--root", str(catalog_root), stdout=second)

    assert re.search(r"服务事项 Service items\s+3\s+3\s+0", first.getvalue())
    assert re.search(r"申请材料 Materials\s+6\s+6\s+0", first.getvalue())
    assert re.search(r"新版本 New published versions\s+3", first.getvalue())
    assert re.search(r"服务事项 Service items\s+3\s+0\s+0", second.getvalue())
    assert re.search(r"新版本 New published versions\s+0", second.getvalue())


def test_catalog_load_lists_every_problem_and_fails(departments, catalog_root):
    (catalog_root / "standards.toml").write_text("[[standard]\n", encoding="utf-8")
    (catalog_root / "forms/business-registration.json").write_text("{", encoding="utf-8")
    errors = StringIO()

    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("catalog_load", "--root", str(catalog_root), stderr=errors)

    lines = errors.getvalue().splitlines()
    assert lines[0].startswith("forms/business-registration.json: Not valid JSON:")
    assert lines[-1].startswith("standards.toml: Not valid TOML:")
