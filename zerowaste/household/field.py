"""Hand-overs confirmed on a phone (field pages and `POST /api/household/handovers`, ADR 0056).

A station keeper (a member of the organization running the station), a driver (a member of the
carrier owning the vehicle) or a plant clerk (a member of the organization owning the site) confirms
their side of a hand-over. The confirmation becomes a signed device event of the place's "app"
device (made on first use) and goes through `ingest.ingest_batch`, exactly as a terminal's: the
(device, seq) idempotency, the roll-ups, the alarms and the residents' points are the ingest's.

The seq is allocated under the app device's row lock; the form's idempotency token is kept with it
(`FieldConfirmation`), so a form posted twice stores one event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Site, Vehicle

from . import ingest, rules, services, simulate
from .models import Bin, Device, FieldConfirmation, HandoverEvent, Source, Station

WRITE_ROLES = frozenset({"admin", "clerk"})


@dataclass(frozen=True)
class Places:
    """The places an actor's organization runs: stations it keeps, vehicles it drives, sites it owns."""

    stations: list[Station]
    vehicles: list[Vehicle]
    sites: list[Site]

    @property
    def any(self) -> bool:
        return bool(self.stations or self.vehicles or self.sites)


def places_of(actor: Actor) -> Places:
    if actor.organization_id is None:
        return Places([], [], [])
    return Places(
        list(
            Station.objects.filter(zone_id=actor.zone_id, operator_id=actor.organization_id)
            .select_related("community")
            .order_by("code")
        ),
        list(
            Vehicle.objects.filter(
                zone_id=actor.zone_id, organization_id=actor.organization_id, is_active=True
            ).order_by("plate")
        ),
        list(
            Site.objects.filter(
                zone_id=actor.zone_id, organization_id=actor.organization_id, is_active=True
            ).order_by("name")
        ),
    )


# --- What a keeper scans -------------------------------------------------------------------------------


def source_for_keeper(actor: Actor, code: str) -> tuple[Source, list[Station]]:
    """The household (or unit) a keeper scanned and the keeper's stations in its community; another
    community's household answers 404, as one that does not exist."""
    source = Source.objects.filter(zone_id=actor.zone_id, code=code).select_related("community").first()
    if source is None or actor.organization_id is None:
        raise NotFound(_("no such household"))
    stations = [s for s in places_of(actor).stations if s.community_id == source.community_id]
    if not stations:
        raise NotFound(_("no such household"))
    return source, stations


def bin_for_actor(actor: Actor, chip: str) -> Bin:
    """A bin scanned by the keeper of its station (or of its household's community), or by a driver
    with a hand-over from its station waiting: anyone else is answered 404."""
    bin_ = (
        Bin.objects.filter(zone_id=actor.zone_id, chip=chip)
        .select_related("station__community", "source__community")
        .first()
    )
    if bin_ is None or actor.organization_id is None:
        raise NotFound(_("no such bin"))
    places = places_of(actor)
    keeps = {s.pk for s in places.stations}
    communities = {s.community_id for s in places.stations}
    if bin_.station_id in keeps or (bin_.source is not None and bin_.source.community_id in communities):
        return bin_
    if bin_.station_id is not None and any(p.station_id == bin_.station_id for p in pending(actor, places)):
        return bin_
    raise NotFound(_("no such bin"))


# --- Confirming one side of a hand-over -----------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    stored: bool  # False: the token was seen before (a double submit), nothing more was stored
    handover_key: str
    device: str
    seq: int
    alarms: int = 0
    points: int = 0


def _text(value: Any, field: str, *, required: bool = False, limit: int = rules.MAX_TEXT) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise Invalid.field(field, _("is required"))
        return ""
    if len(text) > limit or any(ord(c) < 32 for c in text):
        raise Invalid.field(field, _("must be text of at most %(limit)s characters") % {"limit": limit})
    return text


def _new_key(zone_id: int, token: str) -> str:
    return "app-" + hashlib.sha256(f"{zone_id}:{token}".encode()).hexdigest()[:32]


def _own_place(
    actor: Actor, kind: str, station: Station | None, vehicle: Vehicle | None, site: Site | None
) -> Any:
    """The place of the actor's side, which its organization must run (else 404: not its place)."""
    org = actor.organization_id
    if kind == "station":
        if station is None or (not actor.is_system and station.operator_id != org):
            raise NotFound(_("no such station"))
        return station
    if kind == "vehicle":
        if vehicle is None or (not actor.is_system and vehicle.organization_id != org):
            raise NotFound(_("no such vehicle"))
        return vehicle
    if site is None or (not actor.is_system and site.organization_id != org):
        raise NotFound(_("no such site"))
    return site


