"""Services on a real database: tiers from declarations, collection rules and refusals, ship-out by
manifest, the monthly summary, extensions, plans, identification, access and keeping records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import AuditEntry, Organization
from zerowaste.declarations.models import Declaration, DeclarationLine
from zerowaste.hazardous import rules, services
from zerowaste.hazardous.models import Container, Inspection, Store, TierAssessment
from zerowaste.hazardous.testing import REPORT_DATA, Park, make_park
from zerowaste.testing import parties
from zerowaste.transfers import services as transfers
from zerowaste.transfers.models import Transfer

pytestmark = pytest.mark.django_db
D = Decimal


def declare(
    org: Organization,
    year: int,
    months: list[tuple[str, str, str]],
    *,
    status: str = "accepted",
    version: int = 1,
) -> None:
    """Monthly HW declarations: (opening, generated, closing) per month from January."""
    for m, (opening, generated, closing) in enumerate(months, start=1):
        decl = Declaration.objects.create(
            zone_id=org.zone_id,
            organization=org,
            stream="hw",
            period_kind="month",
            period_start=date(year, m, 1),
            period_end=date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1),
            status=status,
            version=version,
        )
        o, g, c = D(opening), D(generated), D(closing)
        DeclarationLine.objects.create(
            zone_id=org.zone_id,
            declaration=decl,
            waste_code="900-041-49",
            category_code="HW49",
            opening_t=o,
            generated_t=g,
            transferred_disp_t=o + g - c,
            closing_t=c,
        )


def refusal(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, Any]:
    return exc.value.errors[0]


# --- Tiers ----------------------------------------------------------------------------------------


def _producer(park: Park) -> Organization:
    return parties.make_org(park.zone, roles=("producer",), area_id=park.park.pk)


@pytest.mark.parametrize(
    ("months", "tier", "generated", "stock"),
    [
        ([("0", "1", "0")], "A", "1.000", "0.000"),  # exactly 1 t
        ([("0", "0.5", "0"), ("0", "0.501", "0")], "B", "1.001", "0.000"),
        ([("0", "7", "3"), ("3", "3", "0")], "B", "10.000", "3.000"),  # exactly 10 t, exactly 3 t stored
        ([("0", "7", "3.001"), ("3.001", "3", "0")], "C", "10.000", "3.001"),  # 3 t exceeded
        ([("0", "10.001", "0")], "C", "10.001", "0.000"),
        ([("3.5", "2", "0")], "C", "2.000", "3.500"),  # a stock carried into the year counts too
    ],
)
def test_tiers_from_last_years_declarations(
    park: Park, months: list[tuple[str, str, str]], tier: str, generated: str, stock: str
) -> None:
    org = _producer(park)
    declare(org, 2020, months)
    assert services.tiers(park.system, 2021) == []  # a past year is computed when asked
    services.compute_tiers(park.actor(park.operator), 2021)
    row = {r["producer_id"]: r for r in services.tiers(park.system, 2021)}[org.pk]
    assert (row["tier"], row["generated_t"], row["max_stock_t"]) == (tier, generated, stock)
    a = TierAssessment.objects.get(producer=org, year=2021)
    assert a.evidence["source_year"] == 2020
    assert a.evidence["rule"] == rules.cite("R-TIER")
    assert len(a.evidence["declarations"]) == len(months)
    assert D(a.evidence["declarations"][0]["generated_t"]) == D(months[0][1])


def test_tiers_ignore_other_years_streams_and_uncounted_versions(park: Park) -> None:
    org = _producer(park)
    declare(org, 2020, [("0", "0.4", "0")])
    declare(org, 2019, [("0", "50", "0")])  # the year before the source year
    declare(org, 2020, [("0", "30", "0")], status="draft", version=2)  # an amendment not accepted yet
    services.compute_tiers(park.system, 2021)
    a = TierAssessment.objects.get(producer=org, year=2021)
    assert (a.tier, a.generated_t) == ("A", D("0.400"))
    # The producer of another park is not tiered here; the regulator sees both parks' tiers.
    assert not TierAssessment.objects.filter(producer=park.outsider).exists()


def test_recompute_on_demand_updates_and_audits(park: Park) -> None:
    org = _producer(park)
    declare(org, 2020, [("0", "0.9", "0")])
    services.compute_tiers(park.system, 2021)
    assert TierAssessment.objects.get(producer=org, year=2021).tier == "A"
    declare(org, 2020, [("0", "12", "0")], version=2)  # the accepted amendment counts, not v1
    services.compute_tiers(park.actor(park.regulator), 2021)
    a = TierAssessment.objects.get(producer=org, year=2021)
    assert (a.tier, a.generated_t, a.trigger) == ("C", D("12.000"), "on_demand")
    entry = AuditEntry.objects.filter(action="hazardous.tier.recompute", object_id=str(a.pk)).get()
    assert entry.changes["tier"] == ["A", "C"]


def test_january_recomputation_runs_once(park: Park) -> None:
    org = _producer(park)
    declare(org, 2020, [("0", "5", "0")])
    assert services.ensure_january_tiers(park.zone.pk, date(2021, 1, 4)) > 0
    a = TierAssessment.objects.get(producer=org, year=2021)
    assert (a.tier, a.trigger) == ("B", "january")
    assert services.ensure_january_tiers(park.zone.pk, date(2021, 1, 20)) == 0


def test_only_regulators_and_operators_recompute(park: Park) -> None:
    with pytest.raises(Forbidden):
        services.compute_tiers(park.actor(park.producer), 2021)
    other = make_park(park.zone)
    with pytest.raises(NotFound):
        services.compute_tiers(park.actor(other.operator), 2021, park_id=park.park.pk)


# --- Collection ------------------------------------------------------------------------------------


def test_collection_is_not_a_manifest(park: Park, english: None) -> None:
    from zerowaste.core import services as core

    core.add_licence(
        park.system,
        park.operator.pk,
        kind="hw_operating",
        number="京环危T1",
        issuer="生态环境局",
        valid_from=date(2015, 1, 1),
        valid_to=date(2035, 12, 31),
    )
    before = Transfer.objects.count()
    c = park.collect(quantity_kg=250)
    assert (c.state, c.quantity_kg, c.category, c.group) == ("in_store", 250, "HW49", "general")
    assert c.number.startswith("HWRK") and c.number.endswith("001")
    assert Transfer.objects.count() == before
    # ... and transfers refuses a manifest for the same hand-over (seed:4005).
    data = {
        "stream": "hw",
        "consignee_id": park.operator.pk,
        "carrier_id": park.carrier.pk,
        "consignor_id": park.producer.pk,
        "lines": [{"waste_code": "900-041-49", "estimated_t": "0.25"}],
    }
    with pytest.raises(Invalid, match="collection, not a manifest"):
        transfers.create_transfer(park.system, data=data)


def test_refusals_name_rule_and_article(park: Park, english: None) -> None:
    """The rule's key for machines (`rule`), the article for people; no key or seed line in the text."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"producer_id": park.outsider.pk}, "R-SAME-PARK"),
        ({"waste_code": "841-001-01"}, "R-NO-INFECTIOUS"),
        ({"highly_toxic": True}, "R-NO-INFECTIOUS"),
        ({"infectious": True}, "R-NO-INFECTIOUS"),
        ({"waste_code": "900-252-12"}, "R-ROUTE"),  # HW12: no contract covers it
        ({"analysis_report": ""}, "R-ANALYSIS"),
        ({"quantity_kg": 100_000_001}, ""),
    ]
    for extra, rule in cases:
        with pytest.raises(Invalid) as exc:
            park.collect(**extra)
        if rule:
            err = refusal(exc)
            assert err["rule"] == rule, extra
            message = str(err["message"])
            assert rules.RULES[rule].article in message and rule not in message and "seed" not in message
    assert not Container.objects.filter(store=park.store).exists()


