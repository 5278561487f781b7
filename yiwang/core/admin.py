from django.contrib import admin

from yiwang.core.models import Region, SmsOutboxMessage


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
