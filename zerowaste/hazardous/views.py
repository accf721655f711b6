"""Pages of the hazardous-waste pilot: overview, tiers, a store (inventory, collection, ship-out),
labels, monthly summary, plans, identification reports, inspections. One service call per request."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from zerowaste.core import periods
from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Forbidden, NotFound
from zerowaste.portal.periods import period_form
from zerowaste.portal.views import with_actor

from . import declaration_reports, labels, rules, services


def _int(value: str | None, default: int, low: int, high: int) -> int:
    return int(value) if value and value.isdigit() and low <= int(value) <= high else default


def _errors(exc: DomainError) -> list[dict[str, Any]]:
    return exc.errors or [{"field": "", "message": exc.message}]


def _month(request: HttpRequest, latest: date | None) -> tuple[int, int, Any]:
    """The month a store page shows: `period` (the month picker) or the older `year` and `month`
    parameters when the URL names one, else the month of the latest data, else this month (ADR 0051).
    Returns (year, month, the picker form, whose errors name the `period` field)."""
    today = timezone.localdate()
    default = latest or today
    picker = period_form(request.GET, kinds=("month",))
    picker.fields["period"].label = _("Month")
    if picker.is_bound and picker.is_valid() and picker.cleaned_data["period"]:
        year, month = (int(x) for x in picker.cleaned_data["period"].split("-"))
    elif request.GET.get("year") or request.GET.get("month"):
        year = _int(request.GET.get("year"), default.year, 2000, 2100)
        month = _int(request.GET.get("month"), default.month, 1, 12)
    else:
        year, month = default.year, default.month
    picker.initial["period"] = f"{year}-{month:02d}"
    return year, month, picker


def _as_of_context(on: date) -> dict[str, Any]:
    """What `portal/_as_of.html` says: ages and deadlines measured on a past day, and a way to today."""
    return {"as_of": on, "as_of_past": periods.is_past(on)}


@with_actor
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    today = timezone.localdate()
    stores = services.stores_of(actor)
    alerts = services.alerts_for(actor, today)  # today's work: alerts are judged on today
    # The pass rate of the latest year with inspections, not of an empty current year (ADR 0051).
    rates_year = (services.latest_inspection_year(actor) or today.year) if actor.is_regulator else today.year
    return render(
        request,
        "hazardous/home.html",
        {
            "stores": [(s, rules.kg_to_t(services.stock_kg(s))) for s in stores],
            "alerts": alerts[:50],
            "alert_count": len(alerts),
            "overdue_count": sum(1 for a in alerts if a["level"] == rules.OVERDUE),
            "due": services.plans_due(actor, today)[:50],
            "rates": services.pass_rates(actor, rates_year) if actor.is_regulator else None,
            "year": rates_year,
        },
    )


@require_http_methods(["GET", "POST"])
@with_actor
def tiers_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    latest = services.latest_tier_year(actor) if request.method == "GET" else None
    year = periods.year_or_latest(request.GET.get("year") or request.POST.get("year"), latest)
    if request.method == "POST":
        try:
            n = len(services.compute_tiers(actor, year))
        except NotFound:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(n)d tiers recomputed.") % {"n": n})
        return redirect(f"{request.path}?year={year}")
    # The stored tiers only: a GET never computes (the January recomputation is a scheduled task).
    rows = list(services.visible_tiers(actor, year))
    for row in rows:  # words for the page, not the stored keys
        row.trigger_label = rules.TIER_TRIGGER_LABELS.get(row.trigger, row.trigger)  # type: ignore[attr-defined]
        for evidence in (row.evidence or {}).get("declarations", []):
            evidence["period_label"] = rules.evidence_period_label(str(evidence.get("period", "")))
    return render(
        request,
        "hazardous/tiers.html",
        {
            "year": year,
            "years": periods.years_choices(
                periods.years_of(services.visible_tiers(actor, None), "year"), year
            ),
            "rows": rows,
            "counts": {t: sum(1 for r in rows if r.tier == t) for t in ("A", "B", "C")},
            "may_recompute": actor.is_regulator or "park_operator" in actor.org_roles,
            "rule": rules.cite("R-TIER"),
        },
    )


def _store_context(actor: Actor, store_id: int, request: HttpRequest) -> dict[str, Any]:
    # Ages are measured at the end of the month shown when it is past (its latest data by default).
    year, month, picker = _month(request, services.latest_store_day(actor, store_id))
    on = periods.as_of(periods.month_end(year, month))
    inv = services.inventory(actor, store_id, on)
    store = inv["store"]
    is_operator = store.operator_id == actor.organization_id
    from zerowaste.core.models import Organization
    from zerowaste.transfers import services as transfers

    producers = (
        list(
            Organization.objects.filter(zone_id=actor.zone_id, area_id=store.park_id, roles__role="producer")
            .distinct()
            .order_by("name")
        )
        if is_operator
        else []
    )
    receivers = (
        Organization.objects.filter(
            pk__in=services.DisposalContract.objects.filter(operator_id=store.operator_id).values(
                "receiver_id"
            )
        ).order_by("name")
        if is_operator
        else []
    )
    from zerowaste.transfers.models import Transfer

    returnable = (
        list(
            Transfer.objects.filter(
                zone_id=actor.zone_id,
                consignor_id=store.operator_id,
                state__in=["cancelled", "refused"],
                pk__in=services.Container.objects.filter(store=store, state="shipped").values("transfer_id"),
            ).order_by("-pk")[:50]
        )
        if is_operator
        else []
    )
    return {
        "store": store,
        "operator": services.operator_status(actor, store_id) if is_operator or actor.is_regulator else None,
        "record_kinds": rules.RECORD_KINDS,
        "returnable": returnable,
        "inv": inv,
        "is_operator": is_operator,
        "producers": producers,
        "receivers": receivers,
        "carriers": transfers.candidates(actor, "hw")["carriers"] if is_operator else [],
        "groups": rules.GROUP_CHOICES,
        "today": timezone.localdate(),
        "post": request.POST,
        "errors": [],
        "picker": picker,
        "year": year,
        **_as_of_context(on),
    }


@require_http_methods(["GET", "POST"])
@with_actor
def store_view(request: HttpRequest, actor: Actor, hw_store_id: int) -> HttpResponse:
    """The store: inventory by code and age, the containers, the collection and ship-out forms."""
    status = 200
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "collect":
                data: dict[str, Any] = {
                    k: request.POST.get(k, "")
                    for k in (
                        "producer_id",
                        "waste_code",
                        "quantity_kg",
                        "bay",
                        "analysis_report",
                        "collected_on",
                        "packaging",
                        "physical_form",
                        "group",
                    )
                }
                data["group"] = data["group"] or None
                c = services.record_collection(actor, hw_store_id, data=data)
                messages.success(
                    request, _("Container %(n)s collected into bay %(bay)s.") % {"n": c.number, "bay": c.bay}
                )
                return redirect("hazardous:store", hw_store_id=hw_store_id)
            if action == "record":
                services.add_operator_record(
                    actor,
                    hw_store_id,
                    data={k: request.POST.get(k, "") for k in ("kind", "on", "title", "document", "people")},
                )
                messages.success(request, _("Record saved."))
                return redirect("hazardous:store", hw_store_id=hw_store_id)
            if action == "return":
                back = services.return_to_store(
                    actor, hw_store_id, services._int(request.POST.get("transfer_id"), "transfer_id")
                )
                messages.success(request, _("%(n)d containers are back in store.") % {"n": len(back)})
                return redirect("hazardous:store", hw_store_id=hw_store_id)
            if action == "ship":
                t = services.ship_out(
                    actor,
                    hw_store_id,
                    data={
                        "container_ids": request.POST.getlist("container_ids"),
                        "consignee_id": request.POST.get("consignee_id"),
                        "carrier_id": request.POST.get("carrier_id"),
                        "planned_date": request.POST.get("planned_date") or None,
                    },
                )
                messages.success(request, _("Manifest %(n)s issued.") % {"n": t.number})
                return redirect("transfers:detail", transfer_id=t.pk)
        except NotFound:
            raise
        except DomainError as exc:
            errors = _errors(exc)
            status = 422 if exc.status == 422 else exc.status
    context = _store_context(actor, hw_store_id, request)
    context["errors"] = errors
    return render(request, "hazardous/store.html", context, status=status)


@with_actor
def container_view(request: HttpRequest, actor: Actor, hw_container_id: int) -> HttpResponse:
    c = services.get_container(actor, hw_container_id)
    alert = services._alert(c, timezone.localdate(), c.store.warnings)
    return render(
        request,
        "hazardous/container.html",
        {
            "c": c,
            "alert": alert,
            "level_label": rules.LEVEL_LABELS.get(alert["level"], alert["level"]),
            "extensions": list(c.extensions.all()),
            "may_extend": actor.is_regulator and c.state == "in_store",
        },
    )


@require_POST
@with_actor
def extend_view(request: HttpRequest, actor: Actor, hw_container_id: int) -> HttpResponse:
    try:
        services.approve_extension(
            actor,
            hw_container_id,
            data={k: request.POST.get(k, "") for k in ("until", "document", "reason")},
        )
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Extension recorded."))
    return redirect("hazardous:container", hw_container_id=hw_container_id)


@with_actor
def label_view(request: HttpRequest, actor: Actor, hw_container_id: int) -> HttpResponse:
    c = services.get_container(actor, hw_container_id)
    response = HttpResponse(labels.render(c), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{c.number}.pdf"'
    return response


@with_actor
def ledger_view(request: HttpRequest, actor: Actor, hw_store_id: int) -> HttpResponse:
    from .api import _ledger_response

    latest = services.latest_store_day(actor, hw_store_id)
    year = periods.year_or_latest(request.GET.get("year"), latest.year if latest else None)
    kind = request.GET.get("kind") or "in"
    fmt = request.GET.get("format") or "xlsx"
    try:
        return _ledger_response(services.ledger_rows(actor, hw_store_id, year, kind), kind, year, fmt)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("hazardous:store", hw_store_id=hw_store_id)


@with_actor
def producer_summary_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    org = request.GET.get("organization_id")
    org_id = int(org) if org and org.isdigit() and len(org) < 19 else None
    year, month, picker = _month(
        request, services.latest_store_day(actor, producer_id=org_id or actor.organization_id or 0)
    )
    s = services.producer_summary(actor, year, month, org_id)
    return render(
        request,
        "hazardous/producer_summary.html",
        {"s": s, "year": year, "month": month, "picker": picker},
        status=422 if picker.errors else 200,
    )


@with_actor
def declaration_report_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """HJ 1259 C.1 / C.2 / C.3 of an organization and period; `format=xlsx` downloads it."""
    from zerowaste.declarations import rules as declaration_rules
    from zerowaste.declarations import services as declarations

    today = timezone.localdate()
    # By default the latest month with an HW declaration the actor sees, else last month (ADR 0051).
    latest = declarations.latest_month_with_data(actor, stream="hw") or date(
        today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1
    )
    picker = period_form(
        request.GET, kinds=declaration_rules.PERIOD_KINDS, initial=f"{latest.year}-{latest.month:02d}"
    )
    period = picker.initial["period"]
    organization_id = request.GET.get("organization_id") or None
    report, errors, status = None, [], 200
    if picker.is_bound and not picker.is_valid():
        status = 422
    elif picker.is_bound:
        period = picker.cleaned_data["period"] or period
    if status == 200 and (organization_id or "producer" in actor.org_roles):
        try:
            report = declaration_reports.build_report(actor, organization_id=organization_id, period=period)
        except (NotFound, Forbidden):
            raise
        except DomainError as exc:
            errors, status = _errors(exc), 422
    if report is not None and request.GET.get("format") == "xlsx":
        from .api import declaration_report_download

        return declaration_report_download(report)
    return render(
        request,
        "hazardous/declaration_report.html",
        {
            "report": report,
            "cells": [list(zip(report.column_keys(), row, strict=True)) for row in report.text_rows()]
            if report
            else [],
            "organizations": declaration_reports.report_organizations(actor)[:1000],
            "organization_id": str(report.organization.pk) if report else (organization_id or ""),
            "period": period,
            "picker": picker,
            "errors": errors,
        },
        status=status,
    )


@with_actor
def summary_view(request: HttpRequest, actor: Actor, hw_store_id: int) -> HttpResponse:
    year, month, picker = _month(request, services.latest_store_day(actor, hw_store_id))
    s = services.monthly_summary(actor, hw_store_id, year, month)
    return render(
        request,
        "hazardous/summary.html",
        {
            "s": s,
            "year": year,
            "month": month,
            "picker": picker,
            "annual": services.annual_figures(actor, hw_store_id, year),
        },
        status=422 if picker.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@with_actor
def plans_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind")
        try:
            if kind == "transfer":
                services.file_transfer_plan(
                    actor,
                    data={
                        "year": request.POST.get("year"),
                        "quarter": request.POST.get("quarter"),
                        "lines": [
                            {
                                "waste_code": request.POST.get("waste_code", ""),
                                "quantity_t": request.POST.get("quantity_t", ""),
                                "destination": request.POST.get("destination", ""),
                            }
                        ],
                    },
                )
            else:
                content = {
                    t: request.POST.get(t, "") for t in rules.CLASS_TABLES[rules.KEY] if request.POST.get(t)
                }
                services.file_management_plan(
                    actor, data={"year": request.POST.get("year"), "content": content}
                )
        except NotFound:
            raise
        except DomainError as exc:
            errors = _errors(exc)
            status = exc.status
        else:
            messages.success(request, _("Plan filed."))
            return redirect("hazardous:plans")
    today = timezone.localdate()
    y, q = rules.next_quarter(*rules.quarter_of(today))
    # Plans due or overdue are judged at the end of the year shown when it is past (ADR 0051).
    years = services.plan_years(actor)
    shown = periods.year_or_latest(request.GET.get("year"), years[0] if years else None)
    on = periods.as_of(periods.year_end(shown))
    return render(
        request,
        "hazardous/plans.html",
        {
            "plans": services.list_plans(actor),
            "due": services.plans_due(actor, on),
            "shown_year": shown,
            "years": periods.years_choices(years, shown),
            **_as_of_context(on),
            "errors": errors,
            "post": request.POST,
            "next_year": y,
            "next_quarter": q,
            "next_due": rules.transfer_plan_due(y, q),
            "year": today.year,
            "may_file": bool({"producer", "park_operator"} & actor.org_roles),
            "tables": rules.CLASS_TABLES[rules.KEY],
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@with_actor
def reports_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("publish"):
                services.publish_report(
                    actor,
                    _int(request.POST.get("publish"), 0, 0, 2**62),
                    data={"effective_from": request.POST.get("effective_from") or None},
                )
            else:
                fields = ["waste_name", "waste_code", "agency", "conclusion"] + [
                    k for k, _t in rules.REPORT_SECTIONS
                ]
                services.file_report(actor, data={k: request.POST.get(k, "") for k in fields})
        except NotFound:
            raise
        except DomainError as exc:
            errors = _errors(exc)
            status = exc.status
        else:
            messages.success(request, _("Identification report saved."))
            return redirect("hazardous:reports")
    return render(
        request,
        "hazardous/reports.html",
        {
            "reports": list(services.visible_reports(actor)[:200]),
            "sections": rules.REPORT_SECTIONS,
            "conclusions": rules.CONCLUSION_CHOICES,
            "errors": errors,
            "post": request.POST,
            "org_id": actor.organization_id,
            "may_file": "producer" in actor.org_roles,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@with_actor
def inspections_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    year = periods.year_or_latest(request.GET.get("year"), services.latest_inspection_year(actor))
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        try:
            i = services.record_inspection(
                actor,
                data={
                    k: request.POST.get(k) or None
                    for k in ("organization_id", "result", "findings", "inspected_on")
                },
            )
        except NotFound:
            raise
        except DomainError as exc:
            errors = _errors(exc)
            status = exc.status
        else:
            messages.success(request, _("Inspection recorded."))
            return redirect(f"{request.path}?year={i.inspected_on.year}")
    from zerowaste.core.authz import visible_organizations

    orgs = (
        list(
            visible_organizations(actor)
            .filter(roles__role__in=["producer", "park_operator", "receiver"])
            .distinct()
            .order_by("name")[:1000]
        )
        if actor.is_regulator
        else []
    )
    return render(
        request,
        "hazardous/inspections.html",
        {
            "year": year,
            "years": periods.years_choices(
                periods.years_of(services.visible_inspections(actor), "inspected_on"), year
            ),
            "inspections": list(services.visible_inspections(actor).filter(inspected_on__year=year)[:500]),
            "rates": services.pass_rates(actor, year),
            "results": rules.RESULT_CHOICES,
            "orgs": orgs,
            "errors": errors,
            "post": request.POST,
            "today": date.today(),
        },
        status=status,
    )


FACILITY_FIELDS = (
    "site_id",
    "mode",
    "activity",
    "method",
    "waste_codes",
    "eia_approval_number",
    "eia_approval_date",
    "licence_id",
    "shared_with",
)


@require_http_methods(["GET", "POST"])
@with_actor
def facilities_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """In-plant and group-shared facilities (seed:3925-3935): the register, a form for the operator's
    clerks, closing, and the in-house treatment declared without a registered facility."""
    from zerowaste.core.models import Licence, Site
    from zerowaste.declarations import services as declarations

    from . import facilities

    year = periods.year_or_latest(
        request.GET.get("year"),
        declarations.latest_year_with_data(actor),
        fallback=timezone.localdate().year - 1,
    )
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("close"):
                facilities.close_facility(
                    actor,
                    _int(request.POST.get("close"), 0, 0, 2**62),
                    data={"closed_on": request.POST.get("closed_on") or None},
                )
                messages.success(request, _("Facility closed."))
            else:
                facilities.register_facility(
                    actor, data={k: request.POST.get(k, "") for k in FACILITY_FIELDS}
                )
                messages.success(request, _("Facility registered."))
        except NotFound:
            raise
        except DomainError as exc:
            errors = _errors(exc)
            status = exc.status
        else:
            return redirect("hazardous:facilities")
    may_register = "producer" in actor.org_roles and not actor.is_regulator
    may_check = actor.is_regulator or "producer" in actor.org_roles
    org_id = actor.organization_id or 0
    return render(
        request,
        "hazardous/facilities.html",
        {
            "facilities": list(facilities.list_facilities(actor)[:500]),
            "may_register": may_register,
            "org_id": org_id,
            "sites": list(Site.objects.filter(zone_id=actor.zone_id, organization_id=org_id, is_active=True))
            if may_register
            else [],
            "licences": list(
                Licence.objects.filter(
                    zone_id=actor.zone_id, organization_id=org_id, kind="hw_operating"
                ).qualifying()
            )
            if may_register
            else [],
            "modes": facilities.TreatmentFacility.Mode.choices,
            "activities": facilities.TreatmentFacility.Activity.choices,
            "year": year,
            "years": periods.years_choices(declarations.years_with_data(actor), year),
            "unregistered": facilities.unregistered_in_house_treatment(actor, year) if may_check else None,
            "errors": errors,
            "post": request.POST,
            "today": timezone.localdate(),
            "rule": rules.cite("R-IN-PLANT"),
        },
        status=status,
    )
