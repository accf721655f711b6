"""`zerowaste exchange match|pool|execute-pool|board|settings|photo`: the exchange from the command line."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.authz import Actor
from zerowaste.core.cli import PlatformCommand

from . import photos, services


def cli_match_object(actor: Actor, run: Any) -> dict[str, Any]:
    """Exactly the object of issue 7 point 7: value, greedy_value, bound, gap, seconds, proposals."""
    full = services.match_result(actor, run)
    return {
        "value": full["value"],
        "greedy_value": full["greedy_value"],
        "bound": full["bound"],
        "gap": full["gap"],
        "seconds": full["seconds"],
        "proposals": [
            {k: p[k] for k in ("supply", "demand", "code", "quantity_t", "value")} for p in full["proposals"]
        ],
    }


class ExchangeCommand(PlatformCommand):
    help = "Recycling exchange (再生资源交易): optimal matching, pooled collection, the public board."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        match = sub.add_parser("match", help="match the open listings of a month (optimal net value)")
        match.add_argument("--period", required=True, help="the month, YYYY-MM")
        match.add_argument(
            "--time-limit", type=float, default=60.0, help="seconds for the solver (default 60)"
        )
        pool = sub.add_parser("pool", help="plan a pooled collection of small supplies of one code")
        pool.add_argument("--code", required=True, help="waste code, e.g. 99-09-05")
        pool.add_argument("--receiver", type=int, help="receiver organization id (default: best offer)")
        pool.add_argument("--carrier", type=int, help="carrier organization id (default: first qualified)")
        pool.add_argument("--capacity", help="vehicle capacity in tonnes (default: the zone's setting)")
        pool.add_argument(
            "--time-limit", type=int, default=5, help="seconds for the route search (default 5)"
        )
        pool.add_argument("--execute", action="store_true", help="create the transfers at once")
        execute = sub.add_parser("execute-pool", help="create the transfers of a planned pooled run")
        execute.add_argument("run", type=int)
        sub.add_parser("board", help="the public board: aggregates by code")
        settings = sub.add_parser("settings", help="show or set the zone's tariffs (name=value ...)")
        settings.add_argument("values", nargs="*", help="e.g. tariff_cny_per_tkm=0.8 detour_factor=1.25")
        photo = sub.add_parser("photo", help="photos of a supply listing: add, list")
        photo_sub = photo.add_subparsers(dest="photo_action", required=True)
        photo_add = photo_sub.add_parser(
            "add", help="add photos (JPEG, PNG, WebP) to an open listing, all or none"
        )
        photo_add.add_argument("--supply", type=int, required=True, help="supply listing id")
        photo_add.add_argument("files", nargs="+", metavar="FILE", help="image files")
        photo_list = photo_sub.add_parser("list", help="the uploaded photos of a listing")
        photo_list.add_argument("--supply", type=int, required=True, help="supply listing id")
        for p in (match, pool, execute, sub.choices["board"], settings, photo_add, photo_list):
            self.add_format_argument(p)
            self.add_zone_argument(p)

    def handle(self, *args: Any, **options: Any) -> None:
        actor: Actor = self.system_actor(options)
        action = options["action"]
        if action == "match":
            match = services.run_matching(actor, period=options["period"], time_limit_s=options["time_limit"])
            data = cli_match_object(actor, match)
            text = (
                f"period {options['period']}: {len(data['proposals'])} proposals, value {data['value']} CNY, "
                f"greedy {data['greedy_value']} CNY (gain {match.value_cny - match.greedy_value_cny}), "
                f"LP bound {data['bound']} CNY, gap {data['gap']}, "
                f"{data['seconds']} s (run {match.pk})"
            )
            self.emit(options, data, text)
        elif action in ("pool", "execute-pool"):
            if action == "pool":
                run = services.plan_pool(
                    actor,
                    waste_code=options["code"],
                    receiver_id=options.get("receiver"),
                    carrier_id=options.get("carrier"),
                    vehicle_capacity_t=options.get("capacity"),
                    time_limit_s=options["time_limit"],
                )
                if options.get("execute"):
                    run = services.execute_pool(actor, run.pk)
            else:
                run = services.execute_pool(actor, options["run"])
            data = services.pool_summary(run)
            stops = services.pool_stops(actor, run)
            data["routes"] = [
                {
                    "vehicle": s.vehicle,
                    "seq": s.seq,
                    "supply": s.supply_id,
                    "quantity_t": str(s.quantity_t),
                    "load_after_t": str(s.load_after_t),
                    "leg_km": str(s.leg_km),
                    "alone_cost_cny": str(s.alone_cost_cny),
                    "transfer": s.transfer_id,
                }
                for s in stops
            ]
            lines = [
                f"pooled run {run.pk} ({run.status}): {len(stops)} producers, "
                f"{data['total_t']} t of {run.waste_code}, {run.vehicles} vehicle(s), "
                f"{data['road_km']} road km",
                f"cost pooled {data['pooled_cost_cny']} CNY ({data['pooled_cny_per_t']} CNY/t) vs alone "
                f"{data['alone_cost_cny']} CNY ({data['alone_cny_per_t']} CNY/t): "
                f"saving {data['saving_cny']} CNY",
            ]
            for r in data["routes"]:
                lines.append(
                    f"  vehicle {r['vehicle']} stop {r['seq']}: supply {r['supply']} +{r['quantity_t']} t "
                    f"→ load {r['load_after_t']} t ({r['leg_km']} km)"
                )
            self.emit(options, data, "\n".join(lines))
        elif action == "board":
            rows = services.public_board(actor.zone_id)
            self.emit(
                options,
                rows,
                "\n".join(
                    f"{r['category']:<6} {r['code']:<12} supply {r['supply_t_per_month'] or '-':>10} t  "
                    f"demand {r['demand_t_per_month'] or '-':>10} t  price {r['price_min_cny_per_t'] or '-'}"
                    f"–{r['price_max_cny_per_t'] or '-'} CNY/t  ({r['listings']} listings)"
                    for r in rows
                )
                or "no open listings",
            )
        elif action == "photo":
            self._photo(actor, options)
        elif action == "settings":
            values = {}
            for item in options.get("values") or []:
                name, _sep, value = item.partition("=")
                values[name.strip()] = value.strip()
            t = services.configure(actor, **values) if values else services.tariffs_of(actor.zone_id)
            self.emit(options, t.as_dict(), "\n".join(f"{k} = {v}" for k, v in t.as_dict().items()))

    def _photo(self, actor: Actor, options: dict[str, Any]) -> None:
        supply_id = options["supply"]
        if options["photo_action"] == "add":
            files = []
            for name in options["files"]:
                path = Path(name)
                try:
                    with path.open("rb") as f:
                        files.append((path.name, photos.read_upload(f)))
                except OSError as exc:
                    raise CommandError(f"{name}: {exc.strerror or exc}") from exc
            added = photos.add_photos(actor, supply_id, files)
        else:
            added = photos.photos_of(actor, supply_id)
        rows = [
            {
                "id": p.pk,
                "supply": p.listing_id,
                "url": photos.url_of(p, api=True),
                "width": p.width,
                "height": p.height,
                "size_bytes": p.size_bytes,
                "sha256": p.sha256,
                "original_name": p.original_name,
                "created_at": p.created_at.isoformat(),
            }
            for p in added
        ]
        text = "\n".join(
            f"photo {r['id']} of supply {r['supply']}: {r['width']}×{r['height']} px, "
            f"{r['size_bytes']} bytes ({r['original_name']}) {r['url']}"
            for r in rows
        )
        self.emit(options, rows, text or f"supply {supply_id}: no uploaded photos")
