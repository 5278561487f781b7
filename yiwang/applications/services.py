"""Application use cases: drafts, materials, submission, staff steps, supplement, withdrawal.

Each use case is one transaction that writes the application's status, its workflow
state, its staff tasks and a timeline event together; a failure anywhere leaves the
application exactly as it was. The BPMN process of the item version the application was
submitted under decides what comes next; these functions map its steps to statuses.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.applications import results, selectors
from yiwang.applications.formschema import FORM_DATA_MAX_BYTES, form_errors
from yiwang.applications.models import (
    CLOSED,
    DECIDED,
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationNumberSequence,
    Notification,
    Status,
    SupplementRequest,
    WorkTask,
)
from yiwang.applications.prefill import Prefilled, form_prefill
from yiwang.applications.workflow import (
    ProcessRunner,
    ReadyTask,
    WorkflowError,
    runner_for_version,
)
from yiwang.catalog.models import ServiceItem, ServiceItemVersion
from yiwang.catalog.selectors import service_item_available_from
from yiwang.certificates import selectors as certificate_selectors
from yiwang.certificates import services as certificate_services
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, YiwangError
from yiwang.core.reads import CompiledQuery
from yiwang.core.workdays import calendar
from yiwang.core.workflow import STEP_OUTCOMES
from yiwang.core.writes import rows_save
from yiwang.exchange import selectors as exchange_selectors
from yiwang.exchange import services as exchange_services
from yiwang.identity.models import Organisation, StaffRole, User
from yiwang.identity.selectors import organisation_role

logger = logging.getLogger(__name__)

# Administrative Licensing Law Art. 32: incomplete materials are notified within 5 days.
ACCEPTANCE_LIMIT_DAYS = 5
ALLOWED_UPLOAD_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
OPEN_STATUSES = {
    Status.SUBMITTED,
    Status.SUPPLEMENT_REQUESTED,
    Status.ACCEPTED,
    Status.UNDER_REVIEW,
    Status.GRANTED,
    Status.DENIED,
    Status.DELIVERED,
}


# ---------------------------------------------------------------------------------------
# Helpers


def _event(application: Application, **fields: Any) -> ApplicationEvent:
    """One timeline entry, saved (the fields of :func:`_event_new`)."""
    event = _event_new(application, **fields)
    event.save(force_insert=True)
    return event


def _event_new(
    application: Application,
    *,
    action: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    role: str = "",
    comment: str = "",
    data: Mapping[str, Any] | None = None,
    acting_as: str = "",
) -> ApplicationEvent:
    """One timeline entry, not yet saved. When the applicant acts on an organisation's
    application, the entry names the organisation too, and whether she acted as its legal
    representative or as an agent (``acting_as``: worked out here when the caller does not
    know it)."""
    organisation = None
    if (
        application.organisation_id is not None
        and actor is not None
        and actor.pk == application.applicant_id
        and role in ("", "applicant")
    ):
        organisation = application.organisation
        if organisation is not None and not acting_as:
            acting_as = organisation_role(
                actor, organisation, item_code=application.snapshot["code"]
            )
    return ApplicationEvent(
        application=application,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_role=role,
        acting_as=acting_as if organisation is not None else "",
        acting_for_uscc=organisation.uscc if organisation is not None else "",
        acting_for_name=organisation.name if organisation is not None else "",
        comment=comment,
        data=dict(data or {}),
    )


def record_event(
    application: Application,
    *,
    action: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    comment: str = "",
    data: Mapping[str, Any] | None = None,
) -> ApplicationEvent:
    """A timeline entry written by another use case of this module (bundles)."""
    return _event(
        application,
        action=action,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        comment=comment,
        data=data,
    )


def notify(
    *,
    user: User,
    title: str,
    body: str,
    application: Application | None = None,
    sms: bool = False,
) -> Notification:
    """Put a message in the user's inbox; with ``sms``, also text and e-mail it after the commit."""
    notification = Notification.objects.create(
        user=user, application=application, title=title, body=body
    )
    if sms:
        from yiwang.applications.tasks import notification_email_send, notification_sms_send

        transaction.on_commit(lambda: notification_sms_send.enqueue(notification.pk))
        if user.email:
            transaction.on_commit(lambda: notification_email_send.enqueue(notification.pk))
    return notification


def _lock(application: Application) -> Application:
    """Re-read the application under a row lock: concurrent steps on it serialise here."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    # The item and the department never change: keep the rows already read instead of
    # loading them again. (The version comes from the per-process cache anyway.)
    if Application.item.is_cached(application):
        locked.item = application.item
    if Application.department.is_cached(application):
        locked.department = application.department
    if (
        Application.organisation.is_cached(application)
        and locked.organisation_id == application.organisation_id
    ):
        locked.organisation = application.organisation
    return locked


def _acting_organisation(
    applicant: User, organisation_id: int | None, item: ServiceItem
) -> tuple[Organisation | None, str]:
    """The organisation she applies for (None: for herself) and how she acts for it."""
    if item.target == "person" and organisation_id is not None:
        raise ValidationFailed.for_field(
            "organisation", _("This service is for natural persons only.")
        )
    if organisation_id is None:
        if item.target == "organisation" and not item.founding:
            raise ValidationFailed.for_field(
                "organisation", _("Choose the organisation you apply for.")
            )
        return None, ""
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise ValidationFailed.for_field("organisation", _("Unknown organisation."))
    role = organisation_role(applicant, organisation, item_code=item.code)
    if not role:
        raise PermissionDenied(_("You are not authorised to apply for this organisation."))
    return organisation, role


def applicant_may_act(application: Application, user: User) -> str:
    """The check every applicant-side use case makes first: she is the applicant and, for
    an organisation's application, still acts for it (its legal representative, or an
    agent whose current authorisation covers the service). Returns how she acts for it
    ("" for her own application); a revoked or expired agency is refused at once."""
    if application.applicant_id != user.pk:
        raise NotFound()
    if application.organisation_id is None:
        return ""
    organisation = application.organisation
    assert organisation is not None  # noqa: S101 - narrows the type
    role = organisation_role(user, organisation, item_code=application.snapshot["code"])
    if not role:
        raise PermissionDenied(
            _(
                "You can no longer act for %(organisation)s on this application: your "
                "authorisation has ended or does not cover this service."
            )
            % {"organisation": organisation.name},
            code="not_acting_for_organisation",
        )
    return role


def _next_number(application: Application, today: datetime.date) -> str:
    """<region 6><department kind code><yyyymmdd><5-digit daily sequence>."""
    department_code = application.snapshot["department"]["code"].split("-")[-1]
    prefix = f"{application.region_code}{department_code}{today:%Y%m%d}"
    return f"{prefix}{sequence_next(prefix):05d}"


def sequence_next(prefix: str) -> int:
    """The next number of the daily sequence named by ``prefix``, starting at 1."""
    # One statement: the row lock it takes is held only from here to the commit.
    table = ApplicationNumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (prefix, last) VALUES (%s, 1) ON CONFLICT (prefix) '  # noqa: S608
            f'DO UPDATE SET last = "{table}".last + 1 RETURNING last',
            [prefix],
        )
        (last,) = cursor.fetchone()
    return int(last)


def _due_at(day: datetime.date) -> str:
    """End of the given day in the platform's time zone, as an ISO datetime."""
    end = datetime.datetime.combine(day, datetime.time(23, 59, 59))
    return timezone.make_aware(end).isoformat()


