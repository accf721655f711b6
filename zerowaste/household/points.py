"""Residents' points (积分, seed:436-440, 4858): an append-only ledger per household.

Every line carries the balance after it; the account's balance is the last line's, and the sum of
the deltas. Balances never go below zero (checked here and by CHECK constraints). A grant comes from
a household's correctly sorted drop confirmed at the station, at ingest, in the events' transaction;
an event grants at most once (unique (device, seq) on the ledger). A redemption locks the household's
account row (`select_for_update`), so concurrent redemptions of one balance cannot both pass. Points
are spent at merchants within the 2 km service circle of the household's community centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, Organization

from . import rules
from .models import CommunityCentre, Merchant, PointsAccount, PointsEntry, Source

WRITE_ROLES = frozenset({"admin", "clerk"})
REGISTRY_ROLES = WRITE_ROLES


@dataclass(frozen=True)
class Grant:
    source_id: int
    points: int
    reason: str
    device_id: int
    seq: int


def grants_of(new: Sequence[Any]) -> list[Grant]:
    """The grants the newly stored events earn (`ingest._Accepted` items): a household's drop at the
    station, confirmed by the station (receiver side)."""
    grants = []
    for a in new:
        f = a.fields
        if a.source is None or a.source.kind != rules.SOURCE_HOUSEHOLD:
            continue
        if f.node != rules.NODE_SOURCE_STATION or f.side != rules.SIDE_RECEIVER:
            continue
        reason, points = rules.points_for(f.household_class, f.quality_grade, f.impurities, f.weight_kg)
        if points > 0:
            grants.append(Grant(a.source.pk, points, reason, a.device.pk, f.seq))
    return grants


def _accounts(zone_id: int, source_ids: set[int]) -> dict[int, PointsAccount]:
    """The sources' accounts, made if missing, locked in id order (two consumers never deadlock)."""
    PointsAccount.objects.bulk_create(
        [PointsAccount(zone_id=zone_id, source_id=s) for s in sorted(source_ids)], ignore_conflicts=True
    )
    return {
        a.source_id: a
        for a in PointsAccount.objects.select_for_update()
        .filter(zone_id=zone_id, source_id__in=sorted(source_ids))
        .order_by("pk")
    }


def grant_batch(zone_id: int, grants: Sequence[Grant], now: datetime, *, by: str = "system") -> int:
    """Append the grants (in bulk), each account's running balance in order; inside the caller's
    transaction when there is one. Returns the points granted."""
    if not grants:
        return 0
    with transaction.atomic():
        accounts = _accounts(zone_id, {g.source_id for g in grants})
        entries = []
        for g in grants:
            if g.points <= 0:
                raise ValueError("a grant is positive")
            account = accounts[g.source_id]
            account.balance += g.points
            entries.append(
                PointsEntry(
                    zone_id=zone_id,
                    account=account,
                    source_id=g.source_id,
                    delta=g.points,
                    balance_after=account.balance,
                    reason=g.reason,
                    event_device_id=g.device_id,
                    event_seq=g.seq,
                    created_at=now,
                    created_by=by,
                )
            )
        PointsEntry.objects.bulk_create(entries, batch_size=500)
        PointsAccount.objects.bulk_update(list(accounts.values()), ["balance"], batch_size=500)
    return sum(g.points for g in grants)


# --- Registry: merchants and community centres ----------------------------------------------------


def _require_registrar(actor: Actor) -> None:
    if not (actor.is_system or (actor.is_regulator and actor.member_role in REGISTRY_ROLES)):
        raise Forbidden(_("only the zone's regulators and the system register merchants and service circles"))


def _coordinates(latitude: Decimal, longitude: Decimal) -> tuple[Decimal, Decimal]:
    if not (latitude.is_finite() and -90 <= latitude <= 90):
        raise Invalid.field("latitude", _("must be between -90 and 90"))
    if not (longitude.is_finite() and -180 <= longitude <= 180):
        raise Invalid.field("longitude", _("must be between -180 and 180"))
    return latitude.quantize(Decimal("0.000001")), longitude.quantize(Decimal("0.000001"))


