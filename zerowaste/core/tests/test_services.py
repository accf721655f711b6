"""Use cases of the core on the database: organizations, members, licences, sites, vehicles, tokens."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from zerowaste.core import invitations, licences, services
from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import ApiToken, AuditEntry, Licence, Organization, Zone
from zerowaste.testing import parties


def last_audit(zone_id: int) -> AuditEntry:
    return AuditEntry.objects.filter(zone_id=zone_id).order_by("-seq").first()  # type: ignore[return-value]


def field_of(exc: pytest.ExceptionInfo[Invalid]) -> str:
    return str(exc.value.errors[0]["field"])


# --- Organizations -----------------------------------------------------------------------------------


def test_register_organization_writes_audit_with_diff(zone: Zone) -> None:
    org = services.register_organization(
        Actor.system(zone),
        uscc=" 91110000600037341l ",
        name=" 京东方 ",
        roles=["receiver", "producer", "producer"],
    )
    assert org.uscc == "91110000600037341L" and org.name == "京东方"
    assert org.role_codes == ["producer", "receiver"]
    entry = last_audit(zone.pk)
    assert entry.action == "organization.register" and entry.object_id == str(org.pk)
    assert entry.changes["uscc"] == [None, "91110000600037341L"]
    assert entry.changes["roles"] == [None, ["producer", "receiver"]]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"uscc": "91110000600037341N"}, "uscc"),
        ({"name": "  "}, "name"),
        ({"roles": []}, "roles"),
        ({"roles": ["wizard"]}, "roles"),
        ({"area_id": 999999}, "area_id"),
        ({"name": "x" * 201}, "name"),
        ({"address": "x" * 301}, "address"),
        ({"name": "bad\x00name"}, "name"),
        ({"contact_phone": "1" * 41}, "contact_phone"),
    ],
)
def test_register_organization_refuses_bad_input(zone: Zone, kwargs: dict[str, object], field: str) -> None:
    data = {"uscc": parties.make_uscc(), "name": "单位", "roles": ["producer"], **kwargs}
    count = Organization.objects.count()
    with pytest.raises(Invalid) as exc:
        services.register_organization(Actor.system(zone), **data)  # type: ignore[arg-type]
    assert field_of(exc) == field
    assert Organization.objects.count() == count


def test_duplicate_uscc_refused(zone: Zone) -> None:
    org = parties.make_org(zone)
    with pytest.raises(Invalid) as exc:
        services.register_organization(Actor.system(zone), uscc=org.uscc, name="重复", roles=["producer"])
    assert field_of(exc) == "uscc"


def test_same_uscc_allowed_in_another_zone(zone: Zone, other_zone: Zone) -> None:
    org = parties.make_org(zone)
    other = services.register_organization(
        Actor.system(other_zone), uscc=org.uscc, name="另一区", roles=["producer"]
    )
    assert other.zone_id == other_zone.pk


def test_only_regulators_register(zone: Zone, producer: Organization, regulator: Organization) -> None:
    with pytest.raises(Forbidden):
        services.register_organization(
            parties.actor_of(producer), uscc=parties.make_uscc(), name="x", roles=["producer"]
        )
    org = services.register_organization(
        parties.actor_of(regulator, "clerk"), uscc=parties.make_uscc(), name="新单位", roles=["carrier"]
    )
    assert org.zone_id == zone.pk
    with pytest.raises(Forbidden):
        services.register_organization(
            parties.actor_of(regulator, "viewer"), uscc=parties.make_uscc(), name="y", roles=["producer"]
        )


def test_update_organization_by_own_admin_and_audit(producer: Organization) -> None:
    actor = parties.actor_of(producer)
    services.update_organization(actor, producer.pk, name_en="New name", contact_phone="010-1234")
    producer.refresh_from_db()
    assert producer.name_en == "New name"
    entry = last_audit(producer.zone_id)
    assert entry.action == "organization.update"
    assert entry.changes["contact_phone"] == ["", "010-1234"]
    assert "uscc" not in entry.changes


def test_roles_change_only_by_regulator(producer: Organization, regulator: Organization) -> None:
    with pytest.raises(Forbidden):
        services.update_organization(parties.actor_of(producer), producer.pk, roles=["producer", "receiver"])
    assert producer.role_codes == ["producer"]
    # Roles are a registration field: a regulator of the organization's jurisdiction or the system
    # (CLI) changes them (ADR 0041, test_org_fields.py walks every field).
    services.update_organization(
        Actor.system(Zone.objects.get(pk=producer.zone_id)), producer.pk, roles=["producer", "receiver"]
    )
    assert Organization.objects.get(pk=producer.pk).role_codes == ["producer", "receiver"]
    assert last_audit(producer.zone_id).changes["roles"] == [["producer"], ["producer", "receiver"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"uscc": "91110000600037341N"}, "uscc"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"industry": "a\x00b"}, "industry"),
        ({"is_active": "yes"}, "is_active"),
        ({"founded": "2020"}, "founded"),
    ],
)
def test_update_organization_refuses(producer: Organization, changes: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as exc:
        services.update_organization(
            Actor.system(Zone.objects.get(pk=producer.zone_id)), producer.pk, **changes
        )
    assert field_of(exc) == field


def test_viewer_cannot_edit(producer: Organization) -> None:
    with pytest.raises(Forbidden):
        services.update_organization(parties.actor_of(producer, "viewer"), producer.pk, name="x")


# --- Memberships ------------------------------------------------------------------------------------


def test_add_member_and_keep_one_admin(producer: Organization) -> None:
    admin = parties.make_member(producer, "admin")
    actor = actor_for_membership(admin)
    operator = Actor.system(Zone.objects.get(pk=producer.zone_id))
    clerk = services.add_member(
        operator, producer.pk, username="clerk-1", role="clerk", password="a-long-enough-pass-1"
    )
    assert clerk.user.check_password("a-long-enough-pass-1")
    assert last_audit(producer.zone_id).changes["role"] == [None, "clerk"]
    with pytest.raises(Invalid) as exc:
        services.update_member(actor, producer.pk, admin.pk, role="viewer")
    assert field_of(exc) == "role"
    with pytest.raises(Invalid):
        services.update_member(actor, producer.pk, admin.pk, is_active=False)
    services.update_member(actor, producer.pk, clerk.pk, role="admin")
    services.update_member(actor, producer.pk, admin.pk, role="viewer")
    admin.refresh_from_db()
    assert admin.role == "viewer"
    assert last_audit(producer.zone_id).changes == {"role": ["admin", "viewer"]}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "boss"}, "role"),
        ({"username": " "}, "username"),
        ({"password": "123"}, "password"),
        ({"jurisdiction_id": 1}, "jurisdiction_id"),
        ({"username": "u" * 151}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"full_name": "n\x00"}, "full_name"),
    ],
)
def test_add_member_refuses(producer: Organization, kwargs: dict[str, object], field: str) -> None:
    data = {"username": "new-user", "role": "clerk", **kwargs}
    operator = Actor.system(Zone.objects.get(pk=producer.zone_id))
    with pytest.raises(Invalid) as exc:
        services.add_member(operator, producer.pk, **data)  # type: ignore[arg-type]
    assert field_of(exc) == field


def test_existing_user_twice_refused(producer: Organization) -> None:
    actor = Actor.system(Zone.objects.get(pk=producer.zone_id))
    services.add_member(actor, producer.pk, username="twice", role="clerk")
    with pytest.raises(Invalid) as exc:
        services.add_member(actor, producer.pk, username="twice", role="viewer")
    assert field_of(exc) == "username"


def test_members_managed_only_by_admin(producer: Organization) -> None:
    for role in ("clerk", "signer", "viewer"):
        with pytest.raises(Forbidden):
            invitations.invite(
                parties.actor_of(producer, role), producer.pk, username=f"x-{role}", role="viewer"
            )
    # Even an admin only invites: adding directly is the operator's (CLI).
    with pytest.raises(Forbidden):
        services.add_member(parties.actor_of(producer), producer.pk, username="x-admin", role="viewer")


# --- Licences ---------------------------------------------------------------------------------------


def _licence(org: Organization, **extra: object) -> Licence:
    data = {
        "kind": "hw_operating",
        "number": "京环危第0001号",
        "issuer": "北京市生态环境局",
        "valid_from": date(2020, 1, 1),
        "valid_to": date(2025, 12, 31),
        "waste_codes": ["HW08", "HW49"],
        "annual_capacity_t": "100000.125",
        **extra,
    }
    return services.add_licence(parties.actor_of(org), org.pk, **data)  # type: ignore[arg-type]


def test_licence_capacity_is_exact_decimal(producer: Organization) -> None:
    licence = _licence(producer)
    licence.refresh_from_db()
    assert licence.annual_capacity_t == Decimal("100000.125")
    assert last_audit(producer.zone_id).changes["annual_capacity_t"] == [None, "100000.125"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"kind": "magic"}, "kind"),
        ({"number": " "}, "number"),
        ({"issuer": ""}, "issuer"),
        ({"valid_to": date(2019, 1, 1)}, "valid_to"),
        ({"annual_capacity_t": "1.0001"}, "annual_capacity_t"),
        ({"annual_capacity_t": "-1"}, "annual_capacity_t"),
        ({"annual_capacity_t": "abc"}, "annual_capacity_t"),
        ({"annual_capacity_t": "NaN"}, "annual_capacity_t"),
        ({"number": "n" * 65}, "number"),
        ({"issuer": "i\x00"}, "issuer"),
        ({"waste_codes": ["x" * 2000]}, "waste_codes"),
    ],
)
def test_licence_refuses(producer: Organization, extra: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as exc:
        _licence(producer, **extra)
    assert field_of(exc) == field


def test_duplicate_licence_number(producer: Organization, zone: Zone) -> None:
    _licence(producer)
    other = parties.make_org(zone)
    with pytest.raises(Invalid) as exc:
        _licence(other)
    assert field_of(exc) == "number"
    assert _licence(other, kind="hw_transport").pk  # same number, other kind


def test_licence_covers(producer: Organization, zone: Zone) -> None:
    licence = _licence(producer)
    # The organization's own entry counts only once a regulator has verified it (ADR 0042).
    assert licence.status == "pending"
    assert not services.licence_covers(licence, on=date(2021, 6, 1), waste_code="HW08")
    licence = licences.verify_licence(Actor.system(zone), producer.pk, licence.pk)
    assert services.licence_covers(licence, on=date(2021, 6, 1), waste_code="HW08")
    assert not services.licence_covers(licence, on=date(2021, 6, 1), waste_code="HW06")
    assert services.licence_covers(licence, on=date(2020, 1, 1)) and services.licence_covers(
        licence, on=date(2025, 12, 31)
    )
    assert not services.licence_covers(licence, on=date(2019, 12, 31))
    assert not services.licence_covers(licence, on=date(2026, 1, 1))
    services.update_licence(parties.actor_of(producer), producer.pk, licence.pk, is_revoked=True)
    licence.refresh_from_db()
    assert not services.licence_covers(licence, on=date(2021, 6, 1))
    assert last_audit(producer.zone_id).changes == {"is_revoked": [False, True]}


def test_update_licence_refuses_number_change(producer: Organization) -> None:
    licence = _licence(producer)
    with pytest.raises(Invalid) as exc:
        services.update_licence(parties.actor_of(producer), producer.pk, licence.pk, number="other")
    assert field_of(exc) == "number"


# --- Sites and vehicles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        ("91", "116", "latitude"),
        ("-90.5", "0", "latitude"),
        ("39", "180.1", "longitude"),
        ("x", "1", "latitude"),
    ],
)
def test_site_coordinates_range(producer: Organization, lat: str, lon: str, field: str) -> None:
    with pytest.raises(Invalid) as exc:
        services.add_site(
            parties.actor_of(producer), producer.pk, name="厂区", kind="plant", latitude=lat, longitude=lon
        )
    assert field_of(exc) == field


def test_site_add_update_and_duplicates(producer: Organization) -> None:
    actor = parties.actor_of(producer)
    site = services.add_site(
        actor, producer.pk, name="一号厂区", kind="plant", latitude="39.8", longitude="116.5"
    )
    assert site.latitude == Decimal("39.800000")
    services.add_site(actor, producer.pk, name="二号厂区", kind="storage")
    with pytest.raises(Invalid) as exc:
        services.add_site(actor, producer.pk, name="一号厂区", kind="plant")
    assert field_of(exc) == "name"
    with pytest.raises(Invalid) as exc:
        services.update_site(actor, producer.pk, site.pk, name="二号厂区")
    assert field_of(exc) == "name"
    services.update_site(actor, producer.pk, site.pk, address="荣华路1号")
    assert last_audit(producer.zone_id).changes == {"address": ["", "荣华路1号"]}
    with pytest.raises(Invalid) as exc:
        services.update_site(actor, producer.pk, site.pk, name="n" * 201)
    assert field_of(exc) == "name"


def test_vehicle_plate_and_permits(producer: Organization, zone: Zone) -> None:
    actor = parties.actor_of(producer)
    permit = _licence(producer, kind="hw_transport")
    other = parties.make_org(zone)
    foreign_permit = _licence(other, kind="hw_transport", number="other-1")
    vehicle = services.add_vehicle(
        actor, producer.pk, plate="京ad12345", permit_ids=[permit.pk], capacity_kg=5000
    )
    assert vehicle.plate == "京AD12345"
    assert last_audit(zone.pk).changes["permit_ids"] == [None, [permit.pk]]
    for kwargs, field in (
        ({"plate": "ABC"}, "plate"),
        ({"plate": "京AD12345"}, "plate"),
        ({"plate": "京B11111", "permit_ids": [foreign_permit.pk]}, "permit_ids"),
        ({"plate": "京B11112", "capacity_kg": -1}, "capacity_kg"),
        ({"plate": "京B11113", "vehicle_type": "t" * 41}, "vehicle_type"),
    ):
        with pytest.raises(Invalid) as exc:
            services.add_vehicle(actor, producer.pk, **kwargs)  # type: ignore[arg-type]
        assert field_of(exc) == field
    with pytest.raises(Invalid) as exc:
        services.update_vehicle(actor, producer.pk, vehicle.pk, permit_ids=[foreign_permit.pk])
    assert field_of(exc) == "permit_ids"
    services.update_vehicle(actor, producer.pk, vehicle.pk, permit_ids=[])
    assert last_audit(zone.pk).changes == {"permit_ids": [[permit.pk], []]}


# --- Tokens -----------------------------------------------------------------------------------------


def test_token_secret_shown_once_and_hashed(producer: Organization) -> None:
    issued = services.create_token(
        parties.actor_of(producer), producer.pk, name="ERP", scopes=["declare", "read"]
    )
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret.startswith("zw_")
    assert row.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiToken.objects.filter(pk=row.pk).values().first().values())  # type: ignore[union-attr]
    assert issued.secret not in stored
    entry = last_audit(producer.zone_id)
    assert entry.action == "token.create" and issued.secret not in str(entry.changes)
    assert row.last_used_at is None
    assert services.authenticate_token(issued.secret).pk == row.pk  # type: ignore[union-attr]
    row.refresh_from_db()
    assert row.last_used_at is not None
    assert services.authenticate_token(issued.secret + "x") is None
    assert services.authenticate_token("nonsense") is None


def test_token_revoke_and_expiry(producer: Organization) -> None:
    actor = parties.actor_of(producer)
    issued = services.create_token(actor, producer.pk, name="t", scopes=["read"])
    services.revoke_token(actor, producer.pk, issued.token.pk)
    assert services.authenticate_token(issued.secret) is None
    assert last_audit(producer.zone_id).action == "token.revoke"
    soon = services.create_token(
        actor, producer.pk, name="s", scopes=["read"], expires_at=timezone.now() + timedelta(seconds=60)
    )
    assert services.authenticate_token(soon.secret) is not None
    ApiToken.objects.filter(pk=soon.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.authenticate_token(soon.secret) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["root"]}, "scopes"),
        ({"name": ""}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"expires_at": timezone.now() - timedelta(days=1)}, "expires_at"),
    ],
)
def test_token_refuses(producer: Organization, kwargs: dict[str, object], field: str) -> None:
    data = {"name": "t", "scopes": ["read"], **kwargs}
    with pytest.raises(Invalid) as exc:
        services.create_token(parties.actor_of(producer), producer.pk, **data)  # type: ignore[arg-type]
    assert field_of(exc) == field


def test_token_of_inactive_org_refused(producer: Organization) -> None:
    secret = parties.token_for(producer)
    Organization.objects.filter(pk=producer.pk).update(is_active=False)
    assert services.authenticate_token(secret) is None
