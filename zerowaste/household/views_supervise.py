"""Supervision pages of household waste for regulators: the dashboard per street and community, an
area's page with its stations, the raw events of one day and place, the alarms and their resolution,
and the Excel downloads of the tables (`?format=xlsx`). Figures come from `supervision.py`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from zerowaste.core import formatting
from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Invalid, NotFound
from zerowaste.core.models import Area
from zerowaste.core.tabular import write_xlsx
from zerowaste.portal.views import with_actor

from . import alarms, figures, ops, rules, supervision
from .models import EducationVisit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _id(value: str | None, name: str) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise Invalid.field(name, _("must be a whole number"))
    return int(text)


def _period(request: HttpRequest, actor: Actor, area_ids: frozenset[int] | None) -> supervision.Period:
    return supervision.period_of(
        actor.zone_id,
        area_ids,
        day=(request.GET.get("day") or "")[:20],
        month=(request.GET.get("month") or "")[:20],
        today=timezone.localdate(),
    )


def _class_names(zone_id: int, codes: list[str] | tuple[str, ...]) -> dict[str, str]:
    return {c: formatting.code_name("household", c, zone_id) or c for c in codes}


def _xlsx(name: str, title: str, headers: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(write_xlsx(title, headers, rows), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _figure_headers(names: dict[str, str]) -> list[str]:
    return [
        _("Code"),
        _("Street or community"),
        _("Events"),
        *[f"{names[c]} (kg)" for c in supervision.MAIN_CLASSES],
        _("Total (kg)"),
        _("Residents"),
        _("Per capita (kg/person/day)"),
        _("Participation (%)"),
        _("Open alarms"),
        _("Subsidy estimate (CNY)"),
    ]


def _figure_row(f: supervision.AreaFigures) -> list[Any]:
    return [
        f.code,
        f.name,
        f.events,
        *[f.kg[c] for c in supervision.MAIN_CLASSES],
        f.kg["total"],
        f.residents,
        f.per_capita_kg,
        f.participation_pct,
        f.open_alarms,
        f.subsidy_cny,
    ]


def _groups_xlsx(
    zone_id: int, period: supervision.Period, groups: list[supervision.StreetGroup], total: Any
) -> HttpResponse:
    rows = []
    for group in groups:
        rows.append(_figure_row(group.street))
        rows += [_figure_row(c) for c in group.communities if c.area_id != group.street.area_id]
    rows.append(_figure_row(total))
    return _xlsx(
        f"household-{period.label}.xlsx",
        f"{_('Household waste')} {period.label}",
        _figure_headers(_class_names(zone_id, supervision.MAIN_CLASSES)),
        rows,
    )


def _overview(actor: Actor, period: supervision.Period, area: Area | None) -> dict[str, Any]:
    """What the dashboard and an area's page share: the street → community table, the chart, the
    mass balance of the figures' day."""
    area_ids = supervision.areas_in(actor, area)
    groups = supervision.street_groups(actor, period, area)
    days = supervision.days_with_data(actor.zone_id, period, area_ids)
    names = _class_names(actor.zone_id, supervision.MAIN_CLASSES)
    chart = supervision.daily_kg(actor.zone_id, period, area_ids)
    chart["labels"] = {
        **_class_names(actor.zone_id, chart["classes"]),
        "kg": formatting.unit_label("kg"),
    }
    if period.kind == "day":
        events_url = reverse("household:events")
        for group in groups:
            for community in group.communities:
                community.events_link = f"{events_url}?area={community.area_id}&day={period.label}"
    lines = supervision.balance_lines(actor, period.day, area_ids)
    for line in lines:
        line["class_name"] = formatting.format_code("household", line["household_class"], actor.zone_id)
    return {
        "period": period,
        "groups": groups,
        "total": supervision.totals(actor, period, groups, days, area is None and area_ids is None),
        "days": days,
        "class_names": [names[c] for c in supervision.MAIN_CLASSES],
        "main_classes": supervision.MAIN_CLASSES,
        "chart": chart,
        "balance": lines,
        "balance_open": sum(1 for line in lines if not line["closes"]),
        "kitchen_rate": rules.SUBSIDY_KITCHEN_CNY_PER_T,
        "reduction_rate": rules.SUBSIDY_REDUCTION_CNY_PER_T,
    }


def _percent(rate: Decimal | None) -> str:
    if rate is None:
        return "—"
    return f"{formatting.format_figure((Decimal(100) * rate).quantize(Decimal('0.1')))} %"


