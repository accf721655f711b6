"""Pages of transfers: registers, the manifest form, the phone-sized signing page, the receiving page,
the PDF, the public verification page and the supervision figures. One service call per request."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zerowaste.core import periods
from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Forbidden, Invalid, NotFound
from zerowaste.portal.views import with_actor

from . import pdf, rules, services, webhooks
from .models import RevisionRequest

FORM_FIELDS = (
    "vehicle_id",
    "driver",
    "quantity_seen_t",
    "next_carrier_id",
    "received_t",
    "refused_t",
    "reason",
    "discrepancy_note",
    "treatment",
    "consignee_id",
    "carrier_id",
    "at",
    "consignor_code",
)


def _filters(request: HttpRequest) -> dict[str, Any]:
    year = request.GET.get("year") or ""
    return {
        "kind": request.GET.get("register") or "all",
        "stream": request.GET.get("stream") or None,
        "state": request.GET.get("state") or None,
        "year": int(year) if year.isdigit() else None,
        "overdue": request.GET.get("overdue") == "1",
        "query": request.GET.get("q") or None,
        "review": request.GET.get("review") == "1",
    }


def _require_consignor(actor: Actor) -> None:
    """The manifest form and import answer 403 to whom they are of no use (a carrier, a regulator)."""
    if not services.may_issue_manifests(actor):
        raise Forbidden(_("only a producer (or a receiver or park store passing waste on) issues manifests"))


@with_actor
def register_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    filters = _filters(request)
    try:
        qs = services.register(actor, **filters)
    except DomainError as exc:
        messages.error(request, exc.message)
        qs = services.register(actor)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    alerts = services.register(actor, overdue=True).count()
    return render(
        request,
        "transfers/register.html",
        {
            "page": page,
            "filters": filters,
            "alerts": alerts,
            "may_issue": services.may_issue_manifests(actor),
            "states": rules.STATE_CHOICES,
            "streams": rules.STREAM_CHOICES,
            "registers": services.REGISTERS,
            "years": periods.years_choices(services.years_with_data(actor), filters["year"]),
            "query_string": request.GET.urlencode(),
            "today": services.timezone.localdate(),
        },
    )


@with_actor
def create_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    _require_consignor(actor)
    stream = request.POST.get("stream") or request.GET.get("stream") or "isw"
    if stream not in rules.STREAMS:
        stream = "isw"
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        data = {
            "stream": stream,
            "consignee_id": request.POST.get("consignee_id"),
            "carrier_id": request.POST.get("carrier_id"),
            "planned_date": request.POST.get("planned_date") or None,
            "treatment": request.POST.get("treatment", ""),
            "lines": [
                {
                    "waste_code": request.POST.get("waste_code", ""),
                    "estimated_t": request.POST.get("estimated_t"),
                    "description": request.POST.get("description", ""),
                    "packaging": request.POST.get("packaging", ""),
                    "package_count": request.POST.get("package_count") or 0,
                }
            ],
        }
        try:
            t = services.create_transfer(actor, data=data, issue=request.POST.get("issue") == "1")
        except DomainError as exc:
            errors = exc.errors or [{"field": "", "message": exc.message}]
        else:
            messages.success(request, _("Manifest %(n)s saved.") % {"n": t})
            return redirect("transfers:detail", transfer_id=t.pk)
    return render(
        request,
        "transfers/create.html",
        {
            "stream": stream,
            "streams": rules.STREAM_CHOICES,
            "candidates": services.candidates(actor, stream),
            "errors": errors,
            "post": request.POST,
        },
        status=422 if errors else 200,
    )


def _context(actor: Actor, transfer_id: int) -> dict[str, Any]:
    t = services.get_transfer(actor, transfer_id)
    parties = services.parties_of(actor, t)
    possible = [tr for tr in rules.actions_from(t.state) if actor.is_system or rules.party_may(tr, parties)]
    return {
        "t": t,
        "lines": list(t.lines.all()),
        "legs": list(t.legs.select_related("carrier")),
        "signatures": list(t.signatures.all()),
        "actions": [tr.action for tr in possible],
        "labels": rules.ACTION_LABELS,
        "due_step_label": rules.DUE_STEP_LABELS.get(t.due_step, t.due_step),
        "parties": parties,
        "overdue": services.is_overdue(t),
        "versions": list(t.versions.all()),
        "revisions": list(RevisionRequest.objects.filter(transfer=t)),
        "vehicles": services.vehicles_of(actor),
        "org_id": actor.organization_id,
        "carriers": services.candidates(actor, t.stream)["carriers"]
        if "hand_over" in [p.action for p in possible]
        else [],
    }


@with_actor
def detail_view(request: HttpRequest, actor: Actor, transfer_id: int) -> HttpResponse:
    return render(request, "transfers/detail.html", _context(actor, transfer_id))


@with_actor
def sign_view(request: HttpRequest, actor: Actor, transfer_id: int) -> HttpResponse:
    """The carrier's phone-sized page: vehicle, time, quantity seen."""
    return render(request, "transfers/sign.html", _context(actor, transfer_id))


@with_actor
def receive_view(request: HttpRequest, actor: Actor, transfer_id: int) -> HttpResponse:
    return render(request, "transfers/receive.html", _context(actor, transfer_id))


