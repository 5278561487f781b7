"""Load the demo: regions, departments, registries, department records and persona accounts.

Registry and department rows are matched on their natural keys (ID number, credit code,
department code) and written only when they differ, so a second load changes nothing.
Accounts go through the same identity services a person would use: real-name
verification against the population registry just filled, staff roles granted by the
platform administrator, in-person verification by a window clerk, the organisation
claimed by its legal representative and its agent authorised by him.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import Application

from yiwang.catalog.models import ServiceItem, ServiceItemVersion
from yiwang.catalog.services import CatalogLoadResult, catalog_load
from yiwang.core.models import Region
from yiwang.core.regions import RegionLoadResult, regions_load
from yiwang.demo.departments import DEPARTMENTS, XIHU_PUBLIC_SECURITY
from yiwang.demo.health import health_demo_load
from yiwang.demo.personas import (
    COMPANY,
    DEMO_PASSWORD,
    DEMO_REFERENCE_DATE,
    DEMO_SEED,
    EXTRA_RESIDENTS,
    PERSONAS,
    Persona,
    Resident,
    demo_authenticator_key,
    persona_get,
    registry_residents,
)
from yiwang.demo.records import BirthRecord, DemoRecords, PensionRecord, records_generate
from yiwang.demo.synthetic import (
    HANGZHOU_COUNTIES,
    SyntheticLegalPerson,
    SyntheticResident,
    Township,
    legal_persons_generate,
    residents_generate,
)
from yiwang.exchange import selectors as exchange_selectors
from yiwang.exchange.models import (
    AccessGrant,
    BirthMedicalRecord,
    HouseholdMember,
    HousingFundAccount,
    LegalPersonRecord,
    MarriageRecord,
    MedicalInsuranceRecord,
    PopulationRecord,
    SocialInsuranceRecord,
)
from yiwang.exchange.services import (
    access_grant_request,
    access_grant_standing,
    consumer_system_create,
    workbench_consumer,
)
from yiwang.identity.models import (
    AssuranceLevel,
    ClientPolicy,
    Department,
    Organisation,
    OrganisationAgent,
    StaffRole,
    User,
)
from yiwang.identity.services import (
    TOTP_DEVICE_NAME,
    organisation_agent_grant,
    organisation_register,
    person_verify_in_person,
    person_verify_real_name,
    staff_role_grant,
)

ModelT = TypeVar("ModelT", bound=models.Model)

# The clerk who verifies the L3 persona in person.
IN_PERSON_VERIFIER = "ga_clerk"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


# The summary's counts of the department records (卫健, 公安, 民政, 人社, 医保, 公积金).
DEPARTMENT_RECORDS = (
    "household_register",
    "marriages",
    "birth_records",
    "social_insurance",
    "medical_insurance",
    "housing_funds",
)


@dataclass
class DemoLoadSummary:
    regions: RegionLoadResult
    departments: Counts = field(default_factory=Counts)
    population: Counts = field(default_factory=Counts)
    legal_persons: Counts = field(default_factory=Counts)
    household_register: Counts = field(default_factory=Counts)
    marriages: Counts = field(default_factory=Counts)
    birth_records: Counts = field(default_factory=Counts)
    social_insurance: Counts = field(default_factory=Counts)
    medical_insurance: Counts = field(default_factory=Counts)
    housing_funds: Counts = field(default_factory=Counts)
    accounts: Counts = field(default_factory=Counts)
    verified: Counts = field(default_factory=Counts)  # real-name (L2) verifications
    verified_in_person: Counts = field(default_factory=Counts)  # L3
    staff_roles: Counts = field(default_factory=Counts)
    authenticators: Counts = field(default_factory=Counts)  # staff personas' second factor
    organisations: Counts = field(default_factory=Counts)
    agents: Counts = field(default_factory=Counts)
    data_grants: Counts = field(default_factory=Counts)  # grants and requests of the demo
    certificates: Counts = field(default_factory=Counts)  # the personas' e-certificates
    sso_clients: Counts = field(default_factory=Counts)  # applications signing in via Yiwang
    health: Counts = field(default_factory=Counts)  # health-code scenario (rules, case, venues)
    health_case: str = ""  # the confirmed case's name and ID number, for the guide
    catalog: CatalogLoadResult = field(default_factory=CatalogLoadResult)

    @property
    def changed(self) -> bool:
        regions_changed = bool(self.regions.created or self.regions.updated)
        return (
            regions_changed
            or self.catalog.changed
            or any(
                getattr(self, name).changed
                for name in (
                    "departments",
                    "population",
                    "legal_persons",
                    *DEPARTMENT_RECORDS,
                    "accounts",
                    "verified",
                    "verified_in_person",
                    "staff_roles",
                    "authenticators",
                    "organisations",
                    "agents",
                    "data_grants",
                    "certificates",
                    "sso_clients",
                    "health",
                )
            )
        )

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(what, total, created, updated) for each part of the demo, as text."""
        parts = [
            ("行政区划 Regions", self.regions.total, self.regions.created, self.regions.updated),
            *(
                (label, counts.total, counts.created, counts.updated)
                for label, counts in (
                    ("部门 Departments", self.departments),
                    ("人口库 Population registry", self.population),
                    ("法人库 Legal-person registry", self.legal_persons),
                    ("户籍 Household register", self.household_register),
                    ("婚姻登记 Marriage records", self.marriages),
                    ("出生医学证明 Birth medical records", self.birth_records),
                    ("养老保险 Pension insurance", self.social_insurance),
                    ("医疗保险 Medical insurance", self.medical_insurance),
                    ("住房公积金 Housing fund accounts", self.housing_funds),
                    ("演示账号 Persona accounts", self.accounts),
                    ("实名认证 Real-name verified (L2+)", self.verified),
                    ("线下核验 Verified in person (L3)", self.verified_in_person),
                    ("工作人员角色 Staff roles", self.staff_roles),
                    ("身份验证器 Staff authenticators", self.authenticators),
                    ("企业账号 Organisations", self.organisations),
                    ("经办人授权 Authorised agents", self.agents),
                    ("共享授权 Data-sharing grants", self.data_grants),
                    ("电子证照 E-certificates", self.certificates),
                    ("单点登录应用 Single sign-on applications", self.sso_clients),
                    ("健康码演示 Health-code scenario", self.health),
                )
            ),
            *self.catalog.rows(),
        ]
        return [(label, str(total), str(new), str(upd)) for label, total, new, upd in parts]


