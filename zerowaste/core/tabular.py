"""Reading tables that people send: Excel workbooks and CSV in UTF-8, UTF-8 with BOM or GBK.

Every importer in the platform (organizations, catalogs, declarations, ledgers) reads through here,
so that a fault is always reported the same way: sheet, row, column, field and a message, all of
them at once, before anything is written.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .errors import Invalid

CSV_ENCODINGS = ("utf-8-sig", "gb18030")


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
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"{self.sheet}!{self.column}{self.row}" if self.column else f"{self.sheet} row {self.row}"
        return f"{where} ({self.field}): {self.message}"


@dataclass
class Row:
    sheet: str
    number: int  # 1-based, as the spreadsheet shows it
    values: dict[str, Any]
    columns: dict[str, str]  # field -> column letter

    def fault(self, field_name: str, message: str) -> Fault:
        return Fault(self.sheet, self.number, self.columns.get(field_name, ""), field_name, message)


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


def _decode_csv(content: bytes) -> str:
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
    yield from csv.reader(io.StringIO(text, newline=""), dialect)


def _xlsx_rows(content: bytes, sheet: str | None) -> tuple[str, Iterator[list[Any]]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Invalid.field("file", _("the Excel file cannot be read: %(err)s") % {"err": exc}) from exc
    if sheet is not None:
        if sheet not in workbook.sheetnames:
            raise Invalid.field("file", _("the workbook has no sheet named %(sheet)s") % {"sheet": sheet})
        worksheet = workbook[sheet]
    else:
        worksheet = workbook.worksheets[0]
    return worksheet.title, (list(r) for r in worksheet.iter_rows(values_only=True))


def read_table(content: bytes, filename: str, columns: list[Column], *, sheet: str | None = None) -> Table:
    """Read the first sheet (or `sheet`) of a workbook or a CSV file into rows keyed by field.

    The first non-empty row is the header. Unknown columns are ignored; a missing required column
    is a fault on the header row. Blank rows are skipped.
    """
    if not content or not content.strip():
        return Table(
            sheet=sheet or filename, faults=[Fault(sheet or filename, 1, "", "file", _("the file is empty"))]
        )
    lower = filename.lower()
    if content[:4] == b"PK\x03\x04" or lower.endswith((".xlsx", ".xlsm")):
        sheet_name, raw_rows = _xlsx_rows(content, sheet)
    elif content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Invalid.field("file", _("old .xls workbooks are not supported; save it as .xlsx"))
    else:
        sheet_name, raw_rows = (sheet or filename.rsplit("/", 1)[-1]), _csv_rows(content)
    table = Table(sheet=sheet_name)

    header_map: dict[str, int] = {}
    header_row_number = 0
    wanted = {_normalize_header(h): col.field for col in columns for h in (col.field, *col.headers)}
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
                return table
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
    return table


def write_xlsx(sheet_title: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    """A simple one-sheet workbook: bold header, frozen first row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet_title[:31]
    worksheet.append(headers)
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    worksheet.freeze_panes = "A2"
    for row in rows:
        worksheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
