"""Supervision figures over the transfers an actor sees, and the declarations' seam (closed tonnes
per waste code out of an organization)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import periods
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid

from . import rules
from .access import visible_transfers
from .models import (
    TransferLine,
)
from .registers import rules_fmt


def years_with_data(actor: Actor) -> list[int]:
    """The years of the issued manifests the actor sees (by planned date), latest first: one query."""
    return periods.years_of(visible_transfers(actor).exclude(state=rules.DRAFT), "planned_date")


def statistics(
    actor: Actor, *, year: int | None = None, stream: str | None = None, month: int | None = None
) -> dict[str, Any]:
    """Issued, closed and open by month, tonnes by code and by receiver, average days to close,
    discrepancies, overdue steps, inter-provincial moves — over the transfers the actor sees
    (planned in the year, or in one month of it)."""
    qs = visible_transfers(actor).exclude(state=rules.DRAFT)
    if stream:
        qs = qs.filter(stream=stream)
    if year:
        qs = qs.filter(planned_date__year=year)
    if month:
        if not year or not 1 <= month <= 12:
            raise Invalid.field("month", _("a month between 1 and 12, with a year"))
        qs = qs.filter(planned_date__month=month)
    by_month: dict[str, dict[str, Any]] = defaultdict(lambda: {"issued": 0, "closed": 0, "open": 0})
    for row in qs.annotate(m=TruncMonth("planned_date")).values("m", "state").annotate(n=Count("pk")):
        key = row["m"].strftime("%Y-%m") if row["m"] else "?"
        by_month[key]["issued"] += row["n"]
        if row["state"] == rules.CLOSED:
            by_month[key]["closed"] += row["n"]
        if row["state"] in rules.OPEN_STATES:
            by_month[key]["open"] += row["n"]
    closed = qs.filter(state=rules.CLOSED)
    lines = TransferLine.objects.filter(transfer__in=closed.values("pk"))
    by_code = [
        {"waste_code": r["waste_code"], "tonnes": rules_fmt(r["t"])}
        for r in lines.values("waste_code").annotate(t=Sum("received_t")).order_by("-t", "waste_code")[:50]
    ]
    by_category = [
        {"category": r["category"], "tonnes": rules_fmt(r["t"])}
        for r in lines.values("category").annotate(t=Sum("received_t")).order_by("-t", "category")
    ]
    by_receiver = [
        {"consignee": r["consignee__name"], "tonnes": rules_fmt(r["t"]), "transfers": r["n"]}
        for r in closed.values("consignee__name")
        .annotate(t=Sum("received_t"), n=Count("pk"))
        .order_by("-t")[:50]
    ]
    durations = [(c - i).total_seconds() for i, c in closed.values_list("issued_at", "closed_at") if i and c]
    totals = qs.aggregate(issued=Count("pk"), estimated=Sum("estimated_t"))
    closed_totals = closed.aggregate(n=Count("pk"), received=Sum("received_t"))
    inter = qs.filter(inter_provincial=True).aggregate(n=Count("pk"), t=Sum("estimated_t"))
    return {
        "year": year,
        "stream": stream,
        "issued": totals["issued"],
        "closed": closed_totals["n"],
        "open": qs.filter(state__in=rules.OPEN_STATES).count(),
        "refused": qs.filter(state=rules.REFUSED).count(),
        "cancelled": qs.filter(state=rules.CANCELLED).count(),
        "estimated_t": rules_fmt(totals["estimated"]),
        "received_t": rules_fmt(closed_totals["received"]),
        "by_month": [{"month": k, **v} for k, v in sorted(by_month.items())],
        "by_code": by_code,
        "by_category": by_category,
        "by_receiver": by_receiver,
        "average_days_to_close": round(sum(durations) / len(durations) / 86400, 2) if durations else None,
        "discrepancies": qs.filter(discrepancy=True).count(),
        "partial_refusals": closed.filter(refused_t__gt=0).count(),
        "overdue": qs.filter(state__in=rules.OPEN_STATES, due_date__lt=timezone.localdate()).count(),
        "inter_provincial": {
            "transfers": inter["n"],
            "tonnes": rules_fmt(inter["t"]),
            "share_t": (
                str(((inter["t"] or 0) / totals["estimated"]).quantize(Decimal("0.0001")))
                if totals["estimated"]
                else None
            ),
        },
    }


# --- The declarations' seam ------------------------------------------------------------------------


def closed_quantities(
    zone_id: int, organization_id: int, period_start: date, period_end: date
) -> dict[str, Decimal]:
    """Tonnes received on closed transfers out of the organization, per waste code, closed in the period."""
    rows = (
        TransferLine.objects.filter(
            zone_id=zone_id,
            transfer__consignor_id=organization_id,
            transfer__state=rules.CLOSED,
            transfer__planned_date__gte=period_start,
            transfer__planned_date__lte=period_end,
        )
        .values("waste_code")
        .annotate(t=Sum(F("received_t")))
    )
    return {r["waste_code"]: (r["t"] or rules.ZERO) for r in rows}


def register_with_declarations() -> None:
    try:
        from zerowaste.declarations import services as declarations
    except ImportError:  # pragma: no cover - the declarations app is not installed
        return
    register = getattr(declarations, "register_transfer_provider", None)
    if register is not None:
        register(closed_quantities)


def average(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None
