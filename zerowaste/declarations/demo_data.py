"""The demo's declaration history: ISW and HW declarations of every demo producer, yearly for 2018 and
2019 (before the platform) and monthly for 2020 (on the platform).

Totals follow the seed: general industrial waste 233,500 t (2018) and 208,400 t (2020), industrial HW
50,300 t and 45,080 t (seed:256, 1217-1227); industry shares of seed:1207-1215; utilization rates of
ISW 96 % and HW 57 % → 65 % (seed:194-246). Production data: industrial value added 946亿 (2018) and
1,265亿 (2020) CNY (DESIGN.md). Yearly totals are apportioned to the kilogram, so the sums are exact.
The totals are the zone's: tonnes that an earlier step reserved on the demo context for producers it
declares itself (`declared:hw:2020`, the hazardous pilot park's) are left out here.
Written with bulk_create and one summarizing audit entry per stream and year.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from zerowaste.core import audit
from zerowaste.core.demo import INDUSTRY_SHARES, DemoContext

from . import rules
from .models import Declaration, DeclarationLine, ProductionData

YEARS = (2018, 2019, 2020)
TOTALS_T = {  # stream -> year -> tonnes
    "isw": {2018: 233_500, 2019: 220_950, 2020: 208_400},
    "hw": {2018: 50_300, 2019: 47_690, 2020: 45_080},
}
UTILIZATION = {
    "isw": {2018: Decimal("0.96"), 2019: Decimal("0.97"), 2020: Decimal("0.96")},
    "hw": {2018: Decimal("0.57"), 2019: Decimal("0.61"), 2020: Decimal("0.65")},
}
VALUE_ADDED_WAN = {2018: 9_460_000, 2019: 10_950_000, 2020: 12_650_000}
CODES = {
    "isw": {
        "it": [
            ("99-01-01", "ISW01", "废硅片"),
            ("99-01-02", "ISW01", "偏光膜边角料"),
            ("99-12-01", "ISW12", "纸箱"),
            ("07-13-01", "ISW13", "生活污水处理污泥"),
        ],
        "auto": [
            ("99-02-01", "ISW02", "发动机金属废屑"),
            ("99-02-02", "ISW02", "废钢板"),
            ("99-08-02", "ISW08", "废铁"),
            ("99-12-03", "ISW12", "木托盘"),
        ],
        "robotics": [
            ("99-04-01", "ISW04", "冲压废铁"),
            ("99-04-03", "ISW04", "机加工铁屑"),
            ("99-08-04", "ISW08", "废铝"),
        ],
        "biotech": [
            ("99-03-02", "ISW03", "废塑料器皿(未沾染)"),
            ("99-12-01", "ISW12", "纸箱"),
            ("99-09-05", "ISW09", "聚丙烯（PP）"),
        ],
        "other": [
            ("99-06-07", "ISW06", "印刷行业边角料"),
            ("99-05-01", "ISW05", "废已加工食品"),
            ("99-12-06", "ISW12", "塑料袋"),
            ("99-07-06", "ISW07", "办公类废纸"),
        ],
    },
    "hw": {
        "it": [("900-402-06", "HW06", "废有机溶剂"), ("900-300-34", "HW34", "废酸")],
        "auto": [
            ("336-064-17", "HW17", "表面处理废物"),
            ("900-252-12", "HW12", "废涂料"),
            ("900-249-08", "HW08", "废矿物油"),
        ],
        "robotics": [("900-249-08", "HW08", "废矿物油"), ("900-007-09", "HW09", "废乳化液")],
        "biotech": [("276-005-02", "HW02", "医药废物"), ("900-047-49", "HW49", "实验室废物")],
        "other": [("900-041-49", "HW49", "沾染性包装物"), ("900-404-06", "HW06", "废有机溶剂")],
    },
}
KG = Decimal("0.001")


def apportion(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to `weights` that add up to `total` exactly (largest remainder)."""
    whole = sum(weights) or 1.0
    raw = [total * w / whole for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _insert_lines(lines: list[DeclarationLine]) -> None:
    """Plain executemany: the ORM's per-value preparation costs more than the insert itself here."""
    columns = [
        "zone_id",
        "declaration_id",
        "site_id",
        "waste_code",
        "waste_name",
        "category_code",
        *rules.QTY_FIELDS,
        "destination",
        "position",
    ]
    table = connection.ops.quote_name(DeclarationLine._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608 - fixed column names, values as parameters
    rows = [
        [getattr(ln, c) if not c.endswith("_t") else str(getattr(ln, c)) for c in columns] for ln in lines
    ]
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[i : i + 5000])


def zone_totals_kg(ctx: DemoContext) -> dict[str, dict[int, int]]:
    """The seed's zone totals in kilograms less what other steps reserved (`declared:<stream>:<year>`,
    e.g. the pilot park's producers' HW): these producers declare the rest, so the zone matches the seed."""
    return {
        stream: {
            year: total_t * 1000 - int(ctx.reserved(f"declared:{stream}:{year}") * 1000)
            for year, total_t in totals.items()
        }
        for stream, totals in TOTALS_T.items()
    }


def build(ctx: DemoContext) -> None:
    rng = ctx.rng("declarations.history")
    zone_id = ctx.zone.pk
    industries = [code for code, _label, _share in INDUSTRY_SHARES]
    shares = [float(share) for _code, _label, share in INDUSTRY_SHARES]
    producers = {code: ctx.organizations.get(f"industry:{code}", []) for code in industries}
    if not any(producers.values()):
        return
    weights = {code: [rng.lognormvariate(0, 1.0) for _ in orgs] for code, orgs in producers.items()}
    declarations: list[Declaration] = []
    pending_lines: list[tuple[int, list[DeclarationLine]]] = []
    now = timezone.now()
    generated_by_org: dict[tuple[int, int], int] = {}
    for stream, totals in zone_totals_kg(ctx).items():
        for year, total_kg in totals.items():
            per_industry = apportion(total_kg, shares)  # kilograms
            for code, industry_kg in zip(industries, per_industry, strict=True):
                orgs = producers[code]
                if not orgs:
                    continue
                per_org = apportion(industry_kg, weights[code])
                for org, org_kg in zip(orgs, per_org, strict=True):
                    generated_by_org[(org.pk, year)] = generated_by_org.get((org.pk, year), 0) + org_kg
                    choices = CODES[stream][code]
                    codes = rng.sample(choices, k=min(len(choices), 2 if stream == "isw" else 1))
                    if year < 2020:
                        parts = [(rules.make_period("year", year), org_kg)]
                    else:
                        months = apportion(org_kg, [rng.uniform(0.85, 1.15) for _ in range(12)])
                        parts = [
                            (rules.make_period("month", year, m), kg) for m, kg in enumerate(months, start=1)
                        ]
                    for period, month_kg in parts:
                        month = period.start.month if period.kind == "month" else 0
                        late = year == 2020 and month == 12 and rng.random() < 0.1
                        decl = Declaration(
                            zone_id=zone_id,
                            organization_id=org.pk,
                            stream=stream,
                            period_kind=period.kind,
                            period_start=period.start,
                            period_end=period.end,
                            status=rules.Status.SUBMITTED if late else rules.Status.ACCEPTED,
                            submissions=1,
                            created_by="demo",
                            submitted_at=now,
                            reviewed_at=None if late else now,
                            reviewed_by="" if late else "demo",
                        )
                        split = apportion(month_kg, [0.7, 0.3][: len(codes)])
                        lines = []
                        for position, ((waste_code, category, name), kg) in enumerate(
                            zip(codes, split, strict=True)
                        ):
                            generated = Decimal(kg) * KG
                            util = (generated * UTILIZATION[stream][year]).quantize(KG)
                            lines.append(
                                DeclarationLine(
                                    zone_id=zone_id,
                                    waste_code=waste_code,
                                    waste_name=name,
                                    category_code=category,
                                    generated_t=generated,
                                    transferred_util_t=util,
                                    transferred_disp_t=generated - util,
                                    position=position,
                                    destination="再生资源回收" if stream == "isw" else "危险废物经营单位",
                                )
                            )
                        declarations.append(decl)
                        pending_lines.append((len(declarations) - 1, lines))
    Declaration.objects.bulk_create(declarations, batch_size=2000)
    all_lines = []
    for index, lines in pending_lines:
        for ln in lines:
            ln.declaration_id = declarations[index].pk
            all_lines.append(ln)
    _insert_lines(all_lines)

    production = []
    for year, total_wan in VALUE_ADDED_WAN.items():
        orgs = [org for code in industries for org in producers[code]]
        # Value added roughly follows waste with a spread of intensities around the zone's.
        vw = [generated_by_org.get((o.pk, year), 0) * rng.lognormvariate(0, 0.5) + 1 for o in orgs]
        for org, wan in zip(orgs, apportion(total_wan, vw), strict=True):
            production.append(
                ProductionData(
                    zone_id=zone_id,
                    organization_id=org.pk,
                    year=year,
                    value_added_wan=Decimal(max(wan, 1)),
                    products=[],
                    raw_materials=[],
                )
            )
    ProductionData.objects.bulk_create(production, batch_size=2000)
    audit.record(
        ctx.actor,
        "declaration.demo_history",
        declarations[0],
        {
            "declarations": len(declarations),
            "lines": len(all_lines),
            "years": list(YEARS),
            "totals_t": {s: {str(y): t for y, t in v.items()} for s, v in TOTALS_T.items()},
            "reserved_t": {
                k: str(v) for k, v in sorted(ctx.reservations.items()) if k.startswith("declared:")
            },
            "first_id": declarations[0].pk,
            "last_id": declarations[-1].pk,
            "production_rows": len(production),
            "built": date.today(),
        },
    )
