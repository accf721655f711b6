"""Pages of declarations: list, form (with code search), upload with dry run, review, statistics."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from zerowaste.catalog import services as catalog
from zerowaste.core import formatting, periods
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Invalid
from zerowaste.core.tabular import ImportRejected
from zerowaste.portal.periods import period_form
from zerowaste.portal.views import with_actor

from . import rules, services
from .checking import IMPORT_COLUMNS

EXTRA_ROWS = 5
LINE_FIELDS = ("site", "waste_code", "waste_name", "unit", *rules.QTY_FIELDS, "destination")


def _this_month() -> str:
    today = timezone.localdate()
    month = today.month - 1 or 12
    year = today.year if today.month > 1 else today.year - 1
    return f"{year}-{month:02d}"


def _period_to_declare(actor: Actor) -> str:
    """The month a new declaration or a template is for by default: the one after the latest declared
    period the actor sees (a zone whose records stop in 2020 continues with 2021-01), never later than
    last month; with nothing declared, last month (ADR 0051)."""
    last_month = _this_month()
    latest = services.latest_month_with_data(actor)
    if latest is None:
        return last_month
    following = f"{latest.year + (latest.month == 12)}-{latest.month % 12 + 1:02d}"
    return min(following, last_month)


@with_actor
def declaration_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    filters: dict[str, Any] = {
        "status": request.GET.get("status") or None,
        "stream": request.GET.get("stream") or None,
        "year": int(request.GET["year"]) if request.GET.get("year", "").isdigit() else None,
        "query": request.GET.get("q") or None,
    }
    qs = services.list_declarations(actor, **filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "declarations/list.html",
        {
            "page": page,
            "filters": filters,
            "status_choices": rules.STATUS_CHOICES,
            "may_declare": services.may(actor, "declare"),
            "may_review": services.may(actor, "review"),
            "years": periods.years_choices(services.years_with_data(actor), filters["year"]),
            "query_string": request.GET.urlencode(),
        },
    )


def _rows_from_post(request: HttpRequest) -> list[dict[str, Any]]:
    raw = (request.POST.get("line_count") or "0").strip()
    if not raw.isascii() or not raw.isdigit():
        raise Invalid.field("line_count", _("a whole number"))
    count = int(raw)
    rows = []
    for i in range(min(count, 2000)):
        values = {f: (request.POST.get(f"lines-{i}-{f}") or "").strip() for f in LINE_FIELDS}
        if values["waste_code"]:
            rows.append(values)
    return rows


def _form_rows(lines: list[dict[str, Any]], extra: int = EXTRA_ROWS) -> list[dict[str, Any]]:
    rows = [{f: ("" if line.get(f) is None else line.get(f)) for f in LINE_FIELDS} for line in lines]
    rows += [dict.fromkeys(LINE_FIELDS, "") for _ in range(extra)]
    for row in rows:
        row["unit"] = row.get("unit") or "t"
    return rows


def _line_errors(exc: Invalid) -> tuple[dict[int, list[str]], list[str]]:
    per_line: dict[int, list[str]] = {}
    general: list[str] = []
    for error in exc.errors or [{"message": exc.message}]:
        field = str(error.get("field") or "")
        if field.startswith("lines["):
            index = int(field[6 : field.index("]")])
            per_line.setdefault(index, []).append(f"{field.split('.', 1)[-1]}: {error.get('message')}")
        else:
            general.append(f"{field}: {error.get('message')}" if field else str(error.get("message")))
    return per_line, general


@require_http_methods(["GET", "POST"])
@with_actor
def declaration_form(request: HttpRequest, actor: Actor, pk: int | None = None) -> HttpResponse:
    decl = services.get_declaration(actor, pk) if pk else None
    stream = decl.stream if decl else (request.POST.get("stream") or request.GET.get("stream") or "isw")
    period = (
        decl.period_label
        if decl
        else (request.POST.get("period") or request.GET.get("period") or _period_to_declare(actor))
    )
    errors: dict[int, list[str]] = {}
    general: list[str] = []
    # The period a person typed goes through the one period field: a bad one is an error on it.
    picker = period_form(
        None if decl else (request.POST if request.method == "POST" else request.GET),
        kinds=rules.PERIOD_KINDS,
        initial=period,
    )
    if picker.is_bound and not picker.is_valid():
        rows = _form_rows(_rows_from_post(request), extra=2) if request.method == "POST" else _form_rows([])
    elif request.method == "POST":
        if picker.is_bound:
            period = picker.cleaned_data["period"] or period
        posted = _rows_from_post(request)
        try:
            saved = services.save_declaration(
                actor, stream=stream, period=period, lines=posted, declaration_id=decl.pk if decl else None
            )
        except (Invalid, Conflict) as exc:
            if isinstance(exc, Invalid):
                # Errors index the submitted (non-empty) lines; show them against those rows.
                errors, general = _line_errors(exc)
            else:
                general = [exc.message]
            rows = _form_rows(posted, extra=2)
        else:
            if request.POST.get("and_submit"):
                try:
                    services.submit(actor, saved.pk)
                    messages.success(request, _("Declaration submitted."))
                except (Invalid, Conflict) as exc:
                    messages.error(request, exc.message)
            else:
                messages.success(request, _("Draft saved."))
            return redirect("declarations:detail", pk=saved.pk)
    elif decl is not None:
        rows = _form_rows(
            [
                {
                    **{f: getattr(ln, f) for f in rules.QTY_FIELDS},
                    "site": ln.site.name if ln.site else "",
                    "waste_code": ln.waste_code,
                    "waste_name": ln.waste_name,
                    "destination": ln.destination,
                    "unit": "t",
                }
                for ln in services.lines_of(decl)
            ]
        )
    else:
        if picker.is_bound:
            period = picker.cleaned_data["period"] or period
        try:
            rows = _form_rows(services.previous_lines(actor, stream=stream, period=period))
        except Invalid as exc:
            general = [exc.message]
            rows = _form_rows([])
    sites = list(actor.organization.sites.values_list("name", flat=True)) if actor.organization else []
    return render(
        request,
        "declarations/form.html",
        {
            "decl": decl,
            "stream": stream,
            "period": period,
            "rows": rows,
            "errors": errors,
            "general": general,
            "stream_choices": rules.STREAM_CHOICES,
            "sites": sites,
            "picker": picker,
        },
        status=422 if picker.errors else 200,
    )


@with_actor
def code_search(request: HttpRequest, actor: Actor) -> JsonResponse:
    """Catalog codes in force for the period, for the form's code field."""
    stream = request.GET.get("stream") or "isw"
    try:
        on_date = rules.parse_period(request.GET.get("period") or _this_month()).start
    except ValueError:
        on_date = timezone.localdate()
    if stream not in rules.STREAMS:
        stream = "isw"
    result = catalog.search(actor.zone_id, request.GET.get("q", ""), stream=stream, on_date=on_date, limit=30)
    return JsonResponse(
        {"results": [{"code": e.code, "name": e.name, "category": e.category.code} for e in result.entries]}
    )


