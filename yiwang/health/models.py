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


# ---------------------------------------------------------------------------------------
# Venue codes (场所码) and check-ins


class Venue(models.Model):
    """A place that registered for check-ins; its printed QR code opens ``/health/v/<code>/``.

    ``code`` is random and unguessable: knowing it is what scanning the poster proves.
    """

    class Kind(models.TextChoices):
        SHOP = "shop", _("Shop or market")
        RESTAURANT = "restaurant", _("Restaurant or café")
        OFFICE = "office", _("Office or workplace")
        RESIDENTIAL = "residential", _("Residential compound")
        TRANSPORT = "transport", _("Station or transport hub")
        HOSPITAL = "hospital", _("Hospital or clinic")
        SCHOOL = "school", _("School")
        GOVERNMENT = "government", _("Government service hall")
        VENUE = "venue", _("Cultural, sports or entertainment venue")
        OTHER = "other", _("Other")

    code = models.CharField(_("venue code"), max_length=24, unique=True, editable=False)
    name = models.CharField(_("venue name"), max_length=100)
    kind = models.CharField(_("kind of venue"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    address = models.CharField(_("address"), max_length=200)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="health_venues",
        verbose_name=_("registered by"),
    )
    # Set when the person registered the venue acting for an organisation (办事身份).
    organisation_uscc = models.CharField(
        _("organisation's unified social credit code"), max_length=18, blank=True
    )
    organisation_name = models.CharField(_("organisation"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        indexes = [models.Index(fields=["registered_by", "-created_at"])]

    def __str__(self) -> str:
        return self.name


class VenueCheckin(models.Model):
    """One scan of a venue code: who was where, when. Purged after the retention period.

    The table is the large one (a city of 10 million: 100 million rows in ten days), so it
    holds nothing but the three facts and is read through two indexes: by venue and time
    (who else was there) and by person and time (where was the case). PostgreSQL also gets
    a BRIN index on the time for the purge (migration 0003).
    """

    venue = models.ForeignKey(
        Venue, on_delete=models.CASCADE, related_name="checkins", verbose_name=_("venue")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="health_checkins",
        verbose_name=_("person"),
    )
    checked_in_at = models.DateTimeField(_("checked in at"), default=timezone.now)

    class Meta:
        ordering = ["-checked_in_at", "-id"]
        verbose_name = _("venue check-in")
        verbose_name_plural = _("venue check-ins")
        indexes = [
            models.Index(fields=["venue", "checked_in_at"], name="health_checkin_venue_time"),
            models.Index(fields=["person", "checked_in_at"], name="health_checkin_person_time"),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.checked_in_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------------------------------
# Contact tracing (流调): same-venue and same-trip queries for a confirmed case


class ContactTrace(models.Model):
    """A query for the people a confirmed case may have infected, run by health staff.

    The case's visits (check-ins) and trips (the transport registry, read through the
    exchange) in the window are matched against everyone else's; the people found are
    candidates that staff review one by one. Nobody's colour changes before that.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Under review")
        CLOSED = "closed", _("Closed")

    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("health department"),
    )
    case_id_number = models.CharField(_("case's resident ID number"), max_length=18)
    case_name = models.CharField(_("case's name"), max_length=50, blank=True)
    # The fact that makes the person a case (confirmed, or a positive test).
    case_fact = models.ForeignKey(
        HealthFact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case fact"),
    )
    window_from = models.DateTimeField(_("from"))
    window_until = models.DateTimeField(_("until"))
    margin_minutes = models.PositiveIntegerField(_("margin (minutes)"))
    stay_minutes = models.PositiveIntegerField(_("assumed stay after a check-in (minutes)"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    # What the query found: counts of visits, trips and candidates, and its duration.
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("contact trace")
        verbose_name_plural = _("contact traces")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_until__gt=models.F("window_from")),
                name="health_trace_window",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.created_at:%Y-%m-%d}"


class ContactCandidate(models.Model):
    """A person a trace found, why, and what staff decided."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("To review")
        CONFIRMED = "confirmed", _("Confirmed close contact")
        DISMISSED = "dismissed", _("Dismissed")

    trace = models.ForeignKey(
        ContactTrace, on_delete=models.CASCADE, related_name="candidates", verbose_name=_("trace")
    )
    id_number = models.CharField(_("resident ID number"), max_length=18)
    name = models.CharField(_("name"), max_length=50, blank=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    # Every match: {"kind": "venue", "venue": id, "venue_name", "case_at", "at"} or
    # {"kind": "trip", "mode", "trip", "date", "seat", "case_seat"}.
    matches = models.JSONField(_("matches"), default=list)
    first_contact_on = models.DateField(_("first contact on"))
    decision = models.CharField(
        _("decision"), max_length=16, choices=Decision.choices, default=Decision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    # The close-contact fact recorded on confirmation.
    fact = models.ForeignKey(
        HealthFact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fact recorded"),
    )

    class Meta:
        ordering = ["first_contact_on", "id"]
        verbose_name = _("contact candidate")
        verbose_name_plural = _("contact candidates")
        constraints = [
            models.UniqueConstraint(
                fields=["trace", "id_number"], name="health_candidate_once_per_trace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.trace_id} {self.get_decision_display()}"
