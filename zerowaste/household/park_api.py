"""HTTP API of a park's "1+4" regime, on the household router: the day's status, station logs,
enterprises' registrations, stations and discharges. Each handler makes one service call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja import Field, Schema

from zerowaste.api import actor_of
from zerowaste.core.api import ErrorOut

from . import park as park_mod
from . import park_rules
from .api import router

T = TypeVar("T")


class HouseholdParkRequirementOut(Schema):
    key: str
    label: str = Field(..., description="in words, in the reader's language")
    done: int
    minimum: int
    per: str = Field(..., description="day or week (the week so far)")
    met: bool
    closes: bool = Field(..., description="whether the day closes the period (a week closes on Saturday)")


class HouseholdParkLogOut(Schema):
    id: int
    station_id: int
    kind: str = Field(..., description="round, cleaning, disinfection, pest_control, clearance, inspection")
    kind_label: str
    at: datetime
    day: date
    slot: str | None = Field(..., description="a round's slot: 13:00 or 16:00")
    by: str
    notes: str | None
    quantity_kg: Decimal | None
    volume_m3: Decimal | None
    result: str | None


class HouseholdParkStationOut(Schema):
    station_id: int
    code: str
    name: str
    kind: str = Field(..., description="reinspection, compactor, recyclables or digester")
    compactor_model: str | None
    met: bool
    requirements: list[HouseholdParkRequirementOut]
    logs: list[HouseholdParkLogOut]


class HouseholdParkStatusOut(Schema):
    park: str
    park_name: str
    day: date
    status: str = Field(..., description="the day's status in words")
    stations: list[HouseholdParkStationOut]


class HouseholdParkLogIn(Schema):
    station_id: int = Field(..., ge=1, le=2**62)
    kind: str = Field(..., max_length=16)
    at: datetime | None = Field(None, description="when (default now); not in the future")
    slot: str = Field("", max_length=5, description="a round's slot: 13:00 or 16:00 (default by time)")
    notes: str = Field("", max_length=500)
    quantity_kg: Decimal | None = Field(None, ge=0, le=100000, max_digits=9, decimal_places=3)
    volume_m3: Decimal | None = Field(
        None, ge=0, le=100, max_digits=5, decimal_places=2, description="a compactor's load"
    )
    result: str = Field("", max_length=8, description="a re-inspection's result: pass or fail")


class HouseholdParkEnterpriseIn(Schema):
    park: str | None = Field(None, max_length=32, description="park code (default: your park)")
    organization_id: int = Field(..., ge=1, le=2**62)
    waste_classes: list[str] = Field(..., max_length=4, description="kitchen, recyclable, hazardous, other")
    expected_kg: dict[str, Decimal] = Field(
        default_factory=dict, max_length=4, description="per class, kg expected a day"
    )
    contact_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=40)


class HouseholdParkEnterpriseOut(Schema):
    id: int
    organization_id: int
    organization: str
    waste_classes: list[str]
    expected_kg: dict[str, str]
    contact_name: str
    contact_phone: str
    registered_at: datetime


class HouseholdParkStationIn(Schema):
    park: str | None = Field(None, max_length=32, description="park code (default: your park)")
    kind: str = Field(..., max_length=16, description="reinspection, compactor, recyclables or digester")
    code: str = Field(..., max_length=64)
    name: str = Field(..., max_length=200)
    compactor_model: str = Field("", max_length=8, description="KJ-8, KJ-10, KJ-12 or KJ-14")
    in_service_from: date | None = Field(None, description="the first day its logs are owed (default today)")


class HouseholdParkStationRowOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    compactor_model: str | None
    capacity_m3: int | None = Field(None, description="the compactor model's capacity")
    in_service_from: date = Field(..., description="the first day its logs are owed")


class HouseholdParkDischargeIn(Schema):
    enterprise_id: int = Field(..., ge=1, le=2**62)
    station_id: int = Field(..., ge=1, le=2**62)
    household_class: str = Field(..., max_length=16)
    quantity_kg: Decimal = Field(..., gt=0, le=100000, max_digits=9, decimal_places=3)
    day: date


class HouseholdParkDischargeOut(Schema):
    id: int
    enterprise_id: int
    station_id: int
    household_class: str
    quantity_kg: Decimal
    day: date


def _call(service: Callable[..., T], request: HttpRequest, data: Schema, subject: str) -> T:
    """The one shape of the POST handlers: the service called as the requester with the body's fields,
    `subject` (the park, station or enterprise acted on) by position, the rest by name."""
    fields = data.model_dump()
    return service(actor_of(request), fields.pop(subject), **fields)


def _fields(record: Any, names: list[str]) -> dict[str, Any]:
    """A created record's id and fields (an empty text as null)."""
    return {"id": record.pk} | {n: getattr(record, n) if getattr(record, n) != "" else None for n in names}


