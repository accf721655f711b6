"""Household operations without a person (ops17): the scheduled day-level detection, planned vehicle
routes and the off-route alarm, the monthly red/black lists of each community (社区红黑榜, seed:4894)
and the education visits (入户宣传, seed:4886-4888) that resolve quality alarms.

- `scheduler_pass(now)`: for every zone, yesterday's day-level detection (not cleared, idle vehicles,
  mass balance, off route) and the escalation of overdue alarms, once per zone and day (a `DetectRun`
  row; alarms are raised once per cause anyway); after the last day of a month, that month's lists;
  after each day that ran, the participation of the day's month (`participation.refresh_month`).
  `zerowaste household service` runs it every few minutes beside the MQTT consumer, and `zerowaste
  serve` starts that service.
- Routes: an ordered list of stations per vehicle and day. A station → vehicle hand-over at a station
  not on the vehicle's route of that day raises `vehicle_off_route`, once per vehicle, day and station
  (at ingest, and again by the day's detection for routes planned after the events arrived).
"""

from __future__ import annotations

import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Vehicle, Zone

from . import alarms, participation, rules
from .models import Alarm, DetectRun, EducationVisit, HandoverEvent, QualityListEntry, RouteStop, Station

log = logging.getLogger(__name__)

PLAN_ROLES = frozenset({"admin", "clerk"})


def zone_tz(zone: Zone) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(zone.timezone or "Asia/Shanghai")


# --- The scheduler -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassResult:
    zone_code: str
    day: date
    ran: bool  # False: the day had run already (only overdue alarms were escalated)
    raised: int
    escalated: int
    listed_month: date | None = None
    participating: int | None = None  # households of the day's month with a drop (when the day ran)

    def as_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone_code,
            "day": self.day.isoformat(),
            "ran": self.ran,
            "raised": self.raised,
            "escalated": self.escalated,
            "listed_month": self.listed_month.isoformat() if self.listed_month else None,
            "participating": self.participating,
        }


def detect_once(zone: Zone, day: date, *, now: datetime, trigger: str = "scheduler") -> PassResult:
    """The day's detection unless it ran already; overdue alarms are escalated either way."""
    today = now.astimezone(zone_tz(zone)).date()
    with transaction.atomic():
        if DetectRun.objects.select_for_update().filter(zone=zone, day=day).exists():
            escalated = alarms.escalate_overdue(zone.pk, today, now=now)
            return PassResult(zone.code, day, False, 0, escalated)
        result = alarms.detect_day(zone.pk, day, now=now)
        raised = result.raised + detect_off_route_day(zone.pk, day, now)
        DetectRun.objects.create(
            zone=zone, day=day, ran_at=now, raised=raised, escalated=result.escalated, trigger=trigger
        )
    listed = None
    if (day + timedelta(days=1)).day == 1:  # the month is over: its lists
        listed = day.replace(day=1)
        compile_lists(zone.pk, listed, now=now)
    # The month's participation so far (the whole month once its last day ran), from its events.
    refreshed = participation.refresh_month(zone.pk, day)
    return PassResult(zone.code, day, True, raised, result.escalated, listed, refreshed.households)


def scheduler_pass(now: datetime | None = None) -> list[PassResult]:
    """Yesterday's detection for every zone (each zone's own calendar)."""
    now = now or timezone.now()
    results = []
    for zone in Zone.objects.order_by("pk"):
        yesterday = now.astimezone(zone_tz(zone)).date() - timedelta(days=1)
        results.append(detect_once(zone, yesterday, now=now))
    return results


# --- Routes and the off-route alarm --------------------------------------------------------------------


def may_read_routes(actor: Actor) -> bool:
    return actor.is_system or actor.is_regulator or "carrier" in actor.org_roles


def may_plan_routes(actor: Actor) -> bool:
    return actor.is_system or (may_read_routes(actor) and actor.member_role in PLAN_ROLES)


