from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _exchange(request: Any) -> None:
    """Identity reads the registries through the data exchange: set it up for DB tests."""
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        request.getfixturevalue("data_exchange")
