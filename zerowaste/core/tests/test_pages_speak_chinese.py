"""Every page a demo account reaches, rendered in zh-Hans, speaks Chinese (issue 16, item 5): no
untranslated English, no rule keys, no internal identifiers, no seed line references.

The pages are those the spider reaches by links as each README demo account (and anonymously), so a
new page is checked without editing this file. What a person sees is taken from each page: the text
outside <script>/<style>, the `title`, `placeholder`, `aria-label` and `alt` attributes, the `value` of
buttons, the <option> texts, and the strings of the JSON handed to charts (`json_script` blocks) that a
chart shows (series names, labels, legends).

What is legitimately Latin on a Chinese page (the allowlist, each for a reason):
- numbers with or without a unit (`208,400.000 t`, `12 kg`, `9,362.15 CNY`), and a unit alone in a
  column head: how quantities are written is helper "numbers"' concern (one formatter), not this test's;
- codes: catalog codes (`HW08`, `900-041-49`, `ISW01`), USCC (18 characters of digits and capitals),
  licence and permit numbers, vehicle plates (`京A12345`), the zone's manifest and set numbers
  (`bda-2020-isw-000204`, `bda-2019`), standard numbers (`HJ 1259`), the hazard characteristic `In`
  and class numerals (`I级`) — identifiers a regulator reads as they are printed on paper;
- hashes, fingerprints and the published public key of the audit chain (they are checked by machines);
- product and format words that Chinese software writes in Latin: PDF, Excel, CSV, xlsx, API, OpenAPI,
  JSON, TOML, JPEG, PNG, WebP, UTF-8, BOM, GBK, Base64, Ed25519, Webhook, Sankey, HTTP(S), URL, ID,
  zerowaste (the product's name);
- the demo's data: organization names, user names and e-mail addresses, every record's English name
  (`name_en`: the catalog's bilingual names) and the catalogs' category codes, which are words in the
  household and construction catalogs (`kitchen 厨余垃圾`) — published data, not UI words; URLs;
- what a person types verbatim, set in <code>, <kbd> or <pre> (a command line);
- the language switch's own name of English (`English`), which a Chinese page must offer in English.
Anything else made of Latin words is a finding: an English msgid left untranslated, a raw state or
step name (`pick_up`, `in_transit`), a select option (`isw`/`hw`), a chart word (`target`).

Always a finding, whatever the allowlist says: rule keys (`R-DRILL`, `[balance]`), snake_case
identifiers, model labels (`transfers.transfer:4413`) and seed references (`seed:4043`, `line 4043`):
these belong in code comments, ADRs and data files, and in the API's machine-readable `code` fields.
"""

from __future__ import annotations

import json
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from zerowaste.testing import spider

pytestmark = pytest.mark.django_db

CATALOG = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

# Attributes a person reads (a tooltip, a field's hint, a screen reader's label, an image's text).
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
BUTTON_INPUT_TYPES = ("submit", "button", "reset")
# JSON keys of chart data whose string values a chart draws on screen.
SHOWN_JSON_KEYS = {"name", "label", "title", "text", "caption"}  # a string a chart draws
LABEL_CONTAINERS = {"labels", "legend", "categories"}  # every string inside is drawn

RULE_KEY = re.compile(r"\bR-[A-Z]{2,}(?:-[A-Z0-9]+)*\b|\[[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+\]|\[[a-z]+\]")
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
MODEL_LABEL = re.compile(r"\b[a-z_]+\.[a-z_]+:\d+\b")
SEED_REFERENCE = re.compile(r"\bseed\b\s*[:#]?\s*\d*|\bline\s+\d+|第\s*\d+\s*行\s*\(seed", re.IGNORECASE)

