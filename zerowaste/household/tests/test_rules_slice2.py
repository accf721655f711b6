"""Pure rules of slice 2: tolerances, bin limits, idle stretches, the balance line, points, distances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from zerowaste.household import rules

D = Decimal


def test_weight_mismatch_tolerance_is_the_larger_of_half_a_kilo_and_two_percent() -> None:
    assert not rules.weights_mismatch(D("10.000"), D("10.500"))
    assert rules.weights_mismatch(D("10.000"), D("10.501"))
    assert rules.mismatch_tolerance(D("1000"), D("990")) == D("20.000")
    assert not rules.weights_mismatch(D("1000"), D("980"))
    assert rules.weights_mismatch(D("1000"), D("979.999"))


def test_bin_limits_by_class() -> None:
    assert rules.bin_limit_kg("kitchen", 240) == D("192.000")
    assert rules.bin_limit_kg("recyclable.paper", 120) == D("36.000")
    assert rules.bin_limit_kg("other", 240) == D("96.000")


def test_longest_idle_counts_the_window_edges() -> None:
    start = datetime(2026, 12, 1, 7, tzinfo=UTC)
    end = start + timedelta(hours=12)
    assert rules.longest_idle([], start, end) == timedelta(hours=12)
    times = [start + timedelta(hours=h) for h in (1, 2, 6)]
    assert rules.longest_idle(times, start, end) == timedelta(hours=6)  # 13:00 → 19:00
    outside = [start - timedelta(hours=1), end + timedelta(hours=1)]
    assert rules.longest_idle(outside, start, end) == timedelta(hours=12)


def test_balance_line_and_zone_settings() -> None:
    assert rules.balance_settings({}) == (D("1.000"), D("0"))
    assert rules.balance_settings(
        {"household": {"balance_tolerance_kg": "2.5", "balance_tolerance_ratio": "0.01"}}
    ) == (
        D("2.5"),
        D("0.01"),
    )
    assert rules.balance_settings({"household": {"balance_tolerance_kg": "-1"}})[0] == D(
        "1.000"
    )  # nonsense ignored
    line = rules.balance_line("station:1", "kitchen", D("300"), D("295"), D("2"), (D("1"), D("0.01")))
    assert (line.difference_kg, line.tolerance_kg, line.closes) == (D("3"), D("3.000"), True)
    assert not rules.balance_line(
        "station:1", "kitchen", D("300"), D("295"), D("0"), (D("1"), D("0.01"))
    ).closes


def test_points_for_a_drop() -> None:
    assert rules.points_for("kitchen", "A", (), D("2")) == (rules.POINTS_SORTING, 2)
    assert rules.points_for("kitchen", "B", (), D("2")) == (rules.POINTS_SORTING, 1)
    assert rules.points_for("kitchen", "A", ("metal",), D("2")) == (rules.POINTS_SORTING, 0)
    assert rules.points_for("kitchen", "", (), D("2")) == (rules.POINTS_SORTING, 0)
    assert rules.points_for("recyclable.metal", "", (), D("2.999")) == (rules.POINTS_RECYCLABLES, 2)
    assert rules.points_for("other", "", (), D("9")) == (rules.POINTS_SORTING, 0)


def test_haversine_and_the_service_circle() -> None:
    # One degree of latitude is 111.195 km on the mean sphere.
    assert rules.distance_km(D("39"), D("116"), D("40"), D("116")) == D("111.195")
    assert rules.within_service_circle(
        rules.distance_km(D("39.795"), D("116.506"), D("39.812"), D("116.506"))
    )
    assert not rules.within_service_circle(
        rules.distance_km(D("39.795"), D("116.506"), D("39.795"), D("116.530"))
    )


@given(st.decimals("-89", "89", places=6), st.decimals("-179", "179", places=6))
def test_distance_is_zero_to_itself_and_symmetric(lat: Decimal, lon: Decimal) -> None:
    assert rules.distance_km(lat, lon, lat, lon) == 0
    other = (lat + D("0.01"), lon - D("0.02"))
    assert rules.distance_km(lat, lon, *other) == rules.distance_km(*other, lat, lon)
