"""Demo step: e-manifests of 2019–2020 in every state, near the seed's figures.

General industrial (seed:484-488): 2,247 issued, 1,353 closed, ~50,000 t moved. Hazardous: ~50,350 t
(the 2018 transferred total, seed:1229) spread over the two years by the category shares of
seed:1229-1233 (HW06 31.96 %, HW34 23.48 %, HW49 8.87 %, HW17 8.70 %, the rest in HW08/HW09/HW12),
less the tonnes reserved for manifests another step writes (`manifested:hw`, the pilot park's store).
History is bulk-loaded with states set directly, under one summarizing audit entry.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from zerowaste.core import audit, workdays
from zerowaste.core.demo import DemoContext, demo_step
from zerowaste.core.models import Organization, Vehicle

from . import rules
from .models import NumberCounter, Transfer, TransferLeg, TransferLine

ISW_ISSUED = 2247
ISW_CLOSED = 1353
ISW_TONNES = Decimal("50000")
HW_TONNES = Decimal("50349.8")
HW_SHARES = (  # seed:1229-1233
    ("HW06", "900-402-06", Decimal("0.3196")),
    ("HW34", "900-300-34", Decimal("0.2348")),
    ("HW49", "900-041-49", Decimal("0.0887")),
    ("HW17", "336-064-17", Decimal("0.0870")),
    ("HW08", "900-249-08", Decimal("0.1200")),
    ("HW09", "900-006-09", Decimal("0.0800")),
    ("HW12", "900-252-12", Decimal("0.0699")),
)
HW_AVERAGE_T = Decimal("25")
# Of the ISW manifests not closed: where they stand (the seed's open backlog).
ISW_OTHER_STATES = (
    ("issued", 300),
    ("in_transit", 180),
    ("delivered", 234),
    ("refused", 60),
    ("cancelled", 120),
)
ISW_DRAFTS = 30
HW_STATE_WEIGHTS = (
    ("closed", 0.9),
    ("delivered", 0.03),
    ("in_transit", 0.02),
    ("issued", 0.02),
    ("refused", 0.01),
    ("cancelled", 0.02),
)
YEARS = (2019, 2020)


def _moment(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _quantities(rng: random.Random, n: int, total: Decimal, low: float, high: float) -> list[Decimal]:
    raw = [rng.uniform(low, high) for _ in range(n)]
    scale = float(total) / sum(raw)
    return [Decimal(str(min(round(v * scale, 3), 40.0))).quantize(rules.KILOGRAM) for v in raw]


class _Builder:
    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        self.zone = ctx.zone
        self.seq: dict[tuple[str, int], int] = {}
        self.transfers: list[Transfer] = []
        self.lines: list[dict[str, Any]] = []
        self.legs: list[dict[str, Any]] = []

    def number(self, stream: str, year: int) -> str:
        key = (stream, year)
        self.seq[key] = self.seq.get(key, 0) + 1
        return rules.number_for(
            stream,
            zone_code=self.zone.code,
            division_code=self.zone.division_code,
            year=year,
            seq=self.seq[key],
        )

    def add(
        self,
        rng: random.Random,
        *,
        stream: str,
        state: str,
        consignor: Organization,
        consignee: Organization,
        carrier: Organization,
        vehicle: Vehicle | None,
        code: str,
        category: str,
        qty: Decimal,
    ) -> None:
        planned = date(rng.choice(YEARS), 1, 1) + timedelta(days=rng.randrange(365))
        issued = _moment(planned, 9)
        picked = issued + timedelta(hours=rng.randint(2, 30))
        delivered = picked + timedelta(hours=rng.randint(2, 8))
        closed = delivered + timedelta(days=rng.randint(0, 6), hours=2)
        received = None
        refused = rules.ZERO
        discrepancy = False
        note = reason = ""
        if state in ("closed", "refused"):
            received = qty
            if state == "closed" and rng.random() < 0.06:
                received = (qty * Decimal(str(rng.uniform(0.85, 0.94)))).quantize(rules.KILOGRAM)
                discrepancy = True
                note = "含水率下降，过磅差异"
            if state == "closed" and rng.random() < 0.02:
                refused = (received * Decimal("0.1")).quantize(rules.KILOGRAM) or Decimal("0.001")
                reason = "包装破损部分拒收"
            if state == "refused":
                refused = received
                reason = "废物与联单不符"
        reached = {
            "draft": 0,
            "issued": 1,
            "cancelled": 1,
            "in_transit": 2,
            "delivered": 3,
            "closed": 4,
            "refused": 4,
        }[state]
        last = {0: None, 1: issued, 2: picked, 3: delivered, 4: closed}[reached]
        due_date = None
        due_step = ""
        if state in rules.OPEN_STATES:
            days = rules.due_days(self.zone.settings, stream, state)
            assert days is not None and last is not None
            due_date = workdays.add_working_days(timezone.localtime(last).date(), days)
            due_step = rules.DUE_STEP[state]
        t = Transfer(
            zone=self.zone,
            stream=stream,
            number=self.number(stream, planned.year) if reached else None,
            state=state,
            consignor=consignor,
            consignee=consignee,
            carrier=carrier,
            current_carrier=carrier,
            planned_date=planned,
            estimated_t=qty,
            received_t=received,
            refused_t=refused,
            refusal_reason=reason,
            discrepancy=discrepancy,
            discrepancy_note=note,
            treatment="综合利用" if stream == "isw" else "R2/D10",
            cancel_reason="计划变更" if state == "cancelled" else "",
            due_date=due_date,
            due_step=due_step,
            created_by="demo",
            issued_at=issued if reached else None,
            picked_up_at=picked if reached >= 2 else None,
            delivered_at=delivered if reached >= 3 else None,
            closed_at=closed if state in ("closed", "refused") else None,
            last_signed_at=last,
        )
        self.transfers.append(t)
        self.lines.append(
            {"waste_code": code, "category": category, "estimated_t": qty, "received_t": received}
        )
        self.legs.append(
            {
                "carrier": carrier,
                "vehicle": vehicle if reached >= 2 else None,
                "quantity_seen_t": qty if reached >= 2 else None,
                "picked_up_at": picked if reached >= 2 else None,
                "handed_over_at": delivered if reached >= 3 else None,
            }
        )

    def save(self) -> None:
        created = Transfer.objects.bulk_create(self.transfers, batch_size=1000)
        TransferLine.objects.bulk_create(
            [
                TransferLine(
                    zone=self.zone,
                    transfer=t,
                    position=1,
                    waste_code=d["waste_code"],
                    category=d["category"],
                    estimated_t=d["estimated_t"],
                    received_t=d["received_t"],
                    packaging="吨袋",
                )
                for t, d in zip(created, self.lines, strict=True)
            ],
            batch_size=2000,
        )
        TransferLeg.objects.bulk_create(
            [
                TransferLeg(
                    zone=self.zone,
                    transfer=t,
                    seq=1,
                    carrier=d["carrier"],
                    vehicle=d["vehicle"],
                    vehicle_plate=d["vehicle"].plate if d["vehicle"] else "",
                    quantity_seen_t=d["quantity_seen_t"],
                    picked_up_at=d["picked_up_at"],
                    handed_over_at=d["handed_over_at"],
                )
                for t, d in zip(created, self.legs, strict=True)
            ],
            batch_size=2000,
        )
        NumberCounter.objects.bulk_create(
            [
                NumberCounter(
                    zone=self.zone,
                    stream=stream,
                    year=year,
                    prefix=rules.counter_prefix(stream, self.zone.division_code),
                    last=last,
                )
                for (stream, year), last in sorted(self.seq.items())
            ]
        )


@demo_step("transfers.manifests", order=30)
def build_manifests(ctx: DemoContext) -> None:
    from zerowaste.catalog.models import CatalogEntry

    rng = ctx.rng("transfers.manifests")
    b = _Builder(ctx)
    producers = ctx.organizations.get("producer", [])
    carriers = ctx.organizations.get("carrier", [])
    receivers = ctx.organizations.get("receiver", [])
    if not (producers and carriers and len(receivers) > 3):
        return
    hw_receivers, recyclers = receivers[:3], receivers[3:]
    hw_carrier = carriers[0]
    hw_vehicles = list(Vehicle.objects.filter(organization=hw_carrier))
    isw_vehicles = {v.organization_id: v for v in Vehicle.objects.filter(organization__in=carriers[1:])}
    isw_entries = list(
        CatalogEntry.objects.filter(zone=ctx.zone, stream="isw")
        .select_related("category")
        .values_list("code", "category__code")
    )
    isw_codes = [(c, cat) for c, cat in isw_entries if c.startswith("99-0")] or [("99-01-01", "ISW01")]
    # ISW: exactly the seed's counts; the 102 producers on e-manifests (seed:488).
    isw_producers = producers[:102]
    states = ["closed"] * ISW_CLOSED + [s for s, n in ISW_OTHER_STATES for _ in range(n)]
    assert len(states) == ISW_ISSUED
    rng.shuffle(states)
    qtys = _quantities(rng, ISW_ISSUED, ISW_TONNES, 5, 39.5)
    for state, qty in zip(states + ["draft"] * ISW_DRAFTS, qtys + qtys[:ISW_DRAFTS], strict=True):
        carrier = rng.choice(carriers[1:]) if len(carriers) > 1 else hw_carrier
        code, cat = rng.choice(isw_codes)
        b.add(
            rng,
            stream="isw",
            state=state,
            consignor=rng.choice(isw_producers),
            consignee=rng.choice(recyclers),
            carrier=carrier,
            vehicle=isw_vehicles.get(carrier.pk),
            code=code,
            category=cat,
            qty=qty,
        )
    # HW: tonnes by category share, ~25 t per trip.
    state_names = [s for s, _w in HW_STATE_WEIGHTS]
    weights = [w for _s, w in HW_STATE_WEIGHTS]
    # The seed's total is the zone's: what other steps reserved for their own manifests (the hazardous
    # pilot park's ship-outs) is left out here.
    hw_tonnes = HW_TONNES - ctx.reserved("manifested:hw")
    for category, code, share in HW_SHARES:
        tonnes = (hw_tonnes * share).quantize(rules.KILOGRAM)
        n = max(int(tonnes / HW_AVERAGE_T), 1)
        for qty in _quantities(rng, n, tonnes, 10, 38):
            b.add(
                rng,
                stream="hw",
                state=rng.choices(state_names, weights)[0],
                consignor=rng.choice(producers),
                consignee=rng.choice(hw_receivers),
                carrier=hw_carrier,
                vehicle=rng.choice(hw_vehicles) if hw_vehicles else None,
                code=code,
                category=category,
                qty=qty,
            )
    b.save()
    counts: dict[str, int] = {}
    for t in b.transfers:
        counts[f"{t.stream}:{t.state}"] = counts.get(f"{t.stream}:{t.state}", 0) + 1
    audit.append(
        zone_id=ctx.zone.pk,
        actor=ctx.actor,
        action="transfer.demo_load",
        model="transfers.transfer",
        object_id="*",
        changes={"transfers": len(b.transfers), "by_state": counts, "source": "seed:484-488, 1229-1233"},
    )