@transaction.atomic
def demo_load(*, city_code: str | None = None) -> DemoLoadSummary:
    """Load (or refresh) every piece of the demo in one transaction."""
    city_code = city_code or settings.YIWANG_DEMO_CITY
    summary = DemoLoadSummary(regions=regions_load(township_city_codes=[city_code]))
    summary.departments = _departments_load()
    # With the data resources and the platform's own consumer systems: real-name
    # verification below reads the population registry through the exchange.
    summary.catalog = catalog_load(root=settings.BASE_DIR / "catalog-data")
    townships = _townships_by_county()
    extra_residents = residents_generate(
        random.Random(DEMO_SEED),
        count=EXTRA_RESIDENTS,
        reference=DEMO_REFERENCE_DATE,
        townships_by_county=townships,
        exclude_id_numbers=frozenset(r.id_number for r in registry_residents()),
    )
    summary.population = _population_load(registry_residents(), extra_residents)
    extra_legal_persons = legal_persons_generate(
        random.Random(f"{DEMO_SEED}:legal-persons"),
        representatives=extra_residents,
        reference=DEMO_REFERENCE_DATE,
        townships_by_county=townships,
        exclude_usccs=frozenset({COMPANY.uscc}),
        exclude_trade_names=frozenset({"岚禾"}),
    )
    summary.legal_persons = _legal_persons_load(extra_legal_persons)
    _department_records_load(
        records_generate(
            residents=registry_residents(),
            extras=extra_residents,
            legal_persons=extra_legal_persons,
            reference=DEMO_REFERENCE_DATE,
            seed=DEMO_SEED,
        ),
        summary,
    )
    users = _accounts_load(summary)
    _verifications_load(users, summary)
    _staff_roles_load(users, summary)
    _authenticators_load(users, summary)
    _in_person_verifications_load(users, summary)
    _organisation_load(users, summary)
    _data_grants_load(users, summary)
    summary.certificates = _certificates_load()
    summary.sso_clients = _sso_clients_load()
    if settings.HEALTH_EMERGENCY_ENABLED:
        _health_load(users, extra_residents, summary)
    return summary


