"""The fast path of file imports: raw cells in, compact lines out, with the general checker's faults.

`services.check_file` reads large files through here. The header is resolved once with the same
`IMPORT_COLUMNS` as `core.tabular.read_table`; every data row is then checked straight from its raw
cells (the `csv` module's lists, or openpyxl's values), with per-value caches for organizations,
periods, codes, units and quantities, and quantities as integer kilograms (exact, like the `Decimal`
tonnes of the general path). A row the fast path cannot vouch for — any fault, or a cell of an unusual
form — is handed to the general `LineChecker.check_row` as the very `Row` that `read_table` would have
built, so faults and their order are those of the general path; the group checks (duplicates, life
cycle, opening carried, balance) mirror `LineChecker.check` on the compact lines. The equivalence is
tested on mixed good/bad files and by fuzzing (`tests/test_import_fast.py`).

Lines are lists `[row number, site id, site name, code, name, category, opening, generated, utilized,
disposed, transferred util, transferred disp, closing (kg, int), opening given, destination,
position]`. PostgreSQL gets them as COPY text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter

from zerowaste.catalog import rules as catalog_rules
from zerowaste.core import streams, tabular
from zerowaste.core.models import Organization
from zerowaste.core.tabular import Fault, Row

from . import rules
from .checking import IMPORT_COLUMNS, STREAM_ALIASES, CheckResult, Group, GroupKey, LineChecker

# Indexes into a compact line.
NUMBER, SITE_ID, SITE_NAME, CODE, NAME, CATEGORY = 0, 1, 2, 3, 4, 5
OPENING, GENERATED, CLOSING = 6, 7, 12
QTY = range(6, 13)  # rules.QTY_FIELDS, in order
OPENING_GIVEN, DESTINATION, POSITION = 13, 14, 15
FIELDS = [c.field for c in IMPORT_COLUMNS]
_CACHE_LIMIT = 500_000
_TONNES_RE = re.compile(r"\s*([0-9]{1,15})(?:\.([0-9]{0,3}))?\s*")
_KG_RE = re.compile(r"\s*([0-9]{1,18})\s*")
_BAD = object()  # a cached value the fast path does not vouch for


def kg_text(kg: int) -> str:
    """Integer kilograms as tonnes with 3 decimals (what `rules.fmt_t` writes)."""
    return f"{kg // 1000}.{kg % 1000:03d}"


def kg_decimal(kg: int) -> Decimal:
    return Decimal(kg).scaleb(-3).quantize(rules.KILOGRAM)


@dataclass
class FastGroup(Group):
    """A group whose lines are compact lists (see the module doc)."""

    lines: list[list[Any]] = field(default_factory=list)  # type: ignore[assignment]
    first_number: int = 0
    duplicates: list[tuple[list[Any], int]] = field(default_factory=list)
    seen: dict[tuple[int | None, str], int] = field(default_factory=dict)

    def total(self, name: str) -> Decimal:
        index = 6 + rules.QTY_FIELDS.index(name)
        return kg_decimal(sum(ln[index] for ln in self.lines))

    def line_tuples(self, zone_id: int, decl_id: int) -> list[tuple[Any, ...]]:
        return [
            (
                zone_id,
                decl_id,
                ln[SITE_ID],
                ln[CODE],
                ln[NAME],
                ln[CATEGORY],
                *[kg_decimal(ln[i]) for i in QTY],
                ln[DESTINATION],
                ln[POSITION],
            )
            for ln in self.lines
        ]


def _copy_escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_text(zone_id: int, groups: Iterable[tuple[int, FastGroup]]) -> Iterator[str]:
    """COPY text lines (columns of `services.LINE_COLUMNS`) of fast groups' lines, per declaration id."""
    null = "\\N"
    esc: dict[str | None, str] = {}
    fmt: dict[int, str] = {}

    def e(value: str) -> str:
        text = esc.get(value)
        if text is None:
            text = esc[value] = _copy_escape(value)
        return text

    def q(kg: int) -> str:
        text = fmt.get(kg)
        if text is None:
            text = fmt[kg] = kg_text(kg)
        return text

    for decl_id, group in groups:
        head = f"{zone_id}\t{decl_id}\t"
        yield from _group_text(group, head, null, esc, e, fmt, q)


