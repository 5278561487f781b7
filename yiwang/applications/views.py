"""Pages of applications: apply, my applications, inbox, life-event bundles (一件事), and
the staff workbench.

Each view parses its input, calls one selector or service and renders. Service errors
come back on the page: field messages beside their fields (422), conflicts (409) and
refusals (403) as a message at the top, with the service error's status.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiwang.applications import bundles, prefill, selectors, services
from yiwang.applications.forms import (
    ApplyForm,
    BundleApplyForm,
    BundleDeclineForm,
    BundleWithdrawForm,
    MaterialUploadForm,
    SchemaForm,
    TaskAssignForm,
    TaskCompleteForm,
    WithdrawForm,
    field_order,
    form_data_rows,
    version_form,
)
from yiwang.applications.models import (
    BUNDLE_CLOSED,
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    BundleApplication,
    BundleEvent,
    BundleParticipant,
    BundleStatus,
    Status,
    SupplementRequest,
    WorkTask,
)
from yiwang.applications.selectors import ApplicationAccess
from yiwang.catalog import bundles as bundle_rules
from yiwang.catalog import selectors as catalog_selectors
from yiwang.catalog.models import ServiceItem, ServiceItemVersion, Target
from yiwang.certificates import selectors as certificate_selectors
from yiwang.core.errors import NotFound, PermissionDenied, YiwangError
from yiwang.identity import selectors as identity_selectors
from yiwang.identity.acting import ActingIdentity, acting_identity
from yiwang.identity.decorators import staff_required
from yiwang.identity.models import Organisation, StaffRole, User

PAGE_SIZE = 20
# ``removable_round`` of a page where no file may be removed (no round has this number).
NOTHING_REMOVABLE = -1
WITHDRAWABLE = {
    Status.SUBMITTED,
    Status.SUPPLEMENT_REQUESTED,
    Status.ACCEPTED,
    Status.UNDER_REVIEW,
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _errors_place(exc: YiwangError, *forms_: forms.Form) -> list[str]:
    """Put each field message beside its field; return what belongs at the top of the page."""
    if isinstance(exc, NotFound):
        raise Http404 from exc
    page = [str(exc.message)]
    for name, field_messages in exc.fields.items():
        form = next((f for f in forms_ if name in f.fields), None)
        for message in field_messages:
            if form is not None:
                form.add_error(name, str(message))
            elif str(message) not in page:
                page.append(str(message))
    return page


# ---------------------------------------------------------------------------------------
# Applying


def _organisation_choices(acting: ActingIdentity, item: ServiceItem) -> list[tuple[int, str]]:
    """Organisations the user may apply for with this item, as select choices."""
    if item.target == Target.PERSON or item.founding:
        # A founding item creates its organisation: there is none to choose yet.
        return []
    return [
        (choice.organisation.pk, choice.organisation.name)
        for choice in acting.choices
        if choice.covers(item.code)
    ]


def _acting_note(
    acting: ActingIdentity, item: ServiceItem, organisations: Sequence[tuple[int, str]]
) -> str:
    """What the apply page says when she acts for an organisation it is not applied for."""
    if acting.organisation is None or acting.organisation.pk in dict(organisations):
        return ""
    name = acting.organisation.name
    if item.target == Target.PERSON:
        return _(
            "You are acting for %(organisation)s, but this service is for natural persons "
            "only: you apply in your own name."
        ) % {"organisation": name}
    if item.founding:
        return _(
            "You are acting for %(organisation)s, but this service founds a new "
            "organisation: you apply in your own name."
        ) % {"organisation": name}
    return _(
        "You are acting for %(organisation)s, but your authorisation does not cover this "
        "service: you cannot apply for it in the organisation's name."
    ) % {"organisation": name}


@login_required
@require_http_methods(["GET", "POST"])
def application_new(request: HttpRequest, item_code: str) -> HttpResponse:
    """The item's form; saving it creates the draft (once per form shown) and opens it.

    Acting for an organisation (办事身份), the form is for it when the item allows.
    """
    user = _user(request)
    item = catalog_selectors.service_item_get(item_code)
    if item is None or item.current_version is None:
        raise Http404
    schema, ui = version_form(item.current_version.snapshot)
    acting = acting_identity(request)
    organisations = _organisation_choices(acting, item)
    organisation_required = item.target == Target.ORGANISATION and not item.founding
    status = 200
    page_errors: list[str] = []
    apply_form = ApplyForm(
        request.POST if request.method == "POST" else None,
        organisations=organisations,
        organisation_required=organisation_required,
    )
    # 免填写: what the government knows of her (and of the organisation she applies for).
    organisation_id = _chosen_organisation(
        request, organisations, acting, required=organisation_required
    )
    prefilled = prefill.form_prefill(
        applicant=user,
        organisation=Organisation.objects.filter(pk=organisation_id).first()
        if organisation_id
        else None,
        snapshot=item.current_version.snapshot,
    )
    prefilled_data = {name: filled.value for name, filled in prefilled.items()}
    prefilled_meta = {name: filled.as_json() for name, filled in prefilled.items()}
    if request.method == "POST":
        form = SchemaForm(
            schema, ui, request.POST, form_data=prefilled_data, prefilled=prefilled_meta
        )
        status = 422
        if form.is_valid() and apply_form.is_valid():
            data = form.form_data()
            try:
                draft = services.application_draft_create(
                    applicant=user,
                    item_code=item.code,
                    form_data=data,
                    organisation_id=apply_form.cleaned_data.get("organisation"),
                    idempotency_key=apply_form.cleaned_data["idempotency_key"],
                    prefilled=prefilled,
                )
                if draft.status == Status.DRAFT and draft.form_data != data:
                    # The same form posted again: its draft takes the latest values.
                    services.application_draft_update(
                        applicant=user, application=draft, form_data=data
                    )
            except YiwangError as exc:
                page_errors = _errors_place(exc, form, apply_form)
                status = exc.status
            else:
                messages.success(request, _("Your draft has been saved."))
                return redirect("applications:edit", application_id=draft.pk)
        elif "idempotency_key" in apply_form.errors:
            page_errors = [_("This form has expired. Please open the application page again.")]
    else:
        form = SchemaForm(schema, ui, form_data=prefilled_data, prefilled=prefilled_meta)
        apply_form = ApplyForm(
            initial={"idempotency_key": uuid.uuid4().hex, "organisation": organisation_id},
            organisations=organisations,
            organisation_required=organisation_required,
        )
    return render(
        request,
        "applications/new.html",
        {
            "item": item,
            "snapshot": item.current_version.snapshot,
            "form": form,
            "apply_form": apply_form,
            "page_errors": page_errors,
            "needs_organisation": organisation_required and not organisations,
            "acting_note": _acting_note(acting, item, organisations),
        },
        status=status,
    )


def _chosen_organisation(
    request: HttpRequest,
    organisations: Sequence[tuple[int, str]],
    acting: ActingIdentity,
    *,
    required: bool,
) -> int | None:
    """The organisation the form is for: the one posted (or asked for in the address),
    else the one she acts for, else the only one she may choose for an organisations' item."""
    allowed = [pk for pk, _name in organisations]
    raw = request.POST.get("organisation") if request.method == "POST" else None
    raw = raw or request.GET.get("organisation")
    if raw and raw.isdigit() and int(raw) in allowed:
        return int(raw)
    if request.method == "POST":
        return None
    if acting.organisation is not None and acting.organisation.pk in allowed:
        return acting.organisation.pk
    return allowed[0] if required and len(allowed) == 1 else None


