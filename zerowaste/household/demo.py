"""Demo step: the household side of the demo zone (issue 17 point 7).

The zone's 2 streets and 32 communities (core's step) get about 176,000 residents (seed:80) in
households (一户一码: one Source each) and a few social units with their responsible party; staffed
stations (驿站) one per 300-500 households (seed:4834) with a recyclables and a hazardous-waste drop
point in every community (seed:4833); chipped bins; station terminals, vehicle units and plant
weighbridges; the collector's vehicles; a transfer station, a kitchen-waste plant, an incineration
plant and a landfill (core Organization/Site/Vehicle), community centres and a few merchants.

Then one month of hand-overs, December 2020 (the last full month of the demo's data year, 2020),
whose cleared total is the seed's 1.25 kg per person per day (indicator 6, seed:210, 1607-1618) to the
gram, split by class as the seed gives it: kitchen 28 % (3 of 10.79 万吨, seed:1241), recyclables
12 % (kitchen and recyclables recovered: 40 %, indicator 12, seed:212), hazardous 0.05 % (57.6 t of
10.79 万吨, seed:1241), the rest other waste, of which landfill takes 29.64 % of the total (2.38 of 8.03
万吨, seed:214). Bulk paths only: events, their EventSequence rows and the DailyFlow roll-ups are
written with bulk_create; the source → station node is one event per station, day and class, beside
the drops of a sample of households (those with points) and one scanned drop of other waste for each
of the other participating households (94-99 % of a community: participation is rolled up from the
events by the same service as on a live platform). The alarms are raised by the real detection
code over the stored events; the points ledger is written in bulk, each household's lines in time
order with their running balance (the ledger sum equals the balance).

Every station is run by its community's property-management company (one per community); the first
one's clerk is the demo login `keeper`, a station keeper of the phone pages (/household/field/).

Heavier volumes with `--scale`: more households in the per-household sample.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db import connection

from zerowaste.core import services as core_services
from zerowaste.core.demo import DemoContext, _account, _name, _plate, _UsccFactory, demo_step
from zerowaste.core.models import Area, Organization, Site, Vehicle

from . import alarms, participation, rules
from .models import (
    Bin,
    DailyFlow,
    Device,
    EventSequence,
    HandoverEvent,
    PointsAccount,
    PointsEntry,
    SiteRole,
    Source,
    SourceQuota,
    Station,
)

RESIDENTS = 176_000  # seed:80
PER_CAPITA_KG_DAY = Decimal("1.25")  # indicator 6, seed:210
MONTH = date(2020, 12, 1)
MONTH_DAYS = 31
RESIDENTS_PER_HOUSEHOLD = (1, 2, 2, 3, 3, 3, 4)  # mean ≈ 2.6
HOUSEHOLDS_PER_STATION = 400  # seed:4834: 300-500
# Shares of the cleared total (see the module's docstring for the seed lines).
SHARE_KITCHEN = Decimal("0.28")
SHARE_RECYCLABLE = Decimal("0.12")
SHARE_HAZARDOUS = Decimal("0.0005")
SHARE_LANDFILL = Decimal("0.2964")  # of the total; the rest of other waste is incinerated
# Residents' participation ≥ 94 % (seed:285, 436).
PARTICIPATION = (Decimal("0.94"), Decimal("0.99"))
SAMPLE_HOUSEHOLDS = 1200  # per scale: households whose drops are stored one by one (they earn points)
ZONE_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
# Growth of the quantity treated held to about 8 % in 2019 and 4 % in 2020 (seed:5038).
QUOTA_GROWTH_2019 = Decimal("1.08")
QUOTA_GROWTH = Decimal("1.04")
DEMO_SOURCE = "演示数据：按试点总结报告推算"
# The collector's fleet: (class, vehicle type, capacity kg, count).
FLEET = (
    ("kitchen", "餐厨垃圾收运车", 5000, 8),
    ("other", "压缩式垃圾车", 8000, 14),
    ("recyclable", "厢式货车", 5000, 6),
    ("hazardous", "有害垃圾专用车", 1500, 1),
)


def _grams(kg: Decimal) -> int:
    return int((kg * 1000).to_integral_value())


def _kg(grams: int) -> Decimal:
    return (Decimal(grams) / 1000).quantize(Decimal("0.001"))


def split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of `total` (whole grams) by `weights`: the parts add up exactly."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


EVENT_COLUMNS = (
    "zone_id",
    "device_id",
    "seq",
    "occurred_at",
    "received_at",
    "day",
    "node",
    "side",
    "handover_key",
    "household_class",
    "weight_kg",
    "quality_grade",
    "impurities",
    "recyclable_kind",
    "bin_id",
    "source_id",
    "station_id",
    "vehicle_id",
    "site_id",
)


def insert_rows(model: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Rows without model instances: PostgreSQL COPY, else executemany (as the declarations import)."""
    if not rows:
        return
    # Columns a later migration added get their Django default (not a database one): "" for text, …
    extra = [
        f
        for f in model._meta.concrete_fields
        if f.column not in columns and not f.primary_key and not f.null and f.get_default() is not None
    ]
    if extra:
        defaults = tuple(f.get_default() for f in extra)
        columns = (*columns, *(f.column for f in extra))
        rows = [(*row, *defaults) for row in rows]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        ops = connection.ops
        # SQLite: decimals as text, datetimes and dates as Django stores them (typed by the first row).
        adapters: list[tuple[int, Any]] = []
        for i, value in enumerate(rows[0]):
            if isinstance(value, Decimal):
                adapters.append((i, str))
            elif isinstance(value, datetime):
                adapters.append((i, ops.adapt_datetimefield_value))
            elif isinstance(value, date):
                adapters.append((i, date.isoformat))

        def adapt(row: tuple[Any, ...]) -> tuple[Any, ...]:
            out = list(row)
            for i, convert in adapters:
                if out[i] is not None:
                    out[i] = convert(out[i])
            return tuple(out)

        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - fixed names
        for i in range(0, len(rows), 5000):
            cursor.executemany(sql, [adapt(r) for r in rows[i : i + 5000]])


