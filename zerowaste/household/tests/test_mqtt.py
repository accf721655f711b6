"""Through the real Mosquitto (127.0.0.1:1883): publish, consume, store; a consumer killed mid-run
and resumed with the same persistent session loses and doubles nothing; two consumers of the shared
subscription split the messages. Each test uses its own topic prefix, so parallel runs never cross."""

from __future__ import annotations

import socket
import threading
import uuid
import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.db import connection

from zerowaste.core.models import Zone
from zerowaste.household import simulate
from zerowaste.household.models import DeadLetter, HandoverEvent
from zerowaste.household.mqtt import Consumer
from zerowaste.household.testing import Registry, make_registry

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")

pytestmark = [pytest.mark.django_db(transaction=True)]


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        return False
    return True


if not _broker_up():
    pytestmark.append(pytest.mark.skip(reason="no MQTT broker on 127.0.0.1:1883"))


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _prefix() -> str:
    return f"zwtest/{uuid.uuid4().hex[:12]}"


def _traffic(reg: Registry, prefix: str, hours: float) -> simulate.Traffic:
    """Yesterday's traffic from 08:00 Beijing time: its volume does not depend on the hour the test
    runs (at night the simulator's households throw little away, and a 2-hour window held so few
    events that the killed consumer had stored them all before it died)."""
    yesterday = datetime.now(BEIJING).date() - timedelta(days=1)
    start = datetime.combine(yesterday, time(8), tzinfo=BEIJING)
    return simulate.generate(reg.sim_devices(), hours=hours, prefix=prefix, start=start, seed=11)


def _consume_in_thread(consumer: Consumer, **run: object) -> threading.Thread:
    def run_then_close_connection() -> None:
        try:
            consumer.run(**run)  # type: ignore[arg-type]
        finally:
            connection.close()  # this thread's own connection, or the test database cannot be dropped

    thread = threading.Thread(target=run_then_close_connection, daemon=True)
    thread.start()
    return thread


def test_published_events_are_consumed_and_stored(reg: Registry) -> None:
    prefix = _prefix()
    consumer = Consumer(zone_id=reg.zone.pk, prefix=prefix, session_expiry_s=60, batch_size=200)
    consumer.start()
    assert consumer.wait_subscribed()
    traffic = _traffic(reg, prefix, hours=1)
    thread = _consume_in_thread(consumer, idle_exit_s=2.0)
    assert simulate.publish(traffic.messages) == len(traffic.messages)
    thread.join(60)
    consumer.close()
    assert consumer.stats.received == len(traffic.messages)
    assert consumer.stats.acked == len(traffic.messages)
    assert HandoverEvent.objects.filter(zone=reg.zone).count() == traffic.valid
    assert consumer.stats.duplicate == traffic.duplicates
    letters = [f"{d.topic} {d.reason}" for d in DeadLetter.objects.filter(zone=reg.zone)]
    assert len(letters) == traffic.malformed, letters


@pytest.mark.slow
def test_a_killed_consumer_resumes_its_session_and_nothing_is_lost_or_doubled(reg: Registry) -> None:
    prefix = _prefix()
    client_id = f"zw-test-{uuid.uuid4().hex[:10]}"
    first = Consumer(
        zone_id=reg.zone.pk, prefix=prefix, client_id=client_id, session_expiry_s=120, batch_size=50
    )
    first.start()
    assert first.wait_subscribed()
    traffic = _traffic(reg, prefix, hours=2)
    assert traffic.valid > 3 * 50, f"too little traffic ({traffic.valid} events) to die mid-run"
    assert simulate.publish(traffic.messages) == len(traffic.messages)
    # Dies after committing its second batch and before acknowledging it: the worst moment.
    first.run(crash_before_ack_at=2)
    stored_before = HandoverEvent.objects.filter(zone=reg.zone).count()
    assert 0 < stored_before < traffic.valid

    second = Consumer(
        zone_id=reg.zone.pk, prefix=prefix, client_id=client_id, session_expiry_s=120, batch_size=200
    )
    second.start()
    second.run(idle_exit_s=3.0)
    second.close()
    assert HandoverEvent.objects.filter(zone=reg.zone).count() == traffic.valid  # 0 lost, 0 doubled
    # A malformed payload of the committed-but-unacknowledged batch comes again: still one dead letter.
    assert DeadLetter.objects.filter(zone=reg.zone).count() == traffic.malformed
    # The crashed batch came again and was recognised as already stored.
    # The batch committed but never acknowledged came again and counted as duplicates, not events.
    assert first.stats.duplicate + second.stats.duplicate > traffic.duplicates


@pytest.mark.slow
def test_two_consumers_of_the_shared_subscription_split_the_messages(reg: Registry) -> None:
    prefix = _prefix()
    consumers = [
        Consumer(zone_id=reg.zone.pk, prefix=prefix, session_expiry_s=60, batch_size=100) for _ in range(2)
    ]
    for c in consumers:
        c.start()
        assert c.wait_subscribed()
    traffic = _traffic(reg, prefix, hours=2)
    threads = [_consume_in_thread(c, idle_exit_s=3.0) for c in consumers]
    assert simulate.publish(traffic.messages) == len(traffic.messages)
    for t in threads:
        t.join(90)
    for c in consumers:
        c.close()
    received = [c.stats.received for c in consumers]
    assert sum(received) == len(traffic.messages)  # each message went to exactly one of them
    assert min(received) > len(traffic.messages) // 10, received
    assert HandoverEvent.objects.filter(zone=reg.zone).count() == traffic.valid