def test_capacity_and_insurance(park: Park, english: None) -> None:
    services.configure_store(park.system, park.store.pk, data={"capacity_t": "0.5"})
    park.collect(quantity_kg=400)
    with pytest.raises(Invalid) as exc:
        park.collect(quantity_kg=101)
    assert refusal(exc)["rule"] == "R-CAPACITY"
    park.collect(quantity_kg=100)  # exactly full
    services.configure_store(
        park.system, park.store.pk, data={"capacity_t": "10", "insurance_valid_to": "2020-01-01"}
    )
    with pytest.raises(Invalid) as exc:
        park.collect(quantity_kg=1)
    assert refusal(exc)["rule"] == "R-INSURANCE"


def test_c_producers_only_for_the_agreed_categories(park: Park, english: None) -> None:
    declare(park.producer2, date.today().year - 1, [("0", "50", "0")])
    with pytest.raises(Invalid) as exc:
        park.collect(producer_id=park.producer2.pk)
    assert refusal(exc)["rule"] == "R-C-CATEGORY"
    assert "试点园区管理方案第五条" in refusal(exc)["message"] and "seed" not in refusal(exc)["message"]
    services.configure_store(park.system, park.store.pk, data={"c_categories": ["HW49"]})
    assert park.collect(producer_id=park.producer2.pk).producer_id == park.producer2.pk


