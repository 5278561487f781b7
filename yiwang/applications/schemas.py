from __future__ import annotations

import datetime
from typing import Any

from ninja import Schema


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
    supplement_round: int
    uploaded_at: datetime.datetime


class EventOut(Schema):
    action: str
    from_status: str
    to_status: str
    actor: str
    actor_role: str
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
