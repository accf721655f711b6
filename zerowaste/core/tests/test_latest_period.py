"""Pages open on the latest period with data, and judge ages and deadlines honestly for it (issue 16,
item 7; ADR 0051). The demo's records are of 2019-2021 while the machine's clock is years later: a page
that opened on the machine's year showed empty tiers, empty statistics and ages of 2,000 days."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.testing.spider import logged_in

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def regulator(module_demo: Any, django_db_blocker: Any) -> Any:
    with django_db_blocker.unblock():
        return logged_in("regulator", DEMO_PASSWORD)


def _selected_year(body: str) -> str:
    found = re.search(r'<select name="year"[^>]*>.*?<option value="(\d+)" ?selected>', body, re.S)
    assert found, "no year select with a selected year"
    return found.group(1)


def test_the_tiers_page_opens_on_the_latest_year_with_tiers(regulator: Any) -> None:
    from zerowaste.hazardous.models import TierAssessment

    latest = max(TierAssessment.objects.values_list("year", flat=True))
    assert latest < timezone.localdate().year  # the demo is in the past
    response = regulator.get("/hazardous/tiers/")
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["year"] == latest
    assert _selected_year(body) == str(latest)
    assert len(response.context["rows"]) > 0
    assert 'id="no-tiers"' not in body


def test_declaration_statistics_open_on_2020(regulator: Any) -> None:
    response = regulator.get("/declarations/stats/")
    assert response.context["year"] == 2020
    assert _selected_year(response.content.decode()) == "2020"
    assert response.context["data"]["rows"], "2020 has accepted declarations"
    # The year select offers the years with data, not every year back to 2016.
    assert 2016 not in response.context["years"]
    assert regulator.get("/declarations/intensity/").context["year"] == 2020


def test_inspections_and_transfer_statistics_open_on_their_latest_year(regulator: Any) -> None:
    assert regulator.get("/hazardous/inspections/").context["year"] == 2020
    response = regulator.get("/transfers/statistics/")
    assert response.context["year"] in (2020, 2021)
    assert response.context["stats"]["issued"] > 0


def test_storage_ages_are_measured_at_the_end_of_a_past_period(regulator: Any) -> None:
    from zerowaste.hazardous.models import Container, Store

    store = Store.objects.filter(pk__in=Container.objects.values("store_id")).order_by("pk").first()
    assert store is not None
    response = regulator.get(f"/hazardous/stores/{store.pk}/")
    body = response.content.decode()
    inv = response.context["inv"]
    last = max(
        d
        for pair in Container.objects.filter(store=store).values_list("collected_on", "shipped_on")
        for d in pair
        if d is not None
    )
    end_of_month = date(last.year, last.month + 1, 1) if last.month < 12 else date(last.year + 1, 1, 1)
    assert inv["on"] == date.fromordinal(end_of_month.toordinal() - 1)
    assert all(c["age_days"] <= (inv["on"] - c["stored_on_date"]).days for c in _ages(inv))
    assert max((c["age_days"] for c in inv["containers"]), default=0) < 800  # not 2,000-odd days
    assert 'id="as-of"' in body and inv["on"].isoformat() in body  # the page says as of which day

    # The current month is judged as of today.
    today = timezone.localdate()
    response = regulator.get(f"/hazardous/stores/{store.pk}/?period={today:%Y-%m}")
    assert response.context["inv"]["on"] == today
    assert 'id="as-of"' not in response.content.decode()


def _ages(inv: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**c, "stored_on_date": date.fromisoformat(c["stored_on"])} for c in inv["containers"]]


def test_plans_due_are_judged_at_the_end_of_the_year_shown(regulator: Any) -> None:
    response = regulator.get("/hazardous/plans/")
    assert response.context["shown_year"] == 2020
    assert response.context["as_of"] == date(2020, 12, 31)
    past_overdue = sum(1 for d in response.context["due"] if d["overdue"])
    today = timezone.localdate()
    now = regulator.get(f"/hazardous/plans/?year={today.year}")
    assert now.context["as_of"] == today
    now_overdue = sum(1 for d in now.context["due"] if d["overdue"])
    assert past_overdue < now_overdue  # the demo filed its plans for 2020; nothing since


def test_the_period_inputs_are_month_pickers_and_a_bad_value_names_the_field(regulator: Any) -> None:
    from zerowaste.hazardous.models import Store

    store = Store.objects.order_by("pk").first()
    assert store is not None
    body = regulator.get(f"/hazardous/stores/{store.pk}/summary/").content.decode()
    assert re.search(r'<input type="month" name="period" value="\d{4}-\d{2}"', body)
    assert '<input type="month"' in regulator.get("/exchange/runs/").content.decode()

    response = regulator.get(f"/hazardous/stores/{store.pk}/summary/?period=2021-13")
    assert response.status_code == 422
    assert "月份: 2021-13" in response.content.decode()

    for junk in ("202101", "2021-13", "21-01", "一月"):
        response = regulator.get(f"/declarations/template/?period={junk}")
        assert response.status_code == 422, junk
        assert f"申报期: {junk}" in response.content.decode()
    # A quarter and a year are periods a declaration takes.
    producer = logged_in("producer", DEMO_PASSWORD)
    assert producer.get("/declarations/template/?period=2020-Q1&stream=isw").status_code == 200
    assert producer.get("/declarations/template/?period=2020&stream=isw").status_code == 200

    response = regulator.post("/exchange/runs/", {"period": "2020Q1"})
    assert response.status_code == 422
    assert "月份" in response.content.decode()


def test_year_filters_list_the_years_with_data(regulator: Any) -> None:
    for path in ("/declarations/", "/transfers/", "/hazardous/facilities/"):
        body = regulator.get(path).content.decode()
        options = re.findall(r'<select name="year"[^>]*>(.*?)</select>', body, re.S)
        assert options, path
        assert 'value="2020"' in options[0], path
        assert 'value="2016"' not in options[0], path
    assert regulator.get("/hazardous/").context["year"] == 2020  # the pass rate of the inspections' year


def test_the_indicator_report_opens_on_the_latest_year_with_data(regulator: Any) -> None:
    response = regulator.get("/indicators/")
    assert response.status_code == 302
    assert response["Location"].endswith("?year=2020")


def test_a_new_declaration_and_the_template_default_to_the_month_after_the_latest_declared(
    module_demo: Any, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        producer = logged_in("producer", DEMO_PASSWORD)
    for path in ("/declarations/new/", "/declarations/import/"):
        body = producer.get(path).content.decode()
        assert re.search(r'name="period"[^>]*value="2021-01"', body), path
