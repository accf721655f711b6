"""Store a batch of raw device payloads: validate each, store the new ones in bulk, keep the daily
roll-ups, dead-letter the rest — all in one transaction, so the caller acknowledges the messages
only once this returns (ADR 0054).

Idempotency: a payload is new when its (device, seq) enters `household_eventsequence` (INSERT … ON
CONFLICT DO NOTHING RETURNING, on PostgreSQL and SQLite alike). Only those are stored and counted in
the roll-ups, so a duplicate, a redelivery after a crash or an offline buffer uploaded hours later
never counts twice, in whatever order the messages come.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from zerowaste.core.models import Site, Vehicle, Zone

from . import alarms, ops, points, rules, services
from .models import Bin, DailyFlow, DeadLetter, Device, HandoverEvent, Source, Station

LEDGER_CHUNK = 300  # rows per INSERT statement (3 parameters each, far below SQLite's limit)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes | str


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicate: int
    dead_lettered: int
    alarms: int = 0
    points: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "stored": self.stored,
            "duplicate": self.duplicate,
            "dead_lettered": self.dead_lettered,
            "alarms": self.alarms,
            "points": self.points,
        }


@dataclass
class _Accepted:
    device: Device
    fields: rules.EventFields
    bin: Bin | None
    source: Source | None
    station: Station | None
    vehicle: Vehicle | None
    site: Site | None


@dataclass
class _Refused:
    message: Message
    error: rules.Rejected
    device: Device | None


def topic_device(topic: str) -> str | None:
    """The device a topic `<prefix>/<device>/events` names, if it has that shape."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[-1] == "events":
        return parts[-2]
    return None


def ingest_batch(zone_id: int, messages: Sequence[Message], *, now: datetime | None = None) -> IngestResult:
    """Validate and store `messages` for the zone; returns how many were stored, duplicates and
    dead-lettered. Never raises for a bad payload: it becomes a dead letter."""
    now = now or timezone.now()
    zone = Zone.objects.only("code", "timezone").get(pk=zone_id)
    zone_tz = zoneinfo.ZoneInfo(zone.timezone or "Asia/Shanghai")
    parsed: list[tuple[Message, dict[str, Any] | None, str, rules.Rejected | None]] = []
    for message in messages:
        try:
            event, signature = rules.envelope(message.payload)
            rules.device_of(event)
            parsed.append((message, event, signature, None))
        except rules.Rejected as exc:
            parsed.append((message, None, "", exc))

    codes = {str(e["device"]) for _m, e, _s, err in parsed if e is not None and err is None}
    devices = {
        d.code: d
        for d in Device.objects.filter(zone_id=zone_id, code__in=codes, is_active=True).select_related(
            "station", "vehicle__organization", "site"
        )
    }
    classes = services.household_classes(zone_id, now.date())
    master = services.master_key()

    accepted: list[_Accepted] = []
    refused: list[_Refused] = []
    checked: list[tuple[Message, Device, rules.EventFields]] = []
    keys: dict[str, bytes] = {}  # one key derivation per device and batch, not per message
    for message, maybe_event, signature, error in parsed:
        if error is not None or maybe_event is None:
            assert error is not None
            refused.append(_Refused(message, error, None))
            continue
        event = maybe_event
        device = devices.get(str(event["device"]))
        try:
            if device is None:
                raise rules.Rejected("device", "unknown_device", value=event["device"])
            named = topic_device(message.topic)
            if named is not None and named != device.code:
                raise rules.Rejected("device", "topic_device", value=named)
            key = keys.get(device.code) or keys.setdefault(
                device.code, rules.device_key(master, zone.code, device.code, device.key_version)
            )
            if not rules.signature_valid(key, event, signature):
                raise rules.Rejected("sig", "signature")
            fields = rules.parse_event(event, now=now, household_classes=classes)
        except rules.Rejected as exc:
            refused.append(_Refused(message, exc, device))
            continue
        checked.append((message, device, fields))

    references = _References.load(zone_id, [f for _m, _d, f in checked])
    for message, device, fields in checked:
        try:
            accepted.append(references.resolve(device, fields))
        except rules.Rejected as exc:
            refused.append(_Refused(message, exc, device))

    # The first of several copies in one batch is the candidate; the ledger decides against the past.
    unique: dict[tuple[int, int], _Accepted] = {}
    for item in accepted:
        unique.setdefault((item.device.pk, item.fields.seq), item)
    in_batch_duplicates = len(accepted) - len(unique)

    _ensure_partitions({rules.month_start(a.fields.occurred_at) for a in unique.values()})
    with transaction.atomic():
        admitted = _admit(zone_id, sorted(unique))
        new = [unique[key] for key in sorted(unique) if key in admitted]
        _store_events(zone_id, new, now, zone_tz)
        _roll_up(zone_id, new, zone_tz)
        _dead_letter(zone_id, refused, now)
        # Slice 2: the hand-over-level alarms and the residents' points of the new events only.
        raised = alarms.detect_at_ingest(zone_id, new, now, zone_tz)
        raised += ops.detect_off_route_at_ingest(zone_id, new, now, zone_tz)
        granted = points.grant_batch(zone_id, points.grants_of(new), now)
    return IngestResult(
        stored=len(new),
        duplicate=in_batch_duplicates + len(unique) - len(new),
        dead_lettered=len(refused),
        alarms=raised,
        points=granted,
    )


