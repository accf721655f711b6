"""Closed-loop alarms (闭环管理, seed:5012) as tasks: detection, escalation, resolution, reading.

A cause raises exactly one alarm, ever: each draft carries a cause key unique in its zone, and the
insert ignores a key already there (ON CONFLICT DO NOTHING / INSERT OR IGNORE), so detection run twice
or two consumers seeing the same hand-over raise one row. Hand-over-level alarms (weight mismatch,
mixed loading, bin over capacity, repeated quality failures) are detected by the ingest, in the
transaction that stores the events, for the newly stored events only; day-level ones (kitchen waste
not cleared, vehicle idle, mass balance) by `detect_day`, which a daily pass runs for the day before.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, Vehicle, Zone
from zerowaste.core.workdays import add_working_days, is_working_day

from . import rules
from .models import Alarm, DailyFlow, Device, HandoverEvent

WRITE_ROLES = frozenset({"admin", "clerk"})
MAX_RESOLUTION = 2000


@dataclass
class AlarmDraft:
    kind: str
    cause: str
    day: date | None
    figures: dict[str, str]
    area_id: int | None = None
    owner_organization_id: int | None = None
    owner_area_id: int | None = None
    refs: dict[str, Any] = field(default_factory=dict)  # station_id, bin_id, source_id, vehicle_id, …


def _zone_tz(zone_id: int) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(
        Zone.objects.values_list("timezone", flat=True).get(pk=zone_id) or "Asia/Shanghai"
    )


def raise_alarms(zone_id: int, drafts: Iterable[AlarmDraft], now: datetime) -> int:
    """Insert the drafts whose cause is new; returns how many rows were new (counted, not assumed)."""
    drafts = list({d.cause: d for d in drafts}.values())
    if not drafts:
        return 0
    before = Alarm.objects.filter(zone_id=zone_id, cause__in=[d.cause for d in drafts]).count()
    raised_on = now.astimezone(_zone_tz(zone_id)).date()
    Alarm.objects.bulk_create(
        [
            Alarm(
                zone_id=zone_id,
                kind=d.kind,
                cause=d.cause[:200],
                day=d.day,
                figures=d.figures,
                area_id=d.area_id,
                owner_organization_id=d.owner_organization_id,
                owner_area_id=d.owner_area_id,
                raised_at=now,
                deadline=add_working_days(raised_on, rules.ALARM_DEADLINE_WORKING_DAYS[d.kind]),
                **d.refs,
            )
            for d in sorted(drafts, key=lambda d: d.cause)
        ],
        ignore_conflicts=True,
    )
    return Alarm.objects.filter(zone_id=zone_id, cause__in=[d.cause for d in drafts]).count() - before


# --- At ingest: the newly stored events --------------------------------------------------------------


def detect_at_ingest(zone_id: int, new: Sequence[Any], now: datetime, zone_tz: zoneinfo.ZoneInfo) -> int:
    """Alarms of the newly stored events (`ingest._Accepted` items), inside the ingest's transaction."""
    if not new:
        return 0
    drafts: list[AlarmDraft] = []
    drafts += _over_capacity(new, zone_tz)
    keys = {a.fields.handover for a in new}
    _lock_handovers(zone_id, keys)
    drafts += _handover_alarms(zone_id, keys)
    drafts += _quality_failures(zone_id, new, now, zone_tz)
    return raise_alarms(zone_id, drafts, now)


def _lock_handovers(zone_id: int, keys: set[str]) -> None:
    """PostgreSQL: two consumers storing the two sides of one hand-over at once each read only their
    own side (neither sees the other's uncommitted row) and neither raised the mismatch (found by the
    bench). A transaction-scoped advisory lock per hand-over, taken after the insert, serializes the
    checks: the second reads after the first committed, so it sees both sides. Sorted: no deadlock."""
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s || ':' || k)) FROM unnest(%s::text[]) AS k ORDER BY k",
            [str(zone_id), sorted(keys)],
        )


