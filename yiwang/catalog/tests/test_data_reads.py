"""Items name the registry data their department reads through the exchange."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXCHANGE_DEPARTMENTS
from yiwang.catalog.models import ServiceItem
from yiwang.catalog.services import CatalogDataError, catalog_load, service_item_publish
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import Region
from yiwang.exchange.models import ConsumerSystem
from yiwang.exchange.services import WORKBENCH_SYSTEM
from yiwang.identity.models import Department

pytestmark = pytest.mark.django_db

BIRTH = "items/public_security/330106-GA-0001.toml"

HOUSEHOLD_READ = """
[[data_reads]]
resource = "household-register"
fields = ["household_number", "name"]
purpose = "出生登记：核验随其落户的父（母）户籍信息"
"""


def _append(root: Path, path: str, text: str) -> None:
    file = root / path
    file.write_text(file.read_text(encoding="utf-8") + text, encoding="utf-8")


def _problems(root: Path) -> dict[str, list[str]]:
    with pytest.raises(CatalogDataError) as caught:
        catalog_load(root=root)
    assert not ServiceItem.objects.exists()
    return caught.value.fields


def test_the_version_keeps_what_the_department_reads_with_names_for_the_applicant(
    departments, data_exchange, catalog_root
):
    _append(catalog_root, BIRTH, HOUSEHOLD_READ)

    catalog_load(root=catalog_root)

    item = ServiceItem.objects.get(code="330106-GA-0001")
    assert item.data_reads == [
        {
            "resource": "household-register",
            "fields": ["household_number", "name"],
            "purpose": "出生登记：核验随其落户的父（母）户籍信息",
        }
    ]
    assert item.current_version.snapshot["data_reads"] == [
        {
            "resource": "household-register",
            "name": "户籍登记信息",
            "provider": {"code": "330100-GA", "name": "杭州市公安局"},
            "subject_kind": "person",
            "consent": True,
            "fields": [
                {"name": "household_number", "label": "户号"},
                {"name": "name", "label": "姓名"},
            ],
            "purpose": "出生登记：核验随其落户的父（母）户籍信息",
        }
    ]
    # The department's workbench system exists, so its data officer can ask for grants.
    assert ConsumerSystem.objects.filter(
        department__code="330106-GA", code=WORKBENCH_SYSTEM
    ).exists()
    # Items that read nothing register nothing: the health bureau's item reads nothing, so
    # its workbench holds only the catalogue's standing grants for contact tracing.
    health = ConsumerSystem.objects.get(department__code="330106-WJ", code=WORKBENCH_SYSTEM)
    assert sorted(health.grants.values_list("resource__code", flat=True)) == [
        "transport-manifest",
        "transport-trips",
    ]


def test_an_unknown_resource_an_unknown_field_and_a_repeated_resource_are_named(
    departments, data_exchange, catalog_root
):
    _append(
        catalog_root,
        BIRTH,
        HOUSEHOLD_READ
        + HOUSEHOLD_READ
        + """
[[data_reads]]
resource = "tax-records"
fields = ["income"]
purpose = "核验收入"

[[data_reads]]
resource = "marriage-record"
fields = ["certificate_number", "salary"]
purpose = "核验婚姻状况"

[[data_reads]]
resource = "population-basic"
fields = []
purpose = ""
""",
    )

    fields = _problems(catalog_root)

    assert fields == {
        f"{BIRTH}: data_reads[1].resource": ["'household-register' appears twice."],
        f"{BIRTH}: data_reads[2].resource": ["No data resource has the code 'tax-records'."],
        f"{BIRTH}: data_reads[3].fields": ["marriage-record has no field salary."],
        f"{BIRTH}: data_reads[4].fields": ["Name at least one field."],
        f"{BIRTH}: data_reads[4].purpose": ["This key must not be empty."],
    }


def test_resources_of_the_catalogue_folders_own_file_are_known_before_they_are_loaded(
    departments, regions, catalog_root, settings, tmp_path
):
    """A fresh installation: data-resources.toml is loaded first, then the items."""
    settings.EXCHANGE_LOG_KEY_FILE = tmp_path / "keys" / "log.pem"
    for code, (name, kind) in EXCHANGE_DEPARTMENTS.items():
        Department.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "region": Region.objects.get(code="330100")},
        )
    (catalog_root / "data-resources.toml").write_bytes(
        (Path(settings.BASE_DIR) / "catalog-data" / "data-resources.toml").read_bytes()
    )
    _append(catalog_root, BIRTH, HOUSEHOLD_READ)

    result = catalog_load(root=catalog_root)

    assert result.data_resources is not None
    assert result.data_resources.resources == 11
    snapshot = ServiceItem.objects.get(code="330106-GA-0001").current_version.snapshot
    assert snapshot["data_reads"][0]["name"] == "户籍登记信息"


def test_a_data_resource_file_with_an_unknown_provider_loads_nothing(
    departments, regions, catalog_root, settings
):
    (catalog_root / "data-resources.toml").write_text(
        '[[resource]]\ncode = "x"\nname = "x"\ndescription = "x"\nprovider = "330199-XX"\n'
        'sharing = "conditional"\nsubject = "person"\nfrequency = "daily"\nfields = []\n',
        encoding="utf-8",
    )

    fields = _problems(catalog_root)

    assert fields == {"data-resources.toml: x": ["unknown provider department 330199-XX"]}


def test_an_item_edited_to_read_unknown_data_cannot_be_published(
    departments, data_exchange, catalog_root
):
    catalog_load(root=catalog_root)
    item = ServiceItem.objects.get(code="330106-GA-0001")
    item.data_reads = [
        {"resource": "household-register", "fields": ["name", "salary"], "purpose": "核验"},
        {"resource": "tax-records", "fields": ["income"], "purpose": "核验"},
        {"resource": "marriage-record", "fields": ["status"], "purpose": " "},
    ]
    item.save()

    with pytest.raises(ValidationFailed) as caught:
        service_item_publish(item=item, actor=None)

    assert set(caught.value.fields) == {"data_reads"}
    messages = caught.value.fields["data_reads"]
    assert len(messages) == 3
    assert messages[0].startswith("Name fields of household-register: household_number、")
    assert messages[1] == "No data resource has the code 'tax-records'."
    assert messages[2] == ("Give the purpose of reading marriage-record (at most 200 characters).")
    assert item.versions.count() == 1
