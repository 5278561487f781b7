"""Registry plugin interfaces and their local implementations.

The population and legal-person registries sit behind these small interfaces. The local
implementations answer from the platform's own registry tables; a deployment can point
``POPULATION_REGISTRY`` / ``LEGAL_PERSON_REGISTRY`` at implementations that call the
departments' services. Callers get only the answer they need (a match verdict), not
the record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from yiwang.exchange.models import LegalPersonRecord, PopulationRecord


class PersonMatch(enum.Enum):
    MATCH = "match"
    NOT_FOUND = "not_found"
    NAME_MISMATCH = "name_mismatch"
    DECEASED = "deceased"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class LegalPersonFacts:
    uscc: str
    name: str
    region_code: str
    legal_representative_id_number: str
    is_active: bool


class PopulationRegistry(Protocol):
    def person_match(self, *, id_number: str, name: str) -> PersonMatch: ...


class LegalPersonRegistry(Protocol):
    def legal_person_get(self, *, uscc: str) -> LegalPersonFacts | None: ...


def _normalise_name(name: str) -> str:
    # Registries hold names without spaces; the middle dot of minority names has variants.
    return "".join(name.split()).replace("•", "·").replace("．", "·").replace(".", "·")


class LocalPopulationRegistry:
    def person_match(self, *, id_number: str, name: str) -> PersonMatch:
        record = PopulationRecord.objects.filter(id_number=id_number).first()
        if record is None:
            return PersonMatch.NOT_FOUND
        if _normalise_name(record.name) != _normalise_name(name):
            return PersonMatch.NAME_MISMATCH
        if record.status == PopulationRecord.Status.DECEASED:
            return PersonMatch.DECEASED
        if record.status == PopulationRecord.Status.CANCELLED:
            return PersonMatch.CANCELLED
        return PersonMatch.MATCH


class LocalLegalPersonRegistry:
    def legal_person_get(self, *, uscc: str) -> LegalPersonFacts | None:
        record = LegalPersonRecord.objects.filter(uscc=uscc).first()
        if record is None:
            return None
        return LegalPersonFacts(
            uscc=record.uscc,
            name=record.name,
            region_code=record.region_code,
            legal_representative_id_number=record.legal_representative_id_number,
            is_active=record.status == LegalPersonRecord.Status.ACTIVE,
        )


def population_registry() -> PopulationRegistry:
    return import_string(settings.POPULATION_REGISTRY)()  # type: ignore[no-any-return]


def legal_person_registry() -> LegalPersonRegistry:
    return import_string(settings.LEGAL_PERSON_REGISTRY)()  # type: ignore[no-any-return]
