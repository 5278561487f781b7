"""Working days (工作日) under China's official holiday calendar.

Legal time limits count working days and exclude official holidays (行政许可法 Art. 82);
the day a period starts on is not counted. The source is ``chinese-calendar``; dates it
does not cover (announcements for the next year arrive late in the year) fall back to
weekends plus the fixed-date statutory holidays, and administrators enter the official
announcement as ``WorkdayOverride`` rows, which always win.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable
from functools import lru_cache

import chinese_calendar

logger = logging.getLogger(__name__)

# Fixed-date statutory holidays (全国年节及纪念日放假办法, 2024): New Year's Day, Labour Day
# (1–2 May), National Day (1–3 October). Lunar-calendar holidays and make-up days need the
# yearly announcement.
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


@lru_cache(maxsize=8192)
def _official_workday(day: datetime.date) -> bool | None:
    """Whether ``day`` is a working day by the package's official calendar; None for a
    year it does not cover. Kept per day: the package scans its tables on every call,
    and each deadline asks about a week or more of days."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


class Calendar:
    """A working-day calendar with a set of overrides (date → is working day)."""

    def __init__(self, overrides: dict[datetime.date, bool] | None = None) -> None:
        self.overrides = overrides or {}

    def is_workday(self, day: datetime.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        official = _official_workday(day)
        if official is None:
            return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS
        return official

    def add_working_days(self, start: datetime.date, days: int) -> datetime.date:
        """The date on which a period of ``days`` working days starting on ``start`` ends.

        ``start`` itself is not counted; with ``days == 0`` the period ends on ``start``.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        remaining = days
        while remaining:
            day += datetime.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Working days in the half-open interval (start, end]; 0 when end <= start."""
        count = 0
        day = start
        while day < end:
            day += datetime.timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def covered(self, years: Iterable[int]) -> bool:
        """Whether the official calendar (package or overrides) covers every given year."""
        for year in years:
            if _official_workday(datetime.date(year, 1, 1)) is None and not any(
                day.year == year for day in self.overrides
            ):
                return False
        return True


# Overrides change a few times a year, weeks before they apply: each process keeps them for
# a minute instead of reading them for every deadline it computes.
OVERRIDES_TTL_SECONDS = 60.0
_overrides_cache: tuple[float, dict[datetime.date, bool]] | None = None


def calendar() -> Calendar:
    """The calendar with the administrators' overrides (at most a minute old)."""
    global _overrides_cache
    now = time.monotonic()
    if _overrides_cache is None or now - _overrides_cache[0] > OVERRIDES_TTL_SECONDS:
        from yiwang.core.models import WorkdayOverride

        overrides = dict(WorkdayOverride.objects.values_list("date", "is_workday"))
        _overrides_cache = (now, overrides)
    return Calendar(dict(_overrides_cache[1]))


def calendar_cache_clear() -> None:
    """Make this process read the overrides again (called when an administrator edits them)."""
    global _overrides_cache
    _overrides_cache = None


def add_working_days(start: datetime.date, days: int) -> datetime.date:
    return calendar().add_working_days(start, days)


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    return calendar().working_days_between(start, end)