class _References:
    """The bins, sources, stations, vehicles and sites a batch names, fetched once per batch."""

    def __init__(self) -> None:
        self.bins: dict[str, Bin] = {}
        self.sources: dict[str, Source] = {}
        self.stations: dict[str, Station] = {}
        self.vehicles: dict[str, Vehicle] = {}
        self.sites: dict[int, Site] = {}

    @classmethod
    def load(cls, zone_id: int, events: Iterable[rules.EventFields]) -> _References:
        events = list(events)
        refs = cls()

        def wanted(attr: str) -> set[Any]:
            return {getattr(e, attr) for e in events if getattr(e, attr)}

        refs.bins = {
            b.chip: b
            for b in Bin.objects.filter(zone_id=zone_id, chip__in=wanted("bin")).select_related("station")
        }
        refs.sources = {s.code: s for s in Source.objects.filter(zone_id=zone_id, code__in=wanted("source"))}
        refs.stations = {
            s.code: s for s in Station.objects.filter(zone_id=zone_id, code__in=wanted("station"))
        }
        refs.vehicles = {
            v.plate: v
            for v in Vehicle.objects.filter(zone_id=zone_id, plate__in=wanted("vehicle")).select_related(
                "organization"
            )
        }
        refs.sites = {s.pk: s for s in Site.objects.filter(zone_id=zone_id, pk__in=wanted("site"))}
        return refs

    def resolve(self, device: Device, f: rules.EventFields) -> _Accepted:
        bin_ = self._get(self.bins, f.bin, "bin", "unknown_bin")
        source = self._get(self.sources, f.source, "source", "unknown_source")
        station = self._get(self.stations, f.station, "station", "unknown_station")
        vehicle = self._get(self.vehicles, f.vehicle, "vehicle", "unknown_vehicle")
        site = self._get(self.sites, f.site, "site", "unknown_site")
        # What the payload leaves out, the device's binding (or the bin's station) tells.
        station = station or device.station or (bin_.station if bin_ else None)
        vehicle = vehicle or device.vehicle
        site = site or device.site
        present = {"station": station, "vehicle": vehicle, "site": site}
        for needed in rules.required_places(f.node):
            if present[needed] is None:
                raise rules.Rejected(needed, "place_missing", value=f.node)
        return _Accepted(device, f, bin_, source, station, vehicle, site)

    @staticmethod
    def _get(table: dict[Any, Any], key: Any, field: str, rule: str) -> Any:
        if not key:
            return None
        found = table.get(key)
        if found is None:
            raise rules.Rejected(field, rule, value=key)
        return found


def _ensure_partitions(months: set[date]) -> None:
    """PostgreSQL: make each month's partition before the batch's transaction (a new partition is DDL;
    doing it apart keeps the batch's locks short). A cheap catalog lookup skips existing months."""
    if connection.vendor != "postgresql" or not months:
        return
    with connection.cursor() as cursor:
        for month in sorted(months):
            name = f"household_handoverevent_y{month:%Y}m{month:%m}"
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if not cursor.fetchone()[0]:
                try:
                    with transaction.atomic():
                        cursor.execute("SELECT household_ensure_event_partition(%s)", [month])
                except (ProgrammingError, IntegrityError):
                    # Two consumers creating the same new month at once: CREATE TABLE IF NOT EXISTS
                    # still fails in the slower one (the catalog row appeared under it). It exists now.
                    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
                    if not cursor.fetchone()[0]:
                        raise


