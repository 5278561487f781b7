"""免填写: fill an application form from what the government already knows.

A form field names its source in the form's UI hints, ``"ui:prefill": "<source>"``:

- ``applicant.name`` / ``applicant.id_number``: the real-name verified identity; and
  ``applicant.gender`` / ``applicant.birth_date``, read from the ID number (GB 11643);
- ``applicant.phone``: the account's mobile number (editable: it is not a verified fact);
- ``organisation.name`` / ``organisation.uscc``: the organisation applied for;
- ``registry:<resource>.<field>``: the applicant's (or her organisation's) own record in a
  registry, read through the exchange as the platform's ``yiwang-prefill`` system, logged;
- ``certificate:<type code>.<field>``: a field of her valid certificate of that type.

Verified values are locked: the applicant sees where each came from and cannot change
it, and the services keep them whatever a browser posts. A source that has no value for
her (no certificate, no record, the registry unreachable) leaves the field to be typed.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.catalog.datafiles import PREFILL_APPLICANT_SOURCES
from yiwang.certificates import selectors as certificate_selectors
from yiwang.exchange import services as exchange_services
from yiwang.identity.models import Organisation, User

logger = logging.getLogger(__name__)

PREFILL_SYSTEM = "yiwang-prefill"
APPLICANT_SOURCES = PREFILL_APPLICANT_SOURCES
UNLOCKED_SOURCES = frozenset({"applicant.phone"})


@dataclass(frozen=True)
class Prefilled:
    value: Any
    source: str  # where it came from, as the applicant is told
    locked: bool

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "locked": self.locked}


def prefill_sources(ui: Mapping[str, Any]) -> dict[str, str]:
    """Field name → source, from the form's UI hints."""
    return {
        name: hints["ui:prefill"]
        for name, hints in ui.items()
        if isinstance(hints, Mapping) and isinstance(hints.get("ui:prefill"), str)
    }


