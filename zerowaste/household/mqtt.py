"""The MQTT consumer of device events (paho-mqtt 2, MQTT v5, QoS 1).

- Shared subscription `$share/<group>/<prefix>/+/events`: consumers of one group split the messages.
- Persistent session (clean_start False, a session expiry): a consumer that dies and comes back with
  the same client id gets every message it had not acknowledged.
- Manual acknowledgement: a message's PUBACK is sent only after the batch holding it is committed
  (ingest.ingest_batch). A crash between commit and ack means redelivery, which the (device, seq)
  ledger turns into a counted duplicate, never a second event. So: 0 lost, 0 doubled (ADR 0054).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from django.db import InterfaceError, OperationalError, close_old_connections
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .ingest import IngestResult, Message, ingest_batch

log = logging.getLogger(__name__)

DEFAULT_GROUP = "zerowaste"
SESSION_EXPIRY_S = 24 * 3600  # the broker keeps an absent consumer's unacknowledged messages a day
RECEIVE_MAXIMUM = 4000  # messages in flight to one consumer (the broker may cap it lower)
BATCH_SIZE = 2000  # a batch's fixed costs (the registry's rows, one roll-up upsert, the commit) amortized


def events_topic(prefix: str, device_code: str) -> str:
    return f"{prefix}/{device_code}/events"


def shared_filter(prefix: str, group: str = DEFAULT_GROUP) -> str:
    return f"$share/{group}/{prefix}/+/events"


@dataclass
class ConsumerStats:
    received: int = 0
    stored: int = 0
    duplicate: int = 0
    dead_lettered: int = 0
    batches: int = 0
    acked: int = 0
    alarms: int = 0
    points: int = 0

    def add(self, result: IngestResult) -> None:
        self.stored += result.stored
        self.duplicate += result.duplicate
        self.dead_lettered += result.dead_lettered
        self.alarms += result.alarms
        self.points += result.points
        self.batches += 1


@dataclass
class Consumer:
    """One consumer of a zone's device events. `run()` blocks until `stop()` or `idle_exit_s`."""

    zone_id: int
    prefix: str
    client_id: str = field(default_factory=lambda: f"zw-ingest-{uuid.uuid4().hex[:12]}")
    host: str = "127.0.0.1"
    port: int = 1883
    group: str = DEFAULT_GROUP
    batch_size: int = BATCH_SIZE
    batch_seconds: float = 0.5
    session_expiry_s: int = SESSION_EXPIRY_S
    username: str | None = None
    password: str | None = None
    on_batch: Callable[[IngestResult], None] | None = None
    stats: ConsumerStats = field(default_factory=ConsumerStats)

    def __post_init__(self) -> None:
        self._inbox: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if self.username:
            self._client.username_pw_set(self.username, self.password)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    # --- paho callbacks (the network thread) ------------------------------------------------------

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        # Subscribing again on a resumed session is harmless and covers a session the broker dropped.
        client.subscribe(shared_filter(self.prefix, self.group), qos=1)

    def _on_subscribe(self, *_args: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.put(message)

    # --- control ----------------------------------------------------------------------------------

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry_s
        # Messages are acknowledged only after their batch commits: the broker must be allowed to send a
        # full batch and the next one while this one is being stored, or batches shrink to its window.
        properties.ReceiveMaximum = min(65535, max(RECEIVE_MAXIMUM, 2 * self.batch_size))
        self._client.connect(self.host, self.port, keepalive=30, clean_start=False, properties=properties)
        self._client.loop_start()

    def wait_subscribed(self, timeout: float = 10.0) -> bool:
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        """A clean end: disconnect (the session and any unacknowledged message stay on the broker)."""
        self._client.disconnect()
        self._client.loop_stop()

    def crash(self) -> None:
        """Die like a killed process: no DISCONNECT, no ack of what was received but not committed."""
        self._stopping.set()
        sock = self._client.socket()
        if sock is not None:
            sock.close()
        self._client.loop_stop()

    def run(
        self,
        *,
        idle_exit_s: float | None = None,
        max_batches: int | None = None,
        crash_before_ack_at: int | None = None,
    ) -> ConsumerStats:
        """Consume until stopped, idle for `idle_exit_s`, or `max_batches` batches are committed.
        `crash_before_ack_at` (tests) dies after committing that batch and before acknowledging it."""
        last_message = time.monotonic()
        while not self._stopping.is_set():
            batch = self._collect()
            if not batch:
                if idle_exit_s is not None and time.monotonic() - last_message > idle_exit_s:
                    break
                continue
            last_message = time.monotonic()
            result = self._ingest(batch)
            self.stats.received += len(batch)
            self.stats.add(result)
            if crash_before_ack_at is not None and self.stats.batches >= crash_before_ack_at:
                self.crash()
                break
            for message in batch:
                self._client.ack(message.mid, message.qos)
                self.stats.acked += 1
            if self.on_batch is not None:
                self.on_batch(result)
            if max_batches is not None and self.stats.batches >= max_batches:
                break
        return self.stats

    def _collect(self) -> list[paho.MQTTMessage]:
        """Up to `batch_size` messages, waiting at most `batch_seconds` after the first; a short lull
        ends a batch early (the broker holds back more until these are acknowledged)."""
        try:
            first = self._inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=min(remaining, 0.05)))
            except queue.Empty:
                break
        return batch

    def _ingest(self, batch: list[paho.MQTTMessage]) -> IngestResult:
        """Store the batch; a lost database connection is retried (the batch is idempotent), so the
        consumer never acknowledges what it did not commit and never stops on a database restart."""
        messages = [Message(m.topic, m.payload) for m in batch]
        delay = 0.5
        while True:
            try:
                close_old_connections()
                return ingest_batch(self.zone_id, messages)
            except (OperationalError, InterfaceError) as exc:
                if self._stopping.is_set():
                    raise
                log.warning("ingest failed (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
