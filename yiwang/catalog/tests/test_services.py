from __future__ import annotations

import re
from pathlib import Path

import pytest

from yiwang.catalog.models import (
    LifeSituation,
    Material,
    ServiceItem,
    ServiceItemVersion,
    ServiceStandard,
)
from yiwang.catalog.services import (
    CatalogDataError,
    catalog_load,
    service_item_publish,
    service_item_retire,
    snapshot_digest,
)
from yiwang.certificates.models import CertificateType
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.identity.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BIRTH = "items/public_security/330106-GA-0001.toml"
CERTIFICATE = "items/health/330106-WJ-0001.toml"


def _edit(root: Path, path: str, old: str, new: str) -> None:
    file = root / path
    text = file.read_text(encoding="utf-8")
    assert old in text, old
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def _nothing_written() -> bool:
    return not any(
        model.objects.exists()
        for model in (
            CertificateType,
            LifeSituation,
            ServiceStandard,
            ServiceItem,
            Material,
            ServiceItemVersion,
        )
    )


def _problems(departments, root: Path) -> dict[str, list[str]]:
    with pytest.raises(CatalogDataError) as caught:
        catalog_load(root=root)
    assert _nothing_written()
    return caught.value.fields


# ---------------------------------------------------------------------------------------
# Loading


def test_load_creates_every_row_and_publishes_every_item_as_version_1(loaded):
    assert (loaded.certificate_types.created, loaded.life_situations.created) == (3, 3)
    assert (loaded.standards.created, loaded.items.created, loaded.materials.created) == (3, 3, 6)
    assert loaded.versions_created == 3
    assert ServiceItemVersion.objects.count() == 3
    birth = ServiceItem.objects.get(code="330106-GA-0001")
    assert birth.status == ServiceItem.Status.PUBLISHED
    assert birth.current_version.number == 1
    assert birth.region_code == "330106"
    assert birth.department.code == "330106-GA"
    assert birth.bpmn_process_id == "licensing_standard"
    assert list(birth.life_situations.values_list("code", flat=True)) == ["birth"]
    assert list(birth.materials.values_list("code", "certificate_type__code", "order")) == [
        ("birth-certificate", "birth-medical-certificate", 0),
        ("parent-id-card", "resident-id-card", 1),
        ("marriage-certificate", None, 2),
    ]


def test_the_snapshot_holds_guide_materials_form_and_process_with_its_digest(loaded):
    version = ServiceItem.objects.get(code="330106-GA-0001").current_version
    snapshot = version.snapshot

    assert snapshot["department"] == {"code": "330106-GA", "name": "杭州市公安局西湖区分局"}
    assert snapshot["region"] == {"code": "330106", "name": "西湖区"}
    assert snapshot["standard"] == {"code": "000173001000", "name": "出生登记"}
    assert (snapshot["legal_limit_days"], snapshot["promised_limit_days"]) == (20, 1)
    assert snapshot["procedure"] == ["网上申请", "受理", "审查", "决定", "送达"]
    assert snapshot["materials"][0] == {
        "code": "birth-certificate",
        "name": "《出生医学证明》",
        "form": "original",
        "copies": 1,
        "required": True,
        "condition": "",
        "certificate_type": "birth-medical-certificate",
        "certificate_type_name": "出生医学证明",
        "notes": "",
    }
    assert snapshot["form"]["schema"]["required"] == ["child_name", "birth_date", "gender"]
    assert snapshot["form"]["ui"]["ui:order"] == ["child_name", "birth_date", "gender"]
    assert snapshot["process_id"] == "licensing_standard"
    assert snapshot["bpmn_xml"].startswith("<?xml")
    assert snapshot["dmn_xmls"] == []
    assert version.digest == snapshot_digest(snapshot)
    assert re.fullmatch(r"[0-9a-f]{64}", version.digest)


def test_loading_unchanged_files_again_writes_nothing_and_creates_no_version(loaded, catalog_root):
    updated_at = dict(ServiceItem.objects.values_list("code", "updated_at"))

    again = catalog_load(root=catalog_root)

    assert again.versions_created == 0
    assert again.changed is False
    assert (again.items.unchanged, again.materials.unchanged, again.standards.unchanged) == (
        3,
        6,
        3,
    )
    assert ServiceItemVersion.objects.count() == 3
    assert dict(ServiceItem.objects.values_list("code", "updated_at")) == updated_at