@require_http_methods(["GET", "POST"])
@with_actor
def declaration_detail(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "submit":
                services.submit(actor, pk)
                messages.success(request, _("Declaration submitted."))
            elif action == "accept":
                services.accept(actor, pk)
                messages.success(request, _("Declaration accepted."))
            elif action == "return":
                services.return_declaration(actor, pk, reason=request.POST.get("reason", ""))
                messages.success(request, _("Declaration returned."))
            elif action == "amend":
                new = services.amend(actor, pk, reason=request.POST.get("reason", ""))
                messages.success(request, _("Amendment created as a draft; edit and submit it."))
                return redirect("declarations:edit", pk=new.pk)
        except (Invalid, Conflict) as exc:
            messages.error(request, exc.message)
            for error in exc.errors[1:10]:
                messages.error(request, f"{error.get('field')}: {error.get('message')}")
        return redirect("declarations:detail", pk=pk)
    decl = services.get_declaration(actor, pk)
    lines = services.lines_of(decl)
    totals = {f: sum((getattr(ln, f) for ln in lines), rules.ZERO) for f in rules.QTY_FIELDS}
    recon = services.reconcile(decl)
    history = services.versions(actor, pk)
    mine = decl.organization_id == actor.organization_id
    return render(
        request,
        "declarations/detail.html",
        {
            "decl": decl,
            "lines": lines,
            "totals": totals,
            "recon": recon,
            "history": history,
            "may_edit": mine and services.may(actor, "declare") and decl.status in rules.EDITABLE_STATES,
            "may_amend": mine and services.may(actor, "declare") and decl.status == rules.Status.ACCEPTED,
            "may_review": services.may(actor, "review")
            and actor.is_regulator
            and decl.status == rules.Status.SUBMITTED,
        },
    )


@require_http_methods(["GET", "POST"])
@with_actor
def import_upload(request: HttpRequest, actor: Actor) -> HttpResponse:
    faults: list[dict[str, Any]] = []
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a file.")
        else:
            try:
                outcome = services.upload(actor, content=upload.read(), filename=upload.name or "upload")
            except ImportRejected as exc:
                faults = [f.as_dict() for f in exc.faults]
            except Invalid as exc:
                error = exc.message
            else:
                return redirect("declarations:job", job_id=outcome.job.pk)
    return _import_page(request, actor, faults=faults, error=error)


def _import_page(
    request: HttpRequest,
    actor: Actor,
    *,
    faults: list[dict[str, Any]] | None = None,
    error: str | None = None,
    picker: Any = None,
) -> HttpResponse:
    picker = picker or period_form(None, kinds=rules.PERIOD_KINDS, initial=_period_to_declare(actor))
    bad = bool(faults or error or picker.errors)
    return render(
        request,
        "declarations/import.html",
        {"faults": faults or [], "error": error, "columns": IMPORT_COLUMNS, "picker": picker},
        status=422 if bad else 200,
    )


@require_http_methods(["GET", "POST"])
@with_actor
def import_job(request: HttpRequest, actor: Actor, job_id: int) -> HttpResponse:
    job = services.get_job(actor, job_id)
    if request.method == "POST":
        try:
            outcome = services.start_job(actor, job_id, submit=bool(request.POST.get("submit")))
        except (Invalid, Conflict) as exc:
            messages.error(request, exc.message)
            return redirect("declarations:job", job_id=job_id)
        if not outcome.background:
            messages.success(
                request, _("%(n)d declaration(s) imported.") % {"n": len(outcome.declaration_ids)}
            )
            return redirect("declarations:list")
        return redirect("declarations:job", job_id=job_id)
    return render(request, "declarations/job.html", {"job": job, "groups": job.summary.get("groups", [])})


@with_actor
def import_progress(request: HttpRequest, actor: Actor, job_id: int) -> JsonResponse:
    job = services.get_job(actor, job_id)
    return JsonResponse(
        {
            "status": job.status,
            "phase": job.phase,
            "percent": job.percent,
            "processed_rows": job.processed_rows,
            "total_rows": job.total_rows,
            "faults": job.faults[:50],
        }
    )


@with_actor
def template_download(request: HttpRequest, actor: Actor) -> HttpResponse:
    stream = request.GET.get("stream") or "isw"
    default = _period_to_declare(actor)
    picker = period_form(request.GET, kinds=rules.PERIOD_KINDS, initial=default)
    if picker.is_bound and not picker.is_valid():
        return _import_page(request, actor, picker=picker)
    period = (picker.cleaned_data["period"] if picker.is_bound else "") or default
    content = services.template_xlsx(actor, stream=stream, period=period)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="declaration-{stream}-{period}.xlsx"'
    return response


def _download(headers: list[str], rows: list[list[Any]], name: str, fmt: str) -> HttpResponse:
    if fmt == "xlsx":
        response = HttpResponse(
            services.to_xlsx(name, headers, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(services.to_csv(headers, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@with_actor
def export(request: HttpRequest, actor: Actor) -> HttpResponse:
    year = int(request.GET["year"]) if request.GET.get("year", "").isdigit() else None
    rows = services.export_rows(
        actor, year=year, status=request.GET.get("status") or None, stream=request.GET.get("stream") or None
    )
    return _download(services.EXPORT_HEADERS, rows, "declarations", request.GET.get("format", "csv"))


def _year(request: HttpRequest, actor: Actor) -> int:
    """The year asked for, else the latest year with declarations the actor sees (not the machine's)."""
    return periods.year_or_latest(
        request.GET.get("year"), services.latest_year_with_data(actor), fallback=timezone.localdate().year - 1
    )


@with_actor
def stats(request: HttpRequest, actor: Actor) -> HttpResponse:
    year = _year(request, actor)
    by = str(request.GET.get("by")) if request.GET.get("by") in rules.STAT_GROUPS else "category"
    stream = str(request.GET.get("stream")) if request.GET.get("stream") in rules.STREAMS else "isw"
    data = services.statistics(actor, year=year, by=by, stream=stream)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        rows = [[r.get(h) for h in services.STAT_HEADERS] for r in data["rows"]]
        headers = list(services.STAT_HEADERS)
        if by in ("category", "code"):  # a person reads the code's name beside it
            headers.insert(1, "name")
            rows = [
                [row[0], formatting.code_name(stream, str(row[0] or ""), actor.zone_id), *row[1:]]
                for row in rows
            ]
        return _download(headers, rows, f"stats-{stream}-{year}-{by}", fmt)
    return render(
        request,
        "declarations/stats.html",
        {
            "data": data,
            "year": year,
            "by": by,
            "stream": stream,
            "groups": [(g, rules.STAT_GROUP_LABELS[g]) for g in rules.STAT_GROUPS],
            "by_label": rules.STAT_GROUP_LABELS[by],
            "stream_choices": rules.STREAM_CHOICES,
            "years": periods.years_choices(services.years_with_data(actor), year),
        },
    )


@with_actor
def intensity(request: HttpRequest, actor: Actor) -> HttpResponse:
    year = _year(request, actor)
    above = request.GET.get("above") == "1"
    data = services.intensity(actor, year=year, above_target_only=above)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        rows = [[r.get(h) for h in services.INTENSITY_HEADERS] for r in data["rows"]]
        return _download(services.INTENSITY_HEADERS, rows, f"intensity-{year}", fmt)
    return render(
        request,
        "declarations/intensity.html",
        {
            "data": data,
            "year": year,
            "above": above,
            "years": periods.years_choices(services.years_with_data(actor), year),
        },
    )


def _items(request: HttpRequest, prefix: str) -> list[dict[str, str]]:
    names = request.POST.getlist(f"{prefix}_name")
    quantities = request.POST.getlist(f"{prefix}_quantity")
    units = request.POST.getlist(f"{prefix}_unit")
    return [
        {"name": n, "quantity": q, "unit": u}
        for n, q, u in zip(names, quantities, units, strict=False)
        if n.strip()
    ]


@require_http_methods(["GET", "POST"])
@with_actor
def production(request: HttpRequest, actor: Actor) -> HttpResponse:
    latest = services.latest_production_year(actor)
    default_year = latest if latest is not None else timezone.localdate().year - 1
    year_text = str(request.POST.get("year") or request.GET.get("year") or default_year)
    if not year_text.isdigit():
        raise Invalid.field("year", _("a whole number"))
    year = int(year_text)
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.save_production_data(
                actor,
                year=year,
                value_added_wan=request.POST.get("value_added_wan", ""),
                products=_items(request, "product"),
                raw_materials=_items(request, "material"),
            )
        except Invalid as exc:
            errors = [f"{e.get('field')}: {e.get('message')}" for e in exc.errors] or [exc.message]
        else:
            messages.success(request, _("Production data saved."))
            return redirect(f"{request.path}?year={year}")
    current = (
        services.production_data(actor, year=year).filter(organization_id=actor.organization_id or 0).first()
    )
    products = (current.products if current else []) + [{"name": "", "quantity": "", "unit": ""}] * 3
    materials = (current.raw_materials if current else []) + [{"name": "", "quantity": "", "unit": ""}] * 3
    return render(
        request,
        "declarations/production.html",
        {
            "year": year,
            "current": current,
            "products": products,
            "materials": materials,
            "errors": errors,
            "all_rows": services.production_data(actor, year=year) if actor.is_regulator else None,
            "today": date.today(),
        },
    )
