"""Bench: household device events through a Mosquitto of its own into the database, against a bare paho
subscriber counting the same messages on the same broker in the same run (the broker's delivery floor),
with the alarm latency and, with `--fault`, a consumer killed and the broker restarted mid-run.

    DATABASE_URL=postgres://… .venv/bin/python bench/household_ingest.py [--events 200000] [--devices 200]
        [--consumers 2] [--batch 2000] [--fault] [--probes 20]

The bench starts its own `mosquitto` on a free port of 127.0.0.1 with a bench configuration
(`max_queued_messages 0`, `max_inflight_messages 0`, `persistence true` to a temporary directory), so
it can restart it and so the stock broker's `max_queued_messages 1000` does not drop a backlog.

Traffic is `household.simulate`'s: `--devices` station terminals over a day, each station sized so the
terminals together send about `--events` events, with duplicates, reordering and malformed payloads.
Both legs publish the same messages at QoS 1. `rate` is stored events per second (first message
published → last event committed); `floor_rate` the bare subscriber's messages per second over the
same span; `ratio` = rate / floor_rate.

The `--consumers` are processes of their own (this script with `--child`, each a
`household.mqtt.Consumer` in the shared subscription, as `zerowaste household ingest` processes would
be): in threads of the bench they shared one interpreter lock with the publisher and the bare leg's
paho, which capped them below half the floor. Batches of `--batch` messages (2,000: the consumer's
default since the bench's profile, see docs/benchmarks.md).

Alarm latency: while the traffic flows, every `--probe-every` seconds a station → vehicle hand-over is
published whose two sides differ by 10 kg (a weight mismatch); the latency is from the publish of its
second side to the alarm row existing (polled every 20 ms). Under a backlog that is the queue's delay;
`--probes` more are sent once the backlog is drained (the latency of a quiet platform).

`--fault`, both while the publisher is still publishing: at a third of the events stored consumer 0 is
killed (SIGKILL: no DISCONNECT, its received but uncommitted batch not acknowledged) and a new process
comes back 2 s later with the same client id (persistent session, QoS 1); when two thirds of the
messages are acknowledged by the broker, the broker is stopped (SIGTERM: it writes its persistence
file) and started again. The publisher (clean_start False, a session expiry) and the consumers
reconnect by themselves; paho resends every message whose PUBACK it had not received, so the broker
gets many twice (`duplicates_seen`: what the consumers alive at the end counted as duplicates).
`lost` = distinct valid events − EventSequence rows; `doubled` = event rows − distinct (device, seq)
among them.

Measured (docs/benchmarks.md, 2 cores, PostgreSQL 127.0.0.1):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zw_bench .venv/bin/python bench/household_ingest.py
        --events 1000000 --fault                   (commit 74a6537, nothing else on the machine)
    {"n": 1021270, "seconds": 605.5, "rate": 1686.7, "floor_rate": 3081.5, "ratio": 0.547, "faults":
     ["consumer", "broker"], "lost": 0, "doubled": 0, "quiet": {"p50_ms": 144, "p95_ms": 174}, …}
    … --events 1000000 --fault --consumers 3   (commit 67f7fde, 2 cores shared with test runs)
    {"n": 1021322, "seconds": 2317.0, "rate": 440.8, "floor_rate": 1599.2, "ratio": 0.276, …}

The goal (at least half the bare rate, 0 lost, 0 doubled with a consumer killed and the broker
restarted mid-run) holds at a million on an unshared machine; on cores shared with test runs at load
11-18 the consumed leg is starved and the ratio is not a measure of the ingest.

On PostgreSQL the run uses a throwaway database (`<name>_bench_<pid>`), dropped at the end. Prints
one JSON line per step and a final one: {"name": "household-ingest", …}.
"""

from __future__ import annotations

import argparse
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


