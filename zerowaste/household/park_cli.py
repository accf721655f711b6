"""`zerowaste household park …` and `zerowaste household park-check`: a park's "1+4" regime from the
shell (as the system: the operator's staff use the pages and the API)."""

from __future__ import annotations

import zoneinfo
from argparse import _SubParsersAction
from datetime import date, datetime, timedelta
from typing import Any

from zerowaste.core.authz import Actor
from zerowaste.core.models import Zone

from . import park, park_rules

PARK_ACTIONS = frozenset({"park", "park-check"})


def add_arguments(sub: _SubParsersAction, command: Any) -> None:  # type: ignore[type-arg]
    check = sub.add_parser("park-check", help="raise the alarms of a day's missing park station logs")
    check.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD (default: yesterday)")
    park_ = sub.add_parser(
        "park", help="a park's 1+4 regime: register, station, log, status, enterprises, stations"
    )
    park_sub = park_.add_subparsers(dest="park_action", required=True)
    register = park_sub.add_parser("register", help="register an enterprise of the park (or update it)")
    register.add_argument("organization", type=int, help="organization id (in the park)")
    register.add_argument(
        "--classes", required=True, help="comma-separated: kitchen,recyclable,hazardous,other"
    )
    register.add_argument(
        "--expected", default="", help="kg a day per class, e.g. kitchen=12.5,other=30 (optional)"
    )
    register.add_argument("--contact", default="", help="contact person")
    register.add_argument("--phone", default="", help="contact phone")
    station = park_sub.add_parser("station", help="register one of the park's four stations")
    station.add_argument("code")
    station.add_argument("--kind", required=True, help="reinspection, compactor, recyclables or digester")
    station.add_argument("--name", required=True)
    station.add_argument("--model", default="", help="a compactor's model: KJ-8, KJ-10, KJ-12 or KJ-14")
    station.add_argument(
        "--since", type=date.fromisoformat, help="YYYY-MM-DD: the first day its logs are owed (default today)"
    )
    log = park_sub.add_parser("log", help="record a log at a station (now unless --at)")
    log.add_argument("station", type=int, help="station id")
    log.add_argument(
        "--kind", required=True, help="round, cleaning, disinfection, pest_control, clearance, …"
    )
    log.add_argument("--at", type=datetime.fromisoformat, help="ISO time with its offset (default now)")
    log.add_argument("--slot", default="", help="a round's slot: 13:00 or 16:00")
    log.add_argument("--notes", default="")
    log.add_argument("--kg", help="quantity in kg (a clearance, a re-inspection)")
    log.add_argument("--m3", help="a compactor's load in m³")
    log.add_argument("--result", default="", help="a re-inspection's result: pass or fail")
    status = park_sub.add_parser("status", help="the day's log checklist per station")
    status.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD (default: the latest with logs)")
    enterprises = park_sub.add_parser("enterprises", help="the enterprises registered with the park")
    stations = park_sub.add_parser("stations", help="the park's stations (kind, compactor model, capacity)")
    for p in (check, register, station, log, status, enterprises, stations):
        command.add_format_argument(p)
        command.add_zone_argument(p)
        p.add_argument("--park", help="park code (default: the zone's first park)")


