"""Pure rules of declarations: quantities and units, the balance, periods, the life cycle, who may act.

No database here. Every rule has a name (`RULE_*`) that import faults and refusals carry, so that a
clerk reading a fault report knows which rule a row broke.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# --- Names of the rules: a fault's `rule` (API, CLI), never in the message a page shows -----------

RULE_REQUIRED = "required"
RULE_QUANTITY = "quantity"
RULE_UNIT = "unit"
RULE_BALANCE = "balance"
RULE_OPENING = "opening-carried"
RULE_PERIOD = "period"
RULE_CODE = "catalog-code"
RULE_STREAM = "stream"
RULE_DUPLICATE = "duplicate-line"
RULE_ORGANIZATION = "organization"
RULE_SITE = "site"
RULE_STATE = "life-cycle"


# --- Streams, statuses ----------------------------------------------------------------------------

STREAM_CHOICES = [
    ("isw", gettext_lazy("general industrial solid waste")),
    ("hw", gettext_lazy("hazardous waste")),
]
STREAMS = tuple(code for code, _label in STREAM_CHOICES)


class Status(models.TextChoices):
    DRAFT = "draft", gettext_lazy("draft")
    SUBMITTED = "submitted", gettext_lazy("submitted")
    ACCEPTED = "accepted", gettext_lazy("accepted")
    RETURNED = "returned", gettext_lazy("returned")
    SUPERSEDED = "superseded", gettext_lazy("superseded by an amendment")


STATUS_CHOICES = Status.choices
EDITABLE_STATES = frozenset({Status.DRAFT, Status.RETURNED})

# --- Quantities -----------------------------------------------------------------------------------

QTY_FIELDS = (
    "opening_t",
    "generated_t",
    "utilized_t",
    "disposed_t",
    "transferred_util_t",
    "transferred_disp_t",
    "closing_t",
)
OUT_FIELDS = ("utilized_t", "disposed_t", "transferred_util_t", "transferred_disp_t")
KILOGRAM = Decimal("0.001")
ZERO = Decimal("0.000")
MAX_TONNES = Decimal("999999999999999.999")

UNITS: dict[str, Decimal] = {
    "t": Decimal(1),
    "吨": Decimal(1),
    "tonne": Decimal(1),
    "tonnes": Decimal(1),
    "kg": KILOGRAM,
    "千克": KILOGRAM,
    "公斤": KILOGRAM,
}


class QuantityError(ValueError):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def unit_factor(unit: Any) -> Decimal:
    text = "" if unit is None else str(unit).strip()
    if not text:
        return Decimal(1)
    factor = UNITS.get(text) or UNITS.get(text.lower())
    if factor is None:
        raise QuantityError(RULE_UNIT, _("unknown unit %(unit)r: use t (吨) or kg (千克)") % {"unit": text})
    return factor


def to_tonnes(value: Any, unit: Any = "t", *, blank: Decimal | None = ZERO) -> Decimal:
    """An exact quantity in tonnes (3 decimals) from a cell: number or text, in t or kg.

    Floats from spreadsheets are read through their shortest repr, so 1.1 stays 1.1. A value finer
    than a kilogram, negative, or not a number is refused (QuantityError names the rule).
    """
    factor = unit_factor(unit)
    if value is None or (isinstance(value, str) and not value.strip()):
        if blank is None:
            raise QuantityError(RULE_REQUIRED, _("a quantity is required"))
        return blank
    if isinstance(value, bool):
        raise QuantityError(RULE_QUANTITY, _("not a number: %(v)r") % {"v": value})
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise QuantityError(RULE_QUANTITY, _("not a number: %(v)r") % {"v": str(value)[:40]}) from None
    if not number.is_finite():
        raise QuantityError(RULE_QUANTITY, _("not a number: %(v)r") % {"v": str(value)[:40]})
    if number < 0:
        raise QuantityError(RULE_QUANTITY, _("must not be negative, got %(v)s") % {"v": number})
    tonnes = number * factor
    if tonnes > MAX_TONNES:
        raise QuantityError(RULE_QUANTITY, _("%(v)s t is too large") % {"v": tonnes})
    if tonnes != tonnes.quantize(KILOGRAM, rounding=ROUND_HALF_UP):
        raise QuantityError(
            RULE_QUANTITY,
            _("%(v)s %(unit)s is finer than a kilogram") % {"v": number, "unit": str(unit or "t")},
        )
    return tonnes.quantize(KILOGRAM)


def from_tonnes(tonnes: Decimal, unit: str = "t") -> Decimal:
    """Tonnes shown in `unit` (t or kg), exactly."""
    factor = unit_factor(unit)
    return (tonnes / factor).quantize(KILOGRAM if factor == 1 else Decimal(1))


def fmt_t(value: Decimal | None) -> str:
    """A quantity in tonnes as a decimal string with 3 decimals (the API's and exports' form)."""
    return str((value or ZERO).quantize(KILOGRAM))


def balance_gap(q: Mapping[str, Decimal]) -> Decimal:
    """opening + generated − utilized − disposed − transferred − closing; zero when the balance holds."""
    return q["opening_t"] + q["generated_t"] - sum((q[f] for f in OUT_FIELDS), ZERO) - q["closing_t"]


def balance_problem(q: Mapping[str, Decimal]) -> str | None:
    """Why the balance fails, with the numbers, or None when it holds to the kilogram."""
    gap = balance_gap(q)
    if gap == 0:
        return None
    expected = q["closing_t"] + gap
    return _(
        "opening %(o)s + generated %(g)s − utilized %(u)s − disposed %(d)s − transferred %(tu)s − %(td)s "
        "= %(e)s t, but closing stock is %(c)s t (difference %(gap)s t)"
    ) % {
        "o": fmt_t(q["opening_t"]),
        "g": fmt_t(q["generated_t"]),
        "u": fmt_t(q["utilized_t"]),
        "d": fmt_t(q["disposed_t"]),
        "tu": fmt_t(q["transferred_util_t"]),
        "td": fmt_t(q["transferred_disp_t"]),
        "e": fmt_t(expected),
        "c": fmt_t(q["closing_t"]),
        "gap": fmt_t(gap),
    }


def transferred(q: Mapping[str, Decimal]) -> Decimal:
    return q["transferred_util_t"] + q["transferred_disp_t"]


# --- Periods --------------------------------------------------------------------------------------

PERIOD_KIND_CHOICES = [
    ("month", gettext_lazy("month")),
    ("quarter", gettext_lazy("quarter")),
    ("year", gettext_lazy("year")),
]
PERIOD_KINDS = tuple(code for code, _label in PERIOD_KIND_CHOICES)
MIN_YEAR, MAX_YEAR = 2000, 2100

_MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*\d{1,2}\s*日?)?$")
_QUARTER_RE = re.compile(r"^(\d{4})\s*(?:-?\s*[Qq]|年?\s*第?)\s*([1-4])\s*(?:季度?)?$")
_YEAR_RE = re.compile(r"^(\d{4})\s*年?$")


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    kind: str

    @property
    def label(self) -> str:
        return period_label(self.kind, self.start)

    @property
    def previous_end(self) -> date:
        return date.fromordinal(self.start.toordinal() - 1)


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def make_period(kind: str, year: int, number: int = 1) -> Period:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(_("year %(y)d is outside %(a)d–%(b)d") % {"y": year, "a": MIN_YEAR, "b": MAX_YEAR})
    if kind == "month":
        if not 1 <= number <= 12:
            raise ValueError(_("month %(m)d does not exist") % {"m": number})
        return Period(date(year, number, 1), month_end(year, number), "month")
    if kind == "quarter":
        if not 1 <= number <= 4:
            raise ValueError(_("quarter %(q)d does not exist") % {"q": number})
        first = 3 * (number - 1) + 1
        return Period(date(year, first, 1), month_end(year, first + 2), "quarter")
    if kind == "year":
        return Period(date(year, 1, 1), date(year, 12, 31), "year")
    raise ValueError(_("unknown period kind %(k)s") % {"k": kind})


def parse_period(value: Any) -> Period:
    """A period from a cell: 2020-03 / 2020年3月 / a date (month), 2020Q1 / 2020年第1季度, 2020 / 2020年."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return make_period("month", value.year, value.month)
    if isinstance(value, int) and not isinstance(value, bool):
        return make_period("year", value)
    if isinstance(value, float) and value.is_integer():
        return make_period("year", int(value))
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValueError(_("a period is required (e.g. 2020-03, 2020Q1 or 2020)"))
    for pattern, kind in ((_MONTH_RE, "month"), (_QUARTER_RE, "quarter"), (_YEAR_RE, "year")):
        match = pattern.match(text)
        if match:
            year = int(match.group(1))
            number = int(match.group(2)) if kind != "year" else 1
            return make_period(kind, year, number)
    raise ValueError(_("%(v)r is not a period: write 2020-03, 2020Q1 or 2020") % {"v": text[:40]})


