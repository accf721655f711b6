"""A park's "1+4" regime (seed:5509): enterprises registered with the discharge system, the four
station rooms with their logs, discharges, the day's status and the missing-log alarms.

Who: the park's operator (an organization with the park_operator role whose area is the park)
registers, records and reads its park; a zone regulator reads every park, a street regulator the
parks of its street. A park nobody may see answers "not found", like one that does not exist.
"""

from __future__ import annotations

import calendar
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, Organization, Zone

from . import alarms, park_rules
from .models import Alarm, ParkDischarge, ParkEnterprise, ParkStation, StationLog
from .services import create_unique

WRITE_ROLES = frozenset({"admin", "clerk"})
OPERATOR_ROLE = "park_operator"
MAX_NOTES = 500


def zone_tz(zone_id: int) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(
        Zone.objects.values_list("timezone", flat=True).get(pk=zone_id) or "Asia/Shanghai"
    )


def today(zone_id: int) -> date:
    return timezone.now().astimezone(zone_tz(zone_id)).date()


# --- Who sees which park -----------------------------------------------------------------------------


def visible_parks(actor: Actor) -> QuerySet[Area]:
    parks = Area.objects.filter(zone_id=actor.zone_id, kind=Area.Kind.PARK)
    if actor.is_system or (actor.is_regulator and actor.jurisdiction_area_ids is None):
        return parks.order_by("code")
    if actor.is_regulator:
        return parks.filter(pk__in=sorted(actor.jurisdiction_area_ids or ())).order_by("code")
    if OPERATOR_ROLE in actor.org_roles and actor.organization is not None and actor.organization.area_id:
        return parks.filter(pk=actor.organization.area_id).order_by("code")
    return parks.none()


def park_of(actor: Actor, code: str | None) -> Area:
    """The park named by code, or the actor's first park; NotFound when it may not be seen."""
    parks = visible_parks(actor)
    park = parks.filter(code=code).first() if code else parks.first()
    if park is None:
        raise NotFound(_("no such park"))
    return park


def may_write(actor: Actor, park: Area) -> bool:
    if actor.is_system:
        return True
    return (
        OPERATOR_ROLE in actor.org_roles
        and actor.organization is not None
        and actor.organization.area_id == park.pk
        and actor.member_role in WRITE_ROLES
    )


def require_write(actor: Actor, park: Area) -> None:
    if not may_write(actor, park):
        raise Forbidden(_("only the park's operator records its registrations and logs"))


def _station(actor: Actor, station_id: int) -> ParkStation:
    station = (
        ParkStation.objects.filter(zone_id=actor.zone_id, pk=station_id, park__in=visible_parks(actor))
        .select_related("park")
        .first()
    )
    if station is None:
        raise NotFound(_("no such park station"))
    return station


def _enterprise(actor: Actor, enterprise_id: int) -> ParkEnterprise:
    enterprise = (
        ParkEnterprise.objects.filter(zone_id=actor.zone_id, pk=enterprise_id, park__in=visible_parks(actor))
        .select_related("park", "organization")
        .first()
    )
    if enterprise is None:
        raise NotFound(_("no such registered enterprise"))
    return enterprise


def _kg(value: Any, name: str, *, required: bool = True) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise Invalid.field(name, _("a quantity in kg is required"))
        return None
    try:
        kg = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid.field(name, _("not a number")) from None
    if not kg.is_finite() or kg <= 0 or kg > park_rules.MAX_KG:
        raise Invalid.field(
            name, _("must be more than 0 and at most %(max)s kg") % {"max": park_rules.MAX_KG}
        )
    if kg != kg.quantize(park_rules.KG_PLACES):
        raise Invalid.field(name, _("at most 3 decimals (grams)"))
    return kg.quantize(park_rules.KG_PLACES)


# --- Registration and stations -----------------------------------------------------------------------


