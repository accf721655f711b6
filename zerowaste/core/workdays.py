"""Working days (工作日) on the Chinese calendar: deadlines of regulated steps are counted in them.

The State Council's yearly holiday schedule moves working days to weekends (调休); `chinese_calendar`
carries those schedules. Outside the years it knows, Monday–Friday are working days.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

MAX_SPAN_DAYS = 3660


def is_working_day(day: date) -> bool:
    """Whether `day` is a working day (weekday that is no holiday, or a weekend moved to work)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the calendar does not cover
        return day.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """The `n`-th working day after `start` (`start` itself not counted); `n <= 0` returns `start`.

    "Confirm within 5 working days of receipt" on a Friday receipt means by the next Friday.
    """
    if n > MAX_SPAN_DAYS:
        raise ValueError("too many working days")
    day = start
    remaining = n
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b`; negative when `b` is before `a`.

    `working_days_between(d, add_working_days(d, n)) == n` for every `n >= 0`.
    """
    if b < a:
        return -working_days_between(b, a)
    if (b - a).days > MAX_SPAN_DAYS:
        raise ValueError("span too long")
    # Prefix sums per year: a register of a thousand overdue steps asks this a thousand times.
    a_days, b_days = _year_prefix(a.year), _year_prefix(b.year)
    a_index, b_index = a.timetuple().tm_yday - 1, b.timetuple().tm_yday - 1
    if a.year == b.year:
        return b_days[b_index] - a_days[a_index]
    between = sum(_year_prefix(y)[-1] for y in range(a.year + 1, b.year))
    return (a_days[-1] - a_days[a_index]) + between + b_days[b_index]


@lru_cache(maxsize=256)
def _year_prefix(year: int) -> tuple[int, ...]:
    """`[k]`: the working days among the first k + 1 days of `year`."""
    counts = []
    total = 0
    day = date(year, 1, 1)
    while day.year == year:
        total += is_working_day(day)
        counts.append(total)
        day += timedelta(days=1)
    return tuple(counts)
