"""The printable manifest (转移联单) in Chinese, with a QR code opening the public verification page.

ReportLab's built-in CID font `STSong-Light` renders Chinese without font files.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode

import qrcode
from django.urls import reverse
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import rules, services
from .models import Transfer

FONT = "STSong-Light"
STREAM_ZH = {"hw": "危险废物转移联单", "isw": "一般工业固体废物电子联单"}


def verification_url(t: Transfer, base_url: str) -> str:
    path = reverse("transfers:verify", args=[t.number or "-"])
    return base_url.rstrip("/") + path + "?" + urlencode({"c": services.verification_code(t)})


def _qr(url: str) -> io.BytesIO:
    image = qrcode.make(url, box_size=4, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def _fmt(moment: object) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def render(t: Transfer, base_url: str) -> bytes:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    title = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=20, alignment=1)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{STREAM_ZH[t.stream]} {t.number or ''}",
    )
    story: list[object] = [Paragraph(STREAM_ZH[t.stream], title), Spacer(1, 4 * mm)]
    url = verification_url(t, base_url) if t.number else ""
    head = [
        [
            Paragraph(f"联单编号：{t.number or '（草稿）'}", body),
            Paragraph(f"状态：{rules.STATE_LABELS_ZH[t.state]}", body),
            Paragraph(f"版本：{t.version}", body),
        ]
    ]
    story.append(Table(head, colWidths=[70 * mm, 50 * mm, 60 * mm]))
    if url:
        story.append(Image(_qr(url), width=30 * mm, height=30 * mm, hAlign="RIGHT"))
        story.append(Paragraph(f"扫码核验：{url}", body))
    story.append(Spacer(1, 3 * mm))

    def p(text: object) -> Paragraph:
        return Paragraph(str(text or ""), body)

    parties = [
        [p("移出单位"), p(f"{t.consignor.name}（{t.consignor.uscc}）"), p("发起时间"), p(_fmt(t.issued_at))],
        [
            p("接收单位"),
            p(f"{t.consignee.name}（{t.consignee.uscc}）"),
            p("计划日期"),
            p(t.planned_date.isoformat()),
        ],
        [
            p("运输单位"),
            p(f"{t.carrier.name}（{t.carrier.uscc}）"),
            p("跨省转移"),
            p("是" if t.inter_provincial else "否"),
        ],
        [p("利用处置方式"), p(t.treatment), p("应急措施"), p(t.emergency_measures)],
    ]
    story.append(_grid(parties, [25 * mm, 75 * mm, 25 * mm, 55 * mm]))
    story.append(Spacer(1, 3 * mm))
    lines = [
        [
            p(h)
            for h in (
                "序号",
                "废物代码",
                "类别",
                "名称",
                "危险特性",
                "包装",
                "件数",
                "预计量(吨)",
                "接收量(吨)",
            )
        ]
    ]
    for line in t.lines.all():
        lines.append(
            [
                p(line.position),
                p(line.waste_code),
                p(line.category),
                p(line.description),
                p(line.hazard),
                p(line.packaging),
                p(line.package_count),
                p(line.estimated_t),
                p(line.received_t if line.received_t is not None else ""),
            ]
        )
    story.append(
        _grid(lines, [10 * mm, 22 * mm, 14 * mm, 44 * mm, 16 * mm, 16 * mm, 12 * mm, 22 * mm, 24 * mm])
    )
    story.append(Spacer(1, 3 * mm))
    legs = [[p(h) for h in ("运输段", "运输单位", "车牌", "驾驶员", "核实数量(吨)", "起运时间", "交接时间")]]
    for leg in t.legs.select_related("carrier"):
        legs.append(
            [
                p(leg.seq),
                p(leg.carrier.name),
                p(leg.vehicle_plate),
                p(leg.driver),
                p(leg.quantity_seen_t if leg.quantity_seen_t is not None else ""),
                p(_fmt(leg.picked_up_at)),
                p(_fmt(leg.handed_over_at)),
            ]
        )
    story.append(_grid(legs, [14 * mm, 48 * mm, 22 * mm, 20 * mm, 22 * mm, 27 * mm, 27 * mm]))
    story.append(Spacer(1, 3 * mm))
    receipt = [
        [
            p("接收量(吨)"),
            p(t.received_t if t.received_t is not None else ""),
            p("拒收量(吨)"),
            p(t.refused_t),
        ],
        [p("拒收原因"), p(t.refusal_reason), p("差异说明"), p(t.discrepancy_note)],
        [p("关闭时间"), p(_fmt(t.closed_at)), p("差异"), p("有" if t.discrepancy else "无")],
    ]
    story.append(_grid(receipt, [25 * mm, 65 * mm, 25 * mm, 65 * mm]))
    story.append(Spacer(1, 3 * mm))
    sigs = [[p(h) for h in ("签署环节", "签署人", "时间", "数量(吨)")]]
    for s in t.signatures.all():
        sigs.append(
            [
                p(str(rules.ACTION_LABELS.get(s.action, s.action))),
                p(s.username),
                p(_fmt(s.at)),
                p(s.quantity_t if s.quantity_t is not None else ""),
            ]
        )
    story.append(_grid(sigs, [45 * mm, 45 * mm, 45 * mm, 45 * mm]))
    doc.build(story)  # type: ignore[arg-type]
    return out.getvalue()


def _grid(rows: list[list[object]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
            ]
        )
    )
    return table