def _over_capacity(new: Sequence[Any], zone_tz: zoneinfo.ZoneInfo) -> list[AlarmDraft]:
    drafts = []
    for a in new:
        if a.bin is None:
            continue
        limit = rules.bin_limit_kg(a.bin.household_class, a.bin.capacity_l)
        if a.fields.weight_kg <= limit:
            continue
        day = rules.local_day(a.fields.occurred_at, zone_tz)
        station = a.station
        drafts.append(
            AlarmDraft(
                rules.ALARM_OVER_CAPACITY,
                f"over_capacity:bin:{a.bin.pk}:{day}",
                day,
                {"weight": str(a.fields.weight_kg), "capacity": str(a.bin.capacity_l), "limit": str(limit)},
                area_id=station.community_id if station else None,
                owner_area_id=station.community_id if station else None,
                refs={
                    "bin_id": a.bin.pk,
                    "station_id": station.pk if station else None,
                    "device_id": a.device.pk,
                },
            )
        )
    return drafts


def _handover_alarms(zone_id: int, keys: set[str]) -> list[AlarmDraft]:
    """Weight mismatch (per hand-over and class, once both sides are in) and mixed loading (one trip to
    a plant carrying several classes), over every stored event of the hand-overs the batch touched."""
    if not keys:
        return []
    rows = HandoverEvent.objects.filter(zone_id=zone_id, handover_key__in=sorted(keys)).values(
        "handover_key",
        "node",
        "side",
        "household_class",
        "weight_kg",
        "day",
        "device_id",
        "station_id",
        "station__community_id",
        "vehicle_id",
        "vehicle__organization_id",
        "vehicle__organization__area_id",
        "site_id",
        "site__area_id",
    )
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_key[row["handover_key"]].append(dict(row))
    drafts = []
    for key, events in sorted(by_key.items()):
        first = min(events, key=lambda e: e["day"])
        owner_org, area = _owner_of(first)
        refs = {
            "station_id": first["station_id"],
            "vehicle_id": first["vehicle_id"],
            "site_id": first["site_id"],
            "handover_key": key,
        }
        sides: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for e in events:
            sides[(e["household_class"], e["side"])] += Decimal(e["weight_kg"])
        for household_class in sorted({c for c, _s in sides}):
            giver = sides.get((household_class, rules.SIDE_GIVER))
            receiver = sides.get((household_class, rules.SIDE_RECEIVER))
            if giver is None or receiver is None or not rules.weights_mismatch(giver, receiver):
                continue
            drafts.append(
                AlarmDraft(
                    rules.ALARM_WEIGHT_MISMATCH,
                    f"weight_mismatch:{key}:{household_class}",
                    first["day"],
                    {
                        "giver": str(giver),
                        "receiver": str(receiver),
                        "difference": str(abs(giver - receiver)),
                        "tolerance": str(rules.mismatch_tolerance(giver, receiver)),
                    },
                    area_id=area,
                    owner_organization_id=owner_org,
                    owner_area_id=None if owner_org else area,
                    refs={**refs, "household_class": household_class},
                )
            )
        trip_classes = {
            rules.top_class(e["household_class"]) for e in events if e["node"] == rules.NODE_VEHICLE_SITE
        }
        if len(trip_classes) > 1:
            drafts.append(
                AlarmDraft(
                    rules.ALARM_MIXED_LOADING,
                    f"mixed_loading:{key}",
                    first["day"],
                    {"classes": ", ".join(sorted(trip_classes))},
                    area_id=area,
                    owner_organization_id=owner_org,
                    owner_area_id=None if owner_org else area,
                    refs=refs,
                )
            )
    return drafts


def _owner_of(event: dict[str, Any]) -> tuple[int | None, int | None]:
    """Who must act on a hand-over's alarm: the vehicle's operator when a vehicle took part, else the
    station's community. With the area the alarm belongs to: the station's community when the hand-over
    happened at a station (its staff supervise what is handed over there, and may settle it too), else
    the carrier's or the plant's area."""
    area = event["station__community_id"]
    if event["vehicle_id"] is not None:
        return event["vehicle__organization_id"], area or event["vehicle__organization__area_id"] or event[
            "site__area_id"
        ]
    return None, area


