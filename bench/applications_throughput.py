"""Drive applications from submission to completion through the HTTP API, under load.

    .venv/bin/python bench/applications_throughput.py [--applications N] [--clients C]
        [--workers W] [--database postgres|sqlite] [--smoke] [--json PATH]

What it does (docs/benchmarks.md explains the figures):

1. Starts the throwaway PostgreSQL of ``scripts/postgres.sh`` if it is not running (and
   stops it at the end only then), creates a fresh database ``yiwang_bench``, migrates it
   and loads the regions, the two departments and the catalogue items used, N verified
   citizens and clerks, reviewers and approvers, each with a bearer token.
2. Starts gunicorn on 127.0.0.1 (``config.wsgi`` with ``bench.settings``: production
   settings plus the baseline endpoint ``POST /bench/baseline``, API rate limits raised).
3. C client threads (``http.client``, keep-alive where the server allows it) create N
   drafts, upload their required materials and submit them, the submissions taking turns
   with calls to the baseline endpoint; staff then accept, review, decide and deliver
   them, each a workflow step.
4. Prints throughput, latency percentiles, CPU use, errors and the ratio of submission
   throughput to baseline throughput. The target is printed, never asserted.

``--profile DIR`` profiles the server per kind of request (bench/profiling.py).

Every request goes to 127.0.0.1 only; every loop runs over a fixed amount of work.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "yiwang_bench"
TARGET_RATIO = 0.5
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 120.0
SERVER_START_TIMEOUT = 90.0
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The two items driven, alternately: 户口迁移 runs the full licensing process, 社保卡申领
# the short confirmation process.
MIGRATION = "330106-GA-0006"
SSCARD = "330106-RS-0001"
ITEM_FOLDERS = {MIGRATION: "public_security", SSCARD: "human_resources"}
ITEM_LABELS = {MIGRATION: "户口迁移", SSCARD: "社保卡申领"}
ITEM_MATERIALS = {MIGRATION: ("id-card", "household-register"), SSCARD: ("id-card",)}
ITEM_STEPS = {
    MIGRATION: ("accept", "review", "decide", "deliver"),
    SSCARD: ("accept", "decide", "deliver"),
}
STEPS = ("accept", "review", "decide", "deliver")
STEP_ROLES = {"accept": "clerk", "review": "reviewer", "decide": "approver", "deliver": "clerk"}
STEP_OUTCOMES = {"accept": "accept", "review": "pass", "decide": "grant", "deliver": "delivered"}
# The application's status once the step is done.
STEP_STATUS = {
    "accept": "accepted",
    "review": "under_review",
    "decide": "granted",
    "deliver": "completed",
}
STAFF_ROLES = ("clerk", "reviewer", "approver")
# Common surnames. The API throttle keys on the masked name (王*), so the keys spread as
# they would in a city.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


# ---------------------------------------------------------------------------------------
# Results


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Phase:
    """One measured stretch of load: a single kind of request from every client."""

    name: str
    label: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ok / self.wall if self.wall else 0.0

    def summary(self) -> dict[str, Any]:
        values = sorted(self.latencies)
        ours = sum(self.cpu.get(name, 0.0) for name in ("web", "db", "client"))
        busy = self.cpu.get("machine_busy", 0.0)
        return {
            "name": self.name,
            "label": self.label,
            "requests": self.requests,
            "ok": self.ok,
            "errors": len(self.errors),
            "wall_s": round(self.wall, 3),
            "per_s": round(self.throughput, 2),
            "p50_ms": round(percentile(values, 50) * 1000, 1),
            "p90_ms": round(percentile(values, 90) * 1000, 1),
            "p99_ms": round(percentile(values, 99) * 1000, 1),
            "max_ms": round((values[-1] if values else 0.0) * 1000, 1),
            "cpu_ms_per_request": {
                name: round(self.cpu.get(name, 0.0) * 1000 / self.ok, 2) if self.ok else 0.0
                for name in ("web", "db", "client")
            }
            if self.cpu
            else {},
            # Cores busy on average: with this benchmark, and with anything else running.
            "cores_ours": round(ours / self.wall, 2) if self.cpu and self.wall else None,
            "cores_others": round(max(0.0, busy - ours) / self.wall, 2)
            if self.cpu and self.wall
            else None,
        }


class ErrorLog:
    """Every failed request, kept whole for the first few and counted for the rest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.samples: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        with self._lock:
            self.count += 1
            if len(self.samples) < 20:
                self.samples.append(message)


# ---------------------------------------------------------------------------------------
# HTTP client


class HttpError(Exception):
    pass


