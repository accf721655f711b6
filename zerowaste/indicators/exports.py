"""The zone-year indicator report as Excel and PDF, in Chinese, in the seed's layout (seed:190-246).

Columns: 序号, 一级指标, 二级指标, 三级指标 (★ required), baseline, target, achieved, 是否完成 and
the reason; the self-selected indicators follow as table 2. A summary (class counts, completion) and
the notes where the published claims disagree with the figures close the report; the Excel file has
a second sheet with every input value and where it came from.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from zerowaste.core import tabular
from zerowaste.core.formatting import format_figure

from . import rules, services

FONT = "STSong-Light"
MET_ZH = {True: "完成", False: "未完成", None: "待填报"}
NEEDS_JUDGMENT_ZH = "需研判"  # a reasonable level awaiting a regulator's judgment (ADR 53)
ORIGIN_ZH = {
    "file": "文件输入",
    "entered": "部门填报",
    "derived": "平台数据",
    "computed": "计算",
    "previous_year": "上年数据",
    "missing": "缺失",
}


def _name(row: dict[str, Any]) -> str:
    return row["name"] + ("★" if row["class"] == "required" else "")


def _with_unit(value: str | None, text: str | None, unit: str) -> str:
    if value is None:
        return text or "暂无"
    shown = format_figure(value)  # 8,336 吨: separators, the figure's own decimals (ADR 0050)
    if unit == "%":
        return f"{shown}%"
    return f"{shown} {unit}".strip()


def shown(value: str | None, text: str | None, unit: str) -> str:
    """A baseline or target as the seed prints it: its own text (1—2个, 暂无, a phrase) or number and unit."""
    if text and text != value:
        return text
    return _with_unit(value, text, unit)


_shown = shown


def table_rows(evaluation: services.Evaluation) -> list[dict[str, Any]]:
    """Report lines: one per indicator, one more per further part (indicator 31's operators)."""
    lines: list[dict[str, Any]] = []
    for row in services.rows_of(evaluation):
        parts = row["parts"] or [
            {
                "label": "",
                "unit": row["unit"],
                "baseline": row["baseline"],
                "baseline_text": row["baseline_text"],
                "target": row["target"],
                "target_text": row["target_text"],
                "achieved": row["achieved"],
                "met": row["met"],
                "needs_judgment": row["needs_judgment"],
                "rounding_note": row["rounding_note"],
                "reason": row["reason"],
            }
        ]
        for i, part in enumerate(parts):
            unit = part["unit"]
            lines.append(
                {
                    "number": row["number"] if i == 0 else "",
                    "class": row["class"],
                    "level1": row["level1"],
                    "level2": row["level2"],
                    "name": (_name(row) if i == 0 else "") + (f"：{part['label']}" if part["label"] else ""),
                    "baseline": _shown(part["baseline"], part["baseline_text"], unit),
                    "target": _shown(part["target"], part["target_text"], unit),
                    "achieved": _with_unit(part["achieved"], "—", unit)
                    if part["achieved"] is not None
                    else "—",
                    "met": NEEDS_JUDGMENT_ZH if part["needs_judgment"] else MET_ZH[part["met"]],
                    "reason": "；".join(t for t in (part["reason"], part["rounding_note"] or "") if t),
                }
            )
    return lines


def _headers(evaluation: services.Evaluation) -> list[str]:
    s = evaluation.indicator_set
    return [
        "序号",
        "一级指标",
        "二级指标",
        "三级指标",
        f"{s.baseline_year}年基准值",
        f"{s.target_year}年目标值",
        f"{evaluation.year}年完成值",
        "是否完成",
        "说明",
    ]


def _summary_lines(evaluation: services.Evaluation) -> list[str]:
    summary = evaluation.summary
    out = [
        f"共 {summary['total']} 项，完成 {summary['met']} 项，未完成 {summary['not_met']} 项，"
        f"需研判 {summary['needs_judgment']} 项，待填报 {summary['unknown']} 项；完成率 "
        + (f"{summary['completion'] * 100:.0f}%" if summary["completion"] is not None else "—")
        + "（完成数 ÷ 已评价数）。"
    ]
    for cls in rules.CLASSES:
        b = summary["by_class"][cls]
        out.append(
            f"{rules.CLASS_LABELS_ZH[cls]}：共 {b['total']} 项，完成 {b['met']} 项，"
            f"未完成 {b['not_met']} 项。"
        )
    for item in summary["not_met_list"]:
        out.append(f"未完成：第 {item['number']} 项 {item['name']}：{item['reason']}")
    for item in summary["needs_judgment_list"]:
        out.append(f"需研判：第 {item['number']} 项 {item['name']}：{item['reason']}")
    for item in summary["rounding_list"]:
        out.append(f"取整提示：第 {item['number']} 项 {item['name']}：{item['note']}")
    out.extend(f"注：{note}" for note in evaluation.notes)
    return out


def to_xlsx(evaluation: services.Evaluation) -> bytes:
    workbook = tabular.new_workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = f"指标{evaluation.year}"
    s = evaluation.indicator_set
    sheet.append([f"{s.name}（{evaluation.year}年）"])
    sheet["A1"].font = Font(bold=True, size=14)
    headers = _headers(evaluation)
    lines = table_rows(evaluation)
    self_lines = [ln for ln in lines if ln["class"] == "self"]
    main_lines = [ln for ln in lines if ln["class"] != "self"]
    for title, block in (
        ("表 1 指标体系（自选指标除外）", main_lines),
        ("表 2 指标体系（自选）", self_lines),
    ):
        sheet.append([])
        sheet.append([title])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        sheet.append(headers)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDEBF7")
        first_row = sheet.max_row + 1
        for ln in block:
            sheet.append(
                [
                    ln["number"],
                    ln["level1"],
                    ln["level2"],
                    ln["name"],
                    ln["baseline"],
                    ln["target"],
                    ln["achieved"],
                    ln["met"],
                    ln["reason"],
                ]
            )
            if ln["met"] == "未完成":
                sheet.cell(sheet.max_row, 8).font = Font(bold=True, color="C00000")
        _merge_runs(sheet, first_row, sheet.max_row, column=2)
        _merge_runs(sheet, first_row, sheet.max_row, column=3)
    sheet.append([])
    for line in _summary_lines(evaluation):
        sheet.append([line])
    for column, width in zip("ABCDEFGHI", (6, 16, 18, 44, 16, 22, 16, 10, 50), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    inputs = workbook.create_sheet("输入数据")
    inputs.append(
        ["键", "名称", "单位", "采用值", "来源", "平台数据", "部门填报", "填报来源", "证明材料", "用于指标"]
    )
    for cell in inputs[1]:
        cell.font = Font(bold=True)
    for key, state in evaluation.inputs.items():
        d = state.as_dict()
        entry = d["entry"] or {}
        inputs.append(
            [
                key,
                d["name"],
                d["unit"],
                d["value"],
                ORIGIN_ZH.get(d["origin"], d["origin"]),
                d["derived"],
                d["entered"],
                entry.get("source", ""),
                entry.get("evidence", ""),
                "、".join(state.used_by),
            ]
        )
    inputs.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJ", (30, 40, 14, 14, 10, 14, 14, 30, 20, 16), strict=True):
        inputs.column_dimensions[column].width = width
    return tabular.workbook_bytes(workbook)


def _merge_runs(sheet: Any, first: int, last: int, column: int) -> None:
    """Merge runs of equal level names down a column, as the seed's table does."""
    start = first
    for row in range(first + 1, last + 2):
        current = sheet.cell(row, column).value if row <= last else None
        if row > last or current != sheet.cell(start, column).value:
            if row - 1 > start:
                sheet.merge_cells(start_row=start, start_column=column, end_row=row - 1, end_column=column)
            start = row


def to_pdf(evaluation: services.Evaluation) -> bytes:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    title = ParagraphStyle("title", fontName=FONT, fontSize=14, leading=18, alignment=1)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=11, leading=14)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{evaluation.indicator_set.name} {evaluation.year}",
    )
    story: list[Any] = [
        Paragraph(f"{evaluation.indicator_set.name}（{evaluation.year}年）", title),
        Spacer(1, 4 * mm),
    ]
    lines = table_rows(evaluation)
    widths = [x * mm for x in (10, 24, 26, 62, 24, 34, 24, 14, 59)]
    for caption, block in (
        ("表 1 指标体系（自选指标除外）", [ln for ln in lines if ln["class"] != "self"]),
        ("表 2 指标体系（自选）", [ln for ln in lines if ln["class"] == "self"]),
    ):
        data = [[Paragraph(h, cell) for h in _headers(evaluation)]]
        for ln in block:
            data.append(
                [
                    Paragraph(str(ln[k]), cell)
                    for k in (
                        "number",
                        "level1",
                        "level2",
                        "name",
                        "baseline",
                        "target",
                        "achieved",
                        "met",
                        "reason",
                    )
                ]
            )
        table = Table(data, colWidths=widths, repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        for i, ln in enumerate(block, start=1):
            if ln["met"] == "未完成":
                style.append(("TEXTCOLOR", (7, i), (7, i), colors.HexColor("#C00000")))
        table.setStyle(TableStyle(style))
        story += [Paragraph(caption, heading), Spacer(1, 2 * mm), table, Spacer(1, 5 * mm)]
    story.append(Paragraph("完成情况", heading))
    story += [Paragraph(line, body) for line in _summary_lines(evaluation)]
    doc.build(story)
    return out.getvalue()
