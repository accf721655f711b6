"""Bench: household device events through a Mosquitto of its own into the database, against a bare paho
subscriber counting the same messages on the same broker in the same run (the broker's delivery floor),
with the alarm latency and, with `--fault`, a consumer killed and the broker restarted mid-run.

    DATABASE_URL=postgres://… .venv/bin/python bench/household_ingest.py [--events 200000] [--devices 200]
        [--consumers 2] [--batch 500] [--fault] [--probes 20]

The bench starts its own `mosquitto` on a free port of 127.0.0.1 with a bench configuration
(`max_queued_messages 0`, `max_inflight_messages 0`, `persistence true` to a temporary directory), so
it can restart it and so the stock broker's `max_queued_messages 1000` does not drop a backlog.

Traffic is `household.simulate`'s: `--devices` station terminals over a day, each station sized so the
terminals together send about `--events` events, with duplicates, reordering and malformed payloads.
Both legs publish the same messages at QoS 1. `rate` is stored events per second (first message
published → last event committed); `floor_rate` the bare subscriber's messages per second over the
same span; `ratio` = rate / floor_rate.

Alarm latency: while the traffic flows, every `--probe-every` seconds a station → vehicle hand-over is
published whose two sides differ by 10 kg (a weight mismatch); the latency is from the publish of its
second side to the alarm row existing (polled every 20 ms). Under a backlog that is the queue's delay;
`--probes` more are sent once the backlog is drained (the latency of a quiet platform).

`--fault`: at a third of the events consumer 0 dies like a killed process (no DISCONNECT, its
received but uncommitted batch not acknowledged) and comes back 2 s later with the same client id
(persistent session, QoS 1); at two thirds the broker is stopped (SIGTERM: it writes its persistence
file) and started again. `lost` = distinct valid events − EventSequence rows; `doubled` = event rows −
distinct (device, seq) among them.

On PostgreSQL the run uses a throwaway database (`<name>_bench_<pid>`), dropped at the end. Prints
one JSON line per step and a final one: {"name": "household-ingest", …}.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")
STALL_S = 60.0
PUBLISH_WINDOW = 50_000
EVENTS_PER_TERMINAL_DAY = 750  # simulate.generate's volume for a station of 400 households
PROBE_SEQ = 5 * 10**14  # outside the simulated (≈ 1.7e12) and malformed (1e15) sequence numbers


def step(**fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), flush=True)


# --- The bench's own broker ---------------------------------------------------------------------------


class Broker:
    """A Mosquitto on a free port, configured for a backlog and persistence, restartable."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="zw-mosquitto-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"user {getpass.getuser()}\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            "autosave_interval 30\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            "max_inflight_messages 0\n"
            "persistent_client_expiration 1d\n"
            f"log_dest file {self.dir}/mosquitto.log\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # writes mosquitto.db before it exits
            self.process.wait(30)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self, down_s: float = 1.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


# --- Publishing that survives a broker restart -------------------------------------------------------


def publish_all(messages: list[tuple[str, bytes]], host: str, port: int, timeout_s: float = 3600) -> int:
    """QoS 1, until the broker acknowledged every message; a dropped connection is resumed (paho
    resends what was not acknowledged)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"zw-bench-pub-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
    )
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        deadline = time.monotonic() + timeout_s
        infos = []
        for i, (topic, payload) in enumerate(messages):
            # MQTT packet ids are 16 bits: at most ~65,000 messages may await their PUBACK.
            if i >= PUBLISH_WINDOW:
                while not infos[i - PUBLISH_WINDOW].is_published() and time.monotonic() < deadline:
                    time.sleep(0.005)
            infos.append(client.publish(topic, payload, qos=1))
        while time.monotonic() < deadline and not all(i.is_published() for i in infos[-1000:]):
            time.sleep(0.05)
        while time.monotonic() < deadline and not all(i.is_published() for i in infos):
            time.sleep(0.2)
        return sum(1 for info in infos if info.is_published())
    finally:
        client.disconnect()
        client.loop_stop()


def bare_floor(messages: list[tuple[str, bytes]], prefix: str, host: str, port: int) -> tuple[float, int]:
    """Seconds for a plain QoS 1 subscriber to receive every message (publishing included)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

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
    publish_all(messages, host, port)
    last, last_change = -1, time.monotonic()
    while not done.wait(0.2):
        if got != last:
            last, last_change = got, time.monotonic()
        elif time.monotonic() - last_change > 20:
            break
    seconds = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    return seconds, got


# --- Alarm latency probes ----------------------------------------------------------------------------


