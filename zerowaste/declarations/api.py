"""HTTP API of declarations: parse, call one service, serialize. Errors map in zerowaste/api.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import BeforeValidator

from zerowaste.api import MAX_ID, Pagination, actor_of, resolved_annotations
from zerowaste.core.api import ErrorOut

from . import rules, services
from .models import Declaration, ImportJob, ProductionData

router = Router(tags=["declarations"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
Quantity = Decimal | str | None


# --- Schemas ---------------------------------------------------------------------------------------


class DeclarationLineIn(Schema):
    waste_code: str = Field(..., max_length=40, description="catalog code, e.g. 99-08-03 or 900-041-49")
    waste_name: str = Field("", max_length=300, description="required for codes marked 自填")
    site: str = Field("", max_length=200, description="name of one of the organization's sites")
    unit: Literal["t", "kg"] = "t"
    opening_t: Quantity = Field(None, description="blank: carried from the previous period's closing stock")
    generated_t: Decimal | str = Field(..., description="in `unit`; exact decimal, to the kilogram")
    utilized_t: Quantity = None
    disposed_t: Quantity = None
    transferred_util_t: Quantity = None
    transferred_disp_t: Quantity = None
    closing_t: Decimal | str
    destination: str = Field("", max_length=300)


class DeclarationIn(Schema):
    stream: Literal["isw", "hw"]
    period: str = Field(..., max_length=20, description="2020-03 (month), 2020Q1 (quarter) or 2020 (year)")
    lines: list[DeclarationLineIn] = []
    organization_id: int | None = Field(None, description="default: the caller's organization")


class LinesIn(Schema):
    lines: list[DeclarationLineIn]


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class AmendIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)
    lines: list[DeclarationLineIn] | None = None


# Stored as Decimal tonnes; the API carries them as strings with three decimals so no client sees a float.
Tonnes = Annotated[str, BeforeValidator(rules.fmt_t)]


class DeclarationLineOut(Schema):
    id: int
    site: str | None = Field(None, alias="site.name")
    waste_code: str
    waste_name: str
    category_code: str
    opening_t: Tonnes
    generated_t: Tonnes
    utilized_t: Tonnes
    disposed_t: Tonnes
    transferred_util_t: Tonnes
    transferred_disp_t: Tonnes
    closing_t: Tonnes
    destination: str


class DeclarationSummaryOut(Schema):
    id: int
    organization_id: int
    organization: str = Field(..., alias="organization.name")
    stream: str
    period_kind: str
    period: str = Field(..., alias="period_label")
    period_start: date
    period_end: date
    version: int
    previous_id: int | None
    status: str
    submitted_at: datetime | None
    line_count: int = 0
    total_generated_t: str = "0.000"

    @staticmethod
    def resolve_total_generated_t(obj: Any) -> str:
        return rules.fmt_t(getattr(obj, "total_generated_t", None))


class DeclarationOut(DeclarationSummaryOut):
    amendment_reason: str
    return_reason: str
    reviewed_at: datetime | None
    lines: list[DeclarationLineOut]

    @staticmethod
    def resolve_lines(obj: Declaration) -> list[Any]:
        return services.lines_of(obj)

    @staticmethod
    def resolve_line_count(obj: Declaration) -> int:
        return len(services.lines_of(obj))


class DeclarationVersionOut(Schema):
    id: int
    version: int
    status: str
    amendment_reason: str
    return_reason: str
    submitted_at: datetime | None
    reviewed_at: datetime | None
    diff: list[dict[str, Any]]


class ReconOut(Schema):
    available: bool
    rows: list[dict[str, Any]]


class DeclarationImportOut(Schema):
    job_id: int
    status: str
    phase: str
    dry_run: bool
    background: bool
    total_rows: int
    processed_rows: int
    percent: int
    declarations: list[dict[str, Any]]
    declaration_ids: list[int]
    faults: list[dict[str, Any]]


class StatRowOut(Schema):
    key: str
    generated_t: str
    utilized_t: str
    disposed_t: str
    transferred_t: str
    transferred_util_t: str
    transferred_disp_t: str
    stock_t: str
    utilization_rate: str | None
    previous_year_generated_t: str | None
    yoy_pct: str | None


class StatsOut(Schema):
    year: int
    by: str
    stream: str
    total_generated_t: str
    previous_year_total_generated_t: str
    yoy_pct: str | None
    rows: list[StatRowOut]


class IntensityOut(Schema):
    year: int
    target_t_per_wan: str
    above_target: int
    rows: list[dict[str, Any]]


class ItemIn(Schema):
    name: str = Field(..., max_length=200)
    quantity: str = Field("", max_length=40)
    unit: str = Field("", max_length=20)


class ProductionIn(Schema):
    year: int = Field(..., ge=2000, le=2100)
    value_added_wan: Decimal = Field(
        ..., ge=0, max_digits=18, decimal_places=2, description="工业增加值, 万元"
    )
    products: list[ItemIn] = []
    raw_materials: list[ItemIn] = []


class ProductionOut(Schema):
    id: int
    organization_id: int
    year: int
    value_added_wan: Decimal
    products: list[dict[str, Any]]
    raw_materials: list[dict[str, Any]]


StreamCode = Literal["isw", "hw"]
StatusCode = Literal["draft", "submitted", "accepted", "returned", "superseded"]
assert set(get_args(StreamCode)) == set(rules.STREAMS)
assert set(get_args(StatusCode)) == set(rules.Status.values)


class ExportFilters(Schema):
    """Filters of the declaration list and export, bounded so that no value reaches the database
    out of its range (a year `date()` refuses, an id beyond bigint, an unknown status)."""

    status: StatusCode | None = None
    year: int | None = Field(None, ge=rules.MIN_YEAR, le=rules.MAX_YEAR)
    stream: StreamCode | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {"status": self.status, "year": self.year, "stream": self.stream}


class DeclarationFilters(ExportFilters):
    organization_id: int | None = Field(None, ge=1, le=MAX_ID)
    q: str | None = Field(None, max_length=200, description="words of the organization's name or USCC")

    def as_kwargs(self) -> dict[str, Any]:
        return {**super().as_kwargs(), "organization_id": self.organization_id, "query": self.q}


# --- Routes: collections first (their paths are not ids) --------------------------------------------

StatBy = Literal["category", "code", "industry", "park", "street", "month", "organization"]


@router.get("/declarations", response={200: list[DeclarationSummaryOut], **ERRORS})
@paginate(Pagination)
@resolved_annotations
def list_declarations(request: HttpRequest, filters: Query[DeclarationFilters]) -> Any:
    return services.list_declarations(actor_of(request), **filters.as_kwargs())


@router.post("/declarations", response={201: DeclarationOut, **ERRORS})
def create_declaration(request: HttpRequest, payload: DeclarationIn) -> Any:
    decl = services.save_declaration(
        actor_of(request),
        stream=payload.stream,
        period=payload.period,
        lines=[ln.dict() for ln in payload.lines],
        organization_id=payload.organization_id,
    )
    return Status(201, decl)


@router.get("/declarations/stats", response={200: StatsOut, **ERRORS})
def declaration_stats(
    request: HttpRequest, year: int, by: StatBy = "category", stream: Literal["isw", "hw"] = "isw"
) -> Any:
    return services.statistics(actor_of(request), year=year, by=by, stream=stream)


@router.get("/declarations/intensity", response={200: IntensityOut, **ERRORS})
def declaration_intensity(request: HttpRequest, year: int, above_target: bool = False) -> Any:
    return services.intensity(actor_of(request), year=year, above_target_only=above_target)


@router.get("/declarations/export", response={200: None, **ERRORS})
def export_declarations(
    request: HttpRequest,
    filters: Query[ExportFilters],
    format: Literal["csv", "xlsx"] = "csv",
) -> HttpResponse:
    rows = services.export_rows(actor_of(request), **filters.as_kwargs())
    return _file(services.EXPORT_HEADERS, rows, "declarations", format)


@router.get("/declarations/template", response={200: None, **ERRORS})
def declaration_template(
    request: HttpRequest, period: str, stream: Literal["isw", "hw"] = "isw"
) -> HttpResponse:
    content = services.template_xlsx(actor_of(request), stream=stream, period=period)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="declaration-{stream}-{period}.xlsx"'
    return response


@router.post("/declarations/import", response={200: DeclarationImportOut, **ERRORS})
def import_declarations(
    request: HttpRequest, file: File[UploadedFile], dry_run: Form[bool] = False, submit: Form[bool] = False
) -> Any:
    outcome = services.import_file(
        actor_of(request),
        content=file.read(),
        filename=file.name or "upload.csv",
        dry_run=dry_run,
        submit=submit,
    )
    return _import_out(
        outcome.job, dry_run=dry_run, background=outcome.background, ids=outcome.declaration_ids
    )


@router.get("/declarations/imports/{job_id}", response={200: DeclarationImportOut, **ERRORS})
def import_status(request: HttpRequest, job_id: int) -> Any:
    job = services.get_job(actor_of(request), job_id)
    return _import_out(
        job,
        dry_run=job.status == ImportJob.Status.CHECKED,
        background=job.total_rows > services.BACKGROUND_ROWS,
        ids=list(job.summary.get("ids", [])),
    )


@router.post("/declarations/imports/{job_id}/start", response={200: DeclarationImportOut, **ERRORS})
def import_start(request: HttpRequest, job_id: int, submit: bool = False) -> Any:
    outcome = services.start_job(actor_of(request), job_id, submit=submit)
    return _import_out(outcome.job, dry_run=False, background=outcome.background, ids=outcome.declaration_ids)


@router.get("/declarations/production", response={200: list[ProductionOut], **ERRORS})
def list_production(request: HttpRequest, year: int | None = None) -> Any:
    return list(services.production_data(actor_of(request), year=year))


@router.post("/declarations/production", response={200: ProductionOut, **ERRORS})
def save_production(request: HttpRequest, payload: ProductionIn) -> ProductionData:
    return services.save_production_data(
        actor_of(request),
        year=payload.year,
        value_added_wan=payload.value_added_wan,
        products=[i.dict() for i in payload.products],
        raw_materials=[i.dict() for i in payload.raw_materials],
    )


# --- One declaration ------------------------------------------------------------------------------


@router.get("/declarations/{declaration_id}", response={200: DeclarationOut, **ERRORS})
def get_declaration(request: HttpRequest, declaration_id: int) -> Declaration:
    return services.get_declaration(actor_of(request), declaration_id)


@router.patch("/declarations/{declaration_id}", response={200: DeclarationOut, **ERRORS})
def edit_declaration(request: HttpRequest, declaration_id: int, payload: LinesIn) -> Declaration:
    actor = actor_of(request)
    decl = services.save_declaration(
        actor, stream="", period="", lines=[ln.dict() for ln in payload.lines], declaration_id=declaration_id
    )
    return services.get_declaration(actor, decl.pk)


@router.post("/declarations/{declaration_id}/submit", response={200: DeclarationOut, **ERRORS})
def submit_declaration(request: HttpRequest, declaration_id: int) -> Declaration:
    actor = actor_of(request)
    return services.get_declaration(actor, services.submit(actor, declaration_id).pk)


@router.post("/declarations/{declaration_id}/accept", response={200: DeclarationOut, **ERRORS})
def accept_declaration(request: HttpRequest, declaration_id: int) -> Declaration:
    actor = actor_of(request)
    return services.get_declaration(actor, services.accept(actor, declaration_id).pk)


@router.post("/declarations/{declaration_id}/return", response={200: DeclarationOut, **ERRORS})
def return_declaration(request: HttpRequest, declaration_id: int, payload: ReasonIn) -> Declaration:
    actor = actor_of(request)
    return services.get_declaration(
        actor, services.return_declaration(actor, declaration_id, reason=payload.reason).pk
    )


@router.post("/declarations/{declaration_id}/amend", response={201: DeclarationOut, **ERRORS})
def amend_declaration(request: HttpRequest, declaration_id: int, payload: AmendIn) -> Any:
    actor = actor_of(request)
    lines = [ln.dict() for ln in payload.lines] if payload.lines is not None else None
    new = services.amend(actor, declaration_id, reason=payload.reason, lines=lines)
    return Status(201, services.get_declaration(actor, new.pk))


@router.get("/declarations/{declaration_id}/versions", response={200: list[DeclarationVersionOut], **ERRORS})
def declaration_versions(request: HttpRequest, declaration_id: int) -> Any:
    return services.versions(actor_of(request), declaration_id)


@router.get("/declarations/{declaration_id}/reconciliation", response={200: ReconOut, **ERRORS})
def declaration_reconciliation(request: HttpRequest, declaration_id: int) -> Any:
    rows = services.reconciliation(actor_of(request), declaration_id)
    return {"available": rows is not None, "rows": [r.as_dict() for r in rows or []]}


# --- Helpers ---------------------------------------------------------------------------------------


def _import_out(job: ImportJob, *, dry_run: bool, background: bool, ids: list[int]) -> dict[str, Any]:
    return {
        "job_id": job.pk,
        "status": job.status,
        "phase": job.phase,
        "dry_run": dry_run,
        "background": background,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "percent": job.percent,
        "declarations": list(job.summary.get("groups", [])),
        "declaration_ids": ids,
        "faults": job.faults,
    }


def _file(headers: list[str], rows: list[list[Any]], name: str, fmt: str) -> HttpResponse:
    if fmt == "xlsx":
        response = HttpResponse(
            services.to_xlsx(name, headers, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(services.to_csv(headers, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
