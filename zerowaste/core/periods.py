"""Which period a page opens on, the date its ages and deadlines are judged on, and the one period input
of every page (issue 16, items 7 and 3; ADR 0051).

- A page whose URL names no period opens on the latest period with data the user can see
  (`latest_year`: one `Max` aggregate over what the app's service says the actor sees), not on the
  machine's year: a zone whose records stop in 2020 opens on 2020, not on an empty 2026.
- An age or a deadline is measured on `as_of(period_end)`: the end of the viewed period when that period
  is past, today for the current period; a page measuring on a past day says so (截至 2020-12-31).
- Every period a person types goes through one form field, `zerowaste.portal.periods.PeriodField`.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

MIN_YEAR, MAX_YEAR = 2000, 2100


def latest_year(queryset: QuerySet[Any], field: str) -> int | None:
    """The latest year of `field` (a date, a datetime or a year number) in `queryset`: one aggregate."""
    value = queryset.aggregate(latest=Max(field))["latest"]
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).year if timezone.is_aware(value) else value.year
    if isinstance(value, date):
        return value.year
    return int(value)


def latest_of(*years: int | None) -> int | None:
    """The latest of several sources' latest years (None when none has data)."""
    found = [y for y in years if y is not None]
    return max(found) if found else None


def year_or_latest(raw: Any, latest: int | None, *, fallback: int | None = None) -> int:
    """The year the URL names when it names a sane one; else the latest year with data; else `fallback`
    (by default the current year: a zone with no data at all opens on now, and says it is empty)."""
    text = str(raw or "").strip()
    if text.isdigit() and MIN_YEAR <= int(text) <= MAX_YEAR:
        return int(text)
    if latest is not None:
        return latest
    return fallback if fallback is not None else timezone.localdate().year


def year_end(year: int) -> date:
    return date(year, 12, 31)


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def as_of(period_end: date, today: date | None = None) -> date:
    """The day a viewed period's ages and deadlines are judged on: its end when it is past, else today."""
    today = today or timezone.localdate()
    return min(period_end, today)


def is_past(on: date, today: date | None = None) -> bool:
    return on < (today or timezone.localdate())


def years_choices(years: Iterable[int], current: int | None = None) -> list[int]:
    """The years of a year select, latest first: those with data, and the one shown even without data."""
    found = set(years)
    if current is not None:
        found.add(current)
    return sorted(found, reverse=True)


def years_of(queryset: QuerySet[Any], field: str) -> list[int]:
    """The distinct years of `field` (a date or a year number) in `queryset`, latest first: one query."""
    model_field = queryset.model._meta.get_field(field)
    if model_field.get_internal_type() in ("DateField", "DateTimeField"):
        return sorted({d.year for d in queryset.order_by().dates(field, "year")}, reverse=True)
    return sorted(set(queryset.order_by().values_list(field, flat=True).distinct()), reverse=True)
