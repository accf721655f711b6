"""The household background service that `zerowaste serve` starts beside gunicorn: one MQTT consumer
per zone (persistent session under a stable client id, so nothing is lost while the platform is down)
and the scheduler of the day-level detection (`ops.scheduler_pass`) every `interval_s` seconds.

A broker that cannot be reached is reported by one log line and the consumers are skipped; the
scheduler runs regardless. SIGTERM or SIGINT (what `serve` sends its children) stops both.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

from zerowaste.core.models import Zone

from . import ops
from .mqtt import Consumer

log = logging.getLogger(__name__)

SCHEDULER_INTERVAL_S = 600.0


def broker_reachable(host: str, port: int, timeout_s: float = 2.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def consumer_client_id(zone: Zone) -> str:
    """Stable per zone: a restarted service resumes the same persistent session."""
    return f"zw-serve-{zone.code}"


@dataclass
class Service:
    host: str = "127.0.0.1"
    port: int = 1883
    consume: bool = True
    interval_s: float = SCHEDULER_INTERVAL_S
    prefix_of: Callable[[Zone], str] | None = None
    say: Callable[[str], None] = log.warning
    consumers: list[Consumer] = field(default_factory=list)
    passes: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start_consumers(self) -> int:
        """One consumer per zone; none (and one line saying so) when the broker is not reachable."""
        if not self.consume:
            return 0
        if not broker_reachable(self.host, self.port):
            self.say(f"household consumer: MQTT broker {self.host}:{self.port} not reachable; not consuming")
            return 0
        from .cli import default_prefix

        prefix_of = self.prefix_of or default_prefix
        for zone in Zone.objects.order_by("pk"):
            consumer = Consumer(
                zone_id=zone.pk,
                prefix=prefix_of(zone),
                client_id=consumer_client_id(zone),
                host=self.host,
                port=self.port,
            )
            try:
                consumer.start()
            except OSError as exc:
                self.say(
                    f"household consumer: MQTT broker {self.host}:{self.port} refused ({exc}); not consuming"
                )
                break
            self.consumers.append(consumer)
            thread = threading.Thread(target=self._consume, args=(consumer,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return len(self.consumers)

    @staticmethod
    def _consume(consumer: Consumer) -> None:
        try:
            consumer.run()
        except Exception:
            log.exception("household consumer %s stopped", consumer.client_id)
        finally:
            connection.close()

    def scheduler_once(self) -> list[ops.PassResult]:
        try:
            results = ops.scheduler_pass()
        except Exception:  # the next pass tries again; the web server is not taken down
            log.exception("household scheduler pass failed")
            return []
        self.passes += 1
        for r in results:
            if r.ran:
                log.info(
                    "household detect %s %s: %s raised, %s escalated",
                    r.zone_code,
                    r.day,
                    r.raised,
                    r.escalated,
                )
        return results

    def run(self) -> None:
        """Until `stop()`: the consumers in their threads, the scheduler here."""
        self.start_consumers()
        while not self._stop.is_set():
            close_old_connections()  # a database restarted since the last pass
            self.scheduler_once()
            self._stop.wait(self.interval_s)
        self.shutdown()

    def stop(self) -> None:
        self._stop.set()

    def shutdown(self) -> None:
        for consumer in self.consumers:
            consumer.stop()
        for thread in self._threads:
            thread.join(15)
        for consumer in self.consumers:
            consumer.close()
        connection.close()
