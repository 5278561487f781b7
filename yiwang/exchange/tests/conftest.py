"""A consumer department with a system and an officer, over the real resource catalogue."""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from yiwang.exchange.models import AccessGrant, ConsumerSystem, DataResource
from yiwang.exchange.services import consumer_system_create
from yiwang.identity.models import Department, StaffRole
from yiwang.identity.tests.factories import DepartmentFactory, StaffRoleFactory


@pytest.fixture
def consumer_department(data_exchange: Any) -> Department:
    return DepartmentFactory(code="330106-GA", name="杭州市公安局西湖区分局")


@pytest.fixture
def officer(consumer_department: Department) -> Any:
    return StaffRoleFactory(department=consumer_department, role=StaffRole.Role.DATA_OFFICER).user


@pytest.fixture
def provider_officer(data_exchange: Any) -> Any:
    return StaffRoleFactory(
        department=Department.objects.get(code="330100-WJ"), role=StaffRole.Role.DATA_OFFICER
    ).user


@pytest.fixture
def system_and_token(officer: Any, consumer_department: Department) -> tuple[ConsumerSystem, str]:
    return consumer_system_create(
        actor=officer, department=consumer_department, code="household-system", name="户籍业务系统"
    )


@pytest.fixture
def system(system_and_token: tuple[ConsumerSystem, str]) -> ConsumerSystem:
    return system_and_token[0]


def grant(
    system: ConsumerSystem,
    code: str,
    fields: list[str],
    *,
    clear: list[str] | None = None,
    days: int = 30,
    valid_from: datetime.datetime | None = None,
) -> AccessGrant:
    start = valid_from or timezone.now() - datetime.timedelta(minutes=1)
    return AccessGrant.objects.create(
        consumer=system,
        resource=DataResource.objects.get(code=code),
        fields=fields,
        clear_fields=clear or [],
        purpose="测试",
        legal_basis="测试依据",
        duration_days=days,
        status=AccessGrant.Status.APPROVED,
        valid_from=start,
        expires_at=start + datetime.timedelta(days=days),
    )


class _Department(http.server.BaseHTTPRequestHandler):
    """A department's REST service: answers from ``records``, or misbehaves on request."""

    records: dict[str, list[dict[str, Any]]] = {}
    mode = "ok"

    def do_GET(self) -> None:
        if self.mode == "slow":
            time.sleep(1.5)
        if self.mode == "error":
            self._send(500, b'{"error": "database down"}')
            return
        if self.mode == "garbage":
            self._send(200, b"<html>maintenance</html>")
            return
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "services" or parts[2] != "records":
            self._send(404, b"{}")
            return
        subject = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("subject", "")
        if parts[1] not in self.records:
            self._send(404, b"{}")
            return
        found = [r for r in self.records[parts[1]] if r.get("_subject") == subject]
        body = json.dumps(
            {"records": [{k: v for k, v in r.items() if k != "_subject"} for r in found]}
        )
        self._send(200, body.encode())

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def department_service() -> Iterator[tuple[str, type[_Department]]]:
    """A department REST service on a free loopback port, started by the test itself."""

    class Handler(_Department):
        records: dict[str, list[dict[str, Any]]] = {}
        mode = "ok"

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Handler
    finally:
        server.shutdown()
        server.server_close()