def test_incompatible_placement_refused_compatible_accepted(park: Park, english: None) -> None:
    acid = park.collect(waste_code="900-300-34", bay="A")  # HW34 acid
    assert acid.group == "acid"
    with pytest.raises(Invalid) as exc:
        park.collect(waste_code="900-399-35", bay="A")  # HW35 alkali
    err = refusal(exc)
    assert err["rule"] == "R-INCOMPATIBLE" and err["field"] == "bay"
    assert acid.number in err["message"] and "贮存管理工作指南第十条" in err["message"]
    assert park.collect(waste_code="900-399-35", bay="B").group == "alkali"
    assert park.collect(waste_code="900-300-34", bay="A").group == "acid"  # like with like
    # The analysis report may put a container in another group: an oxidiser next to solvents is refused.
    park.collect(waste_code="900-402-06", bay="C")
    with pytest.raises(Invalid):
        park.collect(waste_code="900-041-49", bay="C", group="oxidiser")
    # Once the acid has left, the bay takes alkalis.
    Container.objects.filter(bay="A").update(state="shipped", shipped_on=date.today())
    assert park.collect(waste_code="900-399-35", bay="A").bay == "A"


def test_producer_and_foreign_operator_may_not_collect(park: Park) -> None:
    with pytest.raises(Forbidden):
        services.record_collection(park.actor(park.producer), park.store.pk, data={})
    other = make_park(park.zone)
    with pytest.raises(NotFound):
        services.record_collection(park.actor(other.operator), park.store.pk, data={})
    with pytest.raises(Forbidden):
        services.record_collection(park.actor(park.operator, "viewer"), park.store.pk, data={})


# --- Ship-out, summary -----------------------------------------------------------------------------


def test_ship_out_makes_an_issued_manifest_through_transfers(park: Park) -> None:
    a = park.collect(quantity_kg=120)
    b = park.collect(quantity_kg=345, waste_code="900-402-06", bay="C")
    c = park.collect(quantity_kg=1)
    op = park.actor(park.operator)
    t = services.ship_out(
        op,
        park.store.pk,
        data={
            "container_ids": [a.pk, b.pk, c.pk],
            "consignee_id": park.receiver.pk,
            "carrier_id": park.carrier.pk,
        },
    )
    assert (t.state, t.stream, t.consignor_id, t.consignee_id) == (
        "issued",
        "hw",
        park.operator.pk,
        park.receiver.pk,
    )
    lines = {ln.waste_code: (ln.estimated_t, ln.package_count) for ln in t.lines.all()}
    assert lines == {"900-041-49": (D("0.121"), 2), "900-402-06": (D("0.345"), 1)}
    assert set(Container.objects.filter(transfer=t).values_list("state", flat=True)) == {"shipped"}
    assert Container.objects.get(pk=a.pk).out_number.startswith("HWCK")
    with pytest.raises(Conflict):
        services.ship_out(
            op,
            park.store.pk,
            data={"container_ids": [a.pk], "consignee_id": park.receiver.pk, "carrier_id": park.carrier.pk},
        )


