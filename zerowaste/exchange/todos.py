"""Exchange proposals awaiting the acting organization's answer (its home page, `core.home`)."""

from __future__ import annotations

from datetime import date

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from zerowaste.core.authz import Actor
from zerowaste.core.home import ITEMS_SHOWN, Todo, TodoItem

from . import rules, services


def todos(actor: Actor, today: date) -> list[Todo]:
    org = actor.organization_id
    if actor.is_regulator or org is None or actor.member_role not in ("admin", "clerk"):
        return []  # answering a proposal is a clerk's or an admin's (`services._require_writer`)
    awaiting = (
        services.visible_proposals(actor)
        .filter(status=rules.PROPOSED)
        .filter(
            Q(supplier_id=org, supplier_accepted_at__isnull=True)
            | Q(receiver_id=org, receiver_accepted_at__isnull=True)
        )
        .order_by("pk")
    )
    count = awaiting.count()
    items = tuple(
        TodoItem(
            label=p.waste_code,
            url=reverse("exchange:proposal", args=[p.pk]),
            note=services.counterpart_name(actor, p),
        )
        for p in awaiting[:ITEMS_SHOWN]
    )
    title = _("Exchange proposals awaiting your answer")
    return [Todo("exchange.proposals", title, count, reverse("exchange:proposals"), items)]
