"""Use cases of the exchange: listings, the public board, matching, proposals, pooled collection.

Public services for other apps: `public_board(zone_id)` (the portal's aggregates), `tariffs_of`.
Every write takes an `Actor`, checks its input naming the field, audits, and runs in a transaction;
state changes of proposals and pooled runs lock the row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit, bounds
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import Licence, Organization, Site, Zone
from zerowaste.core.services import check_text

from . import engine, routing, rules
from .models import (
    Agreement,
    DemandListing,
    DemandPrice,
    MatchRun,
    PoolRun,
    PoolStop,
    Proposal,
    SupplyListing,
)

SUPPLY_AUDITED = (
    "organization_id",
    "site_id",
    "stream",
    "waste_code",
    "kind",
    "quantity_t",
    "divisible",
    "quality_notes",
    "packaging",
    "photos",
    "pickup_from",
    "pickup_to",
    "price_cny_per_t",
    "anonymous",
    "status",
)
DEMAND_AUDITED = (
    "organization_id",
    "site_id",
    "capacity_t_per_month",
    "service_radius_km",
    "notes",
    "status",
)
STREAMS = ("isw", "hw")
MAX_PHOTOS = 6
ALTERNATIVES = 3


# --- Helpers ---------------------------------------------------------------------------------------


def _invalid(exc: ValueError) -> Invalid:
    field, _sep, message = str(exc).partition(": ")
    return Invalid.field(field, message or str(exc))


def _zone(zone_id: int) -> Zone:
    return Zone.objects.get(pk=zone_id)


def tariffs_of(zone_id: int) -> rules.Tariffs:
    return rules.tariffs(_zone(zone_id).settings)


def _require_writer(actor: Actor) -> None:
    """Clerks and admins write listings and accept proposals; API tokens need `declare` or `admin`."""
    if actor.is_system:
        return
    if actor.member_role not in ("admin", "clerk"):
        raise Forbidden(_("your role does not allow this (exchange)"))
    if actor.token_scopes is not None and not ({"declare", "sign", "admin"} & actor.token_scopes):
        raise Forbidden(_("this token lacks the scope to write (declare, sign or admin)"))


def _require_regulator(actor: Actor) -> None:
    """The matching, pooled collection and tariffs act on the whole zone's listings: a zone
    regulator's work. A street regulator would change other streets' proposals (issue 15, defect 7)."""
    if actor.is_system:
        return
    if not actor.is_regulator:
        raise Forbidden(_("only a regulator runs the matching and pooled collection"))
    if actor.jurisdiction_area_ids is not None:
        raise Forbidden(_("only a zone-wide regulator runs the matching and pooled collection"))
    _require_writer(actor)


def _acting_org(actor: Actor, organization_id: Any, role: str) -> Organization:
    """The organization a listing is for: the actor's own (system actors name one)."""
    if actor.is_system:
        try:
            pk = int(organization_id)
        except (TypeError, ValueError) as exc:
            raise Invalid.field("organization_id", _("this field is required")) from exc
        org = Organization.objects.filter(zone_id=actor.zone_id, pk=pk).first()
        if org is None:
            raise Invalid.field("organization_id", _("no such organization in this zone"))
    else:
        _require_writer(actor)
        assert actor.organization is not None
        org = actor.organization
    if not org.roles.filter(role=role).exists():
        labels = {"producer": _("a producer"), "receiver": _("a receiver (recycler)")}
        raise Forbidden(_("only %(who)s lists this") % {"who": labels.get(role, role)})
    return org


def _site(org: Organization, site_id: Any) -> Site:
    try:
        pk = int(site_id)
    except (TypeError, ValueError) as exc:
        raise Invalid.field("site_id", _("this field is required")) from exc
    site = Site.objects.filter(zone_id=org.zone_id, organization=org, pk=pk, is_active=True).first()
    if site is None:
        raise Invalid.field("site_id", _("no such site of %(org)s") % {"org": org.name})
    if site.latitude is None or site.longitude is None:
        raise Invalid.field(
            "site_id", _("the site %(site)s has no coordinates (latitude, longitude)") % {"site": site.name}
        )
    return site


@dataclass(frozen=True)
class _Code:
    code: str
    stream: str
    category: str
    name: str


def _code(zone_id: int, value: Any, field: str, on: date) -> _Code:
    from zerowaste.catalog import rules as catalog_rules
    from zerowaste.catalog import services as catalog

    code = check_text(value, field, max_length=40, required=True)
    stream = catalog_rules.guess_stream(code)
    if stream not in STREAMS:
        raise Invalid.field(field, _("an ISW (99-01-01) or HW (900-041-49) catalog code"))
    check = catalog.code_valid(zone_id, stream, code, on)
    if not check.ok or check.entry is None:
        raise Invalid.field(field, str(check.message or _("unknown waste code")))
    return _Code(code, stream, check.entry.category.code, check.entry.name)


def _date_or_none(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return bounds.check_date(value, field)
    try:
        return bounds.check_date(date.fromisoformat(str(value)), field)
    except ValueError as exc:
        raise Invalid.field(field, _("not a date (YYYY-MM-DD)")) from exc


def _photos(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)):
        raise Invalid.field("photos", _("a list of photo addresses"))
    if len(value) > MAX_PHOTOS:
        raise Invalid.field("photos", _("at most %(n)d photos") % {"n": MAX_PHOTOS})
    result = []
    for i, raw in enumerate(value, start=1):
        text = check_text(raw, f"photos[{i}]", max_length=500, required=True)
        if not (text.startswith("https://") or text.startswith("http://") or text.startswith("/media/")):
            raise Invalid.field(f"photos[{i}]", _("an http(s) address of an image"))
        result.append(text)
    return result


