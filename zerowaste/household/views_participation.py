"""The participation page (居民参与): per community the households with at least one drop in a month,
from the monthly roll-up; a zone regulator recomputes the month from the events (POST)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Invalid
from zerowaste.portal.views import with_actor

from . import figures, participation, supervision


def _month(request: HttpRequest, actor: Actor) -> date:
    text = (request.POST.get("month") or request.GET.get("month") or "")[:20]
    if text.strip():
        return participation.parse_month(text)
    latest = figures.latest_month(actor.zone_id)
    return latest[0] if latest else timezone.localdate().replace(day=1)


def may_refresh(actor: Actor) -> bool:
    return actor.is_system or (
        actor.is_regulator and actor.jurisdiction_area_ids is None and actor.member_role in ("admin", "clerk")
    )


@require_http_methods(["GET", "POST"])
@with_actor
def participation_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    supervision.require_supervisor(actor)
    month = _month(request, actor)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            done = participation.refresh_for(actor, month)
        except DomainError as exc:
            errors = [exc.message]
            status = 422 if isinstance(exc, Invalid) else 403
        else:
            messages.success(
                request,
                _("Recomputed from the hand-over events: %(n)s households in %(c)s communities.")
                % {"n": done.households, "c": done.communities},
            )
            return redirect(reverse("household:participation") + f"?month={month:%Y-%m}")
    rows = participation.month_rows(actor, month)
    households = sum(r.households for r in rows)
    participating = sum(r.participating for r in rows)
    return render(
        request,
        "household/participation.html",
        {
            "month": month,
            "rows": rows,
            "households": households,
            "participating": participating,
            "rate": participation.rate_pct(participating, households),
            "may_refresh": may_refresh(actor),
            "errors": errors,
        },
        status=status,
    )
