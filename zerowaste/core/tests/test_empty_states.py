"""Every empty table or chart says why it is empty and what to do (issue 16, item 7; ADR 0051).

A zone with its parties and demo accounts but no record at all (no declaration, manifest, container,
plan, inspection, listing, run) is crawled by links as the regulator and as a producer. Every table
with no body row (or only a "—" placeholder) must hold the shared empty state (`portal/_empty.html`,
class `empty-state`), and every chart container whose data is empty must have one beside it in its
card. A new page reachable by a link is checked without editing this file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from zerowaste.testing.spider import Visit, crawl, logged_in

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PLACEHOLDERS = {"", "—", "-", "–"}


@pytest.fixture(scope="module")
def parties_only(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Any]:
    """The demo's parties, areas and accounts only (its first step), in a transaction rolled back after."""
    from django.db import transaction
    from django.test import override_settings

    from zerowaste.core.authz import Actor
    from zerowaste.core.demo import DEMO_ZONE_CODE, DIVISION, DemoContext, build_parties
    from zerowaste.core.models import Zone

    quick = {
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "TASKS": {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
        "RATELIMIT_ENABLED": False,
    }
    with django_db_blocker.unblock(), override_settings(**quick), transaction.atomic():
        zone = Zone.objects.create(code=DEMO_ZONE_CODE, name="空的开发区", division_code=DIVISION)
        ctx = DemoContext(zone=zone, seed=1, scale=1, actor=Actor.system(zone))
        build_parties(ctx)
        zone.settings = {"demo_accounts": ctx.accounts}
        zone.save(update_fields=["settings"])
        yield zone
        transaction.set_rollback(True)


class _Page(HTMLParser):
    """The tables of a page (their body rows' texts and whether they hold an empty state), its chart
    containers with the card around them, and its JSON data scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self.charts: list[dict[str, Any]] = []
        self.scripts: dict[str, str] = {}
        self._tables: list[dict[str, Any]] = []
        self._row: list[str] | None = None
        self._in_head = 0
        self._cards: list[dict[str, Any]] = []  # open <section> elements
        self._script: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "section":
            self._cards.append({"empty_state": False, "charts": []})
        if "empty-state" in classes:
            for table in self._tables:
                table["empty_state"] = True
            for card in self._cards:
                card["empty_state"] = True
        if tag == "table":
            self._tables.append({"id": values.get("id") or "", "rows": [], "empty_state": False})
        elif tag == "thead":
            self._in_head += 1
        elif tag == "tr" and self._tables and not self._in_head:
            self._row = []
        elif tag in ("input", "select", "textarea", "button") and self._row is not None:
            self._row.append(f"<{tag}>")  # a form row is content, not an empty table
        elif "chart" in classes and tag == "div":
            chart: dict[str, Any] = {"key": values.get("data-chart") or "", "id": values.get("id") or ""}
            chart["card"] = None
            if self._cards:
                chart["card"] = self._cards[-1]
            self.charts.append(chart)
        elif tag == "script" and values.get("type") == "application/json" and values.get("id"):
            self._script = values["id"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = max(0, self._in_head - 1)
        elif tag == "tr" and self._row is not None and self._tables:
            text = " ".join(" ".join(self._row).split())
            self._tables[-1]["rows"].append(text)
            self._row = None
        elif tag == "table" and self._tables:
            self.tables.append(self._tables.pop())
        elif tag == "section" and self._cards:
            self._cards.pop()
        elif tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row.append(data)
        if self._script:
            self.scripts[self._script] = self.scripts.get(self._script, "") + data


def _empty(value: Any) -> bool:
    """Data a chart would draw nothing from: nothing, empty lists, zeros."""
    if value is None:
        return True
    if isinstance(value, dict):
        return all(_empty(v) for k, v in value.items() if k not in ("labels", "title", "unit"))
    if isinstance(value, list):
        return all(_empty(v) for v in value) if value and isinstance(value[0], (dict, list)) else not value
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == 0
    return False


def _chart_data(page: _Page, chart: dict[str, Any]) -> Any:
    data = {name: json.loads(text) for name, text in page.scripts.items() if text.strip()}
    if chart["key"]:
        for payload in data.values():
            if isinstance(payload, dict) and chart["key"] in payload:
                return payload[chart["key"]]
        return None
    name = chart["id"]
    for candidate in (f"{name}-data", re.sub(r"-chart$", "-data", name)):
        if candidate in data:
            return data[candidate]
    return ...  # a chart whose data this test cannot find is not judged


def problems_of(visit: Visit) -> list[str]:
    page = _Page()
    page.feed(visit.body)
    found = []
    for table in page.tables:
        real = [r for r in table["rows"] if r not in PLACEHOLDERS]
        if not real and not table["empty_state"]:
            found.append(f"{visit.path}: table #{table['id'] or '?'} is empty and does not say why")
    for chart in page.charts:
        data = _chart_data(page, chart)
        if data is ... or not _empty(data):
            continue
        card = chart["card"]
        if card is None or not card["empty_state"]:
            found.append(f"{visit.path}: chart {chart['key'] or chart['id']} has no data and no explanation")
    return found


def test_problems_of_finds_a_bare_empty_table_and_a_bare_empty_chart() -> None:
    def visit(body: str) -> Visit:
        return Visit("/p/", "p/", 200, "text/html", body)

    bare = '<table id="t"><thead><tr><th>a</th></tr></thead><tbody><tr><td colspan="3">—</td></tr></tbody>'
    bare += "</table>"
    explained = '<table id="t"><tbody><tr><td><div class="empty-state"><p>None in 2026.</p></div></td></tr>'
    explained += "</tbody></table>"
    chart = '<section><div class="chart" data-chart="backlog"></div></section><script id="cockpit-data" '
    chart += 'type="application/json">{"backlog": {"months": [], "series": {"a": []}}}</script>'
    explained_chart = chart.replace("</div></section>", '</div><p class="empty-state">x</p></section>')
    assert problems_of(visit(bare)) == ["/p/: table #t is empty and does not say why"]
    assert problems_of(visit(explained)) == []
    assert problems_of(visit(chart)) == ["/p/: chart backlog has no data and no explanation"]
    assert problems_of(visit(explained_chart)) == []


@pytest.mark.parametrize("username", ["regulator", "producer"])
def test_every_empty_table_and_chart_says_why(parties_only: Any, username: str) -> None:
    from zerowaste.core.demo import DEMO_PASSWORD

    client = logged_in(username, DEMO_PASSWORD)
    visits = [v for v in crawl(client, "/", per_route=1) if v.is_html]
    assert len(visits) > 10, [v.path for v in visits]
    problems = [p for v in visits for p in problems_of(v)]
    assert not problems, "\n".join(problems)
