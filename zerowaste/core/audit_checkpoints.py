"""Signed checkpoints of the audit chain heads (ADR 0044).

A checkpoint says "zone Z's chain had N entries ending in hash H at time T", as canonical JSON signed
with the Ed25519 key of `audit_keys`. `zerowaste audit checkpoint` (daily, by cron) verifies each
zone's chain, signs its head, appends the checkpoint to the day's file
`AUDIT_CHECKPOINT_DIR/YYYY-MM-DD.json` and stores a row for the public page. `audit.verify` reads
the files and the rows back: a history rewritten after a checkpoint, even rehashed with the HMAC key,
no longer ends in the signed hash at the signed seq.

Anyone can check a checkpoint with the public key alone: the signature is over the UTF-8 bytes of
`payload`, exactly as stored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit_keys
from .errors import Conflict
from .models import AuditChainHead, AuditCheckpoint

PAYLOAD_FORMAT = "zerowaste-audit-checkpoint/1"
FILE_FORMAT = "zerowaste-audit-checkpoints/1"


@dataclass(frozen=True)
class SignedCheckpoint:
    zone_id: int
    seq: int
    head_hash: str
    at: str
    payload: str
    signature: str
    key: str
    source: str  # the day file's name, or "database"

    @property
    def signed_at(self) -> datetime:
        return datetime.strptime(self.at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def record(self) -> dict[str, str]:
        """What a day file holds for this checkpoint."""
        return {"payload": self.payload, "signature": self.signature, "key": self.key}


@dataclass(frozen=True)
class CheckpointProblem:
    source: str
    reason: str
    zone_id: int | None = None
    seq: int | None = None


@dataclass
class Loaded:
    checkpoints: list[SignedCheckpoint] = field(default_factory=list)
    problems: list[CheckpointProblem] = field(default_factory=list)


def checkpoint_dir() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def _parse(
    record: Any, source: str, trusted: dict[str, audit_keys.Ed25519PublicKey]
) -> SignedCheckpoint | CheckpointProblem:
    if not isinstance(record, dict) or not all(
        isinstance(record.get(k), str) for k in ("payload", "signature", "key")
    ):
        return CheckpointProblem(source, f"checkpoint {source}: a record lacks payload, signature or key")
    payload, signature, key = record["payload"], record["signature"], record["key"]
    try:
        data = json.loads(payload)
        zone_id, seq, head_hash, at = (
            int(data["zone_id"]),
            int(data["seq"]),
            str(data["head_hash"]),
            str(data["at"]),
        )
        if data.get("format") != PAYLOAD_FORMAT:
            raise ValueError(data.get("format"))
    except (ValueError, KeyError, TypeError):
        return CheckpointProblem(source, f"checkpoint {source}: unreadable payload")
    valid = audit_keys.signature_valid(payload, signature, key, trusted)
    if valid is None:
        return CheckpointProblem(
            source,
            f"checkpoint signed at {at} ({source}) names key {key}, which is not a trusted audit signing key",
            zone_id,
            seq,
        )
    if not valid:
        return CheckpointProblem(
            source,
            f"checkpoint signed at {at} ({source}): the signature does not match (altered)",
            zone_id,
            seq,
        )
    return SignedCheckpoint(zone_id, seq, head_hash, at, payload, signature, key, source)


def _file_records(path: Path) -> list[Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        return None
    records = document.get("checkpoints")
    return records if isinstance(records, list) else None


def load(zone_id: int | None = None) -> Loaded:
    """Every checkpoint in the day files and the database (each once), with those that fail."""
    loaded = Loaded()
    seen: set[tuple[str, str]] = set()
    trusted = audit_keys.trusted_public_keys()

    def take(record: Any, source: str) -> None:
        if isinstance(record, dict) and (record.get("payload"), record.get("signature")) in seen:
            return
        parsed = _parse(record, source, trusted)
        if isinstance(parsed, CheckpointProblem):
            if zone_id is None or parsed.zone_id in (None, zone_id):
                loaded.problems.append(parsed)
            return
        seen.add((parsed.payload, parsed.signature))
        if zone_id is None or parsed.zone_id == zone_id:
            loaded.checkpoints.append(parsed)

    directory = checkpoint_dir()
    if directory.is_dir():
        for path in sorted(directory.glob("*.json")):
            records = _file_records(path)
            if records is None:
                loaded.problems.append(
                    CheckpointProblem(path.name, f"checkpoint file {path.name} is unreadable")
                )
                continue
            for record in records:
                take(record, path.name)
    rows = AuditCheckpoint.objects.order_by("at", "pk")
    if zone_id is not None:
        rows = rows.filter(zone_id=zone_id)
    for row in rows:
        take({"payload": row.payload, "signature": row.signature, "key": row.key_fingerprint}, "database")
    return loaded


def day_path(day: date) -> Path:
    return checkpoint_dir() / f"{day.isoformat()}.json"


def day_document(day: date, checkpoints: list[SignedCheckpoint] | list[dict[str, str]]) -> dict[str, Any]:
    records = [c.record() if isinstance(c, SignedCheckpoint) else c for c in checkpoints]
    keys = audit_keys.trusted_public_keys()
    used = {r["key"] for r in records}
    return {
        "format": FILE_FORMAT,
        "day": day.isoformat(),
        "public_keys": {fp: audit_keys.public_key_b64(k) for fp, k in sorted(keys.items()) if fp in used},
        "checkpoints": records,
    }


def _write_day_file(day: date, new: list[SignedCheckpoint]) -> Path:
    """Add checkpoints to the day's file, keeping what it held; replaced atomically."""
    path = day_path(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    records: list[Any] = []
    if path.exists():
        existing = _file_records(path)
        if existing is None:
            raise Conflict(
                _("The checkpoint file %(name)s is unreadable; it is left as it is.") % {"name": path.name}
            )
        records = existing
    records += [c.record() for c in new]
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(
        json.dumps(day_document(day, records), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)
    return path


def archive_files() -> Path | None:
    """Move the day files aside (into `flushed-<time>/`) after the database they vouch for was erased."""
    directory = checkpoint_dir()
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not files:
        return None
    target = directory / f"flushed-{timezone.now():%Y%m%dT%H%M%S%f}"
    target.mkdir()
    for path in files:
        os.replace(path, target / path.name)
    return target


def published(zone_id: int, limit: int = 14) -> dict[str, Any]:
    """What the public page shows: the keys that verify the checkpoints and the zone's latest ones."""
    keys = audit_keys.trusted_public_keys()
    current = audit_keys.fingerprint(audit_keys.signing_key().public_key())
    rows = AuditCheckpoint.objects.filter(zone_id=zone_id).order_by("-at", "-pk")[:limit]
    return {
        "public_keys": [
            {
                "fingerprint": fp,
                "public_key": audit_keys.public_key_b64(key),
                "pem": audit_keys.public_key_pem(key),
                "current": fp == current,
            }
            for fp, key in sorted(keys.items(), key=lambda item: item[0] != current)
        ],
        "checkpoints": [
            {
                "day": row.day,
                "seq": row.seq,
                "head_hash": row.head_hash,
                "at": row.at,
                "key": row.key_fingerprint,
                "payload": row.payload,
                "signature": row.signature,
            }
            for row in rows
        ],
    }


def zone_day_document(zone_id: int, day: date) -> dict[str, Any] | None:
    """The zone's checkpoints of one day, in the day file's format (None if there are none)."""
    rows = AuditCheckpoint.objects.filter(zone_id=zone_id, day=day).order_by("at", "pk")
    records = [{"payload": r.payload, "signature": r.signature, "key": r.key_fingerprint} for r in rows]
    return day_document(day, records) if records else None


def payload_of(zone_id: int, zone_code: str, seq: int, head_hash: str, at: datetime) -> str:
    values = {
        "format": PAYLOAD_FORMAT,
        "zone_id": zone_id,
        "zone": zone_code,
        "seq": seq,
        "entries": seq,
        "head_hash": head_hash,
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def write_checkpoints(zone_id: int | None = None) -> list[SignedCheckpoint]:
    """Sign today's checkpoint of every zone's chain head (or one zone's) after verifying the chain.

    A zone whose chain does not verify is refused (Conflict naming the fault): signing a broken or
    forged history would vouch for it. A head already checkpointed today is not signed again.
    """
    from . import audit
    from .models import Zone

    now = timezone.now()
    day = timezone.localdate(now)
    heads_qs = AuditChainHead.objects.filter(seq__gt=0).order_by("zone_id")
    if zone_id is not None:
        heads_qs = heads_qs.filter(zone_id=zone_id)
    heads = list(heads_qs)
    codes = dict(Zone.objects.values_list("pk", "code"))
    made: list[SignedCheckpoint] = []
    for head in heads:
        # `head` was read before the walk, so the walk covered the entry it names.
        result = audit.verify(head.zone_id)
        if not result.ok:
            raise Conflict(
                _("The audit chain is broken, no checkpoint signed: %(fault)s") % {"fault": result.fault}
            )
        if AuditCheckpoint.objects.filter(
            zone_id=head.zone_id, day=day, seq=head.seq, head_hash=head.hash
        ).exists():
            continue
        payload = payload_of(head.zone_id, codes.get(head.zone_id, ""), head.seq, head.hash, now)
        signature, key = audit_keys.sign(payload)
        at = json.loads(payload)["at"]
        made.append(
            SignedCheckpoint(
                head.zone_id, head.seq, head.hash, at, payload, signature, key, day_path(day).name
            )
        )
    if made:
        with transaction.atomic():
            _write_day_file(day, made)
            AuditCheckpoint.objects.bulk_create(
                AuditCheckpoint(
                    zone_id=c.zone_id,
                    seq=c.seq,
                    head_hash=c.head_hash,
                    at=now,
                    day=day,
                    key_fingerprint=c.key,
                    payload=c.payload,
                    signature=c.signature,
                )
                for c in made
            )
    return made
