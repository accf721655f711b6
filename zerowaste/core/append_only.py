"""The audit table refuses UPDATE and DELETE: a trigger on PostgreSQL (core migration 0002) and on
SQLite (core migration 0005, whose SQL this repeats).

Flushing a whole database is the one exception, as TRUNCATE is on PostgreSQL: SQLite has no TRUNCATE
(Django flushes with DELETE), so `suspended()` drops the SQLite triggers around a flush and puts them
back. Anyone who can write the SQLite file can do the same; the keyed chain and the signed
checkpoints are what detect such tampering.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

SQLITE_TRIGGERS = {
    "core_auditentry_no_update": "UPDATE",
    "core_auditentry_no_delete": "DELETE",
}


def sqlite_create_sql() -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON core_auditentry "
        f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} refused on core_auditentry'); END"
        for name, op in SQLITE_TRIGGERS.items()
    ]


def sqlite_drop_sql() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


@contextmanager
def suspended(using: str = "default") -> Iterator[None]:
    """Let a whole-database flush through on SQLite; a no-op on PostgreSQL (it truncates)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        for sql in sqlite_drop_sql():
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in sqlite_create_sql():
                cursor.execute(sql)
