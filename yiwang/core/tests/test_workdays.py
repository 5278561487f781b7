from __future__ import annotations

import datetime

import chinese_calendar
import pytest

from yiwang.core.models import WorkdayOverride
from yiwang.core.workdays import (
    Calendar,
    add_working_days,
    calendar_cache_clear,
    working_days_between,
)

D = datetime.date


def test_a_period_does_not_count_its_first_day():
    # Monday 2026-11-16 + 1 working day ends on Tuesday.
    assert Calendar().add_working_days(D(2026, 11, 16), 1) == D(2026, 11, 17)


def test_weekends_are_skipped():
    # Friday + 1 working day is the next Monday.
    assert Calendar().add_working_days(D(2026, 11, 20), 1) == D(2026, 11, 23)


def test_a_deadline_across_the_national_day_holiday_skips_it_and_counts_the_make_up_day():
    # 2026: 1–7 October off; Saturday 10 October is a make-up working day.
    calendar = Calendar()
    assert calendar.is_workday(D(2026, 10, 1)) is False
    assert calendar.is_workday(D(2026, 10, 10)) is True
    # From Wednesday 30 September, 5 working days: 8, 9, 10, 12, 13 October.
    assert calendar.add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 13)


def test_twenty_working_days_across_spring_festival_2026():
    # Spring Festival 2026: 15–23 February off, make-up days 14 and 28 February.
    calendar = Calendar()
    # 3–6, 9–13, 14 (make-up), 24–27, 28 (make-up): 15 by February 28; then 2–6 March.
    assert calendar.add_working_days(D(2026, 2, 2), 20) == D(2026, 3, 6)


def test_zero_days_ends_on_the_start_day_and_negative_is_refused():
    assert Calendar().add_working_days(D(2026, 11, 16), 0) == D(2026, 11, 16)
    with pytest.raises(ValueError, match="negative"):
        Calendar().add_working_days(D(2026, 11, 16), -1)


def test_working_days_between_counts_the_half_open_interval():
    calendar = Calendar()
    assert calendar.working_days_between(D(2026, 11, 16), D(2026, 11, 23)) == 5
    assert calendar.working_days_between(D(2026, 11, 23), D(2026, 11, 16)) == 0
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 13)) == 5


def test_a_year_the_package_does_not_cover_falls_back_to_weekends_and_fixed_holidays():
    calendar = Calendar()
    assert calendar.is_workday(D(2027, 1, 1)) is False  # New Year's Day, a Friday
    assert calendar.is_workday(D(2027, 1, 4)) is True  # Monday
    assert calendar.is_workday(D(2027, 10, 2)) is False
    assert calendar.covered([2026]) is True
    assert calendar.covered([2027]) is False


def test_the_per_day_cache_answers_as_the_package_on_every_day_it_covers():
    calendar = Calendar()
    day = D(2024, 1, 1)
    while day.year < 2027:
        # Asked twice: the second answer comes from the cache.
        for _ in range(2):
            assert calendar.is_workday(day) is chinese_calendar.is_workday(day), day
        day += datetime.timedelta(days=1)


@pytest.mark.django_db
def test_administrators_overrides_win_over_the_package():
    WorkdayOverride.objects.create(date=D(2027, 2, 8), is_workday=False, note="春节")
    WorkdayOverride.objects.create(date=D(2026, 10, 1), is_workday=True, note="测试")
    calendar_cache_clear()

    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 9)
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 1)) == 1


@pytest.mark.django_db
def test_overrides_are_kept_for_a_minute_and_an_admin_edit_applies_at_once(admin_client):
    calendar_cache_clear()
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 8)
    WorkdayOverride.objects.create(date=D(2027, 2, 8), is_workday=False, note="春节")

    # Another process's edit shows here within the minute, not at once.
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 8)

    response = admin_client.post(
        "/admin/core/workdayoverride/add/",
        {"date": "2027-02-09", "is_workday": "", "note": "春节"},
    )

    assert response.status_code == 302
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 10)
