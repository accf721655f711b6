"""Figures of the regulator cockpit and of the public open-data page.

Nothing here computes a figure of its own: every number comes from the owning app's service, the
one its API serves (`declarations.statistics`, `material_flows`, `missing_declarations`,
`intensity`; `transfers.statistics`, `overdue_alerts`; `indicators.completion_summary`,
`report_rows`; `exchange.public_board`; `hazardous.storage_alerts`). This module picks the period,
checks who may look, and shapes each figure into a chart, a table and a download.

The services of the apps built alongside (indicators, exchange, hazardous) are looked up when called:
while one is absent its panel says so and the rest of the page works.

Public services for other apps: `cockpit`, `section`, `table`, `drill`, `publication`,
`set_publication`, `public_data`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Forbidden, Invalid
from zerowaste.core.models import Zone
from zerowaste.declarations import services as declarations
from zerowaste.transfers import services as transfers

STREAMS = ("isw", "hw")
MIN_YEAR, MAX_YEAR = 2000, 2100
TOP_INTENSITY = 10
DRILL_ROWS = 500
ALERT_ROWS = 50  # overdue steps listed on the cockpit (all are counted; the drill-down lists more)
SECTIONS = ("tonnages", "flows", "backlog", "indicators", "alerts", "intensity")
# Each chart's table and download; alerts have three lists.
TABLES = (
    "tonnages",
    "flows",
    "backlog",
    "indicators",
    "storage",
    "overdue",
    "missing",
    "intensity",
)
NUMBER_RE = re.compile(r"^-?\d{1,15}(\.\d{1,4})?$")  # tonnes, rates; not a USCC
PUBLICATION_DEFAULTS: dict[str, bool] = {
    "indicators": True,  # the indicator table
    "tonnages": True,  # yearly tonnages by stream
    "exchange": True,  # the exchange board (categories, no company)
    "company_figures": False,  # producers by name with their intensity
}


def optional(module: str, name: str) -> Callable[..., Any] | None:
    """A public service of an app that may not have it yet (built by another engineer meanwhile)."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    fn = getattr(found, name, None)
    return fn if callable(fn) else None


# --- Arguments and access --------------------------------------------------------------------------


def require_regulator(actor: Actor) -> None:
    if actor.is_system:
        return
    if not actor.is_regulator or not actor.can("org.view"):
        raise Forbidden(_("the cockpit is for regulators"))


def period_args(year: Any, month: Any = None) -> tuple[int, int | None]:
    try:
        y = int(year)
    except (TypeError, ValueError):
        raise Invalid.field("year", _("a year such as 2020")) from None
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise Invalid.field("year", _("a year between %(a)d and %(b)d") % {"a": MIN_YEAR, "b": MAX_YEAR})
    if month in (None, "", 0, "0"):
        return y, None
    try:
        m = int(month)
    except (TypeError, ValueError):
        raise Invalid.field("month", _("a month between 1 and 12")) from None
    if not 1 <= m <= 12:
        raise Invalid.field("month", _("a month between 1 and 12"))
    return y, m


def period_bounds(year: int, month: int | None) -> tuple[date, date]:
    from zerowaste.declarations.rules import month_end

    if month:
        return date(year, month, 1), month_end(year, month)
    return date(year, 1, 1), date(year, 12, 31)


def period_label(year: int, month: int | None) -> str:
    return f"{year}-{month:02d}" if month else str(year)


def _d(value: Any) -> Decimal:
    return Decimal(str(value or "0"))


