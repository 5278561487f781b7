"""Benchmark: contact tracing's same-venue query (同场所/同行程) over 100 million check-ins.

The requirement (contact-tracing issue): *the same-venue query of a confirmed case with
20 visits, over the check-ins of a city of 10 million for 10 days (100 million rows), in
under 1 second on PostgreSQL.*

What it does:

1. Starts the throwaway PostgreSQL of ``scripts/postgres.sh`` if it is not running (and
   stops it at the end only then; ``YIWANG_PG_DIR`` and ``YIWANG_PG_PORT`` choose another
   instance), creates a fresh database ``yiwang_bench_tracing`` and migrates the health
   app into it, so ``health_venuecheckin`` has its real columns and indexes, the BRIN
   index of migration 0003 included.
2. Copies that table's layout into a schema ``bench`` (``CREATE TABLE … (LIKE … INCLUDING
   ALL)``: columns, defaults and every index, no foreign keys, whose 10 million accounts and
   venues the query never reads), drops the indexes, bulk-loads ``--rows`` synthetic
   check-ins with one ``INSERT … SELECT FROM generate_series`` per 10 million rows, rebuilds
   the indexes from their definitions, then ``VACUUM ANALYZE``. The check-ins arrive in
   time order, 07:00–22:00 each day, 20% of them at 1,000 busy venues (stations, malls),
   the rest spread over the other venues; people are drawn at random.
3. Adds ``--cases`` confirmed cases with ``--visits`` check-ins each (a quarter of them at
   busy venues), and, around each case's first visit, four planted people: exactly at
   either bound of the reach (found) and a minute beyond it (not found).
4. With ``search_path`` set to ``bench``, runs for each case the queries the service runs,
   through the ORM (``yiwang.health.tracing.case_visits`` then ``checkins_near``, one
   query over the ``(venue, checked_in_at)`` index), ``--repeat`` times; checks every result
   set against the same rule written as a join (and the planted people); and, as the
   baseline, reads as many rows by a primary-key range. Prints load time, table and index
   sizes, p50/p99 of both, their ratio and the plan. The target is printed, never asserted.

Run: ``.venv/bin/python bench/health_same_trip.py`` (PostgreSQL, 100 million rows, ~20 GB
of disk) or ``--rows 10000000``. ``--smoke`` runs a few thousand rows through the real
tables of whatever database Django is configured for (the test database when the suite
runs it, ``bench/test_health_same_trip.py``, else a temporary SQLite file) and checks the
result sets against a brute-force computation; it measures nothing worth reading.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.applications_throughput import postgres_database  # noqa: E402

BENCH_DATABASE = "yiwang_bench_tracing"
SCHEMA = "bench"
TABLE = "health_venuecheckin"
TARGET_SECONDS = 1.0
MARGIN_MINUTES = 30
STAY_MINUTES = 60
CHUNK_ROWS = 10_000_000
BUSY_VENUES = 1_000
BUSY_SHARE = 0.2
# Check-ins happen from 07:00 to 22:00 (local time) on each day.
DAY_START_HOURS = 7
DAY_HOURS = 15
FIRST_DAY = datetime.date(2026, 11, 11)


@dataclass(frozen=True)
class Scale:
    rows: int
    people: int
    venues: int
    days: int
    cases: int
    visits: int
    repeat: int


def scale_for(args: argparse.Namespace) -> Scale:
    if args.smoke:
        return Scale(rows=3_000, people=300, venues=40, days=3, cases=3, visits=5, repeat=2)
    rows = args.rows
    return Scale(
        rows=rows,
        people=args.people or max(1_000, rows // 10),
        venues=args.venues or max(2 * BUSY_VENUES, rows // 500),
        days=args.days,
        cases=args.cases,
        visits=args.visits,
        repeat=args.repeat,
    )


# ---------------------------------------------------------------------------------------
# Figures


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _machine() -> str:
    model = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    return f"{os.cpu_count()} CPUs ({model or platform.machine()}){memory}"


# ---------------------------------------------------------------------------------------
# The query, as the service runs it


@dataclass(frozen=True)
class Case:
    person_id: int
    planted_in: frozenset[int]
    planted_out: frozenset[int]


def _window() -> tuple[datetime.datetime, datetime.datetime]:
    from django.utils import timezone

    start = timezone.make_aware(datetime.datetime.combine(FIRST_DAY, datetime.time.min))
    return start, start + datetime.timedelta(days=40)


def trace_query(case: Case) -> tuple[list[Any], list[tuple[int, int, datetime.datetime]], float]:
    """The case's visits and everyone near them, and the seconds both queries took."""
    from yiwang.health import tracing

    window_from, window_until = _window()
    started = time.perf_counter()
    visits = tracing.case_visits(
        person_id=case.person_id, window_from=window_from, window_until=window_until
    )
    rows = list(
        tracing.checkins_near(
            visits,
            margin=datetime.timedelta(minutes=MARGIN_MINUTES),
            stay=datetime.timedelta(minutes=STAY_MINUTES),
            exclude_person_id=case.person_id,
        )
    )
    return visits, rows, time.perf_counter() - started


