"""Life-event bundles (一件事): one form, one submission, a part for each department.

The applicant fills one merged form (``catalog.bundles.merged_form``: each fact asked
once, prefilled like a single item's form). Submitting it creates a ``BundleApplication``
and, once every co-applicant has confirmed, an ``Application`` for each part that applies.
Parts that wait for nothing are submitted at once; a part that waits for another stays
WAITING until that part is completed favourably, then takes the facts it needs from the
certificate that part issued and is submitted. A refused part cancels the parts that wait
for it; the others go on. Each use case is one transaction.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.applications import services
from yiwang.applications.formschema import form_errors
from yiwang.applications.models import (
    BUNDLE_CLOSED,
    CLOSED,
    Application,
    BundleApplication,
    BundleEvent,
    BundleParticipant,
    BundleStatus,
    Status,
)
from yiwang.applications.prefill import Prefilled, form_prefill
from yiwang.catalog import bundles as bundle_rules
from yiwang.catalog import selectors as catalog_selectors
from yiwang.catalog.models import LifeEventBundle, ServiceItemVersion
from yiwang.certificates import selectors as certificate_selectors
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.identifiers import resident_id_parse
from yiwang.core.workdays import calendar
from yiwang.identity.models import User

logger = logging.getLogger(__name__)

DECLINE_REASON_MAX = 300


# ---------------------------------------------------------------------------------------
# The merged form


@dataclass
class BundleForm:
    """What the applicant fills for a bundle, built from its items' current versions."""

    bundle: LifeEventBundle
    versions: dict[str, ServiceItemVersion]  # part key → version
    merged: bundle_rules.MergedForm
    prefilled: dict[str, Prefilled]  # input name → value and source
    schema: dict[str, Any]  # JSON Schema over input names, for the form widgets
    ui: dict[str, Any]
    sections: list[tuple[str, list[str]]]  # (heading, input names)

    @property
    def definition(self) -> dict[str, Any]:
        definition: dict[str, Any] = self.bundle.definition
        return definition

    def optional_parts(self) -> list[dict[str, Any]]:
        return [part for part in self.definition["parts"] if part["optional"]]

    def part_name(self, key: str) -> str:
        return str(self.versions[key].snapshot["name"])


def bundle_published(code: str) -> LifeEventBundle:
    bundle = catalog_selectors.bundle_get(code)
    if bundle is None:
        raise NotFound(_("This life event does not exist or is not open for applications."))
    return bundle


def _versions(bundle: LifeEventBundle) -> dict[str, ServiceItemVersion]:
    current = catalog_selectors.current_versions(bundle.part_items)
    versions = {}
    for part in bundle.definition["parts"]:
        version = current.get(part["item"])
        if version is None:
            raise Conflict(
                _("One of the services of this life event is not open for applications now."),
                code="bundle_item_unavailable",
            )
        versions[part["key"]] = version
    return versions


def _part_form(version: ServiceItemVersion) -> tuple[dict[str, Any], dict[str, Any]]:
    form = version.snapshot.get("form") or {}
    return dict(form.get("schema") or {}), dict(form.get("ui") or {})


def bundle_form(*, applicant: User, bundle: LifeEventBundle) -> BundleForm:
    """The merged form of the bundle for this applicant, prefilled."""
    versions = _versions(bundle)
    definition = bundle.definition
    parts = [(p["key"], *_part_form(versions[p["key"]])) for p in definition["parts"]]
    merged = bundle_rules.merged_form(
        parts, exclude={p["key"]: list(p["from_results"]) for p in definition["parts"]}
    )
    always = {p["key"] for p in definition["parts"] if not p["optional"] and not p["when"]}
    properties: dict[str, Any] = {}
    ui: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    for merged_field in merged.fields.values():
        name = merged_field.name
        properties[name] = merged_field.schema
        hints = {k: v for k, v in merged_field.ui.items() if k not in ("ui:prefill",)}
        ui[name] = hints
        source = definition.get("prefill", {}).get(merged_field.element) or merged_field.ui.get(
            "ui:prefill"
        )
        if source:
            sources[name] = {"ui:prefill": source}
    schema = {
        "type": "object",
        "properties": properties,
        "required": [f.name for f in merged.fields.values() if always & set(f.required_in)],
    }
    ui["ui:order"] = [f.name for f in merged.fields.values()]
    prefilled = form_prefill(
        applicant=applicant,
        organisation=None,
        snapshot={"name": bundle.name, "form": {"schema": schema, "ui": sources}},
    )
    shared = [f.name for f in merged.fields.values() if f.shared]
    sections: list[tuple[str, list[str]]] = [(_("Facts shared by the services"), shared)]
    for key, _schema, _ui in parts:
        own = [f.name for f in merged.fields.values() if not f.shared and key in f.fields]
        if own:
            sections.append((str(versions[key].snapshot["name"]), own))
    return BundleForm(
        bundle=bundle,
        versions=versions,
        merged=merged,
        prefilled=prefilled,
        schema=schema,
        ui=ui,
        sections=sections,
    )


