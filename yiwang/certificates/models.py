"""Electronic certificates (电子证照). For now the certificate types the catalogue refers to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CertificateType(models.Model):
    """A kind of electronic certificate (居民身份证, 营业执照 …) that can replace a material."""

    code = models.CharField(_("type code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    issuer_kind = models.CharField(_("issuing department kind"), max_length=32)
    holder = models.CharField(
        _("holder"),
        max_length=16,
        choices=[("person", _("Natural person")), ("organisation", _("Legal person"))],
    )
    fields = models.JSONField(_("data fields"), default=list, blank=True)
    validity_years = models.PositiveSmallIntegerField(_("validity (years)"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("certificate type")
        verbose_name_plural = _("certificate types")

    def __str__(self) -> str:
        return self.name