def app_device(zone_id: int, place: Station | Vehicle | Site) -> Device:
    """The place's phone device, made on first use (a concurrent first use finds the other's row)."""
    binding: dict[str, Any]
    area_id: int | None
    if isinstance(place, Station):
        kind, binding, area_id = "station", {"station": place}, place.community_id
    elif isinstance(place, Vehicle):
        kind, binding, area_id = "vehicle", {"vehicle": place}, place.organization.area_id
    else:
        kind, binding, area_id = "site", {"site": place}, place.area_id
    device, _created = Device.objects.get_or_create(
        zone_id=zone_id,
        code=f"{rules.APP_DEVICE_PREFIX[kind]}{place.pk}",
        defaults={"kind": rules.DEVICE_APP, "area_id": area_id, **binding},
    )
    if not device.is_active:
        raise Forbidden(_("the phone device of this place is switched off"))
    return device


def confirm(
    actor: Actor,
    *,
    token: str,
    node: str,
    side: str,
    household_class: str,
    weight_kg: Any,
    station: str = "",
    vehicle: str = "",
    site: int | str | None = None,
    source: str = "",
    bin: str = "",
    handover: str = "",
    quality_grade: str = "",
    impurities: Sequence[str] = (),
    recyclable_kind: str = "",
    now: datetime | None = None,
) -> Confirmed:
    """Confirm the actor's side of a hand-over: checked (the first fault named by its field, nothing
    written), then stored through the ingest. The same token again stores nothing more."""
    now = now or timezone.now()
    if not actor.is_system and actor.member_role not in WRITE_ROLES:
        raise Forbidden(_("your role may not confirm hand-overs"))
    token = _text(token, "token", required=True, limit=rules.FIELD_TOKEN_MAX)
    if node not in rules.NODES:
        raise Invalid.field(
            "node", _("must be one of %(choices)s") % {"choices": ", ".join(sorted(rules.NODES))}
        )
    if side not in rules.SIDES:
        raise Invalid.field(
            "side", _("must be one of %(choices)s") % {"choices": ", ".join(sorted(rules.SIDES))}
        )
    if node == rules.NODE_SOURCE_STATION and side == rules.SIDE_GIVER:
        raise Invalid.field("side", _("a household's drop is confirmed by the station (the receiver side)"))
    zone_id = actor.zone_id

    bin_obj = source_obj = station_obj = vehicle_obj = site_obj = None
    if chip := _text(bin, "bin"):
        bin_obj = Bin.objects.filter(zone_id=zone_id, chip=chip).select_related("station", "source").first()
        if bin_obj is None:
            raise Invalid.field("bin", _("no bin with chip %(value)s is registered") % {"value": chip})
    if code := _text(source, "source"):
        source_obj = Source.objects.filter(zone_id=zone_id, code=code).first()
        if source_obj is None:
            raise Invalid.field("source", _("no source with code %(value)s is registered") % {"value": code})
    elif bin_obj is not None and bin_obj.source is not None:
        source_obj = bin_obj.source
    if code := _text(station, "station"):
        station_obj = Station.objects.filter(zone_id=zone_id, code=code).first()
        if station_obj is None:
            raise Invalid.field(
                "station", _("no station with code %(value)s is registered") % {"value": code}
            )
    elif bin_obj is not None and bin_obj.station is not None:
        station_obj = bin_obj.station
    if plate := _text(vehicle, "vehicle"):
        vehicle_obj = (
            Vehicle.objects.filter(zone_id=zone_id, plate=plate).select_related("organization").first()
        )
        if vehicle_obj is None:
            raise Invalid.field(
                "vehicle", _("no vehicle with plate %(value)s is registered") % {"value": plate}
            )
    if site not in (None, ""):
        site_text = str(site).strip()
        site_obj = (
            Site.objects.filter(zone_id=zone_id, pk=int(site_text)).first() if site_text.isdigit() else None
        )
        if site_obj is None:
            raise Invalid.field("site", _("no site %(value)s is registered") % {"value": site_text})

    own = _own_place(actor, rules.place_kind(node, side), station_obj, vehicle_obj, site_obj)
    present = {"station": station_obj, "vehicle": vehicle_obj, "site": site_obj}
    for needed in rules.required_places(node):
        if present[needed] is None:
            raise Invalid.field(needed, _("is required at this hand-over"))
    if node == rules.NODE_SOURCE_STATION:
        if source_obj is None:
            raise Invalid.field("source", _("scan or type the household's code"))
        if station_obj is not None and source_obj.community_id != station_obj.community_id:
            raise Invalid.field("source", _("the household belongs to another community than the station"))

    key = _text(handover, "handover")
    if key:
        _check_other_side(zone_id, key, node, side, station_obj, vehicle_obj, site_obj)
    else:
        key = _new_key(zone_id, token)

    grades = sorted({str(i) for i in impurities if str(i)})
    event: dict[str, Any] = {
        "seq": 0,
        "occurred_at": now.isoformat(),
        "node": node,
        "side": side,
        "handover": key,
        "class": _text(household_class, "class", required=True),
        "weight_kg": _text(weight_kg, "weight_kg", required=True),
    }
    optional = {
        "quality_grade": _text(quality_grade, "quality_grade"),
        "impurities": grades,
        "recyclable_kind": _text(recyclable_kind, "recyclable_kind"),
        "bin": bin_obj.chip if bin_obj else "",
        "source": source_obj.code if source_obj else "",
        "station": station_obj.code if station_obj else "",
        "vehicle": vehicle_obj.plate if vehicle_obj else "",
        "site": site_obj.pk if site_obj else None,
    }
    event.update({k: v for k, v in optional.items() if v})

    # The device and the month's partition are made before the confirmation's transaction: a first use
    # racing another (or a new month's DDL) then never holds the seq's row lock while it waits.
    device = app_device(zone_id, own)
    _month_partition(now)
    with transaction.atomic():
        Device.objects.select_for_update().filter(pk=device.pk).first()  # the seq's row lock
        earlier = FieldConfirmation.objects.filter(zone_id=zone_id, token=token).first()
        if earlier is not None:
            return Confirmed(False, earlier.handover_key, device.code, earlier.seq)
        event["device"] = device.code
        seq = (
            FieldConfirmation.objects.filter(zone_id=zone_id, device=device).aggregate(m=Max("seq"))["m"] or 0
        ) + 1
        event["seq"] = seq
        try:
            rules.parse_event(
                event, now=now, household_classes=services.household_classes(zone_id, now.date())
            )
        except rules.Rejected as exc:
            raise Invalid.field(
                exc.field, rules.reason_text(exc.field, exc.rule, exc.params).split(": ", 1)[1]
            ) from None
        payload = simulate.signed_message(services.key_of(device), event)
        FieldConfirmation.objects.create(
            zone_id=zone_id,
            token=token,
            device=device,
            seq=seq,
            handover_key=key,
            payload=payload.decode("utf-8"),
            user=actor.user,
            created_by=actor.username,
            created_at=now,
        )
        result = ingest.ingest_batch(zone_id, [ingest.Message(f"app/{device.code}/events", payload)], now=now)
        if result.stored != 1:
            raise Invalid.field("token", _("the confirmation could not be stored; try again"))
    return Confirmed(True, key, device.code, seq, result.alarms, result.points)


