"""Forms of the application pages: the item's form built from its JSON Schema, and staff steps.

The schema form checks nothing beyond what the browser sends: a draft may be incomplete,
and the service validates the whole form against the schema on submission. Values arrive
as strings and are converted to the schema's types before they reach the service.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from yiwang.core.forms import Form
from yiwang.identity.models import StaffRole, User

ACCEPTED_UPLOAD_TYPES = ".pdf,.jpg,.jpeg,.png"


# ---------------------------------------------------------------------------------------
# The item's form, from its JSON Schema and UI hints


def version_form(snapshot: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form schema and UI hints of a published version's snapshot."""
    form = snapshot.get("form")
    if isinstance(form, Mapping):
        return dict(form.get("schema") or {}), dict(form.get("ui") or {})
    # The catalogue's snapshot keeps them at the top level.
    return dict(snapshot.get("form_schema") or {}), dict(snapshot.get("ui_schema") or {})


def field_order(schema: Mapping[str, Any], ui: Mapping[str, Any]) -> list[str]:
    """Property names in ``ui:order``; ``*`` (or the end) stands for the rest in schema order."""
    properties = list((schema.get("properties") or {}).keys())
    order = [name for name in ui.get("ui:order", []) if name == "*" or name in properties]
    if "*" not in order:
        order.append("*")
    rest = [name for name in properties if name not in order]
    names: list[str] = []
    for name in order:
        names.extend(rest if name == "*" else [name])
    return names


def _enum_labels(prop: Mapping[str, Any], hints: Mapping[str, Any]) -> list[tuple[str, str]]:
    values = list(prop.get("enum") or [])
    names = hints.get("enumNames") or prop.get("enumNames") or []
    return [
        (str(value), str(names[index]) if index < len(names) else str(value))
        for index, value in enumerate(values)
    ]


def _label(title: str, required: bool) -> str | SafeString:
    if not required:
        return title
    return format_html(
        '{}<span class="required-mark" aria-hidden="true">*</span>'
        '<span class="visually-hidden">{}</span>',
        title,
        _("(required)"),
    )


ROWS_SPARE = 2  # blank rows offered under the filled ones
ROWS_MIN = 3  # rows shown at least


def _is_rows(prop: Mapping[str, Any]) -> bool:
    """An array whose items are objects: a repeatable group of fields (e.g. the other heirs)."""
    items = prop.get("items") or {}
    return prop.get("type") == "array" and items.get("type") == "object"


class RowsWidget(forms.Widget):
    """Rows of small fields, one fieldset per row (stacked on phones), named
    ``<name>-<row>-<column>``. Without script: filled rows plus spare blank ones, and a saved
    draft comes back with new spare rows."""

    use_fieldset = True

    def __init__(self, item: Mapping[str, Any], item_hints: Mapping[str, Any], max_rows: int):
        super().__init__()
        self.columns = [
            (key, column, item_hints.get(key) or {})
            for key, column in (item.get("properties") or {}).items()
        ]
        self.max_rows = max_rows

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[dict[str, str]]:
        prefix = f"{name}-"
        indexes: set[int] = set()
        for key in data:
            if key.startswith(prefix):
                row = key[len(prefix) :].split("-", 1)[0]
                if row.isdigit() and int(row) < self.max_rows + ROWS_SPARE:
                    indexes.add(int(row))
        rows = []
        for index in sorted(indexes):
            row = {
                key: str(data.get(f"{name}-{index}-{key}", "")).strip()
                for key, _column, _hints in self.columns
            }
            if any(row.values()):
                rows.append(row)
        return rows

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return not any(key.startswith(f"{name}-") for key in data)

    def _cell(self, name: str, value: Any, column: Mapping[str, Any], hints: Any) -> SafeString:
        if "enum" in column:
            options = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (option, mark_safe(" selected") if str(value) == option else "", label)
                    for option, label in [("", _("Please choose")), *_enum_labels(column, hints)]
                ),
            )
            return format_html('<select name="{}" id="id_{}">{}</select>', name, name, options)
        max_length = column.get("maxLength")
        return format_html(
            '<input type="text" name="{}" id="id_{}" value="{}"{}>',
            name,
            name,
            "" if value is None else value,
            format_html(' maxlength="{}"', max_length) if max_length else "",
        )

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        rows = [row for row in (value or []) if isinstance(row, Mapping)]
        count = min(max(len(rows) + ROWS_SPARE, ROWS_MIN), self.max_rows)
        blocks = []
        for index in range(count):
            row = rows[index] if index < len(rows) else {}
            cells = format_html_join(
                "",
                '<div class="rows-cell"><label for="id_{}">{}</label>{}</div>',
                (
                    (
                        f"{name}-{index}-{key}",
                        column.get("title") or key,
                        self._cell(f"{name}-{index}-{key}", row.get(key), column, hints),
                    )
                    for key, column, hints in self.columns
                ),
            )
            blocks.append(
                format_html(
                    '<fieldset class="rows-row"><legend>{}</legend>{}</fieldset>',
                    _("No. %(n)s") % {"n": index + 1},
                    cells,
                )
            )
        note = _("Leave a row blank if it is not needed. Need more rows? Save the draft.")
        return format_html(
            '<div class="rows-field" id="id_{}">{}<p class="help">{}</p></div>',
            name,
            format_html_join("", "{}", ((block,) for block in blocks)),
            note,
        )


