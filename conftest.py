"""Fixtures shared by the whole suite.

Every test database holds the reference regions: all provinces, cities and counties, and
the townships of Hangzhou (330100), the demo city. Tests may rely on them being there.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate
from pytest_django import DjangoDbBlocker

# A constant, not settings.YIWANG_DEMO_CITY: the tests assert Hangzhou's townships.
TEST_TOWNSHIP_CITY = "330100"


def _regions_load() -> None:
    from yiwang.core.regions import regions_load

    regions_load(township_city_codes=[TEST_TOWNSHIP_CITY])


def _regions_reload_after_flush(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    if using == DEFAULT_DB_ALIAS:
        _regions_load()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """Load the regions once into each test database (each xdist worker has its own).

    Tests that run in a transaction see them through the rollback. Transactional tests
    (``transactional_db``, ``live_server``, ``django_db(transaction=True)``) end with a
    flush that empties every table; like Django's own contenttypes and permissions, the
    regions come back from a ``post_migrate`` receiver, since flush sends that signal
    after it empties the tables. So each test starts with them, whatever ran before.
    Two flushes send no signal: with ``django_db(available_apps=...)``, and after a
    ``serialized_rollback`` test; the ``regions`` fixture reloads them if they are gone.
    """
    with django_db_blocker.unblock():
        _regions_load()
        # Serialized rollback restores the contents captured when the database was made,
        # before the regions were loaded: capture them again with the regions.
        connection = connections[DEFAULT_DB_ALIAS]
        if hasattr(connection, "_test_serialized_contents"):
            connection._test_serialized_contents = connection.creation.serialize_db_to_string()
    core = apps.get_app_config("core")
    post_migrate.connect(_regions_reload_after_flush, sender=core, dispatch_uid=__name__)
    yield
    post_migrate.disconnect(sender=core, dispatch_uid=__name__)


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the platform's default language.

    LocaleMiddleware activates the language of each request it handles and never
    deactivates it, so a test client that asked for English would otherwise leave English
    on for the next test in the same worker.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _cache_cleared() -> Iterator[None]:
    """Each test starts with empty caches: no throttle, lockout, calendar or version stays."""
    from yiwang.catalog.models import version_cache_clear
    from yiwang.core.workdays import calendar_cache_clear
    from yiwang.exchange.services import resource_cache_clear

    cache.clear()
    calendar_cache_clear()
    version_cache_clear()
    resource_cache_clear()
    yield
    cache.clear()
    calendar_cache_clear()
    version_cache_clear()
    resource_cache_clear()


@pytest.fixture(autouse=True)
def _force_login_completes_the_second_factor(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``client.force_login(user)`` stands for a completed login, as it skips the password.

    For staff a completed login includes the second factor: the session is marked as
    verified with the user's authenticator (made with a known key if there is none).
    Tests marked ``mfa_enforced`` get Django's own force_login, the password step only,
    to prove that staff pages and the API refuse such a session.
    """
    if request.node.get_closest_marker("mfa_enforced"):
        return
    from django.test import Client

    password_step = Client.force_login

    def force_login(self: Client, user: Any, backend: str | None = None) -> None:
        from yiwang.identity.tests.mfa import second_factor_complete

        password_step(self, user, backend)
        second_factor_complete(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _certificate_keys_isolated(settings: Any, tmp_path_factory: Any) -> None:
    """Certificate keys made by a test live in a temporary folder, never under var/."""
    folder = tmp_path_factory.mktemp("certificate-keys")
    settings.CERTIFICATES_KEY_DIR = folder / "keys"
    settings.CERTIFICATES_PEER_DIR = folder / "peers"


@pytest.fixture
def regions(db: None) -> None:
    """Make sure the regions are loaded; they are, unless a flush without signal removed them."""
    from yiwang.core.models import Region

    if not Region.objects.filter(parent__parent__code=TEST_TOWNSHIP_CITY).exists():
        _regions_load()


@pytest.fixture
def hangzhou(regions: None) -> Any:
    """杭州市 330100, the demo city (a Region)."""
    from yiwang.core.models import Region

    return Region.objects.get(code="330100")


@pytest.fixture
def xihu(regions: None) -> Any:
    """西湖区 330106, a district of Hangzhou (a Region)."""
    from yiwang.core.models import Region

    return Region.objects.get(code="330106")


@pytest.fixture
def zhuantang(regions: None) -> Any:
    """转塘街道 330106011, a street (township) of 西湖区 (a Region)."""
    from yiwang.core.models import Region

    return Region.objects.get(code="330106011")


@pytest.fixture
def resident_id_factory() -> Callable[..., str]:
    """Build valid synthetic resident ID numbers: ``resident_id_factory(region_code=...)``.

    The default sequence 123 is odd, so the holder is male; pass an even one for female.
    """
    from yiwang.core.identifiers import resident_id_with_check_digit

    def make(
        *,
        region_code: str = "330106",
        birth_date: datetime.date = datetime.date(1990, 1, 1),
        sequence: int = 123,
    ) -> str:
        return resident_id_with_check_digit(f"{region_code}{birth_date:%Y%m%d}{sequence:03d}")

    return make


@pytest.fixture
def uscc_factory() -> Callable[..., str]:
    """Build valid unified social credit codes: ``uscc_factory(region_code=..., serial=...)``.

    ``serial`` is the 9-character organisation code (digits and the letters GB 32100 allows).
    """
    from yiwang.core.identifiers import uscc_with_check_digit

    def make(*, region_code: str = "330106", serial: str = "MA2B3C4D5", kind: str = "91") -> str:
        return uscc_with_check_digit(f"{kind}{region_code}{serial}")

    return make


# The departments that provide the data resources of catalog-data/data-resources.toml,
# and the one that runs the platform (EXCHANGE_PLATFORM_DEPARTMENT).
EXCHANGE_DEPARTMENTS = {
    "330100-GA": ("杭州市公安局", "public_security"),
    "330100-WJ": ("杭州市卫生健康委员会", "health"),
    "330100-MZ": ("杭州市民政局", "civil_affairs"),
    "330100-RS": ("杭州市人力资源和社会保障局", "human_resources"),
    "330100-YB": ("杭州市医疗保障局", "medical_security"),
    "330100-GJJ": ("杭州住房公积金管理中心", "housing_fund"),
    "330100-SJ": ("杭州市市场监督管理局", "market_regulation"),
    "330100-DSJ": ("杭州市数据资源管理局", "data_resources"),
    "330100-JT": ("杭州市交通运输局", "transport"),
}


@pytest.fixture
def data_exchange(regions: None, settings: Any, tmp_path: Any) -> Any:
    """The real data-resource catalogue with its provider departments and platform systems.

    Real-name verification and every other cross-department read go through the
    exchange, so tests of them need this. The log's signing key lives in the test's
    temporary folder.
    """
    from django.conf import settings as django_settings

    from yiwang.core.models import Region
    from yiwang.exchange.services import data_resources_load
    from yiwang.identity.models import Department

    settings.EXCHANGE_LOG_KEY_FILE = tmp_path / "keys" / "exchange-log.pem"
    city = Region.objects.get(code="330100")
    for code, (name, kind) in EXCHANGE_DEPARTMENTS.items():
        Department.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "region": city}
        )
    return data_resources_load(
        path=django_settings.BASE_DIR / "catalog-data" / "data-resources.toml"
    )
