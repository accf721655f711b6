"""Pages of the indicator system: the zone-year report (seed layout, ★, class counts, completion, chart),
drill-down indicator → inputs → records or entries, department entry with evidence, year comparison
with trend charts, Excel/PDF, and loading another set."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid, NotFound
from zerowaste.core.rules import without_seed_references
from zerowaste.portal.views import with_actor

from . import exports, rules, services

MAX_UPLOAD = services.MAX_EVIDENCE_BYTES


def _year(request: HttpRequest, actor: Actor) -> int:
    raw = request.GET.get("year") or request.POST.get("year") or ""
    if raw.isdigit() and services.MIN_YEAR <= int(raw) <= services.MAX_YEAR:
        return int(raw)
    latest = services.latest_year_with_data(actor.zone_id)
    if latest is not None:
        return latest
    return services.active_set(actor.zone_id).target_year or timezone.localdate().year - 1


def _years(actor: Actor) -> list[int]:
    s = services.active_set(actor.zone_id)
    last = max(timezone.localdate().year, s.target_year)
    first = min(s.baseline_year or last, last)
    return list(range(first, last + 1))


@with_actor
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    return redirect(reverse("indicators:report") + f"?year={_year(request, actor)}")


def _grouped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with level names shown once per run, as in the seed's table."""
    out = []
    last1 = last2 = None
    for row in rows:
        out.append(
            {
                **row,
                "show_level1": row["level1"] != last1,
                "show_level2": row["level2"] != last2 or row["level1"] != last1,
                "baseline_shown": exports.shown(row["baseline"], row["baseline_text"], row["unit"]),
                "target_shown": exports.shown(row["target"], row["target_text"], row["unit"]),
                "parts_shown": [
                    {
                        **p,
                        "baseline_shown": exports.shown(p["baseline"], p["baseline_text"], p["unit"]),
                        "target_shown": exports.shown(p["target"], p["target_text"], p["unit"]),
                    }
                    for p in row["parts"]
                ],
            }
        )
        last1, last2 = row["level1"], row["level2"]
    return out


@with_actor
def report(request: HttpRequest, actor: Actor) -> HttpResponse:
    year = _year(request, actor)
    evaluation = services.evaluate(actor, year=year)
    rows = services.rows_of(evaluation)
    summary = evaluation.summary
    classes = [{"code": c, "label": rules.CLASS_LABELS[c], **summary["by_class"][c]} for c in rules.CLASSES]
    chart = {
        "categories": [_("required"), _("optional"), _("self-selected")],
        "met": [c["met"] for c in classes],
        "not_met": [c["not_met"] for c in classes],
        "needs_judgment": [c["needs_judgment"] for c in classes],
        "unknown": [c["unknown"] for c in classes],
        "labels": {
            "met": _("met"),
            "not_met": _("not met"),
            "needs_judgment": _("needs judgment"),
            "unknown": _("no value yet"),
        },
    }
    return render(
        request,
        "indicators/report.html",
        {
            "year": year,
            "years": _years(actor),
            "set": evaluation.indicator_set,
            "main_rows": _grouped([r for r in rows if r["class"] != "self"]),
            "self_rows": _grouped([r for r in rows if r["class"] == "self"]),
            "summary": summary,
            "completion_pct": (summary["completion"] * 100).quantize(Decimal("0.1"))
            if summary["completion"] is not None
            else None,
            "classes": classes,
            "notes": evaluation.notes,
            "chart": chart,
            "may_enter": services.may_enter(actor),
        },
    )


