"""`zerowaste household devices|dead-letters|ingest`: output, errors naming the field, exit status."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from zerowaste.core.models import Zone
from zerowaste.household import ingest, services, simulate
from zerowaste.household.models import Device, HandoverEvent
from zerowaste.household.mqtt import Consumer
from zerowaste.household.testing import make_registry


def _run(*args: str) -> str:
    out = StringIO()
    call_command("household", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_devices_add_list_and_refuse(zone: Zone, capsys: pytest.CaptureFixture[str]) -> None:
    reg = make_registry(zone)
    added = json.loads(
        _run(
            "devices",
            "add",
            "T-CLI",
            "--kind",
            "smart_bin",
            "--station",
            str(reg.stations[1].pk),
            "--show-key",
            "--format",
            "json",
            "--zone",
            zone.code,
        )
    )
    device = Device.objects.get(zone=zone, code="T-CLI")
    assert added["key"] == services.key_of(device, zone.code).hex()  # shown once; stored nowhere
    assert device.area_id == reg.community.pk  # a street regulator's jurisdiction reaches it
    listing = _run("devices", "--zone", zone.code)
    assert "T-CLI" in listing and "smart_bin" in listing
    with pytest.raises(SystemExit) as exited:
        call_command("household", "devices", "add", "X", "--kind", "terminal", "--zone", zone.code)
    assert exited.value.code == 1
    assert "station:" in capsys.readouterr().err  # the field at fault


@pytest.mark.django_db
def test_dead_letters_lists_the_reason(zone: Zone) -> None:
    make_registry(zone)
    ingest.ingest_batch(zone.pk, [ingest.Message("zw/x/T/events", b"{oops")])
    rows = json.loads(_run("dead-letters", "--format", "json", "--zone", zone.code))
    assert [r["field"] for r in rows] == ["payload"] and rows[0]["reason"].startswith("payload: ")


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _broker_up(), reason="no MQTT broker on 127.0.0.1:1883")
@pytest.mark.django_db(transaction=True)
def test_ingest_once_resumes_its_session_and_exits_when_idle(zone: Zone) -> None:
    """A consumer's session made, the consumer gone; messages published meanwhile wait on the broker
    and `ingest --once --client-id` (the same id) collects them all, then exits when idle."""
    reg = make_registry(zone)
    prefix = f"zwtest/{uuid.uuid4().hex[:12]}"
    client_id = f"zw-cli-{uuid.uuid4().hex[:10]}"
    first = Consumer(zone_id=zone.pk, prefix=prefix, client_id=client_id, session_expiry_s=60)
    first.start()
    assert first.wait_subscribed()
    first.close()
    traffic = simulate.generate(
        reg.sim_devices(), hours=0.5, prefix=prefix, start=datetime.now(UTC) - timedelta(hours=1), seed=2
    )
    assert simulate.publish(traffic.messages) == len(traffic.messages)
    out = json.loads(
        _run(
            "ingest",
            "--once",
            "--idle-exit",
            "2",
            "--client-id",
            client_id,
            "--prefix",
            prefix,
            "--format",
            "json",
            "--zone",
            zone.code,
        )
    )
    assert out["received"] == len(traffic.messages)
    assert out["stored"] == traffic.valid == HandoverEvent.objects.filter(zone=zone).count()
