from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from zerowaste.core import workdays
from zerowaste.transfers import rules


def test_working_days_on_the_chinese_calendar() -> None:
    # 2020 National Day holiday: 1-8 October off, Saturday 10 October a working day (调休).
    assert workdays.add_working_days(date(2020, 9, 30), 1) == date(2020, 10, 9)
    assert workdays.add_working_days(date(2020, 10, 9), 1) == date(2020, 10, 10)
    # Friday receipt, 5 working days: the next Friday
    assert workdays.add_working_days(date(2020, 11, 6), 5) == date(2020, 11, 13)
    assert workdays.working_days_between(date(2020, 9, 30), date(2020, 10, 10)) == 2
    assert workdays.working_days_between(date(2020, 10, 10), date(2020, 9, 30)) == -2
    for n in range(0, 30, 7):
        assert (
            workdays.working_days_between(
                date(2019, 12, 20), workdays.add_working_days(date(2019, 12, 20), n)
            )
            == n
        )


def test_hw_number_shape() -> None:
    assert rules.hw_number(2020, rules.hw_prefix("110115"), 42) == "20201101000042"
    assert rules.HW_NUMBER_RE.match(
        rules.number_for("hw", zone_code="bda", division_code="110115", year=2021, seq=1)
    )
    assert (
        rules.number_for("isw", zone_code="bda", division_code="110115", year=2020, seq=123)
        == "bda-2020-isw-000123"
    )
    with pytest.raises(ValueError):
        rules.hw_number(2020, "1101", 1_000_000)
    with pytest.raises(ValueError):
        rules.hw_prefix("")


def test_tolerance_five_percent_or_fifty_kilograms() -> None:
    tol = rules.Tolerance()
    assert tol.allowed(Decimal("10")) == Decimal("0.500")
    assert tol.allowed(Decimal("0.5")) == Decimal("0.050")
    assert not tol.is_discrepancy(Decimal("10"), Decimal("9.5"))
    assert tol.is_discrepancy(Decimal("10"), Decimal("9.499"))
    assert not tol.is_discrepancy(Decimal("0.5"), Decimal("0.45"))
    custom = rules.tolerance_for({"transfers": {"hw": {"tolerance_rate": "0.01"}}}, "hw")
    assert custom.allowed(Decimal("10")) == Decimal("0.100")


def test_quantities() -> None:
    assert rules.parse_quantity("1.5", "q") == Decimal("1.500")
    for bad in ("0", "-1", "abc", "1.0001", "NaN", "Infinity", None, True):
        with pytest.raises(ValueError):
            rules.parse_quantity(bad, "q")
    assert rules.parse_quantity("0", "q", allow_zero=True) == 0
    assert rules.road_limit_fault(Decimal("40")) is None
    assert "40" in (rules.road_limit_fault(Decimal("40.001")) or "")


def test_refusals_and_inter_provincial() -> None:
    assert rules.refused_part_fault(Decimal("2"), Decimal("10"), whole=False) is None
    assert rules.refused_part_fault(Decimal("10"), Decimal("10"), whole=False)
    assert rules.refused_part_fault(Decimal("10"), Decimal("10"), whole=True) is None
    assert rules.is_inter_provincial("110115", "91610100MA6TXXXX0X")  # Shaanxi receiver (seed:1233)
    assert not rules.is_inter_provincial("110115", "91110115MA00000000")


def test_park_store_and_signature_time() -> None:
    assert rules.park_store_fault(("In",), False)
    assert rules.park_store_fault(("T",), True)
    assert rules.park_store_fault(("T", "I"), False) is None
    now = datetime(2020, 5, 1, tzinfo=UTC)
    assert rules.signature_time_fault(now - timedelta(hours=1), now, now)
    assert rules.signature_time_fault(now + timedelta(hours=1), None, now)
    assert rules.signature_time_fault(now, now - timedelta(hours=1), now) is None


def test_member_permissions() -> None:
    assert rules.member_may("issue", member_role="clerk", token_scopes=None)
    assert not rules.member_may("issue", member_role="signer", token_scopes=None)
    assert rules.member_may("pick_up", member_role="signer", token_scopes=None)
    assert not rules.member_may("pick_up", member_role="viewer", token_scopes=None)
    assert not rules.member_may("issue", member_role="clerk", token_scopes=frozenset({"read"}))
    assert rules.member_may("pick_up", member_role="clerk", token_scopes=frozenset({"sign"}))