def _t(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.001")))


# --- The sections ----------------------------------------------------------------------------------


def tonnages(actor: Actor, *, year: int, month: int | None = None) -> dict[str, Any]:
    """Generated, utilized (in-house + transferred for utilization), disposed (in-house + transferred
    for disposal) and stored (stock at the period's end) by stream and category: `declarations.statistics`."""
    require_regulator(actor)
    rows = []
    totals = []
    for stream in STREAMS:
        stats = declarations.statistics(actor, year=year, month=month, by="category", stream=stream)
        sums = {k: Decimal(0) for k in ("generated", "utilized", "disposed", "stored")}
        for r in stats["rows"]:
            figures = {
                "generated": _d(r["generated_t"]),
                "utilized": _d(r["utilized_t"]) + _d(r["transferred_util_t"]),
                "disposed": _d(r["disposed_t"]) + _d(r["transferred_disp_t"]),
                "stored": _d(r["stock_t"]),
            }
            for k, v in figures.items():
                sums[k] += v
            rows.append(
                {
                    "stream": stream,
                    "category": r["key"],
                    **{f"{k}_t": _t(v) for k, v in figures.items()},
                    "utilization_rate": r["utilization_rate"],
                }
            )
        totals.append(
            {
                "stream": stream,
                **{f"{k}_t": _t(v) for k, v in sums.items()},
                "generated_total_t": stats["total_generated_t"],
                "yoy_pct": stats["yoy_pct"] if not month else None,
            }
        )
    return {"year": year, "month": month, "rows": rows, "totals": totals}


def flows(actor: Actor, *, year: int, month: int | None = None, stream: str | None = None) -> dict[str, Any]:
    require_regulator(actor)
    return declarations.material_flows(actor, year=year, month=month, stream=stream or None)


def backlog(actor: Actor, *, year: int, month: int | None = None) -> dict[str, Any]:
    """Manifests planned in the period: issued vs closed, open, overdue, discrepancies
    (`transfers.statistics`)."""
    require_regulator(actor)
    stats = transfers.statistics(actor, year=year, month=month)
    keys = (
        "issued",
        "closed",
        "open",
        "refused",
        "cancelled",
        "overdue",
        "discrepancies",
        "partial_refusals",
        "average_days_to_close",
        "estimated_t",
        "received_t",
    )
    return {
        "year": year,
        "month": month,
        **{k: stats[k] for k in keys},
        "by_month": stats["by_month"],
        "by_receiver": stats["by_receiver"][:10],
    }


def indicators(actor: Actor, *, year: int) -> dict[str, Any]:
    """The indicator engine's completion for the year (`indicators.completion_summary`)."""
    require_regulator(actor)
    summary = optional("zerowaste.indicators.services", "completion_summary")
    if summary is None:
        return {"year": year, "available": False}
    return {"year": year, "available": True, **summary(actor.zone_id, year)}


def alerts(
    actor: Actor, *, year: int, month: int | None = None, overdue_rows: int = ALERT_ROWS
) -> dict[str, Any]:
    """Storage past its age limit (at the period's end, or today), overdue manifest steps (today: all
    counted, the first `overdue_rows` listed), producers with no accepted declaration for the period."""
    require_regulator(actor)
    _start, end = period_bounds(year, month)
    on_date = min(end, timezone.localdate())
    storage_fn = optional("zerowaste.hazardous.services", "storage_alerts")
    storage = storage_fn(actor.zone_id, on_date, actor) if storage_fn else None
    overdue_register = transfers.register(actor, overdue=True)
    overdue = transfers.overdue_alerts(actor, limit=overdue_rows)
    missing = declarations.missing_declarations(actor, year=year, month=month)
    return {
        "year": year,
        "month": month,
        "storage_on": on_date,
        "storage_available": storage is not None,
        "storage": storage or [],
        "overdue_count": overdue_register.count(),
        "overdue_confirmations": overdue_register.filter(due_step="confirmation").count(),
        "overdue": overdue,
        "missing": missing,
    }


def intensity(actor: Actor, *, year: int, limit: int = TOP_INTENSITY) -> dict[str, Any]:
    """The producers of highest generation intensity (`declarations.intensity`, annual)."""
    require_regulator(actor)
    data = declarations.intensity(actor, year=year)
    ranked = [r for r in data["rows"] if r["intensity_t_per_wan"] is not None]
    return {
        "year": year,
        "target_t_per_wan": data["target_t_per_wan"],
        "above_target": data["above_target"],
        "producers": len(data["rows"]),
        "rows": ranked[:limit],
    }


def section(actor: Actor, name: str, *, year: int, month: int | None = None) -> dict[str, Any]:
    if name == "tonnages":
        return tonnages(actor, year=year, month=month)
    if name == "flows":
        return flows(actor, year=year, month=month)
    if name == "backlog":
        return backlog(actor, year=year, month=month)
    if name == "indicators":
        return indicators(actor, year=year)
    if name == "alerts":
        return alerts(actor, year=year, month=month)
    if name == "intensity":
        return intensity(actor, year=year)
    raise Invalid.field("section", _("one of %(all)s") % {"all": ", ".join(SECTIONS)})


def cockpit(actor: Actor, *, year: int, month: int | None = None) -> dict[str, Any]:
    """Every section of the cockpit for the period."""
    require_regulator(actor)
    return {
        "year": year,
        "month": month,
        "period": period_label(year, month),
        **{name: section(actor, name, year=year, month=month) for name in SECTIONS},
    }


def category_names(zone_id: int, on_date: date, english: bool = False) -> dict[str, str]:
    """Category code -> name in the catalogs in force on the date (two queries): chart labels."""
    from zerowaste.catalog import services as catalog
    from zerowaste.catalog.models import CatalogCategory

    versions = [v.pk for v in catalog.versions_in_force(zone_id, on_date).values()]
    rows = CatalogCategory.objects.filter(zone_id=zone_id, version_id__in=versions).values_list(
        "code", "name", "name_en"
    )
    return {code: (name_en if english and name_en else name) for code, name, name_en in rows}


# --- Tables (the table view and the download of each chart) --------------------------------------


def _headers(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    return list(pairs)


def table(
    actor: Actor, name: str, *, year: int, month: int | None = None, data: dict[str, Any] | None = None
) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    """(headers as (key, label), rows) of one chart's numbers; `data` reuses a section already computed."""
    if name == "tonnages":
        d = data or tonnages(actor, year=year, month=month)
        head = _headers(
            ("stream", _("Stream")),
            ("category", _("Category")),
            ("generated_t", _("Generated (t)")),
            ("utilized_t", _("Utilized (t)")),
            ("disposed_t", _("Disposed (t)")),
            ("stored_t", _("Stored at period end (t)")),
            ("utilization_rate", _("Utilization rate (%)")),
        )
        return head, [[r[k] for k, _label in head] for r in d["rows"]]
    if name == "flows":
        d = data or flows(actor, year=year, month=month)
        head = _headers(
            ("source", pgettext("material flow", "From")),
            ("target", pgettext("material flow", "To")),
            ("value_t", _("Tonnes")),
        )
        return head, [[r["source"], r["target"], r["value_t"]] for r in d["links"]]
    if name == "backlog":
        d = data or backlog(actor, year=year, month=month)
        head = _headers(
            ("month", _("Month")), ("issued", _("Issued")), ("closed", _("Closed")), ("open", _("Open"))
        )
        return head, [[r["month"], r["issued"], r["closed"], r["open"]] for r in d["by_month"]]
    if name == "indicators":
        d = data or indicators(actor, year=year)
        head = _headers(("number", _("No.")), ("name", _("Indicator")), ("reason", _("Why not met")))
        rows = [[r.get("number"), r.get("name"), r.get("reason", "")] for r in d.get("not_met_list", [])]
        return head, rows
    if name in ("storage", "overdue", "missing"):
        d = data or alerts(actor, year=year, month=month)
        if name == "storage":
            head = _headers(
                ("container", _("Container")),
                ("park", _("Park")),
                ("code", _("Waste code")),
                ("stored_on", _("Stored on")),
                ("age_days", _("Age (days)")),
                ("deadline", _("Deadline")),
                ("level", _("Level")),
                ("quantity_t", _("Quantity (t)")),
            )
            return head, [[r.get(k) for k, _label in head] for r in d["storage"]]
        if name == "overdue":
            head = _headers(
                ("number", _("Manifest")),
                ("stream", _("Stream")),
                ("step", _("Step")),
                ("due_date", _("Due")),
                ("working_days_overdue", _("Working days overdue")),
                ("consignor", _("Consignor")),
                ("consignee", _("Consignee")),
            )
            return head, [[r.get(k) for k, _label in head] for r in d["overdue"]]
        head = _headers(
            ("organization", _("Producer")),
            ("uscc", _("USCC")),
            ("industry", _("Industry")),
            ("pending", _("Declarations awaiting review")),
            ("last_accepted_period_end", _("Last accepted period ended")),
        )
        return head, [[r.get(k) for k, _label in head] for r in d["missing"]]
    if name == "intensity":
        d = data or intensity(actor, year=year)
        head = _headers(
            ("organization", _("Producer")),
            ("industry", _("Industry")),
            ("generated_t", _("Generated ISW + HW (t)")),
            ("value_added_wan", _("Value added (10k CNY)")),
            ("intensity_t_per_wan", _("Intensity (t / 10k CNY)")),
            ("above_target", _("Above target")),
        )
        return head, [[r.get(k) for k, _label in head] for r in d["rows"]]
    raise Invalid.field("chart", _("one of %(all)s") % {"all": ", ".join(TABLES)})


# Flow nodes that are not data (industries, categories and receivers name themselves).
WAY_LABELS = {
    "utilized": gettext_lazy("Utilized in-house"),
    "disposed": gettext_lazy("Disposed in-house"),
    "transferred_util": gettext_lazy("Transferred for utilization"),
    "transferred_disp": gettext_lazy("Transferred for disposal"),
    "stored": gettext_lazy("Put into storage"),
}


def node_label(key: str) -> str:
    """A flow node's key as people read it: `way:transferred_disp` → 委托处置, `industry:X` → X."""
    kind, _sep, rest = str(key).partition(":")
    if kind == "way":
        return str(WAY_LABELS.get(rest, rest))
    if kind == "source" and rest == "stock":
        return _("Drawn from storage")
    return rest or str(key)


def shown_row(name: str, row: list[Any]) -> list[Any]:
    """A table row in words (issue 16, item 5): streams, flow nodes, manifest steps and yes/no; the raw
    keys stay in the drill-down links and the API."""
    from zerowaste.declarations.rules import STREAM_CHOICES
    from zerowaste.transfers import rules as transfer_rules

    streams = dict(STREAM_CHOICES)
    if name == "tonnages":
        return [str(streams.get(row[0], row[0])), *row[1:]]
    if name == "flows":
        return [node_label(row[0]), node_label(row[1]), *row[2:]]
    if name == "storage":
        from zerowaste.hazardous.rules import LEVEL_LABELS

        return [*row[:6], str(LEVEL_LABELS.get(row[6], row[6])), *row[7:]]
    if name == "overdue":
        step = transfer_rules.DUE_STEP_LABELS.get(row[2], row[2])
        return [row[0], str(streams.get(row[1], row[1])), str(step), *row[3:]]
    return [(_("yes") if cell else _("no")) if isinstance(cell, bool) else cell for cell in row]


def export(
    actor: Actor, chart: str, *, year: int, month: int | None = None, fmt: str = "csv"
) -> tuple[bytes, str, str]:
    """One chart's numbers as (content, content type, file name): CSV (UTF-8 with BOM, for Excel) or xlsx."""
    require_regulator(actor)
    if fmt not in ("csv", "xlsx"):
        raise Invalid.field("format", _("csv or xlsx"))
    head, raw_rows = table(actor, chart, year=year, month=month)
    # Words first (positional, on the table's own columns), then each code's name beside it.
    head, rows = with_code_names(actor.zone_id, head, [shown_row(chart, row) for row in raw_rows])
    headers = [str(label) for _key, label in head]
    name = f"cockpit-{chart}-{period_label(year, month)}.{fmt}"
    if fmt == "csv":
        return declarations.to_csv(headers, rows), "text/csv; charset=utf-8", name
    from zerowaste.core.tabular import write_xlsx

    cells = [[_cell(c) for c in row] for row in rows]
    return (
        write_xlsx(chart[:31], headers, cells),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        name,
    )


CODE_COLUMNS = ("category", "code", "waste_code")


def with_code_names(
    zone_id: int, head: list[tuple[str, str]], rows: list[list[Any]]
) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    """A download's catalog codes with their names in the column beside them (ADR 0050): a person reads
    the file, and the code stays alone in its own column for a machine."""
    from zerowaste.core import formatting

    at = [i for i, (key, _label) in enumerate(head) if key in CODE_COLUMNS]
    if not at:
        return head, rows
    out_head = list(head)
    for i in reversed(at):
        out_head.insert(i + 1, (f"{head[i][0]}_name", _("Name")))
    out_rows = []
    for row in rows:
        cells = list(row)
        for i in reversed(at):
            cells.insert(i + 1, formatting.code_name("", str(row[i] or ""), zone_id))
        out_rows.append(cells)
    return out_head, out_rows


def _cell(value: Any) -> Any:
    """Tonnes and rates as numbers in Excel; everything else as it is."""
    if isinstance(value, str) and NUMBER_RE.match(value):
        return Decimal(value)
    return value


def zone_of(actor: Actor) -> Zone:
    return Zone.objects.get(pk=actor.zone_id)


# --- Drill-down: the list behind a bar, a node, a slice --------------------------------------------

WAY_FIELDS = {
    "utilized": "utilized_t",
    "disposed": "disposed_t",
    "transferred_util": "transferred_util_t",
    "transferred_disp": "transferred_disp_t",
}


def _line_rows(qs: Any) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    head = _headers(
        ("organization", _("Producer")),
        ("period", _("Period")),
        ("stream", _("Stream")),
        ("waste_code", _("Waste code")),
        ("category", _("Category")),
        ("generated_t", _("Generated (t)")),
        ("utilized_t", _("Utilized (t)")),
        ("disposed_t", _("Disposed (t)")),
        ("closing_t", _("Closing stock (t)")),
        ("destination", _("Destination")),
    )
    rows = []
    for ln in qs[:DRILL_ROWS]:
        decl = ln.declaration
        rows.append(
            [
                decl.organization.name,
                decl.period_label,
                decl.get_stream_display(),
                ln.waste_code,
                ln.category_code,
                _t(ln.generated_t),
                _t(ln.utilized_t + ln.transferred_util_t),
                _t(ln.disposed_t + ln.transferred_disp_t),
                _t(ln.closing_t),
                ln.destination,
            ]
        )
    return head, rows


def _transfer_rows(qs: Any) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    head = _headers(
        ("number", _("Manifest")),
        ("stream", _("Stream")),
        ("state", _("State")),
        ("planned_date", _("Planned")),
        ("consignor", _("Consignor")),
        ("consignee", _("Consignee")),
        ("estimated_t", _("Estimated (t)")),
        ("received_t", _("Received (t)")),
    )
    rows = []
    for t in qs[:DRILL_ROWS]:
        rows.append(
            [
                t.number or "",
                t.get_stream_display(),
                t.get_state_display(),
                t.planned_date,
                t.consignor.name,
                t.consignee.name,
                _t(t.estimated_t),
                _t(t.received_t) if t.received_t is not None else "",
            ]
        )
    return head, rows


INDICATOR_STATES: dict[str, bool | None] = {"met": True, "not_met": False, "unknown": None}


def _indicator_rows(
    actor: Actor, year: int, met: bool | None
) -> tuple[list[tuple[str, str]], list[list[Any]]]:
    """The indicators of one slice of the completion chart (`indicators.report_rows`)."""
    rows_fn = optional("zerowaste.indicators.services", "report_rows")
    head = _headers(
        ("number", _("No.")),
        ("name", _("Indicator")),
        ("class", _("Class")),
        ("unit", _("Unit")),
        ("target", _("Target")),
        ("achieved", _("Achieved")),
        ("reason", _("Why not met")),
    )
    if rows_fn is None:
        return head, []
    return head, [
        [r.get(k) for k, _label in head] for r in rows_fn(actor.zone_id, year) if r.get("met") is met
    ]


def drill(actor: Actor, chart: str, key: str, *, year: int, month: int | None = None) -> dict[str, Any]:
    """The rows behind one element of a chart: declaration lines, manifests or organizations."""
    require_regulator(actor)
    key = (key or "").strip()[:300]
    title = key
    qs: Any
    if chart == "tonnages":
        stream, _sep, category = key.partition(":")
        if stream not in STREAMS:
            raise Invalid.field("key", _("stream:category, e.g. isw:ISW01"))
        qs = declarations.flow_lines(actor, year=year, month=month, stream=stream, category=category)
        title = category
        head, rows = _line_rows(qs)
    elif chart == "flows":
        kind, _sep, value = key.partition(":")
        if kind == "industry":
            qs = declarations.flow_lines(actor, year=year, month=month, industry=value)
        elif kind == "category":
            qs = declarations.flow_lines(actor, year=year, month=month, category=value)
        elif kind == "receiver":
            qs = declarations.flow_lines(actor, year=year, month=month, receiver=value)
        elif kind == "way" and value in WAY_FIELDS:
            qs = declarations.flow_lines(actor, year=year, month=month).filter(
                **{f"{WAY_FIELDS[value]}__gt": 0}
            )
        elif kind in ("way", "source"):
            # Stock nodes: the lines whose stock changed.
            base = declarations.flow_lines(actor, year=year, month=month)
            from django.db.models import F

            qs = base.exclude(closing_t=F("opening_t"))
        else:
            raise Invalid.field("key", _("a node of the material flow, e.g. category:ISW01"))
        title = node_label(key)
        head, rows = _line_rows(qs)
    elif chart == "backlog":
        register = transfers.register(actor, year=year)
        if month:
            register = register.filter(planned_date__month=month)
        if key in ("issued", ""):
            qs = register.exclude(state="draft")
        elif key == "closed":
            qs = register.filter(state="closed")
        elif key == "open":
            qs = register.filter(state__in=["issued", "in_transit", "delivered"])
        elif key == "overdue":
            qs = transfers.register(actor, year=year, overdue=True)
            if month:
                qs = qs.filter(planned_date__month=month)
        elif key == "discrepancies":
            qs = register.filter(discrepancy=True)
        elif len(key) == 7 and key[4] == "-":  # a month of the by-month chart
            try:
                y, m = int(key[:4]), int(key[5:])
            except ValueError:
                raise Invalid.field("key", _("a month such as 2020-03")) from None
            qs = transfers.register(actor, year=y).filter(planned_date__month=m).exclude(state="draft")
        else:
            raise Invalid.field("key", _("issued, closed, open, overdue, discrepancies or a month"))
        backlog_titles = {
            "issued": _("Issued"),
            "closed": _("Closed"),
            "open": _("Open"),
            "overdue": _("overdue"),
            "discrepancies": _("Discrepancies"),
        }
        title = backlog_titles.get(key, key)
        head, rows = _transfer_rows(qs)
    elif chart == "indicators" and key in INDICATOR_STATES:
        head, rows = _indicator_rows(actor, year, INDICATOR_STATES[key])
    elif chart in ("storage", "overdue", "missing", "indicators", "intensity"):
        data = (
            alerts(actor, year=year, month=month, overdue_rows=DRILL_ROWS)
            if chart in ("storage", "overdue", "missing")
            else section(actor, chart, year=year)
        )
        head, rows = table(actor, chart, year=year, month=month, data=data)
        rows = [shown_row(chart, row) for row in rows]
        if chart == "intensity" and key:
            # Intensity is annual: the producer's lines of the whole year (key: organization id).
            if not key.isdigit():
                raise Invalid.field("key", _("an organization id"))
            head, rows = _line_rows(
                declarations.flow_lines(actor, year=year).filter(declaration__organization_id=int(key))
            )
            title = next((r[0] for r in rows), key)
    else:
        raise Invalid.field("chart", _("one of %(all)s") % {"all": ", ".join(TABLES)})
    return {"chart": chart, "key": key, "title": title, "headers": head, "rows": rows, "limit": DRILL_ROWS}


# --- Publication (what the public page shows) ------------------------------------------------------


def publication(zone: Zone) -> dict[str, bool]:
    stored = (zone.settings or {}).get("portal", {}).get("publish", {})
    return {k: bool(stored.get(k, default)) for k, default in PUBLICATION_DEFAULTS.items()}


@transaction.atomic
def set_publication(actor: Actor, **flags: Any) -> dict[str, bool]:
    """A zone regulator's admin chooses which aggregates the public page shows; audited."""
    if not actor.is_system and not (actor.is_regulator and actor.member_role == "admin"):
        raise Forbidden(_("only a regulator's administrator may change what the zone publishes"))
    unknown = sorted(set(flags) - set(PUBLICATION_DEFAULTS))
    if unknown:
        raise Invalid.field(unknown[0], _("not a published aggregate"))
    zone = Zone.objects.select_for_update().get(pk=actor.zone_id)
    before = publication(zone)
    after = {**before, **{k: bool(v) for k, v in flags.items() if v is not None}}
    settings = dict(zone.settings or {})
    settings["portal"] = {**settings.get("portal", {}), "publish": after}
    zone.settings = settings
    zone.save(update_fields=["settings"])
    audit.record(actor, "portal.publication", zone, audit.diff(before, after))
    return after


def public_zone(code: str | None = None) -> Zone | None:
    """The zone the public page shows: the one named, else the only or the demo zone, else the first."""
    if code:
        return Zone.objects.filter(code=code).first()
    from zerowaste.core.demo import DEMO_ZONE_CODE

    return Zone.objects.filter(code=DEMO_ZONE_CODE).first() or Zone.objects.order_by("pk").first()


def public_years(zone: Zone) -> list[int]:
    """Years with accepted declarations: the rows of the yearly table."""
    from zerowaste.declarations.models import Declaration

    dates = Declaration.objects.filter(zone_id=zone.pk, status="accepted").dates("period_start", "year")
    return [d.year for d in dates]


def public_data(zone: Zone, *, year: int | None = None) -> dict[str, Any]:
    """The published aggregates of a zone; nothing about a named company unless the zone publishes it."""
    system = Actor.system(zone)
    flags = publication(zone)
    years = public_years(zone)
    year = year or (years[-1] if years else timezone.localdate().year)
    out: dict[str, Any] = {
        "zone": {"code": zone.code, "name": zone.name, "name_en": zone.name_en},
        "year": year,
        "years": years,
        "published": flags,
    }
    if flags["tonnages"]:
        yearly = []
        for y in years:
            for stream in STREAMS:
                stats = declarations.statistics(system, year=y, by="month", stream=stream)
                sums = {k: Decimal(0) for k in ("generated", "utilized", "disposed")}
                for r in stats["rows"]:
                    sums["generated"] += _d(r["generated_t"])
                    sums["utilized"] += _d(r["utilized_t"]) + _d(r["transferred_util_t"])
                    sums["disposed"] += _d(r["disposed_t"]) + _d(r["transferred_disp_t"])
                yearly.append({"year": y, "stream": stream, **{f"{k}_t": _t(v) for k, v in sums.items()}})
        out["tonnages"] = yearly
    if flags["indicators"]:
        rows_fn = optional("zerowaste.indicators.services", "report_rows")
        out["indicators"] = (
            [_public_indicator(r) for r in rows_fn(zone.pk, year)] if rows_fn is not None else None
        )
    if flags["exchange"]:
        board_fn = optional("zerowaste.exchange.services", "public_board")
        out["exchange"] = board_fn(zone.pk) if board_fn is not None else None
    if flags["company_figures"]:
        data = declarations.intensity(system, year=year)
        out["companies"] = [
            {k: r[k] for k in ("organization", "industry", "generated_t", "intensity_t_per_wan")}
            for r in data["rows"]
            if r["intensity_t_per_wan"] is not None
        ][:TOP_INTENSITY]
    return out


PUBLIC_TABLES = ("tonnages", "indicators", "exchange")


def public_table(zone: Zone, name: str, *, year: int | None = None) -> tuple[list[str], list[list[Any]]]:
    """One published table of the open-data page, as (headers, rows); NotFound if not published."""
    from zerowaste.core.errors import NotFound

    if name not in PUBLIC_TABLES:
        raise Invalid.field("table", _("one of %(all)s") % {"all": ", ".join(PUBLIC_TABLES)})
    data = public_data(zone, year=year)
    rows = data.get(name)
    if not data["published"][name] or rows is None:
        raise NotFound(_("not published"))
    keys = {
        "tonnages": ("year", "stream", "generated_t", "utilized_t", "disposed_t"),
        "indicators": ("number", "name", "class", "unit", "baseline", "target", "achieved", "met"),
        "exchange": (
            "category",
            "code",
            "name",
            "supply_t_per_month",
            "demand_t_per_month",
            "price_min_cny_per_t",
            "price_max_cny_per_t",
            "listings",
        ),
    }[name]
    return list(keys), [[r.get(k) for k in keys] for r in rows]


def public_export(
    zone: Zone, name: str, *, year: int | None = None, fmt: str = "csv"
) -> tuple[bytes, str, str]:
    if fmt not in ("csv", "xlsx"):
        raise Invalid.field("format", _("csv or xlsx"))
    headers, rows = public_table(zone, name, year=year)
    filename = f"open-data-{zone.code}-{name}.{fmt}"
    if fmt == "csv":
        return declarations.to_csv(headers, rows), "text/csv; charset=utf-8", filename
    from zerowaste.core.tabular import write_xlsx

    return (
        write_xlsx(name, headers, [[_cell(c) for c in row] for row in rows]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename,
    )


def _public_indicator(row: dict[str, Any]) -> dict[str, Any]:
    """An indicator row without its inputs (they may name enterprises)."""
    keys = ("number", "name", "name_en", "class", "unit", "baseline", "target", "achieved", "met")
    return {k: row.get(k) for k in keys}
