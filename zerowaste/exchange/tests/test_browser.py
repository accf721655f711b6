"""Issue 7 point 8: a producer lists (with a photo), a recycler lists, the regulator runs the matching,
both accept (the recycler from the proposal's page, after seeing the photo and the quality notes), and
the transfer appears in the producer's outgoing register — each party in its own browser."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.exchange.models import Agreement, DemandListing, Proposal, SupplyListing
from zerowaste.testing.browser import log_in, screenshot

# Waste glass (ISW11): no demo producer declares it, so the new listings meet only each other.
CODE = "99-11-01"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_list_match_accept_transfer(live_server, browser, demo_zone, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    base = live_server.url
    photo = tmp_path / "碎玻璃.jpg"
    Image.new("RGB", (640, 480), "seagreen").save(photo, format="JPEG")
    contexts = []

    def page_for(username: str):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30000)
        log_in(page, base, username, DEMO_PASSWORD)
        return page

    try:
        producer = page_for("producer")
        producer.goto(f"{base}/exchange/mine/")
        producer.fill("#waste_code", CODE)
        producer.select_option("#kind", "lot")
        producer.fill("#quantity_t", "6.5")
        producer.fill("#price_cny_per_t", "50")
        producer.fill("input[name=quality_notes]", "无色碎玻璃，已除杂")
        producer.set_input_files("#photo_files", str(photo))
        producer.check("#anonymous")
        producer.click("#publish-supply")
        producer.wait_for_selector("#supply-table")
        supply = SupplyListing.objects.get(zone=demo_zone, waste_code=CODE)
        assert supply.quantity_t == Decimal("6.5") and not supply.divisible and supply.anonymous
        assert supply.uploaded_photos.count() == 1

        recycler = page_for("recycler")
        recycler.goto(f"{base}/exchange/mine/")
        recycler.fill("#capacity_t_per_month", "20")
        recycler.fill("#service_radius_km", "60")
        recycler.fill("#price_code_1", CODE)
        recycler.fill("#price_value_1", "400")
        recycler.click("#publish-demand")
        recycler.wait_for_selector("#demand-table")
        demand = DemandListing.objects.get(zone=demo_zone, prices__waste_code=CODE)

        regulator = page_for("regulator")
        regulator.goto(f"{base}/exchange/runs/")
        regulator.fill("#period", "2020-06")
        regulator.click("#run-matching")
        regulator.wait_for_selector("#run-facts")
        screenshot(regulator, "exchange-run")
        proposal = Proposal.objects.get(supply=supply, status="proposed")
        assert proposal.demand_id == demand.pk and proposal.quantity_t == supply.quantity_t

        producer.goto(f"{base}/exchange/proposals/")
        row = producer.locator(f"#proposal-{proposal.pk}")
        assert "6.500" in row.inner_text()
        row.locator("button.accept").click()
        producer.wait_for_selector(".messages")
        recycler.goto(f"{base}/exchange/proposals/")
        row = recycler.locator(f"#proposal-{proposal.pk}")
        assert "anonymous producer" in row.inner_text()  # hidden until both accept
        row.locator(f"a[href='/exchange/proposals/{proposal.pk}/']").click()
        recycler.wait_for_selector("#proposal-photos img")
        assert "无色碎玻璃" in recycler.inner_text("#quality-notes")
        assert "anonymous producer" in recycler.inner_text("#counterpart")
        recycler.locator("#proposal-photos img").first.scroll_into_view_if_needed()  # loading="lazy"
        recycler.wait_for_function(
            "() => { const img = document.querySelector('#proposal-photos img');"
            " return img && img.complete && img.naturalWidth > 0; }"
        )
        image = recycler.locator("#proposal-photos img").first
        assert image.evaluate("img => img.naturalWidth") == 320  # the served thumbnail of a 640 px photo
        assert (
            image.evaluate("img => img.closest('a').getAttribute('href')")
            == f"/exchange/photos/{supply.uploaded_photos.get().pk}/"
        )
        screenshot(recycler, "exchange-proposal-page")
        recycler.click("#proposal-decide button.accept")
        recycler.wait_for_selector(".messages")
        agreement = Agreement.objects.get(proposal=proposal)
        assert agreement.transfer_id is not None

        producer.goto(f"{base}/transfers/?register=outgoing")
        producer.wait_for_selector(f"#transfer-table a[href='/transfers/{agreement.transfer_id}/']")
        screenshot(producer, "exchange-outgoing-register")
    finally:
        for context in contexts:
            context.close()
