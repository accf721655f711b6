"""Pure rules: no database."""

from __future__ import annotations

import pytest

from zerowaste.catalog import rules
from zerowaste.core.tabular import Row

# These tests assert messages by their English wording.
pytestmark = pytest.mark.usefixtures("english")


def _rows(*values: dict[str, object]) -> list[Row]:
    letters = {"category": "B", "code": "C", "name": "D", "hazard": "F", "remark": "G", "replaces": "H"}
    return [Row("s", n, dict(v), letters) for n, v in enumerate(values, start=2)]


@pytest.mark.parametrize(
    ("stream", "code", "ok"),
    [
        ("isw", "99-08-03", True),
        ("isw", "07-13-01", True),
        ("isw", "99-8-03", False),
        ("isw", "990803", False),
        ("isw", "99-08-031", False),
        ("hw", "900-041-49", True),
        ("hw", "900-41-49", False),
        ("household", "recyclable.paper", True),
        ("household", "Kitchen", False),
        ("construction", "spoil", True),
    ],
)
def test_code_patterns(stream: str, code: str, ok: bool) -> None:
    assert (rules.validate_code(stream, code) is None) is ok


def test_guess_stream() -> None:
    assert rules.guess_stream("99-01-01") == "isw"
    assert rules.guess_stream("900-041-49") == "hw"
    assert rules.guess_stream("kitchen") is None


def test_hazard_primary_and_possible() -> None:
    h = rules.parse_hazard("T,I")
    assert (h.primary, h.possible, h.one_or_more) == (("T",), ("I",), False)
    h = rules.parse_hazard("T/C/I/R")
    assert (h.primary, h.possible, h.one_or_more) == ((), ("T", "C", "I", "R"), True)
    h = rules.parse_hazard("In")
    assert h.primary == ("In",) and h.possible == ()
    assert rules.parse_hazard("C，T").primary == ("C",)
    for bad in ("", "X", "T,T", "T,I/R"):
        with pytest.raises(ValueError):
            rules.parse_hazard(bad)


def test_category_cell_loses_layout_spaces() -> None:
    assert rules.split_category_cell("ISW01 电子行业 废物") == ("ISW01", "电子行业废物")
    assert rules.split_category_cell("ISW02 汽车制造 (维修)行业废物") == ("ISW02", "汽车制造(维修)行业废物")
    assert rules.split_category_cell("HW49") == ("HW49", "")


def test_parse_reports_every_fault_by_row_and_column() -> None:
    parsed = rules.parse_catalog(
        "isw",
        _rows(
            {"category": "ISW01 电子行业废物", "code": "99-01-01", "name": "废硅片"},
            {"code": "99-01-01", "name": "重复"},
            {"code": "99-1-02", "name": "坏代码"},
            {"category": "ISW77", "code": "99-77-01", "name": "无此类别"},
            {"category": "ISW01", "code": "99-01-03", "name": ""},
        ),
    )
    where = {(f.row, f.column, f.field) for f in parsed.faults}
    assert where == {(3, "C", "code"), (4, "C", "code"), (5, "B", "category"), (6, "D", "name")}
    assert "repeats row 2" in next(f.message for f in parsed.faults if f.row == 3)


def test_source_defects_are_warnings() -> None:
    parsed = rules.parse_catalog(
        "isw",
        _rows(
            {"category": "ISW06 印刷包装行业废料", "code": "99-06-02", "name": "废复合纸"},
            {"code": "99-06-04", "name": "废复合纸"},
            {"category": "ISW07 通用类废物", "code": "99-07-01", "name": "", "remark": "源文件缺少名称"},
            {"category": "ISW14 其他", "code": "99-14-01", "name": "其他类废物（自填）"},
        ),
    )
    assert not parsed.faults
    kinds = sorted(w.kind for w in parsed.warnings)
    assert kinds == ["duplicate_name", "free_text", "name_missing"]
    missing = next(e for e in parsed.entries if e.code == "99-07-01")
    assert missing.name == "" and "name_missing" in missing.flags
    assert next(e for e in parsed.entries if e.code == "99-14-01").requires_free_text


def test_hw_code_must_end_in_its_category() -> None:
    parsed = rules.parse_catalog(
        "hw", _rows({"category": "HW49 其他废物", "code": "900-041-48", "name": "x", "hazard": "T"})
    )
    assert parsed.faults and parsed.faults[0].field == "code"


def test_diff_added_retired_renamed_recoded() -> None:
    s = rules.EntrySnapshot
    old = {
        "99-01-01": s("99-01-01", "废硅片", "ISW01"),
        "99-01-02": s("99-01-02", "偏光膜", "ISW01"),
        "99-01-03": s("99-01-03", "偏光片", "ISW01"),
        "99-01-04": s("99-01-04", "废玻璃", "ISW01"),
        "99-01-05": s("99-01-05", "防护用品", "ISW01"),
    }
    new = {
        "99-01-01": s("99-01-01", "废硅片", "ISW01"),
        "99-01-02": s("99-01-02", "偏光膜边角料", "ISW01"),
        "99-01-07": s("99-01-07", "偏光片", "ISW01"),
        "99-01-08": s("99-01-08", "新废物", "ISW01"),
        "99-01-09": s("99-01-09", "洁净防护用品", "ISW01"),
    }
    diff = rules.compute_diff(old, new, {"99-01-05": "99-01-09"})
    assert [e.code for e in diff.added] == ["99-01-08"]
    assert [e.code for e in diff.retired] == ["99-01-04"]
    assert [(o.code, n.name) for o, n in diff.renamed] == [("99-01-02", "偏光膜边角料")]
    assert sorted((o.code, n.code) for o, n in diff.recoded) == [
        ("99-01-03", "99-01-07"),
        ("99-01-05", "99-01-09"),
    ]
    assert diff.unchanged == 1
