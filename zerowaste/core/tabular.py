"""Reading tables that people send: Excel workbooks and CSV in UTF-8, UTF-8 with BOM or GBK.

Every importer in the platform (organizations, catalogs, declarations, ledgers) reads through here,
so that a fault is always reported the same way: sheet, row, column, field and a message, all of
them at once, before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import ParseError

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .errors import Invalid
from .text import control_character, printable

CSV_ENCODINGS = ("utf-8-sig", "gb18030")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TRIGGER_CHARACTERS = frozenset(FORMULA_TRIGGERS)
# A negative number an export writes as text ("-1.500") is not a formula: it stays as it is.
PLAIN_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?|-")
EXCEL_LAST_ROW = 1_048_576


def _max_rows() -> int:
    """Rows a file may hold: IMPORT_MAX_ROWS while serving a request (pages, API), where a worker must
    answer in time; IMPORT_MAX_ROWS_OFFLINE from the command line and in background tasks."""
    from .context import current_origin

    if current_origin().via in ("web", "api"):
        return int(getattr(settings, "IMPORT_MAX_ROWS", 100_000))
    return int(getattr(settings, "IMPORT_MAX_ROWS_OFFLINE", 2_000_000))


@dataclass(frozen=True)
class Limits:
    """What one uploaded table may hold; every limit has a setting of the same name (IMPORT_MAX_...)."""

    max_bytes: int  # the file as sent
    max_unzipped_bytes: int  # a workbook's members, decompressed, together
    max_shared_strings_bytes: int  # a workbook's shared-strings part, decompressed
    max_compression_ratio: int  # any member larger than 1 MB, decompressed : compressed
    max_rows: int  # rows after the header
    max_columns: int

    @classmethod
    def from_settings(cls, **overrides: int) -> Limits:
        values = {
            "max_bytes": getattr(settings, "IMPORT_MAX_BYTES", 32 * 1024 * 1024),
            "max_unzipped_bytes": getattr(settings, "IMPORT_MAX_UNZIPPED_BYTES", 256 * 1024 * 1024),
            "max_shared_strings_bytes": getattr(
                settings, "IMPORT_MAX_SHARED_STRINGS_BYTES", 32 * 1024 * 1024
            ),
            "max_compression_ratio": getattr(settings, "IMPORT_MAX_COMPRESSION_RATIO", 200),
            "max_rows": _max_rows(),
            "max_columns": getattr(settings, "IMPORT_MAX_COLUMNS", 256),
        }
        values.update(overrides)
        return cls(**{k: int(v) for k, v in values.items()})


@dataclass(frozen=True)
class Column:
    """An expected column: its field name, the header words that name it, whether it must exist."""

    field: str
    headers: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class Fault:
    sheet: str
    row: int
    column: str
    field: str
    message: str  # for people, in their language: no rule key (issue 16, item 5)
    rule: str = ""  # the rule's key for machines and logs (`balance`, `catalog-code`)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }
        if self.rule:
            out["rule"] = self.rule
        return out

    def __str__(self) -> str:
        """The CLI's and the logs' line: it names the rule, which a page does not."""
        where = f"{self.sheet}!{self.column}{self.row}" if self.column else f"{self.sheet} row {self.row}"
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{where} ({self.field}){rule}: {self.message}"


@dataclass
class Row:
    sheet: str
    number: int  # 1-based, as the spreadsheet shows it
    values: dict[str, Any]
    columns: dict[str, str]  # field -> column letter

    def fault(self, field_name: str, message: str, rule: str = "") -> Fault:
        return Fault(self.sheet, self.number, self.columns.get(field_name, ""), field_name, message, rule)


@dataclass
class Table:
    sheet: str
    rows: list[Row] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


class ImportRejected(Invalid):
    """An import with faults; nothing was written. `faults` lists every one."""

    def __init__(self, faults: list[Fault]) -> None:
        self.faults = faults
        summary = _("%(n)d fault(s); nothing was imported. First: %(first)s") % {
            "n": len(faults),
            "first": faults[0],
        }
        super().__init__(summary, errors=[f.as_dict() for f in faults])


def _normalize_header(value: Any) -> str:
    text = "" if value is None else str(value)
    return "".join(text.split()).strip("*＊").lower()


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _too_large(what: str, limit_text: str, setting: str) -> Invalid:
    return Invalid(
        _(
            "file: %(what)s; the limit is %(limit)s (setting %(setting)s). "
            "Split the file and import the parts."
        )
        % {"what": what, "limit": limit_text, "setting": setting},
        errors=[{"field": "file", "message": what, "limit": limit_text, "setting": setting}],
    )


def _unreadable(exc: BaseException) -> Invalid:
    return Invalid.field("file", _("the Excel file cannot be read: %(err)s") % {"err": exc})


# What openpyxl and zipfile raise on a damaged workbook, while opening it or while rows stream.
UNREADABLE = (
    zipfile.BadZipFile,
    KeyError,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    ParseError,
    zlib.error,
)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def _decode_csv(content: bytes) -> str:
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise Invalid.field("file", _("the CSV file is UTF-16 text; save it as CSV UTF-8"))
    for encoding in CSV_ENCODINGS:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid.field("file", _("the CSV file is neither UTF-8 nor GBK text"))


def _csv_rows(content: bytes) -> Iterator[list[Any]]:
    text = _decode_csv(content)
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Invalid.field("file", _("the CSV file cannot be read: %(err)s") % {"err": exc}) from exc
        yield row


def _count_rows(archive: zipfile.ZipFile, info: zipfile.ZipInfo, stop_after: int) -> int:
    """`<row` elements in a worksheet part, counted while decompressing (never held whole)."""
    count = 0
    tail = b""
    with archive.open(info) as part:
        while chunk := part.read(1 << 20):
            data = tail + chunk
            count += data.count(b"<row")
            tail = data[-3:]  # shorter than "<row": nothing is counted twice
            if count > stop_after:
                break
    return count


def inspect_workbook(content: bytes, limits: Limits) -> None:
    """Refuse a workbook that would expand beyond the limits, before openpyxl parses anything:
    the members' declared sizes (zipfile refuses to read past them), their compression ratios, the
    shared-strings part, and the rows of every worksheet counted in a streaming pass."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise _unreadable(exc) from exc
    if len(members) > 10_000:
        raise _too_large(_("the workbook has %(n)d parts") % {"n": len(members)}, "10000", "-")
    unzipped = sum(m.file_size for m in members)
    if unzipped > limits.max_unzipped_bytes:
        raise _too_large(
            _("the workbook expands to %(size)s") % {"size": _megabytes(unzipped)},
            _megabytes(limits.max_unzipped_bytes),
            "IMPORT_MAX_UNZIPPED_BYTES",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise _too_large(
                _("part %(part)s is compressed %(ratio)d:1") % {"part": member.filename, "ratio": ratio},
                f"{limits.max_compression_ratio}:1",
                "IMPORT_MAX_COMPRESSION_RATIO",
            )
    shared = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if shared > limits.max_shared_strings_bytes:
        raise _too_large(
            _("the shared strings expand to %(size)s") % {"size": _megabytes(shared)},
            _megabytes(limits.max_shared_strings_bytes),
            "IMPORT_MAX_SHARED_STRINGS_BYTES",
        )
    for member in members:
        name = member.filename.lower()
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            try:
                rows = _count_rows(archive, member, limits.max_rows + 1)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
                raise _unreadable(exc) from exc
            if rows > limits.max_rows + 1:
                raise _too_large(
                    _("more than %(n)d rows") % {"n": limits.max_rows},
                    _("%(n)d rows") % {"n": limits.max_rows},
                    "IMPORT_MAX_ROWS",
                )


def _xlsx_rows(
    content: bytes, sheet: str | None, limits: Limits | None = None
) -> tuple[str, Iterator[list[Any]]]:
    limits = limits or Limits.from_settings()
    inspect_workbook(content, limits)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        if sheet is not None:
            if sheet not in workbook.sheetnames:
                raise Invalid.field("file", _("the workbook has no sheet named %(sheet)s") % {"sheet": sheet})
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
    except UNREADABLE as exc:
        raise _unreadable(exc) from exc
    # openpyxl pads every row to the sheet's declared dimension: refuse a dimension beyond the limit.
    declared = getattr(worksheet, "max_column", None) or 0
    if declared > limits.max_columns:
        raise _too_large(
            _("the sheet spans %(n)d columns") % {"n": declared},
            _("%(n)d columns") % {"n": limits.max_columns},
            "IMPORT_MAX_COLUMNS",
        )
    cells = worksheet.iter_rows(values_only=True)

    def rows() -> Iterator[list[Any]]:
        while True:
            try:
                row = next(cells)
            except StopIteration:
                return
            except UNREADABLE as exc:
                raise _unreadable(exc) from exc
            yield list(row)

    return worksheet.title, rows()


def _blank(raw: list[Any]) -> bool:
    return all(value is None or (value.__class__ is str and not value.strip()) for value in raw)


def _guarded(
    sheet: str, raw_rows: Iterator[list[Any]], limits: Limits, fields: dict[str, str]
) -> Iterator[list[Any]]:
    """The rows, checked as they stream: no more than the row and column limits (a fault names the
    first row beyond), and no control character in any cell (a fault names sheet, row and column)."""
    headers: list[Any] | None = None
    for number, raw in enumerate(raw_rows, start=1):
        if number > EXCEL_LAST_ROW:
            break
        if _blank(raw):
            yield raw  # readers skip blank rows (also openpyxl's padding of gaps); numbers stay right
            continue
        if headers is not None and number > limits.max_rows + 1:
            raise _too_large(
                _("more than %(n)d rows (row %(row)d)") % {"n": limits.max_rows, "row": number},
                _("%(n)d rows") % {"n": limits.max_rows},
                "IMPORT_MAX_ROWS",
            )
        if len(raw) > limits.max_columns and any(v not in (None, "") for v in raw[limits.max_columns :]):
            raise _too_large(
                _("more than %(n)d columns (row %(row)d)") % {"n": limits.max_columns, "row": number},
                _("%(n)d columns") % {"n": limits.max_columns},
                "IMPORT_MAX_COLUMNS",
            )
        for index, value in enumerate(raw):
            if value.__class__ is str and (bad := control_character(value)):
                header = headers[index] if headers is not None and index < len(headers) else None
                fault = Fault(
                    sheet,
                    number,
                    get_column_letter(index + 1),
                    fields.get(_normalize_header(header), str(header or "")) or get_column_letter(index + 1),
                    _("the cell holds the control character %(char)s; remove it") % {"char": bad},
                )
                raise ImportRejected([fault])
        if headers is None:
            headers = raw
        yield raw


def sheet_names(content: bytes) -> list[str]:
    """The sheet names of a workbook, in order (a multi-sheet import picks its sheets by name)."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def open_rows(
    content: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    limits: Limits | None = None,
    columns: list[Column] | None = None,
) -> tuple[str, Iterator[list[Any]]] | None:
    """The sheet name and raw rows (lists of cell values) of a workbook or CSV file, bounded and
    checked while they stream; None for an empty file. THE way a file is read: `read_table` and the
    declarations' fast path both go through here."""
    limits = limits or Limits.from_settings()
    if not content or not content.strip():
        return None
    if len(content) > limits.max_bytes:
        raise _too_large(
            _("the file has %(size)s") % {"size": _megabytes(len(content))},
            _megabytes(limits.max_bytes),
            "IMPORT_MAX_BYTES",
        )
    lower = filename.lower()
    if content[:4] == b"PK\x03\x04" or lower.endswith((".xlsx", ".xlsm")):
        sheet_name, raw_rows = _xlsx_rows(content, sheet, limits)
    elif content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Invalid.field("file", _("old .xls workbooks are not supported; save it as .xlsx"))
    else:
        if content.count(b"\n") > limits.max_rows + 1:
            _count_csv_rows(content, limits)  # lines may be cells of a quoted field: count records
        sheet_name, raw_rows = (sheet or filename.rsplit("/", 1)[-1]), _csv_rows(content)
    fields = {_normalize_header(h): c.field for c in columns or [] for h in (c.field, *c.headers)}
    return sheet_name, _guarded(sheet_name, raw_rows, limits, fields)


def _count_csv_rows(content: bytes, limits: Limits) -> None:
    """Refuse a CSV file of more than the row limit before any row is kept."""
    non_blank = 0
    for row in _csv_rows(content):
        if any(cell.strip() for cell in row):
            non_blank += 1
            if non_blank > limits.max_rows + 1:
                raise _too_large(
                    _("more than %(n)d rows") % {"n": limits.max_rows},
                    _("%(n)d rows") % {"n": limits.max_rows},
                    "IMPORT_MAX_ROWS",
                )


def estimate_rows(content: bytes, filename: str) -> int:
    """Rows of a file without parsing it (to choose inline or background work): lines of a CSV,
    `<row` elements of a workbook's worksheets. Refuses a workbook beyond the limits."""
    if content[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        limits = Limits.from_settings()
        inspect_workbook(content, limits)  # a bomb is refused before any part is decompressed whole
        try:
            archive = zipfile.ZipFile(io.BytesIO(content))
            sheets = [m for m in archive.infolist() if m.filename.lower().startswith("xl/worksheets/")]
            counts = (_count_rows(archive, m, limits.max_rows + 1) for m in sheets)
            return max(0, max(counts, default=1) - 1)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError):
            return 0
    return max(0, content.count(b"\n") - 1)


def read_table(
    content: bytes,
    filename: str,
    columns: list[Column],
    *,
    sheet: str | None = None,
    limits: Limits | None = None,
) -> Table:
    """Read the first sheet (or `sheet`) of a workbook or a CSV file into rows keyed by field.

    The first non-empty row is the header. Unknown columns are ignored; a missing required column
    is a fault on the header row. Blank rows are skipped.
    """
    opened = open_rows(content, filename, sheet=sheet, limits=limits, columns=columns)
    if opened is None:
        return Table(
            sheet=sheet or filename, faults=[Fault(sheet or filename, 1, "", "file", _("the file is empty"))]
        )
    sheet_name, raw_rows = opened
    table = Table(sheet=sheet_name)

    header_map: dict[str, int] = {}
    wanted = {_normalize_header(h): col.field for col in columns for h in (col.field, *col.headers)}
    _fill(table, raw_rows, columns, wanted, header_map)
    return table


def _fill(
    table: Table,
    raw_rows: Iterator[list[Any]],
    columns: list[Column],
    wanted: dict[str, str],
    header_map: dict[str, int],
) -> None:
    sheet_name = table.sheet
    header_row_number = 0
    for number, raw in enumerate(raw_rows, start=1):
        if not header_map:
            if all(_clean(v) is None for v in raw):
                continue
            header_row_number = number
            for index, value in enumerate(raw):
                field_name = wanted.get(_normalize_header(value))
                if field_name is not None and field_name not in header_map:
                    header_map[field_name] = index
            missing = [c for c in columns if c.required and c.field not in header_map]
            for col in missing:
                table.faults.append(
                    Fault(
                        sheet_name,
                        number,
                        "",
                        col.field,
                        _("required column missing (header %(h)s)") % {"h": " / ".join(col.headers)},
                    )
                )
            if missing:
                return
            continue
        if all(_clean(v) is None for v in raw):
            continue
        values = {f: _clean(raw[i]) if i < len(raw) else None for f, i in header_map.items()}
        letters = {f: get_column_letter(i + 1) for f, i in header_map.items()}
        table.rows.append(Row(sheet_name, number, values, letters))
    if not header_map:
        table.faults.append(Fault(sheet_name, 1, "", "file", _("the file is empty")))
    elif not table.rows:
        table.faults.append(
            Fault(sheet_name, header_row_number + 1, "", "file", _("the file has a header but no rows"))
        )


# --- Writing: every export of the platform goes through here -------------------------------------


def safe_cell(value: Any) -> Any:
    """A cell value as it may leave the platform: text that a spreadsheet would run as a formula
    (starting with = + - @, tab or CR) gets a leading apostrophe, and control characters that an
    older version may have stored are dropped. Numbers, dates and None pass unchanged, and so does
    text that is a plain negative number ("-1.500")."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER_RE.fullmatch(value):
            return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


class _SafeWorksheet(Worksheet):  # type: ignore[misc]
    """A sheet whose values pass through `safe_cell` as they are set: a control character stored
    by an older version never reaches openpyxl (which refuses it), text never becomes a formula."""

    def cell(self, row: int, column: int, value: Any = None) -> Any:
        return super().cell(row, column, safe_cell(value))

    def append(self, iterable: Any) -> None:
        if isinstance(iterable, dict):
            super().append({key: safe_cell(value) for key, value in iterable.items()})
        else:
            super().append([safe_cell(value) for value in iterable])

    def __setitem__(self, key: str, value: Any) -> None:
        self[key].value = safe_cell(value)


class _SafeWorkbook(Workbook):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self._sheets = [_SafeWorksheet(self)]

    def create_sheet(self, title: str | None = None, index: int | None = None) -> _SafeWorksheet:
        sheet = _SafeWorksheet(parent=self, title=title)
        self._add_sheet(sheet=sheet, index=index)
        return sheet


def new_workbook() -> Workbook:
    """A workbook for an export with its own layout (several sheets, styles, drop-downs): lay it
    out freely with `append`, `cell(row, column, value)` or `sheet["A1"] = value` (values pass
    through `safe_cell`), then turn it into bytes with `workbook_bytes`, which checks every cell."""
    return _SafeWorkbook()


def workbook_bytes(workbook: Workbook) -> bytes:
    """The saved workbook, every text cell of every sheet passed through `safe_cell` first: no
    cell of an export is ever a formula (openpyxl would make one of any text starting with =)."""
    for worksheet in workbook.worksheets:
        for cell in worksheet._cells.values():  # type: ignore[attr-defined]
            value = cell.value
            if cell.data_type == "f" or (value.__class__ is str and value[:1] in TRIGGER_CHARACTERS):
                safe = safe_cell(str(value))
                if safe != value or cell.data_type == "f":
                    cell.value = safe
                    cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_xlsx(sheet_title: str, headers: list[str], rows: Iterable[list[Any]]) -> bytes:
    """A simple one-sheet workbook: bold header, frozen first row."""
    from openpyxl.styles import Font

    workbook = new_workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = printable(sheet_title)[:31]
    worksheet.append([safe_cell(h) for h in headers])
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    worksheet.freeze_panes = "A2"
    # Cell by cell with the row counted here: `worksheet.max_row` walks every cell written so far,
    # which made a ledger of 20,000 containers take 25 s.
    for row_number, row in enumerate(rows, start=2):
        for column, value in enumerate(safe_row(row), start=1):
            cell = worksheet.cell(row=row_number, column=column, value=value)
            cell_format = number_format(cell.value)
            if cell_format:
                cell.number_format = cell_format
    return workbook_bytes(workbook)


_DECIMAL_TEXT = re.compile(r"-?\d+\.\d+")


def numeric_cell(value: Any) -> Any:
    """A decimal string ("3.005", "-12.500") as the exact Decimal it holds, for a numeric cell; any
    other value (codes such as 99-02-01, USCCs, whole-number text) as it is."""
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    return value


def number_format(value: Any) -> str:
    """The number format of a numeric cell: separators, and the decimals its value carries (at most
    3: tonnes), so 208400.000 shows as 208,400.000 and stays a number (ADR 0050)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return ""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        places = min(-exponent, 3) if isinstance(exponent, int) and exponent < 0 else 0
    else:
        places = 0 if isinstance(value, int) else 3
    return "#,##0" + ("." + "0" * places if places else "")


def write_csv(headers: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """CSV in UTF-8 with a BOM (so that Excel reads Chinese), every cell through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row(headers))
    for row in rows:
        writer.writerow(safe_row(row))
    return out.getvalue().encode("utf-8-sig")