def visible_vehicles(actor: Actor) -> QuerySet[Vehicle]:
    """The vehicles whose routes the actor reads: a carrier its own, a regulator its jurisdiction's
    organizations' (the whole zone's for a zone regulator)."""
    if not may_read_routes(actor):
        raise Forbidden(_("only a vehicle's carrier and the regulators read its routes"))
    qs = Vehicle.objects.filter(zone_id=actor.zone_id).select_related("organization")
    if actor.is_system:
        return qs
    return qs.filter(organization__in=visible_organizations(actor))


def plan_route(actor: Actor, vehicle_id: int, day: date, station_ids: Sequence[int]) -> list[RouteStop]:
    """Set a vehicle's route of a day (replacing the one there): its stations in order. By the
    vehicle's carrier or a regulator over it (their admins and clerks), or the system."""
    if not may_plan_routes(actor):
        raise Forbidden(_("only a vehicle's carrier, the regulators and the system plan vehicle routes"))
    vehicle = visible_vehicles(actor).filter(pk=vehicle_id).first()
    if vehicle is None:
        raise Invalid.field("vehicle", _("no such vehicle in this zone"))
    if not station_ids:
        raise Invalid.field("stations", _("a route needs at least one station"))
    if len(set(station_ids)) != len(station_ids):
        raise Invalid.field("stations", _("a station appears twice in the route"))
    found = set(
        Station.objects.filter(zone_id=actor.zone_id, pk__in=station_ids).values_list("pk", flat=True)
    )
    missing = [s for s in station_ids if s not in found]
    if missing:
        raise Invalid.field(
            "stations", _("no such station in this zone: %(ids)s") % {"ids": ", ".join(map(str, missing))}
        )
    with transaction.atomic():
        RouteStop.objects.filter(zone_id=actor.zone_id, vehicle=vehicle, day=day).delete()
        stops = RouteStop.objects.bulk_create(
            [
                RouteStop(zone_id=actor.zone_id, vehicle=vehicle, day=day, position=i + 1, station_id=s)
                for i, s in enumerate(station_ids)
            ]
        )
        audit.record(
            actor,
            "household.route.plan",
            vehicle,
            {"day": [None, day.isoformat()], "stations": [None, list(station_ids)]},
        )
    return stops


def station_ids_of(zone_id: int, codes: Sequence[str]) -> list[int]:
    """Station codes (as typed on the route page) → their ids in the same order; a clear error
    naming `stations` for codes not in the zone."""
    wanted = [c.strip() for c in codes if c.strip()]
    found = dict(Station.objects.filter(zone_id=zone_id, code__in=wanted).values_list("code", "pk"))
    missing = [c for c in wanted if c not in found]
    if missing:
        raise Invalid.field(
            "stations", _("no such station in this zone: %(ids)s") % {"ids": ", ".join(missing[:10])}
        )
    return [found[c] for c in wanted]


@dataclass(frozen=True)
class RouteDay:
    """A vehicle's day: its planned stops, the stations it loaded at (on or off its route), and the
    off-route alarms raised."""

    vehicle: Vehicle
    day: date
    stops: list[RouteStop]
    visited: list[dict[str, Any]]
    alarms: list[Any]

    @property
    def off_route(self) -> bool:
        return bool(self.alarms) or any(not v["on_route"] for v in self.visited)


def route_day(actor: Actor, vehicle_id: int, day: date) -> RouteDay:
    vehicle = visible_vehicles(actor).filter(pk=vehicle_id).first()
    if vehicle is None:
        raise Invalid.field("vehicle", _("no such vehicle in this zone"))
    stops = route_of(actor.zone_id, vehicle.pk, day)
    planned = {s.station_id for s in stops}
    visited_ids = set(
        HandoverEvent.objects.filter(
            zone_id=actor.zone_id,
            day=day,
            node=rules.NODE_STATION_VEHICLE,
            vehicle_id=vehicle.pk,
            station__isnull=False,
        )
        .values_list("station_id", flat=True)
        .distinct()
    )
    visited = [
        {"station": s, "on_route": not rules.off_route(s.pk, planned)}
        for s in Station.objects.filter(zone_id=actor.zone_id, pk__in=visited_ids).order_by("code")
    ]
    found = list(
        alarms.visible_alarms(actor, kind=rules.ALARM_VEHICLE_OFF_ROUTE, day=day)
        .filter(vehicle_id=vehicle.pk)
        .order_by("pk")
    )
    return RouteDay(vehicle, day, stops, visited, found)


