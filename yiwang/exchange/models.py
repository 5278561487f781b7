"""Base registries held by the platform: population (人口库) and legal persons (法人库).

Other modules never read these tables directly: they go through the registry
interfaces in ``registries.py``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.masking import mask_id_number


class PopulationRecord(models.Model):
    """A resident as held by the public-security population registry."""

    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Status(models.TextChoices):
        NORMAL = "normal", _("Normal")
        DECEASED = "deceased", _("Deceased")
        CANCELLED = "cancelled", _("Registration cancelled")

    id_number = models.CharField(_("resident ID number"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    ethnicity = models.CharField(_("ethnicity"), max_length=20, default="汉族")
    household_region_code = models.CharField(_("household registration region"), max_length=12)
    household_address = models.CharField(_("household registration address"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NORMAL
    )
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("population record")
        verbose_name_plural = _("population registry")

    def __str__(self) -> str:
        return f"{mask_id_number(self.id_number)} {self.name}"


class LegalPersonRecord(models.Model):
    """A legal person as held by the market-regulation legal-person registry."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In business")
        REVOKED = "revoked", _("Licence revoked")
        DEREGISTERED = "deregistered", _("Deregistered")

    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    entity_type = models.CharField(_("entity type"), max_length=50)
    legal_representative_name = models.CharField(_("legal representative"), max_length=50)
    legal_representative_id_number = models.CharField(
        _("legal representative's ID number"), max_length=18
    )
    registered_capital = models.CharField(_("registered capital"), max_length=50, blank=True)
    established_on = models.DateField(_("established on"))
    region_code = models.CharField(_("registered region"), max_length=12)
    address = models.CharField(_("address"), max_length=200)
    business_scope = models.TextField(_("business scope"), blank=True)
    registration_authority = models.CharField(_("registration authority"), max_length=100)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("legal-person record")
        verbose_name_plural = _("legal-person registry")

    def __str__(self) -> str:
        return f"{self.uscc} {self.name}"
