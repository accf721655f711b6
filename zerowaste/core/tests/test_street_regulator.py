"""A street regulator sees its street, whichever way it authenticates (issue 15, defects 1, 5, 7, 13)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from zerowaste.core import services
from zerowaste.core.authz import Actor, actor_for_membership, visible_audit_entries, visible_organizations
from zerowaste.core.errors import Forbidden
from zerowaste.core.models import Area, AuditEntry, Membership, Organization, Zone
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


@dataclass
class Streets:
    zone: Zone
    office: Organization  # 荣华街道办事处: a regulator whose area is its street
    membership: Membership  # a member of the office with the street as jurisdiction
    in_rh: Organization
    in_rh_community: Organization
    in_bx: Organization

    @property
    def actor(self) -> Actor:
        return actor_for_membership(self.membership)

    def session(self) -> Client:
        client = Client()
        client.force_login(self.membership.user)
        return client

    def token(self, scopes: tuple[str, ...] = ("admin",)) -> str:
        """A token the member created through the service, as the organization page does."""
        return services.create_token(self.actor, self.office.pk, name="t", scopes=list(scopes)).secret


@pytest.fixture
def street(zone: Zone, streets: dict[str, Area]) -> Streets:
    office = parties.make_org(zone, roles=("regulator",), name="荣华街道办事处", area_id=streets["rh"].pk)
    membership = parties.make_member(office, "admin", jurisdiction=streets["rh"])
    return Streets(
        zone=zone,
        office=office,
        membership=membership,
        in_rh=parties.make_org(zone, name="荣华甲公司", area_id=streets["rh"].pk),
        in_rh_community=parties.make_org(zone, name="荣华社区乙公司", area_id=streets["rh-c1"].pk),
        in_bx=parties.make_org(zone, name="博兴丙公司", area_id=streets["bx"].pk),
    )


def _get(client: Client, path: str, token: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, params, headers=headers)


def _org_ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content[:300]
    return {row["id"] for row in response.json()["items"]}


# --- Defect 1: the token's actor is the session's actor ----------------------------------------------


def test_street_token_sees_what_the_session_sees(street: Streets) -> None:
    by_session = _org_ids(_get(street.session(), "/api/organizations"))
    by_token = _org_ids(_get(Client(), "/api/organizations", street.token(("read",))))
    assert (
        by_token
        == by_session
        == {
            street.office.pk,
            street.in_rh.pk,
            street.in_rh_community.pk,
        }
    )
    response = _get(Client(), f"/api/organizations/{street.in_bx.pk}", street.token(("read",)))
    assert response.status_code == 404


def test_street_token_cannot_write_outside_its_street(street: Streets) -> None:
    from zerowaste.hazardous.models import Inspection

    token = street.token(("admin",))
    response = Client().post(
        "/api/hazardous/inspections",
        json.dumps({"organization_id": street.in_bx.pk, "result": "passed"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-street-1"},
    )
    assert response.status_code in (404, 422), response.content[:300]
    assert not Inspection.objects.filter(organization=street.in_bx).exists()


def test_system_made_token_of_a_street_office_keeps_to_the_office_street(street: Streets) -> None:
    token = parties.token_for(street.office, ("read",))  # made by the system: no creator
    assert street.in_bx.pk not in _org_ids(_get(Client(), "/api/organizations", token))
    assert street.in_rh.pk in _org_ids(_get(Client(), "/api/organizations", token))


def test_token_never_outranks_or_outlives_its_creator(street: Streets) -> None:
    token = street.token(("admin",))
    street.membership.role = "viewer"
    street.membership.save(update_fields=["role"])
    response = Client().patch(
        f"/api/organizations/{street.office.pk}",
        json.dumps({"contact_name": "王"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-street-2"},
    )
    assert response.status_code == 403, response.content[:300]
    street.membership.is_active = False
    street.membership.save(update_fields=["is_active"])
    assert _get(Client(), "/api/organizations", token).status_code == 401


# --- Defect 13: a read token never writes ----------------------------------------------------------


def test_read_token_cannot_recompute_tiers(zone: Zone) -> None:
    from zerowaste.hazardous.testing import make_park

    park = make_park(zone)
    token = parties.token_for(park.regulator, ("read",))
    before = AuditEntry.objects.count()
    response = Client().post(
        "/api/hazardous/tiers/recompute?year=2021",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-tiers"},
    )
    assert response.status_code == 403, response.content[:300]
    assert AuditEntry.objects.count() == before


def test_viewer_cannot_recompute_tiers_through_the_service(zone: Zone) -> None:
    from zerowaste.hazardous import services as hazardous
    from zerowaste.hazardous.testing import make_park

    park = make_park(zone)
    with pytest.raises(Forbidden):
        hazardous.compute_tiers(parties.actor_of(park.regulator, "viewer"), 2021)


# --- Defect 5: indicator drill-downs keep to the jurisdiction ---------------------------------------


def test_indicator_records_keep_to_the_street(street: Streets) -> None:
    from zerowaste.declarations.models import ProductionData

    for org, value in ((street.in_rh, "100.00"), (street.in_bx, "900.00")):
        ProductionData.objects.create(zone=street.zone, organization=org, year=2020, value_added_wan=value)
        services.add_licence(
            Actor.system(street.zone),
            org.pk,
            kind="hw_operating",
            number=f"京环危{org.pk}",
            issuer="生态环境局",
            valid_from=date(2015, 1, 1),
            valid_to=date(2035, 12, 31),
            waste_codes=["HW49"],
            annual_capacity_t=Decimal("10"),
        )
    for key in ("value_added_wan", "hw_operators"):
        for client, token in ((street.session(), None), (Client(), street.token(("read",)))):
            response = _get(client, "/api/indicators/records", token, year=2020, key=key)
            assert response.status_code == 200, response.content[:300]
            labels = " ".join(row["label"] for row in response.json()["rows"])
            assert street.in_rh.name in labels
            assert street.in_bx.name not in labels, (key, labels)
        page = street.session().get(f"/indicators/inputs/{key}/", {"year": 2020})
        assert page.status_code == 200
        assert street.in_bx.name not in page.content.decode()


# --- Defect 7: the audit log and the matching runs ---------------------------------------------------


def test_street_regulator_reads_only_its_street_audit_entries(street: Streets) -> None:
    parties.token_for(street.in_bx, ("read",))  # a token creation of another street's company
    parties.token_for(street.in_rh, ("read",))
    seen = visible_audit_entries(street.actor)
    about = {(e.model, e.object_id) for e in seen}
    assert ("core.organization", str(street.in_rh.pk)) in about
    assert ("core.organization", str(street.in_bx.pk)) not in about
    tokens_seen = {e.object_id for e in seen.filter(model="core.apitoken")}
    assert tokens_seen == {str(t.pk) for t in street.in_rh.api_tokens.all()} | {
        str(t.pk) for t in street.office.api_tokens.all()
    }
    zone_regulator = parties.actor_of(parties.make_org(street.zone, roles=("regulator",)), "viewer")
    assert (
        visible_audit_entries(zone_regulator).count()
        == AuditEntry.objects.filter(zone_id=street.zone.pk).count()
    )
    for client, token in ((street.session(), None), (Client(), street.token(("read",)))):
        response = _get(client, "/api/audit", token, limit=1000)
        assert response.status_code == 200
        ids = {(e["model"], e["object_id"]) for e in response.json()["items"]}
        assert ("core.organization", str(street.in_bx.pk)) not in ids
        assert ("core.organization", str(street.in_rh.pk)) in ids
    page = street.session().get("/audit/", {"verify": "1"})
    assert page.status_code == 200
    assert str(street.in_bx.uscc) not in page.content.decode()


def test_street_regulator_sees_only_the_proposals_its_street_is_party_to(street: Streets) -> None:
    from zerowaste.exchange import services as exchange
    from zerowaste.exchange.testing import demand, ensure_catalogs, supply

    ensure_catalogs(street.zone)
    receiver_bx = parties.make_org(
        street.zone, roles=("receiver",), name="博兴回收", area_id=street.in_bx.area_id
    )
    supply(street.in_rh, anonymous=False)
    supply(street.in_bx, anonymous=False)
    demand(receiver_bx, capacity="1000")
    run = exchange.run_matching(Actor.system(street.zone), period="2020-06")
    assert {p.supplier_id for p in run.proposals.all()} == {street.in_rh.pk, street.in_bx.pk}
    for client, token in ((street.session(), None), (Client(), street.token(("read",)))):
        response = _get(client, f"/api/exchange/runs/{run.pk}", token)
        assert response.status_code == 200, response.content[:300]
        supplies = {p["supply"] for p in response.json()["proposals"]}
        assert supplies == set(
            run.proposals.filter(supplier=street.in_rh).values_list("supply_id", flat=True)
        )
    page = street.session().get(f"/exchange/runs/{run.pk}/").content.decode()
    assert street.in_bx.name not in page and "博兴回收" in page
    with pytest.raises(Forbidden):
        exchange.run_matching(street.actor, period="2020-06")


def test_a_member_never_reaches_beyond_its_organization_area(
    street: Streets, streets: dict[str, Area]
) -> None:
    other_street = parties.make_member(street.office, "viewer", jurisdiction=streets["bx"])
    actor = actor_for_membership(other_street)
    assert actor.jurisdiction_area_ids == frozenset()
    assert street.in_bx.pk not in {o.pk for o in visible_organizations(actor)}
    community = parties.make_member(street.office, "viewer", jurisdiction=streets["rh-c1"])
    assert actor_for_membership(community).jurisdiction_area_ids == {streets["rh-c1"].pk}
    unset = parties.make_member(street.office, "viewer")
    assert actor_for_membership(unset).jurisdiction_area_ids == {streets["rh"].pk, streets["rh-c1"].pk}
