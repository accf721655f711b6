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

from . import alarms, balance, ingest, points, services

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
    alarms: int = Field(0, description="alarms the new events raised")
    points: int = Field(0, description="points the new events granted to households")


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


# --- Slice 2: alarms, mass balance, residents' points ----------------------------------------------


class HouseholdAlarmOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str = Field(..., description="open, escalated or resolved")
    day: date | None
    figures: str = Field(..., description="the figures in words, in the reader's language")
    owner: str | None
    station: str | None
    bin: str | None
    source: str | None
    vehicle: str | None
    site: str | None
    handover: str | None
    household_class: str | None
    raised_at: datetime
    deadline: date = Field(..., description="in working days from raising, by kind")
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class HouseholdResolveIn(Schema):
    resolution: str = Field(..., max_length=alarms.MAX_RESOLUTION, description="what was done (required)")


class HouseholdBalanceOut(Schema):
    day: date
    place: str
    place_name: str
    household_class: str
    in_kg: Decimal
    out_kg: Decimal
    stock_change_kg: Decimal
    difference_kg: Decimal = Field(..., description="in − out − stock change")
    tolerance_kg: Decimal
    closes: bool
    station_id: int | None
    vehicle_id: int | None
    area_id: int | None


class HouseholdPointsEntryOut(Schema):
    id: int
    delta: int
    balance_after: int
    reason: str
    reason_label: str
    event: str | None = Field(..., description="device#seq of the event a grant comes from")
    merchant: str | None
    reverses: int | None
    note: str | None
    created_at: datetime


class HouseholdPointsOut(Schema):
    source: str
    balance: int
    entries: list[HouseholdPointsEntryOut]


class HouseholdRedeemIn(Schema):
    points: int = Field(..., ge=1, le=100_000)
    merchant_id: int = Field(..., ge=1, le=2**62)
    note: str = Field("", max_length=200)


@router.get("/household/alarms", response={200: list[HouseholdAlarmOut], 403: ErrorOut, 422: ErrorOut})
@paginate(Pagination)
@resolved_annotations
def list_alarms(
    request: HttpRequest, kind: str | None = None, state: str | None = None, day: date | None = None
) -> Any:
    """Alarms as tasks, newest first: a zone regulator all, a street regulator its street's, an owner
    organization its own. Filters: kind, state (open, escalated, resolved), day."""
    found = alarms.visible_alarms(actor_of(request), kind=kind, state=state, day=day)
    return [alarms.alarm_row(a) for a in found[:1000]]


@router.post(
    "/household/alarms/{alarm_id}/resolve",
    response={200: HouseholdAlarmOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def resolve_alarm(request: HttpRequest, alarm_id: int, data: HouseholdResolveIn) -> dict[str, Any]:
    """Close an alarm with what was done (its owner, a regulator over it)."""
    return alarms.alarm_row(alarms.resolve(actor_of(request), alarm_id, data.resolution))


@router.get("/household/balance", response={200: list[HouseholdBalanceOut], 403: ErrorOut, 422: ErrorOut})
def get_balance(request: HttpRequest, day: date) -> list[dict[str, Any]]:
    """The day's mass balance per station and vehicle and class: in = out + stock change ± tolerance."""
    return balance.for_actor(actor_of(request), day)


@router.get("/household/points/{source_code}", response={200: HouseholdPointsOut, 404: ErrorOut})
def get_points(request: HttpRequest, source_code: str) -> dict[str, Any]:
    """A household's balance and its ledger, newest first (the last 500 lines)."""
    source, points_balance, entries = points.account(actor_of(request), source_code)
    return {
        "source": source.code,
        "balance": points_balance,
        "entries": [points.entry_row(e) for e in entries[:500]],
    }


@router.post(
    "/household/points/{source_code}/redeem",
    response={200: HouseholdPointsEntryOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def redeem_points(request: HttpRequest, source_code: str, data: HouseholdRedeemIn) -> dict[str, Any]:
    """Spend points at a merchant within the household's 2 km service circle (send an Idempotency-Key:
    a retried redemption is answered, not spent twice)."""
    entry = points.redeem(
        actor_of(request), source_code, points=data.points, merchant_id=data.merchant_id, note=data.note
    )
    return points.entry_row(entry)


# The slices' routes, registered on this router.
from . import api_field, api_ops, api_participation, api_registry, park_api  # noqa: E402, F401
