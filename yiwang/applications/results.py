"""Registry acts of a favourable result (an item's ``[result] effect``).

Some results are more than a certificate: issuing the 出生医学证明 names the child on the
hospital's birth report; registering a birth gives the child a 公民身份号码 and a page in
the household register. The effect runs in the deciding step's transaction, before the
certificate is issued, and hands the certificate the values it made (``effect.<name>``).
The catalogue checks each effect's form fields (``catalog.datafiles.RESULT_EFFECTS``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from yiwang.applications.models import Application
from yiwang.exchange import registrations
from yiwang.identity import services as identity_services


def _date(form: Mapping[str, Any], name: str) -> datetime.date:
    # The form's schema checked the format when the application was submitted.
    return datetime.date.fromisoformat(str(form[name]))


def choice_label(application: Application, name: str) -> str:
    """The label the form shows for the chosen option (the registries record words)."""
    form = application.snapshot.get("form") or {}
    prop = (form.get("schema") or {}).get("properties", {}).get(name, {})
    labels = (form.get("ui") or {}).get(name, {}).get("enumNames") or []
    value = application.form_data.get(name)
    options = prop.get("enum") or []
    if value in options and len(labels) == len(options):
        return str(labels[options.index(value)])
    return "" if value is None else str(value)


def _birth_medical_certificate(application: Application) -> dict[str, str]:
    form = application.form_data
    report = registrations.birth_report_name(
        mother_id_number=str(form["mother_id_number"]),
        birth_date=_date(form, "child_birth_date"),
        child_name=str(form["child_name"]),
    )
    return {
        "certificate_number": report.certificate_number,
        "issuing_hospital": report.institution,
        "birth_weight": str(report.birth_weight_g),
    }


def _birth_registration(application: Application) -> dict[str, str]:
    form = application.form_data
    mother = str(form["mother_id_number"])
    father = str(form.get("father_id_number") or "")
    registration = registrations.birth_register(
        birth_certificate_number=str(form["birth_certificate_number"]),
        name=str(form["child_name"]),
        gender=str(form["child_gender"]),
        birth_date=_date(form, "child_birth_date"),
        ethnicity=str(form["child_ethnicity"]),
        guardians=(mother, father),
        follows=father if form.get("follow") == "father" else mother,
        relationship_to_head=choice_label(application, "relationship_to_head"),
    )
    person, household = registration.person, registration.household
    return {
        "id_number": person.id_number,
        "household_number": household.household_number,
        "household_type": household.household_type,
        "household_address": household.address,
        "head_of_household": registration.head_name,
        "relationship_to_head": household.relationship_to_head,
        "registered_on": household.registered_on.isoformat(),
    }


def _company_registration(application: Application) -> dict[str, str]:
    form = application.form_data
    capital = form.get("registered_capital")
    record = registrations.company_register(
        name=str(form["company_name"]),
        entity_type=choice_label(application, "company_type"),
        address=str(form["company_address"]),
        registered_capital=f"{capital}万元人民币" if capital not in (None, "") else "",
        business_scope=str(form["business_scope"]),
        legal_representative_name=str(form["legal_representative"]),
        legal_representative_id_number=str(form["legal_representative_id_number"]),
        region_code=application.region_code,
        registration_authority=str(application.snapshot["department"]["name"]),
    )
    # The founder who is its legal representative takes control of the company's account
    # at once: the services that follow are applied for in the company's name.
    applicant = application.applicant
    if applicant.id_number == record.legal_representative_id_number:
        application.organisation = identity_services.organisation_register(
            user=applicant, uscc=record.uscc, name=record.name
        )
        application.save(update_fields=["organisation"])
    return {
        "uscc": record.uscc,
        "name": record.name,
        "entity_type": record.entity_type,
        "legal_representative": record.legal_representative_name,
        "registered_capital": record.registered_capital,
        "established_on": record.established_on.isoformat(),
        "business_term": "长期",
        "address": record.address,
        "business_scope": record.business_scope,
        "registration_authority": record.registration_authority,
    }


# Each effect's form fields and values are declared in catalog.datafiles.RESULT_EFFECTS.
RESULT_EFFECTS: dict[str, Callable[[Application], dict[str, str]]] = {
    "birth_medical_certificate": _birth_medical_certificate,
    "birth_registration": _birth_registration,
    "company_registration": _company_registration,
}


def result_effect_run(name: str, application: Application) -> dict[str, str]:
    return RESULT_EFFECTS[name](application)
