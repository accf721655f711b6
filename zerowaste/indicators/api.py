"""HTTP API of the indicator system: input keys, the zone-year report, summary, trend, drill-down,
department entries with evidence, Excel/PDF, and loading another indicator set.

Each handler parses, makes one service call and serializes. Regulators (departments) read the zone's
report; their admins and clerks enter inputs; an organization's admin loads a set.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from zerowaste.api import actor_of
from zerowaste.core.api import ErrorOut
from zerowaste.core.errors import Invalid

from . import exports, services

router = Router(tags=["indicators"])

YEAR = Field(..., ge=services.MIN_YEAR, le=services.MAX_YEAR, description="the report year, e.g. 2020")


class IndicatorsYearQuery(Schema):
    year: int = YEAR


class IndicatorsTrendQuery(Schema):
    years: str = Field("2018,2019,2020", max_length=60, description="comma-separated years, at most 10")


class IndicatorsRecordsQuery(Schema):
    year: int = YEAR
    key: str = Field(..., max_length=64, description="an input key, see GET /indicators/inputs")


class IndicatorsEntriesQuery(Schema):
    year: int = YEAR
    key: str | None = Field(None, max_length=64)


class IndicatorsInputOut(Schema):
    key: str
    name: str
    name_en: str
    unit: str
    scale: list[str] | None
    meaning: str
    department: str
    obtained: str = Field(..., description="derived, entered, computed or previous_year")
    derivation: str | None
    formula: str | None
    previous_year_of: str | None
    used_by: list[str]


class IndicatorsInputValueOut(Schema):
    value: str | None
    unit: str
    origin: str = Field(..., description="file, entered, derived, computed, previous_year or missing")


class IndicatorsJudgmentRefOut(Schema):
    met: bool
    reason: str
    judged_by: str
    judged_at: str


class IndicatorsPartOut(Schema):
    label: str
    formula: str
    unit: str
    baseline: str | None
    baseline_text: str
    target: str | None
    target_text: str
    achieved: str | None
    exact: str | None
    met: bool | None
    needs_judgment: bool = Field(..., description="a reasonable level awaiting a regulator's judgment")
    judgment: IndicatorsJudgmentRefOut | None
    rounding_note: str | None = Field(
        ..., description="set where rounding to the published precision would change the verdict"
    )
    reason: str
    published: str | None


class IndicatorsRowOut(Schema):
    number: str
    name: str
    name_en: str
    class_: str = Field(..., alias="class")
    required: bool
    level1: str
    level2: str
    unit: str
    direction: str
    formula: str
    baseline: str | None
    baseline_text: str
    target: str | None
    target_text: str
    achieved: str | None
    exact: str | None = Field(..., description="the figure before rounding to the published precision")
    met: bool | None = Field(..., description="on the exact figure; null: unknown or awaiting judgment")
    state: str = Field(..., description="met, not_met, needs_judgment or unknown")
    needs_judgment: bool
    judgment: IndicatorsJudgmentRefOut | None
    rounding_note: str | None = Field(
        ..., description="set where rounding to the published precision would change the verdict"
    )
    reason: str
    published: str | None
    parts: list[IndicatorsPartOut]
    inputs: dict[str, IndicatorsInputValueOut]


class IndicatorsClassCountOut(Schema):
    total: int
    met: int
    not_met: int
    needs_judgment: int
    unknown: int


class IndicatorsMissOut(Schema):
    number: str
    name: str
    reason: str


class IndicatorsRoundingOut(Schema):
    number: str
    name: str
    note: str


class IndicatorsSummaryOut(Schema):
    year: int
    total: int
    met: int
    not_met: int
    needs_judgment: int = Field(..., description="reasonable levels awaiting a regulator's judgment")
    unknown: int
    by_class: dict[str, IndicatorsClassCountOut]
    completion: str | None = Field(..., description="met ÷ evaluated, 0-1")
    not_met_list: list[IndicatorsMissOut]
    needs_judgment_list: list[IndicatorsMissOut]
    rounding_list: list[IndicatorsRoundingOut] = Field(
        ..., description="indicators whose verdict rounding to the published precision would change"
    )
    notes: list[str] = Field(..., description="where the published claims disagree with the figures")


class IndicatorsSetRefOut(Schema):
    code: str
    version: str
    name: str


class IndicatorsReportOut(Schema):
    year: int
    set: IndicatorsSetRefOut
    summary: IndicatorsSummaryOut
    rows: list[IndicatorsRowOut]


class IndicatorsTrendValueOut(Schema):
    year: int
    achieved: str | None
    met: bool | None


class IndicatorsTrendSeriesOut(Schema):
    number: str
    name: str
    class_: str = Field(..., alias="class")
    unit: str
    numeric: bool
    levels: list[str] | None
    baseline: str | None
    target: str | None
    values: list[IndicatorsTrendValueOut]


class IndicatorsTrendOut(Schema):
    years: list[int]
    series: list[IndicatorsTrendSeriesOut]


class IndicatorsEntryIn(Schema):
    year: int = YEAR
    key: str = Field(..., max_length=64)
    value: str = Field(
        ..., max_length=64, description="decimal string in the input's unit or a scale word; empty withdraws"
    )
    source: str = Field(..., min_length=1, max_length=500, description="where the figure comes from")
    department: str = Field("", max_length=200)
    evidence_name: str = Field("", max_length=255)
    evidence_base64: str = Field("", max_length=14_000_000, description="the evidence file, base64")


class IndicatorsEntryOut(Schema):
    id: int
    year: int
    key: str
    value: str
    source: str
    department: str
    entered_by: str
    created_at: Any
    evidence_name: str


class IndicatorsRecordRowOut(Schema):
    label: str
    value: str
    url: str | None


class IndicatorsLinkOut(Schema):
    label: str
    url: str


class IndicatorsRecordsOut(Schema):
    year: int
    meaning: str
    input: dict[str, Any]
    rows: list[IndicatorsRecordRowOut]
    more: int = Field(0, description="further records not listed (the links show them all)")
    links: list[IndicatorsLinkOut]
    entries: list[dict[str, Any]]


class IndicatorsJudgmentIn(Schema):
    year: int = YEAR
    number: str = Field(..., max_length=8, description="an indicator whose direction is a judgment (15, 19)")
    met: bool
    reason: str = Field(..., min_length=1, max_length=1000, description="why the level is (not) reasonable")


class IndicatorsJudgmentOut(Schema):
    id: int
    year: int
    number: str
    met: bool
    reason: str
    judged_by: str
    judged_at: str


class IndicatorsJudgmentsQuery(Schema):
    year: int = YEAR
    number: str | None = Field(None, max_length=8)


class IndicatorsSetIn(Schema):
    text: str = Field(..., max_length=1_000_000, description="the set file (TOML), see sets/bda-2019.toml")
    activate: bool = True


class IndicatorsSetOut(Schema):
    id: int
    code: str
    version: str
    name: str
    checksum: str
    is_active: bool
    loaded_by: str
    loaded_at: Any


def _summary(evaluation: services.Evaluation) -> dict[str, Any]:
    return {"year": evaluation.year, **services.summary_json(evaluation.summary), "notes": evaluation.notes}


@router.get("/indicators/inputs", response={200: list[IndicatorsInputOut], 403: ErrorOut})
def list_inputs(request: HttpRequest) -> Any:
    """Every input key of the zone's indicator set with unit, meaning and how it is obtained."""
    return services.inputs_of(actor_of(request))


