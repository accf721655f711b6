"""Demo step: the 生物医药园 pilot park — its small (and a few large) producers, the operator's central
store, a year of collections and ship-outs at the seed's scale, plans, identification reports and
inspections.

The seed's central store (seed:1291-1293): 2,431.9 t collected in a year, 2,319.6 t sent on for
disposal, 657.7 t in store at year end — so 545.4 t were in store when the year began. The demo puts
that year in 2020: the containers still in store on 1 January 2020 were collected in the last quarter
of 2019; 2,431.9 t come in during 2020, 2,319.6 t leave by manifest (oldest first), and 657.7 t are in
store on 31 December 2020. In the first quarter of 2021 the rest leaves, but for four containers the
operator forgot (one with an approved extension) — the cockpit's storage alerts.

The producers' declarations (2019 yearly, 2020 monthly) are written from the same figures, so that
each producer's 2020 collections equal what it declared as handed over, and the 2021 tiers computed
from them show every case: A, B, C by quantity, C by stock, and the boundaries (exactly 1 t, exactly
10 t with exactly 3 t stored). History is bulk-loaded with one summarizing audit entry, like the other
demo steps; the tiers are computed through the service.

The seed's zone totals (HW declared per year, HW manifested) are the zone's and include the park's
producers: `plan_park` works the park out from the demo seed alone, and the `hazardous.reserve`
pre-step (order 5) reserves its declared tonnes (2019: a constant 2,431.9 t apportioned among the
producers; 2020: the 2,431.9 t collected) and its manifested tonnes (every ship-out, 2020 and 2021) on
the demo context, so that the declarations and manifests steps spread only the rest of the seed's
totals over the other producers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from zerowaste.core import audit
from zerowaste.core import services as core
from zerowaste.core.demo import DIVISION, DemoContext, _UsccFactory, demo_step
from zerowaste.core.models import Organization, Vehicle

from . import rules

COLLECTED_KG = 2_431_900  # 2020, seed:1293
SHIPPED_KG = 2_319_600
CLOSING_KG = 657_700
OPENING_KG = CLOSING_KG + SHIPPED_KG - COLLECTED_KG  # 545,400 kg in store on 2020-01-01
SMALL_A, SMALL_B, LARGE = 42, 18, 12
# Waste of the park's producers: (code, category, name, packaging, typical container kg, bay).
WASTES = (
    (
        "900-041-49",
        "HW49",
        "含有或沾染毒性、感染性危险废物的废弃包装物、容器、过滤吸附介质",
        "吨袋",
        150,
        "A",
    ),
    ("900-047-49", "HW49", "研究、开发和教学活动中产生的实验室废物", "塑料桶", 60, "B"),
    ("900-402-06", "HW06", "废有机溶剂", "200L钢桶", 180, "C"),
    ("900-300-34", "HW34", "废酸", "吨桶", 900, "D"),
    ("336-064-17", "HW17", "表面处理废液", "吨桶", 950, "E"),
)
C_CATEGORIES = ["HW49", "HW06", "HW34", "HW17"]


def _moment(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def apportion(total: int, weights: list[float]) -> list[int]:
    whole = sum(weights) or 1.0
    raw = [total * w / whole for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _split(kg: int, typical: int, rng: random.Random) -> list[int]:
    """A month's hand-over as containers of about `typical` kg (whole kilograms, exact sum)."""
    if kg <= 0:
        return []
    n = max(1, round(kg / typical))
    return [q for q in apportion(kg, [rng.uniform(0.7, 1.3) for _ in range(n)]) if q > 0]


def _days_of(year: int, month: int, rng: random.Random, n: int) -> list[date]:
    first = date(year, month, 1)
    days = (date(year + (month == 12), month % 12 + 1, 1) - first).days
    return sorted(first + timedelta(days=rng.randrange(days)) for _ in range(n))


DECLARED_2019_KG = COLLECTED_KG  # the seed's one year of the store (seed:1293), declared for 2019 too


