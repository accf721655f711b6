"""A producer issues, a carrier signs, a receiver accepts part and closes — each in its own browser
context; the PDF downloads and its QR verification page opens."""

from __future__ import annotations

import re

import pytest

from zerowaste.core import services as core_services
from zerowaste.core.authz import Actor
from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.core.models import Licence, Vehicle
from zerowaste.testing.browser import log_in, screenshot
from zerowaste.transfers import services
from zerowaste.transfers.models import Transfer


def _renew_expired_licences(zone) -> None:  # type: ignore[no-untyped-def]
    """The demo's licences end on 2025-12-31; renew them for today so the pickers offer the parties,
    and put the carriers' vehicles under the renewed transport permits."""
    today = services.timezone.localdate()
    system = Actor.system(zone)
    for licence in Licence.objects.filter(zone=zone, is_revoked=False, valid_to__lt=today):
        renewed = core_services.add_licence(
            system,
            licence.organization_id,
            kind=licence.kind,
            number=f"{licence.number}-R{today.year}",
            issuer=licence.issuer,
            valid_from=today.replace(month=1, day=1),
            valid_to=today.replace(year=today.year + 5),
            waste_codes=licence.waste_codes,
            annual_capacity_t=licence.annual_capacity_t,
        )
        if licence.kind == "hw_transport":
            for vehicle in Vehicle.objects.filter(organization_id=licence.organization_id):
                core_services.update_vehicle(
                    system, licence.organization_id, vehicle.pk, permit_ids=[renewed.pk]
                )


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_issue_sign_receive_part_close(live_server, browser, demo_zone) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    _renew_expired_licences(demo_zone)
    contexts = []

    def page_for(username: str, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
        context = browser.new_context(
            locale="en-US", viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20000)
        page.on("dialog", lambda dialog: dialog.accept())  # "sign the delivery?", "accept and close?"
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
        truck = (
            Vehicle.objects.filter(organization_id=t.current_carrier_id, capacity_kg__gte=8000)
            .order_by("plate")
            .first()
        )
        assert truck is not None, "the demo's HW carrier has no 8 t truck"
        carrier.select_option("#vehicle_id", value=str(truck.pk))
        carrier.fill("#driver", "王师傅")
        carrier.fill("#quantity_seen_t", "8")
        carrier.click("#sign-pick-up")
        carrier.wait_for_selector("#transfer-state[data-state=in_transit]")
        carrier.goto(f"{base}/transfers/{t.pk}/sign/")
        carrier.click("#sign-deliver")
        carrier.wait_for_selector("#transfer-state[data-state=delivered]")
        screenshot(carrier, "transfers-carrier-signed")

        # the demo "recycler" is not the HW receiver: act as the HW receiver's own account (the demo's
        # `hw-receiver` when the manifest goes to its organization, else a member made for the test)
        from zerowaste.core.models import Membership
        from zerowaste.testing import parties

        if Membership.objects.filter(organization=t.consignee, user__username="hw-receiver").exists():
            receiver = page_for("hw-receiver")
        else:
            parties.make_member(t.consignee, "admin", username="journey-hw-receiver")
            receiver = page_for("journey-hw-receiver", parties.PASSWORD)
        receiver.goto(f"{base}/transfers/{t.pk}/receive/")
        receiver.fill("#received-t", "8")
        receiver.fill("#refused-t", "1")
        receiver.fill("#refused-reason", "包装破损")
        receiver.click("#accept")
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
    except Exception:
        for i, context in enumerate(contexts):
            for j, tab in enumerate(context.pages):
                screenshot(tab, f"transfers-failure-{i}-{j}")
        raise
    finally:
        for context in contexts:
            context.close()
