"""The hash-chained audit log: verify, tampering found by `zerowaste audit verify`, append-only on
PostgreSQL, and a contiguous chain under concurrent writers."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from zerowaste.core import append_only, audit, services
from zerowaste.core.authz import Actor
from zerowaste.core.models import AuditEntry, Zone
from zerowaste.testing import parties


@pytest.fixture
def history(zone: Zone) -> list[AuditEntry]:
    org = parties.make_org(zone, roles=("carrier",))
    system = Actor.system(zone)
    services.add_licence(
        system,
        org.pk,
        kind="hw_transport",
        number="L-1",
        issuer="局",
        valid_from=date(2020, 1, 1),
        valid_to=date(2030, 1, 1),
        annual_capacity_t="1.5",
    )
    services.add_site(system, org.pk, name="场站", kind="station", latitude="39.1", longitude="116.2")
    services.update_organization(system, org.pk, name="改名后")
    parties.make_org(zone)
    return list(AuditEntry.objects.filter(zone_id=zone.pk).order_by("seq"))


def run_verify(*args: str) -> tuple[int, str, str]:
    import io
    import sys

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    code = 0
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def tamper(sql: str, params: list[Any]) -> None:
    """Change the audit table as a privileged user would: with the append-only triggers disabled
    (PostgreSQL) or dropped (SQLite)."""
    with transaction.atomic(), append_only.suspended(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def test_untouched_chain_verifies(history: list[AuditEntry], zone: Zone) -> None:
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert history[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(history))
    result = audit.verify()
    assert result.ok and result.entries_checked == len(history)
    code, out, _err = run_verify("--format", "json")
    assert code == 0
    assert json.loads(out) == {
        "ok": True,
        "entries_checked": len(history),
        "zones_checked": 1,
        "first_fault": None,
        "checkpoints_checked": 0,
        "latest_checkpoint": None,
    }
    code, out, _err = run_verify()
    assert code == 0 and "intact" in out


def test_entry_carries_who_what_where(history: list[AuditEntry]) -> None:
    site_entry = next(e for e in history if e.action == "site.add")
    assert site_entry.model == "core.site" and site_entry.actor_username == "system"
    assert site_entry.changes["latitude"] == [None, "39.100000"]
    rename = next(e for e in history if e.action == "organization.update")
    assert list(rename.changes) == ["name"]


def test_edited_changes_are_named(history: list[AuditEntry]) -> None:
    victim = history[2]
    tamper(
        "UPDATE core_auditentry SET changes = %s WHERE id = %s", [json.dumps({"name": ["a", "b"]}), victim.pk]
    )
    result = audit.verify()
    assert not result.ok and result.fault is not None
    assert result.fault.seq == victim.seq and result.fault.entry_id == victim.pk
    code, _out, err = run_verify()
    assert code == 1
    assert f"seq {victim.seq}" in err and f"#{victim.pk}" in err
    assert len(err.strip().splitlines()) == 1


def test_deleted_middle_entry_is_named(history: list[AuditEntry]) -> None:
    victim = history[3]
    tamper("DELETE FROM core_auditentry WHERE id = %s", [victim.pk])
    code, out, _err = run_verify("--format", "json")
    assert code == 1
    data = json.loads(out)
    assert (
        data["ok"] is False
        and f"seq {victim.seq}" in data["first_fault"]
        and "missing" in data["first_fault"]
    )


def test_deleted_last_entry_is_found(history: list[AuditEntry]) -> None:
    tamper("DELETE FROM core_auditentry WHERE id = %s", [history[-1].pk])
    result = audit.verify()
    assert not result.ok and result.fault is not None and result.fault.seq == history[-1].seq


def test_application_cannot_update_or_delete(history: list[AuditEntry]) -> None:
    """Append-only on both databases: a trigger refuses UPDATE and DELETE (core 0002 and 0005)."""
    for sql in (
        "UPDATE core_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM core_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [history[0].pk])
    assert audit.verify().ok


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_make_one_chain(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    zone = parties.make_zone()
    org = parties.make_org(zone)
    start = AuditEntry.objects.filter(zone_id=zone.pk).count()
    threads_n, per_thread = 8, 5
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                services.update_organization(Actor.system(zone), org.pk, contact_name=f"t{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = list(AuditEntry.objects.filter(zone_id=zone.pk).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, start + threads_n * per_thread + 1))
    assert audit.verify(zone.pk).ok
