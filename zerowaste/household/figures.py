"""The household figures of an area and a period (issue 17 points 6-7), from the roll-ups only.

`area_figures(zone_id, area_id, start, end) -> AreaFigures` for the zone (`area_id=None`), a street or
a community: residents, households, participation, sorted-collection coverage, what was generated,
recovered, incinerated and landfilled, the per-capita daily generation (indicator 6), the subsidy
estimate (seed:5088-5092) and the source total-control quota comparison (seed:5102-5126).
`children_figures` gives the streets of the zone or the communities of a street, `latest_month` the
period pages open on, `figures_for(actor, area_id, start, end)` the figures a reader may see. Reads
the registry (sources, stations), the DailyFlow and ParticipationMonth roll-ups, the sites' roles and
the quotas; never the raw events (`refresh_participation` is the batch job that rolls a month's
participation up from them).

What a community generated is what its stations received (source → station, both the households'
own drops and the stations' records); where it went is the zone's split of each class over the plants
in the period (the plants' weighbridges) applied to what the community's stations handed over: a
station's load is mixed with others' on the truck, so a community's share of a plant is apportioned.
A street is the sum of its communities. Quantities are kilograms to the gram (Decimal).
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Max, Q, Sum
from django.utils.translation import gettext as _

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area

from . import rules
from .models import DailyFlow, ParticipationMonth, SiteRole, Source, SourceQuota

KG = Decimal("0.001")
ZERO = Decimal("0.000")
TOP_CLASSES = ("kitchen", "recyclable", "hazardous", "other")


@dataclass(frozen=True)
class Subsidy:
    """The city's subsidy estimate (以奖代补, seed:5088-5092): 300 CNY/t kitchen waste recovered,
    100 CNY/t of reduction below the period's share of the source quota."""

    kitchen_t: Decimal
    reduction_t: Decimal
    kitchen_cny: Decimal
    reduction_cny: Decimal
    total_cny: Decimal


@dataclass(frozen=True)
class QuotaComparison:
    """The area's share of the source total-control quota (生活垃圾源头总量年度控制指标) for the
    period against what it generated. `share` is the area's part of the zone's residents (1 for the
    zone, or for an area with its own quota)."""

    annual_quota_t: Decimal
    period_quota_t: Decimal
    generated_t: Decimal
    difference_t: Decimal  # generated − period quota: negative is below the quota
    within: bool
    share: Decimal
    source: str


@dataclass(frozen=True)
class AreaFigures:
    """The figures of one area (the zone, a street or a community) for a period [start, end]."""

    area_id: int | None
    kind: str  # "zone", "street" or "community"
    code: str
    name: str
    name_en: str
    start: date
    end: date
    days: int
    residents: int
    households: int
    units: int  # social units (社会单位)
    participating_households: int
    participation_rate: Decimal | None  # 0-1
    communities: int
    sorted_communities: int
    sorted_coverage: Decimal | None  # 0-1
    generated_kg: dict[str, Decimal]  # per top class (kitchen, recyclable, hazardous, other)
    generated_total_kg: Decimal
    recovered_kg: Decimal  # kitchen waste and recyclables recovered (indicator 12's numerator)
    kitchen_recovered_kg: Decimal
    incinerated_kg: Decimal
    landfill_kg: Decimal
    per_capita_kg_day: Decimal | None  # indicator 6
    recycling_rate: Decimal | None  # 0-1, indicator 12
    kitchen_recovery_rate: Decimal | None  # 0-1, kitchen waste recovered ÷ received (indicator 13's rate)
    hazardous_communities: int  # communities whose hazardous waste went to a vehicle (indicator 21)
    hazardous_coverage: Decimal | None  # 0-1
    subsidy: Subsidy
    quota: QuotaComparison | None


