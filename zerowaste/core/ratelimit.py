"""Rate limits on the API, per token and per client IP, with `X-RateLimit-*` headers.

Fixed windows (one minute by default) counted in one store that every gunicorn worker shares, so
the documented limit holds for the deployment, not per worker (issue 15, defect 15):

- `RATELIMIT_STORE = "sqlite:<path>"` (the default: `var/ratelimit.sqlite3`): a SQLite file on the
  host, each count one atomic upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so no two
  requests of any process read the same count. Needs nothing running; one host.
- `RATELIMIT_STORE = "cache:<alias>"` (the default when `ZEROWASTE_REDIS_URL` is set): a Django cache;
  with Redis, `add` and `incr` are atomic on the server and every host shares the counts. A cache
  that lives in the process (locmem) counts per worker: `zerowaste serve` warns of it.

A request to `/api/` spends one unit of its token's budget (when it carries a bearer token) and one
of its IP's budget; the tighter of the two is reported:

    X-RateLimit-Limit: 600        requests per window
    X-RateLimit-Remaining: 599
    X-RateLimit-Reset: 42         seconds until the window ends

Over the limit: 429 with `Retry-After`, in the API's problem format. Settings: `RATELIMIT_PER_TOKEN`
(default 600/min), `RATELIMIT_PER_IP` (default 1200/min), `RATELIMIT_WINDOW_S` (60),
`RATELIMIT_ENABLED` (True), `RATELIMIT_STORE`. A store that fails (a full disk, Redis down) lets the
request through and logs the error: the limit protects the service, it must not stop it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse

Handler = Callable[[HttpRequest], HttpResponse]
logger = logging.getLogger(__name__)


class Counter(Protocol):
    def spend(self, bucket: str, ttl: int, now: float) -> int:
        """Count one request in `bucket`; return the count including it."""
        ...


class SQLiteCounter:
    """Counts in a SQLite file shared by every process of the host (one connection per thread)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():  # not across a fork
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")  # counts of a minute: not worth an fsync
            connection.execute(
                "CREATE TABLE IF NOT EXISTS hits "
                "(bucket TEXT PRIMARY KEY, n INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def spend(self, bucket: str, ttl: int, now: float) -> int:
        connection = self._connection()
        # One statement: SQLite takes the write lock for it, so the increment and the read are one step.
        (count,) = connection.execute(
            "INSERT INTO hits (bucket, n, expires) VALUES (?, 1, ?) "
            "ON CONFLICT (bucket) DO UPDATE SET n = n + 1 RETURNING n",
            (bucket, now + ttl),
        ).fetchone()
        if count == 1:  # a new window: forget the finished ones
            connection.execute("DELETE FROM hits WHERE expires < ?", (now,))
        return int(count)


class CacheCounter:
    """Counts in a Django cache: shared and atomic with Redis, per process with locmem."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def spend(self, bucket: str, ttl: int, now: float) -> int:
        cache = caches[self.alias]
        if cache.add(bucket, 1, timeout=ttl):
            return 1
        try:
            return int(cache.incr(bucket))
        except ValueError:  # expired between add and incr
            cache.set(bucket, 1, timeout=ttl)
            return 1


@lru_cache(maxsize=8)
def counter_for(store: str) -> Counter:
    kind, _, where = store.partition(":")
    if kind == "sqlite":
        return SQLiteCounter(where)
    if kind == "cache":
        return CacheCounter(where or "default")
    raise ValueError(f"RATELIMIT_STORE must be sqlite:<path> or cache:<alias>, not {store!r}")


def store_setting() -> str:
    return str(getattr(settings, "RATELIMIT_STORE", "cache:default"))


def is_per_process(store: str) -> bool:
    """Whether `store` counts in each worker's memory (the limit then holds per worker only)."""
    kind, _, alias = store.partition(":")
    return (
        kind == "cache" and "locmem" in settings.CACHES.get(alias or "default", {}).get("BACKEND", "").lower()
    )


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _spend(key: str, window: int, now: float) -> int:
    """Count one request in the current window of `key`; return the count so far (0: not counted)."""
    bucket = f"rl:{key}:{window}:{int(now // window)}"
    try:
        return counter_for(store_setting()).spend(bucket, window + 5, now)
    except Exception as exc:  # sqlite3, OS or Redis errors alike
        logger.error("rate limit store unavailable, request not counted: %s", exc)
        return 0


class RateLimitMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") or not getattr(settings, "RATELIMIT_ENABLED", True):
            return self.get_response(request)
        window = max(1, _setting("RATELIMIT_WINDOW_S", 60))
        now = time.time()
        reset = int(window - (now % window)) or window
        budgets: list[tuple[int, int]] = []  # (limit, used)
        authorization = request.headers.get("Authorization", "")
        if authorization.lower().startswith("bearer "):
            digest = hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:40]
            limit = _setting("RATELIMIT_PER_TOKEN", 600)
            budgets.append((limit, _spend(f"t:{digest}", window, now)))
        ip = str(request.META.get("REMOTE_ADDR", ""))[:64]
        limit = _setting("RATELIMIT_PER_IP", 1200)
        budgets.append((limit, _spend(f"ip:{ip}", window, now)))
        limit, used = min(budgets, key=lambda b: b[0] - b[1])
        remaining = max(0, limit - used)
        if used > limit:
            body = {
                "detail": f"rate limit exceeded: {limit} requests per {window} s; retry in {reset} s",
                "errors": [{"field": "", "message": "rate limit exceeded"}],
            }
            response = HttpResponse(json.dumps(body), status=429, content_type="application/json")
            response["Retry-After"] = str(reset)
        else:
            response = self.get_response(request)
        response["X-RateLimit-Limit"] = str(limit)
        response["X-RateLimit-Remaining"] = str(remaining)
        response["X-RateLimit-Reset"] = str(reset)
        return response