def period_label(kind: str, start: date) -> str:
    if kind == "month":
        return f"{start.year}-{start.month:02d}"
    if kind == "quarter":
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def months_of(period: Period) -> list[date]:
    out = []
    current = period.start
    while current <= period.end:
        out.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return out


# --- Life cycle: (state, action) -> (new state, party) ---------------------------------------------

PRODUCER, REGULATOR = "producer", "regulator"


@dataclass(frozen=True)
class Transition:
    new_state: str
    party: str


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (Status.DRAFT, "edit"): Transition(Status.DRAFT, PRODUCER),
    (Status.RETURNED, "edit"): Transition(Status.RETURNED, PRODUCER),
    (Status.DRAFT, "submit"): Transition(Status.SUBMITTED, PRODUCER),
    (Status.RETURNED, "submit"): Transition(Status.SUBMITTED, PRODUCER),  # resubmitted
    (Status.SUBMITTED, "accept"): Transition(Status.ACCEPTED, REGULATOR),
    (Status.SUBMITTED, "return"): Transition(Status.RETURNED, REGULATOR),
    # An amendment is a new version; the accepted one stays as it is until the amendment is accepted.
    (Status.ACCEPTED, "amend"): Transition(Status.ACCEPTED, PRODUCER),
}
ACTIONS = ("edit", "submit", "accept", "return", "amend")