class RowsField(forms.Field):
    widget = RowsWidget

    def to_python(self, value: Any) -> list[dict[str, str]]:
        return list(value or [])


def _schema_field(
    prop: Mapping[str, Any], hints: Mapping[str, Any], *, required: bool, title: str
) -> forms.Field:
    kind = prop.get("type")
    widget_hint = hints.get("ui:widget")
    attrs: dict[str, Any] = {}
    if required:
        attrs["aria-required"] = "true"
    if hints.get("ui:placeholder"):
        attrs["placeholder"] = str(hints["ui:placeholder"])
    common: dict[str, Any] = {
        "label": _label(title, required),
        "help_text": str(hints.get("ui:help") or prop.get("description") or ""),
        "required": False,
    }
    if kind == "boolean":
        return forms.BooleanField(widget=forms.CheckboxInput(attrs=attrs), **common)
    if _is_rows(prop):
        item = prop.get("items") or {}
        return RowsField(
            widget=RowsWidget(item, hints.get("items") or {}, int(prop.get("maxItems", 20))),
            **common,
        )
    if kind == "array":
        items = prop.get("items") or {}
        return forms.MultipleChoiceField(
            choices=_enum_labels(items, hints),
            widget=forms.CheckboxSelectMultiple(attrs=attrs),
            **common,
        )
    if "enum" in prop:
        choices = _enum_labels(prop, hints)
        if widget_hint == "radio":
            return forms.ChoiceField(
                choices=choices, widget=forms.RadioSelect(attrs=attrs), **common
            )
        return forms.ChoiceField(
            choices=[("", _("Please choose")), *choices],
            widget=forms.Select(attrs=attrs),
            **common,
        )
    if kind in ("number", "integer"):
        attrs["step"] = "1" if kind == "integer" else "any"
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if key in prop:
                attrs[attr] = prop[key]
        attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
        return forms.CharField(widget=forms.NumberInput(attrs=attrs), strip=True, **common)
    if "maxLength" in prop:
        attrs["maxlength"] = prop["maxLength"]
    if prop.get("format") == "date":
        attrs["type"] = "date"
        return forms.CharField(widget=forms.DateInput(attrs=attrs), **common)
    if prop.get("format") == "email":
        return forms.CharField(widget=forms.EmailInput(attrs=attrs), **common)
    if widget_hint == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4, **attrs}), **common)
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


def _initial(value: Any) -> Any:
    if value is None or isinstance(value, bool | list):
        return value
    return str(value)