def _fits(prop: Mapping[str, Any], value: Any) -> Any:
    """The value as the field's schema wants it, or None when it does not fit."""
    if value is None or value == "":
        return None
    if "enum" in prop:
        return value if value in prop["enum"] else None
    kind = prop.get("type")
    if kind == "string":
        text = _datetime_part(str(value), prop)
        if "maxLength" in prop and len(text) > prop["maxLength"]:
            return None
        return text
    if kind in ("number", "integer"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if kind == "integer":
            return int(number) if number.is_integer() else None
        return number
    return value


def _datetime_part(text: str, prop: Mapping[str, Any]) -> str:
    """A registry's moment (an ISO date-time) fits a date field as its local day and a
    time-of-day field (HH:MM) as its local time."""
    if "T" not in text or prop.get("enum"):
        return text
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return text
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    if prop.get("format") == "date":
        return moment.date().isoformat()
    time_of_day = moment.strftime("%H:%M")
    pattern = prop.get("pattern")
    if isinstance(pattern, str) and re.search(pattern, time_of_day):
        return time_of_day
    return text


def _gender(applicant: User, prop: Mapping[str, Any]) -> str | None:
    number = applicant.id_number or ""
    if len(number) != 18 or not number[16].isdigit():
        return None
    male = int(number[16]) % 2 == 1
    options = prop.get("enum") or []
    for pair in (("M", "F"), ("male", "female"), ("男", "女")):
        if pair[0] in options and pair[1] in options:
            return pair[0] if male else pair[1]
    return None


def _applicant_value(
    source: str, applicant: User, organisation: Organisation | None, prop: Mapping[str, Any]
) -> Any:
    verified = applicant.assurance_level >= 2
    number = applicant.id_number or ""
    if source == "applicant.name":
        return applicant.name if verified else None
    if source == "applicant.id_number":
        return number if verified else None
    if source == "applicant.gender":
        return _gender(applicant, prop) if verified else None
    if source == "applicant.birth_date":
        return f"{number[6:10]}-{number[10:12]}-{number[12:14]}" if verified and number else None
    if source == "applicant.phone":
        return applicant.phone
    if organisation is None:
        return None
    return organisation.name if source == "organisation.name" else organisation.uscc


def _registry_records(
    wanted: Mapping[str, set[str]],
    applicant: User,
    organisation: Organisation | None,
    item_name: str,
) -> dict[str, tuple[Mapping[str, Any], str]]:
    """resource → (the subject's record, "名称（提供部门）"), for the resources wanted."""
    found: dict[str, tuple[Mapping[str, Any], str]] = {}
    if not wanted:
        return found
    try:
        consumer = exchange_services.platform_consumer(PREFILL_SYSTEM)
    except exchange_services.ExchangeError:
        logger.warning("prefill system is not registered; forms are not prefilled from registries")
        return found
    for code, fields in wanted.items():
        resource = exchange_services.data_resource_cached(code)
        if resource is None:
            continue
        if resource.subject_kind == "organisation":
            subject = organisation.uscc if organisation is not None else None
        else:
            subject = applicant.id_number
        if not subject:
            continue
        try:
            result = exchange_services.exchange_fetch(
                consumer=consumer,
                request=exchange_services.ExchangeRequest(
                    service=code,
                    subject=subject,
                    purpose=f"申请人本人办事：预填申请表（{item_name}）",
                    fields=sorted(fields),
                    # Her own record for her own form: asking is her consent (verified only).
                    requested_by_subject=resource.subject_kind != "organisation"
                    and applicant.assurance_level >= 2,
                ),
            )
        except exchange_services.ExchangeError as exc:
            logger.info("prefill from %s not available: %s", code, exc.type)
            continue
        if result.records:
            found[code] = (result.records[0], f"{resource.name}（{resource.provider.name}）")
    return found


def form_prefill(
    *,
    applicant: User,
    organisation: Organisation | None,
    snapshot: Mapping[str, Any],
) -> dict[str, Prefilled]:
    """The values this applicant's form starts with, each with its source."""
    form = snapshot.get("form") or {}
    schema = form.get("schema") or snapshot.get("form_schema") or {}
    ui = form.get("ui") or snapshot.get("ui_schema") or {}
    properties: Mapping[str, Any] = schema.get("properties") or {}
    sources = {name: source for name, source in prefill_sources(ui).items() if name in properties}
    wanted: dict[str, set[str]] = {}
    certificate_types: set[str] = set()
    for source in sources.values():
        if source.startswith("registry:"):
            code, _dot, field = source[len("registry:") :].partition(".")
            wanted.setdefault(code, set()).add(field)
        elif source.startswith("certificate:"):
            certificate_types.add(source[len("certificate:") :].partition(".")[0])
    records = _registry_records(wanted, applicant, organisation, str(snapshot.get("name", "")))
    certificates = _certificates(applicant, organisation, certificate_types)
    filled: dict[str, Prefilled] = {}
    for name, source in sources.items():
        prop = properties[name]
        if source.startswith("registry:"):
            code, _dot, field = source[len("registry:") :].partition(".")
            if code not in records:
                continue
            record, label = records[code]
            value, where = record.get(field), label
        elif source.startswith("certificate:"):
            code, _dot, field = source[len("certificate:") :].partition(".")
            certificate = certificates.get(code)
            if certificate is None:
                continue
            value = certificate.data.get(field)
            where = _("E-certificate: %(type)s") % {"type": certificate.certificate_type.name}
        elif source in APPLICANT_SOURCES:
            value = _applicant_value(source, applicant, organisation, prop)
            where = (
                _("Your account")
                if source in UNLOCKED_SOURCES
                else (
                    _("Your organisation's verified identity")
                    if source.startswith("organisation.")
                    else _("Your real-name verified identity")
                )
            )
        else:
            continue
        fitted = _fits(prop, value)
        if fitted is not None:
            filled[name] = Prefilled(
                value=fitted, source=where, locked=source not in UNLOCKED_SOURCES
            )
    return filled


def _certificates(
    applicant: User, organisation: Organisation | None, type_codes: set[str]
) -> dict[str, Any]:
    if not type_codes:
        return {}
    holders = [applicant.id_number or "", organisation.uscc if organisation else ""]
    return certificate_selectors.certificates_valid_of(holders, type_codes)