@transaction.atomic
def register_enterprise(
    actor: Actor,
    park_code: str | None,
    *,
    organization_id: int,
    waste_classes: list[str],
    expected_kg: dict[str, Any] | None = None,
    contact_name: str = "",
    contact_phone: str = "",
) -> ParkEnterprise:
    """Register an enterprise of the park with the discharge system, or update its registration."""
    park = park_of(actor, park_code)
    require_write(actor, park)
    org = Organization.objects.filter(zone_id=actor.zone_id, pk=organization_id, area_id=park.pk).first()
    if org is None:
        raise Invalid.field("organization_id", _("not an organization of this park"))
    classes = sorted({c.strip() for c in waste_classes if c and c.strip()})
    unknown = [c for c in classes if c not in park_rules.CLASSES]
    if not classes or unknown:
        raise Invalid.field(
            "waste_classes",
            _("one or more of %(choices)s") % {"choices": ", ".join(park_rules.CLASSES)},
        )
    expected: dict[str, str] = {}
    for cls, value in sorted((expected_kg or {}).items()):
        if cls not in classes:
            raise Invalid.field(
                "expected_kg", _("%(cls)s is not one of the classes registered") % {"cls": cls}
            )
        kg = _kg(value, "expected_kg")
        expected[cls] = str(kg)
    if len(contact_name) > 100 or len(contact_phone) > 40:
        raise Invalid.field("contact_name", _("too long"))
    enterprise, created = ParkEnterprise.objects.update_or_create(
        zone_id=actor.zone_id,
        park=park,
        organization=org,
        defaults={
            "waste_classes": ",".join(classes),
            "expected_kg": expected,
            "contact_name": contact_name.strip(),
            "contact_phone": contact_phone.strip(),
            "registered_at": timezone.now(),
            "registered_by": actor.username,
        },
    )
    audit.record(
        actor,
        "household.park.register" if created else "household.park.reregister",
        enterprise,
        audit.snapshot(enterprise, ["organization_id", "waste_classes", "expected_kg"]),
    )
    return enterprise


@transaction.atomic
def add_station(
    actor: Actor,
    park_code: str | None,
    *,
    kind: str,
    code: str,
    name: str,
    compactor_model: str = "",
    in_service_from: date | None = None,
) -> ParkStation:
    """Register a station; its logs are owed from `in_service_from` (default today, at most 35 days ago)."""
    park = park_of(actor, park_code)
    require_write(actor, park)
    on = today(actor.zone_id)
    since = in_service_from or on
    if since > on + timedelta(days=366) or since < on - timedelta(days=35):
        raise Invalid.field("in_service_from", _("within the last 35 days or the coming year"))
    if kind not in park_rules.STATION_KINDS:
        raise Invalid.field(
            "kind", _("one of %(choices)s") % {"choices": ", ".join(park_rules.STATION_KINDS)}
        )
    code, name = code.strip(), name.strip()
    if not code or len(code) > 64:
        raise Invalid.field("code", _("a code of 1 to 64 characters is required"))
    if not name or len(name) > 200:
        raise Invalid.field("name", _("a name of 1 to 200 characters is required"))
    if kind == park_rules.COMPACTOR:
        if compactor_model not in park_rules.COMPACTOR_MODELS:
            raise Invalid.field(
                "compactor_model",
                _("one of %(choices)s") % {"choices": ", ".join(park_rules.COMPACTOR_MODELS)},
            )
    elif compactor_model:
        raise Invalid.field("compactor_model", _("only a compactor station has a compactor model"))
    station = create_unique(
        actor,
        ParkStation,
        unique="code",
        taken=_("a park station with this code exists"),
        park=park,
        kind=kind,
        code=code,
        name=name,
        compactor_model=compactor_model,
        in_service_from=since,
    )
    audit.record(actor, "household.park.station", station, audit.snapshot(station))
    return station


def stations(actor: Actor, park: Area) -> list[ParkStation]:
    return list(ParkStation.objects.filter(zone_id=actor.zone_id, park=park).order_by("kind", "code"))


def park_organizations(actor: Actor, park: Area) -> list[Organization]:
    """The organizations of a park that may register with its discharge system (not its operator)."""
    return list(
        Organization.objects.filter(zone_id=actor.zone_id, area=park)
        .exclude(roles__role=OPERATOR_ROLE)
        .order_by("name", "pk")
    )


def enterprises(actor: Actor, park: Area) -> list[ParkEnterprise]:
    return list(
        ParkEnterprise.objects.filter(zone_id=actor.zone_id, park=park)
        .select_related("organization")
        .order_by("organization__name")
    )


# --- Logs and discharges ----------------------------------------------------------------------------