def trace_plan(case: Case) -> str:
    from yiwang.health import tracing

    window_from, window_until = _window()
    visits = tracing.case_visits(
        person_id=case.person_id, window_from=window_from, window_until=window_until
    )
    query = tracing.checkins_near(
        visits,
        margin=datetime.timedelta(minutes=MARGIN_MINUTES),
        stay=datetime.timedelta(minutes=STAY_MINUTES),
        exclude_person_id=case.person_id,
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        return query.explain(analyze=True, buffers=True)
    return query.explain()


def planted_check(case: Case, rows: Sequence[tuple[int, int, datetime.datetime]]) -> list[str]:
    people = {row[0] for row in rows}
    problems = [f"case {case.person_id}: planted {p} missing" for p in case.planted_in - people]
    problems += [f"case {case.person_id}: planted {p} found" for p in case.planted_out & people]
    return problems


# ---------------------------------------------------------------------------------------
# Smoke: a few thousand rows in the real tables, checked by brute force


def _rng_moment(rng: random.Random, day: int) -> datetime.datetime:
    from django.utils import timezone

    minutes = rng.randrange(DAY_HOURS * 60)
    naive = datetime.datetime.combine(
        FIRST_DAY + datetime.timedelta(days=day), datetime.time(DAY_START_HOURS)
    ) + datetime.timedelta(minutes=minutes)
    return timezone.make_aware(naive)


def smoke_load(scale: Scale) -> tuple[list[Case], dict[str, Any]]:
    """Accounts, venues and check-ins through the ORM (in the caller's transaction)."""
    from django.contrib.auth.hashers import make_password

    from yiwang.core.models import Region
    from yiwang.health.models import Venue, VenueCheckin
    from yiwang.identity.models import User

    rng = random.Random(20261120)
    started = time.perf_counter()
    password = make_password(None)
    extra = scale.cases * 5
    users = User.objects.bulk_create(
        User(phone=f"199{n:08d}", password=password, name=f"测试{n}")
        for n in range(scale.people + extra)
    )
    people, reserved = users[: scale.people], users[scale.people :]
    region = Region.objects.filter(code="330106").first() or Region.objects.create(
        code="330106", name="西湖区", level=Region.Level.COUNTY, full_name="浙江省杭州市西湖区"
    )
    venues = Venue.objects.bulk_create(
        Venue(
            code=f"bench-smoke-{n}",
            name=f"测试场所{n}",
            kind=Venue.Kind.SHOP,
            region=region,
            address="文三路1号",
            registered_by=users[0],
            contact_phone="13800000000",
        )
        for n in range(scale.venues)
    )
    checkins = []
    per_day = scale.rows // scale.days
    for day in range(scale.days):
        moments = sorted(_rng_moment(rng, day) for _ in range(per_day))
        checkins += [
            VenueCheckin(person=rng.choice(people), venue=rng.choice(venues), checked_in_at=at)
            for at in moments
        ]
    cases = []
    reach = datetime.timedelta(minutes=MARGIN_MINUTES + STAY_MINUTES)
    minute = datetime.timedelta(minutes=1)
    for index in range(scale.cases):
        case, *planted = reserved[index * 5 : index * 5 + 5]
        visits = [
            (rng.choice(venues), _rng_moment(rng, rng.randrange(scale.days)))
            for _ in range(scale.visits)
        ]
        checkins += [VenueCheckin(person=case, venue=v, checked_in_at=at) for v, at in visits]
        venue, at = visits[0]
        moments = [at - reach, at + reach, at - reach - minute, at + reach + minute]
        checkins += [
            VenueCheckin(person=p, venue=venue, checked_in_at=m)
            for p, m in zip(planted, moments, strict=True)
        ]
        cases.append(
            Case(
                person_id=case.pk,
                planted_in=frozenset(p.pk for p in planted[:2]),
                planted_out=frozenset(p.pk for p in planted[2:]),
            )
        )
    VenueCheckin.objects.bulk_create(checkins, batch_size=2_000)
    return cases, {"load_s": round(time.perf_counter() - started, 3), "rows": len(checkins)}


def smoke_expected(case: Case) -> set[tuple[int, int, datetime.datetime]]:
    """Everyone near the case, by the definition, over every check-in (brute force)."""
    from yiwang.health.models import VenueCheckin

    reach = datetime.timedelta(minutes=MARGIN_MINUTES + STAY_MINUTES)
    everything = list(VenueCheckin.objects.values_list("person_id", "venue_id", "checked_in_at"))
    visits = [(v, at) for p, v, at in everything if p == case.person_id]
    return {
        (p, v, at)
        for p, v, at in everything
        if p != case.person_id
        and any(
            v == visit_venue and abs(at - visit_at) <= reach for visit_venue, visit_at in visits
        )
    }


def smoke_run(scale: Scale) -> dict[str, Any]:
    from django.db import connection

    cases, load = smoke_load(scale)
    timings: list[float] = []
    problems: list[str] = []
    results = []
    for case in cases:
        expected = smoke_expected(case)
        for _ in range(scale.repeat):
            visits, rows, seconds = trace_query(case)
            timings.append(seconds)
            if set(rows) != expected or len(rows) != len(expected):
                problems.append(
                    f"case {case.person_id}: {len(rows)} rows, {len(expected)} expected"
                )
        problems += planted_check(case, rows)
        results.append({"case": case.person_id, "visits": len(visits), "rows": len(rows)})
    plan = trace_plan(cases[0])
    return {
        "smoke": True,
        "database": connection.vendor,
        "scale": asdict(scale),
        "load": load,
        "cases": results,
        "query_ms": {"p50": _ms(percentile(timings, 50)), "p99": _ms(percentile(timings, 99))},
        "plan": plan,
        "uses_index": "health_checkin_venue_time" in plan,
        "problems": problems,
        "correct": not problems,
    }


# ---------------------------------------------------------------------------------------
# PostgreSQL at scale (the server and a fresh database: bench.applications_throughput)


def _execute(sql: str, params: Sequence[Any] = ()) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return time.perf_counter() - started


def _value(sql: str, params: Sequence[Any] = ()) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def table_create() -> list[str]:
    """The bench copy of the real table, without indexes; the real ones' definitions."""
    from django.db import connection

    _execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    _execute(f"CREATE SCHEMA {SCHEMA}")
    _execute(
        f"CREATE TABLE {SCHEMA}.{TABLE} (LIKE public.{TABLE} "
        "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = %s ORDER BY indexname",
            [TABLE],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conindid::regclass::text FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'p'",
            [f"public.{TABLE}"],
        )
        (primary,) = cursor.fetchone()
    definitions = []
    for name, definition in indexes:
        # Index names belong to a schema: the copy's indexes keep the real names.
        definitions.append(definition.replace(f" ON public.{TABLE} ", f" ON {SCHEMA}.{TABLE} "))
        if name == primary.split(".")[-1]:
            definitions.append(
                f"ALTER TABLE {SCHEMA}.{TABLE} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}"
            )
    print(f"  indexes of {TABLE}: {', '.join(name for name, _ in indexes)}", flush=True)
    return definitions


def table_load(scale: Scale) -> dict[str, Any]:
    """``scale.rows`` check-ins in time order, in chunks; then the indexes and VACUUM."""
    per_day = scale.rows // scale.days
    rows = per_day * scale.days
    start = f"{FIRST_DAY.isoformat()} 00:00:00+08"
    insert_s = 0.0
    _execute("SELECT setseed(0.2026)")
    for low in range(1, rows + 1, CHUNK_ROWS):
        high = min(rows, low + CHUNK_ROWS - 1)
        # Row i: day (i-1) // per_day, spread evenly over 07:00–22:00 of that day.
        insert_s += _execute(
            f"INSERT INTO {SCHEMA}.{TABLE} (id, venue_id, person_id, checked_in_at) "  # noqa: S608
            "SELECT i, "
            "  CASE WHEN random() < %s THEN 1 + floor(random() * %s)::bigint "
            "       ELSE %s + 1 + floor(random() * %s)::bigint END, "
            "  1 + floor(random() * %s)::bigint, "
            "  %s::timestamptz + ((i - 1) / %s) * interval '1 day' "
            "    + %s * interval '1 hour' + ((i - 1) %% %s) * (%s * interval '1 hour' / %s) "
            "FROM generate_series(%s::bigint, %s::bigint) AS i",
            [
                BUSY_SHARE,
                BUSY_VENUES,
                BUSY_VENUES,
                scale.venues - BUSY_VENUES,
                scale.people,
                start,
                per_day,
                DAY_START_HOURS,
                per_day,
                DAY_HOURS,
                per_day,
                low,
                high,
            ],
        )
        print(f"  loaded {high:,} rows ({insert_s:.0f} s)", flush=True)
    return {"insert_s": round(insert_s, 1), "rows": rows}


def cases_plant(scale: Scale, first_id: int) -> tuple[list[Case], list[tuple[Any, ...]]]:
    """The cases' visits and the planted people around each case's first visit."""
    from django.utils import timezone

    rng = random.Random(20261121)
    reach = datetime.timedelta(minutes=MARGIN_MINUTES + STAY_MINUTES)
    minute = datetime.timedelta(minutes=1)
    rows: list[tuple[Any, ...]] = []
    cases = []
    next_person = scale.people + 1
    for _ in range(scale.cases):
        case_id = next_person
        planted = list(range(case_id + 1, case_id + 5))
        next_person += 5
        visits = []
        for number in range(scale.visits):
            busy = number % 4 == 0
            venue = (
                1 + rng.randrange(BUSY_VENUES)
                if busy
                else BUSY_VENUES + 1 + rng.randrange(scale.venues - BUSY_VENUES)
            )
            naive = datetime.datetime.combine(
                FIRST_DAY + datetime.timedelta(days=rng.randrange(scale.days)),
                datetime.time(DAY_START_HOURS),
            ) + datetime.timedelta(minutes=rng.randrange(DAY_HOURS * 60))
            visits.append((venue, timezone.make_aware(naive)))
        rows += [(case_id, venue, at) for venue, at in visits]
        venue, at = visits[0]
        moments = [at - reach, at + reach, at - reach - minute, at + reach + minute]
        rows += [(p, venue, m) for p, m in zip(planted, moments, strict=True)]
        cases.append(Case(case_id, frozenset(planted[:2]), frozenset(planted[2:])))
    values = [(first_id + n, *row) for n, row in enumerate(rows)]
    return cases, values


def cases_insert(values: list[tuple[Any, ...]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {SCHEMA}.{TABLE} (id, person_id, venue_id, checked_in_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s)",
            values,
        )


def cross_check(case: Case, visits: Sequence[Any]) -> set[tuple[int, int, datetime.datetime]]:
    """The same rule written as a join of the visits with the check-ins (one scan per visit)."""
    from django.db import connection

    reach = datetime.timedelta(minutes=MARGIN_MINUTES + STAY_MINUTES)
    params: list[Any] = [
        [visit.venue_id for visit in visits],
        [visit.at for visit in visits],
        reach,
        reach,
        case.person_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT c.person_id, c.venue_id, c.checked_in_at "  # noqa: S608
            f"FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(venue, at) "
            f"JOIN {SCHEMA}.{TABLE} c ON c.venue_id = v.venue "
            "AND c.checked_in_at BETWEEN v.at - %s AND v.at + %s "
            "WHERE c.person_id <> %s",
            params,
        )
        return set(cursor.fetchall())


def baseline_query(rows: int, max_id: int, rng: random.Random) -> float:
    """As many rows read by a primary-key range: the cheapest way to read them."""
    from django.db import connection

    low = 1 + rng.randrange(max(1, max_id - rows))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT person_id, venue_id, checked_in_at FROM {SCHEMA}.{TABLE} "  # noqa: S608
            "WHERE id BETWEEN %s AND %s",
            [low, low + max(rows, 1) - 1],
        )
        cursor.fetchall()
    return time.perf_counter() - started


def sizes() -> dict[str, Any]:
    from django.db import connection

    relation = f"{SCHEMA}.{TABLE}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass), pg_indexes_size(%s::regclass), "
            "pg_total_relation_size(%s::regclass)",
            [relation, relation, relation],
        )
        table, indexes, total = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
            "ORDER BY c.relname",
            [relation],
        )
        each = dict(cursor.fetchall())
    return {"table_bytes": table, "indexes_bytes": indexes, "total_bytes": total, "indexes": each}


