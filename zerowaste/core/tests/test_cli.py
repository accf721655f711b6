"""The `zerowaste` entry point: help, JSON output, one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from zerowaste.cli import main
from zerowaste.core.models import Zone
from zerowaste.testing import parties

ROOT = Path(__file__).resolve().parents[3]


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    out = capsys.readouterr().out
    for name in ("audit", "demo", "org", "serve"):
        assert f"  {name} " in out
    assert "manage" in out


def test_unknown_command_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "frobnicate" in err


def test_org_list_json_is_one_document(zone: Zone, capsys: pytest.CaptureFixture[str]) -> None:
    org = parties.make_org(zone, roles=("producer", "receiver"), name="京东方")
    call_command("org", "list", "--format", "json", "--zone", zone.code)
    data = json.loads(capsys.readouterr().out)
    assert data == [
        {
            "id": org.pk,
            "uscc": org.uscc,
            "name": "京东方",
            "name_en": "",
            "roles": ["producer", "receiver"],
            "industry": "",
            "is_active": True,
        }
    ]


def test_audit_log_json(zone: Zone, capsys: pytest.CaptureFixture[str]) -> None:
    parties.make_org(zone)
    call_command("audit", "log", "--format", "json", "--limit", "5")
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["action"] == "organization.register"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["org", "list", "--zone", "nowhere"], "no zone 'nowhere'"),
        (["org", "import", "/no/such/file.csv"], "no such file"),
    ],
)
def test_errors_are_one_line_on_stderr(
    zone: Zone, args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        call_command(*args)
    assert exc.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err.count("\n") == 1
        and fragment in captured.err
        and captured.err.startswith("zerowaste org: error:")
    )


def test_demo_scale_is_checked(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        call_command("demo", "--scale", "0")
    assert exc.value.code == 1
    assert "--scale" in capsys.readouterr().err


def test_console_script_help_in_subprocess(tmp_path: Path) -> None:
    """The installed `zerowaste` script runs on its own (against a scratch SQLite, never the test DB)."""
    script = ROOT / ".venv" / "bin" / "zerowaste"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "zerowaste.cli"]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "ZEROWASTE_VAR_DIR": str(tmp_path),
        # import-time library warnings are not the command's output
        "PYTHONWARNINGS": "ignore",
    }
    done = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "audit" in done.stdout and "serve" in done.stdout
    done = subprocess.run(
        [*command, "audit", "verify", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    # an unmigrated scratch database: a one-line error and a non-zero exit, no traceback
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("zerowaste audit: error: database error")
