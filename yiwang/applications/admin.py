from __future__ import annotations

from django.contrib import admin

from yiwang.applications.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    Notification,
    SupplementRequest,
    WorkTask,
)


class EventInline(admin.TabularInline[ApplicationEvent, Application]):
    model = ApplicationEvent
    extra = 0
    can_delete = False
    readonly_fields = (
        "created_at",
        "action",
        "from_status",
        "to_status",
        "actor",
        "actor_role",
        "comment",
    )
    fields = readonly_fields


class TaskInline(admin.TabularInline[WorkTask, Application]):
    model = WorkTask
    extra = 0
    can_delete = False
    readonly_fields = (
        "task_name",
        "title",
        "role",
        "department",
        "state",
        "assignee",
        "created_at",
        "completed_at",
        "outcome",
    )
    fields = readonly_fields


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin[Application]):
    """Read-only: applications change only through their services (and so their timeline)."""

    list_display = [
        "number",
        "item",
        "department",
        "status",
        "submitted_at",
        "legal_due",
        "overdue_since",
    ]
    list_filter = ["status", "department", "decision"]
    search_fields = ["number", "item__name"]
    readonly_fields = [f.name for f in Application._meta.fields]
    inlines = [TaskInline, EventInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(SupplementRequest)
class SupplementRequestAdmin(admin.ModelAdmin[SupplementRequest]):
    list_display = ["application", "requested_at", "resolved_at"]
    readonly_fields = [
        "application",
        "items",
        "comment",
        "requested_by",
        "requested_at",
        "resolved_at",
    ]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ["user", "title", "created_at", "read_at"]
    raw_id_fields = ["user", "application"]


@admin.register(ApplicationMaterial)
class ApplicationMaterialAdmin(admin.ModelAdmin[ApplicationMaterial]):
    list_display = ["application", "material_code", "original_name", "size", "uploaded_at"]
    readonly_fields = [
        "application",
        "material_code",
        "file",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
        "supplement_round",
        "superseded_at",
    ]