def _licensed_hw(org: Organization, code: _Code, on: date) -> bool:
    return any(
        rules.licence_covers_code(lic.waste_codes, code.code, code.category)
        for lic in Licence.objects.filter(zone_id=org.zone_id, organization=org).in_force(on, "hw_operating")
    )


# --- Listings --------------------------------------------------------------------------------------


@transaction.atomic
def create_supply(actor: Actor, *, data: Mapping[str, Any]) -> SupplyListing:
    """A producer's supply listing. Every field is checked before anything is written."""
    org = _acting_org(actor, data.get("organization_id"), "producer")
    today = timezone.localdate()
    code = _code(actor.zone_id, data.get("waste_code"), "waste_code", today)
    kind = data.get("kind") or rules.KIND_MONTHLY
    if kind not in (rules.KIND_MONTHLY, rules.KIND_LOT):
        raise Invalid.field("kind", _("monthly or lot"))
    try:
        quantity = rules.parse_tonnes(data.get("quantity_t"), "quantity_t")
        price = rules.parse_price(
            data.get("price_cny_per_t", 0), "price_cny_per_t", data.get("currency") or "CNY"
        )
    except ValueError as exc:
        raise _invalid(exc) from exc
    site = _site(org, data.get("site_id"))
    pick_from = _date_or_none(data.get("pickup_from"), "pickup_from")
    pick_to = _date_or_none(data.get("pickup_to"), "pickup_to")
    if pick_from and pick_to and pick_to < pick_from:
        raise Invalid.field("pickup_to", _("must not be before the earliest pick-up"))
    divisible = data.get("divisible")
    if divisible is None:
        divisible = kind == rules.KIND_MONTHLY  # a lot goes whole unless its producer says otherwise
    listing = SupplyListing.objects.create(
        zone_id=actor.zone_id,
        organization=org,
        site=site,
        stream=code.stream,
        waste_code=code.code,
        category=code.category,
        waste_name=code.name[:300],
        kind=kind,
        quantity_t=quantity,
        divisible=bool(divisible),
        quality_notes=check_text(data.get("quality_notes"), "quality_notes", max_length=4000),
        packaging=check_text(data.get("packaging"), "packaging", max_length=60),
        photos=_photos(data.get("photos")),
        pickup_from=pick_from,
        pickup_to=pick_to,
        price_cny_per_t=price,
        anonymous=bool(data.get("anonymous", False)),
        created_by=actor.username,
    )
    audit.record(
        actor, "exchange.supply.create", listing, audit.diff({}, audit.snapshot(listing, SUPPLY_AUDITED))
    )
    return listing


@transaction.atomic
def create_demand(actor: Actor, *, data: Mapping[str, Any]) -> DemandListing:
    """A receiver's demand listing with a price per accepted code; HW codes need a licence covering them."""
    org = _acting_org(actor, data.get("organization_id"), "receiver")
    today = timezone.localdate()
    try:
        capacity = rules.parse_tonnes(data.get("capacity_t_per_month"), "capacity_t_per_month")
        radius = rules.parse_decimal(data.get("service_radius_km"), "service_radius_km")
    except ValueError as exc:
        raise _invalid(exc) from exc
    if not Decimal(0) < radius <= Decimal(2000):
        raise Invalid.field("service_radius_km", _("between 0 and 2000 km"))
    site = _site(org, data.get("site_id"))
    raw_prices = data.get("prices")
    if not isinstance(raw_prices, (list, tuple)) or not raw_prices:
        raise Invalid.field("prices", _("at least one accepted code with its price"))
    if len(raw_prices) > 200:
        raise Invalid.field("prices", _("at most 200 codes"))
    prices: list[tuple[_Code, Decimal]] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_prices, start=1):
        if not isinstance(raw, Mapping):
            raise Invalid.field(f"prices[{i}]", _("must be an object"))
        code = _code(actor.zone_id, raw.get("waste_code"), f"prices[{i}].waste_code", today)
        if code.code in seen:
            raise Invalid.field(f"prices[{i}].waste_code", _("listed twice"))
        seen.add(code.code)
        try:
            price = rules.parse_price(
                raw.get("price_cny_per_t"), f"prices[{i}].price_cny_per_t", raw.get("currency") or "CNY"
            )
        except ValueError as exc:
            raise _invalid(exc) from exc
        if code.stream == "hw" and not _licensed_hw(org, code, today):
            raise Invalid.field(
                f"prices[{i}].waste_code",
                _("%(org)s holds no valid hazardous-waste operating licence covering %(code)s")
                % {"org": org.name, "code": code.code},
            )
        prices.append((code, price))
    demand = DemandListing.objects.create(
        zone_id=actor.zone_id,
        organization=org,
        site=site,
        capacity_t_per_month=capacity,
        service_radius_km=radius.quantize(Decimal("0.1")),
        notes=check_text(data.get("notes"), "notes", max_length=4000),
        created_by=actor.username,
    )
    DemandPrice.objects.bulk_create(
        [
            DemandPrice(
                zone_id=actor.zone_id,
                demand=demand,
                stream=code.stream,
                waste_code=code.code,
                category=code.category,
                price_cny_per_t=price,
            )
            for code, price in prices
        ]
    )
    changes = audit.diff({}, audit.snapshot(demand, DEMAND_AUDITED))
    changes["prices"] = [None, {c.code: str(p) for c, p in prices}]
    audit.record(actor, "exchange.demand.create", demand, changes)
    return demand


def visible_supply(actor: Actor) -> QuerySet[SupplyListing]:
    """Own listings; a regulator's: those of its jurisdiction."""
    base = SupplyListing.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.is_regulator:
        return base.filter(organization_id__in=visible_organizations(actor).values("pk"))
    return base.filter(organization_id=actor.organization_id or 0)


