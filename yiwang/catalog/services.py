"""Use cases that write the service catalogue: load it from data, publish and retire items.

A published version's snapshot is a JSON object with these keys (applications read it)::

    code, name, standard {code, name}, item_type, department {code, name},
    region {code, name}, target, summary, legal_limit_days, promised_limit_days,
    visits_required, online_depth, fee, legal_basis, conditions, procedure [str],
    cross_region, min_assurance_level,
    materials [{code, name, form, copies, required, condition,
                certificate_type (code or null), certificate_type_name, notes}],
    form {schema (JSON Schema), ui (UI hints)}, bpmn_xml, process_id, dmn_xmls [str],
    data_reads [{resource, name, provider {code, name}, subject_kind, consent,
                 fields [{name, label}], purpose}]
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.catalog.datafiles import (
    CatalogData,
    CatalogDataError,
    CatalogProblem,
    ItemSpec,
    catalog_read,
    form_problems,
    process_problem,
)
from yiwang.catalog.models import (
    LifeEventBundle,
    LifeSituation,
    Material,
    ServiceItem,
    ServiceItemVersion,
    ServiceStandard,
)
from yiwang.certificates.models import CertificateType
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.core.models import Region
from yiwang.exchange import selectors as exchange_selectors
from yiwang.exchange import services as exchange_services
from yiwang.identity.models import User

__all__ = [
    "CatalogDataError",
    "CatalogLoadResult",
    "CatalogProblem",
    "LoadCounts",
    "catalog_load",
    "service_item_publish",
    "service_item_retire",
    "snapshot_digest",
]

logger = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=models.Model)


# ---------------------------------------------------------------------------------------
# Results and errors


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class CatalogLoadResult:
    certificate_types: LoadCounts = field(default_factory=LoadCounts)
    life_situations: LoadCounts = field(default_factory=LoadCounts)
    standards: LoadCounts = field(default_factory=LoadCounts)
    items: LoadCounts = field(default_factory=LoadCounts)
    materials: LoadCounts = field(default_factory=LoadCounts)
    bundles: LoadCounts = field(default_factory=LoadCounts)
    materials_deleted: int = 0
    versions_created: int = 0
    # The data resources of data-resources.toml, when the catalogue folder has one.
    data_resources: exchange_services.ResourceLoadCounts | None = None

    @property
    def changed(self) -> bool:
        parts = (
            self.certificate_types,
            self.life_situations,
            self.standards,
            self.items,
            self.bundles,
        )
        return (
            any(p.changed for p in (*parts, self.materials))
            or bool(self.materials_deleted)
            or bool(self.versions_created)
        )

    def rows(self) -> list[tuple[str, int, int, int]]:
        """(what, total, created, updated) for each kind of row."""
        return [
            (label, counts.total, counts.created, counts.updated)
            for label, counts in (
                ("电子证照类型 Certificate types", self.certificate_types),
                ("主题 Life situations", self.life_situations),
                ("事项标准 Service standards", self.standards),
                ("服务事项 Service items", self.items),
                ("申请材料 Materials", self.materials),
                ("一件事 Life-event bundles", self.bundles),
            )
        ]


# ---------------------------------------------------------------------------------------
# Publishing


def _snapshot(item: ServiceItem) -> dict[str, Any]:
    region = Region.objects.filter(code=item.region_code).only("name").first()
    materials = item.materials.select_related("certificate_type").order_by("order", "code")
    return {
        "code": item.code,
        "name": item.name,
        "standard": {"code": item.standard.code, "name": item.standard.name},
        "item_type": item.item_type,
        "department": {"code": item.department.code, "name": item.department.name},
        "region": {"code": item.region_code, "name": region.name if region else ""},
        "target": item.target,
        "summary": item.summary,
        "legal_limit_days": item.legal_limit_days,
        "promised_limit_days": item.promised_limit_days,
        "visits_required": item.visits_required,
        "online_depth": item.online_depth,
        "fee": item.fee,
        "legal_basis": item.legal_basis,
        "conditions": item.conditions,
        "procedure": list(item.procedure),
        "cross_region": item.cross_region,
        "founding": item.founding,
        "min_assurance_level": item.min_assurance_level,
        "materials": [
            {
                "code": m.code,
                "name": m.name,
                "form": m.form,
                "copies": m.copies,
                "required": m.required,
                "condition": m.condition,
                "certificate_type": m.certificate_type.code if m.certificate_type else None,
                "certificate_type_name": m.certificate_type.name if m.certificate_type else "",
                "notes": m.notes,
            }
            for m in materials
        ],
        "form": {"schema": item.form_schema, "ui": item.ui_schema},
        "bpmn_xml": item.bpmn_xml,
        "process_id": item.bpmn_process_id,
        "dmn_xmls": list(item.dmn_xml),
        "data_reads": _data_reads_snapshot(item.data_reads),
        "result": _result_snapshot(item.result),
    }


def _result_snapshot(result: Mapping[str, Any]) -> dict[str, Any]:
    """The certificate the result issues, with its type's name and holder kind."""
    code = result.get("certificate_type") if result else None
    kind = CertificateType.objects.filter(code=code).first() if code else None
    if kind is None:
        return {}
    return {
        "certificate_type": kind.code,
        "certificate_type_name": kind.name,
        "holder": kind.holder,
        "fields": dict(result.get("fields") or {}),
        **{k: result[k] for k in ("effect", "holder_name", "holder_id_number") if k in result},
    }


