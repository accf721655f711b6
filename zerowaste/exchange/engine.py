"""The matching engine: assign supply to demand for the largest total net value. No database here.

Units are integers so that the optimum is exact: quantities in kilograms, values per tonne in fen
(0.01 CNY). An arc's value for `kg` kilograms is `value_fen_per_t × kg` in *value units* of
1e-5 CNY (fen per 1,000 kg); `VALUE_UNIT` converts them back to Decimal CNY.

The model (ADR 0020): divisible supply (a quantity per month) may be split over several buyers, a lot
declared indivisible goes whole to one buyer or stays; each buyer takes at most its capacity. The
relaxation where every lot is divisible is a min-cost flow (OR-Tools `SimpleMinCostFlow`): it gives
the bound, and when it splits no lot it is the optimum. Otherwise incumbents come from repairing the
relaxation (and, when it splits many lots, a small SCIP MIP around it), and an exact branch and bound
over the split lots (ADR 0036) proves the optimum: each node's bound is again a min-cost flow, on a
core of arcs made exact by pricing the others with the node potentials. At the time limit the
largest open bound is a proven bound, and the gap is reported against it.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

VALUE_UNIT = Decimal("0.00001")  # CNY per value unit (fen per tonne × kilogram)
NODE_CORE_ARCS_PER_SUPPLY = 4  # arcs per supply in a node relaxation's first core
DIVE_EVERY_NODES = 25  # a heuristic plunge from the first and every 25th node examined
DIVE_SHARE = 0.5  # of the time left, for one plunge
RENS_ABOVE_SPLIT_LOTS = 15  # with more split lots, first a small MIP for a good incumbent
RENS_SHARE = 0.4  # of the time limit, for that MIP
RENS_MAX_S = 20.0
# The MIP's neighbourhood: divisible arcs whose reduced cost is at most this (fen per tonne) and, for
# the split lots, arcs where moving the whole lot costs the bound at most this (value units: 200 CNY).
RENS_DIVISIBLE_REDUCED = 300
RENS_LOT_MOVE_UNITS = 20_000_000


@dataclass(frozen=True)
class Arc:
    """A feasible pairing of one supply with one demand and its net value per tonne."""

    supply: int  # index into the supplies
    demand: int  # index into the demands
    value_fen_per_t: int  # price − transport − handling, > 0
    distance_km: Decimal = Decimal(0)


@dataclass(frozen=True)
class Problem:
    supply_kg: Sequence[int]
    divisible: Sequence[bool]
    capacity_kg: Sequence[int]
    arcs: Sequence[Arc]


@dataclass
class Assignment:
    arc: int  # index into problem.arcs
    kg: int


@dataclass
class Solution:
    assignments: list[Assignment]
    value_units: int
    greedy_units: int
    bound_units: int  # the LP (flow) relaxation's value
    proven_bound_units: int  # the best bound proven at the end (= value when optimal)
    optimal: bool
    seconds: float
    core_arcs: int = 0
    stats: dict[str, object] = field(default_factory=dict)

    @property
    def gap(self) -> Decimal:
        """Relative optimality gap, (proven bound − value) / |proven bound|; 0 when proven optimal."""
        if self.optimal or self.proven_bound_units <= self.value_units:
            return Decimal(0)
        base = abs(self.proven_bound_units) or 1
        return (Decimal(self.proven_bound_units - self.value_units) / Decimal(base)).quantize(
            Decimal("0.000001")
        )

    def value_cny(self) -> Decimal:
        return units_to_cny(self.value_units)


def units_to_cny(units: int) -> Decimal:
    return (Decimal(units) * VALUE_UNIT).quantize(Decimal("0.01"))


def value_of(problem: Problem, assignments: Iterable[Assignment]) -> int:
    return sum(problem.arcs[a.arc].value_fen_per_t * a.kg for a in assignments)


def violations(problem: Problem, assignments: Sequence[Assignment]) -> list[str]:
    """Every capacity, supply or indivisibility rule the assignments break (empty: feasible)."""
    faults = []
    took = [0] * len(problem.capacity_kg)
    gave = [0] * len(problem.supply_kg)
    buyers: dict[int, set[int]] = {}
    for a in assignments:
        arc = problem.arcs[a.arc]
        if a.kg <= 0:
            faults.append(f"arc {a.arc}: non-positive quantity {a.kg}")
        took[arc.demand] += a.kg
        gave[arc.supply] += a.kg
        buyers.setdefault(arc.supply, set()).add(arc.demand)
    for j, kg in enumerate(took):
        if kg > problem.capacity_kg[j]:
            faults.append(f"demand {j}: {kg} kg over its capacity {problem.capacity_kg[j]}")
    for i, kg in enumerate(gave):
        if kg > problem.supply_kg[i]:
            faults.append(f"supply {i}: {kg} kg over its quantity {problem.supply_kg[i]}")
        if not problem.divisible[i] and kg and (kg != problem.supply_kg[i] or len(buyers[i]) > 1):
            faults.append(f"supply {i}: an indivisible lot split ({kg} of {problem.supply_kg[i]} kg)")
    return faults


# --- The greedy nearest-buyer baseline -------------------------------------------------------------


def greedy(problem: Problem) -> list[Assignment]:
    """What a clerk would do: each supply in turn to its nearest buyer with room, then the next nearest."""
    by_supply: dict[int, list[int]] = {}
    for k, arc in enumerate(problem.arcs):
        by_supply.setdefault(arc.supply, []).append(k)
    left = list(problem.capacity_kg)
    result = []
    for i in range(len(problem.supply_kg)):
        need = problem.supply_kg[i]
        arcs = sorted(by_supply.get(i, []), key=lambda k: (problem.arcs[k].distance_km, k))
        for k in arcs:
            if need <= 0:
                break
            j = problem.arcs[k].demand
            if problem.divisible[i]:
                kg = min(need, left[j])
                if kg > 0:
                    result.append(Assignment(k, kg))
                    left[j] -= kg
                    need -= kg
            elif left[j] >= need:
                result.append(Assignment(k, need))
                left[j] -= need
                need = 0
    return result


# --- The relaxation as a min-cost flow -------------------------------------------------------------


@dataclass
class _Flow:
    bound: int
    flow: np.ndarray  # per problem arc, kilograms
    graph: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # tails, heads, cap, cost, flow
    n_nodes: int
    first: int  # index of the first problem arc in the graph
    _reduced: np.ndarray | None = None

    @property
    def reduced(self) -> np.ndarray:
        """Per problem arc: loss of the bound per kilogram forced onto it (>= 0 when unused).

        Node potentials are shortest distances in the optimal flow's residual graph from a virtual
        root (Bellman-Ford, vectorized); computed only when a core is needed.
        """
        if self._reduced is None:
            t, h, u, c, f = self.graph
            dist = _potentials(self.n_nodes, t, h, u, c, f)
            last = self.first + len(self.flow)
            self._reduced = c[self.first : last] + dist[t[self.first : last]] - dist[h[self.first : last]]
        return self._reduced


def _potentials(
    n_nodes: int, t: np.ndarray, h: np.ndarray, u: np.ndarray, c: np.ndarray, f: np.ndarray
) -> np.ndarray:
    """Node potentials of an optimal flow: shortest distances in its residual graph from a virtual
    root joined to every node at cost 0 (Bellman-Ford, vectorized; an optimal flow has no negative
    cycle, so it converges)."""
    fwd = f < u
    bwd = f > 0
    rt = np.concatenate([t[fwd], h[bwd]])
    rh = np.concatenate([h[fwd], t[bwd]])
    rc = np.concatenate([c[fwd], -c[bwd]])
    dist = np.zeros(n_nodes, dtype=np.int64)
    for _ in range(n_nodes + 1):
        new = dist.copy()
        np.minimum.at(new, rh, dist[rt] + rc)
        if np.array_equal(new, dist):
            return dist
        dist = new
    raise RuntimeError("residual graph has a negative cycle")  # pragma: no cover


@dataclass(frozen=True)
class _Arrays:
    """The problem as numpy arrays: per arc its supply, demand and value; per supply and demand kg."""

    supply: np.ndarray
    demand: np.ndarray
    value: np.ndarray
    supply_kg: np.ndarray
    capacity_kg: np.ndarray
    divisible: np.ndarray

    @classmethod
    def of(cls, problem: Problem) -> _Arrays:
        return cls(
            supply=np.array([a.supply for a in problem.arcs], dtype=np.int64),
            demand=np.array([a.demand for a in problem.arcs], dtype=np.int64),
            value=np.array([a.value_fen_per_t for a in problem.arcs], dtype=np.int64),
            supply_kg=np.array(problem.supply_kg, dtype=np.int64),
            capacity_kg=np.array(problem.capacity_kg, dtype=np.int64),
            divisible=np.array(problem.divisible, dtype=bool),
        )


def _max_value_flow(
    arrays: _Arrays, arcs: np.ndarray, supply_kg: np.ndarray, capacity_kg: np.ndarray
) -> tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The most valuable flow over `arcs` (indices of problem arcs) with lots divisible: an exact
    integral min-cost flow (OR-Tools). Returns the value, the kilograms per listed arc and the graph
    (tails, heads, capacities, costs, flows; supply arcs first, then the listed arcs)."""
    from ortools.graph.python import min_cost_flow

    n_s, n_d = len(supply_kg), len(capacity_kg)
    source, sink = n_s + n_d, n_s + n_d + 1
    total = int(supply_kg.sum())
    tails = np.concatenate([np.full(n_s, source), arrays.supply[arcs], n_s + np.arange(n_d), [source]])
    heads = np.concatenate([np.arange(n_s), n_s + arrays.demand[arcs], np.full(n_d, sink), [sink]])
    caps = np.concatenate([supply_kg, supply_kg[arrays.supply[arcs]], capacity_kg, [total]])
    costs = np.concatenate([np.zeros(n_s, np.int64), -arrays.value[arcs], np.zeros(n_d, np.int64), [0]])
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    balance = np.zeros(n_s + n_d + 2, dtype=np.int64)
    balance[source], balance[sink] = total, -total
    mcf.set_nodes_supplies(np.arange(n_s + n_d + 2, dtype=np.int64), balance)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    flows = np.array(mcf.flows(np.arange(len(tails), dtype=np.int64)), dtype=np.int64)
    return -int(mcf.optimal_cost()), flows[n_s : n_s + len(arcs)], (tails, heads, caps, costs, flows)