def _group_text(
    group: FastGroup,
    head: str,
    null: str,
    esc: dict[str | None, str],
    e: Callable[[str], str],
    fmt: dict[int, str],
    q: Callable[[int], str],
) -> Iterator[str]:
    for ln in group.lines:
        site = ln[SITE_ID]
        if site is None:
            site = null
        code, name, category = ln[CODE], ln[NAME], ln[CATEGORY]
        op, ge, ut, di, tu, td, cl = ln[6:13]
        yield (
            f"{head}{site}\t{esc.get(code) or e(code)}\t{esc.get(name) or e(name)}\t"
            f"{esc.get(category) or e(category)}\t"
            f"{fmt.get(op) or q(op)}\t{fmt.get(ge) or q(ge)}\t{fmt.get(ut) or q(ut)}\t"
            f"{fmt.get(di) or q(di)}\t"
            f"{fmt.get(tu) or q(tu)}\t{fmt.get(td) or q(td)}\t{fmt.get(cl) or q(cl)}\t"
            f"{_copy_escape(ln[DESTINATION])}\t{ln[POSITION]}\n"
        )


class FastChecker(LineChecker):
    """`LineChecker` over raw rows: same checks, same faults, compact lines."""

    def __init__(
        self,
        zone_id: int,
        *,
        organization: Organization | None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(zone_id, organization=organization, progress=progress)
        self._org_cache: dict[str, Any] = {}
        self._period_cache: dict[str, Any] = {}
        self._stream_cache: dict[str, Any] = {}
        self._code_cache: dict[tuple[str, str | None], Any] = {}
        self._entry_cache: dict[tuple[str, str, date], Any] = {}
        self._unit_cache: dict[Any, Any] = {}
        self._site_cache: dict[tuple[int, str], Any] = {}
        self._qty_cache: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        self._number_cache: tuple[dict[Any, Any], dict[Any, Any]] = ({}, {})

    # --- cached lookups; _BAD sends the row to the general check ---
    def _org(self, cell: str) -> Any:
        uscc = cell.strip().upper()
        if self.organization is not None:
            if uscc and uscc != self.organization.uscc:
                return _BAD
            return self.organization.pk
        if not uscc:
            return _BAD
        if self._orgs_by_uscc is None:
            self._orgs_by_uscc = dict(
                Organization.objects.filter(zone_id=self.zone_id, roles__role="producer").values_list(
                    "uscc", "pk"
                )
            )
        return self._orgs_by_uscc.get(uscc, _BAD)

    def _parse_period(self, cell: str) -> Any:
        try:
            return rules.parse_period(cell.strip() or None)
        except ValueError:
            return _BAD

    def _stream(self, cell: str) -> Any:
        text = cell.strip()
        if not text:
            return None
        return STREAM_ALIASES.get(text.lower()) or STREAM_ALIASES.get(text) or _BAD

    def _code(self, cell: str, stream: str | None) -> Any:
        """(code, stream) when the code is well formed for the given (or guessed) stream."""
        code = cell.strip()
        if not code:
            return _BAD
        if stream is None:
            stream = catalog_rules.guess_stream(code)
            if stream is None:
                return _BAD
        if catalog_rules.validate_code(stream, code):
            return _BAD
        return code, stream

    def _unit(self, cell: Any) -> Any:
        text = "" if cell is None else str(cell).strip()
        if not text:
            return 0
        factor = rules.UNITS.get(text) or rules.UNITS.get(text.lower())
        if factor is None:
            return _BAD
        return 0 if factor == 1 else 1

    def _site_id(self, org_id: int, name: str) -> Any:
        sites = self._sites.get(org_id)
        if sites is None:
            from zerowaste.core.models import Site

            sites = self._sites[org_id] = dict(
                Site.objects.filter(zone_id=self.zone_id, organization_id=org_id).values_list("name", "pk")
            )
        site_id = sites.get(name)
        return _BAD if site_id is None else site_id

    def _kg(self, cell: Any, unit: int, unit_cell: Any) -> Any:
        """Integer kilograms of a non-blank cell, or _BAD (the row then goes to the general check)."""
        if isinstance(cell, str):
            cache = self._qty_cache[unit]
            kg = cache.get(cell)
            if kg is not None:
                return kg
            match = (_KG_RE if unit else _TONNES_RE).fullmatch(cell)
            if match is not None:
                kg = int(match[1]) if unit else int(match[1]) * 1000 + int((match[2] or "").ljust(3, "0"))
            else:
                kg = self._general_kg(cell, unit_cell)
            if len(cache) < _CACHE_LIMIT:
                cache[cell] = kg
            return kg
        if cell.__class__ is float or cell.__class__ is int:
            # Equal numbers (1 == 1.0) are the same tonnes; a bool never gets here.
            numbers = self._number_cache[unit]
            kg = numbers.get(cell)
            if kg is None:
                kg = self._general_kg(cell, unit_cell)
                if len(numbers) < _CACHE_LIMIT:
                    numbers[cell] = kg
            return kg
        return self._general_kg(cell, unit_cell)

    @staticmethod
    def _general_kg(cell: Any, unit_cell: Any) -> Any:
        try:
            tonnes = rules.to_tonnes(tabular._clean(cell), unit_cell, blank=None)
        except rules.QuantityError:
            return _BAD
        return int(tonnes.scaleb(3))

    # --- rows ---
    def check_raw(
        self, sheet: str, header_map: dict[str, int], rows: Iterable[tuple[int, list[Any]]]
    ) -> CheckResult:
        letters = {f: get_column_letter(i + 1) for f, i in header_map.items()}
        width = max(header_map.values()) + 1
        absent = width  # the index of an always-None cell
        idx = {f: header_map.get(f, absent) for f in FIELDS}
        i_uscc, i_period, i_stream, i_site = idx["uscc"], idx["period"], idx["stream"], idx["site"]
        i_code, i_name, i_unit, i_dest = idx["waste_code"], idx["waste_name"], idx["unit"], idx["destination"]
        i_qty = [idx[f] for f in rules.QTY_FIELDS]
        required_qty = [f in ("generated_t", "closing_t") for f in rules.QTY_FIELDS]
        pad = [None] * (width + 1)
        org_cache, period_cache, stream_cache = self._org_cache, self._period_cache, self._stream_cache
        code_cache, entry_cache, unit_cache = self._code_cache, self._entry_cache, self._unit_cache
        site_cache, qty_caches = self._site_cache, self._qty_cache
        stream_candidates = streams.candidates(self.zone_id)
        groups: dict[GroupKey, FastGroup] = {}
        progress = self.progress
        count = 0

        def general(number: int, raw: list[Any]) -> tuple[GroupKey, list[Any], rules.Period] | None:
            values = {f: tabular._clean(raw[i]) if i < len(raw) else None for f, i in header_map.items()}
            row = Row(sheet, number, values, letters)
            checked = self.check_row(row, count)
            if checked is None:
                return None
            key, line, period = checked
            compact = [
                number,
                line.site_id,
                line.site_name,
                line.waste_code,
                line.waste_name,
                line.category_code,
                *[int(line.quantities[f].scaleb(3)) for f in rules.QTY_FIELDS],
                line.opening_given,
                line.destination,
                line.position,
            ]
            return key, compact, period

        def fast(number: int, raw: list[Any]) -> tuple[GroupKey, list[Any], rules.Period] | None:
            if len(raw) <= width:
                raw += pad  # cells past the header's last column are blank (read_table's `None`)
            cells = raw
            cell = cells[i_uscc]
            if cell.__class__ is not str and cell is not None:
                return None
            org_id = org_cache.get(cell or "")
            if org_id is None:
                org_id = org_cache[cell or ""] = self._org(cell or "")
            if org_id is _BAD:
                return None
            cell = cells[i_period]
            if cell.__class__ is not str:
                return None
            period = period_cache.get(cell)
            if period is None:
                period = period_cache[cell] = self._parse_period(cell)
            if period is _BAD:
                return None
            cell = cells[i_stream]
            if cell is None:
                stream = None
            elif cell.__class__ is str:
                stream = stream_cache.get(cell, _BAD)
                if stream is _BAD:
                    stream = stream_cache[cell] = self._stream(cell)
                    if stream is _BAD:
                        return None
            else:
                return None
            cell = cells[i_code]
            if cell.__class__ is not str:
                return None
            code_key = (cell, stream)
            coded = code_cache.get(code_key)
            if coded is None:
                coded = code_cache[code_key] = self._code(cell, stream)
            if coded is _BAD:
                return None
            code, stream = coded
            entry_key = (code, stream, period.start)
            entry = entry_cache.get(entry_key, _BAD)
            if entry is _BAD:
                entry = entry_cache[entry_key] = self.catalogs.lookup(stream, code, period.start)
            if entry is None:
                return None
            # Another app may have moved this producer's code out of the stream (`core.streams`).
            if (stream_candidates is None or (org_id, stream) in stream_candidates) and self._stream_refusal(
                org_id, stream, code, period.start
            ):
                return None
            cell = cells[i_name]
            if cell is None:
                name = ""
            elif cell.__class__ is str:
                name = cell.strip()[:300]
            else:
                return None
            if entry[2] and not name:
                return None
            unit_cell = cells[i_unit]
            unit: Any = (
                unit_cache.get(unit_cell, _BAD) if unit_cell.__class__ is str or unit_cell is None else _BAD
            )
            if unit is _BAD:
                if unit_cell is not None and unit_cell.__class__ is not str:
                    return None
                unit = unit_cache[unit_cell] = self._unit(unit_cell)
                if unit is _BAD:
                    return None
            line: list[Any] = [number, None, "", code, name or entry[0], entry[1]]
            opening_given = False
            for position, (i, required) in enumerate(zip(i_qty, required_qty, strict=True)):
                cell = cells[i]
                if cell is None or (cell.__class__ is str and not cell.strip()):
                    if required:
                        return None
                    line.append(0)
                    continue
                if position == 0:
                    opening_given = True
                kg = qty_caches[unit].get(cell) if cell.__class__ is str else None
                if kg is None:
                    kg = self._kg(cell, unit, unit_cell)
                    if kg is _BAD:
                        return None
                elif kg is _BAD:
                    return None
                line.append(kg)
            cell = cells[i_site]
            if cell is not None:
                if cell.__class__ is not str:
                    return None
                site_name = cell.strip()
                if site_name:
                    site_key = (org_id, site_name)
                    site_id = site_cache.get(site_key)
                    if site_id is None:
                        site_id = site_cache[site_key] = self._site_id(org_id, site_name)
                    if site_id is _BAD:
                        return None
                    line[SITE_ID], line[SITE_NAME] = site_id, site_name
            cell = cells[i_dest]
            if cell is None:
                destination = ""
            elif cell.__class__ is str:
                destination = cell.strip()[:300]
            else:
                return None
            line += (opening_given, destination, count)
            return (org_id, stream, period.start), line, period

        for number, raw in rows:
            count += 1
            checked = fast(number, raw) or general(number, raw)
            if checked is not None:
                key, line, period = checked
                group = groups.get(key)
                if group is None:
                    group = groups[key] = FastGroup(key[0], key[1], period, first_number=number)
                elif group.period != period:
                    self.fault(
                        Row(sheet, number, {}, letters),
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
                key2 = (line[SITE_ID], line[CODE])
                first = group.seen.get(key2)
                if first is None:
                    group.seen[key2] = number
                else:
                    group.duplicates.append((line, first))
            if progress is not None and count % 5000 == 0:
                progress(count)
        for group in groups.values():
            group.first_row = Row(sheet, group.first_number, {}, letters)
            for line, first in group.duplicates:
                self.fault(
                    Row(sheet, line[NUMBER], {}, letters),
                    "waste_code",
                    rules.RULE_DUPLICATE,
                    _("%(code)s at this site is already declared in row %(row)d for %(p)s")
                    % {"code": line[CODE], "row": first, "p": group.period.label},
                )
            group.seen, group.duplicates = {}, []
        self._attach_existing(groups, None)  # type: ignore[arg-type]
        self._carry_and_balance(sheet, letters, groups)
        ordered = sorted(groups.values(), key=lambda g: (g.organization_id, g.stream, g.period.start))
        return CheckResult(ordered, self.faults, count)  # type: ignore[arg-type]

    def _carry_and_balance(
        self, sheet: str, letters: dict[str, str], groups: dict[GroupKey, FastGroup]
    ) -> None:
        """`LineChecker._carry_openings` then the balance of every line, on compact lines."""
        if not groups:
            return
        by_end = {(g.organization_id, g.stream, g.period.end): g for g in groups.values()}
        closings = self._closings_in_database(groups, by_end)
        unbalanced: dict[int, list[list[Any]]] = {}
        for group in sorted(groups.values(), key=lambda g: g.period.start):
            prev_key = (group.organization_id, group.stream, group.period.previous_end)
            previous_group = by_end.get(prev_key)
            previous: dict[tuple[int | None, str], tuple[int, str]]
            if previous_group is not None:
                previous = {
                    (ln[SITE_ID], ln[CODE]): (ln[CLOSING], ln[SITE_NAME]) for ln in previous_group.lines
                }
            else:
                previous = {k: (int(v[0].scaleb(3)), v[1]) for k, v in closings.get(prev_key, {}).items()}
            present = set()
            bad: list[list[Any]] = []
            for line in group.lines:
                key2 = (line[SITE_ID], line[CODE])
                present.add(key2)
                found = previous.get(key2)
                carried = 0 if found is None else found[0]
                if not line[OPENING_GIVEN]:
                    line[OPENING] = carried
                elif line[OPENING] != carried and (previous or carried):
                    self.fault(
                        Row(sheet, line[NUMBER], {}, letters),
                        "opening_t",
                        rules.RULE_OPENING,
                        _(
                            "opening stock %(o)s t differs from the closing stock %(c)s t of the previous "
                            "period"
                        )
                        % {"o": kg_text(line[OPENING]), "c": kg_text(carried)},
                    )
                if line[6] + line[7] - line[8] - line[9] - line[10] - line[11] - line[12]:
                    bad.append(line)
            if bad:
                unbalanced[id(group)] = bad
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
                            "c": kg_text(closing),
                            "p": group.period.label,
                        },
                    )
        for group in groups.values():
            for line in unbalanced.get(id(group), ()):
                quantities = {f: kg_decimal(line[i]) for f, i in zip(rules.QTY_FIELDS, QTY, strict=True)}
                problem = rules.balance_problem(quantities)
                if problem:
                    self.fault(
                        Row(sheet, line[NUMBER], {}, letters), "closing_t", rules.RULE_BALANCE, problem
                    )


