"""The demo zone for tests, built once per test process and then restored from a snapshot of its rows.

Building the demo takes a minute or more on a loaded CI machine, and a dozen test modules need it; each
used to build its own. On PostgreSQL the first build in a process is followed by a snapshot: the rows
the build added (`COPY … TO STDOUT` of every table, less the rows that were there before), and the
partitions it created. Every later request, inside its own transaction as before, re-creates those
partitions and copies the rows back in (`COPY … FROM STDIN`), a few seconds instead of a build. The
restored rows are byte for byte the built ones, ids included; each sequence is moved past them when it
is behind (a test may have reset the sequences since).

The snapshot is only used while the rows that were in the database before the build (migrations' data)
are unchanged; else the next request builds again and takes a new snapshot. Django's content types and
permissions are left out: a browser test's flush re-creates them with other ids, and the demo refers
to none of them (a build that did would not be snapshot, nor one that changed a row that was there
before). On SQLite every request builds.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.test import override_settings

from zerowaste.testing import TEST_AUDIT_HMAC_KEYS, TEST_AUDIT_SIGNING_SEED

DEMO_SEED = 1


@dataclass(frozen=True)
class Snapshot:
    base: str  # fingerprint of the rows that were there before the build
    partitions: tuple[str, ...]  # CREATE TABLE … PARTITION OF … statements
    tables: tuple[tuple[str, str, bytes], ...]  # (table, column list, COPY data)
    sequences: tuple[tuple[str, int], ...]  # (sequence, the highest value its column holds)


_snapshot: Snapshot | None = None
_unusable = False  # a build changed pre-existing rows: always build
_in_use: Snapshot | None = None  # the snapshot of the demo last restored or built


def demo(**build_args: Any) -> Any:
    """The demo zone in the current transaction: restored from this process's snapshot when it is
    usable, else built (and snapshot, on PostgreSQL). Returns `build_demo`'s result."""
    global _snapshot, _unusable, _in_use
    from zerowaste.core.demo import build_demo

    _in_use = None
    if build_args not in ({}, {"scale": 1}) or connection.vendor != "postgresql":
        return build_demo(seed=DEMO_SEED, **build_args)
    with connection.cursor() as cursor:
        tables = _tables(cursor)
        base = _fingerprint(cursor, tables)
        if _snapshot is not None and _snapshot.base == base[0]:
            with transaction.atomic():  # a browser test's database commits: the foreign keys at the end
                _restore(cursor, _snapshot)
            _in_use = _snapshot
            return build_demo(seed=DEMO_SEED)  # finds the restored zone: already built
        before_partitions = _partitions(cursor)
        # The tests' audit keys, whatever the caller's settings (a module's fixture runs before the
        # per-test ones), so the restored chain verifies in every test; the build's foreign keys are
        # checked once here, not again at the end of every test that rolls back to a savepoint above it.
        with override_settings(
            AUDIT_HMAC_KEYS=dict(TEST_AUDIT_HMAC_KEYS), AUDIT_SIGNING_KEY_SEED=TEST_AUDIT_SIGNING_SEED
        ):
            result = build_demo(seed=DEMO_SEED)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        if not _unusable:
            with transaction.atomic():
                taken = _take(cursor, tables, base, before_partitions)
            if taken is None:
                _unusable = True
                print("demo_snapshot: the build changed earlier rows; building every time", file=sys.stderr)
            _snapshot = _in_use = taken
    return result


def build_fresh() -> Any:
    """A build, whatever the snapshot (the README's figures need rows numbered from 1)."""
    global _in_use
    from zerowaste.core.demo import build_demo

    _in_use = None
    return build_demo(seed=DEMO_SEED)


def current() -> Snapshot | None:
    """The snapshot the demo in the database was restored from or taken of (None: none is in use)."""
    return _in_use


# Django re-creates these after a flush (a browser test's teardown) with new ids; the demo refers to
# none of their rows (checked when the snapshot is taken), so they are neither fingerprinted nor copied.
RECREATED_BY_DJANGO = ("django_content_type", "auth_permission")


def _tables(cursor: Any) -> list[str]:
    """Every ordinary or partitioned table of the schema (a partition's rows come with its parent's),
    but Django's content types and permissions."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " ORDER BY c.relname"
    )
    return [name for (name,) in cursor.fetchall() if name not in RECREATED_BY_DJANGO]


def _refer_to_recreated(cursor: Any) -> set[str]:
    """The tables with a foreign key to Django's content types or permissions."""
    cursor.execute(
        "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f'"
        " AND confrelid::regclass::text = ANY(%s)",
        [list(RECREATED_BY_DJANGO)],
    )
    return {name.strip('"') for (name,) in cursor.fetchall()}


