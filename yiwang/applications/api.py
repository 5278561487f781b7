"""JSON API for applicants (办件), life-event bundles (一件事) and staff (workbench).

Applicants see only their own applications and bundles; co-applicants only the bundles
that name their verified ID number; staff only their departments' tasks. Each
endpoint parses its input, calls one service or selector and serialises the result.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile
from ninja.params import HeaderEx, P

from yiwang.applications import bundles, selectors, services
from yiwang.applications.models import (
    Application,
    BundleApplication,
    BundleParticipant,
    BundleStatus,
    WorkTask,
)
from yiwang.applications.models import Status as AppStatus
from yiwang.applications.schemas import (
    ApplicationCreateIn,
    ApplicationDetailOut,
    ApplicationOut,
    BundleApplicationDetailOut,
    BundleApplicationOut,
    BundleDeclineIn,
    BundleEventOut,
    BundleFormOut,
    BundleFormSectionOut,
    BundleInvitationOut,
    BundleOptionalPartOut,
    BundleParticipantOut,
    BundlePartOut,
    BundleSubmitIn,
    DataReadOut,
    EventOut,
    ExtendIn,
    FormDataIn,
    MaterialOut,
    NotificationOut,
    PrefilledOut,
    ResubmitIn,
    SubmitIn,
    SupplementRequestOut,
    TaskAssignIn,
    TaskCompleteIn,
    TaskOut,
    WithdrawIn,
)
from yiwang.applications.selectors import ApplicationAccess
from yiwang.catalog.models import ServiceItemVersion
from yiwang.core.api import ErrorOut
from yiwang.core.errors import NotFound, PermissionDenied, ValidationFailed
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.identity import selectors as identity_selectors
from yiwang.identity.models import User

router = Router()
ERRORS: dict[int, type[ErrorOut]] = dict.fromkeys((400, 401, 403, 404, 409, 422, 429), ErrorOut)


def _me(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _idempotency_key(value: str) -> str:
    if len(value) > 64:
        raise ValidationFailed.for_field("Idempotency-Key", _("At most 64 characters."))
    return value


def _application_out(application: Application) -> ApplicationOut:
    return ApplicationOut(**_application_fields(application))


def _application_fields(application: Application) -> dict[str, Any]:
    # As the applicant applied: the names of the version the application runs under.
    snapshot = application.snapshot
    return {
        "id": application.pk,
        "number": application.number,
        "status": application.status,
        "status_label": str(AppStatus(application.status).label),
        "decision": application.decision,
        "item_code": snapshot["code"],
        "item_name": snapshot["name"],
        "item_version": application.version.number,
        "department_code": snapshot["department"]["code"],
        "department_name": snapshot["department"]["name"],
        "organisation_id": application.organisation_id,
        "form_data": application.form_data,
        "created_at": application.created_at,
        "submitted_at": application.submitted_at,
        "accepted_at": application.accepted_at,
        "decided_at": application.decided_at,
        "completed_at": application.completed_at,
        "acceptance_due": application.acceptance_due,
        "promised_due": application.promised_due,
        "legal_due": application.legal_due,
        "overdue": application.overdue_since is not None,
    }


def _task_out(task: WorkTask) -> TaskOut:
    return TaskOut(
        id=task.pk,
        application_id=task.application_id,
        application_number=task.application.number,
        item_name=task.application.snapshot["name"],
        task_name=task.task_name,
        title=task.title,
        role=task.role,
        state=task.state,
        assignee=task.assignee.display_name if task.assignee else None,
        created_at=task.created_at,
        acceptance_due=task.application.acceptance_due,
        legal_due=task.application.legal_due,
    )


def _detail_out(application: Application, *, for_staff: bool) -> ApplicationDetailOut:
    events = [
        EventOut(
            action=event.action,
            from_status=event.from_status,
            to_status=event.to_status,
            # Applicants see the acting role, not the staff member's name; whoever acted
            # for the organisation is named to everyone who may see its application.
            actor=(
                event.actor.display_name if event.actor and (for_staff or event.acting_as) else ""
            ),
            actor_role=event.actor_role,
            acting_as=event.acting_as,
            acting_for_uscc=event.acting_for_uscc,
            acting_for_name=event.acting_for_name,
            comment=event.comment,
            data=event.data,
            created_at=event.created_at,
        )
        for event in application.events.all()
    ]
    open_tasks = (
        [
            _task_out(t)
            for t in application.tasks.all()
            if t.state in (WorkTask.State.OPEN, WorkTask.State.CLAIMED)
        ]
        if for_staff
        else []
    )
    return ApplicationDetailOut(
        **_application_fields(application),
        materials=[MaterialOut.from_orm(m) for m in application.materials.all()],
        timeline=events,
        supplement_requests=[
            SupplementRequestOut.from_orm(r) for r in application.supplement_requests.all()
        ],
        open_tasks=open_tasks,
    )


def _visible(request: HttpRequest, application_id: int) -> Application:
    """One of my applications, or (read only) one of my organisations' that I may see; an
    organisation's I filed but no longer act for is refused (403), saying why."""
    found = selectors.application_for_viewer(_me(request), application_id)
    if found is None:
        raise NotFound()
    application, access = found
    if access == ApplicationAccess.ENDED:
        services.applicant_may_act(application, _me(request))
    return application


