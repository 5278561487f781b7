"""Forms of the data-exchange pages: asking for access, deciding, registering a system.

The forms check types and choices; the services check the rules (field names, lengths,
durations, who may act) and their messages are put beside the same-named fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yiwang.core.forms import Form
from yiwang.exchange.models import ConsumerSystem, DataResource, DataResourceField
from yiwang.exchange.services import MAX_GRANT_DAYS
from yiwang.identity.models import Department


class ConsumerSystemChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.department.name} · {obj.name} ({obj.code})"


class AccessRequestForm(Form):
    """A consumer department's request to read fields of one resource."""

    consumer = ConsumerSystemChoiceField(
        label=_("System that will read the data"),
        queryset=ConsumerSystem.objects.none(),
        empty_label=_("Choose a system"),
    )
    clear_fields = forms.MultipleChoiceField(
        label=_("Fields wanted in clear"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("These fields are otherwise masked. Ask for them in clear only if needed."),
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=200)
    legal_basis = forms.CharField(
        label=_("Legal basis"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )
    duration_days = forms.IntegerField(
        label=_("Duration (days)"), min_value=1, max_value=MAX_GRANT_DAYS, initial=365
    )

    def __init__(
        self,
        *args: Any,
        resource: DataResource,
        systems: QuerySet[ConsumerSystem],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        consumer = self.fields["consumer"]
        assert isinstance(consumer, forms.ModelChoiceField)  # noqa: S101 - narrows the type
        consumer.queryset = systems
        resource_fields = list(resource.fields.all())
        # Named as the service names it, so its messages land here; a field called
        # "fields" cannot be declared on the class, where it would hide Form.fields.
        self.fields["fields"] = forms.MultipleChoiceField(
            label=_("Fields"),
            choices=[(f.name, f.label) for f in resource_fields],
            widget=forms.CheckboxSelectMultiple,
            error_messages={"required": _("Choose at least one field.")},
        )
        clear = self.fields["clear_fields"]
        assert isinstance(clear, forms.MultipleChoiceField)  # noqa: S101 - narrows the type
        clear.choices = [
            (f.name, f.label) for f in resource_fields if f.mask != DataResourceField.Mask.NONE
        ]
        self.order_fields(["consumer", "fields", "clear_fields"])


class GrantDecideForm(Form):
    """The provider's decision on one request; a denial needs its reason."""

    # Sent by the button pressed (approve or deny), not shown as a field.
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("deny", _("Deny"))])
    comment = forms.CharField(
        label=_("Comment (required for a denial)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["approve"] = cleaned.get("decision") == "approve"
        return cleaned


class ConsumerSystemForm(Form):
    """Register a system of one of the officer's departments."""

    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), empty_label=None
    )
    code = forms.CharField(
        label=_("System code"),
        max_length=60,
        help_text=_("2–60 lowercase letters, digits and hyphens, e.g. social-assistance."),
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    rate_limit_per_minute = forms.IntegerField(
        label=_("Requests per minute"), min_value=1, max_value=100_000, initial=600
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.ModelChoiceField)  # noqa: S101 - narrows the type
        department.queryset = departments
