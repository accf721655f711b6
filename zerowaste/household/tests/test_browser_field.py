"""Issue 17, point 8: on phones, a household's kitchen waste is taken in at its station (the keeper
scans its code), the station's bin is loaded onto the vehicle (the keeper hands over 120 kg, the driver's
scale reads 100 kg), weighed at the plant (100 kg) → a weight-mismatch alarm on the loading at the
community's station, which the community's staff resolve on the alarm's page; the household's points
show on its own page (no login)."""

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
    community_org = parties.make_org(zone, roles=("property",), area_id=station.community_id)
    community_staff = parties.make_member(community_org, "clerk").user.username

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

        # 3. The driver's scale reads 100 kg on receiving it: 20 kg short, beyond the tolerance → an
        #    alarm. The driver then hands the 100 kg over at the plant, whose clerk weighs 100 kg.
        d = journey.page_for(driver, parties.PASSWORD, viewport=PHONE)
        d.goto(f"{base}/household/field/")
        d.click("#pending a.confirm-pending")
        d.wait_for_selector("#waiting")
        d.fill("#weight_kg", "100.000")
        d.click("#confirm")
        d.wait_for_selector(".messages")
        d.click("#deliver-1")
        d.wait_for_selector("#handover-form")
        d.select_option("#site", str(reg.plant.pk))
        d.select_option("#household_class", "kitchen")
        d.fill("#weight_kg", "100.000")
        d.click("#confirm")
        d.wait_for_selector(".messages")

        c = journey.page_for(clerk, parties.PASSWORD, viewport=PHONE)
        c.goto(f"{base}/household/field/")
        c.click("#pending a.confirm-pending")
        c.wait_for_selector("#waiting")
        c.fill("#weight_kg", "100.000")
        c.click("#confirm")
        c.wait_for_selector(".messages")
        assert HandoverEvent.objects.filter(zone=zone).count() == 5
        alarm = Alarm.objects.get(zone=zone, kind=rules.ALARM_WEIGHT_MISMATCH)
        assert alarm.station_id == station.pk and alarm.area_id == station.community_id

        # 4. The community's staff find it among the community's open alarms and resolve it.
        s = journey.page_for(community_staff, parties.PASSWORD)
        s.goto(f"{base}/household/alarms/")
        s.click(f"a[href$='/household/alarms/{alarm.pk}/']")
        s.wait_for_selector("#resolve-form")
        assert "20.000" in s.inner_text("main")
        s.fill("#resolution", "复秤：驿站地磅读数偏高，已校准；车辆实收 100 kg 属实")
        s.click("#resolve-form button[type=submit]")
        s.wait_for_selector(".messages")
        alarm.refresh_from_db()
        assert alarm.resolved_at is not None and alarm.resolved_by_name == community_staff
        screenshot(s, "household-alarm-resolved-by-community")

        # 5. The household's own page (no login) shows its points from the graded drop.
        r = journey.context(viewport=PHONE).new_page()
        r.goto(f"{base}{resident.resident_url(home)}")
        assert r.inner_text("#balance").strip() == str(rules.POINTS_PER_GRADE["A"])
        assert home.code in r.inner_text("#household")
        screenshot(r, "household-field-resident")
