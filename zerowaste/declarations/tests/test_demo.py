"""The demo zone's declarations: 2018 and 2020 totals within 1 % of the seed's, industry shares, speed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zerowaste.core.authz import Actor
from zerowaste.core.models import Zone
from zerowaste.declarations import services
from zerowaste.declarations.models import DeclarationLine
from zerowaste.hazardous.models import Container

pytestmark = pytest.mark.django_db

SEED = {
    ("isw", 2018): Decimal("233500"),
    ("isw", 2020): Decimal("208400"),  # seed:256, 1217
    ("hw", 2018): Decimal("50300"),
    ("hw", 2020): Decimal("45080"),
}  # seed:256, 1227


def test_demo_totals_near_the_seed(demo_zone: Zone) -> None:
    actor = Actor.system(demo_zone)
    for (stream, year), expected in SEED.items():
        total = Decimal(
            services.statistics(actor, year=year, by="category", stream=stream)["total_generated_t"]
        )
        assert abs(total - expected) / expected < Decimal("0.01"), (stream, year, total)
    # The zone's totals include the pilot park's producers (their declarations to the park's store),
    # not on top of the seed's figure: 2,431.9 t of 2020's 45,080 t are theirs (seed:1293).
    park_hw_2020 = sum(
        DeclarationLine.objects.filter(
            zone=demo_zone,
            declaration__stream="hw",
            declaration__period_start__year=2020,
            declaration__organization__in=Container.objects.filter(zone=demo_zone).values("producer"),
        ).values_list("generated_t", flat=True),
        Decimal(0),
    )
    assert park_hw_2020 == Decimal("2431.9")
    hw_2020 = services.statistics(actor, year=2020, by="category", stream="hw")["total_generated_t"]
    assert Decimal(hw_2020) == Decimal("45080")
    by_industry = services.statistics(actor, year=2018, by="industry", stream="isw")
    shares = {r["key"]: Decimal(r["generated_t"]) / Decimal("233500") for r in by_industry["rows"]}
    assert abs(shares["新一代信息技术"] - Decimal("0.44")) < Decimal("0.01")  # seed:1207
    assert abs(shares["高端汽车及新能源智能汽车"] - Decimal("0.34")) < Decimal("0.01")  # seed:1209
    rates = {
        r["key"]: Decimal(r["utilization_rate"])
        for r in services.statistics(actor, year=2020, by="category", stream="hw")["rows"]
    }
    assert all(Decimal("64") <= v <= Decimal("66") for v in rates.values())
    months = services.statistics(actor, year=2020, by="month", stream="isw")["rows"]
    assert len(months) == 12 and months[0]["generated_t"] != "0.000"
    intensity = services.intensity(actor, year=2018)
    assert intensity["above_target"] > 0 and len(intensity["rows"]) >= 300
