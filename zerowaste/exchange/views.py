"""Pages of the exchange: the public board, my listings, proposals, matching runs, pooled runs.

One service call per request; forms post back and show errors naming the field.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from zerowaste.api import ACTIVE_ORG_SESSION_KEY
from zerowaste.core.authz import Actor, active_memberships, actor_for_user
from zerowaste.core.errors import DomainError, Invalid, NotFound
from zerowaste.core.models import Site
from zerowaste.portal.periods import field_errors, period_form
from zerowaste.portal.views import with_actor

from . import photos, rules, services
from .models import SupplyPhoto


def _errors(exc: DomainError) -> list[dict[str, Any]]:
    return exc.errors or [{"field": "", "message": exc.message}]


def board_view(request: HttpRequest) -> HttpResponse:
    """The public board: aggregates by category and code; works without logging in."""
    from zerowaste.catalog.services import public_zone

    actor = None
    if request.user.is_authenticated:
        actor = actor_for_user(request.user, request.session.get(ACTIVE_ORG_SESSION_KEY))  # type: ignore[arg-type]
        request.actor = actor  # type: ignore[attr-defined]  # the navigation shows the user's links
        request.memberships = list(active_memberships(request.user))  # type: ignore[attr-defined, arg-type]
    zone = public_zone(request.GET.get("zone")) if actor is None else None
    zone_id = actor.zone_id if actor is not None else zone.pk  # type: ignore[union-attr]
    return render(
        request,
        "exchange/board.html",
        {"rows": services.public_board(zone_id), "board_actor": actor},
    )


def _sites(actor: Actor) -> list[Site]:
    return list(
        Site.objects.filter(zone_id=actor.zone_id, organization_id=actor.organization_id or 0, is_active=True)
    )


def _roles(actor: Actor) -> set[str]:
    return set(actor.org_roles)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@with_actor
def mine_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    form = request.POST.get("form")
    if request.method == "POST":
        try:
            if form == "supply":
                listing = photos.create_supply_with_photos(
                    actor,
                    files=[
                        (f.name or "", photos.read_upload(f)) for f in request.FILES.getlist("photo_files")
                    ],
                    data={
                        "waste_code": request.POST.get("waste_code", ""),
                        "site_id": request.POST.get("site_id"),
                        "kind": request.POST.get("kind") or rules.KIND_MONTHLY,
                        "quantity_t": request.POST.get("quantity_t"),
                        "price_cny_per_t": request.POST.get("price_cny_per_t") or "0",
                        "quality_notes": request.POST.get("quality_notes", ""),
                        "packaging": request.POST.get("packaging", ""),
                        "pickup_from": request.POST.get("pickup_from") or None,
                        "pickup_to": request.POST.get("pickup_to") or None,
                        "anonymous": request.POST.get("anonymous") == "1",
                    },
                )
                messages.success(request, _("Supply listing %(id)s published.") % {"id": listing.pk})
            elif form == "demand":
                codes = request.POST.getlist("price_code")
                prices = request.POST.getlist("price_value")
                listing_d = services.create_demand(
                    actor,
                    data={
                        "site_id": request.POST.get("site_id"),
                        "capacity_t_per_month": request.POST.get("capacity_t_per_month"),
                        "service_radius_km": request.POST.get("service_radius_km"),
                        "notes": request.POST.get("notes", ""),
                        "prices": [
                            {"waste_code": c, "price_cny_per_t": p}
                            for c, p in zip(codes, prices, strict=False)
                            if c.strip()
                        ],
                    },
                )
                messages.success(request, _("Demand listing %(id)s published.") % {"id": listing_d.pk})
            elif form == "withdraw_supply":
                services.withdraw_supply(actor, int(request.POST.get("id") or 0))
                messages.success(request, _("Listing withdrawn."))
            elif form == "withdraw_demand":
                services.withdraw_demand(actor, int(request.POST.get("id") or 0))
                messages.success(request, _("Listing withdrawn."))
            elif form == "photo_add":
                upload = request.FILES.get("photo")
                photos.add_photo(
                    actor,
                    _int(request.POST.get("id")),
                    content=photos.read_upload(upload) if upload else b"",
                    filename=(upload.name or "") if upload else "",
                )
                messages.success(request, _("Photo added."))
            elif form == "photo_remove":
                photos.remove_photo(actor, _int(request.POST.get("photo_id")))
                messages.success(request, _("Photo removed."))
        except DomainError as exc:
            errors = _errors(exc)
        else:
            return redirect("exchange:mine")
    roles = _roles(actor)
    supplies = list(services.visible_supply(actor).select_related("site")[:500])
    shots = photos.photos_by_listing(actor, supplies)
    return render(
        request,
        "exchange/mine.html",
        {
            "supplies": [(s, shots.get(s.pk, [])) for s in supplies],
            "max_photos": photos.MAX_PHOTOS,
            "demands": list(
                services.visible_demand(actor).select_related("site").prefetch_related("prices")[:200]
            ),
            "sites": _sites(actor),
            "is_producer": "producer" in roles,
            "is_receiver": "receiver" in roles,
            "errors": errors,
            "form": form,
            "post": request.POST,
        },
        status=422 if errors else 200,
    )


@with_actor
def proposals_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    status = request.GET.get("status") or rules.PROPOSED
    qs = services.visible_proposals(actor).select_related("agreement").order_by("-value_cny", "pk")
    if status != "all":
        qs = qs.filter(status=status)
    rows = [(p, services.counterpart_name(actor, p)) for p in qs[:300]]
    return render(
        request,
        "exchange/proposals.html",
        {
            "rows": rows,
            "status": status,
            "statuses": rules.PROPOSAL_STATUS_CHOICES,
            "org_id": actor.organization_id,
        },
    )


@require_GET
@with_actor
def proposal_view(request: HttpRequest, actor: Actor, proposal_id: int) -> HttpResponse:
    """One proposal with what the recycler is asked to take: quality, packaging, window, photos."""
    p = services.get_proposal(actor, proposal_id)
    try:
        shots = photos.photos_of(actor, p.supply_id)
    except NotFound:  # a regulator who sees the receiver but not the producer
        shots = []
    return render(
        request,
        "exchange/proposal.html",
        {
            "p": p,
            "supply": p.supply,
            "counterpart": services.counterpart_name(actor, p),
            "fee": services.avoided_fee(actor, p),
            "photos": shots,
            "org_id": actor.organization_id,
        },
    )


@require_GET
@with_actor
def photo_view(request: HttpRequest, actor: Actor, photo_id: int) -> HttpResponse:
    """The image of a photo (`?size=thumbnail` for the small copy), for those who may see it (404 for
    everyone else)."""
    size = request.GET.get("size", "full")
    try:
        return photo_response(photos.get_photo(actor, photo_id), size)
    except Invalid as exc:
        return HttpResponseBadRequest(exc.message)


def photo_response(photo: SupplyPhoto, size: str = "full") -> HttpResponse:
    """The image with headers for a private, cacheable, not-sniffed answer (pages and API)."""
    response = HttpResponse(photos.image_of(photo, size), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = f'"{photo.sha256}"' if size == "full" else f'"{photo.sha256}-{size}"'
    return response


@require_POST
@with_actor
def decide_view(request: HttpRequest, actor: Actor, proposal_id: int, decision: str) -> HttpResponse:
    if decision not in ("accept", "decline"):
        raise Http404(decision)
    try:
        if decision == "accept":
            p = services.accept_proposal(actor, proposal_id)
            if p.status == rules.ACCEPTED:
                messages.success(
                    request,
                    _("Both parties accepted: agreement made, manifest draft %(t)s created.")
                    % {"t": p.agreement.transfer_id},
                )
            else:
                messages.success(request, _("Accepted; waiting for the other party."))
        else:
            services.decline_proposal(actor, proposal_id)
            messages.success(request, _("Proposal declined."))
    except DomainError as exc:
        messages.error(request, exc.message)
    if request.POST.get("back") == "detail":
        return redirect("exchange:proposal", proposal_id=proposal_id)
    return redirect("exchange:proposals")


@with_actor
def runs_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    runs = list(services.visible_runs(actor)[:50])
    # The month picker opens on the month of the latest run (the latest period with data), else this one.
    last = runs[0].period if runs else timezone.localdate()
    picker = period_form(
        request.POST if request.method == "POST" else None,
        kinds=("month",),
        initial=f"{last.year}-{last.month:02d}",
        required=True,
    )
    picker.fields["period"].label = _("Month")
    picker.fields["period"].widget.attrs.update({"id": "period", "required": True})
    if request.method == "POST" and not picker.is_valid():
        errors = field_errors(picker)
    elif request.method == "POST":
        try:
            run = services.run_matching(actor, period=picker.cleaned_data["period"], time_limit_s=60)
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(
                request,
                _("Matching done: %(n)d proposals, value %(v)s CNY (greedy %(g)s CNY), gap %(gap)s.")
                % {"n": run.proposals.count(), "v": run.value_cny, "g": run.greedy_value_cny, "gap": run.gap},
            )
            return redirect("exchange:run", match_run_id=run.pk)
    return render(
        request,
        "exchange/runs.html",
        {"runs": runs, "errors": errors, "post": request.POST, "picker": picker},
        status=422 if errors else 200,
    )


@with_actor
def run_view(request: HttpRequest, actor: Actor, match_run_id: int) -> HttpResponse:
    run = services.get_run(actor, match_run_id)
    proposals = list(services.run_proposals(actor, run).order_by("-value_cny")[:500])
    return render(
        request,
        "exchange/run.html",
        {"run": run, "proposals": proposals, "gain": run.value_cny - run.greedy_value_cny},
    )


@with_actor
def pools_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        try:
            run = services.plan_pool(
                actor,
                waste_code=request.POST.get("waste_code", ""),
                vehicle_capacity_t=request.POST.get("vehicle_capacity_t") or None,
                time_limit_s=int(request.POST.get("time_limit_s") or 5),
            )
        except DomainError as exc:
            errors = _errors(exc)
        except ValueError:
            errors = [{"field": "time_limit_s", "message": _("a whole number of seconds")}]
        else:
            return redirect("exchange:pool", pool_run_id=run.pk)
    return render(
        request,
        "exchange/pools.html",
        {"pools": list(services.visible_pools(actor)[:50]), "errors": errors, "post": request.POST},
        status=422 if errors else 200,
    )


@with_actor
def pool_view(request: HttpRequest, actor: Actor, pool_run_id: int) -> HttpResponse:
    if request.method == "POST":
        try:
            services.execute_pool(actor, pool_run_id)
            messages.success(request, _("Pooled run executed: one manifest draft per producer."))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("exchange:pool", pool_run_id=pool_run_id)
    run = services.get_pool(actor, pool_run_id)
    return render(
        request,
        "exchange/pool.html",
        {
            "run": run,
            "summary": services.pool_summary(run),
            "stops": services.pool_stops(actor, run),
            "solver_status": rules.SOLVER_STATUS_LABELS.get(
                (run.solver or {}).get("status", ""), (run.solver or {}).get("status", "")
            ),
            "own": actor.organization_id,
            "may_execute": actor.is_regulator and run.status == rules.POOL_PLANNED,
        },
    )