class Client:
    """One keep-alive connection to the server, used by one thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)

    def close(self) -> None:
        self.connection.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, float]:
        """Send one request and read the whole response: (status, JSON body, seconds)."""
        all_headers = {"Accept": "application/json"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=all_headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            # The next request opens a new connection.
            self.connection.close()
            raise HttpError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter() - started
        if response.will_close:
            self.connection.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw[:200].decode(errors="replace")
        return response.status, data, elapsed


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        f"\r\nContent-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------------------------------
# CPU accounting from /proc (Linux): where the time of each phase went.


def _proc_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        yield int(entry.name), ppid, name


class CpuMeter:
    """CPU seconds used by the web server, the database server and this client process.

    Counted per process between two samples; a process that ends in between (a database
    backend, say) loses what it used, so the figures are a lower bound.
    """

    def __init__(self, server_pid: int | None, database: str) -> None:
        self.server_pid = server_pid
        self.database = database

    def sample(self) -> dict[tuple[str, int], float]:
        seconds: dict[tuple[str, int], float] = {("client", 0): time.process_time()}
        # The whole machine, from /proc/stat: busy and idle time of all CPUs together.
        with suppress(OSError):
            ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            idle = ticks[3] + ticks[4]
            busy = sum(ticks[:8]) - idle
            tick = os.sysconf("SC_CLK_TCK")
            seconds["machine_busy", 0] = busy / tick
            seconds["machine_idle", 0] = idle / tick
        for pid, ppid, name in _processes():
            if self.server_pid is not None and (pid == self.server_pid or ppid == self.server_pid):
                seconds["web", pid] = _proc_cpu_seconds(pid)
            elif self.database == "postgres" and name.startswith("postgres"):
                seconds["db", pid] = _proc_cpu_seconds(pid)
        return seconds

    @staticmethod
    def used(
        before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]
    ) -> dict[str, float]:
        used = {"web": 0.0, "db": 0.0, "client": 0.0, "machine_busy": 0.0, "machine_idle": 0.0}
        for key, value in after.items():
            used[key[0]] += max(0.0, value - before.get(key, 0.0))
        return used


# ---------------------------------------------------------------------------------------
# Load


@dataclass
class Application:
    """One application driven through the API."""

    index: int
    item_code: str
    token: str
    form_data: dict[str, Any]
    id: int | None = None
    status: str = ""
    failed: bool = False


def run_phase(
    phase: Phase,
    jobs: Sequence[Any],
    work: Callable[[Client, int, Any], Iterable[float]],
    *,
    clients: int,
    port: int,
    errors: ErrorLog,
    meter: CpuMeter | None,
) -> Phase:
    """Run ``work(client, thread_number, job)`` over the jobs from ``clients`` threads at once.

    ``work`` yields the latency of each request it made and raises HttpError for a failed
    one (the job stops there). Running a phase again adds to its figures.
    """
    if not jobs:
        return phase
    pending: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for job in jobs:
        pending.put(job)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    failures: list[str] = []

    def thread_main(number: int) -> None:
        client = Client(port)
        latencies: list[float] = []
        failed: list[str] = []
        start.wait()
        try:
            while True:
                try:
                    job = pending.get_nowait()
                except queue.Empty:
                    break
                try:
                    latencies.extend(work(client, number, job))
                except HttpError as exc:
                    failed.append(f"{phase.name}: {exc}")
        finally:
            client.close()
            with lock:
                phase.latencies.extend(latencies)
                failures.extend(failed)

    threads = [
        threading.Thread(target=thread_main, args=(n,), name=f"client-{n}", daemon=True)
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    before = meter.sample() if meter else {}
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.wall += time.perf_counter() - started
    if meter:
        for name, seconds in meter.used(before, meter.sample()).items():
            phase.cpu[name] = phase.cpu.get(name, 0.0) + seconds
    phase.errors.extend(failures)
    for message in failures:
        errors.add(message)
    return phase


def expect(status: int, data: Any, elapsed: float, wanted: int, what: str) -> float:
    if status != wanted:
        raise HttpError(f"{what}: HTTP {status} {json.dumps(data, ensure_ascii=False)[:300]}")
    return elapsed


@dataclass
class Workload:
    """Everything the clients need: who applies for what, and the staff of each queue."""

    port: int
    clients: int
    # department code -> role -> bearer tokens of that role's staff
    staff: dict[str, dict[str, list[str]]]
    citizen_tokens: list[str]
    errors: ErrorLog
    meter: CpuMeter | None = None

    def run(
        self, phase: Phase, jobs: Sequence[Any], work: Callable[[Client, int, Any], Iterable[float]]
    ) -> Phase:
        return run_phase(
            phase,
            jobs,
            work,
            clients=self.clients,
            port=self.port,
            errors=self.errors,
            meter=self.meter,
        )


def _failing(app: Application, latencies: Iterator[float]) -> Iterator[float]:
    """Mark the application failed when one of its requests fails."""
    try:
        yield from latencies
    except HttpError:
        app.failed = True
        raise


def draft_work(client: Client, number: int, app: Application) -> Iterator[float]:
    status, data, elapsed = client.request(
        "POST",
        "/api/v1/applications",
        token=app.token,
        json_body={"item_code": app.item_code, "form_data": app.form_data},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    yield expect(status, data, elapsed, 201, "create draft")
    app.id = data["id"]
    app.status = data["status"]


def upload_work(client: Client, number: int, app: Application) -> Iterator[float]:
    for code in ITEM_MATERIALS[app.item_code]:
        body, content_type = multipart({"material_code": code}, f"{code}.pdf", PDF)
        status, data, elapsed = client.request(
            "POST",
            f"/api/v1/applications/{app.id}/materials",
            token=app.token,
            body=body,
            headers={"Content-Type": content_type},
        )
        yield expect(status, data, elapsed, 201, f"upload {code}")


def submit_work(client: Client, number: int, app: Application) -> Iterator[float]:
    status, data, elapsed = client.request(
        "POST", f"/api/v1/applications/{app.id}/submit", token=app.token
    )
    yield expect(status, data, elapsed, 200, "submit")
    if data["status"] != "submitted" or not data["number"]:
        raise HttpError(f"submit: status {data['status']!r}, number {data['number']!r}")
    app.status = data["status"]


def _chunks(items: Sequence[Any], count: int) -> list[Sequence[Any]]:
    return [items[i * len(items) // count : (i + 1) * len(items) // count] for i in range(count)]


def drive(
    workload: Workload,
    applications: list[Application],
    *,
    baseline_requests: int,
    rounds: int,
    label: str = "",
) -> list[Phase]:
    """Draft, upload, submit (in rounds with the baseline), then every staff step."""

    def failing(work: Callable[[Client, int, Application], Iterator[float]]) -> Any:
        return lambda client, number, app: _failing(app, work(client, number, app))

    phases = [
        workload.run(
            Phase("draft", f"{label}create draft"),
            [a for a in applications if not a.failed],
            failing(draft_work),
        ),
        workload.run(
            Phase("upload", f"{label}upload material"),
            [a for a in applications if not a.failed],
            failing(upload_work),
        ),
    ]
    # Submissions and baseline inserts take turns, so that both see the same machine
    # (others may load it meanwhile) and their throughputs compare fairly.
    submit = Phase("submit", f"{label}submit")
    baseline = Phase("baseline", f"{label}baseline insert")
    ready = [a for a in applications if not a.failed]
    tokens = workload.citizen_tokens
    for submissions, inserts in zip(
        _chunks(ready, rounds), _chunks(range(baseline_requests), rounds), strict=True
    ):
        workload.run(submit, submissions, failing(submit_work))
        workload.run(
            baseline,
            inserts,
            lambda client, number, index: baseline_work(client, tokens[index % len(tokens)]),
        )
    phases.append(submit)
    for step in STEPS:
        phases.extend(_step_round(workload, applications, step, label=label))
    phases.append(baseline)
    return phases


def baseline_work(client: Client, token: str) -> Iterator[float]:
    status, data, elapsed = client.request("POST", "/bench/baseline", token=token)
    yield expect(status, data, elapsed, 201, "baseline")
    if not data.get("id"):
        raise HttpError(f"baseline: no id in {data!r}")


def _step_round(
    workload: Workload, applications: list[Application], step: str, *, label: str
) -> list[Phase]:
    """One staff step for every application at it: list the queue once, then work it."""
    role = STEP_ROLES[step]
    by_id = {
        a.id: a
        for a in applications
        if not a.failed and step in ITEM_STEPS[a.item_code] and a.id is not None
    }
    if not by_id:
        return []
    departments = sorted({a.item_code.rsplit("-", 1)[0] for a in by_id.values()})
    listing = Phase(f"list:{step}", f"{label}task list ({role}, {step})")
    jobs: list[tuple[str, int, Application]] = []
    lister = Client(workload.port)
    try:
        for department in departments:
            token = workload.staff[department][role][0]
            # The queue is paginated: read it page by page (200 tasks at most per page).
            offset = 0
            while True:
                try:
                    status, data, elapsed = lister.request(
                        "GET",
                        f"/api/v1/workbench/tasks?role={role}&limit=200&offset={offset}",
                        token=token,
                    )
                    listing.latencies.append(expect(status, data, elapsed, 200, "task list"))
                except HttpError as exc:
                    listing.errors.append(f"{listing.name}: {exc}")
                    workload.errors.add(f"{listing.name}: {exc}")
                    break
                listing.wall += elapsed
                for task in data:
                    app = by_id.get(task["application_id"])
                    if task["task_name"] == step and app is not None:
                        jobs.append((department, task["id"], app))
                if len(data) < 200:
                    break
                offset += 200
    finally:
        lister.close()
    missing = set(by_id) - {app.id for _, _, app in jobs}
    for app_id in sorted(missing):
        by_id[app_id].failed = True
        message = f"{step}: no open {step} task in the {role} queue for application {app_id}"
        listing.errors.append(message)
        workload.errors.add(message)
    # Applications in submission order, so that both departments work side by side.
    jobs.sort(key=lambda job: job[2].index)

    def complete(client: Client, number: int, job: tuple[str, int, Application]) -> Iterator[float]:
        department, task_id, app = job
        tokens = workload.staff[department][role]
        status, data, elapsed = client.request(
            "POST",
            f"/api/v1/workbench/tasks/{task_id}/complete",
            token=tokens[number % len(tokens)],
            json_body={"outcome": STEP_OUTCOMES[step]},
        )
        yield expect(status, data, elapsed, 200, step)
        if data["status"] != STEP_STATUS[step]:
            raise HttpError(f"{step}: status {data['status']!r}, not {STEP_STATUS[step]!r}")
        app.status = data["status"]

    work = workload.run(
        Phase(step, f"{label}{step}"),
        jobs,
        lambda client, number, job: _failing(job[2], complete(client, number, job)),
    )
    return [listing, work]


# ---------------------------------------------------------------------------------------
# Database and server


def _postgres(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        ["bash", str(ROOT / "scripts" / "postgres.sh"), command],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@contextmanager
def postgres_database(keep: bool, name: str = BENCH_DATABASE) -> Iterator[str]:
    """A fresh benchmark database ``name`` on the throwaway server; yields its DATABASE_URL."""
    import psycopg

    started_here = _postgres("status").returncode != 0
    if started_here:
        print("starting PostgreSQL (scripts/postgres.sh start) …", flush=True)
        result = _postgres("start")
        if result.returncode != 0:
            raise SystemExit(f"scripts/postgres.sh start failed:\n{result.stderr}")
    admin_url = ""
    try:
        result = _postgres("url")
        if result.returncode != 0:
            raise SystemExit(f"scripts/postgres.sh url failed:\n{result.stderr}")
        admin_url = result.stdout.strip()
        parts = urlsplit(admin_url)
        bench_url = urlunsplit(parts._replace(path=f"/{name}"))
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        yield bench_url
    finally:
        from django.db import connections

        with suppress(Exception):
            connections.close_all()
        if admin_url and not keep:
            with suppress(Exception), psycopg.connect(admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if started_here:
            _postgres("stop")
            print("stopped PostgreSQL (it was not running before)", flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(
    env: dict[str, str], workdir: Path, *, workers: int, worker_class: str, threads: int
) -> Iterator[tuple[int, int]]:
    """Serve config.wsgi with bench.settings on a free loopback port: yields (port, pid)."""
    port = _free_port()
    log_path = workdir / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--chdir",
        str(ROOT),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--no-control-socket",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited at startup:\n{_tail(log_path)}")
            with suppress(OSError, http.client.HTTPException):
                probe = http.client.HTTPConnection(HOST, port, timeout=5)
                try:
                    probe.request("GET", "/healthz")
                    if probe.getresponse().status == 200:
                        break
                finally:
                    probe.close()
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer /healthz:\n{_tail(log_path)}")
            time.sleep(0.2)
        yield port, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def server_log_problems(workdir: Path) -> list[str]:
    """Lines of the server log that report an error or a traceback."""
    path = workdir / "gunicorn.log"
    if not path.exists():
        return []
    return [
        line
        for line in path.read_text(errors="replace").splitlines()
        if " ERROR " in line or "Traceback" in line or "[CRITICAL]" in line
    ]


# ---------------------------------------------------------------------------------------
# Data


def _resident_id(index: int) -> str:
    from yiwang.core.identifiers import resident_id_with_check_digit

    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=index // 400)
    serial = (index % 400) * 2 + 1
    return resident_id_with_check_digit(f"330106{birth:%Y%m%d}{serial:03d}")


def _name(index: int) -> str:
    rng = random.Random(index)
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def form_for(item_code: str, *, name: str, id_number: str, phone: str) -> dict[str, Any]:
    if item_code == MIGRATION:
        return {
            "applicant_name": name,
            "applicant_id_number": id_number,
            "applicant_phone": phone,
            "gender": "M",
            "current_household_address": "浙江省杭州市拱墅区米市巷街道湖墅南路1号",
            "category": "house",
            "target_household_address": "浙江省杭州市西湖区文新街道文一西路100号",
            "target_head_name": name,
            "relationship_to_head": "本人",
            "accompanying_count": 0,
            "declaration": True,
        }
    return {
        "holder_type": "self",
        "holder_name": name,
        "holder_id_number": id_number,
        "holder_gender": "M",
        "applicant_name": name,
        "applicant_id_number": id_number,
        "applicant_phone": phone,
        "guardian_relationship": "self",
        "bank": "中国工商银行",
        "photo_receipt_number": "HZ20260001",
        "delivery_method": "post",
        "delivery_address": "浙江省杭州市西湖区文新街道文一西路100号",
        "declaration": True,
    }


@dataclass
class People:
    # (name, id number, phone, token) of each citizen
    citizens: list[tuple[str, str, str, str]]
    staff: dict[str, dict[str, list[str]]]


def database_load(*, citizens: int, staff_per_role: int, workdir: Path) -> People:
    """Migrate, then load regions, departments, the catalogue subset and the people."""
    from django.core.management import call_command
    from django.db import transaction

    from yiwang.catalog.services import catalog_load
    from yiwang.core.models import Region
    from yiwang.core.regions import regions_load
    from yiwang.demo.departments import DEPARTMENTS
    from yiwang.exchange.models import PopulationRecord
    from yiwang.identity.models import AssuranceLevel, Department, StaffRole, User
    from yiwang.identity.services import api_token_create

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    regions_load()
    codes = {code.rsplit("-", 1)[0] for code in ITEM_FOLDERS}
    # Every demo department: the items' and the providers of the data their items read.
    for department in DEPARTMENTS:
        Department.objects.create(
            code=department.code,
            name=department.name,
            kind=department.kind,
            region=Region.objects.get(code=department.region_code),
            uscc=department.uscc,
        )
    catalog_load(root=_catalogue_subset(workdir))

    now = datetime.datetime.now(tz=datetime.UTC)
    with transaction.atomic():
        records = []
        users = []
        for index in range(citizens):
            name, id_number = _name(index), _resident_id(index)
            records.append(
                PopulationRecord(
                    id_number=id_number,
                    name=name,
                    gender=PopulationRecord.Gender.MALE,
                    birth_date=datetime.date(
                        int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])
                    ),
                    household_region_code="330106",
                    household_address="浙江省杭州市西湖区文新街道文一西路1号",
                )
            )
            user = User(
                phone=f"139{index:08d}",
                name=name,
                id_number=id_number,
                assurance_level=AssuranceLevel.L2,
                verified_at=now,
            )
            user.set_unusable_password()
            users.append(user)
        PopulationRecord.objects.bulk_create(records, batch_size=1000)
        User.objects.bulk_create(users, batch_size=1000)
        people = People(citizens=[], staff={})
        for user in User.objects.filter(phone__startswith="139").order_by("phone"):
            _, secret = api_token_create(user=user, name="benchmark")
            people.citizens.append((user.name, user.id_number or "", user.phone, secret))

        staff_index = 0
        for department in Department.objects.filter(code__in=codes):
            people.staff[department.code] = {}
            for role in STAFF_ROLES:
                tokens = []
                for _ in range(staff_per_role):
                    staff_index += 1
                    user = User(
                        phone=f"138{staff_index:08d}",
                        name=_name(10_000_000 + staff_index),
                        id_number=_resident_id(5_000_000 + staff_index),
                        assurance_level=AssuranceLevel.L2,
                        verified_at=now,
                    )
                    user.set_unusable_password()
                    user.save()
                    StaffRole.objects.create(user=user, department=department, role=role)
                    # As if made from a session that passed the second factor: staff
                    # tokens must be (identity.services.api_token_create).
                    _, secret = api_token_create(user=user, name="benchmark", second_factor=True)
                    tokens.append(secret)
                people.staff[department.code][role] = tokens
    return people


def _catalogue_subset(workdir: Path) -> Path:
    """The items driven, with the reference files, forms, processes and decisions they use."""
    source = ROOT / "catalog-data"
    root = workdir / "catalog"
    (root / "forms").mkdir(parents=True)
    for name in (
        "certificate-types.toml",
        "life-situations.toml",
        "standards.toml",
        "data-resources.toml",
    ):
        shutil.copy(source / name, root / name)
    for folder in ("processes", "decisions"):
        shutil.copytree(source / folder, root / folder)
    for code, folder in ITEM_FOLDERS.items():
        item = source / "items" / folder / f"{code}.toml"
        (root / "items" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(item, root / "items" / folder / item.name)
        form = tomllib.loads(item.read_text())["form"]
        shutil.copy(source / "forms" / f"{form}.json", root / "forms" / f"{form}.json")
    return root


def database_check(applications: Sequence[Application]) -> dict[str, int]:
    """What the database holds for the driven applications, read directly."""
    from yiwang.applications.models import Application as ApplicationRow
    from yiwang.applications.models import WorkTask

    ids = [a.id for a in applications if a.id is not None]
    rows = ApplicationRow.objects.filter(pk__in=ids)
    result = {
        "applications": rows.count(),
        "completed": rows.filter(status="completed", decision="granted").count(),
        "open_tasks": WorkTask.objects.filter(
            application_id__in=ids, state__in=["open", "claimed"]
        ).count(),
    }
    from django.db import connections

    connections.close_all()
    return result


# ---------------------------------------------------------------------------------------
# Report


def _machine() -> str:
    model = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model or platform.machine()}), Python {platform.python_version()}"
    )


def _database_version(database: str) -> str:
    from django.db import connection, connections

    if database == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        version = f"SQLite {sqlite3.sqlite_version}"
    connections.close_all()
    return version


def report(results: dict[str, Any]) -> str:
    phases = results["phases"]
    lines = [
        "",
        "Yiwang applications throughput",
        f"  date      {results['date']}",
        f"  machine   {results['machine']}",
        f"  database  {results['database_version']}",
        f"  server    gunicorn {results['worker_class']} × {results['workers']} workers"
        + (f" × {results['threads']} threads" if results["worker_class"] == "gthread" else ""),
        f"  load      {results['applications']} applications "
        f"({results['mix']}), {results['clients']} concurrent clients, "
        f"{results['warmup']} warm-up applications first",
        f"  wall time {results['wall_s']:.1f} s (setup {results['setup_s']:.1f} s)",
        "",
        f"  {'phase':<30}{'requests':>9}{'errors':>7}{'wall s':>8}{'req/s':>9}"
        f"{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"  {'CPU ms/request: web':>20}{'db':>6}{'client':>7}  {'cores: ours':>11}{'others':>7}",
    ]
    for phase in phases:
        cpu = phase["cpu_ms_per_request"]
        cpu_text = (
            f"{cpu['web']:>20.1f}{cpu['db']:>6.1f}{cpu['client']:>7.1f}"
            f"  {phase['cores_ours']:>11.2f}{phase['cores_others']:>7.2f}"
            if cpu
            else ""
        )
        lines.append(
            f"  {phase['label']:<30}{phase['requests']:>9}{phase['errors']:>7}"
            f"{phase['wall_s']:>8.2f}{phase['per_s']:>9.1f}{phase['p50_ms']:>9.1f}"
            f"{phase['p90_ms']:>9.1f}{phase['p99_ms']:>9.1f}{phase['max_ms']:>9.1f}  {cpu_text}"
        )
    figures = results["figures"]
    verdict = "PASS" if figures["ratio"] >= TARGET_RATIO else "BELOW TARGET"
    lines += [
        "",
        "  submission = the POST …/submit call alone (validate the form and the materials,",
        "  number the application, start its BPMN process, create the first task, the",
        "  timeline event and the inbox message, all in one transaction).",
        "",
        f"  submissions/s (submit call)          {figures['submissions_per_s']:>9.1f}",
        f"  applications/s (create+upload+submit){figures['sequences_per_s']:>9.1f}"
        f"   ({figures['sequence_requests_per_s']:.1f} requests/s)",
        f"  workflow steps/s                     {figures['steps_per_s']:>9.1f}"
        f"   ({figures['steps']} steps: accept, review, decide, deliver)",
        f"  baseline inserts/s                   {figures['baseline_per_s']:>9.1f}",
        f"  errors                               {figures['errors']:>9}",
        f"  completed applications               {figures['completed']:>9} "
        f"of {results['applications']}",
        "",
        f"  ratio = submissions/s ÷ baseline inserts/s = {figures['ratio']:.2f}"
        f"   (target ≥ {TARGET_RATIO}: {verdict})",
        f"  (create+upload+submit sequences/s ÷ baseline inserts/s = "
        f"{figures['sequence_ratio']:.2f}, for reference)",
    ]
    if figures["cpu_ratio"] is not None:
        lines.append(
            f"  (CPU per baseline insert ÷ CPU per submission = {figures['cpu_ratio']:.2f}:"
            " the ratio a CPU-bound machine allows)"
        )
    others = max((p["cores_others"] or 0.0 for p in phases), default=0.0)
    if others >= 0.2:
        lines += [
            "",
            f"  warning: other processes kept up to {others:.2f} cores busy during a phase;",
            "  the figures are lower than on a quiet machine (see the `others` column).",
        ]
    if results["error_samples"]:
        lines += ["", "  first errors:"]
        lines += [f"    {sample}" for sample in results["error_samples"]]
    if results["server_log_problems"]:
        lines += ["", "  server log problems (first 10):"]
        lines += [f"    {line}" for line in results["server_log_problems"][:10]]
    lines.append("")
    return "\n".join(lines)


def figures_compute(
    phases: list[Phase], baseline: Phase, applications: int, errors: int, completed: int
) -> dict[str, Any]:
    by_name: dict[str, list[Phase]] = {}
    for phase in phases:
        by_name.setdefault(phase.name, []).append(phase)
    submit = by_name["submit"][0]
    sequence = [by_name["draft"][0], by_name["upload"][0], submit]
    sequence_wall = sum(p.wall for p in sequence)
    steps = [p for name in STEPS for p in by_name.get(name, [])]
    steps_done = sum(p.ok for p in steps)
    steps_wall = sum(p.wall for p in steps)
    submissions_per_s = submit.throughput

    def cpu_per_request(phase: Phase) -> float:
        return sum(phase.cpu.get(n, 0.0) for n in ("web", "db", "client")) / max(1, phase.ok)

    baseline_per_s = baseline.throughput
    sequences_per_s = submit.ok / sequence_wall if sequence_wall else 0.0
    return {
        "submissions_per_s": round(submissions_per_s, 2),
        "sequences_per_s": round(sequences_per_s, 2),
        "sequence_requests_per_s": round(
            sum(p.ok for p in sequence) / sequence_wall if sequence_wall else 0.0, 2
        ),
        "steps": steps_done,
        "steps_per_s": round(steps_done / steps_wall if steps_wall else 0.0, 2),
        "baseline_per_s": round(baseline_per_s, 2),
        "ratio": round(submissions_per_s / baseline_per_s if baseline_per_s else 0.0, 3),
        "sequence_ratio": round(sequences_per_s / baseline_per_s if baseline_per_s else 0.0, 3),
        # The same comparison by CPU used per request, which load from others hardly moves.
        "cpu_ratio": round(cpu_per_request(baseline) / cpu_per_request(submit), 3)
        if cpu_per_request(submit)
        else None,
        "errors": errors,
        "completed": completed,
        "applications": applications,
    }


def profiles_summary(directory: Path, top: int = 30) -> str:
    """Merge each kind's worker profiles into DIR/<kind>.txt; say where they are."""
    import io
    import pstats

    queries: dict[str, list[int]] = {}
    for path in directory.glob("queries-*.json"):
        for kind, (requests, count) in json.loads(path.read_text()).items():
            total = queries.setdefault(kind, [0, 0])
            total[0] += requests
            total[1] += count
    lines = [
        f"  SQL queries per request: {kind} {count / requests:.1f}"
        for kind, (requests, count) in sorted(queries.items())
        if requests
    ]
    written = []
    for kind in sorted({path.name.split("-", 1)[0] for path in directory.glob("*-*.prof")}):
        files = sorted(str(path) for path in directory.glob(f"{kind}-*.prof"))
        out = io.StringIO()
        stats = pstats.Stats(files[0], stream=out)
        for other in files[1:]:
            stats.add(other)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        (directory / f"{kind}.txt").write_text(out.getvalue())
        written.append(f"{kind}.txt")
    lines.append(
        f"  CPU profiles (cumulative and own time) per kind of request: {directory}/"
        + ", ".join(written)
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Main


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", "-n", type=int, default=500, help="applications (N)")
    parser.add_argument("--clients", "-c", type=int, default=8, help="concurrent clients (C)")
    parser.add_argument(
        "--workers", "-w", type=int, default=2 * cpus + 1, help="gunicorn workers (W)"
    )
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--baseline-requests", type=int, default=None, help="baseline requests (default: N)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="submissions and baseline inserts take turns in this many rounds",
    )
    parser.add_argument(
        "--warmup", type=int, default=None, help="unmeasured applications first (default: 2W)"
    )
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--smoke", action="store_true", help="a quick check: N=5, C=2, W=2")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database and the working directory"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile the server per kind of request into this directory (slows it down)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.applications, args.clients, args.workers = 5, 2, 2
        args.warmup = 0 if args.warmup is None else args.warmup
    if args.warmup is None:
        args.warmup = 2 * args.workers
    if args.baseline_requests is None:
        args.baseline_requests = args.applications
    if min(args.applications, args.clients, args.workers, args.threads, args.rounds) < 1:
        parser.error(
            "--applications, --clients, --workers, --threads and --rounds must be at least 1"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    began = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="yiwang-bench-"))
    env = {
        key: value
        for key, value in os.environ.items()
        # What the benchmark decides, or leaves at the production default.
        if key
        not in ("DATABASE_URL", "MEDIA_ROOT", "YIWANG_DATA_DIR", "LOG_LEVEL", "BENCH_PROFILE_DIR")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        YIWANG_HTTPS="0",
        DEBUG="0",
        YIWANG_DATA_DIR=str(workdir),
    )
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for stale in args.profile.glob("*.prof"):
            stale.unlink()
        env["BENCH_PROFILE_DIR"] = str(args.profile.resolve())
    try:
        with (
            postgres_database(args.keep)
            if args.database == "postgres"
            else _nothing(str(workdir / "db.sqlite3")) as database_url
        ):
            if args.database == "postgres":
                env["DATABASE_URL"] = database_url
            return _run(args, env, workdir, began)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _nothing(value: str) -> Iterator[str]:
    yield value


