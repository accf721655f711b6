"""What a regulator supervises of household waste, per area and period: the figures of the streets and
communities, the daily kilograms per class, the subsidy estimate, the stations, the alarms and the raw
events of one day and place.

Everything per area and period is read from the daily roll-ups (`DailyFlow`), the registry (`Source`,
`Station`) and the alarms, the participation from the monthly roll-up (`ParticipationMonth`, refreshed
daily by the scheduler); raw hand-over events are read only for the events list of one day and place.
A zone regulator sees the zone, a street regulator its jurisdiction (`Actor.jurisdiction_area_ids`,
as the cockpit limits it); any other organization is refused.

Figures (each function small and named for what it counts, to reconcile with `figures.py`):
- generation: kilograms received at stations from households (node source → station, receiver side);
- per-capita daily generation: generation ÷ registered residents ÷ days with data in the period;
- participation: households with at least one drop in the period's month ÷ registered households;
- subsidy estimate: household.figures' one formula (seed:5088-5092): 300 CNY per tonne of kitchen
  waste recovered and 100 CNY per tonne of reduction below the period's share of the source quota.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from zerowaste.core import formatting
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area

from . import alarms, balance, figures, participation, rules
from .models import Alarm, DailyFlow, HandoverEvent, Source, Station

ZERO = Decimal("0.000")
KG_PER_T = Decimal("1000")
# The classes the tables show in their own columns (every class counts in the total).
MAIN_CLASSES = (rules.KITCHEN, rules.RECYCLABLE, "hazardous", "other")
EVENTS_PER_PAGE = 50
MAX_DAYS_BACK = 3660


# --- Who sees what ------------------------------------------------------------------------------------


def may_supervise(actor: Actor) -> bool:
    """Regulators (a zone's, a street's) and a community's staff (its community only)."""
    return actor.is_system or actor.is_regulator or alarms.community_staff_area(actor) is not None


def require_supervisor(actor: Actor) -> None:
    if not may_supervise(actor):
        raise Forbidden(_("only regulators and a community's staff supervise household waste"))


def scope(actor: Actor) -> frozenset[int] | None:
    """The areas the actor supervises: None for the whole zone, else its jurisdiction (a community's
    staff: its community)."""
    require_supervisor(actor)
    if actor.is_system:
        return None
    if actor.is_regulator:
        return actor.jurisdiction_area_ids
    community = alarms.community_staff_area(actor)
    assert community is not None
    return area_and_below(actor.zone_id, community)


def area_and_below(zone_id: int, area_id: int) -> frozenset[int]:
    ids = {area_id}
    frontier = {area_id}
    while frontier:
        frontier = set(
            Area.objects.filter(zone_id=zone_id, parent_id__in=sorted(frontier))
            .exclude(pk__in=sorted(ids))
            .values_list("pk", flat=True)
        )
        ids |= frontier
    return frozenset(ids)


def get_area(actor: Actor, area_id: int) -> Area:
    """A street or community the actor supervises (404 otherwise, as if it did not exist)."""
    visible = scope(actor)
    area = Area.objects.filter(zone_id=actor.zone_id, pk=area_id).select_related("parent").first()
    if area is None or (visible is not None and area.pk not in visible):
        raise NotFound(_("no such street or community"))
    return area


def areas_in(actor: Actor, within: Area | None = None) -> frozenset[int] | None:
    """The area ids a page's figures cover: an area and what lies below it, inside the actor's scope;
    None for the whole zone."""
    visible = scope(actor)
    if within is None:
        return visible
    below = area_and_below(actor.zone_id, within.pk)
    return below if visible is None else below & visible


def _in_areas(
    qs: QuerySet[Any], area_ids: frozenset[int] | None, field_name: str = "area_id"
) -> QuerySet[Any]:
    return qs if area_ids is None else qs.filter(**{f"{field_name}__in": sorted(area_ids)})


