"""The cockpit and open-data pages: who may see them, the charts' data and assets, drill-down fragments,
downloads, the publication form, flat query counts, Chinese by default and English on request."""

from __future__ import annotations

import json
import re
from datetime import date

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.core.models import AuditEntry
from zerowaste.portal import services
from zerowaste.testing import parties

from .conftest import Cockpit, declare, line


def _logged_in(org, role: str = "admin") -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    member = parties.make_member(org, role)
    response = client.post("/login/", {"username": member.user.username, "password": parties.PASSWORD})
    assert response.status_code == 302
    return client


def _chart_data(html: str, element_id: str) -> dict:  # type: ignore[type-arg]
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_cockpit_page_draws_the_services_figures_with_local_assets(cockpit: Cockpit) -> None:
    client = _logged_in(cockpit.regulator_org)
    response = client.get("/cockpit/", {"year": "2020", "month": "3"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans"' in html
    assert "/static/vendor/echarts/echarts.min.js" in html and "/static/vendor/htmx/htmx.min.js" in html
    assert "cdn" not in html.lower() and "http://" not in html.split("<body")[0]
    data = _chart_data(html, "cockpit-data")
    expected = services.tonnages(cockpit.regulator, year=2020, month=3)
    assert data["tonnages"]["series"]["generated"] == [r["generated_t"] for r in expected["rows"]]
    assert data["flows"]["links"] == services.flows(cockpit.regulator, year=2020, month=3)["links"]
    for name in ("flows", "tonnages", "backlog", "intensity"):
        assert f'data-chart="{name}"' in html
        assert f"chart={name}&amp;format=csv" in html and f"chart={name}&amp;format=xlsx" in html
        assert f'id="table-{name}"' in html
    # The missing-declaration alert lists exactly 丙 and 丁 for March 2020.
    assert html.count(cockpit.idle.name) >= 1 and cockpit.pending.name in html
    english = client.post("/i18n/setlang/", {"language": "en", "next": "/cockpit/"})
    assert english.status_code == 302
    html = client.get("/cockpit/", {"year": "2020"}).content.decode()
    assert '<html lang="en"' in html and "Material flow" in html


def test_cockpit_is_refused_to_others(cockpit: Cockpit) -> None:
    assert Client().get("/cockpit/").status_code == 302
    assert _logged_in(cockpit.it).get("/cockpit/").status_code == 403
    assert (
        _logged_in(cockpit.it).get("/cockpit/drill/", {"chart": "missing", "year": "2020"}).status_code == 403
    )
    client = _logged_in(cockpit.regulator_org)
    assert client.get("/cockpit/", {"year": "x"}).status_code == 404


def test_default_period_is_the_latest_declared_year(cockpit: Cockpit) -> None:
    html = _logged_in(cockpit.regulator_org).get("/cockpit/").content.decode()
    assert '<option value="2020" selected>' in html


def test_drill_down_is_a_fragment_for_htmx_and_a_page_without(cockpit: Cockpit) -> None:
    client = _logged_in(cockpit.regulator_org)
    params = {"chart": "flows", "key": "category:ISW12", "year": "2020"}
    fragment = client.get("/cockpit/drill/", params, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text and 'id="drill-list"' in text and cockpit.it.name in text
    page = client.get("/cockpit/drill/", params).content.decode()
    assert "<html" in page and cockpit.it.name in page and cockpit.auto.name not in page
    backlog = client.get("/cockpit/drill/", {"chart": "backlog", "key": "overdue", "year": "2020"})
    assert backlog.status_code == 200
    assert client.get("/cockpit/drill/", {"chart": "zzz", "year": "2020"}).status_code == 422


def test_page_download_matches_the_table(cockpit: Cockpit) -> None:
    client = _logged_in(cockpit.regulator_org)
    response = client.get(
        "/cockpit/export/", {"chart": "missing", "year": "2020", "month": "3", "format": "csv"}
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    assert cockpit.idle.name in text and cockpit.pending.name in text and cockpit.it.name not in text


def test_publication_form_changes_the_public_page_and_is_audited(cockpit: Cockpit) -> None:
    client = _logged_in(cockpit.regulator_org)
    assert client.get("/cockpit/publication/").status_code == 200
    response = client.post("/cockpit/publication/", {"indicators": "on", "exchange": "on"})
    assert response.status_code == 302
    assert services.publication(services.zone_of(cockpit.regulator))["tonnages"] is False
    assert AuditEntry.objects.filter(zone_id=cockpit.zone.pk, action="portal.publication").count() == 1
    public = Client().get("/open-data/", {"zone": cockpit.zone.code}).content.decode()
    assert 'id="public-tonnages"' not in public and 'id="public-verify"' in public
    assert _logged_in(cockpit.regulator_org, "viewer").post("/cockpit/publication/", {}).status_code == 403


def test_public_page_needs_no_login_and_names_no_company(cockpit: Cockpit) -> None:
    response = Client().get("/open-data/", {"zone": cockpit.zone.code})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans"' in html and 'data-chart="yearly"' in html
    data = _chart_data(html, "public-data")
    assert data["yearly"]["years"] == ["2020"]
    for org in (cockpit.it, cockpit.auto, cockpit.idle, cockpit.pending):
        assert org.name not in html
    assert Client().get("/open-data/", {"zone": "nope"}).status_code == 404
    verify = Client().get("/open-data/verify/", {"number": "20201100000001", "c": "abc"})
    assert verify.status_code == 302 and verify["Location"] == "/transfers/verify/20201100000001/?c=abc"


def _queries(client: Client, url: str, params: dict) -> int:  # type: ignore[type-arg]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_the_rows(cockpit: Cockpit) -> None:
    """Baseline: the counts of one small zone; 30 more producers with declarations add no query."""
    client = _logged_in(cockpit.regulator_org)
    params = {"year": "2020", "month": "3"}
    before = {
        "cockpit": _queries(client, "/cockpit/", params),
        "public": _queries(Client(), "/open-data/", {"zone": cockpit.zone.code}),
        "drill": _queries(client, "/cockpit/drill/", {"chart": "flows", "key": "industry:汽车", **params}),
    }
    for n in range(30):
        org = parties.make_org(cockpit.zone, roles=["producer"], name=f"新增{n}", industry="汽车")
        declare(cockpit.system, org, "2020-03", [line("99-02-01", f"{n + 1}.5", destination=f"去向{n}")])
    after = {
        "cockpit": _queries(client, "/cockpit/", params),
        "public": _queries(Client(), "/open-data/", {"zone": cockpit.zone.code}),
        "drill": _queries(client, "/cockpit/drill/", {"chart": "flows", "key": "industry:汽车", **params}),
    }
    assert after == before
    assert before["cockpit"] <= 80 and before["public"] <= 40 and before["drill"] <= 15, before
    assert date(2020, 3, 1)


def test_pages_work_while_an_app_service_is_absent(cockpit: Cockpit, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Indicators, exchange and hazardous were built alongside: without their services the panels
    say so and the rest stands."""
    monkeypatch.setattr(services, "optional", lambda module, name: None)
    html = _logged_in(cockpit.regulator_org).get("/cockpit/", {"year": "2020"}).content.decode()
    assert 'data-chart="flows"' in html and 'data-chart="indicators"' not in html
    assert services.indicators(cockpit.regulator, year=2020) == {"year": 2020, "available": False}
    assert services.alerts(cockpit.regulator, year=2020)["storage_available"] is False
    public = services.public_data(cockpit.zone)
    assert public["indicators"] is None and public["exchange"] is None
    assert Client().get("/open-data/", {"zone": cockpit.zone.code}).status_code == 200


def test_present_services_are_the_ones_called(cockpit: Cockpit) -> None:
    from zerowaste.indicators.services import completion_summary

    assert services.optional("zerowaste.indicators.services", "completion_summary") is completion_summary
    data = services.indicators(cockpit.regulator, year=2020)
    assert data["available"] is True
    assert {k: data[k] for k in ("total", "met", "not_met", "unknown")} == {
        k: completion_summary(cockpit.zone.pk, 2020)[k] for k in ("total", "met", "not_met", "unknown")
    }
    assert services.optional("zerowaste.nothing", "x") is None


def test_public_tables_download_only_when_published(cockpit: Cockpit) -> None:
    client = Client()
    params = {"zone": cockpit.zone.code, "table": "tonnages", "format": "csv"}
    response = client.get("/open-data/export/", params)
    assert response.status_code == 200
    rows = response.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "year,stream,generated_t,utilized_t,disposed_t"
    assert "2020,isw,24.750,23.500,1.250" in rows[1:]
    xlsx = client.get("/open-data/export/", {**params, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/open-data/export/", {**params, "table": "companies"}).status_code == 422
    services.set_publication(cockpit.system, tonnages=False)
    assert client.get("/open-data/export/", params).status_code == 404


def test_indicator_slices_drill_down_to_their_indicators(cockpit: Cockpit) -> None:
    from zerowaste.indicators.services import report_rows

    rows = report_rows(cockpit.zone.pk, 2020)
    for key, met in (("met", True), ("not_met", False), ("unknown", None)):
        data = services.drill(cockpit.regulator, "indicators", key, year=2020)
        assert [r[0] for r in data["rows"]] == [r["number"] for r in rows if r["met"] is met]
    assert len(rows) == 43


def test_intensity_bar_drills_to_the_producers_lines_by_id(cockpit: Cockpit) -> None:
    from zerowaste.declarations import services as declarations

    declarations.save_production_data(
        cockpit.system, year=2020, value_added_wan="100", organization_id=cockpit.it.pk
    )
    top = services.intensity(cockpit.regulator, year=2020)["rows"]
    assert [(r["organization"], r["intensity_t_per_wan"]) for r in top] == [(cockpit.it.name, "0.1375")]
    data = services.drill(cockpit.regulator, "intensity", str(cockpit.it.pk), year=2020)
    assert {r[0] for r in data["rows"]} == {cockpit.it.name} and len(data["rows"]) == 3
    assert data["title"] == cockpit.it.name
    html = _logged_in(cockpit.regulator_org).get("/cockpit/", {"year": "2020"}).content.decode()
    assert f"chart=intensity&amp;key={cockpit.it.pk}&amp;year=2020" in html
    assert _chart_data(html, "cockpit-data")["intensity"]["ids"] == [str(cockpit.it.pk)]
