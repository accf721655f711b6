from __future__ import annotations

from decimal import Decimal

import pytest

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.exchange import rules, services
from zerowaste.exchange.models import Agreement, PoolStop
from zerowaste.exchange.testing import HW_CODE, ISW_CODE, Market, demand, site_for, supply
from zerowaste.testing import parties
from zerowaste.transfers import services as transfers

pytestmark = pytest.mark.django_db


def test_match_accept_creates_transfer(market: Market) -> None:
    s = supply(market.producer, tonnes="12.5", price="100")
    d = demand(market.receiver, prices={ISW_CODE: "900"}, capacity="50")
    run = services.run_matching(Actor.system(market.zone), period="2020-06")
    assert run.optimal and run.gap == 0
    result = services.match_result(Actor.system(market.zone), run)
    assert set(result) >= {"value", "greedy_value", "bound", "gap", "seconds", "proposals"}
    [p] = result["proposals"]
    assert p["supply"] == s.pk and p["demand"] == d.pk and p["quantity_t"] == "12.500"
    proposal = run.proposals.get()
    # value = (price − transport − handling) × t
    t = rules.tariffs({})
    km = proposal.distance_km / t.detour_factor
    assert proposal.transport_cny_per_t == rules.transport_cny_per_t(
        rules.haversine_km(39.8, 116.51, 39.79, 116.5), t
    )
    assert proposal.value_cny == (
        (Decimal("900") - proposal.transport_cny_per_t - Decimal("30")) * Decimal("12.5")
    ).quantize(rules.FEN)
    assert km > 0
    producer = parties.actor_of(market.producer, "clerk")
    receiver = parties.actor_of(market.receiver, "clerk")
    services.accept_proposal(producer, proposal.pk)
    assert not Agreement.objects.exists()
    services.accept_proposal(receiver, proposal.pk)
    agreement = Agreement.objects.get()
    assert agreement.transfer is not None
    outgoing = transfers.register(producer, kind="outgoing")
    assert [t.pk for t in outgoing] == [agreement.transfer.pk]
    assert agreement.transfer.estimated_t == Decimal("12.500")


def test_waste_the_producer_pays_to_place_is_matched_to_the_cheapest_taker(market: Market) -> None:
    """A fee-paying producer (asking −500 CNY/t) goes to the receiver charging 300, not the one charging
    450, and never to one charging more than it would pay (ADR 0035)."""
    s = supply(market.producer, tonnes="4", price="-500")
    cheap = demand(market.receiver, prices={ISW_CODE: "-300"})
    dear = demand(parties.make_org(market.zone, roles=("receiver",)), prices={ISW_CODE: "-450"})
    demand(parties.make_org(market.zone, roles=("receiver",)), prices={ISW_CODE: "-600"})
    run = services.run_matching(Actor.system(market.zone), period="2020-06")
    proposal = run.proposals.get()
    assert (proposal.supply_id, proposal.demand_id) == (s.pk, cheap.pk)
    assert proposal.alternatives and proposal.alternatives[0]["demand"] == dear.pk
    avoided = Decimal("500") + proposal.price_cny_per_t
    assert proposal.value_cny == (
        (avoided - proposal.transport_cny_per_t - proposal.handling_cny_per_t) * Decimal("4")
    ).quantize(rules.FEN)
    assert run.optimal and run.value_cny == proposal.value_cny


def test_the_avoided_fee_is_shown_to_the_producer_not_to_the_receiver(market: Market) -> None:
    import re

    from django.test import Client

    supply(market.producer, tonnes="4", price="-500")
    demand(market.receiver, prices={ISW_CODE: "-300"})
    proposal = services.run_matching(Actor.system(market.zone), period="2020-06").proposals.get()
    fee = {}
    for side, org in (("producer", market.producer), ("receiver", market.receiver)):
        client = Client()
        client.force_login(parties.make_member(org, "clerk").user)
        response = client.get(f"/exchange/proposals/{proposal.pk}/")
        assert response.status_code == 200
        found = re.search(r'<dd class="num" id="avoided-fee">([^<]*)</dd>', response.content.decode())
        assert found, side
        fee[side] = found.group(1)
    assert fee["producer"] == "500.00"
    assert "500" not in fee["receiver"] and fee["receiver"]  # "counted, not shown to the receiver"


def test_pool_never_overloads_and_creates_one_transfer_per_producer(market: Market) -> None:
    producers = [parties.make_org(market.zone, roles=("producer",)) for _ in range(7)]
    for n, org in enumerate(producers):
        supply(org, tonnes=str(Decimal("0.6") + Decimal(n) / 10), dlat=str(n / 100), dlon=str(-n / 150))
    demand(market.receiver)
    run = services.plan_pool(
        Actor.system(market.zone), waste_code=ISW_CODE, vehicle_capacity_t="2", time_limit_s=1
    )
    stops = list(run.stops.all())
    assert sorted(s.organization_id for s in stops) == sorted(o.pk for o in producers)
    for v in {s.vehicle for s in stops}:
        route = [s for s in stops if s.vehicle == v]
        assert route[-1].load_after_t <= Decimal("2")
        assert route[-1].load_after_t == sum(s.quantity_t for s in route)
    assert run.saving_cny == run.alone_cost_cny - run.pooled_cost_cny
    assert run.pooled_cost_cny < run.alone_cost_cny
    services.execute_pool(Actor.system(market.zone), run.pk)
    stops = list(PoolStop.objects.filter(run=run))
    assert all(s.transfer is not None for s in stops)
    assert len({s.transfer_id for s in stops}) == 7


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("quantity_t", {"quantity_t": "-1"}),
        ("price_cny_per_t", {"price_cny_per_t": "15 USD/t"}),
        ("price_cny_per_t", {"currency": "USD"}),
        ("site_id", {"site": "nocoords"}),
        ("waste_code", {"waste_code": "12-34"}),
    ],
)
def test_bad_supply_names_the_field(market: Market, field: str, data: dict[str, str]) -> None:
    payload: dict[str, object] = {"waste_code": ISW_CODE, "quantity_t": "1", "price_cny_per_t": "10"}
    payload.update(data)
    if payload.pop("site", None):
        site = site_for(market.producer, coordinates=False)
    else:
        site = site_for(market.producer)
    payload["site_id"] = site.pk
    with pytest.raises(Invalid) as exc:
        services.create_supply(parties.actor_of(market.producer), data=payload)
    assert exc.value.errors[0]["field"] == field


