"""Applications (办件): one submitted request and its whole life.

An application keeps the catalogue version it was submitted under and its own serialized
BPMN workflow state; each state change is one transaction that writes the application,
its workflow state, its staff tasks and a timeline event together.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.catalog.models import ServiceItemVersion
from yiwang.identity.models import ActingRole


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplement requested")
    NOT_ACCEPTED = "not_accepted", _("Not accepted")
    ACCEPTED = "accepted", _("Accepted")
    UNDER_REVIEW = "under_review", _("Under review")
    GRANTED = "granted", _("Granted")
    DENIED = "denied", _("Denied")
    DELIVERED = "delivered", _("Result delivered")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # A part of a life-event bundle that waits for an earlier part's result, and one that
    # will not start because that result was refused or the bundle was withdrawn.
    WAITING = "waiting", _("Waiting for an earlier step")
    CANCELLED = "cancelled", _("Not started")


# States after which the applicant may no longer withdraw (a decision has been made).
DECIDED = {Status.GRANTED, Status.DENIED, Status.DELIVERED, Status.COMPLETED}
CLOSED = {
    Status.NOT_ACCEPTED,
    Status.DENIED,
    Status.COMPLETED,
    Status.WITHDRAWN,
    Status.CANCELLED,
}


class Application(models.Model):
    # NULL while a draft: numbers are given at submission and unique among submitted ones.
    number = models.CharField(  # noqa: DJ001
        _("application number"), max_length=32, unique=True, null=True
    )
    applicant = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, related_name="applications"
    )
    # Set when the applicant acts for an organisation (as representative or agent).
    organisation = models.ForeignKey(
        "identity.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
    )
    item = models.ForeignKey("catalog.ServiceItem", on_delete=models.PROTECT, related_name="+")
    item_version = models.ForeignKey(
        "catalog.ServiceItemVersion", on_delete=models.PROTECT, related_name="applications"
    )
    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="applications"
    )
    region_code = models.CharField(_("region"), max_length=12)
    # Where the applicant applied from, when it differs from the item's region (跨省通办).
    applied_from_region_code = models.CharField(max_length=12, blank=True)
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # The decision once made: "granted" or "denied" (the status moves on to completed).
    decision = models.CharField(_("decision"), max_length=16, blank=True)
    form_data = models.JSONField(_("form data"), default=dict, blank=True)
    # 免填写: the fields filled from government data, {field: {"source": …, "locked": …}};
    # locked ones keep their value whatever is posted.
    prefilled = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    workflow_state = models.JSONField(default=dict, blank=True)
    # Deadline bookkeeping: working days are counted from acceptance and paused while a
    # supplement is outstanding.
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    acceptance_due = models.DateField(null=True, blank=True)
    promised_due = models.DateField(null=True, blank=True)
    legal_due = models.DateField(null=True, blank=True)
    paused_since = models.DateField(null=True, blank=True)
    paused_working_days = models.PositiveIntegerField(default=0)
    extended_days = models.PositiveSmallIntegerField(default=0)
    warned_at = models.DateTimeField(null=True, blank=True)
    overdue_since = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # A part of a life-event bundle (一件事): the bundle application and the part's key.
    bundle = models.ForeignKey(
        "BundleApplication",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parts",
    )
    bundle_part = models.CharField(max_length=40, blank=True)
    # While WAITING: the day by which what it waits for should have arrived.
    waits_due = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="applications_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "status"]),
            models.Index(fields=["applicant", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    @property
    def version(self) -> ServiceItemVersion:
        """The published catalogue version this application runs under.

        Its snapshot, not the live item, gives the name, time limits, materials, form and
        process: an application keeps the version it was started under. Versions are
        immutable and read once per process (``ServiceItemVersion.objects.get_cached``).
        """
        if Application.item_version.is_cached(self):
            return self.item_version
        return ServiceItemVersion.objects.get_cached(self.item_version_id)

    @property
    def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.version.snapshot
        return snapshot


class ApplicationMaterial(models.Model):
    """A file the applicant uploaded, or a certificate that stands in for a material."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    material_code = models.CharField(max_length=50)
    file = models.FileField(upload_to="applications/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    # 免提交: a material proved by the applicant's e-certificate (its GB/T 36904 identifier)
    # instead of a file.
    certificate_ref = models.CharField(max_length=100, blank=True)
    supplement_round = models.PositiveSmallIntegerField(default=0)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="+")
    superseded_at = models.DateTimeField(null=True, blank=True)
    # She took this certificate off: her certificates no longer prove the material in this
    # application until she asks for it again (she shares only what she chooses).
    declined = models.BooleanField(default=False)

    class Meta:
        ordering = ["application", "material_code", "uploaded_at"]

    def __str__(self) -> str:
        return f"{self.material_code}: {self.original_name or self.certificate_ref}"


