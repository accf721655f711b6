"""The ingest on the real database (PostgreSQL or SQLite): idempotency, order-independence, every
dead-letter reason, and roll-ups equal to a recount of the raw events."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from zerowaste.core.models import Zone
from zerowaste.household import ingest, rules, simulate
from zerowaste.household.models import DailyFlow, DeadLetter, EventSequence, HandoverEvent
from zerowaste.household.testing import Registry, event, make_registry

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _messages(reg: Registry, events: list[dict[str, Any]]) -> list[ingest.Message]:
    devices = {d.code: d for d in [*reg.station_devices, reg.vehicle_device, reg.plant_device]}
    return [ingest.Message(*reg.message(devices[e["device"]], e)) for e in events]


def _state(zone_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    events = sorted(
        HandoverEvent.objects.filter(zone_id=zone_id).values_list(
            "device_id",
            "seq",
            "occurred_at",
            "day",
            "node",
            "side",
            "handover_key",
            "household_class",
            "weight_kg",
            "station_id",
            "vehicle_id",
            "site_id",
            "bin_id",
        )
    )
    flows = sorted(
        DailyFlow.objects.filter(zone_id=zone_id).values_list(
            "day", "node", "place", "household_class", "in_kg", "out_kg", "events", "area_id"
        )
    )
    return events, flows


def _traffic(reg: Registry) -> list[dict[str, Any]]:
    """A day of hand-overs at every node: households at the stations, the vehicle, the plant."""
    t0 = NOW - timedelta(hours=20)
    out = []
    for i, terminal in enumerate(reg.station_devices):
        for seq in range(1, 31):
            out.append(
                event(
                    terminal,
                    seq,
                    t0 + timedelta(minutes=seq * 7 + i),
                    weight=f"{seq % 7 + 1}.{seq:03d}",
                    household_class="kitchen" if seq % 3 else "other",
                )
            )
    for seq, station in enumerate(reg.stations, start=1):
        out.append(
            event(
                reg.vehicle_device,
                seq,
                t0 + timedelta(hours=10, minutes=seq),
                weight="60.500",
                node=rules.NODE_STATION_VEHICLE,
                side=rules.SIDE_RECEIVER,
                station=station.code,
            )
        )
    out.append(
        event(
            reg.plant_device,
            1,
            t0 + timedelta(hours=12),
            weight="121.000",
            node=rules.NODE_VEHICLE_SITE,
            side=rules.SIDE_RECEIVER,
            vehicle=reg.vehicle.plate,
        )
    )
    return out


def test_batch_is_stored_with_counts_and_duplicates_never_twice(reg: Registry) -> None:
    events = _traffic(reg)
    messages = _messages(reg, events)
    first = ingest.ingest_batch(reg.zone.pk, messages)
    assert first.as_dict() == {
        "stored": len(events),
        "duplicate": 0,
        "dead_lettered": 0,
        "alarms": 0,
        "points": 0,
    }
    state = _state(reg.zone.pk)
    again = ingest.ingest_batch(reg.zone.pk, messages + messages[:5])
    assert again.as_dict() == {
        "stored": 0,
        "duplicate": len(events) + 5,
        "dead_lettered": 0,
        "alarms": 0,
        "points": 0,
    }
    assert _state(reg.zone.pk) == state
    assert HandoverEvent.objects.filter(zone=reg.zone).count() == len(events)
    assert EventSequence.objects.filter(zone=reg.zone).count() == len(events)


def test_reordered_and_offline_buffer_give_the_same_state(reg: Registry, other_zone: Zone) -> None:
    """Zone A gets the traffic in order in one batch; zone B (same registry shape) shuffled, in small
    batches, one device's buffer arriving last (hours later) with copies of already-sent events."""
    events = _traffic(reg)
    ingest.ingest_batch(reg.zone.pk, _messages(reg, events))
    expected = _state(reg.zone.pk)

    reg_b = make_registry(other_zone)
    rename = {
        d.code: b.code
        for d, b in zip(
            [*reg.station_devices, reg.vehicle_device, reg.plant_device],
            [*reg_b.station_devices, reg_b.vehicle_device, reg_b.plant_device],
            strict=True,
        )
    }
    stations = {a.code: b.code for a, b in zip(reg.stations, reg_b.stations, strict=True)}
    events_b = [
        {
            **e,
            "device": rename[e["device"]],
            "handover": e["handover"],
            **({"station": stations[e["station"]]} if "station" in e else {}),
            **({"vehicle": reg_b.vehicle.plate} if "vehicle" in e else {}),
        }
        for e in events
    ]
    offline = [e for e in events_b if e["device"] == reg_b.station_devices[1].code]
    online = [e for e in events_b if e["device"] != reg_b.station_devices[1].code]
    random.Random(5).shuffle(online)
    for start in range(0, len(online), 7):
        ingest.ingest_batch(reg_b.zone.pk, _messages(reg_b, online[start : start + 7]))
    ingest.ingest_batch(reg_b.zone.pk, _messages(reg_b, offline[:10]))  # what got through before the outage
    result = ingest.ingest_batch(  # the buffer, uploaded later, repeats those 10
        reg_b.zone.pk, _messages(reg_b, list(reversed(offline))), now=NOW + timedelta(hours=6)
    )
    assert result.as_dict() == {
        "stored": len(offline) - 10,
        "duplicate": 10,
        "dead_lettered": 0,
        "alarms": 0,
        "points": 0,
    }

    def comparable(state: Any, registry: Registry) -> Any:
        ids = {
            d.pk: i
            for i, d in enumerate([*registry.station_devices, registry.vehicle_device, registry.plant_device])
        }
        events_, flows_ = state
        return (
            sorted((ids[e[0]], *e[1:9]) for e in events_),
            [(f[0], f[1], f[3], f[4], f[5], f[6]) for f in flows_],
        )

    assert comparable(_state(reg_b.zone.pk), reg_b)[0] == comparable(expected, reg)[0]
    assert sorted(comparable(_state(reg_b.zone.pk), reg_b)[1]) == sorted(comparable(expected, reg)[1])


