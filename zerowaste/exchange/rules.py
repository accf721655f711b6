"""Pure rules of the exchange: distances, transport cost, prices, settings, listing checks. No database.

Transport cost = haversine distance × detour factor × tariff per t·km (seed:486-488; spec 06). The
distance is a float of geometry, rounded to the metre; every money figure after it is an exact
Decimal in CNY, rounded to the fen.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

EARTH_RADIUS_KM = 6371.0088
FEN = Decimal("0.01")
METRE = Decimal("0.001")
KILOGRAM = Decimal("0.001")
ZERO = Decimal(0)
MAX_PRICE = Decimal(1_000_000)  # CNY per tonne, either sign
MAX_TONNES = Decimal(1_000_000)

# Per-zone settings live in Zone.settings["exchange"]; these are the defaults.
DEFAULT_SETTINGS: dict[str, str] = {
    "detour_factor": "1.3",  # road km per straight-line km
    "tariff_cny_per_tkm": "0.60",  # carriage of one tonne over one road km
    "handling_cny_per_t": "30",  # loading, weighing, paperwork per tonne (ISW)
    "handling_hw_cny_per_t": "120",  # the same for hazardous waste (packing, permits)
    "vehicle_cny_per_km": "6.00",  # a collection vehicle per road km (pooled runs)
    "trip_fixed_cny": "150",  # each trip: driver time, loading at the receiver
    "vehicle_capacity_t": "5",  # default capacity of a pooled-collection vehicle
    "small_supply_t": "2",  # supply at most this per month counts as low-value/small for pooling
}

STATUS_OPEN = "open"
STATUS_MATCHED = "matched"
STATUS_WITHDRAWN = "withdrawn"
LISTING_STATUS_CHOICES = [
    (STATUS_OPEN, _("open")),
    (STATUS_MATCHED, _("matched")),
    (STATUS_WITHDRAWN, _("withdrawn")),
]
KIND_MONTHLY = "monthly"
KIND_LOT = "lot"
SUPPLY_KIND_CHOICES = [(KIND_MONTHLY, _("quantity per month")), (KIND_LOT, _("one-off lot"))]

PROPOSED = "proposed"
ACCEPTED = "accepted"
DECLINED = "declined"
SUPERSEDED = "superseded"
PROPOSAL_STATUS_CHOICES = [
    (PROPOSED, _("proposed")),
    (ACCEPTED, _("accepted by both")),
    (DECLINED, _("declined")),
    (SUPERSEDED, _("superseded")),
]
POOL_PLANNED = "planned"
POOL_EXECUTED = "executed"
POOL_STATUS_CHOICES = [(POOL_PLANNED, _("planned")), (POOL_EXECUTED, _("executed"))]


@dataclass(frozen=True)
class Tariffs:
    detour_factor: Decimal
    tariff_cny_per_tkm: Decimal
    handling_cny_per_t: Decimal
    handling_hw_cny_per_t: Decimal
    vehicle_cny_per_km: Decimal
    trip_fixed_cny: Decimal
    vehicle_capacity_t: Decimal
    small_supply_t: Decimal

    def handling(self, stream: str) -> Decimal:
        return self.handling_hw_cny_per_t if stream == "hw" else self.handling_cny_per_t

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in DEFAULT_SETTINGS}


# The route solver's outcome (`routing.Plan.status`, stored in a pool run), as the pool page says it.
SOLVER_STATUS_LABELS = {
    "not_solved": _("not solved"),
    "success": _("solved"),
    "fail": _("no route found"),
    "timeout": _("stopped at the time limit"),
    "invalid": _("invalid problem"),
}


def tariffs(zone_settings: dict[str, Any] | None) -> Tariffs:
    """The zone's exchange settings over the defaults."""
    raw = {**DEFAULT_SETTINGS, **((zone_settings or {}).get("exchange") or {})}
    return Tariffs(**{name: Decimal(str(raw[name])) for name in DEFAULT_SETTINGS})


def check_settings(values: dict[str, Any]) -> dict[str, str]:
    """Validated settings (strings of decimals); raises ValueError('field: message')."""
    result = {}
    for name, value in values.items():
        if name not in DEFAULT_SETTINGS:
            raise ValueError(f"{name}: {_('unknown setting')}")
        number = parse_decimal(value, name)
        if number < 0 or number > Decimal(100_000):
            raise ValueError(f"{name}: {_('must be between 0 and 100000')}")
        if name == "detour_factor" and number < 1:
            raise ValueError(f"{name}: {_('a road is never shorter than the straight line (≥ 1)')}")
        result[name] = str(number)
    return result