# --- The period ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A day or a month; `day` is the day the day-level figures (participation, mass balance) are of:
    the day itself, or the latest day of the month with data."""

    kind: str  # "day" or "month"
    start: date
    end: date
    day: date

    @property
    def label(self) -> str:
        return self.start.isoformat() if self.kind == "day" else self.start.strftime("%Y-%m")

    @property
    def query(self) -> str:
        return f"day={self.label}" if self.kind == "day" else f"month={self.label}"


def latest_day(
    zone_id: int, area_ids: frozenset[int] | None = None, before: date | None = None
) -> date | None:
    """The latest day with roll-ups (in the areas, up to `before`)."""
    qs = _in_areas(DailyFlow.objects.filter(zone_id=zone_id), area_ids)
    if before is not None:
        qs = qs.filter(day__lte=before)
    found: date | None = qs.aggregate(last=Max("day"))["last"]
    return found


def parse_day(text: str, name: str = "day") -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid.field(name, _("%(v)s is not a day: write 2024-05-31") % {"v": text[:20]}) from None
    if not 2000 <= day.year <= 2100:
        raise Invalid.field(name, _("must be a day from 2000 to 2100"))
    return day


def parse_month(text: str) -> tuple[date, date]:
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise Invalid.field("month", _("%(v)s is not a month: write 2024-05") % {"v": text[:20]})
    year, month = int(parts[0]), int(parts[1])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise Invalid.field("month", _("must be a month from 2000-01 to 2100-12"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def period_of(
    zone_id: int, area_ids: frozenset[int] | None, *, day: str = "", month: str = "", today: date
) -> Period:
    """The period asked for (`day` wins over `month`), else the latest day with data, else today."""
    if day.strip():
        on = parse_day(day)
        return Period("day", on, on, on)
    if month.strip():
        start, end = parse_month(month)
        last = latest_day(zone_id, area_ids, before=end)
        return Period("month", start, end, last if last is not None and last >= start else end)
    on = latest_day(zone_id, area_ids) or today
    return Period("day", on, on, on)


def days_with_data(zone_id: int, period: Period, area_ids: frozenset[int] | None) -> int:
    qs = _in_areas(
        DailyFlow.objects.filter(zone_id=zone_id, day__gte=period.start, day__lte=period.end), area_ids
    )
    return qs.values("day").distinct().count()


# --- Figures per area ------------------------------------------------------------------------------


@dataclass
class AreaFigures:
    area_id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    events: int = 0
    kg: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys((*MAIN_CLASSES, "total"), ZERO))
    residents: int = 0
    households: int = 0
    participating: int = 0
    open_alarms: int = 0
    per_capita_kg: Decimal | None = None
    participation_pct: Decimal | None = None
    subsidy_cny: Decimal = Decimal("0.00")
    kitchen_handed_kg: Decimal = ZERO  # kitchen waste its stations handed to vehicles (the subsidy's base)
    events_link: str = ""  # a community's raw events of the day shown (set by the page)

    def add(self, other: AreaFigures) -> None:
        self.events += other.events
        for key, value in other.kg.items():
            self.kg[key] = self.kg.get(key, ZERO) + value
        self.residents += other.residents
        self.households += other.households
        self.participating += other.participating
        self.open_alarms += other.open_alarms
        self.kitchen_handed_kg += other.kitchen_handed_kg


def generation_by_area(
    zone_id: int, period: Period, area_ids: frozenset[int] | None
) -> dict[int, dict[str, Decimal]]:
    """Kilograms households handed over at the stations of each community, per top class."""
    out: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    qs = DailyFlow.objects.filter(
        zone_id=zone_id,
        day__gte=period.start,
        day__lte=period.end,
        node=rules.NODE_SOURCE_STATION,
        station__isnull=False,
    )
    for row in (
        _in_areas(qs, area_ids).values("area_id", "household_class").annotate(kg=Sum("in_kg")).order_by()
    ):
        if row["area_id"] is not None:
            out[row["area_id"]][rules.top_class(row["household_class"])] += Decimal(row["kg"] or 0)
    return out


def kitchen_handed_by_area(
    zone_id: int, period: Period, area_ids: frozenset[int] | None
) -> dict[int, Decimal]:
    """Kilograms of kitchen waste each community's stations handed to vehicles."""
    qs = DailyFlow.objects.filter(
        zone_id=zone_id,
        day__gte=period.start,
        day__lte=period.end,
        node=rules.NODE_STATION_VEHICLE,
        station__isnull=False,
    )
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in (
        _in_areas(qs, area_ids).values("area_id", "household_class").annotate(kg=Sum("out_kg")).order_by()
    ):
        if row["area_id"] is not None and rules.top_class(row["household_class"]) == rules.KITCHEN:
            out[row["area_id"]] += Decimal(str(row["kg"] or 0)).quantize(Decimal("0.001"))
    return out


