"""Every route of the core API: success, 422 naming the field, 401, 404, 403 and idempotent retry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.test import Client

from zerowaste.core import invitations, services
from zerowaste.core.authz import Actor
from zerowaste.core.models import AuditEntry, Membership, Organization, Zone
from zerowaste.testing import parties


@dataclass
class World:
    zone: Zone
    org: Organization
    foreign: Organization
    regulator: Organization
    ids: dict[str, int]
    admin: parties.ApiClient
    reader: parties.ApiClient
    viewer: Client

    def path(self, template: str, org: Organization | None = None) -> str:
        return template.format(org=(org or self.org).pk, **self.ids)


@pytest.fixture
def world(zone: Zone) -> World:
    org = parties.make_org(zone, roles=("producer", "carrier"), name="京东方测试")
    foreign = parties.make_org(zone, name="外单位")
    regulator = parties.make_org(zone, roles=("regulator",))
    system = Actor.system(zone)
    admin_member = parties.make_member(org, "admin")
    clerk_member = parties.make_member(org, "clerk")
    licence = services.add_licence(
        system,
        org.pk,
        kind="hw_transport",
        number="L-1",
        issuer="市交通委",
        valid_from=date(2020, 1, 1),
        valid_to=date(2030, 1, 1),
    )
    site = services.add_site(system, org.pk, name="一号厂区", kind="plant")
    vehicle = services.add_vehicle(system, org.pk, plate="京A10001", permit_ids=[licence.pk])
    token = services.create_token(system, org.pk, name="ERP", scopes=["read"]).token
    invitation = invitations.invite(system, org.pk, username="invitee", role="viewer").invitation
    viewer = Client()
    viewer.force_login(parties.make_member(org, "viewer").user)
    return World(
        zone,
        org,
        foreign,
        regulator,
        {
            "membership": clerk_member.pk,
            "admin_membership": admin_member.pk,
            "licence": licence.pk,
            "site": site.pk,
            "vehicle": vehicle.pk,
            "token": token.pk,
            "invitation": invitation.pk,
        },
        parties.api_client(org, ("admin",)),
        parties.api_client(org, ("read",)),
        viewer,
    )


ORG = "/api/organizations/{org}"
# method, path, good body, bad body, field named by the 422
WRITES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("patch", ORG, {"contact_name": "王工"}, {"name": "x" * 201}, "name"),
    (
        "post",
        ORG + "/invitations",
        {"username": "new-clerk", "role": "clerk"},
        {"username": "u", "role": "boss"},
        "role",
    ),
    ("post", ORG + "/invitations/{invitation}/revoke", {}, {}, ""),
    ("patch", ORG + "/memberships/{membership}", {"role": "signer"}, {"role": "boss"}, "role"),
    (
        "post",
        ORG + "/licences",
        {
            "kind": "other",
            "number": "N-2",
            "issuer": "局",
            "valid_from": "2021-01-01",
            "valid_to": "2022-01-01",
            "annual_capacity_t": "12.345",
        },
        {
            "kind": "other",
            "number": "N-3",
            "issuer": "局",
            "valid_from": "2021-01-01",
            "valid_to": "2020-01-01",
        },
        "valid_to",
    ),
    (
        "patch",
        ORG + "/licences/{licence}",
        {"issuer": "新发证机关"},
        {"valid_from": "not-a-date"},
        "valid_from",
    ),
    (
        "post",
        ORG + "/sites",
        {"name": "二号厂区", "kind": "storage", "latitude": "39.8", "longitude": "116.5"},
        {"name": "三号", "kind": "plant", "latitude": "95"},
        "latitude",
    ),
    ("patch", ORG + "/sites/{site}", {"address": "荣华路"}, {"kind": "spaceport"}, "kind"),
    ("post", ORG + "/vehicles", {"plate": "京B20002", "capacity_kg": 3000}, {"plate": "ABC"}, "plate"),
    ("patch", ORG + "/vehicles/{vehicle}", {"vehicle_type": "厢式货车"}, {"capacity_kg": -5}, "capacity_kg"),
    (
        "post",
        ORG + "/tokens",
        {"name": "ERP2", "scopes": ["declare"]},
        {"name": "t", "scopes": ["root"]},
        "scopes",
    ),
    ("post", ORG + "/tokens/{token}/revoke", {}, {}, ""),
]
READS = [
    "/api/me",
    "/api/organizations",
    ORG,
    ORG + "/memberships",
    ORG + "/licences",
    ORG + "/licences/{licence}",
    ORG + "/sites",
    ORG + "/sites/{site}",
    ORG + "/vehicles",
    ORG + "/vehicles/{vehicle}",
    ORG + "/tokens",
    ORG + "/invitations",
]
WRITE_IDS = [f"{m.upper()} {p}" for m, p, *_ in WRITES]


def _call(
    client: parties.ApiClient | Client,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    key: str | None = None,
) -> Any:
    if isinstance(client, parties.ApiClient):
        if method == "get":
            return client.get(path)
        return getattr(client, method)(path, body, idempotency_key=key)
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, json.dumps(body or {}), content_type="application/json")


def _fields(response: Any) -> list[str]:
    return [
        e.get("field") or (e.get("loc") or [""])[-1]
        for e in response.json().get("errors", response.json().get("detail", []))
        if isinstance(e, dict)
    ]


@pytest.mark.parametrize("template", READS)
def test_reads(world: World, template: str) -> None:
    path = world.path(template)
    assert world.admin.get(path).status_code == 200
    admin_only = template.endswith(("/tokens", "/invitations"))
    assert world.reader.get(path).status_code == (403 if admin_only else 200)
    assert Client().get(path).status_code == 401
    if "{org}" in template:
        assert world.admin.get(world.path(template, world.foreign)).status_code == 404
        foreign_client = parties.api_client(world.foreign)
        assert foreign_client.get(path).status_code == 404


@pytest.mark.parametrize(("method", "template", "good", "bad", "field"), WRITES, ids=WRITE_IDS)
def test_writes(
    world: World, method: str, template: str, good: dict[str, Any], bad: dict[str, Any], field: str
) -> None:
    path = world.path(template)
    foreign_client, regulator_client = parties.api_client(world.foreign), parties.api_client(world.regulator)
    audit_count = AuditEntry.objects.count()
    # 401 without credentials
    assert _call(Client(), method, path, good).status_code == 401
    # 404 for another organization's object (the foreign org's admin, or our admin on the foreign org)
    assert _call(foreign_client, method, path, good).status_code == 404
    assert _call(world.admin, method, world.path(template, world.foreign), good).status_code == 404
    # 403 for a role that sees but may not change: a read-scope token, a viewer session, a regulator
    assert _call(world.reader, method, path, good).status_code == 403
    assert _call(world.viewer, method, path, good).status_code == 403
    assert _call(regulator_client, method, path, good).status_code == 403
    assert AuditEntry.objects.count() == audit_count
    # 422 naming the field
    if field:
        response = _call(world.admin, method, path, bad)
        assert response.status_code == 422, response.content
        assert field in _fields(response), response.json()
        assert AuditEntry.objects.count() == audit_count
    # success, then an idempotent retry returns the first result and writes nothing more
    first = _call(world.admin, method, path, good, key="k-1")
    assert first.status_code in (200, 201), first.content
    after_first = AuditEntry.objects.count()
    assert after_first == audit_count + 1
    retry = _call(world.admin, method, path, good, key="k-1")
    assert retry.status_code == first.status_code
    assert retry.content == first.content
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert AuditEntry.objects.count() == after_first
    # the same key with another body is refused
    if good:
        other = _call(world.admin, method, path, {**good, "zzz": 1}, key="k-1")
        assert other.status_code == 422


def test_register_organization(world: World) -> None:
    regulator = parties.api_client(world.regulator)
    body = {"uscc": parties.make_uscc(), "name": "新注册单位", "roles": ["producer", "receiver"]}
    assert Client().post("/api/organizations", body, content_type="application/json").status_code == 401
    assert world.admin.post("/api/organizations", body).status_code == 403
    bad = regulator.post("/api/organizations", {**body, "uscc": "91110000600037341N"})
    assert bad.status_code == 422 and _fields(bad) == ["uscc"] and "18" in bad.json()["errors"][0]["message"]
    missing = regulator.post("/api/organizations", {"name": "x", "roles": ["producer"]})
    assert missing.status_code == 422 and "uscc" in _fields(missing)
    first = regulator.post("/api/organizations", body, idempotency_key="reg-1")
    assert first.status_code == 201 and first.json()["roles"] == ["producer", "receiver"]
    retry = regulator.post("/api/organizations", body, idempotency_key="reg-1")
    assert retry.json() == first.json()
    assert Organization.objects.filter(uscc=body["uscc"]).count() == 1
    again = regulator.post("/api/organizations", body)
    assert again.status_code == 422 and _fields(again) == ["uscc"]


def test_update_roles_via_api_refused_for_org_admin(world: World) -> None:
    response = world.admin.patch(world.path(ORG), {"roles": ["regulator"]})
    assert response.status_code == 403
    assert world.org.role_codes == ["carrier", "producer"]


def test_organizations_list_and_filters(world: World) -> None:
    regulator = parties.api_client(world.regulator)
    items = regulator.get("/api/organizations").json()["items"]
    assert {o["id"] for o in items} == {world.org.pk, world.foreign.pk, world.regulator.pk}
    carriers = regulator.get("/api/organizations", role="carrier").json()["items"]
    assert [o["id"] for o in carriers] == [world.org.pk]
    assert [o["id"] for o in regulator.get("/api/organizations", q="京东方").json()["items"]] == [
        world.org.pk
    ]
    assert [o["id"] for o in world.admin.get("/api/organizations").json()["items"]] == [world.org.pk]


def test_token_created_via_api_works_and_is_shown_once(world: World) -> None:
    response = world.admin.post(world.path(ORG + "/tokens"), {"name": "ERP", "scopes": ["read"]})
    secret = response.json()["secret"]
    new = parties.ApiClient(secret, Client())
    assert new.get("/api/me").json()["token_scopes"] == ["read"]
    listed = world.admin.get(world.path(ORG + "/tokens")).json()
    assert all("secret" not in t for t in listed)
    assert secret not in json.dumps(listed)
    world.admin.post(f"/api/organizations/{world.org.pk}/tokens/{response.json()['id']}/revoke")
    assert new.get("/api/me").status_code == 401


def test_membership_must_keep_admin_via_api(world: World) -> None:
    response = world.admin.patch(world.path(ORG + "/memberships/{admin_membership}"), {"role": "viewer"})
    assert response.status_code == 422 and _fields(response) == ["role"]
    assert Membership.objects.get(pk=world.ids["admin_membership"]).role == "admin"


def test_audit_routes(world: World) -> None:
    regulator = parties.api_client(world.regulator, ("read",))
    listed = regulator.get("/api/audit", model="core.site").json()
    assert listed["count"] == 1 and listed["items"][0]["action"] == "site.add"
    assert regulator.get("/api/audit/verify").json() == {
        "ok": True,
        "entries_checked": AuditEntry.objects.filter(zone_id=world.zone.pk).count(),
        "first_fault": None,
        "checkpoints_checked": 0,
        "latest_checkpoint": None,
    }
    assert world.admin.get("/api/audit").status_code == 403
    assert world.admin.get("/api/audit/verify").status_code == 403
    assert Client().get("/api/audit").status_code == 401


def test_bad_token_is_401(world: World) -> None:
    assert parties.ApiClient("zw_nope", Client()).get("/api/me").status_code == 401
    assert Client().get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
