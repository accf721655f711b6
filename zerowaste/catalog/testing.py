"""Values for the catalog API's path parameters, for tests that walk every route (tenant isolation)."""

from __future__ import annotations

from collections.abc import Callable

from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, Zone

from . import services
from .models import CatalogVersion


def _loaded(org: Organization) -> Zone:
    zone = Zone.objects.get(pk=org.zone_id)
    services.load_standard_catalogs(Actor.system(zone))
    return zone


def _version_id(org: Organization) -> int:
    zone = _loaded(org)
    version = CatalogVersion.objects.get(zone=zone, stream="isw", label="2020")
    return version.pk


def _stream(org: Organization) -> str:
    _loaded(org)
    return "isw"


def _code(org: Organization) -> str:
    _loaded(org)
    return "99-08-03"


ISOLATION_PARAMS: dict[str, Callable[[Organization], object]] = {
    "version_id": _version_id,
    "stream": _stream,
    "code": _code,
}

# A zone's published catalogs are reference data every organization of the zone reads (and anyone
# may read through the public API): a foreign caller may see them, so no 404 is required.
ISOLATION_SHARED_PARAMS: set[str] = {"version_id", "stream", "code"}
