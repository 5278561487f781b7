from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema


class ApplicationCreateIn(Schema):
    item_code: str
    form_data: dict[str, Any] = {}
    organisation_id: int | None = None
    applied_from_region_code: str = ""


class FormDataIn(Schema):
    form_data: dict[str, Any]


class SubmitIn(Schema):
    # Consent, for this application, to the department reading the data the item declares
    # (``data_reads`` with ``consent`` in the item's guide).
    consent_data_reads: bool = False


class DataReadFieldOut(Schema):
    name: str
    label: str


class DataReadOut(Schema):
    resource: str
    name: str
    provider: str
    purpose: str
    fields: list[DataReadFieldOut]
    records: list[dict[str, Any]]
    outcome: str  # "ok" or the exchange error type (e.g. Server.ServerProxy.ConsentRequired)
    message: str


class ResubmitIn(Schema):
    form_data: dict[str, Any] | None = None


class WithdrawIn(Schema):
    reason: str = ""


class SupplementItemIn(Schema):
    material: str = ""
    field: str = ""
    reason: str


class TaskCompleteIn(Schema):
    outcome: str
    comment: str = ""
    supplement_items: list[SupplementItemIn] = []


class ExtendIn(Schema):
    reason: str


class TaskAssignIn(Schema):
    assignee_id: int


class MaterialOut(Schema):
    id: int
    material_code: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    # 免提交: the identifier of the e-certificate that proves it, or "" for a file.
    certificate_ref: str
    supplement_round: int
    uploaded_at: datetime.datetime


class EventOut(Schema):
    action: str
    from_status: str
    to_status: str
    actor: str
    actor_role: str
    # When the actor acted for the application's organisation: "legal_representative" or
    # "agent", and the organisation's credit code and name at the time ("" otherwise).
    acting_as: str
    acting_for_uscc: str
    acting_for_name: str
    comment: str
    data: dict[str, Any]
    created_at: datetime.datetime


class SupplementRequestOut(Schema):
    items: list[dict[str, str]]
    comment: str
    requested_at: datetime.datetime
    resolved_at: datetime.datetime | None


class TaskOut(Schema):
    id: int
    application_id: int
    application_number: str | None
    item_name: str
    task_name: str
    title: str
    role: str
    state: str
    assignee: str | None
    created_at: datetime.datetime
    acceptance_due: datetime.date | None
    legal_due: datetime.date | None


class ApplicationOut(Schema):
    id: int
    number: str | None
    status: str
    status_label: str
    decision: str
    item_code: str
    item_name: str
    item_version: int
    department_code: str
    department_name: str
    organisation_id: int | None
    form_data: dict[str, Any]
    created_at: datetime.datetime
    submitted_at: datetime.datetime | None
    accepted_at: datetime.datetime | None
    decided_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    acceptance_due: datetime.date | None
    promised_due: datetime.date | None
    legal_due: datetime.date | None
    overdue: bool


class ApplicationDetailOut(ApplicationOut):
    materials: list[MaterialOut]
    timeline: list[EventOut]
    supplement_requests: list[SupplementRequestOut]
    open_tasks: list[TaskOut]


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    application_id: int | None
    created_at: datetime.datetime
    read_at: datetime.datetime | None


# --- Life-event bundles (一件事) ----------------------------------------------------------


class BundleSubmitIn(Schema):
    # Keyed by the merged form's input names (``child__name``); locked prefilled values are
    # kept whatever is posted.
    form_data: dict[str, Any] = {}
    optional_parts: list[str] = Field([], description="Keys of the optional parts chosen")


class BundleDeclineIn(Schema):
    reason: str = ""


class PrefilledOut(Schema):
    value: Any
    source: str = Field(description="Where the value came from, as the applicant is told")
    locked: bool = Field(description="A verified value the applicant cannot change")


class BundleFormSectionOut(Schema):
    title: str
    fields: list[str] = Field(description="Input names, in order")


class BundleOptionalPartOut(Schema):
    key: str
    item_code: str
    name: str


class BundleFormOut(Schema):
    bundle_code: str
    bundle_name: str
    form_schema: dict[str, Any] = Field(description="JSON Schema over the merged input names")
    ui_schema: dict[str, Any] = Field(description="Presentation hints: ui:order …")
    sections: list[BundleFormSectionOut]
    prefilled: dict[str, PrefilledOut] = Field(description="Input name → prefilled value")
    optional_parts: list[BundleOptionalPartOut]


class BundleApplicationOut(Schema):
    id: int
    number: str
    bundle_code: str
    bundle_name: str
    status: str
    status_label: str
    part_keys: list[str] = Field(description="The parts that apply, in bundle order")
    submitted_at: datetime.datetime
    confirm_due: datetime.datetime | None
    closed_at: datetime.datetime | None


class BundlePartOut(Schema):
    key: str
    item_code: str
    name: str
    department_code: str
    department_name: str
    waits_for: list[str] = Field(description="Keys of the parts whose results it waits for")
    application_id: int | None = Field(description="None until the co-applicants it needs confirm")
    number: str | None
    status: str | None = Field(description="The part's application status; None until created")
    status_label: str
    dropped: bool = Field(
        description="Never applied for: a co-applicant it needed declined or did not confirm"
    )


class BundleParticipantOut(Schema):
    label: str
    name: str = Field(description="Masked")
    id_number: str = Field(description="Masked")
    state: str
    state_label: str
    responded_at: datetime.datetime | None
    reason: str = Field(description="Why the co-applicant declined")


class BundleEventOut(Schema):
    part: str = Field(description="The part's key; empty for the bundle's own entries")
    action: str
    from_status: str
    to_status: str
    actor_role: str = Field(description="applicant, co_applicant, a staff role or empty")
    comment: str
    data: dict[str, Any]
    created_at: datetime.datetime


class BundleApplicationDetailOut(BundleApplicationOut):
    parts: list[BundlePartOut]
    participants: list[BundleParticipantOut]
    timeline: list[BundleEventOut] = Field(description="The bundle's and its parts' entries")


class BundleInvitationOut(Schema):
    id: int
    label: str = Field(description="As whom the user is asked to confirm")
    state: str
    state_label: str
    bundle_number: str
    bundle_code: str
    bundle_name: str
    bundle_status: str
    applicant_name: str = Field(description="Masked")
    part_names: list[str] = Field(description="The services applied for")
    submitted_at: datetime.datetime
    confirm_due: datetime.datetime | None
    responded_at: datetime.datetime | None
