"""Who may change which field of an organization (issue 15, defect 2; ADR 0041).

The table below has one row per field the API's OrganizationPatch accepts; a field added to the
rule without a row here fails `test_every_rule_field_has_a_case`. Each row is tried by the
organization's own admin and by a regulator of its jurisdiction, through the API: the field's
editor gets 200 and an audit entry; anyone else gets 403 naming the field, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from zerowaste.core import rules, services
from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.errors import Forbidden
from zerowaste.core.models import Area, AuditEntry, Organization, Zone
from zerowaste.testing import isolation, parties

# field -> a new value, given the zone's areas (street "rh", park)
NEW_VALUE: dict[str, Callable[[dict[str, Area]], Any]] = {
    "uscc": lambda areas: parties.make_uscc(),
    "name": lambda areas: "改名后的单位",
    "name_en": lambda areas: "Renamed Co.",
    "area_id": lambda areas: areas["park"].pk,
    "address": lambda areas: "荣华南路1号",
    "contact_name": lambda areas: "李工",
    "contact_phone": lambda areas: "010-87654321",
    "industry": lambda areas: "汽车",
    "roles": lambda areas: ["producer", "receiver"],
    "is_active": lambda areas: False,
}


@pytest.fixture
def areas(zone: Zone, streets: dict[str, Area]) -> dict[str, Area]:
    park = Area.objects.create(zone=zone, code="biomed", name="生物医药园", kind="park", parent=streets["rh"])
    return {**streets, "park": park}


@pytest.fixture
def producer_in_rh(zone: Zone, areas: dict[str, Area]) -> Organization:
    return parties.make_org(zone, roles=("producer",), area_id=areas["rh"].pk, name="荣华产废单位")


def _snapshot(org: Organization) -> dict[str, Any]:
    org = Organization.objects.get(pk=org.pk)
    return {**isolation._row(org), "roles": org.role_codes}


def test_every_rule_field_has_a_case() -> None:
    assert set(NEW_VALUE) == set(rules.ORG_FIELD_EDITOR)
    from zerowaste.core.api import OrganizationPatch

    assert set(OrganizationPatch.model_fields) == set(rules.ORG_FIELD_EDITOR)


def test_the_rule_gives_each_field_one_editor() -> None:
    own = rules.org_fields_editable(own=True, regulates=False)
    regulated = rules.org_fields_editable(own=False, regulates=True)
    assert own | regulated == set(rules.ORG_FIELD_EDITOR) and not own & regulated
    assert {"area_id", "uscc", "name", "roles", "is_active"} <= regulated
    assert {"name_en", "address", "contact_name", "contact_phone", "industry"} <= own
    # Nobody regulates itself; the operator changes everything.
    assert rules.org_fields_editable(own=True, regulates=True) == own
    assert rules.org_fields_editable(own=False, regulates=False, system=True) == set(rules.ORG_FIELD_EDITOR)
    assert rules.org_fields_editable(own=False, regulates=False) == frozenset()


@pytest.mark.parametrize("field", sorted(rules.ORG_FIELD_EDITOR))
@pytest.mark.parametrize("editor", ["own_admin", "street_regulator", "zone_regulator"])
def test_each_field_changes_only_by_its_editor(
    field: str, editor: str, zone: Zone, areas: dict[str, Area], producer_in_rh: Organization
) -> None:
    if editor == "own_admin":
        client = parties.api_client(producer_in_rh)
        may = rules.ORG_FIELD_EDITOR[field] == rules.SELF
    else:
        regulator = parties.make_org(
            zone, roles=("regulator",), area_id=areas["rh"].pk if editor == "street_regulator" else None
        )
        client = parties.ApiClient(parties.token_for(regulator), Client())
        if editor == "street_regulator":
            # The token of a street office acts within its street (defect 1 is another helper's):
            # the session of a member with that jurisdiction is what this rule must hold for.
            member = parties.make_member(regulator, "admin", jurisdiction=areas["rh"])
            session = Client()
            session.force_login(member.user)
            client = _SessionJson(session)  # type: ignore[assignment]
        may = rules.ORG_FIELD_EDITOR[field] == rules.REGULATOR
    value = NEW_VALUE[field](areas)
    before = _snapshot(producer_in_rh)
    audit_count = AuditEntry.objects.count()

    response = client.patch(f"/api/organizations/{producer_in_rh.pk}", {field: value})

    if may:
        assert response.status_code == 200, response.content
        after = _snapshot(producer_in_rh)
        stored = after[field] if field != "roles" else after["roles"]
        assert stored == value
        entry = AuditEntry.objects.order_by("-pk").first()
        assert entry is not None and entry.action == "organization.update"
        assert entry.object_id == str(producer_in_rh.pk) and field in entry.changes
    else:
        assert response.status_code == 403, response.content
        assert response.json()["errors"][0]["field"] == field
        assert field in response.json()["detail"]
        assert _snapshot(producer_in_rh) == before
        assert AuditEntry.objects.count() == audit_count


class _SessionJson:
    """A logged-in browser session speaking JSON to /api/ (CSRF checks off in the test client)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def patch(self, path: str, data: object) -> Any:
        return self.client.patch(path, data, content_type="application/json")


