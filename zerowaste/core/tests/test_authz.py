"""Who sees which organization, and 404 versus 403."""

from __future__ import annotations

from datetime import date

import pytest

from zerowaste.core import invitations, services
from zerowaste.core.authz import actor_for_membership, get_organization, visible_organizations
from zerowaste.core.errors import Forbidden, NotFound
from zerowaste.core.models import Area, Organization, Zone
from zerowaste.testing import parties


@pytest.fixture
def world(zone: Zone, other_zone: Zone, streets: dict[str, Area]) -> dict[str, Organization]:
    return {
        "regulator": parties.make_org(zone, roles=("regulator",)),
        "street_office": parties.make_org(zone, roles=("regulator",), area_id=streets["rh"].pk),
        "in_rh": parties.make_org(zone, area_id=streets["rh"].pk),
        "in_rh_community": parties.make_org(zone, area_id=streets["rh-c1"].pk),
        "in_bx": parties.make_org(zone, area_id=streets["bx"].pk),
        "in_bx_community": parties.make_org(zone, area_id=streets["bx-c1"].pk),
        "nowhere": parties.make_org(zone),
        "foreign_regulator": parties.make_org(other_zone, roles=("regulator",)),
        "foreign": parties.make_org(other_zone),
    }


def _ids(orgs: dict[str, Organization], *names: str) -> set[int]:
    return {orgs[n].pk for n in names}


def test_zone_regulator_sees_its_whole_zone(world: dict[str, Organization], zone: Zone) -> None:
    actor = parties.actor_of(world["regulator"], "viewer")
    seen = set(visible_organizations(actor).values_list("pk", flat=True))
    assert seen == set(Organization.objects.filter(zone=zone).values_list("pk", flat=True))
    assert world["foreign"].pk not in seen
    assert get_organization(actor, world["in_bx"].pk).pk == world["in_bx"].pk


def test_street_regulator_sees_only_its_street(
    world: dict[str, Organization], streets: dict[str, Area]
) -> None:
    membership = parties.make_member(world["street_office"], "viewer", jurisdiction=streets["rh"])
    actor = actor_for_membership(membership)
    seen = set(visible_organizations(actor).values_list("pk", flat=True))
    assert seen == _ids(world, "street_office", "in_rh", "in_rh_community")
    with pytest.raises(NotFound):
        get_organization(actor, world["in_bx"].pk)


def test_producer_sees_only_itself(world: dict[str, Organization]) -> None:
    actor = parties.actor_of(world["in_rh"])
    assert list(visible_organizations(actor)) == [world["in_rh"]]
    for other in ("in_bx", "regulator", "foreign"):
        with pytest.raises(NotFound):
            get_organization(actor, world[other].pk)


def test_nobody_sees_another_zone(world: dict[str, Organization]) -> None:
    actor = parties.actor_of(world["foreign_regulator"])
    assert set(visible_organizations(actor).values_list("pk", flat=True)) == _ids(
        world, "foreign_regulator", "foreign"
    )
    with pytest.raises(NotFound):
        get_organization(actor, world["regulator"].pk)


def test_regulator_sees_but_may_not_change(world: dict[str, Organization]) -> None:
    actor = parties.actor_of(world["regulator"])
    target = world["in_rh"]
    assert [o.pk for o in services.list_memberships(actor, target.pk)] == []
    # Only its registration (name, area, roles ...): what the organization states about itself is its own.
    with pytest.raises(Forbidden):
        services.update_organization(actor, target.pk, contact_name="x")
    with pytest.raises(Forbidden):
        services.add_site(actor, target.pk, name="x", kind="plant")
    with pytest.raises(Forbidden):
        services.list_tokens(actor, target.pk)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("admin", {"edit", "members", "licence", "site", "tokens"}),
        ("clerk", {"licence", "site"}),
        ("signer", set()),
        ("viewer", set()),
    ],
)
def test_membership_roles(producer: Organization, role: str, allowed: set[str]) -> None:
    actor = parties.actor_of(producer, role)
    attempts = {
        "edit": lambda: services.update_organization(actor, producer.pk, contact_name="王"),
        "members": lambda: invitations.invite(actor, producer.pk, username=f"new-{role}", role="viewer"),
        "licence": lambda: services.add_licence(
            actor,
            producer.pk,
            kind="other",
            number=f"L-{role}",
            issuer="i",
            valid_from=date(2020, 1, 1),
            valid_to=date(2021, 1, 1),
        ),
        "site": lambda: services.add_site(actor, producer.pk, name=f"site-{role}", kind="plant"),
        "tokens": lambda: services.create_token(actor, producer.pk, name="t", scopes=["read"]),
    }
    for name, attempt in attempts.items():
        if name in allowed:
            attempt()
        else:
            with pytest.raises(Forbidden):
                attempt()
    assert services.get_organization(actor, producer.pk) == producer  # everyone may view