def _key_figures(actor: Actor, period: supervision.Period, area: Area | None) -> list[tuple[str, str]]:
    """The area's figures behind indicators 6, 7, 12, 13, 20 and 21 over the period, from the roll-ups
    (household.figures); a street regulator's dashboard shows none (its street's page does)."""
    if area is None and actor.jurisdiction_area_ids is not None and not actor.is_system:
        return []
    f = figures.area_figures(actor.zone_id, area.pk if area else None, period.start, period.end)
    if not f.generated_total_kg:
        return []
    rows = [
        (_("Residents"), formatting.format_count(f.residents)),
        (_("Households registered"), formatting.format_count(f.households)),
        (_("Per-capita daily generation"), formatting.format_quantity(f.per_capita_kg_day, "kg/person/day")),
        (_("Sorted-collection coverage of communities"), _percent(f.sorted_coverage)),
        (_("Recovery rate (kitchen waste and recyclables)"), _percent(f.recycling_rate)),
        (_("Kitchen waste recovered"), _percent(f.kitchen_recovery_rate)),
        (_("Hazardous household waste collected in communities"), _percent(f.hazardous_coverage)),
        (_("To incineration"), formatting.format_quantity(f.incinerated_kg, "kg")),
        (_("To landfill"), formatting.format_quantity(f.landfill_kg, "kg")),
    ]
    if f.quota is not None:
        verdict = _("within the quota") if f.quota.within else _("over the quota")
        rows.append(
            (
                _("Source total-control quota for the period"),
                f"{formatting.format_quantity(f.quota.generated_t, 't')} / "
                f"{formatting.format_quantity(f.quota.period_quota_t, 't')} · {verdict}",
            )
        )
    return rows


@with_actor
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Per street and community: events, kilograms per class, per-capita generation, participation,
    open alarms and the subsidy estimate; the month's daily kilograms; the day's mass balance."""
    area_ids = supervision.scope(actor)
    period = _period(request, actor, area_ids)
    context = _overview(actor, period, None)
    if request.GET.get("format") == "xlsx":
        return _groups_xlsx(actor.zone_id, period, context["groups"], context["total"])
    context["key_figures"] = _key_figures(actor, period, None)
    return render(request, "household/dashboard.html", {**context, "area": None})


@with_actor
def area_view(request: HttpRequest, actor: Actor, area_id: int) -> HttpResponse:
    """A street's or community's page: the same figures for the area, its stations, its open alarms."""
    area = supervision.get_area(actor, area_id)
    area_ids = supervision.areas_in(actor, area)
    period = _period(request, actor, area_ids)
    context = _overview(actor, period, area)
    if request.GET.get("format") == "xlsx":
        return _groups_xlsx(actor.zone_id, period, context["groups"], context["total"])
    open_alarms = supervision.alarm_list(actor, state="open", area=area)
    return render(
        request,
        "household/area.html",
        {
            **context,
            "area": area,
            "key_figures": _key_figures(actor, period, area),
            "stations": supervision.stations_of(actor, area, period),
            "alarms": [_alarm_item(a) for a in open_alarms[:50]],
            "alarm_count": open_alarms.count(),
        },
    )


@with_actor
def events_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The raw hand-over events of ONE day at one area's stations (or one station), paginated."""
    supervision.require_supervisor(actor)
    area_id = _id(request.GET.get("area"), "area")
    station_id = _id(request.GET.get("station"), "station")
    household_class = (request.GET.get("class") or "").strip()[:40]
    area = supervision.get_area(actor, area_id) if area_id is not None else None
    area_ids = supervision.areas_in(actor, area)
    day_text = (request.GET.get("day") or "")[:20]
    day = (
        supervision.parse_day(day_text)
        if day_text.strip()
        else (supervision.latest_day(actor.zone_id, area_ids) or timezone.localdate())
    )
    page = None
    if area is not None:
        events = supervision.events_of_day(
            actor, day=day, area=area, station_id=station_id, household_class=household_class
        )
        page = Paginator(events, supervision.EVENTS_PER_PAGE).get_page(request.GET.get("page"))
        for event in page.object_list:
            event.class_name = formatting.format_code("household", event.household_class, actor.zone_id)  # type: ignore[attr-defined]
            event.node_label = str(dict(rules.NODE_CHOICES).get(event.node, ""))  # type: ignore[attr-defined]
            event.side_label = supervision.side_label(event.side)  # type: ignore[attr-defined]
    communities = supervision._in_areas(
        Area.objects.filter(zone_id=actor.zone_id, kind=Area.Kind.COMMUNITY), supervision.scope(actor), "pk"
    ).order_by("code")
    query = f"area={area.pk if area else ''}&day={day.isoformat()}"
    if station_id:
        query += f"&station={station_id}"
    if household_class:
        query += f"&class={household_class}"
    return render(
        request,
        "household/events.html",
        {
            "area": area,
            "day": day,
            "station_id": station_id,
            "household_class": household_class,
            "class_name": formatting.format_code("household", household_class, actor.zone_id)
            if household_class
            else "",
            "page": page,
            "communities": communities,
            "query": query,
        },
    )


def _alarm_item(alarm: Any) -> dict[str, Any]:
    row = alarms.alarm_row(alarm)
    row["figures"] = supervision.figures_in_words(alarm)
    row["state_label"] = supervision.alarm_state_label(alarm)
    row["area"] = alarm.area.name if alarm.area_id else None
    row["escalated_to"] = alarm.escalated_to.name if alarm.escalated_to_id else None
    row["overdue"] = alarm.resolved_at is None and alarm.deadline < timezone.localdate()
    return row


