from typing import Any

from django.http import HttpRequest

from zerowaste.core.authz import Actor

# Who the declaration pages are for: a producer declares, a regulator reviews. A recycler or carrier
# (not also a producer) has nothing to do there, so the header does not offer them (issue 16 item 8).
DECLARATION_ROLES = frozenset({"producer", "regulator"})


def actor(request: HttpRequest) -> dict[str, Any]:
    """The acting organization and the user's other organizations, for the page header, and which
    of the header's sections the acting organization has any use for."""
    current: Actor | None = getattr(request, "actor", None)
    return {
        "actor": current,
        "memberships": getattr(request, "memberships", []),
        "nav_declarations": bool(current and current.org_roles & DECLARATION_ROLES),
        # The household supervision pages are the regulators' (a zone's, a street's).
        "nav_household": bool(current and current.is_regulator),
    }
