"""Bench: household device events through Mosquitto into the database, against a bare paho subscriber
counting the same messages on the same broker in the same run (the broker's delivery floor).

    DATABASE_URL=postgres://… .venv/bin/python bench/household_ingest.py [--events 100000] [--consumers 1]
                                                                          [--batch 500] [--host 127.0.0.1]

Traffic is `household.simulate`'s: station terminals over a day (≈ 750 events per terminal), with its
duplicates, reordering and malformed payloads. Both legs publish the same messages from one publisher
at QoS 1. `rate` is stored events per second (first message published → last event committed);
`floor_rate` the bare subscriber's messages per second over the same span; `ratio` = rate / floor_rate
(issue 17 asks ≥ 0.5). `lost` and `doubled` compare the stored events with the distinct valid ones.
On PostgreSQL the run uses a throwaway database (`<name>_bench_<pid>`), dropped at the end.

Prints one JSON line: {"name", "n", "seconds", "rate", "floor_rate", "ratio", "lost", "doubled", ...}.
Not yet: alarm latency (no alarms in slice 1) and a Mosquitto restart mid-run. With Mosquitto's default
`max_queued_messages 1000`, a burst beyond ~1,000 waiting messages is dropped by the broker for the
ack-after-commit consumer (reported as `lost`; ADR 0054): configure the broker before measuring.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")
STALL_S = 20.0
counts: dict[str, int] = {}


def bare_floor(messages: list[tuple[str, bytes]], prefix: str, host: str, port: int) -> float:
    """Seconds for a plain QoS 1 subscriber to receive every message (publishing included)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from zerowaste.household import simulate

    got = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(*_args: object) -> None:
        nonlocal got
        got += 1
        if got >= len(messages):
            done.set()

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"zw-bare-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(host, port)
    client.loop_start()
    client.subscribe(f"{prefix}/+/events", qos=1)
    subscribed.wait(10)
    started = time.monotonic()
    simulate.publish(messages, host=host, port=port, timeout_s=3600)
    last, last_change = -1, time.monotonic()
    while not done.wait(0.2):  # a broker that dropped messages never completes: stop after 20 s idle
        if got != last:
            last, last_change = got, time.monotonic()
        elif time.monotonic() - last_change > STALL_S:
            break
    seconds = time.monotonic() - started
    counts["bare_received"] = got
    client.disconnect()
    client.loop_stop()
    return seconds


def consumed(
    messages: list[tuple[str, bytes]], valid: int, zone_id: int, prefix: str, args: argparse.Namespace
) -> float:
    """Seconds from the first publish until every valid event is committed, with `args.consumers`
    consumers of the shared subscription (threads of this process)."""
    from django.db import connection

    from zerowaste.household import simulate
    from zerowaste.household.mqtt import Consumer

    consumers = [
        Consumer(
            zone_id=zone_id,
            prefix=prefix,
            host=args.host,
            port=args.port,
            batch_size=args.batch,
            session_expiry_s=300,
        )
        for _ in range(args.consumers)
    ]
    for c in consumers:
        c.start()
        c.wait_subscribed()

    def run(c: Consumer) -> None:
        try:
            c.run()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in consumers]
    for t in threads:
        t.start()
    started = time.monotonic()
    simulate.publish(messages, host=args.host, port=args.port, timeout_s=3600)
    last, last_change = -1, time.monotonic()
    while (stored := sum(c.stats.stored for c in consumers)) < valid:
        if stored != last:
            last, last_change = stored, time.monotonic()
        elif time.monotonic() - last_change > STALL_S:
            break  # messages the broker dropped never come: report them as lost
        time.sleep(0.05)
    seconds = time.monotonic() - started
    for c in consumers:
        c.stop()
    for t in threads:
        t.join(30)
    for c in consumers:
        c.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--host", default=os.environ.get("MQTT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MQTT_PORT", "1883")))
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    admin = None
    if url.startswith("postgres"):
        from throwaway import create_database

        url, admin = create_database(url)
        os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        from zerowaste.household import simulate
        from zerowaste.household.models import HandoverEvent
        from zerowaste.household.testing import make_registry
        from zerowaste.testing import parties

        zone = parties.make_zone(f"bench{os.getpid()}")
        terminals = max(1, round(args.events / 750))
        reg = make_registry(zone, stations=terminals)
        prefix = f"zwbench/{uuid.uuid4().hex[:10]}"
        traffic = simulate.generate(
            reg.sim_devices(), hours=24, prefix=prefix, start=datetime.now(UTC) - timedelta(hours=25), seed=1
        )
        bare = [(prefix + "-bare" + topic[len(prefix) :], payload) for topic, payload in traffic.messages]
        floor_s = bare_floor(bare, prefix + "-bare", args.host, args.port)
        seconds = consumed(traffic.messages, traffic.valid, zone.pk, prefix, args)
        stored = HandoverEvent.objects.filter(zone=zone).count()
        rate = traffic.valid / seconds
        floor_rate = len(traffic.messages) / floor_s
        print(
            json.dumps(
                {
                    "name": "household-ingest",
                    "n": traffic.valid,
                    "messages": len(traffic.messages),
                    "devices": terminals,
                    "consumers": args.consumers,
                    "database": "postgresql" if admin else "sqlite",
                    "seconds": round(seconds, 2),
                    "rate": round(rate, 1),
                    "floor_seconds": round(floor_s, 2),
                    "floor_rate": round(floor_rate, 1),
                    "ratio": round(rate / floor_rate, 3),
                    "bare_received": counts.get("bare_received"),
                    "bare_lost": len(traffic.messages) - counts.get("bare_received", 0),
                    "lost": max(0, traffic.valid - stored),
                    "doubled": max(0, stored - traffic.valid),
                }
            )
        )
    finally:
        if admin:
            from django.db import connections

            connections.close_all()
            from throwaway import drop_database

            drop_database(admin, url)


if __name__ == "__main__":
    main()
