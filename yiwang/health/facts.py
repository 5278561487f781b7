"""Government facts about a person, behind one interface.

The colour computation reads facts only through ``health_facts_for``. The provider is a
plugin (setting ``HEALTH_FACT_PROVIDER``): ``LocalFactProvider`` reads the ``HealthFact``
rows that departments' feeds write (``services.health_fact_record``); a deployment can
put a department's own service behind the same small interface.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from yiwang.health.models import HealthFact


@dataclass(frozen=True)
class Fact:
    """One fact as the rules see it, with where it came from."""

    ref: str  # "fact:<id>" for local rows; the provider's own reference otherwise
    kind: str
    observed_on: datetime.date
    source_department: str
    source_registry: str
    result: str = ""
    region_code: str = ""
    recorded_at: datetime.datetime | None = None

    @property
    def source(self) -> str:
        return f"{self.source_department}/{self.source_registry}"

    def snapshot(self) -> dict[str, str]:
        data = {
            "ref": self.ref,
            "kind": self.kind,
            "date": self.observed_on.isoformat(),
            "source": self.source,
        }
        if self.result:
            data["result"] = self.result
        if self.region_code:
            data["region"] = self.region_code
        return data


class FactProvider(Protocol):
    def facts_for(self, id_number: str, *, at: datetime.datetime) -> list[Fact]:
        """The facts in force about the person at ``at``: known by then, not withdrawn."""
        ...


class LocalFactProvider:
    """Facts from the ``HealthFact`` table."""

    def facts_for(self, id_number: str, *, at: datetime.datetime) -> list[Fact]:
        rows = HealthFact.objects.filter(
            Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at),
            id_number=id_number,
            recorded_at__lte=at,
            observed_on__lte=timezone.localdate(at),
        ).order_by("observed_on", "id")
        return [
            Fact(
                ref=f"fact:{row.pk}",
                kind=row.kind,
                observed_on=row.observed_on,
                source_department=row.source_department,
                source_registry=row.source_registry,
                result=row.result,
                region_code=row.region_code,
                recorded_at=row.recorded_at,
            )
            for row in rows
        ]


def fact_provider() -> FactProvider:
    provider: FactProvider = import_string(settings.HEALTH_FACT_PROVIDER)()
    return provider


def health_facts_for(id_number: str, *, at: datetime.datetime) -> list[Fact]:
    """The one way the colour computation reads facts."""
    return fact_provider().facts_for(id_number, at=at)
