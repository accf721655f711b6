"""Services on the database: balance, opening carried, life cycle, versions, audit, reconciliation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from zerowaste.core import audit
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import AuditEntry
from zerowaste.declarations import rules, services
from zerowaste.declarations.models import Declaration, DeclarationLine
from zerowaste.testing import parties

from .conftest import World, line

pytestmark = pytest.mark.django_db


def test_create_draft_with_sites_and_codes(world: World) -> None:
    from zerowaste.core import services as core

    site = core.add_site(world.system, world.producer.pk, name="一号厂房", kind="plant")
    decl = services.save_declaration(
        world.clerk,
        stream="isw",
        period="2020-03",
        lines=[
            line("99-01-01", "12.5", unit="t"),
            line("99-12-01", "1500", unit="kg", site="一号厂房", closing="0"),
            line("900-041-49", "1", closing="0") | {"waste_code": "99-14-01", "waste_name": "废滤芯"},
        ],
    )
    assert (
        decl.status == "draft"
        and decl.period_start == date(2020, 3, 1)
        and decl.period_end == date(2020, 3, 31)
    )
    lines = {ln.waste_code: ln for ln in decl.lines.all()}
    assert lines["99-12-01"].generated_t == Decimal("1.500") and lines["99-12-01"].site_id == site.pk
    assert lines["99-01-01"].category_code == "ISW01" and lines["99-01-01"].waste_name == "废硅片"
    assert lines["99-14-01"].waste_name == "废滤芯"
    entry = AuditEntry.objects.get(model="declarations.declaration", object_id=str(decl.pk))
    assert entry.action == "declaration.create" and len(entry.changes["lines"]) == 3


def test_balance_mismatch_is_refused_with_the_numbers(world: World) -> None:
    with pytest.raises(Invalid) as info:
        services.save_declaration(
            world.clerk,
            stream="isw",
            period="2020-03",
            lines=[
                {
                    "waste_code": "99-01-01",
                    "generated_t": "10",
                    "transferred_util_t": "9.999",
                    "closing_t": "0",
                }
            ],
        )
    error = info.value.errors[0]
    assert error["field"] == "lines[0].closing_t"
    assert (
        error["rule"] == "balance"
        and "[balance]" not in str(error["message"])
        and "0.001" in str(error["message"])
        and "9.999" in str(error["message"])
    )
    assert not Declaration.objects.exists()


def test_every_fault_is_reported(world: World) -> None:
    with pytest.raises(Invalid) as info:
        services.save_declaration(
            world.clerk,
            stream="isw",
            period="2020-03",
            lines=[
                {"waste_code": "99-99-99", "generated_t": "1", "closing_t": "1"},
                {"waste_code": "99-01-01", "generated_t": "-1", "closing_t": "0"},
                {"waste_code": "99-01-02", "generated_t": "1", "closing_t": "0", "unit": "lb"},
                {"waste_code": "99-14-01", "generated_t": "1", "closing_t": "1"},
            ],
        )
    fields = {e["field"] for e in info.value.errors}
    assert fields == {"lines[0].waste_code", "lines[1].generated_t", "lines[2].unit", "lines[3].waste_name"}


def test_opening_stock_is_carried_from_previous_closing(world: World) -> None:
    march = services.save_declaration(
        world.clerk, stream="isw", period="2020-03", lines=[line("99-01-01", "10", closing="4")]
    )
    services.submit(world.clerk, march.pk)
    # Opening left blank: carried (4 t). 4 + 6 − 10 = 0.
    april = services.save_declaration(
        world.clerk,
        stream="isw",
        period="2020-04",
        lines=[{"waste_code": "99-01-01", "generated_t": "6", "transferred_util_t": "10", "closing_t": "0"}],
    )
    assert april.lines.get().opening_t == Decimal("4.000")
    # A different opening is refused, naming both numbers.
    with pytest.raises(Invalid) as info:
        services.save_declaration(
            world.clerk,
            stream="isw",
            period="2020-04",
            lines=[
                {
                    "waste_code": "99-01-01",
                    "opening_t": "3",
                    "generated_t": "6",
                    "transferred_util_t": "9",
                    "closing_t": "0",
                }
            ],
        )
    assert info.value.errors[0]["rule"] == "opening-carried"
    assert "4.000" in str(info.value.errors[0]["message"])
    # Stock left at the end of the previous period must be declared again.
    with pytest.raises(Invalid) as info:
        services.save_declaration(world.clerk, stream="isw", period="2020-04", lines=[line("99-12-01", "1")])
    assert any("99-01-01" in str(e["message"]) and "4.000" in str(e["message"]) for e in info.value.errors)


def test_life_cycle_and_audit(world: World) -> None:
    decl = services.save_declaration(world.clerk, stream="isw", period="2020-05", lines=[line()])
    with pytest.raises(Forbidden):
        services.accept(world.clerk, decl.pk)
    with pytest.raises(NotFound):  # regulators do not see drafts
        services.accept(world.regulator, decl.pk)
    services.submit(world.clerk, decl.pk)
    with pytest.raises(Conflict):
        services.submit(world.clerk, decl.pk)
    with pytest.raises(Invalid):
        services.return_declaration(world.regulator, decl.pk, reason="  ")
    services.return_declaration(world.regulator, decl.pk, reason="产生量偏低，请核实")
    decl.refresh_from_db()
    assert decl.status == "returned" and decl.return_reason == "产生量偏低，请核实"
    services.save_declaration(
        world.clerk, stream="isw", period="2020-05", lines=[line(generated="11")], declaration_id=decl.pk
    )
    services.submit(world.clerk, decl.pk)
    services.accept(world.regulator, decl.pk)
    decl.refresh_from_db()
    assert decl.status == "accepted" and decl.submissions == 2 and decl.reviewed_by
    actions = list(
        AuditEntry.objects.filter(model="declarations.declaration", object_id=str(decl.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "declaration.create",
        "declaration.submit",
        "declaration.return",
        "declaration.edit",
        "declaration.resubmit",
        "declaration.accept",
    ]
    assert audit.verify(world.zone.pk).ok
    with pytest.raises(Conflict):
        services.save_declaration(world.clerk, stream="isw", period="2020-05", lines=[line()])


def test_amendment_is_a_new_version_with_reason_and_diff(world: World) -> None:
    decl = services.save_declaration(
        world.clerk, stream="isw", period="2020-06", lines=[line(generated="10")]
    )
    services.submit(world.clerk, decl.pk)
    services.accept(world.regulator, decl.pk)
    with pytest.raises(Invalid):
        services.amend(world.clerk, decl.pk, reason="")
    v2 = services.amend(world.clerk, decl.pk, reason="称重记录更正", lines=[line(generated="12.345")])
    assert v2.version == 2 and v2.previous_id == decl.pk and v2.status == "draft"
    with pytest.raises(Conflict):  # one pending amendment at a time
        services.amend(world.clerk, decl.pk, reason="again")
    # Until accepted, the amendment does not count; the accepted version does.
    assert services.statistics(world.regulator, year=2020, by="code")["total_generated_t"] == "10.000"
    services.submit(world.clerk, v2.pk)
    assert services.statistics(world.regulator, year=2020, by="code")["total_generated_t"] == "10.000"
    history = services.versions(world.regulator, v2.pk)
    assert [h["version"] for h in history] == [1, 2]
    assert history[1]["amendment_reason"] == "称重记录更正"
    assert history[1]["diff"][0]["fields"]["generated_t"] == ["10.000", "12.345"]
    services.accept(world.regulator, v2.pk)
    decl.refresh_from_db()
    assert decl.status == "superseded"
    assert services.statistics(world.regulator, year=2020, by="code")["total_generated_t"] == "12.345"
    assert Declaration.objects.count() == 2  # nothing deleted
    assert DeclarationLine.objects.count() == 2


def test_roles(world: World) -> None:
    viewer = parties.actor_of(world.producer, "viewer")
    with pytest.raises(Forbidden):
        services.save_declaration(viewer, stream="isw", period="2020-03", lines=[line()])
    decl = services.save_declaration(world.clerk, stream="isw", period="2020-03", lines=[line()])
    with pytest.raises(Forbidden):
        services.submit(viewer, decl.pk)
    other = parties.actor_of(parties.make_org(world.zone, roles=["producer"]), "admin")
    with pytest.raises(NotFound):
        services.submit(other, decl.pk)
    with pytest.raises(NotFound):
        services.save_declaration(
            other, stream="isw", period="2020-03", lines=[line()], organization_id=world.producer.pk
        )
    assert services.get_declaration(viewer, decl.pk) == decl
    regulator_viewer = parties.actor_of(world.regulator_org, "viewer")
    services.submit(world.clerk, decl.pk)
    with pytest.raises(Forbidden):
        services.accept(regulator_viewer, decl.pk)


def test_street_regulator_sees_only_its_jurisdiction(world: World) -> None:
    from zerowaste.core.models import Area

    street = Area.objects.create(zone=world.zone, code="s1", name="荣华街道", kind="street")
    other_street = Area.objects.create(zone=world.zone, code="s2", name="博兴街道", kind="street")
    world.producer.area = other_street
    world.producer.save()
    street_reg = parties.actor_of(world.regulator_org, "admin")
    from zerowaste.core.authz import actor_for_membership

    street_reg = actor_for_membership(parties.make_member(world.regulator_org, "admin", jurisdiction=street))
    decl = services.save_declaration(world.clerk, stream="isw", period="2020-03", lines=[line()])
    services.submit(world.clerk, decl.pk)
    with pytest.raises(NotFound):
        services.accept(street_reg, decl.pk)
    services.accept(world.regulator, decl.pk)


def test_hazardous_stream_and_wrong_stream(world: World) -> None:
    decl = services.save_declaration(
        world.clerk, stream="hw", period="2018-01", lines=[line("900-041-49", "2.5")]
    )
    assert decl.lines.get().category_code == "HW49"
    with pytest.raises(Invalid):
        services.save_declaration(world.clerk, stream="hw", period="2018-02", lines=[line("99-01-01", "1")])


def test_reconciliation_seam(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "TRANSFER_PROVIDERS", [])  # without the transfers app's provider
    decl = services.save_declaration(
        world.clerk,
        stream="hw",
        period="2020-03",
        lines=[line("900-041-49", "5"), line("900-249-08", "2", transferred_disp_t="2")],
    )
    assert services.reconcile(decl) is None  # no transfers app yet

    def fake(zone_id: int, org_id: int, start: date, end: date) -> dict[str, Decimal]:
        assert (zone_id, org_id, start, end) == (
            world.zone.pk,
            world.producer.pk,
            date(2020, 3, 1),
            date(2020, 3, 31),
        )
        return {"900-041-49": Decimal("5.000"), "900-249-08": Decimal("1.5"), "900-000-49": Decimal("0.2")}

    services.register_transfer_provider(fake)
    try:
        rows = {r.waste_code: r for r in services.reconcile(decl) or []}
    finally:
        services.unregister_transfer_provider(fake)
    assert not rows["900-041-49"].flagged
    assert rows["900-249-08"].flagged and rows["900-249-08"].difference_t == Decimal("0.500")
    assert rows["900-000-49"].as_dict()["difference_t"] == "-0.200"


def test_production_data_and_intensity(world: World) -> None:
    decl = services.save_declaration(world.clerk, stream="isw", period="2020", lines=[line(generated="400")])
    services.submit(world.clerk, decl.pk)
    services.save_production_data(
        world.clerk,
        year=2020,
        value_added_wan="10000",
        products=[{"name": "显示面板", "quantity": "120000", "unit": "片"}],
        raw_materials=[{"name": "玻璃基板", "quantity": "130000", "unit": "片"}],
    )
    again = services.save_production_data(world.clerk, year=2020, value_added_wan="20000")
    assert again.value_added_wan == Decimal("20000.00") and again.products == []
    with pytest.raises(Invalid):
        services.save_production_data(world.clerk, year=2020, value_added_wan="-1")
    table = services.intensity(world.regulator, year=2020)
    row = table["rows"][0]
    assert row["intensity_t_per_wan"] == "0.0200" and not row["above_target"]
    services.save_production_data(world.clerk, year=2020, value_added_wan="10000")
    table = services.intensity(world.regulator, year=2020, above_target_only=True)
    assert table["above_target"] == 1 and table["rows"][0]["intensity_t_per_wan"] == "0.0400"


def test_statistics_groups(world: World) -> None:
    from zerowaste.core.models import Area

    street = Area.objects.create(zone=world.zone, code="rh", name="荣华街道", kind="street")
    park = Area.objects.create(zone=world.zone, code="bio", name="生物医药园", kind="park", parent=street)
    world.producer.area = park
    world.producer.save()
    for period, generated in (("2019-03", "8"), ("2020-03", "10"), ("2020-04", "5")):
        decl = services.save_declaration(
            world.clerk,
            stream="isw",
            period=period,
            lines=[line("99-01-01", generated), line("99-12-01", "1", utilized_t="1")],
        )
        services.submit(world.clerk, decl.pk)
    stats = services.statistics(world.regulator, year=2020, by="category")
    assert stats["total_generated_t"] == "17.000"
    rows = {r["key"]: r for r in stats["rows"]}
    assert rows["ISW01"]["generated_t"] == "15.000" and rows["ISW01"]["transferred_t"] == "15.000"
    assert rows["ISW12"]["utilized_t"] == "2.000"
    assert rows["ISW01"]["previous_year_generated_t"] == "8.000" and rows["ISW01"]["yoy_pct"] == "87.5"
    assert {r["key"] for r in services.statistics(world.regulator, year=2020, by="month")["rows"]} == {
        "2020-03",
        "2020-04",
    }
    assert services.statistics(world.regulator, year=2020, by="park")["rows"][0]["key"] == "生物医药园"
    assert services.statistics(world.regulator, year=2020, by="street")["rows"][0]["key"] == "荣华街道"
    assert (
        services.statistics(world.regulator, year=2020, by="industry")["rows"][0]["key"] == "新一代信息技术"
    )
    other = parties.actor_of(parties.make_org(world.zone, roles=["producer"]), "admin")
    assert services.statistics(other, year=2020, by="category")["rows"] == []
    with pytest.raises(Invalid):
        services.statistics(world.regulator, year=2020, by="colour")
    assert rules.STAT_GROUPS
