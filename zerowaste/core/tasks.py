"""Background work of the core: large organization imports (django-tasks; the worker runs beside
`zerowaste serve`, the immediate backend runs them at once)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from .context import origin


@task()
def import_organizations_task(
    zone_id: int, who: dict[str, Any], prepared: list[dict[str, Any]]
) -> dict[str, Any]:
    """Register the checked rows of an organization import, all or none, as the actor who sent them."""
    from . import imports

    with origin("system"):
        actor = imports.actor_from(zone_id, who)
        created = imports.write_organizations(actor, prepared)
    return {"created": len(created), "organization_ids": [o.pk for o in created][:1000]}
