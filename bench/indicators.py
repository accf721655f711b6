"""Benchmark: every indicator of a zone-year over N ledger + transfer rows on PostgreSQL, against DuckDB
running the same aggregates over the same rows exported to Parquet, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zerowaste .venv/bin/python bench/indicators.py \
        [--rows 10000000] [--year 2020] [--repeat 3] [--keep-dir DIR]

Steps, each timed and printed as one JSON line:
1. a throwaway database `<name>_bench_<pid>` (created, migrated, dropped at the end);
2. `zerowaste demo` (seed 1, scale 1) builds the zone through the services;
3. bulk path: the demo's declaration lines (the ledger) and transfers are multiplied inside PostgreSQL
   by `INSERT … SELECT … generate_series` into the same tables until they hold `--rows` rows together
   (80 % ledger lines, 20 % transfers; copied transfers get a suffixed number). `zerowaste demo --scale`
   grows through the services and would take hours for 10,000,000 rows, hence this path. Foreign-key
   triggers are skipped for the copy (`session_replication_role = replica`): the copies point at rows
   that exist. Then `VACUUM ANALYZE`;
4. PostgreSQL: `indicators.services.evaluate_zone(zone, year)` — all 43 indicators with the
   platform's own derivations (declarations statistics, production data, licences, transfers);
5. export of the rows the aggregates read to Parquet (COPY … TO STDOUT → DuckDB → Parquet);
6. DuckDB: the same aggregates (effective lines by stream and year with the year-end stock, production
   data, valid HW licences, closed HW transfers) over the Parquet files, then the same `rules.compute`.

The last line is the summary: PostgreSQL seconds (best of `--repeat`), DuckDB seconds and the ratio
PostgreSQL ÷ DuckDB, and whether both gave the same 43 figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throwaway import create_database, drop_database  # noqa: E402


def emit(**data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str), flush=True)


def _count(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")
    return int(cursor.fetchone()[0])


LINE_COLUMNS = [
    "zone_id",
    "declaration_id",
    "site_id",
    "waste_code",
    "waste_name",
    "category_code",
    "opening_t",
    "generated_t",
    "utilized_t",
    "disposed_t",
    "transferred_util_t",
    "transferred_disp_t",
    "closing_t",
    "destination",
    "position",
]


def _transfer_columns(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'transfers_transfer' "
        "AND column_name <> 'id' ORDER BY ordinal_position"
    )
    return [r[0] for r in cursor.fetchall()]


def multiply(target_rows: int) -> dict[str, Any]:
    """Grow declaration lines and transfers to `target_rows` together, copying the demo's rows in SQL."""
    from django.db import connection

    with connection.cursor() as cursor:
        lines = _count(cursor, "declarations_declarationline")
        transfers = _count(cursor, "transfers_transfer")
        want_lines = max(lines, int(target_rows * 0.8))
        want_transfers = max(transfers, target_rows - want_lines)
        cursor.execute("SET session_replication_role = replica")
        cols = ", ".join(LINE_COLUMNS)
        copies = want_lines // lines - 1
        if copies > 0:
            cursor.execute(
                f"INSERT INTO declarations_declarationline ({cols}) "
                f"SELECT {cols} FROM declarations_declarationline, generate_series(1, %s) AS g "
                f"WHERE id <= %s",
                [copies, _max_id(cursor, "declarations_declarationline")],
            )
        rest = want_lines - _count(cursor, "declarations_declarationline")
        if rest > 0:
            cursor.execute(
                f"INSERT INTO declarations_declarationline ({cols}) "
                f"SELECT {cols} FROM declarations_declarationline ORDER BY id LIMIT %s",
                [rest],
            )
        tcols = _transfer_columns(cursor)
        select = ", ".join(
            "CASE WHEN number IS NULL THEN NULL ELSE number || '-b' || g END" if c == "number" else c
            for c in tcols
        )
        copies = want_transfers // transfers - 1
        if copies > 0:
            cursor.execute(
                f"INSERT INTO transfers_transfer ({', '.join(tcols)}) "
                f"SELECT {select} FROM transfers_transfer, generate_series(1, %s) AS g WHERE id <= %s",
                [copies, _max_id(cursor, "transfers_transfer")],
            )
        rest = want_transfers - _count(cursor, "transfers_transfer")
        if rest > 0:
            cursor.execute(
                f"INSERT INTO transfers_transfer ({', '.join(tcols)}) "
                f"SELECT {select.replace(' || g ', ' || (id + 1000000000) ')} FROM transfers_transfer "
                f"ORDER BY id LIMIT %s",
                [rest],
            )
        cursor.execute("SET session_replication_role = DEFAULT")
        final_lines = _count(cursor, "declarations_declarationline")
        final_transfers = _count(cursor, "transfers_transfer")
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "ledger_rows": final_lines,
        "transfer_rows": final_transfers,
        "rows": final_lines + final_transfers,
    }


