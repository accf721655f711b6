"""API: success, 422 naming the field, 401, 404 for others' rows, 403 for wrong role, idempotent retry,
constant query counts for the list and statistics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.declarations import services
from zerowaste.declarations.models import Declaration
from zerowaste.testing import parties

from .conftest import World, line

pytestmark = pytest.mark.django_db

BODY: dict[str, Any] = {
    "stream": "isw",
    "period": "2020-03",
    "lines": [
        {
            "waste_code": "99-01-01",
            "generated_t": "1500",
            "unit": "kg",
            "transferred_util_t": "1500",
            "closing_t": "0",
        }
    ],
}


def test_create_submit_accept(world: World) -> None:
    producer = parties.api_client(world.producer, ["declare"])
    response = producer.post("/api/declarations", BODY)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "draft" and data["lines"][0]["generated_t"] == "1.500"
    decl_id = data["id"]
    assert producer.post(f"/api/declarations/{decl_id}/submit").json()["status"] == "submitted"
    regulator = parties.api_client(world.regulator_org, ["admin"])
    listing = regulator.get("/api/declarations", status="submitted").json()
    assert listing["count"] == 1 and listing["items"][0]["total_generated_t"] == "1.500"
    assert regulator.post(f"/api/declarations/{decl_id}/accept").json()["status"] == "accepted"
    amended = producer.post(
        f"/api/declarations/{decl_id}/amend",
        {
            "reason": "更正",
            "lines": [{**BODY["lines"][0], "generated_t": "2000", "transferred_util_t": "2000"}],
        },
    )
    assert amended.status_code == 201 and amended.json()["version"] == 2
    versions = producer.get(f"/api/declarations/{amended.json()['id']}/versions").json()
    assert versions[1]["diff"][0]["fields"]["generated_t"] == ["1.500", "2.000"]
    recon = producer.get(f"/api/declarations/{decl_id}/reconciliation").json()
    assert set(recon) == {"available", "rows"}
    if recon["available"]:  # the transfers app provides closed transfers: nothing transferred yet
        assert recon["rows"][0]["declared_t"] == "1.500" and recon["rows"][0]["flagged"]


def test_validation_names_the_field(world: World) -> None:
    client = parties.api_client(world.producer, ["declare"])
    bad = {**BODY, "lines": [{**BODY["lines"][0], "closing_t": "1"}]}
    response = client.post("/api/declarations", bad)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].closing_t"
    error = response.json()["errors"][0]
    assert error["rule"] == "balance" and "[balance]" not in error["message"]
    response = client.post("/api/declarations", {**BODY, "period": "2020-13"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "period"
    response = client.post("/api/declarations", {**BODY, "stream": "xx"})
    assert response.status_code == 422


def test_unauthenticated() -> None:
    assert Client().get("/api/declarations").status_code == 401
    assert Client().post("/api/declarations", BODY, content_type="application/json").status_code == 401


def test_others_rows_are_404_and_wrong_role_403(world: World) -> None:
    decl = services.save_declaration(world.clerk, stream="isw", period="2020-03", lines=[line()])
    other = parties.api_client(parties.make_org(world.zone, roles=["producer"]), ["admin"])
    assert other.get(f"/api/declarations/{decl.pk}").status_code == 404
    assert other.post(f"/api/declarations/{decl.pk}/submit").status_code == 404
    reader = parties.api_client(world.producer, ["read"])
    assert reader.get(f"/api/declarations/{decl.pk}").status_code == 200
    assert reader.post(f"/api/declarations/{decl.pk}/submit").status_code == 403
    assert reader.post("/api/declarations", BODY).status_code == 403
    services.submit(world.clerk, decl.pk)
    reg_reader = parties.api_client(world.regulator_org, ["read"])
    assert reg_reader.post(f"/api/declarations/{decl.pk}/accept").status_code == 403
    producer = parties.api_client(world.producer, ["declare"])
    assert producer.post(f"/api/declarations/{decl.pk}/accept").status_code == 403
    assert producer.post(f"/api/declarations/{decl.pk}/submit").status_code == 409


def test_idempotent_retry(world: World) -> None:
    client = parties.api_client(world.producer, ["declare"])
    first = client.post("/api/declarations", BODY, idempotency_key="k-1")
    again = client.post("/api/declarations", BODY, idempotency_key="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Declaration.objects.count() == 1


def test_import_endpoint_dry_run_and_faults(world: World) -> None:
    client = parties.api_client(world.producer, ["declare"])
    csv = (
        "申报期,废物代码,产生量,委托利用量,期末贮存量\n2020-03,99-01-01,1,1,0\n2020-03,99-01-02,1,0,0\n"
    ).encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.client.post(
        "/api/declarations/import",
        {"file": SimpleUploadedFile("a.csv", csv), "dry_run": "true"},
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[0]["row"] == 3 and errors[0]["column"] == "E" and errors[0]["rule"] == "balance"
    good = csv.replace(b"2020-03,99-01-02,1,0,0", b"2020-03,99-01-02,1,0,1")
    response = client.client.post(
        "/api/declarations/import",
        {"file": SimpleUploadedFile("a.csv", good), "dry_run": "true"},
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert response.status_code == 200 and response.json()["status"] == "checked"
    job_id = response.json()["job_id"]
    assert not Declaration.objects.exists()
    started = client.post(f"/api/declarations/imports/{job_id}/start?submit=true")
    assert started.status_code == 200 and started.json()["status"] == "done"
    assert client.get(f"/api/declarations/imports/{job_id}").json()["percent"] == 100
    assert Declaration.objects.get().status == "submitted"


def test_template_export_stats_production(world: World) -> None:
    client = parties.api_client(world.producer, ["declare"])
    response = client.get("/api/declarations/template", period="2020-03", stream="isw")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    client.post("/api/declarations", BODY)
    decl = Declaration.objects.get()
    services.submit(world.clerk, decl.pk)
    assert (
        client.get("/api/declarations/export", format="csv").content.decode("utf-8-sig").count("99-01-01")
        == 1
    )
    stats = client.get("/api/declarations/stats", year=2020, by="code").json()
    assert stats["total_generated_t"] == "1.500" and stats["rows"][0]["key"] == "99-01-01"
    saved = client.post(
        "/api/declarations/production",
        {"year": 2020, "value_added_wan": "100", "products": [{"name": "面板", "quantity": "10"}]},
    )
    assert saved.status_code == 200 and saved.json()["products"][0]["name"] == "面板"
    intensity = client.get("/api/declarations/intensity", year=2020).json()
    assert intensity["rows"][0]["intensity_t_per_wan"] == "0.0150"
    assert client.get("/api/declarations/stats", year=2020, by="colour").status_code == 422


def _make(world: World, n: int) -> None:
    for i in range(n):
        org = parties.make_org(world.zone, roles=["producer"])
        clerk = parties.actor_of(org, "clerk")
        decl = services.save_declaration(
            clerk,
            stream="isw",
            period=f"2020-{i % 12 + 1:02d}",
            lines=[line("99-01-01", "1"), line("99-12-01", "2")],
        )
        services.submit(clerk, decl.pk)


@pytest.mark.slow
def test_query_counts_do_not_grow(world: World) -> None:
    client = parties.api_client(world.regulator_org, ["admin"])
    client.get("/api/declarations")  # the token's first use is recorded once
    counts = []
    for n in (1, 49):
        _make(world, n)
        paths = [
            "/api/declarations?limit=100",
            "/api/declarations/stats?year=2020&by=category",
            "/api/declarations/stats?year=2020&by=street",
            "/api/declarations/intensity?year=2020",
        ]
        measured = []
        for path in paths:
            with CaptureQueriesContext(connection) as ctx:
                response = client.client.get(path, headers={"Authorization": f"Bearer {client.token}"})
            assert response.status_code == 200
            # The token's last use is recorded at most once a minute: not a query of the endpoint.
            measured.append(sum(1 for q in ctx.captured_queries if not q["sql"].startswith("UPDATE")))
        counts.append(measured)
    assert counts[0] == counts[1], counts
    body = json.loads(
        client.client.get(
            "/api/declarations?limit=100", headers={"Authorization": f"Bearer {client.token}"}
        ).content
    )
    assert body["count"] == 50
