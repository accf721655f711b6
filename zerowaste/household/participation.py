"""Residents' participation (居民参与) per community and month, from the live records.

`refresh_month(zone_id, month)` rolls a month up from the raw hand-over events: per community, the
registered households with at least one drop (a source → station event naming the household) in the
month; the `ParticipationMonth` rows of the month are replaced in one transaction under the zone's row
lock, so a run repeated (or two at once) leaves the same rows. The household service's scheduler pass
runs it after each day's detection for that day's month (the month so far, then the whole month);
`zerowaste household participation --month YYYY-MM`, `POST /api/household/participation` and the
dashboard's button run it on demand. Pages and figures read the month rows, never the raw events.

`month_rows(actor, month)` is what a supervisor reads: per community in its scope, households
registered, participating and the rate.
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import Area, Zone

from . import rules
from .models import HandoverEvent, ParticipationMonth, Source


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def parse_month(text: str) -> date:
    """`YYYY-MM` → the month's first day; a clear error naming the field."""
    parts = (text or "").strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise Invalid.field("month", _("%(v)s is not a month: write 2024-05") % {"v": (text or "")[:20]})
    year, month = int(parts[0]), int(parts[1])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise Invalid.field("month", _("must be a month from 2000-01 to 2100-12"))
    return date(year, month, 1)


def count_month(zone_id: int, month: date) -> dict[int, int]:
    """Community → households with at least one drop in the month (from the raw events; the month's
    partitions only: `occurred_at` bounds the scan, `day` decides)."""
    first, last = month_bounds(month)
    rows = (
        HandoverEvent.objects.filter(
            zone_id=zone_id,
            occurred_at__gte=_utc(first - timedelta(days=1)),
            occurred_at__lt=_utc(last + timedelta(days=2)),
            day__gte=first,
            day__lte=last,
            node=rules.NODE_SOURCE_STATION,
            source__isnull=False,
            source__kind=rules.SOURCE_HOUSEHOLD,
        )
        .values("source__community_id")
        .annotate(n=Count("source_id", distinct=True))
        .order_by()
    )
    return {int(r["source__community_id"]): int(r["n"]) for r in rows if r["source__community_id"]}


def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Refreshed:
    month: date
    communities: int
    households: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "month": self.month.strftime("%Y-%m")}


def refresh_month(zone_id: int, month: date, *, actor: Actor | None = None) -> Refreshed:
    """Replace the month's ParticipationMonth rows by the counts of its events (idempotent); audited
    as the actor (the system when the scheduler runs it)."""
    first, _last = month_bounds(month)
    with transaction.atomic():
        zone = Zone.objects.select_for_update().get(pk=zone_id)  # one refresh of a zone at a time
        counts = count_month(zone_id, first)
        ParticipationMonth.objects.filter(zone_id=zone_id, month=first).delete()
        ParticipationMonth.objects.bulk_create(
            [
                ParticipationMonth(zone_id=zone_id, community_id=community_id, month=first, households=n)
                for community_id, n in sorted(counts.items())
            ]
        )
        result = Refreshed(first, len(counts), sum(counts.values()))
        audit.record(
            actor or Actor.system(zone),
            "household.participation_refresh",
            zone,
            {
                "month": first.strftime("%Y-%m"),
                "communities": result.communities,
                "households": result.households,
            },
        )
    return result


def refresh_for(actor: Actor, month: date) -> Refreshed:
    """A person's (or a client's) recomputation: the system or a zone-wide regulator (admin, clerk)."""
    zone_wide = actor.is_regulator and actor.jurisdiction_area_ids is None
    if not (actor.is_system or (zone_wide and actor.member_role in ("admin", "clerk"))):
        raise Forbidden(_("only the zone's regulators recompute the participation"))
    return refresh_month(actor.zone_id, month, actor=actor)


def by_community(zone_id: int, month: date, community_ids: list[int] | None = None) -> dict[int, int]:
    """Community → participating households of the month, as rolled up (no raw events)."""
    qs = ParticipationMonth.objects.filter(zone_id=zone_id, month=month.replace(day=1))
    if community_ids is not None:
        qs = qs.filter(community_id__in=community_ids)
    return dict(qs.values_list("community_id", "households"))


@dataclass(frozen=True)
class CommunityRow:
    community_id: int
    community: str  # code
    community_name: str
    street: str
    households: int
    participating: int
    rate_pct: Decimal | None


def month_rows(actor: Actor, month: date) -> list[CommunityRow]:
    """Per community the actor supervises: registered households, participating, rate (%)."""
    from . import supervision

    visible = supervision.scope(actor)
    communities = Area.objects.filter(zone_id=actor.zone_id, kind=Area.Kind.COMMUNITY).select_related(
        "parent"
    )
    if visible is not None:
        communities = communities.filter(pk__in=sorted(visible))
    communities = communities.order_by("code", "pk")
    ids = [c.pk for c in communities]
    registered = dict(
        Source.objects.filter(zone_id=actor.zone_id, community_id__in=ids)
        .values("community_id")
        .annotate(n=Count("pk", filter=Q(kind=rules.SOURCE_HOUSEHOLD)))
        .order_by()
        .values_list("community_id", "n")
    )
    counts = by_community(actor.zone_id, month, ids)
    rows = []
    for c in communities:
        households = int(registered.get(c.pk, 0))
        n = min(counts.get(c.pk, 0), households) if households else counts.get(c.pk, 0)
        rate = rate_pct(n, households)
        rows.append(
            CommunityRow(c.pk, c.code, c.name, c.parent.name if c.parent else "", households, n, rate)
        )
    return rows


def rate_pct(participating: int, households: int) -> Decimal | None:
    if not households:
        return None
    return (Decimal(100) * participating / households).quantize(Decimal("0.1"), ROUND_HALF_UP)


def row_dict(row: CommunityRow) -> dict[str, Any]:
    out = asdict(row)
    out["rate_pct"] = None if row.rate_pct is None else str(row.rate_pct)
    return out


def total_households(zone_id: int, month: date) -> int:
    return int(
        ParticipationMonth.objects.filter(zone_id=zone_id, month=month.replace(day=1)).aggregate(
            s=Sum("households")
        )["s"]
        or 0
    )
