"""Import of several drafts from one sheet (all or none, faults by row and column), and its template."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import tabular
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Organization

from . import streams
from .access import _require_member
from .drafts import create_transfer
from .models import (
    Transfer,
)


def _import_columns() -> list[Any]:
    from zerowaste.core.tabular import Column

    return [
        Column("stream", ("类别", "stream")),
        Column("consignee", ("接收单位代码", "consignee_uscc", "consignee")),
        Column("carrier", ("运输单位代码", "carrier_uscc", "carrier")),
        Column("planned_date", ("计划日期", "planned_date"), required=False),
        Column("waste_code", ("废物代码", "waste_code")),
        Column("estimated_t", ("数量(吨)", "estimated_t", "tonnes")),
        Column("description", ("废物名称", "description"), required=False),
        Column("packaging", ("包装", "packaging"), required=False),
    ]


IMPORT_COLUMNS = _import_columns()
IMPORT_MAX_ROWS = 500
_IMPORT_FIELD_COLUMN = {
    "consignee_id": "consignee",
    "carrier_id": "carrier",
    "lines[1].waste_code": "waste_code",
    "lines[1].estimated_t": "estimated_t",
    "lines[1].description": "description",
    "lines[1].packaging": "packaging",
    "lines": "estimated_t",
}


def import_drafts(actor: Actor, *, content: bytes, filename: str, issue: bool = False) -> list[Transfer]:
    """One manifest per row (stream, consignee and carrier USCC, date, code, tonnes); all or none.

    Every row is checked; every fault is reported by sheet, row and column (`ImportRejected`) and
    then nothing is written (numbers taken by the rows that were fine are given back too)."""
    from zerowaste.core.tabular import Fault, ImportRejected, Limits, read_table

    _require_member(actor, "create")
    # One data row more than allowed is read, so that the refusal below can name the limit.
    table = read_table(
        content, filename, IMPORT_COLUMNS, limits=Limits.from_settings(max_rows=IMPORT_MAX_ROWS + 1)
    )
    if table.faults:
        raise ImportRejected(table.faults)
    if not table.rows:
        raise ImportRejected([Fault(table.sheet, 2, "", "file", _("the sheet has no manifest rows"))])
    if len(table.rows) > IMPORT_MAX_ROWS:
        raise Invalid.field("file", _("at most %(n)d manifests per sheet") % {"n": IMPORT_MAX_ROWS})
    faults: list[Fault] = []
    created: list[Transfer] = []
    orgs = {o.uscc: o.pk for o in Organization.objects.filter(zone_id=actor.zone_id)}
    with transaction.atomic():
        for row in table.rows:
            v = row.values
            stream = str(v.get("stream") or "").strip().lower()
            stream = streams.code_for_label(stream)
            row_faults: list[Fault] = []
            ids: dict[str, int] = {}
            for col in ("consignee", "carrier"):
                uscc = str(v.get(col) or "").strip().upper()
                if uscc not in orgs:
                    row_faults.append(
                        row.fault(col, _("no organization with code %(uscc)s in the zone") % {"uscc": uscc})
                    )
                ids[col] = orgs.get(uscc, -1)
            data = {
                "stream": stream,
                "consignee_id": ids["consignee"],
                "carrier_id": ids["carrier"],
                "planned_date": v.get("planned_date") or timezone.localdate(),
                "lines": [
                    {
                        "waste_code": str(v.get("waste_code") or ""),
                        "estimated_t": v.get("estimated_t"),
                        "description": str(v.get("description") or ""),
                        "packaging": str(v.get("packaging") or ""),
                    }
                ],
            }
            if not row_faults:
                try:
                    with transaction.atomic():
                        created.append(create_transfer(actor, data=data, issue=issue))
                except Invalid as exc:
                    for err in exc.errors or [{"field": "", "message": exc.message}]:
                        name = str(err.get("field") or "")
                        row_faults.append(
                            row.fault(_IMPORT_FIELD_COLUMN.get(name, name), str(err.get("message")))
                        )
            faults.extend(row_faults)
        if faults:
            raise ImportRejected(faults)
    return created


def import_template_xlsx(actor: Actor) -> bytes:
    """An empty sheet with the import's headers, one example row of the actor's own parties' codes."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = tabular.new_workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "联单"
    sheet.append([c.headers[0] + ("*" if c.required else "") for c in IMPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    stream_choice = DataValidation(type="list", formula1=f'"{",".join(streams.codes())}"', allow_blank=False)
    sheet.add_data_validation(stream_choice)
    stream_choice.add("A2:A501")
    for letter, width in zip("ABCDEFGH", (8, 22, 22, 12, 14, 10, 20, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    return tabular.workbook_bytes(workbook)