class Prober:
    """Weight-mismatch hand-overs published one at a time; the time until their alarm row exists."""

    def __init__(self, reg: Any, prefix: str, host: str, port: int) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.reg, self.prefix = reg, prefix
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"zw-probe-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
        )
        self.client.connect(host, port)
        self.client.loop_start()
        self.n = 0
        self.failed = 0
        self.pending: dict[str, float] = {}  # alarm cause → publish time
        self.latencies: dict[str, list[float]] = {"load": [], "quiet": []}
        self.phase: dict[str, str] = {}

    def send(self, phase: str) -> None:
        from zerowaste.household import rules
        from zerowaste.household.testing import event

        reg = self.reg
        self.n += 1
        key = f"PROBE-{uuid.uuid4().hex[:8]}"
        when = datetime.now(UTC) - timedelta(minutes=5)
        giver = event(
            reg.station_devices[0],
            PROBE_SEQ + 2 * self.n,
            when,
            weight="100.000",
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_GIVER,
            handover=key,
            vehicle=reg.vehicle.plate,
        )
        receiver = event(
            reg.vehicle_device,
            PROBE_SEQ + 2 * self.n + 1,
            when + timedelta(minutes=1),
            weight="90.000",
            node=rules.NODE_STATION_VEHICLE,
            side=rules.SIDE_RECEIVER,
            handover=key,
            station=reg.stations[0].code,
        )
        try:
            for device, body in ((reg.station_devices[0], giver), (reg.vehicle_device, receiver)):
                topic, payload = reg.message(device, body, prefix=self.prefix)
                self.client.publish(topic, payload, qos=1).wait_for_publish(30)
        except (RuntimeError, ValueError):
            self.failed += 1  # the broker was down (fault run): not a latency sample
            return
        cause = f"weight_mismatch:{key}:kitchen"
        self.pending[cause] = time.monotonic()
        self.phase[cause] = phase

    def poll(self) -> None:
        from zerowaste.household.models import Alarm

        if not self.pending:
            return
        found = set(Alarm.objects.filter(cause__in=list(self.pending)).values_list("cause", flat=True))
        now = time.monotonic()
        for cause in found:
            self.latencies[self.phase[cause]].append(now - self.pending.pop(cause))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000),
        "p95_ms": round(p95 * 1000),
        "max_ms": round(ordered[-1] * 1000),
    }


# --- The consumed leg ----------------------------------------------------------------------------------


def consumed(
    messages: list[tuple[str, bytes]],
    valid: int,
    reg: Any,
    prefix: str,
    broker: Broker,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from django.db import connection

    from zerowaste.household.mqtt import Consumer

    zone_id = reg.zone.pk

    def make(client_id: str | None = None) -> Consumer:
        kwargs: dict[str, Any] = {"client_id": client_id} if client_id else {}
        return Consumer(
            zone_id=zone_id,
            prefix=prefix,
            host="127.0.0.1",
            port=broker.port,
            batch_size=args.batch,
            session_expiry_s=3600,
            **kwargs,
        )

    def run(c: Consumer) -> None:
        try:
            c.run()
        finally:
            connection.close()

    consumers = [make() for _ in range(args.consumers)]
    for c in consumers:
        c.start()
        c.wait_subscribed()
    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in consumers]
    for t in threads:
        t.start()

    expected = valid  # probes come on top and are counted apart
    prober = Prober(reg, prefix, "127.0.0.1", broker.port)
    started = time.monotonic()
    publisher = threading.Thread(target=publish_all, args=(messages, "127.0.0.1", broker.port), daemon=True)
    publisher.start()
    faults: list[str] = []
    last_probe = 0.0
    last, last_change = -1, time.monotonic()
    done_at = None
    while True:
        now = time.monotonic()
        if now - last_probe >= args.probe_every and done_at is None:
            threading.Thread(target=prober.send, args=("load",), daemon=True).start()
            last_probe = now
        prober.poll()
        count = _valid_stored(zone_id)
        if args.fault and "consumer" not in faults and count >= expected / 3:
            victim = consumers[0]
            victim.crash()
            faults.append("consumer")
            step(step="fault", what="consumer 0 killed", stored=count, at_s=round(now - started, 1))
            time.sleep(2)
            again = make(victim.client_id)
            again.start()
            consumers[0] = again
            t = threading.Thread(target=run, args=(again,), daemon=True)
            t.start()
            threads.append(t)
            step(step="fault", what="consumer 0 back (same client id)")
        if args.fault and "broker" not in faults and count >= 2 * expected / 3 and not publisher.is_alive():
            faults.append("broker")
            step(step="fault", what="broker restart", stored=count, at_s=round(now - started, 1))
            broker.restart()
            step(step="fault", what="broker back")
        if count >= expected and not publisher.is_alive():
            done_at = now
            break
        if count != last:
            last, last_change = count, now
        elif now - last_change > STALL_S and not publisher.is_alive():
            break
        time.sleep(0.3)
    seconds = (done_at or time.monotonic()) - started
    # Quiet: the backlog is drained; probes one at a time.
    deadline = time.monotonic() + 60
    while prober.pending and time.monotonic() < deadline:
        prober.poll()
        time.sleep(0.02)
    for _ in range(args.probes):
        prober.send("quiet")
        limit = time.monotonic() + 30
        while prober.pending and time.monotonic() < limit:
            prober.poll()
            time.sleep(0.02)
    prober.close()
    time.sleep(1)  # the consumers finish their batch
    for c in consumers:
        c.stop()
    for t in threads:
        t.join(30)
    for c in consumers:
        with contextlib.suppress(Exception):  # a crashed consumer's client is already closed
            c.close()
    return {
        "seconds": seconds,
        "faults": faults,
        "latency_load": summary(prober.latencies["load"]),
        "latency_quiet": summary(prober.latencies["quiet"]),
        "probes": prober.n,
        "probes_unsent": prober.failed,
        "probes_unanswered": len(prober.pending),
    }