@with_actor
def report_xlsx(request: HttpRequest, actor: Actor) -> HttpResponse:
    evaluation = services.evaluate(actor, year=_year(request, actor))
    response = HttpResponse(
        exports.to_xlsx(evaluation),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="indicators-{evaluation.year}.xlsx"'
    return response


@with_actor
def report_pdf(request: HttpRequest, actor: Actor) -> HttpResponse:
    evaluation = services.evaluate(actor, year=_year(request, actor))
    response = HttpResponse(exports.to_pdf(evaluation), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="indicators-{evaluation.year}.pdf"'
    return response


@with_actor
@require_http_methods(["GET", "POST"])
def indicator_detail(request: HttpRequest, actor: Actor, number: str) -> HttpResponse:
    year = _year(request, actor)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.record_judgment(
                actor,
                year=year,
                number=number,
                met=request.POST.get("met", ""),
                reason=request.POST.get("reason", ""),
            )
        except Invalid as exc:
            for e in exc.errors:
                errors[str(e.get("field", ""))] = str(e.get("message", ""))
        else:
            messages.success(request, _("Judgment recorded. The report is recomputed."))
            return redirect(reverse("indicators:indicator", args=[number]) + f"?year={year}")
    evaluation = services.evaluate(actor, year=year)
    result = next((r for r in evaluation.results if r.indicator.number == number), None)
    if result is None:
        raise NotFound(_("indicator %(n)s not found") % {"n": number})
    row = _grouped([services.row_of(evaluation, result)])[0]
    keys = [*result.indicator.inputs, *result.indicator.see_also]
    inputs = [
        _in_words(evaluation.inputs[k].as_dict()) | {"see_also": k in result.indicator.see_also} for k in keys
    ]
    names = _input_names(actor)
    parts = [
        dataclasses.replace(
            p,
            measure=dataclasses.replace(
                p.measure, formula_text=rules.formula_in_words(p.measure.formula_text, names)
            ),
        )
        for p in result.parts
    ]
    return render(
        request,
        "indicators/indicator.html",
        {
            "year": year,
            "years": _years(actor),
            "row": row,
            "class_label": rules.CLASS_LABELS.get(row["class"], row["class"]),
            "direction_label": rules.DIRECTION_LABELS.get(row["direction"], row["direction"]),
            "note": without_seed_references(result.indicator.note or ""),
            "indicator": result.indicator,
            "parts": parts,
            "inputs": inputs,
            "may_enter": services.may_enter(actor),
            "is_judgment": result.indicator.direction in rules.JUDGMENT_DIRECTIONS,
            "judgments": services.judgments_of(actor, year=year, number=number),
            "errors": errors,
            "form": request.POST if errors else {},
        },
        status=422 if errors else 200,
    )


@with_actor
@require_http_methods(["GET", "POST"])
def input_detail(request: HttpRequest, actor: Actor, key: str) -> HttpResponse:
    year = _year(request, actor)
    errors: dict[str, str] = {}
    if request.method == "POST":
        upload = request.FILES.get("evidence")
        if upload is not None and upload.size and upload.size > MAX_UPLOAD:
            errors["evidence"] = _("larger than 10 MB")
        else:
            try:
                services.enter_input(
                    actor,
                    year=year,
                    key=key,
                    value=request.POST.get("value", ""),
                    source=request.POST.get("source", ""),
                    department=request.POST.get("department", ""),
                    evidence_name=upload.name or "" if upload else "",
                    evidence=upload.read() if upload else None,
                    evidence_type=upload.content_type or "" if upload else "",
                )
            except Invalid as exc:
                for e in exc.errors:
                    errors[str(e.get("field", ""))] = str(e.get("message", ""))
            else:
                messages.success(request, _("Entered. The report is recomputed."))
                return redirect(reverse("indicators:input", args=[key]) + f"?year={year}")
    data = services.records(actor, year=year, key=key)
    definition = services.active_set(actor.zone_id).inputs[key]
    data["input"] = _in_words(data["input"]) if data.get("input") else data.get("input")
    scale = services.active_set(actor.zone_id).scales.get(definition.scale or "")
    return render(
        request,
        "indicators/input.html",
        {
            "year": year,
            "years": _years(actor),
            "data": data,
            "definition": definition,
            "unit_words": rules.unit_words(definition.unit_text),
            "formula_words": rules.formula_in_words(definition.formula_text, _input_names(actor)),
            "levels": scale.levels if scale else None,
            "errors": errors,
            "form": request.POST if errors else {},
            "may_enter": services.may_enter(actor),
        },
        status=422 if errors else 200,
    )


def _in_words(d: dict[str, Any]) -> dict[str, Any]:
    """An input's origin and unit as the page says them (the keys stay in the API and the set)."""
    return d | {
        "origin_label": rules.ORIGIN_LABELS.get(d.get("origin") or "", d.get("origin")),
        "unit_words": rules.unit_words(d.get("unit") or ""),
    }


def _input_names(actor: Actor) -> dict[str, str]:
    return {key: d.name for key, d in services.active_set(actor.zone_id).inputs.items()}


@with_actor
def inputs(request: HttpRequest, actor: Actor) -> HttpResponse:
    year = _year(request, actor)
    evaluation = services.evaluate(actor, year=year)
    department = (request.GET.get("department") or "").strip()
    origin = request.GET.get("origin") or ""
    rows = []
    for state in evaluation.inputs.values():
        d = state.as_dict()
        if department and department not in d["department"]:
            continue
        if origin and d["origin"] != origin:
            continue
        rows.append({**_in_words(d), "used_by": state.used_by})
    departments = sorted(
        {part for s in evaluation.inputs.values() for part in s.definition.department.split("、") if part}
    )
    return render(
        request,
        "indicators/inputs.html",
        {
            "year": year,
            "years": _years(actor),
            "rows": rows,
            "departments": departments,
            "department": department,
            "origin": origin,
            "origins": [
                (o, rules.ORIGIN_LABELS[o])
                for o in ("entered", "derived", "computed", "previous_year", "missing")
            ],
        },
    )


def _compare_years(request: HttpRequest, actor: Actor) -> list[int]:
    raw = request.GET.getlist("years") or (request.GET.get("y") or "").split(",")
    years = sorted(
        {int(y) for y in raw if str(y).isdigit() and services.MIN_YEAR <= int(y) <= services.MAX_YEAR}
    )
    if not years:
        s = services.active_set(actor.zone_id)
        years = (
            list(range(s.baseline_year, s.target_year + 1)) if s.baseline_year else [_year(request, actor)]
        )
    return years[:10]


@with_actor
def compare(request: HttpRequest, actor: Actor) -> HttpResponse:
    years = _compare_years(request, actor)
    data = services.trend(actor, years=years)
    return render(
        request,
        "indicators/compare.html",
        {
            "years": years,
            "all_years": _years(actor),
            "data": data,
            "selected": request.GET.get("indicator") or "1",
        },
    )


@with_actor
def compare_data(request: HttpRequest, actor: Actor) -> JsonResponse:
    return JsonResponse(services.trend(actor, years=_compare_years(request, actor)))


@with_actor
def evidence(request: HttpRequest, actor: Actor, entry_id: int) -> HttpResponse:
    entry = services.evidence_of(actor, entry_id)
    response = HttpResponse(
        bytes(entry.evidence or b""), content_type=entry.evidence_type or "application/octet-stream"
    )
    safe = "".join(ch for ch in entry.evidence_name if ch.isascii() and ch not in '"\\\r\n') or "evidence"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


@with_actor
@require_http_methods(["GET", "POST"])
def sets(request: HttpRequest, actor: Actor) -> HttpResponse:
    faults: list[dict[str, Any]] = []
    if request.method == "POST":
        try:
            if request.POST.get("bundled"):
                services.activate_set(actor, None)
                messages.success(request, _("The zone uses the bundled indicator set."))
            elif request.POST.get("activate"):
                services.activate_set(actor, int(request.POST["activate"]))
                messages.success(request, _("Indicator set switched."))
            else:
                upload = request.FILES.get("file")
                if upload is None:
                    raise Invalid.field("file", _("choose a set file (.toml)"))
                if upload.size and upload.size > services.MAX_SET_BYTES:
                    raise Invalid.field("file", _("larger than 1 MB"))
                try:
                    text = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    raise Invalid.field("file", _("not UTF-8 text")) from None
                row = services.load_set(actor, text=text, activate=bool(request.POST.get("make_active")))
                messages.success(request, _("Loaded %(c)s %(v)s.") % {"c": row.code, "v": row.version})
            return redirect("indicators:sets")
        except (Invalid, ValueError) as exc:
            faults = list(getattr(exc, "errors", [])) or [{"message": str(exc)}]
    active = services.active_set(actor.zone_id)
    return render(
        request,
        "indicators/sets.html",
        {
            "rows": services.sets_of(actor),
            "active": active,
            "bundled": services.bundled_set(),
            "faults": faults,
            "may_load": services.may_load_set(actor),
            "year": _year(request, actor),
        },
        status=422 if faults else 200,
    )