def _sync_tasks(
    application: Application, runner: ProcessRunner, *, first: bool = False
) -> list[WorkTask]:
    """Make the staff queues match the workflow's ready user tasks (``first``: none yet)."""
    ready = {task.id: task for task in runner.ready_tasks(application.workflow_state)}
    existing = {} if first else {t.bpmn_task_id: t for t in application.tasks.all()}
    now = timezone.now()
    for task_id, work_task in existing.items():
        if task_id not in ready and work_task.state in (
            WorkTask.State.OPEN,
            WorkTask.State.CLAIMED,
        ):
            work_task.state = WorkTask.State.CANCELLED
            work_task.completed_at = now
            work_task.save(update_fields=["state", "completed_at"])
    created = _tasks_new(application, ready.values(), existing=existing)
    for task in created:
        task.save(force_insert=True)
    return created


def _tasks_new(
    application: Application,
    ready: Iterable[ReadyTask],
    *,
    existing: Mapping[str, WorkTask] | None = None,
) -> list[WorkTask]:
    """Staff tasks, not yet saved, for the ready user tasks not in ``existing``."""
    existing = existing or {}
    return [
        WorkTask(
            application=application,
            bpmn_task_id=task.id,
            task_name=task.name,
            title=task.title,
            role=task.lane,
            department_id=application.department_id,
        )
        for task in ready
        if task.lane != "applicant" and task.id not in existing
    ]


def _applicant_task_id(application: Application, runner: ProcessRunner, name: str) -> str | None:
    for task in runner.ready_tasks(application.workflow_state):
        if task.lane == "applicant" and task.name == name:
            return task.id
    return None


# ---------------------------------------------------------------------------------------
# Drafts and materials


def application_draft_create(
    *,
    applicant: User,
    item_code: str,
    form_data: Mapping[str, Any] | None = None,
    organisation_id: int | None = None,
    idempotency_key: str = "",
    applied_from_region_code: str = "",
    prefilled: Mapping[str, Prefilled] | None = None,
) -> Application:
    """Start an application for a published item; the same key returns the same draft.

    The form starts from what the government knows of the applicant (``prefill``): locked
    values replace whatever was posted for those fields; materials her certificates prove
    are attached as those certificates. ``prefilled`` is the prefill the caller already
    made for this request (so the registries are read once), computed here when None.
    """
    if idempotency_key:
        existing = Application.objects.filter(
            applicant=applicant, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            if existing.snapshot["code"] != item_code:
                raise Conflict(
                    _("This idempotency key was already used for another application."),
                    code="idempotency_key_reused",
                )
            return existing
    item = (
        ServiceItem.objects.select_related("current_version", "department")
        .filter(code=item_code, status=ServiceItem.Status.PUBLISHED)
        .first()
    )
    if item is None or item.current_version is None:
        raise NotFound(_("This service item does not exist or is not open for applications."))
    if applicant.assurance_level < item.min_assurance_level:
        raise PermissionDenied(
            _("This service needs real-name level L%(level)s.")
            % {"level": item.min_assurance_level},
            code="assurance_level_too_low",
        )
    from_region = applied_from_region_code or item.region_code
    if not service_item_available_from(item, from_region):
        raise PermissionDenied(
            _("This service can only be applied for in its own region."), code="not_cross_region"
        )
    organisation, acting_as = _acting_organisation(applicant, organisation_id, item)
    if prefilled is None:
        prefilled = form_prefill(
            applicant=applicant, organisation=organisation, snapshot=item.current_version.snapshot
        )
    data = dict(form_data or {})
    for name, filled in prefilled.items():
        if filled.locked or name not in data:
            data[name] = filled.value
    _form_size_check(data)
    try:
        with transaction.atomic():
            application = Application.objects.create(
                applicant=applicant,
                organisation=organisation,
                item=item,
                item_version=item.current_version,
                department=item.department,
                region_code=item.region_code,
                applied_from_region_code="" if from_region == item.region_code else from_region,
                form_data=data,
                prefilled={name: filled.as_json() for name, filled in prefilled.items()},
                idempotency_key=idempotency_key,
            )
            _event(
                application,
                action="draft",
                actor=applicant,
                to_status=Status.DRAFT,
                acting_as=acting_as,
            )
            _certificates_attach(application, applicant)
    except IntegrityError:
        # A concurrent request with the same key won the race: return its draft.
        return Application.objects.get(applicant=applicant, idempotency_key=idempotency_key)
    return application


def _form_size_check(data: Mapping[str, Any]) -> None:
    import json

    if len(json.dumps(data, ensure_ascii=False).encode()) > FORM_DATA_MAX_BYTES:
        raise ValidationFailed(_("The form is too large."), code="form_too_large")


def application_draft_update(
    *, applicant: User, application: Application, form_data: Mapping[str, Any]
) -> Application:
    """Save the form of a draft (or of an application awaiting supplement) as it stands."""
    applicant_may_act(application, applicant)
    data = dict(form_data)
    _form_size_check(data)
    with transaction.atomic():
        application = _lock(application)
        if application.status not in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED):
            raise Conflict(_("Only a draft or an application awaiting supplement can be edited."))
        for name, meta in application.prefilled.items():
            if meta.get("locked") and name in application.form_data:
                data[name] = application.form_data[name]
        application.form_data = data
        application.save(update_fields=["form_data", "updated_at"])
    return application


def _material_codes(version: ServiceItemVersion) -> dict[str, Mapping[str, Any]]:
    return {m["code"]: m for m in version.snapshot.get("materials", [])}


