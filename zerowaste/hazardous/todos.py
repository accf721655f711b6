"""Hazardous-waste work of the acting organization (its home page, `core.home`): containers past or
near their storage limit in its store (a park operator) or of its own waste (a producer), and its
management and transfer plans due. A regulator sees the zone's storage on its cockpit."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zerowaste.core.authz import Actor
from zerowaste.core.home import ITEMS_SHOWN, Todo, TodoItem

from . import rules, services

PLAN_KINDS = {
    "transfer_plan": gettext_lazy("transfer plan"),
    "management_plan": gettext_lazy("management plan"),
}


def _containers(key: str, title: str, rows: list[dict[str, Any]], url: str, *, urgent: bool) -> Todo:
    items = tuple(
        TodoItem(
            label=row["container"],
            url=reverse("hazardous:container", args=[row["container_id"]]),
            note=_("%(code)s, stored since %(on)s, limit %(deadline)s")
            % {"code": row["code"], "on": row["stored_on"], "deadline": row["deadline"]},
        )
        for row in rows[:ITEMS_SHOWN]
    )
    return Todo(key, title, len(rows), url, items, urgent=urgent)


def _plans(actor: Actor, today: date) -> Todo:
    rows = [r for r in services.plans_due(actor, today) if r["organization_id"] == actor.organization_id]
    url = reverse("hazardous:plans")
    items = tuple(
        TodoItem(
            label=f"{PLAN_KINDS.get(r['kind'], r['kind'])} {r['period']}",
            url=url,
            note=_("due %(due)s") % {"due": r["due"]},
        )
        for r in rows[:ITEMS_SHOWN]
    )
    return Todo(
        "hazardous.plans", _("Plans due"), len(rows), url, items, urgent=any(r["overdue"] for r in rows)
    )


def todos(actor: Actor, today: date) -> list[Todo]:
    if actor.is_regulator or actor.organization_id is None or actor.member_role not in services.WRITE_ROLES:
        return []  # a viewer reads the alerts on the store page; shipping them is a clerk's work
    own_stores = [s for s in services.stores_of(actor) if s.operator_id == actor.organization_id]
    url = reverse("hazardous:store", args=[own_stores[0].pk]) if own_stores else reverse("hazardous:home")
    # an operator's store and a producer's own containers (what `visible_containers` gives them)
    alerts = services.alerts_for(actor, today)
    return [
        _containers(
            "hazardous.overdue",
            _("Containers past their storage limit"),
            [row for row in alerts if row["level"] == rules.OVERDUE],
            url,
            urgent=True,
        ),
        _containers(
            "hazardous.warning",
            _("Containers near their storage limit"),
            [row for row in alerts if row["level"] == rules.WARNING],
            url,
            urgent=False,
        ),
        _plans(actor, today),
    ]
