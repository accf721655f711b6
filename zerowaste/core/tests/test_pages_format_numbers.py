"""Every page shows its numbers the one way (issue 16, item 6; ADR 0050): quantities with at most 3
decimals, thousands separators and the unit in the page's language; catalog codes with their names.

The class-wide test walks every page each README demo account reaches by links
(`zerowaste.testing.spider`), in zh-Hans and in English, and reads the page's visible text (tags
replaced by a space, `<script>`/`<style>` dropped: the charts' JSON carries exact decimal strings on
purpose, `numbers.js` formats them). It fails on:

1. **a decimal with more than 3 decimals** (`3.00500000000000`, `0.0548`, `96.00001871…`): a number
   that is not part of a longer token (not a version `1.2.3.4`, not inside a word or a hash). A pair of
   coordinates (`39.810032, 116.508459`) is not a quantity and is left out.
2. **a quantity of 4 or more integer digits without separators**, which is the shape of
   `208400.000 t`, found two ways:
   - next to a unit — the number directly followed by 吨, 千克, 元, t, kg or CNY (whitespace between
     allowed); years (`2020年`), codes (`900-041-49`, `ISW01`), ids, USCCs and phone numbers are not
     followed by a unit, and a number glued to a preceding `-`, `/`, `:`, letter or digit group is part
     of a code or a date and is skipped;
   - alone in a numeric table cell (`<td class="num">`, `<dd class="num">`), where the column header
     names the unit: the cell's text starting with such a number. Ids and years are not put in
     numeric cells.
3. on a zh-Hans page, **the Latin unit `t` next to a number** (`5.000 t`, `31.900 t`): 吨 there.

Targeted tests pin the code + name of the Sankey, the statistics, the exchange's proposals and the
public board.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from zerowaste.core.demo import DEMO_PASSWORD
from zerowaste.testing.spider import Visit, crawl_as_every_demo_account, logged_in

# With the other walks over the demo's pages on one test process: they share its crawls (spider).
pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.xdist_group("demo-walks")]

_INVISIBLE = re.compile(r"<(script|style|template)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_COORDINATES = re.compile(r"-?\d{1,3}\.\d+\s*,\s*-?\d{1,3}\.\d+")
LONG_DECIMAL = re.compile(r"(?<![\w.,/:-])-?\d[\d,]*\.\d{4,}(?![\w.])")
UNITS = r"(?:吨|千克|元|t|kg|CNY)"
BARE_BESIDE_UNIT = re.compile(r"(?<![\w.,/:-])\d{4,}(?:\.\d+)?\s*" + UNITS + r"(?![A-Za-z])")
NUMERIC_CELL = re.compile(r"<(td|dd|th)\b[^>]*class=\"[^\"]*\bnum\b[^\"]*\"[^>]*>(.*?)</\1>", re.S | re.I)
BARE_IN_CELL = re.compile(r"^\s*-?\d{4,}(?:\.\d+)?(?![\d,])")
LATIN_T = re.compile(r"\d\s*t(?![A-Za-z])")


def visible_text(body: str) -> str:
    text = html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", body)))
    return re.sub(r"\s+", " ", text)


def number_faults(body: str, *, chinese: bool) -> Iterator[str]:
    """What is wrong with the numbers of one page, each with some text around it."""
    text = _COORDINATES.sub(" ", visible_text(body))
    checks = [("more than 3 decimals", LONG_DECIMAL), ("no thousands separators", BARE_BESIDE_UNIT)]
    if chinese:
        checks.append(("the Latin unit t on a Chinese page", LATIN_T))
    for what, pattern in checks:
        for match in pattern.finditer(text):
            yield f"{what}: {match.group()!r} in …{text[max(0, match.start() - 40) : match.end() + 20]}…"
    for cell in NUMERIC_CELL.finditer(_INVISIBLE.sub(" ", body)):
        shown = visible_text(cell.group(2))
        if BARE_IN_CELL.match(shown):
            yield f"no thousands separators in a numeric cell: {shown.strip()!r}"


def test_the_patterns_catch_the_issue_examples_and_spare_codes_years_and_ids() -> None:
    bad = [
        ("<td>3.00500000000000</td>", False),
        ("<p>产生量 208400.000 t</p>", False),
        ('<td class="num">208400.000</td>', False),
        ("<span>8336 吨</span>", False),
        ("<p>期初 0.172 t</p>", True),
    ]
    for body, chinese in bad:
        assert list(number_faults(body, chinese=chinese)), body
    good_everywhere = [
        "<p>208,400.000 吨 · 2020年 · 900-041-49 · ISW01 · 91110302MA01ABCD1X · 13800138000</p>",
        "<p>39.810032, 116.508459 · v1.2.3.4 · HW2020120100012 · 2020-12-31 12:30</p>",
        '<td class="num">2,276</td><td class="num">12</td><td>2020</td>',
        '<script>{"value_t": "3.00500000000000"}</script>',
    ]
    for body in good_everywhere:
        assert not list(number_faults(body, chinese=True)), body
    assert not list(number_faults("<p>208,400.000 t · 3 tonnes</p>", chinese=False))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_shows_its_numbers_the_one_way(module_demo, language: str) -> None:  # type: ignore[no-untyped-def]
    faults: dict[str, set[str]] = {}
    pages = 0
    for username, visit in crawl_as_every_demo_account(language=language):
        if not visit.is_html:
            continue
        pages += 1
        for fault in number_faults(visit.body, chinese=language.startswith("zh")):
            faults.setdefault(f"{visit.route} (as {username}, {visit.path})", set()).add(fault)
    assert pages > 50, f"the crawl reached only {pages} pages"
    report = "\n".join(
        f"{page}:\n  " + "\n  ".join(sorted(found)[:5]) for page, found in sorted(faults.items())
    )
    assert not faults, f"numbers not shown the one way on {len(faults)} pages:\n{report}"


# --- Codes with their names -----------------------------------------------------------------------


def _regulator(language: str = "zh-hans"):  # type: ignore[no-untyped-def]
    return logged_in("regulator", DEMO_PASSWORD, language=language)


def _page(client, path: str) -> Visit:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, path
    return Visit(path, "", 200, response["Content-Type"], response.content.decode())


def test_the_sankey_names_every_category_node(module_demo) -> None:  # type: ignore[no-untyped-def]
    body = _page(_regulator(), "/cockpit/?year=2020").body
    found = re.search(r'<script id="cockpit-data" type="application/json">(.*?)</script>', body, re.S)
    assert found is not None
    data = json.loads(found[1])
    categories = [n for n in data["flows"]["nodes"] if n["kind"] == "category"]
    assert categories, "the demo's material flow has no category node"
    for node in categories:
        label = data["labels"].get(node["id"], "")
        assert label.startswith(node["key"] + " ") and len(label) > len(node["key"]) + 1, (node, label)
    # The chart draws the label (code and name), not the bare code; its table says the same.
    charts = (Path(__file__).parents[2] / "portal/static/portal/charts.js").read_text()
    assert 'n.kind === "category" ? n.key' not in charts
    assert "ISW01 电子行业废物" in visible_text(body)


def test_the_statistics_name_their_codes(module_demo) -> None:  # type: ignore[no-untyped-def]
    client = _regulator()
    stats = visible_text(_page(client, "/declarations/stats/?year=2020&stream=isw&by=category").body)
    assert "ISW01 电子行业废物" in stats
    by_code = visible_text(_page(client, "/declarations/stats/?year=2020&stream=isw&by=code").body)
    assert re.search(r"99-\d\d-\d\d [\u4e00-\u9fff]", by_code), by_code[:500]
    english = visible_text(
        _page(_regulator("en"), "/declarations/stats/?year=2020&stream=isw&by=category").body
    )
    assert "ISW01 Electronics industry waste" in english
    supervision = visible_text(_page(client, "/transfers/statistics/?year=2020&stream=hw").body)
    assert re.search(r"HW\d\d [\u4e00-\u9fff]", supervision), supervision[:500]


def test_the_statistics_download_names_the_codes_beside_them(module_demo) -> None:  # type: ignore[no-untyped-def]
    response = _regulator().get("/declarations/stats/?year=2020&stream=isw&by=category&format=csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("key,name,generated_t")
    assert any(line.startswith("ISW01,电子行业废物,") for line in lines[1:]), lines[:3]


def test_the_proposals_name_their_codes(module_demo) -> None:  # type: ignore[no-untyped-def]
    body = _page(_regulator(), "/exchange/proposals/?status=all").body
    cells = re.findall(r'<tr id="proposal-\d+">.*?</td><td>(.*?)</td>', body, re.S)
    assert cells, "the demo has no proposal"
    for cell in cells[:20]:
        text = visible_text(cell).strip()
        assert re.fullmatch(r"\d{2,3}-\d{2,3}-\d\d \S.*", text), text
        assert 'class="mono code"' in cell  # the code never wraps at its hyphens


def test_the_public_board_names_its_categories(module_demo) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    body = _page(Client(HTTP_ACCEPT_LANGUAGE="zh-hans"), "/exchange/").body
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"mono code\">(.*?)</td>", body, re.S)
    assert rows, "the board lists nothing"
    for category, _code in rows:
        assert re.fullmatch(r"(ISW|HW)\d\d \S.*", visible_text(category).strip()), category
