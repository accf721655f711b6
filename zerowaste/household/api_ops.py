"""API of the household operations (ops17): the monthly red/black lists, education visits, routes, the
plants' roles and the source total-control quotas.
Registered on `household.api.router` (imported at the end of api.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema

from zerowaste.api import actor_of
from zerowaste.core.api import ErrorOut

from . import ops, settings_ops
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


class HouseholdRouteDayOut(Schema):
    vehicle_id: int
    plate: str
    day: date
    stops: list[HouseholdRouteStopOut]
    visited: list[str] = Field(..., description="codes of the stations the vehicle loaded at that day")
    off_route: bool = Field(..., description="it loaded at a station not on its route")
    alarm_ids: list[int] = Field(..., description="the off-route alarms of that day")


@router.get("/household/routes", response={200: HouseholdRouteDayOut, 403: ErrorOut, 422: ErrorOut})
def get_route(request: HttpRequest, vehicle_id: int, day: date) -> dict[str, Any]:
    """A vehicle's planned route of a day, where it loaded and whether it went off its route (the
    vehicle's carrier; regulators over it)."""
    route = ops.route_day(actor_of(request), vehicle_id, day)
    return {
        "vehicle_id": route.vehicle.pk,
        "plate": route.vehicle.plate,
        "day": route.day,
        "stops": [
            {"position": s.position, "station_id": s.station_id, "station": s.station.code}
            for s in route.stops
        ],
        "visited": [v["station"].code for v in route.visited],
        "off_route": route.off_route,
        "alarm_ids": [a.pk for a in route.alarms],
    }


class HouseholdSiteRoleIn(Schema):
    site_id: int
    role: str = Field(
        ..., max_length=16, description="transfer, kitchen, recycling, incineration, landfill, hazardous"
    )


class HouseholdSiteRoleOut(Schema):
    site_id: int
    site: str
    organization: str
    role: str = Field(
        ..., description='the role code; "" for a site that received household waste without one'
    )
    role_label: str


@router.get("/household/site-roles", response={200: list[HouseholdSiteRoleOut], 403: ErrorOut})
def get_site_roles(request: HttpRequest) -> list[dict[str, Any]]:
    """The zone's plants and what they do with the household waste they receive (zone regulators)."""
    return settings_ops.site_roles(actor_of(request))


@router.post("/household/site-roles", response={200: HouseholdSiteRoleOut, 403: ErrorOut, 422: ErrorOut})
def post_site_role(request: HttpRequest, data: HouseholdSiteRoleIn) -> dict[str, Any]:
    """Give a site its role in household waste, replacing the one it had (zone regulators)."""
    found = settings_ops.set_site_role(actor_of(request), data.site_id, data.role)
    return settings_ops.site_role_row(found.site, found.role)


@router.delete("/household/site-roles/{site_id}", response={204: None, 403: ErrorOut, 404: ErrorOut})
def delete_site_role(request: HttpRequest, site_id: int) -> tuple[int, None]:
    """Take a site's role away (zone regulators): what it received counts as cleared to an unknown
    destination again."""
    settings_ops.remove_site_role(actor_of(request), site_id)
    return 204, None


class HouseholdQuotaIn(Schema):
    area: str | None = Field(None, max_length=32, description="street or community code; empty: the zone")
    year: int
    quota_t: Decimal = Field(..., description="tonnes, at most 3 decimal places")
    source: str = Field("", max_length=settings_ops.MAX_SOURCE, description="the document it comes from")


class HouseholdQuotaOut(Schema):
    id: int
    area: str | None
    area_name: str | None
    year: int
    quota_t: Decimal
    source: str


@router.get("/household/quotas", response={200: list[HouseholdQuotaOut], 403: ErrorOut})
def get_quotas(request: HttpRequest) -> list[dict[str, Any]]:
    """The annual source total-control quotas of the zone, its streets and communities (zone regulators)."""
    return settings_ops.quotas(actor_of(request))


@router.post("/household/quotas", response={200: HouseholdQuotaOut, 403: ErrorOut, 422: ErrorOut})
def post_quota(request: HttpRequest, data: HouseholdQuotaIn) -> dict[str, Any]:
    """Set a year's quota of the zone or of a street or community, replacing the one there."""
    found = settings_ops.set_quota(
        actor_of(request), area_code=data.area, year=data.year, quota_t=data.quota_t, source=data.source
    )
    return settings_ops.quota_row(found)


@router.delete("/household/quotas/{quota_id}", response={204: None, 403: ErrorOut, 404: ErrorOut})
def delete_quota(request: HttpRequest, quota_id: int) -> tuple[int, None]:
    """Remove a quota set by mistake (zone regulators; the audit keeps what it was)."""
    settings_ops.remove_quota(actor_of(request), quota_id)
    return 204, None
