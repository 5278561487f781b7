"""Administration of the catalogue. Edits change the item, not what is published: an
item's published version changes only through the "publish" action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from yiwang.catalog import services
from yiwang.catalog.models import (
    LifeSituation,
    Material,
    ServiceItem,
    ServiceItemVersion,
    ServiceStandard,
)
from yiwang.core.errors import YiwangError
from yiwang.identity.models import User


class MaterialInline(admin.TabularInline[Material, ServiceItem]):
    model = Material
    extra = 0
    autocomplete_fields = ["certificate_type"]
    fields = [
        "order",
        "code",
        "name",
        "form",
        "copies",
        "required",
        "condition",
        "certificate_type",
    ]


class VersionInline(admin.TabularInline[ServiceItemVersion, ServiceItem]):
    model = ServiceItemVersion
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["number", "published_at", "published_by", "digest"]
    readonly_fields = ["number", "published_at", "published_by", "digest"]

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


def _actor(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin[ServiceItem]):
    list_display = [
        "code",
        "name",
        "department",
        "item_type",
        "status",
        "version_number",
        "cross_region",
    ]
    list_filter = ["department", "item_type", "status", "cross_region", "target"]
    list_select_related = ["department", "current_version"]
    search_fields = ["code", "name", "keywords", "standard__name"]
    autocomplete_fields = ["standard", "department"]
    filter_horizontal = ["life_situations"]
    readonly_fields = ["status", "current_version", "updated_at"]
    inlines = [MaterialInline, VersionInline]
    actions = ["publish_selected", "retire_selected"]
    fieldsets = (
        (None, {"fields": ("code", "name", "standard", "item_type", "status", "current_version")}),
        (
            _("Guide"),
            {
                "fields": (
                    "department",
                    "region_code",
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
                    "min_assurance_level",
                    "keywords",
                )
            },
        ),
        (
            _("Form and process"),
            {"fields": ("form_schema", "ui_schema", "bpmn_process_id", "bpmn_xml", "dmn_xml")},
        ),
        (None, {"fields": ("updated_at",)}),
    )

    @admin.display(description=_("version"), ordering="current_version__number")
    def version_number(self, obj: ServiceItem) -> int | None:
        return obj.current_version.number if obj.current_version else None

    @admin.action(description=_("Publish selected items"))
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[ServiceItem]) -> None:
        published = 0
        for item in queryset.order_by("code"):
            try:
                services.service_item_publish(item=item, actor=_actor(request))
            except YiwangError as exc:
                details = "; ".join(
                    f"{name}: {' '.join(str(m) for m in msgs)}" for name, msgs in exc.fields.items()
                )
                messages.error(request, f"{item.code} {item.name}: {exc.message} {details}")
            else:
                published += 1
        if published:
            messages.success(
                request,
                ngettext("%(count)d item published.", "%(count)d items published.", published)
                % {"count": published},
            )

    @admin.action(description=_("Retire selected items"))
    def retire_selected(self, request: HttpRequest, queryset: QuerySet[ServiceItem]) -> None:
        retired = 0
        for item in queryset.order_by("code"):
            try:
                services.service_item_retire(item=item, actor=_actor(request))
            except YiwangError as exc:
                messages.error(request, f"{item.code} {item.name}: {exc.message}")
            else:
                retired += 1
        if retired:
            messages.success(
                request,
                ngettext("%(count)d item retired.", "%(count)d items retired.", retired)
                % {"count": retired},
            )


@admin.register(ServiceItemVersion)
class ServiceItemVersionAdmin(admin.ModelAdmin[ServiceItemVersion]):
    """Published versions are immutable: they can be read here, never changed."""

    list_display = ["item", "number", "published_at", "published_by"]
    list_select_related = ["item", "published_by"]
    search_fields = ["item__code", "item__name"]
    readonly_fields = ["item", "number", "snapshot", "digest", "published_at", "published_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ServiceItemVersion | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ServiceItemVersion | None = None
    ) -> bool:
        return False


@admin.register(LifeSituation)
class LifeSituationAdmin(admin.ModelAdmin[LifeSituation]):
    list_display = ["code", "name", "target", "order"]
    list_filter = ["target"]
    search_fields = ["code", "name"]
    ordering = ["order", "code"]


@admin.register(ServiceStandard)
class ServiceStandardAdmin(admin.ModelAdmin[ServiceStandard]):
    list_display = ["code", "name", "item_type", "department_kind"]
    list_filter = ["item_type", "department_kind"]
    search_fields = ["code", "name"]
