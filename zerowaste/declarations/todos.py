"""Declarations waiting for the acting organization (its home page, `core.home`): a producer's periods
ended and not declared, declarations returned to correct, drafts not submitted; a regulator's:
declarations to review and returned ones awaiting resubmission."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from zerowaste.core.authz import Actor
from zerowaste.core.home import ITEMS_SHOWN, Todo, TodoItem

from . import rules, services
from .models import Declaration
from .rules import Status

# A producer silent for years is told of its next period and how many follow, not of 70 links.
MAX_PERIODS_COUNTED = 120


def _stream_label(stream: str) -> str:
    return str(dict(rules.STREAM_CHOICES).get(stream, stream))


def _todo(
    key: str, title: str, qs: QuerySet[Declaration], status: str, page: str, *, urgent: bool = False
) -> Todo:
    qs = qs.select_related("organization").order_by("period_start", "pk")
    count = qs.count()
    if not count:
        return Todo(key, title, 0, "")
    items = tuple(
        TodoItem(
            label=f"{d.period_label} {_stream_label(d.stream)}",
            url=reverse(page, args=[d.pk]),
            note=d.return_reason or d.organization.name,
        )
        for d in qs[:ITEMS_SHOWN]
    )
    return Todo(key, title, count, f"{reverse('declarations:list')}?status={status}", items, urgent=urgent)


def _next_period(period: rules.Period) -> rules.Period:
    start = period.end + timedelta(days=1)
    number = (
        1 if period.kind == "year" else (start.month if period.kind == "month" else (start.month + 2) // 3)
    )
    return rules.make_period(period.kind, start.year, number)


def periods_due(actor: Actor, today: date) -> list[tuple[str, list[rules.Period]]]:
    """For each stream the organization declares, the periods ended and not declared since its
    latest declaration (in the same period kind); with none at all, last month's general industrial
    solid waste."""
    declared = services.visible_declarations(actor).filter(organization_id=actor.organization_id or 0)
    latest: dict[str, Declaration] = {}
    for d in declared.exclude(status=Status.SUPERSEDED).order_by("period_end", "pk"):
        latest[d.stream] = d
    if not latest:
        last_month = today.replace(day=1) - timedelta(days=1)
        return [("isw", [rules.make_period("month", last_month.year, last_month.month)])]
    found = []
    for stream, d in latest.items():
        periods: list[rules.Period] = []
        period = rules.Period(d.period_start, d.period_end, d.period_kind)
        while len(periods) < MAX_PERIODS_COUNTED:
            period = _next_period(period)
            if period.end >= today:
                break
            periods.append(period)
        if periods:
            found.append((stream, periods))
    return found


def _due(actor: Actor, today: date) -> Todo:
    due = periods_due(actor, today)
    count = sum(len(periods) for _stream, periods in due)
    new = reverse("declarations:new")
    items = tuple(
        TodoItem(
            label=f"{periods[0].label} {_stream_label(stream)}",
            url=f"{new}?{urlencode({'stream': stream, 'period': periods[0].label})}",
            note=_("and %(n)d later periods") % {"n": len(periods) - 1} if len(periods) > 1 else "",
        )
        for stream, periods in due
    )
    url = items[0].url if items else new
    return Todo(
        "declarations.due", _("Periods ended and not yet declared"), count, url, items, urgent=bool(count)
    )


def todos(actor: Actor, today: date) -> list[Todo]:
    mine = services.visible_declarations(actor)
    if actor.is_regulator:
        if not services.may(actor, "review"):
            return []
        return [
            _todo(
                "declarations.review",
                _("Declarations submitted, to review"),
                mine.filter(status=Status.SUBMITTED),
                Status.SUBMITTED,
                "declarations:detail",
            ),
            _todo(
                "declarations.returned",
                _("Returned declarations awaiting resubmission"),
                mine.filter(status=Status.RETURNED),
                Status.RETURNED,
                "declarations:detail",
            ),
        ]
    if not services.may(actor, "declare"):
        return []
    own = mine.filter(organization_id=actor.organization_id or 0)
    return [
        _todo(
            "declarations.returned",
            _("Declarations returned to you: correct and resubmit"),
            own.filter(status=Status.RETURNED),
            Status.RETURNED,
            "declarations:edit",
            urgent=True,
        ),
        _due(actor, today),
        _todo(
            "declarations.drafts",
            _("Declaration drafts not submitted"),
            own.filter(status=Status.DRAFT),
            Status.DRAFT,
            "declarations:detail",
        ),
    ]
