"""HTTP API of the exchange: the public board, listings, matching runs, proposals, pooled collection.

Each handler parses, makes one service call and serializes. Every write accepts an `Idempotency-Key`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from zerowaste.api import Pagination, actor_of
from zerowaste.core.api import ErrorOut
from zerowaste.core.models import Zone

from . import photos, services
from .models import DemandListing, MatchRun, PoolRun, Proposal, SupplyListing, SupplyPhoto
from .views import photo_response

router = Router(tags=["exchange"])

ID = Field(..., ge=1, le=2**62)


class ExchangeBoardRowOut(Schema):
    category: str
    code: str
    name: str
    supply_t_per_month: str | None = Field(None, description="None when one organization alone supplies")
    demand_t_per_month: str | None = Field(
        None,
        description="capacity of the demand listings taking the code; a listing's capacity counts under "
        "each of its codes, so rows do not add up",
    )
    price_min_cny_per_t: str | None
    price_max_cny_per_t: str | None
    listings: int


class ExchangeSupplyIn(Schema):
    waste_code: str = Field(..., max_length=40, description="catalog code, ISW `99-09-05` or HW `900-041-49`")
    site_id: int = ID
    kind: str = Field("monthly", description="monthly (a quantity per month) or lot (a one-off lot)")
    quantity_t: Decimal = Field(..., description="tonnes, > 0, at most 3 decimals")
    divisible: bool | None = Field(
        None, description="may be split between buyers (default: monthly yes, lot no)"
    )
    price_cny_per_t: str = Field(
        "0", max_length=40, description="asking price in CNY per tonne; negative: the fee you would pay"
    )
    currency: str = Field("CNY", max_length=8, description="must be CNY")
    quality_notes: str = Field("", max_length=4000)
    packaging: str = Field("", max_length=60)
    photos: list[str] = Field(default_factory=list, max_length=6, description="image addresses")
    pickup_from: date | None = None
    pickup_to: date | None = None
    anonymous: bool = Field(False, description="hide the producer's name until a match is accepted")


class ExchangeSupplyOut(Schema):
    id: int
    organization_id: int
    site_id: int
    stream: str
    waste_code: str
    category: str
    waste_name: str
    kind: str
    quantity_t: Decimal
    divisible: bool
    quality_notes: str
    packaging: str
    photos: list[str]
    pickup_from: date | None
    pickup_to: date | None
    price_cny_per_t: Decimal
    anonymous: bool
    status: str
    created_at: datetime
    photo_urls: list[str] = Field(..., description="addresses of the uploaded photos (images, JPEG)")

    @staticmethod
    def resolve_photo_urls(obj: SupplyListing) -> list[str]:
        return [photos.url_of(p, api=True) for p in obj.uploaded_photos.all()]


class ExchangePhotoOut(Schema):
    id: int
    url: str = Field(..., description="the image (JPEG); carries no name")
    width: int
    height: int
    size_bytes: int

    @staticmethod
    def resolve_url(obj: SupplyPhoto) -> str:
        return photos.url_of(obj, api=True)


class ExchangeDemandPriceIn(Schema):
    waste_code: str = Field(..., max_length=40)
    price_cny_per_t: str = Field(..., max_length=40, description="CNY per tonne offered; negative: a fee")
    currency: str = Field("CNY", max_length=8)


class ExchangeDemandIn(Schema):
    site_id: int = ID
    capacity_t_per_month: Decimal
    service_radius_km: Decimal
    prices: list[ExchangeDemandPriceIn] = Field(..., max_length=200)
    notes: str = Field("", max_length=4000)


class ExchangeDemandPriceOut(Schema):
    waste_code: str
    category: str
    stream: str
    price_cny_per_t: Decimal


class ExchangeDemandOut(Schema):
    id: int
    organization_id: int
    site_id: int
    capacity_t_per_month: Decimal
    service_radius_km: Decimal
    notes: str
    status: str
    prices: list[ExchangeDemandPriceOut]
    created_at: datetime

    @staticmethod
    def resolve_prices(obj: DemandListing) -> list[Any]:
        return list(obj.prices.all())


class ExchangeMatchIn(Schema):
    period: str = Field(..., max_length=7, description="YYYY-MM")
    time_limit_s: float = Field(60.0, ge=1, le=600)


class ExchangeProposalBriefOut(Schema):
    id: int
    supply: int
    demand: int
    code: str
    quantity_t: str
    value: str
    distance_km: str


class ExchangeRunOut(Schema):
    run: int
    period: str
    value: str
    greedy_value: str
    gain_over_greedy: str
    bound: str
    gap: str
    optimal: bool
    seconds: float
    proposals: list[ExchangeProposalBriefOut]


class ExchangeAlternativeOut(Schema):
    demand: int
    distance_km: str
    price_cny_per_t: str
    value_cny_per_t: str


class ExchangeProposalOut(Schema):
    id: int
    run_id: int
    supply_id: int
    demand_id: int
    waste_code: str
    quantity_t: Decimal
    price_cny_per_t: Decimal
    transport_cny_per_t: Decimal
    handling_cny_per_t: Decimal
    value_cny: Decimal
    distance_km: Decimal
    counterpart: str
    alternatives: list[ExchangeAlternativeOut]
    status: str
    supplier_accepted: bool
    receiver_accepted: bool
    transfer_id: int | None


class ExchangePoolIn(Schema):
    waste_code: str = Field(..., max_length=40)
    receiver_id: int | None = Field(None, ge=1, le=2**62)
    carrier_id: int | None = Field(None, ge=1, le=2**62)
    vehicle_capacity_t: Decimal | None = None
    time_limit_s: int = Field(5, ge=1, le=120)


class ExchangePoolStopOut(Schema):
    vehicle: int
    seq: int
    supply_id: int
    quantity_t: Decimal
    load_after_t: Decimal
    leg_km: Decimal
    alone_cost_cny: Decimal
    transfer_id: int | None


class ExchangePoolOut(Schema):
    run: int
    waste_code: str
    status: str
    vehicles: int
    total_t: str
    road_km: str
    pooled_cost_cny: str
    alone_cost_cny: str
    saving_cny: str
    pooled_cny_per_t: str | None
    alone_cny_per_t: str | None
    stops: list[ExchangePoolStopOut]


def _proposal(request: HttpRequest, p: Proposal) -> dict[str, Any]:
    actor = actor_of(request)
    agreement = getattr(p, "agreement", None) if p.status == "accepted" else None
    return {
        "id": p.pk,
        "run_id": p.run_id,
        "supply_id": p.supply_id,
        "demand_id": p.demand_id,
        "waste_code": p.waste_code,
        "quantity_t": p.quantity_t,
        "price_cny_per_t": p.price_cny_per_t,
        "transport_cny_per_t": p.transport_cny_per_t,
        "handling_cny_per_t": p.handling_cny_per_t,
        "value_cny": p.value_cny,
        "distance_km": p.distance_km,
        "counterpart": services.counterpart_name(actor, p),
        "alternatives": p.alternatives,
        "status": p.status,
        "supplier_accepted": p.supplier_accepted_at is not None,
        "receiver_accepted": p.receiver_accepted_at is not None,
        "transfer_id": agreement.transfer_id if agreement else None,
    }


def _pool(request: HttpRequest, run: PoolRun) -> dict[str, Any]:
    data = services.pool_summary(run)
    data["stops"] = services.pool_stops(actor_of(request), run)
    return data


# --- The public board ------------------------------------------------------------------------------


@router.get("/exchange/board", response={200: list[ExchangeBoardRowOut], 404: ErrorOut}, auth=None)
def board(request: HttpRequest, zone: str | None = None) -> Any:
    """Open listings by code, aggregates only (public, no login)."""
    from zerowaste.catalog.services import public_zone

    z: Zone = public_zone(zone)
    return services.public_board(z.pk)


# --- Listings --------------------------------------------------------------------------------------


@router.get("/exchange/supply", response={200: list[ExchangeSupplyOut]})
@paginate(Pagination)
def list_supply(request: HttpRequest, status: str | None = None) -> Any:
    qs = (
        services.visible_supply(actor_of(request))
        .prefetch_related(Prefetch("uploaded_photos", queryset=SupplyPhoto.objects.only("pk", "listing_id")))
        .order_by("-pk")
    )
    return qs.filter(status=status) if status else qs


@router.post("/exchange/supply", response={201: ExchangeSupplyOut, 403: ErrorOut, 422: ErrorOut})
def create_supply(request: HttpRequest, data: ExchangeSupplyIn) -> tuple[int, SupplyListing]:
    return 201, services.create_supply(actor_of(request), data=data.dict())


@router.get("/exchange/supply/{supply_listing_id}", response={200: ExchangeSupplyOut, 404: ErrorOut})
def get_supply(request: HttpRequest, supply_listing_id: int) -> SupplyListing:
    return services.get_supply(actor_of(request), supply_listing_id)


@router.post(
    "/exchange/supply/{supply_listing_id}/withdraw",
    response={200: ExchangeSupplyOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def withdraw_supply(request: HttpRequest, supply_listing_id: int) -> SupplyListing:
    return services.withdraw_supply(actor_of(request), supply_listing_id)


# --- Photos of supply listings ---------------------------------------------------------------------


@router.post(
    "/exchange/supply/{supply_listing_id}/photos",
    response={201: ExchangePhotoOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def add_photo(request: HttpRequest, supply_listing_id: int, file: File[UploadedFile]) -> Status:
    """Upload a photo (JPEG, PNG or WebP, at most 8 MB and 40 megapixels) to your open listing.

    It is stored re-encoded as a JPEG of at most 1600 px, upright, without EXIF or other metadata.
    A listing has at most 6 photos, counting the addresses given in `photos`."""
    photo = photos.add_photo(
        actor_of(request), supply_listing_id, content=photos.read_upload(file), filename=file.name or ""
    )
    return Status(201, photo)


@router.get(
    "/exchange/supply/{supply_listing_id}/photos", response={200: list[ExchangePhotoOut], 404: ErrorOut}
)
def list_photos(request: HttpRequest, supply_listing_id: int) -> list[SupplyPhoto]:
    """The listing's uploaded photos (its organization, its regulator, receivers it was proposed to)."""
    return photos.photos_of(actor_of(request), supply_listing_id)


