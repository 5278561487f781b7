from django.contrib import admin
from django.http import HttpRequest

from yiwang.core.models import AuditEntry, Region, SmsOutboxMessage, WorkdayOverride
from yiwang.core.workdays import calendar_cache_clear


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin[Region]):
    list_display = ["code", "name", "level", "full_name"]
    list_filter = ["level"]
    search_fields = ["code", "name", "full_name"]
    raw_id_fields = ["parent"]


@admin.register(SmsOutboxMessage)
class SmsOutboxMessageAdmin(admin.ModelAdmin[SmsOutboxMessage]):
    list_display = ["phone", "created_at"]
    readonly_fields = ["phone", "body", "created_at"]


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(admin.ModelAdmin[WorkdayOverride]):
    list_display = ["date", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        calendar_cache_clear()

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        super().delete_model(request, obj)
        calendar_cache_clear()

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        super().delete_queryset(request, queryset)
        calendar_cache_clear()


_AUDIT_FIELDS = (
    "seq",
    "created_at",
    "actor",
    "acting_for",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "detail",
    "client_address",
    "prev_hash",
    "entry_hash",
)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """The audit log, for platform superusers to read; nobody changes it here."""

    list_display = ["seq", "created_at", "actor", "acting_for", "action", "object_repr"]
    list_filter = ["action"]
    search_fields = ["action", "object_type", "object_id", "acting_for"]
    ordering = ["-seq"]
    list_select_related = ["actor"]
    fields = _AUDIT_FIELDS
    readonly_fields = _AUDIT_FIELDS

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