def visible_demand(actor: Actor) -> QuerySet[DemandListing]:
    base = DemandListing.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.is_regulator:
        return base.filter(organization_id__in=visible_organizations(actor).values("pk"))
    return base.filter(organization_id=actor.organization_id or 0)


def get_supply(actor: Actor, listing_id: int) -> SupplyListing:
    listing = visible_supply(actor).filter(pk=listing_id).select_related("site").first()
    if listing is None:
        raise NotFound(_("supply listing %(id)s not found") % {"id": listing_id})
    return listing


def get_demand(actor: Actor, listing_id: int) -> DemandListing:
    listing = visible_demand(actor).filter(pk=listing_id).select_related("site").first()
    if listing is None:
        raise NotFound(_("demand listing %(id)s not found") % {"id": listing_id})
    return listing


def check_owner(actor: Actor, org_id: int) -> None:
    """Forbidden unless the actor acts for the organization (the system acts for any; photos use it)."""
    if actor.is_system:
        return
    if org_id != actor.organization_id:
        raise Forbidden(_("only the listing's organization changes it"))
    _require_writer(actor)


def _withdraw(actor: Actor, listing: Any, side: str, audited: Any) -> Any:
    """Withdraw a supply or demand listing; its open proposals are superseded."""
    check_owner(actor, listing.organization_id)
    listing = type(listing).objects.select_for_update().get(pk=listing.pk)
    if listing.status == rules.STATUS_WITHDRAWN:
        raise Conflict(_("already withdrawn"))
    before = audit.snapshot(listing, audited)
    listing.status = rules.STATUS_WITHDRAWN
    listing.save(update_fields=["status", "updated_at"])
    Proposal.objects.filter(**{side: listing, "status": rules.PROPOSED}).update(status=rules.SUPERSEDED)
    audit.record(
        actor, f"exchange.{side}.withdraw", listing, audit.diff(before, audit.snapshot(listing, audited))
    )
    return listing


@transaction.atomic
def withdraw_supply(actor: Actor, listing_id: int) -> SupplyListing:
    return _withdraw(actor, get_supply(actor, listing_id), "supply", SUPPLY_AUDITED)


@transaction.atomic
def withdraw_demand(actor: Actor, listing_id: int) -> DemandListing:
    return _withdraw(actor, get_demand(actor, listing_id), "demand", DEMAND_AUDITED)


# --- The public board ------------------------------------------------------------------------------


def _fmt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def public_board(zone_id: int) -> list[dict[str, Any]]:
    """Open listings by waste category and code, as aggregates only (no names, no single company).

    One dict per code: `category`, `code`, `name`, `supply_t_per_month`, `demand_t_per_month`,
    `price_min_cny_per_t`, `price_max_cny_per_t` (offered by demand), `listings` (count of supply and
    demand listings). A figure that would come from one organization alone is None (suppressed), as
    it would be that organization's own figure. Decimals are strings.
    """
    rows: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    supply_orgs: dict[str, set[int]] = defaultdict(set)
    demand_orgs: dict[str, set[int]] = defaultdict(set)
    price_orgs: dict[str, set[int]] = defaultdict(set)

    def row(code: str, category: str) -> dict[str, Any]:
        if code not in rows:
            rows[code] = {
                "category": category,
                "code": code,
                "supply": Decimal(0),
                "demand": Decimal(0),
                "prices": [],
                "listings": 0,
            }
        return rows[code]

    for s in SupplyListing.objects.filter(zone_id=zone_id, status=rules.STATUS_OPEN).values(
        "waste_code", "category", "waste_name", "quantity_t", "organization_id"
    ):
        r = row(s["waste_code"], s["category"])
        r["supply"] += s["quantity_t"]
        r["listings"] += 1
        supply_orgs[s["waste_code"]].add(s["organization_id"])
        names.setdefault(s["waste_code"], s["waste_name"])
    for p in DemandPrice.objects.filter(zone_id=zone_id, demand__status=rules.STATUS_OPEN).values(
        "waste_code", "category", "price_cny_per_t", "demand__capacity_t_per_month", "demand__organization_id"
    ):
        r = row(p["waste_code"], p["category"])
        r["demand"] += p["demand__capacity_t_per_month"]
        r["prices"].append(p["price_cny_per_t"])
        r["listings"] += 1
        demand_orgs[p["waste_code"]].add(p["demand__organization_id"])
        price_orgs[p["waste_code"]].add(p["demand__organization_id"])
    if rows:
        from zerowaste.catalog.models import CatalogEntry

        for code, name in (
            CatalogEntry.objects.filter(zone_id=zone_id, code__in=list(rows))
            .order_by("code", "-version__effective_from")
            .values_list("code", "name")
        ):
            names.setdefault(code, name)
    result = []
    for code in sorted(rows, key=lambda c: (rows[c]["category"], c)):
        r = rows[code]
        several_prices = len(price_orgs[code]) >= 2
        result.append(
            {
                "category": r["category"],
                "code": code,
                "name": names.get(code, ""),
                "supply_t_per_month": _fmt(r["supply"]) if len(supply_orgs[code]) >= 2 else None,
                "demand_t_per_month": _fmt(r["demand"]) if len(demand_orgs[code]) >= 2 else None,
                "price_min_cny_per_t": _fmt(min(r["prices"])) if several_prices else None,
                "price_max_cny_per_t": _fmt(max(r["prices"])) if several_prices else None,
                "listings": r["listings"],
            }
        )
    return result


# --- Matching --------------------------------------------------------------------------------------


@dataclass
class _Side:
    listing: Any
    lat: float
    lon: float


