"""Benchmark manifest-lifecycle: N complete lifecycles (create+issue, pick up, deliver, accept) over HTTP
against gunicorn + PostgreSQL with K concurrent clients, compared with the same inserts/updates done as
raw SQL transactions from one client in the same run (the database's floor).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zerowaste_bench \
        .venv/bin/python bench/manifest_lifecycle.py -n 200 -k 8

Prints one JSON line {"name", "n", "seconds", "rate", "ratio", "p50_ms", "p99_ms", ...} and exits 0.
It migrates the named database and builds its own zone; point it at a scratch database.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup() -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from zerowaste.testing import parties
    from zerowaste.transfers.testing import make_world

    w = make_world()
    return {
        "world": w,
        "tokens": {
            name: parties.token_for(org)
            for name, org in (("p", w.producer), ("c", w.carrier), ("r", w.receiver))
        },
    }


def _lifecycle(
    base: str, tokens: dict[str, str], body: dict[str, object], vehicle_id: int, key: str
) -> list[float]:
    import requests

    times = []

    def call(who: str, path: str, data: dict[str, object], step: str) -> dict[str, object]:
        start = time.perf_counter()
        response = requests.post(
            base + path,
            json=data,  # type: ignore[arg-type]
            timeout=30,
            headers={"Authorization": f"Bearer {tokens[who]}", "Idempotency-Key": f"{key}-{step}"},
        )
        times.append(time.perf_counter() - start)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        result: dict[str, object] = response.json()
        return result

    t = call("p", "/api/transfers", {**body, "issue": True}, "create")
    tid = t["id"]
    call("c", f"/api/transfers/{tid}/pick-up", {"vehicle_id": vehicle_id, "quantity_seen_t": "10"}, "pick")
    call("c", f"/api/transfers/{tid}/deliver", {}, "deliver")
    call("r", f"/api/transfers/{tid}/accept", {"received_t": "10"}, "accept")
    return times


def _raw_sql(n: int, w: object) -> float:
    """The same rows written by plain SQL transactions: insert transfer, line, leg; three updates."""
    from django.db import connection, transaction

    zone = w.zone  # type: ignore[attr-defined]
    start = time.perf_counter()
    with connection.cursor() as cur:
        for i in range(n):
            with transaction.atomic():
                cur.execute(
                    "INSERT INTO transfers_transfer (zone_id, stream, number, state, version, consignor_id, "
                    "consignee_id, carrier_id, current_carrier_id, planned_date, estimated_t, refused_t, "
                    "refusal_reason, discrepancy, discrepancy_note, acknowledged, treatment, "
                    "inter_provincial, "
                    "emergency_measures, cancel_reason, rest_redirected, revision_pending, due_step, "
                    "created_by, "
                    "created_at, updated_at, issued_at) VALUES "
                    "(%s,'hw',%s,'issued',1,%s,%s,%s,%s,now(),10,0,'',"
                    "false,'',false,'',false,'','',false,false,'pickup','raw',now(),now(),now()) "
                    "RETURNING id",
                    [zone.pk, f"RAW{i:011d}", w.producer.pk, w.receiver.pk, w.carrier.pk, w.carrier.pk],  # type: ignore[attr-defined]
                )
                tid = cur.fetchone()[0]
                cur.execute(
                    "INSERT INTO transfers_transferline (zone_id, transfer_id, position, waste_code, "
                    "category, "
                    "description, hazard, highly_toxic, physical_form, packaging, package_count, "
                    "estimated_t, "
                    "treatment) VALUES (%s,%s,1,'900-041-49','HW49','','',false,'','',0,10,'')",
                    [zone.pk, tid],
                )
                cur.execute(
                    "INSERT INTO transfers_transferleg (zone_id, transfer_id, seq, carrier_id, "
                    "vehicle_plate, driver) "
                    "VALUES (%s,%s,1,%s,'','')",
                    [zone.pk, tid, w.carrier.pk],  # type: ignore[attr-defined]
                )
            for state in ("in_transit", "delivered", "closed"):
                with transaction.atomic():
                    cur.execute("SELECT id FROM transfers_transfer WHERE id=%s FOR UPDATE", [tid])
                    cur.execute(
                        "UPDATE transfers_transfer SET state=%s, updated_at=now() WHERE id=%s", [state, tid]
                    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100, help="lifecycles")
    parser.add_argument("-k", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a scratch PostgreSQL database")
    ctx = _setup()
    w = ctx["world"]
    tokens: dict[str, str] = ctx["tokens"]  # type: ignore[assignment]
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "zerowaste.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            "4",
            "--chdir",
            str(ROOT),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        for _ in range(150):
            try:  # the first request builds the OpenAPI schema: give it time
                requests.get(base + "/api/openapi.json", timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            sys.exit("gunicorn did not start")
        body = w.data()  # type: ignore[attr-defined]
        body = {**body, "lines": [{**line, "estimated_t": "10"} for line in body["lines"]]}
        start = time.perf_counter()
        with ThreadPoolExecutor(args.k) as pool:
            futures = [
                pool.submit(_lifecycle, base, tokens, body, w.vehicle.pk, f"bench-{start}-{i}")  # type: ignore[attr-defined]
                for i in range(args.n)
            ]
            latencies = [x for f in futures for x in f.result()]
        seconds = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=20)
    raw_seconds = _raw_sql(args.n, w)
    latencies.sort()
    rate = args.n / seconds
    raw_rate = args.n / raw_seconds
    print(
        json.dumps(
            {
                "name": "manifest-lifecycle",
                "n": args.n,
                "clients": args.k,
                "seconds": round(seconds, 3),
                "rate": round(rate, 2),
                "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
                "raw_sql_seconds": round(raw_seconds, 3),
                "raw_sql_rate": round(raw_rate, 2),
                "ratio": round(raw_rate / rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
