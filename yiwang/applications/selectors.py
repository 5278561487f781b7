"""Reads of applications, scoped to who asks: applicants see their own, staff their departments'.

None of them joins the service item or its version: an application's names, limits,
materials, form and process come from its version's snapshot (``Application.snapshot``),
which each process reads once.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from django.db.models import Prefetch, Q, QuerySet

from yiwang.applications.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    BundleApplication,
    BundleEvent,
    BundleParticipant,
    BundleStatus,
    Notification,
    Status,
    WorkTask,
)
from yiwang.catalog.models import ServiceItem
from yiwang.identity.models import StaffRole, User
from yiwang.identity.selectors import ActingChoice, acting_choices_for

RUNNING = [
    Status.SUBMITTED,
    Status.SUPPLEMENT_REQUESTED,
    Status.ACCEPTED,
    Status.UNDER_REVIEW,
]


class ApplicationAccess(enum.StrEnum):
    """What a person may do with an application on the applicant's side."""

    ACT = "act"  # she applied, and still acts for its organisation (if any)
    VIEW = "view"  # her organisation's, filed by someone else: she may read it
    ENDED = "ended"  # she applied for an organisation she no longer acts for
    NONE = ""  # not hers to see


def _covered(choice: ActingChoice) -> Q:
    """The applications of the choice's organisation she may see in that role: all for its
    legal representative, those of the services her grant covers for an agent."""
    scope = Q(organisation_id=choice.organisation.pk)
    if not choice.is_legal_representative and choice.services:
        scope &= Q(item__in=ServiceItem.objects.filter(code__in=choice.services).values("pk"))
    return scope


def application_access(
    user: User, application: Application, choices: Sequence[ActingChoice] | None = None
) -> ApplicationAccess:
    """Her own applications she may act on (an organisation's only while she still acts for
    it in that service); the non-draft applications of her organisations she may read."""
    if application.organisation_id is None:
        return (
            ApplicationAccess.ACT if application.applicant_id == user.pk else ApplicationAccess.NONE
        )
    if choices is None:
        choices = acting_choices_for(user)
    choice = next((c for c in choices if c.organisation.pk == application.organisation_id), None)
    covered = choice is not None and choice.covers(application.snapshot["code"])
    if application.applicant_id == user.pk:
        return ApplicationAccess.ACT if covered else ApplicationAccess.ENDED
    if covered and application.status != Status.DRAFT:
        return ApplicationAccess.VIEW
    return ApplicationAccess.NONE


def applications_for_applicant(user: User, *, status: str | None = None) -> QuerySet[Application]:
    """The applications she filed, for herself or for an organisation she still acts for
    in that service (what she may act on: the API's list)."""
    scope = Q(organisation__isnull=True)
    for choice in acting_choices_for(user):
        scope |= _covered(choice)
    applications = (
        Application.objects.filter(scope, applicant=user)
        .select_related("organisation")
        .order_by("-created_at", "-id")
    )
    if status:
        applications = applications.filter(status=status)
    return applications


def applications_personal(user: User, *, status: str | None = None) -> QuerySet[Application]:
    """我的办件 when she acts for herself: what she applied for in her own name."""
    applications = Application.objects.filter(applicant=user, organisation__isnull=True).order_by(
        "-created_at", "-id"
    )
    if status:
        applications = applications.filter(status=status)
    return applications


def applications_of_organisation(
    user: User, choice: ActingChoice, *, status: str | None = None
) -> QuerySet[Application]:
    """我的办件 when she acts for an organisation: its applications she may see in her role
    (every one for the legal representative, those of the services her grant covers for an
    agent), other people's drafts left out."""
    applications = (
        Application.objects.filter(_covered(choice))
        .filter(Q(applicant=user) | ~Q(status=Status.DRAFT))
        .select_related("organisation", "applicant")
        .order_by("-created_at", "-id")
    )
    if status:
        applications = applications.filter(status=status)
    return applications


def _with_timeline(applications: QuerySet[Application]) -> QuerySet[Application]:
    return applications.select_related("organisation", "bundle__bundle").prefetch_related(
        Prefetch("events", queryset=ApplicationEvent.objects.select_related("actor")),
        Prefetch(
            "materials",
            queryset=ApplicationMaterial.objects.filter(superseded_at__isnull=True),
        ),
        "supplement_requests",
    )


def application_for_applicant(user: User, application_id: int) -> Application | None:
    """One of the applications she filed, with its timeline (whether she may still act on
    it is ``application_access``'s answer)."""
    return _with_timeline(Application.objects.filter(pk=application_id, applicant=user)).first()


def application_for_viewer(
    user: User, application_id: int
) -> tuple[Application, ApplicationAccess] | None:
    """An application she filed, or one of an organisation she acts for that she may read
    (see ``application_access``), with its timeline and what she may do with it."""
    choices = acting_choices_for(user)
    scope = Q(applicant=user) | (
        Q(organisation_id__in=[c.organisation.pk for c in choices]) & ~Q(status=Status.DRAFT)
    )
    application = _with_timeline(
        Application.objects.filter(scope, pk=application_id).select_related("applicant")
    ).first()
    if application is None:
        return None
    access = application_access(user, application, choices)
    return None if access == ApplicationAccess.NONE else (application, access)


