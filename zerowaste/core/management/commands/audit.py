import argparse
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db.models import Q
from django.utils import timezone, translation

from zerowaste.core import audit, audit_checkpoints, audit_display, audit_keys
from zerowaste.core.authz import Actor, actor_for_user
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import Organization, User, Zone


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
        log = sub.add_parser(
            "log", help="print the latest entries, readable (names, formatted values), filtered"
        )
        self.add_format_argument(log)
        self.add_zone_argument(log)
        log.add_argument("--limit", type=int, default=20, help="at most this many entries (default 20)")
        log.add_argument("--zone-id", type=int, help=argparse.SUPPRESS)
        log.add_argument(
            "--as", dest="as_user", help="read the log as this user may (a street regulator: its street)"
        )
        log.add_argument("--user", help="entries made by this username")
        log.add_argument("--organization", help="entries made by, or about, this organization (id or USCC)")
        log.add_argument("--action", help="an action code, e.g. transfer.accept")
        log.add_argument("--record-type", dest="model", help="a record type, e.g. transfers.transfer")
        log.add_argument("--record-id", dest="object_id", help="the record's id")
        log.add_argument("--from", dest="date_from", help="from this day (YYYY-MM-DD, Asia/Shanghai)")
        log.add_argument("--to", dest="date_to", help="to this day, inclusive")
        log.add_argument("--lang", choices=["zh-hans", "en"], default="zh-hans", help="language of the names")
        log.add_argument(
            "--export", metavar="FILE", help="write every matching entry to FILE (.xlsx or .csv) instead"
        )

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
        with translation.override(options["lang"]):
            self._log_in_language(options)

    def _log_in_language(self, options: dict[str, Any]) -> None:
        if options.get("zone_id") and not options.get("zone"):
            zone = Zone.objects.filter(pk=options["zone_id"]).first()
            if zone is None:
                raise CommandError(f"no zone {options['zone_id']}")
            actor = Actor.system(zone)
        else:
            actor = self.system_actor(options)
        if options.get("as_user"):
            user = User.objects.filter(username=options["as_user"]).first()
            as_actor = actor_for_user(user) if user is not None else None
            if as_actor is None:
                raise CommandError(f"{options['as_user']!r} is no active member of any organization")
            actor = as_actor
        filters = {
            k: options.get(k) for k in ("user", "action", "model", "object_id", "date_from", "date_to")
        }
        organization = options.get("organization")
        if organization:
            org = (
                Organization.objects.filter(zone_id=actor.zone_id)
                .filter(Q(uscc=organization) | Q(pk=int(organization) if organization.isdigit() else None))
                .first()
            )
            if org is None:
                raise CommandError(f"no organization {organization!r} in the zone")
            filters["organization"] = org.pk
        entries = audit_display.search(actor, audit_display.filter_form(actor, filters))
        if options.get("export"):
            path = Path(options["export"])
            content, _type, _ext = audit_display.export(entries, path.suffix.lstrip(".").lower())
            path.write_bytes(content)
            self.emit(options, {"file": str(path), "bytes": len(content)}, f"wrote {path}")
            return
        limit = max(1, min(int(options["limit"]), 10_000))
        readable = audit_display.readable(entries[:limit])
        rows = [audit_display.entry_dict(r) for r in readable]
        lines = []
        for r in readable:
            who = f"{r.entry.actor_username}" + (f"（{r.organization}）" if r.organization else "")
            lines.append(f"#{r.entry.seq} {r.at} {who} {r.action_label} {r.record_label}")
            lines.extend(f"    {c}".replace("\n", "\n      ") for c in r.changes)
        self.emit(options, rows, "\n".join(lines) if lines else "no entry matches")