def routes_of_day(actor: Actor, day: date) -> list[dict[str, Any]]:
    """The visible vehicles with a route or an off-route alarm that day: plate, stops, alarms."""
    vehicles = visible_vehicles(actor)
    stops: dict[int, int] = defaultdict(int)
    for vehicle_id in RouteStop.objects.filter(
        zone_id=actor.zone_id, day=day, vehicle__in=vehicles
    ).values_list("vehicle_id", flat=True):
        stops[vehicle_id] += 1
    off: dict[int, int] = defaultdict(int)
    for vehicle_id in (
        alarms.visible_alarms(actor, kind=rules.ALARM_VEHICLE_OFF_ROUTE, day=day)
        .filter(vehicle__in=vehicles)
        .values_list("vehicle_id", flat=True)
    ):
        off[vehicle_id] += 1
    ids = set(stops) | set(off)
    return [
        {"vehicle": v, "stops": stops.get(v.pk, 0), "off_route": off.get(v.pk, 0)}
        for v in vehicles.filter(pk__in=ids).order_by("plate")
    ]


def route_of(zone_id: int, vehicle_id: int, day: date) -> list[RouteStop]:
    return list(
        RouteStop.objects.filter(zone_id=zone_id, vehicle_id=vehicle_id, day=day)
        .select_related("station")
        .order_by("position")
    )


def _off_route_drafts(zone_id: int, visits: set[tuple[int, date, int]]) -> list[alarms.AlarmDraft]:
    """(vehicle, day, station) loadings → an alarm for each station not on that vehicle's route."""
    if not visits:
        return []
    vehicles = {v for v, _d, _s in visits}
    days = {d for _v, d, _s in visits}
    routes: dict[tuple[int, date], list[int]] = defaultdict(list)
    for vehicle_id, day, station_id in (
        RouteStop.objects.filter(zone_id=zone_id, vehicle_id__in=vehicles, day__in=days)
        .order_by("position")
        .values_list("vehicle_id", "day", "station_id")
    ):
        routes[(vehicle_id, day)].append(station_id)
    off = sorted((v, d, s) for v, d, s in visits if rules.off_route(s, set(routes.get((v, d), []))))
    if not off:
        return []
    stations = {s.pk: s for s in Station.objects.filter(pk__in={s for _v, _d, s in off})}
    on_route = {s.pk: s for s in Station.objects.filter(pk__in={s for r in routes.values() for s in r})}
    cars = {
        v.pk: v
        for v in Vehicle.objects.filter(pk__in={v for v, _d, _s in off}).select_related("organization")
    }
    drafts = []
    for vehicle_id, day, station_id in off:
        station, vehicle = stations[station_id], cars[vehicle_id]
        drafts.append(
            alarms.AlarmDraft(
                rules.ALARM_VEHICLE_OFF_ROUTE,
                f"vehicle_off_route:vehicle:{vehicle_id}:{day}:station:{station_id}",
                day,
                {
                    "station": f"{station.code} {station.name}",
                    "route": ", ".join(on_route[s].code for s in routes[(vehicle_id, day)]),
                },
                area_id=station.community_id,
                owner_organization_id=vehicle.organization_id,
                refs={"vehicle_id": vehicle_id, "station_id": station_id},
            )
        )
    return drafts