def _mine_to_change(request: HttpRequest, application_id: int) -> Application:
    """For use cases: the application without its timeline, materials and requests."""
    application = selectors.application_for_applicant_update(_me(request), application_id)
    if application is None:
        raise NotFound()
    return application


# --- Applicant ---------------------------------------------------------------------------


@router.post(
    "/applications",
    response={201: ApplicationOut, **ERRORS},
    tags=["applications"],
    summary="Start an application (a draft); the same Idempotency-Key returns the same draft",
)
def application_draft_create(
    request: HttpRequest,
    payload: ApplicationCreateIn,
    idempotency_key: HeaderEx[str, P(alias="Idempotency-Key")] = "",
) -> Status[ApplicationOut]:
    application = services.application_draft_create(
        applicant=_me(request),
        item_code=payload.item_code,
        form_data=payload.form_data,
        organisation_id=payload.organisation_id,
        idempotency_key=_idempotency_key(idempotency_key),
        applied_from_region_code=payload.applied_from_region_code,
    )
    return Status(201, _application_out(application))


@router.get(
    "/applications",
    response={200: list[ApplicationOut], **ERRORS},
    tags=["applications"],
    summary="My applications (我的办件)",
)
def applications_list(
    request: HttpRequest, status: str | None = None, organisation_id: int | None = None
) -> list[ApplicationOut]:
    """Without ``organisation_id``: the applications I filed and may still act on. With it:
    that organisation's applications I may see as its legal representative (all) or agent
    (the services my authorisation covers); 403 if I do not act for it now."""
    me = _me(request)
    if organisation_id is None:
        applications = selectors.applications_for_applicant(me, status=status)
    else:
        choice = identity_selectors.acting_choice_for(me, organisation_id)
        if choice is None:
            raise PermissionDenied(
                _("You may not act for this organisation."), code="not_acting_for_organisation"
            )
        applications = selectors.applications_of_organisation(me, choice, status=status)
    return [_application_out(a) for a in applications]


@router.get(
    "/applications/{application_id}",
    response={200: ApplicationDetailOut, **ERRORS},
    tags=["applications"],
    summary="One of my applications, or (read only) one of my organisations', with its timeline",
)
def application_get(request: HttpRequest, application_id: int) -> ApplicationDetailOut:
    return _detail_out(_visible(request, application_id), for_staff=False)


@router.put(
    "/applications/{application_id}/form",
    response={200: ApplicationOut, **ERRORS},
    tags=["applications"],
    summary="Save the form of a draft",
)
def application_draft_update(
    request: HttpRequest, application_id: int, payload: FormDataIn
) -> ApplicationOut:
    application = services.application_draft_update(
        applicant=_me(request),
        application=_mine_to_change(request, application_id),
        form_data=payload.form_data,
    )
    return _application_out(application)


@router.post(
    "/applications/{application_id}/materials",
    response={201: MaterialOut, **ERRORS},
    tags=["applications"],
    summary="Upload a material (PDF, JPEG or PNG, at most 10 MB)",
)
def application_material_upload(
    request: HttpRequest,
    application_id: int,
    material_code: Form[str],
    file: File[UploadedFile],
) -> Status[MaterialOut]:
    material = services.application_material_upload(
        applicant=_me(request),
        application=_mine_to_change(request, application_id),
        material_code=material_code,
        upload=file,
    )
    return Status(201, MaterialOut.from_orm(material))