@transaction.atomic
def record_log(
    actor: Actor,
    station_id: int,
    *,
    kind: str,
    at: datetime | None = None,
    slot: str = "",
    notes: str = "",
    quantity_kg: Any = None,
    volume_m3: Any = None,
    result: str = "",
) -> StationLog:
    """Record one act at a station (now unless `at` says when; not in the future)."""
    station = _station(actor, station_id)
    require_write(actor, station.park)
    if kind not in park_rules.LOG_KINDS:
        raise Invalid.field("kind", _("one of %(choices)s") % {"choices": ", ".join(park_rules.LOG_KINDS)})
    now = timezone.now()
    at = at or now
    if timezone.is_naive(at):
        raise Invalid.field("at", _("give a time zone"))
    if at > now + timedelta(minutes=5):
        raise Invalid.field("at", _("may not be in the future"))
    if at < now - timedelta(days=35):
        raise Invalid.field("at", _("more than 35 days ago"))
    local = at.astimezone(zone_tz(actor.zone_id))
    if kind == park_rules.LOG_ROUND:
        slot = slot or park_rules.round_slot(local.time())
        if slot not in park_rules.ROUND_SLOTS:
            raise Invalid.field("slot", _("13:00 or 16:00"))
    elif slot:
        raise Invalid.field("slot", _("only a round has a slot"))
    if len(notes) > MAX_NOTES:
        raise Invalid.field("notes", _("at most %(limit)s characters") % {"limit": MAX_NOTES})
    if kind == park_rules.LOG_INSPECTION:
        if result not in dict(park_rules.INSPECTION_RESULT_CHOICES):
            raise Invalid.field("result", _("a re-inspection's result: pass or fail"))
    elif result:
        raise Invalid.field("result", _("only a re-inspection has a result"))
    kg = _kg(quantity_kg, "quantity_kg", required=False)
    volume = None
    if volume_m3 not in (None, ""):
        if station.kind != park_rules.COMPACTOR:
            raise Invalid.field("volume_m3", _("only a compactor's load has a volume"))
        try:
            volume = Decimal(str(volume_m3)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise Invalid.field("volume_m3", _("not a number")) from None
        capacity = park_rules.compactor_capacity(station.compactor_model) or 0
        if volume <= 0 or volume > capacity:
            raise Invalid.field(
                "volume_m3",
                _("more than 0 and at most the %(model)s's %(capacity)s m³")
                % {"model": station.compactor_model, "capacity": capacity},
            )
    log = StationLog.objects.create(
        zone_id=actor.zone_id,
        station=station,
        kind=kind,
        at=at,
        day=local.date(),
        slot=slot,
        by=actor.username,
        notes=notes.strip(),
        quantity_kg=kg,
        volume_m3=volume,
        result=result,
    )
    audit.record(actor, "household.park.log", log, audit.snapshot(log, ["station_id", "kind", "at", "slot"]))
    return log


def station_for_class(actor: Actor, enterprise_id: int, household_class: str) -> ParkStation:
    """The station of the enterprise's park where a class is discharged (other waste at the compactor,
    recyclables in the transfer room, kitchen waste at the digester, hazardous at re-inspection)."""
    enterprise = _enterprise(actor, enterprise_id)
    kind = park_rules.STATION_OF_CLASS.get(household_class)
    if kind is None:
        raise Invalid.field(
            "household_class", _("one of %(choices)s") % {"choices": ", ".join(park_rules.CLASSES)}
        )
    station = (
        ParkStation.objects.filter(zone_id=actor.zone_id, park_id=enterprise.park_id, kind=kind)
        .select_related("park")
        .order_by("code")
        .first()
    )
    if station is None:
        raise Invalid.field("household_class", _("the park has no station for this class"))
    return station


@transaction.atomic
def record_discharge(
    actor: Actor, enterprise_id: int, *, station_id: int, household_class: str, quantity_kg: Any, day: date
) -> ParkDischarge:
    enterprise = _enterprise(actor, enterprise_id)
    require_write(actor, enterprise.park)
    station = _station(actor, station_id)
    if station.park_id != enterprise.park_id:
        raise Invalid.field("station_id", _("not a station of the enterprise's park"))
    if household_class not in enterprise.waste_classes.split(","):
        raise Invalid.field("household_class", _("not a class the enterprise registered"))
    kg = _kg(quantity_kg, "quantity_kg")
    assert kg is not None
    if day > today(actor.zone_id) or day < today(actor.zone_id) - timedelta(days=35):
        raise Invalid.field("day", _("today or within the last 35 days"))
    discharge = ParkDischarge.objects.create(
        zone_id=actor.zone_id,
        enterprise=enterprise,
        station=station,
        household_class=household_class,
        quantity_kg=kg,
        day=day,
        recorded_at=timezone.now(),
        recorded_by=actor.username,
    )
    audit.record(actor, "household.park.discharge", discharge, audit.snapshot(discharge))
    return discharge


# --- Status --------------------------------------------------------------------------------------------


def _facts(
    zone_id: int, station_ids: list[int], start: date, end: date
) -> dict[int, list[park_rules.LogFact]]:
    facts: dict[int, list[park_rules.LogFact]] = defaultdict(list)
    for station_id, kind, day, slot in StationLog.objects.filter(
        zone_id=zone_id, station_id__in=station_ids, day__gte=start, day__lte=end
    ).values_list("station_id", "kind", "day", "slot"):
        facts[station_id].append(park_rules.LogFact(kind, day, slot))
    return facts


def latest_day(actor: Actor, park: Area) -> date | None:
    return (
        StationLog.objects.filter(zone_id=actor.zone_id, station__park=park)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )


@dataclass
class StationStatus:
    station: ParkStation
    rows: list[dict[str, Any]]  # requirement label, done, minimum, met
    logs: list[StationLog]
    met: bool

    @property
    def compactor(self) -> park_rules.CompactorModel | None:
        return park_rules.COMPACTOR_MODELS.get(self.station.compactor_model)


REQUIREMENT_LABELS: dict[str, Any] = {
    "round_13": gettext_lazy("13:00 round"),
    "round_16": gettext_lazy("16:00 round"),
    "cleaning": gettext_lazy("cleanings"),
    "disinfection": gettext_lazy("disinfections"),
    "pest_control": gettext_lazy("pest control this week"),
    "clearance": gettext_lazy("clearance"),
}


def requirement_label(key: str) -> str:
    return str(REQUIREMENT_LABELS.get(key, ""))


def day_status(actor: Actor, park: Area, day: date) -> list[StationStatus]:
    """Each station's requirements with what is done on `day` (the week so far for weekly ones)."""
    found = stations(actor, park)
    facts = _facts(actor.zone_id, [s.pk for s in found], park_rules.week_of(day)[0], day)
    logs: dict[int, list[StationLog]] = defaultdict(list)
    for log in StationLog.objects.filter(zone_id=actor.zone_id, station__in=found, day=day).order_by("at"):
        logs[log.station_id].append(log)
    result = []
    for station in found:
        if day < station.in_service_from:
            result.append(StationStatus(station, [], logs[station.pk], True))
            continue
        rows = [
            {
                "key": req.key,
                "label": requirement_label(req.key),
                "log_kind": req.log_kind,
                "slot": req.slot,
                "done": done,
                "minimum": req.minimum,
                "per": req.per,
                "met": done >= req.minimum,
                # Whether `day` closes the requirement's period (a weekly one closes on Saturday).
                "closes": park_rules.period_of(req, day) is not None,
            }
            for req, done in park_rules.progress(station.kind, day, facts[station.pk])
        ]
        met = all(r["met"] or not r["closes"] for r in rows)
        result.append(StationStatus(station, rows, logs[station.pk], met))
    return result


def status_words(statuses: list[StationStatus], day: date, on: date) -> str:
    """The day's status in one sentence, for the page's head."""
    if not statuses:
        return _("No station is registered in this park yet.")
    open_rows = sum(1 for s in statuses for r in s.rows if not r["met"] and r["closes"])
    if open_rows == 0:
        return _("Every station's logs are complete.")
    if day < on:
        return _("%(n)d requirements were missed at %(s)d stations.") % {
            "n": open_rows,
            "s": sum(1 for s in statuses if not s.met),
        }
    return _("%(n)d requirements still open today at %(s)d stations.") % {
        "n": open_rows,
        "s": sum(1 for s in statuses if not s.met),
    }


def status_row(status: StationStatus) -> dict[str, Any]:
    return {
        "station_id": status.station.pk,
        "code": status.station.code,
        "name": status.station.name,
        "kind": status.station.kind,
        "compactor_model": status.station.compactor_model or None,
        "met": status.met,
        "requirements": [
            {k: r[k] for k in ("key", "label", "done", "minimum", "per", "met", "closes")}
            for r in status.rows
        ],
        "logs": [log_row(log) for log in status.logs],
    }


def log_row(log: StationLog) -> dict[str, Any]:
    return {
        "id": log.pk,
        "station_id": log.station_id,
        "kind": log.kind,
        "kind_label": str(dict(park_rules.LOG_KIND_CHOICES)[log.kind]),
        "at": log.at,
        "day": log.day,
        "slot": log.slot or None,
        "by": log.by,
        "notes": log.notes or None,
        "quantity_kg": log.quantity_kg,
        "volume_m3": log.volume_m3,
        "result": log.result or None,
    }


def month_compliance(actor: Actor, park: Area, year: int, month: int) -> list[dict[str, Any]]:
    """Per station, per day of the month: the requirements missed (None for days after today)."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    on = today(actor.zone_id)
    found = stations(actor, park)
    facts = _facts(actor.zone_id, [s.pk for s in found], park_rules.week_of(first)[0], last)
    rows = []
    for station in found:
        days: list[dict[str, Any]] = []
        d = first
        while d <= last:
            if d >= on or d < station.in_service_from:  # today is not over; before service nothing is owed
                days.append({"day": d, "missed": None})
            else:
                missed = [m.key for m in park_rules.misses(station.kind, d, facts[station.pk])]
                days.append({"day": d, "missed": [requirement_label(k) for k in missed]})
            d += timedelta(days=1)
        rows.append({"station": station, "days": days})
    return rows


def discharges(actor: Actor, park: Area, start: date, end: date) -> list[dict[str, Any]]:
    """Per enterprise and class, the kg discharged from `start` to `end` and the kg expected."""
    days = (end - start).days + 1
    sums = {
        (row["enterprise_id"], row["household_class"]): row["kg"]
        for row in ParkDischarge.objects.filter(
            zone_id=actor.zone_id, enterprise__park=park, day__gte=start, day__lte=end
        )
        .values("enterprise_id", "household_class")
        .annotate(kg=Sum("quantity_kg"))
    }
    rows = []
    for enterprise in enterprises(actor, park):
        for cls in enterprise.waste_classes.split(","):
            expected = enterprise.expected_kg.get(cls)
            rows.append(
                {
                    "enterprise": enterprise,
                    "household_class": cls,
                    "class_label": str(dict(park_rules.CLASS_CHOICES).get(cls, cls)),
                    "kg": Decimal(sums.get((enterprise.pk, cls)) or 0).quantize(park_rules.KG_PLACES),
                    "expected_kg": Decimal(expected) * days if expected is not None else None,
                }
            )
    return rows


# --- Missing-log alarms ---------------------------------------------------------------------------------


def _operators(zone_id: int) -> dict[int, int]:
    """Each park's operator organization (the first by id when several)."""
    found: dict[int, int] = {}
    for org_id, area_id in (
        Organization.objects.filter(zone_id=zone_id, roles__role=OPERATOR_ROLE, area__kind=Area.Kind.PARK)
        .order_by("pk")
        .values_list("pk", "area_id")
    ):
        found.setdefault(area_id, org_id)
    return found


def alarm_drafts(zone_id: int, day: date) -> list[alarms.AlarmDraft]:
    """The missing-log alarms of every park station of the zone for the periods `day` closes."""
    found = list(ParkStation.objects.filter(zone_id=zone_id, in_service_from__lte=day).order_by("pk"))
    if not found:
        return []
    facts = _facts(zone_id, [s.pk for s in found], park_rules.week_of(day)[0], day)
    operators = _operators(zone_id)
    drafts = []
    for station in found:
        for miss in park_rules.misses(station.kind, day, facts[station.pk]):
            drafts.append(
                alarms.AlarmDraft(
                    park_rules.ALARM_OF_REQUIREMENT[miss.key],
                    park_rules.alarm_cause(miss, station.pk),
                    day,
                    park_rules.alarm_figures(miss, f"{station.code} {station.name}"),
                    area_id=station.park_id,
                    owner_organization_id=operators.get(station.park_id),
                    owner_area_id=None if operators.get(station.park_id) else station.park_id,
                )
            )
    return drafts


def check_day(zone_id: int, day: date, *, now: datetime | None = None) -> int:
    """Raise the missing-log alarms of `day` (each cause once, ever); returns how many are new."""
    with transaction.atomic():
        return alarms.raise_alarms(zone_id, alarm_drafts(zone_id, day), now or timezone.now())


def park_alarms(actor: Actor, park: Area) -> QuerySet[Alarm]:
    kinds = sorted(set(park_rules.ALARM_OF_REQUIREMENT.values()))
    return alarms.visible_alarms(actor).filter(area=park, kind__in=kinds).order_by("-day", "-pk")
