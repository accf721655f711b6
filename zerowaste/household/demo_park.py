"""The demo's park "1+4" regime: the pilot park (生物医药园) gets its four stations, a few of its
enterprises registered with the discharge system, and the last 30 days of station logs and
discharges, with a couple of misses that the missing-log check turns into alarms. Bulk writes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from zerowaste.core.demo import DemoContext, demo_step

from . import park, park_rules
from .models import ParkDischarge, ParkEnterprise, ParkStation, StationLog

DAYS = 30
ENTERPRISES = 6
STATIONS = (
    (park_rules.REINSPECTION, "HS-01", "垃圾分类复检站", ""),
    (park_rules.COMPACTOR, "HS-02", "其他垃圾挤压站", "KJ-10"),
    (park_rules.RECYCLABLES, "HS-03", "可回收物中转站", ""),
    (park_rules.DIGESTER, "HS-04", "餐厨垃圾生物降解站", ""),
)
# Each station's daily logs: (kind, local hour:minute, slot) — cleaning 6, disinfection 3 (seed:5723).
CLEANINGS = ((7, 30), (9, 30), (11, 30), (13, 30), (15, 30), (17, 30))
DISINFECTIONS = ((8, 30), (12, 0), (18, 0))
DEMO_STAFF = "保洁员王师傅"  # who signs the demo's station logs (a name, as a person signs them)


@demo_step("household.park", order=60)
def build_park_regime(ctx: DemoContext) -> None:
    area = ctx.areas.get("biomed")
    operators = [o for o in ctx.organizations.get("park_operator", []) if area and o.area_id == area.pk]
    producers = list(ctx.organizations.get("hazardous:park_producer", []))
    if area is None or not operators or not producers:
        return
    rng = ctx.rng("household.park")
    zone_id = ctx.zone.pk
    tz = park.zone_tz(zone_id)
    today = park.today(zone_id)
    now = timezone.now()
    with transaction.atomic():
        stations = [
            ParkStation.objects.create(
                zone_id=zone_id,
                park=area,
                kind=kind,
                code=code,
                name=name,
                compactor_model=model,
                in_service_from=today - timedelta(days=DAYS),
            )
            for kind, code, name, model in STATIONS
        ]
        by_kind = {s.kind: s for s in stations}
        enterprises = ParkEnterprise.objects.bulk_create(
            [
                ParkEnterprise(
                    zone_id=zone_id,
                    park=area,
                    organization=org,
                    waste_classes="kitchen,other,recyclable",
                    expected_kg={
                        "kitchen": str(Decimal(rng.randint(50, 300)) / 10),
                        "other": str(Decimal(rng.randint(80, 400)) / 10),
                        "recyclable": str(Decimal(rng.randint(20, 150)) / 10),
                    },
                    contact_name=org.contact_name or "",
                    contact_phone=org.contact_phone or "",
                    registered_at=now - timedelta(days=DAYS + 5),
                    registered_by="demo",
                )
                for org in producers[:ENTERPRISES]
            ]
        )
        first = today - timedelta(days=DAYS)
        # The misses: one day the compactor was cleaned only 5 times, another the 16:00 round was
        # not recorded, and one week the recyclables room had no pest control.
        short_cleaning = today - timedelta(days=3)
        no_round = today - timedelta(days=9)
        no_pest_week = park_rules.week_of(today - timedelta(days=14))[0]
        logs: list[StationLog] = []

        def add(
            station: ParkStation, kind: str, day: date, hm: tuple[int, int], slot: str = "", result: str = ""
        ) -> None:
            at = datetime.combine(day, time(*hm), tz) + timedelta(minutes=rng.randint(0, 9))
            if at > now:
                return
            logs.append(
                StationLog(
                    zone_id=zone_id,
                    station=station,
                    kind=kind,
                    at=at,
                    day=day,
                    slot=slot,
                    by=DEMO_STAFF,
                    result=result,
                )
            )

        day = first
        while day <= today:
            for station in stations:
                cleanings = (
                    CLEANINGS[:5] if (station.kind, day) == ("compactor", short_cleaning) else CLEANINGS
                )
                for hm in cleanings:
                    add(station, park_rules.LOG_CLEANING, day, hm)
                for hm in DISINFECTIONS:
                    add(station, park_rules.LOG_DISINFECTION, day, hm)
                if day.weekday() == park_rules.WEEK_CHECK_WEEKDAY and not (
                    station.kind == park_rules.RECYCLABLES and park_rules.week_of(day)[0] == no_pest_week
                ):
                    add(station, park_rules.LOG_PEST_CONTROL, day, (10, 0))
            re = by_kind[park_rules.REINSPECTION]
            add(re, park_rules.LOG_ROUND, day, (13, 0), park_rules.ROUND_13)
            if day != no_round:
                add(re, park_rules.LOG_ROUND, day, (16, 0), park_rules.ROUND_16)
            # About one re-inspection in eight finds the enterprises' sorting wanting and re-sorts it.
            verdict = park_rules.INSPECTION_FAIL if day.toordinal() % 8 == 0 else park_rules.INSPECTION_OK
            add(re, park_rules.LOG_INSPECTION, day, (16, 30), result=verdict)
            for kind in (park_rules.REINSPECTION, park_rules.RECYCLABLES):
                add(by_kind[kind], park_rules.LOG_CLEARANCE, day, (17, 0))
            day += timedelta(days=1)
        StationLog.objects.bulk_create(logs, batch_size=2000)
        discharges = []
        day = first
        while day < today:
            for enterprise in enterprises:
                for cls, expected in enterprise.expected_kg.items():
                    kg = (Decimal(expected) * Decimal(rng.randint(70, 130)) / 100).quantize(Decimal("0.001"))
                    discharges.append(
                        ParkDischarge(
                            zone_id=zone_id,
                            enterprise=enterprise,
                            station=by_kind[park_rules.STATION_OF_CLASS[cls]],
                            household_class=cls,
                            quantity_kg=kg,
                            day=day,
                            recorded_at=now,
                            recorded_by=DEMO_STAFF,
                        )
                    )
            day += timedelta(days=1)
        ParkDischarge.objects.bulk_create(discharges, batch_size=2000)
    day = first
    while day < today:
        park.check_day(zone_id, day, now=now)
        day += timedelta(days=1)