@with_actor
def alarms_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The alarms the actor sees: filters kind, state, area; open ones first, by deadline."""
    kind = (request.GET.get("kind") or "").strip()[:40]
    state = (request.GET.get("state") or "").strip()[:20]
    area_id = _id(request.GET.get("area"), "area")
    area = None
    if area_id is not None:
        area = Area.objects.filter(zone_id=actor.zone_id, pk=area_id).first()
        if area is None:
            raise NotFound(_("no such street or community"))
    found = supervision.alarm_list(actor, kind=kind, state=state, area=area)
    if request.GET.get("format") == "xlsx":
        headers = [
            _("Alarm"),
            _("Kind"),
            _("State"),
            _("Street or community"),
            _("Day"),
            _("Figures"),
            _("Owner"),
            pgettext("alarm", "Deadline"),
            _("Escalated to"),
            _("Resolved at"),
            _("Resolution"),
        ]
        rows = []
        for a in found[:10000]:
            r = _alarm_item(a)
            rows.append(
                [
                    r["id"],
                    r["kind_label"],
                    r["state_label"],
                    r["area"],
                    r["day"],
                    r["figures"],
                    r["owner"],
                    r["deadline"],
                    r["escalated_to"],
                    timezone.localtime(r["resolved_at"]).strftime("%Y-%m-%d %H:%M")
                    if r["resolved_at"]
                    else None,
                    r["resolution"],
                ]
            )
        return _xlsx("household-alarms.xlsx", _("Household alarms"), headers, rows)
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    visible = supervision.scope(actor) if supervision.may_supervise(actor) else frozenset()
    areas = supervision._in_areas(
        Area.objects.filter(zone_id=actor.zone_id, kind__in=[Area.Kind.STREET, Area.Kind.COMMUNITY]),
        visible,
        "pk",
    ).order_by("kind", "code")
    query = "&".join(f"{k}={v}" for k, v in (("kind", kind), ("state", state), ("area", area_id or "")) if v)
    return render(
        request,
        "household/alarms.html",
        {
            "page": page,
            "rows": [_alarm_item(a) for a in page.object_list],
            "kind": kind,
            "state": state,
            "area_id": area_id,
            "kinds": rules.ALARM_KIND_CHOICES,
            "states": supervision.alarm_state_choices(),
            "areas": areas,
            "query": query,
        },
    )


@require_http_methods(["GET", "POST"])
@with_actor
def alarm_view(request: HttpRequest, actor: Actor, alarm_id: int) -> HttpResponse:
    """An alarm: its figures in words, owner, deadline, escalation; its owner resolves it (POST)."""
    alarm = supervision.get_alarm(actor, alarm_id)
    errors: list[dict[str, Any]] = []
    status = 200
    visit_form = alarm.kind == rules.ALARM_QUALITY and alarm.source_id is not None
    if request.method == "POST":
        try:
            if visit_form:  # a household's quality alarm is resolved by an education visit (ops17)
                ops.record_education_visit(
                    actor,
                    alarm.pk,
                    visited_on=supervision.parse_day(
                        (request.POST.get("visited_on") or "")[:20], "visited_on"
                    ),
                    visited_by=(request.POST.get("visited_by") or "")[:200],
                    note=(request.POST.get("note") or "")[: ops.MAX_NOTE + 1],
                )
            else:
                alarms.resolve(actor, alarm.pk, request.POST.get("resolution", ""))
        except NotFound:
            raise
        except DomainError as exc:
            errors = exc.errors or [{"field": "", "message": exc.message}]
            status = 422 if isinstance(exc, Invalid) else 403
        else:
            messages.success(request, _("The alarm is resolved."))
            return redirect("household:alarm-detail", alarm_id=alarm.pk)
    may_resolve = alarm.resolved_at is None and (actor.is_system or actor.member_role in alarms.WRITE_ROLES)
    row = _alarm_item(alarm)
    day: date | None = alarm.day
    events_link = None
    if day is not None and alarm.area_id is not None and supervision.may_supervise(actor):
        events_link = f"area={alarm.area_id}&day={day.isoformat()}" + (
            f"&station={alarm.station_id}" if alarm.station_id else ""
        )
    return render(
        request,
        "household/alarm.html",
        {
            "alarm": alarm,
            "row": row,
            "may_resolve": may_resolve,
            "errors": errors,
            "resolution": request.POST.get("resolution", "") if request.method == "POST" else "",
            "visit_form": visit_form,
            "visit": EducationVisit.objects.filter(zone_id=actor.zone_id, alarm=alarm).first(),
            "visit_values": {
                "visited_on": (request.POST.get("visited_on") or "")[:20]
                if request.method == "POST"
                else timezone.localdate().isoformat(),
                "visited_by": (request.POST.get("visited_by") or "")[:200],
                "note": (request.POST.get("note") or "")[:2001],
            },
            "events_link": events_link,
            "class_name": formatting.format_code("household", alarm.household_class, actor.zone_id)
            if alarm.household_class
            else "",
        },
        status=status,
    )
