"""Proposals as a state machine (every decision from every state by every party), and PostgreSQL races:
both parties accepting at once make exactly one agreement and one transfer."""

from __future__ import annotations

from collections import Counter

import pytest

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Forbidden, NotFound
from zerowaste.exchange import rules, services
from zerowaste.exchange.models import Agreement, Proposal
from zerowaste.exchange.testing import Market, demand, make_market, supply
from zerowaste.testing import parties
from zerowaste.testing.race import race
from zerowaste.transfers.models import Transfer

PARTIES = ("supplier", "receiver", "stranger", "regulator")
STATES = (rules.PROPOSED, rules.ACCEPTED, rules.DECLINED, rules.SUPERSEDED)


def _proposal(m: Market) -> Proposal:
    supply(m.producer, tonnes="3")
    demand(m.receiver)
    run = services.run_matching(Actor.system(m.zone), period="2020-06")
    return run.proposals.get()


def _actor(m: Market, party: str) -> Actor:
    org = {
        "supplier": m.producer,
        "receiver": m.receiver,
        "stranger": parties.make_org(m.zone, roles=("producer",)),
        "regulator": m.regulator,
    }[party]
    return parties.actor_of(org, "clerk")


def _expected(state: str, decision: str, party: str) -> str:
    if party == "stranger":
        return "404"
    if party == "regulator":
        return "403"  # sees every proposal, decides none
    if state != rules.PROPOSED:
        return "409"
    return "ok"


@pytest.mark.django_db
@pytest.mark.parametrize("decision", ["accept", "decline"])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("party", PARTIES)
def test_every_decision_from_every_state(market: Market, decision: str, state: str, party: str) -> None:
    p = _proposal(market)
    Proposal.objects.filter(pk=p.pk).update(status=state)
    actor = _actor(market, party)
    fn = services.accept_proposal if decision == "accept" else services.decline_proposal
    try:
        fn(actor, p.pk)
        outcome = "ok"
    except NotFound:
        outcome = "404"
    except Forbidden:
        outcome = "403"
    except Conflict:
        outcome = "409"
    assert outcome == _expected(state, decision, party)
    p.refresh_from_db()
    if outcome == "ok":
        if decision == "decline":
            assert p.status == rules.DECLINED
        else:
            assert p.status == rules.PROPOSED  # one side only: waits for the other
    else:
        assert p.status == state


@pytest.mark.django_db
def test_viewer_may_not_accept(market: Market) -> None:
    p = _proposal(market)
    with pytest.raises(Forbidden):
        services.accept_proposal(parties.actor_of(market.producer, "viewer"), p.pk)


@pytest.mark.django_db(transaction=True)
def test_both_parties_race_to_accept(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    m = make_market()
    p = _proposal(m)
    actors = [_actor(m, "supplier"), _actor(m, "receiver")] * 5
    results = race(lambda i: services.accept_proposal(actors[i], p.pk), len(actors))
    assert set(results) <= {"ok", "409"}, results
    assert Agreement.objects.filter(proposal=p).count() == 1
    assert Transfer.objects.filter(zone=m.zone, consignor=m.producer).count() == 1


# --- A matching run solves outside any transaction and writes only what is still open -------------


def _solve_then(monkeypatch: pytest.MonkeyPatch, side_effect: object, *, times: int) -> list[int]:
    """Make `engine.solve` call `side_effect` (a listing change) after its first `times` solves."""
    from zerowaste.exchange import engine

    real = engine.solve
    calls: list[int] = []

    def solve(*args: object, **kwargs: object) -> engine.Solution:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(1)
        if len(calls) <= times:
            side_effect()  # type: ignore[operator]
        return result

    monkeypatch.setattr(services.engine, "solve", solve)
    return calls


@pytest.mark.django_db
def test_listing_withdrawn_while_solving_is_never_proposed(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = supply(market.producer, tonnes="3")
    gone = supply(market.producer, tonnes="4")
    demand(market.receiver)
    producer = parties.actor_of(market.producer, "clerk")
    calls = _solve_then(monkeypatch, lambda: services.withdraw_supply(producer, gone.pk), times=1)
    run = services.run_matching(Actor.system(market.zone), period="2020-06")
    assert len(calls) == 2  # solved again after the withdrawal
    assert {p.supply_id for p in run.proposals.all()} == {kept.pk}


@pytest.mark.django_db
def test_listings_that_keep_changing_refuse_the_run(
    market: Market, monkeypatch: pytest.MonkeyPatch, english: None
) -> None:
    supply(market.producer, tonnes="3")
    demand(market.receiver)
    _solve_then(monkeypatch, lambda: supply(market.producer, tonnes="1"), times=services.MATCH_ATTEMPTS)
    before = Proposal.objects.filter(zone=market.zone).count()
    with pytest.raises(Conflict, match="run it again"):
        services.run_matching(Actor.system(market.zone), period="2020-06")
    assert Proposal.objects.filter(zone=market.zone).count() == before


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_leave_one_set_of_open_proposals(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    m = make_market()
    for tonnes in ("3", "5", "7"):
        supply(m.producer, tonnes=tonnes)
    demand(m.receiver)
    results = race(lambda i: services.run_matching(Actor.system(m.zone), period="2020-06"), 4)
    assert results == Counter({"ok": 4})
    open_runs = set(
        Proposal.objects.filter(zone=m.zone, status=rules.PROPOSED).values_list("run_id", flat=True)
    )
    assert len(open_runs) == 1
    assert Proposal.objects.filter(zone=m.zone, status=rules.PROPOSED).count() == 3
