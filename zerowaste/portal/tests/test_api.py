"""The cockpit API: one route per figure, the page's own numbers; regulators only; the public aggregates."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from zerowaste.core.models import AuditEntry, Zone
from zerowaste.declarations import services as declarations
from zerowaste.portal import services
from zerowaste.testing import parties

from .conftest import Cockpit

ROUTES = ("tonnages", "flows", "backlog", "indicators", "alerts", "intensity")


@pytest.mark.parametrize("route", ROUTES)
def test_each_figure_has_a_route_equal_to_the_service(cockpit: Cockpit, route: str) -> None:
    client = parties.api_client(cockpit.regulator_org)
    params = {"year": 2020} if route in ("indicators", "intensity") else {"year": 2020, "month": 3}
    response = client.get(f"/api/portal/cockpit/{route}", **params)
    assert response.status_code == 200, response.content
    expected = services.section(cockpit.regulator, route, year=2020, month=params.get("month"))
    body = response.json()
    assert body["year"] == 2020
    if route == "tonnages":
        assert body["totals"] == expected["totals"]
        assert body["rows"] == expected["rows"]
    if route == "flows":
        assert body["links"] == expected["links"] and body["balanced"] is True
    if route == "alerts":
        assert [r["organization"] for r in body["missing"]] == [
            r["organization"] for r in expected["missing"]
        ]
        assert len(body["missing"]) == 2


def test_the_cockpit_tonnage_equals_the_declarations_api(cockpit: Cockpit) -> None:
    client = parties.api_client(cockpit.regulator_org)
    mine = client.get("/api/portal/cockpit/tonnages", year=2020).json()
    theirs = client.get("/api/declarations/stats", year=2020, stream="isw").json()
    isw = next(t for t in mine["totals"] if t["stream"] == "isw")
    assert Decimal(isw["generated_t"]) == Decimal(theirs["total_generated_t"]) == Decimal("24.750")


def test_whole_cockpit_route_and_errors(cockpit: Cockpit) -> None:
    client = parties.api_client(cockpit.regulator_org)
    body = client.get("/api/portal/cockpit", year=2020, month=3).json()
    assert set(services.SECTIONS) <= set(body) and body["period"] == "2020-03"
    bad = client.get("/api/portal/cockpit/tonnages", year=2020, month=13)
    assert bad.status_code == 422 and "month" in bad.content.decode()
    assert client.get("/api/portal/cockpit/flows", year=1).status_code == 422
    assert client.get("/api/portal/cockpit/drill", chart="nope", year=2020).status_code == 422
    assert Client().get("/api/portal/cockpit/tonnages", {"year": 2020}).status_code == 401
    producer = parties.api_client(cockpit.it)
    assert producer.get("/api/portal/cockpit/tonnages", year=2020).status_code == 403
    assert producer.get("/api/portal/cockpit/drill", chart="missing", year=2020).status_code == 403


def test_drill_down_lists_the_rows_behind_an_element(cockpit: Cockpit) -> None:
    client = parties.api_client(cockpit.regulator_org)
    body = client.get("/api/portal/cockpit/drill", chart="flows", key="receiver:回收公司A", year=2020).json()
    assert {row[0] for row in body["rows"]} == {cockpit.it.name, cockpit.auto.name}
    assert sum(Decimal(r[5]) for r in body["rows"]) == Decimal("17.500")
    body = client.get("/api/portal/cockpit/drill", chart="tonnages", key="hw:HW08", year=2020, month=3).json()
    assert [r[0] for r in body["rows"]] == [cockpit.auto.name]
    body = client.get("/api/portal/cockpit/drill", chart="missing", year=2020, month=4).json()
    assert len(body["rows"]) == 3


def test_export_csv_and_xlsx(cockpit: Cockpit) -> None:
    client = parties.api_client(cockpit.regulator_org)
    response = client.get("/api/portal/cockpit/export", chart="tonnages", year=2020, month=3, format="csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 4  # header; ISW01, ISW02, ISW12, HW08
    isw12 = next(r for r in rows if r[1] == "ISW12")
    assert isw12[0] == "一般工业固体废物"  # the stream in words, not its key (issue 16, item 5)
    assert rows[0][2] == "名称" and isw12[2]  # the category's name beside its code (ADR 0050)
    assert isw12[3:7] == ["2.250", "2.000", "0.000", "0.250"]
    xlsx = client.get("/api/portal/cockpit/export", chart="flows", year=2020, format="xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert ("新一代信息技术", "ISW01", Decimal("10.5")) in [  # nodes in words, not keys
        (a, b, Decimal(str(c))) for a, b, c in values
    ]
    assert (
        client.get("/api/portal/cockpit/export", chart="tonnages", year=2020, format="pdf").status_code == 422
    )


def test_publication_is_a_zone_setting_changed_by_a_regulator_admin_and_audited(cockpit: Cockpit) -> None:
    admin = parties.api_client(cockpit.regulator_org)
    assert admin.get("/api/portal/publication").json() == services.PUBLICATION_DEFAULTS
    response = admin.client.put(
        "/api/portal/publication",
        {"company_figures": True, "exchange": False},
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 200
    assert response.json()["company_figures"] is True and response.json()["exchange"] is False
    entry = AuditEntry.objects.filter(zone_id=cockpit.zone.pk, action="portal.publication").get()
    assert entry.changes == {"exchange": [True, False], "company_figures": [False, True]}
    public = Client().get("/api/portal/public", {"zone": cockpit.zone.code}).json()
    assert "exchange" not in public and [c["organization"] for c in public["companies"]] == []
    viewer = parties.make_member(cockpit.regulator_org, "viewer")
    from zerowaste.core.authz import actor_for_membership
    from zerowaste.core.errors import Forbidden

    with pytest.raises(Forbidden):
        services.set_publication(actor_for_membership(viewer), exchange=True)
    producer = parties.api_client(cockpit.it)
    assert producer.get("/api/portal/publication").status_code == 403


def test_public_aggregates_name_no_company_unless_published(cockpit: Cockpit) -> None:
    client = Client()
    body = client.get("/api/portal/public", {"zone": cockpit.zone.code}).json()
    assert body["years"] == [2020]
    isw = next(r for r in body["tonnages"] if r["stream"] == "isw" and r["year"] == 2020)
    stats = declarations.statistics(cockpit.system, year=2020, stream="isw")
    assert isw["generated_t"] == stats["total_generated_t"]
    text = client.get("/api/portal/public", {"zone": cockpit.zone.code}).content.decode()
    for org in (cockpit.it, cockpit.auto, cockpit.pending):
        assert org.name not in text and org.uscc not in text
    assert client.get("/api/portal/public", {"zone": "nope"}).status_code == 404
    assert "companies" not in body
    zone = Zone.objects.get(pk=cockpit.zone.pk)
    assert services.publication(zone)["company_figures"] is False