@dataclass
class _Events:
    """The month's events, their sequence per device and their roll-ups, written in bulk at the end."""

    zone_id: int
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    seqs: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    flows: dict[rules.FlowKey, rules.FlowSums] = field(default_factory=dict)
    places: dict[str, tuple[int | None, int | None, int | None, int | None]] = field(default_factory=dict)

    def add(
        self,
        *,
        device: Device,
        at: datetime,
        node: str,
        side: str,
        key: str,
        household_class: str,
        grams: int,
        station: Station | None = None,
        vehicle: Vehicle | None = None,
        site: Site | None = None,
        source: _Household | None = None,
        quality_grade: str = "",
    ) -> tuple[int, int]:
        """Add one event; returns its (device id, seq)."""
        self.seqs[device.pk] += 1
        seq = self.seqs[device.pk]
        weight = _kg(grams)
        day = rules.local_day(at, ZONE_TZ)
        self.rows.append(
            (
                self.zone_id,
                device.pk,
                seq,
                at,
                at + timedelta(seconds=2),
                day,
                node,
                side,
                key,
                household_class,
                weight,
                quality_grade,
                "",
                "",
                None,
                source.pk if source else None,
                station.pk if station else None,
                vehicle.pk if vehicle else None,
                site.pk if site else None,
            )
        )
        kind = rules.place_kind(node, side)
        if kind == "station":
            assert station is not None
            place = f"station:{station.pk}"
            self.places[place] = (station.pk, None, None, station.community_id)
        elif kind == "vehicle":
            assert vehicle is not None
            place = f"vehicle:{vehicle.pk}"
            self.places[place] = (None, vehicle.pk, None, vehicle.organization.area_id)
        else:
            assert site is not None
            place = f"site:{site.pk}"
            self.places[place] = (None, None, site.pk, site.area_id)
        rules.add_to_flows(
            self.flows,
            day=day,
            node=node,
            side=side,
            place=place,
            household_class=household_class,
            weight_kg=weight,
        )
        return device.pk, seq

    def handover(
        self,
        *,
        node: str,
        key: str,
        household_class: str,
        giver: tuple[Device, datetime, int],
        receiver: tuple[Device, datetime, int],
        station: Station | None = None,
        vehicle: Vehicle | None = None,
        site: Site | None = None,
    ) -> None:
        """Both sides of one hand-over: (device, time, grams) of the giver, then of the receiver."""
        for side, (device, at, grams) in ((rules.SIDE_GIVER, giver), (rules.SIDE_RECEIVER, receiver)):
            self.add(
                device=device,
                at=at,
                node=node,
                side=side,
                key=key,
                household_class=household_class,
                grams=grams,
                station=station,
                vehicle=vehicle,
                site=site,
            )

    def write(self) -> None:
        from .ingest import _ensure_partitions

        last = MONTH + timedelta(days=MONTH_DAYS - 1)
        if not all(MONTH <= r[5] <= last for r in self.rows):
            raise AssertionError("every hand-over of the demo month is on a day of the month")
        _ensure_partitions({rules.month_start(r[3]) for r in self.rows})
        insert_rows(EventSequence, ("zone_id", "device_id", "seq"), [r[:3] for r in self.rows])
        insert_rows(HandoverEvent, EVENT_COLUMNS, self.rows)
        flows = []
        for key, sums in sorted(
            self.flows.items(), key=lambda kv: (kv[0].day, kv[0].node, kv[0].place, kv[0].household_class)
        ):
            station_id, vehicle_id, site_id, area_id = self.places[key.place]
            flows.append(
                (
                    self.zone_id,
                    key.day,
                    key.node,
                    key.place,
                    station_id,
                    vehicle_id,
                    site_id,
                    area_id,
                    key.household_class,
                    sums.in_kg,
                    sums.out_kg,
                    sums.events,
                )
            )
        insert_rows(
            DailyFlow,
            (
                "zone_id",
                "day",
                "node",
                "place",
                "station_id",
                "vehicle_id",
                "site_id",
                "area_id",
                "household_class",
                "in_kg",
                "out_kg",
                "events",
            ),
            flows,
        )