def detect_off_route_at_ingest(zone_id: int, new: Sequence[Any], now: datetime, tz: zoneinfo.ZoneInfo) -> int:
    """Off-route loadings among a batch's newly stored events (`ingest._Accepted` items)."""
    visits = {
        (a.vehicle.pk, rules.local_day(a.fields.occurred_at, tz), a.station.pk)
        for a in new
        if a.fields.node == rules.NODE_STATION_VEHICLE and a.vehicle is not None and a.station is not None
    }
    return alarms.raise_alarms(zone_id, _off_route_drafts(zone_id, visits), now) if visits else 0


def detect_off_route_day(zone_id: int, day: date, now: datetime) -> int:
    visits = {
        (v, day, s)
        for v, s in HandoverEvent.objects.filter(
            zone_id=zone_id,
            day=day,
            node=rules.NODE_STATION_VEHICLE,
            vehicle__isnull=False,
            station__isnull=False,
        )
        .values_list("vehicle_id", "station_id")
        .distinct()
    }
    return alarms.raise_alarms(zone_id, _off_route_drafts(zone_id, visits), now)


# --- Red and black lists --------------------------------------------------------------------------------


def month_of(text: str) -> date:
    """`YYYY-MM` → the month's first day; a clear error naming the field."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise Invalid.field("month", _("a month as YYYY-MM, e.g. 2026-11")) from None


def compile_lists(zone_id: int, month: date, *, now: datetime | None = None) -> int:
    """The month's red and black lists of every community, from the graded kitchen-waste drops
    (replacing any compiled before). Returns the number of entries."""
    now = now or timezone.now()
    month = month.replace(day=1)
    end = (month + timedelta(days=32)).replace(day=1)
    rows = (
        HandoverEvent.objects.filter(
            zone_id=zone_id, day__gte=month, day__lt=end, source__isnull=False, side=rules.SIDE_RECEIVER
        )
        .exclude(quality_grade="")
        .values("source_id", "source__community_id")
        .annotate(
            graded=Count("pk"),
            good=Count("pk", filter=Q(quality_grade=rules.GOOD_GRADE)),
            failed=Count("pk", filter=Q(quality_grade__in=sorted(rules.FAILED_GRADES))),
        )
    )
    by_community: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for r in rows:
        by_community[r["source__community_id"]].append((r["source_id"], r["graded"], r["good"], r["failed"]))
    entries = []
    for community_id, found in sorted(by_community.items()):
        red, black = rules.rank_quality(found)
        for kind, listed in ((rules.LIST_RED, red), (rules.LIST_BLACK, black)):
            entries += [
                QualityListEntry(
                    zone_id=zone_id,
                    month=month,
                    community_id=community_id,
                    source_id=source_id,
                    list_kind=kind,
                    rank=rank,
                    graded=graded,
                    good=good,
                    failed=failed,
                    compiled_at=now,
                )
                for rank, (source_id, graded, good, failed) in enumerate(listed, start=1)
            ]
    with transaction.atomic():
        QualityListEntry.objects.filter(zone_id=zone_id, month=month).delete()
        QualityListEntry.objects.bulk_create(entries)
    return len(entries)


def _require_reader(actor: Actor) -> None:
    if not (actor.is_system or actor.is_regulator):
        raise Forbidden(_("only regulators read the household device data"))


def lists_for(actor: Actor, month: date) -> list[dict[str, Any]]:
    """The month's lists, per community, that the actor may read (a street regulator its jurisdiction)."""
    _require_reader(actor)
    qs = QualityListEntry.objects.filter(zone_id=actor.zone_id, month=month)
    if not actor.is_system and actor.jurisdiction_area_ids is not None:
        qs = qs.filter(community_id__in=sorted(actor.jurisdiction_area_ids))
    return [
        list_row(e)
        for e in qs.select_related("community", "source").order_by("community__code", "list_kind", "rank")
    ]


def latest_month(actor: Actor) -> date | None:
    _require_reader(actor)
    return (
        QualityListEntry.objects.filter(zone_id=actor.zone_id)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )


