"""The API rate limit holds for the deployment, not per worker (issue 15, defect 15).

`zerowaste serve` runs gunicorn with several workers; counted in each worker's memory, 1,155 of 1,300
requests passed a limit of 600. Here gunicorn is started as `serve` starts it (2 workers, 4 threads
each) on a free port of 127.0.0.1, and N requests from concurrent clients meet a limit L: exactly L
pass. No race margin is tolerated: every count is one atomic step of the store (a SQLite upsert, a
Redis INCR), so two requests never read the same count.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from zerowaste.core.ratelimit import SQLiteCounter, counter_for, is_per_process

LIMIT = 40
REQUESTS = 130


def _spend_many(path: str, bucket: str, times: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    counter = SQLiteCounter(path)
    queue.put([counter.spend(bucket, 60, time.time()) for _ in range(times)])


def test_sqlite_counter_counts_every_request_of_every_process_once(tmp_path: Path) -> None:
    path = str(tmp_path / "ratelimit.sqlite3")
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    workers = [
        multiprocessing.get_context("fork").Process(target=_spend_many, args=(path, "b", 150, queue))
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    counts = [n for _ in workers for n in queue.get(timeout=60)]
    for w in workers:
        w.join(timeout=10)
    assert sorted(counts) == list(range(1, 601))  # no count seen twice, none lost


def test_default_store_is_shared_unless_redis_is_configured() -> None:
    assert settings.RATELIMIT_STORE.startswith(
        "sqlite:" if not os.environ.get("ZEROWASTE_REDIS_URL") else "cache:"
    )
    assert not is_per_process(settings.RATELIMIT_STORE)
    assert is_per_process("cache:default") is ("locmem" in settings.CACHES["default"]["BACKEND"].lower())
    assert isinstance(counter_for("sqlite:/tmp/x.sqlite3"), SQLiteCounter)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> int:
        port = _free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        inherited = ("ZEROWASTE_REDIS_URL", "ZEROWASTE_RATELIMIT", "ZEROWASTE_RATELIMIT_STORE")
        environment = {
            **{k: v for k, v in os.environ.items() if k not in inherited},
            "DJANGO_SETTINGS_MODULE": "zerowaste.settings",
            "ZEROWASTE_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # unauthenticated: never opened
            "ZEROWASTE_RATELIMIT_PER_IP": str(LIMIT),
            # One window for the whole run, and its own keys: `int(now // window)` stays put.
            "ZEROWASTE_RATELIMIT_WINDOW": str(10**7 + random.randrange(10**6)),
            **env,
        }
        process = subprocess.Popen(
            [
                *(str(gunicorn), "zerowaste.wsgi:application", "--bind", f"127.0.0.1:{port}"),
                *("--workers", "2", "--threads", "4", "--chdir", str(settings.BASE_DIR)),
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _get(port, "/robots.txt")  # not under /api/: not counted
                return port
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=20)


def _hammer(port: int) -> list[int]:
    """REQUESTS API requests from 8 concurrent clients; the status of each."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _i: _get(port, "/api/transfers"), range(REQUESTS)))


@pytest.mark.slow
def test_two_gunicorn_workers_share_one_budget(serve) -> None:  # type: ignore[no-untyped-def]
    port = serve()
    statuses = _hammer(port)
    assert statuses.count(429) == REQUESTS - LIMIT, statuses
    assert set(statuses) == {401, 429}  # the rest: unauthenticated, answered by the API


def _redis_up() -> bool:
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.mark.slow
@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_two_gunicorn_workers_share_one_budget_in_redis(serve) -> None:  # type: ignore[no-untyped-def]
    port = serve(ZEROWASTE_REDIS_URL="redis://127.0.0.1:6379/0")
    statuses = _hammer(port)
    assert statuses.count(429) == REQUESTS - LIMIT, statuses
