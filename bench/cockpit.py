"""Bench: the cockpit, the open-data page and the household supervision pages (the demo's busiest: the
zone's 32 communities over a month, which should answer in under 1 s) on the demo zone, through the
test client (whole request: middleware, session, services, templates), against the floor of the same
figures' services alone.

    DATABASE_URL=sqlite:////tmp/cockpit.sqlite3 .venv/bin/python bench/cockpit.py [--n 5]

Prints one JSON line per page: {"name","n","seconds","rate","ratio","queries","p50_ms","max_ms",...};
`ratio` is the page's median time over the services' median (what rendering and HTTP add). Builds the
demo zone into the configured database if it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute: Callable[..., object], sql: str, *args: object) -> object:
        self.n += 1
        return execute(sql, *args)


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from zerowaste.core.authz import actor_for_user
    from zerowaste.core.demo import DEMO_PASSWORD, DEMO_ZONE_CODE
    from zerowaste.core.models import User, Zone
    from zerowaste.household import figures, supervision
    from zerowaste.portal import services

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--year", type=int, default=2020)
    args = parser.parse_args()
    call_command("migrate", interactive=False, verbosity=0)
    zone = Zone.objects.filter(code=DEMO_ZONE_CODE).first()
    if zone is None:
        call_command("demo", verbosity=0)
        zone = Zone.objects.get(code=DEMO_ZONE_CODE)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    actor = actor_for_user(User.objects.get(username="regulator"))
    assert actor is not None
    client = Client()
    assert client.post("/login/", {"username": "regulator", "password": DEMO_PASSWORD}).status_code == 302
    anonymous = Client()

    cases: list[tuple[str, Callable[[], Any], Callable[[], object]]] = [
        (
            "cockpit-year",
            lambda: client.get("/cockpit/", {"year": args.year}),
            lambda: services.cockpit(actor, year=args.year),
        ),
        (
            "cockpit-month",
            lambda: client.get("/cockpit/", {"year": args.year, "month": 12}),
            lambda: services.cockpit(actor, year=args.year, month=12),
        ),
        (
            "cockpit-drill",
            lambda: client.get(
                "/cockpit/drill/", {"chart": "flows", "key": "way:transferred_util", "year": args.year}
            ),
            lambda: services.drill(actor, "flows", "way:transferred_util", year=args.year),
        ),
        (
            "open-data",
            lambda: anonymous.get("/open-data/", {"zone": zone.code}),
            lambda: services.public_data(zone),
        ),
    ]
    december = (date(args.year, 12, 1), date(args.year, 12, 31))
    month = supervision.Period("month", december[0], december[1], december[1])
    cases += [
        (
            "household-month",
            lambda: client.get("/household/", {"month": f"{args.year}-12"}),
            lambda: (
                supervision.street_groups(actor, month),
                figures.area_figures(zone.pk, None, month.start, month.end),
            ),
        ),
        (
            "household-alarms",
            lambda: client.get("/household/alarms/"),
            lambda: list(supervision.alarm_list(actor)[:50]),
        ),
    ]
    for name, page, floor in cases:
        first = page()
        assert first.status_code == 200, (name, first.status_code)  # type: ignore[attr-defined]
        # Django empties connection.queries at each request start: count through a wrapper instead.
        queries = _Counter()
        with connection.execute_wrapper(queries):
            page()
        times = _timed(page, args.n)
        floor_times = _timed(floor, args.n)
        median = statistics.median(times)
        floor_median = statistics.median(floor_times)
        print(
            json.dumps(
                {
                    "name": name if name.startswith("household") else f"portal-{name}",
                    "n": args.n,
                    "seconds": round(sum(times), 4),
                    "rate": round(args.n / sum(times), 2),
                    "ratio": round(median / floor_median, 2) if floor_median else None,
                    "p50_ms": round(median * 1000, 1),
                    "max_ms": round(max(times) * 1000, 1),
                    "services_p50_ms": round(floor_median * 1000, 1),
                    "queries": queries.n,
                    "database": connection.vendor,
                    "under_1s": max(times) < 1.0,
                }
            )
        )


if __name__ == "__main__":
    main()
