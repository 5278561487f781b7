from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from yiwang.identity.models import (
    ApiToken,
    Department,
    Organisation,
    OrganisationAgent,
    StaffRole,
    User,
)


class StaffRoleInline(admin.TabularInline[StaffRole, User]):
    model = StaffRole
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["department"]
    readonly_fields = ["granted_at", "granted_by"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):  # type: ignore[type-arg]
    ordering = ["-date_joined"]
    list_display = ["phone", "name", "masked_id_number", "assurance_level", "is_staff", "is_active"]
    list_filter = ["assurance_level", "is_staff", "is_active"]
    search_fields = ["phone", "name", "id_number"]
    readonly_fields = [
        "id_number",
        "assurance_level",
        "verified_at",
        "in_person_verified_at",
        "in_person_verified_by",
        "last_login",
        "date_joined",
    ]
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (
            _("Real name"),
            {
                "fields": (
                    "name",
                    "id_number",
                    "assurance_level",
                    "verified_at",
                    "in_person_verified_at",
                    "in_person_verified_by",
                )
            },
        ),
        (_("Preferences"), {"fields": ("language",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone", "password1", "password2")}),)
    inlines = [StaffRoleInline]

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj: User) -> str:
        return obj.masked_id_number


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    list_display = ["code", "name", "kind", "region", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["region"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ["uscc", "name", "legal_representative", "region_code"]
    search_fields = ["uscc", "name"]
    raw_id_fields = ["legal_representative"]


@admin.register(OrganisationAgent)
class OrganisationAgentAdmin(admin.ModelAdmin[OrganisationAgent]):
    list_display = ["organisation", "agent", "valid_until", "revoked_at"]
    raw_id_fields = ["organisation", "agent", "granted_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["name", "prefix", "user", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash"]
    raw_id_fields = ["user"]