def _applicable(
    form: BundleForm, values: Mapping[str, Any], chosen: set[str]
) -> list[dict[str, Any]]:
    applicable = []
    for part in form.definition["parts"]:
        if part["optional"] and part["key"] not in chosen:
            continue
        try:
            holds = bundle_rules.rule_holds(part["when"], values)
        except bundle_rules.RuleError:
            logger.warning("Bundle %s: the rule of part %s failed", form.bundle.code, part["key"])
            holds = False
        if holds:
            applicable.append(part)
    return applicable


def _part_data(
    merged: bundle_rules.MergedForm, key: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        field_name: values[merged_field.element]
        for field_name, merged_field in merged.for_part(key).items()
        if merged_field.element in values
    }


def _part_errors(
    form: BundleForm, part: Mapping[str, Any], data: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The part's schema errors, keyed by the merged form's input names."""
    schema, ui = _part_form(form.versions[part["key"]])
    taken = set(part["from_results"])
    if taken:
        # Facts that come from an earlier part's certificate are not asked now.
        fields_taken = {
            name
            for name in schema.get("properties") or {}
            if bundle_rules.field_element(part["key"], name, ui.get(name) or {}) in taken
        }
        schema = {
            **schema,
            "required": [n for n in schema.get("required", []) if n not in fields_taken],
        }
    errors = form_errors(schema, dict(data))
    by_field = form.merged.for_part(part["key"])
    mapped: dict[str, list[str]] = {}
    for name, messages in errors.items():
        target = by_field[name].name if name in by_field else "__all__"
        for message in messages:
            text = message if target != "__all__" else f"{form.part_name(part['key'])}：{message}"
            if text not in mapped.get(target, []):
                mapped.setdefault(target, []).append(text)
    return mapped


# ---------------------------------------------------------------------------------------
# Submitting


def _bundle_number(region_code: str, today: datetime.date) -> str:
    """YJS<region 6><yyyymmdd><5-digit daily sequence>."""
    prefix = f"YJS{region_code}{today:%Y%m%d}"
    return f"{prefix}{services.sequence_next(prefix):05d}"


def _event(
    bundle_application: BundleApplication,
    action: str,
    *,
    actor: User | None = None,
    part: str = "",
    comment: str = "",
    data: Mapping[str, Any] | None = None,
) -> None:
    BundleEvent.objects.create(
        bundle_application=bundle_application,
        action=action,
        actor=actor,
        part=part,
        comment=comment,
        data=dict(data or {}),
    )


def _co_applicants(
    definition: Mapping[str, Any], values: Mapping[str, Any], applicant: User
) -> list[tuple[str, str, str]]:
    """(label, name, ID number) of everyone who must confirm, the applicant left out."""
    people: list[tuple[str, str, str]] = []
    for entry in definition.get("co_applicants", []):
        if entry["list"]:
            rows = values.get(entry["list"]) or []
            found = [
                (str(row.get(entry["name"], "")), str(row.get(entry["id_number"], "")))
                for row in rows
                if isinstance(row, dict)
            ]
        else:
            found = [(str(values.get(entry["name"], "")), str(values.get(entry["id_number"], "")))]
        for name, id_number in found:
            if not id_number:
                continue
            id_number = id_number.upper()
            if id_number == (applicant.id_number or "") or any(id_number == p[2] for p in people):
                continue
            people.append((entry["label"], name, id_number))
    return people


def bundle_submit(
    *,
    applicant: User,
    bundle: LifeEventBundle,
    form_data: Mapping[str, Any],
    optional_parts: Iterable[str] = (),
    idempotency_key: str = "",
) -> BundleApplication:
    """Submit the merged form: one bundle application, its co-applicants invited, and —
    when nobody needs to confirm — its parts created and the independent ones submitted.

    ``form_data`` is keyed by the merged form's input names. The same idempotency key
    returns the bundle application it created first.
    """
    if idempotency_key:
        existing = BundleApplication.objects.filter(
            applicant=applicant, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing
    form = bundle_form(applicant=applicant, bundle=bundle)
    level = max(int(v.snapshot.get("min_assurance_level", 2)) for v in form.versions.values())
    if applicant.assurance_level < level:
        raise PermissionDenied(
            _("This service needs real-name level L%(level)s.") % {"level": level},
            code="assurance_level_too_low",
        )
    posted = dict(form_data)
    for name, filled in form.prefilled.items():
        if filled.locked or name not in posted:
            posted[name] = filled.value
    values = {f.element: posted[f.name] for f in form.merged.fields.values() if f.name in posted}
    chosen = set(optional_parts)
    unknown = chosen - {p["key"] for p in form.optional_parts()}
    if unknown:
        raise ValidationFailed.for_field("parts", _("Choose among the optional services."))
    applicable = _applicable(form, values, chosen)
    errors: dict[str, list[str]] = {}
    for part in applicable:
        for name, messages in _part_errors(
            form, part, _part_data(form.merged, part["key"], values)
        ).items():
            for message in messages:
                if message not in errors.get(name, []):
                    errors.setdefault(name, []).append(message)
    if errors:
        raise ValidationFailed(fields=errors)
    people = _co_applicants(form.definition, values, applicant)
    for label, name, id_number in people:
        try:
            resident_id_parse(id_number)
        except ValidationFailed:
            entry = next(e for e in form.definition["co_applicants"] if e["label"] == label)
            if entry["list"]:
                raise ValidationFailed.for_field(
                    bundle_rules.input_name(entry["list"]),
                    _("Enter a valid ID number for the %(label)s %(name)s.")
                    % {"label": label, "name": name},
                ) from None
            raise ValidationFailed.for_field(
                bundle_rules.input_name(entry["id_number"]),
                _("Enter a valid ID number for the %(label)s.") % {"label": label},
            ) from None
    snapshot = {
        **form.definition,
        "versions": {key: version.pk for key, version in form.versions.items()},
        "part_names": {key: form.part_name(key) for key in form.versions},
        "elements": {
            f.element: {"title": f.schema.get("title", f.element), "shared": f.shared}
            for f in form.merged.fields.values()
        },
    }
    now = timezone.now()
    try:
        with transaction.atomic():
            bundle_application = BundleApplication.objects.create(
                number=_bundle_number(bundle.region_code, timezone.localdate()),
                applicant=applicant,
                bundle=bundle,
                snapshot=snapshot,
                form_data=values,
                prefilled={
                    element: entry.as_json()
                    for element in form.merged.fields
                    if (entry := form.prefilled.get(bundle_rules.input_name(element)))
                },
                part_keys=[part["key"] for part in applicable],
                status=BundleStatus.CONFIRMING if people else BundleStatus.IN_PROGRESS,
                idempotency_key=idempotency_key,
                confirm_due=(
                    now + datetime.timedelta(days=int(form.definition["confirm_days"]))
                    if people
                    else None
                ),
            )
            _event(bundle_application, "submit", actor=applicant)
            for label, name, id_number in people:
                participant = BundleParticipant.objects.create(
                    bundle_application=bundle_application,
                    label=label,
                    name=name,
                    id_number=id_number,
                )
                _invite(bundle_application, participant)
            # Parts no co-applicant has to confirm (and nothing they wait for needs
            # confirming) start at once; the others when everyone has confirmed.
            _start(bundle_application)
    except IntegrityError:
        if not idempotency_key:
            raise
        return BundleApplication.objects.get(applicant=applicant, idempotency_key=idempotency_key)
    return bundle_application


def _invite(bundle_application: BundleApplication, participant: BundleParticipant) -> None:
    _event(
        bundle_application,
        "invite",
        data={"label": participant.label, "name": participant.name},
    )
    user = User.objects.filter(id_number=participant.id_number).first()
    if user is not None:
        services.notify(
            user=user,
            title=_("Please confirm: %(bundle)s") % {"bundle": bundle_application.bundle.name},
            body=_(
                "%(applicant)s applied for %(bundle)s (%(number)s) and named you as "
                "%(label)s. Confirm or decline it under My applications before %(due)s."
            )
            % {
                "applicant": bundle_application.applicant.name,
                "bundle": bundle_application.bundle.name,
                "number": bundle_application.number,
                "label": participant.label,
                "due": timezone.localtime(bundle_application.confirm_due).strftime("%Y-%m-%d %H:%M")
                if bundle_application.confirm_due
                else "",
            },
            sms=True,
        )


# ---------------------------------------------------------------------------------------
# Parts


def gated_parts(definition: Mapping[str, Any], labels: Iterable[str]) -> set[str]:
    """The parts that need the co-applicants of these labels to confirm: the parts their
    entries name and every part that waits, directly or not, for one of those."""
    labels = set(labels)
    gated: set[str] = set()
    for entry in definition.get("co_applicants", []):
        if entry["label"] in labels:
            for key in entry["parts"]:
                gated.add(key)
                gated.update(bundle_rules.parts_waiting_on(definition, key))
    return gated


def _participant_labels(bundle_application: BundleApplication, *states: str) -> set[str]:
    return set(
        bundle_application.participants.filter(state__in=states).values_list("label", flat=True)
    )


def dropped_parts(bundle_application: BundleApplication) -> set[str]:
    """Parts never started because a co-applicant they needed declined or did not confirm."""
    State = BundleParticipant.State
    return gated_parts(
        bundle_application.snapshot,
        _participant_labels(bundle_application, State.DECLINED, State.EXPIRED),
    ) & set(bundle_application.part_keys)


def _start(bundle_application: BundleApplication) -> None:
    """Create the applicable parts that need no pending confirmation and do not exist yet;
    submit those that wait for nothing, and release those whose waits are over."""
    applicant = bundle_application.applicant
    snapshot = bundle_application.snapshot
    held = gated_parts(
        snapshot, _participant_labels(bundle_application, BundleParticipant.State.INVITED)
    ) | dropped_parts(bundle_application)
    existing = set(bundle_application.parts.values_list("bundle_part", flat=True))
    applicable = set(bundle_application.part_keys)
    to_create = applicable - held - existing
    if not to_create:
        return
    versions = {
        v.pk: v
        for v in ServiceItemVersion.objects.select_related("item", "item__department").filter(
            pk__in=snapshot["versions"].values()
        )
    }
    values = bundle_application.form_data
    today = timezone.localdate()
    waits_due = calendar().add_working_days(today, int(snapshot["wait_limit_days"]))
    for part in snapshot["parts"]:
        if part["key"] not in to_create:
            continue
        version = versions[snapshot["versions"][part["key"]]]
        schema, ui = _part_form(version)
        merged = bundle_rules.merged_form([(part["key"], schema, ui)])
        data = _part_data(merged, part["key"], values)
        waits = [key for key in part["after"] if key in applicable]
        prefilled = {
            name: bundle_application.prefilled[f.element]
            for name, f in merged.for_part(part["key"]).items()
            if f.element in bundle_application.prefilled
        }
        application = Application.objects.create(
            applicant=applicant,
            item=version.item,
            item_version=version,
            department=version.item.department,
            region_code=version.item.region_code,
            form_data=data,
            prefilled=prefilled,
            status=Status.WAITING if waits else Status.DRAFT,
            bundle=bundle_application,
            bundle_part=part["key"],
            waits_due=waits_due if waits else None,
        )
        services.record_event(
            application,
            action="bundle_part",
            actor=applicant,
            to_status=application.status,
            data={"bundle": bundle_application.number},
        )
        if not waits:
            _part_submit(bundle_application, application)
    if existing:
        # Parts started later may wait for parts that have already closed.
        _release(bundle_application)


def _part_submit(bundle_application: BundleApplication, application: Application) -> None:
    """Submit a part; if it cannot be (a material to upload), it stays a draft for the
    applicant to finish, and the bundle says so."""
    try:
        with transaction.atomic():
            services.application_submit(
                applicant=bundle_application.applicant, application_id=application.pk
            )
    except (ValidationFailed, PermissionDenied) as exc:
        # A refusal (she no longer acts for the part's organisation) has no field messages.
        messages = [str(m) for field_messages in exc.fields.values() for m in field_messages] or [
            str(exc.message)
        ]
        _event(
            bundle_application,
            "part_needs_action",
            part=application.bundle_part,
            comment="；".join(messages),
        )
        services.notify(
            user=bundle_application.applicant,
            application=application,
            title=_("%(item)s needs your action") % {"item": application.snapshot["name"]},
            body=_("Part of %(bundle)s could not be submitted: %(reasons)s")
            % {"bundle": bundle_application.bundle.name, "reasons": "；".join(messages)},
        )
        return
    _event(bundle_application, "part_submitted", part=application.bundle_part)


def _result_values(
    bundle_application: BundleApplication, part: Mapping[str, Any]
) -> dict[str, Any]:
    """The facts a part takes from the certificates its earlier parts issued."""
    numbers = {
        p.bundle_part: p.number
        for p in bundle_application.parts.filter(bundle_part__in=part["after"]).only(
            "bundle_part", "number"
        )
    }
    values: dict[str, Any] = {}
    for element, source in part["from_results"].items():
        source_part, _dot, field_name = source.partition(".")
        number = numbers.get(source_part)
        certificate = (
            certificate_selectors.certificate_issued_for(f"application:{number}")
            if number
            else None
        )
        if certificate is None:
            continue
        value = certificate.data.get(field_name)
        if value in (None, "") and field_name == "certificate_number":
            value = certificate.number
        if value not in (None, ""):
            values[element] = value
    return values


def part_closed(application: Application) -> None:
    """Called (in its transaction) when a part of a bundle closes: start what waited for
    it, or cancel that if it was refused; close the bundle when every part is closed."""
    bundle_application = BundleApplication.objects.select_for_update().get(
        pk=application.bundle_id or 0
    )
    _event(
        bundle_application,
        "part_closed",
        part=application.bundle_part,
        data={"status": application.status, "decision": application.decision},
    )
    if bundle_application.status not in (BundleStatus.IN_PROGRESS, BundleStatus.CONFIRMING):
        return  # a withdrawn bundle closes its parts itself
    _release(bundle_application)
    _close_if_done(bundle_application)


def _favourable(application: Application) -> bool:
    return application.status == Status.COMPLETED and application.decision != "denied"


def _release(bundle_application: BundleApplication) -> None:
    """Every waiting part whose awaited parts have all closed: started if they all ended
    well, cancelled (with the reason) if one did not."""
    parts = {p.bundle_part: p for p in bundle_application.parts.select_for_update().order_by("pk")}
    applicable = set(bundle_application.part_keys)
    # In bundle order: a part cancelled here cancels, further down, what waits for it.
    for part in bundle_application.snapshot["parts"]:
        waiting = parts.get(part["key"])
        if waiting is None or waiting.status != Status.WAITING:
            continue
        needed = [k for k in part["after"] if k in applicable]
        refused = next(
            (
                parts[k]
                for k in needed
                if k in parts and parts[k].status in CLOSED and not _favourable(parts[k])
            ),
            None,
        )
        if refused is None and any(k not in parts or parts[k].status not in CLOSED for k in needed):
            continue  # not started yet, or still open
        if refused is not None:
            reason = (
                _("%(item)s was withdrawn.")
                if refused.status == Status.WITHDRAWN
                else _("%(item)s was cancelled.")
                if refused.status == Status.CANCELLED
                else _("%(item)s was not granted.")
            ) % {"item": refused.snapshot["name"]}
            _cancel(bundle_application, waiting, reason)
            continue
        filled = _result_values(bundle_application, part)
        for field_name, merged_field in (
            bundle_rules.merged_form([(part["key"], *_part_form(waiting.version))])
            .for_part(part["key"])
            .items()
        ):
            if merged_field.element in filled:
                waiting.form_data[field_name] = filled[merged_field.element]
        if waiting.organisation_id is None and waiting.snapshot.get("target") == "organisation":
            # Applied for in the name of the organisation the awaited part founded.
            waiting.organisation = next(
                (parts[k].organisation for k in needed if parts[k].organisation_id), None
            )
        waiting.status = Status.DRAFT
        waiting.waits_due = None
        waiting.save(
            update_fields=["form_data", "organisation", "status", "waits_due", "updated_at"]
        )
        services.record_event(
            waiting,
            action="bundle_ready",
            actor=None,
            from_status=Status.WAITING,
            to_status=Status.DRAFT,
        )
        _part_submit(bundle_application, waiting)


def _cancel(bundle_application: BundleApplication, application: Application, reason: str) -> None:
    from_status = application.status
    application.status = Status.CANCELLED
    application.waits_due = None
    application.completed_at = timezone.now()
    application.save(update_fields=["status", "waits_due", "completed_at", "updated_at"])
    services.record_event(
        application,
        action="bundle_cancel",
        actor=None,
        from_status=from_status,
        to_status=Status.CANCELLED,
        comment=reason,
    )
    _event(bundle_application, "part_cancelled", part=application.bundle_part, comment=reason)


def _close_if_done(bundle_application: BundleApplication) -> None:
    if bundle_application.status != BundleStatus.IN_PROGRESS:
        return
    statuses = list(bundle_application.parts.values_list("status", flat=True))
    if statuses and all(status in CLOSED for status in statuses):
        bundle_application.status = BundleStatus.COMPLETED
        bundle_application.closed_at = timezone.now()
        bundle_application.save(update_fields=["status", "closed_at"])
        _event(bundle_application, "complete")
        services.notify(
            user=bundle_application.applicant,
            title=_("%(bundle)s is done") % {"bundle": bundle_application.bundle.name},
            body=_("Every service of %(number)s has finished. See each result in the bundle.")
            % {"number": bundle_application.number},
        )


# ---------------------------------------------------------------------------------------
# Co-applicants


def _participant_for(user: User, participant_id: int) -> BundleParticipant:
    if not user.id_number or user.assurance_level < 2:
        raise NotFound()
    participant = (
        BundleParticipant.objects.select_for_update()
        .filter(pk=participant_id, id_number=user.id_number)
        .first()
    )
    if participant is None:
        raise NotFound()
    return participant


def bundle_confirm(*, user: User, participant_id: int) -> BundleApplication:
    """A co-applicant confirms in her own account; the last confirmation starts the parts."""
    with transaction.atomic():
        participant = _participant_for(user, participant_id)
        bundle_application = BundleApplication.objects.select_for_update().get(
            pk=participant.bundle_application_id
        )
        if participant.state == BundleParticipant.State.CONFIRMED:
            return bundle_application
        if bundle_application.status != BundleStatus.CONFIRMING or (
            participant.state != BundleParticipant.State.INVITED
        ):
            raise Conflict(_("This request can no longer be confirmed."), code="not_confirmable")
        participant.state = BundleParticipant.State.CONFIRMED
        participant.user = user
        participant.responded_at = timezone.now()
        participant.save(update_fields=["state", "user", "responded_at"])
        _event(bundle_application, "confirm", actor=user, data={"label": participant.label})
        if _answers_in(bundle_application):
            services.notify(
                user=bundle_application.applicant,
                title=_("%(bundle)s has started") % {"bundle": bundle_application.bundle.name},
                body=_("Everyone has confirmed %(number)s; the departments have your application.")
                % {"number": bundle_application.number},
            )
    return bundle_application


def _moot_invitations_expire(bundle_application: BundleApplication) -> None:
    """Invitations left pointless because every part they gate was dropped."""
    applicable = set(bundle_application.part_keys)
    dropped = dropped_parts(bundle_application)
    for participant in bundle_application.participants.filter(
        state=BundleParticipant.State.INVITED
    ):
        if gated_parts(bundle_application.snapshot, [participant.label]) & applicable <= dropped:
            participant.state = BundleParticipant.State.EXPIRED
            participant.save(update_fields=["state"])


def _answers_in(bundle_application: BundleApplication) -> bool:
    """Once nobody is left to answer, go on with every part that may start: True if some
    part will run, False (and the bundle closed as ``DECLINED`` or ``EXPIRED``) if none."""
    State = BundleParticipant.State
    if bundle_application.participants.filter(state=State.INVITED).exists():
        return True
    if not set(bundle_application.part_keys) - dropped_parts(bundle_application):
        declined = bundle_application.participants.filter(state=State.DECLINED).exists()
        bundle_application.status = BundleStatus.DECLINED if declined else BundleStatus.EXPIRED
        bundle_application.closed_at = timezone.now()
        bundle_application.save(update_fields=["status", "closed_at"])
        return False
    bundle_application.status = BundleStatus.IN_PROGRESS
    bundle_application.save(update_fields=["status"])
    _start(bundle_application)
    _close_if_done(bundle_application)
    return True


def _dropped_names(bundle_application: BundleApplication) -> str:
    names = bundle_application.snapshot["part_names"]
    dropped = dropped_parts(bundle_application)
    return "、".join(names[key] for key in bundle_application.part_keys if key in dropped)


def bundle_decline(*, user: User, participant_id: int, reason: str) -> BundleApplication:
    """A co-applicant declines: the bundle stops before any part starts."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed.for_field("reason", _("Please give the reason."))
    if len(reason) > DECLINE_REASON_MAX:
        raise ValidationFailed.for_field("reason", _("The reason is too long."))
    with transaction.atomic():
        participant = _participant_for(user, participant_id)
        bundle_application = BundleApplication.objects.select_for_update().get(
            pk=participant.bundle_application_id
        )
        if bundle_application.status != BundleStatus.CONFIRMING or (
            participant.state != BundleParticipant.State.INVITED
        ):
            raise Conflict(_("This request can no longer be answered."), code="not_confirmable")
        participant.state = BundleParticipant.State.DECLINED
        participant.user = user
        participant.responded_at = timezone.now()
        participant.reason = reason
        participant.save(update_fields=["state", "user", "responded_at", "reason"])
        _event(
            bundle_application,
            "decline",
            actor=user,
            comment=reason,
            data={"label": participant.label},
        )
        _moot_invitations_expire(bundle_application)
        dropped = _dropped_names(bundle_application)
        if _answers_in(bundle_application):
            body = _(
                "The %(label)s declined %(number)s: %(reason)s. %(items)s will not be "
                "applied for; the other services go on."
            )
        else:
            body = _(
                "The %(label)s declined %(number)s: %(reason)s. "
                "Nothing was sent to the departments."
            )
        services.notify(
            user=bundle_application.applicant,
            title=_("%(bundle)s was declined") % {"bundle": bundle_application.bundle.name},
            body=body
            % {
                "label": participant.label,
                "number": bundle_application.number,
                "reason": reason,
                "items": dropped,
            },
        )
    return bundle_application


# ---------------------------------------------------------------------------------------
# Withdrawal and deadlines


def bundle_withdraw(*, applicant: User, bundle_id: int, reason: str = "") -> BundleApplication:
    """Withdraw the bundle: parts not yet decided are withdrawn or cancelled, parts already
    decided or completed are kept."""
    with transaction.atomic():
        bundle_application = (
            BundleApplication.objects.select_for_update()
            .filter(pk=bundle_id, applicant=applicant)
            .first()
        )
        if bundle_application is None:
            raise NotFound()
        if bundle_application.status == BundleStatus.WITHDRAWN:
            return bundle_application
        if bundle_application.status in BUNDLE_CLOSED:
            raise Conflict(_("This bundle is already closed."), code="bundle_closed")
        # Closing the bundle first: parts closing below must not start what waits for them.
        bundle_application.status = BundleStatus.WITHDRAWN
        bundle_application.closed_at = timezone.now()
        bundle_application.save(update_fields=["status", "closed_at"])
        reason = reason.strip()
        message = _("The applicant withdrew the bundle.")
        for part in bundle_application.parts.select_for_update().order_by("pk"):
            if part.status in (Status.WAITING, Status.DRAFT):
                _cancel(bundle_application, part, message)
            elif part.status in services.OPEN_STATUSES and part.status not in (
                Status.GRANTED,
                Status.DENIED,
                Status.DELIVERED,
            ):
                services.application_withdraw(applicant=applicant, application=part, reason=reason)
        bundle_application.participants.filter(state=BundleParticipant.State.INVITED).update(
            state=BundleParticipant.State.EXPIRED
        )
        _event(bundle_application, "withdraw", actor=applicant, comment=reason)
    return bundle_application


def bundles_check(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Expire bundles whose co-applicants did not all confirm in time; escalate parts that
    have waited past their limit (once) to the applicant and both departments' admins."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"bundles_expired": 0, "parts_escalated": 0}
    for pk in BundleApplication.objects.filter(
        status=BundleStatus.CONFIRMING, confirm_due__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            bundle_application = BundleApplication.objects.select_for_update().get(pk=pk)
            if bundle_application.status != BundleStatus.CONFIRMING:
                continue
            missing = list(
                bundle_application.participants.filter(state=BundleParticipant.State.INVITED)
            )
            bundle_application.participants.filter(state=BundleParticipant.State.INVITED).update(
                state=BundleParticipant.State.EXPIRED
            )
            labels = "、".join(sorted({p.label for p in missing}))
            _event(bundle_application, "expire", data={"missing": labels})
            if _answers_in(bundle_application):
                body = _(
                    "%(number)s: the %(labels)s did not confirm within %(days)s days, so "
                    "%(items)s will not be applied for; the other services go on."
                )
            else:
                body = _(
                    "%(number)s: the %(labels)s did not confirm within %(days)s days, so "
                    "nothing was sent to the departments. You may apply again."
                )
            services.notify(
                user=bundle_application.applicant,
                title=_("%(bundle)s was not confirmed in time")
                % {"bundle": bundle_application.bundle.name},
                body=body
                % {
                    "number": bundle_application.number,
                    "labels": labels,
                    "days": bundle_application.snapshot["confirm_days"],
                    "items": _dropped_names(bundle_application),
                },
                sms=True,
            )
            counts["bundles_expired"] += 1
    overdue = Application.objects.filter(
        Q(status=Status.WAITING) & Q(waits_due__lt=today) & Q(escalated_at__isnull=True)
    ).select_related("bundle", "department")
    for application in overdue:
        with transaction.atomic():
            locked = Application.objects.select_for_update().get(pk=application.pk)
            if locked.status != Status.WAITING or locked.escalated_at is not None:
                continue
            locked.escalated_at = now
            locked.save(update_fields=["escalated_at", "updated_at"])
            waiting_in = application.bundle
            if waiting_in is None:
                continue
            part = waiting_in.part_definition(locked.bundle_part)
            waited = list(
                waiting_in.parts.filter(bundle_part__in=part["after"]).exclude(status__in=CLOSED)
            )
            names = "、".join(p.snapshot["name"] for p in waited)
            services.record_event(
                locked,
                action="bundle_wait_escalate",
                actor=None,
                comment=names,
            )
            _event(waiting_in, "part_wait_overdue", part=locked.bundle_part, comment=names)
            title = _("%(item)s is still waiting for %(waited)s") % {
                "item": locked.snapshot["name"],
                "waited": names,
            }
            services.notify(
                user=waiting_in.applicant,
                application=locked,
                title=title,
                body=_("%(number)s: the departments have been alerted.")
                % {"number": waiting_in.number},
            )
            for department_application in [locked, *waited]:
                services.department_admins_notify(department_application, title)
            counts["parts_escalated"] += 1
    return counts