def _refuse(exc: PermissionDenied) -> NoReturn:
    raise DjangoPermissionDenied(str(exc.message)) from exc


def _own_application(request: HttpRequest, application_id: int) -> Application:
    """One of her applications, to act on: refused (403, saying why) when it is an
    organisation's she no longer acts for."""
    user = _user(request)
    application = selectors.application_for_applicant(user, application_id)
    if application is None:
        raise Http404
    try:
        services.applicant_may_act(application, user)
    except PermissionDenied as exc:
        _refuse(exc)
    return application


def _visible_application(
    request: HttpRequest, application_id: int
) -> tuple[Application, ApplicationAccess]:
    """One of her applications, or one of her organisations' she may read (the legal
    representative: every one; an agent: those of the services her grant covers)."""
    user = _user(request)
    found = selectors.application_for_viewer(user, application_id)
    if found is None:
        raise Http404
    application, access = found
    if access == ApplicationAccess.ENDED:
        try:
            services.applicant_may_act(application, user)
        except PermissionDenied as exc:
            _refuse(exc)
    return application, access


def _material_rows(
    application: Application,
    *,
    codes: Iterable[str] | None = None,
    upload_form: MaterialUploadForm | None = None,
    removable_round: int | None = None,
) -> list[dict[str, Any]]:
    """The item's materials with the files given for each and an upload form per material.

    ``codes`` limits the rows (a supplement asks for some); files of ``removable_round``
    (all files when None) may be removed.
    """
    wanted = set(codes) if codes is not None else None
    files: dict[str, list[ApplicationMaterial]] = {}
    for material in application.materials.all():
        files.setdefault(material.material_code, []).append(material)
    states = certificate_selectors.certificate_states(
        m.certificate_ref for ms in files.values() for m in ms if m.certificate_ref
    )
    # Materials whose certificate she took off: she may ask for it again.
    declined = selectors.material_codes_declined(application)
    rows = []
    for spec in application.snapshot.get("materials", []):
        code = spec["code"]
        if wanted is not None and code not in wanted:
            continue
        bound = upload_form is not None and upload_form.data.get("material_code") == code
        rows.append(
            {
                "spec": spec,
                "files": [
                    (f, removable_round is None or f.supplement_round == removable_round)
                    for f in files.get(code, [])
                ],
                # 免提交: the state of each certificate proving the material, checked now.
                "certificate_states": states,
                "declined": code in declined,
                "upload_form": upload_form
                if bound
                else MaterialUploadForm(initial={"material_code": code}, auto_id=f"id_{code}_%s"),
            }
        )
    return rows


