"""HTTP API of the catalogs. Reading is public (reference data, scoped to a zone); changing needs the
zone's regulator."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from zerowaste.api import ACTIVE_ORG_SESSION_KEY, actor_of
from zerowaste.core.api import ErrorOut
from zerowaste.core.authz import Actor, actor_for_token, actor_for_user
from zerowaste.core.services import authenticate_token

from . import services
from .models import CatalogEntry, CatalogVersion

router = Router(tags=["catalog"])


def optional_actor(request: HttpRequest) -> Actor | None:
    """The caller on a public route: a bearer token, the session user, or nobody."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        token = authenticate_token(header[7:].strip())
        return actor_for_token(token) if token else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return actor_for_user(user, request.session.get(ACTIVE_ORG_SESSION_KEY))  # type: ignore[arg-type]
    return None


def _scope(request: HttpRequest, zone: str | None) -> tuple[int, Actor | None]:
    """Authenticated callers read their own zone; anonymous ones the named (or default) zone."""
    actor = optional_actor(request)
    if actor is not None:
        return actor.zone_id, actor
    return services.public_zone(zone).pk, None


# --- Schemas ---------------------------------------------------------------------------------------


class HazardOut(Schema):
    primary: list[str]
    possible: list[str]
    one_or_more: bool
    raw: str


class EntryOut(Schema):
    stream: str
    code: str
    name: str
    name_en: str
    category: str
    category_name: str
    category_name_en: str
    version: str
    version_id: int
    description: str
    requires_free_text: bool
    flags: list[str]
    industry: str = ""
    hazard: HazardOut | None = None
    colour: str = ""


class SearchOut(Schema):
    total: int
    versions: dict[str, str]
    results: list[EntryOut]


class CatalogVersionOut(Schema):
    id: int
    stream: str
    label: str
    title: str
    source: str
    status: str
    effective_from: date | None
    covers_earlier: bool
    entries: int = 0


class CatalogVersionDetailOut(CatalogVersionOut):
    warnings: list[dict[str, Any]]
    recodes: dict[str, str]
    categories: list[dict[str, Any]]


class SnapshotOut(Schema):
    code: str
    name: str
    name_en: str
    category: str


class PairOut(Schema):
    old: SnapshotOut
    new: SnapshotOut


class DiffOut(Schema):
    version: str
    against: str | None
    added: list[SnapshotOut]
    retired: list[SnapshotOut]
    renamed: list[PairOut]
    recoded: list[PairOut]
    recategorised: list[PairOut]
    unchanged: int


class OccurrenceOut(Schema):
    version: str
    version_id: int
    effective_from: date | None
    name: str
    category: str


class MappingOut(Schema):
    from_version: str
    from_code: str
    to_version: str
    to_code: str
    kind: str


class EntryDetailOut(Schema):
    entry: EntryOut
    versions: list[OccurrenceOut]
    mappings: list[MappingOut]


class CheckOut(Schema):
    ok: bool
    code: str
    stream: str
    on_date: date
    message: str
    version: str | None
    version_id: int | None
    name: str | None
    name_en: str | None
    requires_free_text: bool
    replaced_by: str | None


class CatalogImportOut(Schema):
    version: CatalogVersionOut
    entries: int
    categories: int
    warnings: list[dict[str, Any]]
    diff: dict[str, Any] | None
    replaced_draft: bool


class PublishIn(Schema):
    effective_from: date


class RecodeIn(Schema):
    old_code: str = Field(..., max_length=40)
    new_code: str | None = Field(None, max_length=40, description="empty: the old code is retired")


class EntryPatch(Schema):
    name: str | None = Field(None, max_length=300)
    name_en: str | None = Field(None, max_length=300)
    description: str | None = None
    category: str | None = Field(None, max_length=32)


def _version_out(version: CatalogVersion) -> dict[str, Any]:
    return {
        "id": version.pk,
        "stream": version.stream,
        "label": version.label,
        "title": version.title,
        "source": version.source,
        "status": version.status,
        "effective_from": version.effective_from,
        "covers_earlier": version.covers_earlier,
        "entries": CatalogEntry.objects.filter(zone_id=version.zone_id, version=version).count(),
    }


# --- Reading (public) ------------------------------------------------------------------------------


