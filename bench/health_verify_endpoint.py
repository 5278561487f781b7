"""Benchmark: the online health-code check, ``POST /api/v1/health/codes/verify``, under load.

    .venv/bin/python bench/health_verify_endpoint.py [--codes N] [--clients C] [--workers W]
        [--rounds R] [--database postgres|sqlite] [--smoke] [--json PATH]

What it does (docs/benchmarks.md explains the figures):

1. Starts the throwaway PostgreSQL of ``scripts/postgres.sh`` if it is not running (as
   ``bench/applications_throughput.py`` does), creates a fresh database, migrates it, loads
   the regions and 杭州市卫生健康委员会, N verified people with colours in turn green,
   yellow, red, and issues each her health code with ``codes.health_code_issue`` (which
   makes the department's signing key). Codes live an hour here (``HEALTH_CODE_SECONDS``),
   so that none expires during the run.
2. Serves ``config.wsgi`` with ``bench.settings`` under gunicorn on 127.0.0.1 (the API's
   rate limits raised, as for the other benchmarks).
3. **floor**: the same endpoint asked about a text that is not a health code (a web link):
   the same middleware, JSON body, schema, throttle and trust-store lookup, the answer
   ``wrong_prefix`` at the first step, so no decoding and no signature. **verify**: every
   one of the N codes, each answer checked (valid, the colour and action it was issued
   with, the masked name). C clients; floor and verify take turns in R rounds.
4. Prints throughput, p50/p99 latency and CPU per request of both, the ratio verify/floor,
   and what the CPU per check means for the peaks the reports quote (Guangzhou's daily
   average of 1,150 codes a second, Hainan's peak of 60,000 verifications a second). The
   figures are printed, never asserted.

Every request goes to 127.0.0.1 only; every loop runs over a fixed amount of work.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import applications_throughput
from bench.applications_throughput import (
    HOST,
    Client,
    CpuMeter,
    HttpError,
    Phase,
    _database_version,
    _machine,
    _name,
    _resident_id,
    gunicorn,
    percentile,
    postgres_database,
    server_log_problems,
)

VERIFY = "/api/v1/health/codes/verify"
FLOOR_TEXT = "https://www.hangzhou.gov.cn/"
COLOURS = ("green", "yellow", "red")
ACTIONS = {"green": "pass", "yellow": "flag", "red": "refuse"}
# Health codes a second, from docs (DOMAIN.md): Guangzhou's daily average, Hainan's peak.
PEAKS = {"Guangzhou, daily average": 1_150, "Hainan, peak": 60_000}
CODE_SECONDS = 3600
BENCH_DATABASE = "yiwang_bench_health_codes"


@dataclass(frozen=True)
class Issued:
    text: str
    colour: str
    masked_name: str


def database_load(count: int) -> list[Issued]:
    """Regions, the city's health department, N people with colours, a code each."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from yiwang.core.models import Region
    from yiwang.core.regions import regions_load
    from yiwang.health import codes
    from yiwang.health.models import HealthStatus
    from yiwang.identity.models import AssuranceLevel, Department, User

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    regions_load(township_city_codes=[])
    Department.objects.create(
        code="330100-WJ",
        name="杭州市卫生健康委员会",
        kind=Department.Kind.HEALTH,
        region=Region.objects.get(code="330100"),
    )
    now = timezone.now()
    with transaction.atomic():
        people = []
        for index in range(count):
            person = User(
                phone=f"139{index:08d}",
                name=_name(index),
                id_number=_resident_id(index),
                assurance_level=AssuranceLevel.L2,
                verified_at=now,
            )
            person.set_unusable_password()
            people.append(person)
        User.objects.bulk_create(people, batch_size=1000)
        people = list(User.objects.filter(phone__startswith="139").order_by("phone"))
        HealthStatus.objects.bulk_create(
            [
                HealthStatus(
                    person=person,
                    colour=COLOURS[index % len(COLOURS)],
                    source=HealthStatus.Source.RULES,
                    rule_id="bench",
                    evaluated_at=now,
                    created_at=now,
                )
                for index, person in enumerate(people)
            ],
            batch_size=1000,
        )
    issued = []
    for person in people:
        code = codes.health_code_issue(person=person)
        issued.append(Issued(code.text, code.colour, code.masked_name))
    from django.db import connections

    connections.close_all()
    return issued


