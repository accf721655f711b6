"""The hazardous-waste label (危险废物标签) of a container, as a 100 × 100 mm PDF with a QR code.

Content follows the pilot's rule that labels be complete (seed:4027, 4091): code, category, name,
hazard characteristics, producer, date into store, quantity, operator, container number. ReportLab's
built-in CID font `STSong-Light` renders Chinese with no font file.
"""

from __future__ import annotations

import io

import qrcode
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph

from . import rules
from .models import Container

FONT = "STSong-Light"
SIZE = 100 * mm
HAZARD_ZH = {"T": "毒性", "C": "腐蚀性", "I": "易燃性", "R": "反应性", "In": "感染性"}


def hazard_text(raw: str) -> str:
    parts = [p for p in raw.replace("/", ",").split(",") if p]
    return "、".join(HAZARD_ZH.get(p, p) for p in parts) or "—"


def _qr(text: str) -> io.BytesIO:
    image = qrcode.make(text, box_size=3, border=1)
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def render(c: Container) -> bytes:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(SIZE, SIZE))
    pdf.setTitle(f"危险废物标签 {c.number}")
    # The label's yellow background and black frame (GB 18597 style).
    pdf.setFillColor(colors.HexColor("#FFD200"))
    pdf.rect(0, 0, SIZE, SIZE, fill=1, stroke=0)
    pdf.setStrokeColor(colors.black)
    pdf.setLineWidth(1.5)
    pdf.rect(3 * mm, 3 * mm, SIZE - 6 * mm, SIZE - 6 * mm)
    pdf.setFillColor(colors.black)
    pdf.setFont(FONT, 16)
    pdf.drawCentredString(SIZE / 2, SIZE - 13 * mm, "危 险 废 物")
    pdf.setLineWidth(0.8)
    pdf.line(3 * mm, SIZE - 16 * mm, SIZE - 3 * mm, SIZE - 16 * mm)
    style = ParagraphStyle("label", fontName=FONT, fontSize=7.5, leading=9.5)
    rows = [
        ("废物名称", c.waste_name),
        ("废物类别", c.category),
        ("废物代码", c.waste_code),
        ("危险特性", hazard_text(c.hazard)),
        ("产生单位", c.producer.name),
        ("入库日期", c.collected_on.isoformat()),
        ("数量", f"{rules.kg_to_t(c.quantity_kg)} t（{c.quantity_kg} kg）"),
        ("包装", c.packaging or "—"),
        ("贮存位置", f"{c.store.name} {c.bay}"),
        ("运营单位", c.store.operator.name),
        ("容器编号", c.number),
    ]
    y = SIZE - 20 * mm
    width = SIZE - 40 * mm
    for label, value in rows:
        p = Paragraph(f"<b>{label}：</b>{_escape(value)}", style)
        _w, h = p.wrap(width, 30 * mm)
        y -= h + 0.6 * mm
        p.drawOn(pdf, 6 * mm, y)
    pdf.drawImage(
        _reader(_qr(f"HW:{c.number}:{c.waste_code}:{c.quantity_kg}kg")),
        SIZE - 32 * mm,
        6 * mm,
        26 * mm,
        26 * mm,
    )
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _escape(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _reader(data: io.BytesIO):  # type: ignore[no-untyped-def]
    from reportlab.lib.utils import ImageReader

    return ImageReader(data)
