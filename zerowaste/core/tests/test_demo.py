"""The demo zone: deterministic, shaped like the seed, with working accounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import QuerySet
from django.test import Client

from zerowaste.core.demo import DEMO_PASSWORD, INDUSTRY_SHARES, _apportion, build_demo
from zerowaste.core.models import Area, Licence, Organization, OrganizationRole, Vehicle, Zone


def _natural(zone: Zone) -> dict[str, object]:
    return {
        "orgs": sorted(
            (o.uscc, o.name, o.industry, tuple(o.role_codes))
            for o in Organization.objects.filter(zone=zone).prefetch_related("roles")
        ),
        "licences": sorted(
            Licence.objects.filter(zone=zone).values_list(
                "kind", "number", "organization__uscc", "annual_capacity_t"
            )
        ),
        "vehicles": sorted(
            Vehicle.objects.filter(zone=zone).values_list("plate", "organization__uscc", "capacity_kg")
        ),
    }


def _role_count(zone: Zone, role: str) -> int:
    return OrganizationRole.objects.filter(zone=zone, role=role).count()


def _park_producers(zone: Zone) -> set[int]:
    """The pilot park's small-quantity producers: those whose waste the park's store collects
    (seed:1291-1293, 5443-5461). Not every producer in the 生物医药园 area: core places some of the
    zone's own biotech producers there, and they count among the seed's 312."""
    from zerowaste.hazardous.models import Container

    return set(Container.objects.filter(zone=zone).values_list("producer_id", flat=True))


def _producers_outside_park(zone: Zone) -> QuerySet[Organization]:
    return Organization.objects.filter(zone=zone, roles__role="producer").exclude(
        pk__in=_park_producers(zone)
    )


def test_apportion_largest_remainder() -> None:
    assert _apportion(312, INDUSTRY_SHARES) == {
        "it": 138,
        "auto": 106,
        "robotics": 6,
        "biotech": 6,
        "other": 56,
    }
    assert sum(_apportion(7, INDUSTRY_SHARES).values()) == 7
    assert _apportion(10, (("a", "", Decimal("0.5")), ("b", "", Decimal("0.5")))) == {"a": 5, "b": 5}


@pytest.mark.django_db(transaction=True)
def test_demo_shape_determinism_and_accounts() -> None:
    result = build_demo(seed=1)
    zone = result.zone
    first = _natural(zone)
    # seed:317 累计统计产废企业312家 — the zone's producers, outside the pilot park's store ...
    outside = _producers_outside_park(zone)
    assert outside.count() == 312
    counts = _apportion(312, INDUSTRY_SHARES)
    for code, label, _share in INDUSTRY_SHARES:
        assert outside.filter(industry=label).count() == counts[code]
    # ... and the pilot park's 72 small-quantity producers beside them, all in the park.
    park = _park_producers(zone)
    assert len(park) == 72
    assert (
        set(
            Organization.objects.filter(pk__in=park, area__code="biomed", roles__role="producer").values_list(
                "pk", flat=True
            )
        )
        == park
    )
    assert _role_count(zone, "producer") == 312 + 72
    # the seed's recyclers, three licensed HW receivers, and the household side's treatment group
    assert _role_count(zone, "receiver") == 41 + 3 + 1
    assert _role_count(zone, "regulator") == 7
    assert Area.objects.filter(zone=zone, kind="community").count() == 32
    assert Area.objects.filter(zone=zone, kind="street").count() == 2
    assert result.organizations == Organization.objects.filter(zone=zone).count()
    # The demo's licences are verified, as the operator's entries are (ADR 0042).
    assert set(Licence.objects.filter(zone=zone).values_list("status", flat=True)) == {"verified"}
    # rebuilding with the same seed gives the same parties
    again = build_demo(seed=1, reset=True)
    assert again.rebuilt
    assert _natural(again.zone) == first
    # the same parameters are not rebuilt
    assert build_demo(seed=1).already_built
    # the printed accounts log in
    assert {a["username"] for a in again.accounts} >= {
        "regulator",
        "street-rh",
        "producer",
        "carrier",
        "recycler",
    }
    for account in again.accounts:
        client = Client()
        response = client.post("/login/", {"username": account["username"], "password": DEMO_PASSWORD})
        assert response.status_code == 302, account
    client = Client()
    client.post("/login/", {"username": "street-rh", "password": DEMO_PASSWORD})
    html = client.get("/organizations/?q=博兴").content.decode()
    assert "博兴街道办事处" not in html  # a street regulator sees only its street


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_demo_other_seed_differs_and_scale_doubles() -> None:
    first = _natural(build_demo(seed=1).zone)
    result = build_demo(seed=2, scale=2, reset=True)
    assert _natural(result.zone) != first
    assert _producers_outside_park(result.zone).count() == 624
    assert len(_park_producers(result.zone)) == 72  # the park is the seed's one, at any scale
