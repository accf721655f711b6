"""The demo has a login that receives hazardous waste (issue 16, item 4): `hw-receiver`, admin of the
licensed HW receiver 北京金隅红树林, sees the HW manifests coming to it and accepts one."""

from __future__ import annotations

import pytest
from django.test import Client

from zerowaste.core import demo
from zerowaste.core.authz import Actor
from zerowaste.core.demo import DEMO_PASSWORD, build_demo
from zerowaste.core.models import Organization
from zerowaste.transfers import services as transfers
from zerowaste.transfers.testing import World, advance, ensure_catalogs, make_carrier

pytestmark = pytest.mark.django_db

JINYU = "北京金隅红树林环保技术有限责任公司"


@pytest.fixture
def demo_parties(monkeypatch: pytest.MonkeyPatch) -> demo.DemoResult:
    """The demo's parties and accounts only (the step that makes them), not its years of records."""
    parties_step = [step for step in demo._STEPS if step[1] == "core.parties"]
    monkeypatch.setattr(demo, "_STEPS", parties_step)
    return build_demo(seed=1)


def test_hw_receiver_account_sees_incoming_hw_manifests_and_accepts_one(
    demo_parties: demo.DemoResult,
) -> None:
    account = next(a for a in demo_parties.accounts if a["username"] == "hw-receiver")
    assert account["organization"] == JINYU
    zone = demo_parties.zone
    receiver = Organization.objects.get(zone=zone, name=JINYU)
    assert receiver.licences.filter(kind="hw_operating").exists()
    producer = Organization.objects.get(zone=zone, memberships__user__username="producer")
    ensure_catalogs(zone)
    carrier, vehicle = make_carrier(zone)
    world = World(zone, producer, carrier, carrier, receiver, producer, vehicle, vehicle)
    system = Actor.system(zone)
    manifest = transfers.create_transfer(system, data={**world.data(tonnes="2"), "consignor_id": producer.pk})
    manifest = advance(world, manifest, "delivered")

    client = Client()
    login = client.post("/login/", {"username": "hw-receiver", "password": DEMO_PASSWORD})
    assert login.status_code == 302
    incoming = client.get("/transfers/", {"register": "incoming", "stream": "hw"})
    assert incoming.status_code == 200
    assert str(manifest.number) in incoming.content.decode()
    accepted = client.post(
        f"/api/transfers/{manifest.pk}/accept", {"received_t": "2"}, content_type="application/json"
    )
    assert accepted.status_code == 200, accepted.content
    manifest.refresh_from_db()
    assert manifest.state == "closed"
