"""Pure rules, with the seed's numbers as cases. No database."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerowaste.hazardous import rules

D = Decimal


# --- Tiers (seed:4001) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generated", "stock", "tier"),
    [
        ("0", "0", "A"),
        ("0.999", "0", "A"),
        ("1", "0", "A"),  # exactly 1 t: "不超过 1 吨" is A
        ("1", "5", "A"),  # A is decided by the year's quantity alone
        ("1.001", "0", "B"),
        ("5", "3", "B"),  # exactly 3 t stored: "小于等于 3 吨" is still B
        ("5", "3.001", "C"),
        ("10", "3", "B"),  # exactly 10 t with exactly 3 t stored
        ("10", "0", "B"),
        ("10.001", "0", "C"),
        ("10.001", "3", "C"),
        ("250", "40", "C"),
    ],
)
def test_tier_boundaries(generated: str, stock: str, tier: str) -> None:
    assert rules.tier(D(generated), D(stock)) == tier


@given(
    st.decimals(min_value=0, max_value=1000, places=3),
    st.decimals(min_value=0, max_value=100, places=3),
    st.decimals(min_value=0, max_value=10, places=3),
)
def test_tier_never_improves_with_more_waste(generated: Decimal, stock: Decimal, more: Decimal) -> None:
    order = "ABC"
    assert order.index(rules.tier(generated + more, stock)) >= order.index(rules.tier(generated, stock))
    assert order.index(rules.tier(generated, stock + more)) >= order.index(rules.tier(generated, stock))


def test_tier_reasons_name_the_deciding_figure(english: None) -> None:
    assert rules.tier_reason(D("1"), D("0")) == "generated 1 t ≤ 1 t"
    assert "≤ 3 t" in rules.tier_reason(D("10"), D("3"))
    assert rules.tier_reason(D("8"), D("3.5")) == "largest stock 3.5 t > 3 t"
    assert rules.tier_reason(D("12"), D("0")) == "generated 12 t > 10 t"
    assert rules.tier_year_source(2021) == 2020


# --- Storage age (seed:4023, 4093) ------------------------------------------------------------------


def test_one_year_deadline() -> None:
    assert rules.storage_deadline(date(2020, 3, 1)) == date(2021, 2, 28)
    assert rules.storage_deadline(date(2020, 2, 29)) == date(2021, 2, 28)
    assert rules.storage_deadline(date(2021, 1, 1)) == date(2021, 12, 31)
    assert rules.storage_deadline(date(2021, 1, 1), date(2022, 3, 31)) == date(2022, 3, 31)


@pytest.mark.parametrize(
    ("on", "level"),
    [
        (date(2021, 9, 27), "ok"),  # day 269
        (date(2021, 9, 28), "warning"),  # day 270
        (date(2021, 12, 31), "warning"),  # the last day
        (date(2022, 1, 1), "overdue"),
    ],
)
def test_storage_levels_default_warnings(on: date, level: str) -> None:
    assert rules.storage_level(date(2021, 1, 1), on) == level


def test_storage_levels_configured_and_extended() -> None:
    assert rules.storage_level(date(2021, 1, 1), date(2021, 6, 1), warning_days=(150,)) == "warning"
    assert rules.storage_level(date(2021, 1, 1), date(2021, 6, 1), warning_days=()) == "ok"
    extended = date(2022, 6, 30)
    assert rules.storage_level(date(2021, 1, 1), date(2022, 1, 1), extended_until=extended) == "ok"
    # warnings count back from the new deadline by the same margin (365 - 270 = 95 days)
    assert rules.storage_level(date(2021, 1, 1), date(2022, 3, 27), extended_until=extended) == "ok"
    assert rules.storage_level(date(2021, 1, 1), date(2022, 3, 28), extended_until=extended) == "warning"
    assert rules.storage_level(date(2021, 1, 1), date(2022, 7, 1), extended_until=extended) == "overdue"


def test_warning_days_parsing(english: None) -> None:
    assert rules.parse_warning_days("330, 270") == (270, 330)
    assert rules.parse_warning_days([300]) == (300,)
    assert rules.parse_warning_days("270，330") == (270, 330)
    for bad in ("0", "365", "abc", "1,2,3,4,5,6", 12):
        with pytest.raises(ValueError):
            rules.parse_warning_days(bad)


def test_age_bands() -> None:
    assert [rules.age_band(d) for d in (0, 89, 90, 179, 180, 269, 270, 364, 365, 1000)] == [
        "0-89",
        "0-89",
        "90-179",
        "90-179",
        "180-269",
        "180-269",
        "270-364",
        "270-364",
        "365+",
        "365+",
    ]


# --- Incompatibility (seed:4089), every pair ------------------------------------------------------

EXPECTED_INCOMPATIBLE = {
    frozenset(p)
    for p in (
        ("acid", "alkali"),
        ("acid", "cyanide"),
        ("acid", "sulphide"),
        ("acid", "oxidiser"),
        ("acid", "flammable"),
        ("acid", "water_reactive"),
        ("acid", "heavy_metal"),
        ("alkali", "water_reactive"),
        ("alkali", "heavy_metal"),
        ("oxidiser", "flammable"),
        ("oxidiser", "cyanide"),
        ("oxidiser", "sulphide"),
        ("water_reactive", "aqueous"),
        ("cyanide", "sulphide"),
    )
}


@pytest.mark.parametrize(("a", "b"), list(itertools.product(rules.GROUPS, repeat=2)))
def test_incompatibility_pairwise(a: str, b: str) -> None:
    why = rules.incompatibility(a, b)
    assert (why is not None) == (frozenset((a, b)) in EXPECTED_INCOMPATIBLE and a != b)
    assert why == rules.incompatibility(b, a)  # symmetric


def test_incompatibility_table_is_well_formed() -> None:
    assert len(rules.INCOMPATIBLE) == len(EXPECTED_INCOMPATIBLE)
    for a, b, why in rules.INCOMPATIBLE:
        assert a in rules.GROUPS and b in rules.GROUPS and a != b and why
    assert set(rules.CATEGORY_GROUP.values()) <= set(rules.GROUPS)


@pytest.mark.parametrize(
    ("category", "hazard", "group"),
    [
        ("HW34", "C,T", "acid"),
        ("HW35", "C,T", "alkali"),
        ("HW33", "T", "cyanide"),
        ("HW06", "T,I,R", "flammable"),
        ("HW08", "T,I", "flammable"),
        ("HW17", "T/C", "aqueous"),
        ("HW49", "T/In", "general"),
        ("HW99", "R", "water_reactive"),
        ("HW99", "I", "flammable"),
        ("HW99", "C", "acid"),
        ("HW99", "T", "general"),
    ],
)
def test_default_groups(category: str, hazard: str, group: str) -> None:
    assert rules.group_for(category, hazard) == group


# --- Plans ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "quarter", "due"),
    [
        (2021, 1, date(2020, 12, 6)),  # 31 Dec 2020 - 25 days
        (2021, 2, date(2021, 3, 6)),  # 31 Mar - 25
        (2021, 3, date(2021, 6, 5)),  # 30 Jun - 25
        (2021, 4, date(2021, 9, 5)),  # 30 Sep - 25
        (2024, 2, date(2024, 3, 6)),
    ],
)
def test_transfer_plan_due_25_calendar_days_before_the_quarter_ends(
    year: int, quarter: int, due: date
) -> None:
    assert rules.transfer_plan_due(year, quarter) == due


def test_quarter_helpers() -> None:
    assert rules.quarter_of(date(2021, 5, 3)) == (2021, 2)
    assert rules.next_quarter(2021, 4) == (2022, 1)
    assert rules.quarter_end(2021, 1) == date(2021, 3, 31)
    with pytest.raises(ValueError):
        rules.transfer_plan_due(2021, 5)


@pytest.mark.parametrize(
    ("largest", "own", "licensed", "klass"),
    [
        ("9.999", False, False, "registered"),
        ("10", False, False, "simplified"),
        ("99.999", False, False, "simplified"),
        ("100", False, False, "key"),
        ("0.5", True, False, "key"),
        ("0.5", False, True, "key"),
    ],
)
def test_management_class_hj1259(largest: str, own: bool, licensed: bool, klass: str) -> None:
    assert rules.management_class(D(largest), own_facility=own, licensed=licensed) == klass


def test_plan_tables_follow_the_class() -> None:
    assert rules.CLASS_TABLES["key"] == ("A.1", "A.2", "A.3", "A.4", "A.5", "A.6", "A.7")
    assert rules.CLASS_TABLES["simplified"] == ("A.1", "A.3", "A.4", "A.6", "A.7")
    assert rules.CLASS_TABLES["registered"] == ("A.1", "A.3", "A.7")
    assert rules.annual_plan_due(2021) == date(2021, 3, 31)


# --- Identification, inspections, quantities -------------------------------------------------------


def test_identification_scope(english: None) -> None:
    assert rules.identification_fault("", "", on_list=False) is None
    assert rules.identification_fault("900-041-49", "T/In", on_list=True) is None
    assert rules.identification_fault("900-041-49", "C,T", on_list=True)
    assert rules.identification_fault("900-402-06", "T,I", on_list=True)
    assert [k for k, _t in rules.REPORT_SECTIONS] == [
        "basics",
        "process",
        "testing",
        "analysis",
        "annexes",
        "expert_opinion",
    ]


def test_pass_rate_uses_weight_0_7() -> None:
    assert rules.pass_rate(34, 3, 38) == D("95.00")  # (34 + 2.1) / 38
    assert rules.pass_rate(0, 10, 10) == D("70.00")
    assert rules.pass_rate(1, 1, 3) == D("56.67")
    assert rules.pass_rate(0, 0, 0) is None


def test_quantities_and_batch_numbers() -> None:
    assert rules.kg_to_t(1) == D("0.001")
    assert rules.t_to_kg(D("2431.9")) == 2_431_900
    assert rules.batch_number("HWRK", date(2021, 10, 31), 1) == "HWRK20211031001"


def test_citations_name_rule_article_and_seed_lines() -> None:
    # People read the article; the key travels in `errors[].rule` and the seed line stays in code.
    assert rules.cite("R-SAME-PARK") == "试点园区管理方案第六条(1)"
    for code, rule in rules.RULES.items():
        assert rule.code == code and rule.seed.startswith("seed:") and rule.article