def _data_reads_snapshot(reads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What the department reads, with the names the applicant is shown when consenting."""
    snapshot = []
    for read in reads:
        resource = exchange_selectors.data_resource_get(read["resource"])
        if resource is None:  # pragma: no cover - refused by _item_problems
            continue
        labels = {f.name: f.label for f in resource.fields.all()}
        snapshot.append(
            {
                "resource": resource.code,
                "name": resource.name,
                "provider": {"code": resource.provider.code, "name": resource.provider.name},
                "subject_kind": resource.subject_kind,
                "consent": resource.requires_consent,
                "fields": [{"name": name, "label": labels[name]} for name in read["fields"]],
                "purpose": read["purpose"],
            }
        )
    return snapshot


def _data_reads_problems(reads: object) -> list[str]:
    if not isinstance(reads, list) or not all(isinstance(r, dict) for r in reads):
        return [_("Give a list of data reads.")]
    known = exchange_selectors.data_resource_fields()
    problems = []
    for read in reads:
        code = read.get("resource")
        fields = read.get("fields")
        purpose = read.get("purpose")
        if not isinstance(code, str) or code not in known:
            problems.append(_("No data resource has the code %(code)r.") % {"code": code})
            continue
        if (
            not isinstance(fields, list)
            or not fields
            or not all(isinstance(f, str) and f in known[code] for f in fields)
        ):
            problems.append(
                _("Name fields of %(resource)s: %(fields)s.")
                % {"resource": code, "fields": "、".join(known[code])}
            )
        if not isinstance(purpose, str) or not purpose.strip() or len(purpose) > 200:
            problems.append(
                _("Give the purpose of reading %(resource)s (at most 200 characters).")
                % {"resource": code}
            )
    return problems


def snapshot_digest(snapshot: Mapping[str, Any]) -> str:
    """SHA-256 of the snapshot's canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _item_problems(item: ServiceItem) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for name, message in form_problems(item.form_schema, item.ui_schema):
        target = "form_schema" if name.startswith("schema") else "ui_schema"
        problems.setdefault(target, []).append(message)
    if not isinstance(item.dmn_xml, list) or not all(isinstance(x, str) for x in item.dmn_xml):
        problems.setdefault("dmn_xml", []).append(_("Give a list of DMN documents."))
    else:
        error = process_problem(
            bpmn_xml=item.bpmn_xml, process_id=item.bpmn_process_id, dmn_xmls=item.dmn_xml
        )
        if error is not None:
            problems.setdefault("bpmn_xml", []).append(
                _("The process cannot run: %(error)s") % {"error": error}
            )
    if item.promised_limit_days > item.legal_limit_days:
        problems.setdefault("promised_limit_days", []).append(
            _("The promised time limit cannot exceed the legal one.")
        )
    if not item.department.is_active:
        problems.setdefault("department", []).append(_("The department is not active."))
    for message in _data_reads_problems(item.data_reads):
        problems.setdefault("data_reads", []).append(message)
    return problems


@transaction.atomic
def service_item_publish(*, item: ServiceItem, actor: User | None) -> ServiceItemVersion:
    """Freeze the item as it is now into a new version, unless the current one is the same.

    Publishing an unchanged item returns its current version. An item whose form or
    process is not valid cannot be published.
    """
    locked = (
        ServiceItem.objects.select_for_update(of=("self",))
        .select_related("standard", "department", "current_version")
        .get(pk=item.pk)
    )
    problems = _item_problems(locked)
    if problems:
        raise ValidationFailed(_("This item cannot be published."), fields=problems)
    snapshot = _snapshot(locked)
    digest = snapshot_digest(snapshot)
    version = locked.current_version
    if version is None or version.digest != digest:
        last = locked.versions.aggregate(last=Max("number"))["last"] or 0
        version = ServiceItemVersion.objects.create(
            item=locked, number=last + 1, snapshot=snapshot, digest=digest, published_by=actor
        )
        logger.info("Service item %s published as version %d", locked.code, version.number)
    if locked.current_version_id != version.pk or locked.status != ServiceItem.Status.PUBLISHED:
        locked.current_version = version
        locked.status = ServiceItem.Status.PUBLISHED
        locked.save(update_fields=["current_version", "status", "updated_at"])
    item.current_version = version
    item.status = locked.status
    return version


@transaction.atomic
def service_item_retire(*, item: ServiceItem, actor: User | None) -> ServiceItem:
    """Withdraw a published item from the catalogue; its versions stay for its applications."""
    retired = ServiceItem.objects.filter(pk=item.pk, status=ServiceItem.Status.PUBLISHED).update(
        status=ServiceItem.Status.RETIRED, updated_at=timezone.now()
    )
    if not retired:
        raise Conflict(_("Only a published item can be retired."), code="item_not_published")
    logger.info("Service item %s retired by user %s", item.code, actor.pk if actor else None)
    item.refresh_from_db(fields=["status", "updated_at"])
    return item


# ---------------------------------------------------------------------------------------
# Writing


def _upsert(
    model: type[ModelT], lookup: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[ModelT, str]:
    """Create the row or update the fields that differ: (row, created|updated|unchanged)."""
    manager = model._default_manager
    obj = manager.filter(**lookup).first()
    if obj is None:
        return manager.create(**lookup, **values), "created"
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    auto_now = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    obj.save(update_fields=[*changed, *auto_now])
    return obj, "updated"


def _reference_rows_write(catalog: CatalogData, result: CatalogLoadResult) -> None:
    for code, row in catalog.certificate_types.items():
        result.certificate_types.add(
            _upsert(CertificateType, {"code": code}, _without_code(row))[1]
        )
    for code, row in catalog.life_situations.items():
        result.life_situations.add(_upsert(LifeSituation, {"code": code}, _without_code(row))[1])
    for code, row in catalog.standards.items():
        result.standards.add(_upsert(ServiceStandard, {"code": code}, _without_code(row))[1])


def _without_code(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "code"}


def _bundle_write(bundle: Mapping[str, Any]) -> str:
    situation = bundle["life_situation"]
    values = {
        "name": bundle["name"],
        "target": bundle["target"],
        "life_situation_id": (
            LifeSituation.objects.only("pk").get(code=situation).pk if situation else None
        ),
        "region_code": bundle["region_code"],
        "summary": bundle["summary"],
        "applicant_note": bundle["applicant_note"],
        "definition": dict(bundle),
    }
    return _upsert(LifeEventBundle, {"code": bundle["code"]}, values)[1]


def _item_write(spec: ItemSpec, catalog: CatalogData, result: CatalogLoadResult) -> ServiceItem:
    department = catalog.departments[spec.department]
    schema, ui = catalog.forms[spec.form]
    values = {
        **_without_code(spec.values),
        "standard_id": ServiceStandard.objects.only("pk").get(code=spec.standard).pk,
        "department_id": department.pk,
        "region_code": department.region.code,
        "form_schema": schema,
        "ui_schema": ui,
        "bpmn_xml": catalog.processes[spec.process],
        "dmn_xml": [catalog.decisions[name] for name in spec.decisions],
        "data_reads": spec.data_reads,
        "result": spec.result,
    }
    item, outcome = _upsert(ServiceItem, {"code": spec.values["code"]}, values)
    situations = set(
        LifeSituation.objects.filter(code__in=spec.life_situations).values_list("pk", flat=True)
    )
    if set(item.life_situations.values_list("pk", flat=True)) != situations:
        item.life_situations.set(situations)
        outcome = "updated" if outcome == "unchanged" else outcome
    certificates = dict(
        CertificateType.objects.filter(
            code__in={m["certificate_type"] for m in spec.materials}
        ).values_list("code", "pk")
    )
    material_outcomes = []
    for material in spec.materials:
        material_values = {
            **_without_code(material),
            "certificate_type_id": certificates.get(material["certificate_type"]),
        }
        del material_values["certificate_type"]
        _obj, material_outcome = _upsert(
            Material, {"item": item, "code": material["code"]}, material_values
        )
        result.materials.add(material_outcome)
        material_outcomes.append(material_outcome)
    deleted, _by_model = item.materials.exclude(
        code__in=[m["code"] for m in spec.materials]
    ).delete()
    result.materials_deleted += deleted
    if outcome == "unchanged" and (deleted or any(o != "unchanged" for o in material_outcomes)):
        outcome = "updated"
    result.items.add(outcome)
    return item


@transaction.atomic
def catalog_load(*, root: Path) -> CatalogLoadResult:
    """Load the catalogue under ``root`` and publish every item, or nothing if any file is wrong.

    Rows are matched on their codes and written only when they differ; an item is
    published again (a new version) only when what it publishes changed. Retired items
    are updated but stay retired.
    """
    catalog = catalog_read(root)
    result = CatalogLoadResult()
    resources_file = root / "data-resources.toml"
    if resources_file.exists():
        # First: items name the resources their departments read.
        try:
            result.data_resources = exchange_services.data_resources_load(path=resources_file)
        except ValidationFailed as exc:
            raise CatalogDataError(
                [
                    CatalogProblem(resources_file.name, name, str(message))
                    for name, messages in exc.fields.items()
                    for message in messages
                ]
            ) from exc
    _reference_rows_write(catalog, result)
    for spec in catalog.items:
        item = _item_write(spec, catalog, result)
        if item.status == ServiceItem.Status.RETIRED:
            continue
        previous = item.current_version_id
        version = service_item_publish(item=item, actor=None)
        if version.pk != previous:
            result.versions_created += 1
        if spec.data_reads:
            # Its data officer can then ask the providers for grants to that system.
            exchange_services.workbench_consumer(catalog.departments[spec.department])
    for bundle in catalog.bundles:
        result.bundles.add(_bundle_write(bundle))
    logger.info(
        "Catalogue loaded from %s: %d items, %d new versions",
        root,
        result.items.total,
        result.versions_created,
    )
    return result
