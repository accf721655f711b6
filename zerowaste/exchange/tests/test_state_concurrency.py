"""Proposals as a state machine (every decision from every state by every party), and PostgreSQL races:
both parties accepting at once make exactly one agreement and one transfer."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, DomainError, Forbidden, NotFound
from zerowaste.exchange import rules, services
from zerowaste.exchange.models import Agreement, Proposal
from zerowaste.exchange.testing import Market, demand, make_market, supply
from zerowaste.testing import parties
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
    results: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(len(actors))

    def run(actor: Actor) -> None:
        try:
            barrier.wait()
            services.accept_proposal(actor, p.pk)
            outcome = "ok"
        except Conflict:
            outcome = "409"
        except DomainError as exc:
            outcome = f"{type(exc).__name__}: {exc.message}"
        finally:
            connections.close_all()
        with lock:
            results[outcome] += 1

    threads = [threading.Thread(target=run, args=(a,)) for a in actors]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert set(results) <= {"ok", "409"}, results
    assert Agreement.objects.filter(proposal=p).count() == 1
    assert Transfer.objects.filter(zone=m.zone, consignor=m.producer).count() == 1