@router.get("/catalog/entries", response={200: SearchOut, 404: ErrorOut, 422: ErrorOut}, auth=None)
def search_entries(
    request: HttpRequest,
    q: str = "",
    stream: str | None = None,
    category: str | None = None,
    hazard: str | None = None,
    version_id: int | None = None,
    on: date | None = None,
    zone: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Search every catalog in force (or one version).

    By code, code prefix, words of the name, category or hazard characteristic.
    """
    zone_id, actor = _scope(request, zone)
    result = services.search(
        zone_id,
        q,
        stream=stream,
        category=category,
        hazard=hazard,
        version_id=version_id,
        on_date=on,
        limit=limit,
        actor=actor,
    )
    return {
        "total": result.total,
        "versions": {s: v.label for s, v in result.versions.items()},
        "results": [services.entry_as_dict(e) for e in result.entries],
    }


@router.get(
    "/catalog/entries/{stream}/{code}",
    response={200: EntryDetailOut, 404: ErrorOut, 422: ErrorOut},
    auth=None,
)
def get_entry(
    request: HttpRequest, stream: str, code: str, version_id: int | None = None, zone: str | None = None
) -> dict[str, Any]:
    zone_id, actor = _scope(request, zone)
    detail = services.entry_detail(zone_id, stream, code, version_id=version_id, actor=actor)
    return {
        "entry": services.entry_as_dict(detail.entry),
        "versions": [
            {
                "version": e.version.label,
                "version_id": e.version_id,
                "effective_from": e.version.effective_from,
                "name": e.name,
                "category": e.category.code,
            }
            for e in detail.occurrences
        ],
        "mappings": [
            {
                "from_version": m.from_version.label,
                "from_code": m.from_code,
                "to_version": m.to_version.label,
                "to_code": m.to_code,
                "kind": m.kind,
            }
            for m in detail.mappings
        ],
    }


@router.get("/catalog/check", response={200: CheckOut, 404: ErrorOut, 422: ErrorOut}, auth=None)
def check_code(
    request: HttpRequest,
    stream: str,
    code: str,
    on: date | None = None,
    free_text: str | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    """Whether a code may be used for a record of `stream` dated `on` (default today)."""
    zone_id, _actor = _scope(request, zone)
    on_date = on or timezone.localdate()
    return services.code_valid(zone_id, stream, code, on_date, free_text=free_text).as_dict()


@router.get(
    "/catalog/versions", response={200: list[CatalogVersionOut], 404: ErrorOut, 422: ErrorOut}, auth=None
)
def list_versions(
    request: HttpRequest, stream: str | None = None, zone: str | None = None
) -> list[dict[str, Any]]:
    zone_id, actor = _scope(request, zone)
    versions = services.list_versions(zone_id, stream, include_drafts=services.may_manage(actor))
    return [_version_out(v) for v in versions]


@router.get(
    "/catalog/versions/{version_id}", response={200: CatalogVersionDetailOut, 404: ErrorOut}, auth=None
)
def get_version(request: HttpRequest, version_id: int, zone: str | None = None) -> dict[str, Any]:
    zone_id, actor = _scope(request, zone)
    version = services.get_version(zone_id, version_id, actor)
    return {
        **_version_out(version),
        "warnings": version.warnings,
        "recodes": version.recodes,
        "categories": [
            {"code": c.code, "name": c.name, "name_en": c.name_en, "colour": c.colour}
            for c in version.categories.all()
        ],
    }


@router.get("/catalog/versions/{version_id}/diff", response={200: DiffOut, 404: ErrorOut}, auth=None)
def diff_version(
    request: HttpRequest, version_id: int, against_id: int | None = None, zone: str | None = None
) -> dict[str, Any]:
    """What a version adds, retires, renames and re-codes against the previous one (or `against_id`)."""
    zone_id, actor = _scope(request, zone)
    version, base, diff = services.diff_version(zone_id, version_id, against_id=against_id, actor=actor)
    return {"version": version.label, "against": base.label if base else None, **diff.as_dict()}


@router.get("/catalog/export/{stream}", response={200: None, 404: ErrorOut, 422: ErrorOut}, auth=None)
def export_catalog(
    request: HttpRequest, stream: str, version_id: int | None = None, zone: str | None = None
) -> HttpResponse:
    """The catalog in force as an Excel workbook (the sheet declarations use for their drop-downs)."""
    zone_id, actor = _scope(request, zone)
    filename, content = services.export_xlsx(zone_id, stream, version_id=version_id, actor=actor)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Changing (the zone's regulator) ---------------------------------------------------------------


@router.post(
    "/catalog/imports", response={201: CatalogImportOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}
)
def import_version(
    request: HttpRequest, file: File[UploadedFile], stream: Form[str], label: Form[str], title: Form[str] = ""
) -> Status:
    """Load a new version from Excel or CSV as a draft; every fault is reported by row and column."""
    result = services.import_version(
        actor_of(request),
        stream=stream,
        label=label,
        content=file.read(),
        filename=file.name or "upload.xlsx",
        title=title,
    )
    return Status(
        201,
        {
            "version": _version_out(result.version),
            "entries": result.entries,
            "categories": result.categories,
            "warnings": result.warnings,
            "diff": result.diff.as_dict() if result.diff else None,
            "replaced_draft": result.replaced_draft,
        },
    )


@router.post(
    "/catalog/versions/{version_id}/publish",
    response={200: CatalogVersionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def publish_version(request: HttpRequest, version_id: int, data: PublishIn) -> dict[str, Any]:
    return _version_out(services.publish(actor_of(request), version_id, data.effective_from))


@router.post(
    "/catalog/versions/{version_id}/recodes",
    response={200: CatalogVersionDetailOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def set_recode(request: HttpRequest, version_id: int, data: RecodeIn) -> dict[str, Any]:
    """Record in a draft what an old code became (or, without `new_code`, that it is retired)."""
    actor = actor_of(request)
    version = services.set_recode(actor, version_id, data.old_code, data.new_code)
    return get_version(request, version.pk)


@router.patch(
    "/catalog/versions/{version_id}/entries/{code}",
    response={200: EntryOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
def patch_entry(request: HttpRequest, version_id: int, code: str, data: EntryPatch) -> dict[str, Any]:
    """Fix an entry of a draft before publishing it."""
    entry = services.update_draft_entry(
        actor_of(request), version_id, code, **data.model_dump(exclude_none=True)
    )
    return services.entry_as_dict(entry)