def _edit_page(
    request: HttpRequest,
    application: Application,
    *,
    form: SchemaForm | None = None,
    upload_form: MaterialUploadForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    schema, ui = version_form(application.snapshot)
    return render(
        request,
        "applications/edit.html",
        {
            "application": application,
            "snapshot": application.snapshot,
            "form": form
            or SchemaForm(
                schema, ui, form_data=application.form_data, prefilled=application.prefilled
            ),
            "materials": _material_rows(application, upload_form=upload_form),
            "page_errors": page_errors,
            "consent_reads": services.consent_resources(application.snapshot),
            "consent_checked": request.method == "POST" and "consent_data_reads" in request.POST,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, application_id: int) -> HttpResponse:
    """The draft: its form prefilled, its materials; save it or submit it."""
    user = _user(request)
    application = _own_application(request, application_id)
    if application.status != Status.DRAFT:
        return redirect("applications:detail", application_id=application.pk)
    if request.method == "GET":
        services.application_certificates_refresh(applicant=user, application=application)
        return _edit_page(request, application)
    schema, ui = version_form(application.snapshot)
    form = SchemaForm(
        schema,
        ui,
        request.POST,
        form_data=application.form_data,
        prefilled=application.prefilled,
    )
    if not form.is_valid():
        return _edit_page(request, application, form=form, status=422)
    data = form.form_data()
    submitting = request.POST.get("action") == "submit"
    try:
        if data != application.form_data:
            services.application_draft_update(
                applicant=user, application=application, form_data=data
            )
            application.form_data = data
        if submitting:
            submitted = services.application_submit(
                applicant=user,
                application_id=application.pk,
                consent_data_reads=request.POST.get("consent_data_reads") == "1",
            )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _edit_page(
            request, application, form=form, page_errors=page_errors, status=exc.status
        )
    if submitting:
        messages.success(
            request,
            _("Your application has been submitted. Its number is %(number)s.")
            % {"number": submitted.number},
        )
        return redirect("applications:detail", application_id=submitted.pk)
    messages.success(request, _("Your draft has been saved."))
    return redirect("applications:edit", application_id=application.pk)


@login_required
@require_POST
def application_delete(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _own_application(request, application_id)
    try:
        services.application_draft_delete(applicant=_user(request), application=application)
    except YiwangError as exc:
        return _page_after_error(request, application, exc)
    messages.success(request, _("The draft has been deleted."))
    return redirect("applications:list")


def _page_after_error(
    request: HttpRequest,
    application: Application,
    exc: YiwangError,
    *,
    upload_form: MaterialUploadForm | None = None,
) -> HttpResponse:
    """Show the draft or the detail page again with the service's error."""
    page_errors = _errors_place(exc, *([upload_form] if upload_form else []))
    if application.status == Status.DRAFT:
        return _edit_page(
            request,
            application,
            upload_form=upload_form,
            page_errors=page_errors,
            status=exc.status,
        )
    return _detail_page(
        request, application, upload_form=upload_form, page_errors=page_errors, status=exc.status
    )


@login_required
@require_POST
def material_upload(request: HttpRequest, application_id: int) -> HttpResponse:
    """Attach a file to one material, on a draft or while a supplement is requested."""
    application = _own_application(request, application_id)
    form = MaterialUploadForm(
        request.POST,
        request.FILES,
        auto_id=f"id_{request.POST.get('material_code', '')}_%s",
    )
    if not form.is_valid():
        if application.status == Status.DRAFT:
            return _edit_page(request, application, upload_form=form, status=422)
        return _detail_page(request, application, upload_form=form, status=422)
    try:
        services.application_material_upload(
            applicant=_user(request),
            application=application,
            material_code=form.cleaned_data["material_code"],
            upload=form.cleaned_data["file"],
        )
    except YiwangError as exc:
        return _page_after_error(request, application, exc, upload_form=form)
    messages.success(request, _("The file has been uploaded."))
    return _back(application)


def _back(application: Application) -> HttpResponse:
    if application.status == Status.DRAFT:
        return redirect("applications:edit", application_id=application.pk)
    return redirect(reverse("applications:detail", args=[application.pk]) + "#supplement")


@login_required
@require_POST
def material_remove(request: HttpRequest, application_id: int, material_id: int) -> HttpResponse:
    application = _own_application(request, application_id)
    try:
        removed = services.application_material_remove(
            applicant=_user(request), application=application, material_id=material_id
        )
    except YiwangError as exc:
        return _page_after_error(request, application, exc)
    if removed.certificate_ref:
        messages.success(
            request, _("Your e-certificate has been taken off: it is not shared for this material.")
        )
    else:
        messages.success(request, _("The file has been removed."))
    return _back(application)


@login_required
@require_POST
def material_certificate_use(request: HttpRequest, application_id: int) -> HttpResponse:
    """免提交 again: prove a material by her e-certificate after she took it off."""
    application = _own_application(request, application_id)
    try:
        services.application_certificate_use(
            applicant=_user(request),
            application=application,
            material_code=request.POST.get("material_code", ""),
        )
    except YiwangError as exc:
        return _page_after_error(request, application, exc)
    messages.success(request, _("Your e-certificate proves this material again."))
    return _back(application)


def _material_file(application: Application, material_id: int) -> HttpResponseBase:
    """Stream one of the application's current files; never a public media address."""
    material = next((m for m in application.materials.all() if m.pk == material_id), None)
    if material is None or not material.file:
        raise Http404
    response = FileResponse(
        material.file.open("rb"),
        as_attachment=True,
        filename=material.original_name or material.file.name.rsplit("/", 1)[-1],
        content_type=material.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox"
    return response


@login_required
@require_GET
def material_download(
    request: HttpRequest, application_id: int, material_id: int
) -> HttpResponseBase:
    application, _access = _visible_application(request, application_id)
    return _material_file(application, material_id)


# ---------------------------------------------------------------------------------------
# My applications


@login_required
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    """我的办件 of the identity she acts under: her own applications and life-event bundles,
    or the organisation's applications she may see."""
    user = _user(request)
    acting = acting_identity(request)
    if acting.choice is None:
        applications = selectors.applications_personal(user)
    else:
        applications = selectors.applications_of_organisation(user, acting.choice)
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "applications/list.html",
        {
            "page": page,
            "acting_choice": acting.choice,
            "bundle_applications": list(selectors.bundles_for_applicant(user))
            if acting.choice is None
            else [],
            # Asked of her in person: shown whomever she acts for.
            "invitations": list(selectors.bundle_invitations_for(user, open_only=True)),
        },
    )


def _open_supplement(application: Application) -> SupplementRequest | None:
    if application.status != Status.SUPPLEMENT_REQUESTED:
        return None
    requests = [r for r in application.supplement_requests.all() if r.resolved_at is None]
    return requests[-1] if requests else None


def _supplement_items(
    application: Application, request_: SupplementRequest
) -> list[dict[str, str]]:
    """The request's items with the names of the materials and fields they concern."""
    snapshot = application.snapshot
    materials = {m["code"]: m["name"] for m in snapshot.get("materials", [])}
    schema, _ui = version_form(snapshot)
    titles = {
        name: str(prop.get("title") or name)
        for name, prop in (schema.get("properties") or {}).items()
    }
    return [
        {
            "what": materials.get(item.get("material") or "", "")
            or titles.get(item.get("field") or "", ""),
            "kind": "material" if item.get("material") else "field",
            "reason": item.get("reason", ""),
        }
        for item in request_.items
    ]


def _timeline_and_data(application: Application) -> dict[str, Any]:
    schema, ui = version_form(application.snapshot)
    return {
        "events": application.events.all(),
        "form_rows": form_data_rows(schema, ui, application.form_data),
    }


def _detail_page(
    request: HttpRequest,
    application: Application,
    *,
    supplement_form: SchemaForm | None = None,
    upload_form: MaterialUploadForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
    read_only: bool = False,
) -> HttpResponse:
    """The application as its applicant follows it; ``read_only`` for someone else of its
    organisation (its legal representative, another agent), who sees it but acts on nothing."""
    supplement = None if read_only else _open_supplement(application)
    context: dict[str, Any] = {
        "application": application,
        "snapshot": application.snapshot,
        "materials": _material_rows(application, removable_round=NOTHING_REMOVABLE),
        "supplement": supplement,
        "page_errors": page_errors,
        "read_only": read_only,
        "show_applicant": read_only,
        "can_withdraw": not read_only and application.status in WITHDRAWABLE,
        "withdraw_form": withdraw_form or WithdrawForm(),
        **_timeline_and_data(application),
    }
    if supplement is not None:
        schema, ui = version_form(application.snapshot)
        fields = [i["field"] for i in supplement.items if i.get("field")]
        round_number = len(application.supplement_requests.all())
        context.update(
            supplement_items=_supplement_items(application, supplement),
            supplement_materials=_material_rows(
                application,
                codes=[i["material"] for i in supplement.items if i.get("material")],
                upload_form=upload_form,
                removable_round=round_number,
            ),
            supplement_form=supplement_form
            or (
                SchemaForm(schema, ui, form_data=application.form_data, only=fields)
                if fields
                else None
            ),
        )
    return render(request, "applications/detail.html", context, status=status)


@login_required
@require_GET
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """Her application; or, read only, one of her organisation's filed by someone else."""
    application, access = _visible_application(request, application_id)
    if application.status == Status.DRAFT:
        return redirect("applications:edit", application_id=application.pk)
    return _detail_page(request, application, read_only=access == ApplicationAccess.VIEW)


@login_required
@require_POST
def application_resubmit(request: HttpRequest, application_id: int) -> HttpResponse:
    """Answer the supplement request: corrected fields (if asked) and the files uploaded."""
    application = _own_application(request, application_id)
    supplement = _open_supplement(application)
    if supplement is None:
        messages.info(request, _("No supplement is requested for this application."))
        return redirect("applications:detail", application_id=application.pk)
    fields = [i["field"] for i in supplement.items if i.get("field")]
    form_data: dict[str, Any] | None = None
    supplement_form = None
    if fields:
        schema, ui = version_form(application.snapshot)
        supplement_form = SchemaForm(schema, ui, request.POST, only=fields)
        if not supplement_form.is_valid():
            return _detail_page(request, application, supplement_form=supplement_form, status=422)
        form_data = supplement_form.form_data(base=application.form_data)
    try:
        services.application_resubmit(
            applicant=_user(request), application=application, form_data=form_data
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, *([supplement_form] if supplement_form else []))
        return _detail_page(
            request,
            application,
            supplement_form=supplement_form,
            page_errors=page_errors,
            status=exc.status,
        )
    messages.success(request, _("Thank you. Your application has been resubmitted."))
    return redirect("applications:detail", application_id=application.pk)


@login_required
@require_POST
def application_withdraw(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _own_application(request, application_id)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, application, withdraw_form=form, status=422)
    try:
        services.application_withdraw(
            applicant=_user(request), application=application, reason=form.cleaned_data["reason"]
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _detail_page(
            request, application, withdraw_form=form, page_errors=page_errors, status=exc.status
        )
    messages.success(request, _("Your application has been withdrawn."))
    return redirect("applications:detail", application_id=application.pk)


# ---------------------------------------------------------------------------------------
# Inbox


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(selectors.notifications_for_user(user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "applications/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        services.notification_mark_read(user=_user(request), notification_id=notification_id)
    except NotFound as exc:
        raise Http404 from exc
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("applications:notifications")


# ---------------------------------------------------------------------------------------
# Staff workbench

# (queue, label, role): clerks have two queues, split by step.
QUEUES: list[tuple[str, Promise, str | None]] = [
    ("accept", gettext_lazy("To accept"), StaffRole.Role.CLERK),
    ("review", gettext_lazy("To review"), StaffRole.Role.REVIEWER),
    ("decide", gettext_lazy("To decide"), StaffRole.Role.APPROVER),
    ("deliver", gettext_lazy("To deliver"), StaffRole.Role.CLERK),
    ("mine", gettext_lazy("My tasks"), None),
]


def _queue_tasks(user: User, queue: str) -> QuerySet[WorkTask]:
    if queue == "mine":
        return selectors.tasks_for_staff(user, mine=True)
    role = next(role for name, _label, role in QUEUES if name == queue)
    tasks = selectors.tasks_for_staff(user, role=role)
    if queue == "deliver":
        return tasks.filter(task_name="deliver")
    if queue == "accept":
        return tasks.exclude(task_name="deliver")
    return tasks


@staff_required
@require_GET
def workbench(request: HttpRequest) -> HttpResponse:
    """The queues of the roles the user holds, and the tasks claimed by the user."""
    user = _user(request)
    held = {role.role for role in identity_selectors.staff_roles_for_user(user)}
    names = [name for name, _label, role in QUEUES if role is None or role in held]
    queues = [
        (name, label, _queue_tasks(user, name).count())
        for name, label, _role in QUEUES
        if name in names
    ]
    current = request.GET.get("queue") or names[0]
    if current not in names:
        raise Http404
    page = Paginator(_queue_tasks(user, current), PAGE_SIZE * 2).get_page(request.GET.get("page"))
    return render(
        request,
        "applications/workbench.html",
        {"queues": queues, "current": current, "page": page},
    )


def _staff_application(request: HttpRequest, application_id: int) -> Application:
    application = selectors.application_for_staff(_user(request), application_id)
    if application is None:
        raise Http404
    return application


def _staff_application_page(
    request: HttpRequest,
    application: Application,
    *,
    data_results: list[services.DataReadResult] | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "applications/staff_application.html",
        {
            "application": application,
            "snapshot": application.snapshot,
            "materials": _material_rows(application, removable_round=NOTHING_REMOVABLE),
            "tasks": application.tasks.all(),
            "data_results": data_results,
            "can_read_data": application.status in services.OPEN_STATUSES,
            "page_errors": page_errors,
            "bundle_panel": _bundle_panel(application),
            **_timeline_and_data(application),
        },
        status=status,
    )


@staff_required
@require_GET
def staff_application(request: HttpRequest, application_id: int) -> HttpResponse:
    """An application of one of the user's departments, with its tasks."""
    return _staff_application_page(request, _staff_application(request, application_id))


@staff_required
@require_POST
def staff_data_read(request: HttpRequest, application_id: int) -> HttpResponse:
    """Read the registry data the item declares about the applicant, through the exchange.

    The answer is shown once and not kept: reading again is another logged exchange.
    """
    application = _staff_application(request, application_id)
    task = None
    task_id = request.POST.get("task", "")
    if task_id.isdigit():
        task = selectors.task_for_staff(_user(request), int(task_id))
        if task is None or task.application_id != application.pk:
            raise Http404
    try:
        results = services.application_data_read(staff=_user(request), application=application)
    except YiwangError as exc:
        if task is not None:
            return _task_page(request, task, page_errors=_errors_place(exc), status=exc.status)
        return _staff_application_page(
            request, application, page_errors=_errors_place(exc), status=exc.status
        )
    # Re-read: the timeline now has the read.
    application = _staff_application(request, application_id)
    if task is not None:
        return _task_page(request, task, data_results=results)
    return _staff_application_page(request, application, data_results=results)


# Scoped by the selector to the user's departments (anyone else gets 404); staff_required
# is typed for HttpResponse, not for a streamed file.
@login_required
@require_GET
def staff_material_download(
    request: HttpRequest, application_id: int, material_id: int
) -> HttpResponseBase:
    return _material_file(_staff_application(request, application_id), material_id)


def _staff_task(request: HttpRequest, task_id: int) -> WorkTask:
    task = selectors.task_for_staff(_user(request), task_id)
    if task is None:
        raise Http404
    return task


def _complete_form(
    application: Application, task: WorkTask, data: Mapping[str, Any] | None = None
) -> TaskCompleteForm:
    snapshot = application.snapshot
    schema, ui = version_form(snapshot)
    properties = schema.get("properties") or {}
    return TaskCompleteForm(
        data,
        step=task.task_name,
        materials=snapshot.get("materials", []),
        fields=[
            (name, str(properties[name].get("title") or name)) for name in field_order(schema, ui)
        ],
    )


def _task_page(
    request: HttpRequest,
    task: WorkTask,
    *,
    complete_form: TaskCompleteForm | None = None,
    assign_form: TaskAssignForm | None = None,
    data_results: list[services.DataReadResult] | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    application = _staff_application(request, task.application_id)
    roles = [
        r.role
        for r in identity_selectors.staff_roles_for_user(user)
        if r.department_id == task.department_id
    ]
    active = task.state in (WorkTask.State.OPEN, WorkTask.State.CLAIMED)
    holds_role = task.role in roles
    is_admin = StaffRole.Role.DEPARTMENT_ADMIN in roles
    return render(
        request,
        "applications/task.html",
        {
            "task": task,
            "application": application,
            "snapshot": application.snapshot,
            "materials": _material_rows(application, removable_round=NOTHING_REMOVABLE),
            "active": active,
            "can_claim": active and holds_role and task.assignee_id is None,
            "can_act": active and holds_role and task.assignee_id in (None, user.pk),
            "complete_form": complete_form or _complete_form(application, task),
            "assign_form": assign_form
            or (
                TaskAssignForm(department_id=task.department_id, role=task.role)
                if active and is_admin
                else None
            ),
            "page_errors": page_errors,
            "data_results": data_results,
            "can_read_data": application.status in services.OPEN_STATUSES,
            "bundle_panel": _bundle_panel(application),
            **_timeline_and_data(application),
        },
        status=status,
    )


@staff_required
@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    return _task_page(request, _staff_task(request, task_id))


@staff_required
@require_POST
def task_claim(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _staff_task(request, task_id)
    try:
        services.task_claim(staff=_user(request), task=task)
    except YiwangError as exc:
        return _task_page(request, task, page_errors=_errors_place(exc), status=exc.status)
    messages.success(request, _("The task is yours now."))
    return redirect("applications:task", task_id=task.pk)


@staff_required
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _staff_task(request, task_id)
    application = _staff_application(request, task.application_id)
    form = _complete_form(application, task, request.POST)
    if not form.is_valid():
        return _task_page(request, task, complete_form=form, status=422)
    try:
        services.task_complete(
            staff=_user(request),
            task=task,
            outcome=form.cleaned_data["outcome"],
            comment=form.cleaned_data["comment"],
            supplement_items=form.cleaned_data["supplement_items"],
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _task_page(
            request, task, complete_form=form, page_errors=page_errors, status=exc.status
        )
    messages.success(
        request,
        _("Done: %(title)s for %(number)s.") % {"title": task.title, "number": application.number},
    )
    return redirect("applications:workbench")


@staff_required
@require_POST
def task_assign(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _staff_task(request, task_id)
    form = TaskAssignForm(request.POST, department_id=task.department_id, role=task.role)
    if not form.is_valid():
        return _task_page(request, task, assign_form=form, status=422)
    try:
        services.task_assign(
            actor=_user(request), task=task, assignee=form.cleaned_data["assignee"]
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _task_page(
            request, task, assign_form=form, page_errors=page_errors, status=exc.status
        )
    messages.success(request, _("The task has been assigned."))
    return redirect("applications:task", task_id=task.pk)


# ---------------------------------------------------------------------------------------
# Life-event bundles (一件事)


@dataclass(frozen=True)
class BundlePartRow:
    """One service of a bundle as its applicant follows it."""

    key: str
    name: str
    department: str
    application: Application | None  # None until the co-applicants it needs have confirmed
    waits_for: list[str]  # names of the earlier services it still waits for
    note: str  # why it stopped, was refused or needs her action
    needs_action: bool
    dropped: bool = False  # never applied for: a co-applicant it needed said no


@dataclass(frozen=True)
class TimelineEntry:
    """An event of the bundle or of one of its parts, on the bundle's one timeline."""

    created_at: datetime.datetime
    part_name: str
    event: ApplicationEvent | BundleEvent
    is_part: bool


def _bundle_versions(snapshot: Mapping[str, Any]) -> dict[str, ServiceItemVersion]:
    """Part key → the catalogue version the bundle runs under (read once per process)."""
    return {
        key: ServiceItemVersion.objects.get_cached(int(pk))
        for key, pk in (snapshot.get("versions") or {}).items()
    }


def _bundle_facts(
    bundle_application: BundleApplication, *, shared_only: bool = False
) -> list[tuple[str, str]]:
    """(title, shown value) of the facts the applicant gave, in the merged form's order;
    choices shown by their labels."""
    snapshot = bundle_application.snapshot
    versions = _bundle_versions(snapshot)
    merged = bundle_rules.merged_form(
        [(key, *version_form(version.snapshot)) for key, version in versions.items()]
    ).fields
    data = bundle_application.form_data
    properties: dict[str, Any] = {}
    ui: dict[str, Any] = {"ui:order": []}
    for element, meta in (snapshot.get("elements") or {}).items():
        if element not in data or (shared_only and not meta.get("shared")):
            continue
        field = merged.get(element)
        properties[element] = {
            **(field.schema if field else {}),
            "title": meta.get("title") or element,
        }
        ui[element] = field.ui if field else {}
        ui["ui:order"].append(element)
    return form_data_rows({"properties": properties}, ui, {e: data[e] for e in properties})


def _part_note(application: Application) -> str:
    """The latest word on a part that stopped, was refused or needs the applicant."""
    for event in reversed(list(application.events.all())):
        reasons = [
            str(item.get("reason", ""))
            for item in (event.data.get("items") or [])
            if isinstance(item, dict) and item.get("reason")
        ]
        if event.comment or reasons:
            return "；".join([event.comment, *reasons] if event.comment else reasons)
    return ""


def _bundle_part_rows(bundle_application: BundleApplication) -> list[BundlePartRow]:
    snapshot = bundle_application.snapshot
    versions = _bundle_versions(snapshot)
    names: dict[str, str] = snapshot.get("part_names") or {}
    parts = {p.bundle_part: p for p in bundle_application.parts.all()}
    needs_action_notes = {
        e.part: e.comment
        for e in bundle_application.events.all()
        if e.action == "part_needs_action"
    }
    dropped = bundles.dropped_parts(bundle_application)
    rows = []
    for part in snapshot["parts"]:
        key = part["key"]
        if key not in bundle_application.part_keys:
            continue
        application = parts.get(key)
        waits_for: list[str] = []
        note = ""
        needs_action = False
        if key in dropped:
            note = str(_("A co-applicant it needed declined or did not confirm."))
        elif application is not None:
            if application.status == Status.WAITING:
                waits_for = [
                    names.get(k, k)
                    for k in part["after"]
                    if k in parts and parts[k].status != Status.COMPLETED
                ]
            elif application.status == Status.DRAFT:
                needs_action = True
                note = needs_action_notes.get(key, "")
            elif application.status == Status.SUPPLEMENT_REQUESTED:
                needs_action = True
                note = _part_note(application)
            elif application.status in (Status.CANCELLED, Status.DENIED, Status.NOT_ACCEPTED) or (
                application.decision == "denied"
            ):
                note = _part_note(application)
        version = versions.get(key)
        rows.append(
            BundlePartRow(
                key=key,
                name=names.get(key, key),
                department=version.snapshot["department"]["name"] if version else "",
                application=application,
                waits_for=waits_for,
                note=note,
                needs_action=needs_action,
                dropped=key in dropped,
            )
        )
    return rows


def _bundle_timeline(bundle_application: BundleApplication) -> list[TimelineEntry]:
    """The bundle's events and every part's, oldest first."""
    names: dict[str, str] = bundle_application.snapshot.get("part_names") or {}
    entries = [
        TimelineEntry(e.created_at, names.get(e.part, e.part), e, is_part=False)
        for e in bundle_application.events.all()
    ]
    for part in bundle_application.parts.all():
        name = names.get(part.bundle_part, part.bundle_part)
        entries.extend(
            TimelineEntry(e.created_at, name, e, is_part=True) for e in part.events.all()
        )
    return sorted(entries, key=lambda entry: entry.created_at)


def _assurance_needed(form: bundles.BundleForm) -> int:
    return max(int(v.snapshot.get("min_assurance_level", 2)) for v in form.versions.values())


@login_required
@require_http_methods(["GET", "POST"])
def bundle_apply(request: HttpRequest, code: str) -> HttpResponse:
    """The bundle's one form, section by section; submitting it starts the bundle."""
    user = _user(request)
    try:
        bundle = bundles.bundle_published(code)
        bundle_form = bundles.bundle_form(applicant=user, bundle=bundle)
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        messages.error(request, str(exc.message))
        return redirect("catalog:bundle_detail", code=code)
    prefilled_data = {name: filled.value for name, filled in bundle_form.prefilled.items()}
    prefilled_meta = {name: filled.as_json() for name, filled in bundle_form.prefilled.items()}
    optional = [(p["key"], bundle_form.part_name(p["key"])) for p in bundle_form.optional_parts()]
    status = 200
    page_errors: list[str] = []
    if request.method == "POST":
        form = SchemaForm(
            bundle_form.schema,
            bundle_form.ui,
            request.POST,
            form_data=prefilled_data,
            prefilled=prefilled_meta,
        )
        apply_form = BundleApplyForm(request.POST, parts=optional)
        status = 422
        if form.is_valid() and apply_form.is_valid():
            try:
                bundle_application = bundles.bundle_submit(
                    applicant=user,
                    bundle=bundle,
                    form_data=form.form_data(),
                    optional_parts=apply_form.cleaned_data.get("optional_parts") or [],
                    idempotency_key=apply_form.cleaned_data["idempotency_key"],
                )
            except YiwangError as exc:
                if "parts" in exc.fields:  # the service's name for the optional services
                    exc.fields["optional_parts"] = exc.fields.pop("parts")
                page_errors = _errors_place(exc, form, apply_form)
                status = exc.status
            else:
                if bundle_application.status == BundleStatus.CONFIRMING:
                    message = _(
                        "Submitted as %(number)s. It starts once everyone named has confirmed."
                    )
                else:
                    message = _("Submitted as %(number)s. The departments have your application.")
                messages.success(request, message % {"number": bundle_application.number})
                return redirect("applications:bundle_detail", bundle_id=bundle_application.pk)
        elif "idempotency_key" in apply_form.errors:
            page_errors = [_("This form has expired. Please open the application page again.")]
    else:
        form = SchemaForm(
            bundle_form.schema, bundle_form.ui, form_data=prefilled_data, prefilled=prefilled_meta
        )
        apply_form = BundleApplyForm(initial={"idempotency_key": uuid.uuid4().hex}, parts=optional)
    optional_names = {name for _key, name in optional}
    sections = [
        {
            "heading": heading,
            "fields": [form[name] for name in names if name in form.fields],
            "optional": heading in optional_names,
        }
        for heading, names in bundle_form.sections
        if names
    ]
    level = _assurance_needed(bundle_form)
    return render(
        request,
        "applications/bundle_apply.html",
        {
            "bundle": bundle,
            "form": form,
            "apply_form": apply_form,
            "sections": sections,
            "page_errors": page_errors,
            "level_needed": level if user.assurance_level < level else None,
        },
        status=status,
    )


def _own_bundle(request: HttpRequest, bundle_id: int) -> BundleApplication:
    bundle_application = selectors.bundle_for_applicant(_user(request), bundle_id)
    if bundle_application is None:
        raise Http404
    return bundle_application


def _bundle_page(
    request: HttpRequest,
    bundle_application: BundleApplication,
    *,
    withdraw_form: BundleWithdrawForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "applications/bundle_detail.html",
        {
            "bundle_application": bundle_application,
            "participants": bundle_application.participants.all(),
            "parts": _bundle_part_rows(bundle_application),
            "timeline": _bundle_timeline(bundle_application),
            "facts": _bundle_facts(bundle_application),
            "can_withdraw": bundle_application.status not in BUNDLE_CLOSED,
            "withdraw_form": withdraw_form or BundleWithdrawForm(),
            "page_errors": page_errors,
        },
        status=status,
    )


@login_required
@require_GET
def bundle_detail(request: HttpRequest, bundle_id: int) -> HttpResponse:
    """The applicant's bundle: who confirmed, each service and its state, one timeline."""
    return _bundle_page(request, _own_bundle(request, bundle_id))


@login_required
@require_POST
def bundle_withdraw(request: HttpRequest, bundle_id: int) -> HttpResponse:
    bundle_application = _own_bundle(request, bundle_id)
    form = BundleWithdrawForm(request.POST)
    if not form.is_valid():
        return _bundle_page(request, bundle_application, withdraw_form=form, status=422)
    try:
        bundles.bundle_withdraw(
            applicant=_user(request),
            bundle_id=bundle_application.pk,
            reason=form.cleaned_data["reason"],
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _bundle_page(
            request,
            bundle_application,
            withdraw_form=form,
            page_errors=page_errors,
            status=exc.status,
        )
    messages.success(request, _("Your life-event application has been withdrawn."))
    return redirect("applications:bundle_detail", bundle_id=bundle_application.pk)


def _own_invitation(request: HttpRequest, participant_id: int) -> BundleParticipant:
    invitation = selectors.bundle_invitation_for(_user(request), participant_id)
    if invitation is None:
        raise Http404
    return invitation


def _invitation_page(
    request: HttpRequest,
    invitation: BundleParticipant,
    *,
    decline_form: BundleDeclineForm | None = None,
    page_errors: Sequence[str] = (),
    status: int = 200,
) -> HttpResponse:
    bundle_application = invitation.bundle_application
    names: dict[str, str] = bundle_application.snapshot.get("part_names") or {}
    return render(
        request,
        "applications/bundle_invitation.html",
        {
            "invitation": invitation,
            "bundle_application": bundle_application,
            "part_names": [names.get(key, key) for key in bundle_application.part_keys],
            "facts": _bundle_facts(bundle_application),
            "can_answer": invitation.state == BundleParticipant.State.INVITED
            and bundle_application.status == BundleStatus.CONFIRMING,
            "decline_form": decline_form or BundleDeclineForm(),
            "page_errors": page_errors,
        },
        status=status,
    )


@login_required
@require_GET
def bundle_invitation(request: HttpRequest, participant_id: int) -> HttpResponse:
    """A co-applicant's view of the bundle she is asked to confirm."""
    return _invitation_page(request, _own_invitation(request, participant_id))


@login_required
@require_POST
def bundle_invitation_confirm(request: HttpRequest, participant_id: int) -> HttpResponse:
    invitation = _own_invitation(request, participant_id)
    try:
        bundles.bundle_confirm(user=_user(request), participant_id=invitation.pk)
    except YiwangError as exc:
        return _invitation_page(
            request, invitation, page_errors=_errors_place(exc), status=exc.status
        )
    messages.success(request, _("Thank you. You have confirmed."))
    return redirect("applications:bundle_invitation", participant_id=invitation.pk)


@login_required
@require_POST
def bundle_invitation_decline(request: HttpRequest, participant_id: int) -> HttpResponse:
    invitation = _own_invitation(request, participant_id)
    form = BundleDeclineForm(request.POST)
    if not form.is_valid():
        return _invitation_page(request, invitation, decline_form=form, status=422)
    try:
        bundles.bundle_decline(
            user=_user(request), participant_id=invitation.pk, reason=form.cleaned_data["reason"]
        )
    except YiwangError as exc:
        page_errors = _errors_place(exc, form)
        return _invitation_page(
            request, invitation, decline_form=form, page_errors=page_errors, status=exc.status
        )
    messages.success(request, _("You have declined. The applicant has been told."))
    return redirect("applications:bundle_invitation", participant_id=invitation.pk)


def _bundle_panel(application: Application) -> dict[str, Any] | None:
    """For staff handling a part: the bundle, its other services and its shared facts."""
    bundle_application = selectors.bundle_of_part(application)
    if bundle_application is None:
        return None
    names: dict[str, str] = bundle_application.snapshot.get("part_names") or {}
    return {
        "bundle_application": bundle_application,
        "others": [
            {
                "name": names.get(part.bundle_part, part.snapshot["name"]),
                "department": part.snapshot["department"]["name"],
                "status": part.status,
            }
            for part in bundle_application.parts.all()
            if part.pk != application.pk
        ],
        "facts": _bundle_facts(bundle_application, shared_only=True),
    }
