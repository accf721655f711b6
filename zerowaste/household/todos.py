"""Household work of the acting organization (its home page, `core.home`): the open alarms it must
resolve — those it owns (a collector's vehicle, say) and, for a regulator, those escalated to its
street past their deadline. Urgent when one is past its deadline."""

from __future__ import annotations

from datetime import date

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from zerowaste.core.authz import Actor
from zerowaste.core.home import ITEMS_SHOWN, Todo, TodoItem

from . import alarms


def todos(actor: Actor, today: date) -> list[Todo]:
    if actor.organization_id is None or actor.member_role not in alarms.WRITE_ROLES:
        return []
    mine = Q(owner_organization_id=actor.organization_id)
    if actor.is_regulator and actor.jurisdiction_area_ids is not None:
        mine |= Q(escalated_to_id__in=sorted(actor.jurisdiction_area_ids))
    found = alarms.visible_alarms(actor, state="open").filter(mine).order_by("deadline", "pk")
    count = found.count()
    if not count:
        return []
    rows = list(found[:ITEMS_SHOWN])
    items = tuple(
        TodoItem(
            label=alarms.alarm_row(a)["kind_label"],
            url=reverse("household:alarm-detail", args=[a.pk]),
            note=_("due %(due)s") % {"due": a.deadline},
        )
        for a in rows
    )
    return [
        Todo(
            "household.alarms",
            _("Household alarms to resolve"),
            count,
            reverse("household:alarms") + "?state=open",
            items,
            urgent=any(a.deadline < today for a in rows),
        )
    ]
