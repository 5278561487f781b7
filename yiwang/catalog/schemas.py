from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema


class ServiceItemFilters(Schema):
    q: str | None = Field(None, description="Keywords; every term must match", max_length=100)
    department: str | None = Field(None, description="Department code", examples=["330106-GA"])
    region: str | None = Field(
        None, description="Items of this region and the regions above it", examples=["330106"]
    )
    situation: str | None = Field(None, description="Life situation code", examples=["birth"])
    target: str | None = Field(
        None,
        description="person or organisation (items for both are included)",
        pattern="^(person|organisation)$",
    )
    cross_region: bool | None = Field(None, description="Only 跨省通办 items (true) or others")
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0)


class DepartmentRefOut(Schema):
    code: str = Field(examples=["330106-GA"])
    name: str = Field(examples=["杭州市公安局西湖区分局"])


class ServiceItemOut(Schema):
    code: str = Field(examples=["330106-GA-0001"])
    name: str = Field(examples=["出生登记"])
    item_type: str = Field(description="licensing, confirmation, payment, …")
    item_type_label: str
    department: DepartmentRefOut
    region_code: str
    target: str = Field(description="person, organisation or both")
    summary: str
    promised_limit_days: int = Field(description="Working days")
    legal_limit_days: int = Field(description="Working days")
    visits_required: int
    online_depth: int
    cross_region: bool = Field(description="跨省通办: may be applied for from any region")


class ServiceItemPageOut(Schema):
    count: int
    items: list[ServiceItemOut]


class MaterialOut(Schema):
    code: str
    name: str
    form: str = Field(description="original, copy or electronic")
    copies: int
    required: bool
    condition: str = Field(description="When an optional material is needed")
    certificate_type: str | None = Field(
        description="Certificate type that replaces the material (免提交)"
    )
    certificate_type_name: str
    notes: str


class ServiceItemDetailOut(Schema):
    code: str
    name: str
    version: int = Field(description="Number of the published version shown")
    published_at: datetime.datetime
    standard_code: str
    standard_name: str
    item_type: str
    item_type_label: str
    department: DepartmentRefOut
    region_code: str
    region_name: str
    target: str
    summary: str
    legal_limit_days: int
    promised_limit_days: int
    visits_required: int
    online_depth: int = Field(description="1 guide only … 4 fully online")
    fee: str
    legal_basis: str
    conditions: str
    procedure: list[str]
    cross_region: bool
    min_assurance_level: int = Field(description="Real-name level needed to apply (1–3)")
    life_situations: list[str]
    materials: list[MaterialOut]
    form_schema: dict[str, Any] = Field(description="JSON Schema (Draft 2020-12) of the form")
    ui_schema: dict[str, Any] = Field(description="Presentation hints: ui:order, ui:widget …")


class LifeSituationFilters(Schema):
    target: str | None = Field(
        None, description="person or organisation", pattern="^(person|organisation)$"
    )


class LifeSituationOut(Schema):
    code: str = Field(examples=["birth"])
    name: str = Field(examples=["生育"])
    target: str
    item_count: int = Field(description="Published items")


class LifeEventBundleFilters(Schema):
    target: str | None = Field(
        None, description="person or organisation", pattern="^(person|organisation)$"
    )
    situation: str | None = Field(None, description="Life situation code", examples=["retirement"])


class LifeEventBundlePartOut(Schema):
    key: str = Field(examples=["retirement_approval"])
    item_code: str = Field(examples=["330106-RS-0002"])
    item_name: str
    department: DepartmentRefOut
    published: bool = Field(description="Whether the item is open for applications now")
    optional: bool = Field(description="The applicant chooses whether to apply for it")
    conditional: bool = Field(description="Applies only when a rule over the answers holds")
    after: list[str] = Field(description="Keys of the parts whose results it waits for")


class LifeEventBundleOut(Schema):
    code: str = Field(examples=["retirement"])
    name: str = Field(examples=["退休一件事"])
    target: str = Field(description="person or organisation")
    life_situation: str | None = Field(description="Life situation code")
    region_code: str
    summary: str
    applicant_note: str = Field(description="Who applies and who must confirm")
    confirm_days: int = Field(description="Days the co-applicants have to confirm")
    co_applicants: list[str] = Field(description="Who must confirm in their own account")
    parts: list[LifeEventBundlePartOut]
