"""`zerowaste household ingest|simulate|devices|dead-letters`: the device-event core from the shell."""

from __future__ import annotations

import os
import uuid
from argparse import ArgumentParser
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.authz import Actor
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import Zone

from . import mqtt, services, simulate
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
        for p in (ingest, simulate_, devices, add, letters):
            self.add_format_argument(p)
            self.add_zone_argument(p)
            p.add_argument("--mqtt-host", default=os.environ.get("MQTT_HOST", "127.0.0.1"))
            p.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", "1883")))
            p.add_argument("--prefix", help="topic prefix (default zw/<zone code>)")

    def handle(self, *args: Any, **options: Any) -> None:
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
            f"dead-lettered {stats.dead_lettered} in {stats.batches} batches",
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