def _valid_stored(zone_id: int) -> int:
    from zerowaste.household.models import EventSequence

    return EventSequence.objects.filter(zone_id=zone_id, seq__lt=PROBE_SEQ).count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--fault", action="store_true", help="kill a consumer and restart the broker")
    parser.add_argument("--probe-every", type=float, default=2.0, help="seconds between alarm probes")
    parser.add_argument("--probes", type=int, default=20, help="alarm probes once the backlog is drained")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare subscriber leg")
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
    from django.db import connection

    broker = Broker()
    broker.start()
    try:
        call_command("migrate", verbosity=0)
        from zerowaste.household import simulate
        from zerowaste.household.models import HandoverEvent
        from zerowaste.household.testing import make_registry
        from zerowaste.testing import parties

        zone = parties.make_zone(f"bench{os.getpid()}")
        reg = make_registry(zone, stations=args.devices)
        per_device = args.events / args.devices
        households = max(1, round(400 * per_device / EVENTS_PER_TERMINAL_DAY))
        prefix = f"zwbench/{uuid.uuid4().hex[:10]}"
        t0 = time.monotonic()
        traffic = simulate.generate(
            reg.sim_devices(),
            hours=24,
            prefix=prefix,
            start=datetime.now(UTC) - timedelta(hours=25),
            seed=1,
            households_per_station=households,
        )
        step(
            step="generated",
            messages=len(traffic.messages),
            valid=traffic.valid,
            seconds=round(time.monotonic() - t0, 1),
        )
        floor_s, bare_got = 0.0, 0
        if not args.no_floor:
            bare = [(prefix + "-bare" + topic[len(prefix) :], payload) for topic, payload in traffic.messages]
            floor_s, bare_got = bare_floor(bare, prefix + "-bare", "127.0.0.1", broker.port)
            del bare
            step(step="floor", seconds=round(floor_s, 1), received=bare_got)
        run = consumed(traffic.messages, traffic.valid, reg, prefix, broker, args)
        valid_stored = _valid_stored(zone.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT (device_id, seq)) FROM household_handoverevent "
                "WHERE zone_id = %s",
                [zone.pk],
            )
            rows, distinct = cursor.fetchone()
        events = HandoverEvent.objects.filter(zone=zone, seq__lt=PROBE_SEQ).count()
        rate = traffic.valid / run["seconds"]
        floor_rate = len(traffic.messages) / floor_s if floor_s else None
        step(
            name="household-ingest",
            n=traffic.valid,
            messages=len(traffic.messages),
            devices=args.devices,
            consumers=args.consumers,
            batch=args.batch,
            database="postgresql" if admin else "sqlite",
            seconds=round(run["seconds"], 1),
            rate=round(rate, 1),
            floor_seconds=round(floor_s, 1),
            floor_rate=round(floor_rate, 1) if floor_rate else None,
            ratio=round(rate / floor_rate, 3) if floor_rate else None,
            bare_received=bare_got,
            faults=run["faults"],
            lost=traffic.valid - valid_stored,
            doubled=rows - distinct,
            event_rows=events,
            ledger_rows=valid_stored,
            alarm_latency_under_load=run["latency_load"],
            alarm_latency_quiet=run["latency_quiet"],
            probes=run["probes"],
            probes_unsent=run["probes_unsent"],
            probes_unanswered=run["probes_unanswered"],
            kg=str(sum(traffic.kg_by_class.values(), Decimal(0))),
            load=[round(x, 2) for x in os.getloadavg()],
        )
    finally:
        broker.remove()
        if admin:
            from django.db import connections

            connections.close_all()
            from throwaway import drop_database

            drop_database(admin, url)


if __name__ == "__main__":
    main()
