"""Benchmark: a provider call made directly and through the exchange gateway; log verification.

The requirement (data-exchange issue): *on loopback, the same provider call made directly
and through the gateway (grant check, masking, log write) with concurrent clients: report
p50/p99 added latency and the throughput ratio gateway/direct. Target: ratio at least 0.7
on PostgreSQL, and log verification of 1 million records in under a minute.*

1. Loads the exchange's departments, the resource catalogue, a consumer system with a
   token and a grant for five fields of ``population-basic``, and N residents.
2. Serves ``config.wsgi`` with ``bench.settings`` under gunicorn. *Direct* is
   ``GET /bench/provider/population-basic?subject=…`` (``bench/urls.py``): the same consumer
   authentication, then the provider. *Gateway* is
   ``GET /r1/CN-ZJ/GOV/330100-GA/registry/population-basic?subject=…`` with the
   X-Road headers: authentication, purpose and subject checks, grant, rate limit, the
   provider, field selection and masking, and the hash-chained log append.
3. Direct and gateway calls take turns in rounds, C clients each, every subject once.
4. Fills the log up to ``--log-records`` records (chained like real ones) and times
   ``log_verify`` over all of them.

Run: ``.venv/bin/python bench/exchange_gateway.py`` (PostgreSQL, N=2000, C=8, 1M records);
``--smoke --database sqlite`` is the quick check the test suite runs. Prints PASS or BELOW
TARGET; never asserts speed.
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
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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

TARGET_RATIO = 0.7
TARGET_VERIFY_S = 60.0
CLIENT_ID = "CN-ZJ/GOV/330106-GA/bench-system"
GATEWAY = "/r1/CN-ZJ/GOV/330100-GA/registry/population-basic"
DIRECT = "/bench/provider/population-basic"
FIELDS = ["name", "gender", "birth_date", "household_address", "status"]
DEPARTMENTS = {
    "330100-GA": ("杭州市公安局", "public_security"),
    "330100-WJ": ("杭州市卫生健康委员会", "health"),
    "330100-MZ": ("杭州市民政局", "civil_affairs"),
    "330100-RS": ("杭州市人力资源和社会保障局", "human_resources"),
    "330100-YB": ("杭州市医疗保障局", "medical_security"),
    "330100-GJJ": ("杭州住房公积金管理中心", "housing_fund"),
    "330100-SJ": ("杭州市市场监督管理局", "market_regulation"),
    "330100-DSJ": ("杭州市数据资源管理局", "data_resources"),
    "330100-JT": ("杭州市交通运输局", "transport"),
    "330106-GA": ("杭州市公安局西湖区分局", "public_security"),
}


def database_load(subjects: int) -> tuple[list[str], str]:
    """Departments, catalogue, one consumer system with its grant, N residents."""
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from yiwang.core.models import Region
    from yiwang.core.regions import regions_load
    from yiwang.exchange.models import AccessGrant, ConsumerSystem, DataResource, PopulationRecord
    from yiwang.exchange.services import consumer_system_token_hash, data_resources_load
    from yiwang.identity.models import Department

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    regions_load(township_city_codes=[])
    city = Region.objects.get(code="330100")
    for code, (name, kind) in DEPARTMENTS.items():
        Department.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "region": city}
        )
    data_resources_load(path=settings.BASE_DIR / "catalog-data" / "data-resources.toml")
    token = "ywx_bench_" + os.urandom(16).hex()
    system = ConsumerSystem.objects.create(
        department=Department.objects.get(code="330106-GA"),
        code="bench-system",
        name="基准测试系统",
        token_hash=consumer_system_token_hash(token),
        rate_limit_per_minute=10_000_000,
    )
    now = timezone.now()
    AccessGrant.objects.create(
        consumer=system,
        resource=DataResource.objects.get(code="population-basic"),
        fields=FIELDS,
        clear_fields=["name"],
        purpose="基准测试",
        legal_basis="基准测试",
        duration_days=1,
        status=AccessGrant.Status.APPROVED,
        valid_from=now - datetime.timedelta(minutes=1),
        expires_at=now + datetime.timedelta(days=1),
    )
    ids = [_resident_id(index) for index in range(subjects)]
    PopulationRecord.objects.bulk_create(
        [
            PopulationRecord(
                id_number=id_number,
                name=_name(index),
                gender="M",
                birth_date=datetime.date(1970, 1, 1) + datetime.timedelta(days=index // 400),
                household_region_code="330106012",
                household_address="浙江省杭州市西湖区蒋村街道岚湖家园6幢1单元1202室",
            )
            for index, id_number in enumerate(ids)
        ],
        batch_size=1000,
    )
    return ids, token


def run_calls(
    port: int, token: str, subjects: Sequence[str], clients: int, kind: str, phase: Phase
) -> None:
    headers = {"X-Road-Client": CLIENT_ID, "X-Road-Purpose": urllib.parse.quote("基准测试")}
    path = GATEWAY if kind == "gateway" else DIRECT
    chunks = [subjects[i::clients] for i in range(clients)]
    lock = threading.Lock()

    def work(chunk: Sequence[str]) -> None:
        client = Client(port)
        try:
            for subject in chunk:
                try:
                    status, data, elapsed = client.request(
                        "GET", f"{path}?subject={subject}", token=token, headers=headers
                    )
                except (HttpError, ValueError, OSError) as exc:
                    with lock:
                        phase.errors.append(f"{kind} {subject}: {type(exc).__name__}: {exc}")
                    continue
                records = data.get("records") if isinstance(data, dict) else None
                with lock:
                    if status == 200 and isinstance(records, list) and len(records) == 1:
                        phase.latencies.append(elapsed)
                    else:
                        phase.errors.append(f"{kind} {subject}: HTTP {status} {str(data)[:160]}")
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.wall += time.perf_counter() - started


def log_fill(total: int) -> float:
    """Append chained records until the log holds ``total``; returns the seconds it took."""
    from django.db import transaction
    from django.utils import timezone

    from yiwang.exchange.log import HASHED_FIELDS, record_hash
    from yiwang.exchange.models import GENESIS_HASH, ExchangeLogHead, ExchangeLogRecord

    started = time.perf_counter()
    last = ExchangeLogRecord.objects.order_by("-seq").values_list("seq", "record_hash").first()
    seq, previous = last if last else (0, GENESIS_HASH)
    moment = timezone.now()
    batch: list[ExchangeLogRecord] = []
    with transaction.atomic():
        while seq < total:
            seq += 1
            values = {
                "created_at": moment,
                "request_id": f"fill-{seq}",
                "consumer": CLIENT_ID.split("/", 2)[2],
                "provider": "330100-GA",
                "service": "population-basic",
                "purpose": "基准测试",
                "issue": "",
                "subject_digest": f"{seq:064x}",
                "subject_masked": "3301**********0011",
                "fields": ",".join(FIELDS),
                "request_digest": f"{seq:064x}",
                "response_digest": f"{seq:064x}",
                "outcome": "ok",
                "status_code": 200,
            }
            digest = record_hash(previous, tuple(values[name] for name in HASHED_FIELDS))
            batch.append(
                ExchangeLogRecord(seq=seq, prev_hash=previous, record_hash=digest, **values)
            )
            previous = digest
            if len(batch) == 10_000:
                ExchangeLogRecord.objects.bulk_create(batch)
                batch = []
        if batch:
            ExchangeLogRecord.objects.bulk_create(batch)
        ExchangeLogHead.objects.update_or_create(
            pk=1, defaults={"seq": seq, "record_hash": previous}
        )
    return time.perf_counter() - started


def report(results: dict[str, Any]) -> str:
    lines = [
        "",
        "Yiwang exchange gateway benchmark",
        f"  date      {results['date']}",
        f"  machine   {results['machine']}",
        f"  database  {results['database_version']}",
        f"  server    gunicorn sync × {results['workers']} workers; {results['clients']} clients",
        "",
        f"  {'phase':<10}{'requests':>9}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"   CPU ms/request: web    db",
    ]
    for phase in results["phases"]:
        cpu = phase["cpu_ms_per_request"]
        lines.append(
            f"  {phase['name']:<10}{phase['requests']:>9}{phase['errors']:>7}{phase['per_s']:>9}"
            f"{phase['p50_ms']:>9}{phase['p99_ms']:>9}"
            f"{cpu.get('web', 0):>22}{cpu.get('db', 0):>6}"
        )
    f = results["figures"]
    verdict = "PASS" if f["ratio"] >= TARGET_RATIO else "BELOW TARGET"
    verify = (
        "PASS"
        if f["verify_s"] < TARGET_VERIFY_S and f["log_records"] >= 1_000_000
        else ("BELOW TARGET" if f["log_records"] >= 1_000_000 else "not measured at 1 million")
    )
    lines += [
        "",
        f"  added latency p50 {f['added_p50_ms']} ms, p99 {f['added_p99_ms']} ms",
        f"  ratio = gateway req/s ÷ direct req/s = {f['ratio']:.2f}   "
        f"(target ≥ {TARGET_RATIO}: {verdict})",
        f"  log verification: {f['log_records']} records in {f['verify_s']:.1f} s "
        f"({f['verify_per_s']:,.0f} records/s; "
        f"target < {TARGET_VERIFY_S:.0f} s for 1 million: {verify})",
        f"  log intact: {f['log_intact']}; filling the log took {f['fill_s']:.1f} s",
        f"  errors: {f['errors']}",
    ]
    return "\n".join(lines)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subjects", "-n", type=int, default=2000, help="calls of each kind")
    parser.add_argument("--clients", "-c", type=int, default=8)
    parser.add_argument("--workers", "-w", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--log-records", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--smoke", action="store_true", help="n=20, c=2, w=2, 2,000 log records")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.subjects, args.clients, args.workers, args.log_records = 20, 2, 2, 2000
    return args


@contextmanager
def _nothing(value: str) -> Iterator[str]:
    yield value


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    workdir = Path(tempfile.mkdtemp(prefix="yiwang-bench-exchange-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "YIWANG_DATA_DIR")}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        YIWANG_HTTPS="0",
        DEBUG="0",
        YIWANG_DATA_DIR=str(workdir),
        EXCHANGE_LOG_CHECKPOINT_EVERY="100000",
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
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> int:
    os.environ.clear()
    os.environ.update(env)
    import logging

    import django

    django.setup()
    logging.getLogger().setLevel(logging.WARNING)
    print(f"loading: catalogue, a consumer system, {args.subjects} residents …", flush=True)
    subjects, token = database_load(args.subjects)
    direct, gateway = (
        Phase("direct", "direct provider call"),
        Phase("gateway", "through the gateway"),
    )
    rounds = max(1, min(args.rounds, len(subjects)))
    with gunicorn(env, workdir, workers=args.workers, worker_class="sync", threads=1) as (
        port,
        server_pid,
    ):
        warm = subjects[: min(len(subjects), 4 * args.workers)]
        run_calls(port, token, warm, args.clients, "direct", Phase("warm", ""))
        run_calls(port, token, warm, args.clients, "gateway", Phase("warm", ""))
        meter = CpuMeter(server_pid, args.database)
        for index in range(rounds):
            part = subjects[index::rounds]
            for kind, phase in (("direct", direct), ("gateway", gateway)):
                before = meter.sample()
                run_calls(port, token, part, args.clients, kind, phase)
                for name, value in meter.used(before, meter.sample()).items():
                    phase.cpu[name] = phase.cpu.get(name, 0.0) + value
        print(f"served {direct.requests + gateway.requests} measured calls on {HOST}:{port}")
    from yiwang.exchange.log import log_verify
    from yiwang.exchange.models import ExchangeLogRecord

    print(f"filling the log to {args.log_records} records …", flush=True)
    fill_s = log_fill(max(args.log_records, ExchangeLogRecord.objects.count()))
    print("verifying the log …", flush=True)
    started = time.perf_counter()
    verified = log_verify()
    verify_s = time.perf_counter() - started
    d, g = sorted(direct.latencies), sorted(gateway.latencies)
    errors = len(direct.errors) + len(gateway.errors)
    results = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _machine(),
        "database": args.database,
        "database_version": _database_version(args.database),
        "workers": args.workers,
        "clients": args.clients,
        "phases": [direct.summary(), gateway.summary()],
        "figures": {
            "direct_per_s": round(direct.throughput, 1),
            "gateway_per_s": round(gateway.throughput, 1),
            "ratio": round(gateway.throughput / direct.throughput, 3) if direct.throughput else 0.0,
            "added_p50_ms": round((percentile(g, 50) - percentile(d, 50)) * 1000, 1),
            "added_p99_ms": round((percentile(g, 99) - percentile(d, 99)) * 1000, 1),
            "log_records": verified.records,
            "log_intact": verified.ok,
            "fill_s": round(fill_s, 1),
            "verify_s": round(verify_s, 2),
            "verify_per_s": round(verified.records / verify_s) if verify_s else 0,
            "errors": errors,
        },
        "error_samples": (direct.errors + gateway.errors)[:5],
        "server_log_problems": server_log_problems(workdir),
    }
    print(report(results), flush=True)
    for sample in results["error_samples"]:
        print(f"  error: {sample}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    ok = (
        errors == 0
        and direct.ok == gateway.ok == len(subjects)
        and verified.ok
        and not results["server_log_problems"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