@dataclass
class ParkPlan:
    """What the pilot park's step builds, worked out before any row is written: a pure function of
    the demo seed, so that the reservation pre-step and the step itself agree to the kilogram.
    Producers are named by their index; `rng` is left where the step continues drawing from it."""

    rng: random.Random
    producers: list[tuple[str, int, str]]  # (name, building number, kind A/B/C)
    gen: dict[int, int]  # 2020 generation, kg
    stock_peak: dict[int, int]
    codes_of: dict[int, list[int]]
    declarations: list[tuple[int, str, date, date, list[dict[str, int]]]]
    containers: list[tuple[date, int, int, int]]  # FIFO: (collected on, producer, waste, kg)
    shipments: list[tuple[date, list[int]]]  # (ship-out day, container indexes)
    forgotten: set[int]

    def declared_kg(self, year: int) -> int:
        return sum(
            line["generated"]
            for _i, _k, start, _e, lines in self.declarations
            if start.year == year
            for line in lines
        )

    def manifested_kg(self) -> int:
        return sum(self.containers[i][3] for _day, batch in self.shipments for i in batch)


def plan_park(seed: int) -> ParkPlan:
    rng = random.Random(f"{seed}:hazardous.pilot_park")

    # --- The park's producers -------------------------------------------------------------------
    first = "康瑞博安泰华恒普诺君益济同昌科元"
    second = "生医药诊检试剂化学细胞基因"
    # Names begin with 北京亦庄 + a character none of core's demo names has there: no collisions.
    names: set[str] = set()
    producers: list[tuple[str, int, str]] = []
    for i in range(SMALL_A + SMALL_B + LARGE):
        kind = "A" if i < SMALL_A else "B" if i < SMALL_A + SMALL_B else "C"
        while True:
            name = (
                "北京亦庄"
                + rng.choice(first)
                + rng.choice(second)
                + rng.choice(("生物科技有限公司", "医药科技有限公司", "检测技术有限公司", "生物制药有限公司"))
            )
            if name not in names:
                names.add(name)
                break
        producers.append((name, rng.randint(1, 88), kind))

    # Yearly generation in kilograms: A up to 1 t, B 1-10 t, C the rest of the store's 2,431.9 t.
    gen: dict[int, int] = {}
    stock_peak: dict[int, int] = {}  # a month-end stock to show, kg
    for i, (_name, _no, kind) in enumerate(producers):
        if kind == "A":
            gen[i] = rng.randint(50, 950)
        elif kind == "B":
            gen[i] = rng.randint(1_200, 9_500)
    smalls = [i for i, p in enumerate(producers) if p[2] in "AB"]
    larges = [i for i, p in enumerate(producers) if p[2] == "C"]
    # The boundaries, on purpose: exactly 1 t (A); exactly 10 t with exactly 3 t stored (B);
    # 8 t with 3.5 t stored (C by its stock).
    gen[smalls[0]] = 1_000
    gen[smalls[SMALL_A]] = 10_000
    stock_peak[smalls[SMALL_A]] = 3_000
    gen[smalls[SMALL_A + 1]] = 8_000
    stock_peak[smalls[SMALL_A + 1]] = 3_500
    rest = COLLECTED_KG - sum(gen.values())
    for i, kg in zip(larges, apportion(rest, [rng.lognormvariate(0, 0.4) for _ in larges]), strict=True):
        gen[i] = kg

    codes_of: dict[int, list[int]] = {}
    for i, (_name, _no, kind) in enumerate(producers):
        if kind == "C":
            codes_of[i] = rng.sample(range(len(WASTES)), k=3)
        elif i in stock_peak:
            codes_of[i] = [0]  # one waste, so that the line's stock is the producer's
        else:
            codes_of[i] = [0, 1, 2] if gen[i] > 2_000 else [rng.choice([0, 1])]

    # --- Declarations: 2019 yearly, 2020 monthly; what is handed over is what the park collects ---
    declarations: list[tuple[int, str, date, date, list[dict[str, int]]]] = []
    handed: dict[tuple[int, int, int], int] = {}  # (producer, month, waste) → kg collected in 2020
    weights_2019: list[tuple[int, int, float]] = []  # (producer, waste, weight)
    for i in range(len(producers)):
        wastes = codes_of[i]
        split = apportion(gen[i], [1.0 / (n + 1) for n in range(len(wastes))])
        # 2019 near 2020 for each producer; the park's 2019 total is a constant (reserved ahead).
        weights_2019 += [(i, w, kg * rng.uniform(0.85, 1.15)) for w, kg in zip(wastes, split, strict=True)]
        monthly = {
            w: apportion(kg, [rng.uniform(0.8, 1.2) for _ in range(12)])
            for w, kg in zip(wastes, split, strict=True)
        }
        carry = dict.fromkeys(wastes, 0)
        peak = stock_peak.get(i)
        reached = False
        for m in range(1, 13):
            lines = []
            for w in wastes:
                opening = carry[w]
                generated = monthly[w][m - 1]
                available = opening + generated
                if m == 12:
                    closing = 0
                elif peak is not None and not reached:
                    # Keep it in the producer's store until the intended peak is reached exactly.
                    closing = peak if available >= peak else available
                    reached = available >= peak
                else:
                    closing = int(available * rng.uniform(0.0, 0.3))
                    if peak is not None:
                        closing = min(closing, peak - 1)
                carry[w] = closing
                handed[(i, m, w)] = available - closing
                lines.append(
                    {
                        "waste": w,
                        "opening": opening,
                        "generated": generated,
                        "handed": available - closing,
                        "closing": closing,
                    }
                )
            declarations.append(
                (
                    i,
                    "month",
                    date(2020, m, 1),
                    date(2020 + (m == 12), m % 12 + 1, 1) - timedelta(days=1),
                    lines,
                )
            )
    year_2019: dict[int, list[dict[str, int]]] = defaultdict(list)
    for (i, w, _weight), kg in zip(
        weights_2019, apportion(DECLARED_2019_KG, [wt for _i, _w, wt in weights_2019]), strict=True
    ):
        year_2019[i].append({"waste": w, "opening": 0, "generated": kg, "handed": kg, "closing": 0})
    for i in range(len(producers)):
        declarations.append((i, "year", date(2019, 1, 1), date(2019, 12, 31), year_2019[i]))

    # --- Containers: Q4 2019 (the opening stock) and 2020 --------------------------------------------
    plan: list[tuple[date, int, int, int]] = []  # (day, producer, waste, kg)
    opening_by_org = apportion(OPENING_KG, [float(gen[i]) for i in range(len(producers))])
    for i, kg in enumerate(opening_by_org):
        wastes = codes_of[i]
        for w, part in zip(wastes, apportion(kg, [1.0 / (n + 1) for n in range(len(wastes))]), strict=True):
            for m, mkg in zip((10, 11, 12), apportion(part, [1.0, 1.0, 1.0]), strict=True):
                qtys = _split(mkg, WASTES[w][4], rng)
                for day, q in zip(_days_of(2019, m, rng, len(qtys)), qtys, strict=True):
                    plan.append((day, i, w, q))
    for (i, m, w), kg in sorted(handed.items()):
        qtys = _split(kg, WASTES[w][4], rng)
        for day, q in zip(_days_of(2020, m, rng, len(qtys)), qtys, strict=True):
            plan.append((day, i, w, q))
    plan.sort(key=lambda p: (p[0], p[1], p[2]))
    # Whole containers leave; the one that crosses the year's shipped total is two packages.
    fifo: list[tuple[date, int, int, int]] = []
    running = 0
    crossing_done = False
    for item in plan:
        day, i, w, q = item
        if not crossing_done and running < SHIPPED_KG < running + q:
            first_part = SHIPPED_KG - running
            fifo.append((day, i, w, first_part))
            fifo.append((day, i, w, q - first_part))
            running += q
            crossing_done = True
            continue
        running += q
        fifo.append(item)

    # --- Ship-outs: every Wednesday, oldest first, at least a week in store --------------------------
    wednesdays = [date(2020, 1, 1) + timedelta(days=d) for d in range(366)]
    wednesdays = [d for d in wednesdays if d.weekday() == 2 and d.year == 2020]
    wednesdays_2021 = [date(2021, 1, 6) + timedelta(weeks=k) for k in range(12)]
    order = list(range(len(fifo)))  # containers are in FIFO order already
    cumulative = 0
    cursor = 0
    shipments: list[tuple[date, list[int]]] = []
    total_weeks = len(wednesdays)
    for k, day in enumerate(wednesdays, start=1):
        goal = SHIPPED_KG * k // total_weeks
        batch = []
        while cursor < len(order) and cumulative < goal:
            collected_on, _i, _w, q = fifo[order[cursor]]
            if collected_on > day - timedelta(days=7):
                break
            batch.append(order[cursor])
            cumulative += q
            cursor += 1
        if batch:
            shipments.append((day, batch))
    assert cumulative == SHIPPED_KG, cumulative  # the crossing container was split at the total
    forgotten = set(order[cursor : cursor + 4])
    leftover = [i for i in order[cursor:] if i not in forgotten]
    per_week = -(-len(leftover) // len(wednesdays_2021))
    for k, day in enumerate(wednesdays_2021):
        batch = leftover[k * per_week : (k + 1) * per_week]
        if batch:
            shipments.append((day, batch))
    return ParkPlan(
        rng=rng,
        producers=producers,
        gen=gen,
        stock_peak=stock_peak,
        codes_of=codes_of,
        declarations=declarations,
        containers=fifo,
        shipments=shipments,
        forgotten=forgotten,
    )


def _park_ready(ctx: DemoContext) -> bool:
    return (
        "biomed" in ctx.areas
        and bool(ctx.organizations.get("park_operator"))
        and len(ctx.organizations.get("receiver", [])) >= 3
        and bool(ctx.organizations.get("carrier"))
    )


@demo_step("hazardous.reserve", order=5)
def reserve_pilot_park(ctx: DemoContext) -> None:
    """Reserve the park's share of the zone's HW totals before the declarations (order 20) and the
    manifests (order 30) spread the seed's zone totals over the other producers."""
    if not _park_ready(ctx):
        return
    plan = plan_park(ctx.seed)
    for year in (2019, 2020):
        ctx.reserve(f"declared:hw:{year}", rules.kg_to_t(plan.declared_kg(year)))
    ctx.reserve("manifested:hw", rules.kg_to_t(plan.manifested_kg()))


@demo_step("hazardous.pilot_park", order=40)
def build_pilot_park(ctx: DemoContext) -> None:
    from zerowaste.declarations.demo_data import UTILIZATION
    from zerowaste.declarations.models import Declaration, DeclarationLine
    from zerowaste.transfers import rules as transfer_rules
    from zerowaste.transfers.models import NumberCounter, Transfer, TransferLeg, TransferLine

    from . import services
    from .models import Container, ManagementPlan, StorageExtension, TransferPlan
    from .testing import REPORT_DATA

    hw_utilization = UTILIZATION["hw"]
    park = ctx.areas.get("biomed")
    operators = ctx.organizations.get("park_operator", [])
    receivers = ctx.organizations.get("receiver", [])[:3]
    carriers = ctx.organizations.get("carrier", [])
    if park is None or not _park_ready(ctx):
        return
    plan = plan_park(ctx.seed)
    rng = plan.rng  # where the plan left it: the plans and inspections below draw on
    zone_id = ctx.zone.pk
    actor = ctx.actor
    operator = operators[0]
    hw_carrier = carriers[0]
    vehicles = list(Vehicle.objects.filter(organization=hw_carrier).order_by("pk"))

    # --- The park's producers -------------------------------------------------------------------
    uscc = _UsccFactory(random.Random(f"{ctx.seed}:hazardous.uscc"))
    uscc.used.update(Organization.objects.filter(zone_id=zone_id).values_list("uscc", flat=True))
    producers: list[tuple[Organization, str]] = []
    for name, building, kind in plan.producers:
        org = core.register_organization(
            actor,
            uscc=uscc("91"),
            name=name,
            roles=["producer"],
            area_id=park.pk,
            industry="生物技术和大健康",
            address=f"{park.name}{building}号楼",
        )
        producers.append((org, kind))
        ctx.organizations.setdefault("producer", []).append(org)
        ctx.organizations.setdefault("hazardous:park_producer", []).append(org)
    gen = {producers[i][0].pk: kg for i, kg in plan.gen.items()}
    codes_of = {producers[i][0].pk: wastes for i, wastes in plan.codes_of.items()}
    smalls = [o for o, k in producers if k in "AB"]

    # --- Declarations: 2019 yearly, 2020 monthly (the plan's); written in bulk ---------------------
    now = timezone.now()
    declarations: list[Declaration] = []
    decl_lines: list[tuple[int, DeclarationLine]] = []

    def declare(org: Organization, kind: str, start: date, end: date, lines: list[dict[str, Any]]) -> None:
        declarations.append(
            Declaration(
                zone_id=zone_id,
                organization_id=org.pk,
                stream="hw",
                period_kind=kind,
                period_start=start,
                period_end=end,
                status="accepted",
                submissions=1,
                created_by="demo",
                submitted_at=now,
                reviewed_at=now,
                reviewed_by="demo",
            )
        )
        for position, line in enumerate(lines):
            code, category, name, *_rest = WASTES[line["waste"]]
            utilized = int(line["handed"] * hw_utilization[start.year])
            decl_lines.append(
                (
                    len(declarations) - 1,
                    DeclarationLine(
                        zone_id=zone_id,
                        waste_code=code,
                        waste_name=name,
                        category_code=category,
                        opening_t=rules.kg_to_t(line["opening"]),
                        generated_t=rules.kg_to_t(line["generated"]),
                        # What the park's receivers make of it, at the zone's utilization share
                        # (the declarations demo's), so that the zone's HW utilization rate holds.
                        transferred_util_t=rules.kg_to_t(utilized),
                        transferred_disp_t=rules.kg_to_t(line["handed"] - utilized),
                        closing_t=rules.kg_to_t(line["closing"]),
                        position=position,
                        destination=operator.name,
                    ),
                )
            )

    for i, kind, start, end, lines in plan.declarations:
        declare(producers[i][0], kind, start, end, lines)
    Declaration.objects.bulk_create(declarations, batch_size=2000)
    for index, line in decl_lines:
        line.declaration_id = declarations[index].pk
    DeclarationLine.objects.bulk_create([ln for _i, ln in decl_lines], batch_size=2000)

    # --- The store, its operating licence and contracts ---------------------------------------------
    core.add_licence(
        actor,
        operator.pk,
        kind="hw_operating",
        number="京环危第0188号",
        issuer="北京市生态环境局",
        valid_from=date(2019, 1, 1),
        valid_to=date(2030, 12, 31),
        waste_codes=C_CATEGORIES,
    )
    store = services.create_store(
        actor,
        data={
            "operator_id": operator.pk,
            "code": "BIOMED-HW",
            "name": "生物医药园危险废物集中贮存库",
            "capacity_t": "10000",  # 设计贮存产能 10000 吨 (seed:1293)
            "bays": ["A", "B", "C", "D", "E", "F", "G", "H"],
            "warning_days": [270, 330],
            "c_categories": C_CATEGORIES,
            "insurance_policy": "PICC-ECL-2020-0117",
            "insurance_valid_to": "2030-12-31",
            "technicians": 4,
        },
    )
    for kind, on, title, document, people in (
        ("technician", "2019-06-01", "张工（环境工程 高级工程师）", "职称证书 京高工2012-0331", 0),
        ("technician", "2019-06-01", "李工（环境工程 工程师）", "职称证书 京工2014-1177", 0),
        ("technician", "2019-06-01", "王工（化学工程 工程师）", "职称证书 京工2015-0862", 0),
        ("technician", "2020-02-10", "赵工（环境科学 工程师）", "职称证书 京工2016-0419", 0),
        (
            "emergency_plan",
            "2020-03-15",
            "突发环境事件应急预案（2020年修订）",
            "备案编号 110115-2020-031-L",
            0,
        ),
        ("training", "2020-05-12", "危险废物规范化管理培训", "培训签到表", 23),
        ("drill", "2020-10-20", "危险废物泄漏应急演练", "演练总结及预案回顾性评估", 31),
        ("training", "2020-11-18", "危险货物运输及标签填写培训", "培训签到表", 18),
    ):
        services.add_operator_record(
            actor,
            store.pk,
            data={"kind": kind, "on": on, "title": title, "document": document, "people": people},
        )
    route: dict[str, Organization] = {
        "HW49": receivers[0],
        "HW17": receivers[0],
        "HW06": receivers[1],
        "HW34": receivers[2],
    }
    for i, receiver in enumerate(receivers):
        services.add_contract(
            actor,
            store.pk,
            data={
                "receiver_id": receiver.pk,
                "number": f"SWYY-HT-2020-{i + 1:03d}",
                "categories": C_CATEGORIES,
                "valid_from": "2019-01-01",
                "valid_to": "2030-12-31",
            },
        )

    # --- Containers: Q4 2019 (the opening stock) and 2020, in FIFO order ---------------------------
    seq: dict[date, int] = defaultdict(int)
    containers: list[Container] = []
    for day, i, w, q in plan.containers:
        org = producers[i][0]
        seq[day] += 1
        code, category, name, packaging, _typical, bay = WASTES[w]
        containers.append(
            Container(
                zone_id=zone_id,
                store=store,
                number=rules.batch_number("HWRK", day, seq[day]),
                producer=org,
                waste_code=code,
                category=category,
                waste_name=name,
                hazard="T/In"
                if code == "900-041-49"
                else "T"
                if category == "HW49"
                else "T,I"
                if category == "HW06"
                else "C,T",
                group=rules.group_for(category),
                packaging=packaging,
                physical_form="液态" if category in ("HW06", "HW34", "HW17") else "固态",
                bay=bay,
                quantity_kg=q,
                analysis_report=f"SWYY-FX-{day.year}-{org.pk % 1000:03d}",
                collected_on=day,
                collected_by="demo",
            )
        )

    shipments = plan.shipments
    forgotten = plan.forgotten

    # --- Manifests (bulk-loaded, closed), numbered after the manifests already in the zone ----------
    prefix = transfer_rules.counter_prefix("hw", ctx.zone.division_code or DIVISION)
    counters: dict[int, int] = {
        c.year: c.last for c in NumberCounter.objects.filter(zone_id=zone_id, stream="hw", prefix=prefix)
    }
    start_counters = dict(counters)
    transfers: list[Transfer] = []
    t_lines: list[list[dict[str, Any]]] = []
    t_containers: list[list[int]] = []
    for day, batch in shipments:
        by_receiver: dict[int, list[int]] = defaultdict(list)
        for i in batch:
            by_receiver[route[containers[i].category].pk].append(i)
        for receiver_id, idx in sorted(by_receiver.items()):
            # At most ~30 t a truck: split a receiver's share into trips.
            trips: list[list[int]] = [[]]
            load = 0
            for i in idx:
                if load + containers[i].quantity_kg > 30_000 and trips[-1]:
                    trips.append([])
                    load = 0
                trips[-1].append(i)
                load += containers[i].quantity_kg
            for trip in trips:
                by_code: dict[str, list[int]] = defaultdict(list)
                for i in trip:
                    by_code[containers[i].waste_code].append(i)
                manifest_lines: list[dict[str, Any]] = [
                    {
                        "waste_code": code,
                        "category": containers[ids[0]].category,
                        "description": containers[ids[0]].waste_name,
                        "packaging": containers[ids[0]].packaging,
                        "package_count": len(ids),
                        "t": rules.kg_to_t(sum(containers[i].quantity_kg for i in ids)),
                    }
                    for code, ids in sorted(by_code.items())
                ]
                total = sum((ln["t"] for ln in manifest_lines), rules.ZERO)
                counters[day.year] = counters.get(day.year, 0) + 1
                issued = _moment(day, 9)
                picked = issued + timedelta(hours=1)
                delivered = picked + timedelta(hours=3)
                closed = delivered + timedelta(hours=20)
                transfers.append(
                    Transfer(
                        zone_id=zone_id,
                        stream="hw",
                        number=transfer_rules.number_for(
                            "hw",
                            zone_code=ctx.zone.code,
                            division_code=ctx.zone.division_code or DIVISION,
                            year=day.year,
                            seq=counters[day.year],
                        ),
                        state="closed",
                        consignor=operator,
                        consignee_id=receiver_id,
                        carrier=hw_carrier,
                        current_carrier=hw_carrier,
                        planned_date=day,
                        estimated_t=total,
                        received_t=total,
                        treatment="D10" if route_is_disposal(manifest_lines) else "R2",
                        created_by="demo",
                        issued_at=issued,
                        picked_up_at=picked,
                        delivered_at=delivered,
                        closed_at=closed,
                        last_signed_at=closed,
                    )
                )
                t_lines.append(manifest_lines)
                t_containers.append(trip)
    created = Transfer.objects.bulk_create(transfers, batch_size=500)
    # Exactly what the pre-step reserved of the zone's manifested HW (the plan is the same).
    assert sum((t.estimated_t for t in created), rules.ZERO) == rules.kg_to_t(plan.manifested_kg())
    TransferLine.objects.bulk_create(
        [
            TransferLine(
                zone_id=zone_id,
                transfer=t,
                position=pos,
                waste_code=ln["waste_code"],
                category=ln["category"],
                description=ln["description"],
                packaging=ln["packaging"],
                package_count=ln["package_count"],
                estimated_t=ln["t"],
                received_t=ln["t"],
            )
            for t, lines in zip(created, t_lines, strict=True)
            for pos, ln in enumerate(lines, start=1)
        ],
        batch_size=2000,
    )
    TransferLeg.objects.bulk_create(
        [
            TransferLeg(
                zone_id=zone_id,
                transfer=t,
                seq=1,
                carrier=hw_carrier,
                vehicle=vehicles[k % len(vehicles)] if vehicles else None,
                vehicle_plate=vehicles[k % len(vehicles)].plate if vehicles else "",
                driver="王师傅",
                quantity_seen_t=t.estimated_t,
                picked_up_at=t.picked_up_at,
                handed_over_at=t.delivered_at,
            )
            for k, t in enumerate(created)
        ],
        batch_size=2000,
    )
    for year, last in counters.items():
        if year in start_counters:
            NumberCounter.objects.filter(zone_id=zone_id, stream="hw", prefix=prefix, year=year).update(
                last=last
            )
        else:
            NumberCounter.objects.create(zone_id=zone_id, stream="hw", prefix=prefix, year=year, last=last)
    out_seq: dict[date, int] = defaultdict(int)
    for t, trip in zip(created, t_containers, strict=True):
        out_seq[t.planned_date] += 1
        out_number = rules.batch_number("HWCK", t.planned_date, out_seq[t.planned_date])
        for i in trip:
            c = containers[i]
            c.state = Container.State.SHIPPED
            c.shipped_on = t.planned_date
            c.transfer_id = t.pk
            c.out_number = out_number
    Container.objects.bulk_create(containers, batch_size=2000)

    # The four forgotten containers: one got a regulator's extension (seed:4093).
    left = sorted((containers[i] for i in forgotten), key=lambda c: c.collected_on)
    regulator = ctx.organizations["regulator"][4] if len(ctx.organizations.get("regulator", [])) > 4 else None
    if left and regulator is not None:
        c = left[0]
        until = rules.storage_deadline(c.collected_on) + timedelta(days=90)
        StorageExtension.objects.create(
            zone_id=zone_id,
            container=c,
            approved_by=regulator,
            approved_by_user="demo",
            approved_on=rules.storage_deadline(c.collected_on) - timedelta(days=20),
            until=until,
            document="京经开环审〔2021〕37号",
            reason="接收单位焚烧线检修，延期转移",
        )
        Container.objects.filter(pk=c.pk).update(extended_until=until)

    # --- Tiers of 2020 and 2021 (the January recomputations), through the service -------------------
    services.compute_tiers(actor, 2020, park_id=park.pk, trigger="january")
    services.compute_tiers(actor, 2021, park_id=park.pk, trigger="january")

    # --- Plans: the quarterly transfer plans of 2020 and 2021 Q1, the management plans of 2020-2021 ---
    # Every tenth producer files none of 2021's (`zerowaste hazardous plans --due` lists them); some
    # file a few days late.
    plans: list[TransferPlan] = []
    mplans: list[ManagementPlan] = []
    for n, (org, _kind) in enumerate(producers):
        wastes = codes_of[org.pk]
        for year, quarter in ((2020, 1), (2020, 2), (2020, 3), (2020, 4), (2021, 1)):
            if year == 2021 and n % 10 == 9:
                continue
            due = rules.transfer_plan_due(year, quarter)
            filed = due - timedelta(days=rng.randint(-3, 15))
            plans.append(
                TransferPlan(
                    zone_id=zone_id,
                    organization=org,
                    year=year,
                    quarter=quarter,
                    lines=[
                        {
                            "waste_code": WASTES[w][0],
                            "category": WASTES[w][1],
                            "quantity_t": str(rules.kg_to_t(gen[org.pk] // 4 // len(wastes))),
                            "destination": operator.name,
                        }
                        for w in wastes
                    ],
                    due_on=due,
                    filed_at=_moment(filed, 10),
                    filed_by="demo",
                    late=filed > due,
                )
            )
        for year in (2020, 2021):
            if year == 2021 and n % 10 == 9:
                continue
            largest = rules.kg_to_t(gen[org.pk])
            klass = rules.management_class(largest)
            tables = rules.CLASS_TABLES[klass]
            filed = date(year, 3, 1) + timedelta(days=rng.randint(0, 35))
            mplans.append(
                ManagementPlan(
                    zone_id=zone_id,
                    organization=org,
                    year=year,
                    management_class=klass,
                    largest_annual_t=largest,
                    content={t: f"{org.name} {year} 年危险废物管理计划 表{t}" for t in tables},
                    filed_at=_moment(filed, 10),
                    filed_by="demo",
                    late=filed > rules.annual_plan_due(year),
                )
            )
    TransferPlan.objects.bulk_create(plans)
    ManagementPlan.objects.bulk_create(mplans)
    services.file_management_plan(
        actor,
        data={
            "organization_id": operator.pk,
            "year": 2021,
            "own_facility": False,
            "content": {
                "A.1": f"{operator.name}；生物医药园危险废物集中收集贮存试点",
                "A.2": "集中贮存库 1 座，设计贮存能力 10000 t，8 个分区",
                "A.3": "收集园区 A、B 类企业全部及 C 类企业 HW49/HW06/HW34/HW17 危险废物，预计 2400 t",
                "A.4": "分区贮存，贮存期不超过一年；270 天、330 天预警",
                "A.5": "无自行利用处置",
                "A.6": "推动园区企业源头减量，实验室废物分类收集",
                "A.7": "委托 3 家持证单位利用处置，全部执行电子联单",
            },
        },
    )

    # --- Identification reports ---------------------------------------------------------------------
    subject = smalls[3]
    report = services.file_report(
        actor,
        data={**REPORT_DATA, "producer_id": subject.pk, "waste_name": "未沾染试剂的实验耗材外包装纸箱"},
    )
    services.publish_report(
        actor, report.pk, data={"published_on": "2020-12-15", "effective_from": "2021-01-01"}
    )
    services.file_report(
        actor,
        data={
            **REPORT_DATA,
            "producer_id": smalls[5].pk,
            "waste_name": "细胞培养废弃培养基",
            "waste_code": "",
            "analysis": "浸出毒性超标，具有毒性危险特性",
            "conclusion": "hazardous",
        },
    )

    # --- Inspections: 2018 at 95 % (seed:227), 2020 at 100 % (seed:500) -----------------------------------
    regulators = ctx.organizations.get("regulator", [])
    inspector = regulators[4] if len(regulators) > 4 else regulators[0]
    zone_producers = [
        o for o in ctx.organizations.get("producer", []) if o.pk not in {p.pk for p, _k in producers}
    ]
    sample_2018 = rng.sample(zone_producers, k=min(38, len(zone_producers)))
    results_2018 = ["passed"] * 34 + ["basically_passed"] * 3 + ["failed"]
    from .models import Inspection

    rows = []
    for org, result in zip(sample_2018, results_2018, strict=False):
        rows.append(
            Inspection(
                zone_id=zone_id,
                organization=org,
                subject="producer",
                inspected_on=date(2018, rng.randint(4, 11), rng.randint(1, 28)),
                result=result,
                findings={
                    "passed": "",
                    "basically_passed": "危险废物标签填写不全",
                    "failed": "贮存超过一年，台账缺失",
                }[result],
                inspector=inspector,
                recorded_by="demo",
            )
        )
    sample_2020 = rng.sample(zone_producers, k=min(32, len(zone_producers))) + [p for p, _k in producers[::8]]
    for org in sample_2020:
        rows.append(
            Inspection(
                zone_id=zone_id,
                organization=org,
                subject="producer",
                inspected_on=date(2020, rng.randint(4, 11), rng.randint(1, 28)),
                result="passed",
                inspector=inspector,
                recorded_by="demo",
            )
        )
    for org in [operator, *receivers]:
        rows.append(
            Inspection(
                zone_id=zone_id,
                organization=org,
                subject="operator",
                inspected_on=date(2020, 9, rng.randint(1, 28)),
                result="passed",
                inspector=inspector,
                recorded_by="demo",
            )
        )
    Inspection.objects.bulk_create(rows)

    audit.record(
        actor,
        "hazardous.demo_load",
        store,
        {
            "producers": len(producers),
            "containers": len(containers),
            "manifests": len(created),
            "collected_2020_kg": COLLECTED_KG,
            "shipped_2020_kg": SHIPPED_KG,
            "closing_2020_kg": CLOSING_KG,
            "inspections": len(rows),
            "source": "试点总结报告中生物医药园集中贮存库的收运数据",  # seed:1291-1293, 227, 500
        },
    )


def route_is_disposal(lines: list[dict[str, Any]]) -> bool:
    """Solvents are recovered (R2); the rest is disposed of (D10)."""
    return not all(ln["category"] == "HW06" for ln in lines)