def test_a_changed_item_gets_a_new_version_and_the_old_one_stays_intact(loaded, catalog_root):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    first = item.current_version
    first_snapshot, first_digest = first.snapshot, first.digest
    _edit(catalog_root, BIRTH, "promised_limit_days = 1", "promised_limit_days = 2")

    again = catalog_load(root=catalog_root)

    item.refresh_from_db()
    first.refresh_from_db()
    assert (again.items.updated, again.items.unchanged, again.versions_created) == (1, 2, 1)
    assert item.current_version.number == 2
    assert item.current_version.snapshot["promised_limit_days"] == 2
    assert item.promised_limit_days == 2
    assert (first.number, first.snapshot, first.digest) == (1, first_snapshot, first_digest)
    assert first.snapshot["promised_limit_days"] == 1
    assert list(item.versions.values_list("number", flat=True)) == [2, 1]


def test_a_removed_material_is_deleted_and_the_item_republished(loaded, catalog_root):
    file = catalog_root / BIRTH
    text = file.read_text(encoding="utf-8")
    file.write_text(text[: text.index('[[materials]]\ncode = "marriage-certificate"')], "utf-8")

    again = catalog_load(root=catalog_root)

    item = ServiceItem.objects.get(code="330106-GA-0001")
    assert again.materials_deleted == 1
    assert again.versions_created == 1
    assert list(item.materials.values_list("code", flat=True)) == [
        "birth-certificate",
        "parent-id-card",
    ]
    assert len(item.current_version.snapshot["materials"]) == 2


def test_a_retired_item_is_updated_on_load_but_stays_retired(loaded, catalog_root):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    service_item_retire(item=item, actor=None)
    _edit(catalog_root, BIRTH, 'fee = "不收费"', 'fee = "免费"')

    again = catalog_load(root=catalog_root)

    item.refresh_from_db()
    assert item.status == ServiceItem.Status.RETIRED
    assert item.fee == "免费"
    assert item.current_version.number == 1
    assert again.versions_created == 0


# ---------------------------------------------------------------------------------------
# Validation: every problem named by file and field, nothing written


def test_an_unknown_department_is_named_and_nothing_is_written(departments, catalog_root):
    _edit(catalog_root, BIRTH, 'department = "330106-GA"', 'department = "330106-XX"')
    _edit(catalog_root, BIRTH, 'code = "330106-GA-0001"', 'code = "330106-XX-0001"')
    (catalog_root / BIRTH).rename(catalog_root / "items/public_security/330106-XX-0001.toml")

    fields = _problems(departments, catalog_root)

    assert fields == {
        "items/public_security/330106-XX-0001.toml: department": [
            "No department has the code '330106-XX'."
        ]
    }


def test_an_inactive_department_is_refused(departments, catalog_root):
    departments["330106-WJ"].is_active = False
    departments["330106-WJ"].save()

    fields = _problems(departments, catalog_root)

    assert fields == {f"{CERTIFICATE}: department": ["The department 330106-WJ is not active."]}


def test_an_unknown_certificate_type_is_named_with_its_material(departments, catalog_root):
    _edit(catalog_root, BIRTH, '"resident-id-card"', '"passport"')

    fields = _problems(departments, catalog_root)

    assert fields == {
        f"{BIRTH}: materials[1].certificate_type": ["No certificate type has the code 'passport'."]
    }


def test_a_promised_limit_beyond_the_legal_limit_is_refused(departments, catalog_root):
    _edit(catalog_root, CERTIFICATE, "promised_limit_days = 3", "promised_limit_days = 11")

    fields = _problems(departments, catalog_root)

    assert fields == {
        f"{CERTIFICATE}: promised_limit_days": [
            "The promised time limit (11) exceeds the legal one (10)."
        ]
    }


def test_an_invalid_json_schema_is_named_with_its_form_file(departments, catalog_root):
    _edit(
        catalog_root,
        "forms/business-registration.json",
        '"maxLength": 50',
        '"maxLength": "fifty"',
    )

    fields = _problems(departments, catalog_root)

    assert list(fields) == ["forms/business-registration.json: schema"]
    [message] = fields["forms/business-registration.json: schema"]
    assert message.startswith("Not a valid JSON Schema: properties/trade_name/maxLength")


def test_ui_order_naming_a_field_the_schema_lacks_is_refused(departments, catalog_root):
    _edit(
        catalog_root,
        "forms/business-registration.json",
        '"ui:order": ["trade_name", "address"]',
        '"ui:order": ["trade_name", "adress"]',
    )

    fields = _problems(departments, catalog_root)

    assert fields == {
        "forms/business-registration.json: ui.ui:order": [
            "adress is not a property of the form.",
            "address is missing from ui:order.",
        ]
    }