@router.get(
    "/indicators/report", response={200: IndicatorsReportOut, 403: ErrorOut, 422: ErrorOut}, by_alias=True
)
def report(request: HttpRequest, query: Query[IndicatorsYearQuery]) -> Any:
    """The zone-year table in the seed's layout, with the completion summary."""
    evaluation = services.evaluate(actor_of(request), year=query.year)
    s = evaluation.indicator_set
    return {
        "year": evaluation.year,
        "set": {"code": s.code, "version": s.version, "name": s.name},
        "summary": _summary(evaluation),
        "rows": services.rows_of(evaluation),
    }


@router.get("/indicators/summary", response={200: IndicatorsSummaryOut, 403: ErrorOut, 422: ErrorOut})
def summary(request: HttpRequest, query: Query[IndicatorsYearQuery]) -> Any:
    """Met / not met / unknown per class, the completion and the reasons."""
    return _summary(services.evaluate(actor_of(request), year=query.year))


@router.get(
    "/indicators/trend", response={200: IndicatorsTrendOut, 403: ErrorOut, 422: ErrorOut}, by_alias=True
)
def trend(request: HttpRequest, query: Query[IndicatorsTrendQuery]) -> Any:
    """Achieved values of every indicator across years."""
    try:
        years = [int(y) for y in query.years.split(",") if y.strip()]
    except ValueError:
        raise Invalid.field("years", "comma-separated years such as 2018,2020") from None
    if not years:
        raise Invalid.field("years", "at least one year")
    return services.trend(actor_of(request), years=years)


