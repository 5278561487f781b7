"""Health codes (健康码): rule sets, risk areas, facts, declarations, colours, appeals.

Everything here except the rule sets and risk areas is personal health data: the purge
(``services.health_data_purge``) deletes it when the module is switched off.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Colour(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")


# The more severe colour wins when several rules fire.
SEVERITY = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


class RuleSet(models.Model):
    """One version of a rule set: JSON Logic rules and the test cases they must pass.

    A version's definition never changes once it has been active: an edit is a new
    version. At most one version (of any code) is active; the colours are computed with it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    code = models.CharField(_("code"), max_length=64)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=200)
    definition = models.JSONField(
        _("definition"),
        help_text=_("The rules file: code, name, description, rules and test cases."),
    )
    digest = models.CharField(_("SHA-256 of the definition"), max_length=64, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    source = models.CharField(_("source"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("activated by"),
    )

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = _("health-code rule set")
        verbose_name_plural = _("health-code rule sets")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="health_ruleset_version"),
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="health_ruleset_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version} ({self.get_status_display()})"


class RiskArea(models.Model):
    """A region that health staff declared a risk area for a window of days (inclusive)."""

    class Level(models.TextChoices):
        HIGH = "high", _("High risk")
        MEDIUM = "medium", _("Medium risk")
        LOW = "low", _("Low risk")

    region = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    level = models.CharField(_("risk level"), max_length=16, choices=Level.choices)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Empty: until further notice.")
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("declared by"),
    )
    declared_at = models.DateTimeField(_("declared at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-valid_from", "region__code"]
        verbose_name = _("risk area")
        verbose_name_plural = _("risk areas")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="health_riskarea_window",
            )
        ]

    def __str__(self) -> str:
        return f"{self.region.full_name} {self.get_level_display()} {self.valid_from}–"


class HealthFact(models.Model):
    """A fact a government department holds about a person, with where it came from."""

    class Kind(models.TextChoices):
        CONFIRMED_CASE = "confirmed_case", _("Confirmed case")
        SUSPECTED_CASE = "suspected_case", _("Suspected case")
        CLOSE_CONTACT = "close_contact", _("Close contact")
        TEST_RESULT = "test_result", _("Test result")
        RISK_AREA_ARRIVAL = "risk_area_arrival", _("Arrival from a designated risk area")

    class Result(models.TextChoices):
        POSITIVE = "positive", _("Positive")
        NEGATIVE = "negative", _("Negative")

    id_number = models.CharField(_("resident ID number"), max_length=18, db_index=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    result = models.CharField(_("test result"), max_length=16, choices=Result.choices, blank=True)
    observed_on = models.DateField(_("date"))
    region_code = models.CharField(_("region"), max_length=12, blank=True)
    source_department = models.CharField(_("source department"), max_length=32)
    source_registry = models.CharField(_("source registry"), max_length=100)
    source_reference = models.CharField(_("reference in the source"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["-observed_on", "-id"]
        verbose_name = _("health fact")
        verbose_name_plural = _("health facts")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="test_result", result__in=["positive", "negative"])
                | (~Q(kind="test_result") & Q(result="")),
                name="health_fact_result_only_for_tests",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.observed_on} ({self.source_department})"


class HealthDeclaration(models.Model):
    """A person's self-declaration, or her daily health check-in (one a day)."""

    class Kind(models.TextChoices):
        DECLARATION = "declaration", _("Self-declaration")
        CHECKIN = "checkin", _("Daily check-in")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="health_declarations",
        verbose_name=_("person"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    day = models.DateField(_("day"))
    declared_at = models.DateTimeField(_("declared at"), default=timezone.now)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    symptoms_since = models.DateField(_("symptoms since"), null=True, blank=True)
    case_contact_on = models.DateField(
        _("contact with a confirmed or suspected case on"), null=True, blank=True
    )

    class Meta:
        ordering = ["-declared_at", "-id"]
        verbose_name = _("health declaration")
        verbose_name_plural = _("health declarations")
        indexes = [models.Index(fields=["person", "kind", "day"])]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "day"],
                condition=Q(kind="checkin"),
                name="health_declaration_one_checkin_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.day}"


class TravelStay(models.Model):
    """One place a declaration says the person stayed, and when (days inclusive)."""

    declaration = models.ForeignKey(
        HealthDeclaration, on_delete=models.CASCADE, related_name="stays"
    )
    region = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    arrived_on = models.DateField(_("arrived on"))
    left_on = models.DateField(_("left on"))

    class Meta:
        ordering = ["arrived_on", "id"]
        verbose_name = _("stay")
        verbose_name_plural = _("stays")

    def __str__(self) -> str:
        return f"{self.region_id} {self.arrived_on}–{self.left_on}"


class HealthStatus(models.Model):
    """One colour a person's code took, from when, and why. Rows are never changed.

    A row is written when the colour changes (computed by the rules, or corrected by
    health staff after an appeal); the latest row is the current colour.
    """

    class Source(models.TextChoices):
        RULES = "rules", _("Rules")
        CORRECTION = "correction", _("Correction after an appeal")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="health_statuses",
        verbose_name=_("person"),
    )
    colour = models.CharField(_("colour"), max_length=16, choices=Colour.choices)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    rule_set = models.ForeignKey(
        RuleSet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rule set"),
    )
    rule_id = models.CharField(_("deciding rule"), max_length=100)
    # What decided: the facts and declarations, as they were then (a snapshot).
    inputs = models.JSONField(_("facts and declarations used"), default=list)
    evaluated_at = models.DateTimeField(_("evaluated at"))
    appeal = models.ForeignKey(
        "HealthAppeal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("appeal"),
    )
    # For a correction: inputs (``fact:<id>``, ``declaration:<id>``) the rules ignore from then.
    set_aside = models.JSONField(_("inputs set aside"), default=list, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("health-code colour")
        verbose_name_plural = _("health-code colour history")
        indexes = [models.Index(fields=["person", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_colour_display()} {self.created_at:%Y-%m-%d %H:%M}"


class HealthAppeal(models.Model):
    """A person's appeal against the colour of her code, and how health staff resolved it."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Colour upheld")
        CORRECTED = "corrected", _("Colour corrected")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="health_appeals",
        verbose_name=_("person"),
    )
    status_appealed = models.ForeignKey(
        HealthStatus,
        on_delete=models.CASCADE,
        related_name="appeals",
        verbose_name=_("colour appealed"),
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolution_comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("health-code appeal")
        verbose_name_plural = _("health-code appeals")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="open"), name="health_appeal_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.get_status_display()} {self.created_at:%Y-%m-%d}"
