"""`zerowaste portal cockpit|export|public|publish`."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from zerowaste.core.models import AuditEntry
from zerowaste.portal import services

from .conftest import Cockpit


def _run(*args: str) -> str:
    out = StringIO()
    call_command("portal", *args, stdout=out)
    return out.getvalue()


def test_cockpit_json_equals_the_service(cockpit: Cockpit) -> None:
    data = json.loads(_run("cockpit", "--year", "2020", "--month", "3", "--format", "json"))
    expected = services.cockpit(cockpit.system, year=2020, month=3)
    assert data["tonnages"]["totals"] == expected["tonnages"]["totals"]
    assert data["flows"]["balanced"] is True
    assert {r["organization"] for r in data["alerts"]["missing"]} == {cockpit.idle.name, cockpit.pending.name}
    text = _run("cockpit", "--year", "2020")
    assert "isw: generated 24.750 t" in text and "balanced=True" in text
    section = json.loads(_run("cockpit", "--year", "2020", "--section", "flows", "--format", "json"))
    assert section["generated_t"] == "27.751"


def test_export_and_publish(cockpit: Cockpit, tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    _run("export", "flows", str(path), "--year", "2020")
    flows_csv = path.read_text(encoding="utf-8-sig")
    assert flows_csv.startswith("来源,去向,") and "\n汽车,HW08," in flows_csv  # words, not node keys
    assert "industry:" not in flows_csv
    _run("export", "tonnages", str(tmp_path / "t.xlsx"), "--year", "2020")
    assert (tmp_path / "t.xlsx").read_bytes()[:2] == b"PK"
    out = json.loads(_run("publish", "--company-figures", "yes", "--format", "json"))
    assert out["company_figures"] is True
    assert AuditEntry.objects.filter(action="portal.publication", actor_username="system").count() == 1
    public = json.loads(_run("public", "--format", "json"))
    assert public["published"]["company_figures"] is True and public["years"] == [2020]


def test_bad_month_is_a_one_line_error(cockpit: Cockpit, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        call_command("portal", "cockpit", "--year", "2020", "--month", "13")
    assert exit_info.value.code == 1
    assert "month" in capsys.readouterr().err
