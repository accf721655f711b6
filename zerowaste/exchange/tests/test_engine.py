"""The matching engine against brute force on small cases, and its invariants on random ones."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from zerowaste.exchange import engine


def brute_force(p: engine.Problem) -> int:
    """The best value by enumerating every assignment (lots: one buyer or none; divisible: every split)."""
    per_supply: dict[int, list[int]] = {}
    for k, arc in enumerate(p.arcs):
        per_supply.setdefault(arc.supply, []).append(k)
    options: list[list[list[tuple[int, int]]]] = []
    for i in range(len(p.supply_kg)):
        arcs = per_supply.get(i, [])
        q = p.supply_kg[i]
        if not p.divisible[i]:
            options.append([[]] + [[(k, q)] for k in arcs])
        else:
            choices = []
            for amounts in itertools.product(range(q + 1), repeat=len(arcs)):
                if sum(amounts) <= q:
                    choices.append([(k, a) for k, a in zip(arcs, amounts, strict=True) if a])
            options.append(choices)
    best = 0
    for combo in itertools.product(*options):
        used = [0] * len(p.capacity_kg)
        value = 0
        for part in combo:
            for k, kg in part:
                used[p.arcs[k].demand] += kg
                value += p.arcs[k].value_fen_per_t * kg
        if all(u <= c for u, c in zip(used, p.capacity_kg, strict=True)):
            best = max(best, value)
    return best


@st.composite
def problems(draw: st.DrawFn, max_supplies: int = 5, max_demands: int = 3, max_kg: int = 6) -> engine.Problem:
    n_s = draw(st.integers(1, max_supplies))
    n_d = draw(st.integers(1, max_demands))
    supply_kg = [draw(st.integers(1, max_kg)) for _ in range(n_s)]
    divisible = [draw(st.booleans()) for _ in range(n_s)]
    capacity = [draw(st.integers(0, max_kg * 2)) for _ in range(n_d)]
    arcs = []
    for i in range(n_s):
        for j in range(n_d):
            if draw(st.booleans()):
                arcs.append(engine.Arc(i, j, draw(st.integers(1, 50)), Decimal(draw(st.integers(0, 80)))))
    return engine.Problem(supply_kg, divisible, capacity, arcs)


def _small(p: engine.Problem) -> bool:
    """Small enough to enumerate quickly."""
    size = 1
    for i, q in enumerate(p.supply_kg):
        n = sum(1 for a in p.arcs if a.supply == i)
        size *= (n + 1) if not p.divisible[i] else (q + 1) ** n
    return size <= 20_000


def test_known_optimum_where_greedy_fails() -> None:
    # Two buyers, one near and cheap, one far and dear: nearest-buyer greedy sells the big lot near.
    p = engine.Problem(
        supply_kg=[10, 6],
        divisible=[False, False],
        capacity_kg=[10, 10],
        arcs=[
            engine.Arc(0, 0, 10, Decimal(1)),
            engine.Arc(0, 1, 9, Decimal(5)),
            engine.Arc(1, 0, 30, Decimal(2)),
        ],
    )
    solution = engine.solve(p)
    assert solution.optimal and solution.gap == 0
    assert solution.value_units == brute_force(p) == 10 * 9 + 6 * 30
    assert solution.greedy_units == 10 * 10
    assert solution.bound_units >= solution.value_units


def test_split_lots_in_the_relaxation_are_resolved_exactly() -> None:
    # The relaxation splits lots between two tight buyers; the exact core solve must not.
    p = engine.Problem(
        supply_kg=[6, 6, 6],
        divisible=[False, False, False],
        capacity_kg=[9, 9],
        arcs=[engine.Arc(i, j, 10 + i + 3 * j, Decimal(i + j)) for i in range(3) for j in range(2)],
    )
    solution = engine.solve(p)
    assert solution.bound_units > solution.value_units  # a real integrality gap
    assert solution.optimal and solution.gap == 0
    assert solution.value_units == brute_force(p)
    assert not engine.violations(p, solution.assignments)


@settings(max_examples=150, deadline=None)
@given(problems())
def test_optimal_equals_brute_force(p: engine.Problem) -> None:
    if not _small(p):
        return
    solution = engine.solve(p, time_limit_s=20)
    assert solution.optimal
    assert solution.value_units == brute_force(p)


@settings(max_examples=150, deadline=None)
@given(problems(max_supplies=12, max_demands=5, max_kg=40))
def test_no_capacity_or_lot_rule_is_ever_broken(p: engine.Problem) -> None:
    solution = engine.solve(p, time_limit_s=20)
    assert engine.violations(p, solution.assignments) == []
    assert engine.violations(p, engine.greedy(p)) == []
    assert solution.value_units == engine.value_of(p, solution.assignments)
    assert solution.greedy_units <= solution.value_units <= solution.bound_units
    if solution.optimal:
        assert solution.gap == 0