class SchemaForm(Form):
    """A Django form whose fields are the properties of a JSON Schema, in ``ui:order``.

    ``only`` limits it to some of the fields (the ones a supplement request names).
    """

    use_required_attribute = False

    def __init__(
        self,
        schema: Mapping[str, Any],
        ui: Mapping[str, Any],
        *args: Any,
        form_data: Mapping[str, Any] | None = None,
        only: Iterable[str] | None = None,
        prefilled: Mapping[str, Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        prefilled = prefilled or {}
        self.schema = schema
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        wanted = set(only) if only is not None else None
        for name in field_order(schema, ui):
            if wanted is not None and name not in wanted:
                continue
            prop = properties[name]
            hints = ui.get(name) or {}
            self.fields[name] = _schema_field(
                prop, hints, required=name in required, title=str(prop.get("title") or name)
            )
            if form_data and name in form_data:
                self.initial[name] = _initial(form_data[name])
            filled = prefilled.get(name)
            if filled is not None:
                # 免填写: say where the value came from; a verified value cannot be changed.
                field = self.fields[name]
                note = _("Filled in from: %(source)s") % {"source": filled.get("source", "")}
                field.help_text = f"{note}。{field.help_text}" if field.help_text else note
                if filled.get("locked") and name in self.initial:
                    field.disabled = True
                    field.widget.attrs["data-prefilled"] = "locked"
                else:
                    field.widget.attrs["data-prefilled"] = "editable"

    def form_data(self, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The cleaned values converted to the schema's types, over ``base``.

        Empty fields are left out (so the schema reports a missing required field); a
        value that does not convert is kept as typed, for the schema to report.
        """
        data = dict(base or {})
        properties: Mapping[str, Any] = self.schema.get("properties") or {}
        for name in self.fields:
            value = _typed(properties[name], self.cleaned_data.get(name))
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        return data


def _typed(prop: Mapping[str, Any], value: Any) -> Any:
    kind = prop.get("type")
    if _is_rows(prop):
        columns = (prop.get("items") or {}).get("properties") or {}
        rows = [
            {
                key: typed
                for key, cell in row.items()
                if key in columns and (typed := _typed(columns[key], cell)) is not None
            }
            for row in value or []
        ]
        return [row for row in rows if row] or None
    if kind == "boolean":
        return bool(value)
    if kind == "array":
        return list(value) if value else None
    if value is None or value == "":
        return None
    text = str(value)
    if "enum" in prop:
        return {str(option): option for option in prop["enum"]}.get(text, text)
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "number":
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return text
        # NaN and infinity are not JSON.
        return number if math.isfinite(number) else text
    return text


def form_data_rows(
    schema: Mapping[str, Any], ui: Mapping[str, Any], data: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(label, shown value) for every field of the form, in order, for reading back."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    rows: list[tuple[str, str]] = []
    for name in field_order(schema, ui):
        prop = properties[name]
        hints = ui.get(name) or {}
        value = data.get(name)
        rows.append((str(prop.get("title") or name), _shown(prop, hints, value)))
    extra = [name for name in data if name not in properties]
    rows.extend((name, str(data[name])) for name in extra)
    return rows


def _shown(prop: Mapping[str, Any], hints: Mapping[str, Any], value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if _is_rows(prop):
        columns = (prop.get("items") or {}).get("properties") or {}
        column_hints = hints.get("items") or {}
        return "；".join(
            " ".join(
                _shown(columns.get(key, {}), column_hints.get(key) or {}, cell)
                for key, cell in row.items()
            )
            for row in value
            if isinstance(row, Mapping)
        )
    if isinstance(value, list):
        labels = dict(_enum_labels(prop.get("items") or {}, hints))
        return "、".join(labels.get(str(v), str(v)) for v in value)
    if "enum" in prop:
        return dict(_enum_labels(prop, hints)).get(str(value), str(value))
    return str(value)


# ---------------------------------------------------------------------------------------
# Applicant forms


class ApplyForm(Form):
    """What the apply page asks besides the item's form: who applies, and the form's key."""

    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    organisation = forms.TypedChoiceField(
        label=_("Apply on behalf of an organisation"),
        coerce=int,
        required=False,
        empty_value=None,
    )

    def __init__(
        self,
        *args: Any,
        organisations: Sequence[tuple[int, str]] = (),
        organisation_required: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        if organisations:
            empty = _("Choose an organisation") if organisation_required else _("Myself")
            field.choices = [("", empty), *organisations]
        else:
            del self.fields["organisation"]


class MaterialUploadForm(Form):
    material_code = forms.CharField(max_length=50, widget=forms.HiddenInput)
    file = forms.FileField(
        label=_("File (PDF, JPG or PNG, at most 10 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_UPLOAD_TYPES}),
    )


class WithdrawForm(Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that a withdrawn application cannot be resumed."),
        error_messages={"required": _("Tick the box to confirm the withdrawal.")},
    )


class BundleApplyForm(Form):
    """What the bundle's page asks besides the merged form: the optional services, the key."""

    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    optional_parts = forms.MultipleChoiceField(
        label=_("Also apply for"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Optional services of this life event; tick the ones you need."),
    )

    def __init__(self, *args: Any, parts: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["optional_parts"]
        assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101 - narrows the type
        if parts:
            field.choices = list(parts)
        else:
            del self.fields["optional_parts"]


class BundleWithdrawForm(Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand that the services not yet decided are withdrawn and cannot be resumed."
        ),
        error_messages={"required": _("Tick the box to confirm the withdrawal.")},
    )


class BundleDeclineForm(Form):
    reason = forms.CharField(
        label=_("Why do you decline?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Please give the reason.")},
    )


# ---------------------------------------------------------------------------------------
# Staff forms

STEP_OUTCOME_CHOICES: dict[str, list[tuple[str, Any]]] = {
    "accept": [
        ("accept", _("Accept")),
        ("refuse", _("Do not accept")),
        ("supplement", _("Request a supplement (one-time notice)")),
    ],
    "review": [("pass", _("Review passed")), ("return", _("Return"))],
    "decide": [("grant", _("Grant")), ("deny", _("Deny"))],
    "deliver": [("delivered", _("Delivered"))],
}
# Steps a process adds in the staff lanes (site checks …) pass or return.
OTHER_STEP_CHOICES: list[tuple[str, Any]] = [("pass", _("Passed")), ("return", _("Return"))]


class TaskCompleteForm(Form):
    """Outcome and comment of a staff step; for a supplement, one row per material and field.

    A row counts when its box is ticked or its reason filled in; a counted row needs a reason.
    """

    outcome = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when not accepting, returning or denying."),
    )

    def __init__(
        self,
        *args: Any,
        step: str,
        materials: Sequence[Mapping[str, Any]] = (),
        fields: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        outcome = self.fields["outcome"]
        assert isinstance(outcome, forms.ChoiceField)  # noqa: S101 - narrows the type
        outcome.choices = STEP_OUTCOME_CHOICES.get(step, OTHER_STEP_CHOICES)
        self.supplement_rows: list[tuple[str, str, str]] = []
        if step != "accept":
            return
        for material in materials:
            self._row("material", str(material["code"]), str(material["name"]))
        for name, title in fields:
            self._row("field", name, title)

    def _row(self, kind: str, code: str, title: str) -> None:
        pick = f"sup_{kind}_{code}"
        reason = f"{pick}_reason"
        self.fields[pick] = forms.BooleanField(label=title, required=False)
        self.fields[reason] = forms.CharField(
            label=_("Reason: %(name)s") % {"name": title}, required=False, max_length=300
        )
        self.supplement_rows.append((kind, code, title))

    def supplement_fields(self) -> list[tuple[forms.BoundField, forms.BoundField, str]]:
        """(checkbox, reason, kind) per row, for the template."""
        return [
            (self[f"sup_{kind}_{code}"], self[f"sup_{kind}_{code}_reason"], kind)
            for kind, code, _title in self.supplement_rows
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        items: list[dict[str, str]] = []
        if cleaned.get("outcome") == "supplement":
            for kind, code, _title in self.supplement_rows:
                pick = f"sup_{kind}_{code}"
                reason = (cleaned.get(f"{pick}_reason") or "").strip()
                if not (cleaned.get(pick) or reason):
                    continue
                if not reason:
                    self.add_error(f"{pick}_reason", _("Say what is missing or wrong."))
                    continue
                items.append(
                    {
                        "material": code if kind == "material" else "",
                        "field": code if kind == "field" else "",
                        "reason": reason,
                    }
                )
        cleaned["supplement_items"] = items
        return cleaned


class ColleagueChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} · {obj.masked_phone}"


class TaskAssignForm(Form):
    assignee = ColleagueChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), empty_label=_("Choose a colleague")
    )

    def __init__(self, *args: Any, department_id: int, role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ModelChoiceField)  # noqa: S101 - narrows the type
        holders = StaffRole.objects.filter(department_id=department_id, role=role).values("user_id")
        assignee.queryset = User.objects.filter(pk__in=holders, is_active=True).order_by("name")
