"""Settings of the benchmark server: production settings, the baseline endpoint, no throttles.

Everything else (database cache, database task queue, argon2, middleware, logging) is
what production runs, so the figures describe the deployed platform. The benchmark script
runs with ``YIWANG_HTTPS`` off (plain HTTP on loopback) and passes the database and media
directory through the usual environment variables.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings import *  # noqa: F403
from config.settings import HTTPS, MIDDLEWARE

if HTTPS:
    raise ImproperlyConfigured("The benchmark serves plain HTTP on loopback: unset YIWANG_HTTPS.")

DEBUG = False
# Fixed, so that no key file is written into the data directory.
SECRET_KEY = "bench-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # noqa: S105
ROOT_URLCONF = "bench.urls"
# The API rate limits would turn the load into 429s. bench/urls.py raises the limits of
# the platform API to this rate; the throttles still run, so their cache round trips
# stay in the measurement. The window is production's, a minute: a caller's requests
# within it share one history, so a submission finds the history her upload left, and the
# baseline insert the one her submission left, both as they would in production. (With a
# one-second window the submission always found an expired history, one statement more
# than the baseline's.)
BENCH_API_THROTTLE_RATE = "1000000/m"

# `applications_throughput.py --profile DIR`: profile each kind of request (bench/profiling.py).
BENCH_PROFILE_DIR = os.environ.get("BENCH_PROFILE_DIR", "")
if BENCH_PROFILE_DIR:
    MIDDLEWARE = ["bench.profiling.ProfileMiddleware", *MIDDLEWARE]
