from __future__ import annotations

from decimal import Decimal

import pytest

from zerowaste.exchange import rules


def test_haversine_beijing_tianjin() -> None:
    # Tiananmen (39.9087, 116.3975) to Tianjin station (39.1367, 117.2097): about 110 km.
    km = rules.haversine_km(39.9087, 116.3975, 39.1367, 117.2097)
    assert Decimal("109") < km < Decimal("112")
    assert km == km.quantize(rules.METRE)


def test_transport_cost_is_exact_decimal() -> None:
    t = rules.tariffs({"exchange": {"detour_factor": "1.25", "tariff_cny_per_tkm": "0.8"}})
    # 12.345 km × 1.25 × 0.8 = 12.345 CNY per tonne
    assert rules.transport_cny_per_t(Decimal("12.345"), t) == Decimal("12.35")
    assert rules.net_value_per_t(Decimal("900"), Decimal("12.345"), "isw", t) == Decimal("857.65")
    assert rules.net_value_per_t(Decimal("900"), Decimal("12.345"), "hw", t) == Decimal("767.65")


@pytest.mark.parametrize(
    ("price", "asking", "expected"),
    [
        ("900", "100", "857.65"),  # a seller: price − transport − handling, whatever it asked
        ("900", "0", "857.65"),
        ("-300", "-500", "157.65"),  # pays 300 instead of the 500 it would pay: 200 − 12.35 − 30
        ("-500", "-500", "-42.35"),  # the fee it would pay anyway: carriage and handling are a loss
    ],
)
def test_a_producer_that_pays_counts_the_fee_it_avoids(price: str, asking: str, expected: str) -> None:
    t = rules.tariffs({"exchange": {"detour_factor": "1.25", "tariff_cny_per_tkm": "0.8"}})
    value = rules.net_value_per_t(Decimal(price), Decimal("12.345"), "isw", t, asking=Decimal(asking))
    assert value == Decimal(expected)


def test_zone_settings_override_defaults() -> None:
    assert rules.tariffs({}).detour_factor == Decimal("1.3")
    assert rules.tariffs({"exchange": {"detour_factor": "1.1"}}).detour_factor == Decimal("1.1")
    with pytest.raises(ValueError, match="detour_factor"):
        rules.check_settings({"detour_factor": "0.9"})
    with pytest.raises(ValueError, match="colour"):
        rules.check_settings({"colour": "1"})


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("120", "CNY", Decimal("120.00")),
        ("120 CNY/t", None, Decimal("120.00")),
        ("-80 元/吨", None, Decimal("-80.00")),
        ("￥35.5", None, Decimal("35.50")),
        (Decimal("7.25"), "CNY", Decimal("7.25")),
    ],
)
def test_prices_in_cny(raw: object, currency: str | None, expected: Decimal) -> None:
    assert rules.parse_price(raw, "price", currency) == expected


@pytest.mark.parametrize(
    ("raw", "currency"),
    [("15 USD/t", None), ("120", "USD"), ("12 EUR", None), ("1.005", None), ("abc", None), ("1e9", None)],
)
def test_non_cny_or_bad_prices_name_the_field(raw: object, currency: str | None) -> None:
    with pytest.raises(ValueError, match=r"^price_cny_per_t: "):
        rules.parse_price(raw, "price_cny_per_t", currency)


@pytest.mark.parametrize("raw", ["-1", "0", "1.0005", "x", None, True])
def test_bad_tonnes(raw: object) -> None:
    with pytest.raises(ValueError, match=r"^quantity_t: "):
        rules.parse_tonnes(raw, "quantity_t")


def test_periods() -> None:
    assert rules.month_start("2020-06").isoformat() == "2020-06-01"
    assert rules.month_end(rules.month_start("2020-02")).isoformat() == "2020-02-29"
    assert rules.month_end(rules.month_start("2020-12")).isoformat() == "2020-12-31"
    for bad in ("2020-13", "20-06", "2020/06", ""):
        with pytest.raises(ValueError, match="period"):
            rules.month_start(bad)
