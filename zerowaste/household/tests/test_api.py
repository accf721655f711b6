"""HTTP API: an offline device's signed batch, dead letters and roll-ups, with the usual refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from zerowaste.core.models import Zone
from zerowaste.household import rules
from zerowaste.household.models import HandoverEvent
from zerowaste.household.testing import Registry, event, make_registry
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _batch(reg: Registry, seqs: range, hours_ago: float = 5) -> dict[str, object]:
    terminal = reg.station_devices[0]
    items = []
    for seq in seqs:
        e = event(terminal, seq, NOW - timedelta(hours=hours_ago, minutes=seq), weight="1.250")
        items.append({"event": e, "sig": rules.sign(reg.key(terminal), e)})
    return {"events": items}


def test_offline_batch_is_stored_once_and_answers_counts(reg: Registry) -> None:
    collector = parties.make_org(reg.zone, roles=("carrier",))
    client = parties.api_client(collector, ("declare",))
    body = _batch(reg, range(1, 21))
    first = client.post("/api/household/events", body)
    assert first.status_code == 200, first.content
    assert first.json() == {"stored": 20, "duplicate": 0, "dead_lettered": 0, "alarms": 0, "points": 0}
    retry = client.post("/api/household/events", body)  # no Idempotency-Key: the (device, seq) ledger decides
    assert retry.json() == {"stored": 0, "duplicate": 20, "dead_lettered": 0, "alarms": 0, "points": 0}
    assert HandoverEvent.objects.filter(zone=reg.zone).count() == 20


def test_a_bad_event_is_dead_lettered_and_the_regulator_reads_why(reg: Registry) -> None:
    collector = parties.make_org(reg.zone, roles=("carrier",))
    body = _batch(reg, range(1, 3))
    body["events"][1]["event"]["weight_kg"] = "-3"  # type: ignore[index]
    answer = parties.api_client(collector).post("/api/household/events", body)
    assert answer.json() == {"stored": 1, "duplicate": 0, "dead_lettered": 1, "alarms": 0, "points": 0}
    regulator = parties.make_org(reg.zone, roles=("regulator",))
    letters = parties.api_client(regulator, ("read",)).get("/api/household/dead-letters")
    assert letters.status_code == 200
    (letter,) = letters.json()["items"]
    assert letter["field"] == "sig"  # changed after signing: the signature no longer matches
    assert letter["reason"].startswith(letter["field"] + ": ")
    assert json.loads(letter["payload"])["event"]["weight_kg"] == "-3"
    # Non-regulators are refused.
    assert parties.api_client(collector).get("/api/household/dead-letters").status_code == 403


def test_flows_by_day_and_a_street_regulator_sees_its_jurisdiction_only(reg: Registry, zone: Zone) -> None:
    other = make_registry(zone)  # a second street in the same zone
    for r in (reg, other):
        parties.api_client(parties.make_org(zone, roles=("carrier",))).post(
            "/api/household/events", _batch(r, range(1, 4), hours_ago=1)
        )
    day = (
        (NOW - timedelta(hours=1, minutes=2))
        .astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
        .date()
    )
    zone_regulator = parties.make_org(zone, roles=("regulator",))
    seen = (
        parties.api_client(zone_regulator, ("read",))
        .get("/api/household/flows", day=day.isoformat())
        .json()["items"]
    )
    assert {f["place"] for f in seen} == {f"station:{reg.stations[0].pk}", f"station:{other.stations[0].pk}"}
    assert {f["in_kg"] for f in seen} == {"3.750"}
    street_regulator = parties.make_org(zone, roles=("regulator",), area_id=reg.street.pk)
    mine = parties.api_client(street_regulator, ("read",)).get("/api/household/flows", day=day.isoformat())
    mine = mine.json()["items"]
    assert [f["place"] for f in mine] == [f"station:{reg.stations[0].pk}"]


def test_refusals(reg: Registry) -> None:
    regulator = parties.make_org(reg.zone, roles=("regulator",))
    assert Client().get("/api/household/flows?day=2026-12-01").status_code == 401
    assert Client().post("/api/household/events", {}, content_type="application/json").status_code == 401
    bad_day = parties.api_client(regulator).get("/api/household/flows", day="yesterday")
    assert bad_day.status_code == 422 and "day" in bad_day.content.decode()
    read_only = parties.api_client(regulator, ("read",)).post(
        "/api/household/events", _batch(reg, range(1, 2))
    )
    assert read_only.status_code == 403
    too_many = parties.api_client(regulator).post("/api/household/events", {"events": "x"})
    assert too_many.status_code == 422 and "events" in too_many.content.decode()
    assert HandoverEvent.objects.filter(zone=reg.zone).count() == 0


def test_lists_cost_the_same_queries_for_1_and_50_rows(reg: Registry) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    regulator = parties.api_client(parties.make_org(reg.zone, roles=("regulator",)), ("read",))
    uploader = parties.api_client(parties.make_org(reg.zone, roles=("carrier",)))
    day = (NOW - timedelta(minutes=30)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).date()

    def counts() -> tuple[int, int]:
        found = []
        for path, params in (
            ("/api/household/dead-letters", {}),
            ("/api/household/flows", {"day": day.isoformat()}),
        ):
            regulator.get(path, **params)  # warm caches (token, catalog)
            with CaptureQueriesContext(connection) as queries:
                assert regulator.get(path, **params).status_code == 200
            found.append(len(queries))
        return found[0], found[1]

    def upload(first: int, n: int) -> None:
        terminal = reg.station_devices[0]
        items = []
        for seq in range(first, first + n):
            e = event(terminal, seq, NOW - timedelta(minutes=30), weight="-1")  # dead letters
            items.append({"event": e, "sig": rules.sign(reg.key(terminal), e)})
            ok = event(
                terminal,
                10_000 + seq,
                NOW - timedelta(minutes=30),
                weight="1.000",
                household_class=("kitchen", "other", "recyclable.paper")[seq % 3],
            )
            items.append({"event": ok, "sig": rules.sign(reg.key(terminal), ok)})
        assert uploader.post("/api/household/events", {"events": items}).status_code == 200

    upload(1, 1)
    one = counts()
    for station, device in zip(reg.stations[1:], reg.station_devices[1:], strict=True):
        e = event(device, 1, NOW - timedelta(minutes=30), station=station.code)
        uploader.post(
            "/api/household/events", {"events": [{"event": e, "sig": rules.sign(reg.key(device), e)}]}
        )
    upload(2, 49)
    assert counts() == one


def test_non_regulators_may_not_read_flows(reg: Registry) -> None:
    producer = parties.api_client(parties.make_org(reg.zone, roles=("producer",)))
    assert producer.get("/api/household/flows", day="2026-12-01").status_code == 403
