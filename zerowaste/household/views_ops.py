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
from collections.abc import Callable
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
from django.views.decorators.http import require_http_methods, require_POST

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Invalid, NotFound
from zerowaste.core.forms import apply_errors
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
        kwargs.setdefault("initial", {"year": timezone.localdate().year})
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", _("the whole zone"))] + [  # type: ignore[attr-defined]
            (a.code, a.name) for a in settings_ops.quota_areas(actor)
        ]


def _settings_page(
    request: HttpRequest,
    actor: Actor,
    make_form: Callable[..., forms.Form],
    save: Callable[[dict[str, Any]], object],
    rows: Callable[[Actor], list[dict[str, Any]]],
    template: str,
    saved: str,
) -> HttpResponse:
    """A zone setting's page (the plants' roles, the quotas): its rows and, for those who may change
    it, the form; a valid POST saves and comes back to the page, a bad one shows the faults by field."""
    settings_ops.require_zone_regulator(actor)
    if request.method == "POST":
        settings_ops.require_writer(actor)  # refused before the input is read
    form = make_form(actor, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                save(form.cleaned_data)
            except Invalid as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, saved)
                return redirect(request.path)
        status = 422
    context = {"rows": rows(actor), "form": form, "may_write": settings_ops.may_write(actor)}
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@with_actor
def site_roles_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """What each plant does with the household waste it receives (zone regulators)."""
    return _settings_page(
        request,
        actor,
        SiteRoleForm,
        lambda values: settings_ops.set_site_role(actor, values["site"], values["role"]),
        settings_ops.site_roles,
        "household/site_roles.html",
        _("The site's role is saved."),
    )


@require_http_methods(["GET", "POST"])
@with_actor
def quotas_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The annual source total-control quotas of the zone, its streets and communities (zone regulators)."""
    return _settings_page(
        request,
        actor,
        QuotaForm,
        lambda values: settings_ops.set_quota(
            actor,
            area_code=values["area"],
            year=values["year"],
            quota_t=values["quota_t"],
            source=values["source"],
        ),
        settings_ops.quotas,
        "household/quotas.html",
        _("The quota is saved."),
    )


def _remove(request: HttpRequest, remove: Callable[[], None], back: str, done: str) -> HttpResponse:
    try:
        remove()
    except NotFound as exc:  # removed already (a double click, another regulator): said on the list
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(back)


@require_POST
@with_actor
def site_role_remove(request: HttpRequest, actor: Actor, site_id: int) -> HttpResponse:
    settings_ops.require_writer(actor)  # the page refuses (403) before it looks for the row
    return _remove(
        request,
        lambda: settings_ops.remove_site_role(actor, site_id),
        reverse("household:site-roles"),
        _("The site's role is removed."),
    )


@require_POST
@with_actor
def quota_remove(request: HttpRequest, actor: Actor, quota_id: int) -> HttpResponse:
    settings_ops.require_writer(actor)  # the page refuses (403) before it looks for the row
    return _remove(
        request,
        lambda: settings_ops.remove_quota(actor, quota_id),
        reverse("household:quotas"),
        _("The quota is removed."),
    )