# ---------------------------------------------------------------------------------------
# Rows matched on a natural key


def _upsert(
    model: type[ModelT],
    key: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    create_only: Mapping[str, Mapping[str, Any]] | None = None,
) -> Counts:
    """Insert missing rows and update rows that differ; leave equal rows untouched.

    ``create_only`` maps a key to values set when the row is created (or while they are
    still empty), such as a date relative to the day of the first load.
    """
    rows = list(rows)
    create_only = create_only or {}
    manager = model._default_manager
    existing = {
        getattr(obj, key): obj for obj in manager.filter(**{f"{key}__in": [r[key] for r in rows]})
    }
    auto_now = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    counts = Counts()
    to_create: list[ModelT] = []
    for row in rows:
        obj = existing.get(row[key])
        extra = create_only.get(row[key], {})
        if obj is None:
            to_create.append(model(**row, **extra))
            continue
        changed = [name for name, value in row.items() if getattr(obj, name) != value]
        changed += [name for name, value in extra.items() if getattr(obj, name) in (None, "")]
        if not changed:
            counts.unchanged += 1
            continue
        for name in changed:
            setattr(obj, name, row[name] if name in row else extra[name])
        obj.save(update_fields=[*changed, *auto_now])
        counts.updated += 1
    manager.bulk_create(to_create)
    counts.created = len(to_create)
    return counts


def _departments_load() -> Counts:
    region_ids = dict(
        Region.objects.filter(code__in={d.region_code for d in DEPARTMENTS}).values_list(
            "code", "pk"
        )
    )
    return _upsert(
        Department,
        "code",
        (
            {
                "code": d.code,
                "name": d.name,
                "kind": d.kind,
                "region_id": region_ids[d.region_code],
                "uscc": d.uscc,
                "is_active": True,
            }
            for d in DEPARTMENTS
        ),
    )


def _townships_by_county() -> dict[str, list[Township]]:
    townships: dict[str, list[Township]] = defaultdict(list)
    for code, name, county in (
        Region.objects.filter(level=Region.Level.TOWNSHIP, parent__code__in=HANGZHOU_COUNTIES)
        .order_by("code")
        .values_list("code", "name", "parent__code")
    ):
        townships[county].append(Township(code=code, name=name))
    return dict(townships)


def _resident_row(resident: Resident) -> dict[str, Any]:
    return {
        "id_number": resident.id_number,
        "name": resident.name,
        "gender": resident.gender,
        "birth_date": resident.birth_date,
        "ethnicity": resident.ethnicity,
        "household_region_code": resident.household_region_code,
        "household_address": resident.household_address,
        "status": (
            PopulationRecord.Status.NORMAL
            if resident.died_days_before_load is None
            else PopulationRecord.Status.DECEASED
        ),
    }


def _population_load(residents: Sequence[Resident], extras: Sequence[SyntheticResident]) -> Counts:
    today = timezone.localdate()
    rows = [_resident_row(r) for r in residents] + [asdict(r) for r in extras]
    # A persona's death is "a few days ago" as of the first load, and stays put after.
    death_dates = {
        r.id_number: {"death_date": today - datetime.timedelta(days=r.died_days_before_load)}
        for r in residents
        if r.died_days_before_load is not None
    }
    return _upsert(PopulationRecord, "id_number", rows, create_only=death_dates)


def _legal_persons_load(extras: Sequence[SyntheticLegalPerson]) -> Counts:
    owner = persona_get(COMPANY.representative)
    company = {
        "uscc": COMPANY.uscc,
        "name": COMPANY.name,
        "entity_type": COMPANY.entity_type,
        "legal_representative_name": owner.name,
        "legal_representative_id_number": owner.id_number,
        "registered_capital": COMPANY.registered_capital,
        "established_on": COMPANY.established_on,
        "region_code": COMPANY.region_code,
        "address": COMPANY.address,
        "business_scope": COMPANY.business_scope,
        "registration_authority": COMPANY.registration_authority,
        "status": LegalPersonRecord.Status.ACTIVE,
    }
    return _upsert(LegalPersonRecord, "uscc", [company, *(asdict(r) for r in extras)])