@router.post(
    "/applications/{application_id}/materials/{material_code}/certificate",
    response={201: MaterialOut, **ERRORS},
    tags=["applications"],
    summary="Prove a material by her e-certificate again, after she took it off (免提交)",
)
def application_certificate_use(
    request: HttpRequest, application_id: int, material_code: str
) -> Status[MaterialOut]:
    material = services.application_certificate_use(
        applicant=_me(request),
        application=_mine_to_change(request, application_id),
        material_code=material_code,
    )
    return Status(201, MaterialOut.from_orm(material))


@router.delete(
    "/applications/{application_id}/materials/{material_id}",
    response={204: None, **ERRORS},
    tags=["applications"],
    summary="Remove a material from a draft: a file, or an e-certificate she takes off",
)
def application_material_remove(
    request: HttpRequest, application_id: int, material_id: int
) -> Status[None]:
    services.application_material_remove(
        applicant=_me(request),
        application=_mine_to_change(request, application_id),
        material_id=material_id,
    )
    return Status(204, None)


@router.post(
    "/applications/{application_id}/submit",
    response={200: ApplicationOut, **ERRORS},
    tags=["applications"],
    summary="Submit a draft (submitting again returns the same application)",
)
def application_submit(
    request: HttpRequest, application_id: int, payload: SubmitIn | None = None
) -> ApplicationOut:
    application = services.application_submit(
        applicant=_me(request),
        application_id=application_id,
        consent_data_reads=payload.consent_data_reads if payload else False,
    )
    return _application_out(application)


@router.post(
    "/applications/{application_id}/resubmit",
    response={200: ApplicationOut, **ERRORS},
    tags=["applications"],
    summary="Answer a supplement request (补正) and resubmit",
)
def application_resubmit(
    request: HttpRequest, application_id: int, payload: ResubmitIn
) -> ApplicationOut:
    application = services.application_resubmit(
        applicant=_me(request),
        application=_mine_to_change(request, application_id),
        form_data=payload.form_data,
    )
    return _application_out(application)


@router.post(
    "/applications/{application_id}/withdraw",
    response={200: ApplicationOut, **ERRORS},
    tags=["applications"],
    summary="Withdraw an application before the decision",
)
def application_withdraw(
    request: HttpRequest, application_id: int, payload: WithdrawIn
) -> ApplicationOut:
    application = services.application_withdraw(
        applicant=_me(request),
        application=_mine_to_change(request, application_id),
        reason=payload.reason,
    )
    return _application_out(application)


@router.delete(
    "/applications/{application_id}",
    response={204: None, **ERRORS},
    tags=["applications"],
    summary="Delete a draft",
)
def application_draft_delete(request: HttpRequest, application_id: int) -> Status[None]:
    services.application_draft_delete(
        applicant=_me(request), application=_mine_to_change(request, application_id)
    )
    return Status(204, None)


@router.get(
    "/notifications",
    response={200: list[NotificationOut], **ERRORS},
    tags=["notifications"],
    summary="My inbox (站内信)",
)
def notifications_list(request: HttpRequest, unread: bool = False) -> list[NotificationOut]:
    return [
        NotificationOut.from_orm(n)
        for n in selectors.notifications_for_user(_me(request), unread_only=unread)[:200]
    ]


@router.post(
    "/notifications/{notification_id}/read",
    response={204: None, **ERRORS},
    tags=["notifications"],
    summary="Mark a message as read",
)
def notification_mark_read(request: HttpRequest, notification_id: int) -> Status[None]:
    services.notification_mark_read(user=_me(request), notification_id=notification_id)
    return Status(204, None)


# --- Life-event bundles (一件事) ----------------------------------------------------------


def _bundle_fields(bundle_application: BundleApplication) -> dict[str, Any]:
    # As the applicant applied: the bundle's name when it was submitted.
    return {
        "id": bundle_application.pk,
        "number": bundle_application.number,
        "bundle_code": bundle_application.bundle.code,
        "bundle_name": bundle_application.snapshot["name"],
        "status": bundle_application.status,
        "status_label": str(BundleStatus(bundle_application.status).label),
        "part_keys": list(bundle_application.part_keys),
        "submitted_at": bundle_application.submitted_at,
        "confirm_due": bundle_application.confirm_due,
        "closed_at": bundle_application.closed_at,
    }