@router.get(
    "/indicators/records", response={200: IndicatorsRecordsOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
)
def records(request: HttpRequest, query: Query[IndicatorsRecordsQuery]) -> Any:
    """An input's value with the records (declarations, licences, manifests) or entries behind it."""
    return services.records(actor_of(request), year=query.year, key=query.key)


@router.get("/indicators/entries", response={200: list[IndicatorsEntryOut], 403: ErrorOut, 422: ErrorOut})
def list_entries(request: HttpRequest, query: Query[IndicatorsEntriesQuery]) -> Any:
    """The departments' entries of a year, newest first (history included)."""
    return services.entries_of(actor_of(request), year=query.year, key=query.key)


@router.post("/indicators/entries", response={201: IndicatorsEntryOut, 403: ErrorOut, 422: ErrorOut})
def enter(request: HttpRequest, payload: IndicatorsEntryIn) -> Any:
    """Enter a department's value of an input with its source and evidence; it overrides a derived one."""
    evidence = None
    if payload.evidence_base64:
        try:
            evidence = base64.b64decode(payload.evidence_base64, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid.field("evidence_base64", "not base64") from None
    entry = services.enter_input(
        actor_of(request),
        year=payload.year,
        key=payload.key,
        value=payload.value,
        source=payload.source,
        department=payload.department,
        evidence_name=payload.evidence_name or ("evidence" if evidence else ""),
        evidence=evidence,
    )
    return 201, entry


@router.get(
    "/indicators/judgments", response={200: list[IndicatorsJudgmentOut], 403: ErrorOut, 422: ErrorOut}
)
def list_judgments(request: HttpRequest, query: Query[IndicatorsJudgmentsQuery]) -> Any:
    """The regulators' judgments of a year, newest first (the newest of an indicator counts)."""
    rows = services.judgments_of(actor_of(request), year=query.year, number=query.number)
    return [services.judgment_dict(r) for r in rows]


@router.post("/indicators/judgments", response={201: IndicatorsJudgmentOut, 403: ErrorOut, 422: ErrorOut})
def judge(request: HttpRequest, payload: IndicatorsJudgmentIn) -> Any:
    """Record a regulator's judgment of an indicator whose direction is a reasonable level, with why."""
    row = services.record_judgment(
        actor_of(request), year=payload.year, number=payload.number, met=payload.met, reason=payload.reason
    )
    return 201, services.judgment_dict(row)


@router.get("/indicators/entries/{entry_id}/evidence", response={200: None, 403: ErrorOut, 404: ErrorOut})
def evidence(request: HttpRequest, entry_id: int) -> HttpResponse:
    """The evidence file of an entry."""
    entry = services.evidence_of(actor_of(request), entry_id)
    response = HttpResponse(
        bytes(entry.evidence or b""), content_type=entry.evidence_type or "application/octet-stream"
    )
    response["Content-Disposition"] = f'attachment; filename="{_ascii(entry.evidence_name) or "evidence"}"'
    return response


def _ascii(name: str) -> str:
    return "".join(ch for ch in name if ch.isascii() and ch not in '"\\\r\n')


@router.get("/indicators/report.xlsx", response={200: None, 403: ErrorOut, 422: ErrorOut})
def report_xlsx(request: HttpRequest, query: Query[IndicatorsYearQuery]) -> HttpResponse:
    """The report as an Excel workbook (table, summary, inputs)."""
    evaluation = services.evaluate(actor_of(request), year=query.year)
    response = HttpResponse(
        exports.to_xlsx(evaluation),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="indicators-{evaluation.year}.xlsx"'
    return response


@router.get("/indicators/report.pdf", response={200: None, 403: ErrorOut, 422: ErrorOut})
def report_pdf(request: HttpRequest, query: Query[IndicatorsYearQuery]) -> HttpResponse:
    """The report as a PDF in Chinese."""
    evaluation = services.evaluate(actor_of(request), year=query.year)
    response = HttpResponse(exports.to_pdf(evaluation), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="indicators-{evaluation.year}.pdf"'
    return response


@router.get("/indicators/sets", response={200: list[IndicatorsSetOut], 403: ErrorOut})
def list_sets(request: HttpRequest) -> Any:
    """Indicator sets loaded for the zone (none: the bundled set is used)."""
    return services.sets_of(actor_of(request))


@router.post("/indicators/sets", response={201: IndicatorsSetOut, 403: ErrorOut, 422: ErrorOut})
def load_set(request: HttpRequest, payload: IndicatorsSetIn) -> Any:
    """Load another indicator set (validated: each fault names its line) and optionally activate it."""
    return 201, services.load_set(actor_of(request), text=payload.text, activate=payload.activate)


@router.post("/indicators/sets/{set_id}/activate", response={204: None, 403: ErrorOut, 404: ErrorOut})
def activate(request: HttpRequest, set_id: int) -> Any:
    """Make a loaded set the zone's indicator system."""
    services.activate_set(actor_of(request), set_id)
    return 204, None
