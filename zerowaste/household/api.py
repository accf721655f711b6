"""HTTP API of the household event core: a device's offline batch, dead letters, daily roll-ups.

Each handler parses, makes one service call and serializes.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from zerowaste.api import Pagination, actor_of, resolved_annotations
from zerowaste.core.api import ErrorOut

from . import ingest, services

router = Router(tags=["household"])

MAX_BATCH = 5000
HTTP_TOPIC = "http:batch"  # not topic-shaped: no device is named by it


class HouseholdSignedEventIn(Schema):
    event: dict[str, Any] = Field(
        ...,
        description="the event as the device built it: device, seq, occurred_at, node, side, handover, "
        "class, weight_kg (text, kg, ≤ 3 decimals), optional quality_grade, impurities, recyclable_kind, "
        "bin, source, station, vehicle, site",
    )
    sig: str = Field(..., max_length=128, description="hex HMAC-SHA256 of the event's canonical JSON")


class HouseholdEventsIn(Schema):
    events: list[HouseholdSignedEventIn] = Field(..., max_length=MAX_BATCH)


class HouseholdIngestOut(Schema):
    stored: int
    duplicate: int
    dead_lettered: int


class HouseholdDeadLetterOut(Schema):
    id: int
    topic: str
    payload: str
    field: str
    reason: str = Field(..., description="in words, naming the field, in the reader's language")
    device: str | None
    received_at: datetime


class HouseholdFlowOut(Schema):
    day: date
    node: str
    place: str
    station_id: int | None
    vehicle_id: int | None
    site_id: int | None
    area_id: int | None
    household_class: str
    in_kg: Decimal
    out_kg: Decimal
    events: int


@router.post("/household/events", response={200: HouseholdIngestOut, 403: ErrorOut, 422: ErrorOut})
def post_events(request: HttpRequest, data: HouseholdEventsIn) -> dict[str, int]:
    """A batch of signed events from a device that was offline (its buffer), stored exactly like MQTT
    messages: a (device, seq) already stored counts as a duplicate; a bad event is dead-lettered."""
    actor = actor_of(request)
    services.require_uploader(actor)
    messages = [
        ingest.Message(HTTP_TOPIC, json.dumps({"event": e.event, "sig": e.sig}, ensure_ascii=False))
        for e in data.events
    ]
    return ingest.ingest_batch(actor.zone_id, messages).as_dict()


@router.get("/household/dead-letters", response={200: list[HouseholdDeadLetterOut], 403: ErrorOut})
@paginate(Pagination)
def list_dead_letters(request: HttpRequest) -> Any:
    """Payloads that could not be stored, newest first, with the reason (regulators)."""
    letters = services.visible_dead_letters(actor_of(request)).select_related("device")
    return [services.dead_letter_row(d) for d in letters[:1000]]


@router.get("/household/flows", response={200: list[HouseholdFlowOut], 403: ErrorOut, 422: ErrorOut})
@paginate(Pagination)
@resolved_annotations
def list_flows(request: HttpRequest, day: date) -> Any:
    """The day's roll-ups per node, place and class (regulators; a street regulator its jurisdiction)."""
    return services.flows(actor_of(request), day)