def _run(args: argparse.Namespace, env: dict[str, str], workdir: Path, began: float) -> int:
    os.environ.clear()
    os.environ.update(env)
    import logging

    import django

    django.setup()
    # The server logs at the production level; the loading here need not.
    logging.getLogger().setLevel(logging.WARNING)
    total = args.applications + args.warmup
    print(f"loading: {total} citizens, staff, the catalogue subset ({args.database}) …", flush=True)
    people = database_load(citizens=total, staff_per_role=max(1, args.clients), workdir=workdir)
    database_version = _database_version(args.database)
    applications = []
    items = (MIGRATION, SSCARD)
    for index, (name, id_number, phone, token) in enumerate(people.citizens):
        item_code = items[index % 2]
        applications.append(
            Application(
                index=index,
                item_code=item_code,
                token=token,
                form_data=form_for(item_code, name=name, id_number=id_number, phone=phone),
            )
        )
    warmup, measured = applications[: args.warmup], applications[args.warmup :]
    setup_s = time.perf_counter() - began

    print(
        f"serving: gunicorn {args.worker_class} × {args.workers} on {HOST} (bench.settings) …",
        flush=True,
    )
    errors = ErrorLog()
    with gunicorn(
        env,
        workdir,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
    ) as (port, server_pid):
        workload = Workload(
            port=port,
            clients=args.clients,
            staff=people.staff,
            citizen_tokens=[c[3] for c in people.citizens[args.warmup :]],
            errors=errors,
        )
        if warmup:
            print(f"warm-up: {len(warmup)} applications, {len(warmup)} baseline requests …")
            drive(workload, warmup, baseline_requests=len(warmup), rounds=1, label="warm-up ")
        workload.meter = CpuMeter(server_pid, args.database)
        print(
            f"measuring: {len(measured)} applications, {args.baseline_requests} baseline "
            f"requests, {args.clients} clients …",
            flush=True,
        )
        phases = drive(
            workload,
            measured,
            baseline_requests=args.baseline_requests,
            rounds=min(args.rounds, len(measured)),
        )
        baseline = phases[-1]
    check = database_check(measured)
    completed = check["completed"]
    if check["open_tasks"]:
        errors.add(f"{check['open_tasks']} staff tasks are still open after delivery")
    if completed != len(measured):
        errors.add(f"only {completed} of {len(measured)} applications completed")
    problems = server_log_problems(workdir)
    results = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "database": args.database,
        "database_version": database_version,
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "clients": args.clients,
        "applications": len(measured),
        "mix": f"{ITEM_LABELS[MIGRATION]} {MIGRATION} and {ITEM_LABELS[SSCARD]} {SSCARD}, "
        "alternately",
        "warmup": len(warmup),
        "baseline_requests": args.baseline_requests,
        "setup_s": setup_s,
        "wall_s": time.perf_counter() - began,
        "phases": [p.summary() for p in phases],
        "figures": figures_compute(
            [p for p in phases if p is not baseline],
            baseline,
            len(measured),
            errors.count,
            completed,
        ),
        "error_samples": errors.samples,
        "server_log_problems": problems,
        "database_check": check,
    }
    print(report(results), flush=True)
    if args.profile:
        print(profiles_summary(args.profile), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0 if errors.count == 0 and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
