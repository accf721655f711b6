"""Daily mass balance per place (station, vehicle), class and day, read from the roll-ups:
in = out + stock change, within the zone's tolerance (rules.BALANCE_DEFAULTS, Zone.settings).

A station's weight in is what households handed over there (source → station, receiver side), its
weight out what it handed to vehicles (station → vehicle, giver side); a vehicle's in is what it took
at stations, its out what it handed over at plants. The stock change is the difference between the
day's stock count and the previous one; a place with no count is taken as emptied every day
(日产日清). A day that does not close raises one alarm per place, class and day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import Vehicle, Zone

from . import rules
from .alarms import AlarmDraft
from .models import DailyFlow, Station, StockCount

ZERO = Decimal("0.000")


def _stock_change(zone_id: int, day: date, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    """Per (place, class): the day's count minus the latest earlier one (0 without a count that day)."""
    if not keys:
        return {}
    places = sorted({p for p, _c in keys})
    today = {
        (s.place, s.household_class): Decimal(s.stock_kg)
        for s in StockCount.objects.filter(zone_id=zone_id, day=day, place__in=places)
    }
    change: dict[tuple[str, str], Decimal] = {}
    for key, closing in today.items():
        previous = (
            StockCount.objects.filter(zone_id=zone_id, day__lt=day, place=key[0], household_class=key[1])
            .order_by("-day")
            .values_list("stock_kg", flat=True)
            .first()
        )
        change[key] = closing - (Decimal(previous) if previous is not None else ZERO)
    return change


def table(zone_id: int, day: date, area_ids: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """The day's balance lines, one per place and class, in the order of places and classes."""
    flows = DailyFlow.objects.filter(zone_id=zone_id, day=day).exclude(site__isnull=False)
    if area_ids is not None:
        flows = flows.filter(area_id__in=sorted(area_ids))
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    meta: dict[str, dict[str, Any]] = {}
    for flow in flows.order_by("place", "household_class", "node"):
        kind = flow.place.split(":", 1)[0]
        key = (flow.place, flow.household_class)
        if rules.BALANCE_IN_NODE.get(kind) == flow.node:
            sums[key][0] += Decimal(flow.in_kg)
        elif rules.BALANCE_OUT_NODE.get(kind) == flow.node:
            sums[key][1] += Decimal(flow.out_kg)
        else:
            continue
        meta[flow.place] = {
            "station_id": flow.station_id,
            "vehicle_id": flow.vehicle_id,
            "area_id": flow.area_id,
        }
    zone_settings = Zone.objects.values_list("settings", flat=True).get(pk=zone_id)
    tolerance = rules.balance_settings(zone_settings)
    stock = _stock_change(zone_id, day, set(sums))
    names = _place_names(meta)
    rows = []
    for (place, household_class), (in_kg, out_kg) in sorted(sums.items()):
        line = rules.balance_line(
            place, household_class, in_kg, out_kg, stock.get((place, household_class), ZERO), tolerance
        )
        rows.append(
            {
                "day": day,
                "place": place,
                "place_name": names.get(place, place),
                "household_class": household_class,
                "in_kg": line.in_kg,
                "out_kg": line.out_kg,
                "stock_change_kg": line.stock_change_kg,
                "difference_kg": line.difference_kg,
                "tolerance_kg": line.tolerance_kg,
                "closes": line.closes,
                **meta[place],
            }
        )
    return rows


def _place_names(meta: dict[str, dict[str, Any]]) -> dict[str, str]:
    stations = [m["station_id"] for m in meta.values() if m["station_id"]]
    vehicles = [m["vehicle_id"] for m in meta.values() if m["vehicle_id"]]
    names = {
        f"station:{pk}": name
        for pk, name in Station.objects.filter(pk__in=stations).values_list("pk", "name")
    }
    names.update(
        {
            f"vehicle:{pk}": plate
            for pk, plate in Vehicle.objects.filter(pk__in=vehicles).values_list("pk", "plate")
        }
    )
    return names


def for_actor(actor: Actor, day: date) -> list[dict[str, Any]]:
    """The day's balance the actor may read: regulators, a street regulator its jurisdiction only."""
    if not (actor.is_system or actor.is_regulator):
        raise Forbidden(_("only regulators read the household device data"))
    return table(actor.zone_id, day, None if actor.is_system else actor.jurisdiction_area_ids)


def alarm_drafts(zone_id: int, day: date) -> list[AlarmDraft]:
    drafts = []
    for row in table(zone_id, day):
        if row["closes"]:
            continue
        owner_org = None
        if row["vehicle_id"]:
            owner_org = Vehicle.objects.values_list("organization_id", flat=True).get(pk=row["vehicle_id"])
        drafts.append(
            AlarmDraft(
                rules.ALARM_MASS_BALANCE,
                f"mass_balance:{row['place']}:{row['household_class']}:{day}",
                day,
                {
                    "in": str(row["in_kg"]),
                    "out": str(row["out_kg"]),
                    "stock": str(row["stock_change_kg"]),
                    "difference": str(row["difference_kg"]),
                    "tolerance": str(row["tolerance_kg"]),
                },
                area_id=row["area_id"],
                owner_organization_id=owner_org,
                owner_area_id=None if owner_org else row["area_id"],
                refs={
                    "station_id": row["station_id"],
                    "vehicle_id": row["vehicle_id"],
                    "household_class": row["household_class"],
                },
            )
        )
    return drafts


@transaction.atomic
def record_stock(
    actor: Actor, *, day: date, place: str, household_class: str, stock_kg: Decimal
) -> StockCount:
    """A station's or vehicle's end-of-day stock of one class (replaces that day's count)."""
    if not (actor.is_system or (actor.member_role in {"admin", "clerk"})):
        raise Forbidden(_("your role may not record stock counts"))
    kind, _sep, pk = place.partition(":")
    managers: dict[str, Any] = {"station": Station.objects, "vehicle": Vehicle.objects}
    manager = managers.get(kind)
    if manager is None or not pk.isdigit() or not manager.filter(zone_id=actor.zone_id, pk=int(pk)).exists():
        raise Invalid.field("place", _("must be station:<id> or vehicle:<id> of this zone"))
    if not stock_kg.is_finite() or stock_kg < 0 or -stock_kg.as_tuple().exponent > rules.WEIGHT_DECIMALS:  # type: ignore[operator]
        raise Invalid.field("stock_kg", _("must be a number of kilograms ≥ 0 with at most 3 decimals"))
    count, _created = StockCount.objects.update_or_create(
        zone_id=actor.zone_id,
        day=day,
        place=place,
        household_class=household_class,
        defaults={"stock_kg": stock_kg},
    )
    audit.record(actor, "household.stock.record", count, {"stock_kg": [None, str(stock_kg)]})
    return count
