"""Electronic certificates (电子证照): types, and the departments' signing keys."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
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


class SigningKey(models.Model):
    """A department's key for signing certificates, certified by the platform's trust anchor.

    The private key lives outside the database (``keys.py``: a file per key under
    ``CERTIFICATES_KEY_DIR``; an HSM in a hardened deployment). A retired key signs
    nothing more but stays in the trust list, so that what it signed still verifies.
    """

    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="signing_keys",
        verbose_name=_("department"),
    )
    kid = models.CharField(_("key id"), max_length=16, unique=True)  # hex of 8 bytes
    algorithm = models.CharField(_("algorithm"), max_length=16, default="ES256")
    certificate_pem = models.TextField(_("X.509 certificate"))
    # The certificate types this key may sign (type codes).
    certificate_types = models.JSONField(_("certificate types"), default=list)
    not_before = models.DateTimeField(_("valid from"))
    not_after = models.DateTimeField(_("valid until"))
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        ordering = ["department", "-created_at"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")

    def __str__(self) -> str:
        return f"{self.kid} ({self.department_id})"
