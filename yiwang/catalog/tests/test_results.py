"""Items declare the certificate their favourable result issues (制证)."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiwang.catalog.models import ServiceItem
from yiwang.catalog.services import CatalogDataError, catalog_load

pytestmark = pytest.mark.django_db

BIRTH = "items/public_security/330106-GA-0001.toml"
LICENCE = "items/market_regulation/330100-SJ-0001.toml"


def _append(root: Path, path: str, text: str) -> None:
    file = root / path
    file.write_text(file.read_text(encoding="utf-8") + text, encoding="utf-8")


def _problems(root: Path) -> dict[str, list[str]]:
    with pytest.raises(CatalogDataError) as caught:
        catalog_load(root=root)
    assert not ServiceItem.objects.exists()
    return caught.value.fields


def test_the_version_keeps_the_result_certificate_with_its_name_and_holder(
    departments, catalog_root
):
    _append(
        catalog_root,
        BIRTH,
        """
[result]
certificate_type = "resident-id-card"
[result.fields]
name = "form.child_name"
birth_date = "form.birth_date"
id_number = "applicant.id_number"
""",
    )

    catalog_load(root=catalog_root)

    snapshot = ServiceItem.objects.get(code="330106-GA-0001").current_version.snapshot
    assert snapshot["result"] == {
        "certificate_type": "resident-id-card",
        "certificate_type_name": "居民身份证",
        "holder": "person",
        "fields": {
            "name": "form.child_name",
            "birth_date": "form.birth_date",
            "id_number": "applicant.id_number",
        },
    }
    # Items without a [result] issue nothing.
    other = ServiceItem.objects.get(code="330106-WJ-0001").current_version.snapshot
    assert other["result"] == {}


def test_every_mistake_in_a_result_is_named(departments, catalog_root):
    _append(
        catalog_root,
        BIRTH,
        """
[result]
certificate_type = "resident-id-card"
fields = { name = "form.no_such_field", birth_date = "tomorrow", spouse = "applicant.name" }
""",
    )
    _append(
        catalog_root,
        LICENCE,
        """
[result]
certificate_type = "birth-medical-certificate"
fields = { child_name = "organisation.name" }
colour = "red"
""",
    )

    fields = _problems(catalog_root)

    assert fields == {
        f"{BIRTH}: result.fields.name": ["The form has no field no_such_field."],
        f"{BIRTH}: result.fields.birth_date": [
            "'tomorrow' is not a source: use form.<field> or one of applicant.name, "
            "applicant.id_number, organisation.name, organisation.uscc, application.number, "
            "issuer.name, issued_on."
        ],
        f"{BIRTH}: result.fields.spouse": ["resident-id-card has no field spouse."],
        f"{LICENCE}: result.colour": ["Unknown key."],
        f"{LICENCE}: result.certificate_type": [
            "A certificate for persons needs an item for persons.",
            "birth-medical-certificate is issued by health departments.",
        ],
    }


def test_an_unknown_certificate_type_is_named(departments, catalog_root):
    _append(catalog_root, BIRTH, '\n[result]\ncertificate_type = "nope"\nfields = {}\n')

    assert _problems(catalog_root) == {
        f"{BIRTH}: result.certificate_type": ["No certificate type has the code 'nope'."]
    }