def _quality_failures(
    zone_id: int, new: Sequence[Any], now: datetime, zone_tz: zoneinfo.ZoneInfo
) -> list[AlarmDraft]:
    failing = {
        a.source.pk: a for a in new if a.source is not None and rules.is_failed_grade(a.fields.quality_grade)
    }
    if not failing:
        return []
    since = now - timedelta(days=rules.QUALITY_WINDOW_DAYS)
    counts: dict[int, int] = defaultdict(int)
    for source_id in HandoverEvent.objects.filter(
        zone_id=zone_id,
        source_id__in=sorted(failing),
        quality_grade__in=sorted(rules.FAILED_GRADES),
        occurred_at__gte=since,
        side=rules.SIDE_RECEIVER,
    ).values_list("source_id", flat=True):
        counts[source_id] += 1
    recent = set(
        Alarm.objects.filter(
            zone_id=zone_id, kind=rules.ALARM_QUALITY, source_id__in=sorted(failing), raised_at__gte=since
        ).values_list("source_id", flat=True)
    )
    drafts = []
    for source_id, a in sorted(failing.items()):
        if counts[source_id] < rules.QUALITY_FAILURES or source_id in recent:
            continue
        day = rules.local_day(a.fields.occurred_at, zone_tz)
        community = a.source.community_id
        drafts.append(
            AlarmDraft(
                rules.ALARM_QUALITY,
                f"quality_failures:source:{source_id}:{day}",
                day,
                {
                    "count": str(counts[source_id]),
                    "days": str(rules.QUALITY_WINDOW_DAYS),
                    "limit": str(rules.QUALITY_FAILURES),
                },
                area_id=community,
                owner_area_id=community,
                refs={"source_id": source_id, "station_id": a.station.pk if a.station else None},
            )
        )
    return drafts


# --- Day-level detection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectResult:
    raised: int
    escalated: int

    def as_dict(self) -> dict[str, int]:
        return {"raised": self.raised, "escalated": self.escalated}


def detect_day(zone_id: int, day: date, *, now: datetime | None = None) -> DetectResult:
    """Kitchen waste not cleared, idle vehicles, unclosed mass balances and parks' missing station logs
    of `day`, then the escalation of overdue alarms. Idempotent: run it again and nothing new is raised."""
    from . import balance, park

    now = now or timezone.now()
    zone_tz = _zone_tz(zone_id)
    with transaction.atomic():
        drafts = [*_not_cleared(zone_id, day), *_idle_vehicles(zone_id, day, zone_tz)]
        drafts += balance.alarm_drafts(zone_id, day)
        drafts += park.alarm_drafts(zone_id, day)  # a park's missing station logs
        raised = raise_alarms(zone_id, drafts, now)
        escalated = escalate_overdue(zone_id, now.astimezone(zone_tz).date(), now=now)
    return DetectResult(raised, escalated)


def _not_cleared(zone_id: int, day: date) -> list[AlarmDraft]:
    received: dict[int, Decimal] = defaultdict(lambda: Decimal("0.000"))
    collected: dict[int, Decimal] = defaultdict(lambda: Decimal("0.000"))
    areas: dict[int, int | None] = {}
    for flow in DailyFlow.objects.filter(zone_id=zone_id, day=day, station__isnull=False).order_by("pk"):
        if rules.top_class(flow.household_class) != rules.KITCHEN:
            continue
        assert flow.station_id is not None
        areas[flow.station_id] = flow.area_id
        if flow.node == rules.NODE_SOURCE_STATION:
            received[flow.station_id] += Decimal(flow.in_kg)
        elif flow.node == rules.NODE_STATION_VEHICLE:
            collected[flow.station_id] += Decimal(flow.out_kg)
    drafts = []
    for station_id in sorted(received):
        left = received[station_id] - collected[station_id]
        if left <= rules.NOT_CLEARED_TOLERANCE_KG:
            continue
        drafts.append(
            AlarmDraft(
                rules.ALARM_NOT_CLEARED,
                f"not_cleared:station:{station_id}:{day}",
                day,
                {
                    "received": str(received[station_id]),
                    "collected": str(collected[station_id]),
                    "left": str(left),
                },
                area_id=areas[station_id],
                owner_area_id=areas[station_id],
                refs={"station_id": station_id},
            )
        )
    return drafts


