"""API of the household operations (ops17): the monthly red/black lists, education visits, routes.
Registered on `household.api.router` (imported at the end of api.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema

from zerowaste.api import actor_of
from zerowaste.core.api import ErrorOut

from . import ops
from .api import router


class HouseholdListEntryOut(Schema):
    month: str
    community: str
    community_name: str
    list: str = Field(..., description="red (红榜, the best sorting) or black (黑榜, the worst)")
    list_label: str
    rank: int
    source: str
    source_name: str
    graded: int = Field(..., description="graded kitchen-waste drops that month")
    good: int = Field(..., description="of which grade A")
    failed: int = Field(..., description="of which failed")


class HouseholdVisitIn(Schema):
    visited_on: date
    visited_by: str = Field(..., max_length=150)
    note: str = Field("", max_length=ops.MAX_NOTE)


class HouseholdVisitOut(Schema):
    alarm_id: int
    resolution_kind: str
    source: str
    visited_on: date
    visited_by: str
    note: str | None
    recorded_at: datetime


class HouseholdRouteIn(Schema):
    vehicle_id: int
    day: date
    station_ids: list[int] = Field(..., min_length=1, max_length=200)


class HouseholdRouteStopOut(Schema):
    position: int
    station_id: int
    station: str


@router.get("/household/lists", response={200: list[HouseholdListEntryOut], 403: ErrorOut, 422: ErrorOut})
def get_lists(request: HttpRequest, month: str | None = None) -> list[dict[str, Any]]:
    """A month's red and black lists per community (`month` YYYY-MM; default the latest compiled).
    Regulators; a street regulator its jurisdiction's communities."""
    actor = actor_of(request)
    chosen = ops.month_of(month) if month else ops.latest_month(actor)
    return ops.lists_for(actor, chosen) if chosen else []


@router.post(
    "/household/alarms/{alarm_id}/education-visit",
    response={200: HouseholdVisitOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def post_education_visit(request: HttpRequest, alarm_id: int, data: HouseholdVisitIn) -> dict[str, Any]:
    """Resolve a household's quality alarm by an education visit (入户宣传): when, by whom, what."""
    visit = ops.record_education_visit(
        actor_of(request), alarm_id, visited_on=data.visited_on, visited_by=data.visited_by, note=data.note
    )
    return ops.visit_row(visit)


@router.post(
    "/household/routes",
    response={200: list[HouseholdRouteStopOut], 403: ErrorOut, 422: ErrorOut},
)
def post_route(request: HttpRequest, data: HouseholdRouteIn) -> list[dict[str, Any]]:
    """Set a vehicle's planned route of a day: its stations in order (regulators)."""
    actor = actor_of(request)
    ops.plan_route(actor, data.vehicle_id, data.day, data.station_ids)
    return [
        {"position": s.position, "station_id": s.station_id, "station": s.station.code}
        for s in ops.route_of(actor.zone_id, data.vehicle_id, data.day)
    ]
