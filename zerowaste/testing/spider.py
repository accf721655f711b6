"""The pages a demo account reaches: a crawl of same-site links from its home page, by GET only.

The class-wide page tests (zh-Hans text, numbers, layout) walk what a person can actually click to,
on the demo zone, rather than a hand-kept list: a new page linked from anywhere is walked without
editing a test. Each URL-conf route is visited at most `per_route` times (its list and a filtered or
paged variant), so a table of 2,000 manifests costs two visits, not 2,000.

A GET never writes (issue 16, item 2, `core/tests/test_get_never_writes.py`), so a crawl leaves the
database as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve

# Links a crawl does not follow: they leave the page world, change the session or the language.
SKIPPED_PREFIXES = ("/logout/", "/i18n/", "/api/", "/admin/", "/static/", "/media/")
FILE_SUFFIXES = (".pdf", ".xlsx", ".csv", ".zip", ".png", ".jpg")  # downloads, not pages


@dataclass(frozen=True)
class Visit:
    path: str  # with its query string
    route: str  # the URL conf's route, e.g. "transfers/<int:transfer_id>/"
    status: int
    content_type: str
    body: str  # "" unless an HTML page

    @property
    def is_html(self) -> bool:
        return self.status == 200 and "text/html" in self.content_type


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links_of(body: str) -> list[str]:
    parser = _Links()
    parser.feed(body)
    return parser.hrefs


def route_of(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return str(match.route)


def _followable(href: str) -> str | None:
    href = urldefrag(href)[0]
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not href.startswith("/"):
        return None
    if href.startswith(SKIPPED_PREFIXES) or parts.path.endswith(FILE_SUFFIXES) or "export" in parts.path:
        return None
    return href


def crawl(client: Client, start: str = "/", *, per_route: int = 2, limit: int = 400) -> list[Visit]:
    """Every page reachable from `start` by links (redirects followed), at most `per_route` per route."""
    seen_paths: set[str] = set()
    per_route_count: dict[str, int] = {}
    queue = [start]
    visits: list[Visit] = []
    while queue and len(visits) < limit:
        path = queue.pop(0)
        if path in seen_paths:
            continue
        seen_paths.add(path)
        route = route_of(path)
        if route is None or per_route_count.get(route, 0) >= per_route:
            continue
        response = client.get(path, follow=True)
        final = response.redirect_chain[-1][0] if response.redirect_chain else path
        route = route_of(final) or route
        per_route_count[route] = per_route_count.get(route, 0) + 1
        content_type = response.get("Content-Type", "")
        body = response.content.decode("utf-8", errors="replace") if "text/html" in content_type else ""
        visits.append(Visit(final, route, response.status_code, content_type, body))
        for href in links_of(body):
            target = _followable(href)
            if target is not None and target not in seen_paths:
                queue.append(target)
    return visits


def logged_in(username: str, password: str, *, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, f"{username} could not log in ({response.status_code})"
    return client


def demo_usernames() -> list[str]:
    """The README's demo accounts, as the demo zone records them."""
    from zerowaste.core.models import Zone

    zone = Zone.objects.filter(settings__has_key="demo_accounts").order_by("-pk").first()
    assert zone is not None, "no demo zone built"
    return [a["username"] for a in zone.settings["demo_accounts"]]


# A crawl of the demo as one account, kept for the process: the walks over every page (zh-Hans text,
# numbers, what a role is offered) read the same pages of the same demo restored from the process's
# snapshot (zerowaste.testing.demo_snapshot), and a crawl never writes. Not kept where there is no
# snapshot (SQLite): each module's demo is then a build of its own.
_crawls: dict[tuple[Any, ...], list[Visit]] = {}


def _demo_state() -> tuple[Any, ...] | None:
    from zerowaste.core.models import Zone
    from zerowaste.testing import demo_snapshot

    snapshot = demo_snapshot.current()
    zone = Zone.objects.filter(settings__has_key="demo_accounts").order_by("-pk").first()
    return None if snapshot is None or zone is None else (id(snapshot), zone.pk)


def demo_account_visits(username: str, *, language: str = "zh-hans", per_route: int = 2) -> list[Visit]:
    """The pages a demo account (or "anonymous", from the exchange's public page) reaches by links."""
    from zerowaste.core.demo import DEMO_PASSWORD

    state = _demo_state()
    key = (username, language, per_route, state)
    if state is None or key not in _crawls:
        if username == "anonymous":
            visits = crawl(Client(HTTP_ACCEPT_LANGUAGE=language), "/exchange/", per_route=per_route)
        else:
            visits = crawl(logged_in(username, DEMO_PASSWORD, language=language), "/", per_route=per_route)
        if state is None:
            return visits
        _crawls[key] = visits
    return _crawls[key]


def crawl_as_every_demo_account(
    *, language: str = "zh-hans", per_route: int = 2
) -> Iterator[tuple[str, Visit]]:
    for username in ["anonymous", *demo_usernames()]:
        for visit in demo_account_visits(username, language=language, per_route=per_route):
            yield username, visit


@contextmanager
def demo_in_rolled_back_transaction(django_db_blocker: Any, *, fresh: bool = False) -> Iterator[Any]:
    """The demo zone for a module's tests, rolled back after them (not for live servers: a browser test
    needs committed rows, see tests/browser). Restored from the process's snapshot of the demo unless
    `fresh` asks for a build (zerowaste.testing.demo_snapshot)."""
    from django.db import transaction
    from django.test import override_settings

    from zerowaste.testing import demo_snapshot

    quick = {
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "TASKS": {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
        "RATELIMIT_ENABLED": False,
    }
    with django_db_blocker.unblock(), override_settings(**quick), transaction.atomic():
        yield demo_snapshot.build_fresh() if fresh else demo_snapshot.demo()
        transaction.set_rollback(True)
