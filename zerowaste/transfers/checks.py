"""The stream rules as the engine calls them: each looks the transfer's stream up in the registry
and asks it (`streams.base.TransferStream`), so that a draft and the machine share one way in."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from zerowaste.core import streams as core_streams
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Organization, Vehicle, Zone

from . import rules, streams
from .inputs import LineInput, _id
from .models import (
    Transfer,
)


def _check_consignee(stream: str, consignee: Organization, lines: list[LineInput], on: date) -> None:
    streams.get(stream).check_consignee(consignee, lines, on)


def _check_carrier(stream: str, carrier: Organization, on: date, field_name: str = "carrier_id") -> None:
    streams.get(stream).check_carrier(carrier, on, field_name)


def _check_storage(stream: str, storage: Organization | None, lines: list[LineInput]) -> None:
    streams.get(stream).check_storage(storage, lines)


def _check_not_park_internal(stream: str, consignor: Organization, consignee: Organization) -> None:
    streams.get(stream).check_not_park_internal(consignor, consignee)


def _check_capacity(t: Transfer, on: date) -> None:
    streams.get(t.stream).check_capacity(t, on)


def _road_limit(zone: Zone, stream: str, total: Decimal, field_name: str) -> None:
    limit = streams.get(stream).road_limit_t(zone.settings)
    fault = rules.road_limit_fault(total, limit)
    if fault:
        raise Invalid.field(field_name, fault)


def _check_vehicle(
    t: Transfer,
    carrier_id: int,
    vehicle_id: Any,
    on: date,
    qty: Decimal | None,
    field_name: str = "vehicle_id",
) -> Vehicle:
    pk = _id(vehicle_id, field_name)
    vehicle = Vehicle.objects.filter(
        zone_id=t.zone_id, organization_id=carrier_id, pk=pk, is_active=True
    ).first()
    if vehicle is None:
        raise Invalid.field(field_name, _("no such vehicle of the carrier"))
    streams.get(t.stream).check_vehicle(vehicle, on, field_name)
    if qty is not None and vehicle.capacity_kg and qty * 1000 > vehicle.capacity_kg:
        raise Invalid.field(
            "quantity_seen_t",
            _("%(qty)s t is more than vehicle %(plate)s carries (%(cap)s kg)")
            % {"qty": qty, "plate": vehicle.plate, "cap": vehicle.capacity_kg},
        )
    return vehicle


def _check_streams(
    zone_id: int, consignor_id: int, stream: str, codes: list[tuple[int, str]], on: date
) -> None:
    """Another app may have moved a consignor's waste to another stream (`core.streams`)."""
    for position, code in codes:
        message = core_streams.refusal(zone_id, consignor_id, stream, code, on)
        if message:
            raise Invalid.field(f"lines[{position}].waste_code", message)