def committed_tonnes(zone_id: int, start: date) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Tonnes that agreements already hold, by supply and by demand listing, for the month `start`.

    A demand's capacity and a monthly quantity are per month: the agreements of runs for that month
    count. A one-off lot is sold once: its agreements count whatever the month. Open proposals are not
    commitments: a run supersedes them.
    """
    by_supply: dict[int, Decimal] = defaultdict(Decimal)
    by_demand: dict[int, Decimal] = defaultdict(Decimal)
    agreed = Agreement.objects.filter(zone_id=zone_id).filter(
        Q(proposal__run__period=start) | Q(proposal__supply__kind=rules.KIND_LOT)
    )
    for supply_id, demand_id, period, quantity in agreed.values_list(
        "proposal__supply_id", "proposal__demand_id", "proposal__run__period", "quantity_t"
    ):
        by_supply[supply_id] += quantity
        if period == start:
            by_demand[demand_id] += quantity
    return dict(by_supply), dict(by_demand)


def _candidates(zone_id: int, start: date) -> tuple[list[SupplyListing], list[DemandListing]]:
    """The open listings of the month, each with what agreements leave of it (`quantity_t` and
    `capacity_t_per_month` reduced in memory, never saved); a listing with nothing left is out."""
    end = rules.month_end(start)
    agreed_supply, agreed_demand = committed_tonnes(zone_id, start)
    supplies = []
    for s in (
        SupplyListing.objects.filter(zone_id=zone_id, status=rules.STATUS_OPEN)
        .select_related("site")
        .order_by("pk")
    ):
        if not (
            rules.window_overlaps(s.pickup_from, s.pickup_to, start, end)
            and s.site.latitude is not None
            and s.site.longitude is not None
        ):
            continue
        s.quantity_t = rules.remaining_t(s.quantity_t, agreed_supply.get(s.pk, rules.ZERO))
        if s.quantity_t > 0:
            supplies.append(s)
    demands = []
    for d in (
        DemandListing.objects.filter(zone_id=zone_id, status=rules.STATUS_OPEN)
        .select_related("site")
        .prefetch_related("prices")
        .order_by("pk")
    ):
        d.capacity_t_per_month = rules.remaining_t(
            d.capacity_t_per_month, agreed_demand.get(d.pk, rules.ZERO)
        )
        if d.capacity_t_per_month > 0:
            demands.append(d)
    return supplies, demands


def _hw_licences(zone_id: int, org_ids: set[int], on: date) -> dict[int, list[Licence]]:
    found: dict[int, list[Licence]] = defaultdict(list)
    for lic in Licence.objects.filter(zone_id=zone_id, organization_id__in=org_ids).in_force(
        on, "hw_operating"
    ):
        found[lic.organization_id].append(lic)
    return found


def build_problem(
    supplies: list[SupplyListing], demands: list[DemandListing], t: rules.Tariffs, on: date
) -> tuple[engine.Problem, list[dict[str, Decimal]]]:
    """The engine's problem: one arc per (supply, demand) that is allowed and worth something.

    Allowed: the demand takes the code at a price at least the asking price, the supply lies inside
    its service radius, the supplier is not the receiver, and for HW the receiver holds a licence in
    force covering the code on the period's first day. Worth something: net value per tonne > 0
    (`rules.net_value_per_t`: a producer that pays a fee counts the fee it avoids).
    """
    licences = _hw_licences(supplies[0].zone_id if supplies else 0, {d.organization_id for d in demands}, on)
    by_code: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for j, d in enumerate(demands):
        for p in d.prices.all():
            if p.stream == "hw" and not any(
                rules.licence_covers_code(lic.waste_codes, p.waste_code, p.category)
                for lic in licences.get(d.organization_id, [])
            ):
                continue
            by_code[p.waste_code].append((j, p.price_cny_per_t))
    arcs: list[engine.Arc] = []
    details: list[dict[str, Decimal]] = []
    for i, s in enumerate(supplies):
        assert s.site.latitude is not None and s.site.longitude is not None
        handling, avoided = t.handling(s.stream), rules.avoided_fee_per_t(s.price_cny_per_t)
        for j, price in by_code.get(s.waste_code, []):
            d = demands[j]
            if d.organization_id == s.organization_id or price < s.price_cny_per_t:
                continue
            assert d.site.latitude is not None and d.site.longitude is not None
            km = rules.haversine_km(
                float(s.site.latitude),
                float(s.site.longitude),
                float(d.site.latitude),
                float(d.site.longitude),
            )
            if rules.road_km(km, t) > d.service_radius_km:
                continue
            transport = rules.transport_cny_per_t(km, t)
            value = price - transport - handling + avoided  # rules.net_value_per_t, parts kept
            if value <= 0:
                continue
            arcs.append(engine.Arc(i, j, rules.to_fen(value), rules.road_km(km, t)))
            details.append({"price": price, "transport": transport, "handling": handling, "value": value})
    problem = engine.Problem(
        supply_kg=[rules.to_kg(s.quantity_t) for s in supplies],
        divisible=[s.divisible for s in supplies],
        capacity_kg=[rules.to_kg(d.capacity_t_per_month) for d in demands],
        arcs=arcs,
    )
    return problem, details


MATCH_ATTEMPTS = 2  # solves before a run gives up because listings keep changing under it


def _listings_state(zone_id: int) -> tuple[Any, ...]:
    """What a matching run depends on: every open listing of the zone and when it last changed, and
    the agreements (one made while the solver ran holds tonnes the run did not subtract)."""
    return (
        Agreement.objects.filter(zone_id=zone_id).aggregate(n=Count("pk"), last=Max("pk")),
        tuple(
            SupplyListing.objects.filter(zone_id=zone_id, status=rules.STATUS_OPEN)
            .order_by("pk")
            .values_list("pk", "updated_at")
        ),
        tuple(
            DemandListing.objects.filter(zone_id=zone_id, status=rules.STATUS_OPEN)
            .order_by("pk")
            .values_list("pk", "updated_at")
        ),
    )


def run_matching(actor: Actor, *, period: str, time_limit_s: float = 60.0) -> MatchRun:
    """Match what the open listings of a month have left; earlier open proposals are superseded.

    Left: a demand's monthly capacity and a supply's quantity less what agreements already hold
    (`committed_tonnes`), so that a rerun never proposes tonnes a party has already agreed.

    The solver may run for a minute, so it runs outside any transaction (holding one would keep a
    connection idle in transaction and block nothing useful). The result is written under a lock on
    the zone row, and only if no open listing changed meanwhile: otherwise the run solves again, and
    after `MATCH_ATTEMPTS` it refuses rather than propose a withdrawn or edited listing.
    """
    _require_regulator(actor)
    try:
        start = rules.month_start(period)
    except ValueError as exc:
        raise _invalid(exc) from exc
    if not 1 <= time_limit_s <= 600:
        raise Invalid.field("time_limit_s", _("between 1 and 600 seconds"))
    for _attempt in range(MATCH_ATTEMPTS):
        zone = _zone(actor.zone_id)
        t = rules.tariffs(zone.settings)
        state = _listings_state(zone.pk)
        supplies, demands = _candidates(zone.pk, start)
        problem, details = build_problem(supplies, demands, t, start)
        solution = engine.solve(problem, time_limit_s=time_limit_s)
        with transaction.atomic():
            locked = Zone.objects.select_for_update().get(pk=zone.pk)
            if locked.settings == zone.settings and _listings_state(zone.pk) == state:
                return _record_run(actor, zone, start, t, supplies, demands, problem, details, solution)
    raise Conflict(_("listings kept changing while the matching ran; run it again"))


def _record_run(
    actor: Actor,
    zone: Zone,
    start: date,
    t: rules.Tariffs,
    supplies: list[SupplyListing],
    demands: list[DemandListing],
    problem: engine.Problem,
    details: list[dict[str, Decimal]],
    solution: engine.Solution,
) -> MatchRun:
    """Write a solved run and its proposals (inside the caller's transaction, under the zone lock)."""
    run = MatchRun.objects.create(
        zone=zone,
        period=start,
        value_cny=solution.value_cny(),
        greedy_value_cny=engine.units_to_cny(solution.greedy_units),
        bound_cny=engine.units_to_cny(solution.bound_units),
        gap=solution.gap,
        optimal=solution.optimal,
        seconds=Decimal(str(round(solution.seconds, 3))),
        supplies=len(supplies),
        demands=len(demands),
        arcs=len(problem.arcs),
        settings=t.as_dict(),
        stats=dict(solution.stats),
        created_by=actor.username,
    )
    Proposal.objects.filter(zone_id=zone.pk, status=rules.PROPOSED).update(status=rules.SUPERSEDED)
    by_supply: dict[int, list[int]] = defaultdict(list)
    for k, arc in enumerate(problem.arcs):
        by_supply[arc.supply].append(k)
    chosen = {(problem.arcs[a.arc].supply, problem.arcs[a.arc].demand) for a in solution.assignments}
    proposals = []
    for a in sorted(solution.assignments, key=lambda a: a.arc):
        arc = problem.arcs[a.arc]
        s, d, detail = supplies[arc.supply], demands[arc.demand], details[a.arc]
        quantity = Decimal(a.kg) / 1000
        others = sorted(
            (k for k in by_supply[arc.supply] if (arc.supply, problem.arcs[k].demand) not in chosen),
            key=lambda k: -problem.arcs[k].value_fen_per_t,
        )[:ALTERNATIVES]
        proposals.append(
            Proposal(
                zone=zone,
                run=run,
                supply=s,
                demand=d,
                supplier_id=s.organization_id,
                receiver_id=d.organization_id,
                waste_code=s.waste_code,
                quantity_t=quantity,
                price_cny_per_t=detail["price"],
                transport_cny_per_t=detail["transport"],
                handling_cny_per_t=detail["handling"],
                value_cny=(detail["value"] * quantity).quantize(rules.FEN),
                distance_km=arc.distance_km,
                alternatives=[
                    {
                        "demand": demands[problem.arcs[k].demand].pk,
                        "distance_km": str(problem.arcs[k].distance_km),
                        "price_cny_per_t": str(details[k]["price"]),
                        "value_cny_per_t": str(details[k]["value"]),
                    }
                    for k in others
                ],
            )
        )
    Proposal.objects.bulk_create(proposals, batch_size=1000)
    audit.record(
        actor,
        "exchange.match",
        run,
        {
            "period": [None, start.isoformat()],
            "value_cny": [None, str(run.value_cny)],
            "greedy_value_cny": [None, str(run.greedy_value_cny)],
            "bound_cny": [None, str(run.bound_cny)],
            "gap": [None, str(run.gap)],
            "proposals": [None, len(proposals)],
        },
    )
    return run


def match_result(actor: Actor, run: MatchRun) -> dict[str, Any]:
    """The CLI's and API's summary of a run (issue 7, point 7), with the proposals the actor may see."""
    return {
        "run": run.pk,
        "period": run.period.strftime("%Y-%m"),
        "value": str(run.value_cny),
        "greedy_value": str(run.greedy_value_cny),
        "gain_over_greedy": str(run.value_cny - run.greedy_value_cny),
        "bound": str(run.bound_cny),
        "gap": str(run.gap.normalize()) if run.gap else "0",
        "optimal": run.optimal,
        "seconds": float(run.seconds),
        "proposals": [
            {
                "id": p.pk,
                "supply": p.supply_id,
                "demand": p.demand_id,
                "code": p.waste_code,
                "quantity_t": str(p.quantity_t),
                "value": str(p.value_cny),
                "distance_km": str(p.distance_km),
            }
            for p in run_proposals(actor, run).order_by("pk")
        ],
    }


def visible_runs(actor: Actor) -> QuerySet[MatchRun]:
    """A zone regulator's: every run; a street regulator's: the runs proposing something to or from
    an organization of its jurisdiction; nobody else's."""
    base = MatchRun.objects.filter(zone_id=actor.zone_id)
    if actor.is_system or (actor.is_regulator and actor.jurisdiction_area_ids is None):
        return base
    if actor.is_regulator:
        return base.filter(pk__in=visible_proposals(actor).values("run_id"))
    return base.none()


def run_proposals(actor: Actor, run: MatchRun) -> QuerySet[Proposal]:
    """The proposals of a run the actor may see (a street regulator: those its jurisdiction is party to)."""
    return visible_proposals(actor).filter(run=run)


def get_run(actor: Actor, run_id: int) -> MatchRun:
    run = visible_runs(actor).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("matching run %(id)s not found") % {"id": run_id})
    return run