def _relaxation(problem: Problem, arrays: _Arrays | None = None) -> _Flow:
    arrays = arrays or _Arrays.of(problem)
    every = np.arange(len(problem.arcs), dtype=np.int64)
    bound, flow, graph = _max_value_flow(arrays, every, arrays.supply_kg, arrays.capacity_kg)
    n_nodes = len(problem.supply_kg) + len(problem.capacity_kg) + 2
    return _Flow(bound=bound, flow=flow, graph=graph, n_nodes=n_nodes, first=len(problem.supply_kg))


def _repaired(problem: Problem, flow: np.ndarray, arrays: _Arrays | None = None) -> list[Assignment]:
    """The relaxation repaired: whole lots kept, each split lot placed whole on its best arc with room
    (most valuable first), then the divisible supply split optimally around them (a min-cost flow)."""
    left = list(problem.capacity_kg)
    lots: list[Assignment] = []
    split: set[int] = set()
    for nz in np.nonzero(flow)[0]:
        k = int(nz)
        arc = problem.arcs[k]
        if problem.divisible[arc.supply]:
            continue
        if int(flow[k]) == problem.supply_kg[arc.supply]:
            lots.append(Assignment(k, int(flow[k])))
            left[arc.demand] -= int(flow[k])
        else:
            split.add(arc.supply)
    by_supply: dict[int, list[int]] = {}
    for k, arc in enumerate(problem.arcs):
        if arc.supply in split:
            by_supply.setdefault(arc.supply, []).append(k)
    order = sorted(
        split,
        key=lambda i: -max(problem.arcs[k].value_fen_per_t for k in by_supply[i]) * problem.supply_kg[i],
    )
    for i in order:
        q = int(problem.supply_kg[i])
        room = [k for k in by_supply[i] if left[problem.arcs[k].demand] >= q]
        if room:
            k = max(room, key=lambda k: problem.arcs[k].value_fen_per_t)
            lots.append(Assignment(k, q))
            left[problem.arcs[k].demand] -= q
    return lots + _divisible_flow(problem, range(len(problem.arcs)), lots, arrays)


