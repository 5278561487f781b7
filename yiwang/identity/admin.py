from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.forms import ApplicationForm
from oauth2_provider.models import Application

from yiwang.core.clients import client_address
from yiwang.core.errors import YiwangError
from yiwang.identity import selectors, services
from yiwang.identity.claims import SCOPES
from yiwang.identity.models import (
    ApiToken,
    ClientConsent,
    ClientPolicy,
    Department,
    LoginEvent,
    Organisation,
    OrganisationAgent,
    StaffRole,
    User,
)

# Devices hold their owners' authenticator secrets: not shown in admin. A platform
# administrator resets a staff member's devices with the action on the user list.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


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
        "second_factor",
    ]
    actions = ["second_factor_reset"]
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
        (_("Second factor"), {"fields": ("second_factor",)}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone", "password1", "password2")}),)
    inlines = [StaffRoleInline]

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj: User) -> str:
        return obj.masked_id_number

    @admin.display(description=_("authenticator"))
    def second_factor(self, obj: User) -> str:
        if obj.pk is None:
            return "—"
        status = selectors.mfa_status_for_user(obj)
        if not status.enrolled:
            return str(_("Not set up"))
        return ngettext(
            "Set up; %(count)d recovery code left",
            "Set up; %(count)d recovery codes left",
            status.recovery_codes_left,
        ) % {"count": status.recovery_codes_left}

    @admin.action(
        description=_("Reset the authenticator (set up again at the next login)"),
        permissions=["change"],
    )
    def second_factor_reset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        reset = 0
        for user in queryset:
            try:
                services.mfa_reset(
                    actor=request.user,  # type: ignore[arg-type]
                    user=user,
                    client_address=client_address(request),
                )
            except YiwangError as exc:
                self.message_user(request, f"{user}: {exc.message}", level=messages.ERROR)
            else:
                reset += 1
        if reset:
            self.message_user(
                request,
                ngettext("%(count)d authenticator reset.", "%(count)d authenticators reset.", reset)
                % {"count": reset},
                level=messages.SUCCESS,
            )


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin[LoginEvent]):
    """Every account's login history, to read."""

    list_display = ["created_at", "user", "kind", "client_address", "user_agent"]
    list_filter = ["kind"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LoginEvent | None = None) -> bool:
        return False


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


# ---------------------------------------------------------------------------------------
# Single sign-on: department applications (clients) with their policy


class ClientPolicyForm(forms.ModelForm[ClientPolicy]):
    allowed_scopes = forms.MultipleChoiceField(
        label=_("allowed scopes"),
        choices=[
            (scope, f"{scope} · {label}") for scope, label in SCOPES.items() if scope != "openid"
        ],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("openid (sign-in, pairwise identifier, real-name level) is always allowed."),
    )

    class Meta:
        model = ClientPolicy
        fields = ["department", "allowed_scopes", "min_assurance_level"]


class ClientPolicyInline(admin.StackedInline[ClientPolicy, Application]):
    model = ClientPolicy
    form = ClientPolicyForm
    can_delete = False
    min_num = 1
    max_num = 1
    autocomplete_fields = ["department"]

    def get_formset(
        self, request: HttpRequest, obj: Application | None = None, **kwargs: Any
    ) -> Any:
        # Every client belongs to a department: a policy is required, not just offered.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class ClientApplicationForm(ApplicationForm):
    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        if (
            cleaned.get("authorization_grant_type") == Application.GRANT_AUTHORIZATION_CODE
            and cleaned.get("algorithm") != Application.RS256_ALGORITHM
        ):
            self.add_error(
                "algorithm",
                _(
                    "Applications that sign people in need RS256: their ID tokens are signed "
                    "with the platform's key, published in the JWKS."
                ),
            )
        return cleaned


# Replaces django-oauth-toolkit's own page for the model (the model itself is not swapped).
admin.site.unregister(Application)


@admin.register(Application)
class ClientApplicationAdmin(ApplicationAdmin):
    """Platform administrators register department applications here.

    The client (redirect URIs, client type, secret) is django-oauth-toolkit's; the
    policy inline adds the department, the allowed scopes and the minimum level.
    """

    form = ClientApplicationForm
    inlines = [ClientPolicyInline]
    list_display = ["name", "client_id", "department", "client_type", "created"]
    list_select_related = ["yiwang_policy__department"]

    @admin.display(description=_("department"))
    def department(self, obj: Application) -> str:
        policy = getattr(obj, "yiwang_policy", None)
        return policy.department.name if policy else "—"

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_changeform_initial_data(request)
        initial.setdefault("algorithm", Application.RS256_ALGORITHM)
        initial.setdefault("authorization_grant_type", Application.GRANT_AUTHORIZATION_CODE)
        initial.setdefault("client_type", Application.CLIENT_CONFIDENTIAL)
        return initial


@admin.register(ClientConsent)
class ClientConsentAdmin(admin.ModelAdmin[ClientConsent]):
    """Read-only: people give and withdraw consents themselves."""

    list_display = ["user", "application", "scopes", "granted_at", "revoked_at"]
    list_filter = ["application"]
    list_select_related = ["user", "application"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ClientConsent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ClientConsent | None = None) -> bool:
        # Deleting the row would leave the application's tokens working: people withdraw.
        return False
