"""``manage.py health_code_verify``: checking a code offline, from signed trust lists only."""

from __future__ import annotations

import datetime
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from yiwang.certificates import keys
from yiwang.health import codes
from yiwang.health.tests.test_codes_issue import (
    city_health_department,
    colour_set,
    foreign_platform,
    reencode,
    verifier_cleared,
)
from yiwang.identity.models import Department

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _verifier_fresh() -> Iterator[None]:
    yield from verifier_cleared()


@pytest.fixture
def city_health(db: None) -> Department:
    return city_health_department()


@pytest.fixture
def published(tmp_path: Path, person: Any, city_health: Any) -> dict[str, Any]:
    """A red code of the person, and the platform's trust list and anchor in files."""
    person.name = "林晓雯"
    person.save(update_fields=["name"])
    colour_set(person, "red")
    issued = codes.health_code_issue(person=person)
    trust_list = tmp_path / "trust-list.cose"
    trust_list.write_bytes(keys.trust_list_sign())
    anchor = tmp_path / "anchor.crt"
    anchor.write_bytes(keys.trust_anchor().certificate.public_bytes(serialization.Encoding.PEM))
    return {"code": issued, "trust_list": trust_list, "anchor": anchor, "dir": tmp_path}


def run(*args: Any, stdin: str | None = None) -> tuple[str, int]:
    out = io.StringIO()
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        call_command("health_code_verify", *[str(arg) for arg in args], stdout=out)
    except CommandError as exc:
        return out.getvalue() + str(exc), exc.returncode
    finally:
        sys.stdin = sys.__stdin__
    return out.getvalue(), 0


def test_a_valid_code_is_checked_without_the_database(
    published: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        output, code = run(
            published["code"].text,
            "--trust-list",
            published["trust_list"],
            "--anchor",
            published["anchor"],
        )

    assert code == 0
    assert output.splitlines() == [
        "VALID: red → refuse",
        "Red code: Do not let through",
        "name: 林**",
        f"code valid until: {published['code'].expires_at.isoformat()}",
        "issued by: 杭州市卫生健康委员会 (330100)",
    ]


def test_json_output_is_the_apis_answer(published: dict[str, Any]) -> None:
    output, code = run(
        "--stdin",
        "--json",
        "--trust-list",
        published["trust_list"],
        "--anchor",
        published["anchor"],
        stdin=published["code"].text + "\n",
    )

    assert code == 0
    assert json.loads(output) == {
        "valid": True,
        "verdict": None,
        "message": "The health code is genuine and valid.",
        "colour": "red",
        "action": "refuse",
        "masked_name": "林**",
        "valid_until": published["code"].expires_at.isoformat().replace("+00:00", "Z"),
        "region": "330100",
        "issuer": "杭州市卫生健康委员会",
    }


def test_a_tampered_code_exits_1_with_its_verdict(published: dict[str, Any]) -> None:
    tampered = reencode(published["code"].text, lambda body: body[:-1] + b"\x00")

    output, code = run(
        tampered, "--trust-list", published["trust_list"], "--anchor", published["anchor"]
    )

    assert code == 1
    assert output.splitlines() == [
        "NOT VALID (bad_signature)",
        "The signature does not match the content: the code has been altered or forged.",
        "detail: the signature does not verify",
        "not valid: bad_signature",
    ]


def test_a_code_checked_after_it_expired_exits_1(published: dict[str, Any]) -> None:
    later = published["code"].expires_at + datetime.timedelta(seconds=1)

    output, code = run(
        published["code"].text,
        "--trust-list",
        published["trust_list"],
        "--anchor",
        published["anchor"],
        "--at",
        later.isoformat(),
    )

    assert code == 1
    assert output.splitlines()[0] == "NOT VALID (expired)"


def test_another_regions_code_needs_its_list_and_anchor(published: dict[str, Any]) -> None:
    shanghai = foreign_platform()
    their_list = published["dir"] / "shanghai.cose"
    their_list.write_bytes(shanghai.trust_list)
    their_anchor = published["dir"] / "shanghai.crt"
    their_anchor.write_bytes(shanghai.anchor.public_bytes(serialization.Encoding.PEM))
    text = shanghai.code(colour="green")

    ours_only, unknown = run(
        text, "--trust-list", published["trust_list"], "--anchor", published["anchor"]
    )
    both, valid = run(
        text,
        "--trust-list",
        published["trust_list"],
        "--trust-list",
        their_list,
        "--anchor",
        published["anchor"],
        "--anchor",
        their_anchor,
    )

    assert (unknown, ours_only.splitlines()[0]) == (1, "NOT VALID (unknown_key)")
    assert (valid, both.splitlines()[0]) == (0, "VALID: green → pass")
    assert both.splitlines()[-1] == "issued by: 上海市卫生健康委员会 (310100)"


def test_a_trust_list_signed_by_an_anchor_not_given_is_a_usage_error(
    published: dict[str, Any],
) -> None:
    stranger = published["dir"] / "stranger.crt"
    stranger.write_bytes(foreign_platform().anchor.public_bytes(serialization.Encoding.PEM))

    output, code = run(
        published["code"].text, "--trust-list", published["trust_list"], "--anchor", stranger
    )

    assert code == 2
    assert output == (
        f"{published['trust_list']} cannot be used: signed by an anchor this platform does "
        "not accept"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give the code one way: its TEXT or --stdin"),
        (("YWH1:AB", "--stdin"), "give the code one way: its TEXT or --stdin"),
        (("YWH1:AB", "--at", "yesterday"), "--at 'yesterday' is not an ISO 8601 date and time"),
    ],
    ids=["none", "both", "bad-time"],
)
def test_usage_errors_exit_2(
    published: dict[str, Any], args: tuple[str, ...], message: str
) -> None:
    output, code = run(
        *args, "--trust-list", published["trust_list"], "--anchor", published["anchor"]
    )

    assert (code, output) == (2, message)


def test_files_that_cannot_be_read_are_usage_errors(published: dict[str, Any]) -> None:
    missing = published["dir"] / "missing.cose"
    not_pem = published["dir"] / "not.crt"
    not_pem.write_text("hello")

    _, no_list = run("YWH1:AB", "--trust-list", missing, "--anchor", published["anchor"])
    output, bad_anchor = run(
        "YWH1:AB", "--trust-list", published["trust_list"], "--anchor", not_pem
    )

    assert (no_list, bad_anchor) == (2, 2)
    assert output == f"{not_pem} is not a PEM certificate"


def test_the_command_runs_where_there_is_no_database_at_all(
    published: dict[str, Any], tmp_path: Path
) -> None:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "YIWANG_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}",
        "LANGUAGE": "en",
    }

    run_ = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "health_code_verify",
            published["code"].text,
            "--trust-list",
            str(published["trust_list"]),
            "--anchor",
            str(published["anchor"]),
        ],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run_.returncode == 0, run_.stderr
    assert run_.stdout.splitlines()[0] == "VALID: red → refuse"
