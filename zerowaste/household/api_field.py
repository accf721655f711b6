"""`POST /api/household/handovers`: a field app confirms its side of a hand-over, exactly as the phone
form does (household/field.py; ADR 0056). Registered on the household router (imported at the end of
household/api.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema

from zerowaste.api import actor_of
from zerowaste.core.api import ErrorOut

from . import field, rules
from .api import router


class HouseholdHandoverIn(Schema):
    token: str = Field(
        ...,
        min_length=1,
        max_length=rules.FIELD_TOKEN_MAX,
        description="idempotency token: sent twice, stored once",
    )
    node: str = Field(..., description="source_station, station_vehicle or vehicle_site")
    side: str = Field(..., description="giver or receiver")
    household_class: str = Field(..., max_length=40, description="a class of the household catalog in force")
    weight_kg: str = Field(..., max_length=20, description="kilograms as text, at most 3 decimals")
    station: str = Field("", max_length=64, description="station code")
    vehicle: str = Field("", max_length=16, description="vehicle plate")
    site: int | None = Field(None, description="site id (plant or transfer station)")
    source: str = Field("", max_length=64, description="household code (source → station)")
    bin: str = Field("", max_length=64, description="bin chip")
    handover: str = Field("", max_length=64, description="the hand-over the other side started (its key)")
    quality_grade: str = Field("", max_length=1, description="A, B or C (kitchen waste)")
    impurities: list[str] = Field(
        default_factory=list, max_length=3, description="glass_ceramics, metal, plastic_rubber"
    )
    recyclable_kind: str = Field("", max_length=64)


class HouseholdHandoverOut(Schema):
    stored: bool = Field(..., description="false: this token was confirmed before; nothing more was stored")
    handover: str = Field(..., description="the hand-over's key (the other side confirms with it)")
    device: str
    seq: int
    alarms: int
    points: int


@router.post(
    "/household/handovers",
    response={200: HouseholdHandoverOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def post_handover(request: HttpRequest, data: HouseholdHandoverIn) -> dict[str, Any]:
    """Confirm one side of a hand-over (station keeper, driver, plant clerk): stored through the device
    ingest as the place's phone device, with its roll-ups, alarms and residents' points."""
    result = field.confirm(actor_of(request), **data.dict())
    return {
        "stored": result.stored,
        "handover": result.handover_key,
        "device": result.device,
        "seq": result.seq,
        "alarms": result.alarms,
        "points": result.points,
    }
