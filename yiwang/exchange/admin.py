from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from yiwang.exchange.models import (
    AccessGrant,
    BirthMedicalRecord,
    Consent,
    ConsumerSystem,
    DataResource,
    DataResourceField,
    ExchangeLogCheckpoint,
    ExchangeLogRecord,
    HouseholdMember,
    HousingFundAccount,
    LegalPersonRecord,
    MarriageRecord,
    MedicalInsuranceRecord,
    PopulationRecord,
    SocialInsuranceRecord,
)
from yiwang.exchange.records import TransportPassengerRecord
from yiwang.exchange.services import resource_cache_clear


@admin.register(PopulationRecord)
class PopulationRecordAdmin(admin.ModelAdmin[PopulationRecord]):
    list_display = ["name", "gender", "birth_date", "household_region_code", "status"]
    list_filter = ["status", "gender"]
    search_fields = ["id_number", "name"]


@admin.register(LegalPersonRecord)
class LegalPersonRecordAdmin(admin.ModelAdmin[LegalPersonRecord]):
    list_display = ["uscc", "name", "entity_type", "legal_representative_name", "status"]
    list_filter = ["status", "entity_type"]
    search_fields = ["uscc", "name"]


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records made by the exchange's use cases: readable here, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DataResourceFieldInline(admin.TabularInline[DataResourceField, DataResource]):
    model = DataResourceField
    extra = 0
    fields = ["order", "name", "label", "data_type", "sensitivity", "personal", "mask"]


@admin.register(DataResource)
class DataResourceAdmin(admin.ModelAdmin[DataResource]):
    list_display = ["code", "name", "provider", "sharing_type", "requires_consent", "is_active"]
    list_filter = ["sharing_type", "requires_consent", "is_active"]
    list_select_related = ["provider"]
    search_fields = ["code", "name"]
    inlines = [DataResourceFieldInline]

    def save_model(self, request: HttpRequest, obj: DataResource, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        resource_cache_clear()


@admin.register(ConsumerSystem)
class ConsumerSystemAdmin(admin.ModelAdmin[ConsumerSystem]):
    list_display = ["department", "code", "name", "rate_limit_per_minute", "is_active"]
    list_select_related = ["department"]
    search_fields = ["code", "name", "department__code"]
    # The token hash is never shown; deactivate a system to stop it at once.
    fields = ["department", "code", "name", "rate_limit_per_minute", "is_active", "created_at"]
    readonly_fields = ["department", "code", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # registered by the department's data officer, who receives the token


@admin.register(AccessGrant)
class AccessGrantAdmin(_ReadOnly):
    list_display = ["consumer", "resource", "status", "requested_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["consumer__department", "resource"]


@admin.register(Consent)
class ConsentAdmin(_ReadOnly):
    list_display = ["subject", "department", "purpose", "given_at", "expires_at", "revoked_at"]
    list_select_related = ["subject", "department"]


@admin.register(ExchangeLogRecord)
class ExchangeLogRecordAdmin(_ReadOnly):
    list_display = ["seq", "created_at", "consumer", "provider", "service", "purpose", "outcome"]
    list_filter = ["outcome", "service"]
    search_fields = ["request_id", "consumer", "issue"]
    exclude = ["subject_digest"]


@admin.register(ExchangeLogCheckpoint)
class ExchangeLogCheckpointAdmin(_ReadOnly):
    list_display = ["seq", "signed_at", "key_id"]


for _model in (
    BirthMedicalRecord,
    HouseholdMember,
    MarriageRecord,
    SocialInsuranceRecord,
    MedicalInsuranceRecord,
    HousingFundAccount,
):
    admin.site.register(_model)


@admin.register(TransportPassengerRecord)
class TransportPassengerRecordAdmin(admin.ModelAdmin[TransportPassengerRecord]):
    """The transport department's real-name ticket records (read by 流调 through the exchange)."""

    list_display = ["trip_number", "travel_date", "mode", "carrier", "departure", "arrival", "seat"]
    list_filter = ["mode", "travel_date"]
    search_fields = ["trip_number", "id_number", "name"]
    date_hierarchy = "travel_date"
