"""Every export (API and page) of a demo zone whose free text is hostile: no cell of any produced
workbook or CSV is a formula or starts with a formula trigger, and text holding a control character
(stored before the input check existed) exports without failing.

The text fields of every zerowaste model named like free text (name, waste_name, destination, ...)
are rewritten to formula markers. The export routes are listed in EXPORTS; a new API route that takes
`format` or names an export, a template or a ledger (and a new page URL likewise) fails
`test_every_export_route_is_listed` until it is listed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.db.models import CharField, TextField, Value
from django.db.models.functions import Cast, Concat, Left, Mod
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from openpyxl import load_workbook

from zerowaste.core.models import Organization, User, Zone
from zerowaste.core.tabular import FORMULA_TRIGGERS, PLAIN_NUMBER_RE
from zerowaste.core.text import control_character
from zerowaste.testing import isolation

MARKERS = ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(1)", "\t=1", "\r=1", "\x01=2"]
FREE_TEXT = {
    "name",
    "waste_name",
    "destination",
    "description",
    "address",
    "remark",
    "note",
    "notes",
    "source",
    "evidence",
    "reason",
    "title",
    "treatment",
    "packaging",
    "contact_name",
    "site_name",
}
SKIP_MODELS = {"core.auditentry", "core.auditchainhead", "core.user"}


def poison(zone: Zone) -> int:
    """Rewrite the free text of every row of the zone to a marker (cycling by pk); the rows changed."""
    changed = 0
    for model in apps.get_models():
        label = model._meta.label_lower
        if not label.startswith(tuple(f"{a}." for a in _zerowaste_apps())) or label in SKIP_MODELS:
            continue
        if not any(f.name == "zone" for f in model._meta.get_fields()):
            continue
        for field in model._meta.get_fields():
            if not isinstance(field, CharField | TextField) or field.name not in FREE_TEXT or field.choices:
                continue
            for n, marker in enumerate(MARKERS):
                value: Any = Concat(Value(marker), Value(" "), Cast("pk", CharField()))
                if isinstance(field, CharField) and field.max_length:
                    value = Left(value, field.max_length)
                rows = model._default_manager.filter(zone=zone).annotate(_m=Mod("pk", len(MARKERS)))
                changed += rows.filter(_m=n).update(**{field.name: value})
    return changed


def _zerowaste_apps() -> list[str]:
    return [c.label for c in apps.get_app_configs() if c.name.startswith("zerowaste.")]


@dataclass(frozen=True)
class Export:
    route: str  # "GET /api/..." (OpenAPI) or "PAGE <url name>"
    who: str  # the demo account that asks
    urls: Callable[[Zone], list[str]]


def _store_id(zone: Zone) -> int:
    from zerowaste.hazardous.models import Store

    return int(Store.objects.filter(zone=zone).order_by("pk").values_list("pk", flat=True)[0])


def _producer_id(zone: Zone) -> int:
    from zerowaste.core.models import Membership

    return int(
        Membership.objects.filter(zone=zone, user__username="producer").values_list(
            "organization_id", flat=True
        )[0]
    )


def _charts() -> list[str]:
    from zerowaste.portal import services

    return list(services.TABLES)


def _public() -> list[str]:
    from zerowaste.portal import services

    return list(services.PUBLIC_TABLES)


FORMATS = ("csv", "xlsx")
EXPORTS = [
    Export(
        "GET /api/declarations/export",
        "regulator",
        lambda z: [f"/api/declarations/export?year=2020&format={f}" for f in FORMATS],
    ),
    Export(
        "PAGE declarations:export",
        "regulator",
        lambda z: [f"/declarations/export/?year=2020&format={f}" for f in FORMATS],
    ),
    Export(
        "GET /api/declarations/template",
        "producer",
        lambda z: ["/api/declarations/template?period=2021-01&stream=isw"],
    ),
    Export(
        "PAGE declarations:template",
        "producer",
        lambda z: ["/declarations/template/?period=2021-01&stream=isw"],
    ),
    Export(
        "GET /api/transfers/export",
        "regulator",
        lambda z: [f"/api/transfers/export?format={f}" for f in FORMATS],
    ),
    Export(
        "PAGE transfers:export", "regulator", lambda z: [f"/transfers/export/?format={f}" for f in FORMATS]
    ),
    Export("PAGE transfers:import_template", "producer", lambda z: ["/transfers/import/template.xlsx"]),
    Export(
        "GET /api/catalog/export/{stream}",
        "regulator",
        lambda z: ["/api/catalog/export/isw", "/api/catalog/export/hw"],
    ),
    Export("PAGE catalog:export", "regulator", lambda z: ["/catalog/export/isw/"]),
    Export(
        "GET /api/portal/cockpit/export",
        "regulator",
        lambda z: [
            f"/api/portal/cockpit/export?chart={c}&year=2020&format={f}" for c in _charts() for f in FORMATS
        ],
    ),
    Export(
        "PAGE portal:cockpit_export",
        "regulator",
        lambda z: [f"/cockpit/export/?chart={c}&year=2020&format={f}" for c in _charts() for f in ("xlsx",)],
    ),
    Export(
        "PAGE portal:public_export",
        "anonymous",
        lambda z: [
            f"/open-data/export/?zone={z.code}&table={t}&format={f}" for t in _public() for f in FORMATS
        ],
    ),
    Export(
        "GET /api/hazardous/stores/{hw_store_id}/ledger",
        "park",
        lambda z: [
            f"/api/hazardous/stores/{_store_id(z)}/ledger?year=2020&kind=in&format=xlsx",
            f"/api/hazardous/stores/{_store_id(z)}/ledger?year=2020&kind=out&format=csv",
        ],
    ),
    Export(
        "PAGE hazardous:ledger",
        "park",
        lambda z: [f"/hazardous/stores/{_store_id(z)}/ledger/?year=2020&kind=out&format=csv"],
    ),
    Export(
        "GET /api/hazardous/declaration-reports",
        "regulator",
        lambda z: [
            f"/api/hazardous/declaration-reports?period={p}&organization_id={_producer_id(z)}&format=xlsx"
            for p in ("2020", "2020Q2", "2020-06")
        ],
    ),
    Export(
        "PAGE hazardous:declaration_report",
        "regulator",
        lambda z: [
            f"/hazardous/declaration-report/?period=2020&organization_id={_producer_id(z)}&format=xlsx"
        ],
    ),
    Export(
        "GET /api/indicators/report.xlsx", "regulator", lambda z: ["/api/indicators/report.xlsx?year=2020"]
    ),
    Export("PAGE indicators:report_xlsx", "regulator", lambda z: ["/indicators/report.xlsx?year=2020"]),
    Export(
        "GET /api/audit/export", "regulator", lambda z: [f"/api/audit/export?format={f}" for f in FORMATS]
    ),
    Export(
        "PAGE portal:audit_export", "regulator", lambda z: [f"/audit/export/?format={f}" for f in FORMATS]
    ),
    Export("PAGE household:registry-export", "regulator", lambda z: ["/household/registry/export.xlsx"]),
    Export("PAGE household:registry-template", "regulator", lambda z: ["/household/registry/template.xlsx"]),
]
EXPORT_WORDS = ("export", "template", "ledger", "report.xlsx", "declaration-report", "declaration_report")


def _api_export_routes() -> set[str]:
    schema = isolation.load_schema(Client())
    found = set()
    for path, operations in schema["paths"].items():
        for method, spec in operations.items():
            params = {p["name"] for p in spec.get("parameters", [])}
            if method == "get" and ("format" in params or any(w in path for w in EXPORT_WORDS)):
                found.add(f"GET {path}")
    return found


def _page_export_routes() -> set[str]:
    found = set()

    def walk(patterns: list[Any], namespace: str, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                walk(p.url_patterns, ns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and p.name:
                route = prefix + str(p.pattern)
                if route.startswith("api/"):
                    continue
                if any(w in route or w in p.name for w in EXPORT_WORDS) or route.endswith((".xlsx", ".csv")):
                    found.add(f"PAGE {namespace}:{p.name}")

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_export_route_is_listed() -> None:
    listed = {e.route for e in EXPORTS}
    # JSON-only reports are found by the words too; they answer JSON unless format=xlsx is asked.
    assert _api_export_routes() <= listed, _api_export_routes() - listed
    assert _page_export_routes() <= listed, _page_export_routes() - listed


def _cells(content: bytes) -> list[tuple[str, Any, str]]:
    """(where, value, data type) of every cell of a workbook or CSV file."""
    found = []
    if content[:4] == b"PK\x03\x04":
        book = load_workbook(io.BytesIO(content), read_only=True)
        for sheet in book.worksheets:
            for r, row in enumerate(sheet.iter_rows(), start=1):
                for c, cell in enumerate(row, start=1):
                    if cell.value is not None:
                        found.append((f"{sheet.title}!R{r}C{c}", cell.value, cell.data_type))
    else:
        text = content.decode("utf-8-sig")
        for r, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            for c, value in enumerate(row, start=1):
                found.append((f"R{r}C{c}", value, "s"))
    return found


def _dangerous(value: Any, data_type: str) -> str | None:
    if data_type == "f":
        return "a formula"
    if isinstance(value, str):
        if value.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER_RE.fullmatch(value):
            return "starts with a formula trigger"
        if control_character(value):
            return "holds a control character"
    return None


@pytest.mark.slow
def test_no_export_leaves_a_formula(demo_zone: Zone) -> None:
    assert poison(demo_zone) > 100
    assert Organization.objects.filter(zone=demo_zone, name__startswith="=HYPERLINK").exists()
    clients: dict[str, Client] = {"anonymous": Client()}
    for username in {e.who for e in EXPORTS} - {"anonymous"}:
        clients[username] = Client()
        clients[username].force_login(User.objects.get(username=username))
    problems: list[str] = []
    neutralized: dict[str, int] = {}
    for export in EXPORTS:
        for url in export.urls(demo_zone):
            response = clients[export.who].get(url)
            if export.who == "anonymous" and response.status_code == 404:
                continue  # a table the zone does not publish
            if response.status_code != 200:
                problems.append(f"{url}: {response.status_code}")
                continue
            for where, value, data_type in _cells(response.content):
                problem = _dangerous(value, data_type)
                if problem:
                    problems.append(f"{url} {where} {value!r}: {problem}")
                elif isinstance(value, str) and value[:1] == "'" and value[1:2] in "=+-@\t\r\n":
                    neutralized[export.route] = neutralized.get(export.route, 0) + 1
    assert not problems, "\n".join(problems[:40])
    # The markers did reach the exports that carry producers' text.
    for route in (
        "GET /api/declarations/export",
        "GET /api/transfers/export",
        "GET /api/hazardous/declaration-reports",
        "GET /api/hazardous/stores/{hw_store_id}/ledger",
        "GET /api/declarations/template",
    ):
        assert neutralized.get(route), (route, neutralized)


def test_the_writer_never_writes_a_formula_nor_fails_on_control_characters() -> None:
    from zerowaste.core import tabular

    rows = [[m, -5, "-1.500", m + "\x00"] for m in MARKERS]
    for content in (tabular.write_xlsx("t", ["a", "b", "c", "d"], rows), tabular.write_csv(["a"], rows)):
        cells = _cells(content)
        assert not [c for c in cells if _dangerous(c[1], c[2])]
    book = load_workbook(io.BytesIO(tabular.write_xlsx("t", ["a"], [[-5, "-1.500"]])))
    assert book.active is not None
    assert book.active["A2"].value == -5 and book.active["A2"].data_type == "n"
    assert book.active["B2"].value == "-1.500"
    workbook = tabular.new_workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = "=1+1"
    sheet["A2"] = "a\x00b"
    saved = load_workbook(io.BytesIO(tabular.workbook_bytes(workbook))).active
    assert saved is not None
    assert saved["A1"].value == "'=1+1" and saved["A1"].data_type == "s"
    assert saved["A2"].value == "ab"


def test_only_the_writer_and_the_reader_touch_spreadsheets_and_images() -> None:
    """Exports lay out workbooks with `tabular.new_workbook` and save them with `workbook_bytes`;
    imports read with `tabular.read_table` / `open_rows`; images decode through `core.images`."""
    import pathlib
    import re

    import zerowaste

    root = pathlib.Path(zerowaste.__file__).parent
    allowed = {"core/tabular.py", "core/images.py", "testing/hostile.py"}
    pattern = re.compile(
        r"\bWorkbook\(|load_workbook\(|csv\.writer\(|csv\.reader\(|csv\.DictWriter\(|Image\.open\(|\.save\(out\)"
    )
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel in allowed or "/tests/" in rel or "/migrations/" in rel:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_models_are_poisonable() -> None:
    """The poison reaches the fields exports print (a guard against renaming them away)."""
    texts = {
        (m._meta.label_lower, f.name)
        for m in apps.get_models()
        for f in m._meta.get_fields()
        if isinstance(f, models.CharField | models.TextField) and f.name in FREE_TEXT
    }
    assert ("core.organization", "name") in texts
    assert ("declarations.declarationline", "waste_name") in texts
    assert ("declarations.declarationline", "destination") in texts
