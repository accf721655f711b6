from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from zerowaste.core import audit, audit_checkpoints, audit_keys
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import AuditEntry


class Command(PlatformCommand):
    help = (
        "The audit trail: `verify` the keyed chains against the signed checkpoints, `checkpoint` sign "
        "today's chain heads, `log` the latest entries, `rotate-key` the HMAC or signing key."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify",
            help="walk every zone's chain, check it against every signed checkpoint, name the first fault",
        )
        self.add_format_argument(verify)
        verify.add_argument("--zone-id", type=int)
        checkpoint = sub.add_parser(
            "checkpoint",
            help="verify, then sign each zone's chain head into today's checkpoint file (run daily)",
        )
        self.add_format_argument(checkpoint)
        checkpoint.add_argument("--zone-id", type=int)
        rotate = sub.add_parser(
            "rotate-key", help="start a new HMAC key (or --signing: a new checkpoint key)"
        )
        rotate.add_argument(
            "--signing", action="store_true", help="replace the checkpoint signing key instead"
        )
        log = sub.add_parser("log", help="print the latest entries")
        self.add_format_argument(log)
        log.add_argument("--limit", type=int, default=20)
        log.add_argument("--zone-id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self._verify(options)
        elif action == "checkpoint":
            made = audit_checkpoints.write_checkpoints(options.get("zone_id"))
            rows = [{"zone_id": c.zone_id, "seq": c.seq, "head_hash": c.head_hash, "at": c.at} for c in made]
            where = audit_checkpoints.day_path(timezone.localdate())
            text = "\n".join(f"zone {r['zone_id']}: seq {r['seq']} {r['head_hash']}" for r in rows)
            self.emit(
                options,
                {"file": str(where), "checkpoints": rows},
                f"{text}\nsigned into {where}" if rows else "nothing new to checkpoint",
            )
        elif action == "rotate-key":
            try:
                if options["signing"]:
                    self.stdout.write(f"new checkpoint signing key {audit_keys.rotate_signing_key()}")
                else:
                    self.stdout.write(
                        f"new audit HMAC key {audit_keys.rotate_hmac_key()} keys the entries from now on"
                    )
            except audit_keys.AuditKeyError as exc:
                raise CommandError(str(exc)) from exc
        else:
            self._log(options)

    def _verify(self, options: dict[str, Any]) -> None:
        result = audit.verify(options.get("zone_id"))
        data = result.as_dict()
        if options["format"] == "json":
            self.emit(options, data)
            if not result.ok:
                raise SystemExit(1)
            return
        if not result.ok:
            raise CommandError(
                f"audit chain broken at {result.fault} ({result.entries_checked} entries checked)"
            )
        latest = result.latest_checkpoint
        anchored = (
            f"; {result.checkpoints_checked} signed checkpoint(s) match, the latest at {latest.at}"
            if latest
            else "; no signed checkpoint yet (run `zerowaste audit checkpoint`)"
        )
        counted = f"{result.entries_checked} entries in {result.zones_checked} zone(s)"
        self.stdout.write(f"audit chain intact: {counted}{anchored}")

    def _log(self, options: dict[str, Any]) -> None:
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