def _station_row(s: Any) -> dict[str, Any]:
    return _fields(s, ["code", "name", "kind", "compactor_model", "in_service_from"]) | {
        "capacity_m3": park_rules.compactor_capacity(s.compactor_model)
    }


def _enterprise_row(e: Any) -> dict[str, Any]:
    return {
        "id": e.pk,
        "organization_id": e.organization_id,
        "organization": e.organization.name,
        "waste_classes": e.waste_classes.split(","),
        "expected_kg": e.expected_kg,
        "contact_name": e.contact_name,
        "contact_phone": e.contact_phone,
        "registered_at": e.registered_at,
    }


@router.get(
    "/household/park/status",
    response={200: HouseholdParkStatusOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def park_status(request: HttpRequest, park: str | None = None, day: date | None = None) -> dict[str, Any]:
    """A park's day: each station's required logs (cleaning ≥ 6, disinfection ≥ 3, the 13:00 and 16:00
    rounds, clearance, weekly pest control) with what is done, and the day's status in words. Default:
    your park, its latest day with logs."""
    actor = actor_of(request)
    area = park_mod.park_of(actor, park)
    on = park_mod.today(actor.zone_id)
    day = day or park_mod.latest_day(actor, area) or on
    statuses = park_mod.day_status(actor, area, day)
    return {
        "park": area.code,
        "park_name": area.name,
        "day": day,
        "status": park_mod.status_words(statuses, day, on),
        "stations": [park_mod.status_row(s) for s in statuses],
    }


@router.post(
    "/household/park/logs",
    response={201: HouseholdParkLogOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def park_log(request: HttpRequest, data: HouseholdParkLogIn) -> tuple[int, dict[str, Any]]:
    """Record a round, cleaning, disinfection, pest control, clearance or re-inspection (with its result:
    pass, or fail when the station re-sorted the waste) at a station (the park's operator)."""
    return 201, park_mod.log_row(_call(park_mod.record_log, request, data, "station_id"))


@router.get(
    "/household/park/enterprises",
    response={200: list[HouseholdParkEnterpriseOut], 403: ErrorOut, 404: ErrorOut},
)
def park_enterprises(request: HttpRequest, park: str | None = None) -> list[dict[str, Any]]:
    """The enterprises registered with a park's discharge system."""
    actor = actor_of(request)
    return [_enterprise_row(e) for e in park_mod.enterprises(actor, park_mod.park_of(actor, park))]


@router.post(
    "/household/park/enterprises",
    response={201: HouseholdParkEnterpriseOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def park_register(request: HttpRequest, data: HouseholdParkEnterpriseIn) -> tuple[int, dict[str, Any]]:
    """Register an enterprise of the park (its classes, expected kg a day, contact), or update it."""
    return 201, _enterprise_row(_call(park_mod.register_enterprise, request, data, "park"))


@router.get(
    "/household/park/stations",
    response={200: list[HouseholdParkStationRowOut], 403: ErrorOut, 404: ErrorOut},
)
def park_stations(request: HttpRequest, park: str | None = None) -> list[dict[str, Any]]:
    """A park's stations: kind, compactor model and its capacity, the first day logs are owed."""
    actor = actor_of(request)
    return [_station_row(s) for s in park_mod.stations(actor, park_mod.park_of(actor, park))]


@router.post(
    "/household/park/stations",
    response={201: HouseholdParkStationRowOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def park_add_station(request: HttpRequest, data: HouseholdParkStationIn) -> tuple[int, dict[str, Any]]:
    """Register one of the park's four stations (a compactor names its model, KJ-8 … KJ-14)."""
    return 201, _station_row(_call(park_mod.add_station, request, data, "park"))


@router.post(
    "/household/park/discharges",
    response={201: HouseholdParkDischargeOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def park_discharge(request: HttpRequest, data: HouseholdParkDischargeIn) -> tuple[int, dict[str, Any]]:
    """Record what a registered enterprise discharged at a station on a day (kg, per class)."""
    d = _call(park_mod.record_discharge, request, data, "enterprise_id")
    return 201, _fields(d, ["enterprise_id", "station_id", "household_class", "quantity_kg", "day"])
