"""Django's `flush`, which on SQLite must first lift the audit log's append-only triggers, and which
sets aside the signed checkpoints of the chains it erases (they would contradict the new chains)."""

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush

from zerowaste.core import append_only, audit_checkpoints


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        with append_only.suspended(options["database"]):
            super().handle(**options)
        audit_checkpoints.archive_files()
