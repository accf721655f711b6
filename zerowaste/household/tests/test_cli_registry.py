"""`zerowaste household import|export|qr-sheet`: output, faults by sheet/row/column, exit status; and
the bench-size import (70,000 households in seconds)."""

from __future__ import annotations

import json
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import Workbook

from zerowaste.core.models import Area, Zone
from zerowaste.household.models import Bin, Source, Station
from zerowaste.household.testing import ensure_household_catalog
from zerowaste.household.tests.test_registry import workbook

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("household", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def community(zone: Zone) -> Area:
    ensure_household_catalog(zone)
    street = Area.objects.create(zone=zone, code="SA", name="甲街道", kind="street")
    return Area.objects.create(zone=zone, code="C1", name="一社区", kind="community", parent=street)


def _good(tmp_path: Path) -> Path:
    path = tmp_path / "registry.xlsx"
    path.write_bytes(
        workbook(
            户=[["H1", "C1", "", "1号楼101", "", 3], ["H2", "C1", "", "1号楼102", "", 2]],
            站点=[["ST1", "1号楼桶站", "固定", "C1"]],
            容器=[["CHIP1", "kitchen", 240, "ST1", ""]],
        )
    )
    return path


def test_import_dry_run_then_import_then_again(zone: Zone, community: Area, tmp_path: Path) -> None:
    path = _good(tmp_path)
    dry = _run("import", str(path), "--dry-run", "--zone", zone.code)
    assert dry.startswith("checked, nothing written: sources 2 new")
    assert Source.objects.filter(zone=zone).count() == 0
    done = json.loads(_run("import", str(path), "--format", "json", "--zone", zone.code))
    assert done["created"] == {"stations": 1, "sources": 2, "bins": 1}
    again = _run("import", str(path), "--zone", zone.code)
    assert (
        again == "sources 0 new, 0 changed, 2 unchanged; stations 0 new, 0 changed, 1 unchanged; "
        "bins 0 new, 0 changed, 1 unchanged\n"
    )
    assert (Station.objects.filter(zone=zone).count(), Bin.objects.filter(zone=zone).count()) == (1, 1)


def test_import_faults_exit_1_naming_sheet_row_column(
    zone: Zone, community: Area, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(
        workbook(户=[["H1", "C1", "", "", "", 1], ["H2", "C7", "", "", "", 1], ["H3", "C1", "", "", "", -1]])
    )
    with pytest.raises(SystemExit) as exited, translation.override("en"):
        call_command("household", "import", str(path), "--zone", zone.code)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "2 fault(s); nothing was imported. First: 户!B3 (community): no community C7 in this zone" in err
    assert "sheet=户 row=4 column=F field=residents: must be from 0 to 1000" in err
    assert Source.objects.filter(zone=zone).count() == 0


def test_export_and_qr_sheet(zone: Zone, community: Area, tmp_path: Path) -> None:
    _run("import", str(_good(tmp_path)), "--zone", zone.code)
    out = tmp_path / "out.xlsx"
    assert _run("export", "--out", str(out), "--zone", zone.code) == f"wrote {out}\n"
    assert json.loads(_run("import", str(out), "--format", "json", "--zone", zone.code))["unchanged"] == {
        "stations": 1,
        "sources": 2,
        "bins": 1,
    }
    pdf = tmp_path / "qr.pdf"
    assert _run("qr-sheet", "--community", "C1", "--out", str(pdf), "--zone", zone.code) == (
        f"wrote 2 codes to {pdf}\n"
    )
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_seventy_thousand_households_import_and_reimport(zone: Zone, community: Area, tmp_path: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("户")
    sheet.append(["户码", "社区", "户主", "地址", "管理责任人", "人数"])
    for i in range(70_000):
        sheet.append([f"H{i:06d}", "C1", f"住户{i}", f"{i // 100}号楼{i % 100}室", "", 3])
    path = tmp_path / "big.xlsx"
    book.save(path)
    started = time.monotonic()
    _run("import", str(path), "--zone", zone.code)
    first = time.monotonic() - started
    assert Source.objects.filter(zone=zone).count() == 70_000
    started = time.monotonic()
    assert "sources 0 new, 0 changed, 70000 unchanged" in _run("import", str(path), "--zone", zone.code)
    again = time.monotonic() - started
    print(f"70,000 households: first import {first:.1f} s, re-import {again:.1f} s")  # timed, not asserted
