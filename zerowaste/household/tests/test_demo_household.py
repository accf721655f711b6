"""The household side of the demo (issue 17 point 7): the seed's residents and communities, one month
whose cleared total is 1.25 kg per person per day to the gram, roll-ups equal to a recount of the raw
events, the alarms the real detection raised, an exact points ledger, and the figures and derived
indicator inputs that follow from it. Builds the parties, the catalogs and the household step only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count, Sum

from zerowaste.core import demo as core_demo
from zerowaste.core.models import Zone
from zerowaste.household import figures, rules
from zerowaste.household.models import (
    Alarm,
    Bin,
    DailyFlow,
    Device,
    EventSequence,
    HandoverEvent,
    ParticipationMonth,
    PointsAccount,
    PointsEntry,
    Source,
    Station,
)
from zerowaste.indicators import services as indicators

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

STEPS = ("core.parties", "catalog.load", "household.month")


@pytest.fixture
def demo_month(monkeypatch: pytest.MonkeyPatch) -> Iterator[Zone]:
    steps = [s for s in core_demo._STEPS if s[1] in STEPS]
    monkeypatch.setattr(core_demo, "_STEPS", steps)
    yield core_demo.build_demo(seed=1).zone


def test_demo_month(demo_month: Zone) -> None:
    z = demo_month.pk
    households = Source.objects.filter(zone_id=z, kind="household")
    assert households.aggregate(r=Sum("residents"))["r"] == 176_000  # seed:80
    assert 60_000 < households.count() < 75_000  # about 2.6 residents a household
    assert Source.objects.filter(zone_id=z, kind="unit").exclude(responsible_party="").count() == 96
    kinds = dict(Station.objects.filter(zone_id=z).values_list("kind").annotate(n=Count("id")))
    assert kinds["recyclables"] == 32 and kinds["hazardous"] == 32
    assert households.count() / 500 <= kinds["staffed"] <= households.count() / 300  # seed:4834
    assert Bin.objects.filter(zone_id=z, household_class="kitchen").count() == 2 * kinds["staffed"]
    assert set(Device.objects.filter(zone_id=z).values_list("kind", flat=True)) == {
        "terminal",
        "vehicle",
        "weighbridge",
    }

    # Cleared at the plants in December 2020: 1.25 kg per person per day, to the gram (indicator 6).
    cleared = DailyFlow.objects.filter(zone_id=z, node="vehicle_site").aggregate(s=Sum("in_kg"))["s"]
    assert Decimal(str(cleared)).quantize(Decimal("0.001")) == Decimal("6820000.000")  # 176,000 × 1.25 × 31
    f = figures.area_figures(z, None, date(2020, 12, 1), date(2020, 12, 31))
    assert f.per_capita_kg_day == Decimal("1.250")
    assert f.recycling_rate == Decimal("0.4000")  # indicator 12: kitchen 28 % + recyclables 12 %
    assert f.sorted_coverage == Decimal("1.0000") and f.hazardous_coverage == Decimal("1.0000")
    assert f.participation_rate is not None and f.participation_rate >= Decimal("0.94")  # seed:436
    assert Decimal("0.28") < f.landfill_kg / f.generated_total_kg < Decimal("0.32")  # seed:214: 29.64 %
    assert f.quota is not None and f.quota.within
    assert figures.latest_month(z) == (date(2020, 12, 1), date(2020, 12, 31))
    streets = figures.children_figures(z, None, date(2020, 12, 1), date(2020, 12, 31))
    assert sum(s.residents for s in streets) == 176_000
    assert sum(s.generated_total_kg for s in streets) == f.generated_total_kg

    # The roll-ups equal a recount of the raw events, to the gram; one ledger row per event.
    recount: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    rows = HandoverEvent.objects.filter(zone_id=z).values_list(
        "day", "node", "side", "household_class", "weight_kg", "station_id", "vehicle_id", "site_id"
    )
    count = 0
    for day, node, side, cls, weight, station, vehicle, site in rows.iterator(chunk_size=20_000):
        count += 1
        kind = rules.place_kind(node, side)
        place = f"{kind}:{ {'station': station, 'vehicle': vehicle, 'site': site}[kind] }"
        row = recount[(day, node, place, cls)]
        row[0 if side == "receiver" else 1] += Decimal(weight)
        row[2] += 1
    flows = {
        (f.day, f.node, f.place, f.household_class): [Decimal(f.in_kg), Decimal(f.out_kg), f.events]
        for f in DailyFlow.objects.filter(zone_id=z)
    }
    assert flows == dict(recount)
    assert EventSequence.objects.filter(zone_id=z).count() == count
    assert (
        HandoverEvent.objects.filter(zone_id=z, source__isnull=False).values("source_id").distinct().count()
        > 1000
    )

    # Alarms raised by the real detection code: weight mismatches, a day not cleared, a quality failure.
    alarms = dict(Alarm.objects.filter(zone_id=z).values_list("kind").annotate(n=Count("id")))
    assert alarms == {"weight_mismatch": 3, "not_cleared": 1, "quality_failures": 1}

    # The points ledger: each account's lines add up to its balance, each grant traceable to its event.
    sums = dict(PointsEntry.objects.filter(zone_id=z).values_list("account_id").annotate(s=Sum("delta")))
    accounts = dict(PointsAccount.objects.filter(zone_id=z).values_list("pk", "balance"))
    assert sums == accounts and min(accounts.values()) >= 0
    grants = PointsEntry.objects.filter(zone_id=z, delta__gt=0)
    events = set(
        HandoverEvent.objects.filter(zone_id=z, source__isnull=False).values_list("device_id", "seq")
    )
    assert set(grants.values_list("event_device_id", "event_seq")) <= events
    assert PointsEntry.objects.filter(zone_id=z, reason="redemption", merchant__isnull=False).exists()

    # The derived indicator inputs of 2020 (the demo's entries still count: they override them).
    states = indicators.resolve_inputs(z, 2020)
    assert states["household_daily_cleared_t"].derived == Decimal("220.000")
    assert states["resident_population"].derived == Decimal("176000")
    assert states["sorted_collection_communities"].derived == Decimal("32")
    assert states["hazardous_household_communities"].derived == Decimal("32")
    assert states["household_collection_coverage"].derived == Decimal("100.00")

    # The stations' keepers: a property company per community runs them; the demo login `keeper` is
    # a clerk of the first one, whose stations its phone pages list.
    from zerowaste.core.models import Membership
    from zerowaste.household import derivations, field

    assert Station.objects.filter(zone_id=z, operator__isnull=True).count() == 0
    assert Station.objects.filter(zone_id=z).values("operator_id").distinct().count() == 32
    keeper = Membership.objects.select_related("organization").get(zone_id=z, user__username="keeper")
    assert keeper.role == "clerk" and "property" in keeper.organization.role_codes
    assert "keeper" in {a["username"] for a in demo_month.settings["demo_accounts"]}
    from zerowaste.core.authz import actor_for_membership

    places = field.places_of(actor_for_membership(keeper))
    assert places.stations and {s.community_id for s in places.stations} == {keeper.organization.area_id}

    # The records behind a derived input: the plants' receipts, then the 32 communities.
    from zerowaste.core.authz import Actor

    records, links = derivations.records(Actor.system(demo_month), 2020, "household.cleared")
    assert len(records) == len([r for r in records if r["url"] is None]) + 32 and links
    plants = sum((Decimal(r["value"]) for r in records if r["url"] is None), Decimal(0))
    assert plants == Decimal("6820.000")  # 176,000 × 1.25 kg × 31 days, in tonnes

    # Participation rolled up again from the raw events: the same figure (the demo's came from them).
    sampled = (
        HandoverEvent.objects.filter(zone_id=z, source__isnull=False).values("source_id").distinct().count()
    )
    assert figures.refresh_participation(z, date(2020, 12, 1)) == 32
    assert ParticipationMonth.objects.filter(zone_id=z).aggregate(s=Sum("households"))["s"] == sampled
