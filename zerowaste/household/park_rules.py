"""Pure rules of a park's "1+4" regime (seed:5509): one registration/discharge system and four
station rooms — the re-inspection station (复检站), the other-waste compactor (挤压站), the
recyclables transfer room (中转站) and the kitchen-waste digester (生物降解站). No database here.

The log requirements are data (`REQUIREMENTS`): each says which station kinds owe which log, how
many, per day or per week, and the seed line it comes from. `misses` compares one station's logs of
a day against them; the park service turns misses into alarms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

# --- Vocabularies ------------------------------------------------------------------------------------

REINSPECTION = "reinspection"
COMPACTOR = "compactor"
RECYCLABLES = "recyclables"
DIGESTER = "digester"
STATION_KIND_CHOICES = [
    (REINSPECTION, _("re-inspection station")),
    (COMPACTOR, _("other-waste compactor station")),
    (RECYCLABLES, _("recyclables transfer room")),
    (DIGESTER, _("kitchen-waste digester station")),
]
STATION_KINDS = tuple(code for code, _label in STATION_KIND_CHOICES)

LOG_ROUND = "round"
LOG_CLEANING = "cleaning"
LOG_DISINFECTION = "disinfection"
LOG_PEST_CONTROL = "pest_control"
LOG_CLEARANCE = "clearance"
LOG_INSPECTION = "inspection"
LOG_KIND_CHOICES = [
    (LOG_ROUND, _("collection round")),
    (LOG_CLEANING, _("cleaning")),
    (LOG_DISINFECTION, _("disinfection")),
    (LOG_PEST_CONTROL, _("pest control")),
    (LOG_CLEARANCE, _("clearance")),
    (LOG_INSPECTION, _("re-inspection")),
]
LOG_KINDS = tuple(code for code, _label in LOG_KIND_CHOICES)

# The two collection rounds: about 13:00 and again at 16:00 (seed:5531).
ROUND_13 = "13:00"
ROUND_16 = "16:00"
ROUND_SLOTS = (ROUND_13, ROUND_16)
# A round recorded before this local time is the 13:00 round, from it on the 16:00 round.
ROUND_SPLIT = time(14, 30)

INSPECTION_OK = "pass"
INSPECTION_FAIL = "fail"
INSPECTION_RESULT_CHOICES = [(INSPECTION_OK, _("sorted correctly")), (INSPECTION_FAIL, _("re-sorted"))]
# A failed re-inspection is waste the station's staff sorted a second time (二次分拣, seed:5527).

# The four classes of household waste an enterprise discharges (seed:5465-5501).
CLASS_CHOICES = [
    ("kitchen", _("kitchen waste")),
    ("recyclable", _("recyclables")),
    ("hazardous", _("hazardous household waste")),
    ("other", _("other waste")),
]
CLASSES = tuple(code for code, _label in CLASS_CHOICES)
# Where each class is discharged in a 1+4 park.
STATION_OF_CLASS = {
    "kitchen": DIGESTER,
    "recyclable": RECYCLABLES,
    "other": COMPACTOR,
    "hazardous": REINSPECTION,
}

MAX_KG = Decimal("100000.000")
KG_PLACES = Decimal("0.001")


@dataclass(frozen=True)
class CompactorModel:
    """One row of the compactor table (seed:5596-5602): capacity, box size, weight, power."""

    code: str
    capacity_m3: int
    box_mm: str
    weight_kg: int
    power_kw: Decimal
    ratio: str = "2-5:1"


COMPACTOR_MODELS: dict[str, CompactorModel] = {
    m.code: m
    for m in (
        CompactorModel("KJ-8", 8, "4285*2000*2970", 3800, Decimal("6")),
        CompactorModel("KJ-10", 10, "5285*2000*2970", 4000, Decimal("7")),
        CompactorModel("KJ-12", 12, "6285*2000*2970", 4300, Decimal("7")),
        CompactorModel("KJ-14", 14, "7035*2000*2970", 4600, Decimal("9.5")),
    )
}


# --- The log requirements ----------------------------------------------------------------------------

PER_DAY = "day"
PER_WEEK = "week"


@dataclass(frozen=True)
class Requirement:
    """`minimum` logs of `log_kind` (in `slot`, for rounds) per `per` at every station of `station_kinds`."""

    key: str
    log_kind: str
    minimum: int
    per: str
    station_kinds: tuple[str, ...]
    seed_line: int
    slot: str = ""


REQUIREMENTS: tuple[Requirement, ...] = (
    # Guides collect from the enterprises about 13:00 and again at 16:00 (seed:5531) and bring it to
    # the re-inspection station, whose staff re-check it (seed:5719).
    Requirement("round_13", LOG_ROUND, 1, PER_DAY, (REINSPECTION,), 5531, ROUND_13),
    Requirement("round_16", LOG_ROUND, 1, PER_DAY, (REINSPECTION,), 5531, ROUND_16),
    # Cleaning at least 6 times a day, disinfection at least 3 times (seed:5723).
    Requirement("cleaning", LOG_CLEANING, 6, PER_DAY, STATION_KINDS, 5723),
    Requirement("disinfection", LOG_DISINFECTION, 3, PER_DAY, STATION_KINDS, 5723),
    # Pest control once a week, on Saturday (seed:5727): checked on Saturday for Monday–Saturday.
    Requirement("pest_control", LOG_PEST_CONTROL, 1, PER_WEEK, STATION_KINDS, 5727),
    # Produced and cleared the same day, with a clearance record (日产日清, seed:5733). The compactor
    # exists to clear less often (seed:5580) and the digester degrades on site: the re-inspection
    # station and the recyclables room are cleared daily.
    Requirement("clearance", LOG_CLEARANCE, 1, PER_DAY, (REINSPECTION, RECYCLABLES), 5733),
)
REQUIREMENT_KEYS = tuple(r.key for r in REQUIREMENTS)
WEEK_CHECK_WEEKDAY = 5  # Saturday


@dataclass(frozen=True)
class LogFact:
    """What a requirement needs of one stored log: its kind, local day and round slot."""

    kind: str
    day: date
    slot: str = ""


@dataclass(frozen=True)
class Miss:
    requirement: Requirement
    done: int
    period_start: date
    period_end: date

    @property
    def key(self) -> str:
        return self.requirement.key


def requirements_for(station_kind: str) -> list[Requirement]:
    return [r for r in REQUIREMENTS if station_kind in r.station_kinds]


def week_of(day: date) -> tuple[date, date]:
    """The Monday of `day`'s week and its Saturday (the day pest control is due)."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=WEEK_CHECK_WEEKDAY)


