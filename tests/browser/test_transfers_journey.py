"""A producer issues, a carrier signs, a receiver accepts part and closes — each in its own browser
context; the PDF downloads and its QR verification page opens."""

from __future__ import annotations

import re

import pytest

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.testing.browser import log_in, screenshot
from zerowaste.transfers import services
from zerowaste.transfers.models import Transfer


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_issue_sign_receive_part_close(live_server, browser, demo_zone) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    contexts = []

    def page_for(username: str, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
        context = browser.new_context(
            locale="en-US", viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20000)
        log_in(page, base, username, password)
        return page

    try:
        producer = page_for("producer")
        producer.goto(f"{base}/transfers/new/?stream=hw")
        producer.select_option("#consignee_id", label="北京金隅红树林环保技术有限责任公司")
        producer.select_option("#carrier_id", label="北京鼎泰鹏宇环保科技有限公司")
        producer.fill("#waste_code", "900-041-49")
        producer.fill("#estimated_t", "8")
        producer.click("#save-transfer")
        producer.wait_for_selector("#transfer-number")
        number = producer.inner_text("#transfer-number").strip()
        assert re.fullmatch(r"\d{14}", number)
        t = Transfer.objects.get(zone=demo_zone, number=number)
        assert t.state == "issued"

        carrier = page_for("carrier")
        carrier.set_viewport_size({"width": 390, "height": 844})  # phone-sized
        carrier.goto(f"{base}/transfers/{t.pk}/sign/")
        carrier.fill("#quantity_seen_t", "8")
        carrier.click("#sign-pick-up")
        carrier.wait_for_selector("#transfer-state[data-state=in_transit]")
        carrier.goto(f"{base}/transfers/{t.pk}/sign/")
        carrier.click("#sign-deliver")
        carrier.wait_for_selector("#transfer-state[data-state=delivered]")
        screenshot(carrier, "transfers-carrier-signed")

        # the demo "recycler" is not the HW receiver: act as the HW receiver's own account
        from zerowaste.testing import parties

        parties.make_member(t.consignee, "admin", username="hw-receiver")
        receiver = page_for("hw-receiver", parties.PASSWORD)
        receiver.goto(f"{base}/transfers/{t.pk}/receive/")
        receiver.fill("#part-received", "8")
        receiver.fill("#part-refused", "1")
        receiver.fill("#part-reason", "包装破损")
        receiver.click("#accept-part")
        receiver.wait_for_selector("#transfer-state[data-state=closed]")
        t.refresh_from_db()
        assert t.state == "closed" and t.refused_t == 1
        with receiver.expect_download() as download:
            receiver.click("#download-pdf")
        from pathlib import Path

        assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"

        public = browser.new_context()
        contexts.append(public)
        page = public.new_page()
        page.goto(f"{base}/transfers/verify/{number}/?c={services.verification_code(t)}")
        assert page.inner_text("#verify-number").strip() == number
        assert "closed" in page.inner_text("#verify-state")
        screenshot(page, "transfers-verify")
    finally:
        for context in contexts:
            context.close()