def application_material_upload(
    *,
    applicant: User,
    application: Application,
    material_code: str,
    upload: UploadedFile,
) -> ApplicationMaterial:
    """Attach a file for one of the item's materials (PDF, JPEG or PNG, at most 10 MB)."""
    applicant_may_act(application, applicant)
    materials = _material_codes(application.version)
    if material_code not in materials:
        raise ValidationFailed.for_field("material_code", _("This service has no such material."))
    if materials[material_code].get("form") == "online":
        raise ValidationFailed.for_field(
            "material_code",
            _("This material is the application form filled in online: nothing to upload."),
            code="material_online",
        )
    if upload.size is None or upload.size == 0:
        raise ValidationFailed.for_field("file", _("The file is empty."), code="file_empty")
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationFailed.for_field(
            "file", _("The file is larger than 10 MB."), code="file_too_large"
        )
    head = upload.read(16)
    upload.seek(0)
    content_type = next(
        (kind for kind, magics in ALLOWED_UPLOAD_TYPES.items() if head.startswith(magics)), None
    )
    if content_type is None:
        raise ValidationFailed.for_field(
            "file", _("Upload a PDF, JPEG or PNG file."), code="file_type"
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    with transaction.atomic():
        application = _lock(application)
        if application.status not in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED):
            raise Conflict(
                _("Materials can be added only to a draft or during a supplement request.")
            )
        supplement_round = application.supplement_requests.count()
        name = f"{uuid.uuid4().hex}{_extension(content_type)}"
        material = ApplicationMaterial(
            application=application,
            material_code=material_code,
            original_name=(upload.name or "")[:255],
            content_type=content_type,
            size=upload.size,
            sha256=digest.hexdigest(),
            supplement_round=supplement_round,
            uploaded_by=applicant,
        )
        material.file.save(name, upload, save=False)
        material.save()
    return material


def _extension(content_type: str) -> str:
    return {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}[content_type]


def application_material_remove(
    *, applicant: User, application: Application, material_id: int
) -> ApplicationMaterial:
    applicant_may_act(application, applicant)
    with transaction.atomic():
        application = _lock(application)
        material = application.materials.filter(pk=material_id, superseded_at__isnull=True).first()
        if material is None:
            raise NotFound()
        if application.status != Status.DRAFT and material.supplement_round < (
            application.supplement_requests.count()
        ):
            raise Conflict(_("Materials already submitted cannot be removed."))
        material.superseded_at = timezone.now()
        # Taking off a certificate is her choice not to share it here: it stays off.
        material.declined = bool(material.certificate_ref)
        material.save(update_fields=["superseded_at", "declined"])
    return material


CERTIFICATE_CONTENT_TYPE = "application/vnd.yiwang.certificate"
# An application's materials as plain rows (every submission and draft page reads them).
_MATERIAL_ROWS = CompiledQuery(
    lambda application_id: (
        ApplicationMaterial.objects.filter(application_id=application_id)
        .order_by()
        .values_list("pk", "material_code", "certificate_ref", "superseded_at", "declined")
    )
)


def _certificates_attach(
    application: Application, applicant: User | None = None, *, submitting: bool = False
) -> set[str]:
    """免提交: each material a valid certificate of the applicant (or of the organisation
    she applies for) proves is attached as that certificate; one that has since been
    revoked or has expired is taken off again, so the material shows as missing.

    A material she uploaded as a file stays as it is, and one whose certificate she took
    off stays off, so her certificates are looked up only when some material could be
    proved by one. Returns the codes of the materials provided now, uploaded or proved.
    ``applicant`` spares loading her again.

    ``submitting``: only what decides the submission is looked at: the certificates
    attached (still valid?) and the required materials she has not provided. An optional
    material is attached when the draft is created or its page shown
    (:func:`application_certificates_refresh`), where she sees it before she submits; the
    submission does not add one she has not seen.
    """
    # Code → (id, certificate) of the newest current material of that code, and the codes
    # whose certificate she took off. Plain rows, filtered and ordered here, since building
    # models and compiling conditions cost Django more than the database spends on them.
    current: dict[str, tuple[int, str]] = {}
    declined: set[str] = set()
    for pk, code, certificate_ref, superseded_at, was_declined in sorted(
        _MATERIAL_ROWS.fetch(application.pk)
    ):
        if superseded_at is None:
            current[code] = (pk, certificate_ref)
        elif was_declined:
            declined.add(code)
    # Code → certificate type of each material to look up: a certificate attached (still
    # valid?), or nothing provided yet (at submission: only if the material is required).
    typed = {
        m["code"]: m["certificate_type"]
        for m in application.snapshot.get("materials", [])
        if m.get("certificate_type")
        and m["code"] not in declined
        and (
            current[m["code"]][1]
            if m["code"] in current
            else not submitting or (m.get("required") and m.get("form") != "online")
        )
    }
    provided = set(current)
    if not typed:
        return provided
    if applicant is None or applicant.pk != application.applicant_id:
        applicant = application.applicant
    holders = [applicant.id_number or ""]
    if application.organisation is not None:
        holders.append(application.organisation.uscc)
    # Type code → her newest valid certificate: the one a material is proved by.
    valid = certificate_selectors.certificates_valid_of(holders, typed.values())
    valid_ids = {certificate.identifier for certificate in valid.values()}
    for code, type_code in typed.items():
        attached = current.get(code)
        if attached is not None and attached[1] not in valid_ids:
            ApplicationMaterial.objects.filter(pk=attached[0]).update(superseded_at=timezone.now())
            provided.discard(code)
            attached = None
        if attached is None and type_code in valid:
            certificate = valid[type_code]
            ApplicationMaterial.objects.create(
                application=application,
                material_code=code,
                original_name=certificate.certificate_type.name[:255],
                content_type=CERTIFICATE_CONTENT_TYPE,
                certificate_ref=certificate.identifier,
                supplement_round=application.supplement_requests.count(),
                uploaded_by=applicant,
            )
            provided.add(code)
    return provided


def application_certificate_use(
    *, applicant: User, application: Application, material_code: str
) -> ApplicationMaterial:
    """Prove a material by her e-certificate again, after she took it off.

    Refused (422) when the material is not one a certificate proves, or when she holds no
    valid certificate of its type; then nothing changes.
    """
    applicant_may_act(application, applicant)
    spec = next(
        (m for m in application.snapshot.get("materials", []) if m["code"] == material_code),
        None,
    )
    if spec is None or not spec.get("certificate_type"):
        raise ValidationFailed.for_field(
            "material_code", _("This material cannot be proved by an e-certificate.")
        )
    with transaction.atomic():
        application = _lock(application)
        if application.status not in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED):
            raise Conflict(
                _("Materials can be added only to a draft or during a supplement request.")
            )
        application.materials.filter(material_code=material_code, declined=True).update(
            declined=False
        )
        provided = _certificates_attach(application, applicant)
        material = (
            application.materials.filter(material_code=material_code, superseded_at__isnull=True)
            .exclude(certificate_ref="")
            .first()
        )
        if material is None:
            # Provided, yet not by a certificate: by a file she uploaded.
            uploaded = material_code in provided
            raise ValidationFailed.for_field(
                "material_code",
                _("A file you uploaded provides this material: remove it first.")
                if uploaded
                else _("You hold no valid e-certificate that proves this material."),
                code="file_uploaded" if uploaded else "no_certificate",
            )
    return material


