"""Core's part of the generic isolation test (see `zerowaste.testing.isolation`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta

from django.utils import timezone

from . import invitations, services
from .authz import Actor
from .models import Membership, Organization, User, Zone

PASSWORD = "correct-horse-battery-9"  # noqa: S105 - test password

_counter = itertools.count(1)


def _next() -> int:
    return next(_counter)


def _fresh_uscc() -> str:
    from zerowaste.testing.parties import make_uscc

    return make_uscc(900000 + _next())


def _fresh_plate() -> str:
    return f"京B{_next() % 100000:05d}"


ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "organization_id": lambda org: org.pk,
    "membership_id": lambda org: org.memberships.order_by("pk").first().pk,  # type: ignore[union-attr]
    "licence_id": lambda org: org.licences.order_by("pk").first().pk,  # type: ignore[union-attr]
    "site_id": lambda org: org.sites.order_by("pk").first().pk,  # type: ignore[union-attr]
    "vehicle_id": lambda org: org.vehicles.order_by("pk").first().pk,  # type: ignore[union-attr]
    "token_id": lambda org: org.api_tokens.order_by("pk").first().pk,  # type: ignore[union-attr]
    "invitation_id": lambda org: org.invitations.order_by("pk").first().pk,  # type: ignore[union-attr]
    # A background organization import (tests run tasks at once: no task is ever left to find).
    "task_id": lambda org: "00000000-0000-0000-0000-000000000000",
}

ISOLATION_VALUES: dict[str, Callable[[], object]] = {
    "OrganizationIn.uscc": _fresh_uscc,
    "roles": lambda: ["producer"],
    "InvitationIn.role": lambda: "viewer",
    "InvitationIn.username": lambda: f"iso-user-{_next()}",
    "LicenceIn.kind": lambda: "other",
    "LicenceIn.number": lambda: f"ISO-LIC-{_next()}",
    "SiteIn.kind": lambda: "plant",
    "VehicleIn.plate": _fresh_plate,
    "TokenIn.scopes": lambda: ["read"],
}


def isolation_csv() -> bytes:
    """A small, valid organization import file."""
    return f"统一社会信用代码,单位名称,角色\n{_fresh_uscc()},隔离测试导入{_next()},产废单位\n".encode()


def populate(owner: Organization, markers: list[str]) -> None:
    """One of everything for `owner`, each carrying a unique marker."""
    zone = Zone.objects.get(pk=owner.zone_id)
    actor = Actor.system(zone)
    n = _next()
    tag = f"MKR{n:04d}"
    markers += [owner.uscc, owner.name]
    if owner.name_en:
        markers.append(owner.name_en)
    user = User.objects.create_user(
        username=f"{tag}-member", email=f"{tag.lower()}@owner.example", password=PASSWORD
    )
    Membership.objects.create(zone=zone, organization=owner, user=user, role="admin")
    markers += [user.username, user.email]
    licence = services.add_licence(
        actor,
        owner.pk,
        kind="hw_transport",
        number=f"{tag}-LIC",
        issuer=f"{tag}-issuer",
        valid_from=date(2020, 1, 1),
        valid_to=date(2030, 1, 1),
        waste_codes=["HW08"],
        annual_capacity_t="123.456",
    )
    markers += [licence.number, licence.issuer]
    site = services.add_site(actor, owner.pk, name=f"{tag}-site", kind="storage", address=f"{tag}-address")
    markers += [site.name, site.address]
    plate = f"京Q{n % 100000:05d}"
    services.add_vehicle(actor, owner.pk, plate=plate, vehicle_type=f"{tag}-truck", permit_ids=[licence.pk])
    markers += [plate, f"{tag}-truck"]
    issued = services.create_token(
        actor, owner.pk, name=f"{tag}-token", scopes=["admin"], expires_at=timezone.now() + timedelta(days=30)
    )
    markers += [issued.token.name, issued.secret, issued.token.prefix, issued.token.token_hash]
    invited = invitations.invite(
        actor, owner.pk, role="clerk", username=f"{tag}-invitee", email=f"{tag.lower()}@invitee.example"
    )
    markers += [invited.invitation.username, invited.invitation.email, invited.link_token]


ISOLATION_SETUP = populate
