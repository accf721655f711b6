"""The catalog pages in Chromium."""

from __future__ import annotations

import pytest

from zerowaste.catalog import services
from zerowaste.core.authz import Actor
from zerowaste.testing import parties
from zerowaste.testing.browser import screenshot


@pytest.fixture
def loaded_zone(transactional_db):  # type: ignore[no-untyped-def]
    zone = parties.make_zone()
    services.load_standard_catalogs(Actor.system(zone))
    return zone


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_search_copper_and_hw49(live_server, page, loaded_zone) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/catalog/?zone={loaded_zone.code}")
    page.fill("#q", "废铜")
    page.click("#search-submit")
    row = page.locator('#catalog-results tr[data-code="99-08-03"]')
    row.wait_for()
    assert "废铜" in row.inner_text()
    screenshot(page, "catalog-search-copper")

    page.fill("#q", "900-041")
    page.click("#search-submit")
    hit = page.locator('#catalog-results tr[data-code="900-041-49"]')
    hit.wait_for()
    assert page.locator("#catalog-results tbody tr").count() == 1
    assert (
        hit.locator('[data-possible="T"]').count() == 1 and hit.locator('[data-possible="In"]').count() == 1
    )
    hit.locator("a", has_text="900-041-49").click()
    page.locator("#entry-hazard").wait_for()
    assert "HW49" in page.inner_text("#entry-facts")
    assert "T/In" in page.inner_text("#entry-hazard")
    screenshot(page, "catalog-entry-900-041-49")
