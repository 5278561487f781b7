"""Profile the benchmark server: one cProfile per kind of request, per worker process.

Enabled by ``applications_throughput.py --profile DIR`` (through ``BENCH_PROFILE_DIR``):
the outermost middleware profiles every request, so middleware, authentication,
throttling, the view and the database round trips all count. The clock is the wall
clock, so profile with one client and one worker (``-c 1 -w 1``): under load the time
mostly measures waiting for a core or a lock. Each worker also counts the SQL queries of
each kind of request, and keeps the SQL of one of them (``DIR/sql-<kind>.txt``). It
writes ``DIR/<kind>-<pid>.prof`` and ``DIR/queries-<pid>.json`` now and then and when it
exits; the script merges them.
"""

from __future__ import annotations

import atexit
import cProfile
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

KINDS = (
    (re.compile(r"^/api/v1/applications$"), "draft"),
    (re.compile(r"^/api/v1/applications/\d+/materials$"), "upload"),
    (re.compile(r"^/api/v1/applications/\d+/submit$"), "submit"),
    (re.compile(r"^/api/v1/workbench/tasks/\d+/complete$"), "complete"),
    (re.compile(r"^/api/v1/workbench/tasks$"), "list"),
    (re.compile(r"^/bench/baseline$"), "baseline"),
)
DUMP_EVERY = 50
# The SQL of this request of each kind is written to DIR/sql-<kind>.txt (after warm-up).
SAMPLE_REQUEST = 30


def request_kind(path: str) -> str:
    for pattern, kind in KINDS:
        if pattern.match(path):
            return kind
    return "other"


class ProfileMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.directory = Path(settings.BENCH_PROFILE_DIR)
        self.profiles: dict[str, cProfile.Profile] = {}
        # kind -> [requests, SQL queries]
        self.counts: dict[str, list[int]] = {}
        atexit.register(self.dump)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kind = request_kind(request.path)
        profile = self.profiles.setdefault(kind, cProfile.Profile())
        counts = self.counts.setdefault(kind, [0, 0])

        sample: list[str] | None = [] if counts[0] == SAMPLE_REQUEST else None

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            counts[1] += 1
            if sample is not None:
                sample.append(sql)
            return execute(sql, params, many, context)

        profile.enable()
        try:
            with connection.execute_wrapper(count):
                return self.get_response(request)
        finally:
            profile.disable()
            counts[0] += 1
            if sample is not None:
                (self.directory / f"sql-{kind}.txt").write_text("\n".join(sample) + "\n")
            if counts[0] % DUMP_EVERY == 0:
                self.dump(kind)

    def dump(self, only: str | None = None) -> None:
        for kind, profile in self.profiles.items():
            if only is None or kind == only:
                profile.dump_stats(self.directory / f"{kind}-{os.getpid()}.prof")
        (self.directory / f"queries-{os.getpid()}.json").write_text(json.dumps(self.counts))
