"""Phone pages of the household chain (ADR 0056): a station keeper's, a driver's and a plant clerk's
field home, the QR scan routes that open a hand-over form, the confirmation itself, a merchant's
redemption page, and a household's own points page (no login). One service call per request."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zerowaste.core.authz import Actor
from zerowaste.core.errors import DomainError, Forbidden, NotFound
from zerowaste.portal.views import with_actor

from . import alarms, field, points, resident, rules
from .models import Bin, Merchant, Source

FORM_FIELDS = (
    "token",
    "node",
    "side",
    "station",
    "vehicle",
    "site",
    "source",
    "bin",
    "handover",
    "household_class",
    "weight_kg",
    "quality_grade",
    "recyclable_kind",
)
IMPURITY_CHOICES = [
    ("glass_ceramics", gettext_lazy("glass or ceramics")),
    ("metal", gettext_lazy("metal")),
    ("plastic_rubber", gettext_lazy("plastics or rubber")),
]


def _errors(exc: DomainError) -> list[dict[str, Any]]:
    return exc.errors or [{"field": "", "message": exc.message}]


def _field_labels() -> dict[str, str]:
    return {
        "token": _("Form"),
        "node": _("Hand-over"),
        "side": _("Side"),
        "station": _("Station"),
        "vehicle": _("Vehicle"),
        "site": _("Plant or transfer station"),
        "source": _("Household"),
        "bin": _("Bin"),
        "handover": _("Hand-over"),
        "class": _("Class"),
        "household_class": _("Class"),
        "weight_kg": _("Weight (kg)"),
        "quality_grade": _("Quality grade"),
        "impurities": _("Impurities"),
        "recyclable_kind": _("Kind of recyclable"),
        "points": _("Points"),
        "merchant": _("Merchant"),
        "code": _("Household code"),
        "resolution": _("Resolution"),
        "id": _("Alarm"),
    }


def _labelled(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors naming their field in words (never the payload's key)."""
    labels = _field_labels()
    return [{**e, "field": labels.get(str(e.get("field") or ""), "")} for e in errors]


# --- Field home --------------------------------------------------------------------------------------------


@require_GET
@with_actor
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    places = field.places_of(actor)
    day = field.latest_day(actor, places) or timezone.localdate()
    nodes, sides = dict(rules.NODE_CHOICES), dict(rules.SIDE_CHOICES)
    return render(
        request,
        "household/field/home.html",
        {
            "places": places,
            "day": day,
            "today": timezone.localdate(),
            "unknown_code": request.GET.get("unknown") == "1",
            "events": [
                {"event": e, "node_label": nodes.get(e.node, ""), "side_label": sides.get(e.side, "")}
                for e in field.events_at(actor, places, day)
            ],
            "pending": [
                {"item": p, "node_label": nodes.get(p.node, "")} for p in field.pending(actor, places)
            ],
            "alarms": list(
                alarms.visible_alarms(actor, state="open").filter(
                    owner_organization_id=actor.organization_id
                )[:50]
            )
            if actor.organization_id
            else [],
            "is_merchant": actor.organization_id is not None
            and Merchant.objects.filter(
                zone_id=actor.zone_id, organization_id=actor.organization_id, is_active=True
            ).exists(),
        },
    )


