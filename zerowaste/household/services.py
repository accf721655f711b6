"""Domain operations of the household event core: the registry (sources, stations, bins, devices),
device keys, and what a regulator may read (dead letters, daily roll-ups).

Each function takes an `Actor`; access is decided here, never in the API or CLI.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import Area, Site, Vehicle, Zone

from . import rules
from .models import Bin, DailyFlow, DeadLetter, Device, Source, Station

M = TypeVar("M", bound=models.Model)

REGISTRY_ROLES = frozenset({"admin", "clerk"})


def master_key() -> bytes:
    """The platform's device master key: `HOUSEHOLD_DEVICE_MASTER_KEY` when set (production keeps it
    in the environment or a KMS), else derived from SECRET_KEY under its own label."""
    configured = getattr(settings, "HOUSEHOLD_DEVICE_MASTER_KEY", "") or ""
    if configured:
        return bytes.fromhex(configured) if _is_hex(configured) else configured.encode()
    return hashlib.sha256(b"zerowaste.household.master:" + settings.SECRET_KEY.encode()).digest()


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return len(text) >= 32


def key_of(device: Device, zone_code: str | None = None) -> bytes:
    code = zone_code or Zone.objects.values_list("code", flat=True).get(pk=device.zone_id)
    return rules.device_key(master_key(), code, device.code, device.key_version)


def _require_registrar(actor: Actor) -> None:
    if not (actor.is_system or (actor.is_regulator and actor.member_role in REGISTRY_ROLES)):
        raise Forbidden(_("only the zone's regulators and the system register household sources and devices"))


def _community(actor: Actor, community_id: int) -> Area:
    area = Area.objects.filter(zone_id=actor.zone_id, pk=community_id).first()
    if area is None:
        raise Invalid.field("community", _("no such community in this zone"))
    return area


def create_unique(actor: Actor, model: type[M], *, unique: str, taken: str, **values: Any) -> M:
    """Create a zone's record whose `unique` field (a code, a chip) is new in the zone, else refuse
    naming that field with `taken`. Inside the caller's transaction; the caller audits it (with its
    action written out, so the audit labels' test reads it)."""
    if model._default_manager.filter(zone_id=actor.zone_id, **{unique: values[unique]}).exists():
        raise Invalid.field(unique, taken)
    return model._default_manager.create(zone_id=actor.zone_id, **values)


@transaction.atomic
def add_station(actor: Actor, *, code: str, name: str, kind: str, community_id: int) -> Station:
    _require_registrar(actor)
    if kind not in dict(rules.STATION_KIND_CHOICES):
        raise Invalid.field("kind", _("unknown station kind"))
    station = create_unique(
        actor,
        Station,
        unique="code",
        taken=_("a station with this code exists"),
        code=code,
        name=name,
        kind=kind,
        community=_community(actor, community_id),
    )
    audit.record(actor, "household.station.add", station, audit.snapshot(station))
    return station


@transaction.atomic
def add_source(
    actor: Actor,
    *,
    code: str,
    kind: str,
    community_id: int,
    name: str = "",
    responsible_party: str = "",
    residents: int | None = None,
) -> Source:
    _require_registrar(actor)
    if kind not in dict(rules.SOURCE_KIND_CHOICES):
        raise Invalid.field("kind", _("unknown source kind"))
    source = create_unique(
        actor,
        Source,
        unique="code",
        taken=_("a source with this code exists"),
        code=code,
        kind=kind,
        name=name,
        community=_community(actor, community_id),
        responsible_party=responsible_party,
        residents=residents,
    )
    audit.record(actor, "household.source.add", source, audit.snapshot(source))
    return source


@transaction.atomic
def add_bin(
    actor: Actor,
    *,
    chip: str,
    household_class: str,
    capacity_l: int,
    station_id: int | None = None,
    source_id: int | None = None,
) -> Bin:
    _require_registrar(actor)
    if household_class not in household_classes(actor.zone_id):
        raise Invalid.field("household_class", _("not a class of the household catalog in force"))
    if (station_id is None) == (source_id is None):
        raise Invalid.field("station", _("a bin stands at one station or one source"))
    station = Station.objects.filter(zone_id=actor.zone_id, pk=station_id).first() if station_id else None
    source = Source.objects.filter(zone_id=actor.zone_id, pk=source_id).first() if source_id else None
    if station_id and station is None:
        raise Invalid.field("station", _("no such station in this zone"))
    if source_id and source is None:
        raise Invalid.field("source", _("no such source in this zone"))
    bin_ = create_unique(
        actor,
        Bin,
        unique="chip",
        taken=_("a bin with this chip exists"),
        chip=chip,
        household_class=household_class,
        capacity_l=capacity_l,
        station=station,
        source=source,
    )
    audit.record(actor, "household.bin.add", bin_, audit.snapshot(bin_))
    return bin_


