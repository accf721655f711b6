"""`zerowaste household service|lists|route|visit|site-role|quota` (ops17): the background service, the
monthly red/black lists, vehicle routes, education visits, the plants' roles and the source quotas.
Wired into `household.cli` by two lines."""

from __future__ import annotations

import os
import signal
from argparse import ArgumentParser, _SubParsersAction
from datetime import date
from typing import Any

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Zone

from . import ops, settings_ops
from .service import SCHEDULER_INTERVAL_S, Service

ACTIONS = frozenset({"service", "lists", "route", "visit", "site-role", "quota", "participation"})


def add_arguments(sub: _SubParsersAction[ArgumentParser], command: Any) -> None:
    service = sub.add_parser(
        "service", help="the MQTT consumer of every zone and the scheduled detection (started by serve)"
    )
    service.add_argument("--no-consumer", action="store_true", help="only the scheduler")
    service.add_argument(
        "--interval", type=float, default=SCHEDULER_INTERVAL_S, help="seconds between passes"
    )
    service.add_argument("--once", action="store_true", help="one scheduler pass, then exit")
    service.add_argument("--mqtt-host", default=os.environ.get("MQTT_HOST", "127.0.0.1"))
    service.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", "1883")))
    lists = sub.add_parser("lists", help="a month's red and black lists of every community (红黑榜)")
    lists.add_argument("--month", required=True, help="YYYY-MM")
    lists.add_argument(
        "--compile", action="store_true", help="compile the month's lists from its events first"
    )
    route = sub.add_parser("route", help="show or set a vehicle's planned route of a day")
    route.add_argument("--vehicle", type=int, required=True, help="vehicle id")
    route.add_argument("--day", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    route.add_argument("--stations", help="station ids in order, comma-separated (sets the route)")
    visit = sub.add_parser("visit", help="resolve a quality alarm by an education visit (入户宣传)")
    visit.add_argument("id", type=int, help="alarm id")
    visit.add_argument("--on", type=date.fromisoformat, required=True, help="visit day YYYY-MM-DD")
    visit.add_argument("--by", required=True, help="who visited")
    visit.add_argument("--note", default="")
    site_role = sub.add_parser(
        "site-role", help="the plants' roles in household waste; with --site and --role, set one"
    )
    site_role.add_argument("--site", type=int, help="site id")
    site_role.add_argument("--role", help="transfer, kitchen, recycling, incineration, landfill or hazardous")
    site_role.add_argument(
        "--remove", action="store_true", dest="remove_role", help="with --site: take the site's role away"
    )
    quota = sub.add_parser(
        "quota", help="the source total-control quotas (总量控制); with --year and --quota-t, set one"
    )
    quota.add_argument("--area", help="street or community code (default: the whole zone)")
    quota.add_argument("--year", type=int, help="the quota's year")
    quota.add_argument("--quota-t", help="the annual quota in tonnes")
    quota.add_argument("--source", default="", help="the document it comes from")
    quota.add_argument(
        "--remove", type=int, dest="remove_quota", metavar="ID", help="remove the quota with this id"
    )
    part = sub.add_parser(
        "participation", help="a month's participating households per community (recomputed from the events)"
    )
    part.add_argument("--month", required=True, help="YYYY-MM")
    part.add_argument("--show", action="store_true", help="only show the month's figures, do not recompute")
    for p in (service, lists, route, visit, site_role, quota, part):
        command.add_format_argument(p)
        command.add_zone_argument(p)


def handle(command: Any, actor: Actor, zone: Zone, action: str, options: dict[str, Any]) -> None:
    globals()[f"_{action.replace('-', '_')}"](command, actor, zone, options)


def run_service(command: Any, options: dict[str, Any]) -> None:
    svc = Service(
        host=options["mqtt_host"],
        port=options["mqtt_port"],
        consume=not options["no_consumer"] and not options["once"],
        interval_s=options["interval"],
        say=lambda line: command.stderr.write(line),
    )
    if options["once"]:
        rows = [r.as_dict() for r in svc.scheduler_once()]
        text = "\n".join(
            f"{r['zone']} {r['day']}: "
            + (f"{r['raised']} alarms raised" if r["ran"] else "already detected")
            + f", {r['escalated']} escalated"
            for r in rows
        )
        command.emit(options, rows, text or "no zones")
        return

    def on_signal(_signum: int, _frame: Any) -> None:
        svc.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    svc.run()


def _lists(command: Any, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
    month = ops.month_of(options["month"])
    if options["compile"]:
        if not actor.is_system:
            raise Invalid.field("compile", "only the system compiles lists")
        ops.compile_lists(zone.pk, month)
    rows = ops.lists_for(actor, month)
    text = "\n".join(
        f"{r['community']} {r['list']:<5} #{r['rank']:<2} {r['source']:<16} "
        f"graded {r['graded']}, A {r['good']}, failed {r['failed']}"
        for r in rows
    )
    command.emit(options, rows, text or f"no lists for {month:%Y-%m}")


def _route(command: Any, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
    if options.get("stations"):
        try:
            ids = [int(s) for s in options["stations"].split(",") if s.strip()]
        except ValueError:
            raise Invalid.field("stations", "station ids, comma-separated") from None
        ops.plan_route(actor, options["vehicle"], options["day"], ids)
    stops = ops.route_of(zone.pk, options["vehicle"], options["day"])
    rows = [{"position": s.position, "station_id": s.station_id, "station": s.station.code} for s in stops]
    text = " → ".join(f"{r['station']}" for r in rows)
    command.emit(options, rows, text or "no route that day")


def _visit(command: Any, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
    visit = ops.record_education_visit(
        actor, options["id"], visited_on=options["on"], visited_by=options["by"], note=options["note"]
    )
    row = ops.visit_row(visit)
    command.emit(options, row, f"#{row['alarm_id']} resolved by an education visit on {row['visited_on']}")


def _site_role(command: Any, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
    if options.get("remove_role"):
        if options.get("site") is None:
            raise Invalid.field("site", "give --site with --remove")
        settings_ops.remove_site_role(actor, options["site"])
    elif options.get("site") is not None or options.get("role"):
        if options.get("site") is None:
            raise Invalid.field("site", "give --site with --role")
        if not options.get("role"):
            raise Invalid.field("role", "give --role with --site")
        settings_ops.set_site_role(actor, options["site"], options["role"])
    rows = settings_ops.site_roles(actor)
    text = "\n".join(
        f"{r['site_id']:>6} {r['role'] or '(none)':<13} {r['organization']} · {r['site']}" for r in rows
    )
    command.emit(options, rows, text or "no site has a role")


def _quota(command: Any, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
    if options.get("remove_quota") is not None:
        settings_ops.remove_quota(actor, options["remove_quota"])
    elif options.get("year") is not None or options.get("quota_t") is not None:
        if options.get("quota_t") is None:
            raise Invalid.field("quota_t", "give --quota-t with --year")
        settings_ops.set_quota(
            actor,
            area_code=options.get("area"),
            year=options.get("year"),
            quota_t=options["quota_t"],
            source=options.get("source") or "",
        )
    rows = settings_ops.quotas(actor)
    text = "\n".join(
        f"{r['id']:>6} {r['year']} {r['area'] or '(zone)':<12} {r['quota_t']} t  {r['source']}" for r in rows
    )
    command.emit(options, rows, text or "no quota set")


def _participation(command: Any, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
    from . import participation

    month = participation.parse_month(options["month"])
    if not options.get("show"):
        participation.refresh_for(actor, month)
    rows = [
        {"month": f"{month:%Y-%m}", **participation.row_dict(r)}
        for r in participation.month_rows(actor, month)
    ]
    households = sum(r["households"] for r in rows)
    participating = sum(r["participating"] for r in rows)
    rate = participation.rate_pct(participating, households)
    text = "\n".join(
        f"{r['community']:<8} {r['community_name']:<12} {r['participating']:>6} of {r['households']:>6}"
        f"  {r['rate_pct'] or '-'} %"
        for r in rows
    )
    command.emit(
        options,
        rows,
        f"{month:%Y-%m}: {participating} of {households} households took part"
        f" ({rate if rate is not None else '-'} %)\n{text}",
    )