def list_row(e: QualityListEntry) -> dict[str, Any]:
    return {
        "month": e.month.strftime("%Y-%m"),
        "community": e.community.code,
        "community_name": e.community.name,
        "list": e.list_kind,
        "list_label": str(dict(rules.QUALITY_LIST_CHOICES)[e.list_kind]),
        "rank": e.rank,
        "source": e.source.code,
        "source_id": e.source_id,
        "source_name": e.source.name,
        "graded": e.graded,
        "good": e.good,
        "failed": e.failed,
    }


# --- Education visits ------------------------------------------------------------------------------------


MAX_NOTE = 2000


def record_education_visit(
    actor: Actor, alarm_id: int, *, visited_on: date, visited_by: str, note: str = ""
) -> EducationVisit:
    """Resolve a quality alarm by a household visit (resolution kind: education visit)."""
    with transaction.atomic():
        alarm = alarms.visible_alarms(actor).filter(pk=alarm_id).first()
        if alarm is None:
            raise NotFound(_("no such alarm"))
        if alarm.kind != rules.ALARM_QUALITY or alarm.source_id is None:
            raise Invalid.field("id", _("only a household's quality alarm is resolved by an education visit"))
        who = (visited_by or "").strip()
        if not who:
            raise Invalid.field("visited_by", _("say who visited the household"))
        if len(who) > 150:
            raise Invalid.field("visited_by", _("at most %(limit)s characters") % {"limit": 150})
        if len(note or "") > MAX_NOTE:
            raise Invalid.field("note", _("at most %(limit)s characters") % {"limit": MAX_NOTE})
        today = timezone.now().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
        if visited_on > today:
            raise Invalid.field("visited_on", _("a visit cannot be in the future"))
        text = _("Education visit on %(day)s by %(who)s") % {"day": visited_on.isoformat(), "who": who}
        if note.strip():
            text += f": {note.strip()}"
        resolved = alarms.resolve(actor, alarm_id, text)
        visit = EducationVisit.objects.create(
            zone_id=actor.zone_id,
            alarm=resolved,
            source_id=alarm.source_id,
            visited_on=visited_on,
            visited_by=who,
            note=note.strip(),
            recorded_at=timezone.now(),
            recorded_by=actor.username,
        )
        audit.record(
            actor,
            "household.education_visit.record",
            visit,
            {
                "alarm_id": [None, alarm.pk],
                "source_id": [None, alarm.source_id],
                "visited_on": [None, visited_on.isoformat()],
                "visited_by": [None, who],
                "note": [None, note.strip()],
            },
        )
    return visit


def visit_status(zone_id: int, source_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per source: its latest education visit (`visit`) and its open quality alarm (`open_alarm_id`),
    for the black list's "visited?" column."""
    status: dict[int, dict[str, Any]] = {s: {"visit": None, "open_alarm_id": None} for s in source_ids}
    if not status:
        return status
    for v in EducationVisit.objects.filter(zone_id=zone_id, source_id__in=list(status)).order_by(
        "visited_on", "pk"
    ):
        status[v.source_id]["visit"] = v  # the latest wins
    for alarm_id, source_id in (
        Alarm.objects.filter(
            zone_id=zone_id, kind=rules.ALARM_QUALITY, source_id__in=list(status), resolved_at__isnull=True
        )
        .order_by("-pk")
        .values_list("pk", "source_id")
    ):
        status[source_id]["open_alarm_id"] = alarm_id  # the oldest open one wins
    return status


def visit_row(v: EducationVisit) -> dict[str, Any]:
    return {
        "alarm_id": v.alarm_id,
        "resolution_kind": rules.RESOLUTION_EDUCATION_VISIT,
        "source": v.source.code,
        "visited_on": v.visited_on,
        "visited_by": v.visited_by,
        "note": v.note or None,
        "recorded_at": v.recorded_at,
    }
