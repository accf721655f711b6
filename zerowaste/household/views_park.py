"""Pages of a park's "1+4" regime: the day (each station's log checklist with one-tap buttons, the
status in words, enterprises' registrations and discharges) and the month's compliance. Phone-sized:
station staff record a cleaning, a disinfection or a round where they stand."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError
from zerowaste.core.formatting import format_quantity
from zerowaste.portal.periods import period_form
from zerowaste.portal.views import with_actor

from . import park, park_rules

# The one-tap buttons of a station's checklist: every log a requirement counts.
TAP_KINDS = frozenset(r.log_kind for r in park_rules.REQUIREMENTS)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _park_context(actor: Actor, code: str | None) -> dict[str, Any]:
    return {"parks": list(park.visible_parks(actor)), "park_code": code}


@with_actor
def day_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    code = request.GET.get("park") or None
    parks = list(park.visible_parks(actor))
    if not parks:
        return render(request, "household/park/none.html", {})
    area = park.park_of(actor, code)
    on = park.today(actor.zone_id)
    asked = _day(request.GET.get("day"))
    day = asked if asked and asked <= on else (park.latest_day(actor, area) or on)
    statuses = park.day_status(actor, area, day)
    may_write = park.may_write(actor, area) and day == on
    kind_labels = dict(park_rules.LOG_KIND_CHOICES)
    for status in statuses:
        status.kind_label = dict(park_rules.STATION_KIND_CHOICES)[status.station.kind]  # type: ignore[attr-defined]
        for row in status.rows:
            row["tap"] = may_write and row["log_kind"] in TAP_KINDS
        for log in status.logs:
            log.kind_label = kind_labels[log.kind]  # type: ignore[attr-defined]
    return render(
        request,
        "household/park/day.html",
        {
            "parks": parks,
            "park": area,
            "day": day,
            "today": on,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1) if day < on else None,
            "words": park.status_words(statuses, day, on),
            "statuses": statuses,
            "all_met": bool(statuses) and all(s.met for s in statuses),
            "may_write": may_write,
            "discharges": park.discharges(actor, area, day, day),
            "enterprises": park.enterprises(actor, area) if may_write else [],
            "classes": park_rules.CLASS_CHOICES,
            "alarms": list(park.park_alarms(actor, area).filter(resolved_at__isnull=True)[:20]),
        },
    )


@require_POST
@with_actor
def log_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """One tap: record a log at a station now, then back to the day."""
    station_id = request.POST.get("station", "")
    back = reverse("household:park")
    try:
        if not station_id.isdigit():
            raise DomainError(_("station: choose a station"))
        log = park.record_log(
            actor,
            int(station_id),
            kind=request.POST.get("kind", ""),
            slot=request.POST.get("slot", ""),
            notes=request.POST.get("notes", ""),
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(kind)s recorded at %(station)s, %(time)s.")
            % {
                "kind": dict(park_rules.LOG_KIND_CHOICES)[log.kind],
                "station": log.station.name,
                "time": log.at.astimezone(park.zone_tz(actor.zone_id)).strftime("%H:%M"),
            },
        )
        back += "?" + urlencode({"park": log.station.park.code})
    return redirect(back)


@require_POST
@with_actor
def discharge_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Record what an enterprise brought today, at the station of its class."""
    back = reverse("household:park")
    enterprise_id = request.POST.get("enterprise", "")
    household_class = request.POST.get("household_class", "")
    try:
        if not enterprise_id.isdigit():
            raise DomainError(_("enterprise: choose an enterprise"))
        station = park.station_for_class(actor, int(enterprise_id), household_class)
        discharge = park.record_discharge(
            actor,
            int(enterprise_id),
            station_id=station.pk,
            household_class=household_class,
            quantity_kg=request.POST.get("quantity_kg", "").strip(),
            day=park.today(actor.zone_id),
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(kg)s of %(cls)s from %(enterprise)s recorded at %(station)s.")
            % {
                "kg": format_quantity(discharge.quantity_kg, "kg"),
                "cls": dict(park_rules.CLASS_CHOICES)[discharge.household_class],
                "enterprise": discharge.enterprise.organization.name,
                "station": station.name,
            },
        )
        back += "?" + urlencode({"park": station.park.code})
    return redirect(back)


@with_actor
def month_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    parks = list(park.visible_parks(actor))
    if not parks:
        return render(request, "household/park/none.html", {})
    area = park.park_of(actor, request.GET.get("park") or None)
    latest = park.latest_day(actor, area) or park.today(actor.zone_id)
    picker = period_form(request.GET, kinds=("month",))
    picker.fields["period"].label = _("Month")
    if picker.is_bound and picker.is_valid() and picker.cleaned_data["period"]:
        year, month = (int(x) for x in picker.cleaned_data["period"].split("-"))
    else:
        year, month = latest.year, latest.month
    picker.initial["period"] = f"{year}-{month:02d}"
    rows = park.month_compliance(actor, area, year, month)
    judged = [d for r in rows for d in r["days"] if d["missed"] is not None]
    first = date(year, month, 1)
    last = rows[0]["days"][-1]["day"] if rows else first
    return render(
        request,
        "household/park/month.html",
        {
            "parks": parks,
            "park": area,
            "picker": picker,
            "year": year,
            "month": month,
            "rows": rows,
            "days": [d["day"] for d in rows[0]["days"]] if rows else [],
            "complete": sum(1 for d in judged if not d["missed"]),
            "judged": len(judged),
            "discharges": park.discharges(actor, area, first, last),
        },
    )
