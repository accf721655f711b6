"""Pure rules of the household event core: what a device payload must say, how it is signed, and
where a stored event counts in the daily roll-ups. No database here.

A device message is a JSON envelope `{"event": {...}, "sig": "<hex>"}`; `sig` is the HMAC-SHA256 of
the event's canonical JSON (keys sorted, no spaces, UTF-8) under the device's key (ADR 0054).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

# --- Vocabularies ------------------------------------------------------------------------------------

SOURCE_HOUSEHOLD = "household"
SOURCE_UNIT = "unit"
SOURCE_KIND_CHOICES = [(SOURCE_HOUSEHOLD, _("household")), (SOURCE_UNIT, _("social unit"))]

STATION_KIND_CHOICES = [
    ("fixed", _("fixed station")),
    ("mobile", _("mobile station")),
    ("staffed", _("staffed station (驿站)")),
    ("recyclables", _("recyclables drop point")),
    ("hazardous", _("hazardous waste drop point")),
    ("cabinet", _("smart recycling cabinet")),
]

DEVICE_KIND_CHOICES = [
    ("terminal", _("weighing terminal")),
    ("vehicle", _("vehicle unit")),
    ("weighbridge", _("weighbridge")),
    ("smart_bin", _("smart bin")),
    ("cabinet", _("smart cabinet")),
]

# The three hand-over nodes of seed:5008: the responsible party hands over at the station, the
# station to the vehicle, the vehicle to the transfer station or plant.
NODE_SOURCE_STATION = "source_station"
NODE_STATION_VEHICLE = "station_vehicle"
NODE_VEHICLE_SITE = "vehicle_site"
NODE_CHOICES = [
    (NODE_SOURCE_STATION, _("source → station")),
    (NODE_STATION_VEHICLE, _("station → vehicle")),
    (NODE_VEHICLE_SITE, _("vehicle → transfer station or plant")),
]
NODES = frozenset(code for code, _label in NODE_CHOICES)

SIDE_GIVER = "giver"
SIDE_RECEIVER = "receiver"
SIDE_CHOICES = [(SIDE_GIVER, _("giver")), (SIDE_RECEIVER, _("receiver"))]
SIDES = frozenset({SIDE_GIVER, SIDE_RECEIVER})

# Kitchen waste quality (seed:4842: "无玻璃陶瓷、无金属杂物、无塑料橡胶").
QUALITY_GRADES = frozenset({"A", "B", "C"})
IMPURITIES = frozenset({"glass_ceramics", "metal", "plastic_rubber"})
KITCHEN = "kitchen"
RECYCLABLE = "recyclable"

# --- Bounds ------------------------------------------------------------------------------------------

# The heaviest load believable at each node: a household's bag or a 240 L bin at a station; a
# station's bins into one truck; a loaded compactor truck on a plant's weighbridge (≤ 49 t gross).
MAX_WEIGHT_KG = {
    NODE_SOURCE_STATION: Decimal("500"),
    NODE_STATION_VEHICLE: Decimal("5000"),
    NODE_VEHICLE_SITE: Decimal("49000"),
}
WEIGHT_DECIMALS = 3  # grams
# A device clock may run a little ahead; more than this and its times cannot be trusted.
MAX_CLOCK_AHEAD = timedelta(minutes=5)
# An offline buffer is uploaded within days; anything older is a wrong clock, not a buffer.
MAX_EVENT_AGE = timedelta(days=35)
MAX_SEQ = 2**62
MAX_TEXT = 64
MAX_PAYLOAD_BYTES = 16_384


# --- Rejections --------------------------------------------------------------------------------------

# Every reason a payload goes to the dead letters, in words naming the field; rendered in the reader's
# language when shown (the stored rule and params do not change with the language).
REASONS: dict[str, Any] = {
    "too_large": _("the payload is larger than %(limit)s bytes"),
    "json": _("not valid JSON (%(error)s)"),
    "envelope": _("must be an object with `event` (an object) and `sig` (hex text)"),
    "required": _("is required"),
    "text": _("must be text of at most %(limit)s characters"),
    "unknown_device": _("no active device %(value)s is registered"),
    "topic_device": _("the topic names device %(value)s, the payload another"),
    "signature": _("the signature does not match the device's key"),
    "seq": _("must be a whole number from 0 to %(limit)s"),
    "datetime": _("must be an ISO 8601 time with its UTC offset"),
    "ahead": _("is %(value)s ahead of the server clock (at most %(limit)s allowed)"),
    "too_old": _("is older than %(limit)s days: a wrong clock, not an offline buffer"),
    "choice": _("must be one of %(choices)s"),
    "weight_format": _("must be a number of kilograms with at most 3 decimals"),
    "weight_positive": _("must be more than 0 kg"),
    "weight_absurd": _("%(value)s kg is more than the %(limit)s kg believable at this node"),
    "kitchen_only": _("is recorded for kitchen waste only"),
    "recyclable_only": _("is recorded for recyclables only"),
    "impurities": _("must be a list of %(choices)s"),
    "unknown_class": _("%(value)s is not a class of the household catalog in force"),
    "unknown_bin": _("no bin with chip %(value)s is registered"),
    "unknown_source": _("no source with code %(value)s is registered"),
    "unknown_station": _("no station with code %(value)s is registered"),
    "unknown_vehicle": _("no vehicle with plate %(value)s is registered"),
    "unknown_site": _("no site %(value)s is registered"),
    "place_missing": _("is required at node %(value)s (not given, nor known from the device)"),
}


class Rejected(Exception):
    """A payload that cannot be stored: the field at fault, the rule broken and its parameters."""

    def __init__(self, field: str, rule: str, **params: Any) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
        self.params = {k: str(v) for k, v in params.items()}


def reason_text(field: str, rule: str, params: dict[str, Any]) -> str:
    """The reason in words, in the active language: `field: what is wrong`."""
    template = REASONS.get(rule)
    message = str(template) % params if template is not None else rule
    return f"{field}: {message}"


# --- Signing -----------------------------------------------------------------------------------------


def canonical_json(event: dict[str, Any]) -> bytes:
    """The bytes a device signs: the same object always gives the same bytes, whatever key order or
    whitespace the device's JSON library used."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(key: bytes, event: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json(event), hashlib.sha256).hexdigest()


