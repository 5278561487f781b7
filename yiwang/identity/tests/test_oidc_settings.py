"""The OpenID Connect signing key comes from configuration; the demo makes one, once."""

from __future__ import annotations

import re

from yiwang.portal.tests.test_settings import PRODUCTION, rsa_key_file, run_manage

SIGNING_KEYS = (
    "from django.conf import settings; p = settings.OAUTH2_PROVIDER; "
    "print('signing', p['OIDC_RSA_PRIVATE_KEY'].strip().splitlines()[1]); "
    "print('retired', len(p['OIDC_RSA_PRIVATE_KEYS_INACTIVE']))"
)


def printed(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^(signing|retired) (\S+)$", stdout, flags=re.M))


def test_production_refuses_to_start_without_the_signing_key(tmp_path):
    missing = tmp_path / "oidc.pem"

    result = run_manage(
        "check", env={**PRODUCTION, "OIDC_RSA_PRIVATE_KEY_FILE": str(missing)}, tmp_path=tmp_path
    )

    assert result.returncode != 0
    assert f"The OpenID Connect signing key {missing} does not exist" in result.stderr
    assert not missing.exists()
    assert not (tmp_path / "keys").exists()


def test_production_signs_with_the_configured_key_and_publishes_retired_ones(tmp_path):
    key = rsa_key_file(tmp_path / "oidc.pem")
    retired = rsa_key_file(tmp_path / "oidc-2025.pem")
    env = {
        **PRODUCTION,
        "OIDC_RSA_PRIVATE_KEY_FILE": str(key),
        "OIDC_RSA_RETIRED_KEY_FILES": str(retired),
    }

    result = run_manage("shell", "-c", SIGNING_KEYS, env=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert printed(result.stdout) == {"signing": key.read_text().splitlines()[1], "retired": "1"}


def test_the_demo_generates_one_signing_key_and_keeps_it(tmp_path):
    first = run_manage("shell", "-c", SIGNING_KEYS, env={}, tmp_path=tmp_path)
    key_file = tmp_path / "keys" / "oidc-rsa.pem"
    kept = key_file.read_text()
    second = run_manage("shell", "-c", SIGNING_KEYS, env={}, tmp_path=tmp_path)

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert printed(first.stdout) == printed(second.stdout)
    assert printed(first.stdout)["signing"] == kept.splitlines()[1]
    assert key_file.read_text() == kept
    assert kept.startswith("-----BEGIN PRIVATE KEY-----")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in key_file.parent.iterdir()] == ["oidc-rsa.pem"]  # no draft left