# What may stay Latin (see the docstring), removed from a text run before it is searched for words.
ALLOWED_PATTERNS = [  # in this order: a code is removed whole before its digits could be read as a number
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL),  # a published public key
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII),  # e-mail
    re.compile(r"\bhttps?://\S*|(?<![\w/])/[\w/.?=&-]*", re.ASCII),  # URLs and paths
    re.compile(r"\b[0-9a-f]{10,}\b(?:\.\.\.|…)?"),  # hashes and fingerprints (audit chain, checkpoints)
    re.compile(  # product and format words
        r"\b(?:PDF|Excel|CSV|XLSX|xlsx|API|OpenAPI|JSON|TOML|JPEG|PNG|WebP|UTF|BOM|GBK|Base64|Ed25519|"
        r"Webhook|Sankey|HTTPS?|URL|ID|GB|HJ|zerowaste|English)\b",
        re.ASCII,
    ),
    re.compile(r"\b[0-9A-Z]{18}\b", re.ASCII),  # USCC
    re.compile(r"[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}\b"),  # vehicle plates: 京A12345
    re.compile(r"\b[a-z]{2,}-\d{4}(?:-[a-z0-9]+)*\b", re.ASCII),  # numbers of the zone: bda-2020-isw-000204
    re.compile(r"\b[A-Z]{1,6}[-\d][\w.-]*\b", re.ASCII),  # catalog codes, licence/permit numbers, HJ 1259
    re.compile(  # a number and its unit (how they are written is helper "numbers"' concern)
        r"[\d.,]+\s*(?:t|kg|km|m²|m³|g|%|kWh|MW|GB|MB|KB|d|h|min|s|CNY(?:/t)?)?(?![A-Za-z])"
    ),
    re.compile(r"\b\d[\w-]*\b", re.ASCII),  # codes starting with a digit: 900-041-49
    re.compile(r"\b(?:kg|km|CNY|t/day)\b"),  # a unit in a column head: 数量（kg）
    re.compile(r"\bIn\b(?= ·)|(?<![A-Za-z])[IV]{1,3}(?=级|类)"),  # hazard characteristic In; I级, II类
]
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


class VisibleText(HTMLParser):
    """The strings a person reads on a page, and the JSON data handed to its charts. <code>, <kbd> and
    <pre> hold what a person types verbatim (a command line) and are skipped like scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[str] = []
        self.json_blocks: list[str] = []
        self._skipping: str | None = None  # inside <script> or <style>
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style", "code", "kbd", "pre"):
            self._skipping = tag
            self._json = tag == "script" and values.get("type") == "application/json"
            return
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.runs.append(str(values[name]).strip())
        is_button = tag == "button" or (tag == "input" and values.get("type") in BUTTON_INPUT_TYPES)
        if is_button and values.get("value") and tag == "input":
            self.runs.append(str(values["value"]).strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == self._skipping:
            self._skipping = None
            self._json = False

    def handle_data(self, data: str) -> None:
        if self._skipping:
            if self._json:
                self.json_blocks.append(data)
            return
        text = " ".join(data.split())
        if text:
            self.runs.append(text)


def shown_json_strings(value: Any, key: str = "", inside_labels: bool = False) -> list[str]:
    """The strings of chart data a chart draws (series names, titles, everything in a `labels` map),
    not its keys, ids or codes."""
    if isinstance(value, dict):
        return [
            s
            for k, v in value.items()
            for s in shown_json_strings(v, k, inside_labels or k in LABEL_CONTAINERS)
        ]
    if isinstance(value, list):
        return [s for item in value for s in shown_json_strings(item, key, inside_labels)]
    if isinstance(value, str) and (inside_labels or key in SHOWN_JSON_KEYS):
        return [value]
    return []


@cache
def english_msgids() -> frozenset[str]:
    """The catalog's English msgids (single-line and continued), as a page would show them."""
    msgids: set[str] = set()
    current: list[str] | None = None
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            current = [json.loads(line[len("msgid ") :])]
        elif line.startswith('"') and current is not None:
            current.append(json.loads(line))
        else:
            if current is not None:
                text = " ".join("".join(current).split())
                if LATIN_WORD.search(text):
                    msgids.add(text)
            current = None
    return frozenset(msgids)