def test_ship_out_only_to_a_contracted_licensed_receiver(park: Park, english: None) -> None:
    from zerowaste.transfers.testing import make_receiver

    c = park.collect()
    stranger = make_receiver(park.zone)
    with pytest.raises(Invalid) as exc:
        services.ship_out(
            park.actor(park.operator),
            park.store.pk,
            data={"container_ids": [c.pk], "consignee_id": stranger.pk, "carrier_id": park.carrier.pk},
        )
    assert refusal(exc)["rule"] == "R-ROUTE"
    # The manifest's own rules still apply: a carrier without an HW permit is refused by transfers.
    from zerowaste.transfers.testing import make_carrier

    bare, _v = make_carrier(park.zone, permit=False)
    with pytest.raises(Invalid) as exc2:
        services.ship_out(
            park.actor(park.operator),
            park.store.pk,
            data={"container_ids": [c.pk], "consignee_id": park.receiver.pk, "carrier_id": bare.pk},
        )
    assert exc2.value.errors[0]["field"] == "carrier_id"
    assert Container.objects.get(pk=c.pk).state == "in_store"


def test_monthly_summary_reconciles_to_the_kilogram(park: Park) -> None:
    op = park.actor(park.operator)
    jan = [
        park.collect(quantity_kg=q, collected_on=f"2021-01-{d:02d}")
        for q, d in ((120, 5), (333, 9), (47, 20))
    ]
    feb = [park.collect(quantity_kg=q, collected_on=f"2021-02-{d:02d}") for q, d in ((1000, 2), (999, 15))]
    services.ship_out(
        op,
        park.store.pk,
        data={
            "container_ids": [jan[0].pk, jan[1].pk],
            "consignee_id": park.receiver.pk,
            "carrier_id": park.carrier.pk,
            "planned_date": "2021-01-28",
        },
    )
    services.ship_out(
        op,
        park.store.pk,
        data={
            "container_ids": [jan[2].pk, feb[1].pk],
            "consignee_id": park.receiver.pk,
            "carrier_id": park.carrier.pk,
            "planned_date": "2021-02-26",
        },
    )
    j = services.monthly_summary(op, park.store.pk, 2021, 1)
    assert (j["opening_kg"], j["collected_kg"], j["shipped_kg"], j["closing_kg"]) == (0, 500, 453, 47)
    assert j["manifest_kg"] == 453 and j["balanced"] and j["manifests_reconciled"]
    f = services.monthly_summary(op, park.store.pk, 2021, 2)
    assert (f["opening_kg"], f["collected_kg"], f["shipped_kg"], f["closing_kg"]) == (47, 1999, 1046, 1000)
    assert f["balanced"] and f["manifests_reconciled"] and len(f["manifests"]) == 1
    # A manifest from the store that no container backs is shown as a difference, not hidden.
    transfers.create_transfer(
        park.system,
        data={
            "stream": "hw",
            "consignor_id": park.operator.pk,
            "consignee_id": park.receiver.pk,
            "carrier_id": park.carrier.pk,
            "planned_date": "2021-02-27",
            "lines": [{"waste_code": "900-041-49", "estimated_t": "0.010"}],
        },
        issue=True,
    )
    f2 = services.monthly_summary(op, park.store.pk, 2021, 2)
    assert f2["balanced"] and not f2["manifests_reconciled"] and f2["manifest_difference_kg"] == -10


# --- Extensions ------------------------------------------------------------------------------------


def test_extension_needs_a_regulator_and_a_later_date(park: Park, english: None) -> None:
    c = park.collect(collected_on="2020-01-10")
    data = {"until": "2021-03-31", "document": "京经环审〔2021〕1号", "reason": "检修"}
    with pytest.raises(Forbidden) as refused:
        services.approve_extension(park.actor(park.operator), c.pk, data=data)
    assert refused.value.errors[0]["rule"] == "R-ONE-YEAR"
    with pytest.raises(Invalid):
        services.approve_extension(park.actor(park.regulator), c.pk, data={**data, "until": "2021-01-08"})
    with pytest.raises(Invalid):
        services.approve_extension(park.actor(park.regulator), c.pk, data={**data, "until": "2023-01-01"})
    ext = services.approve_extension(park.actor(park.regulator), c.pk, data=data)
    assert ext.approved_by_id == park.regulator.pk
    c.refresh_from_db()
    assert c.extended_until == date(2021, 3, 31) and c.deadline == date(2021, 3, 31)


# --- Plans -----------------------------------------------------------------------------------------


