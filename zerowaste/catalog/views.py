"""Catalog pages: public search and entry pages; versions, import, diff and publishing for regulators."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from zerowaste.api import ACTIVE_ORG_SESSION_KEY
from zerowaste.core.authz import Actor, active_memberships, actor_for_user
from zerowaste.core.errors import DomainError, Forbidden, NotFound
from zerowaste.core.models import Zone
from zerowaste.portal.views import forbidden

from . import rules, services

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def _context(request: HttpRequest) -> tuple[int, Actor | None, Zone]:
    """The page's actor (if logged in) and the zone it reads; the header needs both."""
    actor = None
    if request.user.is_authenticated:
        actor = actor_for_user(request.user, request.session.get(ACTIVE_ORG_SESSION_KEY))  # type: ignore[arg-type]
        request.actor = actor  # type: ignore[attr-defined]
        request.memberships = list(active_memberships(request.user))  # type: ignore[attr-defined, arg-type]
    if actor is not None:
        zone = Zone.objects.get(pk=actor.zone_id)
    else:
        try:
            zone = services.public_zone(request.GET.get("zone") or None)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    return zone.pk, actor, zone


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def search(request: HttpRequest) -> HttpResponse:
    zone_id, actor, zone = _context(request)
    q = request.GET.get("q", "").strip()[:100]
    stream = request.GET.get("stream") or None
    stream = stream if stream in rules.STREAMS else None
    category = request.GET.get("category", "").strip() or None
    hazard = request.GET.get("hazard") or None
    hazard = hazard if hazard in rules.HAZARD_CHARACTERISTICS else None
    on_date = _parse_date(request.GET.get("on"))
    searched = bool(q or stream or category or hazard)
    result = services.search(
        zone_id, q, stream=stream, category=category, hazard=hazard, on_date=on_date, limit=200, actor=actor
    )
    return render(
        request,
        "catalog/search.html",
        {
            "zone": zone,
            "q": q,
            "stream": stream or "",
            "category": category or "",
            "hazard": hazard or "",
            "on": on_date.isoformat() if on_date else "",
            "streams": rules.STREAM_CHOICES,
            "hazards": rules.HAZARD_CHARACTERISTICS.items(),
            "results": result.entries if searched else [],
            "total": result.total if searched else 0,
            "searched": searched,
            "versions": result.versions,
            "en": _english(),
            "may_manage": services.may_manage(actor),
        },
    )


def entry(request: HttpRequest, stream: str, code: str) -> HttpResponse:
    zone_id, actor, zone = _context(request)
    version_id = request.GET.get("version")
    try:
        detail = services.entry_detail(
            zone_id,
            stream,
            code,
            actor=actor,
            version_id=int(version_id) if version_id and version_id.isdigit() else None,
        )
    except (NotFound, DomainError) as exc:
        raise Http404(exc.message) from exc
    hazard_names = {k: str(v) for k, v in rules.HAZARD_CHARACTERISTICS.items()}
    return render(
        request,
        "catalog/entry.html",
        {
            "zone": zone,
            "entry": detail.entry,
            "occurrences": detail.occurrences,
            "mappings": detail.mappings,
            "en": _english(),
            "hazard": detail.entry.hazard if detail.entry.hazard_raw else None,
            "hazard_names": hazard_names,
        },
    )


def versions(request: HttpRequest) -> HttpResponse:
    zone_id, actor, zone = _context(request)
    manage = services.may_manage(actor)
    return render(
        request,
        "catalog/versions.html",
        {
            "zone": zone,
            "versions": services.list_versions(zone_id, include_drafts=manage),
            "in_force": {v.pk for v in services.versions_in_force(zone_id).values()},
            "may_manage": manage,
            "streams": rules.STREAM_CHOICES,
        },
    )


def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    zone_id, actor, zone = _context(request)
    try:
        version, base, diff = services.diff_version(zone_id, version_id, actor=actor)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    entries = version.entries.select_related("category").order_by("category__position", "position")
    return render(
        request,
        "catalog/version_detail.html",
        {
            "zone": zone,
            "version": version,
            "base": base,
            "diff": diff,
            "entries": entries,
            "may_manage": services.may_manage(actor) and not version.is_published,
            "en": _english(),
            "categories": version.categories.all(),
        },
    )


def export(request: HttpRequest, stream: str) -> HttpResponse:
    zone_id, actor, _zone = _context(request)
    version_id = request.GET.get("version")
    try:
        filename, content = services.export_xlsx(
            zone_id,
            stream,
            version_id=int(version_id) if version_id and version_id.isdigit() else None,
            actor=actor,
        )
    except DomainError as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _manager(request: HttpRequest) -> Actor | HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('portal:login')}?next={request.get_full_path()}")
    _zone_id, actor, _zone = _context(request)
    if actor is None or not services.may_manage(actor):
        return forbidden(request, _("only the zone's regulator may import or publish catalogs"))
    return actor


@require_http_methods(["GET", "POST"])
def import_version(request: HttpRequest) -> HttpResponse:
    actor = _manager(request)
    if isinstance(actor, HttpResponse):
        return actor
    errors: list[dict[str, Any]] = []
    message = ""
    values = {
        "stream": request.POST.get("stream", "isw"),
        "label": request.POST.get("label", ""),
        "title": request.POST.get("title", ""),
    }
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            message = _("choose a file")
        elif upload.size and upload.size > MAX_UPLOAD_BYTES:
            message = _("the file is larger than 10 MB")
        else:
            try:
                result = services.import_version(
                    actor,
                    stream=values["stream"],
                    label=values["label"],
                    content=upload.read(),
                    filename=upload.name or "upload.xlsx",
                    title=values["title"],
                )
            except DomainError as exc:
                message, errors = exc.message, exc.errors
            else:
                messages.success(
                    request,
                    _("Imported %(n)d entries as a draft; check the changes, then publish.")
                    % {"n": result.entries},
                )
                return redirect("catalog:version", version_id=result.version.pk)
    return render(
        request,
        "catalog/import.html",
        {
            "streams": rules.STREAM_CHOICES,
            "values": values,
            "errors": errors,
            "message": message,
        },
        status=422 if message else 200,
    )


@require_POST
def publish(request: HttpRequest, version_id: int) -> HttpResponse:
    actor = _manager(request)
    if isinstance(actor, HttpResponse):
        return actor
    effective_from = _parse_date(request.POST.get("effective_from"))
    try:
        if effective_from is None:
            raise DomainError(_("give the date the version takes effect"))
        services.publish(actor, version_id, effective_from)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Published; in force from %(date)s.") % {"date": effective_from})
    return redirect("catalog:version", version_id=version_id)


@require_POST
def recode(request: HttpRequest, version_id: int) -> HttpResponse:
    actor = _manager(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        services.set_recode(
            actor,
            version_id,
            request.POST.get("old_code", "").strip(),
            request.POST.get("new_code", "").strip() or None,
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except (DomainError, Forbidden) as exc:
        messages.error(request, exc.message)
    return redirect("catalog:version", version_id=version_id)


@require_POST
def edit_entry(request: HttpRequest, version_id: int) -> HttpResponse:
    actor = _manager(request)
    if isinstance(actor, HttpResponse):
        return actor
    fields = {k: request.POST.get(k, "").strip() for k in ("name", "name_en", "category")}
    try:
        services.update_draft_entry(
            actor, version_id, request.POST.get("code", "").strip(), **{k: v for k, v in fields.items() if v}
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Entry corrected."))
    return redirect("catalog:version", version_id=version_id)
