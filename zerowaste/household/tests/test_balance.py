"""Mass balance per place, class and day: a clean day closes; a broken one raises one alarm per
place, class and day; the zone's tolerance and stock counts enter the equation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import Zone
from zerowaste.household import alarms, balance, rules
from zerowaste.household.models import Alarm
from zerowaste.household.testing import Registry, event, make_registry
from zerowaste.testing import parties

from .helpers2 import at, last_working_day, send, seq

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _day_of_flows(reg: Registry, day: date, *, delivered: str) -> None:
    """Households bring 10.5 kg of kitchen waste and 4 kg of other waste to station 0; the station
    hands it all to the vehicle (both sides confirm); the vehicle delivers `delivered` kg of the
    kitchen waste at the plant (both sides) and the other waste too."""
    terminal, unit, bridge = reg.station_devices[0], reg.vehicle_device, reg.plant_device
    station, plate, plant = reg.stations[0].code, reg.vehicle.plate, reg.plant.pk
    send(
        reg,
        event(terminal, seq(), at(day, 7, 30), weight="4.250"),
        event(terminal, seq(), at(day, 7, 40), weight="6.250"),
        event(
            terminal,
            seq(),
            at(day, 9),
            weight="10.500",
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_GIVER,
            handover=f"L{day}",
            vehicle=plate,
        ),
        event(
            unit,
            seq(),
            at(day, 9, 1),
            weight="10.500",
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_RECEIVER,
            handover=f"L{day}",
            station=station,
        ),
        event(
            unit,
            seq(),
            at(day, 11),
            weight=delivered,
            node=rules.NODE_VEHICLE_SITE,
            side=rules.SIDE_GIVER,
            handover=f"P{day}",
            site=plant,
        ),
        event(
            bridge,
            seq(),
            at(day, 11, 2),
            weight=delivered,
            node=rules.NODE_VEHICLE_SITE,
            side=rules.SIDE_RECEIVER,
            handover=f"P{day}",
            vehicle=plate,
        ),
        *[event(terminal, seq(), at(day, 8, m), weight="1.000", household_class="other") for m in range(4)],
        # The vehicle keeps reporting through the day: not idle.
        *[
            event(
                unit,
                seq(),
                at(day, h),
                weight="1.000",
                household_class="other",
                node=rules.NODE_STATION_VEHICLE,
                side=rules.SIDE_RECEIVER,
                station=station,
            )
            for h in (12, 14, 16, 18)
        ],
        *[
            event(
                terminal,
                seq(),
                at(day, h, 5),
                weight="1.000",
                household_class="other",
                node=rules.NODE_STATION_VEHICLE,
                side=rules.SIDE_GIVER,
                vehicle=plate,
            )
            for h in (12, 14, 16, 18)
        ],
        event(
            unit,
            seq(),
            at(day, 18, 30),
            weight="4.000",
            household_class="other",
            node=rules.NODE_VEHICLE_SITE,
            side=rules.SIDE_GIVER,
            site=plant,
        ),
    )


def test_a_clean_day_closes_and_raises_nothing(reg: Registry) -> None:
    day = last_working_day()
    _day_of_flows(reg, day, delivered="10.500")
    rows = balance.table(reg.zone.pk, day)
    kitchen = {r["place"]: r for r in rows if r["household_class"] == "kitchen"}
    station, vehicle = f"station:{reg.stations[0].pk}", f"vehicle:{reg.vehicle.pk}"
    assert (kitchen[station]["in_kg"], kitchen[station]["out_kg"]) == (Decimal("10.500"), Decimal("10.500"))
    assert (kitchen[vehicle]["in_kg"], kitchen[vehicle]["out_kg"]) == (Decimal("10.500"), Decimal("10.500"))
    assert all(r["closes"] and r["difference_kg"] == 0 for r in rows), rows
    assert alarms.detect_day(reg.zone.pk, day).raised == 0
    assert Alarm.objects.filter(zone=reg.zone).count() == 0


def test_a_broken_day_raises_once_per_place_class_and_day(reg: Registry) -> None:
    day = last_working_day()
    _day_of_flows(reg, day, delivered="7.000")  # 3.5 kg vanish from the vehicle
    line = next(
        r
        for r in balance.table(reg.zone.pk, day)
        if r["place"] == f"vehicle:{reg.vehicle.pk}" and r["household_class"] == "kitchen"
    )
    assert (line["difference_kg"], line["tolerance_kg"], line["closes"]) == (
        Decimal("3.500"),
        Decimal("1.000"),
        False,
    )
    assert alarms.detect_day(reg.zone.pk, day).raised == 1
    assert alarms.detect_day(reg.zone.pk, day).raised == 0
    (alarm,) = Alarm.objects.filter(zone=reg.zone)
    assert (alarm.kind, alarm.vehicle_id, alarm.household_class, alarm.day) == (
        rules.ALARM_MASS_BALANCE,
        reg.vehicle.pk,
        "kitchen",
        day,
    )
    assert alarm.owner_organization_id == reg.vehicle.organization_id
    with translation.override("en"):
        assert "3.500 kg unexplained" in alarm.figures_text


def test_the_zones_tolerance_and_a_stock_count_close_it(reg: Registry) -> None:
    day = last_working_day()
    _day_of_flows(reg, day, delivered="7.000")
    reg.zone.settings = {"household": {"balance_tolerance_kg": "4"}}
    reg.zone.save(update_fields=["settings"])
    assert all(r["closes"] for r in balance.table(reg.zone.pk, day))
    reg.zone.settings = {}
    reg.zone.save(update_fields=["settings"])
    balance.record_stock(
        Actor.system(reg.zone),
        day=day,
        place=f"vehicle:{reg.vehicle.pk}",
        household_class="kitchen",
        stock_kg=Decimal("3.500"),
    )
    rows = balance.table(reg.zone.pk, day)
    assert all(r["closes"] for r in rows)
    assert next(r for r in rows if r["stock_change_kg"])["stock_change_kg"] == Decimal("3.500")
    with pytest.raises(Invalid) as bad:
        balance.record_stock(
            Actor.system(reg.zone), day=day, place="site:1", household_class="kitchen", stock_kg=Decimal("1")
        )
    assert bad.value.errors[0]["field"] == "place"


def test_who_reads_the_balance(reg: Registry) -> None:
    day = last_working_day()
    _day_of_flows(reg, day, delivered="10.500")
    other = make_registry(reg.zone)
    _day_of_flows(other, day, delivered="10.500")
    zone_regulator = parties.make_org(reg.zone, roles=("regulator",))
    everyone = parties.api_client(zone_regulator, ("read",)).get(
        "/api/household/balance", day=day.isoformat()
    )
    assert everyone.status_code == 200
    assert {r["station_id"] for r in everyone.json() if r["station_id"]} == {
        reg.stations[0].pk,
        other.stations[0].pk,
    }
    street = parties.make_org(reg.zone, roles=("regulator",), area_id=other.street.pk)
    mine = parties.api_client(street, ("read",)).get("/api/household/balance", day=day.isoformat()).json()
    assert {r["station_id"] for r in mine if r["station_id"]} == {other.stations[0].pk}
    carrier = parties.make_org(reg.zone, roles=("carrier",))
    assert parties.api_client(carrier).get("/api/household/balance", day=day.isoformat()).status_code == 403
    with pytest.raises(Forbidden):
        balance.record_stock(
            Actor(zone_id=reg.zone.pk, organization=carrier, member_role="viewer"),
            day=day,
            place=f"station:{reg.stations[0].pk}",
            household_class="kitchen",
            stock_kg=Decimal("1"),
        )
