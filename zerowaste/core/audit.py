"""The append-only, keyed hash chain of the audit log.

Each zone has its own chain. An entry's hash is HMAC-SHA256, under a key kept outside the database
(`audit_keys`), over the canonical JSON of the entry, which includes the previous entry's hash and the
key id; so a changed, missing or reordered entry breaks the chain at that point and nobody without
the key can rehash a forged history. Entries made before the chain was keyed (`key_id` "") carry
plain SHA-256 and still verify, but never after a keyed one. The chain head (last seq and hash) is
locked while appending so two writers cannot fork the chain.

Signed checkpoints of the chain heads (`audit_checkpoints`) are verified with the chain: a history
rewritten and rehashed with a stolen HMAC key still contradicts the checkpoints signed before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from . import audit_checkpoints, audit_keys
from .context import current_origin
from .models import AuditChainHead, AuditEntry

if TYPE_CHECKING:
    from .authz import Actor

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "zone_id",
    "seq",
    "at",
    "actor_user_id",
    "actor_username",
    "actor_org_id",
    "via",
    "action",
    "model",
    "object_id",
    "changes",
    "request_id",
    "ip",
    "prev_hash",
)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def canonical_json(entry: AuditEntry) -> str:
    values = {name: getattr(entry, name) for name in HASHED_FIELDS}
    values["at"] = entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if entry.key_id:
        # Keyed entries commit to their key id; unkeyed ones keep the text they were hashed over.
        values["key_id"] = entry.key_id
    return json.dumps(_plain(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(entry: AuditEntry, keys: audit_keys.HmacKeyRing | None = None) -> str:
    """HMAC-SHA256 under the entry's key, or plain SHA-256 for an entry made before keying.

    Raises `audit_keys.AuditKeyError` if the entry names a key the key ring does not hold.
    """
    text = canonical_json(entry).encode("utf-8")
    if not entry.key_id:
        return hashlib.sha256(text).hexdigest()
    ring = keys or audit_keys.hmac_keys()
    secret = ring.keys.get(entry.key_id)
    if secret is None:
        raise audit_keys.AuditKeyError(f"the key ring has no audit key {entry.key_id!r}")
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def current_key() -> tuple[str, audit_keys.HmacKeyRing]:
    """The id of the key that keys new entries, and the ring holding it."""
    ring = audit_keys.hmac_keys()
    return ring.current_id, ring


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited values of a row: concrete fields (foreign keys by id) or the named ones."""
    if fields is None:
        fields = [f.attname for f in instance._meta.concrete_fields]
    return {name: _plain(getattr(instance, name)) for name in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose value changed."""
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def record(
    actor: Actor,
    action: str,
    instance: models.Model,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry for a change of `instance`; call inside the transaction making the change."""
    zone_id = getattr(instance, "zone_id", None) or actor.zone_id
    return append(
        zone_id=zone_id,
        actor=actor,
        action=action,
        model=instance._meta.label_lower,
        object_id=str(instance.pk),
        changes=changes if changes is not None else {},
    )


@dataclass(frozen=True)
class Change:
    """One audited change, before it is linked into the chain."""

    action: str
    model: str
    object_id: str
    changes: dict[str, Any]


def append(
    *, zone_id: int, actor: Actor, action: str, model: str, object_id: str, changes: dict[str, Any]
) -> AuditEntry:
    """Link one change into the zone's chain (atomic through `append_many`)."""
    return append_many(zone_id=zone_id, actor=actor, items=[Change(action, model, object_id, changes)])[0]


@transaction.atomic
def append_many(*, zone_id: int, actor: Actor, items: list[Change]) -> list[AuditEntry]:
    """Link `items` into the zone's chain in order, under one lock of its head and one insert: a bulk
    write (an organization import of thousands of rows) costs a few statements, not a few per row."""
    if not items:
        return []
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(
        zone_id=zone_id, defaults={"seq": 0, "hash": GENESIS_HASH}
    )
    if _created:
        # get_or_create does not lock a row it just made on every backend; lock it now.
        head = AuditChainHead.objects.select_for_update().get(zone_id=zone_id)
    origin = current_origin()
    key_id, ring = current_key()
    at = timezone.now()
    entries = []
    seq, prev_hash = head.seq, head.hash
    for item in items:
        seq += 1
        entry = AuditEntry(
            zone_id=zone_id,
            seq=seq,
            at=at,
            actor_user_id=actor.user.pk if actor.user else None,
            actor_username=actor.username,
            actor_org_id=actor.organization_id,
            via=origin.via,
            action=item.action,
            model=item.model,
            object_id=item.object_id,
            changes=_plain(item.changes),
            request_id=origin.request_id,
            ip=origin.ip,
            prev_hash=prev_hash,
            key_id=key_id,
        )
        entry.hash = compute_hash(entry, ring)
        prev_hash = entry.hash
        entries.append(entry)
    if len(entries) == 1:
        entries[0].save(force_insert=True)
    else:
        AuditEntry.objects.bulk_create(entries, batch_size=1000)
    head.seq, head.hash = seq, prev_hash
    head.save(update_fields=["seq", "hash"])
    return entries


@dataclass(frozen=True)
class ChainFault:
    zone_id: int
    seq: int
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"entry #{self.entry_id}" if self.entry_id is not None else "entry"
        return f"zone {self.zone_id}, seq {self.seq} ({where}): {self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    entries_checked: int
    zones_checked: int
    fault: ChainFault | None
    checkpoints_checked: int = 0
    latest_checkpoint: audit_checkpoints.SignedCheckpoint | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None

    def as_dict(self) -> dict[str, Any]:
        latest = self.latest_checkpoint
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "zones_checked": self.zones_checked,
            "first_fault": str(self.fault) if self.fault else None,
            "checkpoints_checked": self.checkpoints_checked,
            "latest_checkpoint": (
                {"zone_id": latest.zone_id, "seq": latest.seq, "at": latest.at, "source": latest.source}
                if latest
                else None
            ),
        }


