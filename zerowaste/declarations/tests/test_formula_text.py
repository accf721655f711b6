"""Formula-looking text is plain text on the way in (a waste may be named "=A1" by mistake) and is
neutralized on the way out: the declarations' Excel and CSV exports carry no formula (issue 15)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from zerowaste.declarations import services
from zerowaste.declarations.models import DeclarationLine
from zerowaste.testing import parties

from .conftest import World

pytestmark = pytest.mark.django_db

HEADER = "统一社会信用代码,申报期,废物代码,废物名称,单位,产生量,委托利用量,期末贮存量,去向\n"
FORMULAS = ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(1)"]


def test_formula_text_is_imported_as_text_and_exported_neutralized(world: World) -> None:
    codes = ["99-01-01", "99-12-01", "99-01-05", "99-02-01"]
    out = io.StringIO()
    writer = csv.writer(out)
    for code, name in zip(codes, FORMULAS, strict=True):
        writer.writerow([world.producer.uscc, "2020-03", code, name, "t", "1", "1", "0", name])
    content = (HEADER + out.getvalue()).encode()
    services.import_file(world.clerk, content=content, filename="f.csv", submit=True)
    assert sorted(DeclarationLine.objects.values_list("waste_name", flat=True)) == sorted(FORMULAS)
    client = Client()
    client.force_login(parties.make_member(world.regulator_org).user)
    book = load_workbook(io.BytesIO(client.get("/api/declarations/export?format=xlsx").content))
    assert book.active is not None
    cells = [c for row in book.active.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert {f"'{m}" for m in FORMULAS} <= {c.value for c in cells}
    text = client.get("/api/declarations/export?format=csv").content.decode("utf-8-sig")
    values = {v for row in csv.reader(io.StringIO(text)) for v in row}
    assert {f"'{m}" for m in FORMULAS} <= values and not set(FORMULAS) & values
