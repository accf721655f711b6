"""API: report, summary, trend, records, entries with evidence, exports, sets; access."""

from __future__ import annotations

import base64

import pytest

from zerowaste.indicators import services
from zerowaste.testing import parties

from .conftest import World

pytestmark = pytest.mark.django_db


def test_report_and_summary(world: World) -> None:
    api = parties.api_client(world.regulator_org, ("read",))
    report = api.get("/api/indicators/report?year=2020")
    assert report.status_code == 200, report.content
    data = report.json()
    assert len(data["rows"]) == 43 and data["set"]["code"] == "bda-2019"
    assert data["rows"][0]["class"] == "required" and data["rows"][0]["achieved"] == "0.03"
    assert data["rows"] == services.report_rows(world.zone.pk, 2020)
    summary = api.get("/api/indicators/summary?year=2020").json()
    assert summary["total"] == 43 and summary["not_met_list"][0]["number"] == "9"
    assert api.get("/api/indicators/summary?year=1800").status_code == 422
    inputs = api.get("/api/indicators/inputs").json()
    assert {i["key"] for i in inputs} >= {"isw_generated_t", "value_added_wan"}
    trend = api.get("/api/indicators/trend?years=2019,2020").json()
    assert trend["years"] == [2019, 2020]
    records = api.get("/api/indicators/records?year=2020&key=isw_generated_t").json()
    assert records["rows"][0]["value"] == "1000.000"
    assert api.get("/api/indicators/records?year=2020&key=nope").status_code == 404


def test_entries_with_evidence(world: World) -> None:
    api = parties.api_client(world.regulator_org, ("admin",))
    response = api.post(
        "/api/indicators/entries",
        {
            "year": 2020,
            "key": "green_factories",
            "value": "22",
            "source": "企业服务局 绿色工厂名单",
            "evidence_name": "list.txt",
            "evidence_base64": base64.b64encode(b"22 factories").decode(),
        },
    )
    assert response.status_code == 201, response.content
    entry_id = response.json()["id"]
    assert api.get(f"/api/indicators/entries/{entry_id}/evidence").content == b"22 factories"
    assert api.get("/api/indicators/entries?year=2020").json()[0]["key"] == "green_factories"
    bad = api.post(
        "/api/indicators/entries", {"year": 2020, "key": "green_factories", "value": "x", "source": "s"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "value"


def test_producers_are_refused(world: World) -> None:
    api = parties.api_client(world.producer, ("admin",))
    assert api.get("/api/indicators/report?year=2020").status_code == 403
    response = api.post(
        "/api/indicators/entries", {"year": 2020, "key": "green_factories", "value": "1", "source": "s"}
    )
    assert response.status_code == 403


def test_exports_and_sets(world: World) -> None:
    api = parties.api_client(world.regulator_org, ("admin",))
    assert api.get("/api/indicators/report.xlsx?year=2020").content[:2] == b"PK"
    assert api.get("/api/indicators/report.pdf?year=2020").content[:4] == b"%PDF"
    text = services.BUNDLED_SET.read_text(encoding="utf-8").replace('version = "2019.1"', 'version = "9"')
    loaded = api.post("/api/indicators/sets", {"text": text, "activate": False})
    assert loaded.status_code == 201 and loaded.json()["is_active"] is False
    assert api.post(f"/api/indicators/sets/{loaded.json()['id']}/activate", {}).status_code == 204
    assert services.active_set(world.zone.pk).version == "9"
    refused = api.post("/api/indicators/sets", {"text": text.replace("green_factories", "gf", 1)})
    assert refused.status_code == 422 and refused.json()["errors"][0]["line"] > 0
