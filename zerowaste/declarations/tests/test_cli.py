"""`zerowaste declarations ...`: import with dry run, one-line errors, stats as JSON, export, template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from zerowaste.declarations.models import Declaration

from .conftest import World

pytestmark = pytest.mark.django_db


def _file(tmp_path: Path, world: World, body: str) -> Path:
    path = tmp_path / "d.csv"
    path.write_text(
        "统一社会信用代码,申报期,废物代码,产生量,自行利用量,委托利用量,委托处置量,期末贮存量\n"
        + body.format(uscc=world.producer.uscc),
        encoding="gbk",
    )
    return path


def test_import_dry_run_then_import_and_stats(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(
        tmp_path,
        world,
        "{uscc},2020-03,99-01-01,100,10,85,5,0\n{uscc},2020-03,99-13-01,0,0,0,0,0\n"
        "{uscc},2019-03,99-01-01,80,0,80,0,0\n",
    )
    path.write_text(path.read_text(encoding="gbk").replace("99-13-01", "07-13-01"), encoding="gbk")
    call_command("declarations", "import", str(path), "--dry-run", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert data["rows"] == 3 and data["dry_run"] and not Declaration.objects.exists()
    call_command("declarations", "import", str(path), "--submit")
    assert Declaration.objects.filter(status="submitted").count() == 2
    capsys.readouterr()
    call_command("declarations", "stats", "--year", "2020", "--by", "category", "--format", "json")
    stats = json.loads(capsys.readouterr().out)
    assert stats["total_generated_t"] == "100.000"
    row = next(r for r in stats["rows"] if r["key"] == "ISW01")
    assert row == {
        **row,
        "generated_t": "100.000",
        "utilized_t": "10.000",
        "disposed_t": "0.000",
        "transferred_t": "90.000",
        "stock_t": "0.000",
        "previous_year_generated_t": "80.000",
    }
    call_command(
        "declarations", "stats", "--year", "2020", "--by", "month", "--stream", "hw", "--format", "json"
    )
    assert json.loads(capsys.readouterr().out)["rows"] == []
    out = tmp_path / "x.xlsx"
    call_command("declarations", "export", "--year", "2020", "--output", str(out))
    assert out.read_bytes()[:2] == b"PK"
    tpl = tmp_path / "t.xlsx"
    call_command(
        "declarations",
        "template",
        "--period",
        "2020-04",
        "--organization",
        world.producer.uscc,
        "--output",
        str(tpl),
    )
    assert tpl.stat().st_size > 1000


def test_import_faults_exit_nonzero_with_one_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(
        tmp_path, world, "{uscc},2020-03,99-01-01,100,10,85,0,0\n{uscc},2020-03,99-01-02,1,0,0,0,0\n"
    )
    with pytest.raises(SystemExit) as info:
        call_command("declarations", "import", str(path))
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("zerowaste declarations: error: ") and "[balance]" in err and "H2" in err
    assert "row=3" in err
    assert not Declaration.objects.exists()
