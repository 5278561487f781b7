"""Running a piece of work in several threads at once, for tests of row locks."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_at_once(count: int, action: Callable[[int], object]) -> list[BaseException]:
    """Call ``action(n)`` for n in range(count), each in its own thread, all released
    together; returns what they raised. Each thread closes its database connections."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            action(n)
        except BaseException as exc:  # returned to the test, which asserts on it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