def _rounded(problem: Problem, flow: np.ndarray) -> list[Assignment]:
    """The relaxation made feasible: split lots dropped, then the free room filled by best value."""
    left = list(problem.capacity_kg)
    given = [0] * len(problem.supply_kg)
    result: list[Assignment] = []
    for nz in np.nonzero(flow)[0]:
        k = int(nz)
        arc = problem.arcs[k]
        kg = int(flow[k])
        if not problem.divisible[arc.supply] and kg != problem.supply_kg[arc.supply]:
            continue
        result.append(Assignment(k, kg))
        left[arc.demand] -= kg
        given[arc.supply] += kg
    order = sorted(range(len(problem.arcs)), key=lambda k: -problem.arcs[k].value_fen_per_t)
    for k in order:
        arc = problem.arcs[k]
        need = problem.supply_kg[arc.supply] - given[arc.supply]
        if need <= 0:
            continue
        j = arc.demand
        if problem.divisible[arc.supply]:
            kg = min(need, left[j])
        else:
            kg = need if left[j] >= need and given[arc.supply] == 0 else 0
        if kg > 0:
            result.append(Assignment(k, kg))
            left[j] -= kg
            given[arc.supply] += kg
    return result


# --- The exact solve -------------------------------------------------------------------------------


def solve(problem: Problem, *, time_limit_s: float = 60.0) -> Solution:
    started = time.perf_counter()
    base = greedy(problem)
    greedy_units = value_of(problem, base)
    if not problem.arcs:
        return Solution([], 0, 0, 0, 0, True, time.perf_counter() - started)
    arrays = _Arrays.of(problem)
    relax = _relaxation(problem, arrays)
    repaired = _repaired(problem, relax.flow, arrays)
    candidates = [base, _rounded(problem, relax.flow), repaired]
    split = _split_lots(arrays, relax.flow)
    stats: dict[str, object] = {"arcs": len(problem.arcs), "split_lots": len(split)}
    if len(split) > RENS_ABOVE_SPLIT_LOTS:
        budget = min(RENS_SHARE * time_limit_s, RENS_MAX_S)
        candidates.append(_rens(problem, arrays, relax, budget, repaired))
    incumbent = max(candidates, key=lambda s: value_of(problem, s))
    best = value_of(problem, incumbent)
    stats["incumbent_seconds"] = round(time.perf_counter() - started, 3)
    proven, core_arcs = best, 0
    if best < relax.bound:
        search = _BranchAndBound(problem, arrays, relax, incumbent, best)
        incumbent, best, proven = search.run(deadline=started + time_limit_s)
        core_arcs = int(search.lp.core.sum())
        stats.update(search.stats)
    assert not violations(problem, incumbent), "the engine never returns an infeasible assignment"
    return Solution(
        incumbent,
        best,
        greedy_units,
        relax.bound,
        min(proven, relax.bound),
        proven <= best,
        time.perf_counter() - started,
        core_arcs,
        stats,
    )