def _bundle_out(bundle_application: BundleApplication) -> BundleApplicationOut:
    return BundleApplicationOut(**_bundle_fields(bundle_application))


def _bundle_parts(bundle_application: BundleApplication) -> list[BundlePartOut]:
    snapshot = bundle_application.snapshot
    applicable = set(bundle_application.part_keys)
    created = {part.bundle_part: part for part in bundle_application.parts.all()}
    dropped = bundles.dropped_parts(bundle_application)
    parts = []
    for definition in snapshot["parts"]:
        key = definition["key"]
        if key not in applicable:
            continue
        # A part is created once the co-applicants it needs confirm; until then the version
        # the bundle was submitted under names the item and its department.
        guide = ServiceItemVersion.objects.get_cached(snapshot["versions"][key]).snapshot
        application = created.get(key)
        parts.append(
            BundlePartOut(
                key=key,
                item_code=guide["code"],
                name=snapshot["part_names"][key],
                department_code=guide["department"]["code"],
                department_name=guide["department"]["name"],
                waits_for=[k for k in definition["after"] if k in applicable],
                application_id=application.pk if application else None,
                number=application.number if application else None,
                status=application.status if application else None,
                status_label=str(AppStatus(application.status).label) if application else "",
                dropped=key in dropped,
            )
        )
    return parts


def _bundle_timeline(bundle_application: BundleApplication) -> list[BundleEventOut]:
    applicant_id = bundle_application.applicant_id
    entries = []
    for event in bundle_application.events.all():
        data = dict(event.data)
        if data.get("name"):
            data["name"] = mask_name(str(data["name"]))
        entries.append(
            BundleEventOut(
                part=event.part,
                action=event.action,
                from_status="",
                to_status="",
                actor_role=(
                    ""
                    if event.actor_id is None
                    else "applicant"
                    if event.actor_id == applicant_id
                    else "co_applicant"
                ),
                comment=event.comment,
                data=data,
                created_at=event.created_at,
            )
        )
    for part in bundle_application.parts.all():
        # Applicants see the acting role, not the staff member's name.
        entries.extend(
            BundleEventOut(
                part=part.bundle_part,
                action=event.action,
                from_status=event.from_status,
                to_status=event.to_status,
                actor_role=event.actor_role,
                comment=event.comment,
                data=event.data,
                created_at=event.created_at,
            )
            for event in part.events.all()
        )
    # A stable sort: entries of the same instant keep the bundle's before its parts'.
    return sorted(entries, key=lambda entry: entry.created_at)


def _bundle_detail_out(bundle_application: BundleApplication) -> BundleApplicationDetailOut:
    return BundleApplicationDetailOut(
        **_bundle_fields(bundle_application),
        parts=_bundle_parts(bundle_application),
        participants=[
            BundleParticipantOut(
                label=participant.label,
                name=mask_name(participant.name),
                id_number=mask_id_number(participant.id_number),
                state=participant.state,
                state_label=str(BundleParticipant.State(participant.state).label),
                responded_at=participant.responded_at,
                reason=participant.reason,
            )
            for participant in bundle_application.participants.all()
        ],
        timeline=_bundle_timeline(bundle_application),
    )


def _invitation_out(participant: BundleParticipant) -> BundleInvitationOut:
    bundle_application = participant.bundle_application
    snapshot = bundle_application.snapshot
    return BundleInvitationOut(
        id=participant.pk,
        label=participant.label,
        state=participant.state,
        state_label=str(BundleParticipant.State(participant.state).label),
        bundle_number=bundle_application.number,
        bundle_code=bundle_application.bundle.code,
        bundle_name=snapshot["name"],
        bundle_status=bundle_application.status,
        applicant_name=bundle_application.applicant.display_name,
        part_names=[snapshot["part_names"][key] for key in bundle_application.part_keys],
        submitted_at=bundle_application.submitted_at,
        confirm_due=bundle_application.confirm_due,
        responded_at=participant.responded_at,
    )


def _invitation(request: HttpRequest, participant_id: int) -> BundleInvitationOut:
    participant = selectors.bundle_invitation_for(_me(request), participant_id)
    if participant is None:
        raise NotFound()
    return _invitation_out(participant)