# --- Proposals and agreements ----------------------------------------------------------------------


def visible_proposals(actor: Actor) -> QuerySet[Proposal]:
    base = Proposal.objects.filter(zone_id=actor.zone_id).select_related(
        "supply", "demand", "supplier", "receiver", "run"
    )
    if actor.is_system:
        return base
    if actor.is_regulator:
        orgs = visible_organizations(actor).values("pk")
        return base.filter(Q(supplier_id__in=orgs) | Q(receiver_id__in=orgs))
    return base.filter(Q(supplier_id=actor.organization_id) | Q(receiver_id=actor.organization_id))


def get_proposal(actor: Actor, proposal_id: int) -> Proposal:
    p = visible_proposals(actor).filter(pk=proposal_id).first()
    if p is None:
        raise NotFound(_("proposal %(id)s not found") % {"id": proposal_id})
    return p


def avoided_fee(actor: Actor, p: Proposal) -> tuple[bool, Decimal | None]:
    """Whether the proposal's net value counts a fee its producer avoids (ADR 0035), and that fee
    per tonne as this actor may see it: the producer's own ceiling is not shown to the receiver."""
    asking = p.supply.price_cny_per_t
    if asking >= 0:
        return False, None
    if actor.is_system or actor.is_regulator or actor.organization_id == p.supplier_id:
        return True, -asking
    return True, None


