"""Pooled collection as a capacitated vehicle-routing problem (OR-Tools routing). No database here.

Vehicles start and end at the receiver (the depot), each carries at most its capacity, each producer
is visited exactly once. The objective is money: road km × cost per km plus a fixed cost per trip,
in fen, so the solver trades one more vehicle against a longer route the way a carrier would.
The search runs under a time limit (guided local search after a cheapest-arc start); the answer is
always feasible, not necessarily proven optimal, and says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from . import rules


@dataclass(frozen=True)
class Stop:
    key: int
    lat: float
    lon: float
    kg: int


@dataclass(frozen=True)
class Visit:
    key: int
    kg: int
    load_after_kg: int
    leg_km: Decimal  # road km from the previous place


@dataclass
class Plan:
    routes: list[list[Visit]]
    road_km: Decimal  # every route, back to the depot included
    route_km: list[Decimal]
    status: str
    seconds: float


def road_matrix(points: list[tuple[float, float]], t: rules.Tariffs) -> list[list[Decimal]]:
    return [
        [
            rules.road_km(rules.haversine_km(a[0], a[1], b[0], b[1]), t) if a != b else Decimal(0)
            for b in points
        ]
        for a in points
    ]


def plan(
    depot: tuple[float, float],
    stops: list[Stop],
    *,
    capacity_kg: int,
    t: rules.Tariffs,
    time_limit_s: int = 5,
    max_vehicles: int | None = None,
) -> Plan:
    """Routes that visit every stop once without overloading; raises ValueError if a stop is too big."""
    import time

    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter()
    for s in stops:
        if s.kg > capacity_kg:
            raise ValueError(f"stop {s.key}: {s.kg} kg is more than a vehicle carries ({capacity_kg} kg)")
    if not stops:
        return Plan([], Decimal(0), [], "empty", 0.0)
    points = [depot] + [(s.lat, s.lon) for s in stops]
    km = road_matrix(points, t)
    metres = [[int(d * 1000) for d in row] for row in km]
    vehicles = max_vehicles or len(stops)
    manager = pywrapcp.RoutingIndexManager(len(points), vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    fen_per_km = int(t.vehicle_cny_per_km * 100)

    def cost(i: int, j: int) -> int:
        return metres[manager.IndexToNode(i)][manager.IndexToNode(j)] * fen_per_km // 1000

    transit = routing.RegisterTransitCallback(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    routing.SetFixedCostOfAllVehicles(int(t.trip_fixed_cny * 100))
    demands = [0] + [s.kg for s in stops]

    def demand(i: int) -> int:
        return demands[manager.IndexToNode(i)]

    load = routing.RegisterUnaryTransitCallback(demand)
    routing.AddDimensionWithVehicleCapacity(load, 0, [capacity_kg] * vehicles, True, "load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.seconds = max(1, int(time_limit_s))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        raise ValueError("no route found within the time limit")
    routes: list[list[Visit]] = []
    route_km: list[Decimal] = []
    for v in range(vehicles):
        index = routing.Start(v)
        previous = 0
        carried = 0
        visits: list[Visit] = []
        total = Decimal(0)
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            stop = stops[node - 1]
            carried += stop.kg
            visits.append(Visit(stop.key, stop.kg, carried, km[previous][node]))
            total += km[previous][node]
            previous = node
            index = solution.Value(routing.NextVar(index))
        if visits:
            total += km[previous][0]
            routes.append(visits)
            route_km.append(total)
    status = {0: "not_solved", 1: "success", 2: "fail", 3: "timeout", 4: "invalid"}.get(
        routing.status(), str(routing.status())
    )
    return Plan(routes, sum(route_km, Decimal(0)), route_km, status, time.perf_counter() - started)


def alone_cost(depot: tuple[float, float], stop: Stop, t: rules.Tariffs) -> Decimal:
    """One producer alone: a vehicle from the receiver and back for its load alone."""
    km = rules.road_km(rules.haversine_km(depot[0], depot[1], stop.lat, stop.lon), t)
    return rules.trip_cost(km * 2, t)
