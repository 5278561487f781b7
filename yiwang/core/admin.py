from django.contrib import admin

from yiwang.core.models import Region, SmsOutboxMessage, WorkdayOverride
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
