"""Building a small market for tests and the isolation walk, through the services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, Site, Zone
from zerowaste.testing import parties

from . import services
from .models import DemandListing, PoolRun, Proposal, SupplyListing

ISW_CODE = "99-09-05"  # 聚丙烯（PP）, a low-value plastic
ISW_CODE2 = "99-08-02"  # 废铁
HW_CODE = "900-041-49"
_sites = itertools.count(1)

# A point of the zone (北京经开区) and offsets of a few km.
BASE = (Decimal("39.790000"), Decimal("116.500000"))


def site_for(org: Organization, dlat: str = "0", dlon: str = "0", coordinates: bool = True) -> Site:
    zone = Zone.objects.get(pk=org.zone_id)
    return core.add_site(
        Actor.system(zone),
        org.pk,
        name=f"交易厂区{next(_sites)}",  # not the hazardous facilities' 厂区{n}: one owner may get both
        kind="plant",
        latitude=BASE[0] + Decimal(dlat) if coordinates else None,
        longitude=BASE[1] + Decimal(dlon) if coordinates else None,
    )


def ensure_catalogs(zone: Zone) -> None:
    from zerowaste.catalog.models import CatalogVersion
    from zerowaste.transfers.testing import ensure_catalogs as load

    if not CatalogVersion.objects.filter(zone=zone, stream="isw", status="published").exists():
        load(zone)


def supply(
    org: Organization, *, code: str = ISW_CODE, tonnes: str = "10", price: str = "100", **extra: Any
) -> SupplyListing:
    zone = Zone.objects.get(pk=org.zone_id)
    site = extra.pop("site", None) or site_for(org, extra.pop("dlat", "0.01"), extra.pop("dlon", "0.01"))
    return services.create_supply(
        Actor.system(zone),
        data={
            "organization_id": org.pk,
            "waste_code": code,
            "quantity_t": tonnes,
            "price_cny_per_t": price,
            "site_id": site.pk,
            **extra,
        },
    )


def demand(
    org: Organization,
    *,
    prices: dict[str, str] | None = None,
    capacity: str = "100",
    radius: str = "50",
    **extra: Any,
) -> DemandListing:
    zone = Zone.objects.get(pk=org.zone_id)
    site = extra.pop("site", None) or site_for(org, extra.pop("dlat", "0"), extra.pop("dlon", "0"))
    return services.create_demand(
        Actor.system(zone),
        data={
            "organization_id": org.pk,
            "capacity_t_per_month": capacity,
            "service_radius_km": radius,
            "site_id": site.pk,
            "prices": [
                {"waste_code": c, "price_cny_per_t": p} for c, p in (prices or {ISW_CODE: "800"}).items()
            ],
            **extra,
        },
    )


@dataclass
class Market:
    zone: Zone
    producer: Organization
    receiver: Organization
    carrier: Organization
    regulator: Organization


def make_market(zone: Zone | None = None, producer: Organization | None = None) -> Market:
    from zerowaste.transfers.testing import make_carrier

    zone = zone or parties.make_zone()
    ensure_catalogs(zone)
    carrier, _vehicle = make_carrier(zone)
    return Market(
        zone=zone,
        producer=producer or parties.make_org(zone, roles=("producer",)),
        receiver=parties.make_org(zone, roles=("receiver",)),
        carrier=carrier,
        regulator=parties.make_org(zone, roles=("regulator",)),
    )


# --- The generic isolation walk --------------------------------------------------------------------


def _ensure_producer(org: Organization) -> None:
    from zerowaste.core.models import OrganizationRole

    if not org.roles.filter(role="producer").exists():
        OrganizationRole.objects.create(zone_id=org.zone_id, organization=org, role="producer")


def _owner_supply(org: Organization) -> SupplyListing:
    _ensure_producer(org)
    ensure_catalogs(Zone.objects.get(pk=org.zone_id))
    return supply(org, anonymous=True)


def _owner_proposal(org: Organization) -> Proposal:
    m = make_market(Zone.objects.get(pk=org.zone_id), producer=org)
    _ensure_producer(org)
    supply(org, anonymous=True)
    demand(m.receiver)
    run = services.run_matching(Actor.system(m.zone), period="2020-06")
    p = run.proposals.filter(supplier=org).first()
    assert p is not None
    return p


def _owner_demand(org: Organization) -> DemandListing:
    from zerowaste.core.models import OrganizationRole

    ensure_catalogs(Zone.objects.get(pk=org.zone_id))
    if not org.roles.filter(role="receiver").exists():
        OrganizationRole.objects.create(zone_id=org.zone_id, organization=org, role="receiver")
    return demand(org)


def _owner_pool(org: Organization) -> PoolRun:
    m = make_market(Zone.objects.get(pk=org.zone_id), producer=org)
    _ensure_producer(org)
    supply(org, tonnes="0.5", anonymous=True)
    supply(parties.make_org(m.zone, roles=("producer",)), tonnes="0.8", dlat="0.02")
    demand(m.receiver)
    return services.plan_pool(Actor.system(m.zone), waste_code=ISW_CODE)


def _unknown() -> int:
    return 2**40


def _owner_photo(org: Organization) -> int:
    import io

    from PIL import Image

    from . import photos

    image = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(image, format="JPEG")
    zone = Zone.objects.get(pk=org.zone_id)
    listing = _owner_supply(org)
    return photos.add_photo(Actor.system(zone), listing.pk, content=image.getvalue(), filename="o.jpg").pk


ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "supply_listing_id": lambda org: _owner_supply(org).pk,
    "demand_listing_id": lambda org: _owner_demand(org).pk,
    "proposal_id": lambda org: _owner_proposal(org).pk,
    "pool_run_id": lambda org: _owner_pool(org).pk,
    "match_run_id": lambda org: _owner_proposal(org).run_id,
    "photo_id": _owner_photo,
}
ISOLATION_VALUES: dict[str, Callable[[], object]] = {
    "site_id": _unknown,
    "receiver_id": _unknown,
    "carrier_id": _unknown,
    "ExchangeSupplyIn.waste_code": lambda: ISW_CODE,
    "ExchangeDemandPriceIn.waste_code": lambda: ISW_CODE,
    "ExchangeMatchIn.period": lambda: "2020-06",
    "ExchangePoolIn.waste_code": lambda: ISW_CODE,
}

__all__ = ["ISOLATION_PARAMS", "ISOLATION_VALUES", "Market", "demand", "make_market", "supply"]
