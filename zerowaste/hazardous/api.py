"""HTTP API of the hazardous-waste pilot: tiers, stores, collections, labels, inventory, alerts,
extensions, ship-out, monthly summary, plans, identification reports, inspections.

Each handler parses, makes one service call and serializes. No route deletes anything (records are
kept at least five years, seed:4033).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from zerowaste.api import Pagination, actor_of
from zerowaste.core.api import ErrorOut
from zerowaste.core.bounds import BusinessDate, Id, PastDate

from . import declaration_reports, facilities, labels, services
from .models import (
    Container,
    IdentificationReport,
    Inspection,
    ManagementPlan,
    Store,
    TransferPlan,
    TreatmentFacility,
)

router = Router(tags=["hazardous"])

ID = Field(..., ge=1, le=2**62)
ERRORS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- Schemas ---------------------------------------------------------------------------------------


class HazardousTierOut(Schema):
    producer: str
    producer_id: int
    park: str
    year: int
    generated_t: str
    max_stock_t: str
    tier: str
    reason: str
    trigger: str
    computed_at: str


class HazardousTierEvidenceOut(HazardousTierOut):
    evidence: dict[str, Any]


class HazardousStoreOut(Schema):
    id: int
    code: str
    name: str
    operator_id: int
    operator: str = Field(..., alias="operator.name")
    park_id: int
    park: str = Field(..., alias="park.name")
    capacity_t: Decimal
    bays: list[str]
    warning_days: list[int]
    c_categories: list[str]
    insurance_policy: str
    insurance_valid_to: date | None
    technicians: int
    emergency_plan_on: date | None
    last_drill_on: date | None


class HazardousStorePatch(Schema):
    warning_days: list[int] | None = Field(
        None, description="ages in days that raise a warning, e.g. [270, 330]"
    )
    bays: list[str] | None = None
    c_categories: list[str] | None = None
    capacity_t: Decimal | None = None
    insurance_policy: str | None = Field(None, max_length=64)
    insurance_valid_to: date | None = None
    technicians: int | None = Field(None, ge=0, le=10_000)
    emergency_plan_on: date | None = None
    last_drill_on: date | None = None


class HazardousContractIn(Schema):
    receiver_id: int = ID
    number: str = Field(..., max_length=64)
    categories: list[str] = Field(..., description="HW categories (HW49) or codes (900-041-49)")
    valid_from: date
    valid_to: date


class HazardousContractOut(Schema):
    id: int
    receiver_id: int
    number: str
    categories: list[str]
    valid_from: date
    valid_to: date


class HazardousCollectionIn(Schema):
    producer_id: int = ID
    waste_code: str = Field(..., max_length=40)
    quantity_kg: int | None = Field(None, ge=1, le=100_000_000)
    quantity_t: Decimal | None = Field(None, description="instead of quantity_kg")
    bay: str = Field(..., max_length=32)
    analysis_report: str = Field("", max_length=100, description="the analysis report it was accepted on")
    collected_on: date | None = None
    waste_name: str = Field("", max_length=300)
    physical_form: str = Field("", max_length=40)
    packaging: str = Field("", max_length=60)
    group: str | None = Field(None, description="compatibility group, if the analysis report says otherwise")
    infectious: bool = False
    highly_toxic: bool = False


class HazardousContainerOut(Schema):
    id: int
    number: str
    store_id: int
    producer_id: int
    producer: str = Field(..., alias="producer.name")
    waste_code: str
    category: str
    waste_name: str
    hazard: str
    group: str
    bay: str
    quantity_kg: int
    quantity_t: Decimal
    analysis_report: str
    collected_on: date
    state: str
    shipped_on: date | None
    out_number: str
    transfer_id: int | None
    extended_until: date | None
    deadline: date


class HazardousExtensionIn(Schema):
    until: date
    document: str = Field(..., max_length=100)
    reason: str = Field(..., max_length=2000)
    approved_on: date | None = None


class HazardousExtensionOut(Schema):
    id: int
    container_id: int
    approved_by_id: int
    approved_on: date
    until: date
    document: str
    reason: str


class HazardousShipIn(Schema):
    container_ids: list[int] = Field(..., min_length=1, max_length=2000)
    consignee_id: int = ID
    carrier_id: int = ID
    planned_date: date | None = None
    treatment: str = Field("", max_length=100)


class HazardousShipOut(Schema):
    transfer_id: int
    number: str | None
    state: str
    estimated_t: Decimal
    containers: int


class HazardousAlertOut(Schema):
    container: str
    container_id: int
    park: str
    store: str
    producer: str
    code: str
    stored_on: str
    age_days: int
    deadline: str
    extended: bool
    level: str
    quantity_t: str


class HazardousPlanIn(Schema):
    year: int = Field(..., ge=2000, le=2100)
    content: dict[str, str] = Field(..., description="HJ 1259 tables by name: A.1 … A.7")
    own_facility: bool = False


class HazardousPlanOut(Schema):
    id: int
    organization_id: int
    year: int
    version: int
    management_class: str
    largest_annual_t: Decimal
    content: dict[str, Any]
    filed_at: datetime
    late: bool


class HazardousTransferPlanLineIn(Schema):
    waste_code: str = Field(..., max_length=40)
    quantity_t: Decimal
    destination: str = Field(..., max_length=200)


class HazardousTransferPlanIn(Schema):
    year: int = Field(..., ge=2000, le=2100)
    quarter: int = Field(..., ge=1, le=4)
    lines: list[HazardousTransferPlanLineIn] = Field(..., min_length=1, max_length=200)


class HazardousTransferPlanOut(Schema):
    id: int
    organization_id: int
    year: int
    quarter: int
    version: int
    lines: list[dict[str, Any]]
    due_on: date
    filed_at: datetime
    late: bool


class HazardousPlansOut(Schema):
    management: list[HazardousPlanOut]
    transfer: list[HazardousTransferPlanOut]


class HazardousDueOut(Schema):
    organization: str
    organization_id: int
    kind: str
    period: str
    due: str
    days_left: int
    overdue: bool
    rule: str


class HazardousReportIn(Schema):
    waste_name: str = Field(..., max_length=300)
    waste_code: str = Field("", max_length=40, description="the HW code it was managed under, if any")
    agency: str = Field(..., max_length=200)
    basics: str = Field(..., max_length=20000, description="一、基本情况")
    process: str = Field(..., max_length=20000, description="二、鉴别工作过程")
    testing: str = Field(..., max_length=20000, description="三、检测情况")
    analysis: str = Field(..., max_length=20000, description="四、综合分析及鉴别结论")
    annexes: str = Field(..., max_length=20000, description="五、附件")
    expert_opinion: str = Field(..., max_length=20000, description="六、专家组意见")
    conclusion: str = Field(..., description="hazardous or not_hazardous")


class HazardousPublishIn(Schema):
    published_on: date | None = None
    effective_from: date | None = None


class HazardousReportOut(Schema):
    id: int
    producer_id: int
    waste_name: str
    waste_code: str
    agency: str
    basics: str
    process: str
    testing: str
    analysis: str
    annexes: str
    expert_opinion: str
    conclusion: str
    status: str
    published_on: date | None
    effective_from: date | None


class HazardousInspectionIn(Schema):
    organization_id: int = ID
    result: str = Field(..., description="passed, basically_passed or failed")
    findings: str = Field("", max_length=5000)
    inspected_on: PastDate | None = None
    subject: str | None = Field(None, description="producer or operator (default from the roles)")


class HazardousInspectionOut(Schema):
    id: int
    organization_id: int
    organization: str = Field(..., alias="organization.name")
    subject: str
    inspected_on: date
    result: str
    findings: str
    inspector_id: int


class HazardousFacilityIn(Schema):
    site_id: int = ID
    mode: str = Field(..., description="own_plant or group_shared")
    activity: str = Field(..., description="utilization or disposal")
    method: str = Field(..., max_length=100, description="e.g. 焚烧, 溶剂回收")
    waste_codes: list[str] = Field(..., description="HW codes (900-041-49) or categories (HW06)")
    eia_approval_number: str = Field(..., max_length=100, description="环境影响评价文件批复文号")
    eia_approval_date: date
    licence_id: int = Field(..., ge=1, le=2**62, description="the operator's HW operating licence")
    shared_with: list[str] = Field(
        default_factory=list, description="group_shared: the other subsidiaries (ids or USCCs)"
    )


class HazardousFacilityCloseIn(Schema):
    closed_on: date | None = None


class HazardousFacilityMemberOut(Schema):
    id: int
    name: str


class HazardousFacilityOut(Schema):
    id: int
    operator_id: int
    operator: str = Field(..., alias="operator.name")
    site_id: int
    site: str = Field(..., alias="site.name")
    mode: str
    activity: str
    method: str
    waste_codes: list[str]
    eia_approval_number: str
    eia_approval_date: date
    licence_id: int
    licence_number: str = Field(..., alias="licence.number")
    licence_valid_from: date = Field(..., alias="licence.valid_from")
    licence_valid_to: date = Field(..., alias="licence.valid_to")
    shared_with: list[HazardousFacilityMemberOut]
    status: str
    closed_on: date | None

    @staticmethod
    def resolve_shared_with(obj: TreatmentFacility) -> list[dict[str, Any]]:
        return [{"id": o.pk, "name": o.name} for o in obj.shared_with.all()]


class HazardousInHouseRowOut(Schema):
    organization: str
    organization_id: int
    period: str
    period_end: date
    code: str
    utilized_t: Decimal
    disposed_t: Decimal
    missing: list[str]


# --- Tiers -----------------------------------------------------------------------------------------


@router.get("/hazardous/tiers", response={200: list[HazardousTierOut], 422: ErrorOut})
def list_tiers(request: HttpRequest, year: int, park_id: Id | None = None) -> Any:
    """Producer tiers of `year` (from the declarations of the year before)."""
    return services.tiers(actor_of(request), year, park_id=park_id)


@router.post("/hazardous/tiers/recompute", response={200: list[HazardousTierOut], **ERRORS})
def recompute_tiers(request: HttpRequest, year: int, park_id: Id | None = None) -> Any:
    actor = actor_of(request)
    services.compute_tiers(actor, year, park_id=park_id)
    return services.tiers(actor, year, park_id=park_id)


# --- Stores ----------------------------------------------------------------------------------------


@router.get("/hazardous/stores", response=list[HazardousStoreOut])
def list_stores(request: HttpRequest) -> Any:
    return services.stores_of(actor_of(request))


@router.get("/hazardous/stores/{hw_store_id}", response={200: HazardousStoreOut, 404: ErrorOut})
def get_store(request: HttpRequest, hw_store_id: int) -> Store:
    return services.get_store(actor_of(request), hw_store_id)


@router.patch("/hazardous/stores/{hw_store_id}", response={200: HazardousStoreOut, **ERRORS})
def configure_store(request: HttpRequest, hw_store_id: int, data: HazardousStorePatch) -> Store:
    services.configure_store(actor_of(request), hw_store_id, data=data.dict(exclude_unset=True))
    return services.get_store(actor_of(request), hw_store_id)


@router.post("/hazardous/stores/{hw_store_id}/contracts", response={201: HazardousContractOut, **ERRORS})
def add_contract(request: HttpRequest, hw_store_id: int, data: HazardousContractIn) -> Any:
    return 201, services.add_contract(actor_of(request), hw_store_id, data=data.dict())


@router.post("/hazardous/stores/{hw_store_id}/collections", response={201: HazardousContainerOut, **ERRORS})
def collect(request: HttpRequest, hw_store_id: int, data: HazardousCollectionIn) -> Any:
    """Record one container collected from a producer of the park (not a manifest, seed:4005)."""
    return 201, services.record_collection(actor_of(request), hw_store_id, data=data.dict())


@router.get(
    "/hazardous/stores/{hw_store_id}/containers", response={200: list[HazardousContainerOut], 404: ErrorOut}
)
@paginate(Pagination)
def list_containers(request: HttpRequest, hw_store_id: int, state: str | None = None) -> Any:
    actor = actor_of(request)
    store = services.get_store(actor, hw_store_id)
    qs = services.visible_containers(actor).filter(store=store).select_related("producer")
    if state in ("in_store", "shipped"):
        qs = qs.filter(state=state)
    return qs.order_by("-collected_on", "-pk")


@router.get("/hazardous/stores/{hw_store_id}/inventory", response={200: dict[str, Any], 404: ErrorOut})
def inventory(request: HttpRequest, hw_store_id: int, on: date | None = None) -> Any:
    data = services.inventory(actor_of(request), hw_store_id, on)
    return {**data, "store": data["store"].name, "containers": data["containers"][:2000]}


@router.get(
    "/hazardous/stores/{hw_store_id}/summary", response={200: dict[str, Any], 404: ErrorOut, 422: ErrorOut}
)
def summary(request: HttpRequest, hw_store_id: int, year: int, month: int) -> Any:
    """The month's collections, stock and manifests, reconciled to the kilogram."""
    return services.monthly_summary(actor_of(request), hw_store_id, year, month)