def transition(state: str, action: str, party: str) -> str:
    """The new state, or ValueError naming why (wrong state or wrong party)."""
    step = TRANSITIONS.get((state, action))
    if step is None:
        raise ValueError(
            _("a %(state)s declaration cannot be %(action)s")
            % {"state": Status(state).label, "action": ACTION_PARTICIPLES.get(action, action)}
        )
    if step.party != party:
        raise PermissionError(_("only the %(party)s may do this") % {"party": step.party})
    return step.new_state


ACTION_PARTICIPLES = {
    "edit": "edited",
    "submit": "submitted",
    "accept": "accepted",
    "return": "returned",
    "amend": "amended",
}


def counts_in_statistics(status: str, has_previous: bool) -> bool:
    """Accepted versions count; a submitted first version counts until it is reviewed; an amendment
    counts only once accepted (its accepted predecessor counts until then)."""
    return status == Status.ACCEPTED or (status == Status.SUBMITTED and not has_previous)


# --- Who may act ------------------------------------------------------------------------------------

MEMBER_ROLES = frozenset({"admin", "clerk", "signer", "viewer"})
TOKEN_SCOPES = frozenset({"read", "declare", "sign", "admin"})


@dataclass(frozen=True)
class Access:
    org_role: str | None  # the organization must hold this role (None: any)
    member_roles: frozenset[str]
    token_scopes: frozenset[str]  # a token needs one of these


ACCESS: dict[str, Access] = {
    "view": Access(None, MEMBER_ROLES, TOKEN_SCOPES),
    "declare": Access(PRODUCER, frozenset({"admin", "clerk"}), frozenset({"declare", "admin"})),
    "review": Access(REGULATOR, frozenset({"admin", "clerk"}), frozenset({"sign", "admin"})),
}
ACTION_ACCESS = {
    "edit": "declare",
    "submit": "declare",
    "amend": "declare",
    "accept": "review",
    "return": "review",
}


def may(
    access: str,
    *,
    member_role: str,
    org_roles: Iterable[str],
    token_scopes: Iterable[str] | None,
    is_system: bool = False,
) -> bool:
    if is_system:
        return True
    rule = ACCESS[access]
    if rule.org_role is not None and rule.org_role not in set(org_roles):
        return False
    if member_role not in rule.member_roles:
        return False
    return token_scopes is None or bool(rule.token_scopes & set(token_scopes))


# --- Diffs between versions -------------------------------------------------------------------------

LineKey = tuple[str, str]  # (site name, waste code)


def diff_lines(
    old: Mapping[LineKey, Mapping[str, Decimal]], new: Mapping[LineKey, Mapping[str, Decimal]]
) -> list[dict[str, Any]]:
    """Per line key: added, removed, or the quantities that changed as [old, new] decimal strings."""
    out: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        site, code = key
        if key not in old:
            out.append(
                {
                    "site": site,
                    "waste_code": code,
                    "change": "added",
                    "fields": {f: [None, fmt_t(new[key][f])] for f in QTY_FIELDS},
                }
            )
        elif key not in new:
            out.append(
                {
                    "site": site,
                    "waste_code": code,
                    "change": "removed",
                    "fields": {f: [fmt_t(old[key][f]), None] for f in QTY_FIELDS},
                }
            )
        else:
            fields = {
                f: [fmt_t(old[key][f]), fmt_t(new[key][f])] for f in QTY_FIELDS if old[key][f] != new[key][f]
            }
            if fields:
                out.append({"site": site, "waste_code": code, "change": "changed", "fields": fields})
    return out


# --- Statistics -------------------------------------------------------------------------------------

STAT_GROUPS = ("category", "code", "industry", "park", "street", "month", "organization")
# A group-by option as the statistics page names it (the keys stay in the URL, the API and the CLI).
STAT_GROUP_LABELS = {
    "category": gettext_lazy("Category"),
    "code": gettext_lazy("Waste code"),
    "industry": gettext_lazy("Industry"),
    "park": gettext_lazy("Park"),
    "street": gettext_lazy("Street"),
    "month": gettext_lazy("Month"),
    "organization": gettext_lazy("Organization"),
}
DEFAULT_INTENSITY_TARGET = Decimal("0.03")  # t per 10k CNY value added (seed:186, 2020 target)


def intensity(generated_t: Decimal, value_added_wan: Decimal | None) -> Decimal | None:
    """Generation intensity in t/万元, 4 decimals; None without value added."""
    if not value_added_wan:
        return None
    return (generated_t / value_added_wan).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def yoy_percent(current: Decimal, previous: Decimal | None) -> Decimal | None:
    if not previous:
        return None
    return ((current - previous) * 100 / previous).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
