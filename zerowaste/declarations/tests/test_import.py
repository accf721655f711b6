"""Import and export: the template, CSV in three encodings, every fault with its rule, all or nothing,
the background path with progress, and hypothesis fuzzing the CSV importer."""

from __future__ import annotations

import io
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from zerowaste.core.errors import Invalid
from zerowaste.core.tabular import ImportRejected
from zerowaste.declarations import services
from zerowaste.declarations.models import Declaration, DeclarationLine, ImportJob

from .conftest import World, line

pytestmark = pytest.mark.django_db

HEADER = (
    "统一社会信用代码,申报期,场所,废物代码,废物名称,单位,产生量,自行利用量,委托利用量,委托处置量,期末贮存量\n"
)


def _csv(world: World, rows: list[str]) -> str:
    return HEADER + "".join(f"{world.producer.uscc},{r}\n" for r in rows)


GOOD_ROWS = [
    "2020-03,,99-01-01,,t,10.5,0,10.5,0,0",
    "2020-03,,99-12-01,,kg,1500,500,1000,0,0",
    "2020-04,,99-01-01,,t,8,0,7,0,1",
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_every_encoding(world: World, encoding: str) -> None:
    content = _csv(world, GOOD_ROWS).encode(encoding)
    outcome = services.import_file(world.clerk, content=content, filename="decl.csv")
    assert outcome.job.status == "done" and len(outcome.declaration_ids) == 2
    march = Declaration.objects.get(period_start="2020-03-01")
    assert {(ln.waste_code, str(ln.generated_t)) for ln in march.lines.all()} == {
        ("99-01-01", "10.500"),
        ("99-12-01", "1.500"),
    }
    assert Declaration.objects.get(period_start="2020-04-01").lines.get().closing_t == 1


def test_every_fault_named_with_rule_and_nothing_written(world: World) -> None:
    rows = [
        "2020-03,,99-01-01,,t,10,0,9,0,0",  # row 2: balance off by 1 t
        "2020-03,,99-99-99,,t,1,0,1,0,0",  # row 3: not in the catalog
        "2020-13,,99-01-02,,t,1,0,1,0,0",  # row 4: no such month
        "2020-03,,99-01-03,,lb,1,0,1,0,0",  # row 5: unit
        "2020-03,,99-01-04,,t,abc,0,1,0,0",  # row 6: not a number
        "2020-03,,99-01-01,,t,1,0,1,0,0",  # row 7: duplicate of row 2
        "2020-03,车间,99-01-05,,t,1,0,1,0,0",  # row 8: no such site
    ]
    with pytest.raises(ImportRejected) as info:
        services.import_file(world.clerk, content=_csv(world, rows).encode(), filename="bad.csv")
    faults = {(f.row, f.field): f for f in info.value.faults}
    assert set(faults) == {
        (2, "closing_t"),
        (3, "waste_code"),
        (4, "period"),
        (5, "unit"),
        (6, "generated_t"),
        (7, "waste_code"),
        (8, "site"),
    }
    assert faults[(2, "closing_t")].column == "K" and faults[(2, "closing_t")].sheet == "bad.csv"
    # The rule's key is the fault's `rule`, for machines; the message a person reads does not show it.
    assert faults[(2, "closing_t")].rule == "balance" and "[" not in faults[(2, "closing_t")].message
    assert faults[(3, "waste_code")].rule == "catalog-code" and "[" not in faults[(3, "waste_code")].message
    assert faults[(7, "waste_code")].rule == "duplicate-line"
    assert not Declaration.objects.exists() and not DeclarationLine.objects.exists()
    assert not ImportJob.objects.exists()


def test_foreign_uscc_is_a_fault(world: World) -> None:
    content = (HEADER + "91110115000000999X,2020-03,,99-01-01,,t,1,0,1,0,0\n").encode()
    with pytest.raises(ImportRejected) as info:
        services.import_file(world.clerk, content=content, filename="x.csv")
    assert info.value.faults[0].field == "uscc" and info.value.faults[0].rule == "organization"


def test_dry_run_then_start_and_submit(world: World) -> None:
    outcome = services.import_file(
        world.clerk, content=_csv(world, GOOD_ROWS).encode(), filename="d.csv", dry_run=True
    )
    assert outcome.job.status == "checked" and not Declaration.objects.exists()
    assert [g["period"] for g in outcome.job.summary["groups"]] == ["2020-03", "2020-04"]
    started = services.start_job(world.clerk, outcome.job.pk, submit=True)
    assert started.job.status == "done"
    assert set(Declaration.objects.values_list("status", flat=True)) == {"submitted"}


def test_reimport_replaces_a_draft_but_not_a_submitted(world: World) -> None:
    services.import_file(world.clerk, content=_csv(world, GOOD_ROWS[:1]).encode(), filename="a.csv")
    services.import_file(
        world.clerk, content=_csv(world, ["2020-03,,99-01-01,,t,20,0,20,0,0"]).encode(), filename="b.csv"
    )
    decl = Declaration.objects.get()
    assert decl.lines.get().generated_t == 20
    services.submit(world.clerk, decl.pk)
    with pytest.raises(ImportRejected) as info:
        services.import_file(world.clerk, content=_csv(world, GOOD_ROWS[:1]).encode(), filename="c.csv")
    assert info.value.faults[0].rule == "life-cycle"


def test_template_round_trip(world: World) -> None:
    first = services.save_declaration(
        world.clerk,
        stream="isw",
        period="2020-02",
        lines=[line("99-01-01", "5", closing="2"), line("99-12-01", "1")],
    )
    services.submit(world.clerk, first.pk)
    content = services.template_xlsx(world.clerk, stream="isw", period="2020-03")
    book = load_workbook(io.BytesIO(content))
    sheet = book["申报"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2 and rows[0][4] == "99-01-01" and str(rows[0][7]) in {"2", "2.0"}
    assert book["名录"].max_row > 70  # the ISW catalog in force
    # The clerk fills generated/closing and transfers; the opening stock came prefilled.
    for r, (generated, util, closing) in zip(range(2, 4), [("3", "5", "0"), ("1", "1", "0")], strict=True):
        sheet.cell(r, 9).value = float(generated)
        sheet.cell(r, 12).value = float(util)
        sheet.cell(r, 14).value = float(closing)
    out = io.BytesIO()
    book.save(out)
    outcome = services.import_file(world.clerk, content=out.getvalue(), filename="filled.xlsx", submit=True)
    decl = Declaration.objects.get(pk=outcome.declaration_ids[0])
    assert decl.status == "submitted" and decl.lines.get(waste_code="99-01-01").opening_t == 2


def test_excel_faults_name_sheet_row_column(world: World) -> None:
    content = services.template_xlsx(world.clerk, stream="isw", period="2020-03")
    book = load_workbook(io.BytesIO(content))
    sheet = book["申报"]
    sheet.append(
        [world.producer.uscc, "2020-03", "isw", None, "99-01-01", None, "t", None, 5, None, None, 4, None, 0]
    )
    sheet.append(
        [world.producer.uscc, "2020-03", "isw", None, "99-12-01", None, "t", None, 5, None, None, 5, None, 1]
    )
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ImportRejected) as info:
        services.import_file(world.clerk, content=out.getvalue(), filename="t.xlsx")
    assert [(f.sheet, f.row, f.column) for f in info.value.faults] == [("申报", 2, "N"), ("申报", 3, "N")]


def test_background_import_with_progress(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "BACKGROUND_ROWS", 2)
    outcome = services.import_file(world.clerk, content=_csv(world, GOOD_ROWS).encode(), filename="big.csv")
    assert outcome.background
    job = services.get_job(world.clerk, outcome.job.pk)
    assert job.status == "done" and job.percent == 100 and job.processed_rows == 3
    assert Declaration.objects.count() == 2 and len(job.summary["ids"]) == 2


def test_export_csv_and_xlsx(world: World) -> None:
    services.import_file(world.clerk, content=_csv(world, GOOD_ROWS).encode(), filename="d.csv")
    rows = services.export_rows(world.clerk)
    assert len(rows) == 3 and rows[0][7] == "99-01-01" and rows[0][12] == "10.500"
    text = services.to_csv(services.EXPORT_HEADERS, rows).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("统一社会信用代码")
    book = load_workbook(io.BytesIO(services.to_xlsx("x", services.EXPORT_HEADERS, rows)))
    assert book.active is not None and book.active.max_row == 4


def test_invalid_encoding_is_a_fault(world: World) -> None:
    with pytest.raises(Invalid):
        services.import_file(world.clerk, content=b"\xff\xfe\x00garbage\x81\x82", filename="x.csv")


CELL = st.one_of(
    st.text(alphabet=string.printable + "吨千克，年月-", max_size=12),
    st.sampled_from(["2020-03", "99-01-01", "900-041-49", "t", "kg", "1", "0", "-1", "1e99", ""]),
)


@given(
    st.lists(st.lists(CELL, min_size=0, max_size=13), min_size=0, max_size=8),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    st.booleans(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_csv_no_crash_no_partial_write(
    world: World, rows: list[list[str]], encoding: str, with_header: bool
) -> None:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    if with_header:
        out.write(HEADER)
    writer.writerows(rows)
    before = (Declaration.objects.count(), DeclarationLine.objects.count())
    try:
        services.import_file(
            world.clerk, content=out.getvalue().encode(encoding, errors="replace"), filename="fuzz.csv"
        )
    except Invalid as exc:
        assert exc.errors or exc.message
        assert (Declaration.objects.count(), DeclarationLine.objects.count()) == before
        for fault in getattr(exc, "faults", []):
            assert fault.row >= 1 and fault.message