def application_certificates_refresh(*, applicant: User, application: Application) -> None:
    """Attach what her certificates now prove to a draft (and take off what they no longer
    do), so the page she sees is the submission she would make."""
    applicant_may_act(application, applicant)
    with transaction.atomic():
        application = _lock(application)
        if application.status in (Status.DRAFT, Status.SUPPLEMENT_REQUESTED):
            _certificates_attach(application)


def _missing_materials(application: Application, provided: set[str]) -> list[str]:
    """The names of the required materials not among ``provided`` (material codes)."""
    return [
        m["name"]
        for m in application.snapshot.get("materials", [])
        if m.get("required") and m["code"] not in provided and m.get("form") != "online"
    ]


# ---------------------------------------------------------------------------------------
# Submission


# The draft a submission works on, locked; the applicant's own only.
_SUBMISSION_LOCKED = CompiledQuery(
    lambda application_id, applicant_id: (
        Application.objects.select_for_update()
        .filter(pk=application_id)
        .filter(applicant_id=applicant_id)
    )
)


def application_submit(
    *, applicant: User, application_id: int, consent_data_reads: bool = False
) -> Application:
    """Submit a draft: validate the form and materials, number it, start its process.

    The application is read once, under its row lock. Submitting an application that is
    already submitted returns it unchanged, so a double submit creates one application.
    With ``consent_data_reads`` the applicant consents, for this application, to the
    department reading the data the item declares that needs her consent.
    """
    today = timezone.localdate()
    cal = calendar()
    with transaction.atomic():
        found = _SUBMISSION_LOCKED.fetch(application_id, applicant.pk)
        if not found:
            raise NotFound()
        application = found[0]
        acting_as = applicant_may_act(application, applicant)
        if application.status != Status.DRAFT:
            if application.submitted_at is not None:
                return application
            raise Conflict(_("This application can no longer be submitted."))
        version = application.version
        errors = form_errors(version.snapshot["form"]["schema"], application.form_data)
        missing = _missing_materials(
            application, _certificates_attach(application, applicant, submitting=True)
        )
        if missing:
            errors.setdefault("materials", []).append(
                _("Please provide: %(names)s.") % {"names": "、".join(missing)}
            )
        if errors:
            raise ValidationFailed(fields=errors)
        runner = runner_for_version(version)
        acceptance_due = cal.add_working_days(today, ACCEPTANCE_LIMIT_DAYS)
        data = {
            **application.form_data,
            "item_type": version.snapshot["item_type"],
            "applicant_type": "organisation" if application.organisation_id else "person",
            "acceptance_due_at": _due_at(acceptance_due),
        }
        try:
            state = runner.start(data)
        except WorkflowError as exc:
            logger.exception("Workflow failed to start for application %s", application.pk)
            raise Conflict(
                _("The service's process could not start. Please try again later."),
                code="workflow_error",
            ) from exc
        application.workflow_state = state
        application.status = Status.SUBMITTED
        application.number = _next_number(application, today)
        application.submitted_at = timezone.now()
        application.acceptance_due = acceptance_due
        # The application, its first staff task, the timeline entry and the inbox message:
        # one statement on PostgreSQL.
        rows_save(
            update=(
                application,
                [
                    "workflow_state",
                    "status",
                    "number",
                    "submitted_at",
                    "acceptance_due",
                    "updated_at",
                ],
            ),
            inserts=[
                *_tasks_new(application, runner.ready_tasks(application.workflow_state)),
                _event_new(
                    application,
                    action="submit",
                    actor=applicant,
                    from_status=Status.DRAFT,
                    to_status=Status.SUBMITTED,
                    role="applicant",
                    acting_as=acting_as,
                ),
                Notification(
                    user=applicant,
                    application=application,
                    title=_("Application %(number)s submitted") % {"number": application.number},
                    body=_("We have received your application for %(item)s.")
                    % {"item": application.snapshot["name"]},
                ),
            ],
        )
        if consent_data_reads:
            _data_reads_consent(application)
    return application


# An applicant's consent to the department reading her data lasts while her application
# is open (it ends when the application closes), and at most this long.
DATA_READ_CONSENT_DAYS = 180


