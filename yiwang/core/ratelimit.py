"""Fixed-window counters in the cache, for limits on pages (the API has ninja's throttles).

A window opens with the first counted event and is not extended by later ones, so a
client that keeps trying is let in again when the window it opened ends.
"""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.core.cache import cache
from django.http import HttpRequest


def client_key(prefix: str, request: HttpRequest) -> str:
    """A cache key for the client's address (as django-axes reads it behind proxies)."""
    return f"ratelimit:{prefix}:{get_client_ip_address(request) or 'unknown'}"


def window_count(key: str) -> int:
    """Events counted in the key's current window."""
    return int(cache.get(key, 0))


def window_count_add(key: str, window_seconds: int) -> int:
    """Count one event in the key's window and return the count so far."""
    cache.add(key, 0, timeout=window_seconds)
    try:
        return int(cache.incr(key))
    except ValueError:  # the window ended between the two calls
        cache.set(key, 1, timeout=window_seconds)
        return 1