@transaction.atomic
def add_device(
    actor: Actor,
    *,
    code: str,
    kind: str,
    station_id: int | None = None,
    vehicle_id: int | None = None,
    site_id: int | None = None,
) -> Device:
    """Register a device bound to exactly one station, vehicle or site; its area (for a street
    regulator's jurisdiction) follows from the binding."""
    _require_registrar(actor)
    if kind not in dict(rules.DEVICE_KIND_CHOICES):
        raise Invalid.field("kind", _("unknown device kind"))
    if not code or len(code) > rules.MAX_TEXT or "/" in code or "+" in code or "#" in code:
        raise Invalid.field("code", _("1-64 characters, no / + or # (it is part of the MQTT topic)"))
    if sum(x is not None for x in (station_id, vehicle_id, site_id)) != 1:
        raise Invalid.field("station", _("a device is bound to exactly one station, vehicle or site"))
    if Device.objects.filter(zone_id=actor.zone_id, code=code).exists():
        raise Invalid.field("code", _("a device with this id exists"))
    area_id: int | None = None
    station = vehicle = site = None
    if station_id is not None:
        station = Station.objects.filter(zone_id=actor.zone_id, pk=station_id).first()
        if station is None:
            raise Invalid.field("station", _("no such station in this zone"))
        area_id = station.community_id
    elif vehicle_id is not None:
        vehicle = (
            Vehicle.objects.filter(zone_id=actor.zone_id, pk=vehicle_id)
            .select_related("organization")
            .first()
        )
        if vehicle is None:
            raise Invalid.field("vehicle", _("no such vehicle in this zone"))
        area_id = vehicle.organization.area_id
    else:
        assert site_id is not None
        site = Site.objects.filter(zone_id=actor.zone_id, pk=site_id).first()
        if site is None:
            raise Invalid.field("site", _("no such site in this zone"))
        area_id = site.area_id
    device = Device.objects.create(
        zone_id=actor.zone_id,
        code=code,
        kind=kind,
        station=station,
        vehicle=vehicle,
        site=site,
        area_id=area_id,
    )
    audit.record(actor, "household.device.add", device, audit.snapshot(device))
    return device


def list_devices(actor: Actor) -> QuerySet[Device]:
    _require_registrar(actor)
    return Device.objects.filter(zone_id=actor.zone_id).order_by("code")


def household_classes(zone_id: int, on_date: date | None = None) -> frozenset[str]:
    """The codes of the household catalog in force (kitchen, recyclable.paper, …)."""
    from zerowaste.catalog.models import CatalogEntry
    from zerowaste.catalog.services import version_in_force

    version = version_in_force(zone_id, "household", on_date)
    if version is None:
        return frozenset()
    return frozenset(CatalogEntry.objects.filter(version=version).values_list("code", flat=True))


# --- What a regulator reads ------------------------------------------------------------------------


def require_uploader(actor: Actor) -> None:
    """Who may relay a device's offline batch: a member who may write (not a viewer). The batch's
    events prove their device by its signature; the uploader only carries them into its own zone."""
    if not (actor.is_system or actor.member_role in REGISTRY_ROLES):
        raise Forbidden(_("your role may not upload device events"))


def _require_regulator(actor: Actor) -> None:
    if not (actor.is_system or actor.is_regulator):
        raise Forbidden(_("only regulators read the household device data"))


def visible_dead_letters(actor: Actor) -> QuerySet[DeadLetter]:
    """A zone regulator reads every dead letter of its zone; a street regulator those of devices in
    its jurisdiction (a payload naming no known device belongs to no street, so only the zone sees it)."""
    _require_regulator(actor)
    base = DeadLetter.objects.filter(zone_id=actor.zone_id)
    if actor.is_system or actor.jurisdiction_area_ids is None:
        return base
    return base.filter(area_id__in=actor.jurisdiction_area_ids)


def flows(actor: Actor, day: date) -> QuerySet[DailyFlow]:
    """The day's roll-ups the actor may read: the zone's, or its jurisdiction's."""
    _require_regulator(actor)
    base = DailyFlow.objects.filter(zone_id=actor.zone_id, day=day)
    if not actor.is_system and actor.jurisdiction_area_ids is not None:
        base = base.filter(area_id__in=actor.jurisdiction_area_ids)
    return base.order_by("node", "place", "household_class")


def dead_letter_row(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.pk,
        "topic": letter.topic,
        "payload": letter.payload,
        "field": letter.field,
        "reason": letter.reason,
        "device": letter.device.code if letter.device_id and letter.device else None,
        "received_at": letter.received_at,
    }