def test_hw_demand_needs_a_licence_covering_the_code(market: Market) -> None:
    with pytest.raises(Invalid) as exc:
        demand(market.receiver, prices={ISW_CODE: "100", HW_CODE: "-500"})
    assert exc.value.errors[0]["field"] == "prices[2].waste_code"


def test_producer_may_not_run_matching(market: Market) -> None:
    with pytest.raises(Forbidden):
        services.run_matching(parties.actor_of(market.producer), period="2020-06")


def test_public_board_hides_single_company_figures(market: Market) -> None:
    supply(market.producer, tonnes="3")
    board = services.public_board(market.zone.pk)
    [row] = board
    assert row["code"] == ISW_CODE and row["supply_t_per_month"] is None and row["listings"] == 1
    other = parties.make_org(market.zone, roles=("producer",))
    supply(other, tonnes="4.5")
    [row] = services.public_board(market.zone.pk)
    assert row["supply_t_per_month"] == "7.500" and row["listings"] == 2
    assert market.producer.name not in str(board)


def test_licence_revoked_after_listing_excludes_hw_pairing(market: Market) -> None:
    from datetime import date

    from zerowaste.core import services as core
    from zerowaste.core.models import Licence

    lic = core.add_licence(
        Actor.system(market.zone),
        market.receiver.pk,
        kind="hw_operating",
        number="京环危T1",
        issuer="生态环境局",
        valid_from=date(2015, 1, 1),
        valid_to=date(2035, 12, 31),
        waste_codes=["HW49"],
    )
    demand(market.receiver, prices={HW_CODE: "300"})
    supply(market.producer, code=HW_CODE, tonnes="2", price="-100")
    assert services.run_matching(Actor.system(market.zone), period="2020-06").proposals.count() == 1
    Licence.objects.filter(pk=lic.pk).update(is_revoked=True)
    assert services.run_matching(Actor.system(market.zone), period="2020-06").proposals.count() == 0


def test_pool_visits_a_producer_with_two_listings_once(market: Market) -> None:
    org = parties.make_org(market.zone, roles=("producer",))
    site = site_for(org, "0.01", "0.01")
    supply(org, tonnes="0.4", site=site)
    supply(org, tonnes="0.7", site=site, kind="lot")
    supply(parties.make_org(market.zone, roles=("producer",)), tonnes="0.9", dlat="0.03")
    demand(market.receiver)
    run = services.plan_pool(Actor.system(market.zone), waste_code=ISW_CODE, time_limit_s=1)
    stops = list(run.stops.all())
    assert len(stops) == 2
    mine = next(s for s in stops if s.organization_id == org.pk)
    assert mine.quantity_t == Decimal("1.100") and len(mine.supply_ids) == 2
    services.execute_pool(Actor.system(market.zone), run.pk)
    mine.refresh_from_db()
    assert mine.transfer is not None and mine.transfer.estimated_t == Decimal("1.100")


def test_a_rerun_proposes_only_what_agreements_leave(market: Market) -> None:
    """Issue 16, item 14: a 4 t agreement against a 4 t/month demand, then a rerun proposed 4 t more."""
    system = Actor.system(market.zone)
    s = supply(market.producer, tonnes="10", price="100")
    d = demand(market.receiver, prices={ISW_CODE: "900"}, capacity="4")
    proposal = services.run_matching(system, period="2020-06").proposals.get()
    assert proposal.quantity_t == Decimal("4.000")
    services.accept_proposal(system, proposal.pk)
    assert services.committed_tonnes(market.zone.pk, rules.month_start("2020-06")) == (
        {s.pk: Decimal("4.000")},
        {d.pk: Decimal("4.000")},
    )

    assert services.run_matching(system, period="2020-06").proposals.count() == 0
    # Another receiver takes what the supply has left that month (6 t), not its full 10 t.
    other = parties.make_org(market.zone, roles=("receiver",))
    demand(other, prices={ISW_CODE: "900"}, capacity="50")
    [rest] = services.run_matching(system, period="2020-06").proposals.all()
    assert rest.demand.organization_id == other.pk and rest.quantity_t == Decimal("6.000")
    # The next month starts afresh: the capacity and the monthly quantity are per month.
    july = services.run_matching(system, period="2020-07").proposals.all()
    assert sum(p.quantity_t for p in july) == Decimal("10.000")
    assert sum(p.quantity_t for p in july if p.demand_id == d.pk) == Decimal("4.000")
