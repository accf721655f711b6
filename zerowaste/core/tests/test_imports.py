"""Organization import: every fault located by sheet/row/column, all or nothing, encodings, fuzzing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.imports import import_organizations
from zerowaste.core.models import Area, AuditEntry, Organization, Zone
from zerowaste.core.tabular import ImportRejected
from zerowaste.testing import parties

HEADER = ["统一社会信用代码", "单位名称", "角色", "所属街道", "行业"]


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


def _xlsx(rows: list[list[object]], header: list[str] = HEADER, title: str = "单位") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _counts() -> tuple[int, int]:
    return Organization.objects.count(), AuditEntry.objects.count()


def _faults(exc: pytest.ExceptionInfo[Invalid]) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["field"]) for e in exc.value.errors]  # type: ignore[misc]


@pytest.fixture
def area(zone: Zone) -> Area:
    return Area.objects.create(zone=zone, code="rh", name="荣华街道", kind="street")


def test_good_file_imports_every_row(zone: Zone, area: Area) -> None:
    a, b = parties.make_uscc(), parties.make_uscc()
    created = import_organizations(
        Actor.system(zone),
        _csv(
            [[a, "京东方", "产废单位", "荣华街道", "电子"], [b, "金隅红树林", "利用处置、运输", "", ""]]
        ).encode(),
        filename="orgs.csv",
    )
    assert [(o.uscc, o.name, o.role_codes) for o in created] == [
        (a, "京东方", ["producer"]),
        (b, "金隅红树林", ["carrier", "receiver"]),
    ]
    assert created[0].area_id == area.pk and created[0].industry == "电子"


def test_every_fault_is_located_and_nothing_written(zone: Zone, area: Area) -> None:
    existing = parties.make_org(zone)
    good, dup = parties.make_uscc(), parties.make_uscc()
    rows = [
        [good, "好单位", "产废", "", ""],  # row 2: fine
        ["91110000600037341N", "坏代码", "产废", "", ""],  # row 3: check character
        [dup, "重复甲", "产废", "", ""],  # row 4
        [dup, "重复乙", "产废", "", ""],  # row 5: duplicate of row 4
        [parties.make_uscc(), "", "外星人", "", ""],  # row 6: no name, unknown role
        [existing.uscc, "已注册", "产废", "", ""],  # row 7: already registered
        [parties.make_uscc(), "无区域", "产废", "火星街道", ""],  # row 8: unknown area
        ["", "无代码", "", "", ""],  # row 9: no USCC, no role
    ]
    before = _counts()
    with pytest.raises(ImportRejected) as exc:
        import_organizations(Actor.system(zone), _csv(rows).encode(), filename="orgs.csv")
    assert _faults(exc) == [
        (3, "A", "uscc"),
        (5, "A", "uscc"),
        (6, "B", "name"),
        (6, "C", "roles"),
        (7, "A", "uscc"),
        (8, "D", "area"),
        (9, "A", "uscc"),
        (9, "C", "roles"),
    ]
    assert all(e["sheet"] == "orgs.csv" for e in exc.value.errors)
    assert "18" in str(exc.value.errors[0]["message"])
    assert _counts() == before


def test_missing_required_columns(zone: Zone) -> None:
    with pytest.raises(ImportRejected) as exc:
        import_organizations(
            Actor.system(zone), _xlsx([["x"]], header=["单位名称", "备注"]), filename="a.xlsx"
        )
    assert [(e["sheet"], e["row"], e["field"]) for e in exc.value.errors] == [
        ("单位", 1, "uscc"),
        ("单位", 1, "roles"),
    ]


@pytest.mark.parametrize("content", [b"", b"   \n\n", "统一社会信用代码,单位名称,角色\n".encode()])
def test_empty_files(zone: Zone, content: bytes) -> None:
    before = _counts()
    with pytest.raises(ImportRejected) as exc:
        import_organizations(Actor.system(zone), content, filename="empty.csv")
    assert exc.value.errors[0]["field"] == "file"
    assert _counts() == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings_round_trip_chinese(zone: Zone, encoding: str) -> None:
    uscc = parties.make_uscc()
    content = _csv([[uscc, "北京金隅红树林环保技术有限责任公司", "利用处置单位", "", "环保"]]).encode(
        encoding
    )
    created = import_organizations(Actor.system(zone), content, filename="单位.csv")
    assert created[0].name == "北京金隅红树林环保技术有限责任公司" and created[0].industry == "环保"
    assert created[0].role_codes == ["receiver"]


def test_xlsx_with_sheet_and_numbers(zone: Zone) -> None:
    uscc = parties.make_uscc()
    content = _xlsx([[uscc, "奔驰", "产废单位", None, 123]], title="名单")
    created = import_organizations(Actor.system(zone), content, filename="x.xlsx", sheet="名单")
    assert created[0].name == "奔驰" and created[0].industry == "123"
    with pytest.raises(Invalid) as exc:
        import_organizations(Actor.system(zone), content, filename="x.xlsx", sheet="无此表")
    assert exc.value.errors[0]["field"] == "file"


def test_too_long_cells_are_faults(zone: Zone) -> None:
    before = _counts()
    with pytest.raises(Invalid) as exc:
        import_organizations(
            Actor.system(zone),
            _csv([[parties.make_uscc(), "长" * 300, "产废", "", ""]]).encode(),
            filename="long.csv",
        )
    assert [(e["row"], e["column"], e["field"]) for e in exc.value.errors] == [(2, "B", "name")]
    assert _counts() == before


def test_producer_may_not_import(zone: Zone) -> None:
    from zerowaste.core.errors import Forbidden

    with pytest.raises(Forbidden):
        import_organizations(parties.actor_of(parties.make_org(zone)), b"x", filename="a.csv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400), name=st.sampled_from(["a.csv", "a.xlsx", "a.txt"]))
def test_fuzz_random_bytes(zone: Zone, content: bytes, name: str) -> None:
    before = _counts()
    try:
        import_organizations(Actor.system(zone), content, filename=name)
    except Invalid as exc:
        assert exc.errors and all("field" in e for e in exc.errors)
        assert _counts() == before


_cell = st.one_of(
    st.text(max_size=30), st.sampled_from(["91110000600037341L", "产废", "外星人", "", "荣华街道"])
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_cell, min_size=0, max_size=6), max_size=6),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_fuzz_random_cells(zone: Zone, rows: list[list[str]], encoding: str) -> None:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER[:3])
    writer.writerows(rows)
    before = _counts()
    try:
        created = import_organizations(
            Actor.system(zone), buffer.getvalue().encode(encoding, errors="replace"), filename="f.csv"
        )
    except Invalid as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.get("field")
            if "row" in error and error["field"] != "file":
                assert int(str(error["row"])) >= 2 and error["column"]
        assert _counts() == before
    else:
        assert len(created) == Organization.objects.count() - before[0]


def test_api_import(zone: Zone) -> None:
    regulator = parties.make_org(zone, roles=("regulator",))
    client = parties.api_client(regulator)
    uscc = parties.make_uscc()
    upload = io.BytesIO(_csv([[uscc, "导入单位", "产废", "", ""]]).encode("gbk"))
    upload.name = "orgs.csv"
    headers = {"Authorization": f"Bearer {client.token}"}
    response = client.client.post("/api/organizations/import", {"file": upload}, headers=headers)
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 1
    bad = io.BytesIO(_csv([["91110000600037341N", "坏", "产废", "", ""]]).encode())
    bad.name = "bad.csv"
    response = client.client.post("/api/organizations/import", {"file": bad}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0] | {"message": ""} == {
        "sheet": "bad.csv",
        "row": 2,
        "column": "A",
        "field": "uscc",
        "message": "",
    }
    producer = parties.api_client(parties.make_org(zone))
    bad.seek(0)
    assert (
        producer.client.post(
            "/api/organizations/import", {"file": bad}, headers={"Authorization": f"Bearer {producer.token}"}
        ).status_code
        == 403
    )
    assert Client().post("/api/organizations/import", {"file": bad}).status_code == 401


def test_cli_import(zone: Zone, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "orgs.csv"
    path.write_bytes(_csv([[parties.make_uscc(), "命令行单位", "产废", "", ""]]).encode("utf-8-sig"))
    call_command("org", "import", str(path), "--format", "json", "--zone", zone.code)
    out = capsys.readouterr().out
    import json

    data = json.loads(out)
    assert data["created"] == 1 and data["organizations"][0]["name"] == "命令行单位"
    path.write_bytes(_csv([["91110000600037341N", "坏", "产废", "", ""]]).encode())
    before = _counts()
    with pytest.raises(SystemExit) as exc:
        call_command("org", "import", str(path), "--zone", zone.code)
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("zerowaste org: error:") and "A2" in err
    assert _counts() == before