def test_roll_ups_equal_a_recount_of_the_raw_events(reg: Registry) -> None:
    traffic = simulate.generate(
        reg.sim_devices(), hours=6, prefix="zw/test", start=NOW - timedelta(hours=7), seed=3
    )
    messages = [ingest.Message(t, p) for t, p in traffic.messages]
    for start in range(0, len(messages), 97):
        ingest.ingest_batch(reg.zone.pk, messages[start : start + 97])
    assert HandoverEvent.objects.filter(zone=reg.zone).count() == traffic.valid
    assert DeadLetter.objects.filter(zone=reg.zone).count() == traffic.malformed
    recount: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for e in HandoverEvent.objects.filter(zone=reg.zone):
        place = f"station:{e.station_id}"
        row = recount[(e.day, e.node, place, e.household_class)]
        row[0 if e.side == "receiver" else 1] += Decimal(e.weight_kg)
        row[2] += 1
    flows: dict[tuple[Any, ...], list[Any]] = {
        (f.day, f.node, f.place, f.household_class): [Decimal(f.in_kg), Decimal(f.out_kg), f.events]
        for f in DailyFlow.objects.filter(zone=reg.zone)
    }
    assert flows == dict(recount)
    total = sum((v[0] for v in flows.values()), Decimal(0))
    assert total == sum(traffic.kg_by_class.values())  # to the gram


def _dead(reg: Registry, raw: bytes | str, topic: str | None = None) -> DeadLetter:
    topic = topic or f"zw/test/{reg.station_devices[0].code}/events"
    result = ingest.ingest_batch(reg.zone.pk, [ingest.Message(topic, raw)])
    assert result.as_dict() == {"stored": 0, "duplicate": 0, "dead_lettered": 1, "alarms": 0, "points": 0}
    letter = DeadLetter.objects.filter(zone=reg.zone).order_by("-pk").first()
    assert letter is not None and letter.payload == (
        raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    )
    return letter