def counterpart_name(actor: Actor, p: Proposal) -> str:
    """The other party's name as this actor may see it: a supplier stays anonymous until agreed."""
    if actor.organization_id == p.supplier_id:
        return p.receiver.name
    if p.supply.anonymous and p.status != rules.ACCEPTED and not actor.is_regulator:
        return _("anonymous producer")
    return p.supplier.name


def _carrier_for(zone_id: int, stream: str, receiver: Organization, on: date) -> Organization:
    """Who carries an agreed transfer: the receiver if it carries, else the zone's first qualified carrier."""
    candidates = [receiver] if receiver.roles.filter(role="carrier").exists() else []
    candidates += list(
        Organization.objects.filter(zone_id=zone_id, is_active=True, roles__role="carrier").order_by("pk")[
            :50
        ]
    )
    for org in candidates:
        if stream != "hw":
            return org
        if Licence.objects.filter(organization=org).in_force(on, "hw_transport").exists():
            return org
    raise Conflict(_("no carrier in the zone may carry this waste; register one first"))


@transaction.atomic
def accept_proposal(actor: Actor, proposal_id: int) -> Proposal:
    """The actor's side accepts; when both have, an agreement and its transfer (a draft) are made."""
    from zerowaste.transfers import services as transfers

    p = get_proposal(actor, proposal_id)
    p = (
        Proposal.objects.select_for_update()
        .select_related("supply", "demand", "supplier", "receiver")
        .get(pk=p.pk)
    )
    sides = []
    if actor.is_system or actor.organization_id == p.supplier_id:
        sides.append("supplier")
    if actor.is_system or actor.organization_id == p.receiver_id:
        sides.append("receiver")
    if not sides:
        raise Forbidden(_("only the two parties accept a proposal"))
    _require_writer(actor)
    if p.status != rules.PROPOSED:
        raise Conflict(_("this proposal is %(status)s") % {"status": p.get_status_display()})
    now = timezone.now()
    if "supplier" in sides and p.supplier_accepted_at is None:
        p.supplier_accepted_at = now
    if "receiver" in sides and p.receiver_accepted_at is None:
        p.receiver_accepted_at = now
    changes: dict[str, Any] = {"accepted_by": [None, sides]}
    if p.supplier_accepted_at and p.receiver_accepted_at:
        supply = SupplyListing.objects.select_for_update().get(pk=p.supply_id)
        if supply.status != rules.STATUS_OPEN:
            raise Conflict(_("the supply listing is no longer open"))
        p.status = rules.ACCEPTED
        p.decided_at = now
        on = timezone.localdate()
        carrier = _carrier_for(p.zone_id, supply.stream, p.receiver, on)
        transfer = transfers.create_transfer(
            Actor.system(_zone(p.zone_id)),
            data={
                "consignor_id": p.supplier_id,
                "stream": supply.stream,
                "consignee_id": p.receiver_id,
                "carrier_id": carrier.pk,
                "consignor_site_id": supply.site_id,
                "consignee_site_id": p.demand.site_id,
                "planned_date": on.isoformat(),
                "treatment": _("exchange agreement"),
                "lines": [
                    {
                        "waste_code": p.waste_code,
                        "estimated_t": p.quantity_t,
                        "description": supply.waste_name,
                        "packaging": supply.packaging,
                    }
                ],
            },
        )
        agreement = Agreement.objects.create(
            zone_id=p.zone_id,
            proposal=p,
            supplier_id=p.supplier_id,
            receiver_id=p.receiver_id,
            quantity_t=p.quantity_t,
            price_cny_per_t=p.price_cny_per_t,
            transfer=transfer,
        )
        if supply.kind == rules.KIND_LOT:
            supply.status = rules.STATUS_MATCHED
            supply.save(update_fields=["status", "updated_at"])
            Proposal.objects.filter(supply=supply, status=rules.PROPOSED).exclude(pk=p.pk).update(
                status=rules.SUPERSEDED
            )
        changes["agreement"] = [None, agreement.pk]
        changes["transfer"] = [None, transfer.pk]
    p.save()
    audit.record(actor, "exchange.proposal.accept", p, changes)
    return p


