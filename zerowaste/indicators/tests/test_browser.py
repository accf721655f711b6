"""The regulator opens the 2020 indicator report in Chromium: class counts, a chart, the Excel download."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.indicators import services
from zerowaste.testing import demo_snapshot
from zerowaste.testing.browser import log_in, screenshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_regulator_opens_the_2020_report_and_downloads_excel(live_server, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    zone = demo_snapshot.demo(scale=1).zone
    expected = services.completion_summary(zone.pk, 2020)
    base = live_server.url
    log_in(page, base, "regulator", DEMO_PASSWORD)
    page.locator('nav a[href="/indicators/"]').click()
    page.locator("#class-counts").wait_for()
    assert page.locator("#year-select").input_value() == "2020"
    for cls, total in (("required", 19), ("optional", 18), ("self", 6)):  # seed:186
        met = expected["by_class"][cls]["met"]
        assert f"{met} / {total}" in page.inner_text(f"#class-{cls}")
    assert expected["unknown"] == 0 and expected["not_met"] >= 3  # 9, 13, 18 at least (seed figures)
    assert f"{expected['completion'] * 100:.1f}%" in page.inner_text("#completion")
    page.locator('#class-chart[data-rendered="1"] canvas').wait_for()
    assert "★" in page.inner_text("#indicator-1")
    assert page.locator("#not-met-list li").count() == expected["not_met"]
    screenshot(page, "indicators-report-2020")

    with page.expect_download() as download_info:
        page.click("#download-xlsx")
    download = download_info.value
    assert download.suggested_filename == "indicators-2020.xlsx"
    path = tmp_path / "report.xlsx"
    download.save_as(str(path))
    sheet = load_workbook(path).worksheets[0]
    cells = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    assert "工业固体废物产生强度★" in cells and "2020年完成值" in cells

    # Drill-down: the figure → its inputs → the records behind a derived input.
    page.locator("#indicator-1 a.achieved").click()
    page.locator("#inputs").wait_for()
    page.locator("#inputs a", has_text="一般工业固体废物产生量").click()
    page.locator("#records").wait_for()
    assert page.locator("#records tbody tr").count() > 10
    screenshot(page, "indicators-input-records")

    # Years side by side with a trend chart per indicator.
    page.goto(f"{base}/indicators/compare/?years=2018&years=2019&years=2020")
    page.locator("#trend-chart canvas").wait_for()
    page.select_option("#trend-indicator", "9")
    assert page.locator("#trend-chart").get_attribute("data-indicator") == "9"
    assert page.locator("#compare-table tbody tr").count() == 43
    screenshot(page, "indicators-compare")