def publish_all(
    messages: list[tuple[str, bytes]],
    host: str,
    port: int,
    timeout_s: float = 7200,
    progress: dict[str, int] | None = None,
) -> int:
    """QoS 1, until the broker acknowledged every message. A persistent session (clean_start False, a
    session expiry): when the broker goes away mid-publish, paho reconnects by itself and resends every
    message not yet acknowledged (DUP); `publish` keeps queueing meanwhile. `progress["sent"]` counts
    the messages handed to paho, `progress["acked"]` the broker's PUBACKs (the fault run restarts the
    broker when two thirds are acknowledged)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"zw-bench-pub-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
    )
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    client.connect(host, port, keepalive=30, clean_start=False, properties=properties)
    client.loop_start()
    progress = progress if progress is not None else {}
    progress["acked"] = 0

    def on_publish(*_args: object) -> None:
        progress["acked"] += 1  # PUBACKs received (a resend after a reconnect may count twice)

    client.on_publish = on_publish
    try:
        deadline = time.monotonic() + timeout_s
        infos: list[Any] = []
        for i, (topic, payload) in enumerate(messages):
            progress["sent"] = i
            # MQTT packet ids are 16 bits: at most ~65,000 messages may await their PUBACK.
            if i >= PUBLISH_WINDOW:
                while not infos[i - PUBLISH_WINDOW].is_published() and time.monotonic() < deadline:
                    time.sleep(0.005)
            info = client.publish(topic, payload, qos=1)
            if info.rc == paho.MQTT_ERR_NO_CONN:
                # The broker is down: paho keeps the message and sends it once reconnected.
                info.rc = paho.MQTT_ERR_SUCCESS
            infos.append(info)
        while time.monotonic() < deadline and not all(i.is_published() for i in infos[-1000:]):
            time.sleep(0.05)
        while time.monotonic() < deadline and not all(i.is_published() for i in infos):
            time.sleep(0.2)
        progress["sent"] = len(messages)
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


class ConsumerProcess:
    """One consumer of the shared subscription as a process of its own (`--child`): its Python work
    runs beside the publisher's instead of under one interpreter lock, as `zerowaste household
    ingest` processes would. `kill()` is SIGKILL: no DISCONNECT, nothing unacknowledged acknowledged."""

    def __init__(
        self, zone_id: int, prefix: str, port: int, batch: int, client_id: str | None = None
    ) -> None:
        self.client_id = client_id or f"zw-ingest-{uuid.uuid4().hex[:12]}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                f"{zone_id},{prefix},{port},{batch},{self.client_id}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = self.process.stdout.readline() if self.process.stdout else ""
        if "subscribed" not in ready:
            raise RuntimeError(f"consumer {self.client_id} did not subscribe: {ready!r}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(30)

    def stop(self) -> dict[str, Any]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _err = self.process.communicate(timeout=60)
        lines = [line for line in (out or "").splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


def child(spec: str) -> None:
    """A consumer process: consume until SIGTERM, then print its counters."""
    import django

    django.setup()
    from zerowaste.household.mqtt import Consumer

    zone_id, prefix, port, batch, client_id = spec.split(",")
    consumer = Consumer(
        zone_id=int(zone_id),
        prefix=prefix,
        host="127.0.0.1",
        port=int(port),
        batch_size=int(batch),
        session_expiry_s=3600,
        client_id=client_id,
    )
    signal.signal(signal.SIGTERM, lambda *_a: consumer.stop())
    parent = os.getppid()

    def orphaned() -> None:  # the bench died without stopping its consumers: stop too
        while not consumer._stopping.wait(2):
            if os.getppid() != parent:
                consumer.stop()

    threading.Thread(target=orphaned, daemon=True).start()
    consumer._client.reconnect_delay_set(min_delay=1, max_delay=2)
    consumer.start()
    if not consumer.wait_subscribed(30):
        print("not subscribed", flush=True)
        return
    print("subscribed", flush=True)
    stats = consumer.run()
    consumer.close()
    print(json.dumps(vars(stats)), flush=True)


def consumed(
    messages: list[tuple[str, bytes]],
    valid: int,
    reg: Any,
    prefix: str,
    broker: Broker,
    args: argparse.Namespace,
) -> dict[str, Any]:
    zone_id = reg.zone.pk

    def make(client_id: str | None = None) -> ConsumerProcess:
        return ConsumerProcess(zone_id, prefix, broker.port, args.batch, client_id)

    consumers = [make() for _ in range(args.consumers)]
    expected = valid  # probes come on top and are counted apart
    prober = Prober(reg, prefix, "127.0.0.1", broker.port)
    progress: dict[str, int] = {"sent": 0, "acked": 0}
    started = time.monotonic()
    publisher = threading.Thread(
        target=publish_all,
        args=(messages, "127.0.0.1", broker.port),
        kwargs={"progress": progress},
        daemon=True,
    )
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
        sent = progress["acked"]
        if args.fault and "consumer" not in faults and count >= expected / 3:
            victim = consumers[0]
            victim.kill()
            faults.append("consumer")
            step(
                step="fault",
                what="consumer 0 killed (SIGKILL)",
                stored=count,
                published=sent,
                publishing=publisher.is_alive(),
                at_s=round(now - started, 1),
            )
            time.sleep(2)
            consumers[0] = make(victim.client_id)
            step(step="fault", what="consumer 0 back (same client id)")
        if (
            args.fault
            and "broker" not in faults
            and (sent >= 2 * len(messages) / 3 or not publisher.is_alive())
        ):
            faults.append("broker")
            step(
                step="fault",
                what="broker restart",
                stored=count,
                published=sent,
                publishing=publisher.is_alive(),
                at_s=round(now - started, 1),
            )
            broker.restart()
            step(step="fault", what="broker back", at_s=round(time.monotonic() - started, 1))
        if count >= expected and not publisher.is_alive():
            done_at = now
            break
        if count != last:
            last, last_change = count, now
        elif now - last_change > STALL_S and not publisher.is_alive():
            break
        time.sleep(0.5)
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
    stats = [c.stop() for c in consumers]
    return {
        "seconds": seconds,
        "faults": faults,
        "latency_load": summary(prober.latencies["load"]),
        "latency_quiet": summary(prober.latencies["quiet"]),
        "probes": prober.n,
        "probes_unsent": prober.failed,
        "probes_unanswered": len(prober.pending),
        "consumer_stats": stats,
    }


def _valid_stored(zone_id: int) -> int:
    from zerowaste.household.models import EventSequence

    return EventSequence.objects.filter(zone_id=zone_id, seq__lt=PROBE_SEQ).count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--fault", action="store_true", help="kill a consumer and restart the broker")
    parser.add_argument("--probe-every", type=float, default=2.0, help="seconds between alarm probes")
    parser.add_argument("--probes", type=int, default=20, help="alarm probes once the backlog is drained")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare subscriber leg")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a consumer process of the run
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    # A SIGTERM ends the run through its `finally`: the broker stopped, the throwaway database dropped.
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))

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
            duplicates_seen=sum(c.get("duplicate", 0) for c in run["consumer_stats"]),
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
