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


def _random_problem(seed: int, n_s: int = 40, n_d: int = 8, lots: float = 0.5) -> engine.Problem:
    """A mid-size market: tight capacities, half the supplies indivisible lots, many near-ties."""
    import random

    rng = random.Random(seed)
    supply_kg = [rng.randint(200, 6_000) for _ in range(n_s)]
    divisible = [rng.random() >= lots for _ in range(n_s)]
    capacity = [int(sum(supply_kg) / n_d * rng.uniform(0.5, 1.1)) for _ in range(n_d)]
    arcs = [
        engine.Arc(i, j, rng.randint(100, 400), Decimal(rng.randint(1, 30)))
        for i in range(n_s)
        for j in range(n_d)
        if rng.random() < 0.6
    ]
    return engine.Problem(supply_kg, divisible, capacity, arcs)


def test_branch_and_bound_matches_an_independent_mip_solve() -> None:
    """On instances too big for brute force, the proven optimum equals SCIP's on the full model."""
    gaps = 0
    for seed in range(12):
        p = _random_problem(seed)
        solution = engine.solve(p, time_limit_s=30)
        reference, value, _bound, solved = engine._mip(p, [(k, 0) for k in range(len(p.arcs))], [], 60)
        assert solved and value == engine.value_of(p, reference)
        assert solution.optimal, seed
        assert solution.value_units == value, seed
        assert not engine.violations(p, solution.assignments)
        gaps += solution.bound_units > solution.value_units
    assert gaps >= 6  # most of these instances have a real integrality gap for the search to close


def test_a_search_stopped_early_reports_a_proven_bound() -> None:
    p = _random_problem(3, n_s=120, n_d=12)
    solution = engine.solve(p, time_limit_s=0.001)
    assert not engine.violations(p, solution.assignments)
    assert (
        solution.greedy_units <= solution.value_units <= solution.proven_bound_units <= solution.bound_units
    )
    assert solution.optimal == (solution.value_units == solution.proven_bound_units)
    assert (solution.gap == 0) == solution.optimal


def test_a_node_relaxation_on_a_core_is_exact() -> None:
    """Pricing makes the core's optimum the node's: equal to the same node solved on every arc."""
    p = _random_problem(5, n_s=60, n_d=30)
    arrays = engine._Arrays.of(p)
    relax = engine._relaxation(p, arrays)
    on_core = engine._NodeLP(arrays, relax.reduced)
    on_all = engine._NodeLP(arrays, relax.reduced)
    on_all.core[:] = True
    assert on_core.core.sum() < len(p.arcs) / 2
    assert on_core.solve({}, frozenset())[0] == relax.bound  # type: ignore[index]
    checked = 0
    for i in (i for i in range(len(p.supply_kg)) if not p.divisible[i]):
        arcs = [k for k, arc in enumerate(p.arcs) if arc.supply == i]
        for k in arcs[-3:]:
            for forced, forbidden in (({i: k}, frozenset()), ({}, frozenset(arcs[:-1]))):
                a, b = on_core.solve(forced, forbidden), on_all.solve(forced, forbidden)
                assert (a is None) == (b is None)
                if a is not None and b is not None:
                    assert a[0] == b[0]
                    checked += 1
    assert checked > 40
    assert on_core.solves > checked  # pricing had to grow some cores
