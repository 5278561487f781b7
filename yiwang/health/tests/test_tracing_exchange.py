"""The transport registry behind the exchange: trips as subjects, the local provider, the
catalogue's resources and the health commission's standing grants."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from yiwang.core.errors import ValidationFailed
from yiwang.exchange.models import AccessGrant, ConsumerSystem, DataResource, ExchangeLogRecord
from yiwang.exchange.services import (
    BadRequest,
    ExchangeRequest,
    data_resources_load,
    exchange_fetch,
    resource_openapi,
    subject_digest,
    trip_subject_parse,
    workbench_consumer,
)
from yiwang.health.tests.conftest import day
from yiwang.health.tests.test_tracing_world import department_make, plain_user, ticket
from yiwang.identity.models import Department

pytestmark = pytest.mark.django_db

CATALOGUE = Path(django_settings.BASE_DIR) / "catalog-data" / "data-resources.toml"
ID_A = "330102199503128037"
ID_B = "330102199503128053"


def fetch(service: str, subject: str, fields: list[str]) -> Any:
    consumer = workbench_consumer(Department.objects.get(code="330100-WJ"))
    return exchange_fetch(
        consumer=consumer,
        request=ExchangeRequest(
            service=service, subject=subject, purpose="密切接触者排查", fields=fields
        ),
    )


@pytest.mark.parametrize(
    ("subject", "parsed"),
    [
        ("G1234@2026-11-20", ("G1234", day("2026-11-20"))),
        ("CA1234@2026-11-20", ("CA1234", day("2026-11-20"))),
        ("3U8888@2026-02-28", ("3U8888", day("2026-02-28"))),
        ("1461@2026-11-20", ("1461", day("2026-11-20"))),
        ("G1234@2026-02-30", None),
        ("G1234@20261120", None),
        ("G1234", None),
        ("@2026-11-20", None),
        ("GD@2026-11-20", None),
        ("G-12@2026-11-20", None),
        ("G12345678901@2026-11-20", None),
        ("G1234@2026-11-20 ", None),
        ("g1234@2026-11-20", None),
    ],
)
def test_a_trip_subject_is_a_trip_number_at_a_real_day(
    subject: str, parsed: tuple[str, datetime.date] | None
) -> None:
    assert trip_subject_parse(subject) == parsed


def test_the_passenger_list_of_one_trip_is_read_by_its_subject(data_exchange: Any) -> None:
    ticket(ID_B, "陈乘客", "G1234", "2026-11-20", "05车13A")
    ticket(ID_A, "赵乘客", "G1234", "2026-11-20", "05车12F")
    ticket(ID_A, "赵乘客", "G1234", "2026-11-21", "01车01A")

    result = fetch("transport-manifest", "g1234@2026-11-20", ["id_number", "name", "seat"])

    assert result.records == [
        {"id_number": ID_A, "name": "赵乘客", "seat": "05车12F"},
        {"id_number": ID_B, "name": "陈乘客", "seat": "05车13A"},
    ]
    record = ExchangeLogRecord.objects.get(seq=result.log_seq)
    assert (record.provider, record.subject_masked, record.subject_digest) == (
        "330100-JT",
        "G1234@2026-11-20",
        subject_digest("G1234@2026-11-20"),
    )


def test_a_persons_trips_are_read_by_her_id_number_in_order(data_exchange: Any) -> None:
    ticket(ID_A, "赵乘客", "CA1234", "2026-11-21", "32A", mode="flight")
    ticket(ID_A, "赵乘客", "G1234", "2026-11-20", "05车12F")
    ticket(ID_B, "陈乘客", "G1234", "2026-11-20", "05车13A")

    result = fetch("transport-trips", ID_A, ["mode", "trip_number", "travel_date", "seat"])

    assert result.records == [
        {"mode": "train", "trip_number": "G1234", "travel_date": "2026-11-20", "seat": "05车12F"},
        {"mode": "flight", "trip_number": "CA1234", "travel_date": "2026-11-21", "seat": "32A"},
    ]
    assert ExchangeLogRecord.objects.get(seq=result.log_seq).subject_masked == (
        "3301**********8037"
    )


def test_a_malformed_trip_is_refused_and_the_refusal_logged(data_exchange: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        fetch("transport-manifest", "G1234@2026-02-30", ["id_number"])

    assert refused.value.message == (
        "the subject must be a valid trip: train, flight or coach number @ day of travel "
        "(G1234@2026-11-20)"
    )
    assert ExchangeLogRecord.objects.get().outcome == "Client.BadRequest"


def test_an_id_number_is_no_trip_and_a_trip_no_id_number(data_exchange: Any) -> None:
    with pytest.raises(BadRequest):
        fetch("transport-manifest", ID_A, ["id_number"])
    with pytest.raises(BadRequest):
        fetch("transport-trips", "G1234@2026-11-20", ["seat"])


def test_the_catalogue_names_the_transport_resources_and_the_health_workbench_grants(
    data_exchange: Any,
) -> None:
    manifest = DataResource.objects.get(code="transport-manifest")
    grants = {
        g.resource.code: (g.fields, g.clear_fields, g.purpose, g.status, g.duration_days)
        for g in AccessGrant.objects.filter(
            consumer__department__code="330100-WJ", consumer__code="yiwang-workbench"
        ).select_related("resource")
    }

    assert (manifest.provider.code, manifest.subject_kind, manifest.requires_consent) == (
        "330100-JT",
        "trip",
        False,
    )
    assert DataResource.objects.get(code="health-contact-tracing").sharing_type == "not_shared"
    trip_fields = [
        "mode",
        "trip_number",
        "travel_date",
        "carrier",
        "departure",
        "arrival",
        "departs_at",
        "arrives_at",
        "seat",
    ]
    assert grants == {
        "transport-trips": (trip_fields, trip_fields, "密切接触者排查", "approved", 366),
        "transport-manifest": (
            ["id_number", "name", "seat"],
            ["id_number", "name", "seat"],
            "密切接触者排查",
            "approved",
            366,
        ),
    }
    assert ConsumerSystem.objects.get(department__code="330100-WJ").name == "一网通办审批工作台"


def test_loading_the_catalogue_again_adds_no_grant(data_exchange: Any) -> None:
    again = data_resources_load(path=CATALOGUE)

    assert again.grants == 0
    assert AccessGrant.objects.filter(consumer__department__code="330100-WJ").count() == 2


def test_every_health_departments_workbench_gets_the_grants_and_no_other(
    data_exchange: Any,
) -> None:
    district = department_make("330106-WJ")
    department_make("330106-GA", Department.Kind.PUBLIC_SECURITY)

    again = data_resources_load(path=CATALOGUE)

    assert again.grants == 2
    assert sorted(
        AccessGrant.objects.filter(consumer__code="yiwang-workbench").values_list(
            "consumer__department__code", "resource__code"
        )
    ) == [
        ("330100-WJ", "transport-manifest"),
        ("330100-WJ", "transport-trips"),
        (district.code, "transport-manifest"),
        (district.code, "transport-trips"),
    ]


def test_a_system_for_an_unknown_kind_of_department_loads_nothing(
    regions: None, tmp_path: Path
) -> None:
    path = tmp_path / "resources.toml"
    path.write_text(
        '[[platform_system]]\ncode = "yiwang-workbench"\ndepartment_kind = "hospital"\n'
        'name = "x"\ngrants = []\n',
        encoding="utf-8",
    )

    with pytest.raises(ValidationFailed) as refused:
        data_resources_load(path=path)

    assert refused.value.fields == {"yiwang-workbench": ["unknown kind of department hospital"]}
    assert ConsumerSystem.objects.count() == 0


def test_a_system_naming_one_department_is_refused_not_given_to_the_platform(
    regions: None, tmp_path: Path
) -> None:
    path = tmp_path / "resources.toml"
    path.write_text(
        '[[platform_system]]\ncode = "yiwang-workbench"\ndepartment = "330106-WJ"\n'
        'name = "x"\ngrants = []\n',
        encoding="utf-8",
    )

    with pytest.raises(ValidationFailed) as refused:
        data_resources_load(path=path)

    assert refused.value.fields == {
        "platform": ["the platform department 330100-DSJ does not exist"],
        "yiwang-workbench": ["unknown key department"],
    }


def test_the_openapi_of_a_trip_resource_names_the_trip_subject(data_exchange: Any) -> None:
    document = resource_openapi(DataResource.objects.get(code="transport-manifest"))

    (operation,) = [path["get"] for path in document["paths"].values()]
    assert operation["parameters"][0]["description"] == (
        "the data subject's trip: train, flight or coach number @ day of travel (G1234@2026-11-20)"
    )


def test_the_passenger_records_open_in_admin(data_exchange: Any) -> None:
    ticket(ID_A, "赵乘客", "G1234", "2026-11-20", "05车12F")
    client = Client()
    client.force_login(plain_user(is_superuser=True, is_staff=True))

    listed = client.get("/admin/exchange/transportpassengerrecord/?q=G1234")

    assert listed.status_code == 200
    assert "G1234" in listed.content.decode()
