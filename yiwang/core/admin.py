from django.contrib import admin

from yiwang.core.models import Region, SmsOutboxMessage, WorkdayOverride


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
