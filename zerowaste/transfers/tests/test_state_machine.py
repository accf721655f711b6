"""The state machine, table-driven: every action from every state by every party; exactly the
transitions of `rules.TRANSITIONS` succeed, and only for the party whose turn it is."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, DomainError, Forbidden, NotFound
from zerowaste.testing import parties
from zerowaste.transfers import rules, services
from zerowaste.transfers.models import Transfer
from zerowaste.transfers.testing import World, advance

PARTY_NAMES = ("consignor", "carrier", "consignee", "regulator", "outsider")


class Rollback(Exception):
    pass


def _in_state(w: World, state: str) -> Transfer:
    t = services.create_transfer(Actor.system(w.zone), data={**w.data(), "consignor_id": w.producer.pk})
    if state == "closed":
        t = advance(w, t, "delivered")
        return services.perform(
            Actor.system(w.zone), t.pk, "accept_part", received_t="10", refused_t="1", reason="破损"
        )
    return advance(w, t, state)


def _data(w: World, action: str) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {
        "edit": {"treatment": "R4"},
        "cancel": {"reason": "计划取消"},
        "pick_up": {"vehicle_id": w.vehicle.pk, "quantity_seen_t": "10"},
        "hand_over": {"next_carrier_id": w.carrier2.pk, "vehicle_id": w.vehicle2.pk},
        "weigh": {"received_t": "9.990"},
        "accept": {"received_t": "10"},
        "accept_part": {"received_t": "10", "refused_t": "2", "reason": "包装破损"},
        "refuse": {"reason": "与联单不符"},
        "request_revision": {"changes": {"treatment": "R4"}, "reason": "处置方式填错"},
    }
    return table.get(action, {})


def test_table_is_consistent() -> None:
    assert set(rules.STATES) >= {t.source for t in rules.TRANSITION_LIST} | {
        t.target for t in rules.TRANSITION_LIST
    }
    assert all(t.party in rules.PARTIES for t in rules.TRANSITION_LIST)
    from zerowaste.transfers.services import APPLY, PRECONDITIONS

    assert set(rules.ACTIONS) == set(APPLY)
    assert {p for t in rules.TRANSITION_LIST for p in t.preconditions} <= set(PRECONDITIONS)
    # Terminal states have no way forward except corrections and the regulator's acknowledgement.
    assert {t.action for t in rules.actions_from("cancelled")} == set()
    assert rules.transition("closed", "accept") is None


@pytest.mark.parametrize("state", rules.STATES)
def test_every_action_by_every_party(world: World, state: str) -> None:
    w = world
    t = _in_state(w, state)
    assert t.state == state
    actors = {
        "consignor": w.actor(w.producer),
        "carrier": w.actor(w.carrier),
        "consignee": w.actor(w.receiver),
        "regulator": w.actor(w.regulator),
        "outsider": w.actor(parties.make_org(w.zone, roles=("producer",))),
    }
    outcomes: dict[tuple[str, str], str] = {}
    for action in rules.ACTIONS:
        tr = rules.transition(state, action)
        for name in PARTY_NAMES:
            try:
                with transaction.atomic():
                    result = services.perform(actors[name], t.pk, action, **_data(w, action))
                    outcome = "ok:" + Transfer.objects.get(pk=t.pk).state
                    assert result is not None
                    raise Rollback
            except Rollback:
                pass
            except NotFound:
                outcome = "404"
            except Forbidden:
                outcome = "403"
            except Conflict:
                outcome = "409"
            except DomainError as exc:  # pragma: no cover - shown in the failure
                outcome = f"{type(exc).__name__}:{exc.message}"
            outcomes[(action, name)] = outcome
            if name == "outsider":
                expected = "404"
            elif tr is None:
                expected = "409"
            elif rules.party_may(tr, frozenset({name})):
                expected = "ok:" + tr.target
            else:
                expected = "403"
            assert outcome == expected, (state, action, name, outcome)
    assert Transfer.objects.get(pk=t.pk).state == state  # every attempt rolled back
    allowed = [k for k, v in outcomes.items() if v.startswith("ok")]
    assert len(allowed) == sum(
        1
        for tr in rules.actions_from(state)
        for p in PARTY_NAMES
        if p != "outsider" and rules.party_may(tr, frozenset({p}))
    )


def test_viewer_member_may_not_sign(world: World) -> None:
    t = _in_state(world, "issued")
    viewer = world.actor(world.carrier, "viewer")
    with pytest.raises(Forbidden):
        services.perform(viewer, t.pk, "pick_up", vehicle_id=world.vehicle.pk, quantity_seen_t="10")
    signer = world.actor(world.carrier, "signer")
    assert (
        services.perform(signer, t.pk, "pick_up", vehicle_id=world.vehicle.pk, quantity_seen_t="10").state
        == "in_transit"
    )


def test_multi_leg_hand_over_then_second_carrier_delivers(world: World) -> None:
    w = world
    t = _in_state(w, "in_transit")
    t = services.perform(
        w.actor(w.carrier), t.pk, "hand_over", next_carrier_id=w.carrier2.pk, vehicle_id=w.vehicle2.pk
    )
    assert t.state == "in_transit" and t.current_carrier_id == w.carrier2.pk
    with pytest.raises(Forbidden):
        services.perform(w.actor(w.carrier), t.pk, "deliver")
    t = services.perform(w.actor(w.carrier2), t.pk, "deliver")
    assert t.state == "delivered"
    assert [leg.carrier_id for leg in t.legs.all()] == [w.carrier.pk, w.carrier2.pk]
    # both carriers see it in their carried register
    assert services.register(w.actor(w.carrier), kind="carried").filter(pk=t.pk).exists()
    assert services.register(w.actor(w.carrier2), kind="carried").filter(pk=t.pk).exists()