class ApplicationEvent(models.Model):
    """One entry of the timeline: every state change and every staff action."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    actor = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=32, blank=True)
    # When the actor acted for the application's organisation: as its legal representative
    # or as an agent, and the organisation as it was then (both identities, 委托授权).
    acting_as = models.CharField(max_length=32, choices=ActingRole.choices, blank=True)
    acting_for_uscc = models.CharField(max_length=18, blank=True)
    acting_for_name = models.CharField(max_length=200, blank=True)
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["application", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class WorkTask(models.Model):
    """A staff task: a ready BPMN user task of one application, in one role's queue."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CLAIMED = "claimed", _("Claimed")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="tasks")
    bpmn_task_id = models.CharField(max_length=64)
    task_name = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    role = models.CharField(max_length=32)
    department = models.ForeignKey(
        "identity.Department", on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    assignee = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["department", "role", "state"])]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "bpmn_task_id"], name="applications_task_unique_bpmn_task"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.application})"


class SupplementRequest(models.Model):
    """The one-time notice (一次性告知) of everything missing; the clock pauses meanwhile."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="supplement_requests"
    )
    # [{"material": code or "", "field": name or "", "reason": text}]
    items = models.JSONField(default=list)
    comment = models.TextField(blank=True)
    requested_by = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "requested_at"]

    def __str__(self) -> str:
        return f"{self.application} supplement {self.requested_at:%Y-%m-%d}"


class Notification(models.Model):
    """A message in the user's inbox (站内信); also sent by SMS when it matters."""

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="notifications"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    sms_sent_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.title


class ApplicationNumberSequence(models.Model):
    """Per department and day counter behind application numbers."""

    prefix = models.CharField(max_length=24, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}:{self.last}"


# ---------------------------------------------------------------------------------------
# Life-event bundles (一件事)


class BundleStatus(models.TextChoices):
    CONFIRMING = "confirming", _("Waiting for co-applicants to confirm")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    DECLINED = "declined", _("Declined by a co-applicant")
    EXPIRED = "expired", _("Not confirmed in time")
    WITHDRAWN = "withdrawn", _("Withdrawn")


BUNDLE_CLOSED = {
    BundleStatus.COMPLETED,
    BundleStatus.DECLINED,
    BundleStatus.EXPIRED,
    BundleStatus.WITHDRAWN,
}


class BundleApplication(models.Model):
    """One application for a life-event bundle: one form, a part per applicable item.

    ``snapshot`` is the bundle's definition when it was submitted, with the catalogue
    version of each part's item: parts created later (after co-applicants confirm) use
    those versions, so a catalogue change never reaches a bundle in flight.
    """

    number = models.CharField(_("bundle number"), max_length=32, unique=True)
    applicant = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, related_name="bundle_applications"
    )
    bundle = models.ForeignKey(
        "catalog.LifeEventBundle", on_delete=models.PROTECT, related_name="applications"
    )
    snapshot = models.JSONField(default=dict)
    # The merged form's facts, {data element: value}, and where prefilled ones came from.
    form_data = models.JSONField(default=dict)
    prefilled = models.JSONField(default=dict, blank=True)
    # The parts that apply (optional ones chosen, rules that held), in bundle order.
    part_keys = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=BundleStatus.choices, db_index=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    confirm_due = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("bundle application")
        verbose_name_plural = _("bundle applications")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="applications_bundle_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def part_definition(self, key: str) -> dict[str, Any]:
        part: dict[str, Any] = next(p for p in self.snapshot["parts"] if p["key"] == key)
        return part


class BundleParticipant(models.Model):
    """A co-applicant (多人在线协同办理) who must confirm the bundle in her own account."""

    class State(models.TextChoices):
        INVITED = "invited", _("Invited")
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Did not answer in time")

    bundle_application = models.ForeignKey(
        BundleApplication, on_delete=models.CASCADE, related_name="participants"
    )
    label = models.CharField(max_length=50)
    name = models.CharField(max_length=100)
    id_number = models.CharField(max_length=18, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.INVITED)
    user = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["bundle_application", "id_number"],
                name="applications_bundle_participant_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_application_id} {self.label}"


class BundleEvent(models.Model):
    """One entry of a bundle's own timeline (its parts keep theirs)."""

    bundle_application = models.ForeignKey(
        BundleApplication, on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(max_length=32)
    part = models.CharField(max_length=40, blank=True)
    actor = models.ForeignKey(
        "identity.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.bundle_application_id} {self.action}"