@require_POST
@with_actor
def act_view(request: HttpRequest, actor: Actor, transfer_id: int, action: str) -> HttpResponse:
    data: dict[str, Any] = {k: request.POST[k] for k in FORM_FIELDS if request.POST.get(k, "") != ""}
    if action == "request_revision":
        field = request.POST.get("field", "")
        data = {"changes": {field: request.POST.get("value", "")}, "reason": request.POST.get("reason", "")}
    if action == "accept" and "refused_t" in data:
        # The receive page has one acceptance form: a refused part, when given, makes it partial.
        action = "accept_part"
    try:
        result = services.perform(actor, transfer_id, action, **data)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        back = request.POST.get("back") or ""
        if back in ("sign", "receive"):
            return redirect(f"transfers:{back}", transfer_id=transfer_id)
        return redirect("transfers:detail", transfer_id=transfer_id)
    messages.success(request, _("%(action)s: done.") % {"action": rules.ACTION_LABELS.get(action, action)})
    return redirect("transfers:detail", transfer_id=result.pk)


@require_POST
@with_actor
def copy_view(request: HttpRequest, actor: Actor, transfer_id: int) -> HttpResponse:
    try:
        t = services.copy_transfer(actor, transfer_id)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("transfers:detail", transfer_id=transfer_id)
    return redirect("transfers:detail", transfer_id=t.pk)


@require_POST
@with_actor
def revision_view(request: HttpRequest, actor: Actor, request_id: int, decision: str) -> HttpResponse:
    if decision not in ("approve", "reject"):
        raise Http404
    try:
        req = services.decide_revision(actor, request_id, approve=decision == "approve")
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        req = services.get_revision(actor, request_id)
    return redirect("transfers:detail", transfer_id=req.transfer_id)


@with_actor
def pdf_view(request: HttpRequest, actor: Actor, transfer_id: int) -> HttpResponse:
    t = services.get_transfer(actor, transfer_id)
    response = HttpResponse(pdf.render(t, request.build_absolute_uri("/")), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="manifest-{t.number or t.pk}.pdf"'
    return response


@with_actor
def export_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    fmt = request.GET.get("format") or "xlsx"
    try:
        content, content_type, ext = services.export(actor, fmt=fmt, **_filters(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("transfers:register")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="transfers.{ext}"'
    return response


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel or CSV file"))
    issue = forms.BooleanField(label=gettext_lazy("Issue them at once"), required=False)


@require_http_methods(["GET", "POST"])
@with_actor
def import_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Several manifests at once from a sheet: all or none, every fault listed by sheet/row/column."""
    _require_consignor(actor)
    form = ImportForm(request.POST or None, request.FILES or None)
    faults: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            created = services.import_drafts(
                actor, content=upload.read(), filename=upload.name, issue=form.cleaned_data["issue"]
            )
        except NotFound:
            raise
        except Invalid as exc:
            faults = exc.errors
            form.add_error(None, exc.message)
            status = 422
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 403
        else:
            messages.success(request, _("%(n)d manifests imported.") % {"n": len(created)})
            return redirect("transfers:register")
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "transfers/import.html",
        {"form": form, "faults": faults, "columns": services.IMPORT_COLUMNS},
        status=status,
    )


@with_actor
def import_template_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    response = HttpResponse(
        services.import_template_xlsx(actor),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="manifests-template.xlsx"'
    return response


@require_http_methods(["GET", "POST"])
@with_actor
def signature_code_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The producer's signature code: its admin rotates it and sees the new code once."""
    code = None
    if request.method == "POST":
        try:
            code = services.rotate_signature_code(actor)
        except DomainError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "transfers/signature_code.html",
        {
            "status": services.signature_code_status(actor),
            "code": code,
            "may_rotate": actor.member_role == "admin",
        },
    )


@require_http_methods(["GET", "POST"])
@with_actor
def webhooks_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The organization's webhooks: add one (public URLs only; the secret is shown once), switch on/off."""
    created = None
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("url") is not None:
                created = webhooks.subscribe(actor, url=request.POST["url"])
            elif request.POST.get("subscription", "").isdigit():
                webhooks.update_subscription(
                    actor, int(request.POST["subscription"]), active=request.POST.get("active") == "1"
                )
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status
    return render(
        request,
        "transfers/webhooks.html",
        {"subscriptions": list(webhooks.subscriptions(actor)), "created": created},
        status=status,
    )


@with_actor
def statistics_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    # By default the latest year with manifests the actor sees (ADR 0051); `year=all` is every year.
    years = services.years_with_data(actor)
    raw = request.GET.get("year") or ""
    year = None if raw == "all" else periods.year_or_latest(raw, years[0] if years else None)
    stream = request.GET.get("stream") or None
    stats = services.statistics(actor, year=year, stream=stream if stream in rules.STREAMS else None)
    return render(
        request,
        "transfers/statistics.html",
        {
            "stats": stats,
            "streams": rules.STREAM_CHOICES,
            "year": year,
            "years": periods.years_choices(years, year),
        },
    )


@require_GET
def verify_view(request: HttpRequest, number: str) -> HttpResponse:
    """Public: number, parties and state of a manifest, for whoever holds its QR code. No quantities."""
    try:
        data = services.public_view(number, request.GET.get("c", ""))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "transfers/verify.html", {"v": data})
