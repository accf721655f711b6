"""Registers (outgoing, incoming, carried, all): filtering, overdue steps, the register row, and the
export to CSV/XLSX."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import tabular, workdays
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid

from . import rules
from .access import visible_transfers
from .models import (
    Transfer,
    TransferLeg,
)

REGISTERS = ("outgoing", "incoming", "carried", "all")


def register(
    actor: Actor,
    *,
    kind: str = "all",
    stream: str | None = None,
    state: str | None = None,
    year: int | None = None,
    overdue: bool = False,
    query: str | None = None,
    month: str | None = None,
    review: bool = False,
) -> QuerySet[Transfer]:
    """The transfers of one register of the actor, filtered; overdue = an open step past its due date;
    review = a discrepancy, part refused or refusal the regulator has not acknowledged yet."""
    qs = visible_transfers(actor)
    org = actor.organization_id
    if kind == "outgoing":
        qs = qs.filter(consignor_id=org)
    elif kind == "incoming":
        qs = qs.filter(consignee_id=org)
    elif kind == "carried":
        qs = qs.filter(
            pk__in=TransferLeg.objects.filter(zone_id=actor.zone_id, carrier_id=org).values("transfer_id")
        )
    elif kind != "all":
        raise Invalid.field("register", _("one of: %(k)s") % {"k": ", ".join(REGISTERS)})
    if stream:
        if stream not in rules.STREAMS:
            raise Invalid.field("stream", _("must be one of: %(s)s") % {"s": ", ".join(rules.STREAMS)})
        qs = qs.filter(stream=stream)
    if state:
        if state not in rules.STATES:
            raise Invalid.field("state", _("must be one of: %(s)s") % {"s": ", ".join(rules.STATES)})
        qs = qs.filter(state=state)
    if year:
        if not 1900 <= year <= 2200:
            raise Invalid.field("year", _("out of range"))
        qs = qs.filter(planned_date__year=year)
    if overdue:
        qs = qs.filter(state__in=rules.OPEN_STATES, due_date__lt=timezone.localdate())
    if review:  # what the regulator may acknowledge (the `has_discrepancy` precondition)
        qs = qs.filter(
            Q(state=rules.CLOSED) & (Q(discrepancy=True) | Q(refused_t__gt=0)) | Q(state=rules.REFUSED),
            acknowledged=False,
        )
    if query:
        qs = qs.filter(
            Q(number__icontains=query)
            | Q(consignee__name__icontains=query)
            | Q(consignor__name__icontains=query)
        )
    return qs.select_related("consignor", "consignee", "carrier").order_by("-planned_date", "-pk")


def is_overdue(t: Transfer, today: date | None = None) -> bool:
    return bool(t.state in rules.OPEN_STATES and t.due_date and t.due_date < (today or timezone.localdate()))


def overdue_alerts(actor: Actor, *, stream: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The open steps past their due date, in the register's order (at most `limit`)."""
    today = timezone.localdate()
    rows = []
    for t in register(actor, stream=stream, overdue=True)[:limit]:
        assert t.due_date is not None
        rows.append(
            {
                "id": t.pk,
                "number": t.number,
                "stream": t.stream,
                "state": t.state,
                "step": t.due_step,
                "due_date": t.due_date,
                "working_days_overdue": workdays.working_days_between(t.due_date, today),
                "consignor": t.consignor.name,
                "consignee": t.consignee.name,
            }
        )
    return rows


def as_row(t: Transfer) -> dict[str, Any]:
    """The register form of a transfer (CLI, exports)."""
    return {
        "id": t.pk,
        "number": t.number,
        "stream": t.stream,
        "state": t.state,
        "consignor": t.consignor.name,
        "consignor_uscc": t.consignor.uscc,
        "consignee": t.consignee.name,
        "consignee_uscc": t.consignee.uscc,
        "carrier": t.carrier.name,
        "planned_date": t.planned_date,
        "estimated_t": rules_fmt(t.estimated_t),
        "received_t": rules_fmt(t.received_t) if t.received_t is not None else None,
        "refused_t": rules_fmt(t.refused_t),
        "discrepancy": t.discrepancy,
        "inter_provincial": t.inter_provincial,
        "issued_at": t.issued_at,
        "closed_at": t.closed_at,
        "due_date": t.due_date,
        "overdue": is_overdue(t),
    }


def rules_fmt(value: Decimal | None) -> str:
    return str((value or rules.ZERO).quantize(rules.KILOGRAM))


EXPORT_HEADERS = [
    "联单编号 number",
    "类别 stream",
    "状态 state",
    "移出单位 consignor",
    "移出单位代码 USCC",
    "接收单位 consignee",
    "接收单位代码 USCC",
    "运输单位 carrier",
    "计划日期 planned",
    "预计量(吨) estimated t",
    "接收量(吨) received t",
    "拒收量(吨) refused t",
    "差异 discrepancy",
    "跨省 inter-provincial",
    "发起时间 issued",
    "关闭时间 closed",
    "期限 due",
    "逾期 overdue",
]


def export_rows(actor: Actor, **filters: Any) -> list[list[Any]]:
    rows = []
    for t in register(actor, **filters).iterator(chunk_size=2000):
        r = as_row(t)
        rows.append(
            [
                r["number"] or "",
                r["stream"],
                r["state"],
                r["consignor"],
                r["consignor_uscc"],
                r["consignee"],
                r["consignee_uscc"],
                r["carrier"],
                r["planned_date"].isoformat(),
                r["estimated_t"],
                r["received_t"] or "",
                r["refused_t"],
                "是" if r["discrepancy"] else "",
                "是" if r["inter_provincial"] else "",
                timezone.localtime(r["issued_at"]).strftime("%Y-%m-%d %H:%M") if r["issued_at"] else "",
                timezone.localtime(r["closed_at"]).strftime("%Y-%m-%d %H:%M") if r["closed_at"] else "",
                r["due_date"].isoformat() if r["due_date"] else "",
                "是" if r["overdue"] else "",
            ]
        )
    return rows


def export(actor: Actor, *, fmt: str = "xlsx", **filters: Any) -> tuple[bytes, str, str]:
    """The register as (content, content type, file extension)."""
    rows = export_rows(actor, **filters)
    if fmt == "csv":
        return tabular.write_csv(EXPORT_HEADERS, rows), "text/csv; charset=utf-8", "csv"
    if fmt != "xlsx":
        raise Invalid.field("format", _("csv or xlsx"))
    return (
        tabular.write_xlsx("联单台账", EXPORT_HEADERS, rows),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )
