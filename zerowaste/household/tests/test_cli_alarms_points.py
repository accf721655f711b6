"""`zerowaste household alarms|resolve|detect|balance|points|redeem`: the slice-2 CLI end to end."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from zerowaste.core.models import Zone
from zerowaste.household import rules
from zerowaste.household.models import Alarm
from zerowaste.household.testing import Registry, event, make_registry

from .helpers2 import at, circle, household, last_working_day, send, seq

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(zone: Zone) -> Registry:
    return make_registry(zone)


def _run(zone: Zone, *args: str) -> Any:
    out = StringIO()
    call_command("household", *args, "--zone", zone.code, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def test_cli(reg: Registry) -> None:
    day = last_working_day()
    home = household(reg)
    merchant = circle(reg)
    send(
        reg,
        event(
            reg.station_devices[0], seq(), at(day, 8), weight="20.000", source=home.code, quality_grade="A"
        ),
    )
    assert _run(reg.zone, "detect", "--day", day.isoformat()) == {
        "day": day.isoformat(),
        "raised": 3,
        "escalated": 0,
    }
    assert _run(reg.zone, "detect", "--day", day.isoformat())["raised"] == 0
    listed = _run(reg.zone, "alarms", "--open")
    assert {a["kind"] for a in listed} == {
        rules.ALARM_NOT_CLEARED,
        rules.ALARM_VEHICLE_IDLE,
        rules.ALARM_MASS_BALANCE,
    }
    done = _run(reg.zone, "resolve", str(listed[0]["id"]), "--resolution", "已清运")
    assert done["state"] == "resolved"
    assert len(_run(reg.zone, "alarms", "--open")) == 2
    (line,) = _run(reg.zone, "balance", "--day", day.isoformat())
    assert (line["in_kg"], line["closes"]) == ("20.000", False)
    assert _run(reg.zone, "points", home.code)["balance"] == 2
    spent = _run(reg.zone, "redeem", home.code, "--points", "2", "--merchant", str(merchant.pk))
    assert spent["balance_after"] == 0
    with pytest.raises(SystemExit):
        call_command(
            "household",
            "redeem",
            home.code,
            "--points",
            "1",
            "--merchant",
            str(merchant.pk),
            "--zone",
            reg.zone.code,
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert Alarm.objects.filter(zone=reg.zone).count() == 3
    # The text output people read: one line per alarm, the day and the figures in words.
    out = StringIO()
    call_command("household", "alarms", "--zone", reg.zone.code, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 3 and all(f" {day.isoformat()} " in line for line in lines)
    assert any("20.000" in line for line in lines)
    out = StringIO()
    call_command("household", "balance", "--day", day.isoformat(), "--zone", reg.zone.code, stdout=out)
    assert "in 20.000 out 0.000" in out.getvalue()
    out = StringIO()
    call_command("household", "points", home.code, "--zone", reg.zone.code, stdout=out)
    assert out.getvalue().startswith(f"{home.code}: 0 points")
