"""The period rules of every page (ADR 0051): which year a page opens on, the day its ages and
deadlines are judged on, and the one period field."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict

from zerowaste.core import periods
from zerowaste.portal.periods import PeriodField, period_form


def test_a_page_opens_on_the_year_asked_else_the_latest_with_data_else_the_fallback() -> None:
    assert periods.year_or_latest("2019", 2020) == 2019
    assert periods.year_or_latest("", 2020) == 2020
    assert periods.year_or_latest("20x1", 2020) == 2020  # junk is not a year
    assert periods.year_or_latest("99999", 2020) == 2020
    assert periods.year_or_latest(None, None, fallback=2025) == 2025
    assert periods.latest_of(None, 2019, 2021) == 2021
    assert periods.latest_of(None, None) is None


def test_ages_are_judged_at_the_end_of_a_past_period_and_today_in_the_current_one() -> None:
    today = date(2026, 12, 2)
    assert periods.as_of(periods.year_end(2020), today) == date(2020, 12, 31)
    assert periods.as_of(periods.month_end(2020, 2), today) == date(2020, 2, 29)
    assert periods.as_of(periods.month_end(2026, 12), today) == today
    assert periods.as_of(periods.year_end(2026), today) == today
    assert periods.years_choices([2019, 2020], 2026) == [2026, 2020, 2019]


def test_the_month_field_is_a_month_picker() -> None:
    html = str(period_form(None, initial="2020-06")["period"])
    assert 'type="month"' in html and 'value="2020-06"' in html


def test_a_field_of_several_kinds_takes_a_month_a_quarter_and_a_year() -> None:
    field = PeriodField(kinds=("month", "quarter", "year"))
    assert field.clean("2021-01") == "2021-01"
    assert field.clean("2021-Q1") == "2021Q1"
    assert field.clean("2021") == "2021"
    assert 'type="month"' not in str(period_form(None, kinds=("month", "year"))["period"])


@pytest.mark.parametrize("junk", ["202101", "2021-13", "21-01", "一月", "2021-Q5", "<b>x"])
def test_a_bad_period_is_an_error_on_the_field(junk: str) -> None:
    form = period_form(QueryDict(f"period={junk}"), kinds=("month", "quarter", "year"))
    assert not form.is_valid()
    assert list(form.errors) == ["period"]


def test_a_period_of_a_kind_the_page_does_not_take_is_an_error_on_the_field() -> None:
    form = period_form(QueryDict("period=2021Q1"), kinds=("month",))
    assert not form.is_valid()
    assert "2021Q1" in form.errors["period"][0]
