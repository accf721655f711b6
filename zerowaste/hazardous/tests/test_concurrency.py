"""PostgreSQL: racing collections into one store get distinct batch numbers; racing ship-outs of the
same container make exactly one manifest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from zerowaste.core.errors import DomainError
from zerowaste.hazardous import services
from zerowaste.hazardous.models import Container
from zerowaste.hazardous.testing import make_park
from zerowaste.transfers.models import Transfer

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def race(n: int, fn: Callable[[], Any]) -> tuple[list[Any], list[Exception]]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_racing_collections_and_ship_outs(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    park = make_park()
    results, errors = race(6, lambda: park.collect(quantity_kg=10).number)
    assert errors == [] and len(set(results)) == 6
    assert Container.objects.filter(store=park.store).count() == 6
    c = Container.objects.filter(store=park.store).first()
    assert c is not None
    data = {"container_ids": [c.pk], "consignee_id": park.receiver.pk, "carrier_id": park.carrier.pk}
    shipped, refused = race(4, lambda: services.ship_out(park.system, park.store.pk, data=data).pk)
    assert len(shipped) == 1 and len(refused) == 3
    assert all(isinstance(e, DomainError) and e.status == 409 for e in refused)
    assert Transfer.objects.filter(consignor=park.operator).count() == 1
