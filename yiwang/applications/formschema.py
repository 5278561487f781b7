"""Server-side validation of application forms against the item's JSON Schema.

Every failure becomes a message beside its field, in the user's language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

FORM_DATA_MAX_BYTES = 64 * 1024


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    """A compiled validator per schema: every application of a version shares one."""
    return Draft202012Validator(json.loads(schema_json), format_checker=FormatChecker())


def _message(error: SchemaError, title: str) -> str:
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        return _("This field is required.")
    if kind == "type":
        return {
            "number": _("Enter a number."),
            "integer": _("Enter a whole number."),
            "boolean": _("Choose yes or no."),
            "array": _("Choose one or more options."),
        }.get(str(value), _("Enter a valid value."))
    if kind == "enum":
        return _("Choose one of the options.")
    if kind == "pattern":
        return _("%(field)s is not in the right format.") % {"field": title}
    if kind == "format":
        return {
            "date": _("Enter a date such as 2026-01-31."),
            "email": _("Enter a valid e-mail address."),
        }.get(str(value), _("Enter a valid value."))
    if kind == "minLength":
        return _("Enter at least %(n)s characters.") % {"n": value}
    if kind == "maxLength":
        return _("Enter at most %(n)s characters.") % {"n": value}
    if kind in {"minimum", "exclusiveMinimum"}:
        return _("Enter a value of at least %(n)s.") % {"n": value}
    if kind in {"maximum", "exclusiveMaximum"}:
        return _("Enter a value of at most %(n)s.") % {"n": value}
    if kind == "maxItems":
        return _("Enter at most %(n)s rows.") % {"n": value}
    if kind == "minItems":
        return _("Enter at least %(n)s rows.") % {"n": value}
    if kind == "additionalProperties":
        return _("This form has no such field.")
    return _("Enter a valid value.")


def form_errors(schema: Mapping[str, Any], data: Any) -> dict[str, list[str]]:
    """Validate ``data`` against ``schema``; return ``{field: [messages]}`` (empty when valid)."""
    if not isinstance(data, dict):
        return {"__all__": [_("The form data must be an object.")]}
    validator = _validator(json.dumps(schema, sort_keys=True))
    properties = schema.get("properties", {})
    errors: dict[str, list[str]] = {}
    candidates: dict[str, list[SchemaError]] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        if error.validator == "required" and not error.path:
            # "'x' is a required property": the field is the missing one, not the object.
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                errors.setdefault(name, []).append(_message(error, name))
            continue
        if error.validator == "additionalProperties" and not error.path:
            extra = [name for name in error.instance if name not in properties]
            for name in extra:
                errors.setdefault(name, []).append(_message(error, name))
            continue
        field = str(error.path[0]) if error.path else "__all__"
        candidates.setdefault(field, []).append(error)
    for field, field_errors in candidates.items():
        if field in errors:
            continue
        # One message per field, the most useful: a wrong format says more than a length;
        # for a repeatable group, about the group (too many rows) before its first bad row.
        error = min(
            field_errors,
            key=lambda e: (
                e.path[1] if len(e.path) >= 2 and isinstance(e.path[1], int) else -1,
                _PRIORITY.get(str(e.validator), len(_PRIORITY)),
            ),
        )
        if len(error.path) >= 2 and isinstance(error.path[1], int):
            errors[field] = [_row_message(error, properties.get(field, {}))]
            continue
        title = str(properties.get(field, {}).get("title", field))
        errors[field] = [_message(error, title)]
    return errors


def _row_message(error: SchemaError, prop: Mapping[str, Any]) -> str:
    columns = (prop.get("items") or {}).get("properties") or {}
    row = int(error.path[1]) + 1
    if error.validator == "required":
        column = next(name for name in error.validator_value if name not in error.instance)
    elif len(error.path) >= 3:
        column = str(error.path[2])
    else:
        return _("Row %(row)s: %(message)s") % {"row": row, "message": _message(error, "")}
    title = str(columns.get(column, {}).get("title", column))
    return _("Row %(row)s, %(column)s: %(message)s") % {
        "row": row,
        "column": title,
        "message": _message(error, title),
    }


_PRIORITY = {
    name: rank
    for rank, name in enumerate(
        [
            "type",
            "enum",
            "const",
            "format",
            "pattern",
            "minLength",
            "maxLength",
            "minimum",
            "exclusiveMinimum",
            "maximum",
            "exclusiveMaximum",
        ]
    )
}