@router.get(
    "/bundles/{code}/form",
    response={200: BundleFormOut, **ERRORS},
    tags=["bundles"],
    summary="The merged form of a life-event bundle (一件事), prefilled for me",
)
def bundle_form(request: HttpRequest, code: str) -> BundleFormOut:
    form = bundles.bundle_form(applicant=_me(request), bundle=bundles.bundle_published(code))
    return BundleFormOut(
        bundle_code=form.bundle.code,
        bundle_name=form.bundle.name,
        form_schema=form.schema,
        ui_schema=form.ui,
        sections=[
            BundleFormSectionOut(title=title, fields=fields) for title, fields in form.sections
        ],
        prefilled={
            name: PrefilledOut(value=filled.value, source=filled.source, locked=filled.locked)
            for name, filled in form.prefilled.items()
        },
        optional_parts=[
            BundleOptionalPartOut(
                key=part["key"], item_code=part["item"], name=form.part_name(part["key"])
            )
            for part in form.optional_parts()
        ],
    )


@router.post(
    "/bundles/{code}/applications",
    response={201: BundleApplicationOut, **ERRORS},
    tags=["bundles"],
    summary="Apply for a life-event bundle; the same Idempotency-Key returns the same bundle",
)
def bundle_submit(
    request: HttpRequest,
    code: str,
    payload: BundleSubmitIn,
    idempotency_key: HeaderEx[str, P(alias="Idempotency-Key")] = "",
) -> Status[BundleApplicationOut]:
    bundle_application = bundles.bundle_submit(
        applicant=_me(request),
        bundle=bundles.bundle_published(code),
        form_data=payload.form_data,
        optional_parts=payload.optional_parts,
        idempotency_key=_idempotency_key(idempotency_key),
    )
    return Status(201, _bundle_out(bundle_application))


@router.get(
    "/bundle-applications",
    response={200: list[BundleApplicationOut], **ERRORS},
    tags=["bundles"],
    summary="My life-event bundles",
)
def bundle_applications_list(request: HttpRequest) -> list[BundleApplicationOut]:
    return [_bundle_out(b) for b in selectors.bundles_for_applicant(_me(request))]


@router.get(
    "/bundle-applications/{bundle_id}",
    response={200: BundleApplicationDetailOut, **ERRORS},
    tags=["bundles"],
    summary="One of my bundles with its parts, co-applicants and timeline",
)
def bundle_application_get(request: HttpRequest, bundle_id: int) -> BundleApplicationDetailOut:
    bundle_application = selectors.bundle_for_applicant(_me(request), bundle_id)
    if bundle_application is None:
        raise NotFound()
    return _bundle_detail_out(bundle_application)


@router.post(
    "/bundle-applications/{bundle_id}/withdraw",
    response={200: BundleApplicationOut, **ERRORS},
    tags=["bundles"],
    summary="Withdraw a bundle: parts already decided are kept, the others stop",
)
def bundle_withdraw(
    request: HttpRequest, bundle_id: int, payload: WithdrawIn
) -> BundleApplicationOut:
    bundle_application = bundles.bundle_withdraw(
        applicant=_me(request), bundle_id=bundle_id, reason=payload.reason
    )
    return _bundle_out(bundle_application)


@router.get(
    "/bundle-invitations",
    response={200: list[BundleInvitationOut], **ERRORS},
    tags=["bundles"],
    summary="Bundles waiting for me to confirm as a co-applicant",
)
def bundle_invitations_list(request: HttpRequest) -> list[BundleInvitationOut]:
    return [
        _invitation_out(p) for p in selectors.bundle_invitations_for(_me(request), open_only=True)
    ]


@router.post(
    "/bundle-invitations/{participant_id}/confirm",
    response={200: BundleInvitationOut, **ERRORS},
    tags=["bundles"],
    summary="Confirm a bundle as a co-applicant (confirming again changes nothing)",
)
def bundle_confirm(request: HttpRequest, participant_id: int) -> BundleInvitationOut:
    bundles.bundle_confirm(user=_me(request), participant_id=participant_id)
    return _invitation(request, participant_id)


