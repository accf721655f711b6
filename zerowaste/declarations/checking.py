"""Checking declaration lines against the catalog, the balance and the previous period, in bulk.

One `LineChecker` serves the web form, the API and the file importer: it reads input rows (the
`core.tabular.Row` shape, so a fault always names sheet, row, column, field and rule), resolves codes
with one query per catalog version, carries the opening stock from the previous period (in the same
batch or in the database) and returns prepared groups — one per (organization, stream, period) — or
every fault at once. Nothing is written here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from zerowaste.catalog import rules as catalog_rules
from zerowaste.catalog import services as catalog
from zerowaste.catalog.models import CatalogEntry
from zerowaste.core import streams
from zerowaste.core.models import Organization, Site
from zerowaste.core.tabular import Column, Fault, Row

from . import rules
from .models import Declaration, DeclarationLine

IMPORT_COLUMNS = [
    Column("uscc", ("统一社会信用代码", "信用代码", "USCC"), required=False),
    Column("period", ("申报期", "期间", "申报期间", "period")),
    Column("stream", ("废物类型", "类型", "stream"), required=False),
    Column("site", ("场所", "产生场所", "site"), required=False),
    Column("waste_code", ("废物代码", "代码", "waste code", "code")),
    Column("waste_name", ("废物名称", "名称", "waste name"), required=False),
    Column("unit", ("单位", "计量单位", "unit"), required=False),
    Column("opening_t", ("期初贮存量", "opening stock", "opening"), required=False),
    Column("generated_t", ("产生量", "generated")),
    Column("utilized_t", ("自行利用量", "utilized in-house", "utilized"), required=False),
    Column("disposed_t", ("自行处置量", "disposed in-house", "disposed"), required=False),
    Column("transferred_util_t", ("委托利用量", "transferred for utilization"), required=False),
    Column("transferred_disp_t", ("委托处置量", "transferred for disposal"), required=False),
    Column("closing_t", ("期末贮存量", "贮存量", "closing stock", "closing")),
    Column("destination", ("去向", "利用处置去向", "destination"), required=False),
]
TEMPLATE_HEADERS = [
    "统一社会信用代码",
    "申报期",
    "废物类型",
    "场所",
    "废物代码",
    "废物名称",
    "单位",
    "期初贮存量",
    "产生量",
    "自行利用量",
    "自行处置量",
    "委托利用量",
    "委托处置量",
    "期末贮存量",
    "去向",
]
STREAM_ALIASES = {
    "isw": "isw",
    "一般工业固体废物": "isw",
    "一般工业固废": "isw",
    "一般固废": "isw",
    "hw": "hw",
    "危险废物": "hw",
    "危废": "hw",
}
MAX_FAULTS = 5000

GroupKey = tuple[int, str, date]  # organization id, stream, period start


@dataclass
class PreparedLine:
    row: Row
    site_id: int | None
    site_name: str
    waste_code: str
    waste_name: str
    category_code: str
    quantities: dict[str, Decimal]
    opening_given: bool
    destination: str
    position: int


@dataclass
class Group:
    organization_id: int
    stream: str
    period: rules.Period
    lines: list[PreparedLine] = field(default_factory=list)
    existing: Declaration | None = None
    first_row: Row | None = None

    @property
    def key(self) -> GroupKey:
        return (self.organization_id, self.stream, self.period.start)

    def total(self, name: str) -> Decimal:
        return sum((line.quantities[name] for line in self.lines), rules.ZERO)


@dataclass
class CheckResult:
    groups: list[Group]
    faults: list[Fault]
    rows: int

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "organization_id": g.organization_id,
                "stream": g.stream,
                "period": g.period.label,
                "lines": len(g.lines),
                "generated_t": rules.fmt_t(g.total("generated_t")),
                "replaces_draft": g.existing is not None,
            }
            for g in self.groups
        ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _chunks(items: list[int], size: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Catalogs:
    """Catalog entries of the version in force per (stream, date): one query per version."""

    def __init__(self, zone_id: int) -> None:
        self.zone_id = zone_id
        self.version_for: dict[tuple[str, date], int | None] = {}
        self.entries: dict[int, dict[str, tuple[str, str, bool]]] = {}

    def lookup(self, stream: str, code: str, on_date: date) -> tuple[str, str, bool] | None:
        key = (stream, on_date)
        if key not in self.version_for:
            version = catalog.version_in_force(self.zone_id, stream, on_date)
            self.version_for[key] = version.pk if version else None
            if version is not None and version.pk not in self.entries:
                self.entries[version.pk] = {
                    c: (n, cat, free)
                    for c, n, cat, free in CatalogEntry.objects.filter(
                        zone_id=self.zone_id, version_id=version.pk
                    ).values_list("code", "name", "category__code", "requires_free_text")
                }
        version_id = self.version_for[key]
        if version_id is None:
            return None
        return self.entries[version_id].get(code)


_UNSET = object()


class LineChecker:
    """Checks rows of one zone for one acting organization (or, for the system, any organization)."""

    def __init__(
        self,
        zone_id: int,
        *,
        organization: Organization | None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.zone_id = zone_id
        self.organization = organization
        self.progress = progress
        self.catalogs = _Catalogs(zone_id)
        self.faults: list[Fault] = []
        self._orgs_by_uscc: dict[str, int] | None = None
        self._sites: dict[int, dict[str, int]] = {}
        self._periods: dict[Any, rules.Period | str] = {}
        self._refusals: dict[tuple[int, str, str, date], str | None] = {}
        self._stream_candidates: Any = _UNSET  # streams.candidates, read once

    def _stream_refusal(self, org_id: int, stream: str, code: str, on: date) -> str | None:
        """Another app's refusal of the code in this stream for the producer (`core.streams`: a
        published identification moves its waste out of HW), asked once per producer, code and date."""
        if self._stream_candidates is _UNSET:
            self._stream_candidates = streams.candidates(self.zone_id)
        if self._stream_candidates is not None and (org_id, stream) not in self._stream_candidates:
            return None
        key = (org_id, stream, code, on)
        if key not in self._refusals:
            self._refusals[key] = streams.refusal(self.zone_id, org_id, stream, code, on)
        return self._refusals[key]

    # --- faults ---
    def fault(self, row: Row, field_name: str, rule: str, message: str) -> None:
        if len(self.faults) < MAX_FAULTS:
            self.faults.append(row.fault(field_name, message, rule))

    # --- lookups ---
    def _organization_id(self, row: Row) -> int | None:
        uscc = _text(row.values.get("uscc")).upper()
        if self.organization is not None:
            if uscc and uscc != self.organization.uscc:
                self.fault(
                    row,
                    "uscc",
                    rules.RULE_ORGANIZATION,
                    _("%(uscc)s is not your organization (%(own)s)")
                    % {"uscc": uscc, "own": self.organization.uscc},
                )
                return None
            return self.organization.pk
        if not uscc:
            self.fault(row, "uscc", rules.RULE_REQUIRED, _("the organization's USCC is required"))
            return None
        if self._orgs_by_uscc is None:
            self._orgs_by_uscc = dict(
                Organization.objects.filter(zone_id=self.zone_id, roles__role="producer").values_list(
                    "uscc", "pk"
                )
            )
        org_id = self._orgs_by_uscc.get(uscc)
        if org_id is None:
            self.fault(
                row, "uscc", rules.RULE_ORGANIZATION, _("no producer %(uscc)s in this zone") % {"uscc": uscc}
            )
        return org_id

    def _site(self, row: Row, org_id: int) -> tuple[int | None, str] | None:
        name = _text(row.values.get("site"))
        if not name:
            return None, ""
        if org_id not in self._sites:
            self._sites[org_id] = dict(
                Site.objects.filter(zone_id=self.zone_id, organization_id=org_id).values_list("name", "pk")
            )
        site_id = self._sites[org_id].get(name)
        if site_id is None:
            self.fault(
                row, "site", rules.RULE_SITE, _("your organization has no site named %(s)s") % {"s": name}
            )
            return None
        return site_id, name

    def _period(self, row: Row) -> rules.Period | None:
        raw = row.values.get("period")
        key = raw if isinstance(raw, (str, int, float, date)) or raw is None else str(raw)
        cached = self._periods.get(key)
        if cached is None:
            try:
                cached = rules.parse_period(raw)
            except ValueError as exc:
                cached = str(exc)
            self._periods[key] = cached
        if isinstance(cached, str):
            self.fault(row, "period", rules.RULE_PERIOD, cached)
            return None
        return cached

    # --- one row ---
    def check_row(
        self,
        row: Row,
        position: int,
        default_stream: str | None = None,
        default_period: rules.Period | None = None,
    ) -> tuple[GroupKey, PreparedLine, rules.Period] | None:
        values = row.values
        org_id = self._organization_id(row)
        period = (
            default_period
            if default_period is not None and values.get("period") is None
            else self._period(row)
        )
        code = _text(values.get("waste_code"))
        stream_text = _text(values.get("stream"))
        stream: str | None
        if stream_text:
            stream = STREAM_ALIASES.get(stream_text.lower()) or STREAM_ALIASES.get(stream_text)
            if stream is None:
                self.fault(
                    row,
                    "stream",
                    rules.RULE_STREAM,
                    _("unknown waste type %(s)r: isw (一般工业固体废物) or hw (危险废物)")
                    % {"s": stream_text},
                )
        else:
            stream = default_stream or (catalog_rules.guess_stream(code) if code else None)
        entry = None
        if not code:
            self.fault(row, "waste_code", rules.RULE_REQUIRED, _("the waste code is required"))
        elif stream is None and not stream_text:
            self.fault(
                row,
                "waste_code",
                rules.RULE_CODE,
                _("%(code)s is neither a general industrial (NN-NN-NN) nor a hazardous (NNN-NNN-NN) code")
                % {"code": code[:40]},
            )
        elif stream is not None and period is not None:
            problem = catalog_rules.validate_code(stream, code)
            if problem:
                self.fault(row, "waste_code", rules.RULE_CODE, problem)
            else:
                entry = self.catalogs.lookup(stream, code, period.start)
                if entry is None:
                    if len(self.faults) < 200:
                        message = catalog.code_valid(self.zone_id, stream, code, period.start).message
                    else:
                        message = _("%(code)s is not in the catalog in force") % {"code": code}
                    self.fault(row, "waste_code", rules.RULE_CODE, message or _("not in the catalog"))
                elif org_id is not None:
                    refused = self._stream_refusal(org_id, stream, code, period.start)
                    if refused:
                        self.fault(row, "waste_code", rules.RULE_STREAM, refused)
                        entry = None
        waste_name = _text(values.get("waste_name"))[:300]
        if entry is not None and entry[2] and not waste_name:
            self.fault(
                row,
                "waste_name",
                rules.RULE_REQUIRED,
                _("%(code)s needs a free-text name of the waste") % {"code": code},
            )
        quantities: dict[str, Decimal] = {}
        ok = True
        try:
            unit = values.get("unit")
            rules.unit_factor(unit)
        except rules.QuantityError as exc:
            self.fault(row, "unit", exc.rule, exc.message)
            unit, ok = "t", False
        opening_given = values.get("opening_t") is not None
        for name in rules.QTY_FIELDS:
            required = name in ("generated_t", "closing_t")
            try:
                quantities[name] = rules.to_tonnes(
                    values.get(name), unit, blank=None if required else rules.ZERO
                )
            except rules.QuantityError as exc:
                self.fault(row, name, exc.rule, exc.message)
                ok = False
        site = self._site(row, org_id) if org_id is not None else None
        if org_id is None or period is None or stream is None or entry is None or site is None or not ok:
            return None
        line = PreparedLine(
            row=row,
            site_id=site[0],
            site_name=site[1],
            waste_code=code,
            waste_name=waste_name or entry[0],
            category_code=entry[1],
            quantities=quantities,
            opening_given=opening_given,
            destination=_text(values.get("destination"))[:300],
            position=position,
        )
        return (org_id, stream, period.start), line, period

    # --- a whole batch ---
    def check(
        self,
        rows: Iterable[Row],
        *,
        default_stream: str | None = None,
        default_period: rules.Period | None = None,
        editing: Declaration | None = None,
    ) -> CheckResult:
        groups: dict[GroupKey, Group] = {}
        count = 0
        for count, row in enumerate(rows, start=1):
            checked = self.check_row(row, count, default_stream, default_period)
            if checked is not None:
                key, line, period = checked
                group = groups.get(key)
                if group is None:
                    group = groups[key] = Group(key[0], key[1], period, first_row=row)
                elif group.period != period:
                    self.fault(
                        row,
                        "period",
                        rules.RULE_PERIOD,
                        _(
                            "%(a)s and %(b)s start on the same day; one file declares one kind of period "
                            "per organization"
                        )
                        % {"a": period.label, "b": group.period.label},
                    )
                    continue
                group.lines.append(line)
            if self.progress is not None and count % 5000 == 0:
                self.progress(count)
        for group in groups.values():
            seen: dict[tuple[int | None, str], int] = {}
            for line in group.lines:
                key2 = (line.site_id, line.waste_code)
                if key2 in seen:
                    self.fault(
                        line.row,
                        "waste_code",
                        rules.RULE_DUPLICATE,
                        _("%(code)s at this site is already declared in row %(row)d for %(p)s")
                        % {"code": line.waste_code, "row": seen[key2], "p": group.period.label},
                    )
                else:
                    seen[key2] = line.row.number
        self._attach_existing(groups, editing)
        self._carry_openings(groups)
        for group in groups.values():
            for line in group.lines:
                problem = rules.balance_problem(line.quantities)
                if problem:
                    self.fault(line.row, "closing_t", rules.RULE_BALANCE, problem)
        ordered = sorted(groups.values(), key=lambda g: (g.organization_id, g.stream, g.period.start))
        return CheckResult(ordered, self.faults, count)

    def _attach_existing(self, groups: dict[GroupKey, Group], editing: Declaration | None) -> None:
        """Each group lands in the latest version of its period if that is editable, else is refused."""
        if not groups:
            return
        if editing is not None:
            for group in groups.values():
                group.existing = editing
            return
        latest: dict[GroupKey, Declaration] = {}
        org_ids = sorted({k[0] for k in groups})
        starts = sorted({k[2] for k in groups})
        for chunk in _chunks(org_ids):
            for decl in Declaration.objects.filter(
                zone_id=self.zone_id, organization_id__in=chunk, period_start__in=starts
            ).order_by("version"):
                key = (decl.organization_id, decl.stream, decl.period_start)
                if key in groups:
                    latest[key] = decl
        for key, group in groups.items():
            found = latest.get(key)
            if found is None:
                continue
            decl = found
            if decl.status not in rules.EDITABLE_STATES:
                assert group.first_row is not None
                self.fault(
                    group.first_row,
                    "period",
                    rules.RULE_STATE,
                    _(
                        "the %(p)s declaration of this organization is %(s)s (version %(v)d); "
                        "amend it instead of importing it again"
                    )
                    % {"p": group.period.label, "s": rules.Status(decl.status).label, "v": decl.version},
                )
            elif decl.period_kind != group.period.kind:
                assert group.first_row is not None
                self.fault(
                    group.first_row,
                    "period",
                    rules.RULE_PERIOD,
                    _("a %(k)s declaration for this period already exists") % {"k": decl.period_kind},
                )
            else:
                group.existing = decl

    def _closings_in_database(
        self, groups: dict[GroupKey, Any], by_end: dict[tuple[int, str, date], Any]
    ) -> dict[tuple[int, str, date], dict[tuple[int | None, str], tuple[Decimal, str]]]:
        """Closing stock per (site, code) of the latest non-superseded version of each previous period
        that is not in this batch (one query per 500 organizations)."""
        wanted = {(g.organization_id, g.stream, g.period.previous_end) for g in groups.values()}
        missing = [k for k in wanted if k not in by_end]
        closings: dict[tuple[int, str, date], dict[tuple[int | None, str], tuple[Decimal, str]]] = (
            defaultdict(dict)
        )
        if missing:
            wanted_keys = set(missing)
            ends = sorted({k[2] for k in missing})
            rows: list[tuple[Any, ...]] = []
            for chunk in _chunks(sorted({k[0] for k in missing})):
                rows += [
                    r
                    for r in DeclarationLine.objects.filter(
                        zone_id=self.zone_id,
                        declaration__organization_id__in=chunk,
                        declaration__period_end__in=ends,
                    )
                    .exclude(declaration__status=rules.Status.SUPERSEDED)
                    .values_list(
                        "declaration__organization_id",
                        "declaration__stream",
                        "declaration__period_end",
                        "declaration__version",
                        "declaration_id",
                        "site_id",
                        "waste_code",
                        "closing_t",
                        "site__name",
                    )
                    if (r[0], r[1], r[2]) in wanted_keys
                ]
            latest_decl: dict[tuple[int, str, date], tuple[int, int]] = {}
            for org_id, stream, end, version, decl_id, *_rest in rows:
                key = (org_id, stream, end)
                if key not in latest_decl or version > latest_decl[key][0]:
                    latest_decl[key] = (version, decl_id)
            for org_id, stream, end, _version, decl_id, site_id, code, closing, site_name in rows:
                key = (org_id, stream, end)
                if latest_decl[key][1] == decl_id:
                    closings[key][(site_id, code)] = (closing, site_name or "")
        return closings

    def _carry_openings(self, groups: dict[GroupKey, Group]) -> None:
        """Opening stock = the previous period's closing stock, from this batch or from the database."""
        if not groups:
            return
        by_end: dict[tuple[int, str, date], Group] = {
            (g.organization_id, g.stream, g.period.end): g for g in groups.values()
        }
        closings = self._closings_in_database(groups, by_end)
        for group in sorted(groups.values(), key=lambda g: g.period.start):
            prev_key = (group.organization_id, group.stream, group.period.previous_end)
            previous_group = by_end.get(prev_key)
            if previous_group is not None:
                previous = {
                    (ln.site_id, ln.waste_code): (ln.quantities["closing_t"], ln.site_name)
                    for ln in previous_group.lines
                }
            else:
                previous = closings.get(prev_key, {})
            present = set()
            for line in group.lines:
                key2 = (line.site_id, line.waste_code)
                present.add(key2)
                carried = previous.get(key2, (rules.ZERO, ""))[0]
                if not line.opening_given:
                    line.quantities["opening_t"] = carried
                elif line.quantities["opening_t"] != carried and (previous or carried):
                    self.fault(
                        line.row,
                        "opening_t",
                        rules.RULE_OPENING,
                        _(
                            "opening stock %(o)s t differs from the closing stock %(c)s t of the previous "
                            "period"
                        )
                        % {"o": rules.fmt_t(line.quantities["opening_t"]), "c": rules.fmt_t(carried)},
                    )
            for key2, (closing, site_name) in previous.items():
                if key2 not in present and closing > 0 and group.first_row is not None:
                    self.fault(
                        group.first_row,
                        "waste_code",
                        rules.RULE_OPENING,
                        _(
                            "%(code)s%(site)s had %(c)s t in stock at the end of the previous period; "
                            "declare it in %(p)s too"
                        )
                        % {
                            "code": key2[1],
                            "site": f" ({site_name})" if site_name else "",
                            "c": rules.fmt_t(closing),
                            "p": group.period.label,
                        },
                    )