def _split_lots(arrays: _Arrays, flow: np.ndarray) -> dict[int, list[int]]:
    """Lots the flow does not give whole to one buyer: supply index → the arcs carrying a part."""
    used = np.nonzero(flow)[0]
    lot = ~arrays.divisible[arrays.supply[used]]
    partial = used[lot & (flow[used] != arrays.supply_kg[arrays.supply[used]])]
    found: dict[int, list[int]] = {}
    for k in partial.tolist():
        found.setdefault(int(arrays.supply[k]), []).append(k)
    return found


class _NodeLP:
    """The relaxation of a search node — some lots forced whole onto one arc, some arcs forbidden —
    as a min-cost flow on a core of arcs (each supply's few arcs of least reduced cost at the root),
    made exact by pricing: every allowed arc outside the core is checked against the node potentials
    of the core's optimum and joins the core if it could improve it. When none can, the core's
    optimum is the node's optimum (LP optimality in the full graph)."""

    def __init__(self, arrays: _Arrays, reduced: np.ndarray) -> None:
        self.arrays = arrays
        order = np.lexsort((reduced, arrays.supply))
        first_of_supply = np.searchsorted(arrays.supply[order], np.arange(len(arrays.supply_kg)))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order)) - first_of_supply[arrays.supply[order]]
        self.core = (rank < NODE_CORE_ARCS_PER_SUPPLY) | (reduced == 0)
        self.solves = 0

    def solve(self, forced: dict[int, int], forbidden: frozenset[int]) -> tuple[int, np.ndarray] | None:
        """(value, kg per problem arc) of the node's relaxation, or None if the forced lots don't fit."""
        a = self.arrays
        supply_kg, capacity_kg = a.supply_kg.copy(), a.capacity_kg.copy()
        fixed_value = 0
        for i, k in forced.items():
            supply_kg[i] = 0
            capacity_kg[a.demand[k]] -= a.supply_kg[i]
            fixed_value += int(a.value[k]) * int(a.supply_kg[i])
        if (capacity_kg < 0).any():
            return None
        allowed = supply_kg[a.supply] > 0
        allowed[list(forbidden)] = False
        use = allowed & self.core
        n_s = len(supply_kg)
        while True:
            arcs = np.nonzero(use)[0]
            value, flow, (t, h, u, c, f) = _max_value_flow(a, arcs, supply_kg, capacity_kg)
            self.solves += 1
            potential = _potentials(n_s + len(capacity_kg) + 2, t, h, u, c, f)
            outside = np.nonzero(allowed & ~use)[0]
            reduced = -a.value[outside] + potential[a.supply[outside]] - potential[n_s + a.demand[outside]]
            improving = outside[reduced < 0]
            if not len(improving):
                full = np.zeros(len(a.supply), dtype=np.int64)
                full[arcs] = flow
                for i, k in forced.items():
                    full[k] = a.supply_kg[i]
                return fixed_value + value, full
            use[improving] = True


