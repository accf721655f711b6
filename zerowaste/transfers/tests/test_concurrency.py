"""PostgreSQL: 20 threads race for the same step; exactly one wins, the others get a clear 409."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from zerowaste.core.authz import Actor
from zerowaste.testing.race import race
from zerowaste.transfers import services
from zerowaste.transfers.models import NumberCounter, Signature, Transfer
from zerowaste.transfers.testing import World, advance, make_world

THREADS = 20


def _race(fn: Callable[[int], Any]) -> Counter[str]:
    return race(fn, THREADS)


@pytest.fixture
def pg_world(is_postgres: bool, transactional_db: None) -> World:
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    return make_world()


@pytest.mark.django_db(transaction=True)
def test_twenty_carriers_sign_the_same_pick_up(pg_world: World) -> None:
    w = pg_world
    t = advance(
        w,
        services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": w.producer.pk}),
        "issued",
    )
    actors = [w.actor(w.carrier, "signer") for _ in range(THREADS)]
    results = _race(
        lambda i: services.perform(actors[i], t.pk, "pick_up", vehicle_id=w.vehicle.pk, quantity_seen_t="10")
    )
    assert results == Counter({"ok": 1, "409": THREADS - 1})
    t.refresh_from_db()
    assert t.state == "in_transit"
    assert Signature.objects.filter(transfer=t, action="pick_up").count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_receivers_close_the_same_manifest(pg_world: World) -> None:
    w = pg_world
    t = advance(
        w,
        services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": w.producer.pk}),
        "delivered",
    )
    actors = [w.actor(w.receiver) for _ in range(THREADS)]
    results = _race(lambda i: services.perform(actors[i], t.pk, "accept", received_t="10"))
    assert results == Counter({"ok": 1, "409": THREADS - 1})
    t.refresh_from_db()
    assert t.state == "closed" and t.received_t == 10
    assert Signature.objects.filter(transfer=t, action="accept").count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_issues_number_gaplessly(pg_world: World) -> None:
    w = pg_world
    system = Actor.system(w.zone)
    drafts = [
        services.create_transfer(system, data={**w.data(), "consignor_id": w.producer.pk})
        for _ in range(THREADS)
    ]
    actors = [w.actor(w.producer) for _ in range(THREADS)]
    results = _race(lambda i: services.perform(actors[i], drafts[i].pk, "issue"))
    assert results == Counter({"ok": THREADS})
    numbers = sorted(
        str(n) for n in Transfer.objects.filter(zone=w.zone, stream="hw").values_list("number", flat=True)
    )
    assert len(set(numbers)) == THREADS
    assert [int(n[-6:]) for n in numbers] == list(range(1, THREADS + 1))
    assert all(len(n) == 14 and n[4:8] == "1101" for n in numbers)
    assert NumberCounter.objects.get(zone=w.zone, stream="hw").last == THREADS
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_twenty_creates_with_issue_lose_nothing(pg_world: World) -> None:
    w = pg_world
    actors = [w.actor(w.producer) for _ in range(THREADS)]
    results = _race(
        lambda i: services.create_transfer(actors[i], data=w.data("isw", tonnes=str(i + 1)), issue=True)
    )
    assert results == Counter({"ok": THREADS})
    rows = Transfer.objects.filter(zone=w.zone, stream="isw")
    assert rows.count() == THREADS
    assert sorted(int(str(n).rsplit("-", 1)[1]) for n in rows.values_list("number", flat=True)) == list(
        range(1, THREADS + 1)
    )
    assert sorted(rows.values_list("estimated_t", flat=True)) == list(range(1, THREADS + 1))