@router.post(
    "/bundle-invitations/{participant_id}/decline",
    response={200: BundleInvitationOut, **ERRORS},
    tags=["bundles"],
    summary="Decline a bundle as a co-applicant: nothing is sent to the departments",
)
def bundle_decline(
    request: HttpRequest, participant_id: int, payload: BundleDeclineIn
) -> BundleInvitationOut:
    bundles.bundle_decline(user=_me(request), participant_id=participant_id, reason=payload.reason)
    return _invitation(request, participant_id)


# --- Staff -------------------------------------------------------------------------------


def _task(request: HttpRequest, task_id: int) -> WorkTask:
    task = selectors.task_for_staff(_me(request), task_id)
    if task is None:
        raise NotFound()
    return task


@router.get(
    "/workbench/tasks",
    response={200: list[TaskOut], **ERRORS},
    tags=["workbench"],
    summary="Tasks in my queues (待受理, 待审查, 待决定 …)",
)
def tasks_list(
    request: HttpRequest,
    role: str | None = None,
    mine: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[TaskOut]:
    if not 1 <= limit <= 200 or offset < 0:
        raise ValidationFailed.for_field(
            "limit", _("Use a limit of 1 to 200 and an offset of 0 or more.")
        )
    tasks = selectors.tasks_for_staff(_me(request), role=role, mine=mine)
    return [_task_out(t) for t in tasks[offset : offset + limit]]


@router.post(
    "/workbench/tasks/{task_id}/claim",
    response={200: TaskOut, **ERRORS},
    tags=["workbench"],
    summary="Claim a task",
)
def task_claim(request: HttpRequest, task_id: int) -> TaskOut:
    return _task_out(services.task_claim(staff=_me(request), task=_task(request, task_id)))


@router.post(
    "/workbench/tasks/{task_id}/assign",
    response={200: TaskOut, **ERRORS},
    tags=["workbench"],
    summary="Assign a task to a colleague (department administrators)",
)
def task_assign(request: HttpRequest, task_id: int, payload: TaskAssignIn) -> TaskOut:
    assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
    if assignee is None:
        raise ValidationFailed.for_field("assignee_id", _("Unknown user."))
    task = services.task_assign(actor=_me(request), task=_task(request, task_id), assignee=assignee)
    return _task_out(task)


@router.post(
    "/workbench/tasks/{task_id}/complete",
    response={200: ApplicationOut, **ERRORS},
    tags=["workbench"],
    summary="Complete a task with an outcome (受理, 补正, 审查, 决定, 送达)",
)
def task_complete(request: HttpRequest, task_id: int, payload: TaskCompleteIn) -> ApplicationOut:
    application = services.task_complete(
        staff=_me(request),
        task=_task(request, task_id),
        outcome=payload.outcome,
        comment=payload.comment,
        supplement_items=[item.dict() for item in payload.supplement_items],
    )
    return _application_out(application)


@router.get(
    "/workbench/applications/{application_id}",
    response={200: ApplicationDetailOut, **ERRORS},
    tags=["workbench"],
    summary="An application of my department, with materials and timeline",
)
def staff_application_get(request: HttpRequest, application_id: int) -> ApplicationDetailOut:
    application = selectors.application_for_staff(_me(request), application_id)
    if application is None:
        raise NotFound()
    return _detail_out(application, for_staff=True)


@router.post(
    "/workbench/applications/{application_id}/extend",
    response={200: ApplicationOut, **ERRORS},
    tags=["workbench"],
    summary="Extend the decision time limit by 10 working days (Art. 42; department admins)",
)
def application_extend(
    request: HttpRequest, application_id: int, payload: ExtendIn
) -> ApplicationOut:
    application = selectors.application_for_staff(_me(request), application_id)
    if application is None:
        raise NotFound()
    application = services.application_extend(
        actor=_me(request), application=application, reason=payload.reason
    )
    return _application_out(application)


@router.post(
    "/workbench/applications/{application_id}/data-reads",
    response={200: list[DataReadOut], **ERRORS},
    tags=["workbench"],
    summary="Read the registry data the item declares about the applicant (through the exchange)",
)
def application_data_read(request: HttpRequest, application_id: int) -> list[DataReadOut]:
    application = selectors.application_for_staff(_me(request), application_id)
    if application is None:
        raise NotFound()
    results = services.application_data_read(staff=_me(request), application=application)
    return [DataReadOut(**dataclasses.asdict(result)) for result in results]