@router.get("/exchange/photos/{photo_id}", response={200: None, 404: ErrorOut, 422: ErrorOut})
def get_photo(request: HttpRequest, photo_id: int, size: str = "full") -> HttpResponse:
    """The image (`image/jpeg`); `size=thumbnail` for a copy of at most 320 px on its long side."""
    return photo_response(photos.get_photo(actor_of(request), photo_id), size)


@router.delete(
    "/exchange/photos/{photo_id}", response={204: None, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
)
def remove_photo(request: HttpRequest, photo_id: int) -> Status:
    """Remove a photo of your open listing."""
    photos.remove_photo(actor_of(request), photo_id)
    return Status(204, None)


@router.get("/exchange/demand", response={200: list[ExchangeDemandOut]})
@paginate(Pagination)
def list_demand(request: HttpRequest, status: str | None = None) -> Any:
    qs = services.visible_demand(actor_of(request)).prefetch_related("prices").order_by("-pk")
    return qs.filter(status=status) if status else qs


@router.post("/exchange/demand", response={201: ExchangeDemandOut, 403: ErrorOut, 422: ErrorOut})
def create_demand(request: HttpRequest, data: ExchangeDemandIn) -> tuple[int, DemandListing]:
    return 201, services.create_demand(actor_of(request), data=data.dict())


@router.get("/exchange/demand/{demand_listing_id}", response={200: ExchangeDemandOut, 404: ErrorOut})
def get_demand(request: HttpRequest, demand_listing_id: int) -> DemandListing:
    return services.get_demand(actor_of(request), demand_listing_id)


@router.post(
    "/exchange/demand/{demand_listing_id}/withdraw",
    response={200: ExchangeDemandOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def withdraw_demand(request: HttpRequest, demand_listing_id: int) -> DemandListing:
    return services.withdraw_demand(actor_of(request), demand_listing_id)


# --- Matching and proposals ------------------------------------------------------------------------


@router.post("/exchange/runs", response={201: ExchangeRunOut, 403: ErrorOut, 422: ErrorOut})
def run_matching(request: HttpRequest, data: ExchangeMatchIn) -> tuple[int, dict[str, Any]]:
    """Run the matching for a month (regulators): optimal value, greedy baseline, LP bound, gap."""
    actor = actor_of(request)
    run = services.run_matching(actor, period=data.period, time_limit_s=data.time_limit_s)
    return 201, services.match_result(actor, run)


@router.get("/exchange/runs/{match_run_id}", response={200: ExchangeRunOut, 404: ErrorOut})
def get_run(request: HttpRequest, match_run_id: int) -> dict[str, Any]:
    actor = actor_of(request)
    run: MatchRun = services.get_run(actor, match_run_id)
    return services.match_result(actor, run)


@router.get("/exchange/proposals", response={200: list[ExchangeProposalOut]})
@paginate(Pagination)
def list_proposals(request: HttpRequest, status: str | None = None) -> Any:
    qs = services.visible_proposals(actor_of(request)).select_related("agreement").order_by("-pk")
    if status:
        qs = qs.filter(status=status)
    return [_proposal(request, p) for p in qs[:1000]]


@router.get("/exchange/proposals/{proposal_id}", response={200: ExchangeProposalOut, 404: ErrorOut})
def get_proposal(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    return _proposal(request, services.get_proposal(actor_of(request), proposal_id))


@router.post(
    "/exchange/proposals/{proposal_id}/accept",
    response={200: ExchangeProposalOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def accept_proposal(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    """Accept your side; when both sides have, an agreement and its transfer (a draft) are created."""
    p = services.accept_proposal(actor_of(request), proposal_id)
    return _proposal(request, services.get_proposal(actor_of(request), p.pk))


@router.post(
    "/exchange/proposals/{proposal_id}/decline",
    response={200: ExchangeProposalOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
)
def decline_proposal(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    p = services.decline_proposal(actor_of(request), proposal_id)
    return _proposal(request, services.get_proposal(actor_of(request), p.pk))


# --- Pooled collection -----------------------------------------------------------------------------


@router.post(
    "/exchange/pools",
    response={201: ExchangePoolOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def plan_pool(request: HttpRequest, data: ExchangePoolIn) -> tuple[int, dict[str, Any]]:
    """Plan a pooled collection of the small open supplies of one code (regulators)."""
    run = services.plan_pool(
        actor_of(request),
        waste_code=data.waste_code,
        receiver_id=data.receiver_id,
        carrier_id=data.carrier_id,
        vehicle_capacity_t=data.vehicle_capacity_t,
        time_limit_s=data.time_limit_s,
    )
    return 201, _pool(request, run)


@router.get("/exchange/pools/{pool_run_id}", response={200: ExchangePoolOut, 404: ErrorOut})
def get_pool(request: HttpRequest, pool_run_id: int) -> dict[str, Any]:
    return _pool(request, services.get_pool(actor_of(request), pool_run_id))


@router.post(
    "/exchange/pools/{pool_run_id}/execute",
    response={200: ExchangePoolOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def execute_pool(request: HttpRequest, pool_run_id: int) -> dict[str, Any]:
    """Create one transfer per producer of the run, linked to it (regulators)."""
    return _pool(request, services.execute_pool(actor_of(request), pool_run_id))
