"""How application statuses, timeline entries and deadlines read on the pages."""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.applications.models import (
    Application,
    ApplicationEvent,
    BundleEvent,
    BundleParticipant,
    BundleStatus,
    Status,
)
from yiwang.catalog.models import Material
from yiwang.identity.models import ActingRole, StaffRole

register = template.Library()

ACTION_LABELS: dict[str, Promise] = {
    "draft": _("Draft created"),
    "submit": _("Application submitted"),
    "accept:accept": _("Accepted for processing"),
    "accept:refuse": _("Not accepted for processing"),
    "accept:supplement": _("Supplement requested (one-time notice)"),
    "review:pass": _("Review passed"),
    "review:return": _("Returned after review"),
    "decide:grant": _("Decision: granted"),
    "decide:deny": _("Decision: denied"),
    "deliver:delivered": _("Result delivered"),
    "resubmit": _("Supplement provided and resubmitted"),
    "withdraw": _("Application withdrawn"),
    "assign": _("Task assigned"),
    "data_read": _("Registry data read through the data exchange"),
    "extend": _("Time limit extended (Art. 42)"),
    "deadline_warning": _("Deadline warning"),
    "overdue_escalated": _("Overdue; escalated to the department administrator"),
    "timer:acceptance_overdue": _("Acceptance time limit reached"),
    "timer:decision_overdue": _("Decision time limit reached"),
    "timer:review_decision_overdue": _("Decision time limit reached"),
    # A part of a life-event bundle (一件事)
    "bundle_part": _("Created as part of a life-event bundle"),
    "bundle_ready": _("The earlier step is done; ready to be submitted"),
    "bundle_cancel": _("Not started"),
    "bundle_wait_escalate": _("Waited too long; the departments were alerted"),
}
# The bundle's own timeline (BundleEvent.action).
BUNDLE_ACTION_LABELS: dict[str, Promise] = {
    "submit": _("Life-event application submitted"),
    "invite": _("Co-applicant asked to confirm"),
    "confirm": _("Co-applicant confirmed"),
    "decline": _("Co-applicant declined"),
    "expire": _("Not confirmed in time"),
    "part_submitted": _("Sent to the department"),
    "part_needs_action": _("Needs your action before it can be sent"),
    "part_closed": _("Closed"),
    "part_cancelled": _("Not started"),
    "part_wait_overdue": _("Waited too long; the departments were alerted"),
    "complete": _("Every service has finished"),
    "withdraw": _("Life-event application withdrawn"),
}
STEP_LABELS: dict[str, Promise] = {
    "accept": _("Acceptance"),
    "supplement": _("Supplement"),
    "review": _("Review"),
    "decide": _("Decision"),
    "deliver": _("Delivery"),
    "site_check": _("On-site check"),
}
OUTCOME_LABELS: dict[str, Promise] = {
    "pass": _("passed"),
    "return": _("returned"),
    "accept": _("accepted"),
    "refuse": _("not accepted"),
    "supplement": _("supplement requested"),
    "grant": _("granted"),
    "deny": _("denied"),
    "delivered": _("delivered"),
    "resubmitted": _("resubmitted"),
}
STATUS_TONES: dict[str, str] = {
    Status.DRAFT: "draft",
    Status.SUBMITTED: "running",
    Status.ACCEPTED: "running",
    Status.UNDER_REVIEW: "running",
    Status.SUPPLEMENT_REQUESTED: "attention",
    Status.GRANTED: "ok",
    Status.DELIVERED: "ok",
    Status.COMPLETED: "ok",
    Status.NOT_ACCEPTED: "bad",
    Status.DENIED: "bad",
    Status.WITHDRAWN: "closed",
    Status.WAITING: "draft",
    Status.CANCELLED: "closed",
}
BUNDLE_STATUS_TONES: dict[str, str] = {
    BundleStatus.CONFIRMING: "attention",
    BundleStatus.IN_PROGRESS: "running",
    BundleStatus.COMPLETED: "ok",
    BundleStatus.DECLINED: "bad",
    BundleStatus.EXPIRED: "closed",
    BundleStatus.WITHDRAWN: "closed",
}


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    if action.startswith("timer:"):
        return gettext("Time limit reached: %(name)s") % {"name": action.split(":", 1)[1]}
    step, _sep, outcome = action.partition(":")
    if step in STEP_LABELS:
        shown = str(OUTCOME_LABELS.get(outcome, outcome))
        return f"{STEP_LABELS[step]}：{shown}" if outcome else str(STEP_LABELS[step])
    return action


