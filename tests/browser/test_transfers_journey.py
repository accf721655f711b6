"""A producer issues, a carrier signs, a receiver accepts part and closes — each in its own browser
context; the PDF downloads and its QR verification page opens."""

from __future__ import annotations

import re

import pytest

from zerowaste.core import services as core_services
from zerowaste.core.authz import Actor
from zerowaste.core.models import Licence, Vehicle
from zerowaste.testing.browser import Journey, accept_part, issue_manifest, screenshot, sign_pick_up
from zerowaste.transfers import services
from zerowaste.transfers.models import Transfer

WIDE = {"viewport": {"width": 1280, "height": 900}, "accept_downloads": True}


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
    with Journey(browser, base, "transfers", locale="en-US") as journey:
        producer = journey.page_for("producer", **WIDE)
        number = issue_manifest(
            producer,
            base,
            consignee="北京金隅红树林环保技术有限责任公司",
            carrier="北京鼎泰鹏宇环保科技有限公司",
            waste_code="900-041-49",
            estimated_t="8",
        )
        assert re.fullmatch(r"\d{14}", number)
        t = Transfer.objects.get(zone=demo_zone, number=number)
        assert t.state == "issued"

        carrier = journey.page_for("carrier", **WIDE)
        carrier.set_viewport_size({"width": 390, "height": 844})  # phone-sized
        carrier.goto(f"{base}/transfers/{t.pk}/sign/")
        truck = (
            Vehicle.objects.filter(organization_id=t.current_carrier_id, capacity_kg__gte=8000)
            .order_by("plate")
            .first()
        )
        assert truck is not None, "the demo's HW carrier has no 8 t truck"
        sign_pick_up(carrier, vehicle_id=truck.pk, driver="王师傅", quantity_t="8")
        carrier.goto(f"{base}/transfers/{t.pk}/sign/")
        carrier.click("#sign-deliver")
        carrier.wait_for_selector("#transfer-state[data-state=delivered]")
        screenshot(carrier, "transfers-carrier-signed")

        # the demo "recycler" is not the HW receiver: act as the HW receiver's own account (the demo's
        # `hw-receiver` when the manifest goes to its organization, else a member made for the test)
        from zerowaste.core.models import Membership
        from zerowaste.testing import parties

        if Membership.objects.filter(organization=t.consignee, user__username="hw-receiver").exists():
            receiver = journey.page_for("hw-receiver", **WIDE)
        else:
            parties.make_member(t.consignee, "admin", username="journey-hw-receiver")
            receiver = journey.page_for("journey-hw-receiver", parties.PASSWORD, **WIDE)
        receiver.goto(f"{base}/transfers/{t.pk}/receive/")
        accept_part(receiver, received_t="8", refused_t="1", reason="包装破损")
        t.refresh_from_db()
        assert t.state == "closed" and t.refused_t == 1
        with receiver.expect_download() as download:
            receiver.click("#download-pdf")
        from pathlib import Path

        assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"

        page = journey.context().new_page()
        page.goto(f"{base}/transfers/verify/{number}/?c={services.verification_code(t)}")
        assert page.inner_text("#verify-number").strip() == number
        assert "closed" in page.inner_text("#verify-state")
        screenshot(page, "transfers-verify")