def run_calls(port: int, jobs: Sequence[Issued | None], clients: int, phase: Phase) -> None:
    """Check every job's text (None: the floor's text) from C clients at once."""
    chunks = [jobs[i::clients] for i in range(clients)]
    lock = threading.Lock()

    def work(chunk: Sequence[Issued | None]) -> None:
        client = Client(port)
        try:
            for job in chunk:
                text = FLOOR_TEXT if job is None else job.text
                try:
                    status, data, elapsed = client.request("POST", VERIFY, json_body={"text": text})
                except (HttpError, ValueError, OSError) as exc:
                    with lock:
                        phase.errors.append(f"{phase.name}: {type(exc).__name__}: {exc}")
                    continue
                problem = answer_problem(job, status, data)
                with lock:
                    if problem:
                        phase.errors.append(f"{phase.name}: {problem}")
                    else:
                        phase.latencies.append(elapsed)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.wall += time.perf_counter() - started


def answer_problem(job: Issued | None, status: int, data: Any) -> str:
    """What is wrong with an answer ("" when it is the one expected)."""
    if status != 200 or not isinstance(data, dict):
        return f"HTTP {status} {str(data)[:160]}"
    if job is None:
        wanted = {"valid": False, "verdict": "wrong_prefix", "colour": None, "action": None}
    else:
        wanted = {
            "valid": True,
            "verdict": None,
            "colour": job.colour,
            "action": ACTIONS[job.colour],
            "masked_name": job.masked_name,
            "region": "330100",
        }
    got = {key: data.get(key) for key in wanted}
    return "" if got == wanted else f"expected {wanted}, got {got}"


