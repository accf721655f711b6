"""Pages of the household registry under /household/registry/: per community lists of sources,
stations, bins and devices with search and pagination, add/edit forms, deactivation, the Excel
workbook (import, template, export) and the printable QR sheets (一户一码). One service call each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.forms import apply_errors
from zerowaste.core.models import Area, Organization
from zerowaste.portal.views import with_actor

from . import registry, rules

TABS = (
    ("sources", gettext_lazy("Households and units")),
    ("stations", gettext_lazy("Stations")),
    ("bins", gettext_lazy("Bins")),
    ("devices", gettext_lazy("Devices")),
)
PAGE_SIZE = 50
QR_PAGE = 240
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _community(request: HttpRequest, actor: Actor, communities: list[Area]) -> Area | None:
    """The community the URL names (404 when out of reach), else the first with sources."""
    wanted = _int(request.GET.get("community") or request.POST.get("community_id"))
    if wanted is not None:
        return registry.get_community(actor, wanted)
    with_sources = registry.sources(actor).values_list("community_id", flat=True).first()
    by_id = {c.pk: c for c in communities}
    if with_sources in by_id:
        return by_id[with_sources]
    return communities[0] if communities else None


def _list_url(community: Area | None, tab: str = "sources") -> str:
    url = reverse("household:registry")
    return f"{url}?community={community.pk}&tab={tab}" if community is not None else url


@with_actor
def registry_home(request: HttpRequest, actor: Actor) -> HttpResponse:
    communities = list(registry.communities(actor))
    community = _community(request, actor, communities)
    tab = request.GET.get("tab") if request.GET.get("tab") in dict(TABS) else "sources"
    q = (request.GET.get("q") or "").strip()[:100] or None
    kind = request.GET.get("kind") if request.GET.get("kind") in dict(rules.SOURCE_KIND_CHOICES) else None
    cid = community.pk if community is not None else -1
    if tab == "sources":
        rows: Any = registry.sources(actor, community_id=cid, kind=kind, q=q)
    elif tab == "stations":
        rows = registry.stations(actor, community_id=cid, q=q)
    elif tab == "bins":
        rows = registry.bins(actor, community_id=cid, q=q)
    else:
        rows = registry.devices(actor, community_id=cid, q=q)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "household/registry/home.html",
        {
            "communities": communities,
            "community": community,
            "tabs": TABS,
            "tab": tab,
            "q": q or "",
            "kind": kind or "",
            "kinds": rules.SOURCE_KIND_CHOICES,
            "page": page,
            "may_write": registry.may_write(actor),
            "station_kinds": dict(rules.STATION_KIND_CHOICES),
            "device_kinds": dict(rules.DEVICE_KIND_CHOICES),
            "unit_kinds": dict(rules.UNIT_KIND_CHOICES),
        },
    )


# --- Forms --------------------------------------------------------------------------------------------


def _community_choices(actor: Actor) -> list[tuple[str, str]]:
    return [(c.code, c.name) for c in registry.communities(actor)]


def _class_choices(actor: Actor) -> list[tuple[str, str]]:
    classes = registry.Lookups.load(actor).classes
    return [(code, f"{code} {name}") for name, code in classes.items() if name != code] or [
        (code, code) for code in sorted(set(classes.values()))
    ]


class SourceForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=64)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=rules.SOURCE_KIND_CHOICES)
    community = forms.ChoiceField(label=gettext_lazy("Community"))
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=200, required=False)
    responsible_party = forms.CharField(
        label=gettext_lazy("Responsible party (管理责任人)"), max_length=100, required=False
    )
    residents = forms.CharField(label=gettext_lazy("Residents"), max_length=5, required=False)
    unit_kind = forms.ChoiceField(
        label=gettext_lazy("Unit kind"), choices=[("", "—"), *rules.UNIT_KIND_CHOICES], required=False
    )
    contract_number = forms.CharField(label=gettext_lazy("Contract number"), max_length=64, required=False)
    collector = forms.ChoiceField(label=gettext_lazy("Collector"), required=False)
    contract_from = forms.CharField(
        label=gettext_lazy("Contract valid from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    contract_to = forms.CharField(
        label=gettext_lazy("Contract valid to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = _community_choices(actor)  # type: ignore[attr-defined]
        carriers = Organization.objects.filter(zone_id=actor.zone_id, roles__role="carrier").order_by("name")
        # By name: the zone's directory of carriers is public, their USCCs are not shown here.
        self.fields["collector"].choices = [("", "—"), *((o.name, o.name) for o in carriers)]  # type: ignore[attr-defined]


class StationForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=64)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=rules.STATION_KIND_CHOICES)
    community = forms.ChoiceField(label=gettext_lazy("Community"))

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = _community_choices(actor)  # type: ignore[attr-defined]


class BinForm(forms.Form):
    chip = forms.CharField(label=gettext_lazy("Chip id"), max_length=64)
    household_class = forms.ChoiceField(label=gettext_lazy("Class"))
    capacity_l = forms.CharField(label=gettext_lazy("Capacity (L)"), max_length=6)
    station = forms.CharField(label=gettext_lazy("Station code"), max_length=64, required=False)
    source = forms.CharField(label=gettext_lazy("Household or unit code"), max_length=64, required=False)

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["household_class"].choices = _class_choices(actor)  # type: ignore[attr-defined]


class DeviceForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Device id"), max_length=64)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=rules.DEVICE_KIND_CHOICES)
    station = forms.ChoiceField(label=gettext_lazy("Station"))

    def __init__(self, actor: Actor, community: Area | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        found = registry.stations(actor, community_id=community.pk if community else None, active=True)
        self.fields["station"].choices = [(s.pk, f"{s.code} {s.name}") for s in found[:500]]  # type: ignore[attr-defined]


# Service fields that have another name on the forms.
FORM_FIELD_OF = {"community_id": "community", "station_id": "station", "source_id": "source"}


def _form_page(
    request: HttpRequest, form: forms.Form, title: str, back: str, *, status: int = 200, code: str = ""
) -> HttpResponse:
    """The registry's form page; `code` (a record's code, shown as a code after the title) when editing."""
    return render(
        request,
        "household/registry/form.html",
        {"form": form, "title": title, "back": back, "code": code},
        status=status,
    )


def _source_initial(source: Any) -> dict[str, Any]:
    return {
        "code": source.code,
        "kind": source.kind,
        "community": source.community.code,
        "name": source.name,
        "address": source.address,
        "responsible_party": source.responsible_party,
        "residents": source.residents if source.residents is not None else "",
        "unit_kind": source.unit_kind,
        "contract_number": source.contract_number,
        "collector": source.collector.name if source.collector else "",
        "contract_from": source.contract_from.isoformat() if source.contract_from else "",
        "contract_to": source.contract_to.isoformat() if source.contract_to else "",
    }


def _submit(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], tuple[str, str]],
    title: str,
    back: str,
    *,
    code: str = "",
) -> HttpResponse:
    """The registry's add and edit pages: on a valid POST `save` the form's values (it answers the
    record's code and where to go next) and redirect, else show the form with the faults by field."""
    if request.method == "POST" and form.is_valid():
        try:
            saved_code, next_url = save(form.cleaned_data)
        except Invalid as exc:
            apply_errors(form, exc, FORM_FIELD_OF)
        else:
            done = _("%(code)s saved.") if code else _("%(code)s registered.")
            messages.success(request, done % {"code": saved_code})
            return redirect(next_url)
    return _form_page(request, form, title, back, status=422 if request.method == "POST" else 200, code=code)


@require_http_methods(["GET", "POST"])
@with_actor
def source_add(request: HttpRequest, actor: Actor) -> HttpResponse:
    registry.require_writer(actor)
    community = _community(request, actor, list(registry.communities(actor)))
    initial = {
        "community": community.code if community else "",
        "kind": request.GET.get("kind") or "household",
    }
    form = SourceForm(actor, request.POST or None, initial=initial)

    def save(values: dict[str, Any]) -> tuple[str, str]:
        source = registry.save_source(actor, values)
        return source.code, _list_url(source.community)

    return _submit(request, form, save, _("Register a household or unit"), _list_url(community))


@require_http_methods(["GET", "POST"])
@with_actor
def source_edit(request: HttpRequest, actor: Actor, source_code: str) -> HttpResponse:
    source = registry.get_source(actor, source_code)
    registry.require_writer(actor)
    form = SourceForm(actor, request.POST or None, initial=_source_initial(source))
    form.fields["code"].disabled = True
    form.fields["kind"].disabled = True

    def save(values: dict[str, Any]) -> tuple[str, str]:
        saved = registry.save_source(actor, values, code=source.code)
        return saved.code, _list_url(saved.community)

    return _submit(request, form, save, _("Edit"), _list_url(source.community), code=source.code)


@require_http_methods(["GET", "POST"])
@with_actor
def station_add(request: HttpRequest, actor: Actor) -> HttpResponse:
    registry.require_writer(actor)
    community = _community(request, actor, list(registry.communities(actor)))
    form = StationForm(
        actor, request.POST or None, initial={"community": community.code if community else ""}
    )

    def save(values: dict[str, Any]) -> tuple[str, str]:
        station = registry.save_station(actor, values)
        return station.code, _list_url(station.community, "stations")

    return _submit(request, form, save, _("Register a station"), _list_url(community, "stations"))


@require_http_methods(["GET", "POST"])
@with_actor
def station_edit(request: HttpRequest, actor: Actor, hh_station_id: int) -> HttpResponse:
    station = registry.get_station(actor, hh_station_id)
    registry.require_writer(actor)
    initial = {
        "code": station.code,
        "name": station.name,
        "kind": station.kind,
        "community": station.community.code,
    }
    form = StationForm(actor, request.POST or None, initial=initial)
    form.fields["code"].disabled = True

    def save(values: dict[str, Any]) -> tuple[str, str]:
        saved = registry.save_station(actor, values, station_id=station.pk)
        return saved.code, _list_url(saved.community, "stations")

    back = _list_url(station.community, "stations")
    return _submit(request, form, save, _("Edit"), back, code=station.code)


@require_http_methods(["GET", "POST"])
@with_actor
def bin_add(request: HttpRequest, actor: Actor) -> HttpResponse:
    registry.require_writer(actor)
    community = _community(request, actor, list(registry.communities(actor)))
    form = BinForm(actor, request.POST or None, initial={"capacity_l": 240})
    back = _list_url(community, "bins")

    def save(values: dict[str, Any]) -> tuple[str, str]:
        return registry.save_bin(actor, values).chip, back

    return _submit(request, form, save, _("Register a bin"), back)


@require_http_methods(["GET", "POST"])
@with_actor
def bin_edit(request: HttpRequest, actor: Actor, hh_bin_id: int) -> HttpResponse:
    bin_ = registry.get_bin(actor, hh_bin_id)
    registry.require_writer(actor)
    initial = {
        "chip": bin_.chip,
        "household_class": bin_.household_class,
        "capacity_l": bin_.capacity_l,
        "station": bin_.station.code if bin_.station else "",
        "source": bin_.source.code if bin_.source else "",
    }
    place = bin_.station or bin_.source
    back = _list_url(place.community if place else None, "bins")
    form = BinForm(actor, request.POST or None, initial=initial)
    form.fields["chip"].disabled = True

    def save(values: dict[str, Any]) -> tuple[str, str]:
        return registry.save_bin(actor, values, bin_id=bin_.pk).chip, back

    return _submit(request, form, save, _("Edit"), back, code=bin_.chip)


@require_http_methods(["GET", "POST"])
@with_actor
def device_add(request: HttpRequest, actor: Actor) -> HttpResponse:
    registry.require_writer(actor)
    community = _community(request, actor, list(registry.communities(actor)))
    form = DeviceForm(actor, community, request.POST or None)
    back = _list_url(community, "devices")

    def save(values: dict[str, Any]) -> tuple[str, str]:
        device = registry.add_device(
            actor, code=values["code"], kind=values["kind"], station_id=int(values["station"])
        )
        return device.code, back

    return _submit(request, form, save, _("Register a device"), back)


def _toggle(request: HttpRequest, actor: Actor, what: str, key: str | int, tab: str) -> HttpResponse:
    active = request.POST.get("active") == "1"
    obj = registry.set_active(actor, what, key, active)
    label = getattr(obj, "code", None) or getattr(obj, "chip", "")
    if active:
        messages.success(request, _("%(code)s reactivated.") % {"code": label})
    else:
        messages.success(request, _("%(code)s deactivated.") % {"code": label})
    community = _int(request.POST.get("community_id"))
    url = reverse("household:registry")
    return redirect(f"{url}?community={community}&tab={tab}" if community else f"{url}?tab={tab}")


@require_POST
@with_actor
def source_active(request: HttpRequest, actor: Actor, source_code: str) -> HttpResponse:
    return _toggle(request, actor, "source", source_code, "sources")


@require_POST
@with_actor
def station_active(request: HttpRequest, actor: Actor, hh_station_id: int) -> HttpResponse:
    return _toggle(request, actor, "station", hh_station_id, "stations")


@require_POST
@with_actor
def bin_active(request: HttpRequest, actor: Actor, hh_bin_id: int) -> HttpResponse:
    return _toggle(request, actor, "bin", hh_bin_id, "bins")


@require_POST
@with_actor
def device_active(request: HttpRequest, actor: Actor, hh_device_id: int) -> HttpResponse:
    return _toggle(request, actor, "device", hh_device_id, "devices")


# --- The workbook -------------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel workbook (.xlsx)"))


@require_http_methods(["GET", "POST"])
@with_actor
def import_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    registry.require_writer(actor)
    form = ImportForm(request.POST or None, request.FILES or None)
    faults: list[dict[str, Any]] = []
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = registry.import_workbook(actor, upload.read(), filename=upload.name)
        except Invalid as exc:
            faults = [f for f in exc.errors if "sheet" in f]
            form.add_error(None, exc.message if not faults else _("Nothing was imported."))
    sheets = [(names, columns) for names, columns in registry.SHEETS.values()]
    return render(
        request,
        "household/registry/import.html",
        {"form": form, "faults": faults, "sheets": sheets, "result": result},
        status=422 if request.method == "POST" and result is None else 200,
    )


@with_actor
def template_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    registry.reach(actor)
    response = HttpResponse(registry.template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="household-registry-template.xlsx"'
    return response


@with_actor
def export_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    response = HttpResponse(registry.export_workbook(actor), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="household-registry.xlsx"'
    return response


# --- QR sheets ----------------------------------------------------------------------------------------


@with_actor
def qr_sheet(request: HttpRequest, actor: Actor) -> HttpResponse:
    """A4 sheet of QR tiles for a community's households and units (or `what=bins`); `format=pdf`."""
    communities = list(registry.communities(actor))
    community = _community(request, actor, communities)
    what = "bins" if request.GET.get("what") == "bins" else "sources"
    if community is None:
        return render(request, "household/registry/qr_sheet.html", {"community": None, "tiles": []})
    base = request.build_absolute_uri("/")
    community, tiles = registry.qr_tiles(actor, community.pk, what, base)
    # QR_PAGE tiles (10 A4 sheets) a request: a community of thousands prints in parts.
    page = Paginator(tiles, QR_PAGE).get_page(request.GET.get("page"))
    if request.GET.get("format") == "pdf":
        response = HttpResponse(registry.qr_pdf(community, list(page)), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="qr-{community.code}-{what}-{page.number}.pdf"'
        return response
    return render(
        request,
        "household/registry/qr_sheet.html",
        {
            "community": community,
            "communities": communities,
            "tiles": list(page),
            "page": page,
            "total": len(tiles),
            "what": what,
        },
    )
