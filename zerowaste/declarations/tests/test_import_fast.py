"""The fast import path (`fastimport`) against the general one (`read_table` + `LineChecker.check`):
the same declarations and the same faults, in the same order, for CSV (UTF-8 with BOM, GBK) and Excel."""

from __future__ import annotations

import io
import string
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from zerowaste.core.errors import Invalid
from zerowaste.core.models import Site
from zerowaste.core.tabular import ImportRejected
from zerowaste.declarations import fastimport, rules, services
from zerowaste.declarations.checking import CheckResult
from zerowaste.declarations.models import Declaration, DeclarationLine

from .conftest import World, line

pytestmark = pytest.mark.django_db

HEADER = (
    "统一社会信用代码,申报期,废物类型,场所,废物代码,废物名称,单位,期初贮存量,产生量,"
    "自行利用量,委托利用量,委托处置量,期末贮存量,去向\n"
)


def _csv(world: World, rows: list[str]) -> str:
    return HEADER + "".join(f"{world.producer.uscc},{r}\n" if r else " , \n" for r in rows)


GOOD = [
    "2020-03,,车间,99-01-01,,t,,10.5,0,10.5,0,0,甲公司",
    "2020-03,isw,,99-12-01,,kg,,1500,500,1000,0,0,",
    '2020-03,一般工业固体废物,, 99-01-02 ,,吨,," 1,000.25 ",0,1000.25,0,0,',
    '2020-04,,车间,99-01-01,,t,,8,0,7,0,1,"乙\t公司\\北"',
    "2020-04,,,99-12-01,,千克,,2500,0,2000,0,500,",
    "",
    "2020-05,,车间,99-01-01,,t,1,0,0,0,0,1,",
    "2020-05,,,99-12-01,,t,0.5,.5,1,0,0,0,",
    "2020-06,,车间,99-01-01,,t,,3,1e0,,,3,",
]
BAD = [
    "2020-03,,,99-01-03,,t,,10,0,9,0,0,",  # balance
    "2020-03,,,99-99-99,,t,,1,0,1,0,0,",  # not in the catalog
    "2020-13,,,99-01-02,,t,,1,0,1,0,0,",  # no such month
    "2020-03,,,99-01-04,,lb,,1,0,1,0,0,",  # unit
    "2020-03,,,99-01-05,,t,,abc,0,1,0,0,",  # not a number
    "2020-03,,车间,99-01-01,,t,,1,0,1,0,0,",  # duplicate
    "2020-03,,仓库,99-01-06,,t,,1,0,1,0,0,",  # no such site
    "2020-03,hw,,99-01-07,,t,,1,0,1,0,0,",  # not a HW code
    "2020-03,固废,,99-01-08,,t,,1,0,1,0,0,",  # unknown stream
    "2020-03,,,99-01-09,,t,,1.2345,0,1,0,0,",  # finer than a kilogram
    "2020-03,,,99-01-10,,kg,,1.5,0,1,0,0,",  # finer than a kilogram
    "2020-03,,,99-01-11,,t,,-1,0,1,0,0,",  # negative
    "2020-03,,,99-01-12,,t,,,0,1,0,0,",  # generated missing
    "2020-05,,,99-01-13,,t,3,1,0,1,0,0,",  # opening differs from last closing (none: 0)
    "2020Q2,,,99-01-14,,t,,1,0,1,0,0,",  # a quarter starting with April
    "2020-04,,,,,t,,1,0,1,0,0,",  # code missing
    "2020-04,,,abc,,t,,1,0,1,0,0,",  # neither ISW nor HW form
    "2020-06,,,99-12-01,,t,,1,0,1,0,0,",  # May had 99-12-01 … (balanced; also the opening fault)
]


def _both(world: World, content: bytes, filename: str) -> tuple[Any, Any]:
    """(declarations or faults) of the fast and the general path."""
    out: list[tuple[Any, ...]] = []
    for fast in (True, False):
        try:
            result = services.check_file(world.clerk, content, filename, fast=fast)
        except ImportRejected as exc:
            out.append(("faults", [f.as_dict() for f in exc.faults]))
        except Invalid as exc:
            out.append(("invalid", exc.message, exc.errors))
        else:
            assert isinstance(result.groups[0], fastimport.FastGroup) == fast
            out.append(("ok", _result_rows(world, result)))
    return out[0], out[1]