def test_malformed_bpmn_is_named_with_the_items_that_use_it(departments, catalog_root):
    (catalog_root / "processes/licensing-standard.bpmn").write_text(
        "<bpmn:definitions", encoding="utf-8"
    )

    fields = _problems(departments, catalog_root)

    assert sorted(fields) == sorted(
        [
            f"{BIRTH}: process",
            f"{CERTIFICATE}: process",
            "items/market_regulation/330100-SJ-0001.toml: process",
        ]
    )
    assert fields[f"{BIRTH}: process"][0].startswith(
        "processes/licensing-standard.bpmn cannot run:"
    )


def test_a_process_id_the_bpmn_does_not_define_is_refused(departments, catalog_root):
    _edit(catalog_root, BIRTH, 'process_id = "licensing_standard"', 'process_id = "nope"')

    fields = _problems(departments, catalog_root)

    assert list(fields) == [f"{BIRTH}: process"]


def test_a_duplicate_material_code_is_refused(departments, catalog_root):
    _edit(catalog_root, BIRTH, 'code = "parent-id-card"', 'code = "birth-certificate"')

    fields = _problems(departments, catalog_root)

    assert fields == {f"{BIRTH}: materials[1].code": ["'birth-certificate' appears twice."]}


def test_bad_toml_is_named_with_its_file_and_line(departments, catalog_root):
    _edit(catalog_root, "standards.toml", 'name = "出生登记"', 'name = "出生登记')

    fields = _problems(departments, catalog_root)

    [location] = [key for key in fields if key.startswith("standards.toml")]
    assert location == "standards.toml"
    assert fields[location][0].startswith("Not valid TOML:")
    assert "line 3" in fields[location][0]


def test_every_problem_is_listed_not_only_the_first(departments, catalog_root):
    _edit(catalog_root, BIRTH, "legal_limit_days = 20", 'legal_limit_days = "twenty"')
    _edit(catalog_root, BIRTH, 'item_type = "confirmation"', 'item_type = "permit"')
    _edit(catalog_root, CERTIFICATE, 'life_situations = ["birth"]', 'life_situations = ["baby"]')
    _edit(catalog_root, "certificate-types.toml", 'holder = "organisation"', 'holder = "company"')

    with pytest.raises(CatalogDataError) as caught:
        catalog_load(root=catalog_root)

    assert [str(p) for p in caught.value.problems] == [
        "certificate-types.toml: certificate_type[2].holder: "
        "'company' is not one of: person, organisation",
        "items/health/330106-WJ-0001.toml: life_situations[0]: "
        "No life situation has the code 'baby'.",
        f"{BIRTH}: legal_limit_days: Give a whole number.",
        f"{BIRTH}: item_type: 'permit' is not one of: licensing, confirmation, payment, "
        "adjudication, reward, other_power, public_service",
    ]
    assert caught.value.message == "The catalogue has 4 problems; nothing was loaded."
    assert caught.value.status == 422
    assert _nothing_written()


def test_missing_keys_unknown_keys_and_missing_files_are_named(departments, catalog_root):
    _edit(catalog_root, BIRTH, 'name = "出生登记"\n', 'nmae = "出生登记"\n')
    _edit(catalog_root, CERTIFICATE, 'form = "birth-registration"', 'form = "birth"')
    (catalog_root / "life-situations.toml").unlink()

    fields = _problems(departments, catalog_root)

    assert fields[f"{BIRTH}: nmae"] == ["Unknown key."]
    assert fields[f"{BIRTH}: name"] == ["This key is required."]
    assert fields[f"{CERTIFICATE}: form"] == ["There is no file forms/birth.json."]
    assert fields["life-situations.toml"] == ["The file is missing."]
    # Its situations are gone too, so the items that name them say so.
    assert fields[f"{BIRTH}: life_situations[0]"] == ["No life situation has the code 'birth'."]


def test_an_item_file_must_be_named_after_its_code_in_its_department_kind(
    departments, catalog_root
):
    (catalog_root / BIRTH).rename(catalog_root / "items/health/birth.toml")

    fields = _problems(departments, catalog_root)

    assert fields == {
        "items/health/birth.toml: code": [
            "The file must be named after the code (330106-GA-0001.toml)."
        ],
        "items/health/birth.toml: department": [
            "An item of a public_security department belongs in items/public_security/."
        ],
    }


