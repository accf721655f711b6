"""A fast reader of a workbook's plain sheets for the registry import (70,000 households in seconds).

openpyxl spends most of an import of tens of thousands of rows building a Python object per cell.
A registry sheet holds only text and whole numbers, so its cells are read here straight from the
sheet's XML with regular expressions (shared strings, inline strings, numbers, booleans), and the
rows then go through `core.tabular`'s own checks (limits, control characters, header mapping), so
faults read exactly as `read_table`'s. Anything unexpected (a part missing, an odd cell) returns
None and the caller reads the sheet with `read_table`.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from openpyxl.utils import column_index_from_string

from zerowaste.core.tabular import Column, Limits, Table, _fill, _guarded, _normalize_header, inspect_workbook

_ATTR = re.compile(r'([\w:]+)="([^"]*)"')
_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*)/?>")
_REL = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)/?>")
_SI = re.compile(r"<(?:\w+:)?si>(.*?)</(?:\w+:)?si>", re.S)
_T = re.compile(r"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>|<(?:\w+:)?t(?:\s[^>]*)?/>", re.S)
_RPH = re.compile(r"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)  # phonetic runs are not the text
_ROW = re.compile(r"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.S)
_CELL = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_V = re.compile(r"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
_INT = re.compile(r"-?\d+")
_REF = re.compile(r"([A-Z]{1,3})(\d+)")


class Unsupported(Exception):
    """The sheet holds something this reader does not vouch for: read it with openpyxl."""


def _attrs(text: str) -> dict[str, str]:
    return {k.split(":")[-1] if k.startswith(("r:", "x:")) else k: v for k, v in _ATTR.findall(text)}


def _text(xml: str) -> str:
    xml = _RPH.sub("", xml)
    if "_x" in xml:
        raise Unsupported("escaped characters")
    text = "".join(m.group(1) or "" for m in _T.finditer(xml))
    return html.unescape(text) if "&" in text else text


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str:
    workbook = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {a.get("Id"): a.get("Target", "") for a in (_attrs(m) for m in _REL.findall(rels))}
    for found in _SHEET.findall(workbook):
        attrs = _attrs(found)
        if html.unescape(attrs.get("name", "")) == sheet:
            target = targets.get(attrs.get("id"))
            if not target:
                break
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise Unsupported("sheet not found")


def sheet_names(content: bytes) -> list[str] | None:
    """The workbook's sheet names from its workbook part (openpyxl would measure every sheet first)."""
    try:
        workbook = zipfile.ZipFile(io.BytesIO(content)).read("xl/workbook.xml").decode("utf-8")
    except (KeyError, ValueError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    names = [html.unescape(_attrs(m).get("name", "")) for m in _SHEET.findall(workbook)]
    return names or None


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    try:
        xml = archive.read("xl/sharedStrings.xml").decode("utf-8")
    except KeyError:
        return []
    return [_text(si) for si in _SI.findall(xml)]


_CELL_REF = re.compile(r'\br="([A-Z]{1,3})\d+"')
_CELL_TYPE = re.compile(r'\bt="(\w+)"')
_COLUMNS: dict[str, int] = {}


def _column(letters: str) -> int:
    found = _COLUMNS.get(letters)
    if found is None:
        found = _COLUMNS[letters] = column_index_from_string(letters)
    return found


def _value(attrs: str, inner: str | None, shared: list[str]) -> tuple[int, Any]:
    ref = _CELL_REF.search(attrs)
    if ref is None:
        raise Unsupported("cell without reference")
    column = _column(ref.group(1))
    if inner is None:
        return column, None
    typed = _CELL_TYPE.search(attrs)
    kind = typed.group(1) if typed else "n"
    if kind == "inlineStr":
        return column, _text(inner)
    found = _V.search(inner)
    if found is None:
        return column, None
    raw = found.group(1)
    if kind == "s":
        return column, shared[int(raw)]
    if kind in ("str", "e"):
        return column, html.unescape(raw) if "&" in raw else raw
    if kind == "b":
        return column, raw == "1"
    if kind == "n":
        if _INT.fullmatch(raw):
            return column, int(raw)
        return column, float(raw)
    raise Unsupported(f"cell type {kind}")


# The cells most writers write (Excel, WPS, openpyxl): a shared or inline string, or a number.
_PLAIN_CELL = re.compile(
    r'<c r="([A-Z]{1,3})\d+"(?: s="\d+")?(?: t="(s|n|inlineStr)")?(?: s="\d+")?'
    r"(?:\s*(/)>|>(?:<v>([^<]*)</v>|<is><t>([^<&_]*)</t></is>)</c>)"
)


def _plain_row(xml: str, shared: list[str]) -> list[Any] | None:
    """A row whose every cell is plain, read in one pass; None when any cell is not."""
    cells = _PLAIN_CELL.findall(xml)
    if len(cells) != xml.count("<c "):
        return None
    values: list[Any] = []
    for letters, kind, empty, raw, inline in cells:
        column = _column(letters)
        if column > len(values):
            values.extend([None] * (column - len(values)))
        if empty:
            continue
        if kind == "inlineStr":
            values[column - 1] = inline
        elif kind == "s":
            values[column - 1] = shared[int(raw)]
        elif _INT.fullmatch(raw):
            values[column - 1] = int(raw)
        else:
            values[column - 1] = float(raw)
    return values


def _rows(xml: str, shared: list[str]) -> Iterator[list[Any]]:
    expected = 1
    for match in _ROW.finditer(xml):
        number = int(_attrs(match.group(1)).get("r", expected))
        while expected < number:  # openpyxl yields the rows a sheet leaves out, empty
            yield []
            expected += 1
        inner = match.group(2) or ""
        values = _plain_row(inner, shared)
        if values is None:
            values = []
            for cell in _CELL.finditer(inner):
                column, value = _value(cell.group(1), cell.group(2), shared)
                if column > len(values):
                    values.extend([None] * (column - len(values)))
                values[column - 1] = value
        yield values
        expected = number + 1


def read_sheet(
    content: bytes, sheet: str, columns: list[Column], limits: Limits | None = None
) -> Table | None:
    """The sheet as `read_table` reads it, or None when this reader does not vouch for it."""
    limits = limits or Limits.from_settings()
    inspect_workbook(content, limits)  # a bomb is refused before any part is decompressed whole
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        part = _sheet_part(archive, sheet)
        shared = _shared_strings(archive)
        xml = archive.read(part).decode("utf-8")
        rows = list(_rows(xml, shared))
    except (Unsupported, KeyError, ValueError, IndexError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    wanted = {_normalize_header(h): col.field for col in columns for h in (col.field, *col.headers)}
    table = Table(sheet=sheet)
    _fill(table, _guarded(sheet, iter(rows), limits, wanted), columns, wanted, {})
    return table
