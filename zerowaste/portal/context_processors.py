from typing import Any

from django.http import HttpRequest


def actor(request: HttpRequest) -> dict[str, Any]:
    """The acting organization and the user's other organizations, for the page header."""
    return {"actor": getattr(request, "actor", None), "memberships": getattr(request, "memberships", [])}
