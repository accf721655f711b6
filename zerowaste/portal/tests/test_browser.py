"""Browser: the cockpit and the open-data page at 1366×768 and on a phone; every chart drew on its
canvas; a click on a bar and on a table row opens the list behind it. Screenshots in var/screenshots/."""

from __future__ import annotations

import pytest

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.testing import demo_snapshot
from zerowaste.testing.browser import log_in, screenshot

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
HOUSEHOLD_PAGES = (
    "/household/",
    "/household/alarms/",
    "/household/events/",
    "/household/registry/",
    "/household/lists/",
)
SIZES = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}

# Whether the chart's canvas has pixels drawn (not only a blank surface).
CANVAS_DRAWN = """(name) => {
  const canvas = document.querySelector(`[data-chart="${name}"] canvas`);
  if (!canvas || !canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  return painted > 500;
}"""

# The screen point of the middle of the first bar of the tonnages chart (ECharts' own geometry).
FIRST_BAR = """() => {
  const el = document.querySelector('[data-chart="tonnages"]');
  const chart = echarts.getInstanceByDom(el);
  const bar = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(0);
  const box = el.getBoundingClientRect();
  return { x: box.left + bar.x + bar.width / 2, y: box.top + bar.y + bar.height / 2 };
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_cockpit_and_open_data_at_both_sizes(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    demo_snapshot.demo(scale=1)
    base = live_server.url
    errors: list[str] = []
    for size, viewport in SIZES.items():
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(20000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(f"{base}/open-data/")
        page.wait_for_selector('[data-chart="yearly"][data-rendered="1"]')
        assert page.evaluate(CANVAS_DRAWN, "yearly")
        assert page.locator("#public-indicators table tbody tr").count() >= 40
        assert page.evaluate(NO_SIDEWAYS_SCROLL), "the open-data page is wider than the screen"
        screenshot(page, f"portal-public-{size}")

        log_in(page, base, "regulator", DEMO_PASSWORD)
        page.goto(f"{base}/cockpit/?year=2020")
        for name in ("flows", "tonnages", "backlog", "indicators", "intensity"):
            page.wait_for_selector(f'[data-chart="{name}"][data-rendered="1"]')
            assert page.evaluate(CANVAS_DRAWN, name), name
        assert page.locator("#flows-balanced").is_visible()
        assert page.evaluate(NO_SIDEWAYS_SCROLL), "the cockpit is wider than the screen"
        screenshot(page, f"portal-cockpit-{size}")

        # A click on the first bar (ISW, the first category) opens the declaration lines behind it.
        page.locator('[data-chart="tonnages"]').scroll_into_view_if_needed()
        point = page.evaluate(FIRST_BAR)
        page.mouse.click(point["x"], point["y"])
        page.wait_for_selector('#drill-list[data-chart="tonnages"] tbody tr')
        assert page.locator("#drill-list tbody tr").count() > 10

        # A row of a chart's table view opens its list too (htmx).
        page.locator("#table-backlog summary").click()
        page.locator("#table-backlog tbody tr a").first.click()
        page.wait_for_selector('#drill-list[data-chart="backlog"] tbody tr')
        screenshot(page, f"portal-cockpit-drill-{size}")

        # The household supervision pages fit the screen too (their tables scroll inside themselves).
        for path in HOUSEHOLD_PAGES:
            page.goto(f"{base}{path}")
            assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{path} is wider than the screen"
        page.goto(f"{base}/household/")
        page.wait_for_selector('[data-chart="household-daily"][data-rendered="1"]')
        assert page.evaluate(CANVAS_DRAWN, "household-daily")
        screenshot(page, f"household-dashboard-{size}")
        assert not errors, errors
        context.close()
