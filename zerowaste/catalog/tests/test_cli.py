"""`zerowaste catalog ...`"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("catalog", *args, stdout=out)
    return out.getvalue()


def test_load_list_show_json(zone) -> None:  # type: ignore[no-untyped-def]
    loaded = json.loads(_run("load", "--zone", zone.code, "--format", "json"))
    assert {d["stream"] for d in loaded} == {"isw", "hw", "household", "construction"}
    rows = json.loads(_run("list", "--stream", "isw", "--zone", zone.code, "--format", "json"))
    assert isinstance(rows, list) and len(rows) == 81
    assert {"code", "name", "name_en", "category", "category_name", "version"} <= set(rows[0])
    copper = next(r for r in rows if r["code"] == "99-08-03")
    assert (
        copper["name"],
        copper["name_en"],
        copper["category"],
        copper["category_name"],
        copper["version"],
    ) == ("废铜", "Scrap copper", "ISW08", "废金属", "2020")
    hw = json.loads(_run("list", "--stream", "hw", "--zone", zone.code, "--format", "json"))
    assert len(hw) == 467
    oil = next(r for r in hw if r["code"] == "900-249-08")
    assert set(oil["hazard"]) >= {"primary", "possible"}
    shown = json.loads(_run("show", "900-041-49", "--zone", zone.code, "--format", "json"))
    assert shown["category"] == "HW49" and shown["versions"][0]["version"] == "2021"


def test_import_diff_publish_export(zone, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _run("load", "--zone", zone.code, "--stream", "isw")
    exported = tmp_path / "isw.xlsx"
    _run("export", "--stream", "isw", "--zone", zone.code, "-o", str(exported))
    data = json.loads(
        _run(
            "import",
            str(exported),
            "--stream",
            "isw",
            "--version",
            "2021",
            "--zone",
            zone.code,
            "--format",
            "json",
        )
    )
    assert data["status"] == "draft" and data["entries"] == 81
    assert {w["kind"] for w in data["warnings"]} == {"name_missing", "duplicate_name", "free_text"}
    diff = json.loads(
        _run("diff", "--stream", "isw", "--version", "2021", "--zone", zone.code, "--format", "json")
    )
    assert diff["against"] == "2020" and diff["unchanged"] == 81
    published = json.loads(
        _run(
            "publish",
            "--stream",
            "isw",
            "--version",
            "2021",
            "--effective-from",
            "2021-09-01",
            "--zone",
            zone.code,
            "--format",
            "json",
        )
    )
    assert published["status"] == "published"
    rows = json.loads(_run("list", "--stream", "isw", "--zone", zone.code, "--format", "json"))
    assert {r["version"] for r in rows} == {"2021"}
    old = json.loads(
        _run("list", "--stream", "isw", "--version", "2020", "--zone", zone.code, "--format", "json")
    )
    assert {r["version"] for r in old} == {"2020"}


def test_errors_exit_non_zero(zone, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("废物类别,废物代码,废物名称\nISW01 电子,99-1-01,x\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        _run("import", str(bad), "--stream", "isw", "--version", "x", "--zone", zone.code)
    assert exc.value.code == 1
    assert "B2" in capsys.readouterr().err
