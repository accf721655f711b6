"""The matching engine: assign supply to demand for the largest total net value. No database here.

Units are integers so that the optimum is exact: quantities in kilograms, values per tonne in fen
(0.01 CNY). An arc's value for `kg` kilograms is `value_fen_per_t × kg` in *value units* of
1e-5 CNY (fen per 1,000 kg); `VALUE_UNIT` converts them back to Decimal CNY.

The model (ADR 0020): divisible supply (a quantity per month) may be split over several buyers, a lot
declared indivisible goes whole to one buyer or stays; each buyer takes at most its capacity. The
relaxation where every lot is divisible is a min-cost flow (OR-Tools `SimpleMinCostFlow`): it gives
the bound. Node potentials of the optimal flow (Bellman-Ford on its residual graph) give each arc a
reduced cost: a solution that uses arc `e` for `q` kilograms is worth at most `bound − rc_e × q`.
Every arc that cannot reach the best known solution (the better of the greedy baseline and the
rounded relaxation) is removed — a proof, not a heuristic — and SCIP (OR-Tools `linear_solver`) solves
the remaining core exactly; cores grow until the arcs that could still matter all lie inside a core
solved to optimality. When the relaxation is already integral the core is skipped: bound = value, gap 0.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

VALUE_UNIT = Decimal("0.00001")  # CNY per value unit (fen per tonne × kilogram)
CORE_ARCS_PER_SUPPLY = 4
RENS_SHARE = 0.4  # of the time limit, for the small MIP around the relaxation
RENS_MAX_S = 20.0


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
            fwd = f < u
            bwd = f > 0
            rt = np.concatenate([t[fwd], h[bwd]])
            rh = np.concatenate([h[fwd], t[bwd]])
            rc = np.concatenate([c[fwd], -c[bwd]])
            dist = np.zeros(self.n_nodes, dtype=np.int64)
            for _ in range(self.n_nodes + 1):
                new = dist.copy()
                np.minimum.at(new, rh, dist[rt] + rc)
                if np.array_equal(new, dist):
                    break
                dist = new
            else:  # pragma: no cover - an optimal flow has no negative cycle
                raise RuntimeError("residual graph has a negative cycle")
            last = self.first + len(self.flow)
            self._reduced = c[self.first : last] + dist[t[self.first : last]] - dist[h[self.first : last]]
        return self._reduced


def _relaxation(problem: Problem) -> _Flow:
    from ortools.graph.python import min_cost_flow

    n_s, n_d = len(problem.supply_kg), len(problem.capacity_kg)
    source, sink = n_s + n_d, n_s + n_d + 1
    total = int(sum(problem.supply_kg))
    tails, heads, caps, costs = [], [], [], []
    for i, kg in enumerate(problem.supply_kg):
        tails.append(source)
        heads.append(i)
        caps.append(int(kg))
        costs.append(0)
    for arc in problem.arcs:
        tails.append(arc.supply)
        heads.append(n_s + arc.demand)
        caps.append(int(problem.supply_kg[arc.supply]))
        costs.append(-arc.value_fen_per_t)
    for j, kg in enumerate(problem.capacity_kg):
        tails.append(n_s + j)
        heads.append(sink)
        caps.append(int(kg))
        costs.append(0)
    tails.append(source)  # what stays unsold
    heads.append(sink)
    caps.append(total)
    costs.append(0)
    t = np.array(tails, dtype=np.int64)
    h = np.array(heads, dtype=np.int64)
    u = np.array(caps, dtype=np.int64)
    c = np.array(costs, dtype=np.int64)
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(t, h, u, c)
    supplies = np.zeros(n_s + n_d + 2, dtype=np.int64)
    supplies[source] = total
    supplies[sink] = -total
    mcf.set_nodes_supplies(np.arange(n_s + n_d + 2, dtype=np.int64), supplies)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    f = np.array(mcf.flows(np.arange(len(tails), dtype=np.int64)), dtype=np.int64)
    first = n_s
    return _Flow(
        bound=-int(mcf.optimal_cost()),
        flow=f[first : first + len(problem.arcs)],
        graph=(t, h, u, c, f),
        n_nodes=n_s + n_d + 2,
        first=first,
    )


def _repaired(problem: Problem, flow: np.ndarray) -> list[Assignment]:
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
    return lots + _divisible_flow(problem, list(range(len(problem.arcs))), lots)


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


def solve(problem: Problem, *, time_limit_s: float = 60.0, workers: int = 2) -> Solution:
    started = time.perf_counter()
    base = greedy(problem)
    greedy_units = value_of(problem, base)
    if not problem.arcs:
        return Solution([], 0, 0, 0, 0, True, time.perf_counter() - started)
    relax = _relaxation(problem)
    repaired = _repaired(problem, relax.flow)
    candidates = [base, _rounded(problem, relax.flow), repaired]
    if value_of(problem, max(candidates, key=lambda s: value_of(problem, s))) < relax.bound:
        candidates.append(_rens(problem, relax, min(RENS_SHARE * time_limit_s, RENS_MAX_S), repaired))
    incumbent = max(candidates, key=lambda s: value_of(problem, s))
    best = value_of(problem, incumbent)
    stats: dict[str, object] = {
        "arcs": len(problem.arcs),
        "relaxation_seconds": round(time.perf_counter() - started, 3),
    }
    if best == relax.bound:
        return Solution(
            incumbent,
            best,
            greedy_units,
            relax.bound,
            relax.bound,
            True,
            time.perf_counter() - started,
            0,
            stats,
        )
    assignments, value, optimal, core_size = _core_solve(
        problem, relax, incumbent, best, started, time_limit_s, workers, stats
    )
    proven = relax.bound if not optimal else value
    if value < best or violations(problem, assignments):  # never return less, nor anything infeasible
        assignments, value = incumbent, best
    proven = min(proven, relax.bound)
    return Solution(
        assignments,
        value,
        greedy_units,
        relax.bound,
        proven,
        optimal,
        time.perf_counter() - started,
        core_size,
        stats,
    )


def _core(problem: Problem, relax: _Flow, slack: int) -> list[tuple[int, int]]:
    """The arcs that a solution worth more than `bound − slack` may use, with their kg upper bounds."""
    core: list[tuple[int, int]] = []
    for k, arc in enumerate(problem.arcs):
        rc = int(relax.reduced[k])
        q = int(problem.supply_kg[arc.supply])
        if rc <= 0:
            core.append((k, q))
        elif problem.divisible[arc.supply]:
            top = min(q, slack // rc)
            if top >= 1:
                core.append((k, top))
        elif rc * q <= slack:
            core.append((k, q))
    return core


def _core_solve(
    problem: Problem,
    relax: _Flow,
    incumbent: list[Assignment],
    best: int,
    started: float,
    time_limit_s: float,
    workers: int,
    stats: dict[str, object],
) -> tuple[list[Assignment], int, bool, int]:
    """Solve growing cores until the proven core is inside a core solved to optimality.

    A core is a set of arcs; every arc outside `_core(slack)` makes any solution worth less than
    `bound − slack`. With `slack = bound − v` for a value `v` already reached, the optimum uses only
    arcs of `_core(slack)`; once that set lies inside a core solved exactly, its optimum is global.
    """
    # First core: each supply's few cheapest arcs (in reduced cost), and every arc the slack allows.
    ranked: dict[int, list[tuple[int, int]]] = {}
    for k, arc in enumerate(problem.arcs):
        loss = int(relax.reduced[k]) * (
            1 if problem.divisible[arc.supply] else int(problem.supply_kg[arc.supply])
        )
        ranked.setdefault(arc.supply, []).append((loss, k))
    chosen: set[int] = set()
    for arcs in ranked.values():
        arcs.sort()
        chosen.update(k for _loss, k in arcs[:CORE_ARCS_PER_SUPPLY])
    chosen.update(a.arc for a in incumbent)
    for rounds in range(1, 7):
        core = [(k, int(problem.supply_kg[problem.arcs[k].supply])) for k in sorted(chosen)]
        left = time_limit_s - (time.perf_counter() - started)
        if left <= 0.2:
            return incumbent, best, False, len(chosen)
        assignments, value, _bound, solved = _mip(problem, core, incumbent, left, workers)
        stats[f"core_{rounds}"] = {
            "arcs": len(core),
            "optimal": solved,
            "seconds": round(time.perf_counter() - started, 3),
        }
        stats["rounds"] = rounds
        if value > best:
            incumbent, best = assignments, value
        if not solved:
            return incumbent, best, False, len(chosen)
        proven = {k for k, _top in _core(problem, relax, relax.bound - best)}
        if proven <= chosen:
            return incumbent, best, True, len(chosen)
        chosen |= proven
    return incumbent, best, False, len(chosen)


def _mip(
    problem: Problem,
    core: list[tuple[int, int]],
    incumbent: list[Assignment],
    time_limit_s: float,
    workers: int,
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


def _rens(problem: Problem, relax: _Flow, time_limit_s: float, start: list[Assignment]) -> list[Assignment]:
    """A small MIP around the relaxation (RENS): lots whole in the relaxation stay where they are,
    the split lots choose among the arcs the relaxation or `start` used for them, the divisible supply
    moves over the arcs
    of zero reduced cost; then the divisible part is re-split optimally over every arc."""
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
        if (problem.divisible[arc.supply] and reduced[k] <= 0)
        or (arc.supply in split and (relax.flow[k] > 0 or k in started))
    ]
    sub = Problem(problem.supply_kg, problem.divisible, left, [problem.arcs[k] for k in keep])
    position = {k: n for n, k in enumerate(keep)}
    hint = [Assignment(position[a.arc], a.kg) for a in start if a.arc in position]
    found, _value, _bound, _solved = _mip(sub, [(n, 0) for n in range(len(keep))], hint, time_limit_s, 1)
    lots = fixed + [
        Assignment(keep[a.arc], a.kg) for a in found if not problem.divisible[sub.arcs[a.arc].supply]
    ]
    return lots + _divisible_flow(problem, list(range(len(problem.arcs))), lots)


def _divisible_flow(problem: Problem, arcs: list[int], lots: list[Assignment]) -> list[Assignment]:
    """The best integral split of the divisible supplies over `arcs`, given the lots already placed."""
    from ortools.graph.python import min_cost_flow

    left = list(problem.capacity_kg)
    for a in lots:
        left[problem.arcs[a.arc].demand] -= a.kg
    usable = [k for k in arcs if problem.divisible[problem.arcs[k].supply]]
    if not usable:
        return []
    n_s, n_d = len(problem.supply_kg), len(problem.capacity_kg)
    source, sink = n_s + n_d, n_s + n_d + 1
    mcf = min_cost_flow.SimpleMinCostFlow()
    suppliers = sorted({problem.arcs[k].supply for k in usable})
    total = sum(int(problem.supply_kg[i]) for i in suppliers)
    for i in suppliers:
        mcf.add_arc_with_capacity_and_unit_cost(source, i, int(problem.supply_kg[i]), 0)
    first = mcf.num_arcs()
    for k in usable:
        arc = problem.arcs[k]
        mcf.add_arc_with_capacity_and_unit_cost(
            arc.supply, n_s + arc.demand, int(problem.supply_kg[arc.supply]), -arc.value_fen_per_t
        )
    for j in range(n_d):
        mcf.add_arc_with_capacity_and_unit_cost(n_s + j, sink, max(int(left[j]), 0), 0)
    mcf.add_arc_with_capacity_and_unit_cost(source, sink, total, 0)
    mcf.set_node_supply(source, total)
    mcf.set_node_supply(sink, -total)
    if mcf.solve() != mcf.OPTIMAL:
        raise RuntimeError("min-cost flow of the divisible part failed")
    return [Assignment(k, int(mcf.flow(first + n))) for n, k in enumerate(usable) if mcf.flow(first + n) > 0]
