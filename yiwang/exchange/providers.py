"""Providers: where a department's data comes from when the exchange asks for it.

Each provider department sits behind the small ``Provider`` interface. ``LocalProvider``
answers from the platform's registry tables; ``HttpProvider`` calls the department's own
REST service (``GET {base}/services/{service}/records?subject=…``, answering
``{"records": [{field: value, …}, …]}``). ``EXCHANGE_PROVIDER_URLS`` names the
departments served over HTTP (``330100-GA=https://ga.example/api,…``); every other one is
local. Providers return whole records; the exchange picks and masks the fields.
"""

from __future__ import annotations

import datetime
import decimal
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.db.models import Model, Q, QuerySet

from yiwang.exchange.models import LegalPersonRecord, PopulationRecord
from yiwang.exchange.records import (
    BirthMedicalRecord,
    HouseholdMember,
    HousingFundAccount,
    MarriageRecord,
    MedicalInsuranceRecord,
    SocialInsuranceRecord,
    TransportPassengerRecord,
)

Record = dict[str, Any]


class ProviderError(Exception):
    """The provider answered with an error or with something that is not a record list."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time."""


class UnknownProviderService(ProviderError):
    """The provider does not offer this service."""


class Provider(Protocol):
    def records_get(self, *, service: str, subject: str) -> list[Record]: ...


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _rows(queryset: QuerySet[Any]) -> list[Record]:
    model: type[Model] = queryset.model
    names = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
    return [{k: _plain(v) for k, v in row.items()} for row in queryset.values(*names)]


def _trip_passengers(subject: str) -> QuerySet[TransportPassengerRecord]:
    """The passengers of one trip, asked for as ``G1234@2026-11-20``."""
    number, _separator, day = subject.partition("@")
    try:
        travel_date = datetime.date.fromisoformat(day)
    except ValueError:  # the exchange checks subjects first; nothing matches a bad one
        return TransportPassengerRecord.objects.none()
    return TransportPassengerRecord.objects.filter(
        trip_number=number, travel_date=travel_date
    ).order_by("seat", "id")


# Service code -> records of a subject (an ID number, a credit code for organisations, or
# a trip).
_LOCAL_SERVICES: dict[str, Callable[[str], QuerySet[Any]]] = {
    "population-basic": lambda s: PopulationRecord.objects.filter(id_number=s),
    "household-register": lambda s: HouseholdMember.objects.filter(id_number=s),
    # Newest birth first: a parent applying for a newborn means the latest one.
    "birth-medical-record": lambda s: BirthMedicalRecord.objects.filter(
        Q(mother_id_number=s) | Q(father_id_number=s)
    ).order_by("-birth_at"),
    "marriage-record": lambda s: MarriageRecord.objects.filter(
        Q(party_a_id_number=s) | Q(party_b_id_number=s)
    ).order_by("registered_on"),
    "social-insurance": lambda s: SocialInsuranceRecord.objects.filter(id_number=s),
    "medical-insurance": lambda s: MedicalInsuranceRecord.objects.filter(id_number=s),
    "housing-fund": lambda s: HousingFundAccount.objects.filter(id_number=s),
    "legal-person-basic": lambda s: LegalPersonRecord.objects.filter(uscc=s),
    # 交通运输: a person's real-name tickets, and everyone on one trip (流调 of a case).
    "transport-trips": lambda s: TransportPassengerRecord.objects.filter(id_number=s).order_by(
        "departs_at", "id"
    ),
    "transport-manifest": _trip_passengers,
}


class LocalProvider:
    """A department's registry kept in the platform's own tables."""

    def records_get(self, *, service: str, subject: str) -> list[Record]:
        query = _LOCAL_SERVICES.get(service)
        if query is None:
            raise UnknownProviderService(service)
        return _rows(query(subject))


class HttpProvider:
    """A department's REST service."""

    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout if timeout is not None else settings.EXCHANGE_PROVIDER_TIMEOUT

    def records_get(self, *, service: str, subject: str) -> list[Record]:
        query = urllib.parse.urlencode({"subject": subject})
        url = f"{self.base_url}/services/{urllib.parse.quote(service)}/records?{query}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(settings.EXCHANGE_PROVIDER_MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise UnknownProviderService(service) from exc
            raise ProviderError(f"provider answered HTTP {exc.code}") from exc
        except TimeoutError as exc:
            raise ProviderTimeout(f"no answer within {self.timeout} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ProviderTimeout(f"no answer within {self.timeout} s") from exc
            raise ProviderError(f"provider unreachable: {exc.reason}") from exc
        if len(body) > settings.EXCHANGE_PROVIDER_MAX_BYTES:
            raise ProviderError("provider answer too large")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise ProviderError("provider answer is not JSON") from exc
        records = payload.get("records") if isinstance(payload, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ProviderError("provider answer has no record list")
        return records


def provider_for(department_code: str) -> Provider:
    url = settings.EXCHANGE_PROVIDER_URLS.get(department_code)
    if url:
        return HttpProvider(url)
    return LocalProvider()
