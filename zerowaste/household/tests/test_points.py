"""Residents' points: grants at ingest traceable to their event and never twice; redemption within the
2 km service circle, never below zero; 20 concurrent redemptions of a balance covering one (PostgreSQL);
a property test that the ledger's sum is the balance for any sequence of grants and redemptions."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Invalid
from zerowaste.core.models import Zone
from zerowaste.household import points, rules
from zerowaste.household.models import PointsAccount, PointsEntry
from zerowaste.household.testing import Registry, event, make_registry
from zerowaste.testing import parties

from .helpers2 import NOW, circle, household, send, seq

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _ledger_ok(source_id: int) -> int:
    account = PointsAccount.objects.get(source_id=source_id)
    entries = list(PointsEntry.objects.filter(source_id=source_id).order_by("pk"))
    assert sum(e.delta for e in entries) == account.balance
    running = 0
    for e in entries:
        running += e.delta
        assert e.balance_after == running >= 0
    return account.balance


def test_grants_at_ingest_once_per_event_and_traceable(reg: Registry) -> None:
    home = household(reg)
    terminal = reg.station_devices[0]
    drops = [
        event(terminal, seq(), NOW - timedelta(hours=3), source=home.code, quality_grade="A"),  # 2
        event(terminal, seq(), NOW - timedelta(hours=2), source=home.code, quality_grade="B"),  # 1
        event(
            terminal,
            seq(),
            NOW - timedelta(hours=2),
            source=home.code,
            quality_grade="A",
            impurities=["metal"],
        ),  # badly sorted: 0
        event(
            terminal,
            seq(),
            NOW - timedelta(hours=1),
            source=home.code,
            weight="3.900",
            household_class="recyclable.paper",
        ),  # 3 whole kg: 3
        event(terminal, seq(), NOW - timedelta(hours=1), source=home.code, household_class="other"),  # 0
    ]
    assert send(reg, *drops).points == 6
    assert send(reg, *drops).points == 0  # re-uploaded: duplicates grant nothing
    assert _ledger_ok(home.pk) == 6
    grants = list(PointsEntry.objects.filter(source=home).order_by("pk"))
    assert [(g.reason, g.delta, g.event_seq) for g in grants] == [
        (rules.POINTS_SORTING, 2, drops[0]["seq"]),
        (rules.POINTS_SORTING, 1, drops[1]["seq"]),
        (rules.POINTS_RECYCLABLES, 3, drops[3]["seq"]),
    ]
    assert {g.event_device_id for g in grants} == {terminal.pk}


def test_redemption_inside_the_circle_never_below_zero(reg: Registry) -> None:
    home = household(reg)
    system = Actor.system(reg.zone)
    near, far = circle(reg, merchant_km=1.5), circle(reg, merchant_km=2.5)
    points.grant_batch(
        reg.zone.pk, [points.Grant(home.pk, 10, rules.POINTS_SORTING, reg.station_devices[0].pk, seq())], NOW
    )
    with pytest.raises(Invalid) as beyond:
        points.redeem(system, home.code, points=5, merchant_id=far.pk)
    assert beyond.value.errors[0]["field"] == "merchant" and "2.5" in beyond.value.message
    with pytest.raises(Invalid) as too_much:
        points.redeem(system, home.code, points=11, merchant_id=near.pk)
    assert too_much.value.errors[0]["field"] == "points"
    assert PointsEntry.objects.filter(source=home).count() == 1  # refusals write nothing
    spent = points.redeem(system, home.code, points=10, merchant_id=near.pk)
    assert (spent.delta, spent.balance_after, spent.merchant_id) == (-10, 0, near.pk)
    with pytest.raises(Invalid):
        points.redeem(system, home.code, points=1, merchant_id=near.pk)
    back = points.reverse(system, spent.pk, note="商户退货")
    assert (back.delta, back.balance_after, back.reverses_id) == (10, 10, spent.pk)
    with pytest.raises(Invalid):
        points.reverse(system, spent.pk, note="again")
    assert _ledger_ok(home.pk) == 10


def test_no_centre_no_redemption(reg: Registry, zone: Zone) -> None:
    home = household(reg)
    other = make_registry(zone)
    merchant = circle(other)  # the other community's circle, not this household's
    points.grant_batch(
        reg.zone.pk, [points.Grant(home.pk, 3, rules.POINTS_SORTING, reg.station_devices[0].pk, seq())], NOW
    )
    with pytest.raises(Invalid) as refused:
        points.redeem(Actor.system(zone), home.code, points=1, merchant_id=merchant.pk)
    assert refused.value.errors[0]["field"] == "merchant"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["grant", "redeem"]), st.integers(1, 50)), max_size=25))
def test_ledger_sum_is_the_balance_for_any_sequence(reg: Registry, steps: list[tuple[str, int]]) -> None:
    home = household(reg)
    merchant = circle(reg)
    system = Actor.system(reg.zone)
    expected = 0
    for op, n in steps:
        if op == "grant":
            points.grant_batch(
                reg.zone.pk,
                [points.Grant(home.pk, n, rules.POINTS_RECYCLABLES, reg.station_devices[0].pk, seq())],
                NOW,
            )
            expected += n
        else:
            try:
                points.redeem(system, home.code, points=n, merchant_id=merchant.pk)
                expected -= n
            except Invalid:
                assert n > expected  # refused only when the balance does not cover it
    if PointsAccount.objects.filter(source=home).exists():  # a refused first redemption makes none
        assert _ledger_ok(home.pk) == expected
    total = PointsEntry.objects.filter(source=home).aggregate(s=Sum("delta"))["s"] or 0
    assert total == expected >= 0


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_redemptions_of_a_balance_covering_one() -> None:
    zone = parties.make_zone()
    reg = make_registry(zone)
    home = household(reg)
    merchant = circle(reg)
    points.grant_batch(
        zone.pk, [points.Grant(home.pk, 30, rules.POINTS_SORTING, reg.station_devices[0].pk, seq())], NOW
    )
    system = Actor.system(zone)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem() -> None:
        try:
            barrier.wait()
            points.redeem(system, home.code, points=30, merchant_id=merchant.pk)
            result = "ok"
        except DomainError as exc:
            result = f"refused:{exc.errors[0]['field']}"
        except BaseException as exc:
            result = f"error:{exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused:points"] * 19
    assert _ledger_ok(home.pk) == 0
    assert PointsEntry.objects.filter(source=home, reason=rules.POINTS_REDEMPTION).count() == 1
