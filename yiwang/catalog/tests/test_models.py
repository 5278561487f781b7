from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiwang.catalog import models as catalog_models
from yiwang.catalog.models import ServiceItemVersion

pytestmark = pytest.mark.django_db


def test_a_version_is_read_from_the_database_once_per_process(loaded):
    version = ServiceItemVersion.objects.order_by("pk").first()

    with CaptureQueriesContext(connection) as first:
        cached = ServiceItemVersion.objects.get_cached(version.pk)
    with CaptureQueriesContext(connection) as again:
        assert ServiceItemVersion.objects.get_cached(version.pk) is cached

    assert len(first) == 1
    assert len(again) == 0
    assert cached.snapshot == version.snapshot


def test_an_unknown_version_is_not_cached(loaded):
    with pytest.raises(ServiceItemVersion.DoesNotExist):
        ServiceItemVersion.objects.get_cached(10**9)
    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(ServiceItemVersion.DoesNotExist),
    ):
        ServiceItemVersion.objects.get_cached(10**9)
    assert len(queries) == 1


def test_the_cache_keeps_the_most_recently_used_versions_only(loaded, monkeypatch):
    monkeypatch.setattr(catalog_models, "VERSION_CACHE_SIZE", 2)
    a, b, c = ServiceItemVersion.objects.order_by("pk")[:3]
    ServiceItemVersion.objects.get_cached(a.pk)
    ServiceItemVersion.objects.get_cached(b.pk)
    ServiceItemVersion.objects.get_cached(a.pk)  # a is now the most recent
    ServiceItemVersion.objects.get_cached(c.pk)  # evicts b

    with CaptureQueriesContext(connection) as queries:
        ServiceItemVersion.objects.get_cached(a.pk)
        ServiceItemVersion.objects.get_cached(c.pk)
    assert len(queries) == 0
    with CaptureQueriesContext(connection) as queries:
        ServiceItemVersion.objects.get_cached(b.pk)
    assert len(queries) == 1