def postgres_run(scale: Scale, keep: bool) -> dict[str, Any]:
    with postgres_database(keep, BENCH_DATABASE) as url:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        print(f"migrating the health app into {BENCH_DATABASE} …", flush=True)
        call_command("migrate", "health", verbosity=0)
        version = _value("SHOW server_version")
        settings_seen = {
            name: _value(f"SHOW {name}")
            for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost")
        }
        _execute("SET maintenance_work_mem = '1GB'")
        _execute("SET max_parallel_maintenance_workers = 2")
        definitions = table_create()
        print(f"loading {scale.rows:,} check-ins into {SCHEMA}.{TABLE} …", flush=True)
        load = table_load(scale)
        cases, values = cases_plant(scale, first_id=load["rows"] + 1)
        cases_insert(values)
        started = time.perf_counter()
        for definition in definitions:
            print(f"  {definition}", flush=True)
            _execute(definition)
        load["index_s"] = round(time.perf_counter() - started, 1)
        print("VACUUM ANALYZE …", flush=True)
        load["vacuum_s"] = round(_execute(f"VACUUM (ANALYZE) {SCHEMA}.{TABLE}"), 1)
        table_sizes = sizes()
        _execute(f"SET search_path TO {SCHEMA}, public")
        max_id = load["rows"] + len(values)

        rng = random.Random(7)
        first: list[float] = []
        warm: list[float] = []
        baseline: list[float] = []
        problems: list[str] = []
        results = []
        for round_number in range(scale.repeat):
            for case in cases:
                visits, rows, seconds = trace_query(case)
                (first if round_number == 0 else warm).append(seconds)
                baseline.append(baseline_query(len(rows), max_id, rng))
                if round_number == 0:
                    expected = cross_check(case, visits)
                    if set(rows) != expected or len(rows) != len(expected):
                        problems.append(
                            f"case {case.person_id}: {len(rows)} rows, join finds {len(expected)}"
                        )
                    problems += planted_check(case, rows)
                    results.append(
                        {"case": case.person_id, "visits": len(visits), "rows": len(rows)}
                    )
        plan = trace_plan(cases[0])
        connection.close()
        every = first + warm
        p50, base50 = percentile(every, 50), percentile(baseline, 50)
        return {
            "smoke": False,
            "database": f"PostgreSQL {version}",
            "server_settings": settings_seen,
            "scale": asdict(scale),
            "load": load,
            "sizes": table_sizes,
            "cases": results,
            "query_ms": {
                "p50": _ms(p50),
                "p99": _ms(percentile(every, 99)),
                "max": _ms(max(every)),
                "first_round_p50": _ms(percentile(first, 50)),
                "first_round_p99": _ms(percentile(first, 99)),
            },
            "baseline_ms": {"p50": _ms(base50), "p99": _ms(percentile(baseline, 99))},
            "ratio_p50": round(p50 / base50, 2) if base50 else None,
            "rows_p50": percentile([r["rows"] for r in results], 50),
            "plan": plan,
            "uses_index": "health_checkin_venue_time" in plan,
            "problems": problems,
            "correct": not problems,
            "target_s": TARGET_SECONDS,
            "passed": percentile(every, 99) < TARGET_SECONDS and not problems,
        }


