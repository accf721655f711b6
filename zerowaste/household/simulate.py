"""Realistic device traffic for tests, the bench and demonstrations: N station terminals for H hours.

Each terminal serves a station of `households_per_station` households (a staffed 驿站 serves 300-500,
seed:4834) of 2.5 residents; residents produce 1.25 kg per person per day in aggregate (indicator 6,
the zone's figure), of which `kitchen_share` is kitchen waste and the rest other waste, dropped as bags
in the day's waking hours. Some messages are sent twice, delivery order is shuffled in small windows,
and a few payloads are malformed — each kind of fault the ingest must dead-letter.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from . import rules
from .mqtt import events_topic

PER_CAPITA_KG_PER_DAY = Decimal("1.25")
RESIDENTS_PER_HOUSEHOLD = Decimal("2.5")
WAKING_HOURS = range(6, 23)  # local hours in which bags are dropped


def signed_message(key: bytes, event: dict[str, Any]) -> bytes:
    """The bytes a device publishes: its event and the event's HMAC."""
    return json.dumps({"event": event, "sig": rules.sign(key, event)}, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class SimDevice:
    code: str
    key: bytes
    station: str  # the station's code


@dataclass
class Traffic:
    """What was generated: messages in delivery order, and what a correct ingest must make of them."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)
    valid: int = 0  # distinct valid events
    duplicates: int = 0  # extra copies of valid events
    malformed: int = 0
    kg_by_class: dict[str, Decimal] = field(default_factory=dict)


def generate(
    devices: Sequence[SimDevice],
    *,
    hours: float,
    prefix: str,
    start: datetime,
    seed: int = 1,
    households_per_station: int = 400,
    kitchen_share: Decimal = Decimal("0.30"),
    duplicate_rate: float = 0.01,
    malformed_rate: float = 0.002,
    reorder_window: int = 20,
    seq_start: int | None = None,
    local_offset: timedelta = timedelta(hours=8),
) -> Traffic:
    rnd = random.Random(seed)
    traffic = Traffic()
    daily_kg = households_per_station * RESIDENTS_PER_HOUSEHOLD * PER_CAPITA_KG_PER_DAY
    per_waking_hour = daily_kg / len(WAKING_HOURS)
    first_seq = seq_start if seq_start is not None else int(start.timestamp()) * 1000
    generated: list[tuple[datetime, str, bytes]] = []
    for device in devices:
        seq = first_seq
        moment = start
        end = start + timedelta(hours=hours)
        while moment < end:
            hour_end = min(moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), end)
            local_hour = (moment + local_offset).hour
            if local_hour in WAKING_HOURS:
                span = Decimal((hour_end - moment).total_seconds()) / 3600
                for household_class, share in (("kitchen", kitchen_share), ("other", 1 - kitchen_share)):
                    target = per_waking_hour * share * span
                    produced = Decimal(0)
                    while produced < target:
                        # Bags of 0.3-3 kg, weighed to 5 g; the last one of the hour tops up the target.
                        weight = min(Decimal(rnd.randint(60, 600)) * Decimal("0.005"), target - produced)
                        weight = max(weight.quantize(Decimal("0.005")), Decimal("0.005"))
                        produced += weight
                        at = moment + (hour_end - moment) * rnd.random()
                        event = {
                            "device": device.code,
                            "seq": seq,
                            "occurred_at": at.isoformat(),
                            "node": rules.NODE_SOURCE_STATION,
                            "side": rules.SIDE_RECEIVER,
                            "handover": f"{device.code}-{seq}",
                            "class": household_class,
                            "weight_kg": str(weight),
                            "station": device.station,
                        }
                        if household_class == "kitchen":
                            event["quality_grade"] = rnd.choice("AAAAB")
                        seq += 1
                        traffic.valid += 1
                        traffic.kg_by_class[household_class] = (
                            traffic.kg_by_class.get(household_class, Decimal(0)) + weight
                        )
                        generated.append(
                            (at, events_topic(prefix, device.code), signed_message(device.key, event))
                        )
            moment = hour_end
    generated.sort(key=lambda g: g[0])
    messages = [(topic, payload) for _at, topic, payload in generated]
    # Duplicates: a device that missed a PUBACK sends again, a little later.
    for index in range(len(messages)):
        if rnd.random() < duplicate_rate:
            messages.insert(min(len(messages), index + rnd.randint(1, 50)), messages[index])
            traffic.duplicates += 1
    # Reordering: parallel connections and retries deliver neighbours out of order.
    for start_index in range(0, len(messages), reorder_window):
        window = messages[start_index : start_index + reorder_window]
        rnd.shuffle(window)
        messages[start_index : start_index + reorder_window] = window
    for bad in malformed_messages(devices, prefix, start, count=max(1, int(len(messages) * malformed_rate))):
        messages.insert(rnd.randint(0, len(messages)), bad)
        traffic.malformed += 1
    traffic.messages = messages
    return traffic


def malformed_messages(
    devices: Sequence[SimDevice], prefix: str, start: datetime, count: int
) -> Iterable[tuple[str, bytes]]:
    """One of each fault in turn: negative weight, unknown class, bad signature, invalid JSON,
    unknown device, a clock far ahead."""
    device = devices[0]
    topic = events_topic(prefix, device.code)
    base = {
        "device": device.code,
        "node": rules.NODE_SOURCE_STATION,
        "side": rules.SIDE_RECEIVER,
        "class": "kitchen",
        "weight_kg": "1.000",
        "station": device.station,
        "occurred_at": start.isoformat(),
    }
    for i in range(count):
        seq = 10**15 + i  # outside the valid events' numbers
        event = {**base, "seq": seq, "handover": f"bad-{i}"}
        fault = i % 6
        if fault == 0:
            yield topic, signed_message(device.key, {**event, "weight_kg": "-2.5"})
        elif fault == 1:
            yield topic, signed_message(device.key, {**event, "class": "plutonium"})
        elif fault == 2:
            yield topic, json.dumps({"event": event, "sig": "00" * 32}).encode()
        elif fault == 3:
            yield topic, b'{"event": {"device": "' + device.code.encode() + b'", "seq": '
        elif fault == 4:
            ghost = {**event, "device": "ghost-device"}
            yield events_topic(prefix, "ghost-device"), signed_message(device.key, ghost)
        else:
            ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
            yield topic, signed_message(device.key, {**event, "occurred_at": ahead})


def publish(
    messages: Sequence[tuple[str, bytes]],
    *,
    host: str = "127.0.0.1",
    port: int = 1883,
    timeout_s: float = 120,
) -> int:
    """Publish at QoS 1 and wait until the broker has acknowledged every message; returns the count."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"zw-sim-{random.getrandbits(40):x}", protocol=paho.MQTTv5
    )
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        deadline = time.monotonic() + timeout_s
        for info in infos:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
        return sum(1 for info in infos if info.is_published())
    finally:
        client.disconnect()
        client.loop_stop()