def latest_month(zone_id: int) -> tuple[date, date] | None:
    """The month of the latest day with roll-ups: the period pages open on (first and last day)."""
    last = DailyFlow.objects.filter(zone_id=zone_id).aggregate(d=Max("day"))["d"]
    if last is None:
        return None
    first = last.replace(day=1)
    return first, last.replace(day=calendar.monthrange(last.year, last.month)[1])


def _communities(zone_id: int, area: Area | None) -> list[int]:
    rows = Area.objects.filter(zone_id=zone_id, kind=Area.Kind.COMMUNITY)
    if area is None:
        return list(rows.values_list("pk", flat=True))
    if area.kind == Area.Kind.COMMUNITY:
        return [area.pk]
    return list(rows.filter(parent_id=area.pk).values_list("pk", flat=True))


def _kg(value: object) -> Decimal:
    # SQLite sums decimals as floats: back to the gram.
    return Decimal(str(value or 0)).quantize(KG)


def _station_flows(
    zone_id: int, community_ids: list[int], start: date, end: date
) -> dict[tuple[int, str, str], tuple[Decimal, Decimal]]:
    """(community, node, top class) → (in kg, out kg) at the communities' stations."""
    rows = (
        DailyFlow.objects.filter(
            zone_id=zone_id, day__gte=start, day__lte=end, station__isnull=False, area_id__in=community_ids
        )
        .values("area_id", "node", "household_class")
        .annotate(i=Sum("in_kg"), o=Sum("out_kg"))
        .order_by()
    )
    out: dict[tuple[int, str, str], tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for row in rows:
        key = (row["area_id"], row["node"], rules.top_class(row["household_class"]))
        before = out[key]
        out[key] = (before[0] + _kg(row["i"]), before[1] + _kg(row["o"]))
    return out


def plant_receipts(zone_id: int, start: date, end: date) -> dict[tuple[str, str], Decimal]:
    """(site role, top class) → kg the zone's plants received (their weighbridges, vehicle → plant);
    a site without a role counts as "" (cleared, destination unknown)."""
    roles = dict(SiteRole.objects.filter(zone_id=zone_id).values_list("site_id", "role"))
    rows = (
        DailyFlow.objects.filter(
            zone_id=zone_id, day__gte=start, day__lte=end, node=rules.NODE_VEHICLE_SITE, site__isnull=False
        )
        .values("site_id", "household_class")
        .annotate(i=Sum("in_kg"))
        .order_by()
    )
    out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        out[(roles.get(row["site_id"], ""), rules.top_class(row["household_class"]))] += _kg(row["i"])
    return dict(out)


def _destination_split(receipts: dict[tuple[str, str], Decimal]) -> dict[str, dict[str, Decimal]]:
    """Per top class, the share of the plants' receipts at each role."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (_role, top), kg in receipts.items():
        totals[top] += kg
    split: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for (role, top), kg in receipts.items():
        if totals[top]:
            split[top][role] = kg / totals[top]
    return split


Quotas = dict[tuple[int | None, int], SourceQuota]


def quotas_of(zone_id: int, start: date, end: date, area_ids: list[int] | None = None) -> Quotas:
    """(area or None for the zone, year) → the source quota, for the years of [start, end]; every
    area's when `area_ids` is None."""
    qs = SourceQuota.objects.filter(zone_id=zone_id, year__gte=start.year, year__lte=end.year)
    if area_ids is not None:
        qs = qs.filter(Q(area__isnull=True) | Q(area_id__in=area_ids))
    return {(q.area_id, q.year): q for q in qs}


def _quota(
    zone_id: int,
    area: Area | None,
    start: date,
    end: date,
    residents: int,
    zone_residents: int,
    quotas: Quotas | None = None,
) -> tuple[Decimal, Decimal, Decimal, str] | None:
    """(annual quota t, period quota t, residents' share, source) of the area, or None without one
    for every year of the period. An area's own quota counts; else the zone's shared by residents."""
    if quotas is None:
        quotas = quotas_of(zone_id, start, end, [area.pk] if area is not None else [])
    period = Decimal(0)
    annual = Decimal(0)
    share = Decimal(1)
    sources = []
    day = start
    while day <= end:
        year_end = min(end, date(day.year, 12, 31))
        days = (year_end - day).days + 1
        year_days = 366 if calendar.isleap(day.year) else 365
        own = quotas.get((area.pk, day.year)) if area is not None else None
        zone_quota = quotas.get((None, day.year))
        if own is not None:
            quota, share = own, Decimal(1)
        elif zone_quota is not None and zone_residents:
            quota = zone_quota
            share = Decimal(1) if area is None else Decimal(residents) / Decimal(zone_residents)
        else:
            return None
        period += rules.quota_share_t(Decimal(quota.quota_t), days, year_days, share)
        annual = (Decimal(quota.quota_t) * share).quantize(KG)
        sources.append(quota.source)
        day = year_end + timedelta(days=1)
    return annual, period, share.quantize(Decimal("0.0001")), "; ".join(sorted(set(filter(None, sources))))


def apportion(handed_kg: Decimal, split: dict[str, Decimal], roles: frozenset[str]) -> Decimal:
    """An area's kilograms of one class handed to vehicles that reached plants of `roles`, by the zone's
    destination split of that class (a vehicle's load is not traced to its plant)."""
    return sum(((handed_kg * share).quantize(KG) for role, share in split.items() if role in roles), ZERO)


def kitchen_split(zone_id: int, start: date, end: date) -> dict[str, Decimal]:
    """Per site role, the share of the kitchen waste the zone's plants received over the period."""
    return _destination_split(plant_receipts(zone_id, start, end)).get(rules.KITCHEN, {})


def kitchen_recovered_at_plants(zone_id: int, start: date, end: date) -> Decimal:
    """The kitchen waste the zone's recovery plants weighed in over the period (the zone's own figure;
    an area's is apportioned)."""
    receipts = plant_receipts(zone_id, start, end)
    return sum(
        (
            kg
            for (role, top), kg in receipts.items()
            if role in rules.RECOVERY_SITE_ROLES and top == rules.KITCHEN
        ),
        ZERO,
    )


def subsidy_of(
    zone_id: int,
    area: Area | None,
    start: date,
    end: date,
    kitchen_recovered_kg: Decimal,
    generated_kg: Decimal,
    residents: int,
    zone_residents: int,
    quotas: Quotas | None = None,
) -> tuple[Subsidy, QuotaComparison | None]:
    """The subsidy estimate of an area (seed:5088-5092): 300 CNY/t of kitchen waste recovered and
    100 CNY/t of reduction, the tonnes generated below the period's share of the source quota (none
    without a quota); with the quota comparison."""
    generated_t = (generated_kg / 1000).quantize(KG)
    quota_row = _quota(zone_id, area, start, end, residents, zone_residents, quotas)
    quota = None
    reduction_t = ZERO
    if quota_row is not None:
        annual, period, share, source = quota_row
        difference = generated_t - period
        quota = QuotaComparison(annual, period, generated_t, difference, difference <= 0, share, source)
        reduction_t = max(-difference, ZERO)
    kitchen_t = (kitchen_recovered_kg / 1000).quantize(KG)
    kitchen_cny = rules.subsidy_cny(kitchen_t, ZERO)
    reduction_cny = rules.subsidy_cny(ZERO, reduction_t)
    return Subsidy(kitchen_t, reduction_t, kitchen_cny, reduction_cny, kitchen_cny + reduction_cny), quota


def area_figures(zone_id: int, area_id: int | None, start: date, end: date) -> AreaFigures:
    """The figures of the zone (`area_id` None), a street or a community for the days [start, end]."""
    area = Area.objects.get(zone_id=zone_id, pk=area_id) if area_id is not None else None
    community_ids = _communities(zone_id, area)
    days = (end - start).days + 1

    registry = Source.objects.filter(zone_id=zone_id, community_id__in=community_ids).aggregate(
        households=Count("id", filter=Q(kind=rules.SOURCE_HOUSEHOLD)),
        units=Count("id", filter=Q(kind=rules.SOURCE_UNIT)),
        residents=Sum("residents", filter=Q(kind=rules.SOURCE_HOUSEHOLD)),
    )
    residents = int(registry["residents"] or 0)
    households = int(registry["households"] or 0)
    zone_residents = residents
    if area is not None:
        everyone = Source.objects.filter(zone_id=zone_id, kind=rules.SOURCE_HOUSEHOLD)
        zone_residents = int(everyone.aggregate(r=Sum("residents"))["r"] or 0)

    # Participation: per community the month with most participating households (a lower bound of
    # the distinct households over a period of several months).
    best: dict[int, int] = defaultdict(int)
    for community_id, count in ParticipationMonth.objects.filter(
        zone_id=zone_id, community_id__in=community_ids, month__gte=start.replace(day=1), month__lte=end
    ).values_list("community_id", "households"):
        best[community_id] = max(best[community_id], count)
    participating = min(sum(best.values()), households)

    flows = _station_flows(zone_id, community_ids, start, end)
    generated = dict.fromkeys(TOP_CLASSES, ZERO)
    handed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    kitchen_out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    other_out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    hazardous_out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (community_id, node, top), (in_kg, out_kg) in flows.items():
        if node == rules.NODE_SOURCE_STATION:
            generated[top] = generated.get(top, ZERO) + in_kg
        elif node == rules.NODE_STATION_VEHICLE:
            handed[top] += out_kg
            if top == rules.KITCHEN:
                kitchen_out[community_id] += out_kg
            elif top == "other":
                other_out[community_id] += out_kg
            elif top == "hazardous":
                hazardous_out[community_id] += out_kg
    # Sorted collection (分类收运): the community's stations handed kitchen waste and other waste
    # to vehicles apart.
    sorted_communities = sum(1 for c in community_ids if kitchen_out[c] > 0 and other_out[c] > 0)
    hazardous_communities = sum(1 for c in community_ids if hazardous_out[c] > 0)
    generated_total = sum(generated.values(), ZERO)

    receipts = plant_receipts(zone_id, start, end)
    if area is None:
        by_role: dict[str, Decimal] = defaultdict(lambda: ZERO)
        kitchen_recovered = ZERO
        for (role, top), kg in receipts.items():
            by_role[role] += kg
            if role in rules.RECOVERY_SITE_ROLES and top == rules.KITCHEN:
                kitchen_recovered += kg
        recovered = sum((by_role[r] for r in rules.RECOVERY_SITE_ROLES), ZERO)
        incinerated, landfill = by_role[rules.SITE_INCINERATION], by_role[rules.SITE_LANDFILL]
    else:
        split = _destination_split(receipts)

        def apportioned(roles: frozenset[str], tops: tuple[str, ...] = TOP_CLASSES) -> Decimal:
            return sum((apportion(handed[top], split.get(top, {}), roles) for top in tops), ZERO)

        recovered = apportioned(rules.RECOVERY_SITE_ROLES)
        kitchen_recovered = apportioned(rules.RECOVERY_SITE_ROLES, (rules.KITCHEN,))
        incinerated = apportioned(frozenset({rules.SITE_INCINERATION}))
        landfill = apportioned(frozenset({rules.SITE_LANDFILL}))

    subsidy, quota = subsidy_of(
        zone_id, area, start, end, kitchen_recovered, generated_total, residents, zone_residents
    )

    return AreaFigures(
        area_id=area.pk if area else None,
        kind=area.kind if area else "zone",
        code=area.code if area else "",
        name=area.name if area else "",
        name_en=area.name_en if area else "",
        start=start,
        end=end,
        days=days,
        residents=residents,
        households=households,
        units=int(registry["units"] or 0),
        participating_households=participating,
        participation_rate=rules.rate(participating, households),
        communities=len(community_ids),
        sorted_communities=sorted_communities,
        sorted_coverage=rules.rate(sorted_communities, len(community_ids)),
        generated_kg=generated,
        generated_total_kg=generated_total,
        recovered_kg=recovered,
        kitchen_recovered_kg=kitchen_recovered,
        incinerated_kg=incinerated,
        landfill_kg=landfill,
        per_capita_kg_day=rules.per_capita_kg_day(generated_total, residents, days),
        recycling_rate=rules.rate(recovered, generated_total),
        kitchen_recovery_rate=rules.rate(kitchen_recovered, generated[rules.KITCHEN]),
        hazardous_communities=hazardous_communities,
        hazardous_coverage=rules.rate(hazardous_communities, len(community_ids)),
        subsidy=subsidy,
        quota=quota,
    )


def children_figures(zone_id: int, area_id: int | None, start: date, end: date) -> list[AreaFigures]:
    """The streets of the zone (`area_id` None) or the communities of a street, by code."""
    if area_id is None:
        children = Area.objects.filter(zone_id=zone_id, kind=Area.Kind.STREET)
    else:
        children = Area.objects.filter(zone_id=zone_id, parent_id=area_id, kind=Area.Kind.COMMUNITY)
    return [area_figures(zone_id, a.pk, start, end) for a in children.order_by("code")]


def refresh_participation(zone_id: int, month: date) -> int:
    """Roll a month's participation up from the raw events (`participation.refresh_month`, the batch
    job the scheduler runs daily): per community, the households with at least one drop. Returns the
    communities with a row."""
    from . import participation

    return participation.refresh_month(zone_id, month).communities


def figures_for(actor: Actor, area_id: int | None, start: date, end: date) -> AreaFigures:
    """`area_figures` for a reader: regulators only; a street regulator reads its street and its
    communities (another area, or another zone's, answers NotFound; the zone as a whole, Forbidden)."""
    if not (actor.is_system or actor.is_regulator):
        raise Forbidden(_("only regulators read the household figures"))
    restricted = not actor.is_system and actor.jurisdiction_area_ids is not None
    if area_id is None:
        if restricted:
            raise Forbidden(_("a street regulator reads its own street's figures"))
    elif not Area.objects.filter(zone_id=actor.zone_id, pk=area_id).exists() or (
        restricted and area_id not in (actor.jurisdiction_area_ids or ())
    ):
        raise NotFound(_("no such street or community"))
    return area_figures(actor.zone_id, area_id, start, end)


def as_dict(f: AreaFigures) -> dict[str, Any]:
    """JSON-safe (decimals as text): what `zerowaste household figures --format json` prints."""
    return json.loads(json.dumps(asdict(f), cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


def text_line(f: AreaFigures) -> str:
    """One line of an area's figures, for the shell."""

    def pct(value: Decimal | None) -> str:
        return "-" if value is None else f"{value * 100:.1f}%"

    quota = (
        "no quota"
        if f.quota is None
        else f"quota {f.quota.period_quota_t} t, {'within' if f.quota.within else 'over'} by "
        f"{abs(f.quota.difference_t)} t"
    )
    return (
        f"{f.code or 'zone':<8} {f.name:<12} residents {f.residents} households {f.households} "
        f"participation {pct(f.participation_rate)} sorted {pct(f.sorted_coverage)} "
        f"generated {(f.generated_total_kg / 1000).quantize(KG)} t "
        f"recovered {pct(f.recycling_rate)} landfill {(f.landfill_kg / 1000).quantize(KG)} t "
        f"{f.per_capita_kg_day if f.per_capita_kg_day is not None else '-'} kg/person/day "
        f"subsidy {f.subsidy.total_cny} CNY, {quota}"
    )


def month_of(text: str) -> tuple[date, date]:
    """`YYYY-MM` → its first and last day; Invalid naming the field otherwise."""
    try:
        first = date.fromisoformat(f"{text}-01")
    except ValueError:
        raise Invalid.field("month", _("a month such as 2020-12")) from None
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