# --- Geometry and cost -----------------------------------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> Decimal:
    """Great-circle distance in km, rounded to the metre."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
    return Decimal(repr(km)).quantize(METRE, rounding=ROUND_HALF_UP)


def road_km(straight_km: Decimal, t: Tariffs) -> Decimal:
    return (straight_km * t.detour_factor).quantize(METRE, rounding=ROUND_HALF_UP)


def transport_cny_per_t(straight_km: Decimal, t: Tariffs) -> Decimal:
    """Cost of carrying one tonne: haversine × detour factor × tariff per t·km, to the fen."""
    return (straight_km * t.detour_factor * t.tariff_cny_per_tkm).quantize(FEN, rounding=ROUND_HALF_UP)


def avoided_fee_per_t(asking: Decimal) -> Decimal:
    """What matching saves a producer that pays a fee (a negative asking price) per tonne: that fee.

    Waste with no market still has to go somewhere, at the producer's cost: its match is worth what
    the producer would otherwise pay (−asking) less what the receiver charges and the carriage costs,
    not a loss to be avoided by leaving the waste unplaced (ADR 0035). A seller (asking ≥ 0) keeps the
    plain formula of issue 7.
    """
    return -asking if asking < 0 else Decimal(0)


def net_value_per_t(
    price: Decimal, straight_km: Decimal, stream: str, t: Tariffs, *, asking: Decimal = Decimal(0)
) -> Decimal:
    """Price − transport − handling, CNY per tonne, plus the fee a paying producer avoids."""
    return price - transport_cny_per_t(straight_km, t) - t.handling(stream) + avoided_fee_per_t(asking)


def trip_cost(road_distance_km: Decimal, t: Tariffs, trips: int = 1) -> Decimal:
    """A vehicle's cost over a road distance (pooled runs and single trips alike)."""
    return (road_distance_km * t.vehicle_cny_per_km + t.trip_fixed_cny * trips).quantize(
        FEN, rounding=ROUND_HALF_UP
    )


# --- Input parsing ---------------------------------------------------------------------------------


def parse_decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(f"{field}: {_('a number is required')}")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{field}: {_('not a number')}") from exc
    if not number.is_finite():
        raise ValueError(f"{field}: {_('not a number')}")
    return number


def parse_tonnes(value: Any, field: str) -> Decimal:
    """A positive quantity in tonnes with at most 3 decimals (kilograms)."""
    number = parse_decimal(value, field)
    if number <= 0:
        raise ValueError(f"{field}: {_('must be more than 0 t')}")
    if number > MAX_TONNES:
        raise ValueError(f"{field}: {_('at most 1,000,000 t')}")
    if number != number.quantize(KILOGRAM):
        raise ValueError(f"{field}: {_('at most 3 decimals (kilograms)')}")
    return number.quantize(KILOGRAM)


# "120", "120 CNY", "120 元/吨", "-80 CNY/t", "￥120" are CNY per tonne; "15 USD/t" is not.
_PRICE_RE = re.compile(
    r"^\s*[￥¥]?\s*(?P<num>[-+]?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s].*?)?\s*$",
)
_CNY_UNITS = {"", "cny", "rmb", "元", "cny/t", "rmb/t", "元/吨", "元/t", "cny/tonne", "yuan", "yuan/t"}


def parse_price(value: Any, field: str, currency: str | None = "CNY") -> Decimal:
    """A price in CNY per tonne, to the fen; any other currency or unit is refused naming `field`."""
    if currency not in (None, "", "CNY", "cny", "RMB", "rmb"):
        raise ValueError(
            f"{field}: {_('prices are in CNY per tonne; %(unit)s is not accepted') % {'unit': currency}}"
        )
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        m = _PRICE_RE.match(value)
        if m is None:
            raise ValueError(f"{field}: {_('not a price (e.g. 120 or 120 CNY/t)')}")
        unit = (m.group("unit") or "").strip().lower().replace(" ", "")
        if unit not in _CNY_UNITS:
            raise ValueError(
                f"{field}: {_('prices are in CNY per tonne; %(unit)s is not accepted') % {'unit': unit}}"
            )
        number = Decimal(m.group("num"))
    else:
        raise ValueError(f"{field}: {_('not a price (e.g. 120 or 120 CNY/t)')}")
    if not number.is_finite() or abs(number) > MAX_PRICE:
        raise ValueError(f"{field}: {_('out of range (at most 1,000,000 CNY/t either way)')}")
    if number != number.quantize(FEN):
        raise ValueError(f"{field}: {_('at most 2 decimals (fen)')}")
    return number.quantize(FEN)


def month_start(period: str) -> date:
    """'2020-06' → 2020-06-01; ValueError otherwise."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", (period or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise ValueError(f"period: {_('a month as YYYY-MM')}")
    return date(int(m.group(1)), int(m.group(2)), 1)


def month_end(start: date) -> date:
    if start.month == 12:
        return date(start.year, 12, 31)
    return date(start.year, start.month + 1, 1).fromordinal(
        date(start.year, start.month + 1, 1).toordinal() - 1
    )


def window_overlaps(pick_from: date | None, pick_to: date | None, start: date, end: date) -> bool:
    """Whether a pick-up window meets the period (an open end meets everything)."""
    return (pick_from is None or pick_from <= end) and (pick_to is None or pick_to >= start)


def licence_covers_code(codes: list[str], code: str, category: str) -> bool:
    """An operating licence lists categories ("HW49"), full codes, or nothing (= everything)."""
    return not codes or code in codes or category in codes


def remaining_t(quantity: Decimal, committed: Decimal) -> Decimal:
    """What a listing still offers or takes once agreements hold `committed` of it (never below 0)."""
    return max(quantity - committed, ZERO)


def to_kg(tonnes: Decimal) -> int:
    return int((tonnes * 1000).to_integral_value())


def to_fen(cny: Decimal) -> int:
    return int((cny * 100).to_integral_value())
