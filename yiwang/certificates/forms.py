"""Forms of the wallet pages: authorising use of a certificate, and entering an access code.

They parse input only; what is allowed (purpose, dates, grantee, credit code) is checked
by the services, whose messages the views place beside these fields.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yiwang.core.forms import Form
from yiwang.identity.models import Department

GRANTEE_DEPARTMENT = "department"
GRANTEE_THIRD_PARTY = "third_party"


class AuthoriseForm(Form):
    grantee = forms.ChoiceField(
        label=_("Who may read it"),
        choices=[
            (GRANTEE_DEPARTMENT, _("A government department")),
            (GRANTEE_THIRD_PARTY, _("A third party, such as a bank or an employer")),
        ],
        initial=GRANTEE_DEPARTMENT,
        widget=forms.RadioSelect,
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("Choose a department"),
    )
    third_party_name = forms.CharField(
        label=_("Name of the third party"), required=False, max_length=200
    )
    third_party_uscc = forms.CharField(
        label=_("Its unified social credit code (optional)"), required=False, max_length=40
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        required=False,
        help_text=_("What the certificate will be used for."),
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("At most one year from today."),
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Department]", self.fields["department"]).queryset = departments

    def grantee_arguments(self) -> dict[str, Any]:
        """The service's grantee arguments: a department, or a third party's name and code."""
        data = self.cleaned_data
        if data["grantee"] == GRANTEE_THIRD_PARTY:
            return {
                "department": None,
                "third_party_name": data["third_party_name"],
                "third_party_uscc": data["third_party_uscc"],
            }
        return {"department": data["department"], "third_party_name": "", "third_party_uscc": ""}


class AccessCodeForm(Form):
    access_code = forms.CharField(
        label=_("Access code"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        help_text=_("The 12-character code the certificate's holder gave you."),
    )
