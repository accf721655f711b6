"""Property: whatever the listings and licences, the matching never breaks a capacity or a licence."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Max
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.models import Licence
from zerowaste.exchange import rules, services
from zerowaste.exchange.models import DemandListing, MatchRun, Proposal, SupplyListing
from zerowaste.exchange.testing import ISW_CODE, Market, demand, supply
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db

HW_CODES = ("900-041-49", "900-249-08")  # HW49, HW08


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    supplies=st.lists(
        st.tuples(
            st.sampled_from([ISW_CODE, *HW_CODES]),
            st.integers(1, 40),
            st.booleans(),
            st.integers(-3, 3),
            st.integers(-3, 3),
        ),
        min_size=1,
        max_size=8,
    ),
    receivers=st.lists(
        st.tuples(
            st.integers(5, 60),  # capacity
            st.sampled_from(["none", "HW49", "HW08", "all"]),  # what the licence covers
            st.booleans(),  # revoked after listing
            st.integers(5, 40),  # radius
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_matching_respects_capacities_and_licences(
    market: Market,
    supplies: list[tuple[str, int, bool, int, int]],
    receivers: list[tuple[int, str, bool, int]],
) -> None:
    m = market
    system = Actor.system(m.zone)
    # Examples share the zone: close what the previous example listed.
    SupplyListing.objects.filter(zone=m.zone).update(status=rules.STATUS_WITHDRAWN)
    DemandListing.objects.filter(zone=m.zone).update(status=rules.STATUS_WITHDRAWN)
    revoked: set[int] = set()
    to_revoke: list[tuple[int, int]] = []
    for capacity, covers, revoke, radius in receivers:
        org = parties.make_org(m.zone, roles=("receiver",))
        prices = {ISW_CODE: "800"}
        if covers != "none":
            codes = {"HW49": ["HW49"], "HW08": ["HW08"], "all": ["HW49", "HW08"]}[covers]
            lic = core.add_licence(
                system,
                org.pk,
                kind="hw_operating",
                number=f"京环危{org.pk}",
                issuer="生态环境局",
                valid_from=date(2015, 1, 1),
                valid_to=date(2035, 12, 31),
                waste_codes=codes,
            )
            for code in HW_CODES:
                if code[-2:] in "".join(codes):
                    prices[code] = "1500"
            if revoke:
                to_revoke.append((lic.pk, org.pk))
        demand(org, prices=prices, capacity=str(capacity), radius=str(radius))
    for licence_id, org_id in to_revoke:  # revoked after listing: the matching must notice
        Licence.objects.filter(pk=licence_id).update(is_revoked=True)
        revoked.add(org_id)
    for code, tonnes, lot, dlat, dlon in supplies:
        supply(
            parties.make_org(m.zone, roles=("producer",)),
            code=code,
            tonnes=str(tonnes),
            price="10",
            kind="lot" if lot else "monthly",
            dlat=str(dlat / 50),
            dlon=str(dlon / 50),
        )
    run = services.run_matching(system, period="2020-06", time_limit_s=20)
    used: dict[int, Decimal] = defaultdict(Decimal)
    per_supply: dict[int, list[Decimal]] = defaultdict(list)
    for p in run.proposals.select_related("supply", "demand"):
        used[p.demand_id] += p.quantity_t
        per_supply[p.supply_id].append(p.quantity_t)
        assert p.distance_km <= p.demand.service_radius_km
        assert p.value_cny > 0
        if p.supply.stream == "hw":
            assert p.receiver_id not in revoked
            licences = Licence.objects.filter(
                organization_id=p.receiver_id, kind="hw_operating", is_revoked=False
            )
            assert any(
                rules.licence_covers_code(lic.waste_codes, p.waste_code, "HW" + p.waste_code[-2:])
                for lic in licences
            )
    for demand_id, total in used.items():
        assert total <= DemandListing.objects.get(pk=demand_id).capacity_t_per_month
    for supply_id, parts in per_supply.items():
        s = SupplyListing.objects.get(pk=supply_id)
        assert sum(parts) <= s.quantity_t
        if not s.divisible:
            assert parts == [s.quantity_t]
    assert run.greedy_value_cny <= run.value_cny <= run.bound_cny


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    supplies=st.lists(
        st.tuples(st.integers(1, 12), st.booleans(), st.integers(-3, 3)), min_size=1, max_size=5
    ),
    capacities=st.lists(st.integers(1, 15), min_size=1, max_size=3),
    # Per run: its month, then what the parties do with each of its proposals before the next run.
    runs=st.lists(
        st.tuples(
            st.sampled_from(["2020-06", "2020-07"]),
            st.lists(st.sampled_from(["accept", "decline", "half", "leave"]), max_size=8),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_agreements_and_open_proposals_never_exceed_a_capacity_across_reruns(
    market: Market,
    supplies: list[tuple[int, bool, int]],
    capacities: list[int],
    runs: list[tuple[str, list[str]]],
) -> None:
    """Issue 16, item 14: whatever runs, acceptances and refusals, what is agreed for a month plus
    what is open stays within each demand's monthly capacity and each supply's quantity."""
    m = market
    system = Actor.system(m.zone)
    SupplyListing.objects.filter(zone=m.zone).update(status=rules.STATUS_WITHDRAWN)
    DemandListing.objects.filter(zone=m.zone).update(status=rules.STATUS_WITHDRAWN)
    Proposal.objects.filter(zone=m.zone, status=rules.PROPOSED).update(status=rules.SUPERSEDED)
    first_run = MatchRun.objects.filter(zone=m.zone).aggregate(last=Max("pk"))["last"] or 0
    for capacity in capacities:
        demand(parties.make_org(m.zone, roles=("receiver",)), capacity=str(capacity))
    for tonnes, lot, dlat in supplies:
        supply(
            parties.make_org(m.zone, roles=("producer",)),
            tonnes=str(tonnes),
            kind="lot" if lot else "monthly",
            dlat=str(dlat / 100),
        )

    def check() -> None:
        mine = Proposal.objects.filter(zone=m.zone, run_id__gt=first_run).select_related(
            "run", "supply", "demand"
        )
        by_demand: dict[tuple[int, date | None], Decimal] = defaultdict(Decimal)
        by_supply: dict[tuple[int, date | None], Decimal] = defaultdict(Decimal)
        for p in mine.filter(status__in=[rules.PROPOSED, rules.ACCEPTED]):
            by_demand[p.demand_id, p.run.period] += p.quantity_t
            month = None if p.supply.kind == rules.KIND_LOT else p.run.period
            by_supply[p.supply_id, month] += p.quantity_t
        for (demand_id, _month), total in by_demand.items():
            assert total <= DemandListing.objects.get(pk=demand_id).capacity_t_per_month
        for (supply_id, _month), total in by_supply.items():
            assert total <= SupplyListing.objects.get(pk=supply_id).quantity_t

    for period, actions in runs:
        run = services.run_matching(system, period=period, time_limit_s=10)
        assert run.greedy_value_cny <= run.value_cny <= run.bound_cny
        check()
        for proposal, action in zip(run.proposals.order_by("pk"), actions, strict=False):
            proposal.refresh_from_db()
            if proposal.status != rules.PROPOSED:  # a lot agreed with another buyer meanwhile
                continue
            if action == "accept":
                services.accept_proposal(system, proposal.pk)
            elif action == "half":
                services.accept_proposal(parties.actor_of(proposal.supplier, "clerk"), proposal.pk)
            elif action == "decline":
                services.decline_proposal(system, proposal.pk)
            check()
