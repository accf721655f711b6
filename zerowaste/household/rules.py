"""Pure rules of the household event core: what a device payload must say, how it is signed, and
where a stored event counts in the daily roll-ups. No database here.

A device message is a JSON envelope `{"event": {...}, "sig": "<hex>"}`; `sig` is the HMAC-SHA256 of
the event's canonical JSON (keys sorted, no spaces, UTF-8) under the device's key (ADR 0054).
"""

from __future__ import annotations

import hashlib
import hmac
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
