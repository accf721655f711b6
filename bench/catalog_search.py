"""Bench: catalog search over every catalog of the demo zone, against a plain SQL LIKE baseline.

    .venv/bin/python bench/catalog_search.py [--n 200]

Prints one JSON line: {"name","n","seconds","rate","ratio","baseline_seconds","max_ms","p95_ms",...}.
Builds the demo zone if missing (or just loads the catalogs into the only zone).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

QUERIES = [
    "废铜",
    "99-08",
    "HW49",
    "900-041",
    "copper",
    "废",
    "污泥",
    "T",
    "paper",
    "废矿物油",
    "spoil",
    "260-",
    "含铅",
    "recyclable",
    "机加工",
    "99-14-01",
]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from zerowaste.catalog import services
    from zerowaste.catalog.models import CatalogEntry
    from zerowaste.core.authz import Actor
    from zerowaste.core.demo import DEMO_ZONE_CODE
    from zerowaste.core.models import Zone

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", interactive=False, verbosity=0)
    zone = Zone.objects.filter(code=DEMO_ZONE_CODE).first()
    if zone is None:
        call_command("demo", verbosity=0)
        zone = Zone.objects.get(code=DEMO_ZONE_CODE)
    services.load_standard_catalogs(Actor.system(zone))
    ids = [v.pk for v in services.versions_in_force(zone.pk).values()]
    rows = CatalogEntry.objects.filter(zone_id=zone.pk, version_id__in=ids).count()
    table = CatalogEntry._meta.db_table
    placeholders = ",".join(["%s"] * len(ids))

    def baseline(q: str) -> None:
        with connection.cursor() as cursor:
            sql = (
                f"SELECT id, code, name FROM {table} WHERE zone_id = %s AND version_id IN ({placeholders}) "
                "AND (code LIKE %s OR name LIKE %s OR name_en LIKE %s)"
            )
            cursor.execute(
                sql,
                [zone.pk, *ids, f"%{q}%", f"%{q}%", f"%{q}%"],
            )
            cursor.fetchall()

    timings: list[float] = []
    base: list[float] = []
    for i in range(args.n):
        q = QUERIES[i % len(QUERIES)]
        t0 = time.perf_counter()
        services.search(zone.pk, q, hazard="T" if q == "T" else None)
        timings.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        baseline(q)
        base.append(time.perf_counter() - t0)
    seconds, baseline_seconds = sum(timings), sum(base)
    print(
        json.dumps(
            {
                "name": "catalog.search",
                "n": args.n,
                "seconds": round(seconds, 4),
                "rate": round(args.n / seconds, 1),
                "ratio": round(seconds / baseline_seconds, 2),
                "baseline": "plain SQL LIKE on code/name/name_en",
                "baseline_seconds": round(baseline_seconds, 4),
                "max_ms": round(max(timings) * 1000, 2),
                "p95_ms": round(statistics.quantiles(timings, n=20)[-1] * 1000, 2),
                "limit_ms": 50,
                "rows": rows,
                "database": connection.vendor,
            }
        )
    )


if __name__ == "__main__":
    main()
