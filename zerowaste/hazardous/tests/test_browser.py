"""Issue 8, point 8: the park operator records a collection, is refused an incompatible placement,
prints a label and ships the container out on a manifest — in a real browser on the demo zone."""

from __future__ import annotations

import re

import pytest

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.hazardous.models import Container, Store
from zerowaste.testing.browser import log_in, screenshot
from zerowaste.transfers.models import Transfer


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_operator_collects_is_refused_prints_and_ships(live_server, browser, demo_zone) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    store = Store.objects.get(zone=demo_zone, code="BIOMED-HW")
    producer = (
        store.park.organizations.filter(roles__role="producer", name__startswith="北京亦庄")
        .order_by("pk")
        .first()
    )
    assert producer is not None
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(20000)
        log_in(page, base, "park", DEMO_PASSWORD)
        page.goto(f"{base}/hazardous/")
        page.click(f"#stores a[href='/hazardous/stores/{store.pk}/']")
        page.wait_for_selector("#collect-form")

        # 1. A container of waste acid into bay D.
        page.select_option("#producer_id", value=str(producer.pk))
        page.fill("#waste_code", "900-300-34")
        page.fill("#quantity_kg", "640")
        page.select_option("#bay", "D")
        page.fill("#analysis_report", "SWYY-FX-BROWSER-1")
        page.click("#collect")
        page.wait_for_selector(".messages")
        acid = Container.objects.filter(store=store, waste_code="900-300-34", state="in_store").get()
        assert acid.quantity_kg == 640 and acid.bay == "D"
        assert acid.number in page.inner_text("#containers")

        # 2. Organic solvent into the same bay: refused, naming the rule and the seed's article.
        page.select_option("#producer_id", value=str(producer.pk))
        page.fill("#waste_code", "900-402-06")
        page.fill("#quantity_kg", "180")
        page.select_option("#bay", "D")
        page.fill("#analysis_report", "SWYY-FX-BROWSER-2")
        page.click("#collect")
        page.wait_for_selector("#form-errors")
        refusal = page.inner_text("#form-errors")
        assert (
            "贮存管理工作指南第十条" in refusal and "R-INCOMPATIBLE" not in refusal and acid.number in refusal
        )
        assert not Container.objects.filter(store=store, waste_code="900-402-06", state="in_store").exists()

        # 3. The label of the acid container prints as a PDF.
        link = page.locator("#containers tr", has_text=acid.number).locator("a.label-link")
        href = link.get_attribute("href")
        assert href
        label = context.request.get(f"{base}{href}")
        assert label.status == 200 and label.headers["content-type"] == "application/pdf"
        assert label.body()[:4] == b"%PDF"

        # 4. Ship it out on a manifest to a contracted receiver.
        page.check(f"#containers input[value='{acid.pk}']")
        page.select_option("#consignee_id", label="北京华腾天海环保科技有限公司")
        page.select_option("#carrier_id", label="北京鼎泰鹏宇环保科技有限公司")
        page.click("#ship")
        page.wait_for_selector("#transfer-number")
        number = page.inner_text("#transfer-number").strip()
        assert re.fullmatch(r"\d{14}", number)
        t = Transfer.objects.get(zone=demo_zone, number=number)
        assert (t.state, t.consignor_id, t.estimated_t) == ("issued", store.operator_id, acid.quantity_t)
        acid.refresh_from_db()
        assert acid.state == "shipped" and acid.transfer_id == t.pk
        screenshot(page, "hazardous-ship-out")
    finally:
        context.close()