def application_for_applicant_update(user: User, application_id: int) -> Application | None:
    """One of the user's applications, without its timeline, for a use case to change."""
    return Application.objects.filter(pk=application_id, applicant=user).first()


def material_codes_declined(application: Application) -> set[str]:
    """The materials whose e-certificate the applicant took off (免提交 declined)."""
    return set(
        ApplicationMaterial.objects.filter(application=application, declined=True)
        .order_by()
        .values_list("material_code", flat=True)
    )


def _staff_department_ids(user: User) -> list[int]:
    return list(
        StaffRole.objects.filter(user=user, department__is_active=True)
        .values_list("department_id", flat=True)
        .distinct()
    )


def application_for_staff(user: User, application_id: int) -> Application | None:
    """An application of one of the staff member's departments (drafts are never shown)."""
    return (
        Application.objects.filter(pk=application_id, department_id__in=_staff_department_ids(user))
        .exclude(status=Status.DRAFT)
        .select_related("applicant", "organisation")
        .prefetch_related(
            Prefetch("events", queryset=ApplicationEvent.objects.select_related("actor")),
            Prefetch(
                "materials",
                queryset=ApplicationMaterial.objects.filter(superseded_at__isnull=True),
            ),
            "supplement_requests",
            Prefetch("tasks", queryset=WorkTask.objects.select_related("assignee")),
        )
        .first()
    )


def tasks_for_staff(
    user: User, *, role: str | None = None, mine: bool = False, state: str | None = None
) -> QuerySet[WorkTask]:
    """Open and claimed tasks in the queues of the roles the user holds, per department."""
    roles = StaffRole.objects.filter(user=user, department__is_active=True)
    if role:
        roles = roles.filter(role=role)
    pairs = list(roles.values_list("department_id", "role"))
    tasks = WorkTask.objects.none()
    for department_id, role_name in pairs:
        tasks = tasks | WorkTask.objects.filter(department_id=department_id, role=role_name)
    states = [state] if state else [WorkTask.State.OPEN, WorkTask.State.CLAIMED]
    tasks = tasks.filter(state__in=states)
    if mine:
        tasks = tasks.filter(assignee=user)
    return tasks.select_related(
        "application", "application__applicant", "application__bundle", "assignee"
    ).order_by("application__acceptance_due", "created_at", "id")


def task_for_staff(user: User, task_id: int) -> WorkTask | None:
    """A task of one of the staff member's departments, whatever its role or state."""
    return (
        WorkTask.objects.filter(pk=task_id, department_id__in=_staff_department_ids(user))
        .select_related("application", "assignee")
        .first()
    )


def applications_running() -> QuerySet[Application]:
    return Application.objects.filter(status__in=RUNNING)


def notifications_for_user(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(user=user).select_related("application")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def unread_notification_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


# ---------------------------------------------------------------------------------------
# Life-event bundles (一件事)


def bundles_for_applicant(user: User) -> QuerySet[BundleApplication]:
    return (
        BundleApplication.objects.filter(applicant=user)
        .select_related("bundle")
        .order_by("-submitted_at", "-id")
    )


def bundle_for_applicant(user: User, bundle_id: int) -> BundleApplication | None:
    """One of the user's bundles with its parts, participants and timeline."""
    return (
        BundleApplication.objects.filter(pk=bundle_id, applicant=user)
        .select_related("bundle")
        .prefetch_related(
            Prefetch(
                "parts",
                queryset=Application.objects.order_by("pk").prefetch_related(
                    Prefetch("events", queryset=ApplicationEvent.objects.select_related("actor"))
                ),
            ),
            "participants",
            Prefetch("events", queryset=BundleEvent.objects.select_related("actor")),
        )
        .first()
    )


def bundle_invitations_for(user: User, *, open_only: bool = False) -> QuerySet[BundleParticipant]:
    """The bundles the user is asked to confirm as a co-applicant (matched by her verified
    ID number: the invitation may predate her account)."""
    if not user.id_number or user.assurance_level < 2:
        return BundleParticipant.objects.none()
    invitations = (
        BundleParticipant.objects.filter(id_number=user.id_number)
        .exclude(bundle_application__applicant=user)
        .select_related("bundle_application__bundle", "bundle_application__applicant")
        .order_by("-bundle_application__submitted_at", "-pk")
    )
    if open_only:
        invitations = invitations.filter(
            state=BundleParticipant.State.INVITED,
            bundle_application__status=BundleStatus.CONFIRMING,
        )
    return invitations


def bundle_invitation_for(user: User, participant_id: int) -> BundleParticipant | None:
    return bundle_invitations_for(user).filter(pk=participant_id).first()


def bundle_of_part(application: Application) -> BundleApplication | None:
    """The bundle a part belongs to, with every part, for the staff handling one of them."""
    if application.bundle_id is None:
        return None
    return (
        BundleApplication.objects.filter(pk=application.bundle_id)
        .select_related("bundle")
        .prefetch_related(Prefetch("parts", queryset=Application.objects.order_by("pk")))
        .first()
    )