def _fingerprint(cursor: Any, tables: list[str]) -> tuple[str, dict[str, list[str]]]:
    """A hash of every row in the database, and the rows (as JSON text) of the tables that have any."""
    rows: dict[str, list[str]] = {}
    digest = hashlib.sha256()
    for table in tables:
        cursor.execute(
            f'SELECT row_to_json(t)::text FROM "{table}" t ORDER BY 1'  # noqa: S608 - names from pg_class
        )
        found = [r for (r,) in cursor.fetchall()]
        if found:
            rows[table] = found
            digest.update(table.encode())
            for r in found:
                digest.update(r.encode())
    return digest.hexdigest(), rows


def _partitions(cursor: Any) -> dict[str, str]:
    cursor.execute(
        "SELECT c.relname, format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I %s', c.relname, p.relname,"
        " pg_get_expr(c.relpartbound, c.oid))"
        " FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class p ON p.oid = i.inhparent"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relispartition AND c.relkind IN ('r', 'p')"
        " ORDER BY c.relname"
    )
    return dict(cursor.fetchall())


def _columns(cursor: Any, table: str) -> str:
    """The table's columns a COPY may write (not generated ones), in table order."""
    cursor.execute(
        "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0"
        " AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        [f'"{table}"'],
    )
    return ", ".join(f'"{name}"' for (name,) in cursor.fetchall())


def _take(
    cursor: Any, tables: list[str], base: tuple[str, dict[str, list[str]]], before_partitions: dict[str, str]
) -> Snapshot | None:
    _digest, before = base
    copied = []
    raw = cursor.cursor
    for table in tables:
        columns = _columns(cursor, table)
        old = before.get(table)
        if old:
            # The build must have left the rows that were there untouched; it may add to the table.
            cursor.execute(
                f'SELECT count(*) FROM "{table}" t WHERE row_to_json(t)::text = ANY(%s)',  # noqa: S608
                [old],
            )
            if cursor.fetchone()[0] != len(old):
                return None
            cursor.execute(
                "CREATE TEMP TABLE zw_snapshot_old ON COMMIT DROP AS SELECT unnest(%s::text[]) AS r", [old]
            )
            query = (
                f'COPY (SELECT {columns} FROM "{table}" t WHERE row_to_json(t)::text NOT IN'  # noqa: S608
                " (SELECT r FROM zw_snapshot_old)) TO STDOUT"
            )
        else:
            query = f'COPY (SELECT {columns} FROM "{table}") TO STDOUT'  # noqa: S608 - a partitioned one too
        data = bytearray()
        with raw.copy(query) as copy:
            for block in copy:
                data += block
        if old:
            cursor.execute("DROP TABLE zw_snapshot_old")
        if data:
            copied.append((table, columns, bytes(data)))
    if _refer_to_recreated(cursor) & {table for table, _columns, _data in copied}:
        return None  # restored after a flush, its rows would point at content types that are gone
    partitions = tuple(ddl for name, ddl in _partitions(cursor).items() if name not in before_partitions)
    return Snapshot(base=_digest, partitions=partitions, tables=tuple(copied), sequences=_highest(cursor))


def _highest(cursor: Any) -> tuple[tuple[str, int], ...]:
    """Each column-owned sequence with the highest value its column holds now."""
    cursor.execute(
        "SELECT s.relname, t.relname, a.attname FROM pg_class s"
        " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
        " JOIN pg_namespace n ON n.oid = s.relnamespace"
        " WHERE s.relkind = 'S' AND n.nspname = current_schema() ORDER BY s.relname"
    )
    found = []
    for sequence, table, column in cursor.fetchall():
        cursor.execute(f'SELECT max("{column}") FROM "{table}"')  # noqa: S608 - names from pg_class
        highest = cursor.fetchone()[0]
        if highest is not None:
            found.append((sequence, int(highest)))
    return tuple(found)


def _restore(cursor: Any, snapshot: Snapshot) -> None:
    for ddl in snapshot.partitions:
        cursor.execute(ddl)
    raw = cursor.cursor
    # The rows are the build's, whose foreign keys held: a superuser (the tests' PostgreSQL role) copies
    # them in as a replica, without queueing a foreign-key check per row for the test's end (seconds
    # for a demo). Otherwise the checks are deferred to the end (Django's keys are deferrable), so the
    # tables go in any order either way. The tables have no insert triggers to skip.
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    as_replica = bool(cursor.fetchone()[0])
    cursor.execute("SET session_replication_role = replica" if as_replica else "SET CONSTRAINTS ALL DEFERRED")
    try:
        for table, columns, data in snapshot.tables:
            with raw.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                copy.write(data)
    finally:
        if as_replica:
            cursor.execute("SET session_replication_role = DEFAULT")
    for sequence, highest in snapshot.sequences:
        # A sequence reset to an empty table (last_value 1, not called) would hand out 1 again.
        cursor.execute(
            f'SELECT setval(%s, GREATEST(last_value, %s), true) FROM "{sequence}"'  # noqa: S608
            " WHERE last_value < %s OR NOT is_called",
            [f'"{sequence}"', highest, highest],
        )
