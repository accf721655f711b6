"""API of the residents' participation per community and month (registered on `household.api.router`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema

from zerowaste.api import actor_of
from zerowaste.core.api import ErrorOut

from . import figures, participation
from .api import router


class HouseholdParticipationOut(Schema):
    month: str
    community: str = Field(..., description="community code")
    community_name: str
    street: str
    households: int = Field(..., description="registered households")
    participating: int = Field(..., description="households with at least one drop in the month")
    rate_pct: str | None = Field(None, description="participating ÷ registered, %")


class HouseholdParticipationIn(Schema):
    month: str = Field(..., max_length=7, description="YYYY-MM")


class HouseholdParticipationRefreshOut(Schema):
    month: str
    communities: int
    households: int


@router.get(
    "/household/participation",
    response={200: list[HouseholdParticipationOut], 403: ErrorOut, 422: ErrorOut},
)
def get_participation(request: HttpRequest, month: str | None = None) -> list[dict[str, Any]]:
    """Per community the actor supervises, the month's participating households (`month` YYYY-MM;
    default the latest month with data), from the monthly roll-up."""
    actor = actor_of(request)
    if month:
        chosen = participation.parse_month(month)
    else:
        latest = figures.latest_month(actor.zone_id)
        if latest is None:
            return []
        chosen = latest[0]
    return [
        {"month": chosen.strftime("%Y-%m"), **participation.row_dict(r)}
        for r in participation.month_rows(actor, chosen)
    ]


@router.post(
    "/household/participation",
    response={200: HouseholdParticipationRefreshOut, 403: ErrorOut, 422: ErrorOut},
)
def post_participation(request: HttpRequest, data: HouseholdParticipationIn) -> dict[str, Any]:
    """Recompute a month's participation from the hand-over events (zone regulators; idempotent)."""
    actor = actor_of(request)
    return participation.refresh_for(actor, participation.parse_month(data.month)).as_dict()