def _department_records_load(records: DemoRecords, summary: DemoLoadSummary) -> None:
    summary.household_register = _upsert(
        HouseholdMember, "id_number", (asdict(r) for r in records.households)
    )
    summary.marriages = _upsert(
        MarriageRecord, "certificate_number", (asdict(r) for r in records.marriages)
    )
    summary.birth_records = _births_load(records.births)
    summary.social_insurance = _pensions_load(records.pensions)
    summary.medical_insurance = _upsert(
        MedicalInsuranceRecord, "id_number", (asdict(r) for r in records.medical)
    )
    # Keyed on the person: an account number the demo changes is then updated in place.
    summary.housing_funds = _upsert(
        HousingFundAccount, "id_number", (asdict(r) for r in records.housing_funds)
    )


def _births_load(births: Sequence[BirthRecord]) -> Counts:
    # The child is born "a few days ago" as of the first load, and stays put after.
    today = timezone.localdate()
    first_load = {
        b.certificate_number: {
            "birth_at": datetime.datetime.combine(
                b.born_on(today), b.birth_time, tzinfo=timezone.get_current_timezone()
            ),
            "issued_on": b.issued_on(today),
        }
        for b in births
    }
    return _upsert(
        BirthMedicalRecord,
        "certificate_number",
        (b.fields() for b in births),
        create_only=first_load,
    )


def _pensions_load(pensions: Sequence[PensionRecord]) -> Counts:
    # Months paid in so far count up to the first load; those of a pension or a lost job
    # are final.
    today = timezone.localdate()
    rows: list[dict[str, Any]] = []
    first_load: dict[str, dict[str, Any]] = {}
    for pension in pensions:
        row = pension.fields()
        months = {"contribution_months": pension.contribution_months(today)}
        if pension.contributions_ended_on is None:
            first_load[pension.id_number] = months
        else:
            row |= months
        rows.append(row)
    return _upsert(SocialInsuranceRecord, "id_number", rows, create_only=first_load)


# ---------------------------------------------------------------------------------------
# Accounts, through the identity services


def _accounts_load(summary: DemoLoadSummary) -> dict[str, User]:
    """One account per persona; an existing account keeps its password."""
    users: dict[str, User] = {}
    password_hash = ""
    for persona in PERSONAS:
        user = User.objects.filter(phone=persona.phone).first()
        if user is None:
            # Hashing is slow on purpose; all personas share one password, so hash it once.
            password_hash = password_hash or make_password(DEMO_PASSWORD)
            user = User(phone=persona.phone, password=password_hash)
            user.is_staff = user.is_superuser = persona.platform_admin
            user.save()
            summary.accounts.created += 1
        elif persona.platform_admin and not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
            summary.accounts.updated += 1
        else:
            summary.accounts.unchanged += 1
        users[persona.key] = user
    return users


def _verifications_load(users: dict[str, User], summary: DemoLoadSummary) -> None:
    for persona in PERSONAS:
        if persona.level < AssuranceLevel.L2:
            continue
        was_verified = users[persona.key].is_real_name_verified
        # Returns at once for an account already verified with this ID number.
        users[persona.key] = person_verify_real_name(
            user=users[persona.key], name=persona.name, id_number=persona.id_number
        )
        _count(summary.verified, created=not was_verified)


def _staff_roles_load(users: Mapping[str, User], summary: DemoLoadSummary) -> None:
    admin = users[_platform_admin().key]
    departments = {d.code: d for d in Department.objects.filter(code__in=_staff_department_codes())}
    for persona in PERSONAS:
        for department_code, role in persona.staff_roles:
            department = departments[department_code]
            exists = StaffRole.objects.filter(
                user=users[persona.key], department=department, role=role
            ).exists()
            staff_role_grant(actor=admin, user=users[persona.key], department=department, role=role)
            _count(summary.staff_roles, created=not exists)


def _authenticators_load(users: Mapping[str, User], summary: DemoLoadSummary) -> None:
    """A confirmed authenticator with the persona's published secret for each staff persona.

    One the persona set up themselves (after a reset, say) is left as it is.
    """
    for persona in PERSONAS:
        if not persona.is_staff:
            continue
        user = users[persona.key]
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            summary.authenticators.unchanged += 1
            continue
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        TOTPDevice.objects.create(
            user=user,
            name=TOTP_DEVICE_NAME,
            key=demo_authenticator_key(persona.phone),
            confirmed=True,
        )
        summary.authenticators.created += 1


