from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.exchange.models import Agreement, PoolRun
from zerowaste.exchange.testing import HW_CODE, ISW_CODE, Market, demand, site_for, supply
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


def test_api_listing_match_accept_flow(market: Market) -> None:
    producer = parties.api_client(market.producer)
    receiver = parties.api_client(market.receiver)
    regulator = parties.api_client(market.regulator)
    psite = site_for(market.producer, "0.01", "0.02")
    rsite = site_for(market.receiver)
    r = producer.post(
        "/api/exchange/supply",
        {"waste_code": ISW_CODE, "site_id": psite.pk, "quantity_t": "8", "price_cny_per_t": "120 元/吨"},
        idempotency_key="s-1",
    )
    assert r.status_code == 201, r.content
    again = producer.post(
        "/api/exchange/supply",
        {"waste_code": ISW_CODE, "site_id": psite.pk, "quantity_t": "8", "price_cny_per_t": "120 元/吨"},
        idempotency_key="s-1",
    )
    assert again.json()["id"] == r.json()["id"]
    supply_id = r.json()["id"]
    r = receiver.post(
        "/api/exchange/demand",
        {
            "site_id": rsite.pk,
            "capacity_t_per_month": "100",
            "service_radius_km": "40",
            "prices": [{"waste_code": ISW_CODE, "price_cny_per_t": "900"}],
        },
    )
    assert r.status_code == 201, r.content
    # Refusals name the field.
    bad = receiver.post(
        "/api/exchange/demand",
        {
            "site_id": rsite.pk,
            "capacity_t_per_month": "100",
            "service_radius_km": "40",
            "prices": [{"waste_code": HW_CODE, "price_cny_per_t": "900"}],
        },
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "prices[1].waste_code"
    bad = producer.post(
        "/api/exchange/supply",
        {"waste_code": ISW_CODE, "site_id": psite.pk, "quantity_t": "-2", "price_cny_per_t": "1"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "quantity_t"
    # Only a regulator runs the matching.
    assert producer.post("/api/exchange/runs", {"period": "2020-06"}).status_code == 403
    r = regulator.post("/api/exchange/runs", {"period": "2020-06"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["gap"] == "0" and body["value"] == body["bound"]
    [p] = body["proposals"]
    assert p["supply"] == supply_id
    # The producer sees its proposal with value, distance and the alternatives.
    mine = producer.get("/api/exchange/proposals").json()["items"]
    assert [m["id"] for m in mine] == [p["id"]]
    assert Client().get(f"/api/exchange/proposals/{p['id']}").status_code == 401
    stranger = parties.api_client(parties.make_org(market.zone, roles=("producer",)))
    assert stranger.get(f"/api/exchange/proposals/{p['id']}").status_code == 404
    assert stranger.post(f"/api/exchange/proposals/{p['id']}/accept").status_code == 404
    assert producer.post(f"/api/exchange/proposals/{p['id']}/accept").json()["supplier_accepted"]
    done = receiver.post(f"/api/exchange/proposals/{p['id']}/accept").json()
    assert done["status"] == "accepted" and done["transfer_id"]
    assert producer.post(f"/api/exchange/proposals/{p['id']}/accept").status_code == 409
    outgoing = producer.get("/api/transfers", kind="outgoing").json()["items"]
    assert [t["id"] for t in outgoing] == [done["transfer_id"]]
    assert Agreement.objects.get().transfer_id == done["transfer_id"]


def test_board_is_public_and_aggregate(market: Market) -> None:
    supply(market.producer, tonnes="2")
    supply(parties.make_org(market.zone, roles=("producer",)), tonnes="3")
    demand(market.receiver)
    client = Client()
    rows = client.get("/api/exchange/board", {"zone": market.zone.code}).json()
    assert rows == [
        {
            "category": "ISW09",
            "code": ISW_CODE,
            "name": rows[0]["name"],
            "supply_t_per_month": "5.000",
            "demand_t_per_month": None,
            "price_min_cny_per_t": None,
            "price_max_cny_per_t": None,
            "listings": 3,
        }
    ]
    page = client.get("/exchange/", {"zone": market.zone.code})
    assert page.status_code == 200
    html = page.content.decode()
    assert ISW_CODE in html and "5.000" in html and market.producer.name not in html


def test_pages(market: Market) -> None:
    for n in range(3):
        supply(parties.make_org(market.zone, roles=("producer",)), tonnes="0.5", dlat=str(n / 50))
    demand(market.receiver)
    client = Client()
    client.force_login(parties.make_member(market.regulator, "admin").user)
    r = client.post("/exchange/runs/", {"period": "2020-06"})
    assert r.status_code == 302
    assert client.get(r["Location"]).status_code == 200
    r = client.post("/exchange/runs/", {"period": "2020-13"})
    assert r.status_code == 422 and "period" in r.content.decode()
    r = client.post("/exchange/pools/", {"waste_code": ISW_CODE, "time_limit_s": "1"})
    assert r.status_code == 302, r.content.decode()[:500]
    page = client.get(r["Location"]).content.decode()
    run = PoolRun.objects.get()
    assert str(run.pooled_cost_cny) in page and 'id="route-table"' in page
    assert client.post(r["Location"]).status_code == 302
    run.refresh_from_db()
    assert run.status == "executed"
    producer = Client()
    producer.force_login(parties.make_member(market.producer, "clerk").user)
    site = site_for(market.producer)
    r = producer.post(
        "/exchange/mine/",
        {"form": "supply", "waste_code": ISW_CODE, "site_id": site.pk, "kind": "lot", "quantity_t": "abc"},
    )
    assert r.status_code == 422 and "quantity_t" in r.content.decode()
    r = producer.post(
        "/exchange/mine/",
        {"form": "supply", "waste_code": ISW_CODE, "site_id": site.pk, "kind": "lot", "quantity_t": "1.5"},
    )
    assert r.status_code == 302
    assert "1.500" in producer.get("/exchange/mine/").content.decode()
    assert producer.get("/exchange/proposals/").status_code == 200
    assert producer.get(f"/exchange/pools/{run.pk}/").status_code == 404


def test_proposal_list_query_count_does_not_grow(market: Market) -> None:
    client = parties.api_client(market.producer)
    demand(market.receiver, capacity="1000")
    client.get("/api/exchange/proposals")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/exchange/proposals").status_code == 200
        return len(ctx.captured_queries)

    from zerowaste.core.authz import Actor
    from zerowaste.exchange import services

    supply(market.producer, tonnes="1")
    services.run_matching(Actor.system(market.zone), period="2020-06")
    one = count()
    for n in range(9):
        supply(market.producer, tonnes="1", dlat=str(n / 100))
    services.run_matching(Actor.system(market.zone), period="2020-06")
    assert client.get("/api/exchange/proposals", status="proposed").json()["count"] == 10
    assert count() == one


@pytest.mark.parametrize("path", ["/api/exchange/supply", "/api/exchange/demand"])
def test_listing_lists_query_count_does_not_grow(market: Market, path: str) -> None:
    org = market.producer if "supply" in path else market.receiver
    client = parties.api_client(org)
    site = site_for(org)

    def add(n: int) -> None:
        for _ in range(n):
            if "supply" in path:
                supply(org, tonnes="1", site=site)
            else:
                demand(org, site=site)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    add(1)
    client.get(path)
    one = count()
    add(49)
    assert client.get(path).json()["count"] == 50
    assert count() == one


def test_api_pools_and_withdrawals(market: Market) -> None:
    for n in range(3):
        supply(parties.make_org(market.zone, roles=("producer",)), tonnes="0.6", dlat=str(n / 40))
    demand(market.receiver)
    regulator = parties.api_client(market.regulator)
    producer = parties.api_client(market.producer)
    assert (
        Client()
        .post("/api/exchange/pools", {"waste_code": ISW_CODE}, content_type="application/json")
        .status_code
        == 401
    )
    assert producer.post("/api/exchange/pools", {"waste_code": ISW_CODE}).status_code == 403
    bad = regulator.post("/api/exchange/pools", {"waste_code": "99-99-99"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "waste_code"
    r = regulator.post(
        "/api/exchange/pools", {"waste_code": ISW_CODE, "time_limit_s": 1}, idempotency_key="p-1"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert len(body["stops"]) == 3 and body["saving_cny"] == str(
        Decimal(body["alone_cost_cny"]) - Decimal(body["pooled_cost_cny"])
    )
    again = regulator.post(
        "/api/exchange/pools", {"waste_code": ISW_CODE, "time_limit_s": 1}, idempotency_key="p-1"
    )
    assert again.json()["run"] == body["run"]
    assert producer.get(f"/api/exchange/pools/{body['run']}").status_code == 404
    assert producer.post(f"/api/exchange/pools/{body['run']}/execute").status_code == 404
    done = regulator.post(f"/api/exchange/pools/{body['run']}/execute")
    assert done.status_code == 200 and all(s["transfer_id"] for s in done.json()["stops"])
    assert regulator.post(f"/api/exchange/pools/{body['run']}/execute").status_code == 409
    # Withdrawals: the owner only, once.
    own = supply(market.producer, tonnes="1")
    other = parties.api_client(parties.make_org(market.zone, roles=("producer",)))
    assert other.post(f"/api/exchange/supply/{own.pk}/withdraw").status_code == 404
    assert regulator.post(f"/api/exchange/supply/{own.pk}/withdraw").status_code == 403
    assert producer.post(f"/api/exchange/supply/{own.pk}/withdraw").json()["status"] == "withdrawn"
    assert producer.post(f"/api/exchange/supply/{own.pk}/withdraw").status_code == 409
    viewer = parties.api_client(market.producer, ("read",))
    assert (
        viewer.post(
            "/api/exchange/supply", {"waste_code": ISW_CODE, "site_id": own.site_id, "quantity_t": "1"}
        ).status_code
        == 403
    )
