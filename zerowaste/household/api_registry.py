"""HTTP API of the household registry: the workbook import and the lists of sources, stations and
bins, on the household router (registered by importing this module from `household.api`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from zerowaste.api import Pagination, actor_of
from zerowaste.core.api import ErrorOut

from . import registry
from .api import router


class HouseholdRegistryImportOut(Schema):
    created: dict[str, int] = Field(..., description="new rows per kind: sources, stations, bins")
    updated: dict[str, int]
    unchanged: dict[str, int]
    dry_run: bool


class HouseholdSourceOut(Schema):
    id: int
    code: str
    kind: str
    name: str
    community_id: int
    community: str = Field(..., description="the community's code")
    address: str
    responsible_party: str
    residents: int | None
    unit_kind: str
    contract_number: str
    collector_uscc: str | None
    contract_from: date | None
    contract_to: date | None
    is_active: bool


class HouseholdStationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    community_id: int
    is_active: bool


class HouseholdBinOut(Schema):
    id: int
    chip: str
    household_class: str
    capacity_l: int
    station: str | None = Field(..., description="the station's code")
    source: str | None = Field(..., description="the source's code")
    is_active: bool


@router.post(
    "/household/registry/import",
    response={200: HouseholdRegistryImportOut, 403: ErrorOut, 422: ErrorOut},
)
def import_registry(request: HttpRequest, file: File[UploadedFile], dry_run: bool = False) -> dict[str, Any]:
    """One workbook with the sheets 户 (households), 单位 (units), 站点 (stations), 容器 (bins): every
    row is checked first (422 lists every fault by sheet, row and column; nothing is written), then
    all are written; re-importing the same rows updates them and creates nothing twice."""
    result = registry.import_workbook(
        actor_of(request), file.read(), filename=file.name or "registry.xlsx", dry_run=dry_run
    )
    return result.as_dict()


def _source_row(s: Any) -> dict[str, Any]:
    return {
        "id": s.pk,
        "code": s.code,
        "kind": s.kind,
        "name": s.name,
        "community_id": s.community_id,
        "community": s.community.code,
        "address": s.address,
        "responsible_party": s.responsible_party,
        "residents": s.residents,
        "unit_kind": s.unit_kind,
        "contract_number": s.contract_number,
        "collector_uscc": s.collector.uscc if s.collector else None,
        "contract_from": s.contract_from,
        "contract_to": s.contract_to,
        "is_active": s.is_active,
    }


@router.get("/household/sources", response={200: list[HouseholdSourceOut], 403: ErrorOut})
@paginate(Pagination)
def list_sources(
    request: HttpRequest,
    community: int | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> Any:
    """Households and social units in the caller's area (filters: community id, kind, text)."""
    found = registry.sources(actor_of(request), community_id=community, kind=kind, q=(q or "")[:100] or None)
    return [_source_row(s) for s in found[:10_000]]


@router.get("/household/stations", response={200: list[HouseholdStationOut], 403: ErrorOut})
@paginate(Pagination)
def list_stations(request: HttpRequest, community: int | None = None) -> Any:
    """Stations in the caller's area."""
    return registry.stations(actor_of(request), community_id=community)


@router.get("/household/bins", response={200: list[HouseholdBinOut], 403: ErrorOut})
@paginate(Pagination)
def list_bins(request: HttpRequest, community: int | None = None) -> Any:
    """Bins in the caller's area, with the code of their station or source."""
    return [
        {
            "id": b.pk,
            "chip": b.chip,
            "household_class": b.household_class,
            "capacity_l": b.capacity_l,
            "station": b.station.code if b.station else None,
            "source": b.source.code if b.source else None,
            "is_active": b.is_active,
        }
        for b in registry.bins(actor_of(request), community_id=community)[:10_000]
    ]
