"""The demo step's figures against the seed, and `zerowaste transfers ...` on them."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.models import Zone
from zerowaste.transfers import rules, services
from zerowaste.transfers.models import Transfer


def test_demo_manifests_match_the_seed(demo_zone: Zone) -> None:
    isw = Transfer.objects.filter(zone=demo_zone, stream="isw").exclude(state="draft")
    assert isw.count() == 2247  # seed:487
    assert isw.filter(state="closed").count() == 1353
    total = sum(isw.values_list("estimated_t", flat=True), Decimal(0))
    assert abs(total - Decimal("50000")) < Decimal("50")  # ~5万吨
    assert set(Transfer.objects.filter(zone=demo_zone).values_list("state", flat=True)) == set(rules.STATES)
    stats = services.statistics(Actor.system(demo_zone), stream="hw")
    shares = {r["category"]: Decimal(r["tonnes"]) for r in stats["by_category"]}
    hw_total = sum(
        Transfer.objects.filter(zone=demo_zone, stream="hw").values_list("estimated_t", flat=True), Decimal(0)
    )
    assert abs(hw_total - Decimal("50349.8")) < Decimal("60")
    # ... the pilot park store's ship-outs (2,319.6 t in 2020, the rest early in 2021) among them.
    park_total = sum(
        Transfer.objects.filter(
            zone=demo_zone, stream="hw", consignor__name="北京亦庄生物医药园运营管理有限公司"
        ).values_list("estimated_t", flat=True),
        Decimal(0),
    )
    assert Decimal("2319.6") < park_total < Decimal("2319.6") + Decimal("657.7")
    assert max(shares, key=lambda k: shares[k]) == "HW06"  # 31.96 %, seed:1231
    numbers = (
        Transfer.objects.filter(zone=demo_zone, stream="hw")
        .exclude(number=None)
        .values_list("number", flat=True)
    )
    assert all(len(str(n)) == 14 and str(n)[4:8] == "1101" for n in numbers)
    assert audit.verify(demo_zone.pk).ok


@pytest.mark.django_db
def test_cli_list_show_overdue_export(demo_zone: Zone, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command(
        "transfers",
        "list",
        "--stream",
        "isw",
        "--state",
        "closed",
        "--year",
        "2020",
        "--format",
        "json",
        stdout=out,
    )
    rows = json.loads(out.getvalue())
    assert rows and all(r["state"] == "closed" and r["stream"] == "isw" for r in rows)
    assert {
        "number",
        "stream",
        "state",
        "consignor",
        "consignee",
        "estimated_t",
        "received_t",
        "issued_at",
        "closed_at",
    } <= set(rows[0])
    out = StringIO()
    call_command("transfers", "show", rows[0]["number"], "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["lines"][0]["waste_code"]
    out = StringIO()
    call_command("transfers", "overdue", "--format", "json", stdout=out)
    alerts = json.loads(out.getvalue())
    assert alerts and all(a["working_days_overdue"] > 0 for a in alerts)
    path = tmp_path / "reg.csv"
    out = StringIO()
    call_command("transfers", "export", str(path), "--stream", "hw", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["rows"] == Transfer.objects.filter(zone=demo_zone, stream="hw").count()
    assert "联单编号" in path.read_text(encoding="utf-8-sig").splitlines()[0]