def _admit(zone_id: int, keys: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Enter (device, seq) pairs into the ledger; returns those that were not there. Sorted keys keep
    two consumers inserting overlapping batches from deadlocking each other."""
    table = connection.ops.quote_name("household_eventsequence")
    admitted: set[tuple[int, int]] = set()
    if connection.vendor == "postgresql" and keys:
        # One statement whatever the batch size: two arrays instead of three parameters a row (the
        # client-side binding of a long VALUES list cost more than the insert).
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (zone_id, device_id, seq) "  # noqa: S608 - fixed names
                "SELECT %s, d, s FROM unnest(%s::bigint[], %s::bigint[]) AS u(d, s) ORDER BY d, s "
                "ON CONFLICT (zone_id, device_id, seq) DO NOTHING RETURNING device_id, seq",
                [zone_id, [d for d, _s in keys], [q for _d, q in keys]],
            )
            admitted.update((int(d), int(s)) for d, s in cursor.fetchall())
        return admitted
    with connection.cursor() as cursor:
        for start in range(0, len(keys), LEDGER_CHUNK):
            chunk = keys[start : start + LEDGER_CHUNK]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params: list[int] = []
            for device_id, seq in chunk:
                params += [zone_id, device_id, seq]
            cursor.execute(
                f"INSERT INTO {table} (zone_id, device_id, seq) VALUES {values} "  # noqa: S608 - fixed names
                "ON CONFLICT (zone_id, device_id, seq) DO NOTHING RETURNING device_id, seq",
                params,
            )
            admitted.update((int(d), int(s)) for d, s in cursor.fetchall())
    return admitted


EVENT_COLUMNS = (
    "zone_id, device_id, seq, occurred_at, received_at, day, node, side, handover_key, household_class, "
    "weight_kg, quality_grade, impurities, recyclable_kind, bin_id, source_id, station_id, vehicle_id, "
    "site_id"
)


def _store_events(zone_id: int, new: list[_Accepted], now: datetime, zone_tz: zoneinfo.ZoneInfo) -> None:
    if not new:
        return
    if connection.vendor == "postgresql":
        _copy_events(zone_id, new, now, zone_tz)
        return
    HandoverEvent.objects.bulk_create(
        [
            HandoverEvent(
                zone_id=zone_id,
                device=a.device,
                seq=a.fields.seq,
                occurred_at=a.fields.occurred_at,
                received_at=now,
                day=rules.local_day(a.fields.occurred_at, zone_tz),
                node=a.fields.node,
                side=a.fields.side,
                handover_key=a.fields.handover,
                household_class=a.fields.household_class,
                weight_kg=a.fields.weight_kg,
                quality_grade=a.fields.quality_grade,
                impurities=",".join(a.fields.impurities),
                recyclable_kind=a.fields.recyclable_kind,
                bin=a.bin,
                source=a.source,
                station=a.station,
                vehicle=a.vehicle,
                site=a.site,
            )
            for a in new
        ],
        batch_size=500,
    )


def _copy_events(zone_id: int, new: list[_Accepted], now: datetime, zone_tz: zoneinfo.ZoneInfo) -> None:
    """PostgreSQL: COPY the rows (no model instances, no per-parameter quoting: the profile of a
    500-event batch spent most of its time building and binding the bulk INSERT; bench ADR 0054)."""
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY household_handoverevent ({EVENT_COLUMNS}) FROM STDIN") as copy,
    ):
        for a in new:
            f = a.fields
            copy.write_row(
                (
                    zone_id,
                    a.device.pk,
                    f.seq,
                    f.occurred_at,
                    now,
                    rules.local_day(f.occurred_at, zone_tz),
                    f.node,
                    f.side,
                    f.handover,
                    f.household_class,
                    f.weight_kg,
                    f.quality_grade,
                    ",".join(f.impurities),
                    f.recyclable_kind,
                    a.bin.pk if a.bin else None,
                    a.source.pk if a.source else None,
                    a.station.pk if a.station else None,
                    a.vehicle.pk if a.vehicle else None,
                    a.site.pk if a.site else None,
                )
            )


@dataclass(frozen=True)
class _Place:
    key: str
    station_id: int | None
    vehicle_id: int | None
    site_id: int | None
    area_id: int | None


def _place_of(a: _Accepted) -> _Place:
    kind = rules.place_kind(a.fields.node, a.fields.side)
    if kind == "station":
        assert a.station is not None
        return _Place(f"station:{a.station.pk}", a.station.pk, None, None, a.station.community_id)
    if kind == "vehicle":
        assert a.vehicle is not None
        return _Place(f"vehicle:{a.vehicle.pk}", None, a.vehicle.pk, None, a.vehicle.organization.area_id)
    assert a.site is not None
    return _Place(f"site:{a.site.pk}", None, None, a.site.pk, a.site.area_id)


def _roll_up(zone_id: int, new: list[_Accepted], zone_tz: zoneinfo.ZoneInfo) -> None:
    """Add the newly stored events to their days' roll-ups, in the events' transaction."""
    sums: dict[rules.FlowKey, rules.FlowSums] = {}
    places: dict[str, _Place] = {}
    for a in new:
        place = _place_of(a)
        places[place.key] = place
        rules.add_to_flows(
            sums,
            day=rules.local_day(a.fields.occurred_at, zone_tz),
            node=a.fields.node,
            side=a.fields.side,
            place=place.key,
            household_class=a.fields.household_class,
            weight_kg=a.fields.weight_kg,
        )
    # Sorted, so that two consumers lock the same rows in the same order.
    ordered = sorted(sums.items(), key=lambda kv: (kv[0].day, kv[0].node, kv[0].place, kv[0].household_class))
    if not ordered:
        return
    if connection.vendor == "postgresql":
        _upsert_flows_postgresql(zone_id, ordered, places)
    else:
        _add_flows_sqlite(zone_id, ordered, places)


FLOW_COLUMNS = (
    "zone_id, day, node, place, station_id, vehicle_id, site_id, area_id, household_class, "
    "in_kg, out_kg, events"
)


def _upsert_flows_postgresql(
    zone_id: int, ordered: list[tuple[rules.FlowKey, rules.FlowSums]], places: dict[str, _Place]
) -> None:
    """The batch's sums COPied into a session-temporary table (emptied at commit), then one upsert in
    sorted order: numeric addition in the database is exact and row-locked."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS household_flow_batch (zone_id bigint, day date, "
            "node varchar(16), place varchar(40), station_id bigint, vehicle_id bigint, site_id bigint, "
            "area_id bigint, household_class varchar(40), in_kg numeric, out_kg numeric, events integer) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(f"COPY household_flow_batch ({FLOW_COLUMNS}) FROM STDIN") as copy:
            for key, s in ordered:
                p = places[key.place]
                copy.write_row(
                    (
                        zone_id,
                        key.day,
                        key.node,
                        key.place,
                        p.station_id,
                        p.vehicle_id,
                        p.site_id,
                        p.area_id,
                        key.household_class,
                        s.in_kg,
                        s.out_kg,
                        s.events,
                    )
                )
        cursor.execute(
            f"INSERT INTO household_dailyflow ({FLOW_COLUMNS}) "  # noqa: S608 - fixed names
            f"SELECT {FLOW_COLUMNS} FROM household_flow_batch ORDER BY day, node, place, household_class "
            "ON CONFLICT (zone_id, day, node, place, household_class) DO UPDATE SET "
            "in_kg = household_dailyflow.in_kg + EXCLUDED.in_kg, "
            "out_kg = household_dailyflow.out_kg + EXCLUDED.out_kg, "
            "events = household_dailyflow.events + EXCLUDED.events"
        )
        cursor.execute("TRUNCATE household_flow_batch")


def _add_flows_sqlite(
    zone_id: int, ordered: list[tuple[rules.FlowKey, rules.FlowSums]], places: dict[str, _Place]
) -> None:
    """SQLite stores decimals as floating point, so sums are made in Python (exact) and written back.
    The connection opens its transactions IMMEDIATE (settings): no other writer can interleave."""
    days = {k.day for k, _s in ordered}
    existing = {
        (f.day, f.node, f.place, f.household_class): f
        for f in DailyFlow.objects.filter(zone_id=zone_id, day__in=days, place__in=places)
    }
    for key, s in ordered:
        row = existing.get((key.day, key.node, key.place, key.household_class))
        if row is None:
            p = places[key.place]
            DailyFlow.objects.create(
                zone_id=zone_id,
                day=key.day,
                node=key.node,
                place=key.place,
                station_id=p.station_id,
                vehicle_id=p.vehicle_id,
                site_id=p.site_id,
                area_id=p.area_id,
                household_class=key.household_class,
                in_kg=s.in_kg,
                out_kg=s.out_kg,
                events=s.events,
            )
        else:
            row.in_kg = Decimal(row.in_kg) + s.in_kg
            row.out_kg = Decimal(row.out_kg) + s.out_kg
            row.events += s.events
            row.save(update_fields=["in_kg", "out_kg", "events"])


def _payload_text(message: Any) -> str:
    payload = message.payload
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    return str(text)[: rules.MAX_PAYLOAD_BYTES * 2].replace("\x00", "\ufffd")


def _dead_letter(zone_id: int, refused: list[_Refused], now: datetime) -> None:
    """The refused messages, each once: a redelivered one (same topic and payload) is already there."""
    DeadLetter.objects.bulk_create(
        [
            DeadLetter(
                zone_id=zone_id,
                topic=r.message.topic[:200],
                payload=_payload_text(r.message),
                digest=hashlib.sha256(f"{r.message.topic}\n{_payload_text(r.message)}".encode()).hexdigest(),
                field=r.error.field,
                rule=r.error.rule,
                params=r.error.params,
                device=r.device,
                area_id=r.device.area_id if r.device else None,
                received_at=now,
            )
            for r in refused
        ],
        batch_size=500,
        ignore_conflicts=True,
    )