def read_raw(content: bytes, filename: str) -> tuple[str, Iterator[list[Any]]] | None:
    """The sheet name and raw rows of a CSV file or workbook, through the one bounded reader; None
    for an empty file (the general path words that fault)."""
    return tabular.open_rows(content, filename, columns=IMPORT_COLUMNS)


def _blank(raw: list[Any]) -> bool:
    return all(value is None or (value.__class__ is str and not value.strip()) for value in raw)


def header_and_rows(
    raw_rows: Iterator[list[Any]],
) -> tuple[dict[str, int], Iterator[tuple[int, list[Any]]]] | None:
    """The header map of the first non-blank row (as `read_table` resolves it) and the numbered
    non-blank rows after it; None when a required column is missing or there is no header."""
    wanted = {
        tabular._normalize_header(h): col.field for col in IMPORT_COLUMNS for h in (col.field, *col.headers)
    }
    number = 0
    header_map: dict[str, int] = {}
    for number, raw in enumerate(raw_rows, start=1):  # noqa: B007 - number is used after the loop
        if _blank(raw):
            continue
        for index, value in enumerate(raw):
            field_name = wanted.get(tabular._normalize_header(value))
            if field_name is not None and field_name not in header_map:
                header_map[field_name] = index
        break
    if not header_map or any(c.required and c.field not in header_map for c in IMPORT_COLUMNS):
        return None
    start = number + 1

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        for n, raw in enumerate(raw_rows, start=start):
            if raw and not _blank(raw):
                yield n, raw

    return header_map, numbered()


def check_content(
    zone_id: int,
    organization: Organization | None,
    content: bytes,
    filename: str,
    progress: Callable[[int], None] | None = None,
) -> CheckResult | None:
    """Check a file on the fast path; None when the general path must read it (header faults, empty,
    old .xls). Raises what `read_table` raises for unreadable files."""
    source = read_raw(content, filename)
    if source is None:
        return None
    sheet, raw_rows = source
    found = header_and_rows(raw_rows)
    if found is None:
        return None
    header_map, rows = found
    checker = FastChecker(zone_id, organization=organization, progress=progress)
    result = checker.check_raw(sheet, header_map, rows)
    if result.rows == 0:
        return None  # "a header but no rows": the general path words that fault
    return result


__all__ = ["FastChecker", "FastGroup", "Fault", "check_content", "copy_text", "kg_text"]