def test_every_dead_letter_reason_names_its_field(reg: Registry) -> None:
    terminal = reg.station_devices[0]
    at = NOW - timedelta(minutes=5)
    good = event(terminal, 1, at)
    _topic, signed = reg.message(terminal, good)

    def letter(e: dict[str, Any], key: bytes | None = None, topic: str | None = None) -> tuple[str, str]:
        raw = simulate.signed_message(key or reg.key(terminal), e)
        d = _dead(reg, raw, topic)
        return d.field, d.rule

    assert letter({**good, "device": "ghost"}, topic="zw/test/ghost/events") == ("device", "unknown_device")
    assert letter({**good, "bin": "NOCHIP"}) == ("bin", "unknown_bin")
    assert letter({**good, "weight_kg": "-1"}) == ("weight_kg", "weight_positive")
    assert letter({**good, "weight_kg": "900"}) == ("weight_kg", "weight_absurd")
    assert letter({**good, "occurred_at": (NOW + timedelta(hours=1)).isoformat()}) == ("occurred_at", "ahead")
    assert letter({**good, "class": "plutonium"}) == ("class", "unknown_class")
    assert letter(good, key=b"k" * 32) == ("sig", "signature")
    assert letter(good, topic="zw/test/T-other/events") == ("device", "topic_device")
    assert letter({**good, "station": "NOSTATION"}) == ("station", "unknown_station")
    vehicle_event = event(terminal, 2, at, node=rules.NODE_STATION_VEHICLE, weight="10")
    assert letter(vehicle_event) == ("vehicle", "place_missing")
    d = _dead(reg, b'{"event": {"device": "T')
    assert (d.field, d.rule) == ("payload", "json")
    assert d.reason.startswith("payload: ")
    # A dead letter never blocks the good messages of its batch.
    result = ingest.ingest_batch(
        reg.zone.pk,
        [
            ingest.Message("zw/test/x/events", b"nonsense"),
            ingest.Message(f"zw/test/{terminal.code}/events", signed),
        ],
    )
    assert result.as_dict() == {"stored": 1, "duplicate": 0, "dead_lettered": 1, "alarms": 0, "points": 0}
    assert json.loads(signed)["event"]["seq"] == 1


def test_unsigned_copy_of_a_stored_event_cannot_replace_it(reg: Registry) -> None:
    terminal = reg.station_devices[0]
    good = event(terminal, 9, NOW - timedelta(minutes=1), weight="2.000")
    ingest.ingest_batch(reg.zone.pk, [ingest.Message(*reg.message(terminal, good))])
    forged = json.dumps({"event": {**good, "weight_kg": "200.000"}, "sig": "ab" * 32})
    assert ingest.ingest_batch(reg.zone.pk, [ingest.Message("t", forged)]).dead_lettered == 1
    assert [
        str(w) for w in HandoverEvent.objects.filter(zone=reg.zone).values_list("weight_kg", flat=True)
    ] == ["2.000"]


def test_postgresql_partitions_by_month(reg: Registry, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("partitioning is PostgreSQL's")
    from django.db import connection

    terminal = reg.station_devices[0]
    old = NOW - timedelta(days=33)  # last month's partition, made on demand
    ingest.ingest_batch(
        reg.zone.pk,
        [
            ingest.Message(*reg.message(terminal, event(terminal, 1, old))),
            ingest.Message(*reg.message(terminal, event(terminal, 2, NOW))),
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'household_handoverevent'"
        )
        partitions = {r[0] for r in cursor.fetchall()}
        cursor.execute(
            "SELECT tableoid::regclass::text FROM household_handoverevent WHERE zone_id = %s ORDER BY seq",
            [reg.zone.pk],
        )
        holders = [r[0] for r in cursor.fetchall()]
    assert f"household_handoverevent_y{old:%Y}m{old:%m}" in partitions
    assert holders == [
        f"household_handoverevent_y{old:%Y}m{old:%m}",
        f"household_handoverevent_y{NOW:%Y}m{NOW:%m}",
    ]


def test_a_redelivered_malformed_message_is_one_dead_letter(reg: Registry) -> None:
    """At-least-once delivery brings a refused message again after its batch committed: one letter."""
    topic = f"zw/test/{reg.station_devices[0].code}/events"
    for _ in range(3):
        ingest.ingest_batch(reg.zone.pk, [ingest.Message(topic, b"{not json")])
    assert DeadLetter.objects.filter(zone=reg.zone).count() == 1
    ingest.ingest_batch(reg.zone.pk, [ingest.Message(topic, b"{not json either")])
    assert DeadLetter.objects.filter(zone=reg.zone).count() == 2
