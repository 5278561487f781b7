"""The governed data exchange: registries, resource catalogue, grants, consent, the log.

The base registries (population 人口库, legal persons 法人库) and the department records
in ``records.py`` are what the providers answer from. Other modules never read those
tables directly: every cross-department read goes through ``services.exchange_fetch``
(or the ``/r1/`` gateway for department systems), which checks the consumer's grant and
the citizen's consent, masks fields and appends to the hash-chained exchange log.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core.hashchain import GENESIS_HASH
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
    # 监护人: a minor's guardians (the parents registered at birth registration).
    guardian_1_id_number = models.CharField(
        _("first guardian's ID number"), max_length=18, blank=True, db_index=True
    )
    guardian_2_id_number = models.CharField(
        _("second guardian's ID number"), max_length=18, blank=True, db_index=True
    )
    # The 出生医学证明 a birth registration was made on: one registration per birth.
    birth_certificate_number = models.CharField(
        _("birth medical certificate number"), max_length=20, blank=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("population record")
        verbose_name_plural = _("population registry")
        constraints = [
            models.UniqueConstraint(
                fields=["birth_certificate_number"],
                condition=~Q(birth_certificate_number=""),
                name="exchange_population_birth_registered_once",
            ),
        ]

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


# ---------------------------------------------------------------------------------------
# Resource catalogue (数据资源目录)


class Sensitivity(models.IntegerChoices):
    PUBLIC = 1, _("1 public")
    INTERNAL = 2, _("2 internal")
    SENSITIVE = 3, _("3 sensitive")
    CORE = 4, _("4 core")


class SharingType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Shared unconditionally")
    CONDITIONAL = "conditional", _("Shared on conditions")
    NOT_SHARED = "not_shared", _("Not shared")


class SubjectKind(models.TextChoices):
    PERSON = "person", _("Natural person (resident ID number)")
    ORGANISATION = "organisation", _("Organisation (unified social credit code)")
    # A train, flight or coach on one day, as "G1234@2026-11-20": its passenger list.
    TRIP = "trip", _("Trip (train, flight or coach number and date)")


class DataResource(models.Model):
    """One data resource a department provides, and the gateway service that serves it."""

    class Frequency(models.TextChoices):
        REALTIME = "realtime", _("Real time")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    code = models.SlugField(_("service code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"))
    provider = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="data_resources",
        verbose_name=_("provider"),
    )
    subsystem = models.SlugField(_("provider subsystem"), max_length=60, default="registry")
    sharing_type = models.CharField(_("sharing type"), max_length=20, choices=SharingType.choices)
    subject_kind = models.CharField(_("data subject"), max_length=20, choices=SubjectKind.choices)
    # Conditionally shared personal data read for a citizen's own matter needs her consent.
    requires_consent = models.BooleanField(_("needs the data subject's consent"), default=False)
    update_frequency = models.CharField(
        _("update frequency"), max_length=20, choices=Frequency.choices
    )
    legal_basis = models.TextField(_("legal basis of sharing"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["provider__code", "code"]
        verbose_name = _("data resource")
        verbose_name_plural = _("data resource catalogue")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DataResourceField(models.Model):
    """A field of a resource, with its sensitivity and how it is masked when not granted clear."""

    class Mask(models.TextChoices):
        NONE = "none", _("Never masked")
        ID_NUMBER = "id_number", _("ID number: 3301**********123X")
        NAME = "name", _("Name: 张*")
        PHONE = "phone", _("Phone: 138****0001")
        TAIL = "tail", _("Keep the last four characters")
        REDACT = "redact", _("Withheld entirely")

    resource = models.ForeignKey(DataResource, on_delete=models.CASCADE, related_name="fields")
    name = models.SlugField(_("field"), max_length=60)
    label = models.CharField(_("label"), max_length=100)
    data_type = models.CharField(_("type"), max_length=20, default="string")
    sensitivity = models.PositiveSmallIntegerField(_("sensitivity"), choices=Sensitivity.choices)
    personal = models.BooleanField(_("personal information"), default=False)
    mask = models.CharField(_("mask"), max_length=20, choices=Mask.choices, default=Mask.NONE)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["resource", "order", "name"]
        verbose_name = _("data resource field")
        verbose_name_plural = _("data resource fields")
        constraints = [
            models.UniqueConstraint(fields=["resource", "name"], name="exchange_field_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.resource.code}.{self.name}"


# ---------------------------------------------------------------------------------------
# Consumers and grants


class ConsumerSystem(models.Model):
    """A department's information system that reads data through the gateway (a subsystem).

    Platform modules that read other departments' data (identity, applications, health
    codes) are consumer systems too, of the department that runs the platform.
    """

    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="consumer_systems",
        verbose_name=_("department"),
    )
    code = models.SlugField(_("system code"), max_length=60)
    name = models.CharField(_("name"), max_length=100)
    # SHA-256 of the system's access token; the token is shown once, when issued.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute"), default=600)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["department__code", "code"]
        verbose_name = _("consumer system")
        verbose_name_plural = _("consumer systems")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "code"], name="exchange_consumer_unique_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.department.code}/{self.code}"


class ConsumerRateWindow(models.Model):
    """Requests of one consumer system in one minute (the gateway's rate limit)."""

    consumer = models.ForeignKey(ConsumerSystem, on_delete=models.CASCADE, related_name="+")
    window = models.BigIntegerField()  # minutes since the epoch
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "window"], name="exchange_rate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.consumer_id}@{self.window}: {self.count}"