def _in_person_verifications_load(users: Mapping[str, User], summary: DemoLoadSummary) -> None:
    clerk = users[IN_PERSON_VERIFIER]
    for persona in PERSONAS:
        if persona.level < AssuranceLevel.L3:
            continue
        user = users[persona.key]
        if user.assurance_level >= AssuranceLevel.L3:
            _count(summary.verified_in_person, created=False)
            continue
        person_verify_in_person(staff=clerk, id_number=persona.id_number, name=persona.name)
        user.refresh_from_db()
        _count(summary.verified_in_person, created=True)


def _organisation_load(users: Mapping[str, User], summary: DemoLoadSummary) -> None:
    owner = users[COMPANY.representative]
    organisation = Organisation.objects.filter(uscc=COMPANY.uscc).first()
    if organisation is None or organisation.legal_representative_id != owner.pk:
        organisation = organisation_register(user=owner, uscc=COMPANY.uscc, name=COMPANY.name)
        _count(summary.organisations, created=True)
    else:
        _count(summary.organisations, created=False)
    today = timezone.localdate()
    for key in COMPANY.agents:
        active = OrganisationAgent.objects.filter(
            organisation=organisation,
            agent=users[key],
            revoked_at__isnull=True,
            valid_until__gte=today,
        ).exists()
        if not active:
            organisation_agent_grant(
                actor=owner,
                organisation=organisation,
                agent_phone=persona_get(key).phone,
                valid_until=today + datetime.timedelta(days=COMPANY.agent_valid_days),
            )
        _count(summary.agents, created=not active)


# The registry fields a workbench reads in clear; identifiers stay masked.
_MASKED_FOR_STAFF = {"id_number", "head_id_number", "mother_id_number", "father_id_number"}
DEMO_SYSTEM = ("hukou-system", "户籍业务系统")
DEMO_PENDING_FIELDS = ["name", "gender", "birth_date", "household_address", "status"]


def _data_grants_load(users: Mapping[str, User], summary: DemoLoadSummary) -> None:
    """The departments' workbenches may read what their items declare; one request waits.

    Each department's workbench gets a grant (set up by the demo, not requested) for the
    fields its published items read. 西湖公安's own 户籍业务系统 has asked 杭州市公安局 for
    population data: the city bureau's data officer persona decides it.
    """
    reads: dict[tuple[str, str], list[str]] = defaultdict(list)
    for snapshot in ServiceItemVersion.objects.filter(
        item__status=ServiceItem.Status.PUBLISHED, item__current_version=models.F("pk")
    ).values_list("snapshot", flat=True):
        for read in snapshot.get("data_reads", []):
            fields = reads[(snapshot["department"]["code"], read["resource"])]
            fields += [f["name"] for f in read["fields"] if f["name"] not in fields]
    departments = {d.code: d for d in Department.objects.filter(code__in={d for d, _ in reads})}
    resources = {r.code: r for r in exchange_selectors.data_resources_listed()}
    for (department_code, resource_code), fields in sorted(reads.items()):
        resource = resources[resource_code]
        grant = access_grant_standing(
            consumer=workbench_consumer(departments[department_code]),
            resource=resource,
            fields=fields,
            clear_fields=[f for f in fields if f not in _MASKED_FOR_STAFF],
            purpose=f"一网通办审批：办理本部门事项时核验申请人的{resource.name}",
            legal_basis=resource.legal_basis or "《浙江省公共数据条例》第二十五条",
            days=366,
            comment="演示数据：预先批准的共享授权",
        )
        _count(summary.data_grants, created=grant is not None)
    officer = users["ga_data_officer"]
    department = Department.objects.get(code=XIHU_PUBLIC_SECURITY)
    system = exchange_selectors.consumer_system_get(department.code, DEMO_SYSTEM[0])
    if system is None:
        system, _token = consumer_system_create(
            actor=officer, department=department, code=DEMO_SYSTEM[0], name=DEMO_SYSTEM[1]
        )
    population = resources["population-basic"]
    asked = AccessGrant.objects.filter(consumer=system, resource=population).exists()
    if not asked:
        access_grant_request(
            actor=officer,
            consumer=system,
            resource=population,
            fields=DEMO_PENDING_FIELDS,
            clear_fields=["name", "household_address"],
            purpose="户籍业务办理：核验迁入人员的人口基本信息",
            legal_basis="《中华人民共和国户口登记条例》第十条",
            duration_days=365,
        )
    _count(summary.data_grants, created=not asked)


