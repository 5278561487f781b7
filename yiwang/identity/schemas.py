from __future__ import annotations

import datetime

from ninja import Schema


class SmsCodeSendIn(Schema):
    phone: str
    purpose: str = "register"


class PersonRegisterIn(Schema):
    phone: str
    code: str
    password: str


class RealNameVerifyIn(Schema):
    name: str
    id_number: str


class InPersonVerifyIn(Schema):
    id_number: str
    name: str


class OrganisationRegisterIn(Schema):
    uscc: str
    name: str


class AgentGrantIn(Schema):
    agent_phone: str
    valid_until: datetime.date
    services: list[str] = []


class ApiTokenCreateIn(Schema):
    name: str
    expires_at: datetime.datetime | None = None


class OrganisationOut(Schema):
    id: int
    uscc: str
    name: str
    region_code: str


class AgencyOut(Schema):
    id: int
    organisation: OrganisationOut
    valid_until: datetime.date
    services: list[str]


class AgentOut(Schema):
    id: int
    agent_name: str
    agent_phone: str
    valid_until: datetime.date
    services: list[str]
    revoked_at: datetime.datetime | None


class StaffRoleOut(Schema):
    department_code: str
    department_name: str
    region_code: str
    role: str


class UserOut(Schema):
    id: int
    phone: str
    name: str
    id_number: str
    assurance_level: int
    acr: str
    language: str
    verified_at: datetime.datetime | None


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    revoked_at: datetime.datetime | None


class ApiTokenCreatedOut(ApiTokenOut):
    secret: str


class DepartmentOut(Schema):
    code: str
    name: str
    kind: str
    region_code: str
    uscc: str
