"""Registering organizations: a street regulator registers inside its street only, and an import of
many rows is written in a few statements with one audit entry per organization (issue 15, defects 4
and 10: a 20,000-row register took ~9 minutes row by row)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from zerowaste.core import audit, imports, services
from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Area, AuditEntry, Organization, OrganizationRole, Zone
from zerowaste.core.tabular import ImportRejected
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


@pytest.fixture
def street_actor(zone: Zone, streets: dict[str, Area]) -> Actor:
    office = parties.make_org(zone, roles=("regulator",), name="荣华街道办事处", area_id=streets["rh"].pk)
    return actor_for_membership(parties.make_member(office, "admin", jurisdiction=streets["rh"]))


def _csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = ["统一社会信用代码,单位名称,角色,所属街道"] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def test_a_street_regulator_registers_inside_its_street_only(
    street_actor: Actor, streets: dict[str, Area], english: None
) -> None:
    with pytest.raises(Invalid) as outside:
        services.register_organization(
            street_actor,
            uscc=parties.make_uscc(),
            name="博兴新公司",
            roles=["producer"],
            area_id=streets["bx"].pk,
        )
    assert outside.value.errors[0]["field"] == "area_id"
    assert "outside your jurisdiction" in str(outside.value)
    with pytest.raises(Invalid, match="choose a street or park"):
        services.register_organization(
            street_actor, uscc=parties.make_uscc(), name="无街道公司", roles=["producer"]
        )
    inside = services.register_organization(
        street_actor,
        uscc=parties.make_uscc(),
        name="荣华社区新公司",
        roles=["producer"],
        area_id=streets["rh-c1"].pk,
    )
    assert inside.area_id == streets["rh-c1"].pk


def test_a_street_regulators_import_faults_rows_outside_its_street(
    street_actor: Actor, english: None
) -> None:
    content = _csv(
        [(parties.make_uscc(), "荣华甲", "产废单位", "rh"), (parties.make_uscc(), "博兴乙", "产废单位", "bx")]
    )
    before = Organization.objects.count()
    with pytest.raises(ImportRejected) as rejected:
        imports.import_organizations(street_actor, content, filename="orgs.csv")
    assert [(f.row, f.field) for f in rejected.value.faults] == [(3, "area")]
    assert Organization.objects.count() == before


def test_the_api_refuses_a_street_regulators_registration_outside_its_street(
    street_actor: Actor, streets: dict[str, Area]
) -> None:
    client = Client()
    client.force_login(street_actor.user)  # type: ignore[arg-type]
    body = {
        "uscc": parties.make_uscc(),
        "name": "博兴新公司",
        "roles": ["producer"],
        "area_id": streets["bx"].pk,
    }
    response = client.post("/api/organizations", json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "area_id"


def test_an_import_is_written_in_bulk_with_one_audit_entry_each(zone: Zone, streets: dict[str, Area]) -> None:
    system = Actor.system(zone)
    rows = [(parties.make_uscc(), f"批量单位{i}", "产废单位;运输单位", "rh") for i in range(300)]
    prepared = imports.check_organizations(system, _csv(rows), filename="orgs.csv")
    entries_before = AuditEntry.objects.filter(zone_id=zone.pk).count()
    with CaptureQueriesContext(connection) as queries:
        created = imports.write_organizations(system, prepared)
    assert len(created) == 300
    assert len(queries) < 30, [q["sql"][:80] for q in queries.captured_queries]
    assert OrganizationRole.objects.filter(organization__in=created).count() == 600
    entries = AuditEntry.objects.filter(zone_id=zone.pk, action="organization.register").order_by("seq")
    assert AuditEntry.objects.filter(zone_id=zone.pk).count() == entries_before + 300
    last = entries.last()
    assert last is not None and last.object_id == str(created[-1].pk)
    assert last.changes["roles"] == [None, ["carrier", "producer"]]
    assert last.changes["area_id"] == [None, streets["rh"].pk]
    assert audit.verify(zone.pk).ok


def test_a_bulk_registration_refuses_a_uscc_taken_meanwhile(zone: Zone, english: None) -> None:
    system = Actor.system(zone)
    uscc = parties.make_uscc()
    prepared = imports.check_organizations(system, _csv([(uscc, "先到", "产废单位", "")]), filename="o.csv")
    services.register_organization(system, uscc=uscc, name="抢先", roles=["producer"])
    with pytest.raises(Invalid, match="USCC"):
        imports.write_organizations(system, prepared)
    assert Organization.objects.filter(uscc=uscc).count() == 1
