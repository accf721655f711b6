"""`zerowaste portal cockpit|export|public|publish`: the cockpit's figures from the command line."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.cli import PlatformCommand

from . import services


def _period(parser: ArgumentParser) -> None:
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--month", type=int, help="1-12; omit for the whole year")


class PortalCommand(PlatformCommand):
    help = "Regulator cockpit (figures of a year or a month), its tables, the published open data."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        cockpit = sub.add_parser("cockpit", help="every cockpit figure of a period (or one --section)")
        _period(cockpit)
        cockpit.add_argument("--section", choices=services.SECTIONS)
        self.add_format_argument(cockpit)
        self.add_zone_argument(cockpit)
        export = sub.add_parser("export", help="one chart's numbers to a .csv or .xlsx file")
        export.add_argument("chart", choices=services.TABLES)
        export.add_argument("path")
        _period(export)
        self.add_format_argument(export)
        self.add_zone_argument(export)
        public = sub.add_parser("public", help="what the open-data page shows")
        public.add_argument("--year", type=int)
        self.add_format_argument(public)
        self.add_zone_argument(public)
        publish = sub.add_parser("publish", help="choose the aggregates the open-data page shows (audited)")
        for flag in services.PUBLICATION_DEFAULTS:
            publish.add_argument(f"--{flag.replace('_', '-')}", choices=["yes", "no"], dest=flag)
        self.add_format_argument(publish)
        self.add_zone_argument(publish)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.system_actor(options)
        action = options["action"]
        if action in ("cockpit", "export"):
            year, month = services.period_args(options["year"], options.get("month"))
        if action == "cockpit":
            if options.get("section"):
                data = services.section(actor, options["section"], year=year, month=month)
            else:
                data = services.cockpit(actor, year=year, month=month)
            self.emit(options, data, _text(data) if not options.get("section") else None)
        elif action == "export":
            path = Path(options["path"])
            fmt = path.suffix.lstrip(".").lower()
            if fmt not in ("csv", "xlsx"):
                raise CommandError("the file must end in .csv or .xlsx")
            content, _type, _name = services.export(actor, options["chart"], year=year, month=month, fmt=fmt)
            path.write_bytes(content)
            self.emit(options, {"path": str(path), "bytes": len(content)}, f"{path}: {len(content)} bytes")
        elif action == "public":
            data = services.public_data(self.zone(options), year=options.get("year"))
            self.emit(options, data)
        else:
            flags = {k: options[k] == "yes" for k in services.PUBLICATION_DEFAULTS if options.get(k)}
            self.emit(options, services.set_publication(actor, **flags))


def _text(data: dict[str, Any]) -> str:
    lines = [f"cockpit {data['period']}"]
    for t in data["tonnages"]["totals"]:
        lines.append(
            f"  {t['stream']}: generated {t['generated_t']} t, utilized {t['utilized_t']} t, "
            f"disposed {t['disposed_t']} t, stored {t['stored_t']} t"
        )
    flows = data["flows"]
    lines.append(
        f"  material flow: {len(flows['nodes'])} nodes, {len(flows['links'])} links, "
        f"balanced={flows['balanced']} (in {flows['sources_t']} t = out {flows['sinks_t']} t)"
    )
    b = data["backlog"]
    lines.append(
        f"  manifests: issued {b['issued']}, closed {b['closed']}, open {b['open']}, "
        f"overdue {b['overdue']}, discrepancies {b['discrepancies']}"
    )
    ind = data["indicators"]
    if ind.get("available"):
        lines.append(f"  indicators: {ind['met']} of {ind['total']} met, {ind['not_met']} not met")
    else:
        lines.append("  indicators: not available")
    a = data["alerts"]
    lines.append(
        f"  alerts: storage {len(a['storage'])}, overdue steps {a['overdue_count']}, "
        f"producers without an accepted declaration {len(a['missing'])}"
    )
    top = data["intensity"]["rows"][:3]
    lines.append(
        "  top intensity: " + ", ".join(f"{r['organization']} {r['intensity_t_per_wan']}" for r in top)
    )
    return "\n".join(lines)
