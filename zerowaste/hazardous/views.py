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

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Forbidden, NotFound
from zerowaste.portal.views import with_actor

from . import declaration_reports, labels, rules, services


def _int(value: str | None, default: int, low: int, high: int) -> int:
    return int(value) if value and value.isdigit() and low <= int(value) <= high else default


def _errors(exc: DomainError) -> list[dict[str, Any]]:
    return exc.errors or [{"field": "", "message": exc.message}]


@with_actor
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    today = timezone.localdate()
    stores = services.stores_of(actor)
    alerts = services.alerts_for(actor, today)
    return render(
        request,
        "hazardous/home.html",
        {
            "stores": [(s, rules.kg_to_t(services.stock_kg(s))) for s in stores],
            "alerts": alerts[:50],
            "alert_count": len(alerts),
            "overdue_count": sum(1 for a in alerts if a["level"] == rules.OVERDUE),
            "due": services.plans_due(actor, today)[:50],
            "rates": services.pass_rates(actor, today.year) if actor.is_regulator else None,
            "year": today.year,
        },
    )


@require_http_methods(["GET", "POST"])
@with_actor
def tiers_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    year = _int(request.GET.get("year") or request.POST.get("year"), timezone.localdate().year, 2000, 2100)
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
    return render(
        request,
        "hazardous/tiers.html",
        {
            "year": year,
            "rows": rows,
            "counts": {t: sum(1 for r in rows if r.tier == t) for t in ("A", "B", "C")},
            "may_recompute": actor.is_regulator or "park_operator" in actor.org_roles,
            "rule": rules.cite("R-TIER"),
        },
    )


def _store_context(actor: Actor, store_id: int, request: HttpRequest) -> dict[str, Any]:
    inv = services.inventory(actor, store_id)
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

    year = _int(request.GET.get("year"), timezone.localdate().year, 2000, 2100)
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
    today = timezone.localdate()
    year = _int(request.GET.get("year"), today.year, 2000, 2100)
    month = _int(request.GET.get("month"), today.month, 1, 12)
    org = request.GET.get("organization_id")
    s = services.producer_summary(actor, year, month, int(org) if org and org.isdigit() else None)
    return render(request, "hazardous/producer_summary.html", {"s": s, "year": year, "month": month})


@with_actor
def declaration_report_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """HJ 1259 C.1 / C.2 / C.3 of an organization and period; `format=xlsx` downloads it."""
    today = timezone.localdate()
    last_month = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    period = (request.GET.get("period") or "").strip() or f"{last_month.year}-{last_month.month:02d}"
    organization_id = request.GET.get("organization_id") or None
    report, errors, status = None, [], 200
    if organization_id or "producer" in actor.org_roles:
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
            "errors": errors,
        },
        status=status,
    )


@with_actor
def summary_view(request: HttpRequest, actor: Actor, hw_store_id: int) -> HttpResponse:
    today = timezone.localdate()
    year = _int(request.GET.get("year"), today.year, 2000, 2100)
    month = _int(request.GET.get("month"), today.month, 1, 12)
    s = services.monthly_summary(actor, hw_store_id, year, month)
    return render(
        request,
        "hazardous/summary.html",
        {"s": s, "year": year, "month": month, "annual": services.annual_figures(actor, hw_store_id, year)},
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
    return render(
        request,
        "hazardous/plans.html",
        {
            "plans": services.list_plans(actor),
            "due": services.plans_due(actor, today),
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
    year = _int(request.GET.get("year"), timezone.localdate().year, 2000, 2100)
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

    from . import facilities

    year = _int(request.GET.get("year"), timezone.localdate().year - 1, 2000, 2100)
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
            "unregistered": facilities.unregistered_in_house_treatment(actor, year) if may_check else None,
            "errors": errors,
            "post": request.POST,
            "today": timezone.localdate(),
            "rule": rules.cite("R-IN-PLANT"),
        },
        status=status,
    )
