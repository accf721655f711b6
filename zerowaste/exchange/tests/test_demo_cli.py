"""The demo's listings follow its declarations, manifests and licences; the CLI prints point 7's object."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from zerowaste.core.models import Licence, Zone
from zerowaste.exchange import rules
from zerowaste.exchange.models import DemandListing, DemandPrice, MatchRun, PoolRun, SupplyListing


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_listings_are_consistent(demo_zone: Zone) -> None:
    from zerowaste.core.demo import RECYCLERS
    from zerowaste.declarations.models import DeclarationLine

    demands = DemandListing.objects.filter(zone=demo_zone)
    receivers = {d.organization_id for d in demands}
    assert len(receivers) == RECYCLERS + 3  # the 41 recyclers and the 3 HW operators
    # A monthly supply is the 2020 monthly average of what the producer declared transferred out.
    s = (
        SupplyListing.objects.filter(zone=demo_zone, stream="isw", kind=rules.KIND_MONTHLY)
        .order_by("pk")
        .first()
    )
    assert s is not None
    declared = DeclarationLine.objects.filter(
        zone=demo_zone,
        declaration__organization_id=s.organization_id,
        declaration__period_kind="month",
        declaration__period_start__year=2020,
        waste_code=s.waste_code,
    ).aggregate(t=Sum("transferred_util_t"))["t"]
    assert s.quantity_t == (declared / 12).quantize(Decimal("0.001"))
    # HW demand only for codes a licence in force covers.
    for price in DemandPrice.objects.filter(zone=demo_zone, stream="hw").select_related("demand"):
        licences = Licence.objects.filter(organization_id=price.demand.organization_id, kind="hw_operating")
        assert any(
            rules.licence_covers_code(lic.waste_codes, price.waste_code, price.category) for lic in licences
        )
    assert MatchRun.objects.filter(zone=demo_zone, optimal=True).exists()
    assert PoolRun.objects.filter(zone=demo_zone).exists()

    out = StringIO()
    call_command(
        "exchange", "match", "--period", "2020-06", "--format", "json", "--zone", demo_zone.code, stdout=out
    )
    data = json.loads(out.getvalue())
    assert list(data) == ["value", "greedy_value", "bound", "gap", "seconds", "proposals"]
    assert set(data["proposals"][0]) == {"supply", "demand", "code", "quantity_t", "value"}
    assert Decimal(data["value"]) >= Decimal(data["greedy_value"])
    assert data["gap"] == "0" and data["value"] == data["bound"]
    out = StringIO()
    call_command(
        "exchange", "pool", "--code", "99-09-05", "--time-limit", "1", "--zone", demo_zone.code, stdout=out
    )
    assert "cost pooled" in out.getvalue()
