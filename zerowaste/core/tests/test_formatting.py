"""The one formatter of quantities, counts and catalog codes (issue 16 item 6, ADR 0050)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from zerowaste.core import formatting
from zerowaste.core.tabular import number_format, numeric_cell


@pytest.fixture(params=["zh-hans", "en"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    with translation.override(request.param):
        yield request.param


def _zh(language: str) -> bool:
    return language.startswith("zh")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("3.00500000000000"), "3.005"),  # the declaration total of the issue
        ("208400", "208,400.000"),
        (208400, "208,400.000"),
        (Decimal("0.0005"), "0.001"),  # half-up, not banker's rounding
        (Decimal("0.0015"), "0.002"),
        (Decimal("2.0025"), "2.003"),
        (Decimal("-1234.5"), "-1,234.500"),
        (Decimal("-0.0001"), "0.000"),  # never "-0.000"
        (Decimal("123456789012345.678"), "123,456,789,012,345.678"),
        (Decimal("1E+20"), "100,000,000,000,000,000,000.000"),
        (0.1, "0.100"),  # a float by its shortest repr, never 0.1000000000000000055…
        ("1,234.5", "1,234.500"),
    ],
)
def test_format_number_rounds_half_up_with_separators(value: object, shown: str) -> None:
    assert formatting.format_number(value) == shown


def test_quantities_carry_the_unit_of_the_page_language(language: str) -> None:
    zh = _zh(language)
    assert formatting.format_quantity("208400") == ("208,400.000 吨" if zh else "208,400.000 t")
    assert formatting.format_quantity(Decimal("3.00500000000000")) == ("3.005 吨" if zh else "3.005 t")
    assert formatting.format_quantity(Decimal("5000.4"), "kg") == ("5,000 千克" if zh else "5,000 kg")
    assert formatting.format_quantity("4", "t/month") == ("4.000 吨/月" if zh else "4.000 t/month")
    assert formatting.format_quantity("12704723.291", "CNY") == (
        "12,704,723.29 元" if zh else "12,704,723.29 CNY"
    )
    assert formatting.format_quantity(Decimal("-2.5")) == ("-2.500 吨" if zh else "-2.500 t")
    assert formatting.unit_label("t") == ("吨" if zh else "t")
    assert formatting.unit_label("%") == "%"  # a unit it does not know, as given


@pytest.mark.parametrize("empty", [None, ""])
def test_nothing_is_a_dash(empty: object) -> None:
    assert formatting.format_quantity(empty) == "—"
    assert formatting.format_number(empty) == "—"
    assert formatting.format_count(empty) == "—"
    assert formatting.format_figure(empty) == "—"
    assert formatting.format_code("isw", empty, None) == "—"


@pytest.mark.parametrize("text", ["n/a", "较好", "NaN", "Infinity", "1e309x"])
def test_text_that_is_no_number_is_shown_as_it_is(text: str) -> None:
    assert formatting.format_quantity(text) == text
    assert formatting.format_figure(text) == text


def test_counts_and_figures() -> None:
    assert formatting.format_count(2276) == "2,276"
    assert formatting.format_count("1711") == "1,711"
    assert formatting.format_count(-875) == "-875"
    assert formatting.format_figure(Decimal("208400")) == "208,400"
    assert formatting.format_figure(Decimal("0.5")) == "0.5"
    assert formatting.format_figure(Decimal("96.00001871401151631477927063")) == "96.000"
    assert formatting.format_figure("8336") == "8,336"


def test_guess_stream_by_the_code_shape() -> None:
    assert formatting.guess_stream("ISW01") == "isw"
    assert formatting.guess_stream("99-02-01") == "isw"
    assert formatting.guess_stream("HW49") == "hw"
    assert formatting.guess_stream("900-041-49") == "hw"
    assert formatting.guess_stream("kitchen") == ""


def test_template_filters(language: str) -> None:
    zh = _zh(language)
    html = Template(
        "{% load zw_format %}{{ q|quantity }}|{{ q|quantity:'kg' }}|{{ q|amount }}|"
        "{{ n|count }}|{{ u|unit_name }}"
    ).render(Context({"q": Decimal("208400.0004"), "n": 2276, "u": "t"}))
    assert html == (
        "208,400.000 吨|208,400 千克|208,400.000|2,276|吨"
        if zh
        else "208,400.000 t|208,400 kg|208,400.000|2,276|t"
    )


def test_xlsx_cells_stay_numbers_with_three_decimals() -> None:
    assert numeric_cell("3.005") == Decimal("3.005")
    assert numeric_cell("-12.500") == Decimal("-12.500")
    assert numeric_cell("99-02-01") == "99-02-01"  # a code stays text
    assert numeric_cell("91110302MA01ABCD1X") == "91110302MA01ABCD1X"
    assert numeric_cell("1234") == "1234"  # whole-number text (a USCC, a year) stays text
    assert number_format(Decimal("208400.000")) == "#,##0.000"
    assert number_format(2276) == "#,##0"
    assert number_format("208400.000") == ""
    assert number_format(True) == ""


@pytest.mark.django_db
def test_code_names_come_from_the_zone_catalog_in_three_queries(zone, language: str) -> None:  # type: ignore[no-untyped-def]
    from zerowaste.catalog import services as catalog
    from zerowaste.core.authz import Actor

    catalog.load_standard_catalogs(Actor.system(zone), ["isw"])
    zone_id = zone.pk
    formatting._forget_names()
    with CaptureQueriesContext(connection) as queries:
        shown = [formatting.format_code("isw", "ISW01", zone_id) for _ in range(500)]
        entry = formatting.format_code("isw", "99-01-01", zone_id)
    assert len(queries) <= 3  # the versions, the categories, the entries — once, not 500 times
    zh = _zh(language)
    assert shown[0] == ("ISW01 电子行业废物" if zh else "ISW01 Electronics industry waste")
    assert entry == ("99-01-01 废硅片" if zh else "99-01-01 Waste silicon wafers")
    assert formatting.format_code("isw", "ISW99", zone_id) == "ISW99"  # unknown: the code alone


@pytest.mark.parametrize(("lang", "tonnes"), [("zh-hans", "208,400.000 吨"), ("en", "208,400.000 t")])
def test_the_charts_formatter_speaks_like_the_server(lang: str, tonnes: str) -> None:
    """`numbers.js` (the charts') gives what `format_quantity` gives, in the page's language."""
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js")
    script = Path(__file__).parents[2] / "portal/static/portal/numbers.js"
    program = (
        f"globalThis.window = {{}}; globalThis.document = {{documentElement: {{lang: {lang!r}}}}};"
        f"require({str(script)!r}); const f = window.zwNumbers;"
        "console.log(JSON.stringify([f.quantity('208400'), f.quantity('3.00500000000000'), f.quantity(null),"
        "f.quantity('5000.4', 'kg'), f.number('-0.0001'), f.count(2276), f.unit('t/month')]));"
    )
    out = subprocess.run([node, "-e", program], capture_output=True, text=True, check=True, timeout=30).stdout
    zh = lang.startswith("zh")
    with translation.override(lang):
        assert json.loads(out) == [
            tonnes,
            formatting.format_quantity("3.00500000000000"),
            "—",
            formatting.format_quantity("5000.4", "kg"),
            "0.000",
            "2,276",
            "吨/月" if zh else "t/month",
        ]
