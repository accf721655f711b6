"""Pages of the household operations (ops17):

- `/household/lists/`: the monthly red/black lists, regulators, the latest compiled month unless
  `?month=YYYY-MM` names one (stored lists only, compiled by the scheduler or the CLI); each
  black-listed household's education visit (入户宣传) or its open quality alarm.
- `/household/routes/?vehicle=&day=`: a vehicle's planned route of a day and whether it went off it;
  its carrier and the regulators over it set the route.
- `/household/site-roles/` and `/household/quotas/`: the zone regulator's plants' roles and source
  total-control quotas (household.settings_ops)."""

from __future__ import annotations

import re
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Invalid
from zerowaste.portal.views import with_actor

from . import ops, rules, settings_ops, supervision


@with_actor
def lists_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    latest = ops.latest_month(actor)
    month = ops.month_of(request.GET["month"]) if request.GET.get("month") else latest
    rows = ops.lists_for(actor, month) if month else []
    status = ops.visit_status(actor.zone_id, [r["source_id"] for r in rows if r["list"] == "black"])
    for r in rows:
        r["visit_status"] = status.get(r["source_id"])
    communities = [
        {
            "code": code,
            "name": items[0]["community_name"],
            "red": [r for r in items if r["list"] == "red"],
            "black": [r for r in items if r["list"] == "black"],
        }
        for code, group in groupby(rows, key=lambda r: r["community"])
        for items in [list(group)]
    ]
    return render(request, "household/lists.html", {"month": month, "communities": communities})


# --- Routes, plants' roles, source quotas (ops17 pages) -------------------------------------------------


def _errors(exc: DomainError) -> list[dict[str, Any]]:
    return exc.errors or [{"field": "", "message": exc.message}]


def _vehicle_id(text: str | None) -> int | None:
    value = (text or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise Invalid.field("vehicle", _("must be a whole number"))
    return int(value)


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,，、;；]+", text or "") if c][:200]


@require_http_methods(["GET", "POST"])
@with_actor
def routes_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """A vehicle's planned route of a day, where it loaded and whether it went off route; its carrier
    (and a regulator over it) sets the route. Without a vehicle: the day's vehicles with routes."""
    vehicles = list(ops.visible_vehicles(actor).order_by("plate")[:1000])
    data = request.POST if request.method == "POST" else request.GET
    vehicle_id = _vehicle_id(data.get("vehicle"))
    day_text = (data.get("day") or "")[:20].strip()
    day = supervision.parse_day(day_text) if day_text else timezone.localdate()
    errors: list[dict[str, Any]] = []
    stations_text = ""
    status = 200
    if request.method == "POST":
        stations_text = (request.POST.get("stations") or "")[:5000]
        try:
            if vehicle_id is None:
                raise Invalid.field("vehicle", _("choose a vehicle"))
            ids = ops.station_ids_of(actor.zone_id, _codes(stations_text))
            ops.plan_route(actor, vehicle_id, day, ids)
        except Invalid as exc:
            errors, status = _errors(exc), 422
        else:
            messages.success(request, _("The route is saved."))
            return redirect(f"{reverse('household:routes')}?vehicle={vehicle_id}&day={day.isoformat()}")
    route = None
    if vehicle_id is not None:
        try:
            route = ops.route_day(actor, vehicle_id, day)
        except Invalid:
            if not errors:  # a GET naming a vehicle the actor does not see: the 400 page
                raise
    if route is not None and not stations_text:
        stations_text = "\n".join(s.station.code for s in route.stops)
    for a in route.alarms if route else []:
        a.state_label = supervision.alarm_state_label(a)
        a.words = supervision.figures_in_words(a)
    return render(
        request,
        "household/routes.html",
        {
            "vehicles": vehicles,
            "vehicle_id": vehicle_id,
            "day": day,
            "route": route,
            "day_routes": ops.routes_of_day(actor, day) if route is None else [],
            "may_plan": ops.may_plan_routes(actor),
            "stations_text": stations_text,
            "errors": errors,
        },
        status=status,
    )


class SiteRoleForm(forms.Form):
    site = forms.TypedChoiceField(label=gettext_lazy("Site"), coerce=int)
    role = forms.ChoiceField(label=gettext_lazy("Role in household waste"), choices=rules.SITE_ROLE_CHOICES)

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [  # type: ignore[attr-defined]
            (s.pk, f"{s.organization.name} · {s.name}") for s in settings_ops.candidate_sites(actor)[:2000]
        ]


def _add_errors(form: forms.Form, exc: Invalid) -> None:
    for error in _errors(exc):
        name = str(error.get("field") or "")
        form.add_error(name if name in form.fields else None, str(error.get("message") or exc.message))


@require_http_methods(["GET", "POST"])
@with_actor
def site_roles_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """What each plant does with the household waste it receives (zone regulators)."""
    settings_ops.require_zone_regulator(actor)
    may_write = settings_ops.may_write(actor)
    form = SiteRoleForm(actor, request.POST or None)
    status = 200
    if request.method == "POST":
        if not may_write:
            settings_ops.set_site_role(actor, None, "")  # raises the refusal in the service's words
        if form.is_valid():
            try:
                settings_ops.set_site_role(actor, form.cleaned_data["site"], form.cleaned_data["role"])
            except Invalid as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("The site's role is saved."))
                return redirect("household:site-roles")
        status = 422
    return render(
        request,
        "household/site_roles.html",
        {"rows": settings_ops.site_roles(actor), "form": form, "may_write": may_write},
        status=status,
    )


class QuotaForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("Street or community"), required=False)
    year = forms.IntegerField(
        label=gettext_lazy("Year"), min_value=settings_ops.MIN_YEAR, max_value=settings_ops.MAX_YEAR
    )
    quota_t = forms.CharField(label=gettext_lazy("Quota (t)"), max_length=24)
    source = forms.CharField(
        label=gettext_lazy("Document it comes from"), max_length=settings_ops.MAX_SOURCE, required=False
    )

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", _("the whole zone"))] + [  # type: ignore[attr-defined]
            (a.code, a.name) for a in settings_ops.quota_areas(actor)
        ]


@require_http_methods(["GET", "POST"])
@with_actor
def quotas_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The annual source total-control quotas of the zone, its streets and communities (zone regulators)."""
    settings_ops.require_zone_regulator(actor)
    may_write = settings_ops.may_write(actor)
    form = QuotaForm(actor, request.POST or None, initial={"year": timezone.localdate().year})
    status = 200
    if request.method == "POST":
        if not may_write:
            settings_ops.set_quota(actor, area_code=None, year=None, quota_t=None)  # the refusal
        if form.is_valid():
            try:
                settings_ops.set_quota(
                    actor,
                    area_code=form.cleaned_data["area"],
                    year=form.cleaned_data["year"],
                    quota_t=form.cleaned_data["quota_t"],
                    source=form.cleaned_data["source"],
                )
            except Invalid as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("The quota is saved."))
                return redirect("household:quotas")
        status = 422
    return render(
        request,
        "household/quotas.html",
        {"rows": settings_ops.quotas(actor), "form": form, "may_write": may_write},
        status=status,
    )
