"""docs/openapi.json is the schema the running API serves (regenerate with `make openapi`)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.test import Client


def test_committed_openapi_document_matches_the_served_schema():
    committed = json.loads((Path(settings.BASE_DIR) / "docs" / "openapi.json").read_text())

    served = Client().get("/api/v1/openapi.json").json()

    assert served == committed, "docs/openapi.json is stale: run `make openapi`"


def test_every_operation_documents_the_error_body():
    served = Client().get("/api/v1/openapi.json").json()

    missing = [
        f"{method.upper()} {path}"
        for path, operations in served["paths"].items()
        for method, operation in operations.items()
        if not any(code.startswith(("4", "5")) for code in operation["responses"])
    ]

    assert missing == []


def test_the_interactive_docs_are_served():
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content
