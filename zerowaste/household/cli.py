"""`zerowaste household ingest|simulate|devices|dead-letters`: the device-event core from the shell."""

from __future__ import annotations

import os
import uuid
from argparse import ArgumentParser
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.authz import Actor
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import Zone

from . import alarms, balance, cli_ops, cli_registry, mqtt, park_cli, points, services, simulate
from .models import Device


def default_prefix(zone: Zone) -> str:
    """The topic prefix of a zone's devices: `zw/<zone code>` (devices publish `<prefix>/<id>/events`)."""
    return os.environ.get("HOUSEHOLD_MQTT_PREFIX") or f"zw/{zone.code}"


class HouseholdCommand(PlatformCommand):
    help = (
        "Household device events (垃圾分类全流程): the MQTT consumer, the simulator, devices, dead letters."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser("ingest", help="consume device events from MQTT into the database")
        ingest.add_argument("--once", action="store_true", help="stop when no message came for --idle-exit s")
        ingest.add_argument("--idle-exit", type=float, default=5.0, help="seconds of silence that end --once")
        ingest.add_argument("--client-id", help="MQTT client id; the same id resumes the same session")
        simulate_ = sub.add_parser(
            "simulate", help="publish realistic signed traffic from N station terminals"
        )
        simulate_.add_argument(
            "--devices", type=int, required=True, help="how many terminals (registered ones first)"
        )
        simulate_.add_argument("--hours", type=float, required=True, help="hours of traffic, ending now")
        simulate_.add_argument("--seed", type=int, default=1)
        devices = sub.add_parser("devices", help="list devices, or add one")
        devices_sub = devices.add_subparsers(dest="devices_action")
        add = devices_sub.add_parser("add", help="register a device bound to one station, vehicle or site")
        add.add_argument("code", help="device id (part of its MQTT topic)")
        add.add_argument("--kind", required=True, help="terminal, vehicle, weighbridge, smart_bin or cabinet")
        add.add_argument("--station", type=int, help="station id")
        add.add_argument("--vehicle", type=int, help="vehicle id")
        add.add_argument("--site", type=int, help="site id")
        add.add_argument("--show-key", action="store_true", help="print the device's HMAC key (hex) once")
        letters = sub.add_parser("dead-letters", help="payloads that could not be stored, newest first")
        letters.add_argument("--limit", type=int, default=50)
        alarms_ = sub.add_parser("alarms", help="alarms as tasks, newest first")
        alarms_.add_argument("--open", action="store_true", help="only those not resolved")
        alarms_.add_argument("--kind", help="one kind (weight_mismatch, mixed_loading, not_cleared, …)")
        alarms_.add_argument("--limit", type=int, default=100)
        resolve = sub.add_parser("resolve", help="close an alarm with what was done")
        resolve.add_argument("id", type=int)
        resolve.add_argument("--resolution", required=True)
        detect = sub.add_parser("detect", help="day-level alarms of a day, then escalate overdue alarms")
        detect.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD (default: yesterday)")
        balance_ = sub.add_parser("balance", help="the day's mass balance per station, vehicle and class")
        balance_.add_argument("--day", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
        points_ = sub.add_parser("points", help="a household's points balance and ledger")
        points_.add_argument("code", help="the household's code")
        redeem = sub.add_parser("redeem", help="spend a household's points at a merchant")
        redeem.add_argument("code", help="the household's code")
        redeem.add_argument("--points", type=int, required=True)
        redeem.add_argument("--merchant", type=int, required=True, help="merchant id")
        cli_ops.add_arguments(sub, self)
        park_cli.add_arguments(sub, self)
        figures_ = sub.add_parser("figures", help="an area's household figures of a month, and its parts'")
        figures_.add_argument("--area", help="street or community code (default: the zone)")
        figures_.add_argument("--month", help="YYYY-MM (default: the latest month with data)")
        for p in (
            alarms_,
            resolve,
            detect,
            balance_,
            points_,
            redeem,
            figures_,
            *cli_registry.add_parsers(sub),
        ):
            self.add_format_argument(p)
            self.add_zone_argument(p)
        for p in (ingest, simulate_, devices, add, letters):
            self.add_format_argument(p)
            self.add_zone_argument(p)
            p.add_argument("--mqtt-host", default=os.environ.get("MQTT_HOST", "127.0.0.1"))
            p.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", "1883")))
            p.add_argument("--prefix", help="topic prefix (default zw/<zone code>)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "service":
            # Serves every zone, and must keep running on a database that has none yet (`serve` on a
            # new machine): a zone made later is picked up by the next pass.
            cli_ops.run_service(self, options)
            return
        actor: Actor = self.system_actor(options)
        zone = Zone.objects.get(pk=actor.zone_id)
        prefix = options.get("prefix") or default_prefix(zone)
        action = options["action"]
        if action == "ingest":
            self._ingest(zone, prefix, options)
        elif action == "simulate":
            self._simulate(zone, prefix, options)
        elif action == "devices":
            self._devices(actor, zone, options)
        elif action in park_cli.PARK_ACTIONS:
            park_cli.handle(self, actor, zone, options)
        elif action == "figures":
            self._figures(actor, options)
        elif action in cli_ops.ACTIONS:
            cli_ops.handle(self, actor, zone, action, options)
        elif action in {"alarms", "resolve", "detect", "balance", "points", "redeem"}:
            self._slice2(actor, zone, action, options)
        elif action in cli_registry.ACTIONS:
            cli_registry.run(self, actor, action, options)
        else:
            letters = list(services.visible_dead_letters(actor).select_related("device")[: options["limit"]])
            rows = [services.dead_letter_row(d) for d in letters]
            text = "\n".join(
                f"{r['received_at']:%Y-%m-%d %H:%M:%S} {r['topic']}: {r['reason']}" for r in rows
            )
            self.emit(options, rows, text or "no dead letters")

    def _ingest(self, zone: Zone, prefix: str, options: dict[str, Any]) -> None:
        consumer = mqtt.Consumer(
            zone_id=zone.pk,
            prefix=prefix,
            client_id=options.get("client_id") or f"zw-ingest-{zone.code}-{uuid.uuid4().hex[:8]}",
            host=options["mqtt_host"],
            port=options["mqtt_port"],
        )
        try:
            consumer.start()
        except OSError as exc:
            raise CommandError(
                f"cannot reach MQTT at {options['mqtt_host']}:{options['mqtt_port']}: {exc}"
            ) from exc
        if options["format"] == "text":
            self.stdout.write(f"consuming {mqtt.shared_filter(prefix)} as {consumer.client_id}")
        try:
            stats = consumer.run(idle_exit_s=options["idle_exit"] if options["once"] else None)
        except KeyboardInterrupt:
            stats = consumer.stats
        finally:
            consumer.close()
        data = vars(stats)
        self.emit(
            options,
            data,
            f"received {stats.received}, stored {stats.stored}, duplicate {stats.duplicate}, "
            f"dead-lettered {stats.dead_lettered} in {stats.batches} batches; "
            f"{stats.alarms} alarms raised, {stats.points} points granted",
        )

    def _simulate(self, zone: Zone, prefix: str, options: dict[str, Any]) -> None:
        devices = list(
            Device.objects.filter(zone=zone, is_active=True, station__isnull=False)
            .select_related("station")
            .order_by("code")[: options["devices"]]
        )
        if len(devices) < options["devices"]:
            raise CommandError(
                f"only {len(devices)} active station devices in zone {zone.code}; add more with "
                "`zerowaste household devices add`"
            )
        sim_devices = [
            simulate.SimDevice(d.code, services.key_of(d, zone.code), d.station.code)  # type: ignore[union-attr]
            for d in devices
        ]
        start = datetime.now(UTC) - timedelta(hours=options["hours"])
        traffic = simulate.generate(
            sim_devices, hours=options["hours"], prefix=prefix, start=start, seed=options["seed"]
        )
        published = simulate.publish(traffic.messages, host=options["mqtt_host"], port=options["mqtt_port"])
        kg_by_class = {k: str(v) for k, v in sorted(traffic.kg_by_class.items())}
        data = {
            "published": published,
            "valid": traffic.valid,
            "duplicates": traffic.duplicates,
            "malformed": traffic.malformed,
            "kg_by_class": kg_by_class,
        }
        self.emit(
            options,
            data,
            f"published {published} messages to {prefix}/+/events: {traffic.valid} events, "
            f"{traffic.duplicates} duplicates, {traffic.malformed} malformed; "
            + ", ".join(f"{k} {v} kg" for k, v in kg_by_class.items()),
        )

    def _devices(self, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
        if options.get("devices_action") == "add":
            device = services.add_device(
                actor,
                code=options["code"],
                kind=options["kind"],
                station_id=options.get("station"),
                vehicle_id=options.get("vehicle"),
                site_id=options.get("site"),
            )
            data: dict[str, Any] = {"id": device.pk, "code": device.code, "kind": device.kind}
            if options.get("show_key"):
                data["key"] = services.key_of(device, zone.code).hex()
            self.emit(options, data, " ".join(f"{k}={v}" for k, v in data.items()))
            return
        rows = [
            {
                "id": d.pk,
                "code": d.code,
                "kind": d.kind,
                "station": d.station_id,
                "vehicle": d.vehicle_id,
                "site": d.site_id,
                "active": d.is_active,
            }
            for d in services.list_devices(actor)
        ]
        text = "\n".join(
            f"{r['code']:<20} {r['kind']:<12} station={r['station']} vehicle={r['vehicle']} site={r['site']}"
            f"{'' if r['active'] else ' (inactive)'}"
            for r in rows
        )
        self.emit(options, rows, text or "no devices")

    def _figures(self, actor: Actor, options: dict[str, Any]) -> None:
        from zerowaste.core.errors import Invalid
        from zerowaste.core.models import Area

        from . import figures

        area_id = None
        if options.get("area"):
            area_id = (
                Area.objects.filter(zone_id=actor.zone_id, code=options["area"])
                .values_list("pk", flat=True)
                .first()
            )
            if area_id is None:
                raise Invalid.field("area", f"no street or community {options['area']}")
        period = (
            figures.month_of(options["month"])
            if options.get("month")
            else figures.latest_month(actor.zone_id)
        )
        if period is None:
            self.emit(options, [], "no household data")
            return
        rows = [figures.figures_for(actor, area_id, *period)]
        rows += (
            figures.children_figures(actor.zone_id, area_id, *period) if rows[0].kind != "community" else []
        )
        text = f"{period[0]:%Y-%m}\n" + "\n".join(figures.text_line(f) for f in rows)
        self.emit(options, [figures.as_dict(f) for f in rows], text)

    def _slice2(self, actor: Actor, zone: Zone, action: str, options: dict[str, Any]) -> None:
        getattr(self, f"_{action}")(actor, zone, options)

    def _alarms(self, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
        found = alarms.visible_alarms(
            actor, kind=options.get("kind"), state="open" if options["open"] else None
        )
        rows = [alarms.alarm_row(a) for a in found[: options["limit"]]]
        text = "\n".join(
            f"#{r['id']} {r['state']:<9} {r['day'] or '-'!s:<10} {r['kind_label']}: {r['figures']}"
            f" (owner {r['owner'] or '-'}, due {r['deadline']})"
            for r in rows
        )
        self.emit(options, rows, text or "no alarms")

    def _resolve(self, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
        row = alarms.alarm_row(alarms.resolve(actor, options["id"], options["resolution"]))
        self.emit(options, row, f"#{row['id']} resolved: {row['resolution']}")

    def _detect(self, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
        import zoneinfo

        day = options.get("day") or (
            datetime.now(zoneinfo.ZoneInfo(zone.timezone or "Asia/Shanghai")).date() - timedelta(days=1)
        )
        result = alarms.detect_day(zone.pk, day)
        data = {"day": day.isoformat(), **result.as_dict()}
        self.emit(options, data, f"{day}: {result.raised} alarms raised, {result.escalated} escalated")

    def _balance(self, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
        rows = balance.for_actor(actor, options["day"])
        text = "\n".join(
            f"{r['place_name']:<16} {r['household_class']:<20} in {r['in_kg']} out {r['out_kg']} "
            f"stock {r['stock_change_kg']} diff {r['difference_kg']} "
            f"{'closes' if r['closes'] else 'DOES NOT CLOSE'}"
            for r in rows
        )
        self.emit(options, rows, text or "no flows that day")

    def _points(self, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
        source, points_balance, entries = points.account(actor, options["code"])
        rows = [points.entry_row(e) for e in entries[:100]]
        data = {"source": source.code, "balance": points_balance, "entries": rows}
        text = "\n".join(
            [f"{source.code}: {points_balance} points"]
            + [
                f"  {r['created_at']:%Y-%m-%d %H:%M} {r['delta']:+d} → {r['balance_after']} "
                f"{r['reason_label']}"
                f" {r['event'] or r['merchant'] or ''}"
                for r in rows
            ]
        )
        self.emit(options, data, text)

    def _redeem(self, actor: Actor, zone: Zone, options: dict[str, Any]) -> None:
        entry = points.redeem(
            actor, options["code"], points=options["points"], merchant_id=options["merchant"]
        )
        row = points.entry_row(entry)
        self.emit(
            options,
            row,
            f"redeemed {-row['delta']} points at {row['merchant']}; balance {row['balance_after']}",
        )