@register.filter
def event_action(event: ApplicationEvent) -> str:
    """The timeline entry's action in words (受理, 一次性告知补正 …)."""
    return action_label(event.action)


def acting_attribution(person: str, acting_as: str, organisation: str) -> str:
    """Both identities of one act: 王*（代理 杭州云栖数据服务有限公司）."""
    if acting_as == ActingRole.LEGAL_REPRESENTATIVE:
        text = gettext("%(person)s (legal representative of %(organisation)s)")
    else:
        text = gettext("%(person)s (agent for %(organisation)s)")
    return text % {"person": person, "organisation": organisation}


@register.filter
def event_actor(event: ApplicationEvent) -> str:
    """Who acted: the person and the organisation she acted for, staff by role and masked
    name, the applicant, or the system."""
    if event.acting_as and event.actor is not None:
        return acting_attribution(event.actor.display_name, event.acting_as, event.acting_for_name)
    if event.actor_role == "applicant" or (
        event.actor_id is not None and event.actor_id == event.application.applicant_id
    ):
        return gettext("Applicant")
    if event.actor_role in StaffRole.Role.values:
        role = str(StaffRole.Role(event.actor_role).label)
        return f"{role} · {event.actor.display_name}" if event.actor else role
    if event.actor is None:
        return gettext("System")
    return event.actor.display_name


def _choice_label(choices: type[models.TextChoices], value: str) -> str:
    """The label of a stored choice, or the value itself when it is not one of them."""
    return str(choices(value).label) if value in choices.values else value


@register.filter
def status_label(status: str) -> str:
    return _choice_label(Status, status)


@register.filter
def status_tone(status: str) -> str:
    return STATUS_TONES.get(status, "running")


@register.filter
def material_form_label(form: str) -> str:
    return _choice_label(Material.Form, form)


@register.filter
def current_due(application: Application) -> datetime.date | None:
    """The deadline the application is working to now: acceptance, then the legal one."""
    if application.accepted_at is not None:
        return application.legal_due
    return application.acceptance_due


@register.filter
def due_state(application: Application) -> str:
    """Either "overdue", "warning" (80 % of the time used) or an empty string."""
    if application.overdue_since is not None:
        return "overdue"
    if application.warned_at is not None:
        return "warning"
    due = current_due(application)
    running = (Status.SUBMITTED, Status.ACCEPTED, Status.UNDER_REVIEW)
    if due is not None and application.status in running and due < timezone.localdate():
        return "overdue"
    return ""


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


# ---------------------------------------------------------------------------------------
# Life-event bundles (一件事)


@register.filter
def bundle_event_action(event: BundleEvent) -> str:
    return str(BUNDLE_ACTION_LABELS.get(event.action, event.action))


@register.filter
def bundle_event_actor(event: BundleEvent) -> str:
    """The applicant, a co-applicant by her role in the bundle, or the system."""
    if event.actor_id is None:
        return gettext("System")
    if event.actor_id == event.bundle_application.applicant_id:
        return gettext("Applicant")
    label = event.data.get("label") if isinstance(event.data, dict) else None
    return str(label) if label else gettext("Co-applicant")


@register.filter
def bundle_status_label(status: str) -> str:
    return _choice_label(BundleStatus, status)


@register.filter
def bundle_status_tone(status: str) -> str:
    return BUNDLE_STATUS_TONES.get(status, "running")


@register.filter
def participant_state_label(state: str) -> str:
    return _choice_label(BundleParticipant.State, state)