def data_names() -> frozenset[str]:
    """Names people typed or published into the demo: organizations, users, and every record's English
    name (`name_en`: the catalog's bilingual names, an organization's English name): data, not UI words."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    names: set[str] = set()
    for model in apps.get_models():
        field_names = {field.name for field in model._meta.get_fields()}
        if model._meta.app_label in {"core", "catalog", "hazardous", "transfers", "exchange"}:
            for field in ("name", "name_en"):
                if field in field_names:
                    names.update(model._base_manager.values_list(field, flat=True))
    from zerowaste.catalog.models import CatalogCategory

    # The household and construction catalogs' category codes are words (`kitchen`, `spoil`): codes.
    names.update(CatalogCategory.objects.values_list("code", flat=True))
    for user in get_user_model().objects.all():
        names.update([user.username, user.get_full_name(), user.first_name, user.last_name, user.email])
    return frozenset(n for n in names if n and LATIN_WORD.search(n))


def findings_in(run: str, allowed_names: frozenset[str]) -> list[str]:
    found: list[str] = []
    for label, pattern in (
        ("rule key", RULE_KEY),
        ("identifier", SNAKE_CASE),
        ("model label", MODEL_LABEL),
        ("seed reference", SEED_REFERENCE),
    ):
        if pattern.search(run):
            found.append(label)
    if found:
        return found
    if run in allowed_names or not LATIN_WORD.search(_without_allowed(run)):
        return []
    # Names are looked for only in the few runs left with Latin words (there are thousands of names).
    rest = run
    for name in _longest_first(allowed_names):
        if name in rest:
            rest = rest.replace(name, " ")
    if not LATIN_WORD.search(_without_allowed(rest)):
        return []
    return ["untranslated msgid" if run in english_msgids() else "English words"]


def _without_allowed(text: str) -> str:
    for pattern in ALLOWED_PATTERNS:
        text = pattern.sub(" ", text)
    return text


@cache
def _longest_first(names: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=len, reverse=True))


def page_findings(body: str, allowed_names: frozenset[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(body)
    problems: list[str] = []
    for run in parser.runs:
        for finding in findings_in(run, allowed_names):
            problems.append(f"{finding}: {run[:160]!r}")
    for block in parser.json_blocks:
        try:
            data = json.loads(block)
        except ValueError:
            continue
        for text in shown_json_strings(data):
            for finding in findings_in(text, allowed_names):
                problems.append(f"chart data {finding}: {text[:160]!r}")
    return problems


def test_the_checker_finds_what_the_issue_saw() -> None:
    """The issue's own examples are findings; Chinese with codes, numbers and product words is not."""
    names = frozenset({"Bayer Healthcare"})
    for bad in (
        "R-DRILL 钻取 seed:4043",
        "[balance] 数量不平衡",
        "issue consignor",
        "pick_up carrier",
        "(pickup)",
        "required",
        "isw",
        "target",
        "transfers.transfer:4413",
        "见 line 4043",
    ):
        assert page_findings(f"<p>{bad}</p>", names), bad
    assert page_findings('<input type="submit" value="Save">', names)
    assert page_findings('<a title="Open the manifest">x</a>', names)
    chart = '<script type="application/json" id="d">{"series": [{"name": "target", "data": [1]}]}</script>'
    assert page_findings(chart, names)
    chart = '<script type="application/json" id="d">{"labels": {"target": "target"}, "ids": ["a_b"]}</script>'
    assert page_findings(chart, names) == ["chart data untranslated msgid: 'target'"]
    for good in (
        "HW08 900-041-49 废矿物油 208,400.000 t",
        "导出 Excel / PDF / CSV",
        "统一社会信用代码 91110302MA01ABCDE1",
        "京A12345",
        "Bayer Healthcare 危废间",
        "联系 admin@example.com",
        "English",
    ):
        assert not page_findings(f"<p>{good}</p>", names), good
    assert not page_findings("<script>var pick_up = 'target';</script><style>.a_b{}</style>", names)


@pytest.mark.slow  # the demo and a crawl of every account, shared with the other walks (spider)
@pytest.mark.xdist_group("demo-walks")
def test_every_page_speaks_chinese(module_demo: Any) -> None:
    allowed_names = data_names()
    problems: dict[str, set[str]] = {}
    for username, visit in spider.crawl_as_every_demo_account(language="zh-hans"):
        if not visit.is_html:
            continue
        for problem in page_findings(visit.body, allowed_names):
            problems.setdefault(problem, set()).add(f"{username} {visit.path}")
    report = [
        f"{problem}\n    on {', '.join(sorted(where)[:3])}" for problem, where in sorted(problems.items())
    ]
    assert not report, f"{len(report)} texts on zh-Hans pages are not Chinese:\n" + "\n".join(report)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hans", re.compile(r"[\u4e00-\u9fff]")), ("en", re.compile(r"^[\x00-\x7f]+$"))],
)
def test_the_api_refusal_speaks_the_request_language(
    language: str, expected: re.Pattern[str], producer: Any
) -> None:
    """The API's 401 (no credentials) and 403 (a producer's token at the regulators' cockpit) `detail`
    in the language the request asks for."""
    from zerowaste.testing import parties

    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/api/transfers")
    assert response.status_code == 401, response.status_code
    assert expected.search(response.json()["detail"]), response.json()
    token = parties.token_for(producer, ["read"])
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(
        "/api/portal/cockpit", {"year": 2020}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 403, response.status_code
    assert expected.search(response.json()["detail"]), response.json()
