"""The cockpit's figures: the services of the apps, shaped; the Sankey balances; the missing list is exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.declarations import services as declarations
from zerowaste.portal import services
from zerowaste.testing import parties

from .conftest import Cockpit


def test_flows_balance_to_the_kilogram_at_every_node(cockpit: Cockpit) -> None:
    flows = services.flows(cockpit.regulator, year=2020)
    assert flows["balanced"] is True
    inflow: dict[str, Decimal] = {}
    outflow: dict[str, Decimal] = {}
    for link in flows["links"]:
        v = Decimal(link["value_t"])
        assert v > 0
        outflow[link["source"]] = outflow.get(link["source"], Decimal(0)) + v
        inflow[link["target"]] = inflow.get(link["target"], Decimal(0)) + v
    for node in set(inflow) & set(outflow):
        assert inflow[node] == outflow[node], node
    # Generated: 10.5 + 2.25 + 1 + 3.001 + 7 + 4 (submitted first versions count) = 27.751
    assert flows["generated_t"] == "27.751"
    links = {(x["source"], x["target"]): x["value_t"] for x in flows["links"]}
    assert links[("industry:新一代信息技术", "category:ISW01")] == "10.500"
    assert links[("category:ISW12", "way:utilized")] == "1.000"
    # ISW12: +0.25 in March, −0.25 in April: no net stock change over the year.
    assert ("category:ISW12", "way:stored") not in links
    assert links[("way:transferred_util", "receiver:回收公司A")] == "17.500"
    assert Decimal(flows["sources_t"]) == Decimal(flows["sinks_t"]) == Decimal("27.751")


def test_flows_of_one_month_show_stock_put_aside_and_drawn(cockpit: Cockpit) -> None:
    march = services.flows(cockpit.regulator, year=2020, month=3)
    links = {(x["source"], x["target"]): x["value_t"] for x in march["links"]}
    assert links[("category:ISW12", "way:stored")] == "0.250"
    april = services.flows(cockpit.regulator, year=2020, month=4)
    links = {(x["source"], x["target"]): x["value_t"] for x in april["links"]}
    assert links[("source:stock", "category:ISW12")] == "0.250"
    assert links[("category:ISW12", "way:transferred_disp")] == "1.250"
    assert april["balanced"] and march["balanced"]


def test_missing_declarations_are_exactly_the_producers_without_an_accepted_one(cockpit: Cockpit) -> None:
    march = services.alerts(cockpit.regulator, year=2020, month=3)["missing"]
    assert [r["organization"] for r in march] == sorted([cockpit.idle.name, cockpit.pending.name])
    assert {r["organization"]: r["pending"] for r in march} == {cockpit.idle.name: 0, cockpit.pending.name: 1}
    april = services.alerts(cockpit.regulator, year=2020, month=4)["missing"]
    assert {r["organization"] for r in april} == {cockpit.auto.name, cockpit.idle.name, cockpit.pending.name}
    year = services.alerts(cockpit.regulator, year=2020)["missing"]
    assert {r["organization"] for r in year} == {cockpit.idle.name, cockpit.pending.name}
    # Another year: nobody declared.
    assert len(services.alerts(cockpit.regulator, year=2021)["missing"]) == 4
    # An inactive producer is not expected to declare; a receiver is not a producer.
    parties.make_org(cockpit.zone, roles=["receiver"])
    cockpit.idle.is_active = False
    cockpit.idle.save()
    assert {r["organization"] for r in services.alerts(cockpit.regulator, year=2020)["missing"]} == {
        cockpit.pending.name
    }


def test_tonnages_by_stream_and_category_equal_the_statistics(cockpit: Cockpit) -> None:
    data = services.tonnages(cockpit.regulator, year=2020, month=3)
    rows = {(r["stream"], r["category"]): r for r in data["rows"]}
    assert rows[("isw", "ISW12")]["generated_t"] == "2.250"
    assert rows[("isw", "ISW12")]["utilized_t"] == "2.000"
    assert rows[("isw", "ISW12")]["stored_t"] == "0.250"
    assert rows[("hw", "HW08")]["generated_t"] == "3.001"
    stats = declarations.statistics(cockpit.regulator, year=2020, month=3, stream="isw")
    totals = {t["stream"]: t for t in data["totals"]}
    assert totals["isw"]["generated_t"] == stats["total_generated_t"] == "23.750"


def test_cockpit_is_for_regulators(cockpit: Cockpit) -> None:
    producer = parties.actor_of(cockpit.it, "admin")
    with pytest.raises(Forbidden):
        services.cockpit(producer, year=2020)
    with pytest.raises(Invalid):
        services.period_args(2020, 13)
    with pytest.raises(Invalid):
        services.period_args("x")
