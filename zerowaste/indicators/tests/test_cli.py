"""`zerowaste indicators inputs|compute|evaluate|enter|load-set` (zone defaults to the only zone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from zerowaste.indicators import services
from zerowaste.indicators.seed_figures import SEED_2020, SEED_ACHIEVED_2020

from .conftest import World

pytestmark = pytest.mark.django_db


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    call_command("indicators", *args)
    return capsys.readouterr().out


def test_inputs_json(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(_run(capsys, "inputs", "--format", "json"))
    keys = {i["key"]: i for i in data}
    assert keys["value_added_wan"]["unit"] == "万元" and keys["value_added_wan"]["meaning"]


def test_compute_json_with_inputs_file(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps(SEED_2020, ensure_ascii=False), encoding="utf-8")
    rows = json.loads(_run(capsys, "compute", "--year", "2020", "--inputs", str(path), "--format", "json"))
    assert len(rows) == 43
    assert set(rows[0]) >= {
        "number",
        "name",
        "class",
        "unit",
        "baseline",
        "target",
        "achieved",
        "met",
        "inputs",
    }
    assert {r["number"]: r["achieved"] for r in rows} == SEED_ACHIEVED_2020
    assert {r["class"] for r in rows} == {"required", "optional", "self"}
    assert [r["number"] for r in rows if r["met"] is False] == ["9", "13", "18"]
    assert rows[0]["inputs"]["isw_generated_t"]["origin"] == "file"


def test_compute_without_inputs_uses_platform_data(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(_run(capsys, "compute", "--year", "2020", "--format", "json"))
    assert rows == services.report_rows(world.zone.pk, 2020)


def test_evaluate_lists_reasons_and_claims(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], english: None
) -> None:
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps(SEED_2020), encoding="utf-8")
    data = json.loads(_run(capsys, "evaluate", "--year", "2020", "--inputs", str(path), "--format", "json"))
    assert data["met"] == 38 and data["completion"] == "0.9268"  # 38 of 41 decided
    assert data["needs_judgment"] == 2 and [m["number"] for m in data["needs_judgment_list"]] == ["15", "19"]
    assert [m["number"] for m in data["not_met_list"]] == ["9", "13", "18"]
    assert any("42 of 43" in n for n in data["notes"])
    text = _run(capsys, "evaluate", "--year", "2020", "--inputs", str(path))
    assert "NOT MET  18" in text and "JUDGE    15" in text


def test_exports_to_files(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xlsx = tmp_path / "r.xlsx"
    assert _run(
        capsys, "compute", "--year", "2020", "--format", "xlsx", "--output", str(xlsx)
    ).strip() == str(xlsx)
    assert xlsx.read_bytes()[:2] == b"PK"
    pdf = tmp_path / "r.pdf"
    _run(capsys, "compute", "--year", "2020", "--format", "pdf", "--output", str(pdf))
    assert pdf.read_bytes()[:4] == b"%PDF"


def test_enter_and_load_set(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evidence = tmp_path / "名单.txt"
    evidence.write_text("22", encoding="utf-8")
    _run(
        capsys,
        "enter",
        "green_factories",
        "22",
        "--year",
        "2020",
        "--source",
        "企业服务局",
        "--evidence",
        str(evidence),
    )
    rows = {r["number"]: r for r in services.report_rows(world.zone.pk, 2020)}
    assert rows["3"]["achieved"] == "22"
    text = services.BUNDLED_SET.read_text(encoding="utf-8").replace('version = "2019.1"', 'version = "2"')
    path = tmp_path / "set.toml"
    path.write_text(text, encoding="utf-8")
    assert "loaded bda-2019 2 (active)" in _run(capsys, "load-set", str(path))
    _run(capsys, "load-set", "--bundled")
    assert services.active_set(world.zone.pk).version == "2019.1"


def test_one_line_errors(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], english: None
) -> None:
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps({"nope": "1"}), encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        call_command("indicators", "compute", "--year", "2020", "--inputs", str(path))
    assert info.value.code == 1
    assert "nope" in capsys.readouterr().err
    bad = tmp_path / "set.toml"
    bad.write_text(
        services.BUNDLED_SET.read_text(encoding="utf-8").replace(
            'formula = "eco_parks"', 'formula = "eco_park"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(SystemExit):
        call_command("indicators", "load-set", str(bad))
    err = capsys.readouterr().err
    assert "line" in err and "eco_park" in err
