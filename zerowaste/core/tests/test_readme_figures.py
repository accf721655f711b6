"""Every demo figure the README shows is the demo's (issue 16, item 10).

The README marks what it claims about the demo it builds (`zerowaste demo --seed 1`):
- `<!-- demo-output -->` on the line before a code block: each `$ zerowaste …` command in it is run on
  the demo and every output line the README shows (but `...`/`…`) must be a line of the real output;
- `<!-- demo-figure: KEY -->` right after a number in prose: the number equals FIGURES[KEY] computed
  from the demo through the apps' services or the CLI's JSON, at the precision the README prints;
- between `<!-- demo-figures -->` and `<!-- /demo-figures -->`, a figure-looking number (thousands
  separators, decimals, percentages, "N of M", three digits or more) without a marker, or a code block
  without `<!-- demo-output -->`, fails: a new figure cannot go stale unchecked.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

README = Path(__file__).resolve().parents[3] / "README.md"
OUTPUT_MARK = "<!-- demo-output -->"
FIGURE_MARK = re.compile(
    r"(?P<number>\d[\d,]*(?:\.\d+)?)(?:\s?(?:t|%|万吨|吨))?\s?<!-- demo-figure: (?P<key>[\w.-]+) -->"
)
REGION = re.compile(r"<!-- demo-figures -->(?P<body>.*?)<!-- /demo-figures -->", re.S)
CODE_BLOCK = re.compile(r"(?P<mark><!-- demo-output -->\n)?```[^\n]*\n(?P<body>.*?)```", re.S)
# What looks like a figure: 45,080 · 8.2 · 62 % · 39 of 43 · 2324 (years, seed lines and code spans aside).
FIGURE_LIKE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+\s?%|\d+ of \d+|\d{3,}")
NOT_FIGURES = re.compile(r"`[^`]*`|seed:[\d,-]+|ADRs? [\d–-]+|\b(?:19|20)\d\d\b|issue \d+|<!--.*?-->")


@pytest.fixture(scope="module")
def module_demo(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The demo as the README's reader builds it, on a new database: its rows numbered from 1, as the
    README's `run 2`, `supply 768` and `execute-pool 2` are. PostgreSQL's sequences keep counting past
    the rows earlier tests rolled back or flushed (SQLite's are rolled back with them), so they restart
    at each table's highest id first."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    from zerowaste.testing.spider import demo_in_rolled_back_transaction

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
                cursor.execute(statement)
    with demo_in_rolled_back_transaction(django_db_blocker, fresh=True) as result:
        yield result


def _run(command: str) -> str:
    """A README command line (`$ zerowaste NAME ARGS   # comment`) run on the demo; its stdout."""
    words = shlex.split(command.split("  #")[0], comments=False)
    assert words[0] == "zerowaste", command
    out = StringIO()
    with translation.override(None):
        call_command(*words[1:], stdout=out)
    return out.getvalue()


def _json(command: str) -> Any:
    return json.loads(_run(command))


def _cockpit() -> dict[str, Any]:
    return _json("zerowaste portal cockpit --year 2020 --format json")  # type: ignore[no-any-return]


def _december() -> dict[str, Any]:
    return _json("zerowaste portal cockpit --year 2020 --month 12 --format json")  # type: ignore[no-any-return]


def _december_generated() -> Decimal:
    return sum((Decimal(t["generated_t"]) for t in _december()["tonnages"]["totals"]), Decimal(0))


def _evaluation() -> dict[str, Any]:
    return _json("zerowaste indicators evaluate --year 2020 --format json")  # type: ignore[no-any-return]


def _row(number: str) -> dict[str, Any]:
    rows = _json("zerowaste indicators compute --year 2020 --format json")
    return next(r for r in rows if r["number"] == number)  # type: ignore[no-any-return]


def _stream(stream: str, field: str) -> Decimal:
    totals = _cockpit()["tonnages"]["totals"]
    return Decimal(next(t for t in totals if t["stream"] == stream)[field])


def _seed_summary() -> dict[str, Any]:
    from zerowaste.indicators import rules, services
    from zerowaste.indicators.seed_figures import SEED_2020

    bda = services.bundled_set()
    values = {k: rules.parse_value(bda.inputs[k], v, bda.scales) for k, v in SEED_2020.items()}
    return rules.summary(rules.compute(bda, values, 2020))


def _park_store(kind: str) -> Decimal | int:
    """The pilot park store's 2020 ledger (the hazardous demo step), counted from its containers."""
    from datetime import date

    from django.db.models import Count, Q, Sum

    from zerowaste.hazardous.models import Container

    start, end = date(2020, 1, 1), date(2020, 12, 31)
    still_in = {"start": Q(shipped_on__isnull=True) | Q(shipped_on__gte=start),
                "end": Q(shipped_on__isnull=True) | Q(shipped_on__gt=end)}  # fmt: skip
    selection = {
        "in_store_on_1_january": Q(collected_on__lt=start) & still_in["start"],
        "collected": Q(collected_on__range=(start, end)),
        "shipped": Q(shipped_on__range=(start, end)),
        "in_store_on_31_december": Q(collected_on__lte=end) & still_in["end"],
    }[kind.removesuffix("_containers")]
    totals = Container.objects.filter(selection).aggregate(kg=Sum("quantity_kg"), n=Count("id"))
    if kind.endswith("_containers"):
        return int(totals["n"])
    return Decimal(totals["kg"] or 0) / 1000


