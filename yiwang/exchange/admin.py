from django.contrib import admin

from yiwang.exchange.models import LegalPersonRecord, PopulationRecord


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