# (−bound, order, forced lots as (supply, arc) pairs, forbidden arcs, the node's flow once solved)
_Node = tuple[int, int, tuple[tuple[int, int], ...], frozenset[int], np.ndarray | None]


class _BranchAndBound:
    """Exact search over the lots the relaxation splits, bounded by exact node relaxations.

    A node's relaxation is a min-cost flow (`_NodeLP`), so its bound is exact and its flow integral in
    kilograms; a node whose flow splits no lot is a feasible assignment worth its bound. A split lot
    branches into "whole on arc e" for each arc carrying a part, and "on none of those arcs" — a
    partition of the node's solutions. Best-first; a child carries its parent's bound until it is
    examined. The optimum is proven when no open node's bound exceeds the best value found; at the
    deadline the largest open bound is a proven upper bound, tighter than the root relaxation.
    """

    def __init__(
        self, problem: Problem, arrays: _Arrays, relax: _Flow, incumbent: list[Assignment], best: int
    ) -> None:
        self.problem, self.arrays = problem, arrays
        self.lp = _NodeLP(arrays, relax.reduced)
        self.root = (relax.bound, relax.flow)
        self.incumbent, self.best = incumbent, best
        self.stats: dict[str, object] = {}

    def run(self, *, deadline: float) -> tuple[list[Assignment], int, int]:
        """(best assignments, their value, proven upper bound); proven == value when optimal."""
        counter = itertools.count()
        bound, root_flow = self.root
        heap: list[_Node] = [(-bound, next(counter), (), frozenset(), root_flow)]
        nodes = 0
        proven = self.best
        while heap:
            negative, _n, forced, forbidden, flow = heap[0]
            if -negative <= self.best:
                break
            if time.perf_counter() >= deadline:
                proven = -negative
                break
            heapq.heappop(heap)
            if flow is None:  # examine a child: its own relaxation
                solved = self.lp.solve(dict(forced), forbidden)
                if solved is not None and solved[0] > self.best:
                    heapq.heappush(heap, (-solved[0], next(counter), forced, forbidden, solved[1]))
                continue
            nodes += 1
            split = _split_lots(self.arrays, flow)
            if not split:
                self._found(-negative, flow)
                continue
            if nodes % DIVE_EVERY_NODES == 1:
                self._dive(dict(forced), forbidden, flow, split, deadline)
            lot = max(split, key=lambda i: int(self.arrays.supply_kg[i]))
            parts = split[lot]
            for k in parts:
                heapq.heappush(heap, (negative, next(counter), (*forced, (lot, k)), forbidden, None))
            heapq.heappush(heap, (negative, next(counter), forced, forbidden | frozenset(parts), None))
        self.stats = {"nodes": nodes, "node_relaxations": self.lp.solves, "open_nodes": len(heap)}
        return self.incumbent, self.best, max(proven, self.best)

    def _dive(
        self,
        forced: dict[int, int],
        forbidden: frozenset[int],
        flow: np.ndarray,
        split: dict[int, list[int]],
        deadline: float,
    ) -> None:
        """A heuristic plunge for a good assignment: a quarter of the split lots (the largest) go
        whole where most of each already is, the relaxation is solved again, and so on until no lot
        is split — within `DIVE_SHARE` of the time left, which the proof needs more. When the rounded
        lots do not fit, only the largest is rounded, or else kept off the arcs it was split over."""
        now = time.perf_counter()
        stop = now + DIVE_SHARE * max(deadline - now, 0.0)
        while split and time.perf_counter() < stop:
            largest = sorted(split, key=lambda i: -int(self.arrays.supply_kg[i]))
            rounded = {i: max(split[i], key=lambda k: int(flow[k])) for i in largest[: -(-len(split) // 4)]}
            solved = self.lp.solve({**forced, **rounded}, forbidden)
            if solved is not None:
                forced = {**forced, **rounded}
            else:
                lot = largest[0]
                solved = self.lp.solve({**forced, lot: rounded[lot]}, forbidden)
                if solved is not None:
                    forced = {**forced, lot: rounded[lot]}
                else:
                    forbidden = forbidden | frozenset(split[lot])
                    solved = self.lp.solve(forced, forbidden)
            if solved is None or solved[0] <= self.best:
                return
            flow = solved[1]
            split = _split_lots(self.arrays, flow)
            if not split:
                self._found(solved[0], flow)
        if split:  # out of time: the plunge's last relaxation, repaired, may still be worth keeping
            repaired = _repaired(self.problem, flow, self.arrays)
            value = value_of(self.problem, repaired)
            if value > self.best:
                self.incumbent, self.best = repaired, value

    def _found(self, value: int, flow: np.ndarray) -> None:
        if value > self.best:
            self.incumbent = [Assignment(int(k), int(flow[k])) for k in np.nonzero(flow)[0]]
            self.best = value


def _mip(
    problem: Problem,
    core: list[tuple[int, int]],
    incumbent: list[Assignment],
    time_limit_s: float,
) -> tuple[list[Assignment], int, int, bool]:
    """The core as a MIP for SCIP (OR-Tools linear_solver): LP bound at the root, branching on lots."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("SCIP")
    assert solver is not None
    deadline = time.perf_counter() + time_limit_s
    per_supply: dict[int, list[tuple[object, int]]] = {}
    per_demand: dict[int, list[tuple[object, int]]] = {}
    variables = []
    objective = solver.Objective()
    hint_vars, hint_vals = [], []
    hint = {a.arc: a.kg for a in incumbent}
    for k, _top in core:
        arc = problem.arcs[k]
        q = int(problem.supply_kg[arc.supply])
        if problem.divisible[arc.supply]:
            # Continuous: for the lots the MIP chooses, the best divisible part is a min-cost flow,
            # integral in kilograms; it is recomputed exactly below.
            var = solver.NumVar(0, min(q, int(problem.capacity_kg[arc.demand])), "")
            unit = 1
            hint_vals.append(float(hint.get(k, 0)))
        else:
            if q > problem.capacity_kg[arc.demand]:
                continue
            var = solver.BoolVar("")
            unit = q
            hint_vals.append(1.0 if k in hint else 0.0)
        hint_vars.append(var)
        variables.append((k, var, unit))
        per_supply.setdefault(arc.supply, []).append((var, 1))
        per_demand.setdefault(arc.demand, []).append((var, unit))
        objective.SetCoefficient(var, arc.value_fen_per_t * unit)
    for i, terms in per_supply.items():
        c = solver.Constraint(0, int(problem.supply_kg[i]) if problem.divisible[i] else 1)
        for v, a in terms:
            c.SetCoefficient(v, a)
    for j, terms in per_demand.items():
        c = solver.Constraint(0, int(problem.capacity_kg[j]))
        for v, a in terms:
            c.SetCoefficient(v, a)
    objective.SetMaximization()
    solver.SetHint(hint_vars, hint_vals)
    # The time left after building the model (the build counts against the caller's limit too).
    solver.SetTimeLimit(int(max(deadline - time.perf_counter(), 0.5) * 1000))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)
    status = solver.Solve(params)
    if status not in (solver.OPTIMAL, solver.FEASIBLE):
        return incumbent, value_of(problem, incumbent), 2**62, False
    lots = [
        Assignment(k, unit)
        for k, var, unit in variables
        if not problem.divisible[problem.arcs[k].supply] and var.solution_value() > 0.5
    ]
    # Floating-point tolerances could let rounded lots overfill a demand by a few grams: never keep that.
    load = [0] * len(problem.capacity_kg)
    for lot in lots:
        load[problem.arcs[lot.arc].demand] += lot.kg
    for j, kg in enumerate(load):
        while kg > problem.capacity_kg[j]:
            drop = min(
                (lot for lot in lots if problem.arcs[lot.arc].demand == j),
                key=lambda lot: problem.arcs[lot.arc].value_fen_per_t * lot.kg,
            )
            lots.remove(drop)
            kg -= drop.kg
    result = lots + _divisible_flow(problem, [k for k, _v, _u in variables], lots)
    return result, value_of(problem, result), int(objective.BestBound()), status == solver.OPTIMAL


def _rens(
    problem: Problem, arrays: _Arrays, relax: _Flow, time_limit_s: float, start: list[Assignment]
) -> list[Assignment]:
    """A small MIP around the relaxation (RENS): lots whole in the relaxation stay where they are,
    the split lots choose among the arcs the relaxation or `start` used for them and the arcs where
    the whole lot would cost the bound little, the divisible supply moves over the arcs of small
    reduced cost; then the divisible part is re-split optimally over every arc. (Only arcs of zero
    reduced cost for the divisible supply, as first built, left 2-30 times the gap: the lots' rounding
    has to be absorbed by divisible supply moving to a slightly worse buyer.)"""
    left = list(problem.capacity_kg)
    fixed: list[Assignment] = []
    split: set[int] = set()
    for nz in np.nonzero(relax.flow)[0]:
        k = int(nz)
        arc = problem.arcs[k]
        if problem.divisible[arc.supply]:
            continue
        if int(relax.flow[k]) == problem.supply_kg[arc.supply]:
            fixed.append(Assignment(k, int(relax.flow[k])))
            left[arc.demand] -= int(relax.flow[k])
        else:
            split.add(arc.supply)
    if not split:
        return []
    reduced = relax.reduced
    started = {a.arc for a in start}
    keep = [
        k
        for k, arc in enumerate(problem.arcs)
        if (problem.divisible[arc.supply] and reduced[k] <= RENS_DIVISIBLE_REDUCED)
        or (
            arc.supply in split
            and (
                relax.flow[k] > 0
                or k in started
                or reduced[k] * problem.supply_kg[arc.supply] <= RENS_LOT_MOVE_UNITS
            )
        )
    ]
    sub = Problem(problem.supply_kg, problem.divisible, left, [problem.arcs[k] for k in keep])
    position = {k: n for n, k in enumerate(keep)}
    hint = [Assignment(position[a.arc], a.kg) for a in start if a.arc in position]
    found, _value, _bound, _solved = _mip(sub, [(n, 0) for n in range(len(keep))], hint, time_limit_s)
    lots = fixed + [
        Assignment(keep[a.arc], a.kg) for a in found if not problem.divisible[sub.arcs[a.arc].supply]
    ]
    return lots + _divisible_flow(problem, range(len(problem.arcs)), lots, arrays)


def _divisible_flow(
    problem: Problem, arcs: Sequence[int], lots: list[Assignment], arrays: _Arrays | None = None
) -> list[Assignment]:
    """The best integral split of the divisible supplies over `arcs`, given the lots already placed:
    the same min-cost flow as the relaxation, with the lots out of it and their room taken."""
    arrays = arrays or _Arrays.of(problem)
    capacity_kg = arrays.capacity_kg.copy()
    for a in lots:
        capacity_kg[problem.arcs[a.arc].demand] -= a.kg
    given = np.asarray(arcs, dtype=np.int64)
    usable = given[arrays.divisible[arrays.supply[given]]]
    if not len(usable):
        return []
    supply_kg = np.where(arrays.divisible, arrays.supply_kg, 0)
    _value, flow, _graph = _max_value_flow(arrays, usable, supply_kg, np.maximum(capacity_kg, 0))
    return [Assignment(int(k), int(kg)) for k, kg in zip(usable, flow, strict=True) if kg > 0]
