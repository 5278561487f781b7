from __future__ import annotations

from django.contrib import admin

from yiwang.certificates.models import CertificateType


@admin.register(CertificateType)
class CertificateTypeAdmin(admin.ModelAdmin[CertificateType]):
    list_display = ["code", "name", "issuer_kind", "holder", "validity_years"]
    list_filter = ["issuer_kind", "holder"]
    search_fields = ["code", "name"]
