from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from yiwang.catalog.models import Target
from yiwang.core.forms import Form
from yiwang.identity.models import Department


class ServiceSearchForm(Form):
    """The search box and filters of the catalogue page (all optional, read from GET)."""

    q = forms.CharField(
        label=_("Search services"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("For example: 出生, 落户, 营业执照")}
        ),
    )
    target = forms.ChoiceField(
        label=_("For"),
        required=False,
        choices=[
            ("", _("Everyone")),
            (Target.PERSON.value, _("Individuals")),
            (Target.ORGANISATION.value, _("Businesses")),
        ],
    )
    department = forms.ChoiceField(label=_("Department"), required=False)
    situation = forms.SlugField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: object, departments: Iterable[Department] = (), **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["department"])
        field.choices = [("", _("All departments")), *((d.code, d.name) for d in departments)]
