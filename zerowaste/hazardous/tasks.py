"""Scheduled work of the hazardous-waste pilot (django-tasks): the January recomputation of the year's
producer tiers. The yearly cron line `zerowaste hazardous tiers --january` enqueues it; the worker
beside `zerowaste serve` runs it (the immediate backend at once). No page computes tiers on a read."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from zerowaste.core.context import origin


@task()
def january_tiers_task(zone_id: int) -> dict[str, Any]:
    """Compute this year's tiers of the zone unless it has them already: its audit entries come once."""
    from django.utils import timezone

    from . import services

    with origin("system"):
        written = services.ensure_january_tiers(zone_id)
    return {"zone_id": zone_id, "year": timezone.localdate().year, "written": written}
