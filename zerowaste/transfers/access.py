"""Who sees a transfer and who may act on it: visibility by party or jurisdiction, the row lock of
a step, the roles an organization holds on a transfer, the member roles and token scopes."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Forbidden, NotFound
from zerowaste.core.models import Zone

from . import rules
from .models import (
    Transfer,
    TransferLeg,
)


def visible_transfers(actor: Actor) -> QuerySet[Transfer]:
    """The transfers the actor is consignor, consignee or carrier (any leg) of; a regulator's: its
    zone's, or those with any party in its jurisdiction."""
    base = Transfer.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return base
    if actor.is_regulator:
        if actor.jurisdiction_area_ids is None:
            return base
        orgs = visible_organizations(actor).values("pk")
        legs = TransferLeg.objects.filter(zone_id=actor.zone_id, carrier_id__in=orgs).values("transfer_id")
        return base.filter(
            Q(consignor_id__in=orgs) | Q(consignee_id__in=orgs) | Q(carrier_id__in=orgs) | Q(pk__in=legs)
        )
    org_id = actor.organization_id
    if org_id is None:
        return base.none()
    legs = TransferLeg.objects.filter(zone_id=actor.zone_id, carrier_id=org_id).values("transfer_id")
    return base.filter(
        Q(consignor_id=org_id)
        | Q(consignee_id=org_id)
        | Q(carrier_id=org_id)
        | Q(current_carrier_id=org_id)
        | Q(pk__in=legs)
    )


def get_transfer(actor: Actor, transfer_id: int) -> Transfer:
    t = (
        visible_transfers(actor)
        .filter(pk=transfer_id)
        .select_related("consignor", "consignee", "carrier", "current_carrier", "storage")
        .first()
    )
    if t is None:
        raise NotFound(_("transfer %(id)s not found") % {"id": transfer_id})
    return t


def get_by_number(actor: Actor, number: str) -> Transfer:
    t = visible_transfers(actor).filter(number=number).first()
    if t is None:
        raise NotFound(_("transfer %(number)s not found") % {"number": number})
    return get_transfer(actor, t.pk)


def _locked(actor: Actor, transfer_id: int) -> Transfer:
    if not visible_transfers(actor).filter(pk=transfer_id).exists():
        raise NotFound(_("transfer %(id)s not found") % {"id": transfer_id})
    return Transfer.objects.select_for_update().get(pk=transfer_id)


def parties_of(actor: Actor, t: Transfer) -> frozenset[str]:
    """The roles the actor's organization holds on this transfer, as of now."""
    if actor.is_system:
        return frozenset({rules.CONSIGNOR, rules.CARRIER, rules.CONSIGNEE, rules.REGULATOR})
    org = actor.organization_id
    found = set()
    if org == t.consignor_id:
        found.add(rules.CONSIGNOR)
    if org == t.current_carrier_id:
        found.add(rules.CARRIER)
    if org == t.consignee_id:
        found.add(rules.CONSIGNEE)
    if actor.is_regulator:
        found.add(rules.REGULATOR)
    return frozenset(found)


def _is_party(actor: Actor, t: Transfer) -> bool:
    if actor.organization_id in (t.consignor_id, t.consignee_id, t.carrier_id, t.current_carrier_id):
        return True
    return TransferLeg.objects.filter(transfer=t, carrier_id=actor.organization_id).exists()


def _require_member(actor: Actor, action: str) -> None:
    if actor.is_system:
        return
    if not rules.member_may(action, member_role=actor.member_role, token_scopes=actor.token_scopes):
        raise Forbidden(_("your role does not allow this (transfers.%(a)s)") % {"a": action})


def _zone(zone_id: int) -> Zone:
    return Zone.objects.get(pk=zone_id)


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()