def period_of(requirement: Requirement, day: date) -> tuple[date, date] | None:
    """The period `day` closes for a requirement, or None when it closes none (a weekly requirement is
    judged on its week's Saturday only)."""
    if requirement.per == PER_DAY:
        return day, day
    if day.weekday() != WEEK_CHECK_WEEKDAY:
        return None
    return week_of(day)


def count_done(requirement: Requirement, logs: Iterable[LogFact], start: date, end: date) -> int:
    return sum(
        1
        for log in logs
        if log.kind == requirement.log_kind
        and start <= log.day <= end
        and (not requirement.slot or log.slot == requirement.slot)
    )


def misses(station_kind: str, day: date, logs: Sequence[LogFact]) -> list[Miss]:
    """The requirements a station of `station_kind` missed in the periods `day` closes."""
    found = []
    for requirement in requirements_for(station_kind):
        period = period_of(requirement, day)
        if period is None:
            continue
        done = count_done(requirement, logs, *period)
        if done < requirement.minimum:
            found.append(Miss(requirement, done, *period))
    return found


def progress(station_kind: str, day: date, logs: Sequence[LogFact]) -> list[tuple[Requirement, int]]:
    """Each requirement of the station with what is done so far (the week so far for weekly ones)."""
    rows = []
    for requirement in requirements_for(station_kind):
        start, end = (day, day) if requirement.per == PER_DAY else (week_of(day)[0], day)
        rows.append((requirement, count_done(requirement, logs, start, end)))
    return rows


def round_slot(local: time) -> str:
    return ROUND_13 if local < ROUND_SPLIT else ROUND_16


# --- Alarms ------------------------------------------------------------------------------------------

ALARM_OF_REQUIREMENT = {
    "round_13": "park_round",
    "round_16": "park_round",
    "cleaning": "park_cleaning",
    "disinfection": "park_disinfection",
    "pest_control": "park_pest_control",
    "clearance": "park_clearance",
}


def alarm_figures(miss: Miss, station_name: str) -> dict[str, str]:
    figures: dict[str, Any] = {
        "station": station_name,
        "done": str(miss.done),
        "minimum": str(miss.requirement.minimum),
    }
    if miss.requirement.slot:
        figures["slot"] = miss.requirement.slot
    if miss.requirement.per == PER_WEEK:
        figures["start"] = miss.period_start.isoformat()
        figures["end"] = miss.period_end.isoformat()
    return figures


def alarm_cause(miss: Miss, station_id: int) -> str:
    return f"park:{miss.key}:station:{station_id}:{miss.period_start.isoformat()}"


# --- Input checks ------------------------------------------------------------------------------------


def compactor_capacity(model_code: str) -> int | None:
    model = COMPACTOR_MODELS.get(model_code)
    return model.capacity_m3 if model else None


def inspection_counts(results: Iterable[str]) -> dict[str, int]:
    """How many re-inspections found the waste sorted correctly and how many had it re-sorted; a
    re-inspection recorded without a result counts in neither."""
    counts = {INSPECTION_OK: 0, INSPECTION_FAIL: 0}
    for result in results:
        if result in counts:
            counts[result] += 1
    return counts
