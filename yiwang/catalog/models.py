"""The standardised service catalogue (政务服务事项目录).

A ``ServiceStandard`` is the one guide of an item (同事同标); a ``ServiceItem`` is its
implementation by one department in one region. Publishing an item freezes everything an
application depends on (guide, materials, form schema, BPMN and DMN) into an immutable
``ServiceItemVersion``; applications point at the version they were submitted under.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LifeSituation(models.Model):
    """A situation in life or business (生育, 退休, 开办企业 …) used to find services."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=50)
    target = models.CharField(_("target"), max_length=16)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("life situation")
        verbose_name_plural = _("life situations")

    def __str__(self) -> str:
        return self.name


class ItemType(models.TextChoices):
    LICENSING = "licensing", _("Administrative licensing")  # 行政许可
    CONFIRMATION = "confirmation", _("Administrative confirmation")  # 行政确认
    PAYMENT = "payment", _("Administrative payment")  # 行政给付
    ADJUDICATION = "adjudication", _("Administrative adjudication")  # 行政裁决
    REWARD = "reward", _("Administrative reward")  # 行政奖励
    OTHER_POWER = "other_power", _("Other administrative power")  # 其他行政权力
    PUBLIC_SERVICE = "public_service", _("Public service")  # 公共服务


class Target(models.TextChoices):
    PERSON = "person", _("Natural persons")
    ORGANISATION = "organisation", _("Legal persons")
    BOTH = "both", _("Natural and legal persons")