def signature_valid(key: bytes, event: dict[str, Any], signature: str) -> bool:
    return hmac.compare_digest(sign(key, event), signature)


def device_key(master_key: bytes, zone_code: str, device_code: str, key_version: int) -> bytes:
    """A device's HMAC key, derived from the platform's master key: nothing secret is stored per
    device, and bumping `key_version` revokes a leaked key (ADR 0054)."""
    label = f"zerowaste.household.device:{zone_code}:{device_code}:{key_version}".encode()
    return hmac.new(master_key, label, hashlib.sha256).digest()


def envelope(raw: bytes | str) -> tuple[dict[str, Any], str]:
    """The event and signature of a raw message, or Rejected."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", errors="replace")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise Rejected("payload", "too_large", limit=MAX_PAYLOAD_BYTES)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected("payload", "json", error=str(exc)[:80]) from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("event"), dict):
        raise Rejected("event", "envelope")
    signature = parsed.get("sig")
    if not isinstance(signature, str) or not signature:
        raise Rejected("sig", "envelope")
    return parsed["event"], signature


def device_of(event: dict[str, Any]) -> str:
    return _text(event, "device", required=True)


# --- The event's fields ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFields:
    """A payload's fields, checked; references are still codes (the ingest resolves them)."""

    device: str
    seq: int
    occurred_at: datetime
    node: str
    side: str
    handover: str
    household_class: str
    weight_kg: Decimal
    quality_grade: str = ""
    impurities: tuple[str, ...] = ()
    recyclable_kind: str = ""
    bin: str = ""
    source: str = ""
    station: str = ""
    vehicle: str = ""
    site: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _text(event: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = event.get(name)
    if value is None or value == "":
        if required:
            raise Rejected(name, "required")
        return ""
    if not isinstance(value, str) or len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        raise Rejected(name, "text", limit=MAX_TEXT)
    return value


def parse_seq(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise Rejected("seq", "seq", limit=MAX_SEQ)
    return value


def parse_time(value: Any, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise Rejected("occurred_at", "datetime" if value is not None else "required")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected("occurred_at", "datetime") from None
    if moment.tzinfo is None:
        raise Rejected("occurred_at", "datetime")
    if moment - now > MAX_CLOCK_AHEAD:
        raise Rejected("occurred_at", "ahead", value=moment - now, limit=MAX_CLOCK_AHEAD)
    if now - moment > MAX_EVENT_AGE:
        raise Rejected("occurred_at", "too_old", limit=MAX_EVENT_AGE.days)
    return moment


def parse_weight(value: Any, node: str) -> Decimal:
    """Kilograms as an exact decimal: given as text or a whole number, never a float (a float has
    already lost the grams the device weighed)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Rejected("weight_kg", "weight_format" if value is not None else "required")
    try:
        weight = Decimal(str(value).strip())
    except InvalidOperation:
        raise Rejected("weight_kg", "weight_format") from None
    if not weight.is_finite() or -weight.as_tuple().exponent > WEIGHT_DECIMALS:  # type: ignore[operator]
        raise Rejected("weight_kg", "weight_format")
    if weight <= 0:
        raise Rejected("weight_kg", "weight_positive")
    if weight > MAX_WEIGHT_KG[node]:
        raise Rejected("weight_kg", "weight_absurd", value=weight, limit=MAX_WEIGHT_KG[node])
    return weight.quantize(Decimal("0.001"))


def _choice(event: dict[str, Any], name: str, choices: frozenset[str]) -> str:
    value = event.get(name)
    if value is None or value == "":
        raise Rejected(name, "required")
    if not isinstance(value, str) or value not in choices:
        raise Rejected(name, "choice", choices=", ".join(sorted(choices)))
    return str(value)


def top_class(code: str) -> str:
    """`recyclable.paper` → `recyclable`."""
    return code.split(".", 1)[0]


def parse_event(event: dict[str, Any], *, now: datetime, household_classes: frozenset[str]) -> EventFields:
    """Check every field of a device event; the first fault raises Rejected naming its field."""
    device = _text(event, "device", required=True)
    seq = parse_seq(event.get("seq"))
    occurred_at = parse_time(event.get("occurred_at"), now)
    node = _choice(event, "node", NODES)
    side = _choice(event, "side", SIDES)
    handover = _text(event, "handover", required=True)
    household_class = _text(event, "class", required=True)
    if household_class not in household_classes:
        raise Rejected("class", "unknown_class", value=household_class)
    weight = parse_weight(event.get("weight_kg"), node)
    quality = _text(event, "quality_grade")
    impurities_raw = event.get("impurities") or []
    if top_class(household_class) != KITCHEN:
        if quality:
            raise Rejected("quality_grade", "kitchen_only")
        if impurities_raw:
            raise Rejected("impurities", "kitchen_only")
    if quality and quality not in QUALITY_GRADES:
        raise Rejected("quality_grade", "choice", choices=", ".join(sorted(QUALITY_GRADES)))
    if not isinstance(impurities_raw, list) or not all(
        isinstance(item, str) and item in IMPURITIES for item in impurities_raw
    ):
        raise Rejected("impurities", "impurities", choices=", ".join(sorted(IMPURITIES)))
    recyclable_kind = _text(event, "recyclable_kind")
    if recyclable_kind and top_class(household_class) != RECYCLABLE:
        raise Rejected("recyclable_kind", "recyclable_only")
    site = event.get("site")
    if site is not None and (isinstance(site, bool) or not isinstance(site, int) or not 0 < site <= MAX_SEQ):
        raise Rejected("site", "seq", limit=MAX_SEQ)
    return EventFields(
        device=device,
        seq=seq,
        occurred_at=occurred_at,
        node=node,
        side=side,
        handover=handover,
        household_class=household_class,
        weight_kg=weight,
        quality_grade=quality,
        impurities=tuple(sorted(set(impurities_raw))),
        recyclable_kind=recyclable_kind,
        bin=_text(event, "bin"),
        source=_text(event, "source"),
        station=_text(event, "station"),
        vehicle=_text(event, "vehicle"),
        site=site,
    )


# Which places a node needs: source → station needs the station; station → vehicle both; vehicle →
# plant both. The giver's and the receiver's place of each node.
NODE_PLACES: dict[str, tuple[str, str]] = {
    NODE_SOURCE_STATION: ("station", "station"),
    NODE_STATION_VEHICLE: ("station", "vehicle"),
    NODE_VEHICLE_SITE: ("vehicle", "site"),
}


def place_kind(node: str, side: str) -> str:
    """Where an event counts in the roll-ups: the place of its own side. A household hands over at
    the station, so both sides of source → station count at the station (households are too many
    to roll up one by one; the raw event keeps the source)."""
    giver, receiver = NODE_PLACES[node]
    return giver if side == SIDE_GIVER else receiver


def required_places(node: str) -> tuple[str, ...]:
    giver, receiver = NODE_PLACES[node]
    return (giver,) if giver == receiver else (giver, receiver)


@dataclass(frozen=True)
class FlowKey:
    day: date
    node: str
    place: str  # "station:12", "vehicle:3", "site:7"
    household_class: str


@dataclass
class FlowSums:
    in_kg: Decimal = Decimal("0.000")
    out_kg: Decimal = Decimal("0.000")
    events: int = 0


def local_day(moment: datetime, zone_tz: tzinfo) -> date:
    """The day an event counts in: the zone's calendar day (Asia/Shanghai), not UTC's."""
    return moment.astimezone(zone_tz).date()


def add_to_flows(
    flows: dict[FlowKey, FlowSums],
    *,
    day: date,
    node: str,
    side: str,
    place: str,
    household_class: str,
    weight_kg: Decimal,
) -> None:
    """Count one newly stored event: a receiver's confirmation is weight in at its place, a giver's
    weight out."""
    sums = flows.setdefault(FlowKey(day, node, place, household_class), FlowSums())
    if side == SIDE_RECEIVER:
        sums.in_kg += weight_kg
    else:
        sums.out_kg += weight_kg
    sums.events += 1


def month_start(moment: datetime) -> date:
    """The first day (UTC) of the month partition holding `moment`."""
    from datetime import UTC

    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


# --- Alarms (slice 2) --------------------------------------------------------------------------------

ALARM_WEIGHT_MISMATCH = "weight_mismatch"
ALARM_MIXED_LOADING = "mixed_loading"
ALARM_NOT_CLEARED = "not_cleared"
ALARM_OVER_CAPACITY = "over_capacity"
ALARM_VEHICLE_IDLE = "vehicle_idle"
ALARM_QUALITY = "quality_failures"
ALARM_MASS_BALANCE = "mass_balance"
ALARM_KIND_CHOICES = [
    (ALARM_WEIGHT_MISMATCH, _("weight mismatch at a hand-over")),
    (ALARM_MIXED_LOADING, _("mixed loading (混装混运)")),
    (ALARM_NOT_CLEARED, _("kitchen waste not cleared the same day (日产日清)")),
    (ALARM_OVER_CAPACITY, _("bin over capacity")),
    (ALARM_VEHICLE_IDLE, _("vehicle idle")),
    (ALARM_QUALITY, _("repeated quality failures by a source")),
    (ALARM_MASS_BALANCE, _("mass balance does not close")),
]
ALARM_KINDS = frozenset(code for code, _label in ALARM_KIND_CHOICES)
ALARM_STATES = frozenset({"open", "escalated", "resolved"})

# Working days the owner has to resolve an alarm of each kind before it escalates to the street.
ALARM_DEADLINE_WORKING_DAYS = {
    ALARM_WEIGHT_MISMATCH: 2,
    ALARM_MIXED_LOADING: 3,
    ALARM_NOT_CLEARED: 1,
    ALARM_OVER_CAPACITY: 1,
    ALARM_VEHICLE_IDLE: 2,
    ALARM_QUALITY: 5,
    ALARM_MASS_BALANCE: 3,
}

# The two sides of one hand-over may differ by scale error: the larger of 0.5 kg and 2 % of the
# heavier side.
MISMATCH_TOLERANCE_KG = Decimal("0.500")
MISMATCH_TOLERANCE_RATIO = Decimal("0.02")

# What a litre of each class weighs at most in a full bin; more than capacity × this is over capacity.
BIN_KG_PER_L = {KITCHEN: Decimal("0.8"), RECYCLABLE: Decimal("0.3"), "hazardous": Decimal("1.0")}
BIN_KG_PER_L_DEFAULT = Decimal("0.4")

# A vehicle with no event for this long inside the working window of a working day is idle.
VEHICLE_IDLE_HOURS = 3
WORK_START_HOUR = 7
WORK_END_HOUR = 19

# ≥ QUALITY_FAILURES failed kitchen-waste grades by one source within QUALITY_WINDOW_DAYS.
FAILED_GRADES = frozenset({"C"})
QUALITY_FAILURES = 3
QUALITY_WINDOW_DAYS = 30

# Mass balance: in = out + stock change, within the larger of an absolute and a relative tolerance.
# A zone may set its own in `Zone.settings["household"]` (keys as below).
BALANCE_DEFAULTS = {"balance_tolerance_kg": Decimal("1.000"), "balance_tolerance_ratio": Decimal("0")}
# Kitchen waste is cleared the day it is produced; the same tolerance decides "left over".
NOT_CLEARED_TOLERANCE_KG = Decimal("1.000")

# The figures of each alarm, in words (params are stored; the text follows the reader's language).
ALARM_FIGURES: dict[str, Any] = {
    ALARM_WEIGHT_MISMATCH: _(
        "%(giver)s kg handed over, %(receiver)s kg received: %(difference)s kg apart "
        "(tolerance %(tolerance)s kg)"
    ),
    ALARM_MIXED_LOADING: _("one trip carried %(classes)s to one destination"),
    ALARM_NOT_CLEARED: _(
        "%(received)s kg of kitchen waste received, %(collected)s kg collected the same day: %(left)s kg left"
    ),
    ALARM_OVER_CAPACITY: _("%(weight)s kg in a %(capacity)s L bin (at most %(limit)s kg)"),
    ALARM_VEHICLE_IDLE: _("no event for %(hours)s h in working time (%(limit)s h allowed)"),
    ALARM_QUALITY: _("%(count)s failed kitchen-waste grades in %(days)s days (an alarm at %(limit)s)"),
    ALARM_MASS_BALANCE: _(
        "in %(in)s kg, out %(out)s kg, stock change %(stock)s kg: %(difference)s kg unexplained "
        "(tolerance %(tolerance)s kg)"
    ),
}


def figures_text(kind: str, params: dict[str, Any]) -> str:
    template = ALARM_FIGURES.get(kind)
    try:
        return str(template) % params if template is not None else ""
    except (KeyError, TypeError, ValueError):
        return ", ".join(f"{k} {v}" for k, v in sorted(params.items()))


def mismatch_tolerance(giver_kg: Decimal, receiver_kg: Decimal) -> Decimal:
    return max(
        MISMATCH_TOLERANCE_KG,
        (max(giver_kg, receiver_kg) * MISMATCH_TOLERANCE_RATIO).quantize(Decimal("0.001")),
    )


def weights_mismatch(giver_kg: Decimal, receiver_kg: Decimal) -> bool:
    """Whether the two sides of a hand-over disagree beyond the scales' tolerance."""
    return abs(giver_kg - receiver_kg) > mismatch_tolerance(giver_kg, receiver_kg)


def bin_limit_kg(household_class: str, capacity_l: int) -> Decimal:
    per_l = BIN_KG_PER_L.get(top_class(household_class), BIN_KG_PER_L_DEFAULT)
    return (per_l * capacity_l).quantize(Decimal("0.001"))


def is_failed_grade(quality_grade: str) -> bool:
    return quality_grade in FAILED_GRADES


def longest_idle(times: list[datetime], start: datetime, end: datetime) -> timedelta:
    """The longest stretch inside [start, end] with no event (the window's edges count as ends)."""
    inside = sorted(t for t in times if start <= t <= end)
    marks = [start, *inside, end]
    return max((b - a for a, b in itertools.pairwise(marks)), default=end - start)


def balance_settings(zone_settings: dict[str, Any] | None) -> tuple[Decimal, Decimal]:
    """The zone's (absolute kg, ratio) balance tolerance: its settings, else the defaults."""
    own = (zone_settings or {}).get("household") or {}
    values = []
    for key in ("balance_tolerance_kg", "balance_tolerance_ratio"):
        raw = own.get(key)
        try:
            value = Decimal(str(raw)) if raw is not None else BALANCE_DEFAULTS[key]
        except InvalidOperation:
            value = BALANCE_DEFAULTS[key]
        values.append(value if value.is_finite() and value >= 0 else BALANCE_DEFAULTS[key])
    return values[0], values[1]


# Where a place's balance reads its weight in and out: a station receives from households and hands
# over to vehicles; a vehicle receives from stations and hands over at a plant. A plant is the end of
# the chain (its weighbridge is checked against the vehicle's side by the weight-mismatch alarm).
BALANCE_IN_NODE = {"station": NODE_SOURCE_STATION, "vehicle": NODE_STATION_VEHICLE}
BALANCE_OUT_NODE = {"station": NODE_STATION_VEHICLE, "vehicle": NODE_VEHICLE_SITE}


@dataclass(frozen=True)
class BalanceLine:
    place: str
    household_class: str
    in_kg: Decimal
    out_kg: Decimal
    stock_change_kg: Decimal
    difference_kg: Decimal
    tolerance_kg: Decimal

    @property
    def closes(self) -> bool:
        return abs(self.difference_kg) <= self.tolerance_kg


def balance_line(
    place: str,
    household_class: str,
    in_kg: Decimal,
    out_kg: Decimal,
    stock_change_kg: Decimal,
    tolerance: tuple[Decimal, Decimal],
) -> BalanceLine:
    absolute, ratio = tolerance
    difference = in_kg - out_kg - stock_change_kg
    return BalanceLine(
        place,
        household_class,
        in_kg,
        out_kg,
        stock_change_kg,
        difference,
        max(absolute, (in_kg * ratio).quantize(Decimal("0.001"))),
    )


# --- Residents' points -------------------------------------------------------------------------------

POINTS_SORTING = "sorting"
POINTS_RECYCLABLES = "recyclables"
POINTS_REDEMPTION = "redemption"
POINTS_REVERSAL = "reversal"
POINTS_REASON_CHOICES = [
    (POINTS_SORTING, _("sorting grant")),
    (POINTS_RECYCLABLES, _("recyclables grant")),
    (POINTS_REDEMPTION, _("redemption")),
    (POINTS_REVERSAL, _("reversal")),
]
# A household's kitchen-waste drop graded A earns 2 points, B 1, C none; recyclables 1 point per whole kg.
POINTS_PER_GRADE = {"A": 2, "B": 1, "C": 0}
POINTS_PER_RECYCLABLE_KG = 1
MAX_REDEMPTION = 100_000
SERVICE_CIRCLE_KM = Decimal("2")
EARTH_RADIUS_KM = 6371.0088


def points_for(
    household_class: str, quality_grade: str, impurities: tuple[str, ...], weight_kg: Decimal
) -> tuple[str, int]:
    """The grant a household's drop earns at the station: (reason, points); 0 points for none."""
    top = top_class(household_class)
    if top == KITCHEN:
        if impurities or not quality_grade:
            return POINTS_SORTING, 0
        return POINTS_SORTING, POINTS_PER_GRADE.get(quality_grade, 0)
    if top == RECYCLABLE:
        return POINTS_RECYCLABLES, int(weight_kg) * POINTS_PER_RECYCLABLE_KG
    return POINTS_SORTING, 0


def distance_km(lat1: Decimal, lon1: Decimal, lat2: Decimal, lon2: Decimal) -> Decimal:
    """Great-circle (haversine) distance, to the metre."""
    import math

    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
    return Decimal(str(round(km, 3)))


def within_service_circle(distance: Decimal) -> bool:
    return distance <= SERVICE_CIRCLE_KM


# --- Park "1+4" regime: missing station logs (park_rules.py holds the requirements) ---------------

ALARM_PARK_ROUND = "park_round"
ALARM_PARK_CLEANING = "park_cleaning"
ALARM_PARK_DISINFECTION = "park_disinfection"
ALARM_PARK_PEST_CONTROL = "park_pest_control"
ALARM_PARK_CLEARANCE = "park_clearance"
ALARM_KIND_CHOICES += [
    (ALARM_PARK_ROUND, _("park collection round not recorded")),
    (ALARM_PARK_CLEANING, _("park station cleaned too few times")),
    (ALARM_PARK_DISINFECTION, _("park station disinfected too few times")),
    (ALARM_PARK_PEST_CONTROL, _("no pest control at a park station this week")),
    (ALARM_PARK_CLEARANCE, _("no clearance record at a park station")),
]
ALARM_KINDS = frozenset(code for code, _label in ALARM_KIND_CHOICES)
ALARM_DEADLINE_WORKING_DAYS.update(
    {
        ALARM_PARK_ROUND: 1,
        ALARM_PARK_CLEANING: 1,
        ALARM_PARK_DISINFECTION: 1,
        ALARM_PARK_PEST_CONTROL: 2,
        ALARM_PARK_CLEARANCE: 1,
    }
)
ALARM_FIGURES.update(
    {
        ALARM_PARK_ROUND: _("%(station)s: no %(slot)s round recorded"),
        ALARM_PARK_CLEANING: _("%(station)s: %(done)s cleanings recorded (at least %(minimum)s a day)"),
        ALARM_PARK_DISINFECTION: _(
            "%(station)s: %(done)s disinfections recorded (at least %(minimum)s a day)"
        ),
        ALARM_PARK_PEST_CONTROL: _("%(station)s: no pest control recorded from %(start)s to %(end)s"),
        ALARM_PARK_CLEARANCE: _("%(station)s: no clearance recorded"),
    }
)
# --- Phone confirmations (field pages, ADR 0056) -----------------------------------------------------

# A phone confirming a hand-over reports through a device of its own, one per place (station, vehicle
# or site), made on first use: its events go through the same ingest as a terminal's.
DEVICE_APP = "app"
DEVICE_KIND_CHOICES.append((DEVICE_APP, _("phone app")))
APP_DEVICE_PREFIX = {"station": "APP-ST", "vehicle": "APP-V", "site": "APP-S"}
# The idempotency token a phone form carries: a double submit stores the confirmation once.
FIELD_TOKEN_MAX = 64
# How far back a driver's or plant's page looks for hand-overs waiting for its side.
FIELD_PENDING_DAYS = 3
# --- Figures per area (issue 17 point 7; household/figures.py) ---------------------------------------

SITE_TRANSFER = "transfer"
SITE_KITCHEN = "kitchen"
SITE_RECYCLING = "recycling"
SITE_INCINERATION = "incineration"
SITE_LANDFILL = "landfill"
SITE_HAZARDOUS = "hazardous"
SITE_ROLE_CHOICES = [
    (SITE_TRANSFER, _("transfer station")),
    (SITE_KITCHEN, _("kitchen-waste plant")),
    (SITE_RECYCLING, _("recyclables sorting centre")),
    (SITE_INCINERATION, _("incineration plant")),
    (SITE_LANDFILL, _("landfill")),
    (SITE_HAZARDOUS, _("hazardous-waste receiver")),
]
# Where what a plant receives is recovered (回收利用, seed:1673: recyclables and perishable waste
# recovered before incineration and landfill).
RECOVERY_SITE_ROLES = frozenset({SITE_KITCHEN, SITE_RECYCLING})

# The city's subsidy to a district (以奖代补, seed:5088-5092): 300 CNY per tonne of kitchen waste
# separated, 100 CNY per tonne of reduction.
SUBSIDY_KITCHEN_CNY_PER_T = Decimal("300")
SUBSIDY_REDUCTION_CNY_PER_T = Decimal("100")

# The districts' annual source total-control quotas in 万吨 (seed:5102-5126), 2019 and 2020: the city
# sets one per district; a zone enters its own (SourceQuota) and shares it by residents.
DISTRICT_QUOTAS_WAN_T: dict[str, tuple[Decimal, Decimal]] = {
    "东城": (Decimal("42.91"), Decimal("42.91")),
    "西城": (Decimal("53.87"), Decimal("53.87")),
    "朝阳": (Decimal("202.93"), Decimal("206.99")),
    "海淀": (Decimal("95.31"), Decimal("97.22")),
    "丰台": (Decimal("104.15"), Decimal("106.24")),
    "石景山": (Decimal("17.15"), Decimal("17.15")),
    "门头沟": (Decimal("10.43"), Decimal("11.11")),
    "房山": (Decimal("58.60"), Decimal("62.41")),
    "通州": (Decimal("69.68"), Decimal("73.16")),
    "顺义": (Decimal("53.97"), Decimal("57.48")),
    "昌平": (Decimal("85.56"), Decimal("91.12")),
    "大兴": (Decimal("84.58"), Decimal("90.08")),
    "平谷": (Decimal("17.70"), Decimal("18.85")),
    "怀柔": (Decimal("18.73"), Decimal("19.95")),
    "密云": (Decimal("21.08"), Decimal("22.45")),
    "延庆": (Decimal("14.57"), Decimal("15.52")),
}
DISTRICT_QUOTAS_TOTAL_WAN_T = (Decimal("951.22"), Decimal("986.51"))


def subsidy_cny(kitchen_t: Decimal, reduction_t: Decimal) -> Decimal:
    """The subsidy estimate: kitchen waste separated and the reduction (never negative), in CNY."""
    reduction = max(reduction_t, Decimal(0))
    return (kitchen_t * SUBSIDY_KITCHEN_CNY_PER_T + reduction * SUBSIDY_REDUCTION_CNY_PER_T).quantize(
        Decimal("0.01")
    )


def quota_share_t(annual_quota_t: Decimal, days: int, year_days: int, share: Decimal = Decimal(1)) -> Decimal:
    """The part of an annual quota falling to `days` of a year and to an area holding `share` of the
    residents the quota was set for."""
    return (annual_quota_t * share * days / year_days).quantize(Decimal("0.001"))


def per_capita_kg_day(total_kg: Decimal, residents: int, days: int) -> Decimal | None:
    """kg per person per day (indicator 6), to the gram; None without residents or days."""
    if residents <= 0 or days <= 0:
        return None
    return (total_kg / residents / days).quantize(Decimal("0.001"))


def rate(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """A share 0-1 to 4 decimals; None when the whole is 0."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


# --- Registry (reg17): the kinds of social unit (社会单位) -------------------------------------------

UNIT_KIND_CHOICES = [
    ("office", _("office (机关/企事业单位)")),
    ("shop", _("shop")),
    ("restaurant", _("restaurant")),
    ("school", _("school")),
    ("hospital", _("hospital")),
    ("other", _("other unit")),
]
# --- Operations (ops17) ---------------------------------------------------------------------------------

ALARM_VEHICLE_OFF_ROUTE = "vehicle_off_route"
ALARM_KIND_CHOICES.append((ALARM_VEHICLE_OFF_ROUTE, _("vehicle off its route")))
ALARM_KINDS = frozenset(code for code, _label in ALARM_KIND_CHOICES)
ALARM_DEADLINE_WORKING_DAYS[ALARM_VEHICLE_OFF_ROUTE] = 2
ALARM_FIGURES[ALARM_VEHICLE_OFF_ROUTE] = _("loaded at %(station)s, not on the day's route (%(route)s)")

# The monthly red and black lists of a community (社区红黑榜, seed:4894): its sources with at least
# LIST_MIN_GRADED graded kitchen-waste drops that month, the LIST_SIZE best (share of grade A, then
# fewest failures) on the red list and the LIST_SIZE worst (share of failed grades) on the black one.
LIST_RED = "red"
LIST_BLACK = "black"
QUALITY_LIST_CHOICES = [(LIST_RED, _("red list")), (LIST_BLACK, _("black list"))]
LIST_SIZE = 10
LIST_MIN_GRADED = 3
GOOD_GRADE = "A"
# The resolution kind of a quality alarm closed by a household visit (入户宣传, seed:4886-4888).
RESOLUTION_EDUCATION_VISIT = "education_visit"


def rank_quality(
    rows: list[tuple[int, int, int, int]], size: int = LIST_SIZE, min_graded: int = LIST_MIN_GRADED
) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]:
    """(source id, graded, good, failed) rows → (red list, black list), best first / worst first.
    Ties are broken by more graded drops, then the source id. A source is on one list at most, and the
    black list holds only sources with at least one failure."""
    eligible = [r for r in rows if r[1] >= min_graded]
    red = sorted(eligible, key=lambda r: (-Decimal(r[2]) / r[1], Decimal(r[3]) / r[1], -r[1], r[0]))
    red = [r for r in red if r[3] == 0][:size]
    chosen = {r[0] for r in red}
    black = sorted(
        (r for r in eligible if r[3] > 0 and r[0] not in chosen),
        key=lambda r: (-Decimal(r[3]) / r[1], -r[1], r[0]),
    )[:size]
    return red, black


def off_route(station_id: int, route: set[int]) -> bool:
    """A vehicle that has a planned route that day and loads at a station not on it."""
    return bool(route) and station_id not in route
