from typing import Any

from django.http import HttpRequest

from zerowaste.core.authz import Actor
from zerowaste.core.models import Area

# Who the declaration pages are for: a producer declares, a regulator reviews. A recycler or carrier
# (not also a producer) has nothing to do there, so the header does not offer them (issue 16 item 8).
DECLARATION_ROLES = frozenset({"producer", "regulator"})


def _supervises_household(current: Actor) -> bool:
    if current.is_regulator:
        return True
    org = current.organization
    if "property" not in current.org_roles or org is None or org.area_id is None:
        return False
    # a community's staff (household.alarms.community_staff_area): its organization's area is a community
    return Area.objects.filter(pk=org.area_id, kind=Area.Kind.COMMUNITY).exists()


def _hands_over_household(current: Actor) -> bool:
    """Whoever confirms household hand-overs by phone (household.field): a station's operator, the
    organization of a vehicle or plant with a household device, a merchant taking points."""
    from django.db.models import Q

    from zerowaste.household.models import Device, Merchant, Station

    org_id = current.organization_id
    if org_id is None:
        return False
    zone_id = current.zone_id
    return (
        Station.objects.filter(zone_id=zone_id, operator_id=org_id).exists()
        or Device.objects.filter(zone_id=zone_id, is_active=True)
        .filter(Q(vehicle__organization_id=org_id) | Q(site__organization_id=org_id))
        .exists()
        or Merchant.objects.filter(zone_id=zone_id, organization_id=org_id, is_active=True).exists()
    )


def actor(request: HttpRequest) -> dict[str, Any]:
    """The acting organization and the user's other organizations, for the page header, and which
    of the header's sections the acting organization has any use for."""
    current: Actor | None = getattr(request, "actor", None)
    return {
        "actor": current,
        "memberships": getattr(request, "memberships", []),
        "nav_declarations": bool(current and current.org_roles & DECLARATION_ROLES),
        # The household supervision pages: regulators (a zone's, a street's), a community's staff.
        "nav_household": bool(current and _supervises_household(current)),
        # The phone pages of station keepers, drivers, plant clerks and merchants; a park's 1+4 stations.
        "nav_household_field": bool(current and _hands_over_household(current)),
        "nav_household_park": bool(current and "park_operator" in current.org_roles),
    }
