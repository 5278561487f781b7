"""Production mode passes Django's deployment checks; misconfiguration fails loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def run_manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # Only what a real deployment would have: none of the test run's own switches.
    dropped = {"DATABASE_URL", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "YIWANG_DATA_DIR": str(tmp_path)})
    clean.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "YIWANG_HTTPS": "1",
    "SECRET_KEY": "k8Vq2-zN7rT0yWm4LpX1cH9sBf6GdJ3eRa5uYt8Qn2Kv0Zx7Ow4Ij1Ml6Ph3Es",
    "ALLOWED_HOSTS": "zwfw.example.gov.cn",
}


def rsa_key_file(path: Path) -> Path:
    """An RSA private key in a PEM file, such as the OpenID Connect signing key."""
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return path


def test_production_mode_passes_the_deployment_checks(tmp_path):
    env = {**PRODUCTION, "OIDC_RSA_PRIVATE_KEY_FILE": str(rsa_key_file(tmp_path / "oidc.pem"))}

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_demo_defaults_fail_the_deployment_checks(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env={}, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS over plain HTTP
    assert "security.W012" in result.stderr  # session cookie not secure


def test_production_mode_without_a_secret_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}

    result = run_manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_a_malformed_boolean_setting_is_reported(tmp_path):
    result = run_manage("check", env={"YIWANG_HTTPS": "maybe"}, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "YIWANG_HTTPS must be a boolean" in result.stderr


def test_the_demo_keeps_one_generated_secret_key(tmp_path):
    first = run_manage("check", env={}, tmp_path=tmp_path)
    key = (tmp_path / "secret_key").read_text()
    second = run_manage("check", env={}, tmp_path=tmp_path)

    assert first.returncode == second.returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert len(key) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def _database_options(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS'))",
        env=env,
        tmp_path=tmp_path,
    )


POSTGRES_URL = "postgres://yiwang:secret@127.0.0.1:5432/yiwang"


def test_postgresql_binds_on_the_server_and_prepares_repeated_statements(tmp_path):
    default = _database_options(tmp_path, DATABASE_URL=POSTGRES_URL)
    eager = _database_options(tmp_path, DATABASE_URL=POSTGRES_URL, DATABASE_PREPARE_THRESHOLD="1")
    off = _database_options(tmp_path, DATABASE_URL=POSTGRES_URL, DATABASE_PREPARE_THRESHOLD="off")

    assert default.returncode == 0, default.stderr
    assert "'server_side_binding': True, 'prepare_threshold': 5" in default.stdout
    assert "'prepare_threshold': 1" in eager.stdout
    # Behind PgBouncer in transaction mode: bound on the server, never prepared.
    assert "'server_side_binding': True, 'prepare_threshold': None" in off.stdout


def test_a_malformed_prepare_threshold_is_reported(tmp_path):
    result = _database_options(
        tmp_path, DATABASE_URL=POSTGRES_URL, DATABASE_PREPARE_THRESHOLD="sometimes"
    )

    assert result.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD must be an integer" in result.stderr


def test_sqlite_has_no_postgresql_options(tmp_path):
    result = _database_options(tmp_path, DATABASE_PREPARE_THRESHOLD="1")

    assert result.returncode == 0, result.stderr
    assert "server_side_binding" not in result.stdout
    assert "transaction_mode" in result.stdout
