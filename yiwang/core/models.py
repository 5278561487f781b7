from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """An administrative division (GB/T 2260), down to township (street) level.

    Codes are 6 digits for provinces, cities and counties (``330106``) and the 9-digit
    statistical code for townships and streets (``330106011``).
    """

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("Province")
        CITY = 2, _("City")
        COUNTY = 3, _("County")
        TOWNSHIP = 4, _("Township")

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    full_name = models.CharField(_("full name"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return f"{self.code} {self.full_name}"


class SmsOutboxMessage(models.Model):
    """A text message sent through the local SMS backend, kept for the demo and tests."""

    phone = models.CharField(_("phone number"), max_length=20, db_index=True)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SMS outbox message")
        verbose_name_plural = _("SMS outbox")

    def __str__(self) -> str:
        return f"{self.phone}: {self.body[:20]}"


class WorkdayOverride(models.Model):
    """An official working-day announcement the calendar package does not yet know.

    The State Council announces each year's holidays and make-up working days late in the
    previous year; administrators enter them here until the package catches up.
    """

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'}"
