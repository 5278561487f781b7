"""Run the demo's web server and task worker together as child processes.

The web server is gunicorn (``config.wsgi``) when it is installed, else Django's
``runserver`` without the autoreloader; the worker is django-tasks-db's ``db_worker``.
Each child runs in its own process group, so a terminal's Ctrl-C reaches only this
supervisor, which forwards it once; when either child ends, the other is stopped.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class ChildCommand:
    name: str
    argv: tuple[str, ...]


def bind_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def base_url(host: str, port: int) -> str:
    """The URL to open in a browser; a wildcard address is reached through loopback."""
    if host in {"0.0.0.0", ""}:  # noqa: S104 - only displayed, never bound here
        host = "127.0.0.1"
    elif host in {"::", "[::]"}:
        host = "::1"
    return f"http://{bind_address(host, port)}"


def gunicorn_available() -> bool:
    return importlib.util.find_spec("gunicorn") is not None


def serve_commands(
    *,
    host: str,
    port: int,
    manage_py: Path,
    python: str = sys.executable,
    workers: int = 2,
    use_gunicorn: bool | None = None,
) -> list[ChildCommand]:
    """The web server, task worker and deadline sweep command lines, in start order."""
    if use_gunicorn is None:
        use_gunicorn = gunicorn_available()
    address = bind_address(host, port)
    if use_gunicorn:
        web = ChildCommand(
            "web",
            (
                python, "-m", "gunicorn", "config.wsgi:application",
                "--bind", address,
                "--workers", str(workers),
                "--access-logfile", "-",
                "--graceful-timeout", "5",
            ),
        )  # fmt: skip
    else:
        web = ChildCommand("web", (python, str(manage_py), "runserver", "--noreload", address))
    worker = ChildCommand(
        "worker", (python, str(manage_py), "db_worker", "--no-reload", "--queue-name", "*")
    )
    # The deadline sweep (80 % warnings, overdue escalation, BPMN timers) once a minute.
    deadlines = ChildCommand(
        "deadlines", (python, str(manage_py), "applications_tick", "--every", "60")
    )
    # Sign the exchange log's chain head every five minutes.
    seal = ChildCommand("seal", (python, str(manage_py), "exchange_log_seal", "--every", "300"))
    return [web, worker, deadlines, seal]


def children_run(
    commands: Sequence[ChildCommand],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Callable[[str], None],
) -> int:
    """Start the commands and wait; return the exit status the supervisor should exit with.

    SIGINT and SIGTERM are forwarded to every child. When a child ends by itself, the
    others are stopped and its status is returned (1 if it ended "successfully", since a
    server should not end on its own).
    """
    processes: list[tuple[ChildCommand, subprocess.Popen[bytes]]] = []
    received: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        for _command, process in processes:
            if process.poll() is None:
                process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        for command in commands:
            if received:
                break
            process = subprocess.Popen(  # noqa: S603 - our own fixed command lines
                command.argv, cwd=cwd, env=dict(env), start_new_session=True
            )
            processes.append((command, process))
            log(f"started {command.name} (pid {process.pid}): {' '.join(command.argv)}")
        while processes:
            ended = [(c, p) for c, p in processes if p.poll() is not None]
            if ended:
                command, process = ended[0]
                if not received:
                    status = process.returncode or 1
                    log(f"{command.name} ended with status {process.returncode}; stopping the rest")
                break
            time.sleep(POLL_SECONDS)
    finally:
        # After a forwarded signal the children are already stopping: only wait for them.
        _stop_all([p for _c, p in processes], signum=None if received else signal.SIGTERM)
        if processes:
            log(f"stopped {', '.join(command.name for command, _p in processes)}")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _stop_all(processes: Sequence[subprocess.Popen[bytes]], *, signum: int | None) -> None:
    for process in processes:
        if signum is not None and process.poll() is None:
            process.send_signal(signum)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env["PYTHONUNBUFFERED"] = "1"
    return env
