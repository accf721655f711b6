"""Benchmark: declaration import (CSV and Excel) into PostgreSQL, against COPY and pandas in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zerowaste .venv/bin/python bench/import_declarations.py \
        [--rows 1000000] [--xlsx-rows 100000]

Works in a throwaway database `<name>_bench_<pid>` (created, migrated, dropped). Prints one JSON line per
workload: {"name", "n", "seconds", "rate", "ratio", ...}; `ratio` is our time over the floor (COPY) and
`vs_pandas` our time over pandas `read_csv`/`read_excel` + `to_sql` of the same file. Needs the
`bench` extras (pandas, SQLAlchemy).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throwaway import create_database, drop_database  # noqa: E402

HEADER = [
    "统一社会信用代码",
    "申报期",
    "废物代码",
    "单位",
    "产生量",
    "自行利用量",
    "委托利用量",
    "委托处置量",
    "期末贮存量",
]


def _rows(usccs: list[str], codes: list[str], n: int) -> list[list[str]]:
    """n balanced rows: organizations × months × codes, each (org, month, code) once."""
    rows: list[list[str]] = []
    per_period = len(codes)
    i = 0
    while len(rows) < n:
        org = usccs[(i // (12 * per_period)) % len(usccs)]
        month = (i // per_period) % 12 + 1
        code = codes[i % per_period]
        kg = 1000 + (i * 7919) % 50000
        generated = f"{kg / 1000:.3f}"
        util = f"{(kg * 9 // 10) / 1000:.3f}"
        disp = f"{(kg - kg * 9 // 10) / 1000:.3f}"
        rows.append([org, f"2020-{month:02d}", code, "t", generated, "0", util, disp, "0"])
        i += 1
    return rows


def _csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    out.write(",".join(HEADER) + "\n")
    for r in rows:
        out.write(",".join(r) + "\n")
    return out.getvalue().encode("utf-8")


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("申报")
    sheet.append(HEADER)
    for r in rows:
        sheet.append([r[0], r[1], r[2], r[3], *[float(x) for x in r[4:]]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _copy_floor(content: bytes) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_copy (uscc text, period text, code text, unit text, "
            "generated numeric(18,3), utilized numeric(18,3), t_util numeric(18,3), "
            "t_disp numeric(18,3), closing numeric(18,3))"
        )
        start = time.perf_counter()
        with cursor.cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(content)
        elapsed = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_copy")
    return elapsed


def _same_table_floor(zone_id: int) -> float:
    """COPY of the lines just imported, as they are stored, back into the real lines table: the time any
    writer pays for its primary key, indexes and deferred foreign-key checks (committed), without checking."""
    from django.db import connection, transaction

    from zerowaste.declarations.models import DeclarationLine
    from zerowaste.declarations.services import LINE_COLUMNS

    table = connection.ops.quote_name(DeclarationLine._meta.db_table)
    columns = ", ".join(LINE_COLUMNS)
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY (SELECT {columns} FROM {table} WHERE zone_id = {int(zone_id)}) TO STDOUT"
        ) as copy:
            for block in copy:
                buffer.write(block)
        cursor.execute(f"DELETE FROM {table} WHERE zone_id = %s", [zone_id])
    content = buffer.getvalue()
    start = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        copy.write(content)
    return time.perf_counter() - start


def _pandas_route(content: bytes, url: str, excel: bool) -> float:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgres://", "postgresql+psycopg://", 1))
    start = time.perf_counter()
    frame = pd.read_excel(io.BytesIO(content)) if excel else pd.read_csv(io.BytesIO(content))
    frame.to_sql("bench_pandas", engine, if_exists="replace", index=False, chunksize=5000, method="multi")
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_pandas")
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas route")
    parser.add_argument("--profile", action="store_true", help="cProfile checking and writing (stderr)")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database (the bench creates and drops its own copy)")
    url, admin = create_database(base_url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _run(args, url)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(admin, url)


def _run(args: argparse.Namespace, url: str) -> None:
    from django.db import connection

    from zerowaste.catalog import services as catalog
    from zerowaste.core import rules as core_rules
    from zerowaste.core.authz import Actor
    from zerowaste.core.models import Organization, OrganizationRole, Zone
    from zerowaste.declarations import services
    from zerowaste.declarations.models import DeclarationLine

    zone = Zone.objects.create(code="bench", name="bench")
    actor = Actor.system(zone)
    catalog.load_standard_catalogs(actor, streams=["isw"])
    version = catalog.version_in_force(zone.pk, "isw")
    assert version is not None
    codes = [c for c in version.entries.values_list("code", flat=True) if c != "99-14-01"]
    orgs = [
        Organization(zone=zone, uscc=core_rules.make_uscc("91", "110115", f"{n:08d}"), name=f"bench {n}")
        for n in range(1, args.orgs + 1)
    ]
    Organization.objects.bulk_create(orgs, batch_size=2000)
    OrganizationRole.objects.bulk_create(
        [OrganizationRole(zone=zone, organization=o, role="producer") for o in orgs], batch_size=2000
    )
    usccs = [o.uscc for o in orgs]

    for name, n, excel in (("import-csv", args.rows, False), ("import-xlsx", args.xlsx_rows, True)):
        if n <= 0:
            continue
        rows = _rows(usccs, codes, n)
        content = _xlsx_bytes(rows) if excel else _csv_bytes(rows)
        csv_content = _csv_bytes(rows)
        DeclarationLine.objects.filter(zone=zone).delete()
        from zerowaste.declarations.models import Declaration

        Declaration.objects.filter(zone=zone).delete()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        result = services.check_file(actor, content, "bench.xlsx" if excel else "bench.csv")
        checked = time.perf_counter() - start
        services.write_groups(actor, result)
        ours = time.perf_counter() - start
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        stored = DeclarationLine.objects.filter(zone=zone).count()
        assert stored == n, (stored, n)
        copy_seconds = _copy_floor(csv_content)
        same_table_seconds = _same_table_floor(zone.pk)
        pandas_seconds: float | None = None
        if not args.no_pandas:
            try:
                pandas_seconds = _pandas_route(content, url, excel)
            except ImportError:
                pandas_seconds = None
        print(
            json.dumps(
                {
                    "name": name,
                    "n": n,
                    "seconds": round(ours, 3),
                    "rate": round(n / ours),
                    "ratio": round(ours / copy_seconds, 2),
                    "check_seconds": round(checked, 3),
                    "write_seconds": round(ours - checked, 3),
                    "copy_seconds": round(copy_seconds, 3),
                    "copy_into_lines_seconds": round(same_table_seconds, 3),
                    "ratio_to_copy_into_lines": round(ours / same_table_seconds, 2),
                    "pandas_seconds": round(pandas_seconds, 3) if pandas_seconds else None,
                    "vs_pandas": round(ours / pandas_seconds, 2) if pandas_seconds else None,
                    "database": connection.vendor,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
