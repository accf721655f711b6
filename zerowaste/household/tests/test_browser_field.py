"""Issue 17, point 8: on phones, a household's kitchen waste is taken in at its station (the keeper
scans its code), the station's bin is loaded onto the vehicle (keeper gives, driver receives), weighed at
the plant 20 kg short → a weight-mismatch alarm for its owner, who resolves it on the field page; the
household's points show on its own page (no login)."""

from __future__ import annotations

import pytest

from zerowaste.core.models import Zone
from zerowaste.household import resident, rules
from zerowaste.household.models import Alarm, HandoverEvent
from zerowaste.household.testing import make_registry
from zerowaste.testing import parties
from zerowaste.testing.browser import PHONE, Journey, screenshot

from .helpers2 import household


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_kitchen_bin_from_station_to_plant_alarm_resolved_points_shown(
    live_server, browser, zone: Zone
) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    reg = make_registry(zone)
    station = reg.stations[0]
    keeper_org = parties.make_org(zone, roles=("property",), area_id=reg.street.pk)
    station.operator = keeper_org
    station.save(update_fields=["operator"])
    home = household(reg)
    keeper = parties.make_member(keeper_org, "clerk").user.username
    driver = parties.make_member(reg.vehicle.organization, "admin").user.username
    clerk = parties.make_member(reg.plant.organization, "clerk").user.username

    with Journey(browser, base, "household-field") as journey:
        # 1. The keeper scans the household's code (typed: no camera headless) and grades its drop A.
        k = journey.page_for(keeper, parties.PASSWORD, viewport=PHONE)
        k.goto(f"{base}/household/field/")
        k.fill("#scan-code", home.code)
        k.click("#scan-submit")
        k.wait_for_selector("#handover-form")
        assert k.input_value("#household_class") == "kitchen"
        k.fill("#weight_kg", "3.200")
        k.check("input[name=quality_grade][value=A]")
        k.click("#confirm")
        k.wait_for_selector(".messages")
        assert k.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(k, "household-field-keeper")

        # 2. The keeper hands the station's kitchen bin over to the vehicle: 120 kg.
        k.click("#hand-over-1")
        k.wait_for_selector("#handover-form")
        k.fill("#vehicle", reg.vehicle.plate)
        k.select_option("#household_class", "kitchen")
        k.fill("#weight_kg", "120.000")
        k.click("#confirm")
        k.wait_for_selector(".messages")

        # 3. The driver confirms receiving it, then hands it over at the plant.
        d = journey.page_for(driver, parties.PASSWORD, viewport=PHONE)
        d.goto(f"{base}/household/field/")
        d.click("#pending a.confirm-pending")
        d.wait_for_selector("#waiting")
        d.fill("#weight_kg", "120.000")
        d.click("#confirm")
        d.wait_for_selector(".messages")
        d.click("#deliver-1")
        d.wait_for_selector("#handover-form")
        d.select_option("#site", str(reg.plant.pk))
        d.select_option("#household_class", "kitchen")
        d.fill("#weight_kg", "120.000")
        d.click("#confirm")
        d.wait_for_selector(".messages")

        # 4. The plant's clerk weighs 100 kg: 20 kg short, beyond the tolerance → an alarm.
        c = journey.page_for(clerk, parties.PASSWORD, viewport=PHONE)
        c.goto(f"{base}/household/field/")
        c.click("#pending a.confirm-pending")
        c.wait_for_selector("#waiting")
        c.fill("#weight_kg", "100.000")
        c.click("#confirm")
        c.wait_for_selector(".messages")
        alarm = Alarm.objects.get(zone=zone, kind=rules.ALARM_WEIGHT_MISMATCH)
        assert alarm.owner_organization_id == reg.vehicle.organization_id
        assert HandoverEvent.objects.filter(zone=zone).count() == 5

        # 5. Its owner (the vehicle's operator) sees it among its open alarms and resolves it.
        d.goto(f"{base}/household/field/")
        card = d.locator(f"#alarm-{alarm.pk}")
        assert "20.000" in card.inner_text()
        card.locator("textarea[name=resolution]").fill("复秤：地磅读数正确，车上少装了一桶，已补运")
        card.locator("button[type=submit]").click()
        d.wait_for_selector(".messages")
        alarm.refresh_from_db()
        assert alarm.resolved_at is not None
        assert d.locator(f"#alarm-{alarm.pk}").count() == 0

        # 6. The household's own page (no login) shows its points from the graded drop.
        r = journey.context(viewport=PHONE).new_page()
        r.goto(f"{base}{resident.resident_url(home)}")
        assert r.inner_text("#balance").strip() == str(rules.POINTS_PER_GRADE["A"])
        assert home.code in r.inner_text("#household")
        screenshot(r, "household-field-resident")
