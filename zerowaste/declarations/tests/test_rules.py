"""Pure rules: quantities and units, the balance, periods, the life-cycle table, who may act."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerowaste.declarations import rules
from zerowaste.declarations.rules import Status

# --- Quantities ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("233500", "t", "233500.000"),  # seed:1217 general industrial waste 2018, 23.35万吨
        ("50349.8", "吨", "50349.800"),  # seed:1227 HW transferred 2018
        (1.1, "t", "1.100"),  # a spreadsheet float stays what it shows
        ("9133000", "kg", "9133.000"),  # seed:1217 storage-disposal 9133 t, typed in kg
        ("1,234.5", "t", "1234.500"),
        (7, "千克", "0.007"),
        (None, "t", "0.000"),
        ("", "kg", "0.000"),
        (Decimal("0.001"), "t", "0.001"),
    ],
)
def test_to_tonnes(value: object, unit: str, expected: str) -> None:
    assert str(rules.to_tonnes(value, unit)) == expected


@pytest.mark.parametrize(
    ("value", "unit", "rule"),
    [
        ("-1", "t", "quantity"),
        ("abc", "t", "quantity"),
        ("0.0005", "t", "quantity"),
        ("1.5", "kg", "quantity"),
        ("1", "lb", "unit"),
        ("NaN", "t", "quantity"),
        ("Infinity", "t", "quantity"),
        ("1e30", "t", "quantity"),
    ],
)
def test_to_tonnes_refuses(value: str, unit: str, rule: str) -> None:
    with pytest.raises(rules.QuantityError) as info:
        rules.to_tonnes(value, unit)
    assert info.value.rule == rule


def test_required_quantity() -> None:
    with pytest.raises(rules.QuantityError) as info:
        rules.to_tonnes(None, "t", blank=None)
    assert info.value.rule == "required"


def test_from_tonnes_round_trip() -> None:
    assert rules.from_tonnes(Decimal("1.234"), "kg") == Decimal("1234")
    assert rules.to_tonnes(rules.from_tonnes(Decimal("1.234"), "kg"), "kg") == Decimal("1.234")


def _q(**kw: str) -> dict[str, Decimal]:
    base = dict.fromkeys(rules.QTY_FIELDS, Decimal("0"))
    base.update({k: Decimal(v) for k, v in kw.items()})
    return base


def test_balance_holds_to_the_kilogram() -> None:
    q = _q(
        opening_t="1.000",
        generated_t="100.250",
        utilized_t="10",
        disposed_t="0.25",
        transferred_util_t="80",
        transferred_disp_t="5",
        closing_t="6.000",
    )
    assert rules.balance_gap(q) == 0
    assert rules.balance_problem(q) is None
    q["closing_t"] = Decimal("6.001")
    problem = rules.balance_problem(q)
    assert problem is not None
    assert "6.000" in problem and "6.001" in problem and "-0.001" in problem


@given(st.integers(0, 2**32), st.integers(0, 10**12))
@settings(max_examples=5, deadline=None)
def test_sums_never_drift(seed: int, scale: int) -> None:
    """10,000 random lines summed in tonnes and in kilograms, forwards and backwards: the same to the kg."""
    import random

    rng = random.Random(seed)
    lines = [(rng.randint(0, max(1, scale)), rng.choice(["t", "kg"])) for _ in range(10_000)]
    tonnes = [
        rules.to_tonnes(Decimal(n) / 1000, "t") if unit == "t" else rules.to_tonnes(n, "kg")
        for n, unit in lines
    ]
    forwards = sum(tonnes, Decimal(0))
    backwards = sum(reversed(tonnes), Decimal(0))
    in_kg = sum(n for n, _unit in lines)
    assert forwards == backwards == Decimal(in_kg) / 1000
    assert rules.from_tonnes(forwards, "kg") == in_kg


# --- Periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2020-03", "month", date(2020, 3, 1), date(2020, 3, 31)),
        ("2020年2月", "month", date(2020, 2, 1), date(2020, 2, 29)),
        ("2019/2", "month", date(2019, 2, 1), date(2019, 2, 28)),
        ("2020Q4", "quarter", date(2020, 10, 1), date(2020, 12, 31)),
        ("2020年第1季度", "quarter", date(2020, 1, 1), date(2020, 3, 31)),
        ("2018", "year", date(2018, 1, 1), date(2018, 12, 31)),
        (date(2020, 5, 17), "month", date(2020, 5, 1), date(2020, 5, 31)),
        (2020, "year", date(2020, 1, 1), date(2020, 12, 31)),
    ],
)
def test_parse_period(text: object, kind: str, start: date, end: date) -> None:
    period = rules.parse_period(text)
    assert (period.kind, period.start, period.end) == (kind, start, end)


@pytest.mark.parametrize("text", ["", "2020-13", "2020Q5", "1899", "March", "2020-03-40x"])
def test_parse_period_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        rules.parse_period(text)


def test_previous_period_end() -> None:
    assert rules.parse_period("2020-03").previous_end == date(2020, 2, 29)
    assert rules.parse_period("2021Q1").previous_end == date(2020, 12, 31)
    assert rules.parse_period("2020-01").label == "2020-01"
    assert rules.parse_period("2020Q2").label == "2020Q2"


# --- Life cycle: every (state, action, party) ---------------------------------------------------

ALLOWED = {
    (Status.DRAFT, "edit", "producer"): Status.DRAFT,
    (Status.RETURNED, "edit", "producer"): Status.RETURNED,
    (Status.DRAFT, "submit", "producer"): Status.SUBMITTED,
    (Status.RETURNED, "submit", "producer"): Status.SUBMITTED,
    (Status.SUBMITTED, "accept", "regulator"): Status.ACCEPTED,
    (Status.SUBMITTED, "return", "regulator"): Status.RETURNED,
    (Status.ACCEPTED, "amend", "producer"): Status.ACCEPTED,
}


@pytest.mark.parametrize("state", list(Status))
@pytest.mark.parametrize("action", rules.ACTIONS)
@pytest.mark.parametrize("party", ["producer", "regulator"])
def test_every_transition(state: Status, action: str, party: str) -> None:
    expected = ALLOWED.get((state, action, party))
    if expected is not None:
        assert rules.transition(state, action, party) == expected
    elif (state, action) in rules.TRANSITIONS:
        with pytest.raises(PermissionError):
            rules.transition(state, action, party)
    else:
        with pytest.raises(ValueError):
            rules.transition(state, action, party)


def test_what_counts_in_statistics() -> None:
    assert rules.counts_in_statistics(Status.ACCEPTED, has_previous=True)
    assert rules.counts_in_statistics(Status.SUBMITTED, has_previous=False)
    assert not rules.counts_in_statistics(Status.SUBMITTED, has_previous=True)
    assert not rules.counts_in_statistics(Status.DRAFT, has_previous=False)
    assert not rules.counts_in_statistics(Status.SUPERSEDED, has_previous=False)


# --- Who may act: the whole table ---------------------------------------------------------------

ROLE_CASES = [
    # access, org roles, member role, token scopes, allowed
    ("declare", {"producer"}, "admin", None, True),
    ("declare", {"producer"}, "clerk", None, True),
    ("declare", {"producer"}, "signer", None, False),
    ("declare", {"producer"}, "viewer", None, False),
    ("declare", {"regulator"}, "admin", None, False),
    ("declare", {"producer"}, "clerk", {"declare"}, True),
    ("declare", {"producer"}, "admin", {"admin"}, True),
    ("declare", {"producer"}, "clerk", {"read"}, False),
    ("declare", {"producer"}, "clerk", {"sign"}, False),
    ("review", {"regulator"}, "admin", None, True),
    ("review", {"regulator"}, "clerk", None, True),
    ("review", {"regulator"}, "viewer", None, False),
    ("review", {"producer"}, "admin", None, False),
    ("review", {"regulator"}, "admin", {"read"}, False),
    ("review", {"regulator"}, "admin", {"admin"}, True),
    ("view", {"producer"}, "viewer", None, True),
    ("view", {"regulator"}, "viewer", {"read"}, True),
    ("view", set(), "viewer", set(), False),
]


@pytest.mark.parametrize(("access", "org_roles", "member_role", "scopes", "allowed"), ROLE_CASES)
def test_access_table(
    access: str, org_roles: set[str], member_role: str, scopes: set[str] | None, allowed: bool
) -> None:
    assert rules.may(access, member_role=member_role, org_roles=org_roles, token_scopes=scopes) is allowed


def test_system_may_everything() -> None:
    assert all(
        rules.may(a, member_role="viewer", org_roles=(), token_scopes=None, is_system=True)
        for a in rules.ACCESS
    )


def test_diff_lines_and_intensity() -> None:
    old = {("", "99-01-01"): _q(generated_t="1")}
    new = {("", "99-01-01"): _q(generated_t="2"), ("A", "99-12-01"): _q()}
    diff = rules.diff_lines(old, new)
    assert diff[1]["change"] == "added" and diff[1]["waste_code"] == "99-12-01"
    assert diff[0]["fields"] == {"generated_t": ["1.000", "2.000"]}
    # seed:186: 283,800 t over 946亿 CNY = 0.03 t/万元 (rounded)
    assert rules.intensity(Decimal("283800"), Decimal("9460000")) == Decimal("0.0300")
    assert rules.intensity(Decimal("1"), None) is None
    assert rules.yoy_percent(Decimal("208400"), Decimal("233500")) == Decimal("-10.7")