def _verify_zone(
    zone_id: int,
    entries: Iterator[AuditEntry],
    head: AuditChainHead | None,
    ring: audit_keys.HmacKeyRing | None,
    checkpoints: dict[int, list[audit_checkpoints.SignedCheckpoint]],
) -> tuple[int, ChainFault | None]:
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    keyed = False
    last_anchored = 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return count, ChainFault(
                zone_id, expected_seq, None, f"missing (next present is seq {entry.seq})"
            )
        if entry.prev_hash != prev_hash:
            return count, ChainFault(
                zone_id, entry.seq, entry.pk, "prev_hash does not link to the previous entry"
            )
        if entry.key_id:
            keyed = True
        elif keyed:
            return count, ChainFault(
                zone_id,
                entry.seq,
                entry.pk,
                "not keyed although earlier entries are (rehashed by someone without the key)",
            )
        if entry.key_id and (ring is None or entry.key_id not in ring.keys):
            return count, ChainFault(
                zone_id,
                entry.seq,
                entry.pk,
                f"keyed with audit key {entry.key_id!r}, which the key ring does not hold",
            )
        if compute_hash(entry, ring) != entry.hash:
            return count, ChainFault(zone_id, entry.seq, entry.pk, "content changed (hash mismatch)")
        for checkpoint in checkpoints.get(entry.seq, ()):
            if checkpoint.head_hash != entry.hash:
                return count, ChainFault(
                    zone_id,
                    entry.seq,
                    entry.pk,
                    f"differs from the checkpoint signed at {checkpoint.at} ({checkpoint.source}): "
                    f"entries after seq {last_anchored} were rewritten",
                )
            last_anchored = entry.seq
        prev_hash = entry.hash
        expected_seq += 1
    beyond = [c for seq, cs in checkpoints.items() if seq >= expected_seq for c in cs]
    if beyond:
        first = min(beyond, key=lambda c: c.seq)
        return count, ChainFault(
            zone_id,
            expected_seq,
            None,
            f"missing: the checkpoint signed at {first.at} ({first.source}) records {first.seq} entries, "
            f"found {expected_seq - 1}",
        )
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return count, ChainFault(
            zone_id,
            expected_seq,
            None,
            f"missing: the chain head records {head.seq} entries, found {expected_seq - 1}",
        )
    return count, None


def verify(zone_id: int | None = None) -> VerifyResult:
    """Walk each zone's chain in order, check it against every signed checkpoint (the files under
    AUDIT_CHECKPOINT_DIR and the database's rows) and report the first broken entry or checkpoint."""
    heads = {h.zone_id: h for h in AuditChainHead.objects.all()}
    loaded = audit_checkpoints.load(zone_id)
    zone_ids = (
        set(AuditEntry.objects.values_list("zone_id", flat=True).distinct())
        | set(heads)
        | {c.zone_id for c in loaded.checkpoints}
    )
    if zone_id is not None:
        zone_ids = {zone_id} & zone_ids
    latest = max(loaded.checkpoints, key=lambda c: (c.at, c.seq), default=None)
    if loaded.problems:
        problem = loaded.problems[0]
        bad_checkpoint = ChainFault(problem.zone_id or 0, problem.seq or 0, None, problem.reason)
        return VerifyResult(0, len(zone_ids), bad_checkpoint, len(loaded.checkpoints), latest)
    try:
        ring: audit_keys.HmacKeyRing | None = audit_keys.hmac_keys()
    except audit_keys.AuditKeyError:
        ring = None  # every keyed entry is then reported as made with a key the ring does not hold
    by_zone: dict[int, dict[int, list[audit_checkpoints.SignedCheckpoint]]] = {}
    for checkpoint in loaded.checkpoints:
        by_zone.setdefault(checkpoint.zone_id, {}).setdefault(checkpoint.seq, []).append(checkpoint)
    total = 0
    for zid in sorted(zone_ids):
        entries = AuditEntry.objects.filter(zone_id=zid).order_by("seq").iterator(chunk_size=2000)
        count, fault = _verify_zone(zid, entries, heads.get(zid), ring, by_zone.get(zid, {}))
        total += count
        if fault is not None:
            return VerifyResult(total, len(zone_ids), fault, len(loaded.checkpoints), latest)
    return VerifyResult(total, len(zone_ids), None, len(loaded.checkpoints), latest)