# The personas' e-certificates (电子证照), as if imported from the issuers' existing
# certificate libraries: what 免提交 and the wallet show.
_ID_CARD_HOLDERS = (
    "expectant_father",
    "expectant_mother",
    "retiring_worker",
    "bereaved_child",
    "business_owner",
    "business_agent",
    "in_person_citizen",
)


def _certificates_load() -> Counts:
    from yiwang.certificates.models import Certificate
    from yiwang.certificates.services import certificate_issue

    counts = Counts()
    departments = {d.code: d for d in Department.objects.all()}

    def issue(
        key: str, type_code: str, issuer: str, holder: tuple[str, str, str], **data: str
    ) -> None:
        source = f"import:demo:{key}:{type_code}"
        created = not Certificate.objects.filter(source=source).exists()
        certificate_issue(
            certificate_type=type_code,
            issuer=departments[issuer],
            holder_kind=holder[0],
            holder_identifier=holder[1],
            holder_name=holder[2],
            data={name: value for name, value in data.items() if value},
            issued_on=DEMO_REFERENCE_DATE - datetime.timedelta(days=400),
            source=source,
        )
        _count(counts, created=created)

    # The household page shows the household as the register keeps it.
    pages = {
        entry.id_number: entry
        for entry in HouseholdMember.objects.filter(
            id_number__in=[persona_get(key).resident.id_number for key in _ID_CARD_HOLDERS]
        )
    }
    heads = dict(
        HouseholdMember.objects.filter(
            id_number__in={entry.head_id_number for entry in pages.values()}
        ).values_list("id_number", "name")
    )
    for key in _ID_CARD_HOLDERS:
        person = persona_get(key).resident
        page = pages.get(person.id_number)
        issued = DEMO_REFERENCE_DATE - datetime.timedelta(days=400)
        issue(
            key,
            "CT-JMSFZ",
            XIHU_PUBLIC_SECURITY,
            ("person", person.id_number, person.name),
            name=person.name,
            gender="男" if person.gender == "M" else "女",
            ethnicity=person.ethnicity.removesuffix("族"),
            birth_date=person.birth_date.isoformat(),
            address=person.household_address,
            id_number=person.id_number,
            issuing_authority="杭州市公安局西湖区分局",
            valid_from=issued.isoformat(),
            valid_until=issued.replace(year=issued.year + 20).isoformat(),
        )
        issue(
            key,
            "CT-JMHKB",
            XIHU_PUBLIC_SECURITY,
            ("person", person.id_number, person.name),
            household_number=page.household_number if page else "",
            household_type="家庭户",
            head_of_household=heads.get(page.head_id_number, "") if page else "",
            household_address=person.household_address,
            name=person.name,
            relationship_to_head=page.relationship_to_head if page else "",
            gender="男" if person.gender == "M" else "女",
            ethnicity=person.ethnicity,
            birth_date=person.birth_date.isoformat(),
            id_number=person.id_number,
            registration_authority="杭州市公安局西湖区分局",
        )
    husband, wife = persona_get("expectant_father"), persona_get("expectant_mother")
    for me, spouse in ((husband, wife), (wife, husband)):
        issue(
            me.key,
            "CT-JHZ",
            "330106-MZ",
            ("person", me.resident.id_number, me.resident.name),
            holder_name=me.resident.name,
            holder_id_number=me.resident.id_number,
            spouse_name=spouse.resident.name,
            spouse_id_number=spouse.resident.id_number,
            registration_date=(DEMO_REFERENCE_DATE - datetime.timedelta(days=400)).isoformat(),
            certificate_number="J330106-2025-004127",
            registration_authority="杭州市西湖区民政局",
        )
    retiree = persona_get("retiring_worker").resident
    issue(
        "retiring_worker",
        "CT-BDCQZS",
        "330106-ZR",
        ("person", retiree.id_number, retiree.name),
        certificate_number="浙(2019)杭州市不动产权第0218765号",
        obligee=retiree.name,
        obligee_id_number=retiree.id_number,
        co_ownership="单独所有",
        location=retiree.household_address,
        right_type="国有建设用地使用权/房屋所有权",
        right_nature="出让/市场化商品房",
        use="城镇住宅用地/住宅",
        area="89.62平方米",
        registration_authority="杭州市规划和自然资源局西湖分局",
    )
    issue(
        "business_owner",
        "CT-YYZZ",
        "330106-SJ",
        ("organisation", COMPANY.uscc, COMPANY.name),
        uscc=COMPANY.uscc,
        name=COMPANY.name,
        entity_type=COMPANY.entity_type,
        legal_representative=persona_get(COMPANY.representative).resident.name,
        registered_capital=COMPANY.registered_capital,
        established_on=COMPANY.established_on.isoformat(),
        business_term="长期",
        address=COMPANY.address,
        business_scope=COMPANY.business_scope,
        registration_authority=COMPANY.registration_authority,
        issued_on=COMPANY.established_on.isoformat(),
    )
    return counts


