"""The hazardous chain with the README's demo accounts only (issue 16, "What must hold"): `producer`
issues an HW manifest to the `hw-receiver` via the `carrier`; the carrier, on a phone-sized page,
finds it among its to-dos, picks it up and delivers it; the HW receiver finds the delivery on its
home page and accepts part with a reason; the `regulator` finds the discrepancy in the to-do panel
on top of its cockpit and reads it in the audit log — in Chinese, with no raw action keys or values.

Each person works only from what their pages show: after logging in, a link of their home page."""

from __future__ import annotations

import re

import pytest

from zerowaste.core.models import Membership, Vehicle
from zerowaste.testing.browser import PHONE, Journey, accept_part, issue_manifest, screenshot, sign_pick_up
from zerowaste.transfers.models import Transfer


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_hazardous_chain_with_the_demo_accounts(live_server, browser, demo_zone) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url

    def open_from_todos(page, key: str, number: str) -> None:  # type: ignore[no-untyped-def]
        """From the home page: the manifest `number` in to-do `key` — named on the home page, or in
        the to-do's list (the home page names the first few) — opened on its detail page."""
        page.goto(f"{base}/")
        todo = page.locator(f'#todos [data-todo="{key}"]')
        assert todo.count() == 1, f"no to-do {key} on the home page of {page.url}"
        named = todo.get_by_role("link", name=number, exact=True)
        if named.count():
            named.click()
        else:
            todo.locator("a.todo-title").click()
            page.locator("#transfer-table").get_by_role("link", name=number, exact=True).click()
        page.wait_for_load_state()

    receiver_org = Membership.objects.get(user__username="hw-receiver").organization
    carrier_org = Membership.objects.get(user__username="carrier").organization
    with Journey(browser, base, "hazardous-chain") as journey:
        producer = journey.page_for("producer")
        assert producer.locator("#todos").count() == 1, "the producer does not land on its to-dos"
        number = issue_manifest(
            producer,
            base,
            consignee=receiver_org.name,
            carrier=carrier_org.name,
            waste_code="900-041-49",
            estimated_t="8",
        )
        assert re.fullmatch(r"\d{14}", number)
        t = Transfer.objects.get(zone=demo_zone, number=number)
        assert (t.state, t.stream, t.consignee_id) == ("issued", "hw", receiver_org.pk)

        carrier = journey.page_for("carrier", viewport=PHONE)
        open_from_todos(carrier, "transfers.pick_up", number)
        carrier.click("#go-sign")
        carrier.wait_for_selector("#sign-pick-up")
        truck = (
            Vehicle.objects.filter(organization=carrier_org, capacity_kg__gte=8000).order_by("plate").first()
        )
        assert truck is not None, "the demo's HW carrier has no 8 t truck"
        sign_pick_up(carrier, vehicle_id=truck.pk, driver="王师傅", quantity_t="8")
        open_from_todos(carrier, "transfers.deliver", number)
        carrier.click("#act-deliver")
        carrier.wait_for_selector("#transfer-state[data-state=delivered]")
        overflow = carrier.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        screenshot(carrier, "hazardous-chain-carrier-390")
        assert overflow <= 0, f"the carrier's page is {overflow}px wider than the phone"

        receiver = journey.page_for("hw-receiver")
        open_from_todos(receiver, "transfers.receive", number)
        receiver.click("#go-receive")
        accept_part(receiver, received_t="8", refused_t="1", reason="包装破损")
        t.refresh_from_db()
        assert t.state == "closed" and t.refused_t == 1 and t.refusal_reason == "包装破损"

        regulator = journey.page_for("regulator")
        assert regulator.url.rstrip("/").endswith("/cockpit"), regulator.url  # its home is the cockpit
        panel = regulator.locator("#todos")
        assert panel.bounding_box()["y"] < regulator.locator("#kpis").bounding_box()["y"]  # on top
        screenshot(regulator, "hazardous-chain-regulator-home")
        review = regulator.locator('#todos [data-todo="transfers.review"]')
        review.get_by_role("link", name=number, exact=True).click()  # the newest is named first
        regulator.wait_for_selector("#transfer-number")
        assert regulator.inner_text("#transfer-number").strip() == number

        regulator.goto(f"{base}/audit/?model=transfers.transfer&object_id={t.pk}")
        log = regulator.inner_text("table.audit")
        screenshot(regulator, "hazardous-chain-audit")
        for action in ("部分接收联单",):
            assert action in log, f"{action} not in the audit log:\n{log}"
        assert "包装破损" in log
        for raw in ("transfer.accept_part", "transfers.transfer:", "accept_part", "pick_up", "{'", "[{"):
            assert raw not in log, f"raw {raw!r} in the audit log:\n{log}"
