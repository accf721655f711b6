"""Browser, on a phone (390 px): a station keeper opens the park's day, taps "Record" on a cleaning and
sees the count go up, registers a station; the day, month and registration pages never scroll
sideways. Screenshots in var/screenshots/."""

from __future__ import annotations

import pytest

from zerowaste.testing import parties
from zerowaste.testing.browser import log_in, screenshot

from .test_park import make_park

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_tap_on_a_phone(live_server, browser) -> None:  # type: ignore[no-untyped-def]
    p = make_park(parties.make_zone(), 7)
    member = parties.make_member(p.operator, "clerk", username="park-keeper")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url, member.user.username, parties.PASSWORD)
    page.goto(f"{live_server.url}/household/park/")
    card = page.locator(f"#station-{p.stations['compactor'].code}")
    assert "0 / 6" in card.inner_text()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the park's day is wider than the phone"
    screenshot(page, "household-park-day-phone")
    card.locator("form:has(input[value=cleaning]) button").click()
    page.wait_for_load_state()
    card = page.locator(f"#station-{p.stations['compactor'].code}")
    assert "1 / 6" in card.inner_text()
    page.goto(f"{live_server.url}/household/park/month/")
    assert page.locator("#park-month").is_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the month view is wider than the phone"
    screenshot(page, "household-park-month-phone")
    # The registration pages fit the phone too; the keeper registers a station from it.
    page.goto(f"{live_server.url}/household/park/enterprises/")
    assert page.locator("#park-enterprise-form").is_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the enterprises' page is wider than the phone"
    screenshot(page, "household-park-enterprises-phone")
    page.goto(f"{live_server.url}/household/park/stations/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the stations' page is wider than the phone"
    form = page.locator("#park-station-form")
    form.locator("select[name=kind]").select_option("compactor")
    form.locator("input[name=code]").fill("P7-KJ14")
    form.locator("input[name=name]").fill("二号挤压站")
    form.locator("select[name=compactor_model]").select_option("KJ-14")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "KJ-14 · 14 立方米" in page.locator("#park-stations").inner_text()
    screenshot(page, "household-park-stations-phone")
    assert not errors, errors
    context.close()