def _idle_vehicles(zone_id: int, day: date, zone_tz: zoneinfo.ZoneInfo) -> list[AlarmDraft]:
    """Vehicles carrying a registered unit with no event for VEHICLE_IDLE_HOURS inside the working
    window of a working day (a day with no event at all is idle the whole window)."""
    if not is_working_day(day):
        return []
    vehicle_ids = set(
        Device.objects.filter(zone_id=zone_id, is_active=True, vehicle__isnull=False).values_list(
            "vehicle_id", flat=True
        )
    )
    if not vehicle_ids:
        return []
    start = datetime.combine(day, time(rules.WORK_START_HOUR), zone_tz)
    end = datetime.combine(day, time(rules.WORK_END_HOUR), zone_tz)
    times: dict[int, list[datetime]] = defaultdict(list)
    for vehicle_id, at in HandoverEvent.objects.filter(
        zone_id=zone_id, day=day, vehicle_id__in=sorted(vehicle_ids)
    ).values_list("vehicle_id", "occurred_at"):
        times[vehicle_id].append(at)
    limit = timedelta(hours=rules.VEHICLE_IDLE_HOURS)
    vehicles = {v.pk: v for v in Vehicle.objects.filter(pk__in=vehicle_ids).select_related("organization")}
    drafts = []
    for vehicle_id in sorted(vehicle_ids):
        idle = rules.longest_idle(times[vehicle_id], start, end)
        if idle <= limit:
            continue
        vehicle = vehicles[vehicle_id]
        hours = (Decimal(idle.total_seconds()) / 3600).quantize(Decimal("0.1"))
        drafts.append(
            AlarmDraft(
                rules.ALARM_VEHICLE_IDLE,
                f"vehicle_idle:vehicle:{vehicle_id}:{day}",
                day,
                {"hours": str(hours), "limit": str(rules.VEHICLE_IDLE_HOURS)},
                area_id=vehicle.organization.area_id,
                owner_organization_id=vehicle.organization_id,
                refs={"vehicle_id": vehicle_id},
            )
        )
    return drafts


def street_of(area_id: int | None) -> int | None:
    """The street an area lies in (itself when it is one)."""
    seen: set[int] = set()
    while area_id is not None and area_id not in seen:
        seen.add(area_id)
        area = Area.objects.filter(pk=area_id).values("kind", "parent_id").first()
        if area is None:
            return None
        if area["kind"] == Area.Kind.STREET:
            return area_id
        area_id = area["parent_id"]
    return None


def escalate_overdue(zone_id: int, today: date, *, now: datetime | None = None) -> int:
    """Open alarms past their deadline go to their street's regulator (escalated once)."""
    now = now or timezone.now()
    overdue = list(
        Alarm.objects.select_for_update()
        .filter(zone_id=zone_id, resolved_at__isnull=True, escalated_at__isnull=True, deadline__lt=today)
        .order_by("pk")
    )
    for alarm in overdue:
        alarm.escalated_at = now
        alarm.escalated_to_id = street_of(alarm.area_id)
        alarm.save(update_fields=["escalated_at", "escalated_to"])
    return len(overdue)


# --- Reading and resolving -----------------------------------------------------------------------------


def community_staff_area(actor: Actor) -> int | None:
    """The community an organization of the property / community role (物业, 社区) acts for: its own
    area when that is a community (a property company registered at a street is not a community's staff)."""
    org = actor.organization
    if actor.is_regulator or org is None or org.area_id is None or "property" not in actor.org_roles:
        return None
    return org.area_id if Area.objects.filter(pk=org.area_id, kind=Area.Kind.COMMUNITY).exists() else None


