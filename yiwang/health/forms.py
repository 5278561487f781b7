"""Forms of the health pages: self-declaration, daily check-in, appeal, and its resolution.

The forms only parse; every rule on the values (dates in the future, before birth, a
departure before the arrival …) is the service's, whose field messages come back beside
the fields (``errors_place``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import YiwangError
from yiwang.core.forms import Form
from yiwang.health.models import Colour
from yiwang.health.selectors import SYMPTOMS, InputExplained
from yiwang.health.services import REASON_MAX, StayIn

# Rows of stays the page offers; a longer journey is declared in two declarations.
STAY_ROWS = 5
STAY_COLUMNS = ("region", "arrived_on", "left_on")
REGION_LIST_ID = "travel-regions"


def _symptom_choices() -> list[tuple[str, Any]]:
    return list(SYMPTOMS.items())


def _date_field(label: Any, help_text: Any = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        help_text=help_text,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def errors_place(form: forms.Form, exc: YiwangError) -> list[str]:
    """Put each of the service's field messages beside its field (``stays.1.left_on`` on
    the row it came from); return the messages that belong at the top of the page."""
    page: list[str] = []
    placed = False
    field_for = getattr(form, "field_for_service", lambda name: name)
    for name, messages in exc.fields.items():
        field = field_for(name)
        for message in messages:
            if field in form.fields:
                form.add_error(field, str(message))
                placed = True
            elif str(message) not in page:
                page.append(str(message))
    if not placed and not page:
        page.append(str(exc.message))
    return page


class DeclarationForm(Form):
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms you have now"),
        help_text=_("Leave all unticked if you have none."),
        required=False,
        choices=_symptom_choices,
        widget=forms.CheckboxSelectMultiple,
    )
    symptoms_since = _date_field(_("Symptoms since"))
    case_contact_on = _date_field(
        _("Contact with a confirmed or suspected case on"),
        _("Only if you had such a contact; the last day of contact."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(STAY_ROWS):
            self.fields[f"stay_{row}_region"] = forms.CharField(
                label=_("Region"),
                required=False,
                max_length=12,
                widget=forms.TextInput(
                    attrs={"list": REGION_LIST_ID, "inputmode": "numeric", "autocomplete": "off"}
                ),
            )
            self.fields[f"stay_{row}_arrived_on"] = _date_field(_("Arrived on"))
            self.fields[f"stay_{row}_left_on"] = _date_field(
                _("Left on"), _("Today if you are still there.")
            )
        self._stay_rows: list[int] = []

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("symptoms", "symptoms_since", "case_contact_on")]

    def stay_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"stay_{row}_{column}"] for column in STAY_COLUMNS] for row in range(STAY_ROWS)
        ]

    def more_stays_filled(self) -> bool:
        """Whether a row after the first holds anything (then the page shows them open)."""
        return any(
            self.data.get(f"stay_{row}_{column}")
            for row in range(1, STAY_ROWS)
            for column in STAY_COLUMNS
        )

    def stays(self) -> list[StayIn]:
        """The filled rows, in order; ``field_for_service`` maps their index back to a row."""
        data = self.cleaned_data
        stays: list[StayIn] = []
        self._stay_rows = []
        for row in range(STAY_ROWS):
            region = (data.get(f"stay_{row}_region") or "").strip()
            arrived = data.get(f"stay_{row}_arrived_on")
            left = data.get(f"stay_{row}_left_on")
            if region or arrived or left:
                self._stay_rows.append(row)
                stays.append(StayIn(region, arrived, left))
        return stays

    def field_for_service(self, name: str) -> str:
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "stays" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(self._stay_rows):
                return f"stay_{self._stay_rows[index]}_{parts[2]}"
        return name


class DailyCheckinForm(Form):
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms today"),
        help_text=_("Leave all unticked if you feel well."),
        required=False,
        choices=_symptom_choices,
        widget=forms.CheckboxSelectMultiple,
    )


class AppealForm(Form):
    reason = forms.CharField(
        label=_("Why is the colour wrong?"),
        help_text=_(
            "For example: you were not at that place at that time, or a test result is "
            "not yours. Health staff check it and answer here."
        ),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


OUTCOME_CHOICES = [
    ("uphold", _("Uphold the colour")),
    ("correct", _("Correct the colour")),
]


class AppealResolveForm(Form):
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=OUTCOME_CHOICES, widget=forms.RadioSelect
    )
    colour = forms.ChoiceField(
        label=_("Corrected colour"),
        required=False,
        choices=[("", "—"), *Colour.choices],
        help_text=_("Only when correcting: a less severe colour."),
    )
    set_aside = forms.MultipleChoiceField(
        label=_("Inputs to set aside"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Only when correcting: the facts and declarations the rules ignore from now on."
        ),
    )
    comment = forms.CharField(
        label=_("Comment to the person"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, inputs: Iterable[InputExplained] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (item.ref, f"{item.label} {item.date or ''} {item.details}".strip())
            for item in inputs
            if item.ref.startswith(("fact:", "declaration:"))
        ]
        cast(forms.MultipleChoiceField, self.fields["set_aside"]).choices = choices
        if not self.is_bound:
            self.initial.setdefault("set_aside", [ref for ref, _label in choices])

    def resolve_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        correcting = data["outcome"] == "correct"
        set_aside: Sequence[str] | None = list(data["set_aside"]) if correcting else None
        return {
            "outcome": data["outcome"],
            "colour": data["colour"] or None,
            "set_aside": set_aside,
            "comment": data["comment"],
        }
