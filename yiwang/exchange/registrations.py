"""What a department records in its own registry when it decides an application.

Reading goes through the exchange; writing is the department's own act, done by the
department that keeps the registry as part of the step that decides (the health
commission names the child on the hospital's birth report when it issues the 出生医学证明;
public security registers the birth and assigns the 公民身份号码). These functions are the
local registries' side of those acts, called inside the deciding step's transaction.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.core.identifiers import (
    USCC_ALPHABET,
    organisation_code_build,
    resident_id_with_check_digit,
    uscc_with_check_digit,
)
from yiwang.exchange.models import LegalPersonRecord, PopulationRecord
from yiwang.exchange.records import BirthMedicalRecord, HouseholdMember

# 公民身份号码 sequence codes (GB 11643 顺序码): odd for men, even for women.
_SEQUENCE_TRIES = 5


def birth_report_name(
    *, mother_id_number: str, birth_date: datetime.date, child_name: str
) -> BirthMedicalRecord:
    """The hospital's report of this mother's birth on that day, with the child's name
    recorded as the parents gave it (出生医学证明首次签发)."""
    reports = [
        report
        for report in BirthMedicalRecord.objects.select_for_update()
        .filter(mother_id_number=mother_id_number)
        .order_by("-birth_at")
        if timezone.localtime(report.birth_at).date() == birth_date
    ]
    if not reports:
        raise Conflict(
            _(
                "No institution has reported a birth by this mother on %(date)s: "
                "the hospital must report the birth first."
            )
            % {"date": birth_date.isoformat()},
            code="birth_not_reported",
        )
    report = reports[0]
    name = child_name.strip()
    if report.child_name != name:
        report.child_name = name
        report.save(update_fields=["child_name"])
    return report


@dataclass(frozen=True)
class BirthRegistration:
    person: PopulationRecord
    household: HouseholdMember

    @property
    def head_name(self) -> str:
        head = HouseholdMember.objects.filter(id_number=self.household.head_id_number).first()
        return head.name if head is not None else ""


def _id_number_assign(
    region: str, birth_date: datetime.date, gender: str, *, count: int
) -> list[str]:
    """The first ``count`` free 公民身份号码 for this county, birth date and gender."""
    prefix = region + birth_date.strftime("%Y%m%d")
    taken = {
        number[14:17]
        for number in PopulationRecord.objects.filter(id_number__startswith=prefix).values_list(
            "id_number", flat=True
        )
    }
    first = 1 if gender == PopulationRecord.Gender.MALE else 2
    free = [f"{n:03d}" for n in range(first, 1000, 2) if f"{n:03d}" not in taken][:count]
    if not free:
        raise Conflict(_("No ID number is free for this day."), code="id_numbers_exhausted")
    return [resident_id_with_check_digit(prefix + sequence) for sequence in free]


def birth_register(
    *,
    birth_certificate_number: str,
    name: str,
    gender: str,
    birth_date: datetime.date,
    ethnicity: str,
    guardians: tuple[str, str],
    follows: str,
    relationship_to_head: str,
) -> BirthRegistration:
    """出生登记: the child enters the population registry with a new 公民身份号码, her
    guardians, and a page in the household register of the parent she follows.

    One registration per 出生医学证明: registering the same birth again returns the first.
    """
    existing = PopulationRecord.objects.filter(
        birth_certificate_number=birth_certificate_number
    ).first()
    if existing is not None:
        return BirthRegistration(
            person=existing, household=HouseholdMember.objects.get(id_number=existing.id_number)
        )
    report = BirthMedicalRecord.objects.filter(certificate_number=birth_certificate_number).first()
    if report is None or report.mother_id_number not in guardians:
        raise ValidationFailed.for_field(
            "birth_certificate_number",
            _("No 出生医学证明 with this number was issued for this mother."),
        )
    parent = PopulationRecord.objects.filter(id_number=follows).first()
    parent_household = HouseholdMember.objects.filter(id_number=follows).first()
    if follows not in guardians or parent is None or parent_household is None:
        raise ValidationFailed.for_field(
            "follow", _("The parent the child follows has no household registration here.")
        )
    region = parent.household_region_code[:6]
    today = timezone.localdate()
    for number in _id_number_assign(region, birth_date, gender, count=_SEQUENCE_TRIES):
        try:
            with transaction.atomic():
                person = PopulationRecord.objects.create(
                    id_number=number,
                    name=name.strip(),
                    gender=gender,
                    birth_date=birth_date,
                    ethnicity=ethnicity,
                    household_region_code=parent.household_region_code,
                    household_address=parent.household_address,
                    guardian_1_id_number=guardians[0],
                    guardian_2_id_number=guardians[1],
                    birth_certificate_number=birth_certificate_number,
                )
        except IntegrityError:
            # Someone took this number (or registered this birth) meanwhile: next one.
            registered = PopulationRecord.objects.filter(
                birth_certificate_number=birth_certificate_number
            ).first()
            if registered is not None:
                return BirthRegistration(
                    person=registered,
                    household=HouseholdMember.objects.get(id_number=registered.id_number),
                )
            continue
        household = HouseholdMember.objects.create(
            household_number=parent_household.household_number,
            id_number=person.id_number,
            name=person.name,
            relationship_to_head=relationship_to_head,
            head_id_number=parent_household.head_id_number,
            household_type=parent_household.household_type,
            region_code=parent_household.region_code,
            address=parent_household.address,
            registered_on=today,
        )
        return BirthRegistration(person=person, household=household)
    raise Conflict(_("No ID number is free for this day."), code="id_numbers_exhausted")


# The market-regulation prefix of enterprises' credit codes (GB 32100).
_ENTERPRISE = "91"


def _uscc_assign(region_code: str) -> str:
    """A free credit code of an enterprise registered in this county: organisation codes
    assigned since the 2015 reform start with MA; the rest is drawn, not counted, so that
    a code says nothing of how many companies were founded before it."""
    for _attempt in range(20):
        body = "MA" + "".join(secrets.choice(USCC_ALPHABET) for _ in range(6))
        organisation_code = organisation_code_build(body)
        uscc = uscc_with_check_digit(f"{_ENTERPRISE}{region_code}{organisation_code}")
        if not LegalPersonRecord.objects.filter(uscc=uscc).exists():
            return uscc
    raise Conflict(_("No credit code could be assigned; try again."), code="uscc_unassigned")


def company_register(
    *,
    name: str,
    entity_type: str,
    address: str,
    registered_capital: str,
    business_scope: str,
    legal_representative_name: str,
    legal_representative_id_number: str,
    region_code: str,
    registration_authority: str,
) -> LegalPersonRecord:
    """企业设立登记: the company enters the legal-person registry with a new unified social
    credit code, established today. A name already held by a company in business is
    refused (企业名称不得相同)."""
    name = " ".join(name.split())
    if LegalPersonRecord.objects.filter(name=name, status=LegalPersonRecord.Status.ACTIVE).exists():
        raise ValidationFailed.for_field(
            "company_name", _("A company in business already has this name.")
        )
    for _attempt in range(_SEQUENCE_TRIES):
        try:
            with transaction.atomic():
                return LegalPersonRecord.objects.create(
                    uscc=_uscc_assign(region_code[:6]),
                    name=name,
                    entity_type=entity_type,
                    legal_representative_name=legal_representative_name,
                    legal_representative_id_number=legal_representative_id_number,
                    registered_capital=registered_capital,
                    established_on=timezone.localdate(),
                    region_code=region_code,
                    address=address,
                    business_scope=business_scope,
                    registration_authority=registration_authority,
                )
        except IntegrityError:
            continue  # the code was taken meanwhile: draw another
    raise Conflict(_("No credit code could be assigned; try again."), code="uscc_unassigned")
