"""API routes (success, 422 naming the field, 401, 404, 403, idempotent retry, no DELETE, query counts)
and the pages."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from zerowaste.hazardous import services
from zerowaste.hazardous.models import Container, IdentificationReport, Inspection
from zerowaste.hazardous.testing import REPORT_DATA, Park, make_park
from zerowaste.testing import parties
from zerowaste.transfers.models import Transfer

pytestmark = pytest.mark.django_db


def _collection(park: Park, **extra: object) -> dict[str, object]:
    return {
        "producer_id": park.producer.pk,
        "waste_code": "900-041-49",
        "quantity_kg": 80,
        "bay": "A",
        "analysis_report": "FX-1",
        **extra,
    }


def test_collect_label_ship_summary_over_the_api(park: Park, english: None) -> None:
    op = parties.api_client(park.operator)
    url = f"/api/hazardous/stores/{park.store.pk}/collections"
    r = op.post(url, _collection(park), idempotency_key="c1")
    assert r.status_code == 201, r.content
    c = r.json()
    assert (c["quantity_kg"], c["quantity_t"], c["state"]) == (80, "0.080", "in_store")
    again = op.post(url, _collection(park), idempotency_key="c1")
    assert again.status_code == 201 and again.json()["id"] == c["id"]
    assert Container.objects.filter(store=park.store).count() == 1
    bad = op.post(url, _collection(park, waste_code="900-300-34", bay="A"))
    assert bad.status_code == 201  # acid in bay A next to general waste: compatible
    refused = op.post(url, _collection(park, waste_code="900-399-35", bay="A"))
    assert refused.status_code == 422
    err = refused.json()["errors"][0]
    assert (
        err["field"] == "bay"
        and err["rule"] == "R-INCOMPATIBLE"
        and "贮存管理工作指南第十条" in err["message"]
    )
    missing = op.post(url, {**_collection(park), "bay": None})
    assert missing.status_code == 422
    label = op.get(f"/api/hazardous/containers/{c['id']}/label.pdf")
    assert label.status_code == 200 and label.content[:4] == b"%PDF"
    inv = op.get(f"/api/hazardous/stores/{park.store.pk}/inventory").json()
    assert inv["total_kg"] == 160 and {r["code"] for r in inv["codes"]} == {"900-041-49", "900-300-34"}
    ship = op.post(
        f"/api/hazardous/stores/{park.store.pk}/ship",
        {"container_ids": [c["id"]], "consignee_id": park.receiver.pk, "carrier_id": park.carrier.pk},
        idempotency_key="s1",
    )
    assert ship.status_code == 201, ship.content
    assert ship.json()["state"] == "issued" and ship.json()["estimated_t"] == "0.080"
    assert Transfer.objects.filter(consignor=park.operator).count() == 1
    today = date.today()
    s = op.get(f"/api/hazardous/stores/{park.store.pk}/summary", year=today.year, month=today.month).json()
    assert s["balanced"] and s["manifests_reconciled"]
    assert (
        op.get(f"/api/hazardous/stores/{park.store.pk}/summary", year=today.year, month=13).status_code == 422
    )


def test_access_401_404_403(park: Park) -> None:
    c = park.collect()
    assert Client().get(f"/api/hazardous/containers/{c.pk}").status_code == 401
    other = make_park(park.zone)
    foreign = parties.api_client(other.operator)
    assert foreign.get(f"/api/hazardous/containers/{c.pk}").status_code == 404
    assert foreign.get(f"/api/hazardous/stores/{park.store.pk}").status_code == 404
    assert (
        foreign.post(f"/api/hazardous/stores/{park.store.pk}/collections", _collection(park)).status_code
        == 404
    )
    # The park's producer sees its store and its container but may not collect or configure.
    producer = parties.api_client(park.producer)
    assert producer.get(f"/api/hazardous/containers/{c.pk}").status_code == 200
    assert (
        producer.post(f"/api/hazardous/stores/{park.store.pk}/collections", _collection(park)).status_code
        == 403
    )
    assert (
        producer.patch(f"/api/hazardous/stores/{park.store.pk}", {"warning_days": [200]}).status_code == 403
    )
    read_only = parties.api_client(park.operator, scopes=("read",))
    assert (
        read_only.post(f"/api/hazardous/stores/{park.store.pk}/collections", _collection(park)).status_code
        == 403
    )
    # A regulator sees, approves extensions, but does not collect.
    reg = parties.api_client(park.regulator)
    assert reg.get(f"/api/hazardous/containers/{c.pk}").status_code == 200
    assert (
        reg.post(f"/api/hazardous/stores/{park.store.pk}/collections", _collection(park)).status_code == 403
    )


def test_nothing_is_deleted_over_the_api(park: Park) -> None:
    c = park.collect()
    op = parties.api_client(park.operator)
    assert op.delete(f"/api/hazardous/containers/{c.pk}").status_code == 405
    assert op.delete(f"/api/hazardous/stores/{park.store.pk}").status_code == 405
    from zerowaste.api import api

    schema = api.get_openapi_schema()
    for path, ops in schema["paths"].items():
        if path.startswith("/api/hazardous"):
            assert "delete" not in ops, path
    assert Container.objects.filter(pk=c.pk).exists()


def test_configure_store_and_alerts(park: Park) -> None:
    op = parties.api_client(park.operator)
    r = op.patch(f"/api/hazardous/stores/{park.store.pk}", {"warning_days": [300, 200]})
    assert r.status_code == 200 and r.json()["warning_days"] == [200, 300]
    bad = op.patch(f"/api/hazardous/stores/{park.store.pk}", {"warning_days": [400]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "warning_days"
    c = park.collect(collected_on="2020-01-01")
    alerts = op.get("/api/hazardous/alerts", on="2020-07-20").json()
    assert [(a["container"], a["level"]) for a in alerts] == [(c.number, "warning")]
    assert op.get("/api/hazardous/alerts", on="2020-07-20", overdue=True).json() == []
    reg = parties.api_client(park.regulator)
    ext = reg.post(
        f"/api/hazardous/containers/{c.pk}/extensions",
        {"until": "2021-03-31", "document": "批复1号", "reason": "检修"},
        idempotency_key="e1",
    )
    assert ext.status_code == 201
    assert (
        op.post(
            f"/api/hazardous/containers/{c.pk}/extensions",
            {"until": "2021-04-30", "document": "x", "reason": "y"},
        ).status_code
        == 403
    )


def test_tiers_plans_reports_inspections_over_the_api(park: Park) -> None:
    reg = parties.api_client(park.regulator)
    r = reg.post("/api/hazardous/tiers/recompute?year=2021")
    assert r.status_code == 200 and {t["tier"] for t in r.json()} == {"A"}
    assert reg.get("/api/hazardous/tiers", year=1800).status_code == 422
    prod = parties.api_client(park.producer)
    tp = prod.post(
        "/api/hazardous/transfer-plans",
        {
            "year": 2021,
            "quarter": 2,
            "lines": [{"waste_code": "900-041-49", "quantity_t": "1.5", "destination": "园区"}],
        },
    )
    assert tp.status_code == 201 and tp.json()["due_on"] == "2021-03-06"
    mp = prod.post("/api/hazardous/plans", {"year": 2021, "content": {"A.1": "x", "A.3": "y"}})
    assert mp.status_code == 201 and mp.json()["management_class"] == "registered"
    plans = parties.api_client(park.operator).get("/api/hazardous/plans").json()
    assert len(plans["transfer"]) == 1 and len(plans["management"]) == 1  # the park's producer's
    rep = prod.post("/api/hazardous/reports", REPORT_DATA)
    assert rep.status_code == 201
    pub = prod.post(f"/api/hazardous/reports/{rep.json()['id']}/publish", {"effective_from": "2030-01-01"})
    assert pub.status_code == 200 and pub.json()["status"] == "published"
    insp = reg.post(
        "/api/hazardous/inspections",
        {"organization_id": park.producer.pk, "result": "basically_passed", "findings": "标签"},
    )
    assert insp.status_code == 201
    rates = reg.get("/api/hazardous/pass-rates", year=date.today().year).json()
    assert rates["all"]["rate_percent"] == "70.00"
    assert (
        prod.post(
            "/api/hazardous/inspections", {"organization_id": park.producer.pk, "result": "passed"}
        ).status_code
        == 403
    )
    assert IdentificationReport.objects.count() == 1 and Inspection.objects.count() == 1


def test_container_list_query_count_does_not_grow(park: Park) -> None:
    op = parties.api_client(park.operator)
    park.collect()
    url = f"/api/hazardous/stores/{park.store.pk}/containers"
    op.get(url)
    with CaptureQueriesContext(connection) as one:
        op.get(url)
    for _ in range(9):
        park.collect()
    with CaptureQueriesContext(connection) as ten:
        assert op.get(url).json()["count"] == 10
    assert len(one.captured_queries) == len(ten.captured_queries)


def test_pages(park: Park, english: None) -> None:
    c = park.collect(collected_on="2020-01-01")
    client = Client()
    client.force_login(parties.make_member(park.operator).user)
    for name, kwargs in (
        ("hazardous:home", {}),
        ("hazardous:tiers", {}),
        ("hazardous:store", {"hw_store_id": park.store.pk}),
        ("hazardous:summary", {"hw_store_id": park.store.pk}),
        ("hazardous:container", {"hw_container_id": c.pk}),
        ("hazardous:plans", {}),
        ("hazardous:reports", {}),
        ("hazardous:inspections", {}),
    ):
        r = client.get(reverse(name, kwargs=kwargs), HTTP_ACCEPT_LANGUAGE="en")
        assert r.status_code == 200, name
    home = client.get(reverse("hazardous:home")).content.decode()
    assert c.number in home and 'id="alert-count">1<' in home
    label = client.get(reverse("hazardous:label", kwargs={"hw_container_id": c.pk}))
    assert label["Content-Type"] == "application/pdf" and label.content[:4] == b"%PDF"
    store_url = reverse("hazardous:store", kwargs={"hw_store_id": park.store.pk})
    post = {"action": "collect", **{k: str(v) for k, v in _collection(park).items()}}
    r = client.post(store_url, {**post, "waste_code": "900-399-35", "bay": "B"})
    assert r.status_code == 302
    r = client.post(store_url, {**post, "waste_code": "900-300-34", "bay": "B"})
    assert (
        r.status_code == 422
        and "贮存管理工作指南第十条" in r.content.decode()
        and "R-INCOMPATIBLE" not in r.content.decode()
    )
    ids = [str(x) for x in Container.objects.filter(store=park.store).values_list("pk", flat=True)]
    r = client.post(
        store_url,
        {
            "action": "ship",
            "container_ids": ids,
            "consignee_id": park.receiver.pk,
            "carrier_id": park.carrier.pk,
        },
    )
    assert r.status_code == 302 and "/transfers/" in r["Location"]
    assert not Container.objects.filter(store=park.store, state="in_store").exists()
    outsider = Client()
    outsider.force_login(parties.make_member(make_park(park.zone).operator).user)
    assert outsider.get(store_url).status_code == 404
    assert outsider.get(reverse("hazardous:label", kwargs={"hw_container_id": c.pk})).status_code == 404


def test_regulator_pages_record_inspection_and_extension(park: Park, english: None) -> None:
    c = park.collect(collected_on="2020-01-01")
    client = Client()
    client.force_login(parties.make_member(park.regulator).user)
    r = client.post(
        reverse("hazardous:inspections"), {"organization_id": park.producer.pk, "result": "passed"}
    )
    assert r.status_code == 302 and Inspection.objects.count() == 1
    r = client.post(
        reverse("hazardous:extend", kwargs={"hw_container_id": c.pk}),
        {"until": "2021-02-28", "document": "批复", "reason": "检修"},
    )
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.extended_until == date(2021, 2, 28)
    page = client.get(reverse("hazardous:home")).content.decode()
    assert 'id="pass-rate"' in page and "100.00 %" in page


def test_ledger_return_and_producer_summary_over_api_and_pages(park: Park) -> None:
    c = park.collect(quantity_kg=75, collected_on="2021-04-01")
    op = parties.api_client(park.operator)
    x = op.get(f"/api/hazardous/stores/{park.store.pk}/ledger", year=2021, kind="in")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    csv = op.get(f"/api/hazardous/stores/{park.store.pk}/ledger", year=2021, kind="in", format="csv")
    assert c.number in csv.content.decode("utf-8-sig")
    assert op.get(f"/api/hazardous/stores/{park.store.pk}/ledger", year=2021, format="pdf").status_code == 422
    prod = parties.api_client(park.producer)
    assert prod.get(f"/api/hazardous/stores/{park.store.pk}/ledger", year=2021).status_code == 403
    assert prod.get(f"/api/hazardous/stores/{park.store.pk}/summary", year=2021, month=4).status_code == 403
    mine = prod.get("/api/hazardous/producer-summary", year=2021, month=4).json()
    assert mine["collected_kg"] == 75 and not mine["reconciled"]  # nothing declared for April
    ship = op.post(
        f"/api/hazardous/stores/{park.store.pk}/ship",
        {"container_ids": [c.pk], "consignee_id": park.receiver.pk, "carrier_id": park.carrier.pk},
    ).json()
    assert (
        op.post(f"/api/hazardous/stores/{park.store.pk}/return?transfer_id={ship['transfer_id']}").status_code
        == 409
    )
    client = Client()
    client.force_login(parties.make_member(park.producer).user)
    assert (
        client.get(reverse("hazardous:producer_summary"), {"year": "2021", "month": "4"}).status_code == 200
    )
    client.force_login(parties.make_member(park.operator).user)
    r = client.get(
        reverse("hazardous:ledger", kwargs={"hw_store_id": park.store.pk}), {"year": "2021", "kind": "out"}
    )
    assert r.status_code == 200 and r["Content-Disposition"].endswith('B3-2021.xlsx"')


def test_every_hazardous_route_needs_authentication(park: Park) -> None:
    from zerowaste.api import api

    schema = api.get_openapi_schema()
    client = Client()
    checked = 0
    for path, ops in schema["paths"].items():
        if not path.startswith("/api/hazardous"):
            continue
        url = path.replace("{hw_store_id}", str(park.store.pk)).replace("{hw_container_id}", "1")
        url = url.replace("{hw_report_id}", "1").replace("{hw_inspection_id}", "1")
        url = url.replace("{hw_facility_id}", "1")
        for method in ops:
            response = getattr(client, method)(url, content_type="application/json")
            assert response.status_code == 401, (method, path)
            checked += 1
    assert checked >= 30


def test_page_and_list_query_counts_do_not_grow(park: Park) -> None:
    client = Client()
    client.force_login(parties.make_member(park.operator).user)
    store_url = reverse("hazardous:store", kwargs={"hw_store_id": park.store.pk})
    park.collect(collected_on="2020-01-01")
    client.get(store_url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(store_url).status_code == 200
    reg = parties.api_client(park.regulator)
    services.record_inspection(park.system, data={"organization_id": park.producer.pk, "result": "passed"})
    reg.get("/api/hazardous/inspections")
    with CaptureQueriesContext(connection) as insp_one:
        reg.get("/api/hazardous/inspections")
    for i in range(9):
        park.collect(
            collected_on=f"2020-01-{i + 2:02d}", producer_id=park.producer2.pk if i % 2 else park.producer.pk
        )
        org = parties.make_org(park.zone)
        services.record_inspection(park.system, data={"organization_id": org.pk, "result": "passed"})
    with CaptureQueriesContext(connection) as ten:
        page = client.get(store_url)
        assert page.content.decode().count("label-link") == 10
    assert len(one.captured_queries) == len(ten.captured_queries)
    with CaptureQueriesContext(connection) as insp_ten:
        assert reg.get("/api/hazardous/inspections").json()["count"] == 10
    assert len(insp_one.captured_queries) == len(insp_ten.captured_queries)