def handle(command: Any, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
    if options["action"] == "park-check":
        day = options.get("day") or (
            datetime.now(zoneinfo.ZoneInfo(zone.timezone or "Asia/Shanghai")).date() - timedelta(days=1)
        )
        raised = park.check_day(zone.pk, day)
        command.emit(
            options, {"day": day.isoformat(), "raised": raised}, f"{day}: {raised} park alarms raised"
        )
        return
    action = options["park_action"]
    code = options.get("park")
    if action == "register":
        expected = {}
        for item in filter(None, (options["expected"] or "").split(",")):
            cls, _sep, kg = item.partition("=")
            expected[cls.strip()] = kg.strip()
        e = park.register_enterprise(
            actor,
            code,
            organization_id=options["organization"],
            waste_classes=options["classes"].split(","),
            expected_kg=expected,
            contact_name=options["contact"],
            contact_phone=options["phone"],
        )
        data = {
            "id": e.pk,
            "organization": e.organization.name,
            "classes": e.waste_classes,
            "expected": e.expected_kg,
        }
        command.emit(
            options, data, f"registered {e.organization.name} ({e.waste_classes}) with {e.park.name}"
        )
    elif action == "station":
        s = park.add_station(
            actor,
            code,
            kind=options["kind"],
            code=options["code"],
            name=options["name"],
            compactor_model=options["model"],
            in_service_from=options.get("since"),
        )
        data = {"id": s.pk, "code": s.code, "kind": s.kind, "compactor_model": s.compactor_model or None}
        command.emit(options, data, " ".join(f"{k}={v}" for k, v in data.items() if v is not None))
    elif action == "log":
        entry = park.record_log(
            actor,
            options["station"],
            kind=options["kind"],
            at=options.get("at"),
            slot=options["slot"],
            notes=options["notes"],
            quantity_kg=options.get("kg"),
            volume_m3=options.get("m3"),
            result=options["result"],
        )
        row = park.log_row(entry)
        command.emit(
            options,
            row,
            f"#{row['id']} {row['kind']} at station {row['station_id']}, {row['at']:%Y-%m-%d %H:%M}",
        )
    elif action == "enterprises":
        area = park.park_of(actor, code)
        rows = [
            {
                "id": e.pk,
                "organization_id": e.organization_id,
                "organization": e.organization.name,
                "classes": e.waste_classes.split(","),
                "expected_kg": e.expected_kg,
                "contact_name": e.contact_name,
                "contact_phone": e.contact_phone,
            }
            for e in park.enterprises(actor, area)
        ]
        command.emit(
            options,
            rows,
            "\n".join(
                f"{r['organization']}: "
                + ", ".join(
                    f"{c}" + (f" {r['expected_kg'][c]} kg/day" if c in r["expected_kg"] else "")
                    for c in r["classes"]
                )
                + (
                    f"  ({r['contact_name']} {r['contact_phone']})".rstrip()
                    if r["contact_name"] or r["contact_phone"]
                    else ""
                )
                for r in rows
            )
            or f"{area.name}: no enterprise registered",
        )
    elif action == "stations":
        area = park.park_of(actor, code)
        rows = [
            {
                "id": s.pk,
                "code": s.code,
                "name": s.name,
                "kind": s.kind,
                "compactor_model": s.compactor_model or None,
                "capacity_m3": park_rules.compactor_capacity(s.compactor_model),
                "in_service_from": s.in_service_from.isoformat(),
            }
            for s in park.stations(actor, area)
        ]
        command.emit(
            options,
            rows,
            "\n".join(
                f"#{r['id']} {r['code']} {r['name']} ({r['kind']}"
                + (f", {r['compactor_model']} {r['capacity_m3']} m³" if r["compactor_model"] else "")
                + f") logs owed from {r['in_service_from']}"
                for r in rows
            )
            or f"{area.name}: no station registered",
        )
    else:
        area = park.park_of(actor, code)
        on = park.today(zone.pk)
        day = options.get("day") or park.latest_day(actor, area) or on
        statuses = park.day_status(actor, area, day)
        rows = [park.status_row(s) for s in statuses]
        words = park.status_words(statuses, day, on)
        lines = [f"{area.name} {day}: {words}"]
        for r in rows:
            lines.append(f"{r['code']} {r['name']}: " + ("complete" if r["met"] else "open"))
            lines += [
                f"  {q['key']:<14} {q['done']}/{q['minimum']}{'' if q['met'] else '  MISSING'}"
                for q in r["requirements"]
            ]
        command.emit(
            options,
            {"park": area.code, "day": day.isoformat(), "status": words, "stations": rows},
            "\n".join(lines),
        )
