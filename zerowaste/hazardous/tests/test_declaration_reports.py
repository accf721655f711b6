"""HJ 1259 declaration reports C.1 / C.2 / C.3 generated from the declarations and the manifests:
figures to the kilogram, the reconciliation, the tables due and their deadlines, access, bad input,
the national Excel layout, and the API, command line and page."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid, NotFound
from zerowaste.core.models import Organization
from zerowaste.declarations.models import Declaration, DeclarationLine
from zerowaste.hazardous import declaration_reports, rules
from zerowaste.hazardous.models import ManagementPlan
from zerowaste.hazardous.testing import Park, make_facility
from zerowaste.testing import parties
from zerowaste.transfers import services as transfers
from zerowaste.transfers.models import Transfer
from zerowaste.transfers.testing import make_receiver

pytestmark = pytest.mark.django_db
D = Decimal
PACKAGING = "900-041-49"  # HW49, 含有或沾染毒性、感染性危险废物的废弃包装物、容器、过滤吸附介质
MINERAL_OIL = "900-249-08"  # HW08

# The national template's flattened headers (spec/data/hj1259/templates/HJ1259_C1_*.csv).
C1_TEMPLATE = [
    "序号",
    "产生情况/危险废物名称/行业俗称/单位内部名称",
    "产生情况/危险废物名称/国家危险废物名录名称",
    "产生情况/危险废物类别",
    "产生情况/危险废物代码",
    "产生情况/有害成分名称",
    "产生情况/形态",
    "产生情况/危险特性",
    "产生情况/产生量",
    "产生情况/计量单位",
    "自行利用/处置情况/利用/处置方式",
    "自行利用/处置情况/利用/处置量",
    "自行利用/处置情况/计量单位",
    "委托外单位利用/处置情况/省（区、市）",
    "委托外单位利用/处置情况/单位名称",
    "委托外单位利用/处置情况/危险废物经营许可证编号/利用处置环节豁免管理单位编号/出口核准通知单编号",
    "委托外单位利用/处置情况/利用/处置方式",
    "委托外单位利用/处置情况/利用/处置量",
    "委托外单位利用/处置情况/计量单位",
    "贮存情况/上月底剩余贮存量",
    "贮存情况/计量单位",
    "贮存情况/本月底剩余贮存量",
    "贮存情况/计量单位",
]


# --- Building the records ------------------------------------------------------------------------------


def declare_month(
    org: Organization,
    year: int,
    month: int,
    lines: dict[str, tuple[str, ...]],
    *,
    kind: str = "month",
    version: int = 1,
    status: str = "accepted",
) -> Declaration:
    """One HW declaration; per code (opening, generated, utilized, disposed, to util, to disp, closing)."""
    start = date(year, month, 1)
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    end_month = month + months - 1
    end = date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
    end = date(end.year + (end.month == 12), end.month % 12 + 1, 1) - timedelta(days=1)
    decl = Declaration.objects.create(
        zone_id=org.zone_id,
        organization=org,
        stream="hw",
        period_kind=kind,
        period_start=start,
        period_end=end,
        status=status,
        version=version,
    )
    for position, (code, q) in enumerate(lines.items()):
        opening, generated, utilized, disposed, to_util, to_disp, closing = (D(x) for x in q)
        DeclarationLine.objects.create(
            zone_id=org.zone_id,
            declaration=decl,
            waste_code=code,
            waste_name="废试剂瓶" if code == PACKAGING else "",
            category_code="HW" + code[-2:],
            opening_t=opening,
            generated_t=generated,
            utilized_t=utilized,
            disposed_t=disposed,
            transferred_util_t=to_util,
            transferred_disp_t=to_disp,
            closing_t=closing,
            position=position,
        )
    return decl


def manifest(
    park: Park,
    consignee: Organization,
    on: str,
    code: str,
    tonnes: str,
    target: str,
    *,
    received: str | None = None,
    treatment: str = "D10",
    form: str = "固态",
) -> Transfer:
    system = Actor.system(park.zone)
    t = transfers.create_transfer(
        system,
        data={
            "stream": "hw",
            "consignor_id": park.producer.pk,
            "consignee_id": consignee.pk,
            "carrier_id": park.carrier.pk,
            "planned_date": on,
            "treatment": treatment,
            "lines": [
                {
                    "waste_code": code,
                    "estimated_t": tonnes,
                    "packaging": "桶",
                    "package_count": 2,
                    "physical_form": form,
                }
            ],
        },
    )
    steps = {
        "draft": [],
        "issued": ["issue"],
        "closed": ["issue", "pick_up", "deliver", "accept"],
        "cancelled": ["issue", "cancel"],
    }[target]
    for action in steps:
        data: dict[str, Any] = {}
        if action == "pick_up":
            data = {"vehicle_id": park.vehicle.pk, "quantity_seen_t": tonnes, "driver": "张师傅"}
        elif action == "accept":
            data = {"received_t": received or tonnes}
        elif action == "cancel":
            data = {"reason": "车辆故障"}
        t = transfers.perform(system, t.pk, action, **data)
    return t


@dataclass
class Records:
    park: Park
    oil_receiver: Organization
    numbers: dict[str, str]


@pytest.fixture
def records(park: Park) -> Records:
    """A producer declaring April-June 2020 month by month, with its manifests:

    900-041-49 to the park's receiver (D10); 900-249-08 to a receiver in Hebei (R9). May's
    packaging manifest was weighed at 0.880 t although 0.900 t were declared handed over; June's is
    still on its way (its estimate counts). A draft and a cancelled manifest move nothing.
    """
    p = park.producer
    declare_month(p, 2020, 4, {PACKAGING: ("0.500", "1.234", "0", "0.100", "0", "1.000", "0.634")})
    declare_month(
        p,
        2020,
        5,
        {
            PACKAGING: ("0.634", "0.800", "0", "0", "0", "0.900", "0.534"),
            MINERAL_OIL: ("0", "2.000", "0.250", "0", "1.500", "0", "0.250"),
        },
    )
    # June: version 1 was amended; the accepted version 2 counts, a draft version 3 does not.
    declare_month(p, 2020, 6, {PACKAGING: ("0.534", "9.999", "0", "0", "0", "0.500", "10.033")})
    declare_month(
        p,
        2020,
        6,
        {
            PACKAGING: ("0.534", "0.466", "0", "0", "0", "0.500", "0.500"),
            MINERAL_OIL: ("0.250", "0.750", "0", "0", "0.900", "0", "0.100"),
        },
        version=2,
    )
    declare_month(
        p, 2020, 6, {PACKAGING: ("0.534", "5", "0", "0", "0", "0", "5.534")}, version=3, status="draft"
    )
    oil = make_receiver(park.zone, codes=["HW08"], name="河北某再生油有限公司")
    Organization.objects.filter(pk=oil.pk).update(address="河北省廊坊市广阳区某路1号")
    oil.refresh_from_db()
    numbers = {
        "april": manifest(park, park.receiver, "2020-04-20", PACKAGING, "1.000", "closed").number or "",
        "may": manifest(
            park, park.receiver, "2020-05-18", PACKAGING, "0.900", "closed", received="0.880"
        ).number
        or "",
        "may_oil": manifest(
            park, oil, "2020-05-25", MINERAL_OIL, "1.500", "closed", treatment="R9", form="液态"
        ).number
        or "",
        "june": manifest(park, park.receiver, "2020-06-10", PACKAGING, "0.500", "issued").number or "",
        "june_oil": manifest(
            park, oil, "2020-06-12", MINERAL_OIL, "0.900", "closed", treatment="R9", form="液态"
        ).number
        or "",
    }
    manifest(park, park.receiver, "2020-06-15", PACKAGING, "7.000", "draft")
    manifest(park, park.receiver, "2020-06-16", PACKAGING, "8.000", "cancelled")
    return Records(park, oil, numbers)


def build(records: Records, period: str, actor: Actor | None = None) -> declaration_reports.DeclarationReport:
    actor = actor or records.park.actor(records.park.producer)
    return declaration_reports.build_report(actor, organization_id=records.park.producer.pk, period=period)


def rows_of(report: declaration_reports.DeclarationReport) -> list[dict[str, Any]]:
    return [r.as_dict(report.columns) for r in report.rows]


# --- Figures -----------------------------------------------------------------------------------------


def test_c1_month_from_the_latest_counted_version(records: Records, english: None) -> None:
    report = build(records, "2020-06")
    assert (report.table, report.title) == ("C.1", "2020年6月危险废物月度申报报告表")
    rows = rows_of(report)
    assert [(r["seq"], r["code"]) for r in rows] == [(1, PACKAGING), (2, MINERAL_OIL)]
    packaging, oil = rows
    assert packaging == {
        "seq": 1,
        "internal_name": "废试剂瓶",
        "national_name": "含有或沾染毒性、感染性危险废物的废弃包装物、容器、过滤吸附介质",
        "category": "HW49",
        "code": PACKAGING,
        "harmful_constituents": "",
        "form": "固态",
        "hazard": "T/In",
        "generated_t": "0.466",
        "generated_unit": "吨",
        "own_method": "",
        "own_t": "0.000",
        "own_unit": "吨",
        "province": "北京市",
        "consignee": records.park.receiver.name,
        "licence_number": f"京环危{records.park.receiver.pk}",
        "entrusted_method": "D10",
        "entrusted_t": "0.500",
        "entrusted_unit": "吨",
        "opening_t": "0.534",
        "opening_unit": "吨",
        "closing_t": "0.500",
        "closing_unit": "吨",
        "manifests": [records.numbers["june"]],
    }
    assert (oil["generated_t"], oil["own_t"], oil["opening_t"], oil["closing_t"]) == (
        "0.750",
        "0.000",
        "0.250",
        "0.100",
    )
    assert (oil["province"], oil["consignee"], oil["entrusted_method"], oil["entrusted_t"], oil["form"]) == (
        "河北省",
        "河北某再生油有限公司",
        "R9",
        "0.900",
        "液态",
    )
    assert report.declarations[0]["version"] == 2
    assert report.differences == []
    # June's packaging manifest is not yet received: its estimate counts, and the notes say so.
    assert any(records.numbers["june"] in n and "estimate" in n for n in report.notes)
    assert all(isinstance(r.generated_t, Decimal) for r in report.rows)


def test_c2_quarter_sums_its_months_and_lists_the_difference(records: Records) -> None:
    report = build(records, "2020Q2")
    assert (report.table, report.title) == ("C.2", "2020年第2季度危险废物季度申报报告表")
    assert [c.header for c in report.columns][19] == "贮存情况/上季度底剩余贮存量"
    packaging, oil = rows_of(report)
    # generated 1.234 + 0.800 + 0.466; own 0.100 (April's disposal); stock from April 1 to June 30
    assert (packaging["generated_t"], packaging["own_t"], packaging["opening_t"], packaging["closing_t"]) == (
        "2.500",
        "0.100",
        "0.500",
        "0.500",
    )
    # one consignee, one treatment: 1.000 + 0.880 (received) + 0.500 (estimate)
    assert packaging["entrusted_t"] == "2.380"
    assert set(packaging["manifests"]) == {records.numbers[k] for k in ("april", "may", "june")}
    # 900-249-08 appeared in May: it had no stock at the end of March
    assert (oil["generated_t"], oil["own_t"], oil["opening_t"], oil["closing_t"], oil["entrusted_t"]) == (
        "2.750",
        "0.250",
        "0.000",
        "0.100",
        "2.400",
    )
    # Own utilization/disposal without a registered facility: the method stays blank; with the
    # in-plant facilities registered (seed:3925-3935), their methods fill the column.
    assert (packaging["own_method"], oil["own_method"]) == ("", "")
    producer = records.park.producer
    make_facility(producer, codes=["HW49"], activity="disposal", method="焚烧")
    make_facility(
        producer, codes=[MINERAL_OIL], licence_codes=["HW08"], activity="utilization", method="再生油"
    )
    packaging_now, oil_now = rows_of(build(records, "2020Q2"))
    assert (packaging_now["own_method"], oil_now["own_method"]) == ("焚烧", "再生油")
    [difference] = report.differences
    assert (
        difference.waste_code,
        difference.declared_t,
        difference.manifests_t,
        difference.difference_t,
    ) == (
        PACKAGING,
        D("2.400"),
        D("2.380"),
        D("0.020"),
    )
    data = report.as_dict()
    assert data["differences"] == [
        {
            "waste_code": PACKAGING,
            "declared_t": "2.400",
            "manifests_t": "2.380",
            "difference_t": "0.020",
            "matches": False,
        }
    ]
    assert {r["waste_code"]: r["matches"] for r in data["reconciliation"]} == {
        PACKAGING: False,
        MINERAL_OIL: True,
    }


def test_c3_year_says_which_months_are_missing(records: Records, english: None) -> None:
    report = build(records, "2020")
    assert (report.table, report.title) == ("C.3", "2020年危险废物年度申报报告表")
    assert [c.header for c in report.columns][19:22] == [
        "贮存情况/上年底剩余贮存量",
        "贮存情况/计量单位",
        "贮存情况/本年底剩余贮存量",
    ]
    packaging, _oil = rows_of(report)
    assert packaging["generated_t"] == "2.500"
    # neither January nor December was declared: the year's stocks are unknown, left blank
    assert (packaging["opening_t"], packaging["opening_unit"], packaging["closing_t"]) == (None, "", None)
    missing = next(n for n in report.notes if "No counted HW declaration" in n)
    assert "2020-01" in missing and "2020-07" in missing and "2020-12" in missing and "2020-05" not in missing


def test_quarterly_declarant_c2_from_its_quarter_and_c1_cannot_split_it(park: Park, english: None) -> None:
    p = park.producer2
    declare_month(
        p, 2021, 4, {PACKAGING: ("1.000", "3.000", "0", "0", "0", "2.500", "1.500")}, kind="quarter"
    )
    actor = park.actor(p)
    c2 = declaration_reports.build_report(actor, organization_id=p.pk, period="2021年第2季度")
    [row] = rows_of(c2)
    assert (row["generated_t"], row["opening_t"], row["closing_t"], row["entrusted_t"]) == (
        "3.000",
        "1.000",
        "1.500",
        None,
    )
    assert [(r.declared_t, r.manifests_t) for r in c2.differences] == [(D("2.500"), D("0"))]
    c1 = declaration_reports.build_report(actor, organization_id=p.pk, period="2021-05")
    assert c1.rows == []
    assert any("2021Q2" in n and "cannot be split" in n for n in c1.notes)


def test_hand_overs_to_the_park_store_are_entrusted_to_its_operator_and_reconcile(park: Park) -> None:
    # A pilot-park producer puts no manifest on its HW: the park store collects it (2 containers).
    declare_month(park.producer, 2021, 1, {PACKAGING: ("0", "0.300", "0", "0", "0", "0.300", "0")})
    park.collect(collected_on="2021-01-05", quantity_kg=120)
    park.collect(collected_on="2021-01-20", quantity_kg=180)
    park.collect(collected_on="2021-02-01", quantity_kg=50)  # next month: not in January's report
    report = declaration_reports.build_report(
        park.actor(park.producer), organization_id=park.producer.pk, period="2021-01"
    )
    [row] = rows_of(report)
    assert (row["consignee"], row["entrusted_method"], row["entrusted_t"]) == (
        park.operator.name,
        declaration_reports.PARK_COLLECTION,
        "0.300",
    )
    assert row["manifests"] == [park.store.code]
    assert report.differences == []  # what it declared as sent out is what the store collected
    assert any(park.store.name in note for note in report.notes)


def test_refused_manifests_and_a_partial_acceptance_count_what_the_consignee_kept(park: Park) -> None:
    system = Actor.system(park.zone)
    refused = manifest(park, park.receiver, "2020-09-01", PACKAGING, "1.000", "issued")
    for action, data in (
        ("pick_up", {"vehicle_id": park.vehicle.pk, "quantity_seen_t": "1.000", "driver": "张师傅"}),
        ("deliver", {}),
        ("refuse", {"reason": "包装破损"}),
    ):
        transfers.perform(system, refused.pk, action, **data)
    part = manifest(park, park.receiver, "2020-09-02", PACKAGING, "2.000", "issued")
    for action, data in (
        ("pick_up", {"vehicle_id": park.vehicle.pk, "quantity_seen_t": "2.000", "driver": "张师傅"}),
        ("deliver", {}),
        ("accept_part", {"received_t": "2.000", "refused_t": "0.300", "reason": "部分不符"}),
    ):
        transfers.perform(system, part.pk, action, **data)
    report = declaration_reports.build_report(system, organization_id=park.producer.pk, period="2020-09")
    [row] = rows_of(report)
    assert row["entrusted_t"] == "1.700" and row["manifests"] == [part.number]
    assert row["generated_t"] is None  # nothing declared for September
    assert any(str(refused.number) in n for n in report.notes)


# --- Tables due and deadlines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "start", "deadline"),
    [
        ("month", date(2020, 6, 1), date(2020, 7, 15)),
        ("month", date(2020, 12, 1), date(2021, 1, 15)),  # December: into the next year
        ("month", date(2021, 1, 1), date(2021, 2, 15)),
        ("quarter", date(2020, 1, 1), date(2020, 4, 15)),
        ("quarter", date(2020, 4, 1), date(2020, 7, 15)),
        ("quarter", date(2020, 7, 1), date(2020, 10, 15)),
        ("quarter", date(2020, 10, 1), date(2021, 1, 15)),  # Q4: the first month of next year
        ("year", date(2020, 1, 1), date(2021, 3, 31)),
        ("year", date(2023, 1, 1), date(2024, 3, 31)),
    ],
)
def test_declaration_deadlines(kind: str, start: date, deadline: date) -> None:
    assert rules.declaration_report_deadline(kind, start) == deadline


def test_unknown_period_kind_has_no_deadline() -> None:
    with pytest.raises(ValueError):
        rules.declaration_report_deadline("week", date(2020, 1, 1))


@pytest.mark.parametrize(
    ("klass", "tables"),
    [
        (rules.KEY, ("C.1", "C.3")),
        (rules.SIMPLIFIED, ("C.2", "C.3")),
        (rules.REGISTERED, ("C.3",)),
        (None, ()),
    ],
)
def test_tables_due_per_class(klass: str | None, tables: tuple[str, ...]) -> None:
    assert rules.report_tables_due(klass) == tables


def _plan(org: Organization, year: int, klass: str, version: int = 1) -> None:
    ManagementPlan.objects.create(
        zone_id=org.zone_id,
        organization=org,
        year=year,
        version=version,
        management_class=klass,
        content={"A.1": "x", "A.3": "y"},
        filed_at=timezone.now(),
    )


@pytest.mark.parametrize(
    ("klass", "period", "is_due", "deadlines"),
    [
        (rules.KEY, "2020-06", True, [("C.1", "2020-06", "2020-07-15"), ("C.3", "2020", "2021-03-31")]),
        (rules.KEY, "2020Q2", False, [("C.1", "2020-04", "2020-05-15"), ("C.3", "2020", "2021-03-31")]),
        (
            rules.SIMPLIFIED,
            "2020-06",
            False,
            [("C.2", "2020Q2", "2020-07-15"), ("C.3", "2020", "2021-03-31")],
        ),
        (rules.SIMPLIFIED, "2020Q2", True, [("C.2", "2020Q2", "2020-07-15"), ("C.3", "2020", "2021-03-31")]),
        (rules.REGISTERED, "2020", True, [("C.3", "2020", "2021-03-31")]),
        (rules.REGISTERED, "2020Q2", False, [("C.3", "2020", "2021-03-31")]),
    ],
)
def test_due_table_from_the_latest_plan(
    park: Park, english: None, klass: str, period: str, is_due: bool, deadlines: list[tuple[str, str, str]]
) -> None:
    org = park.producer
    _plan(org, 2019, rules.REGISTERED if klass != rules.REGISTERED else rules.KEY)
    _plan(org, 2020, klass)
    _plan(org, 2021, rules.KEY if klass != rules.KEY else rules.REGISTERED)  # a later year does not count
    report = declaration_reports.build_report(park.system, organization_id=org.pk, period=period)
    due = report.due.as_dict()
    assert (due["management_class"], due["plan_year"], due["table_is_due"]) == (klass, 2020, is_due)
    assert [(d["table"], d["period"], d["deadline"]) for d in due["deadlines"]] == deadlines
    assert (
        due["deadline"]
        == rules.declaration_report_deadline(report.period.kind, report.period.start).isoformat()
    )
    not_due_note = [n for n in report.notes if "generated on request" in n]
    assert bool(not_due_note) is not is_due


def test_without_a_plan_the_class_is_unknown(park: Park, english: None) -> None:
    report = declaration_reports.build_report(park.system, organization_id=park.producer.pk, period="2020-06")
    assert (report.due.management_class, report.due.tables, report.due.table_is_due) == (None, (), False)
    assert any("No management plan" in n for n in report.notes)


# --- Access and bad input ---------------------------------------------------------------------------------


def test_access_own_members_and_regulators_only(records: Records) -> None:
    park = records.park
    assert build(records, "2020-06", park.actor(park.regulator)).rows
    assert build(records, "2020-06", park.actor(park.producer, "viewer")).rows
    for stranger in (park.producer2, park.outsider, park.receiver):
        with pytest.raises(NotFound):
            build(records, "2020-06", park.actor(stranger))
    street = parties.make_member(park.regulator, jurisdiction=park.other_park)
    from zerowaste.core.authz import actor_for_membership

    with pytest.raises(NotFound):  # a regulator whose jurisdiction does not cover the producer
        build(records, "2020-06", actor_for_membership(street))


@pytest.mark.parametrize(
    ("period", "field"),
    [
        ("2020-13", "period"),
        ("2020Q5", "period"),
        ("June 2020", "period"),
        ("", "period"),
        ("1999", "period"),
    ],
)
def test_bad_periods_name_the_field(park: Park, period: str, field: str) -> None:
    with pytest.raises(Invalid) as exc:
        declaration_reports.build_report(park.actor(park.producer), organization_id=None, period=period)
    assert exc.value.errors[0]["field"] == field


@pytest.mark.parametrize("organization_id", ["abc", "0", str(2**70), "999999999"])
def test_unknown_organization_is_bad_input_on_the_command_line(park: Park, organization_id: str) -> None:
    with pytest.raises(Invalid) as exc:
        declaration_reports.build_report(park.system, organization_id=organization_id, period="2020-06")
    assert exc.value.errors[0]["field"] == "organization_id"


# --- Excel, API, command line, page ---------------------------------------------------------------------


def _sheet(content: bytes) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content))


def test_xlsx_has_the_national_layout(records: Records) -> None:
    report = build(records, "2020-06")
    book = _sheet(declaration_reports.to_xlsx(report))
    sheet = book["C.1"]
    assert sheet["A1"].value == "2020年6月危险废物月度申报报告表"
    assert records.park.producer.name in sheet["A2"].value and "吨" in str(sheet.cell(row=2, column=20).value)
    assert sheet["A3"].value == "序号" and "A3:A4" in {str(r) for r in sheet.merged_cells.ranges}
    groups = [sheet.cell(row=3, column=c).value for c in range(1, 24)]
    subs = [sheet.cell(row=4, column=c).value for c in range(1, 24)]
    flattened, group = [], ""
    for top, sub in zip(groups, subs, strict=True):
        group = top or group
        flattened.append(group if sub is None else f"{group}/{sub}")
    assert flattened == C1_TEMPLATE
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:W1", "A3:A4", "B3:J3", "K3:M3", "N3:S3", "T3:W3"} <= merged
    # Excel holds numbers: 0.466 t reads back as the number 0.466, shown with 3 decimals
    assert sheet["E5"].value == PACKAGING and str(sheet["I5"].value) == "0.466" and sheet["J5"].value == "吨"
    assert sheet["I5"].number_format == "0.000"
    assert str(sheet["R6"].value) == "0.9" and sheet["N6"].value == "河北省"
    notes = book.worksheets[1]
    assert any(c.value == PACKAGING for row in notes.iter_rows() for c in row)


def test_api_json_and_xlsx(records: Records) -> None:
    park = records.park
    api = parties.api_client(park.producer, scopes=("read",))
    r = api.get("/api/hazardous/declaration-reports", period="2020Q2")
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["table"] == "C.2" and data["rows"][0]["generated_t"] == "2.500"
    assert data["differences"][0]["difference_t"] == "0.020"
    x = api.get("/api/hazardous/declaration-reports", period="2020-06", format="xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    assert _sheet(x.content)["C.1"]["A1"].value == "2020年6月危险废物月度申报报告表"
    regulator = parties.api_client(park.regulator, scopes=("read",))
    r = regulator.get(
        "/api/hazardous/declaration-reports", period="2020-06", organization_id=park.producer.pk
    )
    assert r.status_code == 200 and r.json()["organization"]["id"] == park.producer.pk
    other = parties.api_client(park.producer2, scopes=("read",))
    assert (
        other.get(
            "/api/hazardous/declaration-reports", period="2020-06", organization_id=park.producer.pk
        ).status_code
        == 404
    )
    bad = api.get("/api/hazardous/declaration-reports", period="2020-13")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
    bad_format = api.get("/api/hazardous/declaration-reports", period="2020-06", format="pdf")
    assert bad_format.status_code == 422 and bad_format.json()["errors"][0]["field"] == "format"
    assert Client().get("/api/hazardous/declaration-reports?period=2020-06").status_code == 401


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("hazardous", *args, stdout=out)
    return out.getvalue()


def test_cli_json_text_and_xlsx(records: Records, tmp_path: Path) -> None:
    park = records.park
    zone = ("--zone", park.zone.code)
    org = str(park.producer.pk)
    data = json.loads(
        run("declaration-report", "--organization", org, "--period", "2020Q2", "--format", "json", *zone)
    )
    assert data["table"] == "C.2" and data["rows"][1]["entrusted_t"] == "2.400"
    by_uscc = json.loads(
        run(
            "declaration-report",
            "--organization",
            park.producer.uscc,
            "--period",
            "2020",
            "--format",
            "json",
            *zone,
        )
    )
    assert by_uscc["table"] == "C.3" and by_uscc["organization"]["id"] == park.producer.pk
    text = run("declaration-report", "--organization", org, "--period", "2020Q2", *zone)
    assert "DIFFERENCE 900-041-49: declared 2.400 t, manifests 2.380 t" in text
    out = tmp_path / "c1.xlsx"
    written = run(
        "declaration-report", "--organization", org, "--period", "2020-06", "--output", str(out), *zone
    )
    assert written.strip() == f"C.1 2020-06: 2 rows written to {out}"
    assert _sheet(out.read_bytes())["C.1"]["A1"].value == "2020年6月危险废物月度申报报告表"


def test_cli_bad_period_is_one_line(park: Park, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command(
            "hazardous",
            "declaration-report",
            "--organization",
            str(park.producer.pk),
            "--period",
            "2020-13",
            "--zone",
            park.zone.code,
        )
    err = capsys.readouterr().err
    assert err.startswith("zerowaste hazardous: error: period") and err.count("\n") == 1


def test_page_producer_and_regulator(records: Records) -> None:
    park = records.park
    _plan(park.producer, 2020, rules.SIMPLIFIED)
    producer = Client()
    producer.force_login(parties.make_member(park.producer).user)
    page = producer.get("/hazardous/declaration-report/?period=2020Q2")
    assert page.status_code == 200
    html = page.content.decode()
    assert "简化管理" in html and "C.2 2020Q2 → 2020-07-15" in html and "C.3 2020 → 2021-03-31" in html
    for text in ("2020年第2季度危险废物季度申报报告表", "2.500", "2.380", "0.020", "委托外单位利用/处置情况"):
        assert text in html
    assert 'id="report-reconciliation"' in html and "2020-07-15" in html
    # The page's second header row is short (the sheet keeps the template's names), the table scrolls.
    assert '<th title="危险废物名称/国家危险废物名录名称">国家危险废物名录名称</th>' in html
    assert '<div class="scroll">' in html and 'class="c-national_name"' in html
    download = producer.get("/hazardous/declaration-report/?period=2020-06&format=xlsx")
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.xlsx"')
    bad = producer.get("/hazardous/declaration-report/?period=2020-13")
    assert bad.status_code == 422 and "period" in bad.content.decode()
    nav = producer.get("/hazardous/").content.decode()
    assert "/hazardous/declaration-report/" in nav

    regulator = Client()
    regulator.force_login(parties.make_member(park.regulator).user)
    form = regulator.get("/hazardous/declaration-report/")
    assert form.status_code == 200 and park.producer.name in form.content.decode()
    chosen = regulator.get(
        f"/hazardous/declaration-report/?period=2020-06&organization_id={park.producer.pk}"
    )
    assert chosen.status_code == 200 and "0.466" in chosen.content.decode()

    stranger = Client()
    stranger.force_login(parties.make_member(park.producer2).user)
    assert (
        stranger.get(
            f"/hazardous/declaration-report/?period=2020-06&organization_id={park.producer.pk}"
        ).status_code
        == 404
    )


def test_page_in_english(records: Records) -> None:
    client = Client()
    client.force_login(parties.make_member(records.park.producer).user)
    html = client.get(
        "/hazardous/declaration-report/?period=2020-06", headers={"Accept-Language": "en"}
    ).content
    assert "Reconciliation with the manifests" in html.decode()
    zh = client.get(
        "/hazardous/declaration-report/?period=2020-06", headers={"Accept-Language": "zh-hans"}
    ).content
    assert "Reconciliation with the manifests" not in zh.decode()
