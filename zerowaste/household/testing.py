"""A small household registry for tests and the bench, built through the services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from zerowaste.catalog.models import CatalogVersion
from zerowaste.catalog.services import load_standard_catalogs
from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.models import Area, Organization, Site, Vehicle, Zone
from zerowaste.testing import parties

from . import rules, services, simulate
from .models import Alarm, Bin, Device, Source, Station
from .mqtt import events_topic

_numbers = itertools.count(1)


@dataclass
class Registry:
    zone: Zone
    street: Area
    community: Area
    stations: list[Station]
    station_devices: list[Device]
    vehicle: Vehicle
    vehicle_device: Device
    plant: Site
    plant_device: Device
    bin: Bin
    keys: dict[str, bytes] = field(default_factory=dict)

    def key(self, device: Device) -> bytes:
        return self.keys[device.code]

    def sim_devices(self) -> list[simulate.SimDevice]:
        return [
            simulate.SimDevice(d.code, self.key(d), s.code)
            for d, s in zip(self.station_devices, self.stations, strict=True)
        ]

    def message(self, device: Device, event: dict[str, Any], prefix: str = "zw/test") -> tuple[str, bytes]:
        return events_topic(prefix, device.code), simulate.signed_message(self.key(device), event)


def ensure_household_catalog(zone: Zone) -> None:
    if not CatalogVersion.objects.filter(zone=zone, stream="household", status="published").exists():
        load_standard_catalogs(Actor.system(zone), streams=["household"])


def make_registry(zone: Zone, *, stations: int = 2) -> Registry:
    """A street with one community, `stations` stations each with a terminal, a collector's vehicle with
    its unit, a plant with its weighbridge, and a chipped kitchen bin at the first station."""
    ensure_household_catalog(zone)
    system = Actor.system(zone)
    n = next(_numbers)
    street = Area.objects.create(zone=zone, code=f"S{n}", name=f"测试街道{n}", kind="street")
    community = Area.objects.create(
        zone=zone, code=f"C{n}", name=f"测试社区{n}", kind="community", parent=street
    )
    made = [
        services.add_station(
            system, code=f"ST{n}-{i}", name=f"驿站{n}-{i}", kind="staffed", community_id=community.pk
        )
        for i in range(stations)
    ]
    terminals = [
        services.add_device(system, code=f"T{n}-{i}", kind="terminal", station_id=s.pk)
        for i, s in enumerate(made)
    ]
    collector = parties.make_org(zone, roles=("carrier",), area_id=street.pk)
    vehicle = core.add_vehicle(system, collector.pk, plate=f"京A{n % 100000:05d}")
    vehicle_unit = services.add_device(system, code=f"V{n}", kind="vehicle", vehicle_id=vehicle.pk)
    plant_org = parties.make_org(zone, roles=("receiver",), area_id=street.pk)
    plant = core.add_site(system, plant_org.pk, name=f"厨余处理厂{n}", kind="plant", area_id=street.pk)
    weighbridge = services.add_device(system, code=f"W{n}", kind="weighbridge", site_id=plant.pk)
    bin_ = services.add_bin(
        system, chip=f"CHIP{n}", household_class="kitchen", capacity_l=240, station_id=made[0].pk
    )
    devices = [*terminals, vehicle_unit, weighbridge]
    keys = {d.code: services.key_of(d, zone.code) for d in devices}
    return Registry(
        zone, street, community, made, terminals, vehicle, vehicle_unit, plant, weighbridge, bin_, keys
    )


def event(
    device: Device,
    seq: int,
    at: datetime,
    *,
    weight: str = "2.500",
    household_class: str = "kitchen",
    node: str = rules.NODE_SOURCE_STATION,
    side: str = rules.SIDE_RECEIVER,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "device": device.code,
        "seq": seq,
        "occurred_at": at.isoformat(),
        "node": node,
        "side": side,
        "handover": extra.pop("handover", f"{device.code}-{seq}"),
        "class": household_class,
        "weight_kg": weight,
        **extra,
    }


# --- The isolation and role walks (zerowaste.testing.isolation) ------------------------------------


def _community_of(org: Organization) -> Area:
    """A new community inside the organization's street (loose in the zone when it has none)."""
    n = next(_numbers)
    return Area.objects.create(
        zone_id=org.zone_id, code=f"IC{n}", name=f"走查社区{n}", kind="community", parent_id=org.area_id
    )