def test_transfer_plan_due_and_late(park: Park) -> None:
    actor = park.actor(park.producer)
    lines = [{"waste_code": "900-041-49", "quantity_t": "0.5", "destination": "园区集中贮存库"}]
    on_time = services.file_transfer_plan(
        actor, data={"year": 2021, "quarter": 1, "lines": lines, "filed_on": "2020-12-06"}
    )
    assert (on_time.due_on, on_time.late, on_time.version) == (date(2020, 12, 6), False, 1)
    late = services.file_transfer_plan(
        actor, data={"year": 2021, "quarter": 1, "lines": lines, "filed_on": "2020-12-07"}
    )
    assert (late.late, late.version) == (True, 2)
    with pytest.raises(Invalid) as exc:
        services.file_transfer_plan(actor, data={"year": 2021, "quarter": 5, "lines": lines})
    assert exc.value.errors[0]["field"] == "quarter"


def test_plans_due_lists_missing_plans(park: Park) -> None:
    on = date(2020, 11, 20)
    due = services.plans_due(park.actor(park.operator), on)
    kinds = {(r["organization_id"], r["kind"], r["period"]) for r in due}
    assert (park.producer.pk, "transfer_plan", "2021Q1") in kinds
    assert (park.producer.pk, "transfer_plan", "2020Q4") in kinds  # overdue since 2020-09-05
    assert all(r["rule"].startswith("R-") for r in due)
    services.file_transfer_plan(
        park.actor(park.producer),
        data={
            "year": 2021,
            "quarter": 1,
            "lines": [{"waste_code": "900-041-49", "quantity_t": "1", "destination": "x"}],
        },
    )
    kinds = {
        (r["organization_id"], r["kind"], r["period"])
        for r in services.plans_due(park.actor(park.operator), on)
    }
    assert (park.producer.pk, "transfer_plan", "2021Q1") not in kinds
    assert park.outsider.pk not in {r["organization_id"] for r in due}


def test_management_plan_tables_follow_the_class(park: Park, english: None) -> None:
    actor = park.actor(park.producer)
    plan = services.file_management_plan(
        actor, data={"year": 2021, "content": {"A.1": "基本信息", "A.3": "产生", "A.7": "转移"}}
    )
    assert plan.management_class == "registered" and plan.version == 1
    with pytest.raises(Invalid, match=r"A\.1, A\.3, A\.7"):
        services.file_management_plan(
            actor, data={"year": 2021, "content": {"A.1": "x", "A.3": "y", "A.2": "设施"}}
        )
    declare(park.producer, 2019, [("0", "120", "0")])
    plan2 = services.file_management_plan(
        actor, data={"year": 2021, "content": {"A.1": "x", "A.2": "设施", "A.3": "y"}}
    )
    assert (plan2.management_class, plan2.largest_annual_t, plan2.version) == ("key", D("120.000"), 2)


# --- Identification --------------------------------------------------------------------------------


def test_published_not_hazardous_moves_the_waste_to_the_general_stream(park: Park, english: None) -> None:
    actor = park.actor(park.producer)
    report = services.file_report(actor, data=REPORT_DATA)
    assert services.stream_of(park.zone.pk, park.producer.pk, "900-041-49", date(2021, 6, 1)) == "hw"
    with pytest.raises(NotFound):  # an unpublished report is its producer's alone
        services.publish_report(park.actor(park.producer2), report.pk, data={})
    services.publish_report(
        actor, report.pk, data={"published_on": "2021-05-20", "effective_from": "2021-06-01"}
    )
    assert services.stream_of(park.zone.pk, park.producer.pk, "900-041-49", date(2021, 5, 31)) == "hw"
    assert services.stream_of(park.zone.pk, park.producer.pk, "900-041-49", date(2021, 6, 1)) == "isw"
    assert services.stream_of(park.zone.pk, park.producer2.pk, "900-041-49", date(2021, 6, 1)) == "hw"
    assert park.collect(collected_on="2021-05-31").waste_code == "900-041-49"
    with pytest.raises(Invalid) as exc:
        park.collect(collected_on="2021-06-01")
    assert refusal(exc)["rule"] == "R-IDENTIFIED"
    with pytest.raises(Conflict):
        services.publish_report(actor, report.pk, data={})


