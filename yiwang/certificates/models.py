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

    def certificate_der(self) -> bytes:
        """The X.509 certificate, DER-encoded."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        return x509.load_pem_x509_certificate(self.certificate_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )


class Certificate(models.Model):
    """One electronic certificate issued to a holder (a person or an organisation).

    The holder is named by the identifier the registries use (citizen ID number or
    unified social credit code), not by an account: a certificate imported before its
    holder ever logged in is in her wallet the first time she does.
    """

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        REVOKED = "revoked", _("Revoked")

    certificate_type = models.ForeignKey(
        CertificateType,
        on_delete=models.PROTECT,
        related_name="certificates",
        verbose_name=_("certificate type"),
    )
    # GB/T 36904 identifier: 1.2.156.3005.2.<type>.<issuer USCC>.<serial>.<version>.<check>
    identifier = models.CharField(_("certificate identifier"), max_length=120, unique=True)
    number = models.CharField(_("certificate number"), max_length=64, blank=True)
    holder_kind = models.CharField(
        _("holder"),
        max_length=16,
        choices=[("person", _("Natural person")), ("organisation", _("Legal person"))],
    )
    holder_identifier = models.CharField(_("holder identifier"), max_length=18, db_index=True)
    holder_name = models.CharField(_("holder name"), max_length=200)
    data = models.JSONField(_("certificate data"), default=dict)
    issuer = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("issuing department"),
    )
    issued_on = models.DateField(_("issued on"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    # Where the certificate came from: "application:<number>" or "import:<batch>".
    source = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALID)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.CharField(_("reason for revocation"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-pk"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        indexes = [models.Index(fields=["holder_identifier", "status"])]

    def __str__(self) -> str:
        return f"{self.certificate_type.name} {self.identifier}"


class CertificateAuthorisation(models.Model):
    """授权用证: the holder lets a department or a third party read one certificate.

    Departments read it from the workbench; a third party (a bank, an employer) gets an
    access code. Every read is a ``CertificateUse``; the holder may revoke at any time.
    """

    certificate = models.ForeignKey(
        Certificate, on_delete=models.CASCADE, related_name="authorisations"
    )
    granted_by = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
    )
    third_party_name = models.CharField(_("third party"), max_length=200, blank=True)
    third_party_uscc = models.CharField(_("third party's credit code"), max_length=18, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200)
    valid_until = models.DateField(_("valid until"))
    # SHA-256 of the third party's access code; the code itself is shown once.
    access_code_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("certificate authorisation")
        verbose_name_plural = _("certificate authorisations")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(department__isnull=False, third_party_name="")
                    | models.Q(department__isnull=True) & ~models.Q(third_party_name="")
                ),
                name="certificate_authorisation_one_grantee",
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} → {self.department_id or self.third_party_name}"


class CertificateUse(models.Model):
    """One read of a certificate under an authorisation, shown to the holder."""

    authorisation = models.ForeignKey(
        CertificateAuthorisation, on_delete=models.PROTECT, related_name="uses"
    )
    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="uses")
    used_at = models.DateTimeField(default=timezone.now)
    # The staff member who read it, for a department; empty for a third party's access code.
    used_by = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user_label = models.CharField(max_length=200)
    purpose = models.CharField(max_length=200)

    class Meta:
        ordering = ["-used_at"]

    def __str__(self) -> str:
        return f"{self.certificate_id} @ {self.used_at:%Y-%m-%d %H:%M}"
