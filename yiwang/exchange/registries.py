"""The identity module's view of the population and legal-person registries.

Identity asks two questions: does this ID number belong to this name (real-name
verification), and what does the legal-person registry say about this credit code. The
default implementations ask through the data exchange, as the platform's identity
system, so every check is granted, minimal (two fields) and logged; where the registry
actually lives is the exchange's business (``EXCHANGE_PROVIDER_URLS``). Callers get only
the answer they need (a match verdict), not the record.
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


# Real-name and legal-person checks are reads of other departments' data like any other:
# they go through the exchange, under the identity module's standing grants, and are logged.
IDENTITY_SYSTEM = "yiwang-identity"


class ExchangePopulationRegistry:
    def person_match(self, *, id_number: str, name: str) -> PersonMatch:
        from yiwang.exchange.services import ExchangeRequest, exchange_fetch, platform_consumer

        result = exchange_fetch(
            consumer=platform_consumer(IDENTITY_SYSTEM),
            request=ExchangeRequest(
                service="population-basic",
                subject=id_number,
                purpose="实名认证：核验姓名与公民身份号码",
                fields=["name", "status"],
            ),
        )
        if not result.records:
            return PersonMatch.NOT_FOUND
        record = result.records[0]
        if _normalise_name(record["name"] or "") != _normalise_name(name):
            return PersonMatch.NAME_MISMATCH
        if record["status"] == PopulationRecord.Status.DECEASED:
            return PersonMatch.DECEASED
        if record["status"] == PopulationRecord.Status.CANCELLED:
            return PersonMatch.CANCELLED
        return PersonMatch.MATCH


class ExchangeLegalPersonRegistry:
    def legal_person_get(self, *, uscc: str) -> LegalPersonFacts | None:
        from yiwang.exchange.services import ExchangeRequest, exchange_fetch, platform_consumer

        result = exchange_fetch(
            consumer=platform_consumer(IDENTITY_SYSTEM),
            request=ExchangeRequest(
                service="legal-person-basic",
                subject=uscc,
                purpose="法人身份核验：核验法定代表人",
                fields=["uscc", "name", "region_code", "legal_representative_id_number", "status"],
            ),
        )
        if not result.records:
            return None
        record = result.records[0]
        return LegalPersonFacts(
            uscc=record["uscc"],
            name=record["name"],
            region_code=record["region_code"],
            legal_representative_id_number=record["legal_representative_id_number"],
            is_active=record["status"] == LegalPersonRecord.Status.ACTIVE,
        )


def population_registry() -> PopulationRegistry:
    return import_string(settings.POPULATION_REGISTRY)()  # type: ignore[no-any-return]


def legal_person_registry() -> LegalPersonRegistry:
    return import_string(settings.LEGAL_PERSON_REGISTRY)()  # type: ignore[no-any-return]
