from __future__ import annotations

import datetime

from ninja import Schema


class ResourceFieldOut(Schema):
    name: str
    label: str
    data_type: str
    sensitivity: int
    personal: bool
    mask: str


class ResourceOut(Schema):
    code: str
    name: str
    description: str
    provider_code: str
    provider_name: str
    service_id: str
    sharing_type: str
    subject_kind: str
    requires_consent: bool
    update_frequency: str
    legal_basis: str
    fields: list[ResourceFieldOut]


class GrantRequestIn(Schema):
    consumer_department: str
    consumer_system: str
    resource: str
    fields: list[str]
    clear_fields: list[str] = []
    purpose: str
    legal_basis: str
    duration_days: int


class GrantDecisionIn(Schema):
    approve: bool
    comment: str = ""


class GrantOut(Schema):
    id: int
    consumer: str
    resource: str
    provider_code: str
    fields: list[str]
    clear_fields: list[str]
    purpose: str
    legal_basis: str
    duration_days: int
    status: str
    active: bool
    requested_at: datetime.datetime
    decided_at: datetime.datetime | None
    decision_comment: str
    valid_from: datetime.datetime | None
    expires_at: datetime.datetime | None
    revoked_at: datetime.datetime | None


class DataUseOut(Schema):
    at: datetime.datetime
    consumer_department: str
    consumer_system: str
    provider_department: str
    resource: str
    fields: list[str]
    purpose: str
    issue: str


class ConsentOut(Schema):
    id: int
    department_code: str
    department_name: str
    resources: list[str]
    purpose: str
    reference: str
    given_at: datetime.datetime
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    active: bool
