"""Django's `flush`, which on SQLite must first lift the audit log's append-only triggers."""

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush

from zerowaste.core import append_only


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        with append_only.suspended(options["database"]):
            super().handle(**options)
