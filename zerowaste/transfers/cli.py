"""`zerowaste transfers list|show|export|overdue|webhooks`: the registers from the command line."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.authz import Actor
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import Organization

from . import rules, services, webhooks


def _filters(parser: ArgumentParser) -> None:
    parser.add_argument("--stream", choices=rules.STREAMS)
    parser.add_argument("--state", choices=rules.STATES)
    parser.add_argument("--year", type=int)
    parser.add_argument("--limit", type=int, default=0, help="at most this many rows (0: all)")


class TransfersCommand(PlatformCommand):
    help = "Transfers (电子联单): list, show, export the register, list overdue steps."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("list", "list manifests"), ("overdue", "manifests with an overdue step")):
            p = sub.add_parser(name, help=text)
            self.add_format_argument(p)
            self.add_zone_argument(p)
            if name == "list":
                _filters(p)
            else:
                p.add_argument("--stream", choices=rules.STREAMS)
        show = sub.add_parser("show", help="one manifest by number or id")
        show.add_argument("number")
        self.add_format_argument(show)
        self.add_zone_argument(show)
        export = sub.add_parser("export", help="write the register to an .xlsx or .csv file")
        export.add_argument("path")
        _filters(export)
        self.add_format_argument(export)
        self.add_zone_argument(export)
        hooks = sub.add_parser("webhooks", help="an organization's webhooks: list, add (public URLs only)")
        hooks.add_argument("--organization", required=True, metavar="USCC")
        change = hooks.add_mutually_exclusive_group()
        change.add_argument("--add", metavar="URL", help="subscribe URL (the secret is printed once)")
        change.add_argument("--disable", type=int, metavar="ID")
        change.add_argument("--enable", type=int, metavar="ID")
        self.add_format_argument(hooks)
        self.add_zone_argument(hooks)

    def _webhooks(self, actor: Actor, options: dict[str, Any]) -> None:
        org = Organization.objects.filter(zone_id=actor.zone_id, uscc=options["organization"]).first()
        if org is None:
            raise CommandError(f"no organization {options['organization']!r}")
        acting = Actor(zone_id=actor.zone_id, organization=org, is_system=True, member_role="admin")
        shown: dict[str, Any] = {}
        if options.get("add"):
            created = webhooks.subscribe(acting, url=options["add"])
            shown = {"created": created.pk, "secret": created.secret}
        for key, active in (("disable", False), ("enable", True)):
            if options.get(key) is not None:
                webhooks.update_subscription(acting, options[key], active=active)
        rows = [
            {
                "id": s.pk,
                "url": s.url,
                "pinned_address": s.pinned_address,
                "active": s.active,
                "failure_count": s.failure_count,
                "last_error": s.last_error,
            }
            for s in webhooks.subscriptions(acting)
        ]
        text = "\n".join(
            f"{r['id']:>6} {'on ' if r['active'] else 'off'} {r['url']} → {r['pinned_address'] or '-'}"
            f"{'  ' + str(r['last_error']) if r['last_error'] else ''}"
            for r in rows
        )
        if shown:
            text = f"created webhook {shown['created']}; secret (shown once): {shown['secret']}\n" + text
        self.emit(options, {**shown, "webhooks": rows}, text or "no webhooks")

    def handle(self, *args: Any, **options: Any) -> None:
        actor: Actor = self.system_actor(options)
        action = options["action"]
        if action == "list":
            qs = services.register(
                actor, stream=options.get("stream"), state=options.get("state"), year=options.get("year")
            )
            if options.get("limit"):
                qs = qs[: options["limit"]]
            rows = [services.as_row(t) for t in qs]
            self.emit(
                options,
                rows,
                "\n".join(
                    f"{r['number'] or '-':<22} {r['stream']:<4} {r['state']:<10} {r['estimated_t']:>10} t  "
                    f"{r['consignor']} → {r['consignee']}"
                    for r in rows
                ),
            )
        elif action == "overdue":
            rows = services.overdue_alerts(actor, stream=options.get("stream"))
            self.emit(
                options,
                rows,
                "\n".join(
                    f"{r['number']:<22} {r['state']:<10} {r['step']:<12} due {r['due_date']} "
                    f"({r['working_days_overdue']} working days)"
                    for r in rows
                )
                or "no overdue steps",
            )
        elif action == "show":
            key = options["number"]
            qs = services.visible_transfers(actor)
            t = qs.filter(number=key).first() or (qs.filter(pk=int(key)).first() if key.isdigit() else None)
            if t is None:
                raise CommandError(f"no manifest {key!r}")
            data = services.as_row(t)
            data["lines"] = [
                {
                    "position": line.position,
                    "waste_code": line.waste_code,
                    "description": line.description,
                    "estimated_t": services.rules_fmt(line.estimated_t),
                    "received_t": services.rules_fmt(line.received_t)
                    if line.received_t is not None
                    else None,
                }
                for line in t.lines.all()
            ]
            data["signatures"] = [
                {
                    "action": s.action,
                    "party": s.party,
                    "username": s.username,
                    "at": s.at,
                    "quantity_t": services.rules_fmt(s.quantity_t) if s.quantity_t is not None else None,
                }
                for s in t.signatures.all()
            ]
            self.emit(options, data)
        elif action == "webhooks":
            self._webhooks(actor, options)
        elif action == "export":
            path = Path(options["path"])
            fmt = "csv" if path.suffix.lower() == ".csv" else "xlsx"
            content, _type, _ext = services.export(
                actor,
                fmt=fmt,
                stream=options.get("stream"),
                state=options.get("state"),
                year=options.get("year"),
            )
            path.write_bytes(content)
            count = len(
                services.export_rows(
                    actor, stream=options.get("stream"), state=options.get("state"), year=options.get("year")
                )
            )
            self.emit(
                options, {"path": str(path), "rows": count, "format": fmt}, f"wrote {count} rows to {path}"
            )