def test_an_optional_material_must_say_when_it_is_needed(departments, catalog_root):
    _edit(catalog_root, BIRTH, 'condition = "父母已登记结婚的"\n', "")

    fields = _problems(departments, catalog_root)

    assert fields == {
        f"{BIRTH}: materials[2].condition": ["Say when an optional material is needed."]
    }


def test_an_item_type_differing_from_its_standard_is_refused(departments, catalog_root):
    _edit(catalog_root, CERTIFICATE, 'item_type = "public_service"', 'item_type = "licensing"')

    fields = _problems(departments, catalog_root)

    assert fields == {
        f"{CERTIFICATE}: item_type": ["The standard 000149005000 is of type public_service."]
    }


def test_a_missing_catalogue_folder_is_an_error(departments, tmp_path):
    with pytest.raises(CatalogDataError) as caught:
        catalog_load(root=tmp_path / "nowhere")

    assert [p.message for p in caught.value.problems] == ["The catalogue folder does not exist."]


# ---------------------------------------------------------------------------------------
# Publishing and retiring


def test_publishing_an_unchanged_item_twice_returns_the_same_version(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    admin = UserFactory()

    first = service_item_publish(item=item, actor=admin)
    second = service_item_publish(item=item, actor=admin)

    assert first == second == item.current_version
    assert first.number == 1
    assert item.versions.count() == 1


def test_an_edit_changes_the_published_version_only_when_published_again(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    admin = UserFactory()
    item.name = "出生登记（新）"
    item.save()

    item.refresh_from_db()
    assert item.current_version.number == 1
    assert item.current_version.snapshot["name"] == "出生登记"

    version = service_item_publish(item=item, actor=admin)

    assert (version.number, version.snapshot["name"], version.published_by) == (
        2,
        "出生登记（新）",
        admin,
    )
    item.refresh_from_db()
    assert item.current_version == version


def test_an_item_with_an_invalid_form_cannot_be_published(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    item.form_schema = {"type": "object", "properties": {"a": {"type": "text"}}}
    item.ui_schema = {"ui:order": ["b"]}
    item.save()

    with pytest.raises(ValidationFailed) as caught:
        service_item_publish(item=item, actor=None)

    assert set(caught.value.fields) == {"form_schema"}
    assert item.versions.count() == 1


def test_an_item_with_a_broken_process_cannot_be_published(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    item.bpmn_process_id = "missing"
    item.ui_schema = {"ui:order": ["child_name", "birth_date", "gender", "nickname"]}
    item.save()

    with pytest.raises(ValidationFailed) as caught:
        service_item_publish(item=item, actor=None)

    assert set(caught.value.fields) == {"bpmn_xml", "ui_schema"}
    assert caught.value.fields["ui_schema"] == ["nickname is not a property of the form."]
    assert item.versions.count() == 1


def test_a_draft_item_is_published_as_version_1(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    draft = ServiceItem.objects.create(
        code="330106-GA-0002",
        standard=item.standard,
        name="草稿事项",
        item_type=item.item_type,
        department=item.department,
        region_code="330106",
        target="person",
        legal_limit_days=5,
        promised_limit_days=5,
        form_schema=item.form_schema,
        ui_schema=item.ui_schema,
        bpmn_xml=item.bpmn_xml,
        bpmn_process_id=item.bpmn_process_id,
    )

    version = service_item_publish(item=draft, actor=None)

    assert version.number == 1
    assert draft.status == ServiceItem.Status.PUBLISHED
    assert version.snapshot["materials"] == []


def test_retiring_a_published_item_keeps_its_versions(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")

    service_item_retire(item=item, actor=UserFactory())

    assert item.status == ServiceItem.Status.RETIRED
    assert item.current_version.number == 1


def test_retiring_an_item_twice_is_a_conflict(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    service_item_retire(item=item, actor=None)

    with pytest.raises(Conflict) as caught:
        service_item_retire(item=item, actor=None)

    assert caught.value.code == "item_not_published"


def test_publishing_a_retired_item_brings_it_back_without_a_new_version(loaded):
    item = ServiceItem.objects.get(code="330106-GA-0001")
    service_item_retire(item=item, actor=None)

    version = service_item_publish(item=item, actor=None)

    item.refresh_from_db()
    assert item.status == ServiceItem.Status.PUBLISHED
    assert version.number == 1