@transaction.atomic
def decline_proposal(actor: Actor, proposal_id: int) -> Proposal:
    p = get_proposal(actor, proposal_id)
    p = Proposal.objects.select_for_update().get(pk=p.pk)
    if not actor.is_system and actor.organization_id not in (p.supplier_id, p.receiver_id):
        raise Forbidden(_("only the two parties decline a proposal"))
    _require_writer(actor)
    if p.status != rules.PROPOSED:
        raise Conflict(_("this proposal is %(status)s") % {"status": p.get_status_display()})
    p.status = rules.DECLINED
    p.decided_at = timezone.now()
    p.save(update_fields=["status", "decided_at"])
    audit.record(actor, "exchange.proposal.decline", p, {"status": [rules.PROPOSED, rules.DECLINED]})
    return p


# --- Pooled collection -----------------------------------------------------------------------------


def _receiver_for_pool(zone_id: int, code: str, receiver_id: Any) -> tuple[Organization, Site]:
    demands = DemandListing.objects.filter(
        zone_id=zone_id, status=rules.STATUS_OPEN, prices__waste_code=code
    ).select_related("organization", "site")
    if receiver_id not in (None, ""):
        try:
            pk = int(receiver_id)
        except (TypeError, ValueError) as exc:
            raise Invalid.field("receiver_id", _("not an id")) from exc
        demands = demands.filter(organization_id=pk)
    best = demands.order_by("-prices__price_cny_per_t", "pk").first()
    if best is None:
        raise Invalid.field("receiver_id", _("no open demand takes %(code)s") % {"code": code})
    return best.organization, best.site


@transaction.atomic
def plan_pool(
    actor: Actor,
    *,
    waste_code: str,
    receiver_id: Any = None,
    carrier_id: Any = None,
    vehicle_capacity_t: Any = None,
    time_limit_s: int = 5,
) -> PoolRun:
    """Group the small open supplies of one code into vehicle routes to one receiver."""
    _require_regulator(actor)
    zone = _zone(actor.zone_id)
    t = rules.tariffs(zone.settings)
    code = _code(zone.pk, waste_code, "waste_code", timezone.localdate())
    capacity = t.vehicle_capacity_t
    if vehicle_capacity_t not in (None, ""):
        try:
            capacity = rules.parse_tonnes(vehicle_capacity_t, "vehicle_capacity_t")
        except ValueError as exc:
            raise _invalid(exc) from exc
    if not 1 <= int(time_limit_s) <= 120:
        raise Invalid.field("time_limit_s", _("between 1 and 120 seconds"))
    receiver, site = _receiver_for_pool(zone.pk, code.code, receiver_id)
    if carrier_id not in (None, ""):
        try:
            carrier = Organization.objects.get(zone_id=zone.pk, pk=int(carrier_id), roles__role="carrier")
        except (TypeError, ValueError, Organization.DoesNotExist) as exc:
            raise Invalid.field("carrier_id", _("no such carrier in this zone")) from exc
    else:
        carrier = _carrier_for(zone.pk, code.stream, receiver, timezone.localdate())
    supplies = list(
        SupplyListing.objects.filter(
            zone_id=zone.pk,
            status=rules.STATUS_OPEN,
            waste_code=code.code,
            quantity_t__lte=t.small_supply_t,
        )
        .exclude(organization=receiver)
        .select_related("site", "organization")
        .order_by("pk")
    )
    # One stop per producer: its small listings of the code are picked up together, at its first site.
    per_org: dict[int, list[SupplyListing]] = defaultdict(list)
    for s in supplies:
        per_org[s.organization_id].append(s)
    groups = [
        listings
        for listings in per_org.values()
        if sum((x.quantity_t for x in listings), Decimal(0)) <= capacity
    ]
    if len(groups) < 2:
        raise Invalid.field(
            "waste_code",
            _("fewer than two small producers of %(code)s (at most %(t)s t each) to pool")
            % {"code": code.code, "t": min(t.small_supply_t, capacity)},
        )
    assert site.latitude is not None and site.longitude is not None
    depot = (float(site.latitude), float(site.longitude))
    stops = [
        routing.Stop(
            g[0].pk,
            float(g[0].site.latitude),  # type: ignore[arg-type]
            float(g[0].site.longitude),  # type: ignore[arg-type]
            sum(rules.to_kg(x.quantity_t) for x in g),
        )
        for g in groups
    ]
    plan = routing.plan(depot, stops, capacity_kg=rules.to_kg(capacity), t=t, time_limit_s=int(time_limit_s))
    alone = {s.key: routing.alone_cost(depot, s, t) for s in stops}
    alone_total = sum(alone.values(), Decimal(0))
    pooled = rules.trip_cost(plan.road_km, t, trips=len(plan.routes))
    total_t = sum((x.quantity_t for g in groups for x in g), Decimal(0))
    run = PoolRun.objects.create(
        zone=zone,
        waste_code=code.code,
        stream=code.stream,
        receiver=receiver,
        receiver_site=site,
        carrier=carrier,
        vehicle_capacity_t=capacity,
        vehicles=len(plan.routes),
        total_t=total_t,
        road_km=plan.road_km,
        pooled_cost_cny=pooled,
        alone_cost_cny=alone_total,
        saving_cny=alone_total - pooled,
        solver={"status": plan.status, "seconds": round(plan.seconds, 3), "time_limit_s": int(time_limit_s)},
        settings=t.as_dict(),
        created_by=actor.username,
    )
    by_pk = {g[0].pk: g[0] for g in groups}
    listings_of = {g[0].pk: [x.pk for x in g] for g in groups}
    PoolStop.objects.bulk_create(
        [
            PoolStop(
                zone=zone,
                run=run,
                vehicle=v + 1,
                seq=n + 1,
                supply=by_pk[visit.key],
                supply_ids=listings_of[visit.key],
                organization_id=by_pk[visit.key].organization_id,
                quantity_t=Decimal(visit.kg) / 1000,
                load_after_t=Decimal(visit.load_after_kg) / 1000,
                leg_km=visit.leg_km,
                alone_cost_cny=alone[visit.key],
            )
            for v, route in enumerate(plan.routes)
            for n, visit in enumerate(route)
        ]
    )
    audit.record(
        actor,
        "exchange.pool.plan",
        run,
        {
            "waste_code": [None, code.code],
            "stops": [None, len(stops)],
            "vehicles": [None, run.vehicles],
            "pooled_cost_cny": [None, str(pooled)],
            "alone_cost_cny": [None, str(alone_total)],
        },
    )
    return run


