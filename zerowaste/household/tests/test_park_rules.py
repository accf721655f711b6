"""The park's log requirements, table-driven: a station kind and a day's logs → what is missed."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from zerowaste.household import park_rules as pr
from zerowaste.household.park_rules import LogFact

MONDAY = date(2026, 11, 23)
SATURDAY = MONDAY + timedelta(days=5)


def logs(day: date, **counts: int) -> list[LogFact]:
    """`cleaning=6, round_13=1, …` → that many logs of each kind on `day`."""
    found = []
    for name, n in counts.items():
        if name.startswith("round_"):
            slot = pr.ROUND_13 if name == "round_13" else pr.ROUND_16
            found += [LogFact(pr.LOG_ROUND, day, slot)] * n
        else:
            found += [LogFact(name, day)] * n
    return found


FULL_DAY = {"cleaning": 6, "disinfection": 3, "round_13": 1, "round_16": 1, "clearance": 1}

CASES = [
    # station kind, day, logs, expected misses
    (pr.REINSPECTION, MONDAY, logs(MONDAY, **FULL_DAY), []),
    (pr.REINSPECTION, MONDAY, [], ["round_13", "round_16", "cleaning", "disinfection", "clearance"]),
    (pr.REINSPECTION, MONDAY, logs(MONDAY, **{**FULL_DAY, "cleaning": 5}), ["cleaning"]),
    (pr.REINSPECTION, MONDAY, logs(MONDAY, **{**FULL_DAY, "disinfection": 2}), ["disinfection"]),
    (pr.REINSPECTION, MONDAY, logs(MONDAY, **{**FULL_DAY, "round_16": 0}), ["round_16"]),
    # Two 13:00 rounds do not make a 16:00 round.
    (pr.REINSPECTION, MONDAY, logs(MONDAY, **{**FULL_DAY, "round_13": 2, "round_16": 0}), ["round_16"]),
    (pr.REINSPECTION, MONDAY, logs(MONDAY, **{**FULL_DAY, "clearance": 0}), ["clearance"]),
    # Yesterday's logs do not count today.
    (
        pr.REINSPECTION,
        MONDAY,
        logs(MONDAY - timedelta(days=1), **FULL_DAY),
        [*list(pr.REQUIREMENT_KEYS[:4]), "clearance"],
    ),
    # The compactor owes no rounds and no daily clearance (it exists to clear less often).
    (pr.COMPACTOR, MONDAY, logs(MONDAY, cleaning=6, disinfection=3), []),
    (pr.COMPACTOR, MONDAY, logs(MONDAY, cleaning=7, disinfection=1), ["disinfection"]),
    (pr.RECYCLABLES, MONDAY, logs(MONDAY, cleaning=6, disinfection=3), ["clearance"]),
    (pr.DIGESTER, MONDAY, logs(MONDAY, cleaning=6, disinfection=3), []),
    # Pest control is judged on Saturday, over Monday to Saturday.
    (pr.DIGESTER, SATURDAY, logs(SATURDAY, cleaning=6, disinfection=3), ["pest_control"]),
    (
        pr.DIGESTER,
        SATURDAY,
        [
            *logs(SATURDAY, cleaning=6, disinfection=3),
            LogFact(pr.LOG_PEST_CONTROL, MONDAY + timedelta(days=2)),
        ],
        [],
    ),
    # Last week's pest control does not cover this week.
    (
        pr.DIGESTER,
        SATURDAY,
        [
            *logs(SATURDAY, cleaning=6, disinfection=3),
            LogFact(pr.LOG_PEST_CONTROL, MONDAY - timedelta(days=1)),
        ],
        ["pest_control"],
    ),
]


@pytest.mark.parametrize(("kind", "day", "facts", "expected"), CASES)
def test_misses(kind: str, day: date, facts: list[LogFact], expected: list[str]) -> None:
    assert [m.key for m in pr.misses(kind, day, facts)] == expected


def test_a_miss_says_how_many_were_done_and_its_period() -> None:
    [miss] = pr.misses(pr.COMPACTOR, MONDAY, logs(MONDAY, cleaning=4, disinfection=3))
    assert (miss.key, miss.done, miss.period_start, miss.period_end) == ("cleaning", 4, MONDAY, MONDAY)
    assert pr.alarm_figures(miss, "C1 挤压站") == {"station": "C1 挤压站", "done": "4", "minimum": "6"}
    assert pr.alarm_cause(miss, 7) == f"park:cleaning:station:7:{MONDAY}"
    [week] = pr.misses(pr.DIGESTER, SATURDAY, logs(SATURDAY, cleaning=6, disinfection=3))
    assert (week.period_start, week.period_end) == (MONDAY, SATURDAY)


def test_the_seed_numbers() -> None:
    """Cleaning ≥ 6 and disinfection ≥ 3 a day (seed:5723), rounds at 13:00 and 16:00 (seed:5531)."""
    by_key = {r.key: r for r in pr.REQUIREMENTS}
    assert (by_key["cleaning"].minimum, by_key["cleaning"].seed_line) == (6, 5723)
    assert (by_key["disinfection"].minimum, by_key["disinfection"].seed_line) == (3, 5723)
    assert (by_key["round_13"].slot, by_key["round_16"].slot) == ("13:00", "16:00")
    assert by_key["pest_control"].per == pr.PER_WEEK
    assert set(pr.ALARM_OF_REQUIREMENT) == set(pr.REQUIREMENT_KEYS)


@pytest.mark.parametrize(
    ("model", "capacity", "power"),
    [("KJ-8", 8, "6"), ("KJ-10", 10, "7"), ("KJ-12", 12, "7"), ("KJ-14", 14, "9.5")],
)
def test_compactor_models(model: str, capacity: int, power: str) -> None:
    """The compactor table (seed:5596-5602): the model sets the capacity."""
    assert pr.compactor_capacity(model) == capacity
    assert str(pr.COMPACTOR_MODELS[model].power_kw) == power
    assert pr.COMPACTOR_MODELS[model].ratio == "2-5:1"


def test_unknown_model_has_no_capacity() -> None:
    assert pr.compactor_capacity("KJ-9") is None


@pytest.mark.parametrize(
    ("at", "slot"), [(time(12, 50), "13:00"), (time(14, 29), "13:00"), (time(16, 5), "16:00")]
)
def test_round_slot(at: time, slot: str) -> None:
    assert pr.round_slot(at) == slot


def test_progress_counts_the_week_so_far() -> None:
    wednesday = MONDAY + timedelta(days=2)
    rows = {
        r.key: done
        for r, done in pr.progress(pr.COMPACTOR, wednesday, [LogFact(pr.LOG_PEST_CONTROL, MONDAY)])
    }
    assert rows == {"cleaning": 0, "disinfection": 0, "pest_control": 1}