# A department application that signs people in with their Yiwang account (OpenID
# Connect, docs/architecture.md): the district social-security bureau's own system. Its
# redirect URI is on localhost, for trying it with any OIDC client library.
@dataclass(frozen=True)
class DemoSsoClient:
    client_id: str
    secret: str
    name: str
    department_code: str
    redirect_uri: str
    post_logout_redirect_uri: str
    scopes: tuple[str, ...]
    min_level: int


DEMO_SSO_CLIENT = DemoSsoClient(
    client_id="demo-shebao",
    secret="demo-shebao-secret",  # noqa: S106 (published for the demo, like its password)
    name="西湖区社保业务系统",
    department_code="330106-RS",
    redirect_uri="http://localhost:8765/callback",
    post_logout_redirect_uri="http://localhost:8765/",
    scopes=("profile", "phone", "identity"),
    min_level=AssuranceLevel.L2,
)


def _sso_clients_load() -> Counts:
    """The demo's registered client and its policy; an existing client keeps its secret."""
    client = DEMO_SSO_CLIENT
    fields = {
        "name": client.name,
        "client_type": Application.CLIENT_CONFIDENTIAL,
        "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
        "algorithm": Application.RS256_ALGORITHM,
        "redirect_uris": client.redirect_uri,
        "post_logout_redirect_uris": client.post_logout_redirect_uri,
    }
    policy_fields = {
        "department": Department.objects.get(code=client.department_code),
        "allowed_scopes": list(client.scopes),
        "min_assurance_level": client.min_level,
    }
    counts = Counts()
    application = Application.objects.filter(client_id=client.client_id).first()
    if application is None:
        # The secret is hashed when saved, as for any client registered in the admin.
        application = Application.objects.create(
            client_id=client.client_id, client_secret=client.secret, **fields
        )
        ClientPolicy.objects.create(application=application, **policy_fields)
        counts.created += 1
        return counts
    policy = ClientPolicy.objects.filter(application=application).first() or ClientPolicy(
        application=application
    )
    changed = [name for name, value in fields.items() if getattr(application, name) != value]
    policy_changed = policy.pk is None or any(
        getattr(policy, name) != value for name, value in policy_fields.items()
    )
    if changed:
        for name in changed:
            setattr(application, name, fields[name])
        application.save(update_fields=[*changed, "updated"])
    if policy_changed:
        for name, value in policy_fields.items():
            setattr(policy, name, value)
        policy.save()
    if changed or policy_changed:
        counts.updated += 1
    else:
        counts.unchanged += 1
    return counts


def _health_load(
    users: Mapping[str, User], extras: Sequence[SyntheticResident], summary: DemoLoadSummary
) -> None:
    loaded = health_demo_load(users=users, extras=extras)
    _count(summary.health, created=loaded.rules_created or loaded.created)
    if loaded.created:
        summary.health_case = f"{loaded.case_name} {loaded.case_id_number}"


def _count(counts: Counts, *, created: bool) -> None:
    if created:
        counts.created += 1
    else:
        counts.unchanged += 1


def _platform_admin() -> Persona:
    return next(p for p in PERSONAS if p.platform_admin)


def _staff_department_codes() -> set[str]:
    return {code for p in PERSONAS for code, _role in p.staff_roles}
