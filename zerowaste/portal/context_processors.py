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
    }