@router.get(
    "/hazardous/stores/{hw_store_id}/ledger",
    response={200: None, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def ledger(
    request: HttpRequest, hw_store_id: int, year: int, kind: str = "in", format: str = "xlsx"
) -> HttpResponse:
    """The year's ledger in the national format: HJ 1259 B.2 (`kind=in`) or B.3 (`kind=out`), xlsx or csv."""
    return _ledger_response(
        services.ledger_rows(actor_of(request), hw_store_id, year, kind), kind, year, format
    )


def _ledger_response(
    table: tuple[list[str], list[list[Any]]], kind: str, year: int, fmt: str
) -> HttpResponse:
    from zerowaste.core.errors import Invalid
    from zerowaste.core.tabular import write_csv, write_xlsx

    headers, rows = table
    name = f"HJ1259-{'B2' if kind == 'in' else 'B3'}-{year}"
    if fmt == "csv":
        response = HttpResponse(write_csv(headers, rows), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(
            write_xlsx(name, headers, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Invalid.field("format", "xlsx or csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@router.get(
    "/hazardous/declaration-reports",
    response={200: dict[str, Any], 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def declaration_report(
    request: HttpRequest, period: str, organization_id: int | None = None, format: str = "json"
) -> Any:
    """HJ 1259 declaration report generated from the records: C.1 for a month (`period=2020-06`),
    C.2 for a quarter (`2020Q2`), C.3 for a year (`2020`), with the reconciliation against the
    manifests and the tables due; `format=json` or `xlsx` (the national layout). Without
    `organization_id`, the caller's own organization."""
    if format not in ("json", "xlsx"):
        from zerowaste.core.errors import Invalid

        raise Invalid.field("format", "json or xlsx")
    report = declaration_reports.build_report(
        actor_of(request), organization_id=organization_id, period=period
    )
    if format == "json":
        return report.as_dict()
    return declaration_report_download(report)


def declaration_report_download(report: declaration_reports.DeclarationReport) -> HttpResponse:
    response = HttpResponse(
        declaration_reports.to_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{declaration_reports.filename(report)}"'
    return response


@router.post("/hazardous/stores/{hw_store_id}/return", response={200: list[HazardousContainerOut], **ERRORS})
def return_to_store(request: HttpRequest, hw_store_id: int, transfer_id: int) -> Any:
    """The containers of a cancelled (or wholly refused) manifest come back into the store."""
    return services.return_to_store(actor_of(request), hw_store_id, transfer_id)


@router.get("/hazardous/producer-summary", response={200: dict[str, Any], 404: ErrorOut, 422: ErrorOut})
def producer_summary(request: HttpRequest, year: int, month: int, organization_id: int | None = None) -> Any:
    """A producer's month: declared hand-overs against the park's collections, and its own manifests."""
    return services.producer_summary(actor_of(request), year, month, organization_id)


class HazardousOperatorRecordIn(Schema):
    kind: str = Field(..., description="technician, training, emergency_plan or drill")
    on: date | None = None
    title: str = Field(..., max_length=200)
    document: str = Field("", max_length=200)
    people: int = Field(0, ge=0, le=100_000)


class HazardousOperatorRecordOut(Schema):
    id: int
    kind: str
    on: date
    title: str
    document: str
    people: int


class HazardousOperatorFaultOut(Schema):
    rule: str
    message: str


class HazardousOperatorStatusOut(Schema):
    technicians: int
    last: dict[str, str | None]
    faults: list[HazardousOperatorFaultOut]
    records: list[HazardousOperatorRecordOut]


@router.get(
    "/hazardous/stores/{hw_store_id}/operator", response={200: HazardousOperatorStatusOut, 404: ErrorOut}
)
def operator_status(request: HttpRequest, hw_store_id: int, on: date | None = None) -> Any:
    """Staffing, training, emergency plan and drills of the store's operator, with what is missing."""
    return services.operator_status(actor_of(request), hw_store_id, on)


@router.post("/hazardous/stores/{hw_store_id}/records", response={201: HazardousOperatorRecordOut, **ERRORS})
def add_operator_record(request: HttpRequest, hw_store_id: int, data: HazardousOperatorRecordIn) -> Any:
    return 201, services.add_operator_record(actor_of(request), hw_store_id, data=data.dict())


@router.post("/hazardous/stores/{hw_store_id}/ship", response={201: HazardousShipOut, **ERRORS})
def ship(request: HttpRequest, hw_store_id: int, data: HazardousShipIn) -> Any:
    """Containers leave on one HW manifest (issued at once) to a contracted, licensed receiver."""
    t = services.ship_out(actor_of(request), hw_store_id, data=data.dict())
    return 201, {
        "transfer_id": t.pk,
        "number": t.number,
        "state": t.state,
        "estimated_t": t.estimated_t,
        "containers": len(data.container_ids),
    }


# --- Containers ------------------------------------------------------------------------------------


@router.get("/hazardous/containers/{hw_container_id}", response={200: HazardousContainerOut, 404: ErrorOut})
def get_container(request: HttpRequest, hw_container_id: int) -> Container:
    return services.get_container(actor_of(request), hw_container_id)


@router.get("/hazardous/containers/{hw_container_id}/label.pdf", response={200: None, 404: ErrorOut})
def container_label(request: HttpRequest, hw_container_id: int) -> HttpResponse:
    c = services.get_container(actor_of(request), hw_container_id)
    response = HttpResponse(labels.render(c), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{c.number}.pdf"'
    return response


@router.post(
    "/hazardous/containers/{hw_container_id}/extensions", response={201: HazardousExtensionOut, **ERRORS}
)
def extend(request: HttpRequest, hw_container_id: int, data: HazardousExtensionIn) -> Any:
    """A regulator's approval to keep the container beyond one year (seed:4093)."""
    return 201, services.approve_extension(actor_of(request), hw_container_id, data=data.dict())


@router.get("/hazardous/alerts", response={200: list[HazardousAlertOut], 422: ErrorOut})
def alerts(request: HttpRequest, on: date | None = None, overdue: bool = False) -> Any:
    """Containers at a warning age or past their deadline."""
    return services.alerts_for(actor_of(request), on, overdue_only=overdue)


# --- Plans -----------------------------------------------------------------------------------------


@router.get("/hazardous/plans", response={200: HazardousPlansOut, 422: ErrorOut})
def list_plans(request: HttpRequest, year: int | None = None) -> Any:
    return services.list_plans(actor_of(request), year=year)


@router.post("/hazardous/plans", response={201: HazardousPlanOut, **ERRORS})
def file_plan(request: HttpRequest, data: HazardousPlanIn) -> tuple[int, ManagementPlan]:
    return 201, services.file_management_plan(actor_of(request), data=data.dict())


@router.post("/hazardous/transfer-plans", response={201: HazardousTransferPlanOut, **ERRORS})
def file_transfer_plan(request: HttpRequest, data: HazardousTransferPlanIn) -> tuple[int, TransferPlan]:
    payload = data.dict()
    payload["lines"] = [{**line, "quantity_t": str(line["quantity_t"])} for line in payload["lines"]]
    return 201, services.file_transfer_plan(actor_of(request), data=payload)


@router.get("/hazardous/plans/due", response={200: list[HazardousDueOut], 422: ErrorOut})
def plans_due(request: HttpRequest, on: BusinessDate | None = None) -> Any:
    return services.plans_due(actor_of(request), on)


# --- Identification reports ------------------------------------------------------------------------


@router.get("/hazardous/reports", response=list[HazardousReportOut])
@paginate(Pagination)
def list_reports(request: HttpRequest) -> Any:
    return services.visible_reports(actor_of(request))


@router.post("/hazardous/reports", response={201: HazardousReportOut, **ERRORS})
def file_report(request: HttpRequest, data: HazardousReportIn) -> tuple[int, IdentificationReport]:
    return 201, services.file_report(actor_of(request), data=data.dict())


@router.get("/hazardous/reports/{hw_report_id}", response={200: HazardousReportOut, 404: ErrorOut})
def get_report(request: HttpRequest, hw_report_id: int) -> IdentificationReport:
    return services.get_report(actor_of(request), hw_report_id)


@router.post("/hazardous/reports/{hw_report_id}/publish", response={200: HazardousReportOut, **ERRORS})
def publish_report(request: HttpRequest, hw_report_id: int, data: HazardousPublishIn) -> IdentificationReport:
    """Publish; a "not hazardous" conclusion moves the waste to the general stream from `effective_from`."""
    return services.publish_report(actor_of(request), hw_report_id, data=data.dict())


# --- Inspections -----------------------------------------------------------------------------------


@router.get("/hazardous/inspections", response=list[HazardousInspectionOut])
@paginate(Pagination)
def list_inspections(request: HttpRequest, year: int | None = None) -> Any:
    qs = services.visible_inspections(actor_of(request))
    if year and 2000 <= year <= 2100:
        qs = qs.filter(inspected_on__year=year)
    return qs


@router.post("/hazardous/inspections", response={201: HazardousInspectionOut, **ERRORS})
def record_inspection(request: HttpRequest, data: HazardousInspectionIn) -> tuple[int, Inspection]:
    return 201, services.record_inspection(actor_of(request), data=data.dict())


@router.get(
    "/hazardous/inspections/{hw_inspection_id}", response={200: HazardousInspectionOut, 404: ErrorOut}
)
def get_inspection(request: HttpRequest, hw_inspection_id: int) -> Inspection:
    i = services.visible_inspections(actor_of(request)).filter(pk=hw_inspection_id).first()
    if i is None:
        from zerowaste.core.errors import NotFound

        raise NotFound("inspection not found")
    return i


@router.get("/hazardous/pass-rates", response={200: dict[str, Any], 422: ErrorOut})
def pass_rates(request: HttpRequest, year: int) -> Any:
    """Pass rates of the year's inspections with weight 0.7 for "basically passed" (indicator 31)."""
    return services.pass_rates(actor_of(request), year)


# --- In-plant and group facilities (seed:3925-3935) ------------------------------------------------


@router.get("/hazardous/facilities", response=list[HazardousFacilityOut])
@paginate(Pagination)
def list_facilities(request: HttpRequest) -> Any:
    return facilities.list_facilities(actor_of(request))


@router.post("/hazardous/facilities", response={201: HazardousFacilityOut, **ERRORS})
def register_facility(request: HttpRequest, data: HazardousFacilityIn) -> tuple[int, TreatmentFacility]:
    """Register an in-plant or group-shared utilization/disposal facility (EIA approval and HW
    operating licence required)."""
    return 201, facilities.register_facility(actor_of(request), data=data.dict())


@router.get("/hazardous/facilities/{hw_facility_id}", response={200: HazardousFacilityOut, 404: ErrorOut})
def get_facility(request: HttpRequest, hw_facility_id: int) -> TreatmentFacility:
    return facilities.get_facility(actor_of(request), hw_facility_id)


@router.post("/hazardous/facilities/{hw_facility_id}/close", response={200: HazardousFacilityOut, **ERRORS})
def close_facility(request: HttpRequest, hw_facility_id: int, data: HazardousFacilityCloseIn) -> Any:
    return facilities.close_facility(actor_of(request), hw_facility_id, data=data.dict())


@router.get(
    "/hazardous/in-house-check", response={200: list[HazardousInHouseRowOut], 403: ErrorOut, 422: ErrorOut}
)
def in_house_check(request: HttpRequest, year: int) -> Any:
    """Declared in-house utilization/disposal of `year` that no registered facility covers."""
    return facilities.unregistered_in_house_treatment(actor_of(request), year)
