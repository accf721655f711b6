"""Manifests waiting for the acting organization (its home page, `core.home`): drafts to issue, waste
to pick up and deliver, deliveries to receive and discrepancies to explain, corrections to approve;
a regulator's: discrepancies and refusals to review, steps overdue."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from zerowaste.core.authz import Actor
from zerowaste.core.home import ITEMS_SHOWN, Todo, TodoItem

from . import rules, services
from .models import RevisionRequest, Transfer


def _label(t: Transfer) -> str:
    return t.number or _("draft %(id)s") % {"id": t.pk}


# Steps to take come oldest due first; events to review newest first (what just happened).
BY_DUE = ("due_date", "planned_date", "pk")
NEWEST_FIRST = (F("last_signed_at").desc(nulls_last=True), "-pk")


def _todo(
    key: str,
    title: str,
    qs: QuerySet[Transfer],
    query: str,
    page: str,
    today: date,
    *,
    order: tuple[Any, ...] = BY_DUE,
) -> Todo:
    """A to-do over manifests: the first few in `order`, each linking to the page `page` where its
    step is done; urgent when any of them is past its due date."""
    qs = qs.select_related("consignor", "consignee").order_by(*order)
    count = qs.count()
    if not count:
        return Todo(key, title, 0, "")
    items = tuple(
        TodoItem(
            label=_label(t),
            url=reverse(page, args=[t.pk]),
            note=f"{t.consignor.name} → {t.consignee.name}",
        )
        for t in qs[:ITEMS_SHOWN]
    )
    overdue = qs.filter(due_date__lt=today).exists()
    return Todo(key, title, count, f"{reverse('transfers:register')}?{query}", items, urgent=overdue)


def _regulator(actor: Actor, today: date) -> list[Todo]:
    overdue = services.register(actor, overdue=True)
    return [
        _todo(
            "transfers.review",
            _("Discrepancies and refusals to review"),
            services.register(actor, review=True),
            "review=1",
            "transfers:detail",
            today,
            order=NEWEST_FIRST,
        ),
        _todo(
            "transfers.overdue",
            _("Manifests with an overdue step"),
            overdue,
            "overdue=1",
            "transfers:detail",
            today,
        ),
    ]


def _revisions_awaiting(actor: Actor) -> list[Transfer]:
    org = actor.organization_id
    pending = RevisionRequest.objects.filter(
        zone_id=actor.zone_id,
        status=RevisionRequest.Status.PENDING,
        transfer__in=services.visible_transfers(actor),
    ).select_related("transfer")
    return [r.transfer for r in pending if org in r.required and org not in r.approvals]


def todos(actor: Actor, today: date) -> list[Todo]:
    if actor.is_regulator:
        return _regulator(actor, today)
    org = actor.organization_id
    if org is None:
        return []
    mine = services.visible_transfers(actor)
    found = []
    role, scopes = actor.member_role, actor.token_scopes
    if rules.member_may("issue", member_role=role, token_scopes=scopes):
        drafts = mine.filter(state=rules.DRAFT, consignor_id=org)
        found.append(
            _todo(
                "transfers.drafts",
                _("Draft manifests to issue"),
                drafts,
                "register=outgoing&state=draft",
                "transfers:detail",
                today,
            )
        )
        revisions = _revisions_awaiting(actor)
        if revisions:
            found.append(
                Todo(
                    "transfers.revisions",
                    _("Corrections awaiting your approval"),
                    len(revisions),
                    reverse("transfers:register"),
                    tuple(
                        TodoItem(_label(t), reverse("transfers:detail", args=[t.pk]))
                        for t in revisions[:ITEMS_SHOWN]
                    ),
                )
            )
    if rules.member_may("pick_up", member_role=role, token_scopes=scopes):
        arrived = mine.filter(state=rules.DELIVERED, consignee_id=org)
        found += [
            _todo(
                "transfers.pick_up",
                _("Manifests to pick up"),
                mine.filter(state=rules.ISSUED, current_carrier_id=org),
                "register=carried&state=issued",
                "transfers:sign",
                today,
            ),
            _todo(
                "transfers.deliver",
                _("Manifests in transit to deliver"),
                mine.filter(state=rules.IN_TRANSIT, current_carrier_id=org),
                "register=carried&state=in_transit",
                "transfers:sign",
                today,
            ),
            _todo(
                "transfers.receive",
                _("Deliveries to receive and accept"),
                arrived,
                "register=incoming&state=delivered",
                "transfers:receive",
                today,
            ),
            _todo(
                "transfers.explain",
                _("Discrepancies to explain"),
                arrived.filter(discrepancy=True, discrepancy_note=""),
                "register=incoming&state=delivered",
                "transfers:receive",
                today,
            ),
        ]
    return found