class AccessGrant(models.Model):
    """A consumer's request to read fields of a resource, and the provider's decision."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting decision")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")
        REVOKED = "revoked", _("Revoked")

    consumer = models.ForeignKey(
        ConsumerSystem, on_delete=models.PROTECT, related_name="grants", verbose_name=_("consumer")
    )
    resource = models.ForeignKey(
        DataResource, on_delete=models.PROTECT, related_name="grants", verbose_name=_("resource")
    )
    fields = models.JSONField(_("fields"), default=list)
    # Granted fields the consumer receives unmasked (the others of level 3 and 4 are masked).
    clear_fields = models.JSONField(_("fields in clear"), default=list, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    duration_days = models.PositiveIntegerField(_("duration (days)"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    # None for the platform's standing grants, loaded from the catalogue.
    requested_by = models.ForeignKey(
        "identity.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.CharField(max_length=300, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        indexes = [models.Index(fields=["consumer", "resource", "status"])]

    def __str__(self) -> str:
        return f"{self.consumer} → {self.resource.code} ({self.status})"

    def is_active_at(self, moment: datetime.datetime) -> bool:
        return (
            self.status == self.Status.APPROVED
            and self.valid_from is not None
            and self.expires_at is not None
            and self.valid_from <= moment < self.expires_at
        )


class Consent(models.Model):
    """A citizen's consent to a department reading her data for a purpose, until a date."""

    subject = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="consents", verbose_name=_("person")
    )
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("department"),
    )
    resources = models.ManyToManyField(DataResource, related_name="+", verbose_name=_("data"))
    purpose = models.CharField(_("purpose"), max_length=200)
    # What the consent was given for, e.g. an application number.
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-given_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["subject", "department"])]

    def __str__(self) -> str:
        return f"{self.subject_id} → {self.department_id}: {self.purpose}"


# ---------------------------------------------------------------------------------------
# The exchange log


class ExchangeLogRecord(models.Model):
    """One exchange, appended in order; each record's hash covers the previous one's.

    ``seq`` gives the order and is not hashed: ``exchange_log_verify`` finds deleted,
    inserted and reordered records from the links, altered ones from the hashes.
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    request_id = models.CharField(max_length=64)
    consumer = models.CharField(max_length=140)  # department code/system code
    provider = models.CharField(max_length=64)  # department code
    service = models.CharField(max_length=60)
    purpose = models.CharField(max_length=200)
    issue = models.CharField(max_length=64, blank=True)  # case reference, e.g. an application
    # Whose data: a keyed digest (to find a person's records) and a masked form (to show).
    subject_digest = models.CharField(max_length=64, blank=True, db_index=True)
    subject_masked = models.CharField(max_length=32, blank=True)
    fields = models.CharField(max_length=500, blank=True)  # comma-separated, as returned
    request_digest = models.CharField(max_length=64)
    response_digest = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=64)  # "ok" or the error type
    status_code = models.PositiveSmallIntegerField()
    prev_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("exchange log record")
        verbose_name_plural = _("exchange log")

    def __str__(self) -> str:
        return f"#{self.seq} {self.consumer} → {self.provider}/{self.service}"


class ExchangeLogHead(models.Model):
    """The last record's number and hash: one row, locked by each append."""

    seq = models.BigIntegerField(default=0)
    record_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="exchange_log_head_single")]

    def __str__(self) -> str:
        return f"head #{self.seq}"


class ExchangeLogCheckpoint(models.Model):
    """The chain head at a moment, signed with the platform's log key."""

    seq = models.BigIntegerField(unique=True)
    record_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.TextField()  # base64

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"


from yiwang.exchange.records import (  # noqa: E402 - models of this app defined in records.py
    BirthMedicalRecord,
    HouseholdMember,
    HousingFundAccount,
    MarriageRecord,
    MedicalInsuranceRecord,
    SocialInsuranceRecord,
)

__all__ = [
    "AccessGrant",
    "BirthMedicalRecord",
    "Consent",
    "ConsumerRateWindow",
    "ConsumerSystem",
    "DataResource",
    "DataResourceField",
    "ExchangeLogCheckpoint",
    "ExchangeLogHead",
    "ExchangeLogRecord",
    "HouseholdMember",
    "HousingFundAccount",
    "LegalPersonRecord",
    "MarriageRecord",
    "MedicalInsuranceRecord",
    "PopulationRecord",
    "SocialInsuranceRecord",
]
