from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from yiwang.exchange.models import ExchangeLogRecord
from yiwang.exchange.tests.conftest import grant
from yiwang.exchange.tests.factories import PopulationRecordFactory

pytestmark = pytest.mark.django_db

CLIENT = "CN-ZJ/GOV/330106-GA/household-system"
SERVICE = "/r1/CN-ZJ/GOV/330100-GA/registry/population-basic"


def call(token, path=SERVICE, client=CLIENT, purpose="户口迁移审查", **headers):
    extra = {"HTTP_X_ROAD_CLIENT": client, "HTTP_AUTHORIZATION": f"Bearer {token}"}
    if purpose is not None:
        extra["HTTP_X_ROAD_PURPOSE"] = purpose
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    return Client().get(path, **extra)


def test_a_granted_call_answers_records_with_the_request_id_and_hash(system_and_token):
    system, token = system_and_token
    person = PopulationRecordFactory(name="陈昊然")
    grant(system, "population-basic", ["name", "status"], clear=["name"])

    response = call(token, f"{SERVICE}?subject={person.id_number}", **{"X-Road-Id": "abc-123"})

    assert response.status_code == 200
    assert response.json() == {"records": [{"name": "陈昊然", "status": "normal"}]}
    assert response["X-Road-Id"] == "abc-123"
    assert len(response["X-Road-Request-Hash"]) == 64
    log = ExchangeLogRecord.objects.get()
    assert (log.request_id, log.request_digest) == ("abc-123", response["X-Road-Request-Hash"])
    assert log.response_digest != ""


@pytest.mark.parametrize(
    ("kwargs", "status", "error_type"),
    [
        ({"token": "wrong"}, 401, "Client.Unauthenticated"),
        ({"client": "CN-ZJ/GOV/330106-GA/nobody"}, 401, "Client.Unauthenticated"),
        ({"purpose": None}, 400, "Client.BadRequest"),
        ({"path": "/r1/CN-ZJ/GOV/330100-WJ/registry/population-basic"}, 404,
         "Server.ServerProxy.UnknownService"),
        ({"path": "/r1/CN-BJ/GOV/330100-GA/registry/population-basic"}, 404,
         "Server.ServerProxy.UnknownService"),
        ({"path": "/r1/CN-ZJ/GOV/330100-GA/registry/marriage-record"}, 404,
         "Server.ServerProxy.UnknownService"),
        ({"path": "/r1/CN-ZJ/GOV/330100-MZ/registry/marriage-record"}, 403,
         "Server.ServerProxy.AccessDenied"),
        ({"fields": "birth_date"}, 403, "Server.ServerProxy.AccessDenied"),
        ({"subject": "not-an-id"}, 400, "Client.BadRequest"),
    ],
)  # fmt: skip
def test_errors_have_the_x_road_shape_and_status(system_and_token, kwargs, status, error_type):
    system, token = system_and_token
    person = PopulationRecordFactory()
    grant(system, "population-basic", ["name", "status"])
    subject = kwargs.pop("subject", person.id_number)
    fields = kwargs.pop("fields", "")
    path = kwargs.pop("path", SERVICE)
    token = kwargs.pop("token", token)

    response = call(token, f"{path}?subject={subject}&fields={fields}", **kwargs)

    assert response.status_code == status
    body = response.json()
    assert body["type"] == error_type
    assert body["detail"] == response["X-Road-Id"]
    assert "records" not in body
    assert (
        ExchangeLogRecord.objects.filter(outcome=error_type).count()
        == (1 if "CN-BJ" not in path else 0)
        or error_type == "Server.ServerProxy.UnknownService"
    )


def test_only_get_is_accepted(system_and_token):
    _system, token = system_and_token

    response = Client().post(
        SERVICE, HTTP_X_ROAD_CLIENT=CLIENT, HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 400
    assert response.json()["type"] == "Client.BadRequest"
    assert ExchangeLogRecord.objects.get().outcome == "Client.BadRequest"


def test_a_malformed_request_id_is_replaced_and_refused(system_and_token):
    _system, token = system_and_token

    response = call(token, f"{SERVICE}?subject=x", **{"X-Road-Id": "bad id with spaces"})

    assert response.status_code == 400
    assert response["X-Road-Id"] != "bad id with spaces"


def test_metaservices_list_allowed_and_describe_services(system_and_token):
    system, token = system_and_token
    grant(system, "population-basic", ["status"])
    base = "/r1/CN-ZJ/GOV/330100-GA/registry"

    listed = call(token, f"{base}/listMethods").json()["service"]
    allowed = call(token, f"{base}/allowedMethods").json()["service"]
    described = call(token, f"{base}/getOpenAPI?serviceCode=household-register").json()
    missing = call(token, f"{base}/getOpenAPI?serviceCode=nothing")

    assert [s["serviceCode"] for s in listed] == ["household-register", "population-basic"]
    assert [s["serviceCode"] for s in allowed] == ["population-basic"]
    assert allowed[0]["serviceId"] == "CN-ZJ/GOV/330100-GA/registry/population-basic"
    assert described["openapi"] == "3.0.3"
    (path,) = described["paths"]
    assert path == "/r1/CN-ZJ/GOV/330100-GA/registry/household-register"
    props = described["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["properties"]["records"]["items"]["properties"]
    assert props["head_id_number"]["x-sensitivity"] == 4
    assert missing.status_code == 404


def test_metaservices_need_an_authenticated_consumer(system_and_token):
    response = call("wrong", "/r1/CN-ZJ/GOV/330100-GA/registry/listMethods")

    assert response.status_code == 401


def test_the_request_hash_covers_path_and_headers(system_and_token):
    system, token = system_and_token
    grant(system, "population-basic", ["status"])
    person = PopulationRecordFactory()
    path = f"{SERVICE}?subject={person.id_number}"

    first = call(token, path)["X-Road-Request-Hash"]
    other_purpose = call(token, path, purpose="其他用途")["X-Road-Request-Hash"]

    expected = hashlib.sha256(
        "\n".join(["GET", path, CLIENT, "户口迁移审查", ""]).encode()
    ).hexdigest()
    assert first == expected
    assert other_purpose != first


def test_purpose_and_issue_travel_percent_encoded(system_and_token):
    from urllib.parse import quote

    system, token = system_and_token
    grant(system, "population-basic", ["status"])
    person = PopulationRecordFactory()

    response = call(
        token,
        f"{SERVICE}?subject={person.id_number}",
        purpose=quote("户口迁移审查"),
        **{"X-Road-Issue": quote("办件330106GA2026112200001")},
    )

    assert response.status_code == 200
    log = ExchangeLogRecord.objects.get()
    assert (log.purpose, log.issue) == ("户口迁移审查", "办件330106GA2026112200001")
