"""Only licences a regulator verified qualify a receiver, a carrier or a vehicle (issue 15, defect 6).

Before the fix an organization admin added its own HW operating licence and was at once a legal HW
receiver; the same held for a carrier's transport permit and a vehicle's permit."""

from __future__ import annotations

from datetime import date

import pytest

from zerowaste.core import licences
from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Licence, Organization
from zerowaste.testing import parties
from zerowaste.transfers import services
from zerowaste.transfers.testing import World, make_carrier, make_receiver

PDF = b"%PDF-1.4\n%%EOF\n"


def self_entered(org: Organization, kind: str, number: str, **extra: object) -> Licence:
    """A licence the organization's own admin enters, with its certificate scan."""
    admin = parties.actor_of(org, "admin")
    licence = core.add_licence(
        admin,
        org.pk,
        kind=kind,
        number=number,
        issuer="北京市生态环境局",
        valid_from=date(2015, 1, 1),
        valid_to=date(2035, 12, 31),
        **extra,  # type: ignore[arg-type]
    )
    licences.upload_scan(admin, org.pk, licence.pk, content=PDF, filename="证书.pdf")
    return licence


def regulator(w: World) -> Actor:
    return parties.actor_of(w.regulator, "clerk")


def test_a_receiver_with_its_own_unverified_licence_is_refused(world: World, english: None) -> None:
    receiver = make_receiver(world.zone, licence=False)
    licence = self_entered(
        receiver, "hw_operating", "京环危自报1", waste_codes=["HW49"], annual_capacity_t="500"
    )
    producer = world.actor(world.producer)
    with pytest.raises(Invalid) as exc:
        services.create_transfer(producer, data=world.data(consignee_id=receiver.pk))
    assert exc.value.errors[0]["field"] == "consignee_id"
    assert "licence 京环危自报1 is pending verification by a regulator" in exc.value.message
    assert receiver not in services.candidates(producer, "hw")["receivers"]

    licences.reject_licence(regulator(world), receiver.pk, licence.pk, reason="经营范围不符")
    with pytest.raises(Invalid) as exc:
        services.create_transfer(producer, data=world.data(consignee_id=receiver.pk))
    assert "rejected by a regulator: 经营范围不符" in exc.value.message

    core.update_licence(parties.actor_of(receiver), receiver.pk, licence.pk, waste_codes=["HW49", "HW08"])
    licences.verify_licence(regulator(world), receiver.pk, licence.pk)
    t = services.create_transfer(producer, data=world.data(consignee_id=receiver.pk))
    assert t.consignee_id == receiver.pk
    assert receiver in services.candidates(producer, "hw")["receivers"]


def test_a_carrier_with_its_own_unverified_permit_is_refused(world: World, english: None) -> None:
    carrier, _vehicle = make_carrier(world.zone, permit=False)
    permit = self_entered(carrier, "hw_transport", "运自报1")
    producer = world.actor(world.producer)
    with pytest.raises(Invalid) as exc:
        services.create_transfer(producer, data=world.data(carrier_id=carrier.pk))
    assert exc.value.errors[0]["field"] == "carrier_id"
    assert "pending verification" in exc.value.message
    licences.verify_licence(regulator(world), carrier.pk, permit.pk)
    assert services.create_transfer(producer, data=world.data(carrier_id=carrier.pk)).carrier_id == carrier.pk


def test_a_vehicle_under_an_unverified_permit_is_refused(world: World, english: None) -> None:
    carrier_admin = world.actor(world.carrier)
    permit = self_entered(world.carrier, "hw_transport", "运自报车1")
    vehicle = core.add_vehicle(
        carrier_admin,
        world.carrier.pk,
        plate="京A7K321",
        vehicle_type="危险货物运输车",
        permit_ids=[permit.pk],
    )
    t = services.create_transfer(world.actor(world.producer), data=world.data(), issue=True)
    pick_up = {"vehicle_id": vehicle.pk, "quantity_seen_t": "10", "driver": "张师傅"}
    with pytest.raises(Invalid) as exc:
        services.perform(carrier_admin, t.pk, "pick_up", **pick_up)
    assert exc.value.errors[0]["field"] == "vehicle_id"
    assert "pending verification" in exc.value.message
    licences.verify_licence(regulator(world), world.carrier.pk, permit.pk)
    assert services.perform(carrier_admin, t.pk, "pick_up", **pick_up).state == "in_transit"
