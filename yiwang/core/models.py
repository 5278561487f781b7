from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiwang.core.hashchain import GENESIS_HASH


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


class AuditEntry(models.Model):
    """One administrative action, appended in order; its hash covers the previous entry's.

    Append-only: entries are never changed or deleted by the platform, and
    ``manage.py audit_log_verify`` finds one that was. ``detail`` holds what was done
    (field names, roles, reasons), never personal identifiers.
    """

    seq = models.BigIntegerField(_("number"), unique=True)
    created_at = models.DateTimeField(_("time"))
    # The id, not a constraint: the entry stays as written when an account goes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    # Whom the actor acted for: a department (department:330106-GA), an organisation …
    acting_for = models.CharField(_("acting for"), max_length=140, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    client_address = models.CharField(_("client address"), max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit log entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit log entries are never deleted.")


class AuditHead(models.Model):
    """The last audit entry's number and hash: one row, locked by each append."""

    seq = models.BigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="core_audit_head_single")]

    def __str__(self) -> str:
        return f"head #{self.seq}"