@dataclass
class _Subsidies:
    """Fills the subsidy estimate of the tables' rows as household.figures defines it (one formula for
    every page): kitchen waste recovered by the zone's destination split, reduction below the quota."""

    zone_id: int
    period: Period
    split: dict[str, Decimal] = field(init=False)
    zone_residents: int = field(init=False)
    quotas: figures.Quotas = field(init=False)

    def __post_init__(self) -> None:
        self.split = figures.kitchen_split(self.zone_id, self.period.start, self.period.end)
        self.quotas = figures.quotas_of(self.zone_id, self.period.start, self.period.end)
        everyone = Source.objects.filter(zone_id=self.zone_id, kind=rules.SOURCE_HOUSEHOLD)
        self.zone_residents = int(everyone.aggregate(r=Sum("residents"))["r"] or 0)

    def fill(self, row: AreaFigures, area: Area | None) -> None:
        """`area` None: the whole zone, whose kitchen waste recovered is what its plants weighed in."""
        if area is None:
            recovered = figures.kitchen_recovered_at_plants(self.zone_id, self.period.start, self.period.end)
        else:
            recovered = figures.apportion(row.kitchen_handed_kg, self.split, rules.RECOVERY_SITE_ROLES)
        subsidy, _quota = figures.subsidy_of(
            self.zone_id,
            area,
            self.period.start,
            self.period.end,
            recovered,
            row.kg["total"],
            row.residents,
            self.zone_residents,
            self.quotas,
        )
        row.subsidy_cny = subsidy.total_cny


def events_by_area(zone_id: int, period: Period, area_ids: frozenset[int] | None) -> dict[int, int]:
    """Hand-over confirmations counted at the stations of each community (every node)."""
    qs = DailyFlow.objects.filter(
        zone_id=zone_id, day__gte=period.start, day__lte=period.end, station__isnull=False
    )
    return {
        row["area_id"]: int(row["n"] or 0)
        for row in _in_areas(qs, area_ids).values("area_id").annotate(n=Sum("events")).order_by()
        if row["area_id"] is not None
    }


