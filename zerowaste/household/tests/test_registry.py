"""The household registry: the workbook import (faults by sheet/row/column, all or nothing, idempotent
re-import), who may see and change what, the pages, the API lists and the QR sheets."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from openpyxl import Workbook, load_workbook

from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.errors import Forbidden, NotFound
from zerowaste.core.models import Area, Organization, Zone
from zerowaste.core.tabular import ImportRejected
from zerowaste.household import registry
from zerowaste.household.models import Bin, Source, Station
from zerowaste.household.testing import ensure_household_catalog
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


@dataclass
class World:
    zone: Zone
    street_a: Area
    street_b: Area
    c1: Area  # street A
    c2: Area  # street A
    c3: Area  # street B
    zone_regulator: Organization
    street_regulator: Organization
    property_org: Organization
    producer: Organization
    carrier: Organization

    def actor(self, org: Organization, role: str = "admin") -> Actor:
        return actor_for_membership(parties.make_member(org, role))

    def client(self, org: Organization, role: str = "admin") -> Client:
        client = Client()
        client.force_login(parties.make_member(org, role).user)
        return client


@pytest.fixture
def world(zone: Zone) -> World:
    ensure_household_catalog(zone)
    a = Area.objects.create(zone=zone, code="SA", name="甲街道", kind="street")
    b = Area.objects.create(zone=zone, code="SB", name="乙街道", kind="street")
    c1 = Area.objects.create(zone=zone, code="C1", name="一社区", kind="community", parent=a)
    c2 = Area.objects.create(zone=zone, code="C2", name="二社区", kind="community", parent=a)
    c3 = Area.objects.create(zone=zone, code="C3", name="三社区", kind="community", parent=b)
    return World(
        zone,
        a,
        b,
        c1,
        c2,
        c3,
        parties.make_org(zone, roles=("regulator",)),
        parties.make_org(zone, roles=("regulator",), area_id=a.pk),
        parties.make_org(zone, roles=("property",), area_id=c1.pk),
        parties.make_org(zone, roles=("producer",)),
        parties.make_org(zone, roles=("carrier",), name="环卫收运公司"),
    )


SHEETS: dict[str, list[str]] = {
    "户": ["户码", "社区", "户主", "地址", "管理责任人", "人数"],
    "单位": [
        "单位编码",
        "单位名称",
        "单位类型",
        "社区",
        "管理责任人",
        "地址",
        "收运合同编号",
        "收运单位",
        "合同起始日",
        "合同截止日",
    ],
    "站点": ["站点编码", "站点名称", "站点类型", "社区"],
    "容器": ["芯片号", "分类", "容量(L)", "站点编码", "户码/单位编码"],
}


def workbook(**rows: list[list[Any]]) -> bytes:
    """A workbook with the named sheets (户, 单位, 站点, 容器) and these rows under their headers."""
    book = Workbook()
    first = True
    for sheet, data in rows.items():
        ws = book.active if first else book.create_sheet(sheet)
        assert ws is not None
        ws.title = sheet
        first = False
        ws.append(SHEETS[sheet])
        for row in data:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def good_workbook(w: World, n: int = 3) -> bytes:
    return workbook(
        户=[[f"H{i:04d}", "C1", f"住户{i}", f"1号楼{i}室", f"住户{i}", 3] for i in range(1, n + 1)],
        单位=[
            [
                "U0001",
                "好味餐厅",
                "餐饮",
                "一社区",
                "王经理",
                "幸福路1号",
                "HT-001",
                w.carrier.uscc,
                "2026-01-01",
                "2026-12-31",
            ]
        ],
        站点=[["ST1", "1号楼桶站", "固定", "C1"], ["ST2", "驿站", "staffed", "C1"]],
        容器=[["CHIP1", "kitchen", 240, "ST1", ""], ["CHIP2", "kitchen", 120, "", "U0001"]],
    )


def _counts(zone: Zone) -> tuple[int, int, int]:
    return (
        Source.objects.filter(zone=zone).count(),
        Station.objects.filter(zone=zone).count(),
        Bin.objects.filter(zone=zone).count(),
    )


def test_good_workbook_registers_everything(world: World) -> None:
    actor = world.actor(world.zone_regulator)
    result = registry.import_workbook(actor, good_workbook(world))
    assert result.created == {"stations": 2, "sources": 4, "bins": 2}
    unit = Source.objects.get(zone=world.zone, code="U0001")
    assert (unit.kind, unit.unit_kind, unit.collector_id, str(unit.contract_to)) == (
        "unit",
        "restaurant",
        world.carrier.pk,
        "2026-12-31",
    )
    assert unit.community_id == world.c1.pk  # by its name
    assert Bin.objects.get(zone=world.zone, chip="CHIP1").station.code == "ST1"  # type: ignore[union-attr]
    assert Bin.objects.get(zone=world.zone, chip="CHIP2").source_id == unit.pk


def test_faults_name_sheet_row_and_column_and_nothing_is_written(world: World) -> None:
    actor = world.actor(world.zone_regulator)
    content = workbook(
        户=[
            ["H1", "C1", "", "", "", 2],
            ["H1", "C1", "", "", "", 2],  # duplicate code
            ["H/3", "C1", "", "", "", 2],  # a code that cannot travel in a URL
            ["H4", "C9", "", "", "", 2],  # no such community
            ["H5", "C1", "", "", "", "two"],  # not a number
        ],
        站点=[["ST1", "桶站", "火箭", "C1"]],  # unknown kind
        容器=[["CHIP1", "kitchen", 240, "ST9", ""], ["CHIP2", "nonsense", 240, "ST1", ""]],
    )
    with pytest.raises(ImportRejected) as rejected:
        registry.import_workbook(actor, content)
    found = [(f.sheet, f.row, f.column, f.message) for f in rejected.value.faults]
    assert found[:4] == [
        ("户", 3, "A", "duplicate of 户 row 2"),
        ("户", 4, "A", "letters, digits, dot, dash or underscore, at most 64 (printed as a QR code)"),
        ("户", 5, "B", "no community C9 in this zone"),
        ("户", 6, "F", "must be a whole number"),
    ]
    assert found[4][:3] == ("站点", 2, "C") and found[4][3].startswith("must be one of cabinet, fixed")
    assert found[5:] == [
        ("容器", 2, "D", "no station ST9 in your area"),
        ("容器", 3, "B", "nonsense is not a class of the household catalog in force"),
    ]
    assert _counts(world.zone) == (0, 0, 0)


def test_reimport_updates_and_never_duplicates(world: World) -> None:
    actor = world.actor(world.zone_regulator)
    registry.import_workbook(actor, good_workbook(world))
    before = _counts(world.zone)
    again = registry.import_workbook(actor, good_workbook(world))
    assert again.created == {"stations": 0, "sources": 0, "bins": 0}
    assert again.unchanged == {"stations": 2, "sources": 4, "bins": 2}
    changed = workbook(户=[["H0001", "C2", "新户主", "", "", 4]])
    result = registry.import_workbook(actor, changed)
    assert (result.created["sources"], result.updated["sources"]) == (0, 1)
    assert _counts(world.zone) == before
    moved = Source.objects.get(zone=world.zone, code="H0001")
    assert (moved.community_id, moved.name, moved.residents) == (world.c2.pk, "新户主", 4)


def test_export_round_trips(world: World) -> None:
    actor = world.actor(world.zone_regulator)
    registry.import_workbook(actor, good_workbook(world))
    exported = registry.export_workbook(actor)
    assert load_workbook(io.BytesIO(exported)).sheetnames == ["户", "单位", "站点", "容器"]
    result = registry.import_workbook(actor, exported)
    assert sum(result.created.values()) == 0 and sum(result.updated.values()) == 0
    template = registry.template_workbook()
    assert load_workbook(io.BytesIO(template)).sheetnames == ["户", "单位", "站点", "容器"]


def test_street_regulator_and_property_reach(world: World) -> None:
    registry.import_workbook(
        world.actor(world.zone_regulator),
        workbook(户=[["H1", "C1", "", "", "", 1], ["H2", "C2", "", "", "", 1], ["H3", "C3", "", "", "", 1]]),
    )
    street = world.actor(world.street_regulator)
    assert sorted(registry.sources(street).values_list("code", flat=True)) == ["H1", "H2"]
    assert [c.code for c in registry.communities(street)] == ["C1", "C2"]
    with pytest.raises(NotFound):
        registry.get_source(street, "H3")
    with pytest.raises(ImportRejected) as rejected:
        registry.import_workbook(street, workbook(户=[["H9", "C3", "", "", "", 1]]))
    assert rejected.value.faults[0].message == "community C3 is outside the area you register for"
    with pytest.raises(ImportRejected) as rejected:  # another street's code is not taken over
        registry.import_workbook(street, workbook(户=[["H3", "C1", "", "", "", 1]]))
    assert rejected.value.faults[0].message == "this code belongs to a source outside your area"
    prop = world.actor(world.property_org)
    assert list(registry.sources(prop).values_list("code", flat=True)) == ["H1"]
    registry.import_workbook(prop, workbook(户=[["H4", "C1", "", "", "", 1]]))
    with pytest.raises(Forbidden):
        registry.sources(world.actor(world.producer))
    with pytest.raises(Forbidden):  # a viewer reads, does not write
        registry.import_workbook(world.actor(world.zone_regulator, "viewer"), good_workbook(world))


def test_pages_permissions_and_street_scope(world: World) -> None:
    registry.import_workbook(
        world.actor(world.zone_regulator),
        workbook(户=[["H1", "C1", "", "一号楼", "", 1], ["H3", "C3", "", "三号楼", "", 1]]),
    )
    assert world.client(world.producer).get("/household/registry/").status_code == 403
    zone = world.client(world.zone_regulator)
    page = zone.get(f"/household/registry/?community={world.c1.pk}")
    assert page.status_code == 200 and "H1" in page.content.decode()
    street = world.client(world.street_regulator)
    assert street.get(f"/household/registry/?community={world.c3.pk}").status_code == 404
    assert street.get("/household/registry/sources/H3/").status_code == 404
    assert street.get("/household/registry/sources/H1/").status_code == 200
    body = street.get("/household/registry/").content.decode()
    assert ">H1<" in body and ">H3<" not in body  # as the table's cells (not inside a CSRF token)
    # Add, edit, deactivate through the pages.
    added = street.post(
        "/household/registry/sources/add/",
        {"code": "H5", "kind": "household", "community": "C2", "address": "五号楼", "residents": "2"},
    )
    assert added.status_code == 302
    refused = street.post(
        "/household/registry/sources/add/", {"code": "H6", "kind": "household", "community": "C3"}
    )
    assert refused.status_code == 422  # C3 is not a choice of this street's form
    assert not Source.objects.filter(code="H6").exists()
    street.post("/household/registry/sources/H5/active/", {"active": "0"})
    assert Source.objects.get(zone=world.zone, code="H5").is_active is False
    viewer = world.client(world.street_regulator, "viewer")
    assert viewer.post("/household/registry/sources/H5/active/", {"active": "1"}).status_code == 403
    assert viewer.get("/household/registry/").status_code == 200


def test_import_page_lists_faults(world: World) -> None:
    client = world.client(world.zone_regulator)
    upload = io.BytesIO(workbook(户=[["H1", "C9", "", "", "", 1]]))
    upload.name = "registry.xlsx"
    response = client.post("/household/registry/import/", {"file": upload})
    assert response.status_code == 422
    body = response.content.decode()
    assert re.search(r"<td>户</td><td>2</td><td>B</td><td>[^<]*C9", body)
    good = io.BytesIO(good_workbook(world))
    good.name = "registry.xlsx"
    assert client.post("/household/registry/import/", {"file": good}).status_code == 200
    assert _counts(world.zone) == (4, 2, 2)


def test_qr_sheet_tiles_encode_the_scan_url(world: World) -> None:
    registry.import_workbook(world.actor(world.zone_regulator), good_workbook(world, n=5))
    client = world.client(world.street_regulator)
    response = client.get(f"/household/registry/qr-sheet?community={world.c1.pk}")
    assert response.status_code == 200
    body = response.content.decode()
    urls = re.findall(r'data-url="([^"]+)"', body)
    assert len(urls) == 6  # 5 households and 1 unit
    assert "http://testserver/household/scan/source/H0001" in urls
    assert body.count("<svg") == 6
    bins = client.get(f"/household/registry/qr-sheet?community={world.c1.pk}&what=bins").content.decode()
    assert re.findall(r'data-url="([^"]+)"', bins) == [
        "http://testserver/household/scan/bin/CHIP1",
        "http://testserver/household/scan/bin/CHIP2",
    ]
    pdf = client.get(f"/household/registry/qr-sheet?community={world.c1.pk}&format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(f"/household/registry/qr-sheet?community={world.c3.pk}").status_code == 404
    # The QR code is the URL's: the same symbol qrcode makes of it (no decoder is installed).
    assert registry.qr_svg("http://testserver/household/scan/source/H0001") in body


def test_api_lists_and_import(world: World) -> None:
    token_client = parties.api_client(world.zone_regulator, ("admin",))
    auth = {"Authorization": f"Bearer {token_client.token}"}
    upload = io.BytesIO(good_workbook(world))
    upload.name = "registry.xlsx"
    response = Client().post("/api/household/registry/import", {"file": upload}, headers=auth)
    assert response.status_code == 200, response.content
    assert response.json()["created"] == {"stations": 2, "sources": 4, "bins": 2}
    listed = token_client.get("/api/household/sources", community=world.c1.pk, kind="unit").json()
    assert [s["code"] for s in listed["items"]] == ["U0001"]
    assert len(token_client.get("/api/household/stations").json()["items"]) == 2
    assert {b["chip"] for b in token_client.get("/api/household/bins").json()["items"]} == {"CHIP1", "CHIP2"}
    bad = io.BytesIO(workbook(户=[["H1", "C9", "", "", "", 1]]))
    bad.name = "bad.xlsx"
    refused = Client().post("/api/household/registry/import", {"file": bad}, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["sheet"] == "户"
    producer = parties.api_client(world.producer, ("admin",))
    assert producer.get("/api/household/sources").status_code == 403


def test_fast_reader_reads_as_read_table(world: World) -> None:
    """The fast sheet reader gives the rows, numbers, columns and faults `read_table` gives (shared
    strings as Excel writes them; inline strings as openpyxl's write-only mode does; gaps; blanks)."""
    from openpyxl import Workbook

    from zerowaste.core.tabular import read_table
    from zerowaste.household import registry_xlsx

    book = Workbook(write_only=True)
    inline = book.create_sheet("户")
    inline.append(SHEETS["户"])
    inline.append(["H1", "C1", "A&B <x>", "", None, 3])
    inline.append([])
    inline.append(["H2", "C1", "名", "地址", "责任人", 2.5])
    out = io.BytesIO()
    book.save(out)
    for content in (good_workbook(world), out.getvalue()):
        assert (
            registry_xlsx.sheet_names(content)
            == load_workbook(io.BytesIO(content), read_only=True).sheetnames
        )
        for sheet, columns in (("户", registry.HOUSEHOLD_COLUMNS), ("站点", registry.STATION_COLUMNS)):
            slow = (
                read_table(content, "x.xlsx", columns, sheet=sheet)
                if sheet in load_workbook(io.BytesIO(content), read_only=True).sheetnames
                else None
            )
            if slow is None:
                continue
            fast = registry_xlsx.read_sheet(content, sheet, columns)
            assert fast is not None
            assert [(r.number, r.values, r.columns) for r in fast.rows] == [
                (r.number, r.values, r.columns) for r in slow.rows
            ]
            assert fast.faults == slow.faults