@transaction.atomic
def add_merchant(
    actor: Actor, *, name: str, latitude: Decimal, longitude: Decimal, organization_id: int | None = None
) -> Merchant:
    _require_registrar(actor)
    if not name.strip():
        raise Invalid.field("name", _("is required"))
    lat, lon = _coordinates(latitude, longitude)
    if (
        organization_id is not None
        and not Organization.objects.filter(zone_id=actor.zone_id, pk=organization_id).exists()
    ):
        raise Invalid.field("organization", _("no such organization in this zone"))
    merchant = Merchant.objects.create(
        zone_id=actor.zone_id, name=name.strip(), latitude=lat, longitude=lon, organization_id=organization_id
    )
    audit.record(
        actor,
        "household.merchant.add",
        merchant,
        audit.snapshot(merchant, ["name", "organization_id", "latitude", "longitude", "is_active"]),
    )
    return merchant


@transaction.atomic
def set_community_centre(
    actor: Actor, *, community_id: int, latitude: Decimal, longitude: Decimal
) -> CommunityCentre:
    _require_registrar(actor)
    if not Area.objects.filter(zone_id=actor.zone_id, pk=community_id).exists():
        raise Invalid.field("community", _("no such community in this zone"))
    lat, lon = _coordinates(latitude, longitude)
    centre, _created = CommunityCentre.objects.update_or_create(
        zone_id=actor.zone_id, community_id=community_id, defaults={"latitude": lat, "longitude": lon}
    )
    audited = audit.snapshot(centre, ["community_id", "latitude", "longitude"])
    audit.record(actor, "household.centre.set", centre, audited)
    return centre


# --- Reading and redeeming ------------------------------------------------------------------------


def _source(actor: Actor, source_code: str) -> Source:
    source = Source.objects.filter(
        zone_id=actor.zone_id, code=source_code, kind=rules.SOURCE_HOUSEHOLD
    ).first()
    if source is None:
        raise NotFound(_("no such household"))
    return source


def _may_read(actor: Actor, source: Source) -> bool:
    if actor.is_system or (actor.is_regulator and actor.jurisdiction_area_ids is None):
        return True
    return actor.is_regulator and source.community_id in (actor.jurisdiction_area_ids or ())


def account(actor: Actor, source_code: str) -> tuple[Source, int, QuerySet[PointsEntry]]:
    """The household's balance and its ledger, newest first (community regulators, the zone, the system)."""
    source = _source(actor, source_code)
    if not _may_read(actor, source):
        raise NotFound(_("no such household"))
    row = PointsAccount.objects.filter(zone_id=actor.zone_id, source=source).first()
    entries = PointsEntry.objects.filter(zone_id=actor.zone_id, source=source).select_related(
        "merchant", "event_device"
    )
    return source, row.balance if row else 0, entries.order_by("-pk")