def report(results: dict[str, Any]) -> str:
    scale = results["scale"]
    query = results["query_ms"]
    lines = [
        "",
        "Yiwang contact tracing: the same-venue query",
        f"  date      {results['date']}",
        f"  machine   {results['machine']}",
        f"  database  {results['database']}",
        f"  scale     {scale['rows']:,} check-ins, {scale['people']:,} people, "
        f"{scale['venues']:,} venues, {scale['days']} days; {scale['cases']} cases × "
        f"{scale['visits']} visits, {scale['repeat']} rounds",
        f"  load      {json.dumps(results['load'])}",
    ]
    if results.get("sizes"):
        gib = 1024**3
        sizes_ = results["sizes"]
        lines.append(
            f"  size      table {sizes_['table_bytes'] / gib:.2f} GiB, indexes "
            f"{sizes_['indexes_bytes'] / gib:.2f} GiB, total {sizes_['total_bytes'] / gib:.2f} GiB"
        )
        lines += [
            f"            {name}: {size / 1024**2:,.1f} MiB"
            for name, size in sizes_["indexes"].items()
        ]
    lines.append(
        f"  query     p50 {query['p50']} ms, p99 {query['p99']} ms "
        "(case_visits + checkins_near through the ORM, rows fetched)"
    )
    if "baseline_ms" in results:
        base = results["baseline_ms"]
        lines += [
            f"            first round p50 {query['first_round_p50']} ms, "
            f"p99 {query['first_round_p99']} ms; max {query['max']} ms",
            f"  baseline  p50 {base['p50']} ms, p99 {base['p99']} ms "
            "(the same number of rows by a primary-key range)",
            f"  ratio     {results['ratio_p50']} = query p50 ÷ baseline p50; "
            f"rows found per case p50 {results['rows_p50']}",
        ]
    lines += [
        f"  index     {'used' if results['uses_index'] else 'NOT USED'}: health_checkin_venue_time",
        f"  correct   {'yes' if results['correct'] else 'NO: ' + '; '.join(results['problems'])}",
    ]
    if not results["smoke"]:
        verdict = "PASS" if results["passed"] else "BELOW TARGET"
        lines.append(f"  target    p99 < {TARGET_SECONDS:.0f} s: {verdict}")
    lines += ["", "plan of the first case's query:", results["plan"]]
    return "\n".join(lines)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--people", type=int, default=0, help="default: rows ÷ 10")
    parser.add_argument("--venues", type=int, default=0, help="default: rows ÷ 500")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="a few thousand rows, checked")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def _smoke_standalone(scale: Scale) -> dict[str, Any]:
    """--smoke from the command line: a temporary SQLite database, migrated."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ["YIWANG_DATA_DIR"] = folder
        os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "health", verbosity=0)
        return smoke_run(scale)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    scale = scale_for(args)
    from django.conf import settings

    if args.smoke and settings.configured:
        results = smoke_run(scale)  # inside the caller's Django, e.g. the test database
    elif args.smoke:
        results = _smoke_standalone(scale)
    else:
        results = postgres_run(scale, args.keep)
    results["date"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    results["machine"] = _machine()
    print(report(results), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
    return 0 if results["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
