"""Issue 15, defect 12: the audit chain cannot be forged by someone who can only write the database.

Entries are keyed with HMAC-SHA256 (a key outside the database), the chain heads are signed daily
into checkpoint files (Ed25519) that `audit verify` reads back, and the table is append-only on
SQLite as on PostgreSQL. The attack of the issue: rewrite an entry, recompute every following hash
and the head (with plain SHA-256, or with a stolen HMAC key), and verify must still fail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from zerowaste.core import append_only, audit, audit_checkpoints, audit_keys, services
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict
from zerowaste.core.models import AuditChainHead, AuditCheckpoint, AuditEntry, Organization, Zone
from zerowaste.core.tests.test_audit import run_verify, tamper
from zerowaste.testing import parties


def _test_key() -> bytes:
    """The HMAC key the test settings give (conftest._audit_keys): what a thief would hold."""
    keys = django_settings.AUDIT_HMAC_KEYS
    assert keys is not None
    return bytes.fromhex(keys["test1"])


def _entries(zone: Zone) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(zone_id=zone.pk).order_by("seq"))


@pytest.fixture
def chain(zone: Zone) -> list[AuditEntry]:
    org = parties.make_org(zone, roles=("carrier",))
    system = Actor.system(zone)
    for n in range(4):
        services.update_organization(system, org.pk, contact_name=f"联系人{n}")
    return _entries(zone)


def rewrite_from(zone: Zone, seq: int, key_id: str, secret: bytes | None) -> None:
    """The forgery of the issue: change entry `seq`, then rehash it and every later entry and the head,
    with plain SHA-256 (key_id "") or with the HMAC key `secret` (stolen)."""
    entries = _entries(zone)
    ring = audit_keys.HmacKeyRing({key_id: secret}, key_id) if secret else None
    prev = entries[seq - 2].hash if seq > 1 else audit.GENESIS_HASH
    for entry in entries[seq - 1 :]:
        if entry.seq == seq:
            entry.changes = {"contact_name": ["真的", "伪造的"]}
        entry.key_id = key_id
        entry.prev_hash = prev
        entry.hash = audit.compute_hash(entry, ring)
        tamper(
            "UPDATE core_auditentry SET changes = %s, key_id = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(entry.changes), entry.key_id, entry.prev_hash, entry.hash, entry.pk],
        )
        prev = entry.hash
    AuditChainHead.objects.filter(zone_id=zone.pk).update(hash=prev)


def test_new_entries_are_keyed_with_hmac(chain: list[AuditEntry]) -> None:
    for entry in chain:
        text = audit.canonical_json(entry).encode()
        assert entry.key_id == "test1" and '"key_id":"test1"' in text.decode()
        assert entry.hash == hmac.new(_test_key(), text, hashlib.sha256).hexdigest()
        assert entry.hash != hashlib.sha256(text).hexdigest()
    assert audit.verify().ok


def test_entries_made_before_keying_still_verify(zone: Zone, monkeypatch: pytest.MonkeyPatch) -> None:
    """Existing entries were hashed with plain SHA-256 over the old canonical text: they verify."""
    monkeypatch.setattr(audit, "current_key", lambda: ("", audit_keys.hmac_keys()))
    org = parties.make_org(zone)
    monkeypatch.undo()
    services.update_organization(Actor.system(zone), org.pk, contact_name="之后")
    entries = _entries(zone)
    legacy = [e for e in entries if not e.key_id]
    assert legacy and entries[-1].key_id == "test1"
    assert all(e.hash == hashlib.sha256(audit.canonical_json(e).encode()).hexdigest() for e in legacy)
    assert "key_id" not in audit.canonical_json(legacy[0])
    assert audit.verify().ok


def test_rehashed_with_plain_sha256_is_found(chain: list[AuditEntry], zone: Zone) -> None:
    """Without the key a forger can only fall back to plain SHA-256: refused after a keyed entry."""
    victim = chain[2]
    rewrite_from(zone, victim.seq, "", None)
    result = audit.verify()
    assert not result.ok and result.fault is not None
    assert (result.fault.seq, result.fault.entry_id) == (victim.seq, victim.pk)
    assert "not keyed" in result.fault.reason
    code, _out, err = run_verify()
    assert code == 1 and f"#{victim.pk}" in err


@pytest.mark.parametrize("forger", ["plain-sha256-from-the-first-entry", "stolen-hmac-key"])
def test_rehashed_history_contradicts_the_signed_checkpoint(
    chain: list[AuditEntry], zone: Zone, settings: Any, forger: str
) -> None:
    made = audit_checkpoints.write_checkpoints()
    assert [(c.zone_id, c.seq) for c in made] == [(zone.pk, chain[-1].seq)]
    if forger == "stolen-hmac-key":
        rewrite_from(zone, 2, "test1", _test_key())
    else:
        rewrite_from(zone, 1, "", None)
    AuditCheckpoint.objects.all().delete()  # the forger has the database, not the checkpoint files
    result = audit.verify()
    assert not result.ok and result.fault is not None
    assert result.fault.seq == chain[-1].seq and result.fault.entry_id == chain[-1].pk
    assert "checkpoint" in result.fault.reason and made[0].source in result.fault.reason
    code, out, _err = run_verify("--format", "json")
    assert code == 1 and json.loads(out)["checkpoints_checked"] == 1
    # Without the checkpoint the forgery would pass: it is the checkpoint that catches it.
    settings.AUDIT_CHECKPOINT_DIR = Path(settings.AUDIT_CHECKPOINT_DIR).parent / "elsewhere"
    assert audit.verify().ok


def test_entries_cut_below_a_checkpoint_are_found(chain: list[AuditEntry], zone: Zone) -> None:
    audit_checkpoints.write_checkpoints()
    tamper("DELETE FROM core_auditentry WHERE zone_id = %s AND seq > %s", [zone.pk, chain[-3].seq])
    AuditChainHead.objects.filter(zone_id=zone.pk).update(seq=chain[-3].seq, hash=chain[-3].hash)
    result = audit.verify()
    assert not result.ok and result.fault is not None
    assert result.fault.seq == chain[-2].seq and f"records {chain[-1].seq} entries" in result.fault.reason


def test_altered_or_foreign_checkpoints_are_refused(chain: list[AuditEntry], zone: Zone) -> None:
    audit_checkpoints.write_checkpoints()
    path = next(Path(audit_checkpoints.checkpoint_dir()).glob("*.json"))
    document = json.loads(path.read_text())
    record = document["checkpoints"][0]
    record["payload"] = record["payload"].replace(chain[-1].hash, "f" * 64)
    path.write_text(json.dumps(document))
    result = audit.verify()
    assert not result.ok and result.fault is not None and "signature does not match" in result.fault.reason
    # A checkpoint row signed by a key the platform never used (a forger's) is refused too.
    path.unlink()
    AuditCheckpoint.objects.all().delete()
    foreign = Ed25519PrivateKey.generate()
    payload = audit_checkpoints.payload_of(zone.pk, zone.code, 1, chain[0].hash, chain[0].at)
    AuditCheckpoint.objects.create(
        zone_id=zone.pk,
        seq=1,
        head_hash=chain[0].hash,
        at=chain[0].at,
        day=date.today(),
        key_fingerprint=audit_keys.fingerprint(foreign.public_key()),
        payload=payload,
        signature=base64.b64encode(foreign.sign(payload.encode())).decode(),
    )
    result = audit.verify()
    assert not result.ok and result.fault is not None and "not a trusted" in result.fault.reason


def test_checkpoint_command_writes_the_day_file_and_row(chain: list[AuditEntry], zone: Zone) -> None:
    from io import StringIO

    out = StringIO()
    call_command("audit", "checkpoint", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert [(c["zone_id"], c["seq"], c["head_hash"]) for c in data["checkpoints"]] == [
        (zone.pk, chain[-1].seq, chain[-1].hash)
    ]
    document = json.loads(Path(data["file"]).read_text())
    assert document["format"] == audit_checkpoints.FILE_FORMAT
    record = document["checkpoints"][0]
    # Anyone verifies with the published public key alone.
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_keys"][record["key"]]))
    public.verify(base64.b64decode(record["signature"]), record["payload"].encode())
    assert json.loads(record["payload"])["entries"] == chain[-1].seq
    row = AuditCheckpoint.objects.get()
    assert (row.zone_id, row.seq, row.head_hash, row.payload) == (
        zone.pk,
        chain[-1].seq,
        chain[-1].hash,
        record["payload"],
    )
    # Twice the same day with nothing new: nothing signed again.
    assert audit_checkpoints.write_checkpoints() == [] and AuditCheckpoint.objects.count() == 1
    code, out_text, _err = run_verify()
    assert code == 0 and "1 signed checkpoint(s) match" in out_text


def test_no_checkpoint_is_signed_over_a_broken_chain(chain: list[AuditEntry]) -> None:
    tamper("UPDATE core_auditentry SET action = 'x' WHERE id = %s", [chain[1].pk])
    with pytest.raises(Conflict, match=f"seq {chain[1].seq}"):
        audit_checkpoints.write_checkpoints()
    assert not AuditCheckpoint.objects.exists()
    assert not list(Path(audit_checkpoints.checkpoint_dir()).glob("*.json"))


def test_key_rotation_keeps_old_entries_verifiable(zone: Zone, settings: Any) -> None:
    """Keys from the key file: created once, rotated by `audit rotate-key`, old entries keep verifying."""
    settings.AUDIT_HMAC_KEYS = None
    settings.AUDIT_SIGNING_KEY_SEED = None
    org = parties.make_org(zone)
    key_file = Path(settings.AUDIT_KEY_DIR) / audit_keys.HMAC_KEYS_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    audit_checkpoints.write_checkpoints()
    old_signer = audit_keys.fingerprint(audit_keys.signing_key().public_key())
    call_command("audit", "rotate-key")
    call_command("audit", "rotate-key", "--signing")
    assert audit_keys.fingerprint(audit_keys.signing_key().public_key()) != old_signer
    services.update_organization(Actor.system(zone), org.pk, contact_name="新钥匙")
    assert {e.key_id for e in _entries(zone)} == {"k1", "k2"}
    audit_checkpoints.write_checkpoints()
    assert AuditCheckpoint.objects.values("key_fingerprint").distinct().count() == 2
    assert audit.verify().ok
    # Dropping the old key from the ring makes its entries unverifiable, and verify says so.
    key_file.write_text(
        "\n".join(line for line in key_file.read_text().splitlines() if not line.startswith("k1"))
    )
    result = audit.verify()
    assert not result.ok and result.fault is not None and "'k1'" in result.fault.reason


@pytest.mark.django_db(transaction=True)
def test_append_only_trigger_survives_a_flush(zone: Zone) -> None:
    """`flush` (demo --reset, test teardown) still empties the table on SQLite; the triggers stay."""
    parties.make_org(zone)
    audit_checkpoints.write_checkpoints()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists()
    assert not list(Path(audit_checkpoints.checkpoint_dir()).glob("*.json"))  # set aside
    fresh = parties.make_zone()
    parties.make_org(fresh)
    entry = AuditEntry.objects.filter(zone_id=fresh.pk).first()
    assert entry is not None
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])
    assert audit.verify().ok


def test_append_makes_no_extra_query(zone: Zone, django_assert_num_queries: Any) -> None:
    org = parties.make_org(zone)
    actor = Actor.system(zone)
    audit.record(actor, "warm.up", org)
    # Lock the head, insert the entry, move the head (and the savepoint of the atomic block).
    expected = 3 + (2 if connection.features.uses_savepoints else 0)
    with django_assert_num_queries(expected):
        audit.record(actor, "organization.touch", org)


# --- Web page, API and public page -----------------------------------------------------------------


@pytest.fixture
def regulator(zone: Zone) -> Organization:
    return parties.make_org(zone, roles=("regulator",))


def test_verify_api_and_page_report_the_checkpoints(
    chain: list[AuditEntry], zone: Zone, regulator: Organization
) -> None:
    api = parties.api_client(regulator, ("read",))
    before = api.get("/api/audit/verify").json()
    assert before["ok"] and before["checkpoints_checked"] == 0 and before["latest_checkpoint"] is None
    audit_checkpoints.write_checkpoints()
    head = AuditChainHead.objects.get(zone_id=zone.pk)
    after = api.get("/api/audit/verify").json()
    assert after["ok"] and after["checkpoints_checked"] == 1
    assert after["latest_checkpoint"]["seq"] == head.seq and after["latest_checkpoint"]["source"].endswith(
        ".json"
    )

    client = Client()
    member = parties.make_member(regulator, "viewer")
    client.force_login(member.user)
    html = client.get("/audit/?verify=1", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Checked against 1 signed checkpoint" in html and f"covers entry {head.seq}" in html
    assert f"最新的检查点覆盖至第{head.seq}条" in client.get("/audit/?verify=1").content.decode()

    rewrite_from(zone, 1, "test1", _test_key())
    AuditCheckpoint.objects.all().delete()
    broken = api.get("/api/audit/verify").json()
    assert not broken["ok"] and "checkpoint" in broken["first_fault"]


def test_public_page_publishes_key_and_checkpoints(chain: list[AuditEntry], zone: Zone) -> None:
    audit_checkpoints.write_checkpoints()
    row = AuditCheckpoint.objects.get()
    public_key = audit_keys.public_key_b64(audit_keys.signing_key().public_key())
    html = Client().get(f"/open-data/?zone={zone.code}").content.decode()
    assert 'id="public-audit"' in html and row.head_hash in html and "BEGIN PUBLIC KEY" in html
    assert "审计日志检查点" in html
    download = Client().get(f"/open-data/audit-checkpoints/{row.day:%Y-%m-%d}.json?zone={zone.code}")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    document = download.json()
    record = document["checkpoints"][0]
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_keys"][record["key"]]))
    key.verify(base64.b64decode(record["signature"]), record["payload"].encode())
    assert Client().get(f"/open-data/audit-checkpoints/2000-01-01.json?zone={zone.code}").status_code == 404
    assert Client().get(f"/open-data/audit-checkpoints/../x.json?zone={zone.code}").status_code == 404
    api = Client().get("/api/portal/public/audit-checkpoints", {"zone": zone.code}).json()
    assert api["public_keys"][0] == {
        "fingerprint": row.key_fingerprint,
        "public_key": public_key,
        "pem": audit_keys.public_key_pem(audit_keys.signing_key().public_key()),
        "current": True,
    }
    assert [c["head_hash"] for c in api["checkpoints"]] == [row.head_hash]
    assert Client().get("/api/portal/public/audit-checkpoints", {"zone": "nope"}).status_code == 404


def test_sqlite_triggers_match_the_shared_sql(db: None, is_postgres: bool) -> None:
    if is_postgres:
        pytest.skip("PostgreSQL's trigger comes from core 0002")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_auditentry'"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == set(append_only.SQLITE_TRIGGERS)
