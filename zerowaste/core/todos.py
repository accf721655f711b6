"""Licences needing attention (the home page, `core.home`): an organization's licences expiring
within `EXPIRY_NOTICE_DAYS` (or expired) with no successor of the same kind, and those a regulator
rejected; a regulator's: licences awaiting its verification."""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _

from . import licences, rules
from .authz import Actor
from .home import ITEMS_SHOWN, Todo, TodoItem
from .models import Licence

EXPIRY_NOTICE_DAYS = 60


def _expiring(actor: Actor, organization_id: int, today: date) -> list[Licence]:
    """Per kind, the organization's licence that runs longest, when it ends within the notice period:
    a licence renewed by a later one of the same kind is no longer a to-do."""
    longest: dict[str, Licence] = {}
    own = Licence.objects.filter(
        zone_id=actor.zone_id, organization_id=organization_id, is_revoked=False
    ).exclude(status=rules.LICENCE_REJECTED)
    for licence in own.order_by("valid_to", "pk"):
        longest[licence.kind] = licence
    horizon = today + timedelta(days=EXPIRY_NOTICE_DAYS)
    return sorted((lic for lic in longest.values() if lic.valid_to <= horizon), key=lambda lic: lic.valid_to)


def todos(actor: Actor, today: date) -> list[Todo]:
    org = actor.organization_id
    if org is None:
        return []
    if actor.is_regulator:
        if not actor.can("licences.verify"):
            return []
        pending = licences.pending_licences(actor)
        count = pending.count()
        items = tuple(
            TodoItem(
                label=f"{lic.organization.name} {lic.number}",
                url=reverse("portal:licence_review", args=[lic.organization_id, lic.pk]),
                note=lic.get_kind_display(),
            )
            for lic in pending[:ITEMS_SHOWN]
        )
        return [
            Todo(
                "core.licences_pending",
                _("Licences to verify"),
                count,
                reverse("portal:licence_pending"),
                items,
            )
        ]
    page = reverse("portal:organization", args=[org])
    expiring = _expiring(actor, org, today)
    rejected = list(
        Licence.objects.filter(
            zone_id=actor.zone_id,
            organization_id=org,
            is_revoked=False,
            status=rules.LICENCE_REJECTED,
        ).order_by("pk")
    )
    return [
        Todo(
            "core.licences_expiring",
            _("Licences expiring within %(days)d days: renew them") % {"days": EXPIRY_NOTICE_DAYS},
            len(expiring),
            page,
            tuple(
                TodoItem(
                    label=f"{lic.get_kind_display()} {lic.number}",
                    url=page,
                    note=(_("expired on %(d)s") if lic.valid_to < today else _("valid until %(d)s"))
                    % {"d": lic.valid_to.isoformat()},
                )
                for lic in expiring[:ITEMS_SHOWN]
            ),
            urgent=any(lic.valid_to < today for lic in expiring),
        ),
        Todo(
            "core.licences_rejected",
            _("Licences the regulator rejected: correct them"),
            len(rejected),
            page,
            tuple(
                TodoItem(f"{lic.get_kind_display()} {lic.number}", page, lic.rejection_reason)
                for lic in rejected[:ITEMS_SHOWN]
            ),
            urgent=True,
        ),
    ]
