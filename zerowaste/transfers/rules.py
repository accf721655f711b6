"""Pure rules of transfers (电子联单): the state machine as data, numbering, tolerance, quantity checks.

No database here. `services.py` looks every action up in `TRANSITIONS`, checks the acting party and
the named preconditions, and applies the target state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# --- Streams and states ----------------------------------------------------------------------------

STREAM_CHOICES = [
    ("isw", gettext_lazy("general industrial solid waste")),
    ("hw", gettext_lazy("hazardous waste")),
]
STREAMS = tuple(code for code, _label in STREAM_CHOICES)

DRAFT, ISSUED, IN_TRANSIT, DELIVERED, CLOSED, REFUSED, CANCELLED = (
    "draft",
    "issued",
    "in_transit",
    "delivered",
    "closed",
    "refused",
    "cancelled",
)
STATE_CHOICES = [
    (DRAFT, gettext_lazy("draft")),
    (ISSUED, gettext_lazy("issued")),
    (IN_TRANSIT, gettext_lazy("in transit")),
    (DELIVERED, gettext_lazy("delivered")),
    (CLOSED, gettext_lazy("closed")),
    (REFUSED, gettext_lazy("refused")),
    (CANCELLED, gettext_lazy("cancelled")),
]
STATES = tuple(code for code, _label in STATE_CHOICES)
STATE_LABELS_ZH = {
    DRAFT: "草稿",
    ISSUED: "已发起",
    IN_TRANSIT: "运输中",
    DELIVERED: "已送达",
    CLOSED: "已关闭",
    REFUSED: "已拒收",
    CANCELLED: "已作废",
}
OPEN_STATES = frozenset({ISSUED, IN_TRANSIT, DELIVERED})
FINAL_STATES = frozenset({CLOSED, REFUSED, CANCELLED})

# --- Parties ---------------------------------------------------------------------------------------

CONSIGNOR, CARRIER, CONSIGNEE, ANY_PARTY, REGULATOR = (
    "consignor",
    "carrier",
    "consignee",
    "any_party",
    "regulator",
)
PARTIES = (CONSIGNOR, CARRIER, CONSIGNEE, ANY_PARTY, REGULATOR)
# A signing party as a page names it (the keys stay in the API and the audit log).
PARTY_LABELS = {
    CONSIGNOR: gettext_lazy("Consignor"),
    CARRIER: gettext_lazy("Carrier"),
    CONSIGNEE: gettext_lazy("Consignee"),
    ANY_PARTY: gettext_lazy("any party"),
    REGULATOR: gettext_lazy("Regulator"),
}


@dataclass(frozen=True)
class Transition:
    """One row of the machine: in `source`, `action` by `party` leads to `target` if `preconditions` hold."""

    source: str
    action: str
    target: str
    party: str
    preconditions: tuple[str, ...] = ()
    signs: bool = True  # whether the step is a signature (recorded with user, time and quantity)


TRANSITION_LIST: tuple[Transition, ...] = (
    Transition(DRAFT, "edit", DRAFT, CONSIGNOR, ("draft_valid",), signs=False),
    Transition(DRAFT, "discard", CANCELLED, CONSIGNOR, (), signs=False),
    Transition(
        DRAFT,
        "issue",
        ISSUED,
        CONSIGNOR,
        (
            "has_lines",
            "quantities_positive",
            "codes_valid",
            "road_limit",
            "consignee_qualified",
            "carrier_qualified",
            "park_store_allowed",
            "not_park_internal",
            "capacity_left",
        ),
    ),
    Transition(ISSUED, "cancel", CANCELLED, CONSIGNOR, ("reason_given",)),
    Transition(
        ISSUED,
        "pick_up",
        IN_TRANSIT,
        CARRIER,
        ("vehicle_qualified", "quantity_positive", "road_limit", "after_previous_signature"),
    ),
    Transition(
        IN_TRANSIT,
        "hand_over",
        IN_TRANSIT,
        CARRIER,
        ("next_carrier_qualified", "vehicle_qualified", "after_previous_signature"),
    ),
    Transition(IN_TRANSIT, "deliver", DELIVERED, CARRIER, ("after_previous_signature",)),
    Transition(
        DELIVERED,
        "weigh",
        DELIVERED,
        CONSIGNEE,
        ("quantities_non_negative", "after_previous_signature"),
        signs=False,
    ),
    Transition(
        DELIVERED,
        "accept",
        CLOSED,
        CONSIGNEE,
        ("weighed", "discrepancy_explained", "after_previous_signature"),
    ),
    Transition(
        DELIVERED,
        "accept_part",
        CLOSED,
        CONSIGNEE,
        (
            "weighed",
            "refused_part_bounded",
            "reason_given",
            "discrepancy_explained",
            "after_previous_signature",
        ),
    ),
    Transition(DELIVERED, "refuse", REFUSED, CONSIGNEE, ("reason_given", "after_previous_signature")),
    Transition(CLOSED, "redirect_rest", CLOSED, CONSIGNOR, ("rest_not_redirected",), signs=False),
    Transition(REFUSED, "redirect_rest", REFUSED, CONSIGNOR, ("rest_not_redirected",), signs=False),
    Transition(CLOSED, "request_revision", CLOSED, ANY_PARTY, ("no_pending_revision",), signs=False),
    Transition(REFUSED, "request_revision", REFUSED, ANY_PARTY, ("no_pending_revision",), signs=False),
    Transition(IN_TRANSIT, "request_revision", IN_TRANSIT, ANY_PARTY, ("no_pending_revision",), signs=False),
    Transition(DELIVERED, "request_revision", DELIVERED, ANY_PARTY, ("no_pending_revision",), signs=False),
    Transition(CLOSED, "acknowledge", CLOSED, REGULATOR, ("has_discrepancy",), signs=False),
    Transition(REFUSED, "acknowledge", REFUSED, REGULATOR, (), signs=False),
)
TRANSITIONS: dict[tuple[str, str], Transition] = {(t.source, t.action): t for t in TRANSITION_LIST}
ACTIONS = tuple(dict.fromkeys(t.action for t in TRANSITION_LIST))
# Actions on a pending revision request: every required party approves; any of them rejects.
REVISION_ACTIONS = ("approve_revision", "reject_revision")

ACTION_LABELS = {
    "edit": gettext_lazy("Edit"),
    "discard": gettext_lazy("Discard"),
    "issue": gettext_lazy("Issue"),
    "cancel": gettext_lazy("Cancel"),
    "pick_up": gettext_lazy("Sign pick-up"),
    "hand_over": gettext_lazy("Hand over to the next carrier"),
    "deliver": gettext_lazy("Sign delivery"),
    "weigh": gettext_lazy("Record weights"),
    "accept": gettext_lazy("Accept all"),
    "accept_part": gettext_lazy("Accept part"),
    "refuse": gettext_lazy("Refuse"),
    "redirect_rest": gettext_lazy("Send the rest back or to another receiver"),
    "request_revision": gettext_lazy("Request a correction"),
    "acknowledge": gettext_lazy("Acknowledge"),
}


def transition(state: str, action: str) -> Transition | None:
    return TRANSITIONS.get((state, action))


def actions_from(state: str) -> list[Transition]:
    return [t for t in TRANSITION_LIST if t.source == state]


def party_may(transition_: Transition, parties: frozenset[str]) -> bool:
    """Whether an organization holding `parties` on a transfer is the one whose turn it is."""
    if transition_.party == ANY_PARTY:
        return bool(parties & {CONSIGNOR, CARRIER, CONSIGNEE})
    return transition_.party in parties


# --- Who in an organization may act ----------------------------------------------------------------

# action kind -> (membership roles, token scopes that allow it)
WRITE_ROLES = frozenset({"admin", "clerk"})
SIGN_ROLES = frozenset({"admin", "clerk", "signer"})
PREPARE_ACTIONS = frozenset(
    {
        "create",
        "edit",
        "discard",
        "issue",
        "cancel",
        "redirect_rest",
        "request_revision",
        "approve_revision",
        "reject_revision",
        "webhooks",
    }
)


def member_may(action: str, *, member_role: str, token_scopes: frozenset[str] | None) -> bool:
    """Preparing a manifest needs a clerk (token scope `declare`); signing a step a signer (`sign`)."""
    prepare = action in PREPARE_ACTIONS
    roles = WRITE_ROLES if prepare else SIGN_ROLES
    if member_role not in roles:
        return False
    if token_scopes is None:
        return True
    needed = "declare" if prepare else "sign"
    return bool(token_scopes & {needed, "admin"}) or (not prepare and "declare" in token_scopes)


# --- Quantities ------------------------------------------------------------------------------------

ZERO = Decimal("0.000")
KILOGRAM = Decimal("0.001")
ROAD_LIMIT_T = Decimal("40")  # GB 1589: the heaviest road train, 49 t gross, carries at most ~40 t
MAX_QUANTITY_T = Decimal("999999999999999.999")
DEFAULT_TOLERANCE_RATE = Decimal("0.05")
DEFAULT_TOLERANCE_MIN_T = Decimal("0.050")


def parse_quantity(value: Any, field_name: str, *, allow_zero: bool = False) -> Decimal:
    """A quantity in tonnes: a finite decimal > 0 (or >= 0), at most 3 decimals. Raises ValueError."""
    if value is None or value == "" or isinstance(value, bool):
        raise ValueError(_("%(field)s: a quantity in tonnes is required") % {"field": field_name})
    if isinstance(value, float):
        value = repr(value)
    try:
        qty = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(_("%(field)s: not a number") % {"field": field_name}) from exc
    if not qty.is_finite():
        raise ValueError(_("%(field)s: not a number") % {"field": field_name})
    if qty < 0 or (qty == 0 and not allow_zero):
        raise ValueError(
            _("%(field)s: must be more than zero") % {"field": field_name}
            if not allow_zero
            else _("%(field)s: must not be negative") % {"field": field_name}
        )
    exponent = qty.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        raise ValueError(_("%(field)s: at most 3 decimal places (kilograms)") % {"field": field_name})
    if qty > MAX_QUANTITY_T:
        raise ValueError(_("%(field)s: too large") % {"field": field_name})
    return qty.quantize(KILOGRAM)


def road_limit_fault(total_t: Decimal, limit_t: Decimal = ROAD_LIMIT_T) -> str | None:
    if total_t > limit_t:
        return _(
            "%(total)s t is more than one road trip carries (at most %(limit)s t); "
            "split it into several manifests"
        ) % {"total": total_t, "limit": limit_t}
    return None


@dataclass(frozen=True)
class Tolerance:
    rate: Decimal = DEFAULT_TOLERANCE_RATE
    minimum_t: Decimal = DEFAULT_TOLERANCE_MIN_T

    def allowed(self, estimated_t: Decimal) -> Decimal:
        """The larger of `rate` × estimate and `minimum_t` (default 5 % or 50 kg)."""
        return max((estimated_t * self.rate).quantize(KILOGRAM), self.minimum_t)

    def is_discrepancy(self, estimated_t: Decimal, received_t: Decimal) -> bool:
        return abs(received_t - estimated_t) > self.allowed(estimated_t)


def tolerance_for(settings: dict[str, Any] | None, stream: str) -> Tolerance:
    conf = stream_settings(settings, stream)
    return Tolerance(Decimal(str(conf["tolerance_rate"])), Decimal(str(conf["tolerance_min_t"])))


def refused_part_fault(refused_t: Decimal, received_t: Decimal, *, whole: bool) -> str | None:
    """A refusal refuses exactly what arrived; a partial one strictly between 0 and what arrived."""
    if whole:
        if refused_t != received_t:
            return _("a refusal refuses all that arrived (%(received)s t)") % {"received": received_t}
        return None
    if not (ZERO < refused_t < received_t):
        return _("the refused quantity must be more than 0 and less than the received %(received)s t") % {
            "received": received_t
        }
    return None


# --- Time limits -----------------------------------------------------------------------------------

DEFAULT_STREAM_SETTINGS: dict[str, dict[str, Any]] = {
    # working days: an issued manifest not picked up; a manifest in transit not delivered;
    # a delivered manifest not confirmed (hw: 5 working days, 危险废物转移管理办法 art. 16).
    "hw": {
        "pickup_days": 10,
        "transit_days": 3,
        "close_days": 5,
        "tolerance_rate": "0.05",
        "tolerance_min_t": "0.050",
        "road_limit_t": "40",
    },
    "isw": {
        "pickup_days": 10,
        "transit_days": 5,
        "close_days": 5,
        "tolerance_rate": "0.05",
        "tolerance_min_t": "0.050",
        "road_limit_t": "40",
    },
}
DUE_STEP = {ISSUED: "pickup", IN_TRANSIT: "delivery", DELIVERED: "confirmation"}
# The step a deadline waits for, as a page names it (the keys stay in the API's `due_step`).
DUE_STEP_LABELS = {
    "pickup": gettext_lazy("pick-up by the carrier"),
    "delivery": gettext_lazy("delivery to the consignee"),
    "confirmation": gettext_lazy("confirmation by the consignee"),
}
DUE_DAYS_KEY = {ISSUED: "pickup_days", IN_TRANSIT: "transit_days", DELIVERED: "close_days"}


def stream_settings(settings: dict[str, Any] | None, stream: str) -> dict[str, Any]:
    """The stream's limits: defaults overridden by the zone's `settings["transfers"][stream]`."""
    conf = dict(DEFAULT_STREAM_SETTINGS[stream])
    conf.update(((settings or {}).get("transfers") or {}).get(stream) or {})
    return conf


def due_days(settings: dict[str, Any] | None, stream: str, state: str) -> int | None:
    key = DUE_DAYS_KEY.get(state)
    return int(stream_settings(settings, stream)[key]) if key else None


# --- Numbers ---------------------------------------------------------------------------------------

HW_NUMBER_RE = re.compile(r"^\d{14}$")


def hw_prefix(division_code: str) -> str:
    """Province (2) + prefecture (2) of a 6-digit division code: "110115" → "1101"."""
    if not re.fullmatch(r"\d{6}", division_code or ""):
        raise ValueError(_("the zone has no 6-digit administrative division code"))
    return division_code[:4]


def hw_number(year: int, prefix: str, seq: int) -> str:
    """The national 14-digit shape: year (4) + province (2) + prefecture (2) + sequence (6)."""
    if not 1 <= seq <= 999_999:
        raise ValueError(_("the yearly sequence of this prefecture is exhausted"))
    return f"{year:04d}{prefix}{seq:06d}"


def isw_number(zone_code: str, year: int, seq: int, stream: str = "isw") -> str:
    """Readable: `<zone>-<year>-<stream>-<seq>`, e.g. `bda-2020-isw-000123`."""
    return f"{zone_code}-{year:04d}-{stream}-{seq:06d}"


def number_for(stream: str, *, zone_code: str, division_code: str, year: int, seq: int) -> str:
    if stream == "hw":
        return hw_number(year, hw_prefix(division_code), seq)
    return isw_number(zone_code, year, seq, stream)


def counter_prefix(stream: str, division_code: str) -> str:
    return hw_prefix(division_code) if stream == "hw" else ""


# --- Regions ---------------------------------------------------------------------------------------


def province_of_uscc(uscc: str) -> str:
    """Positions 3-4 of a USCC: the province of the registering authority."""
    return uscc[2:4] if len(uscc) >= 4 else ""


def is_inter_provincial(zone_division: str, consignee_uscc: str) -> bool:
    return bool(zone_division) and province_of_uscc(consignee_uscc) not in ("", zone_division[:2])


# --- Hazard and park store (seed:4009-4012) ----------------------------------------------------------


def park_store_fault(characteristics: tuple[str, ...], highly_toxic: bool) -> str | None:
    """Infectious waste (In) and highly toxic chemicals (剧毒) may not go to a pilot-park store."""
    if "In" in characteristics:
        return _("infectious waste may not be collected into a pilot-park store")
    if highly_toxic:
        return _("highly toxic waste may not be collected into a pilot-park store")
    return None


def licence_code_covers(licence_codes: list[str], code: str, category: str) -> bool:
    """An operating licence lists categories ("HW49") or full codes ("900-041-49")."""
    return code in licence_codes or category in licence_codes


# --- Signature times -------------------------------------------------------------------------------

CLOCK_SKEW = timedelta(minutes=5)


def signature_time_fault(at: datetime, previous: datetime | None, now: datetime) -> str | None:
    if previous is not None and at < previous:
        return _("must not be before the previous signature (%(prev)s)") % {"prev": previous.isoformat()}
    if at > now + CLOCK_SKEW:
        return _("must not be in the future")
    return None


# --- Revisions -------------------------------------------------------------------------------------

REVISABLE_FIELDS = {
    # field -> the parties whose section it is (they and the consignor must approve)
    "description": (CONSIGNOR,),
    "treatment": (CONSIGNEE,),
    "received_t": (CONSIGNEE,),
    "estimated_t": (CONSIGNOR,),
    "waste_code": (CONSIGNOR,),
    "discrepancy_note": (CONSIGNEE,),
    "vehicle_plate": (CARRIER,),
    "driver": (CARRIER,),
    "cancel": (CONSIGNOR, CARRIER, CONSIGNEE),
}


def revision_parties(fields: list[str]) -> tuple[str, ...]:
    """Every party of the transfer approves a revision (the issue's rule: all parties)."""
    return (CONSIGNOR, CARRIER, CONSIGNEE)


# --- Statistics ------------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    month: str
    issued: int = 0
    closed: int = 0
    open: int = 0
    tonnes: Decimal = field(default_factory=lambda: ZERO)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