def _owned_alarm(org: Organization) -> Alarm:
    """An open alarm the organization owns, in a community of its street."""
    n = next(_numbers)
    return Alarm.objects.create(
        zone_id=org.zone_id,
        kind=rules.ALARM_MASS_BALANCE,
        cause=f"walk:{org.pk}:{n}",
        area=_community_of(org),
        owner_organization=org,
        raised_at=timezone.now(),
        deadline=timezone.localdate(),
    )


def _household_of(org: Organization) -> Source:
    """A household in a community of the organization's street."""
    n = next(_numbers)
    return Source.objects.create(
        zone_id=org.zone_id, kind=rules.SOURCE_HOUSEHOLD, code=f"H-WALK-{n}", community=_community_of(org)
    )


ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "alarm_id": lambda org: _owned_alarm(org).pk,
    "source_code": lambda org: _household_of(org).code,
    "area_id": lambda org: _community_of(org).pk,
}


def _park_station_of(org: Organization, markers: list[str]) -> None:
    """A park operator's park gets a station whose name is a marker (the walks check that nobody
    outside the park's operator and its regulators reads it)."""
    from .models import ParkStation

    area = org.area
    if area is None or area.kind != Area.Kind.PARK or not org.roles.filter(role="park_operator").exists():
        return
    n = next(_numbers)
    name = f"WALK-PARK-STATION-{org.pk}-{n}-站"
    ParkStation.objects.create(
        zone_id=org.zone_id,
        park=area,
        kind="digester",
        code=f"WPS{n}",
        name=name,
        in_service_from=timezone.localdate(),
    )
    markers.append(name)


ISOLATION_SETUP = _park_station_of


def _bin_of(org: Organization) -> Bin:
    """A chipped bin at a station the organization keeps, in a community of its street (field pages)."""
    n = next(_numbers)
    station = Station.objects.create(
        zone_id=org.zone_id,
        kind="staffed",
        code=f"ST-WALK-{n}",
        name=f"走查驿站{n}",
        community=_community_of(org),
        operator=org,
    )
    return Bin.objects.create(
        zone_id=org.zone_id, chip=f"CHIP-WALK-{n}", household_class="kitchen", capacity_l=240, station=station
    )


def _resident_token_of(org: Organization) -> str:
    from .resident import resident_token

    return resident_token(_household_of(org))


def _quota_of(org: Organization) -> int:
    """A source quota of a new community of the organization's street (the zone regulators' setting)."""
    from .models import SourceQuota

    return SourceQuota.objects.create(
        zone_id=org.zone_id, area=_community_of(org), year=2020, quota_t=Decimal("100.000")
    ).pk


ISOLATION_PARAMS["quota_id"] = _quota_of
ISOLATION_PARAMS["chip"] = lambda org: _bin_of(org).chip
ISOLATION_PARAMS["token"] = _resident_token_of
# --- The registry's pages (reg17) -----------------------------------------------------------------


def _station_of(org: Organization) -> Station:
    """A station in a community of the organization's street."""
    n = next(_numbers)
    return Station.objects.create(
        zone_id=org.zone_id,
        kind="fixed",
        code=f"ST-WALK-{n}",
        name=f"走查站点{n}",
        community=_community_of(org),
    )


def _registry_bin_of(org: Organization) -> Bin:
    n = next(_numbers)
    return Bin.objects.create(
        zone_id=org.zone_id,
        chip=f"CHIP-WALK-{n}",
        household_class="kitchen",
        capacity_l=240,
        station=_station_of(org),
    )


def _device_of(org: Organization) -> Device:
    n = next(_numbers)
    station = _station_of(org)
    return Device.objects.create(
        zone_id=org.zone_id, code=f"D-WALK-{n}", kind="terminal", station=station, area=station.community
    )


ISOLATION_PARAMS.update(
    {
        "hh_station_id": lambda org: _station_of(org).pk,
        "hh_bin_id": lambda org: _registry_bin_of(org).pk,
        "hh_device_id": lambda org: _device_of(org).pk,
    }
)