def _month_partition(now: datetime) -> None:
    """The ingest's partition of this month, made now (PostgreSQL). Two first uses of a month may race
    in CREATE TABLE IF NOT EXISTS; outside a transaction the loser finds the winner's table."""
    try:
        ingest._ensure_partitions({rules.month_start(now)})
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        ingest._ensure_partitions({rules.month_start(now)})


def _check_other_side(
    zone_id: int,
    key: str,
    node: str,
    side: str,
    station: Station | None,
    vehicle: Vehicle | None,
    site: Site | None,
) -> None:
    """A hand-over named by key must have been started at this node by the other side, at the same
    places, and this side must not have confirmed it yet."""
    events = list(HandoverEvent.objects.filter(zone_id=zone_id, handover_key=key, node=node))
    other = [e for e in events if e.side != side]
    places = {"station_id": station.pk if station else None, "vehicle_id": vehicle.pk if vehicle else None}
    places["site_id"] = site.pk if site else None
    needed = {f"{p}_id" for p in rules.required_places(node)}
    if not other or any(getattr(other[0], p) != places[p] for p in needed):
        raise Invalid.field("handover", _("no such hand-over is waiting for this side"))
    if any(e.side == side for e in events):
        raise Invalid.field("handover", _("this side of the hand-over is confirmed already"))


# --- What a field page reads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A hand-over the other side started, waiting for this side's confirmation."""

    handover_key: str
    node: str
    household_class: str
    weight_kg: Any
    occurred_at: datetime
    station_id: int | None
    station: str
    station_code: str
    vehicle: str
    site_id: int | None
    site: str


