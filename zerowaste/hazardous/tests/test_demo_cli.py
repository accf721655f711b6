"""The command line, and the demo's pilot park at the seed's scale."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from zerowaste.core.authz import Actor
from zerowaste.core.models import Zone
from zerowaste.hazardous import rules, services
from zerowaste.hazardous.models import Container, Store, TierAssessment
from zerowaste.hazardous.testing import Park

pytestmark = pytest.mark.django_db


def run(*args: str) -> Any:
    out = io.StringIO()
    call_command("hazardous", *args, stdout=out)
    return out.getvalue()


def test_cli_tiers_json(park: Park) -> None:
    from zerowaste.hazardous.tests.test_services import declare

    declare(park.producer, 2020, [("0", "10", "3"), ("3", "0", "0")])
    data = json.loads(
        run("tiers", "--year", "2021", "--recompute", "--format", "json", "--zone", park.zone.code)
    )
    assert isinstance(data, list) and data
    for row in data:
        assert set(row) == {"producer", "park", "generated_t", "max_stock_t", "tier"}
    mine = next(r for r in data if r["producer"] == park.producer.name)
    assert mine == {
        "producer": park.producer.name,
        "park": park.park.name,
        "generated_t": "10.000",
        "max_stock_t": "3.000",
        "tier": "B",
    }
    text = run("tiers", "--year", "2021", "--zone", park.zone.code, "--recompute")
    assert "B" in text and "A 1 · B 1 · C 0" in text


def test_cli_storage_and_plans(park: Park) -> None:
    c = park.collect(collected_on="2020-01-01")
    rows = json.loads(
        run("storage", "--overdue", "--on", "2021-01-01", "--format", "json", "--zone", park.zone.code)
    )
    assert [r["container"] for r in rows] == [c.number]
    assert (
        json.loads(
            run("storage", "--overdue", "--on", "2020-12-31", "--format", "json", "--zone", park.zone.code)
        )
        == []
    )
    warn = json.loads(run("storage", "--on", "2020-12-31", "--format", "json", "--zone", park.zone.code))
    assert warn[0]["level"] == "warning"
    due = json.loads(
        run("plans", "--due", "--on", "2020-11-20", "--format", "json", "--zone", park.zone.code)
    )
    assert {"transfer_plan", "management_plan"} >= {r["kind"] for r in due} and due
    summary = run("summary", "--year", "2020", "--month", "1", "--zone", park.zone.code)
    assert "reconciled" in summary and "collected 120 kg" in summary


def test_cli_ledger(park: Park, tmp_path: Any) -> None:
    park.collect(collected_on="2021-05-05")
    out = tmp_path / "b2.csv"
    text = run("ledger", "--year", "2021", "--output", str(out), "--zone", park.zone.code)
    assert text.strip() == f"1 rows written to {out}"
    assert out.read_text(encoding="utf-8-sig").splitlines()[0].startswith("序号,入库批次编码,入库时间")


def test_cli_errors_are_one_line(park: Park, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("hazardous", "summary", "--year", "2020", "--month", "13", "--zone", park.zone.code)
    err = capsys.readouterr().err
    assert err.startswith("zerowaste hazardous: error: month") and err.count("\n") == 1


@pytest.mark.slow
def test_demo_pilot_park_at_the_seeds_scale(demo_zone: Zone) -> None:
    actor = Actor.system(demo_zone)
    store = Store.objects.get(zone=demo_zone, code="BIOMED-HW")
    assert store.park.name == "生物医药园" and store.operator.name == "北京亦庄生物医药园运营管理有限公司"
    year = services.annual_figures(actor, store.pk, 2020)
    assert year == {
        "year": 2020,
        "opening_t": "545.400",
        "collected_t": "2431.900",  # seed:1293
        "shipped_t": "2319.600",
        "closing_t": "657.700",
    }
    for month in range(1, 13):
        s = services.monthly_summary(actor, store.pk, 2020, month)
        assert s["balanced"] and s["manifests_reconciled"], month
    # Nothing stayed a year, but for the four containers the operator forgot in 2021.
    for c in Container.objects.filter(store=store).exclude(shipped_on=None):
        assert c.shipped_on <= rules.storage_deadline(c.collected_on)
    left = Container.objects.filter(store=store, state="in_store")
    assert left.count() == 4 and left.exclude(extended_until=None).count() == 1
    alerts = services.storage_alerts(demo_zone.pk, date(2026, 1, 1))
    assert len(alerts) == 4 and {a["level"] for a in alerts} == {"overdue"}
    # Tiers of 2021 from the 2020 declarations: every case, the boundaries on purpose.
    tiers = TierAssessment.objects.filter(zone=demo_zone, year=2021)
    counts = {t: tiers.filter(tier=t).count() for t in "ABC"}
    assert counts["A"] >= 40 and counts["B"] >= 15 and counts["C"] >= 12
    assert tiers.filter(tier="A", generated_t=Decimal("1.000")).exists()
    assert tiers.filter(tier="B", generated_t=Decimal("10.000"), max_stock_t=Decimal("3.000")).exists()
    assert tiers.filter(tier="C", generated_t=Decimal("8.000"), max_stock_t=Decimal("3.500")).exists()
    assert services.inspection_rates(demo_zone.pk, 2018) == {
        "passed": 34,
        "basically_passed": 3,
        "failed": 1,
        "total": 38,
    }
    assert services.pass_rates(actor, 2018)["all"]["rate_percent"] == "95.00"  # seed:227
    assert services.pass_rates(actor, 2020)["all"]["rate_percent"] == "100.00"  # seed:500
    assert (
        services.stream_of(
            demo_zone.pk,
            services.IdentificationReport.objects.filter(zone=demo_zone, status="published")
            .get()
            .producer_id,
            "900-041-49",
            date(2021, 1, 1),
        )
        == "isw"
    )