def _result_rows(world: World, result: CheckResult) -> Any:
    groups = []
    for group in result.groups:
        if isinstance(group, fastimport.FastGroup):
            lines = group.line_tuples(world.zone.pk, 0)
        else:
            lines = [
                (
                    world.zone.pk,
                    0,
                    ln.site_id,
                    ln.waste_code,
                    ln.waste_name,
                    ln.category_code,
                    *[ln.quantities[f] for f in rules.QTY_FIELDS],
                    ln.destination,
                    ln.position,
                )
                for ln in group.lines
            ]
        groups.append((group.key, group.period, group.existing, lines))
    return result.rows, result.summary(), groups


def _stored() -> list[tuple[Any, ...]]:
    return [
        (
            d.organization_id,
            d.stream,
            d.period_kind,
            d.period_start,
            d.status,
            d.version,
            *DeclarationLine.objects.filter(declaration=d)
            .order_by("position")
            .values_list(
                "site_id",
                "waste_code",
                "waste_name",
                "category_code",
                *rules.QTY_FIELDS,
                "destination",
                "position",
            ),
        )
        for d in Declaration.objects.order_by("period_start", "stream")
    ]


@pytest.fixture
def workshop(world: World) -> Site:
    return Site.objects.create(zone=world.zone, organization=world.producer, name="车间", kind="plant")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_fast_and_general_same_faults_on_mixed_file(world: World, workshop: Site, encoding: str) -> None:
    rows = [r for pair in zip(GOOD, BAD, strict=False) for r in pair] + BAD[len(GOOD) :]
    content = _csv(world, rows).encode(encoding)
    fast, general = _both(world, content, "mixed.csv")
    assert fast[0] == "faults" and fast == general
    rules_seen = {f.get("rule", "") for f in fast[1]}  # the key beside the message (issue 16, item 5)
    assert {"balance", "catalog-code", "period", "unit", "quantity", "duplicate-line", "site"} <= rules_seen
    assert {"stream", "required"} <= rules_seen


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_fast_and_general_same_declarations(world: World, workshop: Site, encoding: str) -> None:
    content = _csv(world, GOOD).encode(encoding)
    fast, general = _both(world, content, "good.csv")
    assert fast == general and fast[0] == "ok", fast
    services.import_file(world.clerk, content=content, filename="good.csv")
    via_fast = _stored()
    assert len(via_fast) == 4 and sum(len(d) - 6 for d in via_fast) == 8
    Declaration.objects.update(import_job=None)
    DeclarationLine.objects.all().delete()
    Declaration.objects.all().delete()
    result = services.check_file(world.clerk, content, "good.csv", fast=False)
    services.write_groups(world.clerk, result)
    assert _stored() == via_fast
    june = Declaration.objects.get(period_start="2020-06-01").lines.get()
    assert june.opening_t == 1 and june.utilized_t == 1 and june.closing_t == 3


def test_fast_path_against_the_database(world: World, workshop: Site) -> None:
    """Openings carried from stored declarations, and the life cycle of stored ones, on both paths."""
    services.save_declaration(
        world.clerk,
        stream="isw",
        period="2020-02",
        lines=[line("99-01-01", "5", closing="2", site="车间"), line("99-12-01", "1", closing="0.5")],
    )
    submitted = services.save_declaration(
        world.clerk, stream="isw", period="2020-01", lines=[line("99-01-01", "5")]
    )
    services.submit(world.clerk, submitted.pk)
    rows = [
        "2020-03,,车间,99-01-01,,t,,1,0,3,0,0,",  # opening 2 carried
        "2020-03,,,99-12-01,,t,0.4,1,0,1,0,0.4,",  # opening 0.4 ≠ 0.5
        "2020-01,,,99-01-01,,t,,5,0,5,0,0,",  # January is submitted
    ]
    fast, general = _both(world, _csv(world, rows).encode(), "db.csv")
    assert fast == general and fast[0] == "faults"
    assert [f["row"] for f in fast[1]] == [4, 3]
    fast, general = _both(
        world, _csv(world, [rows[0], "2020-03,,,99-12-01,,t,,1,0,1.5,0,0,"]).encode(), "ok.csv"
    )
    assert fast == general and fast[0] == "ok"


