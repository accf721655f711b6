"""Several manifests at once from a sheet: good file → N drafts; faulty file → every fault by
sheet/row/column and nothing written; CSV in UTF-8, UTF-8 with BOM and GBK; the API, the page and
the template."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from zerowaste.core.errors import Forbidden
from zerowaste.core.models import AuditEntry
from zerowaste.core.tabular import ImportRejected
from zerowaste.testing import parties
from zerowaste.transfers import services
from zerowaste.transfers.models import NumberCounter, Transfer, TransferLine
from zerowaste.transfers.testing import HW_CODE, ISW_CODE, World

HEADERS = ["类别", "接收单位代码", "运输单位代码", "计划日期", "废物代码", "数量(吨)", "废物名称", "包装"]


def _xlsx(rows: list[list[object]], headers: list[str] = HEADERS, title: str = "联单") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv(rows: list[list[object]], encoding: str) -> bytes:
    lines = [",".join(HEADERS)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _good_rows(w: World) -> list[list[object]]:
    r, c = w.receiver.uscc, w.carrier.uscc
    return [
        ["hw", r, c, "2026-12-01", HW_CODE, 2.5, "废矿物油", "桶"],
        ["hw", r, c, None, HW_CODE, "1.25", "废活性炭", "袋"],
        ["isw", r, c, None, ISW_CODE, 12, "废纸", ""],
    ]


def _counts() -> tuple[int, int, int]:
    return (Transfer.objects.count(), TransferLine.objects.count(), AuditEntry.objects.count())


def test_good_sheet_makes_one_draft_per_row(world: World) -> None:
    w = world
    clerk = w.actor(w.producer, "clerk")
    created = services.import_drafts(clerk, content=_xlsx(_good_rows(w)), filename="manifests.xlsx")
    assert len(created) == 3
    drafts = list(Transfer.objects.filter(consignor=w.producer).order_by("pk"))
    assert [t.state for t in drafts] == ["draft", "draft", "draft"]
    assert [t.stream for t in drafts] == ["hw", "hw", "isw"]
    assert [str(t.estimated_t) for t in drafts] == ["2.500", "1.250", "12.000"]
    assert drafts[0].planned_date.isoformat() == "2026-12-01"
    assert [t.lines.get().description for t in drafts] == ["废矿物油", "废活性炭", "废纸"]
    assert all(t.consignee_id == w.receiver.pk and t.carrier_id == w.carrier.pk for t in drafts)


def test_good_sheet_issued_at_once_takes_numbers(world: World) -> None:
    w = world
    created = services.import_drafts(
        w.actor(w.producer), content=_xlsx(_good_rows(w)[:2]), filename="m.xlsx", issue=True
    )
    assert [t.state for t in created] == ["issued", "issued"]
    assert len({t.number for t in created}) == 2 and all(len(t.number or "") == 14 for t in created)


def test_faulty_sheet_reports_every_fault_and_writes_nothing(world: World) -> None:
    w = world
    r, c = w.receiver.uscc, w.carrier.uscc
    rows: list[list[object]] = [
        *_good_rows(w),
        ["hw", "91110115XXXXXXXXXX", c, None, HW_CODE, 1, "", ""],  # row 5: unknown consignee (col B)
        ["hw", r, c, None, HW_CODE, -3, "", ""],  # row 6: negative tonnes (col F)
        ["hw", r, c, None, "999-999-99", 1, "", ""],  # row 7: unknown code (col E)
        ["xx", r, c, None, HW_CODE, 1, "", ""],  # row 8: unknown stream (col A)
    ]
    before = _counts()
    counter_before = list(NumberCounter.objects.values_list("pk", "last"))
    with pytest.raises(ImportRejected) as caught:
        services.import_drafts(w.actor(w.producer), content=_xlsx(rows), filename="m.xlsx", issue=True)
    faults = {(f["sheet"], f["row"], f["column"], f["field"]) for f in caught.value.errors}
    assert ("联单", 5, "B", "consignee") in faults
    assert ("联单", 6, "F", "estimated_t") in faults
    assert ("联单", 7, "E", "waste_code") in faults
    assert any(f[1] == 8 and f[2] == "A" and f[3] == "stream" for f in faults), faults
    assert {f[1] for f in faults} == {5, 6, 7, 8}
    assert all(f["message"] for f in caught.value.errors)
    assert _counts() == before
    assert list(NumberCounter.objects.values_list("pk", "last")) == counter_before


def test_missing_column_and_empty_sheet(world: World) -> None:
    w = world
    with pytest.raises(ImportRejected) as caught:
        services.import_drafts(
            w.actor(w.producer),
            content=_xlsx([["hw", "x"]], headers=["类别", "接收单位代码"]),
            filename="m.xlsx",
        )
    missing = {f["field"] for f in caught.value.errors}
    assert {"carrier", "waste_code", "estimated_t"} <= missing
    with pytest.raises(ImportRejected) as empty:
        services.import_drafts(w.actor(w.producer), content=_xlsx([]), filename="m.xlsx")
    assert empty.value.errors[0]["field"] == "file"
    assert Transfer.objects.count() == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(world: World, encoding: str) -> None:
    w = world
    content = _csv(_good_rows(w), encoding)
    if encoding == "utf-8-sig":
        assert content.startswith(b"\xef\xbb\xbf")
    created = services.import_drafts(w.actor(w.producer), content=content, filename="m.csv")
    assert len(created) == 3
    assert sorted(t.lines.get().description for t in created) == sorted(["废矿物油", "废活性炭", "废纸"])


def test_csv_fault_is_reported_by_row(world: World) -> None:
    w = world
    rows = _good_rows(w)
    rows[1][5] = "two"
    with pytest.raises(ImportRejected) as caught:
        services.import_drafts(w.actor(w.producer), content=_csv(rows, "gbk"), filename="m.csv")
    assert [(f["row"], f["column"], f["field"]) for f in caught.value.errors] == [(3, "F", "estimated_t")]
    assert Transfer.objects.count() == 0


def test_carrier_or_viewer_may_not_import(world: World) -> None:
    w = world
    with pytest.raises(Forbidden):
        services.import_drafts(w.actor(w.producer, "viewer"), content=_xlsx(_good_rows(w)), filename="m.xlsx")
    assert Transfer.objects.count() == 0


def test_api_import(world: World) -> None:
    w = world
    api = parties.api_client(w.producer)
    headers = {"Authorization": f"Bearer {api.token}"}
    good = api.client.post(
        "/api/transfers/import",
        {"file": _upload(_xlsx(_good_rows(w)), "m.xlsx")},
        headers=headers,
    )
    assert good.status_code == 201, good.content
    assert good.json()["created"] == 3 and len(good.json()["ids"]) == 3
    rows = _good_rows(w)
    rows[0][4] = "nonsense"
    bad = api.client.post("/api/transfers/import", {"file": _upload(_xlsx(rows), "m.xlsx")}, headers=headers)
    assert bad.status_code == 422
    body = bad.json()
    assert any(e.get("row") == 2 and e.get("column") == "E" for e in body["errors"]), body
    assert Transfer.objects.count() == 3
    anonymous = Client().post("/api/transfers/import", {"file": _upload(_xlsx(rows), "m.xlsx")})
    assert anonymous.status_code == 401


def _upload(content: bytes, name: str) -> object:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_import_page_and_template(world: World) -> None:
    w = world
    member = parties.make_member(w.producer, "clerk")
    client = Client()
    client.force_login(member.user)
    page = client.get("/transfers/import/")
    assert page.status_code == 200 and b'id="import-form"' in page.content
    template = client.get("/transfers/import/template.xlsx")
    assert template.status_code == 200
    sheet = load_workbook(io.BytesIO(template.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:6] == [
        "类别*",
        "接收单位代码*",
        "运输单位代码*",
        "计划日期",
        "废物代码*",
        "数量(吨)*",
    ]
    # the template, filled in, imports
    filled = load_workbook(io.BytesIO(template.content))
    ws = filled.active
    assert ws is not None
    for row in _good_rows(w):
        ws.append(row)
    out = io.BytesIO()
    filled.save(out)
    rows = _good_rows(w)
    rows[2][2] = "nope"
    bad = client.post("/transfers/import/", {"file": _upload(_xlsx(rows), "m.xlsx")})
    assert bad.status_code == 422
    assert b'id="import-faults"' in bad.content and b"<td>4</td><td>C</td>" in bad.content
    assert Transfer.objects.count() == 0
    ok = client.post("/transfers/import/", {"file": _upload(out.getvalue(), "filled.xlsx")})
    assert ok.status_code == 302
    assert Transfer.objects.filter(consignor=w.producer, state="draft").count() == 3