def visible_pools(actor: Actor) -> QuerySet[PoolRun]:
    base = PoolRun.objects.filter(zone_id=actor.zone_id).select_related("receiver", "carrier")
    if actor.is_system or (actor.is_regulator and actor.jurisdiction_area_ids is None):
        return base
    org = actor.organization_id
    stops = PoolStop.objects.filter(zone_id=actor.zone_id, organization_id=org or 0).values("run_id")
    return base.filter(Q(receiver_id=org) | Q(carrier_id=org) | Q(pk__in=stops))


def get_pool(actor: Actor, run_id: int) -> PoolRun:
    run = visible_pools(actor).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("pooled run %(id)s not found") % {"id": run_id})
    return run


def pool_stops(actor: Actor, run: PoolRun) -> list[PoolStop]:
    """The stops of a run in route order; producers other than the actor's own are unnamed."""
    return list(run.stops.select_related("organization", "supply").order_by("vehicle", "seq"))


def pool_summary(run: PoolRun) -> dict[str, Any]:
    per_t_pooled = (run.pooled_cost_cny / run.total_t).quantize(rules.FEN) if run.total_t else None
    per_t_alone = (run.alone_cost_cny / run.total_t).quantize(rules.FEN) if run.total_t else None
    return {
        "run": run.pk,
        "waste_code": run.waste_code,
        "status": run.status,
        "vehicles": run.vehicles,
        "total_t": str(run.total_t),
        "road_km": str(run.road_km),
        "pooled_cost_cny": str(run.pooled_cost_cny),
        "alone_cost_cny": str(run.alone_cost_cny),
        "saving_cny": str(run.saving_cny),
        "pooled_cny_per_t": _fmt(per_t_pooled),
        "alone_cny_per_t": _fmt(per_t_alone),
        "solver": run.solver,
    }


@transaction.atomic
def execute_pool(actor: Actor, run_id: int) -> PoolRun:
    """Create one transfer per producer of the run (multi-sender trips: one manifest per sender)."""
    from zerowaste.transfers import services as transfers

    run = get_pool(actor, run_id)
    _require_regulator(actor)
    run = PoolRun.objects.select_for_update().get(pk=run.pk)
    if run.status != rules.POOL_PLANNED:
        raise Conflict(_("this pooled run was already executed"))
    system = Actor.system(_zone(run.zone_id))
    on = timezone.localdate()
    for stop in run.stops.select_related("supply").order_by("vehicle", "seq"):
        transfer = transfers.create_transfer(
            system,
            data={
                "consignor_id": stop.organization_id,
                "stream": run.stream,
                "consignee_id": run.receiver_id,
                "carrier_id": run.carrier_id,
                "consignor_site_id": stop.supply.site_id,
                "consignee_site_id": run.receiver_site_id,
                "planned_date": on.isoformat(),
                "treatment": _("pooled collection run %(id)s") % {"id": run.pk},
                "lines": [
                    {
                        "waste_code": run.waste_code,
                        "estimated_t": stop.quantity_t,
                        "description": stop.supply.waste_name,
                        "packaging": stop.supply.packaging,
                    }
                ],
            },
        )
        stop.transfer = transfer
        stop.save(update_fields=["transfer"])
        SupplyListing.objects.filter(pk__in=stop.supply_ids or [stop.supply_id], kind=rules.KIND_LOT).update(
            status=rules.STATUS_MATCHED
        )
    run.status = rules.POOL_EXECUTED
    run.executed_at = timezone.now()
    run.save(update_fields=["status", "executed_at"])
    audit.record(actor, "exchange.pool.execute", run, {"status": [rules.POOL_PLANNED, rules.POOL_EXECUTED]})
    return run


# --- Settings --------------------------------------------------------------------------------------


@transaction.atomic
def configure(actor: Actor, **values: Any) -> rules.Tariffs:
    """Set the zone's tariffs (detour factor, tariff per t·km, handling ...): regulators only."""
    _require_regulator(actor)
    try:
        clean = rules.check_settings(values)
    except ValueError as exc:
        raise _invalid(exc) from exc
    zone = Zone.objects.select_for_update().get(pk=actor.zone_id)
    before = dict(zone.settings.get("exchange") or {})
    zone.settings = {**zone.settings, "exchange": {**before, **clean}}
    zone.save(update_fields=["settings"])
    audit.record(actor, "exchange.configure", zone, {"exchange": [before, zone.settings["exchange"]]})
    return rules.tariffs(zone.settings)