def test_fast_path_excel(world: World, workshop: Site) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "申报"
    sheet.append(HEADER.strip().split(","))
    uscc = world.producer.uscc
    sheet.append([uscc, "2020-03", None, "车间", "99-01-01", None, "t", None, 10.5, 0, 10.5, 0, 0, None])
    sheet.append([uscc, "2020-03", None, None, "99-12-01", None, "kg", None, 1500, 500, 1000, 0, 0, None])
    sheet.append([uscc, "2020-04", None, "车间", "99-01-01", None, "t", None, 0.1, 0, 0.1, 0, 0, None])
    sheet.append([uscc, 2020, None, None, "99-01-02", None, "t", None, 1, 0, 1, 0, 0, None])  # a year
    sheet.append([uscc, "2020-04", None, None, 990101, None, "t", None, 1, 0, 1, 0, 0, None])
    sheet.append([uscc, "2020-04", None, None, "99-01-03", None, "t", None, 1.0001, 0, 1, 0, 0, None])
    sheet.append([uscc, "2020-04", None, None, "99-01-04", None, "t", None, True, 0, 1, 0, 0, None])
    out = io.BytesIO()
    book.save(out)
    fast, general = _both(world, out.getvalue(), "x.xlsx")
    assert fast == general and fast[0] == "faults" and {f["row"] for f in fast[1]} == {6, 7, 8}
    for row in (8, 7, 6):
        sheet.delete_rows(row)
    out = io.BytesIO()
    book.save(out)
    fast, general = _both(world, out.getvalue(), "x.xlsx")
    assert fast == general and fast[0] == "ok"
    march = next(g for g in fast[1][2] if g[0][2].month == 3)
    assert march[3][0][6:13] == tuple(Decimal(x) for x in ("0.000", "10.500", "0", "0", "10.500", "0", "0"))


def test_fast_path_header_faults_and_progress(world: World) -> None:
    for content in (b"", b"\n\n", b"a,b\n1,2\n", HEADER.encode(), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1xx"):
        fast, general = _both(world, content, "h.csv")
        assert fast == general and fast[0] in ("faults", "invalid")
    seen: list[int] = []
    rows = [f"2020-{m:02d},,,99-01-{c:02d},,t,,1,0,1,0,0," for m in range(1, 13) for c in range(1, 50)]
    content = _csv(world, rows * 10).encode()
    with pytest.raises(ImportRejected):  # duplicates from the second copy on
        services.check_file(world.clerk, content, "p.csv", progress=seen.append)
    assert seen == list(range(5000, len(rows) * 10 + 1, 5000))


CELL = st.one_of(
    st.text(alphabet=string.printable + "吨千克，年月-车间", max_size=10),
    st.sampled_from(
        [
            "2020-03",
            "2020-04",
            "2020Q1",
            "2020",
            "99-01-01",
            "99-12-01",
            "900-041-49",
            "t",
            "kg",
            "吨",
            "hw",
            "isw",
            "车间",
            "1",
            "0",
            "0.5",
            "1.5",
            " 2 ",
            "1,000",
            "-1",
            "1e99",
            "1.0001",
            "",
            " ",
        ]
    ),
)


@given(
    st.lists(st.lists(CELL, min_size=0, max_size=14), min_size=0, max_size=10),
    st.sampled_from(["utf-8-sig", "gb18030"]),
    st.booleans(),
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_fast_equals_general(world: World, rows: list[list[str]], encoding: str, uscc: bool) -> None:
    import csv

    if not Site.objects.filter(name="车间").exists():
        Site.objects.create(zone=world.zone, organization=world.producer, name="车间", kind="plant")
    out = io.StringIO()
    out.write(HEADER)
    writer = csv.writer(out)
    writer.writerows([[world.producer.uscc, *r] if uscc else r for r in rows])
    content = out.getvalue().encode(encoding, errors="replace")
    fast, general = _both(world, content, "fuzz.csv")
    assert fast == general