def consent_resources(snapshot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The data reads of a version that need the applicant's consent."""
    return [read for read in snapshot.get("data_reads", []) if read.get("consent")]


def _data_reads_consent(application: Application) -> None:
    reads = consent_resources(application.snapshot)
    if not reads:
        return
    resources = list(
        exchange_selectors.data_resources_listed().filter(code__in=[r["resource"] for r in reads])
    )
    exchange_services.consent_give(
        subject=application.applicant,
        department=application.department,
        resources=resources,
        purpose=_("Processing application %(number)s (%(item)s)")
        % {"number": application.number, "item": application.snapshot["name"]},
        days=DATA_READ_CONSENT_DAYS,
        reference=application.number or "",
    )


def _closed(application: Application) -> None:
    """What ends with an application: the consents given for it; in a bundle, what waited
    for it starts (or is cancelled)."""
    if application.number and consent_resources(application.snapshot):
        exchange_services.consents_close(
            subject=application.applicant,
            department=application.department,
            reference=application.number,
        )
    if application.bundle_id is not None:
        from yiwang.applications import bundles  # bundles builds on this module

        bundles.part_closed(application)


# ---------------------------------------------------------------------------------------
# Registry data read for staff (through the exchange)


@dataclass(frozen=True)
class DataReadResult:
    """One declared data read as staff see it: the records, or why there are none."""

    resource: str
    name: str
    provider: str
    purpose: str
    fields: list[Mapping[str, str]]  # [{name, label}]
    records: list[dict[str, Any]]
    outcome: str  # "ok" or the exchange error type
    message: str  # why nothing was read (empty when ok)


def _data_read_message(error: exchange_services.ExchangeError) -> str:
    if isinstance(error, exchange_services.ConsentRequired):
        return _(
            "The applicant has not consented to this department reading these data: "
            "examine the materials instead."
        )
    if isinstance(error, exchange_services.AccessDenied):
        return _(
            "This department has no grant covering these data: its data officer can ask the "
            "provider for one on the data exchange pages."
        )
    if isinstance(error, exchange_services.UnknownService):
        return _("These data are no longer shared.")
    if isinstance(error, exchange_services.RateLimited):
        return _("Too many reads this minute. Please try again shortly.")
    if isinstance(error, (exchange_services.ServiceFailed, exchange_services.ServiceTimeout)):
        return _("The providing department did not answer. Please try again later.")
    if isinstance(error, exchange_services.LogWriteFailed):
        return _("The exchange log could not be written, so no data were released.")
    return _("These data could not be read.")


def application_data_read(*, staff: User, application: Application) -> list[DataReadResult]:
    """Read what the item declares about the applicant, for staff processing it.

    Each read goes through ``exchange_fetch`` as the department's workbench system, with
    the application number as the case reference, so it is checked against the grant and
    the applicant's consent and appears in her "who used my data". The timeline records
    which staff member read what. Nothing read is stored.
    """
    if not StaffRole.objects.filter(user=staff, department_id=application.department_id).exists():
        raise NotFound()
    if application.status not in OPEN_STATUSES:
        raise Conflict(_("This application is closed."), code="application_closed")
    reads = application.snapshot.get("data_reads", [])
    if not reads:
        return []
    consumer = exchange_services.workbench_consumer(application.department)
    results = []
    for read in reads:
        if read["subject_kind"] == "organisation":
            subject = application.organisation.uscc if application.organisation else ""
        else:
            subject = application.applicant.id_number or ""
        fields = list(read["fields"])
        try:
            answer = exchange_services.exchange_fetch(
                consumer=consumer,
                request=exchange_services.ExchangeRequest(
                    service=read["resource"],
                    subject=subject,
                    purpose=read["purpose"],
                    fields=[f["name"] for f in fields],
                    issue=application.number or "",
                ),
            )
        except exchange_services.ExchangeError as exc:
            records, outcome, message = [], exc.type, _data_read_message(exc)
        else:
            records, outcome, message = answer.records, "ok", ""
        results.append(
            DataReadResult(
                resource=read["resource"],
                name=read["name"],
                provider=read["provider"]["name"],
                purpose=read["purpose"],
                fields=fields,
                records=records,
                outcome=outcome,
                message=message,
            )
        )
    _event(
        application,
        action="data_read",
        actor=staff,
        role="staff",
        data={
            "reads": [
                {"resource": r.resource, "name": r.name, "outcome": r.outcome} for r in results
            ]
        },
    )
    return results


# ---------------------------------------------------------------------------------------
# Staff steps

OUTCOMES_NEEDING_COMMENT = {"refuse", "deny", "return"}
# Outcomes that send the application back to the applicant with a one-time notice.
SUPPLEMENT_OUTCOMES = {"supplement", "return"}


def _staff_may_act(staff: User, task: WorkTask) -> bool:
    return StaffRole.objects.filter(
        user=staff, department_id=task.department_id, role=task.role, department__is_active=True
    ).exists()


def task_claim(*, staff: User, task: WorkTask) -> WorkTask:
    """Take an open task from the queue; the first claim wins."""
    if not _staff_may_act(staff, task):
        raise PermissionDenied(_("This task is not in your queues."))
    claimed = WorkTask.objects.filter(
        pk=task.pk, state=WorkTask.State.OPEN, assignee__isnull=True
    ).update(state=WorkTask.State.CLAIMED, assignee=staff, claimed_at=timezone.now())
    task.refresh_from_db()
    if claimed != 1 and task.assignee_id != staff.pk:
        raise Conflict(_("Someone else has already claimed this task."), code="task_taken")
    return task


def task_assign(*, actor: User, task: WorkTask, assignee: User) -> WorkTask:
    """A department administrator hands an open or claimed task to a colleague."""
    if not StaffRole.objects.filter(
        user=actor, department_id=task.department_id, role=StaffRole.Role.DEPARTMENT_ADMIN
    ).exists():
        raise PermissionDenied(_("Only a department administrator may assign tasks."))
    if not _staff_may_act(assignee, task):
        raise ValidationFailed.for_field(
            "assignee", _("This person does not hold the task's role in this department.")
        )
    with transaction.atomic():
        updated = WorkTask.objects.filter(
            pk=task.pk, state__in=[WorkTask.State.OPEN, WorkTask.State.CLAIMED]
        ).update(state=WorkTask.State.CLAIMED, assignee=assignee, claimed_at=timezone.now())
        if updated != 1:
            raise Conflict(_("This task is already finished."), code="task_finished")
        task.refresh_from_db()
        _event(
            task.application,
            action="assign",
            actor=actor,
            role=StaffRole.Role.DEPARTMENT_ADMIN,
            data={"task": task.task_name, "assignee": assignee.display_name},
        )
    return task


def task_complete(
    *,
    staff: User,
    task: WorkTask,
    outcome: str,
    comment: str = "",
    supplement_items: Sequence[Mapping[str, str]] = (),
) -> Application:
    """Complete a staff task with an outcome; the process decides what comes next."""
    if not _staff_may_act(staff, task):
        raise PermissionDenied(_("This task is not in your queues."))
    if task.assignee_id is not None and task.assignee_id != staff.pk:
        raise PermissionDenied(
            _("This task is claimed by someone else."), code="task_claimed_by_other"
        )
    allowed = STEP_OUTCOMES.get(task.task_name)
    if allowed is not None and outcome not in allowed:
        raise ValidationFailed.for_field("outcome", _("This outcome is not possible here."))
    comment = (comment or "").strip()
    if outcome in OUTCOMES_NEEDING_COMMENT and not comment:
        raise ValidationFailed.for_field("comment", _("Please give the reason."))
    items = _supplement_items_parse(task.application, supplement_items, outcome)
    with transaction.atomic():
        application = _lock(task.application)
        task = WorkTask.objects.select_for_update().get(pk=task.pk)
        if task.state not in (WorkTask.State.OPEN, WorkTask.State.CLAIMED):
            raise Conflict(_("This task is already finished."), code="task_finished")
        if application.status not in OPEN_STATUSES:
            raise Conflict(_("This application is closed."), code="application_closed")
        runner = runner_for_version(application.version)
        today = timezone.localdate()
        task_data: dict[str, Any] = {"outcome": outcome, "comment": comment}
        if task.task_name == "accept" and outcome == "accept":
            legal_due = calendar().add_working_days(today, application.snapshot["legal_limit_days"])
            task_data["decision_due_at"] = _due_at(legal_due)
        try:
            state = runner.complete(application.workflow_state, task.bpmn_task_id, task_data)
        except WorkflowError as exc:
            logger.warning("Workflow step failed for application %s: %s", application.pk, exc)
            raise Conflict(
                _("This step is not possible in the application's current state."),
                code="workflow_error",
            ) from exc
        from_status = application.status
        application.workflow_state = state
        _apply_outcome(application, task, outcome, today, staff, comment, items)
        if runner.is_completed(state) and application.status in (
            Status.DELIVERED,
            Status.GRANTED,
            Status.DENIED,
        ):
            application.status = Status.COMPLETED
            application.completed_at = timezone.now()
        application.save()
        task.state = WorkTask.State.DONE
        task.completed_at = timezone.now()
        task.completed_by = staff
        task.assignee = task.assignee or staff
        task.outcome = outcome
        task.save()
        _sync_tasks(application, runner)
        _event(
            application,
            action=f"{task.task_name}:{outcome}",
            actor=staff,
            role=task.role,
            from_status=from_status,
            to_status=application.status,
            comment=comment,
            data={"items": items} if items else None,
        )
        _notify_outcome(application, outcome, comment, items)
        if application.status == Status.COMPLETED and application.decision != "denied":
            _result_issue(application, staff)
        if application.status in CLOSED:
            _closed(application)
    return application


def _result_value(application: Application, source: str, effect: Mapping[str, str]) -> str:
    organisation = application.organisation
    if source.startswith("effect."):
        return effect.get(source[len("effect.") :], "")
    if source.startswith("text:"):
        return source[len("text:") :]
    if source.startswith("label."):
        return results.choice_label(application, source[len("label.") :])
    if source.startswith("form."):
        value = application.form_data.get(source[len("form.") :])
        return "" if value is None else str(value)
    values = {
        "applicant.name": application.applicant.name,
        "applicant.id_number": application.applicant.id_number or "",
        "organisation.name": organisation.name if organisation else "",
        "organisation.uscc": organisation.uscc if organisation else "",
        "application.number": application.number or "",
        "issuer.name": str(application.snapshot["department"]["name"]),
        "issued_on": timezone.localdate().isoformat(),
    }
    return values[source]


def _result_holder(
    application: Application, result: Mapping[str, Any], effect: Mapping[str, str]
) -> tuple[str, str, str]:
    """Who holds the result's certificate: the organisation applied for, the applicant, or
    — when the item names the holder — her minor child, whose guardian she is."""
    organisation = application.organisation
    if result["holder"] == "organisation" and organisation is not None:
        return ("organisation", organisation.uscc, organisation.name)
    if result["holder"] == "organisation" and effect.get("uscc"):
        # Founded by someone who does not represent it: the licence is the company's, and
        # its legal representative sees it once she takes the company's account.
        return ("organisation", effect["uscc"], effect["name"])
    applicant = application.applicant
    if "holder_id_number" not in result:
        return ("person", applicant.id_number or "", applicant.name)
    number = _result_value(application, result["holder_id_number"], effect)
    name = _result_value(application, result["holder_name"], effect)
    if number != applicant.id_number and number not in exchange_selectors.wards_of(
        applicant.id_number or ""
    ):
        raise Conflict(
            _("The certificate's holder is neither the applicant nor a minor in her care."),
            code="holder_not_in_care",
        )
    return ("person", number, name)


def _result_issue(application: Application, staff: User) -> None:
    """制证: the favourable result of an item that issues a certificate issues it, in the
    same transaction as the step that completes the application."""
    result = application.snapshot.get("result") or {}
    if not result:
        return
    if (
        result["holder"] == "organisation"
        and application.organisation is None
        and not application.snapshot.get("founding")
    ):
        return
    try:
        effect = (
            results.result_effect_run(result["effect"], application) if "effect" in result else {}
        )
        holder = _result_holder(application, result, effect)
        data = {
            name: _result_value(application, source, effect)
            for name, source in result["fields"].items()
        }
        certificate = certificate_services.certificate_issue(
            certificate_type=result["certificate_type"],
            issuer=application.department,
            holder_kind=holder[0],
            holder_identifier=holder[1],
            holder_name=holder[2],
            data={name: value for name, value in data.items() if value},
            number=data.get("certificate_number") or application.number or "",
            source=f"application:{application.number}",
        )
    except YiwangError as exc:
        logger.warning("Certificate not issued for application %s: %s", application.pk, exc)
        raise Conflict(
            _("The certificate of this result cannot be issued: %(reason)s")
            % {"reason": exc.message},
            code="certificate_not_issued",
        ) from exc
    _event(
        application,
        action="certificate_issued",
        actor=staff,
        data={
            "certificate_id": certificate.pk,
            "identifier": certificate.identifier,
            "type": result["certificate_type_name"],
        },
    )
    notify(
        user=application.applicant,
        application=application,
        title=_("Your %(type)s has been issued") % {"type": result["certificate_type_name"]},
        body=_("Application %(number)s: the e-certificate is in My certificates.")
        % {"number": application.number},
    )


def _supplement_items_parse(
    application: Application, raw: Sequence[Mapping[str, str]], outcome: str
) -> list[dict[str, str]]:
    if outcome not in SUPPLEMENT_OUTCOMES:
        return []
    materials = _material_codes(application.version)
    fields = application.snapshot["form"]["schema"].get("properties", {})
    items: list[dict[str, str]] = []
    for entry in raw:
        material = (entry.get("material") or "").strip()
        field = (entry.get("field") or "").strip()
        reason = (entry.get("reason") or "").strip()
        if material and material not in materials:
            raise ValidationFailed.for_field("supplement_items", _("Unknown material."))
        if field and field not in fields:
            raise ValidationFailed.for_field("supplement_items", _("Unknown form field."))
        if not (material or field) or not reason:
            raise ValidationFailed.for_field(
                "supplement_items", _("Each item needs a material or field and a reason.")
            )
        items.append({"material": material, "field": field, "reason": reason})
    if not items:
        raise ValidationFailed.for_field(
            "supplement_items",
            _("List everything that is missing, all at once (一次性告知)."),
        )
    return items


def _apply_outcome(
    application: Application,
    task: WorkTask,
    outcome: str,
    today: datetime.date,
    staff: User,
    comment: str,
    items: list[dict[str, str]],
) -> None:
    cal = calendar()
    if task.task_name == "accept":
        if outcome == "accept":
            application.status = Status.ACCEPTED
            application.accepted_at = timezone.now()
            application.promised_due = cal.add_working_days(
                today, application.snapshot["promised_limit_days"]
            )
            application.legal_due = cal.add_working_days(
                today, application.snapshot["legal_limit_days"]
            )
        elif outcome == "refuse":
            application.status = Status.NOT_ACCEPTED
            application.completed_at = timezone.now()
        elif outcome == "supplement":
            _supplement_request(application, staff, comment, items, today)
    elif task.task_name == "review":
        if outcome == "return":
            # The reviewer finds materials lacking: back to the applicant, clock paused.
            _supplement_request(application, staff, comment, items, today)
        else:
            application.status = Status.UNDER_REVIEW
    elif task.task_name == "decide":
        application.decided_at = timezone.now()
        application.status = Status.GRANTED if outcome == "grant" else Status.DENIED
        application.decision = "granted" if outcome == "grant" else "denied"
    elif task.task_name == "deliver":
        application.status = Status.DELIVERED
    else:
        # Other staff steps (site checks …) keep the application under review.
        if application.status == Status.ACCEPTED:
            application.status = Status.UNDER_REVIEW


def _supplement_request(
    application: Application,
    staff: User,
    comment: str,
    items: list[dict[str, str]],
    today: datetime.date,
) -> None:
    application.status = Status.SUPPLEMENT_REQUESTED
    application.paused_since = today
    SupplementRequest.objects.create(
        application=application, items=items, comment=comment, requested_by=staff
    )


def _notify_outcome(
    application: Application, outcome: str, comment: str, items: list[dict[str, str]]
) -> None:
    number = application.number
    if outcome in SUPPLEMENT_OUTCOMES:
        lines = "；".join(item["reason"] for item in items)
        notify(
            user=application.applicant,
            application=application,
            title=_("Application %(number)s: please supplement") % {"number": number},
            body=_("Please provide, all at once: %(items)s") % {"items": lines},
            sms=True,
        )
    elif outcome == "refuse":
        notify(
            user=application.applicant,
            application=application,
            title=_("Application %(number)s not accepted") % {"number": number},
            body=comment,
            sms=True,
        )
    elif outcome in ("grant", "deny"):
        notify(
            user=application.applicant,
            application=application,
            title=(
                _("Application %(number)s granted")
                if outcome == "grant"
                else _("Application %(number)s denied")
            )
            % {"number": number},
            body=comment or application.snapshot["name"],
            sms=True,
        )
    elif outcome == "accept":
        notify(
            user=application.applicant,
            application=application,
            title=_("Application %(number)s accepted") % {"number": number},
            body=_("It will be decided by %(date)s.") % {"date": application.promised_due},
        )
    elif application.status == Status.COMPLETED:
        notify(
            user=application.applicant,
            application=application,
            title=_("Application %(number)s completed") % {"number": number},
            body=application.snapshot["name"],
        )


# Administrative Licensing Law Art. 42: 20 working days, extendable once by 10 with the
# approval of the head of the department.
EXTENSION_DAYS = 10


def application_extend(*, actor: User, application: Application, reason: str) -> Application:
    """Extend the decision time limit once by 10 working days (行政许可法第四十二条)."""
    if not StaffRole.objects.filter(
        user=actor, department_id=application.department_id, role=StaffRole.Role.DEPARTMENT_ADMIN
    ).exists():
        raise PermissionDenied(_("Only the department's administrator may approve an extension."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.for_field("reason", _("Please give the reason."))
    with transaction.atomic():
        application = _lock(application)
        if application.snapshot["item_type"] != "licensing":
            raise Conflict(
                _("Only administrative licensing items can be extended."),
                code="extension_not_applicable",
            )
        if application.status not in (Status.ACCEPTED, Status.UNDER_REVIEW):
            raise Conflict(
                _("Only an accepted application awaiting its decision can be extended."),
                code="extension_not_possible",
            )
        if application.extended_days:
            raise Conflict(_("The time limit has already been extended once."), code="extended")
        if application.legal_due is None:
            raise Conflict(_("This application has no decision time limit."))
        runner = runner_for_version(application.version)
        new_due = calendar().add_working_days(application.legal_due, EXTENSION_DAYS)
        try:
            application.workflow_state = runner.set_data(
                application.workflow_state, {"decision_due_at": _due_at(new_due)}
            )
        except WorkflowError as exc:
            raise Conflict(
                _("This step is not possible in the application's current state."),
                code="workflow_error",
            ) from exc
        old_due = application.legal_due
        application.extended_days = EXTENSION_DAYS
        application.legal_due = new_due
        # An overdue flag raised under the old limit no longer holds.
        if application.overdue_since is not None and timezone.localdate() <= new_due:
            application.overdue_since = None
        application.save()
        _event(
            application,
            action="extend",
            actor=actor,
            role=StaffRole.Role.DEPARTMENT_ADMIN,
            comment=reason,
            data={"from": old_due.isoformat(), "to": new_due.isoformat()},
        )
        notify(
            user=application.applicant,
            application=application,
            title=_("Application %(number)s: time limit extended") % {"number": application.number},
            body=_("The decision is now due by %(date)s. Reason: %(reason)s")
            % {"date": new_due, "reason": reason},
            sms=True,
        )
    return application


# ---------------------------------------------------------------------------------------
# Applicant steps after submission


def application_resubmit(
    *, applicant: User, application: Application, form_data: Mapping[str, Any] | None = None
) -> Application:
    """Answer a supplement request: the clock resumes and the clerk looks again."""
    acting_as = applicant_may_act(application, applicant)
    with transaction.atomic():
        application = _lock(application)
        if application.status != Status.SUPPLEMENT_REQUESTED:
            raise Conflict(_("No supplement is requested for this application."))
        request = application.supplement_requests.filter(resolved_at__isnull=True).last()
        if form_data is not None:
            application.form_data = dict(form_data)
        version = application.version
        errors = form_errors(version.snapshot["form"]["schema"], application.form_data)
        round_number = application.supplement_requests.count()
        if request is not None:
            uploaded = set(
                application.materials.filter(
                    supplement_round=round_number, superseded_at__isnull=True
                ).values_list("material_code", flat=True)
            )
            names = _material_codes(version)
            missing = [
                names[item["material"]]["name"]
                for item in request.items
                if item.get("material") and item["material"] not in uploaded
            ]
            if missing:
                errors.setdefault("materials", []).append(
                    _("Please provide: %(names)s.") % {"names": "、".join(missing)}
                )
        if errors:
            raise ValidationFailed(fields=errors)
        runner = runner_for_version(version)
        task_id = _applicant_task_id(application, runner, "supplement")
        if task_id is None:
            raise Conflict(_("No supplement is requested for this application."))
        today = timezone.localdate()
        cal = calendar()
        # The acceptance period runs again from the day complete materials arrive.
        acceptance_due = cal.add_working_days(today, ACCEPTANCE_LIMIT_DAYS)
        try:
            state = runner.complete(
                application.workflow_state,
                task_id,
                {
                    **application.form_data,
                    "outcome": "resubmitted",
                    "comment": "",
                    "acceptance_due_at": _due_at(acceptance_due),
                },
            )
        except WorkflowError as exc:
            raise Conflict(
                _("This step is not possible in the application's current state."),
                code="workflow_error",
            ) from exc
        if application.paused_since is not None:
            application.paused_working_days += cal.working_days_between(
                application.paused_since, today
            )
        application.paused_since = None
        application.acceptance_due = acceptance_due
        application.workflow_state = state
        application.status = Status.SUBMITTED
        application.save()
        if request is not None:
            request.resolved_at = timezone.now()
            request.save(update_fields=["resolved_at"])
        _sync_tasks(application, runner)
        _event(
            application,
            action="resubmit",
            actor=applicant,
            role="applicant",
            acting_as=acting_as,
            from_status=Status.SUPPLEMENT_REQUESTED,
            to_status=Status.SUBMITTED,
        )
    return application


def application_withdraw(
    *, applicant: User, application: Application, reason: str = ""
) -> Application:
    """The applicant withdraws before a decision; open staff tasks are cancelled."""
    acting_as = applicant_may_act(application, applicant)
    with transaction.atomic():
        application = _lock(application)
        if application.status == Status.WITHDRAWN:
            return application
        if application.status in DECIDED or application.status in (
            Status.NOT_ACCEPTED,
            Status.DRAFT,
        ):
            raise Conflict(
                _("An application can be withdrawn only after submission and before a decision."),
                code="withdraw_not_possible",
            )
        from_status = application.status
        application.status = Status.WITHDRAWN
        application.completed_at = timezone.now()
        application.paused_since = None
        application.save()
        application.tasks.filter(state__in=[WorkTask.State.OPEN, WorkTask.State.CLAIMED]).update(
            state=WorkTask.State.CANCELLED, completed_at=timezone.now()
        )
        _event(
            application,
            action="withdraw",
            actor=applicant,
            role="applicant",
            acting_as=acting_as,
            from_status=from_status,
            to_status=Status.WITHDRAWN,
            comment=reason.strip(),
        )
        _closed(application)
    return application


def application_draft_delete(*, applicant: User, application: Application) -> None:
    applicant_may_act(application, applicant)
    with transaction.atomic():
        application = _lock(application)
        if application.status != Status.DRAFT:
            raise Conflict(_("Only drafts can be deleted; withdraw a submitted application."))
        if application.bundle_id is not None:
            # A part is the bundle's: it goes when the bundle is withdrawn, never on its own.
            raise Conflict(
                _("This is part of a life-event application; withdraw that instead."),
                code="bundle_part",
            )
        for material in application.materials.all():
            material.file.delete(save=False)
        application.delete()


def notification_mark_read(*, user: User, notification_id: int) -> None:
    updated = Notification.objects.filter(
        pk=notification_id, user=user, read_at__isnull=True
    ).update(read_at=timezone.now())
    if updated == 0 and not Notification.objects.filter(pk=notification_id, user=user).exists():
        raise NotFound()


# ---------------------------------------------------------------------------------------
# Deadlines


def deadlines_check(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Warn at 80 % of the time limit, flag overdue applications, escalate, fire timers.

    Run periodically (``manage.py applications_tick``). Idempotent: each application is
    warned, flagged and escalated once.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    cal = calendar()
    counts = {"warned": 0, "overdue": 0, "timers": 0}
    for application in selectors.applications_running():
        with transaction.atomic():
            application = _lock(application)
            runner = runner_for_version(application.version)
            try:
                state, fired = runner.fire_due_timers(application.workflow_state, now)
            except WorkflowError:
                logger.exception("Timers failed for application %s", application.pk)
                continue
            if fired:
                application.workflow_state = state
                counts["timers"] += len(fired)
                for name in fired:
                    _event(application, action=f"timer:{name}", actor=None, data={"timer": name})
            start, due = _running_clock(application)
            if start is not None and due is not None and application.paused_since is None:
                total = max(1, cal.working_days_between(start, due))
                used = cal.working_days_between(start, today)
                if used >= 0.8 * total and application.warned_at is None:
                    application.warned_at = now
                    counts["warned"] += 1
                    _event(application, action="deadline_warning", actor=None)
                    _notify_department(application, _("Deadline approaching"))
                overdue = today > due or any("overdue" in name for name in fired)
                if overdue and application.overdue_since is None:
                    application.overdue_since = now
                    application.escalated_at = now
                    counts["overdue"] += 1
                    _event(application, action="overdue_escalated", actor=None)
                    _notify_department(
                        application,
                        _("Overdue: escalated to the department administrator"),
                        admins_only=True,
                    )
            application.save()
    from yiwang.applications import bundles  # bundles builds on this module

    return counts | bundles.bundles_check(now=now)


def _running_clock(application: Application) -> tuple[datetime.date | None, datetime.date | None]:
    if application.status in (Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED):
        start = timezone.localdate(application.submitted_at) if application.submitted_at else None
        return start, application.acceptance_due
    if application.status in (Status.ACCEPTED, Status.UNDER_REVIEW):
        start = timezone.localdate(application.accepted_at) if application.accepted_at else None
        due = application.legal_due
        if due is not None and application.extended_days:
            due = calendar().add_working_days(due, application.extended_days)
        return start, due
    return None, None


def _notify_department(application: Application, title: str, *, admins_only: bool = False) -> None:
    roles = StaffRole.objects.filter(department_id=application.department_id).select_related("user")
    if admins_only:
        roles = roles.filter(role=StaffRole.Role.DEPARTMENT_ADMIN)
    else:
        open_roles = application.tasks.filter(
            state__in=[WorkTask.State.OPEN, WorkTask.State.CLAIMED]
        ).values_list("role", flat=True)
        roles = roles.filter(role__in=[*open_roles, StaffRole.Role.DEPARTMENT_ADMIN])
    for user in {role.user for role in roles}:
        notify(
            user=user,
            application=application,
            title=f"{title}: {application.number}" if application.number else title,
            body=application.snapshot["name"],
        )


def department_admins_notify(application: Application, title: str) -> None:
    """Tell the administrators of the application's department."""
    _notify_department(application, title, admins_only=True)


__all__ = [
    "application_draft_create",
    "application_draft_delete",
    "application_draft_update",
    "application_extend",
    "application_material_remove",
    "application_material_upload",
    "application_resubmit",
    "application_submit",
    "application_withdraw",
    "deadlines_check",
    "notification_mark_read",
    "notify",
    "task_assign",
    "task_claim",
    "task_complete",
]
