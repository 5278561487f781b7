"""The catalogue's data files (catalog-data/README.md): read them and check everything.

:func:`catalog_read` reads every file and checks keys, types, enumerations, references
between files and to departments, every form's JSON Schema and every item's BPMN process,
and raises :class:`CatalogDataError` listing every problem (file and field) it found.
It writes nothing; ``services.catalog_load`` writes what it returns.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from yiwang.catalog import bundles as bundle_rules
from yiwang.catalog.models import ItemType, LifeSituation, Material, ServiceStandard, Target
from yiwang.certificates.models import CertificateType
from yiwang.core.errors import ValidationFailed
from yiwang.core.workflow import WorkflowDefinitionError, process_validate
from yiwang.exchange import selectors as exchange_selectors
from yiwang.identity.models import Department

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
# A certificate type or standard code: letters, digits, dots and hyphens.
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
ITEM_CODE_SUFFIX = re.compile(r"^-\d{4}$")
HOLDERS = ("person", "organisation")
SITUATION_TARGETS = (Target.PERSON.value, Target.ORGANISATION.value)


@dataclass(frozen=True)
class CatalogProblem:
    """One thing wrong in the catalogue data: where (file and field) and what."""

    path: str
    field: str
    message: str

    @property
    def location(self) -> str:
        return f"{self.path}: {self.field}" if self.field else self.path

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class CatalogDataError(ValidationFailed):
    """The catalogue data has problems; nothing was written. ``problems`` lists them all."""

    code = "catalog_invalid"

    def __init__(self, problems: Sequence[CatalogProblem]) -> None:
        # By file, each file's problems in the order they were found.
        self.problems = sorted(problems, key=lambda problem: problem.path)
        fields: dict[str, list[str]] = {}
        for problem in self.problems:
            fields.setdefault(problem.location, []).append(problem.message)
        count = len(self.problems)
        message = ngettext(
            "The catalogue has %(count)d problem; nothing was loaded.",
            "The catalogue has %(count)d problems; nothing was loaded.",
            count,
        ) % {"count": count}
        super().__init__(message, fields=fields)


# ---------------------------------------------------------------------------------------
# Checks shared with publishing


def form_problems(schema: object, ui: object) -> list[tuple[str, str]]:
    """What is wrong with a form's JSON Schema and UI hints, as (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    if not isinstance(schema, dict):
        return [("schema", _("The form schema must be a JSON object."))]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.path)
        problems.append(
            (
                "schema",
                _("Not a valid JSON Schema: %(error)s") % {"error": f"{where} {exc.message}"},
            )
        )
        return problems
    properties = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(properties, dict) or not properties:
        problems.append(("schema", _("The form schema must be an object with properties.")))
        return problems
    for name in schema.get("required", []):
        if name not in properties:
            problems.append(
                ("schema.required", _("%(name)s is not a property of the form.") % {"name": name})
            )
    if not isinstance(ui, dict):
        problems.append(("ui", _("The UI hints must be a JSON object.")))
        return problems
    # The field order must be explicit: PostgreSQL's jsonb does not keep the order of an
    # object's keys, so the order of "properties" is lost once stored.
    order = ui.get("ui:order")
    if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
        problems.append(
            ("ui.ui:order", _("ui:order must be a list of the form's field names, in order."))
        )
    else:
        problems.extend(
            ("ui.ui:order", _("%(name)s is not a property of the form.") % {"name": name})
            for name in order
            if name not in properties
        )
        problems.extend(
            ("ui.ui:order", _("%(name)s is missing from ui:order.") % {"name": name})
            for name in properties
            if name not in order
        )
    problems.extend(
        (f"ui.{name}", _("%(name)s is not a property of the form.") % {"name": name})
        for name in ui
        if not name.startswith("ui:") and name not in properties
    )
    for name, hints in ui.items():
        source = hints.get("ui:prefill") if isinstance(hints, dict) else None
        if source is not None and (message := prefill_source_problem(source)):
            problems.append((f"ui.{name}.ui:prefill", message))
    return problems


# Where a form field may be prefilled from (applications/prefill.py reads them).
PREFILL_APPLICANT_SOURCES = (
    "applicant.name",
    "applicant.id_number",
    "applicant.gender",
    "applicant.birth_date",
    "applicant.phone",
    "organisation.name",
    "organisation.uscc",
)


def prefill_source_problem(source: object) -> str | None:
    """Why a ``ui:prefill`` source is not one the platform knows, or None."""
    if isinstance(source, str):
        if source in PREFILL_APPLICANT_SOURCES:
            return None
        for prefix in ("registry:", "certificate:"):
            if source.startswith(prefix):
                code, _dot, field_name = source[len(prefix) :].partition(".")
                if code and field_name:
                    return None
    return _(
        "%(source)r is not a prefill source: use applicant.*, organisation.*, "
        "registry:<resource>.<field> or certificate:<type>.<field>."
    ) % {"source": source}


