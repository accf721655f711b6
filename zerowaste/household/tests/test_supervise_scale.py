"""The supervision pages on a zone the demo's shape (2 streets, 32 communities, a month of roll-ups, a
busy day of raw events) answer with a number of queries that does not grow with it. Their time (under
1 s on the demo) is measured by `bench/cockpit.py`, not asserted here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.core.models import Area, Zone
from zerowaste.household import ingest, participation, rules
from zerowaste.household.models import DailyFlow, Device, HandoverEvent, Source, Station
from zerowaste.testing import parties

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

COMMUNITIES = 32
HOUSEHOLDS = 100  # per community, 3 residents each
DAYS = 30
CLASSES = ("kitchen", "recyclable.paper", "hazardous.battery", "other")


def _build(zone: Zone) -> tuple[date, list[Area]]:
    last = date.today() - timedelta(days=2)
    streets = [
        Area.objects.create(zone=zone, code=f"SC-S{i}", name=f"规模街道{i}", kind="street") for i in (1, 2)
    ]
    communities = Area.objects.bulk_create(
        Area(zone=zone, code=f"SC-C{i:02d}", name=f"规模社区{i}", kind="community", parent=streets[i % 2])
        for i in range(COMMUNITIES)
    )
    stations = Station.objects.bulk_create(
        Station(zone=zone, kind="staffed", code=f"SC-ST{i:02d}", name=f"规模驿站{i}", community=c)
        for i, c in enumerate(communities)
    )
    devices = Device.objects.bulk_create(
        Device(zone=zone, code=f"SC-T{i:02d}", kind="terminal", station=s, area=s.community)
        for i, s in enumerate(stations)
    )
    sources = Source.objects.bulk_create(
        Source(zone=zone, kind="household", code=f"SC-H{i:02d}-{n:03d}", community=c, residents=3)
        for i, c in enumerate(communities)
        for n in range(HOUSEHOLDS)
    )
    flows = []
    for day in (last - timedelta(days=d) for d in range(DAYS)):
        for s in stations:
            for household_class in CLASSES:
                flows.append(
                    DailyFlow(
                        zone=zone,
                        day=day,
                        node=rules.NODE_SOURCE_STATION,
                        place=f"station:{s.pk}",
                        station=s,
                        area=s.community,
                        household_class=household_class,
                        in_kg=Decimal("93.750"),
                        events=HOUSEHOLDS,
                    )
                )
    DailyFlow.objects.bulk_create(flows, batch_size=2000)
    at = datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=2)
    ingest._ensure_partitions({rules.month_start(at)})
    by_station = {s.community_id: (s, d) for s, d in zip(stations, devices, strict=True)}
    HandoverEvent.objects.bulk_create(
        (
            HandoverEvent(
                zone=zone,
                device=by_station[src.community_id][1],
                seq=n,
                occurred_at=at,
                received_at=at,
                day=last,
                node=rules.NODE_SOURCE_STATION,
                side=rules.SIDE_RECEIVER,
                handover_key=f"h{n}",
                household_class="kitchen",
                weight_kg=Decimal("1.250"),
                station=by_station[src.community_id][0],
                source=src,
            )
            for n, src in enumerate(sources)
        ),
        batch_size=2000,
    )
    participation.refresh_month(zone.pk, last)  # the scheduler's daily roll-up of the month
    return last, communities


def test_pages_answer_in_a_bounded_number_of_queries(zone: Zone) -> None:
    last, communities = _build(zone)
    client = Client()
    client.force_login(parties.make_member(parties.make_org(zone, roles=("regulator",))).user)
    client.get("/household/")  # warm the catalog names and the templates
    pages = [
        "/household/",
        f"/household/?month={last:%Y-%m}",
        f"/household/areas/{communities[0].parent_id}/",
        f"/household/areas/{communities[0].pk}/",
        f"/household/events/?area={communities[0].pk}&day={last.isoformat()}",
        "/household/alarms/",
    ]
    for path in pages:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, path
        assert len(queries) < 60, f"{path}: {len(queries)} queries"
    body = client.get("/household/").content.decode()
    assert "规模社区31" in body
    assert "100.0" in body  # every household handed over in the month
