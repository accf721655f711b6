"""Pages of a park's "1+4" regime: the day (each station's log checklist with one-tap buttons, the
status in words, enterprises' registrations and discharges) and the month's compliance. Phone-sized:
station staff record a cleaning, a disinfection or a round where they stand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Invalid
from zerowaste.core.formatting import format_count, format_quantity
from zerowaste.core.forms import apply_errors
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
    result_labels = dict(park_rules.INSPECTION_RESULT_CHOICES)
    for status in statuses:
        status.kind_label = dict(park_rules.STATION_KIND_CHOICES)[status.station.kind]  # type: ignore[attr-defined]
        for row in status.rows:
            row["tap"] = may_write and row["log_kind"] in TAP_KINDS
        for log in status.logs:
            log.kind_label = kind_labels[log.kind]  # type: ignore[attr-defined]
            log.result_label = result_labels.get(log.result, "")  # type: ignore[attr-defined]
        inspections = [log.result for log in status.logs if log.kind == park_rules.LOG_INSPECTION]
        status.inspections = (  # type: ignore[attr-defined]
            {"n": len(inspections), **park_rules.inspection_counts(inspections)} if inspections else None
        )
        status.inspects = (  # type: ignore[attr-defined]
            may_write and status.station.kind == park_rules.REINSPECTION
        )
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
            "inspection_results": park_rules.INSPECTION_RESULT_CHOICES,
        },
    )


class LogForm(forms.Form):
    """A one-tap log, or a re-inspection with its result (the re-inspection station's keeper)."""

    station = forms.IntegerField(label=gettext_lazy("Station"), min_value=1, max_value=2**62)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=park_rules.LOG_KIND_CHOICES)
    slot = forms.ChoiceField(
        label=gettext_lazy("Round"),
        choices=[("", "—"), *((s, s) for s in park_rules.ROUND_SLOTS)],
        required=False,
    )
    result = forms.ChoiceField(
        label=gettext_lazy("Re-inspection result"),
        choices=park_rules.INSPECTION_RESULT_CHOICES,
        widget=forms.RadioSelect,
        required=False,
    )
    quantity_kg = forms.DecimalField(
        label=gettext_lazy("Quantity (kg)"),
        min_value=Decimal("0.001"),
        max_value=park_rules.MAX_KG,
        max_digits=9,
        decimal_places=3,
        required=False,
    )
    notes = forms.CharField(label=gettext_lazy("Notes"), max_length=park.MAX_NOTES, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == park_rules.LOG_INSPECTION and not data.get("result"):
            self.add_error("result", _("choose the re-inspection's result"))
        return data


def _form_errors(form: forms.Form) -> list[str]:
    """Each fault as `label: message` (the field named in the reader's words)."""
    found = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = f"{field.label}: " if field is not None and field.label else ""
        found += [f"{label}{e}" for e in errors]
    return found


@require_POST
@with_actor
def log_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """One tap (or the re-inspection form): record a log at a station now, then back to the day."""
    back = reverse("household:park")
    form = LogForm(request.POST)
    if not form.is_valid():
        for error in _form_errors(form):
            messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    try:
        log = park.record_log(
            actor,
            data["station"],
            kind=data["kind"],
            slot=data["slot"],
            notes=data["notes"],
            quantity_kg=data["quantity_kg"],
            result=data["result"],
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
    else:
        kind = str(dict(park_rules.LOG_KIND_CHOICES)[log.kind])
        if log.result:
            kind = f"{kind} ({dict(park_rules.INSPECTION_RESULT_CHOICES)[log.result]})"
        messages.success(
            request,
            _("%(kind)s recorded at %(station)s, %(time)s.")
            % {
                "kind": kind,
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


# --- Registration: enterprises and stations --------------------------------------------------------------


def _kg_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal("0.001"),
        max_value=park_rules.MAX_KG,
        max_digits=9,
        decimal_places=3,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )


class EnterpriseForm(forms.Form):
    """An enterprise's registration with the park's discharge system: its classes, the kg it expects to
    discharge a day per class, whom to call. Registering an enterprise again updates it."""

    organization = forms.TypedChoiceField(label=gettext_lazy("Enterprise"), coerce=int)
    waste_classes = forms.MultipleChoiceField(
        label=gettext_lazy("Classes it discharges"),
        choices=park_rules.CLASS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    contact_name = forms.CharField(label=gettext_lazy("Contact person"), max_length=100, required=False)
    contact_phone = forms.CharField(label=gettext_lazy("Contact phone"), max_length=40, required=False)

    def __init__(self, organizations: list[Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = [(o.pk, o.name) for o in organizations]  # type: ignore[attr-defined]
        for code, label in park_rules.CLASS_CHOICES:
            self.fields[f"expected_{code}"] = _kg_field(_("%(cls)s expected a day (kg)") % {"cls": label})
        self.order_fields(["organization", "waste_classes", *(f"expected_{c}" for c in park_rules.CLASSES)])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        classes = set(data.get("waste_classes") or ())
        for code, _label in park_rules.CLASS_CHOICES:
            if data.get(f"expected_{code}") is not None and "waste_classes" in data and code not in classes:
                self.add_error(f"expected_{code}", _("tick the class to expect a quantity of it"))
        return data

    def expected_kg(self) -> dict[str, Decimal]:
        return {
            code: self.cleaned_data[f"expected_{code}"]
            for code, _label in park_rules.CLASS_CHOICES
            if self.cleaned_data.get(f"expected_{code}") is not None
        }


def _model_label(code: str) -> str:
    model = park_rules.COMPACTOR_MODELS[code]
    return f"{code} · " + _("%(c)s m³, compression %(r)s") % {
        "c": format_count(model.capacity_m3),
        "r": model.ratio,
    }


class StationForm(forms.Form):
    """One of the park's four stations; a compactor station names its model (which sets its capacity)."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=park_rules.STATION_KIND_CHOICES)
    code = forms.CharField(label=gettext_lazy("Code"), max_length=64)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    compactor_model = forms.ChoiceField(label=gettext_lazy("Compactor model"), required=False)
    in_service_from = forms.DateField(
        label=gettext_lazy("Logs owed from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("default today; at most 35 days ago"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compactor_model"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((code, _model_label(code)) for code in park_rules.COMPACTOR_MODELS),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, model = data.get("kind"), data.get("compactor_model")
        if kind == park_rules.COMPACTOR and not model:
            self.add_error("compactor_model", _("a compactor station names its compactor model"))
        elif kind and kind != park_rules.COMPACTOR and model:
            self.add_error("compactor_model", _("only a compactor station has a compactor model"))
        return data


# Service fields that have another name (or several inputs) on the forms.
FORM_FIELD_OF = {"organization_id": "organization", "expected_kg": None}


def _registration_park(request: HttpRequest, actor: Actor) -> Any:
    """The park the page names (GET ?park= or the posted park), None when the actor sees no park; a
    POST by anyone but the park's operator is refused before its input is read."""
    if not park.visible_parks(actor).exists():
        return None
    area = park.park_of(actor, request.POST.get("park") or request.GET.get("park") or None)
    if request.method == "POST":
        park.require_write(actor, area)
    return area


def _registration_page(
    request: HttpRequest, actor: Actor, area: Any, template: str, context: dict[str, Any]
) -> HttpResponse:
    """A registration page: its park picker and sub-navigation, the form for the operator only, 422
    when a posted form comes back with its faults."""
    context |= {
        "parks": list(park.visible_parks(actor)),
        "park": area,
        "may_write": park.may_write(actor, area),
    }
    return render(request, template, context, status=422 if request.method == "POST" else 200)


def _back(name: str, area: Any) -> str:
    return reverse(name) + "?" + urlencode({"park": area.code})


@require_http_methods(["GET", "POST"])
@with_actor
def enterprises_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The enterprises registered with the park's discharge system and, for its operator, the form to
    register one (or update a registration: the same enterprise again)."""
    area = _registration_park(request, actor)
    if area is None:
        return render(request, "household/park/none.html", {})
    organizations = park.park_organizations(actor, area)
    registered = park.enterprises(actor, area)
    initial: dict[str, Any] = {}
    wanted = request.GET.get("organization", "")
    for e in registered:
        if wanted.isdigit() and e.organization_id == int(wanted):
            initial = {
                "organization": e.organization_id,
                "waste_classes": e.waste_classes.split(","),
                "contact_name": e.contact_name,
                "contact_phone": e.contact_phone,
                **{f"expected_{c}": kg for c, kg in e.expected_kg.items()},
            }
    form = EnterpriseForm(organizations, request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            enterprise = park.register_enterprise(
                actor,
                area.code,
                organization_id=form.cleaned_data["organization"],
                waste_classes=form.cleaned_data["waste_classes"],
                expected_kg=form.expected_kg(),
                contact_name=form.cleaned_data["contact_name"],
                contact_phone=form.cleaned_data["contact_phone"],
            )
        except Invalid as exc:
            apply_errors(form, exc, FORM_FIELD_OF)
        else:
            messages.success(
                request,
                _("%(name)s registered with the discharge system.") % {"name": enterprise.organization.name},
            )
            return redirect(_back("household:park-enterprises", area))
    class_labels = dict(park_rules.CLASS_CHOICES)
    rows = [
        {
            "enterprise": e,
            "classes": [
                {"label": class_labels.get(c, c), "expected_kg": e.expected_kg.get(c)}
                for c in e.waste_classes.split(",")
            ],
        }
        for e in registered
    ]
    return _registration_page(
        request,
        actor,
        area,
        "household/park/enterprises.html",
        {
            "rows": rows,
            "form": form,
            "unregistered": len({o.pk for o in organizations} - {e.organization_id for e in registered}),
        },
    )


@require_http_methods(["GET", "POST"])
@with_actor
def stations_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The park's stations (the four kinds, which are still missing) and, for its operator, the form to
    register one."""
    area = _registration_park(request, actor)
    if area is None:
        return render(request, "household/park/none.html", {})
    form = StationForm(
        request.POST if request.method == "POST" else None,
        initial={"in_service_from": park.today(actor.zone_id)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            station = park.add_station(actor, area.code, **form.cleaned_data)
        except Invalid as exc:
            apply_errors(form, exc, FORM_FIELD_OF)
        else:
            messages.success(request, _("%(name)s registered.") % {"name": station.name})
            return redirect(_back("household:park-stations", area))
    found = park.stations(actor, area)
    kind_labels = dict(park_rules.STATION_KIND_CHOICES)
    rows = [
        {
            "station": s,
            "kind_label": kind_labels[s.kind],
            "compactor": park_rules.COMPACTOR_MODELS.get(s.compactor_model),
        }
        for s in found
    ]
    present = {s.kind for s in found}
    return _registration_page(
        request,
        actor,
        area,
        "household/park/stations.html",
        {
            "rows": rows,
            "missing": [label for kind, label in park_rules.STATION_KIND_CHOICES if kind not in present],
            "form": form,
            "today": park.today(actor.zone_id),
        },
    )