def test_own_admin_cannot_move_its_organization_into_a_park(
    areas: dict[str, Area], producer_in_rh: Organization
) -> None:
    client = parties.api_client(producer_in_rh)
    response = client.patch(
        f"/api/organizations/{producer_in_rh.pk}", {"area_id": areas["park"].pk, "address": "新地址"}
    )
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {"field": "area_id", "message": response.json()["errors"][0]["message"]}
    ]
    producer_in_rh.refresh_from_db()
    assert producer_in_rh.area_id == areas["rh"].pk and producer_in_rh.address == ""


def test_uscc_change_is_refused_not_ignored(producer_in_rh: Organization) -> None:
    client = parties.api_client(producer_in_rh)
    response = client.patch(f"/api/organizations/{producer_in_rh.pk}", {"uscc": parties.make_uscc()})
    assert response.status_code == 403 and response.json()["errors"][0]["field"] == "uscc"


def test_restating_a_registration_field_unchanged_is_allowed(producer_in_rh: Organization) -> None:
    client = parties.api_client(producer_in_rh)
    body = {"uscc": producer_in_rh.uscc.lower(), "name": producer_in_rh.name, "contact_name": "王工"}
    response = client.patch(f"/api/organizations/{producer_in_rh.pk}", body)
    assert response.status_code == 200, response.content
    assert response.json()["contact_name"] == "王工"


def test_unknown_field_is_422(producer_in_rh: Organization) -> None:
    client = parties.api_client(producer_in_rh)
    response = client.patch(f"/api/organizations/{producer_in_rh.pk}", {"created_at": "2020-01-01"})
    assert response.status_code == 422


def test_street_regulator_keeps_organizations_inside_its_street(
    zone: Zone, areas: dict[str, Area], producer_in_rh: Organization
) -> None:
    office = parties.make_org(zone, roles=("regulator",), area_id=areas["rh"].pk)
    actor = actor_for_membership(parties.make_member(office, "clerk", jurisdiction=areas["rh"]))
    services.update_organization(actor, producer_in_rh.pk, area_id=areas["park"].pk)  # a park in its street
    with pytest.raises(Forbidden) as exc:
        services.update_organization(actor, producer_in_rh.pk, area_id=areas["bx"].pk)
    assert exc.value.errors[0]["field"] == "area_id"
    with pytest.raises(Forbidden):
        services.update_organization(actor, producer_in_rh.pk, area_id=None)
    producer_in_rh.refresh_from_db()
    assert producer_in_rh.area_id == areas["park"].pk


def test_regulator_viewer_and_own_organization_cannot_regulate(
    zone: Zone, areas: dict[str, Area], producer_in_rh: Organization
) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    with pytest.raises(Forbidden):
        services.update_organization(parties.actor_of(regulator, "viewer"), producer_in_rh.pk, name="x")
    # Nobody regulates itself: its own registration is changed by another regulator or the operator.
    with pytest.raises(Forbidden) as exc:
        services.update_organization(parties.actor_of(regulator), regulator.pk, area_id=areas["rh"].pk)
    assert exc.value.errors[0]["field"] == "area_id"
    services.update_organization(Actor.system(zone), regulator.pk, area_id=areas["rh"].pk)


def test_regulator_change_is_audited_with_the_regulator(
    zone: Zone, areas: dict[str, Area], producer_in_rh: Organization
) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    services.update_organization(parties.actor_of(regulator), producer_in_rh.pk, area_id=areas["bx"].pk)
    entry = AuditEntry.objects.order_by("-pk").first()
    assert entry is not None and entry.actor_org_id == regulator.pk
    assert entry.changes["area_id"] == [areas["rh"].pk, areas["bx"].pk]


def test_edit_page_offers_only_the_actors_fields_and_refuses_forged_ones(
    zone: Zone, areas: dict[str, Area], producer_in_rh: Organization
) -> None:
    member = parties.make_member(producer_in_rh, "admin")
    client = Client()
    client.force_login(member.user)
    url = f"/organizations/{producer_in_rh.pk}/edit/"
    page = client.get(url).content.decode()
    assert 'name="address"' in page and 'name="area_id"' not in page and 'name="uscc"' not in page
    forged = client.post(url, {"address": "新地址", "area_id": areas["park"].pk})
    assert forged.status_code == 403
    producer_in_rh.refresh_from_db()
    assert producer_in_rh.area_id == areas["rh"].pk and producer_in_rh.address == ""
    saved = client.post(url, {"address": "新地址", "industry": "电子"})
    assert saved.status_code == 302
    producer_in_rh.refresh_from_db()
    assert producer_in_rh.address == "新地址"

    regulator = parties.make_org(zone, roles=("regulator",))
    officer = Client()
    officer.force_login(parties.make_member(regulator, "clerk").user)
    page = officer.get(url).content.decode()
    assert 'name="area_id"' in page and 'name="uscc"' in page and 'name="address"' not in page
    moved = officer.post(
        url,
        {
            "uscc": producer_in_rh.uscc,
            "name": producer_in_rh.name,
            "area_id": areas["bx"].pk,
            "roles": ["producer"],
            "is_active": "on",
        },
    )
    assert moved.status_code == 302, moved.content.decode()[:2000]
    producer_in_rh.refresh_from_db()
    assert producer_in_rh.area_id == areas["bx"].pk