def test_an_identified_waste_no_longer_travels_on_an_hw_manifest(park: Park, english: None) -> None:
    from zerowaste.transfers import services as transfers

    actor = park.actor(park.producer)
    report = services.file_report(actor, data=REPORT_DATA)
    services.publish_report(
        actor, report.pk, data={"published_on": "2021-05-20", "effective_from": "2021-06-01"}
    )
    data = {
        "stream": "hw",
        "consignee_id": park.receiver.pk,
        "carrier_id": park.carrier.pk,
        "lines": [{"waste_code": "900-041-49", "estimated_t": "1", "packaging": "桶", "package_count": 1}],
    }
    assert transfers.create_transfer(actor, data={**data, "planned_date": "2021-05-31"}).stream == "hw"
    with pytest.raises(Invalid) as exc:
        transfers.create_transfer(actor, data={**data, "planned_date": "2021-06-01"})
    assert exc.value.errors[0]["field"] == "lines[1].waste_code"
    message = str(exc.value.errors[0]["message"])
    assert (
        "identified as not hazardous from 2021-06-01" in message
        and "危险废物试点管理实施细则第三条" in message
    )
    # The report is this producer's: another producer's same waste is still hazardous.
    other = park.actor(park.producer2)
    assert transfers.create_transfer(other, data={**data, "planned_date": "2021-06-01"}).stream == "hw"


def test_an_identified_waste_is_no_longer_declared_as_hw(park: Park, english: None) -> None:
    """From the effective date the producer's waste is declared as general industrial waste: an HW
    declaration of the code for a later period is refused, by form and by file, naming the field."""
    from zerowaste.core.tabular import ImportRejected
    from zerowaste.declarations import services as declarations

    actor = park.actor(park.producer)
    report = services.file_report(actor, data=REPORT_DATA)
    services.publish_report(
        actor, report.pk, data={"published_on": "2021-05-20", "effective_from": "2021-06-01"}
    )
    lines = [{"waste_code": "900-041-49", "generated_t": "2", "closing_t": "0", "transferred_disp_t": "2"}]
    may = declarations.save_declaration(actor, stream="hw", period="2021-05", lines=lines)
    assert may.lines.get().waste_code == "900-041-49"
    with pytest.raises(Invalid) as exc:
        declarations.save_declaration(actor, stream="hw", period="2021-06", lines=lines)
    fault = exc.value.errors[0]
    assert str(fault["field"]).endswith("waste_code") and "实施细则第三条" in str(fault["message"])
    assert not Declaration.objects.filter(organization=park.producer, period_start=date(2021, 6, 1)).exists()
    # Another producer's same waste is still hazardous.
    other = park.actor(park.producer2)
    assert declarations.save_declaration(other, stream="hw", period="2021-06", lines=lines).pk
    header = "统一社会信用代码,申报期,废物类别,场所,废物代码,废物名称,单位,产生量,委托处置量,期末贮存量\n"
    csv = header + f"{park.producer.uscc},2021-07,hw,,900-041-49,,t,1,1,0\n"
    with pytest.raises(ImportRejected) as rejected:
        declarations.import_file(actor, content=csv.encode(), filename="hw.csv")
    [found] = rejected.value.faults
    assert (found.row, found.field) == (2, "waste_code") and "实施细则第三条" in found.message


def test_report_needs_every_section_and_an_eligible_waste(park: Park, english: None) -> None:
    actor = park.actor(park.producer)
    for key, _title in rules.REPORT_SECTIONS:
        with pytest.raises(Invalid) as exc:
            services.file_report(actor, data={**REPORT_DATA, key: ""})
        assert exc.value.errors[0]["field"] == key
    with pytest.raises(Invalid) as exc:
        services.file_report(actor, data={**REPORT_DATA, "waste_code": "900-300-34"})
    assert refusal(exc)["rule"] == "R-IDENTIFIED"


# --- Inspections -----------------------------------------------------------------------------------


def test_inspections_only_by_regulators_with_findings(park: Park, english: None) -> None:
    with pytest.raises(Forbidden):
        services.record_inspection(
            park.actor(park.operator), data={"organization_id": park.producer.pk, "result": "passed"}
        )
    reg = park.actor(park.regulator)
    with pytest.raises(Invalid) as exc:
        services.record_inspection(reg, data={"organization_id": park.producer.pk, "result": "failed"})
    assert exc.value.errors[0]["field"] == "findings"
    i = services.record_inspection(reg, data={"organization_id": park.operator.pk, "result": "passed"})
    assert i.subject == "operator"


