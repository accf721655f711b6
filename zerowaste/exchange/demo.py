"""Demo step: supply and demand listings consistent with the demo's declarations and manifests.

Producers: one standing monthly listing per general-industrial code each declared in 2020, at its
2020 monthly average of "transferred out for utilization" (the quantity it sends to recyclers), and
one per hazardous code at its 2020 monthly average transferred out. Producers that declare
packaging plastics (99-09-05 PP, 99-12-06 plastic bags) also list a small one-off lot of them: the
low-value waste the seed wants pooled (seed:486-488). Receivers: the 41 recyclers take the ISW codes
they received on the demo's manifests (a plastics recycler also takes 99-12-06 plastic film), with
a capacity of three times their monthly average received;
the three HW operators take the HW codes their licences cover, at a twelfth of the licensed annual
capacity. Prices per category are typical Beijing scrap prices of 2020 (CNY/t; negative = a fee).
Then one matching run for 2020-12 and one pooled-collection plan, so that every page has content.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from zerowaste.core import audit
from zerowaste.core.demo import DemoContext, demo_step
from zerowaste.core.models import Licence, Organization, Site

from . import rules, services
from .models import DemandListing, DemandPrice, SupplyListing

# Offered price per tonne by category (CNY); the asking price is a share of it.
OFFERED = {
    "ISW01": 800,
    "ISW02": 1200,
    "ISW03": 300,
    "ISW04": 1800,
    "ISW05": -50,
    "ISW06": 600,
    "ISW07": 900,
    "ISW08": 2200,
    "ISW09": 1100,
    "ISW10": 400,
    "ISW11": 100,
    "ISW12": 1300,
    "ISW13": -200,
    "ISW14": 0,
    "HW06": 300,
    "HW08": 1500,
    "HW09": -1500,
    "HW12": -2500,
    "HW17": -2000,
    "HW34": -800,
    "HW49": -3000,
}
POOL_CODES = ("99-09-05", "99-12-06")
ZONE_BOX = ((39.74, 39.83), (116.45, 116.60))  # the zone's extent, roughly


def _coordinate(rng_value: float, box: tuple[float, float]) -> Decimal:
    return Decimal(str(round(box[0] + (box[1] - box[0]) * rng_value, 6)))


@demo_step("exchange.listings", order=50)
def build_listings(ctx: DemoContext) -> None:
    from zerowaste.declarations.models import DeclarationLine
    from zerowaste.transfers.models import TransferLine

    rng = ctx.rng("exchange.listings")
    zone = ctx.zone
    producers = ctx.organizations.get("producer", [])
    receivers = ctx.organizations.get("receiver", [])
    if not producers or len(receivers) < 4:
        return
    # Sites: every producer gets its plant (the core demo gives receivers theirs).
    have_site = set(Site.objects.filter(zone=zone).values_list("organization_id", flat=True))
    Site.objects.bulk_create(
        [
            Site(
                zone=zone,
                organization=org,
                name="厂区",
                kind="plant",
                address=org.address,
                latitude=_coordinate(rng.random(), ZONE_BOX[0]),
                longitude=_coordinate(rng.random(), ZONE_BOX[1]),
                area_id=org.area_id,
            )
            for org in producers
            if org.pk not in have_site
        ]
    )
    site_of = {s.organization_id: s for s in Site.objects.filter(zone=zone).order_by("pk")}

    # Producers: 2020 monthly averages of what they declared transferred out.
    declared = (
        DeclarationLine.objects.filter(
            zone=zone, declaration__period_kind="month", declaration__period_start__year=2020
        )
        .values(
            "declaration__organization_id", "declaration__stream", "waste_code", "category_code", "waste_name"
        )
        .annotate(util=Sum("transferred_util_t"), disp=Sum("transferred_disp_t"))
        .order_by("declaration__organization_id", "waste_code")
    )
    supplies: list[SupplyListing] = []
    for row in declared:
        org_id = row["declaration__organization_id"]
        stream = row["declaration__stream"]
        category = row["category_code"]
        offered = OFFERED.get(category)
        if offered is None:
            continue
        total = row["util"] if stream == "isw" else row["util"] + row["disp"]
        monthly = (total / 12).quantize(rules.KILOGRAM)
        if monthly <= 0:
            continue
        ask = Decimal(offered) * Decimal(str(round(rng.uniform(0.3, 0.7), 2)))
        if offered < 0:
            ask = Decimal(offered) * Decimal("1.5")
        common = {
            "zone": zone,
            "organization_id": org_id,
            "site": site_of[org_id],
            "stream": stream,
            "waste_code": row["waste_code"],
            "category": category,
            "waste_name": row["waste_name"],
            "price_cny_per_t": ask.quantize(rules.FEN),
            "anonymous": rng.random() < 0.3,
            "created_by": "demo",
        }
        supplies.append(
            SupplyListing(
                kind=rules.KIND_MONTHLY,
                quantity_t=monthly,
                divisible=True,
                quality_notes="按月申报转移量（2020年月均）",
                packaging="吨袋" if stream == "isw" else "桶",
                **common,
            )
        )
        if row["waste_code"] in POOL_CODES:
            lot = min(monthly, Decimal(str(round(rng.uniform(0.2, 1.5), 3))))
            supplies.append(
                SupplyListing(
                    kind=rules.KIND_LOT,
                    quantity_t=lot,
                    divisible=False,
                    quality_notes="包装废塑料小批量，已分拣压包",
                    packaging="压缩包",
                    **common,
                )
            )
    SupplyListing.objects.bulk_create(supplies, batch_size=1000)

    # Recyclers: the ISW codes they received on the demo manifests.
    hw_receivers, recyclers = receivers[:3], receivers[3:]
    received = (
        TransferLine.objects.filter(zone=zone, transfer__stream="isw", transfer__consignee__in=recyclers)
        .values("transfer__consignee_id", "waste_code", "category")
        .annotate(t=Sum("estimated_t"))
    )
    codes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    tonnes: dict[int, Decimal] = defaultdict(Decimal)
    for row in received:
        codes[row["transfer__consignee_id"]].append((row["waste_code"], row["category"]))
        tonnes[row["transfer__consignee_id"]] += row["t"]
    demand_rows: list[tuple[Organization, Decimal, list[tuple[str, str, str]]]] = []
    for org in recyclers:
        if not codes.get(org.pk):
            continue
        capacity = max((tonnes[org.pk] / 24 * 3).quantize(rules.KILOGRAM), Decimal(50))
        taken = sorted(set(codes[org.pk]))
        if any(category == "ISW09" for _code, category in taken):
            # A plastics recycler also takes PE film: plastic bags of the packaging category.
            taken = sorted({*taken, ("99-12-06", "ISW12")})
        demand_rows.append((org, capacity, [(code, category, "isw") for code, category in taken]))
    hw_codes = sorted(
        {(r["waste_code"], r["category_code"]) for r in declared if r["declaration__stream"] == "hw"}
    )
    for org in hw_receivers:
        licences = list(Licence.objects.filter(organization=org, kind="hw_operating"))
        covered = [
            (code, category, "hw")
            for code, category in hw_codes
            if any(rules.licence_covers_code(lic.waste_codes, code, category) for lic in licences)
        ]
        capacity_year = sum((lic.annual_capacity_t or Decimal(0) for lic in licences), Decimal(0))
        if covered and capacity_year:
            demand_rows.append((org, (capacity_year / 12).quantize(rules.KILOGRAM), covered))
    for org, capacity, accepted in demand_rows:
        demand = DemandListing.objects.create(
            zone=zone,
            organization=org,
            site=site_of[org.pk],
            capacity_t_per_month=capacity,
            service_radius_km=Decimal(rng.choice([30, 40, 60])),
            notes="按2020年接收联单测算能力" if accepted[0][2] == "isw" else "按经营许可证年处置能力",
            created_by="demo",
        )
        DemandPrice.objects.bulk_create(
            [
                DemandPrice(
                    zone=zone,
                    demand=demand,
                    stream=stream,
                    waste_code=code,
                    category=category,
                    price_cny_per_t=(
                        Decimal(OFFERED.get(category, 0)) * Decimal(str(round(rng.uniform(0.8, 1.2), 2)))
                    )
                    .quantize(Decimal(1))
                    .quantize(rules.FEN),
                )
                for code, category, stream in accepted
            ]
        )
    audit.append(
        zone_id=zone.pk,
        actor=ctx.actor,
        action="exchange.demo_load",
        model="exchange.supplylisting",
        object_id="*",
        changes={
            "supply_listings": len(supplies),
            "demand_listings": len(demand_rows),
            # 2020 declarations (transferred out), 2019-2020 manifests received, HW licences
            "source": "2020年申报（委托利用处置量）、2019-2020年接收的联单、危险废物经营许可证",
        },
    )
    run = services.run_matching(ctx.actor, period="2020-12", time_limit_s=60)
    del run
    poolable = [c for c in POOL_CODES if DemandPrice.objects.filter(zone=zone, waste_code=c).exists()]
    if poolable:
        code = max(
            poolable,
            key=lambda c: SupplyListing.objects.filter(zone=zone, waste_code=c, kind=rules.KIND_LOT).count(),
        )
        services.plan_pool(ctx.actor, waste_code=code, time_limit_s=2)
