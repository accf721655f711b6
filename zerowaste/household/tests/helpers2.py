"""Shared pieces of the slice-2 tests: a household, signed messages, a recent working day."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from zerowaste.core.authz import Actor
from zerowaste.core.workdays import is_working_day
from zerowaste.household import ingest, points, services
from zerowaste.household.models import Merchant, Source
from zerowaste.household.testing import Registry

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = datetime.now(UTC).replace(microsecond=0)
_codes = itertools.count(1)
_seqs = itertools.count(1000)


def seq() -> int:
    return next(_seqs)


def last_working_day() -> date:
    """The latest working day before today (Asia/Shanghai): all of its working hours are past."""
    day = NOW.astimezone(TZ).date() - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ)


def household(reg: Registry, code: str | None = None) -> Source:
    return services.add_source(
        Actor.system(reg.zone),
        code=code or f"HH{next(_codes)}",
        kind="household",
        community_id=reg.community.pk,
        residents=3,
    )


def send(reg: Registry, *events: dict[str, Any]) -> ingest.IngestResult:
    devices = {d.code: d for d in [*reg.station_devices, reg.vehicle_device, reg.plant_device]}
    messages = [ingest.Message(*reg.message(devices[e["device"]], e)) for e in events]
    return ingest.ingest_batch(reg.zone.pk, messages)


def circle(reg: Registry, *, merchant_km: float = 1.0) -> Merchant:
    """A service-circle centre for the registry's community and a merchant `merchant_km` north of it."""
    system = Actor.system(reg.zone)
    lat, lon = Decimal("39.795000"), Decimal("116.506000")
    points.set_community_centre(system, community_id=reg.community.pk, latitude=lat, longitude=lon)
    north = (Decimal(str(merchant_km)) / Decimal("111.195")).quantize(Decimal("0.000001"))
    return points.add_merchant(system, name=f"便民超市{next(_codes)}", latitude=lat + north, longitude=lon)
