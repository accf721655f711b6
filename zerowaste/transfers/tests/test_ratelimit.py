"""Rate limits per token and per IP on the API (zerowaste.core.ratelimit), with X-RateLimit-* headers."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from zerowaste.testing import parties
from zerowaste.transfers.testing import World


@pytest.fixture
def limited(settings, tmp_path):  # type: ignore[no-untyped-def]
    # The root conftest switches rate limits off for every other test.
    settings.RATELIMIT_ENABLED = True
    assert "zerowaste.core.ratelimit.RateLimitMiddleware" in settings.MIDDLEWARE
    settings.RATELIMIT_PER_TOKEN = 3
    settings.RATELIMIT_PER_IP = 5
    settings.RATELIMIT_WINDOW_S = 60
    settings.RATELIMIT_STORE = f"sqlite:{tmp_path / 'ratelimit.sqlite3'}"  # the default kind, fresh
    cache.clear()
    yield settings
    cache.clear()


def test_token_budget_headers_and_429(world: World, limited) -> None:  # type: ignore[no-untyped-def]
    api = parties.api_client(world.producer)
    seen = []
    for _ in range(3):
        r = api.get("/api/transfers")
        assert r.status_code == 200
        seen.append(int(r["X-RateLimit-Remaining"]))
        assert r["X-RateLimit-Limit"] == "3" and 0 < int(r["X-RateLimit-Reset"]) <= 60
    assert seen == [2, 1, 0]
    over = api.get("/api/transfers")
    assert over.status_code == 429 and int(over["Retry-After"]) > 0
    assert "rate limit" in over.json()["detail"]
    other = parties.api_client(world.carrier)  # another token: its own budget, but the IP's is shared
    r = other.get("/api/transfers")
    # 5th request from this IP: the IP's budget (5) is now the tighter one and is the one reported
    assert r.status_code == 200 and (r["X-RateLimit-Limit"], r["X-RateLimit-Remaining"]) == ("5", "0")
    assert other.get("/api/transfers").status_code == 429


def test_ip_budget_applies_without_token(world: World, limited) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    client = Client()
    codes = [client.get("/api/transfers").status_code for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert client.get("/transfers/").status_code != 429  # pages are not limited here