@transaction.atomic
def redeem(actor: Actor, source_code: str, *, points: int, merchant_id: int, note: str = "") -> PointsEntry:
    """Spend `points` of a household at a merchant within its community's 2 km service circle, under
    the account's row lock. Refused (nothing written) when the balance does not cover it."""
    source = _source(actor, source_code)
    is_a_merchant = (
        actor.organization_id is not None
        and Merchant.objects.filter(
            zone_id=actor.zone_id, organization_id=actor.organization_id, is_active=True
        ).exists()
    )
    if not (actor.is_system or _may_read(actor, source) or is_a_merchant):
        raise NotFound(_("no such household"))  # before anything about the request: nothing to learn
    merchant = Merchant.objects.filter(zone_id=actor.zone_id, pk=merchant_id, is_active=True).first()
    if merchant is None:
        raise Invalid.field("merchant", _("no such merchant in this zone"))
    regulator_here = actor.is_regulator and _may_read(actor, source)
    merchant_member = (
        merchant.organization_id is not None and merchant.organization_id == actor.organization_id
    )
    if not (actor.is_system or regulator_here or merchant_member):
        if not _may_read(actor, source):
            raise NotFound(_("no such household"))
        raise Forbidden(_("only the household's community, the merchant or the system redeem points"))
    if not actor.is_system and actor.member_role not in WRITE_ROLES:
        raise Forbidden(_("your role may not redeem points"))
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= rules.MAX_REDEMPTION:
        raise Invalid.field(
            "points", _("must be a whole number from 1 to %(limit)s") % {"limit": rules.MAX_REDEMPTION}
        )
    centre = CommunityCentre.objects.filter(zone_id=actor.zone_id, community_id=source.community_id).first()
    if centre is None:
        raise Invalid.field(
            "merchant", _("the household's community has no service-circle centre registered")
        )
    distance = rules.distance_km(centre.latitude, centre.longitude, merchant.latitude, merchant.longitude)
    if not rules.within_service_circle(distance):
        raise Invalid.field(
            "merchant",
            _("%(distance)s km from the community centre, beyond the %(limit)s km service circle")
            % {"distance": distance, "limit": rules.SERVICE_CIRCLE_KM},
        )
    PointsAccount.objects.bulk_create(
        [PointsAccount(zone_id=actor.zone_id, source=source)], ignore_conflicts=True
    )
    account_row = PointsAccount.objects.select_for_update().get(zone_id=actor.zone_id, source=source)
    if account_row.balance < points:
        raise Invalid.field(
            "points",
            _("the balance is %(balance)s points, less than %(points)s")
            % {"balance": account_row.balance, "points": points},
        )
    account_row.balance -= points
    account_row.save(update_fields=["balance"])
    entry = PointsEntry.objects.create(
        zone_id=actor.zone_id,
        account=account_row,
        source=source,
        delta=-points,
        balance_after=account_row.balance,
        reason=rules.POINTS_REDEMPTION,
        merchant=merchant,
        note=note[:200],
        created_at=timezone.now(),
        created_by=actor.username,
    )
    audit.record(
        actor,
        "household.points.redeem",
        entry,
        {"delta": [None, -points], "merchant_id": [None, merchant.pk]},
    )
    return entry


@transaction.atomic
def reverse(actor: Actor, entry_id: int, *, note: str) -> PointsEntry:
    """Undo one ledger line by a new line of the opposite sign (the ledger is never edited). Refused
    when it would take the balance below zero, or the line is a reversal or already reversed."""
    if not (actor.is_system or (actor.is_regulator and actor.member_role in WRITE_ROLES)):
        raise Forbidden(_("only regulators and the system reverse points"))
    original = PointsEntry.objects.filter(zone_id=actor.zone_id, pk=entry_id).select_related("source").first()
    if original is None or not _may_read(actor, original.source):
        raise NotFound(_("no such points entry"))
    if not note.strip():
        raise Invalid.field("note", _("say why: a reason is required"))
    if original.reason == rules.POINTS_REVERSAL or PointsEntry.objects.filter(reverses=original).exists():
        raise Invalid.field("id", _("this entry is a reversal or was reversed already"))
    account_row = PointsAccount.objects.select_for_update().get(pk=original.account_id)
    if account_row.balance - original.delta < 0:
        raise Invalid.field("id", _("reversing it would take the balance below zero"))
    account_row.balance -= original.delta
    account_row.save(update_fields=["balance"])
    entry = PointsEntry.objects.create(
        zone_id=actor.zone_id,
        account=account_row,
        source_id=original.source_id,
        delta=-original.delta,
        balance_after=account_row.balance,
        reason=rules.POINTS_REVERSAL,
        reverses=original,
        note=note.strip()[:200],
        created_at=timezone.now(),
        created_by=actor.username,
    )
    audit.record(actor, "household.points.reverse", entry, {"delta": [None, entry.delta]})
    return entry


def entry_row(entry: PointsEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "delta": entry.delta,
        "balance_after": entry.balance_after,
        "reason": entry.reason,
        "reason_label": str(dict(rules.POINTS_REASON_CHOICES)[entry.reason]),
        "event": f"{entry.event_device.code}#{entry.event_seq}"
        if entry.event_device_id and entry.event_device
        else None,
        "merchant": entry.merchant.name if entry.merchant_id and entry.merchant else None,
        "reverses": entry.reverses_id,
        "note": entry.note or None,
        "created_at": entry.created_at,
    }
