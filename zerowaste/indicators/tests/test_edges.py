"""Met at the edges (issue 16, item 15): the exact figure decides, a verdict that rounding to the
published precision would flip is said, and a "reasonable level" waits for a regulator's judgment."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from zerowaste.indicators import rules

# One input in percent and one indicator per direction, each published at 0 decimals but the
# intensity (2 decimals, as indicator 1) — small enough to read every edge off the table below.
EDGE_SET = """
[set]
code = "edges"
version = "1"
name = "edges"
baseline_year = 2018
target_year = 2020

[[input]]
key = "x"
name = "x"
unit = "%"
meaning = "a share"

[[input]]
key = "t"
name = "t"
unit = "t"
meaning = "tonnes"

[[input]]
key = "floor_t"
name = "floor"
unit = "t"
meaning = "tonnes that must be disposed"

[[indicator]]
number = "1"
class = "required"
level1 = "a"
level2 = "b"
name = "rate"
formula = "x"
unit = "%"
direction = "higher"
target = "97"

[[indicator]]
number = "2"
class = "required"
level1 = "a"
level2 = "b"
name = "intensity"
formula = "x"
unit = "%"
decimals = 2
direction = "lower"
target = "0.03"

[[indicator]]
number = "3"
class = "required"
level1 = "a"
level2 = "b"
name = "stored"
formula = "t"
unit = "t"
direction = "cap"
baseline = "9133"
target = "8205"

[[indicator]]
number = "4"
class = "required"
level1 = "a"
level2 = "b"
name = "incidents"
formula = "t"
unit = "t"
direction = "zero"
target = "0"

[[indicator]]
number = "5"
class = "required"
level1 = "a"
level2 = "b"
name = "safely disposed"
formula = "t"
range_min = "floor_t"
unit = "t"
direction = "range"
target = "27400"
"""


@pytest.fixture(scope="module")
def edges() -> rules.IndicatorSet:
    return rules.load_set(EDGE_SET)


def _result(edges: rules.IndicatorSet, number: str, **values: str) -> rules.IndicatorResult:
    parsed = {k: Decimal(v) for k, v in values.items()}
    return next(r for r in rules.compute(edges, parsed) if r.indicator.number == number)


@pytest.mark.parametrize(
    ("number", "values", "met", "flips"),
    [
        # higher, target 97 %, published at whole percent
        ("1", {"x": "97"}, True, False),  # exactly at the target
        ("1", {"x": "96.96"}, False, True),  # just below: rounded as published (97) it would be met
        ("1", {"x": "96.4"}, False, False),  # below, and rounding (96) agrees
        ("1", {"x": "97.0001"}, True, False),
        # lower, target 0.03 %, published at 2 decimals
        ("2", {"x": "0.03"}, True, False),  # exactly at the target
        ("2", {"x": "0.0304"}, False, True),  # just above: 0.03 as published
        ("2", {"x": "0.035"}, False, False),  # rounds half up to 0.04: agrees
        # cap, 8,205 t, published in whole tonnes
        ("3", {"t": "8205"}, True, False),
        ("3", {"t": "8205.4"}, False, True),  # exceeds the cap by 0.4 t; 8205 as published
        ("3", {"t": "8205.5"}, False, False),
        # zero
        ("4", {"t": "0"}, True, False),
        ("4", {"t": "0.4"}, False, True),  # 0 as published
    ],
)
def test_the_exact_figure_decides_and_a_flip_is_said(
    edges: rules.IndicatorSet, number: str, values: dict[str, str], met: bool, flips: bool, english: None
) -> None:
    result = _result(edges, number, **values)
    assert result.met is met
    assert bool(result.rounding_note) is flips
    if flips:
        # The reason and the note show the exact figure with more digits than published, so the
        # page never says "97% is below the target 97%".
        exact = result.parts[0].exact_text
        shown = (
            result.rounding_note.replace(",", ""),
            result.reason.replace(",", ""),
        )  # separators: ADR 0050
        assert exact is not None and exact in shown[0] and exact in shown[1]
        assert "rounded as published" in result.rounding_note
        assert rules.summary([result])["rounding_list"][0]["number"] == number


def test_a_flip_towards_met_is_said_too(edges: rules.IndicatorSet, english: None) -> None:
    """A target finer than the published precision: the exact 0.025 meets ≤ 0.025, the published
    0.03 would not."""
    measure = replace(edges.indicator("2").measures[0], target=Decimal("0.025"), target_text="0.025")  # type: ignore[union-attr]
    assert rules.judge("lower", Decimal("0.025"), measure) == (True, "")
    note = rules.rounding_note("lower", Decimal("0.025"), measure)
    assert "meets the target" in note and "would not" in note
    assert rules.rounding_note("lower", Decimal("0.0249"), measure) == ""


@pytest.mark.parametrize(
    ("values", "judgment", "state", "met", "words"),
    [
        ({"t": "15800", "floor_t": "15778"}, None, "needs_judgment", None, "within the planned 27,400"),
        ({"t": "30000", "floor_t": "15778"}, None, "needs_judgment", None, "above the planned 27,400"),
        ({"t": "15000", "floor_t": "15778"}, None, "needs_judgment", None, "below the 15,778"),
        ({"t": "15800", "floor_t": "15778"}, rules.Judgment(True, "stable, all disposed"), "met", True,
         "judged met: stable, all disposed"),
        ({"t": "30000", "floor_t": "15778"}, rules.Judgment(False, "a new line came on"), "not_met", False,
         "judged not met: a new line came on"),
        ({"floor_t": "15778"}, rules.Judgment(True, "stable"), "unknown", None, "no value for t"),
    ],
)  # fmt: skip
def test_a_reasonable_level_waits_for_a_judgment(
    edges: rules.IndicatorSet,
    values: dict[str, str],
    judgment: rules.Judgment | None,
    state: str,
    met: bool | None,
    words: str,
    english: None,
) -> None:
    parsed = {k: Decimal(v) for k, v in values.items()}
    results = rules.compute(edges, parsed, judgments={"5": judgment} if judgment else None)
    result = next(r for r in results if r.indicator.number == "5")
    assert (result.state, result.met) == (state, met)
    shown = result.parts[0].reason
    assert words in shown
    if state == "needs_judgment":
        assert shown.startswith("needs judgment:") and result.needs_judgment
        assert rules.summary([result])["needs_judgment"] == 1
        assert rules.summary([result])["completion"] is None  # awaiting judgment is not evaluated
    assert result.rounding_note == ""  # a judgment is not a comparison: nothing to flip


def test_a_judgment_is_only_for_judgment_directions(edges: rules.IndicatorSet) -> None:
    """A recorded judgment never overrides a numeric direction: the figure decides there."""
    parsed = {"x": Decimal("50")}
    result = next(
        r
        for r in rules.compute(edges, parsed, judgments={"1": rules.Judgment(True, "x")})
        if r.indicator.number == "1"
    )
    assert result.met is False and result.parts[0].judgment is None
