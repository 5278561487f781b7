"""Reads of applications, scoped to who asks: applicants see their own, staff their departments'.

None of them joins the service item or its version: an application's names, limits,
materials, form and process come from its version's snapshot (``Application.snapshot``),
which each process reads once.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

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
from yiwang.identity.models import StaffRole, User

RUNNING = [
    Status.SUBMITTED,
    Status.SUPPLEMENT_REQUESTED,
    Status.ACCEPTED,
    Status.UNDER_REVIEW,
]


def applications_for_applicant(user: User, *, status: str | None = None) -> QuerySet[Application]:
    applications = (
        Application.objects.filter(applicant=user)
        .select_related("organisation")
        .order_by("-created_at", "-id")
    )
    if status:
        applications = applications.filter(status=status)
    return applications


def application_for_applicant(user: User, application_id: int) -> Application | None:
    return (
        Application.objects.filter(pk=application_id, applicant=user)
        .select_related("organisation", "bundle__bundle")
        .prefetch_related(
            Prefetch("events", queryset=ApplicationEvent.objects.select_related("actor")),
            Prefetch(
                "materials",
                queryset=ApplicationMaterial.objects.filter(superseded_at__isnull=True),
            ),
            "supplement_requests",
        )
        .first()
    )


def application_for_applicant_update(user: User, application_id: int) -> Application | None:
    """One of the user's applications, without its timeline, for a use case to change."""
    return Application.objects.filter(pk=application_id, applicant=user).first()


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
