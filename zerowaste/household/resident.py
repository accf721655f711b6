"""A household's own points page, without an account: its address carries the household's code signed
with the platform's key and the time it was issued (`resident_token`), so only the holder of the printed
link or QR code reads it, and a token that does not verify answers 404 (ADR 0056). A token is valid for
`settings.HOUSEHOLD_RESIDENT_TOKEN_MAX_AGE_DAYS` (180 days by default): an older one, or one issued
before tokens carried their time, raises `Expired` (the page says to ask for a new card);
`resident_url` issues a fresh token each time it is called."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.signing import BadSignature, SignatureExpired, Signer, TimestampSigner
from django.urls import reverse

from zerowaste.core.errors import NotFound

from . import rules
from .models import CommunityCentre, HandoverEvent, Merchant, PointsAccount, PointsEntry, Source

SALT = "zerowaste.household.resident"
RECENT_EVENTS = 20
LEDGER_LINES = 100


def _signer() -> TimestampSigner:
    return TimestampSigner(salt=SALT)


def _untimed() -> Signer:
    """The tokens issued before they carried their time (household code and signature only)."""
    return Signer(salt=SALT)


def max_age_days() -> int:
    return int(getattr(settings, "HOUSEHOLD_RESIDENT_TOKEN_MAX_AGE_DAYS", 180))


class Expired(Exception):
    """An authentic token that is too old (or has no time): the household asks for a new card."""


def resident_token(source: Source) -> str:
    return _signer().sign(source.code)


def resident_url(source: Source) -> str:
    return reverse("household:resident-points", kwargs={"token": resident_token(source)})


def source_of_token(token: str) -> Source:
    """The household a token names; a forged, altered or unknown one is NotFound. A code held by
    households of two zones is ambiguous and answers NotFound as well."""
    code = code_of_token(token)
    found = list(
        Source.objects.filter(code=code, kind=rules.SOURCE_HOUSEHOLD).select_related("community")[:2]
    )
    if len(found) != 1:
        raise NotFound("no such household")
    return found[0]


def code_of_token(token: str) -> str:
    """The household code a token carries; Expired when authentic but too old (or untimed),
    NotFound when forged or altered."""
    try:
        return str(_signer().unsign(token, max_age=timedelta(days=max_age_days())))
    except SignatureExpired:
        raise Expired from None
    except (BadSignature, ValueError):  # ValueError: an untimed token has no time to read
        pass
    try:
        _untimed().unsign(token)
    except BadSignature:
        raise NotFound("no such household") from None
    raise Expired


def _any_code(token: str) -> str:
    """The code of an authentic token, expired or not (what a merchant scans: the code is no secret)."""
    try:
        return str(_signer().unsign(token))
    except (BadSignature, ValueError):
        return _untimed().unsign(token)


def code_of_scan(text: str) -> str:
    """What a merchant scanned or typed: a resident link, a token or a bare household code → the code
    (a token that does not verify is taken as typed, and is then no household's code)."""
    text = (text or "").strip()
    if "/household/points/" in text:
        text = text.split("/household/points/", 1)[1].strip("/")
    if ":" in text:
        try:
            return _any_code(text)
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
