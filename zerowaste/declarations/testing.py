"""Declarations' part of the generic isolation test (see `zerowaste.testing.isolation`)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, OrganizationRole, Site, Zone

from .models import Declaration, DeclarationLine, ImportJob


def _ensure_producer(org: Organization) -> None:
    OrganizationRole.objects.get_or_create(zone_id=org.zone_id, organization=org, role="producer")


def owned_declaration(org: Organization) -> Declaration:
    """A submitted declaration of `org` (created directly: the catalog may not be loaded), with its marker."""
    _ensure_producer(org)
    found = Declaration.objects.filter(zone_id=org.zone_id, organization=org).order_by("pk").first()
    if found is not None:
        return found
    site, _created = Site.objects.get_or_create(
        zone_id=org.zone_id, organization=org, name=f"DECL-SITE-{org.pk}", defaults={"kind": "plant"}
    )
    decl = Declaration.objects.create(
        zone_id=org.zone_id,
        organization=org,
        stream="isw",
        period_kind="month",
        period_start="2020-03-01",
        period_end="2020-03-31",
        status="submitted",
        submissions=1,
        created_by=f"DECL-CLERK-{org.pk}",
    )
    DeclarationLine.objects.create(
        zone_id=org.zone_id,
        declaration=decl,
        site=site,
        waste_code="99-01-01",
        waste_name=f"DECL-WASTE-{org.pk}",
        category_code="ISW01",
        generated_t=Decimal("1.234"),
        transferred_util_t=Decimal("1.234"),
        destination=f"DECL-DEST-{org.pk}",
    )
    return decl


def owned_job(org: Organization) -> ImportJob:
    _ensure_producer(org)
    found = ImportJob.objects.filter(zone_id=org.zone_id, organization=org).order_by("pk").first()
    if found is not None:
        return found
    return ImportJob.objects.create(
        zone_id=org.zone_id,
        organization=org,
        filename=f"DECL-FILE-{org.pk}.csv",
        content=b"x",
        status=ImportJob.Status.CHECKED,
        total_rows=1,
        created_by=f"DECL-CLERK-{org.pk}",
    )


ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "declaration_id": lambda org: owned_declaration(org).pk,
    "job_id": lambda org: owned_job(org).pk,
}

ISOLATION_VALUES: dict[str, Callable[[], object]] = {
    "DeclarationIn.period": lambda: "2020-03",
    "DeclarationIn.stream": lambda: "isw",
    "ReasonIn.reason": lambda: "isolation",
    "AmendIn.reason": lambda: "isolation",
}


def populate(owner: Organization, markers: list[str]) -> None:
    """A submitted declaration and a checked import of the owner, with their marker strings."""
    Zone.objects.get(pk=owner.zone_id)
    owned_declaration(owner)
    owned_job(owner)
    markers += [
        f"DECL-SITE-{owner.pk}",
        f"DECL-WASTE-{owner.pk}",
        f"DECL-DEST-{owner.pk}",
        f"DECL-FILE-{owner.pk}.csv",
    ]
    _ = Actor


ISOLATION_SETUP = populate
