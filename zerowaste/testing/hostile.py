"""Hostile files for the importers' tests: bombs, huge tables, control characters, wrong encodings.

Each builder returns (filename, content). The big ones are small on disk and huge once expanded:
that is the attack. `HOSTILE` lists them with the words a refusal must contain (in English).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"
SST_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _inline_row(number: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def workbook(
    sheet_chunks: Iterator[str],
    shared_chunks: Iterator[str] | None = None,
    level: int = 6,
    dimension: str = "",
) -> bytes:
    """An xlsx whose sheet and shared strings are written from chunks, compressed as they come."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            head = SHEET_HEAD.replace("<sheetData>", f'<dimension ref="{dimension}"/><sheetData>')
            part.write((head if dimension else SHEET_HEAD).encode())
            for chunk in sheet_chunks:
                part.write(chunk.encode())
            part.write(SHEET_TAIL.encode())
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(SST_HEAD.encode())
            for chunk in shared_chunks or iter(()):
                part.write(chunk.encode())
            part.write(b"</sst>")
    return out.getvalue()


def _header(headers: list[str]) -> Iterator[str]:
    yield _inline_row(1, headers)


def zip_bomb(headers: list[str]) -> tuple[str, bytes]:
    """A sheet part of 80 MB of blanks compressed about a thousand to one."""

    def chunks() -> Iterator[str]:
        yield from _header(headers)
        blank = " " * (1024 * 1024)
        for _ in range(80):
            yield blank

    return "bomb.xlsx", workbook(chunks())


def shared_strings_bomb(headers: list[str]) -> tuple[str, bytes]:
    """A workbook of one row whose shared strings part expands to 60 MB."""

    def strings() -> Iterator[str]:
        item = "<si><t>" + "A" * 1000 + "</t></si>"
        for _ in range(60 * 1024):
            yield item

    return "strings.xlsx", workbook(_header(headers), strings())


def million_rows(headers: list[str]) -> tuple[str, bytes]:
    """A workbook of a million rows, a few MB on disk."""

    def chunks() -> Iterator[str]:
        yield from _header(headers)
        batch: list[str] = []
        for n in range(2, 1_000_002):
            batch.append(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>')
            if len(batch) == 10_000:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    return "million.xlsx", workbook(chunks(), level=1)


def many_columns(headers: list[str]) -> tuple[str, bytes]:
    """A workbook whose second row has a value in column 300."""
    row = '<row r="2"><c r="KN2" t="inlineStr"><is><t>x</t></is></c></row>'  # KN = column 300
    return "wide.xlsx", workbook(iter([_inline_row(1, headers), row]))


def huge_dimension(headers: list[str]) -> tuple[str, bytes]:
    """Two rows in a sheet that declares every cell of Excel as used: openpyxl would pad each row."""
    rows = [_inline_row(1, headers), _inline_row(2, ["x"])]
    return "dimension.xlsx", workbook(iter(rows), dimension="A1:XFD1048576")


def csv_rows(headers: list[str], row: list[str], n: int, name: str = "rows.csv") -> tuple[str, bytes]:
    line = ",".join(row) + "\n"
    return name, (",".join(headers) + "\n" + line * n).encode()


def with_control(headers: list[str], row: list[str], char: str) -> tuple[str, bytes]:
    """One data row whose second cell holds `char` in its middle."""
    cells = [*row]
    cells[1] = f"a{char}b"
    return f"control-{ord(char):02x}.csv", (",".join(headers) + "\n" + ",".join(cells) + "\n").encode()


def utf16(headers: list[str], row: list[str]) -> tuple[str, bytes]:
    return "utf16.csv", (",".join(headers) + "\n" + ",".join(row) + "\n").encode("utf-16")


def latin1_garbage(headers: list[str], row: list[str]) -> tuple[str, bytes]:
    return "latin1.csv", "raison sociale,rôle\nSociété générale,producteur ÿ\n".encode("latin-1")


def binary_junk(headers: list[str], row: list[str]) -> tuple[str, bytes]:
    return "junk.csv", bytes(range(256)) * 64


def broken_zip(headers: list[str], row: list[str]) -> tuple[str, bytes]:
    return "broken.xlsx", b"PK\x03\x04" + b"\x00\x14" * 2000


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[list[str], list[str]], tuple[str, bytes]]
    expect: tuple[str, ...]  # a refusal contains one of these words
    heavy: bool = False  # big to build or to refuse: marked slow
    size_limited: bool = False  # refused by a row limit of requests (the command line reads more)


HOSTILE = [
    Hostile("zip-bomb", lambda h, r: zip_bomb(h), ("IMPORT_MAX_COMPRESSION_RATIO",)),
    Hostile(
        "shared-strings-bomb",
        lambda h, r: shared_strings_bomb(h),
        ("IMPORT_MAX_COMPRESSION_RATIO", "IMPORT_MAX_SHARED_STRINGS_BYTES"),
    ),
    Hostile(
        "million-rows", lambda h, r: million_rows(h), ("IMPORT_MAX_ROWS",), heavy=True, size_limited=True
    ),
    Hostile("many-columns", lambda h, r: many_columns(h), ("IMPORT_MAX_COLUMNS",)),
    Hostile("huge-dimension", lambda h, r: huge_dimension(h), ("IMPORT_MAX_COLUMNS",)),
    Hostile("csv-200k-rows", lambda h, r: csv_rows(h, r, 200_000), ("IMPORT_MAX_ROWS",), size_limited=True),
    Hostile("nul", lambda h, r: with_control(h, r, "\x00"), ("U+0000",)),
    Hostile("bell", lambda h, r: with_control(h, r, "\x07"), ("U+0007",)),
    Hostile("escape", lambda h, r: with_control(h, r, "\x1b"), ("U+001B",)),
    Hostile("delete", lambda h, r: with_control(h, r, "\x7f"), ("U+007F",)),
    Hostile("utf-16", utf16, ("UTF-16",)),
    Hostile("latin-1", latin1_garbage, ("neither UTF-8 nor GBK",)),
    Hostile("binary-junk", binary_junk, ("neither UTF-8 nor GBK",)),
    Hostile("broken-zip", broken_zip, ("cannot be read",)),
]