def report(results: dict[str, Any]) -> str:
    f = results["figures"]
    lines = [
        "",
        "Yiwang health-code check endpoint benchmark (POST /api/v1/health/codes/verify)",
        f"  date      {results['date']}",
        f"  machine   {results['machine']}",
        f"  database  {results['database_version']}",
        f"  server    gunicorn sync × {results['workers']} workers; {results['clients']} "
        f"clients; {results['codes']} codes, {results['rounds']} rounds",
        "",
        f"  {'phase':<8}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}   CPU ms/request: web    db",
    ]
    for phase in results["phases"]:
        cpu = phase["cpu_ms_per_request"]
        lines.append(
            f"  {phase['name']:<8}{phase['requests']:>9}{phase['errors']:>7}{phase['per_s']:>9}"
            f"{phase['p50_ms']:>9}{phase['p99_ms']:>9}{phase['max_ms']:>9}"
            f"{cpu.get('web', 0):>22}{cpu.get('db', 0):>6}"
        )
    lines += [
        "",
        f"  floor = the same endpoint answering a text that is not a health code "
        f"({FLOOR_TEXT}): everything but the decoding and the signature.",
        f"  checks/s {f['verify_per_s']}, floor req/s {f['floor_per_s']}; "
        f"ratio = checks/s ÷ floor req/s = {f['ratio']:.2f}",
        f"  added by the check itself: p50 {f['added_p50_ms']} ms, p99 {f['added_p99_ms']} ms; "
        f"CPU {f['added_cpu_ms']} ms per check (web + db)",
        f"  CPU per check, all included: {f['cpu_ms_per_check']} ms → about "
        f"{f['checks_per_core_s']:,.0f} checks per core-second",
    ]
    for label, rate in PEAKS.items():
        cores = f["cores_for"][label]
        lines.append(f"    {label}: {rate:,} codes/s would need about {cores:,.1f} such cores")
    lines.append(f"  errors: {f['errors']}")
    return "\n".join(lines)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", "-n", type=int, default=2000, help="codes checked (N)")
    parser.add_argument("--clients", "-c", type=int, default=8)
    parser.add_argument("--workers", "-w", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--smoke", action="store_true", help="n=24, c=2, w=2, 2 rounds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the database and workdir")
    args = parser.parse_args(argv)
    if args.smoke:
        args.codes, args.clients, args.workers, args.rounds = 24, 2, 2, 2
    if min(args.codes, args.clients, args.workers, args.rounds) < 1:
        parser.error("--codes, --clients, --workers and --rounds must be at least 1")
    return args


@contextmanager
def _nothing(value: str) -> Iterator[str]:
    yield value


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    # A database of its own on the shared server, so that it can run beside the others.
    applications_throughput.BENCH_DATABASE = BENCH_DATABASE
    workdir = Path(tempfile.mkdtemp(prefix="yiwang-bench-health-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "YIWANG_DATA_DIR", "HEALTH_CODE_DEPARTMENT")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        YIWANG_HTTPS="0",
        DEBUG="0",
        YIWANG_DATA_DIR=str(workdir),
        HEALTH_EMERGENCY_ENABLED="1",
        HEALTH_CODE_SECONDS=str(CODE_SECONDS),
    )
    try:
        with (
            postgres_database(args.keep)
            if args.database == "postgres"
            else _nothing(str(workdir / "db.sqlite3"))
        ) as database_url:
            if args.database == "postgres":
                env["DATABASE_URL"] = database_url
            return _run(args, env, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> int:
    os.environ.clear()
    os.environ.update(env)
    import logging

    import django

    django.setup()
    logging.getLogger().setLevel(logging.WARNING)
    print(f"loading: regions, the health department, {args.codes} people and codes …", flush=True)
    issued = database_load(args.codes)
    database_version = _database_version(args.database)
    floor, verify = Phase("floor", "not a health code"), Phase("verify", "health codes")
    rounds = max(1, min(args.rounds, len(issued)))
    with gunicorn(env, workdir, workers=args.workers, worker_class="sync", threads=1) as (
        port,
        server_pid,
    ):
        # Each worker builds its verifier and opens its connection before the measurement.
        warm = issued[: min(len(issued), 4 * args.workers)]
        run_calls(port, warm, args.clients, Phase("warm", ""))
        run_calls(port, [None] * len(warm), args.clients, Phase("warm", ""))
        meter = CpuMeter(server_pid, args.database)
        for index in range(rounds):
            part = issued[index::rounds]
            for jobs, phase in (([None] * len(part), floor), (part, verify)):
                before = meter.sample()
                run_calls(port, jobs, args.clients, phase)
                for name, value in meter.used(before, meter.sample()).items():
                    phase.cpu[name] = phase.cpu.get(name, 0.0) + value
        print(f"served {floor.requests + verify.requests} measured calls on {HOST}:{port}")
    floor_latencies, verify_latencies = sorted(floor.latencies), sorted(verify.latencies)
    errors = len(floor.errors) + len(verify.errors)

    def cpu_ms(phase: Phase) -> float:
        return sum(phase.cpu.get(name, 0.0) for name in ("web", "db")) * 1000 / max(1, phase.ok)

    per_check = cpu_ms(verify)
    results = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "database": args.database,
        "database_version": database_version,
        "workers": args.workers,
        "clients": args.clients,
        "codes": len(issued),
        "rounds": rounds,
        "phases": [floor.summary(), verify.summary()],
        "figures": {
            "floor_per_s": round(floor.throughput, 1),
            "verify_per_s": round(verify.throughput, 1),
            "ratio": round(verify.throughput / floor.throughput, 3) if floor.throughput else 0.0,
            "added_p50_ms": round(
                (percentile(verify_latencies, 50) - percentile(floor_latencies, 50)) * 1000, 1
            ),
            "added_p99_ms": round(
                (percentile(verify_latencies, 99) - percentile(floor_latencies, 99)) * 1000, 1
            ),
            "added_cpu_ms": round(per_check - cpu_ms(floor), 2),
            "cpu_ms_per_check": round(per_check, 2),
            "checks_per_core_s": round(1000 / per_check, 1) if per_check else 0.0,
            "cores_for": {
                label: round(rate * per_check / 1000, 1) for label, rate in PEAKS.items()
            },
            "colours": {
                colour: sum(1 for code in issued if code.colour == colour) for colour in COLOURS
            },
            "errors": errors,
        },
        "error_samples": (floor.errors + verify.errors)[:5],
        "server_log_problems": server_log_problems(workdir),
    }
    print(report(results), flush=True)
    for sample in results["error_samples"]:
        print(f"  error: {sample}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    ok = errors == 0 and floor.ok == verify.ok == len(issued) and not results["server_log_problems"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
