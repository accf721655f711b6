"""A household's own points page, without an account: its address carries the household's code signed
with the platform's key (`resident_token`), so only the holder of the printed link or QR code reads it,
and a token that does not verify answers 404 (ADR 0056)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.signing import BadSignature, Signer
from django.urls import reverse

from zerowaste.core.errors import NotFound

from . import rules
from .models import CommunityCentre, HandoverEvent, Merchant, PointsAccount, PointsEntry, Source

SALT = "zerowaste.household.resident"
RECENT_EVENTS = 20
LEDGER_LINES = 100


def _signer() -> Signer:
    return Signer(salt=SALT)


def resident_token(source: Source) -> str:
    return _signer().sign(source.code)


def resident_url(source: Source) -> str:
    return reverse("household:resident-points", kwargs={"token": resident_token(source)})


def source_of_token(token: str) -> Source:
    """The household a token names; a forged, altered or unknown one is NotFound. A code held by
    households of two zones is ambiguous and answers NotFound as well."""
    try:
        code = _signer().unsign(token)
    except BadSignature:
        raise NotFound("no such household") from None
    found = list(
        Source.objects.filter(code=code, kind=rules.SOURCE_HOUSEHOLD).select_related("community")[:2]
    )
    if len(found) != 1:
        raise NotFound("no such household")
    return found[0]


def code_of_scan(text: str) -> str:
    """What a merchant scanned or typed: a resident link, a token or a bare household code → the code
    (a token that does not verify is taken as typed, and is then no household's code)."""
    text = (text or "").strip()
    if "/household/points/" in text:
        text = text.split("/household/points/", 1)[1].strip("/")
    if ":" in text:
        try:
            return _signer().unsign(text)
        except BadSignature:
            return text
    return text


@dataclass(frozen=True)
class LedgerLine:
    created_at: datetime
    delta: int
    balance_after: int
    reason: str
    reason_label: str
    day: date | None = None
    household_class: str = ""
    quality_grade: str = ""
    weight_kg: Decimal | None = None
    merchant: str = ""
    note: str = ""


@dataclass(frozen=True)
class NearbyMerchant:
    name: str
    distance_km: Decimal


@dataclass(frozen=True)
class ResidentPage:
    source: Source
    balance: int
    ledger: list[LedgerLine]
    merchants: list[NearbyMerchant]
    has_centre: bool
    events: list[HandoverEvent]


def page_of(source: Source) -> ResidentPage:
    zone_id = source.zone_id
    account = PointsAccount.objects.filter(zone_id=zone_id, source=source).first()
    entries = list(
        PointsEntry.objects.filter(zone_id=zone_id, source=source)
        .select_related("merchant")
        .order_by("-pk")[:LEDGER_LINES]
    )
    keys = {(e.event_device_id, e.event_seq) for e in entries if e.event_device_id is not None}
    events_by_key: dict[tuple[Any, Any], HandoverEvent] = {}
    if keys:
        for found in HandoverEvent.objects.filter(
            zone_id=zone_id,
            source=source,
            device_id__in=sorted({d for d, _s in keys}),
            seq__in=sorted({s for _d, s in keys}),
        ):
            events_by_key[(found.device_id, found.seq)] = found
    labels = dict(rules.POINTS_REASON_CHOICES)
    ledger = []
    for e in entries:
        ev = events_by_key.get((e.event_device_id, e.event_seq))
        ledger.append(
            LedgerLine(
                e.created_at,
                e.delta,
                e.balance_after,
                e.reason,
                str(labels.get(e.reason, e.reason)),
                day=ev.day if ev else None,
                household_class=ev.household_class if ev else "",
                quality_grade=ev.quality_grade if ev else "",
                weight_kg=ev.weight_kg if ev else None,
                merchant=e.merchant.name if e.merchant else "",
                note=e.note,
            )
        )
    centre = CommunityCentre.objects.filter(zone_id=zone_id, community_id=source.community_id).first()
    merchants: list[NearbyMerchant] = []
    if centre is not None:
        for m in Merchant.objects.filter(zone_id=zone_id, is_active=True).order_by("name"):
            distance = rules.distance_km(centre.latitude, centre.longitude, m.latitude, m.longitude)
            if rules.within_service_circle(distance):
                merchants.append(NearbyMerchant(m.name, distance))
        merchants.sort(key=lambda m: (m.distance_km, m.name))
    events = list(
        HandoverEvent.objects.filter(zone_id=zone_id, source=source)
        .select_related("station")
        .order_by("-occurred_at", "-pk")[:RECENT_EVENTS]
    )
    return ResidentPage(
        source, account.balance if account else 0, ledger, merchants, centre is not None, events
    )
