from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core import audit
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import AuditEntry


class Command(PlatformCommand):
    help = "The audit trail: `verify` the hash chains, `log` the latest entries."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="walk every zone's chain and name the first broken entry")
        self.add_format_argument(verify)
        verify.add_argument("--zone-id", type=int)
        log = sub.add_parser("log", help="print the latest entries")
        self.add_format_argument(log)
        log.add_argument("--limit", type=int, default=20)
        log.add_argument("--zone-id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            result = audit.verify(options.get("zone_id"))
            data = {
                "ok": result.ok,
                "entries_checked": result.entries_checked,
                "zones_checked": result.zones_checked,
                "first_fault": str(result.fault) if result.fault else None,
            }
            if options["format"] == "json":
                self.emit(options, data)
                if not result.ok:
                    raise SystemExit(1)
                return
            if not result.ok:
                raise CommandError(
                    f"audit chain broken at {result.fault} ({result.entries_checked} entries checked)"
                )
            self.stdout.write(
                f"audit chain intact: {result.entries_checked} entries in {result.zones_checked} zone(s)"
            )
            return
        qs = AuditEntry.objects.order_by("-pk")
        if options.get("zone_id"):
            qs = qs.filter(zone_id=options["zone_id"])
        rows = [
            {
                "zone_id": e.zone_id,
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor_username,
                "via": e.via,
                "action": e.action,
                "model": e.model,
                "object_id": e.object_id,
                "changes": e.changes,
            }
            for e in qs[: options["limit"]]
        ]
        self.emit(
            options,
            rows,
            "\n".join(
                f"{r['zone_id']}#{r['seq']} {r['at']:%Y-%m-%d %H:%M:%S} {r['actor']} "
                f"{r['action']} {r['model']}:{r['object_id']}"
                for r in rows
            ),
        )
