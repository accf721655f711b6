"""Pages: the report with ★ and class counts, drill-down, entry with evidence, comparison, sets, exports."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from zerowaste.indicators import services
from zerowaste.indicators.models import InputEntry
from zerowaste.testing import parties

from .conftest import World

pytestmark = pytest.mark.django_db


def _client(org: object, role: str = "admin") -> Client:
    member = parties.make_member(org, role)  # type: ignore[arg-type]
    client = Client()
    client.force_login(member.user)
    return client


def test_report_page_in_the_seeds_layout(world: World) -> None:
    client = _client(world.regulator_org, "viewer")
    assert client.get("/indicators/").status_code == 302
    page = client.get("/indicators/report/?year=2020").content.decode()
    assert 'id="class-counts"' in page and 'id="class-chart"' in page
    assert "工业固体废物产生强度" in page and "★" in page
    assert 'id="indicator-S6"' in page and 'id="indicator-31"' in page
    assert "0.03 吨/万元" in page  # indicator 1 achieved: (1,000 + 200) ÷ 40,000
    assert "/indicators/indicator/1/?year=2020" in page


def test_producers_may_not_see_the_zone_report(world: World) -> None:
    client = _client(world.producer)
    assert client.get("/indicators/report/?year=2020").status_code == 403


def test_drill_down_figure_inputs_records(world: World) -> None:
    client = _client(world.regulator_org, "viewer")
    page = client.get("/indicators/indicator/1/?year=2020").content.decode()
    # The formula in the inputs' names, not their keys (issue 16, item 5); the keys stay in the links.
    assert "(一般工业固体废物产生量 + 工业危险废物产生量) / 工业增加值" in page
    assert "isw_generated_t + hw_generated_t" not in page
    assert "/indicators/inputs/isw_generated_t/?year=2020" in page
    page = client.get("/indicators/inputs/isw_generated_t/?year=2020").content.decode()
    assert world.producer.name in page and "/declarations/stats/?year=2020&amp;stream=isw" in page
    assert client.get("/indicators/indicator/99/?year=2020").status_code == 404


def test_department_enters_a_value_with_evidence(world: World) -> None:
    client = _client(world.regulator_org, "clerk")
    evidence = SimpleUploadedFile("统计公报.pdf", b"%PDF-1.4 evidence", content_type="application/pdf")
    response = client.post(
        "/indicators/inputs/value_added_wan/?year=2020",
        {"year": "2020", "value": "50000", "source": "统计局 2020 年统计公报", "evidence": evidence},
    )
    assert response.status_code == 302
    page = client.get("/indicators/inputs/value_added_wan/?year=2020").content.decode()
    assert "50,000" in page and "40,000" in page  # entered and derived both shown, with separators
    entry = InputEntry.objects.get(key="value_added_wan")
    download = client.get(f"/indicators/entries/{entry.pk}/evidence/")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 evidence"
    rows = {r["number"]: r for r in services.report_rows(world.zone.pk, 2020)}
    assert rows["1"]["achieved"] == "0.02" and rows["1"]["inputs"]["value_added_wan"]["origin"] == "entered"
    bad = client.post(
        "/indicators/inputs/value_added_wan/?year=2020", {"year": "2020", "value": "abc", "source": ""}
    )
    assert bad.status_code == 422
    viewer = _client(world.regulator_org, "viewer")
    assert (
        'id="entry-form"' not in viewer.get("/indicators/inputs/value_added_wan/?year=2020").content.decode()
    )


def test_inputs_page_filters_by_department(world: World) -> None:
    client = _client(world.regulator_org, "viewer")
    page = client.get("/indicators/inputs/?year=2020&department=统计局").content.decode()
    assert "value_added_wan" in page and "household_daily_cleared_t" not in page


def test_compare_years_with_chart_data(world: World) -> None:
    client = _client(world.regulator_org, "viewer")
    page = client.get("/indicators/compare/?years=2019&years=2020").content.decode()
    assert 'id="trend-chart"' in page and 'id="trend-data"' in page
    data = client.get("/indicators/compare/data/?years=2019&years=2020").json()
    assert data["years"] == [2019, 2020]


def test_exports(world: World) -> None:
    client = _client(world.regulator_org, "viewer")
    response = client.get("/indicators/report.xlsx?year=2020")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "2018年基准值" in cells and "工业固体废物产生强度★" in cells
    assert "输入数据" in book.sheetnames
    pdf = client.get("/indicators/report.pdf?year=2020")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_loading_a_set_from_the_page(world: World) -> None:
    client = _client(world.regulator_org, "admin")
    text = services.BUNDLED_SET.read_text(encoding="utf-8")
    broken = text.replace('formula = "green_factories"', 'formula = "green_factory"')
    response = client.post("/indicators/sets/", {"file": SimpleUploadedFile("set.toml", broken.encode())})
    assert response.status_code == 422 and "green_factory" in response.content.decode()
    other = text.replace('version = "2019.1"', 'version = "2021.1"')
    response = client.post(
        "/indicators/sets/", {"file": SimpleUploadedFile("set.toml", other.encode()), "make_active": "1"}
    )
    assert response.status_code == 302
    assert "2021.1" in client.get("/indicators/sets/").content.decode()
    assert services.active_set(world.zone.pk).version == "2021.1"