FIGURES: dict[str, Callable[[], Decimal | int | str]] = {
    "hw.generated_t": lambda: _stream("hw", "generated_t"),
    "isw.generated_t": lambda: _stream("isw", "generated_t"),
    "indicator.10.exact": lambda: Decimal(_row("10")["exact"]),
    "indicator.18.achieved": lambda: Decimal(_row("18")["achieved"]),
    "indicators.met": lambda: _evaluation()["met"],
    "indicators.needs_judgment": lambda: _evaluation()["needs_judgment"],
    "manifests.issued": lambda: _cockpit()["backlog"]["issued"],
    "manifests.closed": lambda: _cockpit()["backlog"]["closed"],
    "alerts.overdue_steps": lambda: _cockpit()["alerts"]["overdue_count"],
    "generated_t.2020-12": _december_generated,
    # The Sankey's inflow beyond what was generated is the stock drawn from storage.
    "flows.drawn_t.2020-12": lambda: Decimal(_december()["flows"]["sources_t"]) - _december_generated(),
    "park.in_store_t.2020-01-01": lambda: _park_store("in_store_on_1_january"),
    "park.collected_t.2020": lambda: _park_store("collected"),
    "park.collected_containers.2020": lambda: _park_store("collected_containers"),
    "park.shipped_t.2020": lambda: _park_store("shipped"),
    "park.in_store_t.2020-12-31": lambda: _park_store("in_store_on_31_december"),
    "seed.indicators.met": lambda: _seed_summary()["met"],
    "seed.indicators.needs_judgment": lambda: _seed_summary()["needs_judgment"],
}


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _equal_at_printed_precision(printed: str, actual: Decimal | int | str) -> bool:
    shown = Decimal(printed.replace(",", ""))
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    return Decimal(str(actual)).quantize(Decimal(1).scaleb(exponent)) == shown


@pytest.mark.slow
@pytest.mark.django_db
def test_every_marked_figure_is_the_demos(module_demo: Any) -> None:
    marks = list(FIGURE_MARK.finditer(_readme()))
    assert marks, "the README marks no demo figure"
    wrong = []
    for mark in marks:
        key = mark.group("key")
        assert key in FIGURES, f"README marks an unknown demo figure {key!r}: add it to FIGURES"
        actual = FIGURES[key]()
        if not _equal_at_printed_precision(mark.group("number"), actual):
            wrong.append(f"{key}: README {mark.group('number')}, demo {actual}")
    assert not wrong, "stale README figures: " + "; ".join(wrong)