def _scope(actor: Actor) -> Q:
    """The alarms an actor sees: a zone regulator all, a street regulator its jurisdiction's (and those
    escalated to it), a community's staff those its community owns or that happened at its stations, any
    other organization those it owns."""
    if actor.is_system or (actor.is_regulator and actor.jurisdiction_area_ids is None):
        return Q()
    if actor.is_regulator:
        areas = sorted(actor.jurisdiction_area_ids or ())
        return Q(area_id__in=areas) | Q(escalated_to_id__in=areas)
    community = community_staff_area(actor)
    if community is not None:
        return (
            Q(owner_organization_id=actor.organization_id) | Q(owner_area_id=community) | Q(area_id=community)
        )
    return Q(owner_organization_id=actor.organization_id)


def visible_alarms(
    actor: Actor, *, kind: str | None = None, state: str | None = None, day: date | None = None
) -> QuerySet[Alarm]:
    if kind is not None and kind not in rules.ALARM_KINDS:
        raise Invalid.field(
            "kind", _("must be one of %(choices)s") % {"choices": ", ".join(sorted(rules.ALARM_KINDS))}
        )
    if state is not None and state not in rules.ALARM_STATES:
        raise Invalid.field(
            "state", _("must be one of %(choices)s") % {"choices": ", ".join(sorted(rules.ALARM_STATES))}
        )
    qs = Alarm.objects.filter(zone_id=actor.zone_id).filter(_scope(actor))
    if kind:
        qs = qs.filter(kind=kind)
    if day:
        qs = qs.filter(day=day)
    if state == "open":
        qs = qs.filter(resolved_at__isnull=True)
    elif state == "escalated":
        qs = qs.filter(resolved_at__isnull=True, escalated_at__isnull=False)
    elif state == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    return qs.select_related(
        "station", "source", "vehicle", "site", "bin", "owner_organization", "owner_area"
    )


@transaction.atomic
def resolve(actor: Actor, alarm_id: int, resolution: str) -> Alarm:
    """Close an alarm with its resolution (required), by its owner, a regulator over it or the system."""
    alarm = (
        Alarm.objects.select_for_update()
        .filter(zone_id=actor.zone_id, pk=alarm_id)
        .filter(_scope(actor))
        .first()
    )
    if alarm is None:
        raise NotFound(_("no such alarm"))
    if not (actor.is_system or actor.member_role in WRITE_ROLES):
        raise Forbidden(_("your role may not resolve alarms"))
    text = (resolution or "").strip()
    if not text:
        raise Invalid.field("resolution", _("say what was done: a resolution is required"))
    if len(text) > MAX_RESOLUTION:
        raise Invalid.field("resolution", _("at most %(limit)s characters") % {"limit": MAX_RESOLUTION})
    if alarm.resolved_at is not None:
        raise Invalid.field("id", _("this alarm is already resolved"))
    alarm.resolved_at = timezone.now()
    alarm.resolved_by = actor.user
    alarm.resolved_by_name = actor.username
    alarm.resolution = text
    alarm.save(update_fields=["resolved_at", "resolved_by", "resolved_by_name", "resolution"])
    audit.record(actor, "household.alarm.resolve", alarm, {"resolution": [None, text]})
    return alarm


def alarm_row(alarm: Alarm) -> dict[str, Any]:
    return {
        "id": alarm.pk,
        "kind": alarm.kind,
        "kind_label": str(dict(rules.ALARM_KIND_CHOICES)[alarm.kind]),
        "state": alarm.state,
        "day": alarm.day,
        "figures": alarm.figures_text,
        "owner": (
            alarm.owner_organization.name
            if alarm.owner_organization
            else (alarm.owner_area.name if alarm.owner_area else None)
        ),
        "station": alarm.station.code if alarm.station else None,
        "bin": alarm.bin.chip if alarm.bin else None,
        "source": alarm.source.code if alarm.source else None,
        "vehicle": alarm.vehicle.plate if alarm.vehicle else None,
        "site": alarm.site.name if alarm.site else None,
        "handover": alarm.handover_key or None,
        "household_class": alarm.household_class or None,
        "raised_at": alarm.raised_at,
        "deadline": alarm.deadline,
        "escalated_at": alarm.escalated_at,
        "resolved_at": alarm.resolved_at,
        "resolved_by": alarm.resolved_by_name or None,
        "resolution": alarm.resolution or None,
    }