def _at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), ZONE_TZ)


@demo_step("household.month", order=70)
def build_household(ctx: DemoContext) -> None:
    rng = ctx.rng("household.month")
    zone_id = ctx.zone.pk
    actor = ctx.actor
    communities = sorted(
        (a for a in ctx.areas.values() if a.kind == Area.Kind.COMMUNITY), key=lambda a: a.code
    ) or list(Area.objects.filter(zone_id=zone_id, kind=Area.Kind.COMMUNITY).order_by("code"))
    streets = {a.pk: a for a in Area.objects.filter(zone_id=zone_id, kind=Area.Kind.STREET)}

    # --- Parties: the collector (vehicles, transfer station, kitchen-waste plant) and the treatment
    # group (incineration plant, landfill); recyclables go to a recycler's station, hazardous waste to
    # a licensed HW receiver's plant (core's parties).
    uscc = _UsccFactory(rng)
    uscc.used.update(Organization.objects.filter(zone_id=zone_id).values_list("uscc", flat=True))
    street_codes = sorted(a.code for a in streets.values())
    street_by_code = {a.code: a for a in streets.values()}
    collector = core_services.register_organization(
        actor,
        uscc=uscc("91"),
        name="北京亦清环境服务有限公司",
        name_en="Yiqing Environmental Services (demo)",
        roles=["carrier"],
        area_id=street_by_code[street_codes[0]].pk,
    )
    treatment = core_services.register_organization(
        actor,
        uscc=uscc("91"),
        name="北京亦清再生能源有限公司",
        name_en="Yiqing Renewable Energy (demo)",
        roles=["receiver"],
        area_id=street_by_code[street_codes[-1]].pk,
    )
    ctx.organizations.setdefault("carrier", []).append(collector)
    ctx.organizations.setdefault("receiver", []).append(treatment)

    def site(org: Organization, name: str, kind: str, role: str, area: Area | None) -> Site:
        made = core_services.add_site(
            actor,
            org.pk,
            name=name,
            kind=kind,
            latitude=Decimal("39.76") + Decimal(rng.randint(0, 800)) / 10000,
            longitude=Decimal("116.50") + Decimal(rng.randint(0, 800)) / 10000,
            area_id=area.pk if area else None,
        )
        SiteRole.objects.create(zone_id=zone_id, site=made, role=role)
        return made

    first_street = street_by_code[street_codes[0]]
    last_street = street_by_code[street_codes[-1]]
    sites = {
        rules.SITE_TRANSFER: site(collector, "亦庄垃圾转运站", "station", rules.SITE_TRANSFER, first_street),
        rules.SITE_KITCHEN: site(collector, "亦庄餐厨垃圾处理厂", "plant", rules.SITE_KITCHEN, last_street),
        rules.SITE_INCINERATION: site(
            treatment, "亦清垃圾焚烧发电厂", "disposal", rules.SITE_INCINERATION, None
        ),
        rules.SITE_LANDFILL: site(treatment, "亦清生活垃圾卫生填埋场", "disposal", rules.SITE_LANDFILL, None),
    }
    receivers = ctx.organizations.get("receiver") or []
    recycler_site = (
        Site.objects.filter(zone_id=zone_id, organization__in=receivers[3:4]).order_by("pk").first()
        if len(receivers) > 3
        else None
    )
    hazardous_site = (
        Site.objects.filter(zone_id=zone_id, organization__in=receivers[:1], kind="disposal")
        .order_by("pk")
        .first()
        if receivers
        else None
    )
    if recycler_site is None:
        recycler_site = site(collector, "亦庄再生资源分拣中心", "station", rules.SITE_RECYCLING, first_street)
    else:
        SiteRole.objects.create(zone_id=zone_id, site=recycler_site, role=rules.SITE_RECYCLING)
    if hazardous_site is None:
        hazardous_site = site(treatment, "有害垃圾暂存库", "storage", rules.SITE_HAZARDOUS, None)
    else:
        SiteRole.objects.create(zone_id=zone_id, site=hazardous_site, role=rules.SITE_HAZARDOUS)
    sites[rules.SITE_RECYCLING] = recycler_site
    sites[rules.SITE_HAZARDOUS] = hazardous_site

    plates = set(Vehicle.objects.filter(zone_id=zone_id).values_list("plate", flat=True))
    fleet: dict[str, list[Vehicle]] = defaultdict(list)
    for household_class, vehicle_type, capacity, count in FLEET:
        for _i in range(count):
            plate = _plate(rng)
            while plate in plates:
                plate = _plate(rng)
            plates.add(plate)
            vehicle = core_services.add_vehicle(
                actor, collector.pk, plate=plate, vehicle_type=vehicle_type, capacity_kg=capacity
            )
            vehicle.organization = collector
            fleet[household_class].append(vehicle)

    # --- Sources: households (residents per community, a random spread adding up to RESIDENTS) and
    # social units; stations, bins and devices.
    weights = [rng.uniform(0.6, 1.4) for _c in communities]
    community_residents = split(RESIDENTS, weights)
    sources: list[tuple[Any, ...]] = []
    for community, residents in zip(communities, community_residents, strict=True):
        n = 0
        left = residents
        while left > 0:
            size = min(left, rng.choice(RESIDENTS_PER_HOUSEHOLD))
            left -= size
            n += 1
            building, rest = divmod(n - 1, 48)
            unit, room = divmod(rest, 16)
            sources.append(
                (
                    zone_id,
                    rules.SOURCE_HOUSEHOLD,
                    f"{community.code}-{n:05d}",
                    f"{building + 1}号楼{unit + 1}单元{room // 2 + 1}0{room % 2 + 1}室",
                    community.pk,
                    "",
                    size,
                )
            )
        for u, (kind_name, party) in enumerate(
            rng.sample(
                [
                    ("社区居委会", "居委会主任"),
                    ("幼儿园", "园长"),
                    ("社区卫生服务站", "站长"),
                    ("便利店", "店长"),
                    ("餐馆", "经理"),
                    ("物业服务中心", "物业经理"),
                ],
                3,
            ),
            start=1,
        ):
            sources.append(
                (
                    zone_id,
                    rules.SOURCE_UNIT,
                    f"{community.code}-U{u:02d}",
                    f"{community.name}{kind_name}",
                    community.pk,
                    f"{rng.choice('王李张刘陈杨赵黄周吴')}{party}",
                    None,
                )
            )
    insert_rows(
        Source, ("zone_id", "kind", "code", "name", "community_id", "responsible_party", "residents"), sources
    )
    households_of: dict[int, list[_Household]] = defaultdict(list)
    for pk, code, community_id, people in (
        Source.objects.filter(zone_id=zone_id, kind=rules.SOURCE_HOUSEHOLD)
        .order_by("code")
        .values_list("pk", "code", "community_id", "residents")
    ):
        households_of[community_id].append(_Household(pk, code, community_id, people or 0))

    keepers = _keepers(ctx, communities)
    stations: list[Station] = []
    for community in communities:
        staffed = max(1, round(len(households_of[community.pk]) / HOUSEHOLDS_PER_STATION))
        for k in range(1, staffed + 1):
            stations.append(
                Station(
                    zone_id=zone_id,
                    kind="staffed",
                    code=f"{community.code}-S{k:02d}",
                    name=f"{community.name}{k}号分类驿站",
                    community=community,
                    operator=keepers[community.pk],
                )
            )
        stations.append(
            Station(
                zone_id=zone_id,
                kind="recyclables",
                code=f"{community.code}-R01",
                name=f"{community.name}可回收物交投点",
                community=community,
                operator=keepers[community.pk],
            )
        )
        stations.append(
            Station(
                zone_id=zone_id,
                kind="hazardous",
                code=f"{community.code}-H01",
                name=f"{community.name}有害垃圾投放点",
                community=community,
                operator=keepers[community.pk],
            )
        )
    Station.objects.bulk_create(stations, batch_size=1000)
    stations = list(Station.objects.filter(zone_id=zone_id).order_by("code"))
    station_classes = {
        "staffed": (("kitchen", 240, 2), ("other", 240, 2), ("recyclable", 240, 1)),
        "recyclables": (("recyclable.paper", 660, 1), ("recyclable.plastic", 660, 1)),
        "hazardous": (("hazardous", 120, 1),),
    }
    bins = []
    for station in stations:
        k = 0
        for household_class, capacity, count in station_classes[station.kind]:
            for _i in range(count):
                k += 1
                bins.append(
                    Bin(
                        zone_id=zone_id,
                        chip=f"E{station.code.upper().replace('-', '')}{k:02d}",
                        household_class=household_class,
                        capacity_l=capacity,
                        station=station,
                    )
                )
    Bin.objects.bulk_create(bins, batch_size=2000)

    devices = [
        Device(zone_id=zone_id, code=f"T-{s.code}", kind="terminal", station=s, area_id=s.community_id)
        for s in stations
    ]
    devices += [
        Device(zone_id=zone_id, code=f"V-{v.plate}", kind="vehicle", vehicle=v, area_id=collector.area_id)
        for vs in fleet.values()
        for v in vs
    ]
    devices += [
        Device(zone_id=zone_id, code=f"W-{s.pk}", kind="weighbridge", site=s, area_id=s.area_id)
        for s in sites.values()
    ]
    Device.objects.bulk_create(devices, batch_size=1000)
    by_code = {d.code: d for d in Device.objects.filter(zone_id=zone_id)}
    terminal = {s.pk: by_code[f"T-{s.code}"] for s in stations}
    vehicle_unit = {v.pk: by_code[f"V-{v.plate}"] for vs in fleet.values() for v in vs}
    weighbridge = {s.pk: by_code[f"W-{s.pk}"] for s in sites.values()}

    # --- Who drops where: a staffed station serves a run of its community's households.
    station_of: dict[int, Station] = {}
    residents_at: dict[int, int] = defaultdict(int)
    community_stations: dict[int, dict[str, list[Station]]] = defaultdict(lambda: defaultdict(list))
    for station in stations:
        community_stations[station.community_id][station.kind].append(station)
    for community in communities:
        staffed_list = community_stations[community.pk]["staffed"]
        households = households_of[community.pk]
        per = -(-len(households) // len(staffed_list))
        for i, household in enumerate(households):
            station = staffed_list[i // per]
            station_of[household.pk] = station
            residents_at[station.pk] += household.residents or 0
    for station in stations:
        if station.kind != "staffed":
            # Drop points serve the whole community.
            residents_at[station.pk] = sum(h.residents or 0 for h in households_of[station.community_id])

    # --- The month's quantities, to the gram: the total per day (weekends a little more), per class,
    # per station by the residents it serves.
    total_g = _grams(PER_CAPITA_KG_DAY * RESIDENTS * MONTH_DAYS)
    days = [MONTH + timedelta(days=d) for d in range(MONTH_DAYS)]
    day_g = split(total_g, [1.06 if d.weekday() >= 5 else 1.0 for d in days])
    class_shares = {
        "kitchen": SHARE_KITCHEN,
        "recyclable": SHARE_RECYCLABLE,
        "hazardous": SHARE_HAZARDOUS,
        "other": 1 - SHARE_KITCHEN - SHARE_RECYCLABLE - SHARE_HAZARDOUS,
    }
    class_names = list(class_shares)
    # (station, class) pairs that receive each top class; recyclables 75 % at the staffed stations.
    receivers_of: dict[str, list[tuple[Station, str, float]]] = defaultdict(list)
    for station in stations:
        share = float(residents_at[station.pk])
        if station.kind == "staffed":
            receivers_of["kitchen"].append((station, "kitchen", share))
            receivers_of["other"].append((station, "other", share))
            receivers_of["recyclable"].append((station, "recyclable", share * 0.75))
        elif station.kind == "recyclables":
            receivers_of["recyclable"].append((station, "recyclable.paper", share * 0.15))
            receivers_of["recyclable"].append((station, "recyclable.plastic", share * 0.10))
        else:
            receivers_of["hazardous"].append((station, "hazardous", share))

    events = _Events(zone_id)
    sample = _sample_households(rng, households_of, SAMPLE_HOUSEHOLDS * ctx.scale)
    household_drops = _household_drops(rng, sample, station_of, days)
    scans = _participating_scans(ctx.rng("household.participation"), households_of, sample, station_of, days)
    # The drops stored one by one, counted inside their station-day-class totals.
    dropped: dict[tuple[int, date, str], int] = defaultdict(int)
    for drop in (*household_drops, *scans):
        dropped[(drop.station.pk, drop.day, drop.household_class)] += drop.grams

    mismatch_days = {days[4], days[11], days[19]}
    short_day = days[15]  # one station's kitchen waste not all cleared: collected the next morning
    short_station = community_stations[communities[len(communities) // 2].pk]["staffed"][0]
    short_g = 38_500
    carried: dict[tuple[int, str], int] = {}
    mismatch_keys: list[str] = []
    landfill_share = SHARE_LANDFILL / class_shares["other"]
    landfill_left = [0]
    plant_of = {
        "kitchen": sites[rules.SITE_KITCHEN],
        "recyclable": sites[rules.SITE_RECYCLING],
        "hazardous": sites[rules.SITE_HAZARDOUS],
    }

    def destination(top: str, load: int) -> Site:
        """Other waste goes to the landfill while the day's landfill share is not reached (a trip
        goes there when more than half its load is still due), else to the incineration plant."""
        if top != "other":
            return plant_of[top]
        if landfill_left[0] * 2 > load:
            landfill_left[0] -= load
            return sites[rules.SITE_LANDFILL]
        return sites[rules.SITE_INCINERATION]

    station_by_pk = {s.pk: s for s in stations}
    event_of: dict[int, tuple[int, int]] = {}
    for d, day in enumerate(days):
        class_g = split(day_g[d], [float(class_shares[c]) for c in class_names])
        received: dict[tuple[int, str], int] = {}
        for c, top in enumerate(class_names):
            pairs = receivers_of[top]
            parts = split(class_g[c], [w * rng.uniform(0.85, 1.15) for _s, _c, w in pairs])
            for (station, household_class, _w), grams in zip(pairs, parts, strict=True):
                received[(station.pk, household_class)] = grams
        # Source → station: the households' own drops (the sampled ones, whose points are traced to
        # their events, then the scanned drops of other waste), then the station's closing record.
        for drop in (*household_drops.get_day(day), *scans.get_day(day)):
            event_of[id(drop)] = events.add(
                device=terminal[drop.station.pk],
                at=drop.at,
                node=rules.NODE_SOURCE_STATION,
                side=rules.SIDE_RECEIVER,
                key=f"{drop.station.code}-{drop.source.code}-{drop.at:%Y%m%d%H%M%S}",
                household_class=drop.household_class,
                grams=drop.grams,
                station=drop.station,
                source=drop.source,
                quality_grade=drop.quality_grade,
            )
        for (station_pk, household_class), grams in sorted(received.items()):
            station = station_by_pk[station_pk]
            rest = grams - dropped.get((station_pk, day, household_class), 0)
            if rest <= 0:
                raise AssertionError("a station's day is smaller than its sampled households' drops")
            events.add(
                device=terminal[station_pk],
                at=_at(day, 20, 45),
                node=rules.NODE_SOURCE_STATION,
                side=rules.SIDE_RECEIVER,
                key=f"{station.code}-{day:%Y%m%d}-{household_class}",
                household_class=household_class,
                grams=rest,
                station=station,
            )
        # Station → vehicle → plant: each class's trucks visit their stations in turn; a trip ends at
        # the plant when the next stop would overload the truck.
        collected = dict(received)
        for carried_key, grams in carried.items():
            collected[carried_key] = collected.get(carried_key, 0) + grams
        carried = {}
        if day == short_day:
            short_key = (short_station.pk, "kitchen")
            collected[short_key] -= short_g
            carried[short_key] = short_g
        other_total = sum(g for (_s, cls), g in collected.items() if rules.top_class(cls) == "other")
        landfill_left[0] = int(other_total * landfill_share)
        for top in class_names:
            stops = sorted(
                (
                    (station_by_pk[s], cls, g)
                    for (s, cls), g in collected.items()
                    if rules.top_class(cls) == top
                ),
                key=lambda stop: stop[0].code,
            )
            trucks = fleet[top]
            per_truck = -(-len(stops) // len(trucks))
            for t, truck in enumerate(trucks):
                mine = stops[t * per_truck : (t + 1) * per_truck]
                at = _at(day, 21, 0) + timedelta(minutes=7 * t)
                trip: list[tuple[str, int]] = []
                load, trip_no = 0, 0
                capacity_g = (truck.capacity_kg or 5000) * 1000
                for i, (station, household_class, grams) in enumerate(mine):
                    trip_key = f"{truck.plate}-{day:%Y%m%d}-{trip_no + 1}"
                    if load and load + grams > capacity_g:
                        at = _deliver(
                            events,
                            truck,
                            trip,
                            at,
                            trip_key,
                            sites,
                            weighbridge,
                            vehicle_unit,
                            destination(top, load),
                        )
                        trip, load, trip_no = [], 0, trip_no + 1
                        trip_key = f"{truck.plate}-{day:%Y%m%d}-{trip_no + 1}"
                    at += timedelta(minutes=3)
                    key = f"{station.code}-{truck.plate}-{day:%Y%m%d}-{household_class}"
                    giver = grams
                    if (
                        day in mismatch_days
                        and top == "kitchen"
                        and i == 1
                        and t == len(mismatch_keys) % len(trucks)
                    ):
                        giver = grams + grams * 8 // 100  # the station's scale reads 8 % heavy
                        mismatch_keys.append(key)
                        mismatch_days.discard(day)
                    events.handover(
                        node=rules.NODE_STATION_VEHICLE,
                        key=key,
                        household_class=household_class,
                        giver=(terminal[station.pk], at, giver),
                        receiver=(vehicle_unit[truck.pk], at + timedelta(seconds=40), grams),
                        station=station,
                        vehicle=truck,
                    )
                    trip.append((household_class, grams))
                    load += grams
                if trip:
                    trip_key = f"{truck.plate}-{day:%Y%m%d}-{trip_no + 1}"
                    _deliver(
                        events,
                        truck,
                        trip,
                        at,
                        trip_key,
                        sites,
                        weighbridge,
                        vehicle_unit,
                        destination(top, load),
                    )

    events.write()
    _centres_and_merchants(ctx, rng, communities)
    _points(ctx, household_drops, event_of)
    participation.refresh_month(zone_id, MONTH, actor=actor)
    _quota(ctx)

    # --- Alarms, by the real detection code over the stored events and roll-ups.
    now = _at(days[-1], 23, 59)
    drafts = alarms._handover_alarms(zone_id, set(mismatch_keys))
    for day in days:
        drafts += alarms._not_cleared(zone_id, day)
    failing = [
        SimpleNamespace(
            source=drop.source,
            station=drop.station,
            fields=SimpleNamespace(quality_grade=drop.quality_grade, occurred_at=drop.at),
        )
        for drop in household_drops
        if rules.is_failed_grade(drop.quality_grade)
    ]
    drafts += alarms._quality_failures(zone_id, failing, now, ZONE_TZ)
    alarms.raise_alarms(zone_id, drafts, now)


KEEPER_USERNAME = "keeper"


def _keepers(ctx: DemoContext, communities: list[Area]) -> dict[int, Organization]:
    """One property-management company (物业, role property) per community, registered at the
    community: it runs the community's stations, so its members are the station keepers of the phone
    pages (and the community's staff of the supervision pages). The first community's company has a
    clerk, the demo login `keeper`. Registered in one bulk write (`register_organizations`)."""
    rng = ctx.rng("household.keepers")
    zone_id = ctx.zone.pk
    uscc = _UsccFactory(rng)
    uscc.used.update(Organization.objects.filter(zone_id=zone_id).values_list("uscc", flat=True))
    names = set(Organization.objects.filter(zone_id=zone_id).values_list("name", flat=True))
    orgs = core_services.register_organizations(
        ctx.actor,
        [
            {
                "uscc": uscc("91"),
                "name": _name(rng, "property", names),
                "name_en": f"Property management of {community.name_en or community.code} (demo)",
                "roles": ["property"],
                "area_id": community.pk,
            }
            for community in communities
        ],
    )
    keepers = {community.pk: org for community, org in zip(communities, orgs, strict=True)}
    ctx.organizations.setdefault("property", []).extend(orgs)
    if communities:
        _account(
            ctx,
            keepers[communities[0].pk],
            KEEPER_USERNAME,
            "station keeper / 分类驿站管理员（物业）",
            role="clerk",
        )
    return keepers


def _deliver(
    events: _Events,
    truck: Vehicle,
    trip: list[tuple[str, int]],
    at: datetime,
    key: str,
    sites: dict[str, Site],
    weighbridge: dict[int, Device],
    vehicle_unit: dict[int, Device],
    destination: Site,
) -> datetime:
    """The truck's trip to its plant: both sides weigh each class it carries (one class a truck)."""
    at += timedelta(minutes=20)
    by_class: dict[str, int] = defaultdict(int)
    for household_class, grams in trip:
        by_class[household_class] += grams
    for household_class, grams in sorted(by_class.items()):
        events.handover(
            node=rules.NODE_VEHICLE_SITE,
            key=key,
            household_class=household_class,
            giver=(vehicle_unit[truck.pk], at, grams),
            receiver=(weighbridge[destination.pk], at + timedelta(seconds=90), grams),
            vehicle=truck,
            site=destination,
        )
    return at + timedelta(minutes=10)


@dataclass(frozen=True)
class _Household:
    """A household source, as much of it as the demo needs (no model instance per household)."""

    pk: int
    code: str
    community_id: int
    residents: int


@dataclass(frozen=True)
class _Drop:
    source: _Household
    station: Station
    day: date
    at: datetime
    household_class: str
    grams: int
    quality_grade: str = ""


class _Drops(list[_Drop]):
    def __init__(self, drops: list[_Drop]) -> None:
        super().__init__(sorted(drops, key=lambda d: (d.at, d.source.code)))
        self._by_day: dict[date, list[_Drop]] = defaultdict(list)
        for drop in self:
            self._by_day[drop.day].append(drop)

    def get_day(self, day: date) -> list[_Drop]:
        return self._by_day.get(day, [])


def _sample_households(rng: Any, households_of: dict[int, list[_Household]], count: int) -> list[_Household]:
    everyone = [h for community in sorted(households_of) for h in households_of[community]]
    return sorted(rng.sample(everyone, min(count, len(everyone))), key=lambda s: s.code)


def _household_drops(
    rng: Any, sample: list[_Household], station_of: dict[int, Station], days: list[date]
) -> _Drops:
    """Kitchen waste every other day or so (graded A, B or C at the station), recyclables now and
    then; the first sampled household fails its grade three times (a quality alarm)."""
    drops = []
    for n, household in enumerate(sample):
        station = station_of[household.pk]
        failures = 3 if n == 0 else 0
        for i, day in enumerate(days):
            if rng.random() < 0.5:
                grade = "C" if failures and i >= 10 else rng.choices("ABC", weights=(75, 24, 1))[0]
                failures = max(0, failures - (grade == "C"))
                at = _at(day, rng.choice((7, 8, 18, 19)), rng.randrange(60), rng.randrange(60))
                grams = rng.randint(400, 1800) * (household.residents or 1) // 2 + 100
                drops.append(_Drop(household, station, day, at, "kitchen", grams, grade))
            if rng.random() < 0.12:
                at = _at(day, rng.choice((9, 10, 19)), rng.randrange(60), rng.randrange(60))
                drops.append(_Drop(household, station, day, at, "recyclable", rng.randint(800, 6000)))
    return _Drops(drops)


def _points(ctx: DemoContext, drops: _Drops, event_of: dict[int, tuple[int, int]]) -> None:
    """Each sampled household's ledger in time order: the grants its drops earn (the points rules) and
    now and then a redemption at a merchant; the running balance never negative, the sum the balance."""
    zone_id = ctx.zone.pk
    lines: dict[int, list[tuple[datetime, int, str, tuple[int, int]]]] = defaultdict(list)
    community_of = {drop.source.pk: drop.source.community_id for drop in drops}
    merchants = _nearest_merchants(zone_id)
    for drop in drops:
        reason, points = rules.points_for(drop.household_class, drop.quality_grade, (), _kg(drop.grams))
        if points > 0:
            lines[drop.source.pk].append((drop.at, points, reason, event_of[id(drop)]))
    PointsAccount.objects.bulk_create(
        [PointsAccount(zone_id=zone_id, source_id=s, balance=0) for s in sorted(lines)], batch_size=2000
    )
    account_of = {a.source_id: a for a in PointsAccount.objects.filter(zone_id=zone_id)}
    rng = ctx.rng("household.points")
    entries: list[tuple[Any, ...]] = []
    for source_id in sorted(lines):
        account = account_of[source_id]
        balance = 0
        for at, points, reason, (device_id, seq) in sorted(lines[source_id], key=lambda line: line[0]):
            balance += points
            entries.append(
                (
                    zone_id,
                    account.pk,
                    source_id,
                    points,
                    balance,
                    reason,
                    device_id,
                    seq,
                    None,
                    "",
                    at,
                    "system",
                )
            )
        merchant = merchants.get(community_of[source_id])
        if merchant is not None and balance >= 20 and rng.random() < 0.3:
            spent = rng.randint(10, balance)
            balance -= spent
            at = _at(MONTH + timedelta(days=MONTH_DAYS - 1), 16, rng.randrange(60))
            entries.append(
                (
                    zone_id,
                    account.pk,
                    source_id,
                    -spent,
                    balance,
                    rules.POINTS_REDEMPTION,
                    None,
                    None,
                    merchant,
                    "兑换生活用品",
                    at,
                    "demo",
                )
            )
        account.balance = balance
    insert_rows(
        PointsEntry,
        (
            "zone_id",
            "account_id",
            "source_id",
            "delta",
            "balance_after",
            "reason",
            "event_device_id",
            "event_seq",
            "merchant_id",
            "note",
            "created_at",
            "created_by",
        ),
        entries,
    )
    PointsAccount.objects.bulk_update(list(account_of.values()), ["balance"], batch_size=2000)


def _nearest_merchants(zone_id: int) -> dict[int, int]:
    """Per community, the nearest active merchant inside its 2 km service circle (if any)."""
    from .models import CommunityCentre, Merchant

    merchants = list(Merchant.objects.filter(zone_id=zone_id, is_active=True).order_by("pk"))
    nearest = {}
    for centre in CommunityCentre.objects.filter(zone_id=zone_id):
        distances = sorted(
            (rules.distance_km(centre.latitude, centre.longitude, m.latitude, m.longitude), m.pk)
            for m in merchants
        )
        if distances and rules.within_service_circle(distances[0][0]):
            nearest[centre.community_id] = distances[0][1]
    return nearest


def _participating_scans(
    rng: Any,
    households_of: dict[int, list[_Household]],
    sample: list[_Household],
    station_of: dict[int, Station],
    days: list[date],
) -> _Drops:
    """The month's participation (seed:285, 436: ≥ 94 %) as records: of the households outside the
    sample, 94-99 % per community hand over once, their other waste scanned at their station (一户一码)
    on a day of the month; the rest of their drops is in the station's closing record. Other waste
    earns no points, so these households need no ledger. The month's ParticipationMonth rows are then
    rolled up from the events by `participation.refresh_month`, as on a live platform."""
    sampled = {h.pk for h in sample}
    low, high = (float(x) for x in PARTICIPATION)
    scans = []
    for community_id in sorted(households_of):
        others = [h for h in households_of[community_id] if h.pk not in sampled]
        for household in rng.sample(others, round(len(others) * rng.uniform(low, high))):
            day = days[rng.randrange(len(days))]
            at = _at(day, rng.choice((7, 8, 12, 18, 19)), rng.randrange(60), rng.randrange(60))
            grams = rng.randint(300, 1500) * (household.residents or 1) // 2 + 100
            scans.append(_Drop(household, station_of[household.pk], day, at, "other", grams))
    return _Drops(scans)


def _centres_and_merchants(ctx: DemoContext, rng: Any, communities: list[Area]) -> None:
    from . import points

    base_lat, base_lon = Decimal("39.790"), Decimal("116.500")
    for i, community in enumerate(communities):
        points.set_community_centre(
            ctx.actor,
            community_id=community.pk,
            latitude=base_lat + Decimal(i // 8) * Decimal("0.012"),
            longitude=base_lon + Decimal(i % 8) * Decimal("0.012"),
        )
    for i, name in enumerate(
        ("亦庄京东便利店", "荣华社区便民超市", "博兴家政服务中心", "亦城景园理发店", "金地格林小镇洗衣店")
    ):
        points.add_merchant(
            ctx.actor,
            name=name,
            latitude=base_lat + Decimal(i % 4) * Decimal("0.012") + Decimal(rng.randint(0, 30)) / 10000,
            longitude=base_lon + Decimal(i * 2 % 8) * Decimal("0.012") + Decimal(rng.randint(0, 30)) / 10000,
        )


def _quota(ctx: DemoContext) -> None:
    """The zone's 2020 source total-control quota. The seed sets quotas per district only
    (seed:5102-5126); the zone's is its 2018 cleared tonnes (80,300 t, the seed's 2018 entries) grown
    by the 8 % and 4 % the city allows for 2019 and 2020 (seed:5038)."""
    from zerowaste.indicators.seed_figures import SEED_2018

    cleared_2018 = Decimal(SEED_2018["household_cleared_t"])
    quota = (cleared_2018 * QUOTA_GROWTH_2019 * QUOTA_GROWTH).quantize(Decimal("1"))
    SourceQuota.objects.create(zone_id=ctx.zone.pk, area=None, year=2020, quota_t=quota, source=DEMO_SOURCE)