def _commands(block: str) -> list[tuple[str, list[str]]]:
    """(command, the output lines shown after it) for each `$ zerowaste` line of a block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out and line.strip() not in ("", "...", "…"):
            out[-1][1].append(line.rstrip())
    return out


def _printed(shown: str, real: set[str]) -> bool:
    """A README output line is a real one; `…` inside it stands for what varies between runs (seconds)."""
    if "…" not in shown:
        return shown in real
    pattern = re.compile(".*".join(re.escape(part) for part in shown.split("…")))
    return any(pattern.fullmatch(line) for line in real)


@pytest.mark.slow
@pytest.mark.django_db
def test_every_marked_output_block_is_real_output(module_demo: Any) -> None:
    blocks = [m.group("body") for m in CODE_BLOCK.finditer(_readme()) if m.group("mark")]
    assert blocks, "the README marks no demo output"
    wrong = []
    for block in blocks:
        for command, shown in _commands(block):
            if not shown:
                continue
            printed = _run(command)
            real = {line.rstrip() for line in printed.splitlines()}
            missing = [line for line in shown if not _printed(line, real)]
            if missing:
                wrong.append(f"{command}\n  README: {missing!r}\n  printed:\n{printed}")
    assert not wrong, "README output lines the demo does not print:\n" + "\n".join(wrong)


def unmarked_figures(text: str) -> list[str]:
    """Figure-looking numbers in the README's demo regions without a marker, and unmarked code blocks."""
    found: list[str] = []
    for region in REGION.finditer(text):
        body = region.group("body")
        for block in CODE_BLOCK.finditer(body):
            if not block.group("mark") and FIGURE_LIKE.search(block.group("body")):
                found.append("a code block with figures but no " + OUTPUT_MARK)
        prose = CODE_BLOCK.sub("", body)
        prose = FIGURE_MARK.sub("", prose)
        prose = NOT_FIGURES.sub("", prose)
        found += [m.group(0) for m in FIGURE_LIKE.finditer(prose)]
    return found


def test_no_unmarked_figure_in_the_demo_sections() -> None:
    text = _readme()
    assert REGION.search(text), "the README has no demo-figures region"
    assert unmarked_figures(text) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("<!-- demo-figures -->HW 47,511.9 t<!-- /demo-figures -->", ["47,511.9"]),
        ("<!-- demo-figures -->39 of 43 met<!-- /demo-figures -->", ["39 of 43"]),
        ("<!-- demo-figures -->so 62 % utilized<!-- /demo-figures -->", ["62 %"]),
        ("<!-- demo-figures -->HW 47,511.9 t<!-- demo-figure: hw.generated_t --><!-- /demo-figures -->", []),
        ("<!-- demo-figures -->seed:248, 2020, `--rows 10000000`<!-- /demo-figures -->", []),
        ("<!-- demo-figures -->\n```\nissued 2324\n```\n<!-- /demo-figures -->",
         ["a code block with figures but no " + OUTPUT_MARK]),
        ("<!-- demo-figures -->\n" + OUTPUT_MARK + "\n```\nissued 2324\n```\n<!-- /demo-figures -->", []),
        ("HW 47,511.9 t outside a region", []),
    ],
)  # fmt: skip
def test_the_unmarked_figure_check(text: str, found: list[str]) -> None:
    assert unmarked_figures(text) == found


def test_printed_precision() -> None:
    assert _equal_at_printed_precision("47,511.9", Decimal("47511.900"))
    assert _equal_at_printed_precision("47,512", Decimal("47511.9"))
    assert not _equal_at_printed_precision("45,080", Decimal("47511.9"))
    assert _equal_at_printed_precision("62", Decimal("62.4"))
    assert _equal_at_printed_precision("2324", 2324)
