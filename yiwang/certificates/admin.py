from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from yiwang.certificates.models import CertificateType, SigningKey


@admin.register(CertificateType)
class CertificateTypeAdmin(admin.ModelAdmin[CertificateType]):
    list_display = ["code", "name", "issuer_kind", "holder", "validity_years"]
    list_filter = ["issuer_kind", "holder"]
    search_fields = ["code", "name"]


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin[SigningKey]):
    """Keys are made by ``keys.signing_key_create`` (their private half never enters the
    database); here they are only read."""

    list_display = ["kid", "department", "algorithm", "not_before", "not_after", "retired_at"]
    list_filter = ["algorithm", "department"]
    search_fields = ["kid", "department__code", "department__name"]
    readonly_fields = [
        "department",
        "kid",
        "algorithm",
        "certificate_pem",
        "certificate_types",
        "not_before",
        "not_after",
        "created_at",
        "retired_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SigningKey | None = None) -> bool:
        return False
