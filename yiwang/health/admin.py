"""Health administrators' pages: rule sets (checked and tested), risk areas, facts (read).

A rule set's definition is edited only while it is a draft; saving checks it and runs its
test cases, and activation (the action) goes through ``services.rule_set_activate``, which
runs them again. Active and retired versions are read only: an edit is a copy.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import YiwangError
from yiwang.health import rules
from yiwang.health.models import HealthAppeal, HealthFact, HealthStatus, RiskArea, RuleSet
from yiwang.health.services import rule_set_activate, rule_set_create


class RuleSetForm(forms.ModelForm[RuleSet]):
    class Meta:
        model = RuleSet
        fields = ["definition"]

    def clean_definition(self) -> Any:
        definition = self.cleaned_data["definition"]
        problems = rules.definition_problems(definition)
        if problems:
            raise forms.ValidationError(problems)
        if self.instance.pk and definition.get("code") != self.instance.code:
            raise forms.ValidationError(
                _("A version keeps its code; copy the rule set to start another one.")
            )
        failures = rules.test_cases_run(definition)
        if failures:
            raise forms.ValidationError(
                [_("Failing test case: %(case)s") % {"case": str(f)} for f in failures]
            )
        return definition


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin[RuleSet]):
    form = RuleSetForm
    list_display = ["code", "version", "name", "status", "activated_at", "source"]
    list_filter = ["status", "code"]
    readonly_fields = ["code", "version", "name", "digest", "status", "source", "activated_at"]
    actions = ["activate", "copy_as_draft"]

    def get_readonly_fields(self, request: HttpRequest, obj: RuleSet | None = None) -> Any:
        if obj is not None and obj.status != RuleSet.Status.DRAFT:
            return [*self.readonly_fields, "definition"]
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        # Colours in the history point at the version that decided them.
        return False

    def save_model(self, request: HttpRequest, obj: RuleSet, form: Any, change: bool) -> None:
        if change:
            obj.name = obj.definition["name"]
            obj.digest = rules.definition_digest(obj.definition)
            obj.save()
            return
        created = rule_set_create(
            definition=obj.definition,
            actor=request.user,  # type: ignore[arg-type]
            source="admin",
        )
        obj.pk = created.pk
        obj.code, obj.version, obj.name, obj.digest = (
            created.code,
            created.version,
            created.name,
            created.digest,
        )

    @admin.action(description=_("Activate the selected rule set (runs its test cases)"))
    def activate(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one rule set."), messages.ERROR)
            return
        rule_set = queryset.get()
        try:
            rule_set_activate(rule_set=rule_set, actor=request.user)  # type: ignore[arg-type]
        except YiwangError as exc:
            details = [str(m) for msgs in exc.fields.values() for m in msgs]
            self.message_user(request, " ".join([str(exc.message), *details]), messages.ERROR)
            return
        self.message_user(request, _("Activated %(rule_set)s.") % {"rule_set": rule_set})

    @admin.action(description=_("Copy as a new draft version"))
    def copy_as_draft(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        for rule_set in queryset:
            try:
                created = rule_set_create(
                    definition=rule_set.definition,
                    actor=request.user,  # type: ignore[arg-type]
                    source=f"copy of v{rule_set.version}",
                )
            except YiwangError as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                return
            self.message_user(request, _("Created %(rule_set)s.") % {"rule_set": created})


@admin.register(RiskArea)
class RiskAreaAdmin(admin.ModelAdmin[RiskArea]):
    list_display = ["region", "level", "valid_from", "valid_until", "declared_at", "note"]
    list_filter = ["level"]
    search_fields = ["region__code", "region__full_name"]
    raw_id_fields = ["region"]
    readonly_fields = ["declared_by", "declared_at"]

    def save_model(self, request: HttpRequest, obj: RiskArea, form: Any, change: bool) -> None:
        if not change:
            obj.declared_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


class _ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HealthFact)
class HealthFactAdmin(_ReadOnlyAdmin):
    """Facts come from the departments' feeds; here they are only read."""

    list_display = ["kind", "result", "observed_on", "source_department", "source_registry"]
    list_filter = ["kind", "source_department"]
    exclude = ["id_number"]


@admin.register(HealthStatus)
class HealthStatusAdmin(_ReadOnlyAdmin):
    list_display = ["person", "colour", "source", "rule_id", "created_at"]
    list_filter = ["colour", "source"]


@admin.register(HealthAppeal)
class HealthAppealAdmin(_ReadOnlyAdmin):
    list_display = ["person", "status", "created_at", "resolved_at", "resolved_by"]
    list_filter = ["status"]


# ---------------------------------------------------------------------------------------
# Venue codes (场所码) and check-ins

from typing import cast  # noqa: E402 - this section's imports

from django.core.paginator import Paginator  # noqa: E402
from django.utils.functional import cached_property  # noqa: E402

from yiwang.health.models import Venue, VenueCheckin  # noqa: E402


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin[Venue]):
    """Venues are registered by the people who run them; here an administrator can only
    close one (a fraudulent poster, say). Never deleted: their check-ins would go too."""

    list_display = ["name", "kind", "region", "organisation_name", "created_at", "closed_at"]
    list_filter = ["kind", ("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["region"]
    search_fields = ["name", "code", "organisation_uscc", "organisation_name"]
    fields = [
        "code",
        "name",
        "kind",
        "region",
        "address",
        "contact_phone",
        "registered_by",
        "organisation_uscc",
        "organisation_name",
        "created_at",
        "closed_at",
    ]
    readonly_fields = [
        "code",
        "name",
        "kind",
        "region",
        "address",
        "contact_phone",
        "registered_by",
        "organisation_uscc",
        "organisation_name",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Venue | None = None) -> bool:
        return False


class _CappedCountPaginator(Paginator[VenueCheckin]):
    """Counts at most ``CAP`` rows: COUNT(*) over a hundred million check-ins takes minutes."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        rows = cast("QuerySet[VenueCheckin]", self.object_list)
        return rows[: self.CAP + 1].count()


@admin.register(VenueCheckin)
class VenueCheckinAdmin(_ReadOnlyAdmin):
    """Read only. The table is very large: no full count, no filters that scan it."""

    list_display = ["venue", "person", "checked_in_at"]
    list_select_related = ["venue", "person"]
    raw_id_fields = ["venue", "person"]
    show_full_result_count = False
    paginator = _CappedCountPaginator
