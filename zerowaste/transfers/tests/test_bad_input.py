"""Bad input is refused with a message naming the field, and nothing is written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Invalid
from zerowaste.core.models import AuditEntry, Zone
from zerowaste.testing import parties
from zerowaste.transfers import services
from zerowaste.transfers.models import Transfer, TransferLine
from zerowaste.transfers.testing import World, advance, make_carrier, make_receiver

# These tests assert messages by their English wording.
pytestmark = pytest.mark.usefixtures("english")


def _counts() -> tuple[int, int, int]:
    return Transfer.objects.count(), TransferLine.objects.count(), AuditEntry.objects.count()


def _line(**kw: Any) -> list[dict[str, Any]]:
    return [{"waste_code": "900-041-49", "estimated_t": "5", **kw}]


CASES = [
    ("negative quantity", {"lines": _line(estimated_t="-1")}, "lines[1].estimated_t", "more than zero"),
    ("zero quantity", {"lines": _line(estimated_t="0")}, "lines[1].estimated_t", "more than zero"),
    ("not a number", {"lines": _line(estimated_t="abc")}, "lines[1].estimated_t", "not a number"),
    ("grams", {"lines": _line(estimated_t="1.0001")}, "lines[1].estimated_t", "3 decimal"),
    ("unknown code", {"lines": _line(waste_code="999-999-99")}, "lines[1].waste_code", ""),
    ("isw code on hw", {"lines": _line(waste_code="99-01-01")}, "lines[1].waste_code", ""),
    ("over 40 t", {"lines": _line(estimated_t="40.001")}, "lines", "40"),
    (
        "over 40 t in two lines",
        {"lines": [*_line(estimated_t="25"), *_line(estimated_t="16")]},
        "lines",
        "40",
    ),
    ("no lines", {"lines": []}, "lines", "at least one"),
    ("bad stream", {"stream": "nuclear"}, "stream", ""),
    ("unknown consignee", {"consignee_id": 2**40}, "consignee_id", "no such organization"),
    ("bad date", {"planned_date": "2020-13-45"}, "planned_date", "not a date"),
]


@pytest.mark.parametrize(("label", "change", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_create_refuses_naming_the_field(
    world: World, label: str, change: dict[str, Any], field: str, words: str
) -> None:
    before = _counts()
    with pytest.raises(Invalid) as info:
        services.create_transfer(world.actor(world.producer), data={**world.data(), **change}, issue=True)
    assert info.value.errors[0]["field"] == field
    assert words in info.value.message
    assert _counts() == before


def test_receiver_without_licence(world: World) -> None:
    unlicensed = make_receiver(world.zone, licence=False)
    before = _counts()
    with pytest.raises(Invalid, match="operating licence") as info:
        services.create_transfer(
            world.actor(world.producer), data=world.data(consignee_id=unlicensed.pk), issue=True
        )
    assert info.value.errors[0]["field"] == "consignee_id"
    assert _counts() == before


def test_receiver_licence_not_covering_the_category(world: World) -> None:
    solvents_only = make_receiver(world.zone, codes=["HW06"])
    with pytest.raises(Invalid, match="does not cover 900-041-49") as info:
        services.create_transfer(world.actor(world.producer), data=world.data(consignee_id=solvents_only.pk))
    assert info.value.errors[0]["field"] == "consignee_id"


def test_receiver_full_code_licence_covers(world: World) -> None:
    exact = make_receiver(world.zone, codes=["900-041-49"])
    t = services.create_transfer(
        world.actor(world.producer), data=world.data(consignee_id=exact.pk), issue=True
    )
    assert t.state == "issued"


def test_receiver_capacity_exhausted(world: World) -> None:
    small = make_receiver(world.zone, capacity="15")
    p = world.actor(world.producer)
    services.create_transfer(p, data=world.data(consignee_id=small.pk, tonnes="10"), issue=True)
    before = _counts()
    with pytest.raises(Invalid, match="annual capacity") as info:
        services.create_transfer(p, data=world.data(consignee_id=small.pk, tonnes="6"), issue=True)
    assert info.value.errors[0]["field"] == "consignee_id"
    assert _counts() == before


def test_carrier_without_permit(world: World) -> None:
    no_permit, _vehicle = make_carrier(world.zone, permit=False)
    with pytest.raises(Invalid, match="transport permit") as info:
        services.create_transfer(
            world.actor(world.producer), data=world.data(carrier_id=no_permit.pk), issue=True
        )
    assert info.value.errors[0]["field"] == "carrier_id"
    # isw needs no hazardous-waste permit
    t = services.create_transfer(
        world.actor(world.producer), data=world.data("isw", carrier_id=no_permit.pk), issue=True
    )
    assert t.state == "issued"


def test_vehicle_without_permit_at_pick_up(world: World) -> None:
    from zerowaste.core import services as core

    plain = core.add_vehicle(Actor.system(world.zone), world.carrier.pk, plate="京C12345", capacity_kg=20000)
    t = advance(world, services.create_transfer(world.actor(world.producer), data=world.data()), "issued")
    before = _counts()
    with pytest.raises(Invalid, match="京C12345") as info:
        services.perform(
            world.actor(world.carrier), t.pk, "pick_up", vehicle_id=plain.pk, quantity_seen_t="10"
        )
    assert info.value.errors[0]["field"] == "vehicle_id"
    assert _counts() == before
    t.refresh_from_db()
    assert t.state == "issued"


def test_pick_up_over_road_limit_and_zero(world: World) -> None:
    t = advance(world, services.create_transfer(world.actor(world.producer), data=world.data()), "issued")
    c = world.actor(world.carrier)
    for qty, words in (("41", "40"), ("0", "more than zero"), ("-3", "more than zero")):
        with pytest.raises(Invalid, match=words) as info:
            services.perform(c, t.pk, "pick_up", vehicle_id=world.vehicle.pk, quantity_seen_t=qty)
        assert info.value.errors[0]["field"] == "quantity_seen_t"


def test_signing_out_of_turn_and_before_previous_signature(world: World) -> None:
    t = advance(world, services.create_transfer(world.actor(world.producer), data=world.data()), "issued")
    with pytest.raises(Conflict, match="cannot accept"):
        services.perform(world.actor(world.receiver), t.pk, "accept", received_t="10")
    early = timezone.now() - timedelta(days=1)
    with pytest.raises(Invalid, match="previous signature") as info:
        services.perform(
            world.actor(world.carrier),
            t.pk,
            "pick_up",
            vehicle_id=world.vehicle.pk,
            quantity_seen_t="10",
            at=early,
        )
    assert info.value.errors[0]["field"] == "at"
    future = timezone.now() + timedelta(days=1)
    with pytest.raises(Invalid, match="future"):
        services.perform(
            world.actor(world.carrier),
            t.pk,
            "pick_up",
            vehicle_id=world.vehicle.pk,
            quantity_seen_t="10",
            at=future,
        )
    t.refresh_from_db()
    assert t.state == "issued"


def test_discrepancy_must_be_explained(world: World) -> None:
    t = advance(world, services.create_transfer(world.actor(world.producer), data=world.data()), "delivered")
    r = world.actor(world.receiver)
    # 10 t estimated: tolerance max(5 %, 50 kg) = 0.5 t
    with pytest.raises(Invalid, match="tolerance") as info:
        services.perform(r, t.pk, "accept", received_t="9.4")
    assert info.value.errors[0]["field"] == "discrepancy_note"
    t = services.perform(r, t.pk, "accept", received_t="9.4", discrepancy_note="含水率下降")
    assert t.state == "closed" and t.discrepancy


def test_within_tolerance_is_no_discrepancy(world: World) -> None:
    t = advance(world, services.create_transfer(world.actor(world.producer), data=world.data()), "delivered")
    t = services.perform(world.actor(world.receiver), t.pk, "accept", received_t="9.5")
    assert t.state == "closed" and not t.discrepancy


def test_partial_refusal_bounds(world: World) -> None:
    t = advance(world, services.create_transfer(world.actor(world.producer), data=world.data()), "delivered")
    r = world.actor(world.receiver)
    for refused, words in (("10", "less than the received"), ("0", "more than zero")):
        with pytest.raises(Invalid, match=words) as info:
            services.perform(r, t.pk, "accept_part", received_t="10", refused_t=refused, reason="破损")
        assert info.value.errors[0]["field"] == "refused_t"
    with pytest.raises(Invalid) as info:
        services.perform(r, t.pk, "accept_part", received_t="10", refused_t="2")
    assert info.value.errors[0]["field"] == "reason"
    t = services.perform(r, t.pk, "accept_part", received_t="10", refused_t="2", reason="破损")
    assert t.state == "closed" and t.refused_t == 2


def test_rest_goes_to_another_receiver_by_a_linked_transfer(world: World) -> None:
    t = advance(world, services.create_transfer(world.actor(world.producer), data=world.data()), "delivered")
    t = services.perform(
        world.actor(world.receiver), t.pk, "accept_part", received_t="10", refused_t="2", reason="破损"
    )
    other = make_receiver(world.zone)
    linked = services.perform(world.actor(world.producer), t.pk, "redirect_rest", consignee_id=other.pk)
    assert linked.parent_id == t.pk and linked.state == "draft" and linked.estimated_t == 2
    assert linked.consignee_id == other.pk
    with pytest.raises(Conflict, match="already"):
        services.perform(world.actor(world.producer), t.pk, "redirect_rest", consignee_id=other.pk)


def test_infectious_or_highly_toxic_waste_not_into_park_store(world: World) -> None:
    park = parties.make_org(world.zone, roles=("park_operator",))
    medical = [{"waste_code": "841-001-01", "estimated_t": "1"}]
    recv = make_receiver(world.zone, codes=["HW01", "HW49"])
    with pytest.raises(Invalid, match="infectious") as info:
        services.create_transfer(
            world.actor(world.producer),
            data=world.data(consignee_id=recv.pk, storage_id=park.pk, lines=medical),
        )
    assert info.value.errors[0]["field"] == "storage_id"
    # 900-041-49 is "T/In": possibly infectious, so refused as well
    with pytest.raises(Invalid, match="infectious"):
        services.create_transfer(
            world.actor(world.producer),
            data=world.data(storage_id=park.pk, lines=[{"waste_code": "900-041-49", "estimated_t": "1"}]),
        )
    toxic = [{"waste_code": "900-402-06", "estimated_t": "1", "highly_toxic": True}]
    with pytest.raises(Invalid, match="highly toxic"):
        services.create_transfer(
            world.actor(world.producer), data=world.data(storage_id=park.pk, lines=toxic)
        )
    fine = services.create_transfer(
        world.actor(world.producer),
        data=world.data(storage_id=park.pk, lines=[{"waste_code": "900-402-06", "estimated_t": "1"}]),
    )
    assert fine.storage_id == park.pk


def test_isw_receiver_must_be_a_registered_recycler(world: World) -> None:
    not_recycler = parties.make_org(world.zone, roles=("producer",))
    with pytest.raises(Invalid, match="registered recycler") as info:
        services.create_transfer(
            world.actor(world.producer), data=world.data("isw", consignee_id=not_recycler.pk)
        )
    assert info.value.errors[0]["field"] == "consignee_id"


def test_foreign_zone_rows_are_404(world: World) -> None:
    t = services.create_transfer(world.actor(world.producer), data=world.data())
    other = parties.make_org(
        Zone.objects.create(code="zz", name="其他区", division_code="310101"), roles=("regulator",)
    )
    from zerowaste.core.errors import NotFound

    with pytest.raises(NotFound):
        services.get_transfer(parties.actor_of(other), t.pk)