@require_GET
@with_actor
def scan(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The typed-code fallback of the scanner (and what the camera sends): a QR link, a household
    code or a bin chip → its scan page. A GET that only redirects."""
    text = (request.GET.get("q") or "").strip()
    if text.startswith(("http://", "https://")):
        text = "/" + text.split("://", 1)[1].split("/", 1)[-1]
    for prefix, name, kwarg in (
        ("/household/scan/source/", "household:scan-source", "source_code"),
        ("/household/scan/bin/", "household:scan-bin", "chip"),
    ):
        if text.startswith(prefix) and text[len(prefix) :].strip("/"):
            return redirect(reverse(name, kwargs={kwarg: text[len(prefix) :].strip("/")}))
    if text and Source.objects.filter(zone_id=actor.zone_id, code=text).exists():
        return redirect("household:scan-source", source_code=text)
    if text and Bin.objects.filter(zone_id=actor.zone_id, chip=text).exists():
        return redirect("household:scan-bin", chip=text)
    return redirect(reverse("household:field-home") + "?unknown=1")  # a GET: the home says it, nothing stored


# --- The hand-over form ---------------------------------------------------------------------------------


def _form_context(
    actor: Actor, values: dict[str, Any], errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What the hand-over form shows for its node and side: the places to choose from, the catalog in
    force, the household or bin scanned, the hand-over waiting for this side."""
    places = field.places_of(actor)
    node, side = values.get("node") or rules.NODE_SOURCE_STATION, values.get("side") or rules.SIDE_RECEIVER
    waiting = None
    if values.get("handover"):
        try:
            waiting = field.pending_one(actor, values["handover"])
        except NotFound:
            if not errors:  # a GET naming a hand-over not waiting for this actor
                raise
        if waiting is not None:
            node, side = waiting.node, rules.SIDE_RECEIVER
            values["household_class"] = values.get("household_class") or waiting.household_class
    values = {
        **values,
        "node": node,
        "side": side,
        "token": values.get("token") or uuid.uuid4().hex,
        "household_class": values.get("household_class") or rules.KITCHEN,  # what a station mostly takes
    }
    stations = places.stations
    if values.get("community_id"):
        stations = [s for s in stations if s.community_id == values["community_id"]]
    return {
        "values": values,
        "errors": _labelled(errors or []),
        "node_label": dict(rules.NODE_CHOICES).get(node, ""),
        "side_label": dict(rules.SIDE_CHOICES).get(side, ""),
        "stations": stations,
        "my_vehicles": places.vehicles,
        "my_sites": places.sites,
        "vehicles": field.vehicles_for_keeper(actor, places.stations)
        if node == rules.NODE_STATION_VEHICLE and side == rules.SIDE_GIVER
        else [],
        "sites": field.sites_for_driver(actor)
        if node == rules.NODE_VEHICLE_SITE and side == rules.SIDE_GIVER
        else [],
        "classes": field.classes(actor),
        "grades": sorted(rules.QUALITY_GRADES),
        "impurity_choices": IMPURITY_CHOICES,
        "waiting": waiting,
        "is_drop": node == rules.NODE_SOURCE_STATION,
        "source_obj": values.get("source_obj"),
        "bin_obj": values.get("bin_obj"),
    }


def _render_form(
    request: HttpRequest, actor: Actor, values: dict[str, Any], errors: Any = None, status: int = 200
) -> HttpResponse:
    return render(
        request, "household/field/handover.html", _form_context(actor, values, errors), status=status
    )


@require_GET
@with_actor
def scan_source(request: HttpRequest, actor: Actor, source_code: str) -> HttpResponse:
    source, stations = field.source_for_keeper(actor, source_code)
    values = {
        "node": rules.NODE_SOURCE_STATION,
        "side": rules.SIDE_RECEIVER,
        "source": source.code,
        "source_obj": source,
        "station": stations[0].code,
        "community_id": source.community_id,
    }
    return _render_form(request, actor, values)


@require_GET
@with_actor
def scan_bin(request: HttpRequest, actor: Actor, chip: str) -> HttpResponse:
    bin_ = field.bin_for_actor(actor, chip)
    places = field.places_of(actor)
    if bin_.source is not None:  # a household's own bin: its drop at the keeper's station
        values: dict[str, Any] = {
            "node": rules.NODE_SOURCE_STATION,
            "side": rules.SIDE_RECEIVER,
            "source": bin_.source.code,
            "source_obj": bin_.source,
            "bin": bin_.chip,
            "bin_obj": bin_,
            "household_class": bin_.household_class,
            "community_id": bin_.source.community_id,
        }
        stations = [s for s in places.stations if s.community_id == bin_.source.community_id]
        values["station"] = stations[0].code if stations else ""
        return _render_form(request, actor, values)
    if bin_.station_id in {s.pk for s in places.stations}:  # the keeper hands the station's bin over
        assert bin_.station is not None
        values = {
            "node": rules.NODE_STATION_VEHICLE,
            "side": rules.SIDE_GIVER,
            "station": bin_.station.code,
            "bin": bin_.chip,
            "bin_obj": bin_,
            "household_class": bin_.household_class,
        }
        return _render_form(request, actor, values)
    waiting = [p for p in field.pending(actor, places) if p.station_id == bin_.station_id]
    return _render_form(
        request, actor, {"handover": waiting[0].handover_key, "bin": bin_.chip, "bin_obj": bin_}
    )


@require_http_methods(["GET", "POST"])
@with_actor
def confirm(request: HttpRequest, actor: Actor) -> HttpResponse:
    """GET: the form for a node and side (or for a hand-over waiting for this side); POST: confirm."""
    source = request.POST if request.method == "POST" else request.GET
    values: dict[str, Any] = {name: (source.get(name) or "").strip() for name in FORM_FIELDS}
    values["impurities"] = source.getlist("impurities")
    if request.method == "GET":
        if values["source"]:
            found = Source.objects.filter(zone_id=actor.zone_id, code=values["source"]).first()
            values["source_obj"] = found
        return _render_form(request, actor, values)
    try:
        result = field.confirm(
            actor,
            token=values["token"],
            node=values["node"],
            side=values["side"],
            household_class=values["household_class"],
            weight_kg=values["weight_kg"],
            station=values["station"],
            vehicle=values["vehicle"],
            site=values["site"] or None,
            source=values["source"],
            bin=values["bin"],
            handover=values["handover"],
            quality_grade=values["quality_grade"],
            impurities=values["impurities"],
            recyclable_kind=values["recyclable_kind"],
        )
    except (NotFound, Forbidden):
        raise
    except DomainError as exc:
        if values["source"]:
            values["source_obj"] = Source.objects.filter(zone_id=actor.zone_id, code=values["source"]).first()
        return _render_form(request, actor, values, _errors(exc), status=422)
    if result.stored:
        text = _("Hand-over confirmed.")
        if result.points:
            text += " " + _("The household earned %(points)s points.") % {"points": result.points}
        if result.alarms:
            text += " " + _("The weights of the two sides disagree: an alarm was raised.")
        messages.success(request, text)
    else:
        messages.info(request, _("This hand-over was confirmed already; nothing more was stored."))
    return redirect("household:field-home")


@require_POST
@with_actor
def resolve_alarm(request: HttpRequest, actor: Actor, alarm_id: int) -> HttpResponse:
    """A minimal resolution from the field home (the alarm pages have the full one)."""
    try:
        alarms.resolve(actor, alarm_id, request.POST.get("resolution") or "")
    except NotFound:
        raise
    except DomainError as exc:
        for e in _labelled(_errors(exc)):
            messages.error(request, f"{e['field']}: {e['message']}" if e["field"] else e["message"])
        return redirect("household:field-home")
    messages.success(request, _("Alarm resolved."))
    return redirect("household:field-home")


# --- Points: a merchant's redemption, a household's page ---------------------------------------------------


@require_http_methods(["GET", "POST"])
@with_actor
def redeem(request: HttpRequest, actor: Actor) -> HttpResponse:
    merchants = (
        list(
            Merchant.objects.filter(
                zone_id=actor.zone_id, organization_id=actor.organization_id, is_active=True
            ).order_by("name")
        )
        if actor.organization_id
        else []
    )
    values = {"code": "", "points": "", "merchant": str(merchants[0].pk) if merchants else "", "note": ""}
    errors: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        values = {k: (request.POST.get(k) or "").strip() for k in values}
        code = resident.code_of_scan(values["code"])
        try:
            if not code:
                raise DomainError(
                    errors=[{"field": "code", "message": _("scan or type the household's code")}]
                )
            amount = int(values["points"]) if values["points"].isdigit() else -1
            merchant_id = int(values["merchant"]) if values["merchant"].isdigit() else 0
            entry = points.redeem(actor, code, points=amount, merchant_id=merchant_id, note=values["note"])
        except NotFound:
            errors, status = [{"field": "code", "message": _("no such household")}], 422
        except DomainError as exc:
            errors, status = _errors(exc), 422
        else:
            messages.success(
                request,
                _("%(points)s points redeemed; the household's balance is now %(balance)s.")
                % {"points": -entry.delta, "balance": entry.balance_after},
            )
            return redirect("household:field-redeem")
    return render(
        request,
        "household/field/redeem.html",
        {"merchants": merchants, "values": values, "errors": _labelled(errors)},
        status=status,
    )


@require_GET
def resident_points(request: HttpRequest, token: str) -> HttpResponse:
    """A household's balance, ledger, merchants nearby and recent drops: no login, the token is the key."""
    try:
        source = resident.source_of_token(token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except resident.Expired:
        return render(
            request,
            "household/field/resident_expired.html",
            {"max_age_days": resident.max_age_days()},
            status=410,
        )
    page = resident.page_of(source)
    return render(
        request,
        "household/field/resident.html",
        {"page": page, "source": source, "node_labels": dict(rules.NODE_CHOICES), "zone_id": source.zone_id},
    )