def _max_id(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT max(id) FROM {table}")
    return int(cursor.fetchone()[0])


EXPORTS = {
    "decl": "SELECT id, zone_id, organization_id, stream, status, previous_id, period_start, period_end "
    "FROM declarations_declaration",
    "line": "SELECT zone_id, declaration_id, category_code, generated_t, utilized_t, disposed_t, "
    "transferred_util_t, transferred_disp_t, closing_t FROM declarations_declarationline",
    "org": "SELECT id, zone_id FROM core_organization",
    "prod": "SELECT zone_id, organization_id, year, value_added_wan FROM declarations_productiondata",
    "licence": "SELECT zone_id, organization_id, kind, is_revoked, valid_from, valid_to FROM core_licence",
    "transfer": "SELECT zone_id, stream, state, planned_date, received_t FROM transfers_transfer",
}


def export_parquet(directory: Path) -> dict[str, int]:
    """Every table the aggregates read, as Parquet with the same types (decimals stay DECIMAL(18,3))."""
    import duckdb
    from django.db import connection

    sizes = {}
    db = duckdb.connect()
    for name, sql in EXPORTS.items():
        csv_path = directory / f"{name}.csv"
        with connection.cursor() as cursor, open(csv_path, "wb") as handle:
            raw = cursor.connection  # psycopg 3 connection
            with raw.cursor().copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
                for block in copy:
                    handle.write(block)
        types = dict.fromkeys(
            (
                "generated_t",
                "utilized_t",
                "disposed_t",
                "transferred_util_t",
                "transferred_disp_t",
                "closing_t",
                "received_t",
            ),
            "DECIMAL(18,3)",
        )
        types["value_added_wan"] = "DECIMAL(18,2)"
        present = {k: v for k, v in types.items() if k in sql}
        db.execute(
            f"COPY (SELECT * FROM read_csv('{csv_path}', header=true, types={present!r})) "
            f"TO '{directory / (name + '.parquet')}' (FORMAT parquet)"
        )
        sizes[name] = (directory / f"{name}.parquet").stat().st_size
        csv_path.unlink()
    db.close()
    return sizes


def _one(result: Any) -> Any:
    row = result.fetchone()
    return row[0] if row else None


def duckdb_values(directory: Path, zone_id: int, year: int) -> dict[str, Decimal | None]:
    """The derivations' figures computed by DuckDB over the Parquet files (same rules as the services)."""
    import duckdb

    db = duckdb.connect()
    p = {name: f"'{directory / (name + '.parquet')}'" for name in EXPORTS}
    declared: dict[tuple[str, int], dict[str, Decimal]] = {}
    rows = db.execute(
        f"""
        SELECT d.stream, year(d.period_start) AS y,
               sum(l.generated_t), sum(l.utilized_t), sum(l.disposed_t),
               sum(l.transferred_util_t), sum(l.transferred_disp_t),
               sum(l.closing_t) FILTER (WHERE d.period_end = make_date(year(d.period_start), 12, 31)),
               count(DISTINCT l.category_code)
        FROM {p["line"]} l JOIN {p["decl"]} d ON d.id = l.declaration_id
        WHERE l.zone_id = ? AND year(d.period_start) IN (?, ?)
          AND d.organization_id IN (SELECT id FROM {p["org"]} WHERE zone_id = ?)
          AND (d.status = 'accepted' OR (d.status = 'submitted' AND d.previous_id IS NULL))
        GROUP BY 1, 2
        """,
        [zone_id, year, year - 1, zone_id],
    ).fetchall()
    for stream, y, gen, util, disp, tu, td, stock, n in rows:
        declared[(stream, y)] = {
            "generated_t": gen or Decimal(0),
            "utilized_t": util or Decimal(0),
            "disposed_t": disp or Decimal(0),
            "transferred_util_t": tu or Decimal(0),
            "transferred_disp_t": td or Decimal(0),
            "stock_t": stock or Decimal(0),
            "lines": Decimal(n),
        }
    value_added = _one(
        db.execute(
            f"SELECT sum(value_added_wan) FROM {p['prod']} WHERE zone_id = ? AND year = ?",
            [zone_id, year],
        )
    )
    operators = _one(
        db.execute(
            f"SELECT count(DISTINCT organization_id) FROM {p['licence']} "
            "WHERE zone_id = ? AND kind = 'hw_operating' "
            "AND NOT is_revoked AND valid_from <= make_date(?, 12, 31) AND valid_to >= make_date(?, 1, 1)",
            [zone_id, year, year],
        )
    )
    manifested = _one(
        db.execute(
            f"SELECT sum(received_t) FROM {p['transfer']} "
            "WHERE zone_id = ? AND stream = 'hw' AND state = 'closed' "
            "AND year(planned_date) = ?",
            [zone_id, year],
        )
    )
    db.close()

    def total(stream: str, *fields: str) -> Decimal | None:
        row = declared.get((stream, year))
        return sum((row[f] for f in fields), Decimal(0)) if row else None

    def prior(stream: str) -> Decimal | None:
        now = declared.get((stream, year))
        if not now:
            return None
        before = declared.get((stream, year - 1), {"stock_t": Decimal(0)})
        drawdown = before["stock_t"] - now["stock_t"]
        return max(Decimal(0), min(drawdown, now["utilized_t"] + now["transferred_util_t"]))

    return {
        "declarations.isw.generated": total("isw", "generated_t"),
        "declarations.isw.utilized": total("isw", "utilized_t", "transferred_util_t"),
        "declarations.isw.disposed": total("isw", "disposed_t", "transferred_disp_t"),
        "declarations.isw.stock": total("isw", "stock_t"),
        "declarations.isw.prior_stock_utilized": prior("isw"),
        "declarations.hw.generated": total("hw", "generated_t"),
        "declarations.hw.utilized": total("hw", "utilized_t", "transferred_util_t"),
        "declarations.hw.disposed_inhouse": total("hw", "disposed_t"),
        "declarations.hw.transferred_disposal": total("hw", "transferred_disp_t"),
        "declarations.hw.stock": total("hw", "stock_t"),
        "declarations.hw.prior_stock_utilized": prior("hw"),
        "declarations.production.value_added": Decimal(value_added) if value_added is not None else None,
        "licences.hw_operating": Decimal(operators) if operators else None,
        "transfers.hw.received": Decimal(manifested) if manifested is not None else None,
    }


def duckdb_evaluate(directory: Path, zone_id: int, year: int, entered: dict[str, Any]) -> list[Any]:
    from zerowaste.indicators import rules, services

    indicator_set = services.active_set(zone_id)
    derived = duckdb_values(directory, zone_id, year)
    values: dict[str, Any] = {}
    for key, definition in indicator_set.inputs.items():
        value = entered.get(key)
        if value is None and definition.derive:
            value = derived.get(definition.derive)
        values[key] = value
    return rules.compute(indicator_set, values, year)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="ledger + transfer rows (default 10M)")
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep-dir", help="keep the Parquet files here")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        sys.exit("DATABASE_URL must point at PostgreSQL")
    url, admin = create_database(base_url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")
    os.environ.setdefault("ZEROWASTE_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    directory = Path(args.keep_dir or tempfile.mkdtemp(prefix="zw-indicators-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from zerowaste.core.demo import build_demo
        from zerowaste.indicators import rules, services

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        zone = build_demo(seed=1, scale=1).zone
        emit(step="demo", seconds=round(time.perf_counter() - started, 1))

        started = time.perf_counter()
        sizes = multiply(args.rows)
        emit(step="bulk", seconds=round(time.perf_counter() - started, 1), **sizes)

        pg_times = []
        evaluation = None
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            evaluation = services.evaluate_zone(zone.pk, args.year)
            pg_times.append(time.perf_counter() - started)
        assert evaluation is not None
        emit(step="postgresql", seconds=[round(t, 3) for t in pg_times])

        started = time.perf_counter()
        parquet = export_parquet(directory)
        emit(step="export", seconds=round(time.perf_counter() - started, 1), parquet_bytes=parquet)

        entered = {
            k: s.value
            for k, s in evaluation.inputs.items()
            if s.origin in ("entered", "previous_year") and s.value is not None
        }
        duck_times = []
        duck_results: list[rules.IndicatorResult] = []
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            duck_results = duckdb_evaluate(directory, zone.pk, args.year, entered)
            duck_times.append(time.perf_counter() - started)
        emit(step="duckdb", seconds=[round(t, 3) for t in duck_times])

        pg_figures = [[p.achieved_text for p in r.parts] for r in evaluation.results]
        duck_figures = [[p.achieved_text for p in r.parts] for r in duck_results]
        differ = [
            r.indicator.number
            for r, a, b in zip(evaluation.results, pg_figures, duck_figures, strict=True)
            if a != b
        ]
        best_pg, best_duck = min(pg_times), min(duck_times)
        emit(
            name="indicators",
            rows=sizes["rows"],
            year=args.year,
            indicators=len(evaluation.results),
            postgresql_seconds=round(best_pg, 3),
            duckdb_seconds=round(best_duck, 3),
            ratio=round(best_pg / best_duck, 2) if best_duck else None,
            same_figures=not differ,
            differ=differ,
            load=os.getloadavg(),
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(admin, url)
        if not args.keep_dir:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
