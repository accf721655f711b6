"""On the demo zone: a cockpit figure equals the API's and the indicator engine's for the same period;
the Sankey balances; the pages keep their query budgets (their times are bench/cockpit.py's)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.core.authz import actor_for_user
from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.core.models import User, Zone
from zerowaste.portal import services

COCKPIT_QUERIES = 120  # bench/cockpit.py counts 85 (2026-12-03)
OPEN_DATA_QUERIES = 70  # bench/cockpit.py counts 49


@pytest.mark.slow
def test_cockpit_equals_api_and_indicator_engine_on_the_demo(demo_zone: Zone) -> None:
    from zerowaste.indicators.services import completion_summary, report_rows

    regulator = actor_for_user(User.objects.get(username="regulator"))
    assert regulator is not None
    client = Client()
    assert client.post("/login/", {"username": "regulator", "password": DEMO_PASSWORD}).status_code == 302

    cockpit = services.cockpit(regulator, year=2020)
    api_tonnages = client.get("/api/portal/cockpit/tonnages", {"year": "2020"}).json()
    api_declared = client.get("/api/declarations/stats", {"year": "2020", "stream": "isw"}).json()
    indicators = {r["number"]: r for r in report_rows(demo_zone.pk, 2020)}
    isw = next(t for t in cockpit["tonnages"]["totals"] if t["stream"] == "isw")
    hw = next(t for t in cockpit["tonnages"]["totals"] if t["stream"] == "hw")
    assert api_tonnages["totals"] == cockpit["tonnages"]["totals"]
    # Generated ISW: the cockpit, the declarations API and the engine's input of indicator 9.
    generated = {
        Decimal(isw["generated_t"]),
        Decimal(api_declared["total_generated_t"]),
        Decimal(indicators["9"]["inputs"]["isw_generated_t"]["value"]),
    }
    assert generated == {Decimal("208400")}
    assert Decimal(isw["utilized_t"]) == Decimal(indicators["9"]["inputs"]["isw_utilized_t"]["value"])
    assert Decimal(isw["disposed_t"]) == Decimal(indicators["18"]["inputs"]["isw_disposed_t"]["value"])
    assert Decimal(hw["generated_t"]) == Decimal(indicators["1"]["inputs"]["hw_generated_t"]["value"])
    # The completion on the cockpit is the engine's.
    api_indicators = client.get("/api/portal/cockpit/indicators", {"year": "2020"}).json()
    summary = completion_summary(demo_zone.pk, 2020)
    for key in ("total", "met", "not_met", "unknown"):
        assert api_indicators[key] == cockpit["indicators"][key] == summary[key]
    assert [r["number"] for r in cockpit["indicators"]["not_met_list"]] == [
        r["number"] for r in summary["not_met_list"]
    ]
    # The material flow of the year balances and carries all that was generated.
    flows = cockpit["flows"]
    assert flows["balanced"] is True
    assert Decimal(flows["generated_t"]) == Decimal(isw["generated_t"]) + Decimal(hw["generated_t"])

    # Storage-age alerts are the hazardous pilot's; the exchange board is the exchange's.
    from zerowaste.exchange.services import public_board
    from zerowaste.hazardous.services import storage_alerts

    later = services.alerts(regulator, year=2021)
    assert later["storage_available"] is True
    assert later["storage"] == storage_alerts(demo_zone.pk, date(2021, 12, 31))
    assert later["storage"], "the demo has containers past their age limit by the end of 2021"
    page = client.get("/cockpit/", {"year": "2021"}).content.decode()
    assert str(later["storage"][0]["container"]) in page
    board = public_board(demo_zone.pk)
    assert board and services.public_data(demo_zone)["exchange"] == board
    public_page = Client().get("/open-data/").content.decode()
    assert f'<td class="mono code">{board[0]["code"]}</td>' in public_page

    # The times are bench/cockpit.py's (well under 1 s); here the pages' query budgets, which a page
    # that starts querying per row breaks whatever the machine's load.
    for url, params, budget in (
        ("/cockpit/", {"year": "2020"}, COCKPIT_QUERIES),
        ("/cockpit/", {"year": "2020", "month": "12"}, COCKPIT_QUERIES),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params).status_code == 200
        assert len(queries) <= budget, (url, params, len(queries))
    with CaptureQueriesContext(connection) as queries:
        assert Client().get("/open-data/").status_code == 200
    assert len(queries) <= OPEN_DATA_QUERIES, len(queries)