class ServiceStandard(models.Model):
    """The one standard guide of a service item (同事同标), shared by every region."""

    code = models.CharField(_("basic code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    item_type = models.CharField(_("item type"), max_length=32, choices=ItemType.choices)
    department_kind = models.CharField(_("department kind"), max_length=32)
    legal_basis = models.TextField(_("legal basis"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("service standard")
        verbose_name_plural = _("service standards")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ServiceItem(models.Model):
    """A service item as implemented by one department of one region (办事指南)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    code = models.CharField(_("implementation code"), max_length=64, unique=True)
    standard = models.ForeignKey(
        ServiceStandard, on_delete=models.PROTECT, related_name="items", verbose_name=_("standard")
    )
    name = models.CharField(_("name"), max_length=200)
    item_type = models.CharField(_("item type"), max_length=32, choices=ItemType.choices)
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("implementing department"),
    )
    region_code = models.CharField(_("region"), max_length=12)
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    life_situations = models.ManyToManyField(
        LifeSituation, blank=True, related_name="items", verbose_name=_("life situations")
    )
    summary = models.TextField(_("summary"), blank=True)
    legal_limit_days = models.PositiveSmallIntegerField(_("legal time limit (working days)"))
    promised_limit_days = models.PositiveSmallIntegerField(_("promised time limit (working days)"))
    visits_required = models.PositiveSmallIntegerField(
        _("visits required"), choices=[(0, "0"), (1, "1"), (2, "2")], default=0
    )
    online_depth = models.PositiveSmallIntegerField(
        _("online depth"), choices=[(1, "1"), (2, "2"), (3, "3"), (4, "4")], default=4
    )
    fee = models.CharField(_("fee"), max_length=200, default="不收费")
    legal_basis = models.TextField(_("legal basis"), blank=True)
    conditions = models.TextField(_("acceptance conditions"), blank=True)
    procedure = models.JSONField(_("procedure steps"), default=list, blank=True)
    cross_region = models.BooleanField(_("cross-region service (跨省通办)"), default=False)
    # An organisation's item applied for by the person founding it: the organisation comes
    # into being with the result (企业设立登记).
    founding = models.BooleanField(_("founds the organisation"), default=False)
    min_assurance_level = models.PositiveSmallIntegerField(_("minimum real-name level"), default=2)
    form_schema = models.JSONField(_("form schema (JSON Schema)"), default=dict)
    ui_schema = models.JSONField(_("form UI hints"), default=dict, blank=True)
    bpmn_xml = models.TextField(_("BPMN process"))
    bpmn_process_id = models.CharField(_("BPMN process id"), max_length=100)
    dmn_xml = models.JSONField(_("DMN decision tables"), default=list, blank=True)
    keywords = models.CharField(_("search keywords"), max_length=500, blank=True)
    # Registry data the department reads through the exchange to process an application:
    # [{"resource": <data resource code>, "fields": [<field>, …], "purpose": <text>}].
    data_reads = models.JSONField(_("data read through the exchange"), default=list, blank=True)
    # The certificate a favourable result issues (制证): {"certificate_type": <code>,
    # "fields": {<certificate field>: "form.<field>" | "applicant.name" | …}}; {} for none.
    result = models.JSONField(_("result certificate"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    current_version = models.ForeignKey(
        "ServiceItemVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published version"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        constraints = [
            models.CheckConstraint(
                condition=Q(promised_limit_days__lte=models.F("legal_limit_days")),
                name="catalog_item_promised_within_legal",
            ),
            models.CheckConstraint(
                condition=Q(online_depth__gte=1) & Q(online_depth__lte=4),
                name="catalog_item_online_depth_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Material(models.Model):
    """A material an applicant provides, and the certificate type that can replace it."""

    class Form(models.TextChoices):
        ORIGINAL = "original", _("Original")
        COPY = "copy", _("Copy")
        ELECTRONIC = "electronic", _("Electronic")
        # The application form itself, filled in online: nothing to provide separately.
        ONLINE = "online", _("Filled in online")

    item = models.ForeignKey(
        ServiceItem, on_delete=models.CASCADE, related_name="materials", verbose_name=_("item")
    )
    code = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=200)
    form = models.CharField(_("form"), max_length=16, choices=Form.choices)
    copies = models.PositiveSmallIntegerField(_("copies"), default=1)
    required = models.BooleanField(_("required"), default=True)
    condition = models.CharField(_("required when"), max_length=300, blank=True)
    certificate_type = models.ForeignKey(
        "certificates.CertificateType",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("replaced by certificate"),
    )
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["item", "order", "code"]
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="catalog_material_unique_code")
        ]

    def __str__(self) -> str:
        return self.name


# Published versions never change, so each process keeps the ones it has read. Reading a
# version means decoding its BPMN, DMN and form schema: the busiest use cases (submit,
# every staff step) would otherwise do it on every request.
VERSION_CACHE_SIZE = 512
_version_cache: OrderedDict[int, ServiceItemVersion] = OrderedDict()
_version_cache_lock = threading.Lock()


def version_cache_clear() -> None:
    """Forget the versions read so far (tests, whose databases reuse ids, call it)."""
    with _version_cache_lock:
        _version_cache.clear()


class ServiceItemVersionManager(models.Manager["ServiceItemVersion"]):
    def get_cached(self, pk: int) -> ServiceItemVersion:
        """The version with this id, read from the database once per process.

        Callers must treat it, its snapshot included, as read-only: it is shared.
        """
        with _version_cache_lock:
            version = _version_cache.get(pk)
            if version is not None:
                _version_cache.move_to_end(pk)
                return version
        version = self.get(pk=pk)
        with _version_cache_lock:
            _version_cache[pk] = version
            while len(_version_cache) > VERSION_CACHE_SIZE:
                _version_cache.popitem(last=False)
        return version


class ServiceItemVersion(models.Model):
    """An immutable published snapshot of an item: what its applications run under."""

    item = models.ForeignKey(
        ServiceItem, on_delete=models.PROTECT, related_name="versions", verbose_name=_("item")
    )
    number = models.PositiveIntegerField(_("version"))
    # The guide, materials, form schema and UI hints, BPMN and DMN as published.
    snapshot = models.JSONField(_("snapshot"))
    digest = models.CharField(_("SHA-256 of the snapshot"), max_length=64)
    published_at = models.DateTimeField(_("published at"), default=timezone.now)
    published_by = models.ForeignKey(
        "identity.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ServiceItemVersionManager()

    class Meta:
        ordering = ["item", "-number"]
        verbose_name = _("published version")
        verbose_name_plural = _("published versions")
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="catalog_version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.item.code} v{self.number}"


class LifeEventBundle(models.Model):
    """一件事: several items of several departments applied for with one form.

    ``definition`` is the bundle as loaded from ``catalog-data/bundles/`` (see
    ``catalog.bundles``): its parts, dependencies, rules, co-applicants and prefill. An
    application copies it when it starts, so a change here never touches one in flight.
    """

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    target = models.CharField(_("target"), max_length=16, choices=Target.choices)
    life_situation = models.ForeignKey(
        LifeSituation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bundles",
        verbose_name=_("life situation"),
    )
    region_code = models.CharField(_("region"), max_length=12)
    summary = models.TextField(_("summary"), blank=True)
    applicant_note = models.CharField(_("who applies"), max_length=200, blank=True)
    definition = models.JSONField(_("definition"), default=dict)
    is_active = models.BooleanField(_("open for applications"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("life-event bundle")
        verbose_name_plural = _("life-event bundles")

    def __str__(self) -> str:
        return self.name

    @property
    def part_items(self) -> list[str]:
        return [part["item"] for part in self.definition.get("parts", [])]
