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


# Each effect's form fields and values are declared in catalog.datafiles.RESULT_EFFECTS.
RESULT_EFFECTS: dict[str, Callable[[Application], dict[str, str]]] = {
    "birth_medical_certificate": _birth_medical_certificate,
    "birth_registration": _birth_registration,
}


def result_effect_run(name: str, application: Application) -> dict[str, str]:
    return RESULT_EFFECTS[name](application)