# --- Records are kept (seed:4033) -------------------------------------------------------------------


def test_records_cannot_be_deleted_through_the_application(park: Park) -> None:
    c = park.collect()
    services.record_inspection(park.system, data={"organization_id": park.producer.pk, "result": "passed"})
    for obj in (c, park.store, Inspection.objects.first()):
        with pytest.raises(Forbidden) as refused:
            obj.delete()  # type: ignore[union-attr]
        assert refused.value.errors[0]["rule"] == "R-KEEP-5Y"
    with pytest.raises(Forbidden):
        Container.objects.all().delete()
    with pytest.raises(Forbidden):
        Store.objects.filter(pk=park.store.pk).delete()
    assert Container.objects.filter(pk=c.pk).exists() and Store.objects.filter(pk=park.store.pk).exists()


@pytest.mark.postgres_only
def test_database_refuses_deletion_on_postgresql(park: Park, is_postgres: bool) -> None:
    from django.db import DatabaseError, connection, transaction

    if not is_postgres:
        pytest.skip("PostgreSQL trigger")
    c = park.collect()
    with (
        pytest.raises(DatabaseError, match="kept at least five years"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM hazardous_container WHERE id = %s", [c.pk])
    assert Container.objects.filter(pk=c.pk).exists()


def test_producer_sees_its_own_side_of_the_month(park: Park) -> None:
    declare(park.producer, 2021, [("0", "0.5", "0.1"), ("0.1", "0.2", "0")])
    park.collect(quantity_kg=150, collected_on="2021-01-10")
    park.collect(quantity_kg=250, collected_on="2021-01-25")
    park.collect(quantity_kg=300, collected_on="2021-02-03")
    park.collect(producer_id=park.producer2.pk, quantity_kg=999, collected_on="2021-01-11")
    mine = park.actor(park.producer)
    jan = services.producer_summary(mine, 2021, 1)
    assert jan["lines"] == [
        {
            "code": "900-041-49",
            "declared_generated_t": "0.500",
            "declared_handed_kg": 400,
            "collected_kg": 400,
            "reconciled": True,
        }
    ]
    assert jan["reconciled"] and jan["collected_kg"] == 400  # the other producer's 999 kg is not here
    feb = services.producer_summary(mine, 2021, 2)
    assert feb["lines"][0]["declared_handed_kg"] == 300 and feb["reconciled"]
    park.collect(quantity_kg=1, collected_on="2021-02-28")
    assert not services.producer_summary(mine, 2021, 2)["reconciled"]
    # The store's own summary is the operator's (and the regulator's), not the producer's.
    with pytest.raises(Forbidden):
        services.monthly_summary(mine, park.store.pk, 2021, 1)
    with pytest.raises(NotFound):
        services.producer_summary(mine, 2021, 1, organization_id=park.producer2.pk)
    assert (
        services.producer_summary(park.actor(park.regulator), 2021, 1, park.producer2.pk)["collected_kg"]
        == 999
    )


def test_cancelled_manifest_brings_its_containers_back(park: Park) -> None:
    op = park.actor(park.operator)
    c = park.collect(quantity_kg=70)
    data = {"container_ids": [c.pk], "consignee_id": park.receiver.pk, "carrier_id": park.carrier.pk}
    t = services.ship_out(op, park.store.pk, data=data)
    with pytest.raises(Conflict):
        services.return_to_store(op, park.store.pk, t.pk)  # still issued
    transfers.perform(op, t.pk, "cancel", reason="车辆故障")
    back = services.return_to_store(op, park.store.pk, t.pk)
    assert [x.pk for x in back] == [c.pk]
    c.refresh_from_db()
    assert (c.state, c.shipped_on, c.transfer_id) == ("in_store", None, None)
    today = date.today()
    s = services.monthly_summary(op, park.store.pk, today.year, today.month)
    assert s["shipped_kg"] == 0 and s["closing_kg"] == 70 and s["balanced"] and s["manifests_reconciled"]
    t2 = services.ship_out(op, park.store.pk, data=data)
    assert t2.pk != t.pk
    with pytest.raises(Conflict):
        services.return_to_store(op, park.store.pk, t.pk)  # nothing left on the cancelled one


def test_ledger_in_the_national_format(park: Park) -> None:
    op = park.actor(park.operator)
    a = park.collect(quantity_kg=120, collected_on="2021-03-01")
    park.collect(quantity_kg=80, collected_on="2021-03-02", bay="B")
    services.ship_out(
        op,
        park.store.pk,
        data={
            "container_ids": [a.pk],
            "consignee_id": park.receiver.pk,
            "carrier_id": park.carrier.pk,
            "planned_date": "2021-03-10",
        },
    )
    headers, rows = services.ledger_rows(op, park.store.pk, 2021, "in")
    assert headers[:3] == ["序号", "入库批次编码", "入库时间"] and len(headers) == 17
    assert [r[1] for r in rows] == [a.number, "HWRK20210302001"] and rows[0][10] == 120
    headers, rows = services.ledger_rows(op, park.store.pk, 2021, "out")
    assert headers[-2:] == ["入库批次编码", "去向"] and len(headers) == 18
    assert rows == [
        [
            1,
            "HWCK20210310001",
            "2021-03-10",
            a.number,
            "吨桶",
            1,
            a.waste_name,
            a.waste_name,
            "HW49",
            "900-041-49",
            120,
            "kg",
            f"{park.store.code}-A",
            "贮存库",
            park.operator.name,
            "",
            a.number,
            park.receiver.name,
        ]
    ]
    with pytest.raises(Forbidden):
        services.ledger_rows(park.actor(park.producer), park.store.pk, 2021, "in")


def test_operator_obligations_name_their_rules(park: Park) -> None:
    op = park.actor(park.operator)
    services.configure_store(park.system, park.store.pk, data={"technicians": 2})
    status = services.operator_status(op, park.store.pk, date(2021, 6, 1))
    assert [f["rule"] for f in status["faults"]] == ["R-STAFF", "R-EMERGENCY-PLAN", "R-DRILL", "R-TRAINING"]
    message = status["faults"][0]["message"]
    assert "第七条(3)" in message and "R-STAFF" not in message and "seed" not in message
    for kind, on in (
        ("technician", "2021-01-05"),
        ("emergency_plan", "2021-02-01"),
        ("drill", "2020-06-01"),
        ("training", "2021-03-01"),
    ):
        services.add_operator_record(op, park.store.pk, data={"kind": kind, "on": on, "title": kind})
    status = services.operator_status(op, park.store.pk, date(2021, 6, 1))
    assert status["technicians"] == 2 and [f["rule"] for f in status["faults"]] == ["R-STAFF"]
    services.configure_store(park.system, park.store.pk, data={"technicians": 3})
    assert services.operator_status(op, park.store.pk, date(2021, 6, 1))["faults"] == []
    # A year after the drill, it is due again (seed:4043).
    assert [f["rule"] for f in services.operator_status(op, park.store.pk, date(2021, 6, 2))["faults"]] == [
        "R-DRILL"
    ]
    with pytest.raises(Forbidden):
        services.add_operator_record(
            park.actor(park.producer), park.store.pk, data={"kind": "drill", "title": "x"}
        )
    with pytest.raises(Forbidden):
        services.operator_status(park.actor(park.producer), park.store.pk)
    with pytest.raises(Invalid) as exc:
        services.add_operator_record(op, park.store.pk, data={"kind": "party", "title": "x"})
    assert exc.value.errors[0]["field"] == "kind"


def test_declaration_reconciliation_counts_park_collections(park: Park) -> None:
    from zerowaste.declarations import services as declarations

    assert services.collected_quantities in declarations.TRANSFER_PROVIDERS
    declare(park.producer, 2021, [("0", "0.5", "0.1")])  # hands over 0.4 t in January
    park.collect(quantity_kg=150, collected_on="2021-01-10")
    park.collect(quantity_kg=250, collected_on="2021-01-25")
    park.collect(quantity_kg=99, collected_on="2021-02-01")  # another month
    decl = Declaration.objects.get(organization=park.producer, period_start=date(2021, 1, 1))
    rows = {r.waste_code: r for r in declarations.reconcile(decl) or []}
    assert rows["900-041-49"].transferred_t == D("0.400") and not rows["900-041-49"].flagged
    assert services.collected_quantities(
        park.zone.pk, park.producer.pk, date(2021, 2, 1), date(2021, 2, 28)
    ) == {"900-041-49": D("0.099")}