def process_problem(*, bpmn_xml: str, process_id: str, dmn_xmls: Sequence[str]) -> str | None:
    """Why the BPMN process (with its DMN tables) cannot run on the platform, or None."""
    # process_validate caches what it parsed: a catalogue shares a few processes.
    try:
        process_validate(bpmn_xml=bpmn_xml, process_id=process_id, dmn_xmls=dmn_xmls)
    except WorkflowDefinitionError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------------------------
# Reading


class _Fields:
    """Typed access to one TOML table, recording a problem for each bad or missing key."""

    def __init__(
        self, data: Mapping[str, Any], path: str, problems: list[CatalogProblem], prefix: str = ""
    ) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.prefix = prefix

    def problem(self, key: str, message: str) -> None:
        self.problems.append(CatalogProblem(self.path, f"{self.prefix}{key}", message))

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data:
            if required:
                self.problem(key, _("This key is required."))
            return None
        return self.data[key]

    def text(
        self,
        key: str,
        *,
        required: bool = True,
        default: str = "",
        max_length: int | None = None,
        pattern: re.Pattern[str] | None = None,
        choices: Iterable[str] | None = None,
    ) -> str:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(key, _("Give a string."))
            return default
        if required and not value.strip():
            self.problem(key, _("This key must not be empty."))
        elif max_length is not None and len(value) > max_length:
            self.problem(key, _("At most %(max)d characters.") % {"max": max_length})
        elif pattern is not None and not pattern.match(value):
            self.problem(key, _("%(value)r is not a valid code.") % {"value": value})
        elif choices is not None and value not in (allowed := list(choices)):
            self.problem(
                key,
                _("%(value)r is not one of: %(choices)s")
                % {"value": value, "choices": ", ".join(allowed)},
            )
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = True,
        default: int = 0,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(key, _("Give a whole number."))
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.problem(
                key,
                _("%(value)d is not between %(minimum)s and %(maximum)s.")
                % {"value": value, "minimum": minimum, "maximum": maximum},
            )
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(key, _("Give true or false."))
            return default
        return value

    def text_list(self, key: str, *, required: bool = False) -> list[str]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, _("Give a list of strings."))
            return []
        return value

    def raw(self, key: str) -> Any:
        """An optional key's value as it is, for the caller to check."""
        return self._get(key, False)

    def tables(self, key: str) -> list[Mapping[str, Any]]:
        value = self._get(key, False)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(key, _("Give a list of tables ([[%(key)s]]).") % {"key": key})
            return []
        return value

    def only(self, allowed: Iterable[str]) -> None:
        known = set(allowed)
        for key in self.data:
            if key not in known:
                self.problem(key, _("Unknown key."))


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _toml_read(path: Path, root: Path, problems: list[CatalogProblem]) -> dict[str, Any] | None:
    where = _relative(path, root)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        problems.append(CatalogProblem(where, "", _("The file is missing.")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(CatalogProblem(where, "", _("Not valid TOML: %(error)s") % {"error": exc}))
    return None


def _unique(
    rows: list[dict[str, Any]], path: str, what: str, problems: list[CatalogProblem]
) -> dict[str, dict[str, Any]]:
    by_code: dict[str, dict[str, Any]] = {}
    for index, row in enumerate(rows):
        if row["code"] in by_code:
            problems.append(
                CatalogProblem(
                    path,
                    f"{what}[{index}].code",
                    _("%(code)r appears twice.") % {"code": row["code"]},
                )
            )
        by_code[row["code"]] = row
    return by_code


def _certificate_types_read(
    root: Path, problems: list[CatalogProblem]
) -> dict[str, dict[str, Any]]:
    path = "certificate-types.toml"
    data = _toml_read(root / path, root, problems)
    if data is None:
        return {}
    rows = []
    for index, table in enumerate(_Fields(data, path, problems).tables("certificate_type")):
        f = _Fields(table, path, problems, prefix=f"certificate_type[{index}].")
        f.only(("code", "name", "issuer_kind", "holder", "validity_years", "fields"))
        validity = f.integer("validity_years", required=False, default=0, minimum=1, maximum=100)
        rows.append(
            {
                "code": f.text("code", max_length=32, pattern=CODE),
                "name": f.text("name", max_length=100),
                "issuer_kind": f.text("issuer_kind", choices=Department.Kind.values),
                "holder": f.text("holder", choices=HOLDERS),
                "validity_years": validity or None,
                "fields": f.text_list("fields"),
            }
        )
    return _unique(rows, path, "certificate_type", problems)


def _life_situations_read(root: Path, problems: list[CatalogProblem]) -> dict[str, dict[str, Any]]:
    path = "life-situations.toml"
    data = _toml_read(root / path, root, problems)
    if data is None:
        return {}
    rows = []
    for index, table in enumerate(_Fields(data, path, problems).tables("situation")):
        f = _Fields(table, path, problems, prefix=f"situation[{index}].")
        f.only(("code", "name", "target", "order"))
        rows.append(
            {
                "code": f.text("code", max_length=50, pattern=SLUG),
                "name": f.text("name", max_length=50),
                "target": f.text("target", choices=SITUATION_TARGETS),
                "order": f.integer("order", required=False, minimum=0, maximum=32767),
            }
        )
    return _unique(rows, path, "situation", problems)


def _standards_read(root: Path, problems: list[CatalogProblem]) -> dict[str, dict[str, Any]]:
    path = "standards.toml"
    data = _toml_read(root / path, root, problems)
    if data is None:
        return {}
    rows = []
    for index, table in enumerate(_Fields(data, path, problems).tables("standard")):
        f = _Fields(table, path, problems, prefix=f"standard[{index}].")
        f.only(("code", "name", "item_type", "department_kind", "legal_basis"))
        rows.append(
            {
                "code": f.text("code", max_length=32, pattern=CODE),
                "name": f.text("name", max_length=200),
                "item_type": f.text("item_type", choices=ItemType.values),
                "department_kind": f.text("department_kind", choices=Department.Kind.values),
                "legal_basis": f.text("legal_basis", required=False),
            }
        )
    return _unique(rows, path, "standard", problems)


@dataclass
class ItemSpec:
    path: str
    values: dict[str, Any]
    standard: str
    department: str
    life_situations: list[str]
    form: str
    process: str
    decisions: list[str]
    materials: list[dict[str, Any]]
    data_reads: list[dict[str, Any]]
    result: dict[str, Any] = field(default_factory=dict)


ITEM_KEYS = (
    "code",
    "standard",
    "name",
    "item_type",
    "department",
    "target",
    "life_situations",
    "summary",
    "legal_limit_days",
    "promised_limit_days",
    "visits_required",
    "online_depth",
    "fee",
    "legal_basis",
    "conditions",
    "procedure",
    "cross_region",
    "founding",
    "min_assurance_level",
    "keywords",
    "form",
    "process",
    "process_id",
    "decisions",
    "materials",
    "data_reads",
    "result",
)
DATA_READ_KEYS = ("resource", "fields", "purpose")
RESULT_KEYS = ("certificate_type", "fields", "effect", "holder_name", "holder_id_number")
# Registry acts a favourable result performs (applications/results.py): the form fields
# each reads, and the values it gives the certificate as effect.<name>.
RESULT_EFFECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "birth_medical_certificate": {
        "form": ("mother_id_number", "child_birth_date", "child_name"),
        "gives": ("certificate_number", "issuing_hospital", "birth_weight"),
    },
    "birth_registration": {
        "form": (
            "birth_certificate_number",
            "child_name",
            "child_gender",
            "child_birth_date",
            "child_ethnicity",
            "mother_id_number",
            "father_id_number",
            "follow",
            "relationship_to_head",
        ),
        "gives": (
            "id_number",
            "household_number",
            "household_type",
            "household_address",
            "head_of_household",
            "relationship_to_head",
            "registered_on",
        ),
    },
    "company_registration": {
        "form": (
            "company_name",
            "company_type",
            "company_address",
            "registered_capital",
            "business_scope",
            "legal_representative",
            "legal_representative_id_number",
        ),
        "gives": (
            "uscc",
            "name",
            "entity_type",
            "legal_representative",
            "registered_capital",
            "established_on",
            "business_term",
            "address",
            "business_scope",
            "registration_authority",
        ),
    },
}
# Where a result certificate's field takes its value from (see catalog-data/README.md).
RESULT_SOURCES = (
    "applicant.name",
    "applicant.id_number",
    "organisation.name",
    "organisation.uscc",
    "application.number",
    "issuer.name",
    "issued_on",
)
MATERIAL_KEYS = (
    "code",
    "name",
    "form",
    "copies",
    "required",
    "condition",
    "certificate_type",
    "notes",
)


def _item_read(file: Path, root: Path, problems: list[CatalogProblem]) -> ItemSpec | None:
    data = _toml_read(file, root, problems)
    if data is None:
        return None
    path = _relative(file, root)
    f = _Fields(data, path, problems)
    f.only(ITEM_KEYS)
    code = f.text("code", max_length=64)
    department = f.text("department", max_length=32)
    if code and code != file.stem:
        f.problem(
            "code", _("The file must be named after the code (%(code)s.toml).") % {"code": code}
        )
    if (
        code
        and department
        and not (code.startswith(department) and ITEM_CODE_SUFFIX.match(code[len(department) :]))
    ):
        f.problem(
            "code",
            _("The code must be the department code and four digits (%(department)s-0001).")
            % {"department": department},
        )
    known_problems = len(problems)
    legal = f.integer("legal_limit_days", minimum=0, maximum=32767)
    promised = f.integer("promised_limit_days", minimum=0, maximum=32767)
    # Compared only when both are valid numbers, so one mistake is reported once.
    if len(problems) == known_problems and promised > legal:
        f.problem(
            "promised_limit_days",
            _("The promised time limit (%(promised)d) exceeds the legal one (%(legal)d).")
            % {"promised": promised, "legal": legal},
        )
    values = {
        "code": code,
        "name": f.text("name", max_length=200),
        "item_type": f.text("item_type", choices=ItemType.values),
        "target": f.text("target", choices=Target.values),
        "summary": f.text("summary", required=False),
        "legal_limit_days": legal,
        "promised_limit_days": promised,
        "visits_required": f.integer("visits_required", required=False, minimum=0, maximum=2),
        "online_depth": f.integer("online_depth", required=False, default=4, minimum=1, maximum=4),
        "fee": f.text("fee", required=False, default="不收费", max_length=200),
        "legal_basis": f.text("legal_basis", required=False),
        "conditions": f.text("conditions", required=False),
        "procedure": f.text_list("procedure"),
        "cross_region": f.boolean("cross_region", default=False),
        "founding": f.boolean("founding", default=False),
        "min_assurance_level": f.integer(
            "min_assurance_level", required=False, default=2, minimum=1, maximum=3
        ),
        "keywords": f.text("keywords", required=False, max_length=500),
        "bpmn_process_id": f.text("process_id", max_length=100),
    }
    materials: list[dict[str, Any]] = []
    for index, table in enumerate(f.tables("materials")):
        m = _Fields(table, path, problems, prefix=f"materials[{index}].")
        m.only(MATERIAL_KEYS)
        required = m.boolean("required", default=True)
        condition = m.text("condition", required=False, max_length=300)
        if not required and not condition.strip():
            m.problem("condition", _("Say when an optional material is needed."))
        materials.append(
            {
                "code": m.text("code", max_length=50, pattern=SLUG),
                "name": m.text("name", max_length=200),
                "form": m.text("form", choices=Material.Form.values),
                "copies": m.integer("copies", required=False, default=1, minimum=0, maximum=99),
                "required": required,
                "condition": condition,
                "certificate_type": m.text("certificate_type", required=False),
                "notes": m.text("notes", required=False, max_length=300),
                "order": index,
            }
        )
    seen: set[str] = set()
    for index, material in enumerate(materials):
        if material["code"] in seen:
            f.problem(
                f"materials[{index}].code",
                _("%(code)r appears twice.") % {"code": material["code"]},
            )
        seen.add(material["code"])
    data_reads: list[dict[str, Any]] = []
    for index, table in enumerate(f.tables("data_reads")):
        d = _Fields(table, path, problems, prefix=f"data_reads[{index}].")
        d.only(DATA_READ_KEYS)
        data_reads.append(
            {
                "resource": d.text("resource", max_length=60, pattern=SLUG),
                "fields": d.text_list("fields", required=True),
                "purpose": d.text("purpose", max_length=200),
            }
        )
    result: dict[str, Any] = {}
    result_table = data.get("result")
    if result_table is not None:
        if not isinstance(result_table, dict):
            f.problem("result", _("Give a table ([result])."))
        else:
            r = _Fields(result_table, path, problems, prefix="result.")
            r.only(RESULT_KEYS)
            fields = result_table.get("fields")
            if not isinstance(fields, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
            ):
                r.problem("fields", _("Give a table of certificate field = source."))
                fields = {}
            result = {"certificate_type": r.text("certificate_type"), "fields": dict(fields)}
            for key in ("effect", "holder_name", "holder_id_number"):
                if key in result_table:
                    result[key] = r.text(key)
    return ItemSpec(
        path=path,
        values=values,
        standard=f.text("standard", max_length=32),
        department=department,
        life_situations=f.text_list("life_situations"),
        form=f.text("form", pattern=SLUG),
        process=f.text("process", pattern=SLUG),
        decisions=f.text_list("decisions"),
        materials=materials,
        data_reads=data_reads,
        result=result,
    )


def _data_resources_read(root: Path, problems: list[CatalogProblem]) -> dict[str, set[str]]:
    """The data resources (code → field names) of ``data-resources.toml`` and the database."""
    known: dict[str, set[str]] = {
        code: set(fields) for code, fields in exchange_selectors.data_resource_fields().items()
    }
    file = root / "data-resources.toml"
    if file.exists():
        data = _toml_read(file, root, problems) or {}
        for table in data.get("resource", []):
            if isinstance(table, dict) and isinstance(table.get("code"), str):
                known[table["code"]] = {
                    f["name"]
                    for f in table.get("fields", [])
                    if isinstance(f, dict) and isinstance(f.get("name"), str)
                }
    return known


def _data_reads_check(
    spec: ItemSpec, resources: Mapping[str, set[str]], problem: Callable[[str, str], None]
) -> None:
    seen: set[str] = set()
    for index, read in enumerate(spec.data_reads):
        code = read["resource"]
        if not code:
            continue
        if code in seen:
            problem(f"data_reads[{index}].resource", _("%(code)r appears twice.") % {"code": code})
        seen.add(code)
        if code not in resources:
            problem(
                f"data_reads[{index}].resource",
                _("No data resource has the code %(code)r.") % {"code": code},
            )
            continue
        if not read["fields"]:
            problem(f"data_reads[{index}].fields", _("Name at least one field."))
        unknown = [name for name in read["fields"] if name not in resources[code]]
        if unknown:
            problem(
                f"data_reads[{index}].fields",
                _("%(resource)s has no field %(fields)s.")
                % {"resource": code, "fields": "、".join(unknown)},
            )


def _forms_read(root: Path, problems: list[CatalogProblem]) -> dict[str, tuple[Any, Any]]:
    forms: dict[str, tuple[Any, Any]] = {}
    for file in sorted((root / "forms").glob("*.json")):
        path = _relative(file, root)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(
                CatalogProblem(path, "", _("Not valid JSON: %(error)s") % {"error": exc})
            )
            continue
        if not isinstance(data, dict) or "schema" not in data:
            problems.append(CatalogProblem(path, "schema", _("This key is required.")))
            continue
        unknown = set(data) - {"schema", "ui"}
        problems.extend(CatalogProblem(path, key, _("Unknown key.")) for key in sorted(unknown))
        schema, ui = data["schema"], data.get("ui", {})
        form_errors = form_problems(schema, ui)
        problems.extend(CatalogProblem(path, name, message) for name, message in form_errors)
        if not form_errors:
            forms[file.stem] = (schema, ui)
    return forms


def _texts_read(
    folder: Path, suffix: str, root: Path, problems: list[CatalogProblem]
) -> dict[str, str]:
    texts: dict[str, str] = {}
    for file in sorted(folder.glob(f"*{suffix}")):
        try:
            texts[file.stem] = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(CatalogProblem(_relative(file, root), "", _("Not UTF-8 text.")))
    return texts


@dataclass
class CatalogData:
    certificate_types: dict[str, dict[str, Any]]
    life_situations: dict[str, dict[str, Any]]
    standards: dict[str, dict[str, Any]]
    items: list[ItemSpec]
    forms: dict[str, tuple[Any, Any]]
    processes: dict[str, str]
    decisions: dict[str, str]
    departments: dict[str, Department]
    bundles: list[dict[str, Any]] = field(default_factory=list)


def catalog_read(root: Path) -> CatalogData:
    """Read and check every file; raise CatalogDataError listing every problem found."""
    problems: list[CatalogProblem] = []
    if not root.is_dir():
        raise CatalogDataError(
            [CatalogProblem(str(root), "", _("The catalogue folder does not exist."))]
        )
    certificate_types = _certificate_types_read(root, problems)
    life_situations = _life_situations_read(root, problems)
    standards = _standards_read(root, problems)
    forms = _forms_read(root, problems)
    processes = _texts_read(root / "processes", ".bpmn", root, problems)
    decisions = _texts_read(root / "decisions", ".dmn", root, problems)
    form_files = {f.stem for f in (root / "forms").glob("*.json")}
    items = [
        spec
        for file in sorted((root / "items").glob("**/*.toml"))
        if (spec := _item_read(file, root, problems)) is not None
    ]
    departments = {
        d.code: d
        for d in Department.objects.filter(code__in={i.department for i in items}).select_related(
            "region"
        )
    }
    resources = _data_resources_read(root, problems)
    known_certificates = set(certificate_types) | set(
        CertificateType.objects.values_list("code", flat=True)
    )
    known_standards = set(standards) | set(ServiceStandard.objects.values_list("code", flat=True))
    known_situations = set(life_situations) | set(
        LifeSituation.objects.values_list("code", flat=True)
    )
    seen_codes: dict[str, str] = {}
    for spec in items:
        problem = _reference_checker(spec, problems)
        code = spec.values["code"]
        if code in seen_codes:
            problem(
                "code",
                _("%(code)r is also used by %(other)s.")
                % {"code": code, "other": seen_codes[code]},
            )
        seen_codes.setdefault(code, spec.path)
        department = departments.get(spec.department)
        if spec.department and department is None:
            problem(
                "department", _("No department has the code %(code)r.") % {"code": spec.department}
            )
        elif department is not None:
            if not department.is_active:
                problem(
                    "department",
                    _("The department %(code)s is not active.") % {"code": department.code},
                )
            if spec.path.split("/")[1:-1] != [department.kind]:
                problem(
                    "department",
                    _("An item of a %(kind)s department belongs in items/%(kind)s/.")
                    % {"kind": department.kind},
                )
        if spec.standard and spec.standard not in known_standards:
            problem("standard", _("No standard has the code %(code)r.") % {"code": spec.standard})
        elif (
            spec.standard in standards
            and spec.values["item_type"] in ItemType.values
            and (standards[spec.standard]["item_type"] != spec.values["item_type"])
        ):
            problem(
                "item_type",
                _("The standard %(code)s is of type %(type)s.")
                % {"code": spec.standard, "type": standards[spec.standard]["item_type"]},
            )
        for index, situation in enumerate(spec.life_situations):
            if situation not in known_situations:
                problem(
                    f"life_situations[{index}]",
                    _("No life situation has the code %(code)r.") % {"code": situation},
                )
        for index, material in enumerate(spec.materials):
            certificate = material["certificate_type"]
            if certificate and certificate not in known_certificates:
                problem(
                    f"materials[{index}].certificate_type",
                    _("No certificate type has the code %(code)r.") % {"code": certificate},
                )
        _data_reads_check(spec, resources, problem)
        _result_check(spec, certificate_types, forms, department, problem)
        if spec.form and spec.form not in form_files:
            problem("form", _("There is no file forms/%(name)s.json.") % {"name": spec.form})
        _process_check(spec, processes, decisions, problem)
    bundles = [
        bundle
        for file in sorted((root / "bundles").glob("*.toml"))
        if (
            bundle := _bundle_read(
                file, root, problems, items, forms, known_situations, certificate_types
            )
        )
        is not None
    ]
    if problems:
        raise CatalogDataError(problems)
    return CatalogData(
        certificate_types=certificate_types,
        life_situations=life_situations,
        standards=standards,
        items=items,
        forms=forms,
        processes=processes,
        decisions=decisions,
        departments=departments,
        bundles=bundles,
    )


# ---------------------------------------------------------------------------------------
# Life-event bundles (catalog.bundles)


def _bundle_read(
    file: Path,
    root: Path,
    problems: list[CatalogProblem],
    items: Sequence[ItemSpec],
    forms: Mapping[str, tuple[Any, Any]],
    known_situations: set[str],
    certificate_types: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any] | None:
    data = _toml_read(file, root, problems)
    if data is None:
        return None
    path = _relative(file, root)
    before = len(problems)
    f = _Fields(data, path, problems)
    f.only(bundle_rules.BUNDLE_KEYS)
    code = f.text("code", max_length=50, pattern=SLUG)
    if code and code != file.stem:
        f.problem("code", _("The code must be the file's name, %(name)s.") % {"name": file.stem})
    target = f.text("target", choices=SITUATION_TARGETS)
    situation = f.text("life_situation", required=False)
    if situation and situation not in known_situations:
        f.problem(
            "life_situation", _("No life situation has the code %(code)r.") % {"code": situation}
        )
    bundle: dict[str, Any] = {
        "code": code,
        "name": f.text("name", max_length=100),
        "target": target,
        "life_situation": situation,
        "region_code": f.text("region_code", max_length=12),
        "summary": f.text("summary", required=False),
        "applicant_note": f.text("applicant_note", required=False, max_length=200),
        "confirm_days": f.integer("confirm_days", required=False, default=7, minimum=1, maximum=30),
        "wait_limit_days": f.integer(
            "wait_limit_days", required=False, default=10, minimum=1, maximum=60
        ),
    }
    by_code = {spec.values.get("code"): spec for spec in items}
    parts: list[dict[str, Any]] = []
    part_forms: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = []
    tables = f.tables("parts")
    if len(tables) < 2:
        f.problem("parts", _("A bundle has at least two parts."))
    for index, table in enumerate(tables):
        p = _Fields(table, path, problems, prefix=f"parts[{index}].")
        p.only(bundle_rules.PART_KEYS)
        key = p.text("key", max_length=40, pattern=bundle_rules.PART_KEY)
        if any(part["key"] == key for part in parts):
            p.problem("key", _("%(code)r appears twice.") % {"code": key})
        item_code = p.text("item", max_length=64)
        spec = by_code.get(item_code)
        if item_code and spec is None:
            p.problem("item", _("No item has the code %(code)r.") % {"code": item_code})
        elif spec is not None and target and spec.values.get("target") != target:
            p.problem(
                "item",
                _("The item is for %(item)s applicants, the bundle for %(bundle)s.")
                % {"item": spec.values.get("target"), "bundle": target},
            )
        after = p.text_list("after")
        if (
            target == "organisation"
            and spec is not None
            and not after
            and not spec.values.get("founding")
        ):
            # Nobody picks the organisation in a bundle: the one the founding part creates
            # is the one every later part is applied for.
            p.problem(
                "after",
                _("In a bundle for organisations, a part waits for the part that founds it."),
            )
        earlier = [part["key"] for part in parts]
        for name in after:
            if name not in earlier:
                p.problem(
                    "after", _("%(key)r is not a part declared before this one.") % {"key": name}
                )
        when = p.raw("when")
        if when is not None and not isinstance(when, dict):
            p.problem("when", _("Give a JSON Logic rule as a table."))
            when = None
        from_results = p.raw("from_results") or {}
        if not isinstance(from_results, dict) or not all(
            isinstance(v, str) for v in from_results.values()
        ):
            p.problem("from_results", _('Give a table of fact = "part.field".'))
            from_results = {}
        for element, source in from_results.items():
            source_part, _dot, source_field = source.partition(".")
            depended = next((part for part in parts if part["key"] == source_part), None)
            if source_part not in after or depended is None:
                p.problem(
                    f"from_results.{element}",
                    _("%(part)r is not a part this one waits for.") % {"part": source_part},
                )
                continue
            result = by_code[depended["item"]].result if depended["item"] in by_code else {}
            kind = certificate_types.get(result.get("certificate_type", ""))
            if not result or kind is None:
                p.problem(
                    f"from_results.{element}",
                    _("The part %(part)r issues no certificate.") % {"part": source_part},
                )
            elif source_field not in kind["fields"] and source_field != "certificate_number":
                p.problem(
                    f"from_results.{element}",
                    _("The certificate %(type)s has no field %(field)r.")
                    % {"type": kind["code"], "field": source_field},
                )
        parts.append(
            {
                "key": key,
                "item": item_code,
                "optional": p.boolean("optional", default=False),
                "when": when or {},
                "after": after,
                "from_results": dict(from_results),
            }
        )
        if spec is not None and spec.form in forms:
            schema, ui = forms[spec.form]
            if isinstance(schema, dict) and isinstance(ui, dict):
                part_forms.append((key, schema, ui))
    bundle["parts"] = parts
    if len(problems) > before:
        return None
    excluded = {part["key"]: list(part["from_results"]) for part in parts}
    merged = bundle_rules.merged_form(part_forms, exclude=excluded)
    for where, message in merged.problems:
        problems.append(CatalogProblem(path, f"parts.{where}", message))
    for index, part in enumerate(parts):
        part_elements = {
            bundle_rules.field_element(part["key"], name, ui.get(name) or {})
            for key, schema, ui in part_forms
            if key == part["key"]
            for name in schema.get("properties") or {}
        }
        for element in part["from_results"]:
            if element not in part_elements:
                problems.append(
                    CatalogProblem(
                        path,
                        f"parts[{index}].from_results.{element}",
                        _("No field of this part holds %(element)s.") % {"element": element},
                    )
                )
        for element in sorted(bundle_rules.rule_variables(part["when"])):
            if element not in merged.fields:
                problems.append(
                    CatalogProblem(
                        path,
                        f"parts[{index}].when",
                        _("The rule reads %(element)s, which the form does not ask.")
                        % {"element": element},
                    )
                )
    prefill = f.raw("prefill") or {}
    if not isinstance(prefill, dict):
        f.problem("prefill", _("Give a table of fact = source."))
        prefill = {}
    for element, source in prefill.items():
        if element not in merged.fields:
            f.problem(
                f"prefill.{element}",
                _("The form does not ask %(element)s.") % {"element": element},
            )
        elif source_problem := prefill_source_problem(source):
            f.problem(f"prefill.{element}", source_problem)
    bundle["prefill"] = dict(prefill)
    co_applicants = []
    keys = {part["key"] for part in parts}
    for index, table in enumerate(f.tables("co_applicants")):
        c = _Fields(table, path, problems, prefix=f"co_applicants[{index}].")
        c.only(bundle_rules.CO_APPLICANT_KEYS)
        entry = {
            "label": c.text("label", max_length=50),
            "list": c.text("list", required=False),
            "name": c.text("name"),
            "id_number": c.text("id_number"),
            "parts": c.text_list("parts"),
        }
        for name in entry["parts"]:
            if name not in keys:
                c.problem("parts", _("%(key)r is not a part of the bundle.") % {"key": name})
        wanted = [entry["list"]] if entry["list"] else [entry["name"], entry["id_number"]]
        for element in wanted:
            if element and element not in merged.fields:
                c.problem(
                    "list" if entry["list"] else "name",
                    _("The form does not ask %(element)s.") % {"element": element},
                )
        co_applicants.append(entry)
    bundle["co_applicants"] = co_applicants
    return bundle if len(problems) == before else None


def _result_check(
    spec: ItemSpec,
    certificate_types: Mapping[str, Mapping[str, Any]],
    forms: Mapping[str, tuple[Any, Any]],
    department: Department | None,
    problem: Callable[[str, str], None],
) -> None:
    """The certificate an item's result issues: its type, holder, issuer and field sources."""
    if not spec.result or not spec.result.get("certificate_type"):
        return
    code = spec.result["certificate_type"]
    kind = certificate_types.get(code)
    if kind is None:
        stored = CertificateType.objects.filter(code=code).first()
        if stored is not None:
            kind = {
                "fields": stored.fields,
                "holder": stored.holder,
                "issuer_kind": stored.issuer_kind,
            }
    if kind is None:
        problem(
            "result.certificate_type",
            _("No certificate type has the code %(code)r.") % {"code": code},
        )
        return
    target = spec.values.get("target")
    if kind["holder"] == "organisation" and target != "organisation":
        problem(
            "result.certificate_type",
            _("A certificate for organisations needs an item for organisations."),
        )
    if kind["holder"] == "person" and target == "organisation":
        problem(
            "result.certificate_type", _("A certificate for persons needs an item for persons.")
        )
    if department is not None and department.kind != kind["issuer_kind"]:
        problem(
            "result.certificate_type",
            _("%(code)s is issued by %(kind)s departments.")
            % {"code": code, "kind": kind["issuer_kind"]},
        )
    schema = forms.get(spec.form, ({}, {}))[0]
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    if not spec.result["fields"]:
        problem("result.fields", _("Name at least one field."))
    effect = RESULT_EFFECTS.get(spec.result.get("effect") or "", {"form": (), "gives": ()})
    if spec.result.get("effect") and spec.result["effect"] not in RESULT_EFFECTS:
        problem(
            "result.effect",
            _("%(effect)r is not a result effect: use one of %(effects)s.")
            % {"effect": spec.result["effect"], "effects": ", ".join(RESULT_EFFECTS)},
        )
    for needed in effect["form"]:
        if needed not in properties:
            problem("result.effect", _("The form has no field %(field)s.") % {"field": needed})
    if ("holder_name" in spec.result) != ("holder_id_number" in spec.result):
        problem("result.holder_name", _("Name both the holder's name and ID number."))
    if "holder_name" in spec.result and kind["holder"] != "person":
        problem("result.holder_name", _("Only a certificate for persons names its holder."))
    sources = {f"fields.{name}": source for name, source in spec.result["fields"].items()}
    for key in ("holder_name", "holder_id_number"):
        if key in spec.result:
            sources[key] = spec.result[key]
    for key, source in sources.items():
        name = key.removeprefix("fields.")
        if key.startswith("fields.") and name not in kind["fields"]:
            problem(
                f"result.{key}",
                _("%(code)s has no field %(field)s.") % {"code": code, "field": name},
            )
        if source.startswith(("form.", "label.")):
            field_name = source.partition(".")[2]
            if field_name not in properties:
                problem(
                    f"result.{key}",
                    _("The form has no field %(field)s.") % {"field": field_name},
                )
        elif source.startswith("text:"):
            if not source[len("text:") :].strip():
                problem(f"result.{key}", _("Give the text after text:."))
        elif source.startswith("effect."):
            if source[len("effect.") :] not in effect["gives"]:
                problem(
                    f"result.{key}",
                    _("The result's effect gives no value %(value)s.")
                    % {"value": source[len("effect.") :]},
                )
        elif source not in RESULT_SOURCES:
            problem(
                f"result.{key}",
                _("%(source)r is not a source: use form.<field> or one of %(sources)s.")
                % {"source": source, "sources": ", ".join(RESULT_SOURCES)},
            )


def _reference_checker(
    spec: ItemSpec, problems: list[CatalogProblem]
) -> Callable[[str, str], None]:
    def problem(key: str, message: str) -> None:
        problems.append(CatalogProblem(spec.path, key, message))

    return problem


def _process_check(
    spec: ItemSpec,
    processes: Mapping[str, str],
    decisions: Mapping[str, str],
    problem: Callable[[str, str], None],
) -> None:
    ok = True
    if spec.process and spec.process not in processes:
        problem("process", _("There is no file processes/%(name)s.bpmn.") % {"name": spec.process})
        ok = False
    for index, name in enumerate(spec.decisions):
        if name not in decisions:
            problem(
                f"decisions[{index}]",
                _("There is no file decisions/%(name)s.dmn.") % {"name": name},
            )
            ok = False
    process_id = spec.values["bpmn_process_id"]
    if not (ok and spec.process and process_id):
        return
    error = process_problem(
        bpmn_xml=processes[spec.process],
        process_id=process_id,
        dmn_xmls=[decisions[name] for name in spec.decisions],
    )
    if error is not None:
        problem(
            "process",
            _("processes/%(name)s.bpmn cannot run: %(error)s")
            % {"name": spec.process, "error": error},
        )