def pending(actor: Actor, places: Places | None = None, *, now: datetime | None = None) -> list[Pending]:
    """Giver confirmations at the actor's vehicles (station → vehicle) and sites (vehicle → plant) in
    the last days with no receiver confirmation yet, oldest first."""
    places = places or places_of(actor)
    if not (places.vehicles or places.sites):
        return []
    since = (now or timezone.now()) - timedelta(days=rules.FIELD_PENDING_DAYS)
    givers = list(
        HandoverEvent.objects.filter(zone_id=actor.zone_id, side=rules.SIDE_GIVER, occurred_at__gte=since)
        .filter(
            Q(node=rules.NODE_STATION_VEHICLE, vehicle_id__in=[v.pk for v in places.vehicles])
            | Q(node=rules.NODE_VEHICLE_SITE, site_id__in=[s.pk for s in places.sites])
        )
        .select_related("station", "vehicle", "site")
        .order_by("occurred_at", "pk")[:200]
    )
    done = set(
        HandoverEvent.objects.filter(
            zone_id=actor.zone_id,
            side=rules.SIDE_RECEIVER,
            handover_key__in=sorted({g.handover_key for g in givers}),
        ).values_list("handover_key", "node")
    )
    return [
        Pending(
            g.handover_key,
            g.node,
            g.household_class,
            g.weight_kg,
            g.occurred_at,
            g.station_id,
            g.station.name if g.station else "",
            g.station.code if g.station else "",
            g.vehicle.plate if g.vehicle else "",
            g.site_id,
            g.site.name if g.site else "",
        )
        for g in givers
        if (g.handover_key, g.node) not in done
    ]


def pending_one(actor: Actor, key: str) -> Pending:
    for item in pending(actor):
        if item.handover_key == key:
            return item
    raise NotFound(_("no such hand-over is waiting for you"))


def events_at(actor: Actor, places: Places, day: date, *, limit: int = 50) -> QuerySet[HandoverEvent]:
    """The day's hand-over events at the actor's places, newest first."""
    where = (
        Q(station_id__in=[s.pk for s in places.stations])
        | Q(vehicle_id__in=[v.pk for v in places.vehicles])
        | Q(site_id__in=[s.pk for s in places.sites])
    )
    return (
        HandoverEvent.objects.filter(zone_id=actor.zone_id, day=day)
        .filter(where)
        .select_related("source", "station", "vehicle", "site")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def latest_day(actor: Actor, places: Places) -> date | None:
    """The latest day with an event at the actor's places (a page opens on the latest day with data)."""
    where = (
        Q(station_id__in=[s.pk for s in places.stations])
        | Q(vehicle_id__in=[v.pk for v in places.vehicles])
        | Q(site_id__in=[s.pk for s in places.sites])
    )
    return (
        HandoverEvent.objects.filter(zone_id=actor.zone_id).filter(where).aggregate(m=Max("day"))["m"]
        if places.any
        else None
    )


def vehicles_for_keeper(
    actor: Actor, stations: Sequence[Station], *, now: datetime | None = None
) -> list[Vehicle]:
    """The vehicles that took hand-overs at the keeper's stations in the last 30 days (offered first;
    any other plate is typed as it is painted on the truck). Never the zone's whole fleet: another
    organization's vehicles are not the keeper's to browse."""
    since = (now or timezone.now()) - timedelta(days=30)
    seen = HandoverEvent.objects.filter(
        zone_id=actor.zone_id,
        node=rules.NODE_STATION_VEHICLE,
        station_id__in=[s.pk for s in stations],
        occurred_at__gte=since,
        vehicle__isnull=False,
    ).values("vehicle_id")
    return list(
        Vehicle.objects.filter(zone_id=actor.zone_id, is_active=True, pk__in=seen).order_by("plate")[:100]
    )


def sites_for_driver(actor: Actor) -> list[Site]:
    """The plants and transfer stations a driver may deliver to: the sites with a household device or
    a plant's kind."""
    with_device = Device.objects.filter(zone_id=actor.zone_id, site__isnull=False).values("site_id")
    return list(
        Site.objects.filter(zone_id=actor.zone_id, is_active=True)
        .filter(Q(pk__in=with_device) | Q(kind__in=["plant", "transfer"]))
        .order_by("name")[:200]
    )


def classes(actor: Actor, on: date | None = None) -> list[tuple[str, str]]:
    """The household catalog in force as (code, "code name"), ordered by code."""
    from zerowaste.core.formatting import format_code

    codes = sorted(services.household_classes(actor.zone_id, on))
    return [(code, format_code("household", code, actor.zone_id)) for code in codes]
