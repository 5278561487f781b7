from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from yiwang.demo.serve import (
    ChildCommand,
    base_url,
    bind_address,
    child_environment,
    children_run,
    serve_commands,
)

MANAGE = Path("/srv/yiwang/manage.py")


def test_serve_commands_run_gunicorn_the_db_worker_and_the_deadline_sweep():
    web, worker, deadlines, seal = serve_commands(
        host="127.0.0.1", port=8000, manage_py=MANAGE, python="/py", use_gunicorn=True
    )

    assert web == ChildCommand(
        "web",
        (
            "/py", "-m", "gunicorn", "config.wsgi:application",
            "--bind", "127.0.0.1:8000",
            "--workers", "2",
            "--access-logfile", "-",
            "--graceful-timeout", "5",
        ),
    )  # fmt: skip
    assert worker == ChildCommand(
        "worker", ("/py", str(MANAGE), "db_worker", "--no-reload", "--queue-name", "*")
    )
    assert deadlines == ChildCommand(
        "deadlines", ("/py", str(MANAGE), "applications_tick", "--every", "60")
    )
    assert seal == ChildCommand("seal", ("/py", str(MANAGE), "exchange_log_seal", "--every", "300"))


def test_serve_commands_fall_back_to_runserver_without_gunicorn():
    web, *_others = serve_commands(
        host="0.0.0.0",  # noqa: S104
        port=8080,
        manage_py=MANAGE,
        python="/py",
        use_gunicorn=False,
    )

    assert web.argv == ("/py", str(MANAGE), "runserver", "--noreload", "0.0.0.0:8080")


def test_serve_commands_use_gunicorn_when_it_is_installed():
    web, *_others = serve_commands(host="127.0.0.1", port=8000, manage_py=MANAGE, workers=3)

    assert web.argv[1:4] == ("-m", "gunicorn", "config.wsgi:application")
    assert web.argv[web.argv.index("--workers") + 1] == "3"
    assert web.argv[0] == sys.executable


@pytest.mark.parametrize(
    ("host", "port", "bind", "url"),
    [
        ("127.0.0.1", 8000, "127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("0.0.0.0", 80, "0.0.0.0:80", "http://127.0.0.1:80"),  # noqa: S104
        ("::1", 8000, "[::1]:8000", "http://[::1]:8000"),
        ("::", 8000, "[::]:8000", "http://[::1]:8000"),
        ("demo.local", 8000, "demo.local:8000", "http://demo.local:8000"),
    ],
)
def test_bind_address_and_base_url(host, port, bind, url):
    assert bind_address(host, port) == bind
    assert base_url(host, port) == url


def test_child_environment_names_the_settings_and_unbuffers_output():
    env = child_environment({"PATH": "/bin"})

    assert env == {
        "PATH": "/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }
    assert child_environment({"DJANGO_SETTINGS_MODULE": "x"})["DJANGO_SETTINGS_MODULE"] == "x"


def _python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


SLEEPER = _python("import time; time.sleep(60)")


def test_when_one_child_ends_the_other_is_stopped_and_its_status_returned(tmp_path):
    started = time.monotonic()
    logs: list[str] = []

    status = children_run(
        [ChildCommand("web", SLEEPER), ChildCommand("worker", _python("raise SystemExit(3)"))],
        cwd=tmp_path,
        env=child_environment(),
        log=logs.append,
    )

    assert status == 3
    assert time.monotonic() - started < 15
    assert any("worker ended with status 3" in line for line in logs)


def test_a_child_that_ends_cleanly_on_its_own_still_fails_the_supervisor(tmp_path):
    status = children_run(
        [ChildCommand("web", _python("pass")), ChildCommand("worker", SLEEPER)],
        cwd=tmp_path,
        env=child_environment(),
        log=lambda _line: None,
    )

    assert status == 1


def test_sigterm_is_forwarded_to_the_children_and_ends_cleanly(tmp_path):
    marker = tmp_path / "stopped"
    handler = (
        "import signal, sys, time, pathlib\n"
        "def stop(*_):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('yes')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "time.sleep(60)\n"
    )
    previous_handler = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.0, lambda: signal.raise_signal(signal.SIGTERM))
    timer.start()
    try:
        status = children_run(
            [ChildCommand("web", _python(handler)), ChildCommand("worker", SLEEPER)],
            cwd=tmp_path,
            env=child_environment(),
            log=lambda _line: None,
        )
    finally:
        timer.cancel()

    assert status == 0
    assert marker.read_text() == "yes"
    assert signal.getsignal(signal.SIGTERM) == previous_handler