def registered_by_community(zone_id: int, community_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(residents, households) registered per community."""
    rows = (
        Source.objects.filter(zone_id=zone_id, community_id__in=community_ids)
        .values("community_id")
        .annotate(
            residents=Sum("residents"),
            households=Count("pk", filter=Q(kind=rules.SOURCE_HOUSEHOLD)),
        )
        .order_by()
    )
    return {r["community_id"]: (int(r["residents"] or 0), int(r["households"] or 0)) for r in rows}


def open_alarms_by_area(zone_id: int, area_ids: frozenset[int] | None) -> dict[int, int]:
    """Open alarms per area: at a station they count in the station's community, else in the area
    they belong to (a vehicle's alarm in its operator's street)."""
    qs = Alarm.objects.filter(zone_id=zone_id, resolved_at__isnull=True)
    if area_ids is not None:
        qs = qs.filter(_alarm_in(area_ids))
    counts: dict[int, int] = defaultdict(int)
    for row in qs.values("area_id", "station__community_id").annotate(n=Count("pk")).order_by():
        where = row["station__community_id"] or row["area_id"]
        if where is not None and (area_ids is None or where in area_ids):
            counts[where] += int(row["n"])
    return dict(counts)


def _alarm_in(area_ids: frozenset[int]) -> Q:
    ids = sorted(area_ids)
    return Q(area_id__in=ids) | Q(station__community_id__in=ids)


def _finish(row: AreaFigures, days: int) -> AreaFigures:
    total = row.kg["total"]
    if row.residents and days:
        row.per_capita_kg = (total / row.residents / days).quantize(Decimal("0.001"), ROUND_HALF_UP)
    if row.households:
        row.participation_pct = (Decimal(100) * row.participating / row.households).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )
    return row


@dataclass
class StreetGroup:
    street: AreaFigures
    communities: list[AreaFigures]


def street_groups(actor: Actor, period: Period, within: Area | None = None) -> list[StreetGroup]:
    """Per street, its communities' figures and the street's sum, for the areas the actor supervises
    (inside `within` when given). A community outside every street is grouped under itself."""
    area_ids = areas_in(actor, within)
    communities = list(
        _in_areas(Area.objects.filter(zone_id=actor.zone_id, kind=Area.Kind.COMMUNITY), area_ids, "pk")
        .select_related("parent")
        .order_by("code", "pk")
    )
    ids = [c.pk for c in communities]
    generation = generation_by_area(actor.zone_id, period, area_ids)
    events = events_by_area(actor.zone_id, period, area_ids)
    registered = registered_by_community(actor.zone_id, ids)
    participating = participation.by_community(actor.zone_id, period.start, ids)
    open_alarms = open_alarms_by_area(actor.zone_id, area_ids)
    kitchen_handed = kitchen_handed_by_area(actor.zone_id, period, area_ids)
    days = days_with_data(actor.zone_id, period, area_ids)
    subsidies = _Subsidies(actor.zone_id, period)
    streets: dict[int, Area] = {}
    groups: dict[int, StreetGroup] = {}
    order: list[int] = []
    for community in communities:
        row = AreaFigures(community.pk, community.code, community.name, community.kind, community.parent_id)
        row.events = events.get(community.pk, 0)
        for top, kg in generation.get(community.pk, {}).items():
            if top in row.kg:
                row.kg[top] += kg
            row.kg["total"] += kg
        row.residents, row.households = registered.get(community.pk, (0, 0))
        row.participating = participating.get(community.pk, 0)
        row.open_alarms = open_alarms.get(community.pk, 0)
        row.kitchen_handed_kg = kitchen_handed.get(community.pk, ZERO)
        subsidies.fill(row, community)
        street = community.parent if community.parent is not None else community
        streets[street.pk] = street
        if street.pk not in groups:
            order.append(street.pk)
            head = AreaFigures(street.pk, street.code, street.name, street.kind, street.parent_id)
            head.open_alarms = open_alarms.get(street.pk, 0) if street.pk != community.pk else 0
            groups[street.pk] = StreetGroup(head, [])
        groups[street.pk].communities.append(_finish(row, days))
        groups[street.pk].street.add(row)
    for pk, group in groups.items():
        subsidies.fill(group.street, streets[pk])
    return [
        StreetGroup(_finish(groups[pk].street, days), groups[pk].communities)
        for pk in sorted(order, key=lambda pk: (groups[pk].street.code, pk))
    ]


def totals(
    actor: Actor, period: Period, groups: list[StreetGroup], days: int, whole_zone: bool
) -> AreaFigures:
    """The tables' total row; its subsidy is the zone's own estimate when the table is the whole zone,
    else the sum of its streets'."""
    total = AreaFigures(0, "", _("Total"), "", None)
    for group in groups:
        total.add(group.street)
    if whole_zone:
        _Subsidies(actor.zone_id, period).fill(total, None)
    else:
        total.subsidy_cny = sum((g.street.subsidy_cny for g in groups), Decimal("0.00"))
    return _finish(total, days)


def daily_kg(zone_id: int, period: Period, area_ids: frozenset[int] | None) -> dict[str, Any]:
    """Per day of the period's month, the kilograms households handed over per top class: the chart's
    data (exact decimal strings; the page formats them)."""
    start = period.start.replace(day=1)
    end = date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
    qs = DailyFlow.objects.filter(
        zone_id=zone_id, day__gte=start, day__lte=end, node=rules.NODE_SOURCE_STATION, station__isnull=False
    )
    sums: dict[tuple[date, str], Decimal] = defaultdict(lambda: ZERO)
    classes: set[str] = set()
    for row in _in_areas(qs, area_ids).values("day", "household_class").annotate(kg=Sum("in_kg")).order_by():
        top = rules.top_class(row["household_class"])
        classes.add(top)
        sums[(row["day"], top)] += Decimal(row["kg"] or 0)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    ordered = [c for c in MAIN_CLASSES if c in classes] + sorted(classes - set(MAIN_CLASSES))
    return {
        "days": [d.isoformat() for d in days],
        "classes": ordered,
        "series": {c: [str(sums.get((d, c), ZERO)) for d in days] for c in ordered},
        "empty": not classes,
    }


def balance_lines(actor: Actor, day: date, area_ids: frozenset[int] | None) -> list[dict[str, Any]]:
    """The day's mass balance per station and vehicle and class (household/balance.py)."""
    require_supervisor(actor)
    return balance.table(actor.zone_id, day, area_ids)


def stations_of(actor: Actor, area: Area, period: Period) -> list[dict[str, Any]]:
    """The stations of an area with their kilograms received and handed over and events in the period."""
    area_ids = areas_in(actor, area)
    stations = list(
        _in_areas(Station.objects.filter(zone_id=actor.zone_id), area_ids, "community_id").order_by(
            "code", "pk"
        )
    )
    sums = {
        r["station_id"]: r
        for r in DailyFlow.objects.filter(
            zone_id=actor.zone_id,
            day__gte=period.start,
            day__lte=period.end,
            station_id__in=[s.pk for s in stations],
        )
        .values("station_id")
        .annotate(in_kg=Sum("in_kg"), out_kg=Sum("out_kg"), events=Sum("events"))
        .order_by()
    }
    return [
        {
            "station": s,
            "kind_label": str(dict(rules.STATION_KIND_CHOICES).get(s.kind, "")),
            "in_kg": Decimal(sums.get(s.pk, {}).get("in_kg") or 0),
            "out_kg": Decimal(sums.get(s.pk, {}).get("out_kg") or 0),
            "events": int(sums.get(s.pk, {}).get("events") or 0),
        }
        for s in stations
    ]


# --- Alarms ---------------------------------------------------------------------------------------


def alarm_list(
    actor: Actor, *, kind: str | None = None, state: str | None = None, area: Area | None = None
) -> QuerySet[Alarm]:
    """The alarms the actor sees (alarms.visible_alarms), inside an area when given: open ones first,
    then by deadline."""
    qs = alarms.visible_alarms(actor, kind=kind or None, state=state or None)
    if area is not None:
        qs = qs.filter(_alarm_in(area_and_below(actor.zone_id, area.pk)))
    return qs.select_related("area", "escalated_to", "device").order_by("resolved_at", "deadline", "pk")


def get_alarm(actor: Actor, alarm_id: int) -> Alarm:
    found = alarms.visible_alarms(actor).select_related("area", "escalated_to").filter(pk=alarm_id).first()
    if found is None:
        raise NotFound(_("no such alarm"))
    return found


def alarm_state_choices() -> list[tuple[str, str]]:
    return [
        ("open", pgettext("alarm state", "open")),
        ("escalated", pgettext("alarm state", "escalated")),
        ("resolved", pgettext("alarm state", "resolved")),
    ]


def alarm_state_label(alarm: Alarm) -> str:
    return dict(alarm_state_choices())[alarm.state]


def figures_in_words(alarm: Alarm) -> str:
    """The alarm's figures in words, its numbers written the one way (`12,500.000 千克`)."""
    shown = {
        key: formatting.format_figure(value) if formatting.to_decimal(value) is not None else value
        for key, value in (alarm.figures or {}).items()
    }
    return rules.figures_text(alarm.kind, shown)


def side_label(side: str) -> str:
    """A hand-over side in words: the one who hands over, the one who receives."""
    return (
        pgettext("hand-over side", "giver")
        if side == rules.SIDE_GIVER
        else pgettext("hand-over side", "receiver")
    )


# --- Raw events of one day and place -------------------------------------------------------------


def events_of_day(
    actor: Actor, *, day: date, area: Area, station_id: int | None = None, household_class: str = ""
) -> QuerySet[HandoverEvent]:
    """The hand-over events of ONE day at the stations of one area (or one of its stations), newest
    first; never more than a day: the day index and the area's stations bound the scan."""
    area_ids = areas_in(actor, area)
    stations = _in_areas(Station.objects.filter(zone_id=actor.zone_id), area_ids, "community_id")
    if station_id is not None:
        if not stations.filter(pk=station_id).exists():
            raise NotFound(_("no such station in this area"))
        station_ids = [station_id]
    else:
        station_ids = list(stations.values_list("pk", flat=True))
    qs = HandoverEvent.objects.filter(zone_id=actor.zone_id, day=day, station_id__in=station_ids)
    if household_class:
        qs = qs.filter(
            Q(household_class=household_class) | Q(household_class__startswith=f"{household_class}.")
        )
    return qs.select_related("station", "source", "vehicle", "device", "bin").order_by("-occurred_at", "-pk")
