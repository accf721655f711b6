"""Rate limits on the API, per token and per client IP, with `X-RateLimit-*` headers.

Fixed one-minute windows counted in a Django cache (`RATELIMIT_CACHE`, default "default"; with several
gunicorn workers point it at a shared cache — Redis or the database cache — or each worker counts
alone). A request to `/api/` spends one unit of its token's budget (when it carries a bearer token)
and one of its IP's budget; the tighter of the two is reported:

    X-RateLimit-Limit: 600        requests per window
    X-RateLimit-Remaining: 599
    X-RateLimit-Reset: 42         seconds until the window ends

Over the limit: 429 with `Retry-After`, in the API's problem format. Settings: `RATELIMIT_PER_TOKEN`
(default 600/min), `RATELIMIT_PER_IP` (default 1200/min), `RATELIMIT_WINDOW_S` (60),
`RATELIMIT_ENABLED` (True).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse

Handler = Callable[[HttpRequest], HttpResponse]


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _spend(key: str, window: int, now: float) -> int:
    """Count one request in the current window of `key`; return the count so far."""
    cache = caches[getattr(settings, "RATELIMIT_CACHE", "default")]
    bucket = f"rl:{key}:{int(now // window)}"
    if cache.add(bucket, 1, timeout=window + 5):
        return 1
    try:
        return int(cache.incr(bucket))
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window + 5)
        return 1


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
