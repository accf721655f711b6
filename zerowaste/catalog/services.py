"""Catalog use cases. The public services every later app calls are `code_valid` and `resolve`:
a declaration, manifest or listing names its waste by a code that must be active in the version of
its stream in force on the record's date.

    from zerowaste.catalog.services import code_valid, resolve
    check = code_valid(zone_id, "isw", "99-08-03", date(2021, 3, 1))
    if not check.ok: raise Invalid.field("waste_code", check.message)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import Zone
from zerowaste.core.services import check_text
from zerowaste.core.tabular import ImportRejected, Limits, read_table, write_xlsx

from . import rules
from .models import CatalogCategory, CatalogEntry, CatalogVersion, CodeMapping

DATA_DIR = Path(__file__).resolve().parent / "data"
IMPORT_MAX_ROWS = 5_000  # rows of a catalog file


# --- Who may change catalogs -----------------------------------------------------------------------


def may_manage(actor: Actor | None) -> bool:
    """Only the zone's regulators (or the system) import and publish catalogs."""
    if actor is None:
        return False
    return actor.is_system or (actor.is_regulator and actor.can("zone.register_org"))


def _require_manager(actor: Actor) -> None:
    if not may_manage(actor):
        raise Forbidden(_("only the zone's regulator may import or publish catalogs"))


def public_zone(code: str | None = None) -> Zone:
    """The zone a public (anonymous) read is about: the named one, else the only or the demo zone."""
    if code:
        zone = Zone.objects.filter(code=code).first()
        if zone is None:
            raise NotFound(_("no zone %(code)s") % {"code": code})
        return zone
    zones = list(Zone.objects.order_by("pk")[:2])
    if len(zones) == 1:
        return zones[0]
    from zerowaste.core.demo import DEMO_ZONE_CODE

    zone = Zone.objects.filter(code=DEMO_ZONE_CODE).first() or (zones[0] if zones else None)
    if zone is None:
        raise NotFound(_("no zone yet"))
    return zone


# --- Versions --------------------------------------------------------------------------------------


def _check_stream(stream: str) -> None:
    if stream not in rules.STREAMS:
        raise Invalid.field(
            "stream",
            _("unknown stream %(s)s; one of %(all)s") % {"s": stream, "all": ", ".join(rules.STREAMS)},
        )


def list_versions(
    zone_id: int, stream: str | None = None, *, include_drafts: bool = False
) -> list[CatalogVersion]:
    qs = CatalogVersion.objects.filter(zone_id=zone_id)
    if stream:
        _check_stream(stream)
        qs = qs.filter(stream=stream)
    if not include_drafts:
        qs = qs.filter(status=CatalogVersion.Status.PUBLISHED)
    return list(qs.order_by("stream", "-effective_from", "-created_at"))


def get_version(zone_id: int, version_id: int, actor: Actor | None = None) -> CatalogVersion:
    """A version of the zone; drafts only for those who manage catalogs."""
    version = CatalogVersion.objects.filter(zone_id=zone_id, pk=version_id).first()
    if version is None or (not version.is_published and not may_manage(actor)):
        raise NotFound(_("catalog version %(id)s not found") % {"id": version_id})
    return version


def _in_force(published: Iterable[CatalogVersion], on_date: date) -> CatalogVersion | None:
    ordered = sorted((v for v in published if v.effective_from), key=lambda v: v.effective_from or date.min)
    current = None
    for version in ordered:
        if version.effective_from and version.effective_from <= on_date:
            current = version
    if current is None and ordered and ordered[0].covers_earlier:
        current = ordered[0]
    return current


def versions_in_force(zone_id: int, on_date: date | None = None) -> dict[str, CatalogVersion]:
    """stream -> the version in force on `on_date` (today by default); one query."""
    on_date = on_date or timezone.localdate()
    published = list(CatalogVersion.objects.filter(zone_id=zone_id, status=CatalogVersion.Status.PUBLISHED))
    out: dict[str, CatalogVersion] = {}
    for stream in rules.STREAMS:
        version = _in_force([v for v in published if v.stream == stream], on_date)
        if version is not None:
            out[stream] = version
    return out


def version_in_force(zone_id: int, stream: str, on_date: date | None = None) -> CatalogVersion | None:
    _check_stream(stream)
    on_date = on_date or timezone.localdate()
    return _in_force(
        CatalogVersion.objects.filter(zone_id=zone_id, stream=stream, status=CatalogVersion.Status.PUBLISHED),
        on_date,
    )


def version_label(version: CatalogVersion) -> str:
    names = dict(rules.STREAM_CHOICES)
    when = version.effective_from.isoformat() if version.effective_from else _("not published")
    return _("%(stream)s catalog %(label)s (in force from %(date)s)") % {
        "stream": names.get(version.stream, version.stream),
        "label": version.label,
        "date": when,
    }


# --- The one validation service --------------------------------------------------------------------


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    code: str
    stream: str
    on_date: date
    message: str = ""
    entry: CatalogEntry | None = None
    version: CatalogVersion | None = None
    replaced_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "code": self.code,
            "stream": self.stream,
            "on_date": self.on_date,
            "message": self.message,
            "version": self.version.label if self.version else None,
            "version_id": self.version.pk if self.version else None,
            "name": self.entry.name if self.entry else None,
            "name_en": self.entry.name_en if self.entry else None,
            "requires_free_text": bool(self.entry and self.entry.needs_free_text),
            "replaced_by": self.replaced_by,
        }


def code_valid(
    zone_id: int, stream: str, code: str, on_date: date, *, free_text: str | None = None
) -> CodeCheck:
    """Whether `code` may be used for a record of `stream` dated `on_date` in the zone.

    The answer names the version in force; a code that a later version retired or re-coded is refused
    with the version that did it. An entry that requires a free-text name (`99-14-01`) is refused
    when `free_text` is given blank; callers pass the declarer's text.
    """
    _check_stream(stream)
    code = (code or "").strip()
    problem = rules.validate_code(stream, code)
    if problem:
        return CodeCheck(False, code, stream, on_date, problem)
    version = version_in_force(zone_id, stream, on_date)
    if version is None:
        return CodeCheck(
            False,
            code,
            stream,
            on_date,
            _("no %(stream)s catalog is in force on %(date)s")
            % {"stream": stream, "date": on_date.isoformat()},
        )
    entry = (
        CatalogEntry.objects.filter(zone_id=zone_id, version=version, code=code)
        .select_related("category", "version")
        .first()
    )
    if entry is None:
        mapping = (
            CodeMapping.objects.filter(
                zone_id=zone_id,
                stream=stream,
                from_code=code,
                to_version__status=CatalogVersion.Status.PUBLISHED,
                to_version__effective_from__lte=on_date,
            )
            .select_related("to_version")
            .order_by("-to_version__effective_from")
            .first()
        )
        if mapping is not None and mapping.kind == CodeMapping.Kind.RECODED:
            message = _(
                "%(code)s was re-coded to %(new)s by the %(version)s; not valid for records of %(date)s"
            ) % {
                "code": code,
                "new": mapping.to_code,
                "version": version_label(mapping.to_version),
                "date": on_date.isoformat(),
            }
            return CodeCheck(False, code, stream, on_date, message, None, version, mapping.to_code)
        if mapping is not None:
            message = _("%(code)s was retired by the %(version)s; not valid for records of %(date)s") % {
                "code": code,
                "version": version_label(mapping.to_version),
                "date": on_date.isoformat(),
            }
            return CodeCheck(False, code, stream, on_date, message, None, version)
        message = _("%(code)s is not in the %(version)s") % {"code": code, "version": version_label(version)}
        return CodeCheck(False, code, stream, on_date, message, None, version)
    if entry.needs_free_text and free_text is not None and not free_text.strip():
        message = _("%(code)s %(name)s needs a free-text name of the waste") % {
            "code": code,
            "name": entry.name,
        }
        return CodeCheck(False, code, stream, on_date, message, entry, version)
    return CodeCheck(True, code, stream, on_date, "", entry, version)


def resolve(zone_id: int, code: str, on_date: date, stream: str | None = None) -> CatalogEntry:
    """The entry `code` names on `on_date`, or Invalid (field `waste_code`) saying why not."""
    guessed = rules.guess_stream(code)
    streams = [stream] if stream else ([guessed] if guessed else ["household", "construction"])
    last: CodeCheck | None = None
    for candidate in streams:
        check = code_valid(zone_id, candidate, code, on_date)
        if check.ok and check.entry is not None:
            return check.entry
        last = check
    assert last is not None
    raise Invalid.field("waste_code", last.message)


# --- Search and detail -----------------------------------------------------------------------------


@dataclass
class SearchResult:
    entries: list[CatalogEntry]
    total: int
    versions: dict[str, CatalogVersion]


def search(
    zone_id: int,
    query: str = "",
    *,
    stream: str | None = None,
    category: str | None = None,
    hazard: str | None = None,
    version_id: int | None = None,
    on_date: date | None = None,
    limit: int = 100,
    actor: Actor | None = None,
) -> SearchResult:
    """Entries of the versions in force (or of one version) matching every word of `query`.

    Three queries whatever the query: the versions, the count, the page of entries (ranked in SQL).
    """
    if stream:
        _check_stream(stream)
    # Search words reach SQL as parameters; PostgreSQL refuses NUL and nothing matches control characters.
    query = check_text(query, "q", max_length=200)
    category = check_text(category, "category", max_length=32) or None
    if version_id is not None:
        version = get_version(zone_id, version_id, actor)
        versions = {version.stream: version}
    else:
        versions = versions_in_force(zone_id, on_date)
    if stream:
        versions = {s: v for s, v in versions.items() if s == stream}
    qs = CatalogEntry.objects.filter(
        zone_id=zone_id, version_id__in=[v.pk for v in versions.values()]
    ).select_related("category", "version")
    for word in rules.search_words(query):
        qs = qs.filter(search_text__contains=word)
    if category:
        qs = qs.filter(category__code=category.strip())
    if hazard:
        if hazard not in rules.HAZARD_CHARACTERISTICS:
            raise Invalid.field(
                "hazard", _("one of %(all)s") % {"all": ", ".join(rules.HAZARD_CHARACTERISTICS)}
            )
        qs = qs.filter(search_text__contains=f" haz-{hazard.lower()} ")
    total = qs.count()
    text = query.strip()
    rank = (
        Case(
            When(code__iexact=text, then=Value(0)),
            When(code__istartswith=text, then=Value(1)),
            When(category__code__iexact=text, then=Value(2)),
            When(Q(name__istartswith=text) | Q(name_en__istartswith=text), then=Value(3)),
            When(Q(name__icontains=text) | Q(name_en__icontains=text), then=Value(4)),
            default=Value(5),
            output_field=IntegerField(),
        )
        if text
        else Value(5, output_field=IntegerField())
    )
    stream_order = Case(
        *[When(stream=s, then=Value(i)) for i, s in enumerate(rules.STREAMS)],
        default=Value(9),
        output_field=IntegerField(),
    )
    ranked = qs.annotate(rank=rank, stream_order=stream_order).order_by("rank", "stream_order", "position")
    page: list[CatalogEntry] = list(ranked[: max(1, min(limit, 100000))])
    return SearchResult(page, total, versions)


@dataclass
class EntryDetail:
    entry: CatalogEntry
    occurrences: list[CatalogEntry]
    mappings: list[CodeMapping]


def entry_detail(
    zone_id: int, stream: str, code: str, *, version_id: int | None = None, actor: Actor | None = None
) -> EntryDetail:
    """An entry, the published versions it exists in, and what it maps to (or from) in other versions."""
    _check_stream(stream)
    occurrences = list(
        CatalogEntry.objects.filter(zone_id=zone_id, stream=stream, code=code)
        .select_related("category", "version")
        .order_by("-version__effective_from")
    )
    visible = [e for e in occurrences if e.version.is_published or may_manage(actor)]
    entry: CatalogEntry | None
    if version_id is not None:
        entry = next((e for e in visible if e.version_id == version_id), None)
    else:
        in_force = version_in_force(zone_id, stream)
        entry = next((e for e in visible if in_force and e.version_id == in_force.pk), None)
        entry = (
            entry
            or next((e for e in visible if e.version.is_published), None)
            or (visible[0] if visible else None)
        )
    if entry is None:
        raise NotFound(_("no catalog entry %(code)s") % {"code": code})
    mappings = list(
        CodeMapping.objects.filter(zone_id=zone_id, stream=stream)
        .filter(Q(from_code=code) | Q(to_code=code))
        .select_related("from_version", "to_version")
        .order_by("to_version__effective_from")
    )
    return EntryDetail(entry, [e for e in visible if e.version.is_published], mappings)


def entry_as_dict(entry: CatalogEntry) -> dict[str, Any]:
    data: dict[str, Any] = {
        "stream": entry.stream,
        "code": entry.code,
        "name": entry.name,
        "name_en": entry.name_en,
        "category": entry.category.code,
        "category_name": entry.category.name,
        "category_name_en": entry.category.name_en,
        "version": entry.version.label,
        "version_id": entry.version_id,
        "description": entry.description,
        "requires_free_text": entry.requires_free_text,
        "flags": list(entry.flags),
    }
    if entry.stream == "hw":
        data["industry"] = entry.industry
        data["hazard"] = entry.hazard.as_dict()
    if entry.stream == "household":
        data["colour"] = entry.colour or entry.category.colour
    return data


# --- Import, fix, diff, publish --------------------------------------------------------------------


@dataclass
class ImportResult:
    version: CatalogVersion
    warnings: list[dict[str, Any]]
    diff: rules.CatalogDiff | None
    entries: int
    categories: int
    replaced_draft: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _snapshots(version: CatalogVersion) -> dict[str, rules.EntrySnapshot]:
    return {
        code: rules.EntrySnapshot(code, name, cat, name_en)
        for code, name, name_en, cat in CatalogEntry.objects.filter(
            zone_id=version.zone_id, version=version
        ).values_list("code", "name", "name_en", "category__code")
    }


def _known_categories(base: CatalogVersion | None) -> dict[str, rules.ParsedCategory]:
    if base is None:
        return {}
    return {
        c.code: rules.ParsedCategory(c.code, c.name, c.name_en, c.colour, c.position)
        for c in CatalogCategory.objects.filter(zone_id=base.zone_id, version=base)
    }


def _latest_published(zone_id: int, stream: str) -> CatalogVersion | None:
    return (
        CatalogVersion.objects.filter(zone_id=zone_id, stream=stream, status=CatalogVersion.Status.PUBLISHED)
        .order_by("-effective_from")
        .first()
    )


def _entry_search_text(stream: str, category: CatalogCategory, e: rules.ParsedEntry) -> str:
    hazard_tokens = " ".join(f"haz-{c.lower()}" for c in (e.hazard.characteristics if e.hazard else ()))
    return (
        " "
        + rules.search_text(
            e.code,
            e.code.replace("-", ""),
            category.code,
            category.name,
            category.name_en,
            e.name,
            e.name_en,
            e.description,
            e.industry,
            e.hazard.raw if e.hazard else "",
            stream,
            hazard_tokens,
        )
        + " "
    )


def import_version(
    actor: Actor,
    *,
    stream: str,
    label: str,
    content: bytes,
    filename: str,
    title: str = "",
    source: str = "",
    category_names_en: dict[str, str] | None = None,
    entry_names_en: dict[str, str] | None = None,
) -> ImportResult:
    """Read a catalog file into a draft version of the actor's zone; nothing is written on any fault.

    Importing again under the label of a draft replaces the draft. Returns the warnings (source
    defects that are kept and flagged) and the diff against the version in force.
    """
    _require_manager(actor)
    _check_stream(stream)
    label = (label or "").strip()
    if not label:
        raise Invalid.field("label", _("give the version a label, e.g. 2021"))
    # A catalog has hundreds of codes (the national HW list 467): more rows is not a catalog.
    table = read_table(
        content, filename, rules.IMPORT_COLUMNS, limits=Limits.from_settings(max_rows=IMPORT_MAX_ROWS)
    )
    if table.faults:
        raise ImportRejected(table.faults)
    base = _latest_published(actor.zone_id, stream)
    parsed = rules.parse_catalog(stream, table.rows, _known_categories(base))
    if parsed.faults:
        raise ImportRejected(parsed.faults)
    for code, name_en in (category_names_en or {}).items():
        if code in parsed.categories and not parsed.categories[code].name_en:
            parsed.categories[code].name_en = name_en
    for entry in parsed.entries:  # English names the file lacks, e.g. of the bundled national list
        if not entry.name_en and entry.code in (entry_names_en or {}):
            entry.name_en = (entry_names_en or {})[entry.code]

    with transaction.atomic():
        existing = (
            CatalogVersion.objects.select_for_update()
            .filter(zone_id=actor.zone_id, stream=stream, label=label)
            .first()
        )
        replaced = False
        if existing is not None:
            if existing.is_published:
                raise Conflict(
                    _("version %(label)s of %(stream)s is published; import under a new label")
                    % {"label": label, "stream": stream}
                )
            CatalogEntry.objects.filter(zone_id=actor.zone_id, version=existing).delete()
            CatalogCategory.objects.filter(zone_id=actor.zone_id, version=existing).delete()
            version = existing
            replaced = True
        else:
            version = CatalogVersion(zone_id=actor.zone_id, stream=stream, label=label)
        version.title = title or version.title
        version.source = source or filename
        version.warnings = [w.as_dict() for w in parsed.warnings]
        version.based_on = base
        version.recodes = {e.replaces: e.code for e in parsed.entries if e.replaces}
        version.save()
        categories = {}
        for pc in parsed.categories.values():
            categories[pc.code] = CatalogCategory(
                zone_id=actor.zone_id,
                version=version,
                code=pc.code,
                name=pc.name,
                name_en=pc.name_en,
                colour=pc.colour,
                position=pc.position,
            )
        CatalogCategory.objects.bulk_create(categories.values())
        entries = []
        for e in parsed.entries:
            category = categories[e.category]
            entries.append(
                CatalogEntry(
                    zone_id=actor.zone_id,
                    version=version,
                    category=category,
                    stream=stream,
                    code=e.code,
                    name=e.name,
                    name_en=e.name_en,
                    description=e.description,
                    industry=e.industry,
                    hazard_raw=e.hazard.raw if e.hazard else "",
                    hazard_primary=",".join(e.hazard.primary) if e.hazard else "",
                    hazard_possible=",".join(e.hazard.possible) if e.hazard else "",
                    hazard_one_or_more=bool(e.hazard and e.hazard.one_or_more),
                    colour=e.colour or category.colour,
                    requires_free_text=e.requires_free_text,
                    flags=e.flags,
                    remark=e.remark,
                    position=e.position,
                    search_text=_entry_search_text(stream, category, e),
                )
            )
        CatalogEntry.objects.bulk_create(entries, batch_size=500)
        audit.record(
            actor,
            "catalog.import",
            version,
            {
                "stream": stream,
                "label": label,
                "file": filename,
                "entries": len(entries),
                "categories": len(categories),
                "warnings": len(parsed.warnings),
                "replaced_draft": replaced,
            },
        )
    diff = rules.compute_diff(_snapshots(base), _snapshots(version), version.recodes) if base else None
    return ImportResult(version, version.warnings, diff, len(entries), len(categories), replaced)


def diff_version(
    zone_id: int, version_id: int, *, against_id: int | None = None, actor: Actor | None = None
) -> tuple[CatalogVersion, CatalogVersion | None, rules.CatalogDiff]:
    """The diff of a version against `against_id`, or against the version it was based on / in force."""
    version = get_version(zone_id, version_id, actor)
    if against_id is not None:
        base: CatalogVersion | None = get_version(zone_id, against_id, actor)
    elif version.is_published:
        base = (
            CatalogVersion.objects.filter(
                zone_id=zone_id,
                stream=version.stream,
                status=CatalogVersion.Status.PUBLISHED,
                effective_from__lt=version.effective_from,
            )
            .order_by("-effective_from")
            .first()
        )
    else:
        base = _latest_published(zone_id, version.stream)
    old = _snapshots(base) if base else {}
    return version, base, rules.compute_diff(old, _snapshots(version), version.recodes)


def _draft_for_change(actor: Actor, version_id: int) -> CatalogVersion:
    _require_manager(actor)
    version = CatalogVersion.objects.select_for_update().filter(zone_id=actor.zone_id, pk=version_id).first()
    if version is None:
        raise NotFound(_("catalog version %(id)s not found") % {"id": version_id})
    if version.is_published:
        raise Conflict(
            _("version %(label)s is published and can no longer change; import a new version")
            % {"label": version.label}
        )
    return version


@transaction.atomic
def set_recode(actor: Actor, version_id: int, old_code: str, new_code: str | None) -> CatalogVersion:
    """Record, in a draft, that `old_code` of the version in force became `new_code` (None: retired)."""
    version = _draft_for_change(actor, version_id)
    base = _latest_published(actor.zone_id, version.stream)
    if (
        base is None
        or not CatalogEntry.objects.filter(zone_id=actor.zone_id, version=base, code=old_code).exists()
    ):
        raise Invalid.field("old_code", _("%(code)s is not in the version in force") % {"code": old_code})
    recodes = dict(version.recodes)
    if new_code:
        if not CatalogEntry.objects.filter(zone_id=actor.zone_id, version=version, code=new_code).exists():
            raise Invalid.field("new_code", _("%(code)s is not in this draft") % {"code": new_code})
        recodes[old_code] = new_code
    else:
        recodes.pop(old_code, None)
    before = version.recodes
    version.recodes = recodes
    version.save(update_fields=["recodes"])
    audit.record(actor, "catalog.recode", version, {"recodes": [before, recodes]})
    return version


EDITABLE_FIELDS = ("name", "name_en", "description", "category")


@transaction.atomic
def update_draft_entry(actor: Actor, version_id: int, code: str, **changes: Any) -> CatalogEntry:
    """Fix one entry of a draft: its name, English name, description or category."""
    version = _draft_for_change(actor, version_id)
    entry = (
        CatalogEntry.objects.filter(zone_id=actor.zone_id, version=version, code=code)
        .select_related("category")
        .first()
    )
    if entry is None:
        raise NotFound(_("no entry %(code)s in this draft") % {"code": code})
    before = audit.snapshot(entry, ["name", "name_en", "description", "category_id"])
    for key, value in changes.items():
        if key not in EDITABLE_FIELDS or value is None:
            continue
        if key == "category":
            category = CatalogCategory.objects.filter(
                zone_id=actor.zone_id, version=version, code=value
            ).first()
            if category is None:
                raise Invalid.field(
                    "category", _("category %(cat)s does not exist in this version") % {"cat": value}
                )
            entry.category = category
        else:
            value = " ".join(str(value).split())
            if key == "name" and not value:
                raise Invalid.field("name", _("the name is empty"))
            setattr(entry, key, value)
    if entry.name and "name_missing" in entry.flags:
        entry.flags = [f for f in entry.flags if f != "name_missing"]
    entry.requires_free_text = rules.FREE_TEXT_MARK in entry.name
    parsed = rules.ParsedEntry(
        0,
        entry.category.code,
        entry.code,
        entry.name,
        entry.name_en,
        entry.description,
        entry.industry,
        entry.hazard if entry.hazard_raw else None,
    )
    entry.search_text = _entry_search_text(version.stream, entry.category, parsed)
    entry.save()
    audit.record(
        actor,
        "catalog.entry_edit",
        entry,
        audit.diff(before, audit.snapshot(entry, ["name", "name_en", "description", "category_id"])),
    )
    return entry


@transaction.atomic
def publish(
    actor: Actor, version_id: int, effective_from: date, *, covers_earlier: bool = False
) -> CatalogVersion:
    """Put a draft in force from `effective_from` and record what each old code became."""
    version = _draft_for_change(actor, version_id)
    if effective_from is None:
        raise Invalid.field("effective_from", _("give the date the version takes effect"))
    base = _latest_published(actor.zone_id, version.stream)
    if base is not None and base.effective_from and effective_from <= base.effective_from:
        raise Invalid.field(
            "effective_from",
            _("must be after %(date)s, when the version in force (%(label)s) took effect")
            % {"date": base.effective_from.isoformat(), "label": base.label},
        )
    diff = rules.compute_diff(_snapshots(base) if base else {}, _snapshots(version), version.recodes)
    version.status = CatalogVersion.Status.PUBLISHED
    version.effective_from = effective_from
    version.covers_earlier = covers_earlier and base is None
    version.published_at = timezone.now()
    version.based_on = base
    version.save()
    if base is not None:
        changed_pairs: list[tuple[str, list[tuple[Any, Any]]]] = [
            (CodeMapping.Kind.RECODED, diff.recoded),
            (CodeMapping.Kind.RENAMED, diff.renamed),
            (CodeMapping.Kind.RECATEGORISED, diff.recategorised),
            (CodeMapping.Kind.RETIRED, [(old, None) for old in diff.retired]),
        ]
        mappings = [
            CodeMapping(
                zone_id=actor.zone_id,
                stream=version.stream,
                from_version=base,
                from_code=old.code,
                to_version=version,
                to_code=new.code if new is not None else "",
                kind=kind,
            )
            for kind, pairs in changed_pairs
            for old, new in pairs
        ]
        CodeMapping.objects.bulk_create(mappings)
    audit.record(
        actor,
        "catalog.publish",
        version,
        {
            "stream": version.stream,
            "label": version.label,
            "effective_from": effective_from,
            "based_on": base.label if base else None,
            "diff": {k: len(v) if isinstance(v, list) else v for k, v in diff.as_dict().items()},
        },
    )
    return version


# --- Export ----------------------------------------------------------------------------------------

EXPORT_HEADERS = [
    "序号",
    "废物类别",
    "类别名称",
    "类别英文名称",
    "废物代码",
    "废物名称",
    "英文名称",
    "危险特性",
    "行业来源",
    "颜色",
    "说明",
    "备注",
]


def export_xlsx(
    zone_id: int, stream: str, *, version_id: int | None = None, actor: Actor | None = None
) -> tuple[str, bytes]:
    """The catalog in force (or one version) as a workbook that imports back unchanged."""
    _check_stream(stream)
    if version_id is not None:
        version: CatalogVersion | None = get_version(zone_id, version_id, actor)
    else:
        version = version_in_force(zone_id, stream)
    if version is None or version.stream != stream:
        raise NotFound(_("no %(stream)s catalog is in force") % {"stream": stream})
    rows = []
    qs = (
        CatalogEntry.objects.filter(zone_id=zone_id, version=version)
        .select_related("category")
        .order_by("category__position", "position")
    )
    for n, e in enumerate(qs, start=1):
        rows.append(
            [
                n,
                e.category.code,
                e.category.name,
                e.category.name_en,
                e.code,
                e.name,
                e.name_en,
                e.hazard_raw,
                e.industry,
                e.colour,
                e.description,
                e.remark,
            ]
        )
    filename = f"catalog-{stream}-{version.label}.xlsx"
    return filename, write_xlsx(f"{stream} {version.label}", EXPORT_HEADERS, rows)


# --- The catalogs every zone starts with ----------------------------------------------------------

HW_CATEGORY_EN = {
    "HW01": "Medical waste",
    "HW02": "Pharmaceutical waste",
    "HW03": "Waste medicines and drugs",
    "HW04": "Pesticide waste",
    "HW05": "Wood preservative waste",
    "HW06": "Waste organic solvents and organic-solvent-containing waste",
    "HW07": "Cyanide-containing heat treatment waste",
    "HW08": "Waste mineral oil and mineral-oil-containing waste",
    "HW09": "Oil/water and hydrocarbon/water mixtures or emulsions",
    "HW10": "Polychlorinated (polybrominated) biphenyl waste",
    "HW11": "Distillation residues",
    "HW12": "Dye and paint waste",
    "HW13": "Organic resin waste",
    "HW14": "New chemical substance waste",
    "HW15": "Explosive waste",
    "HW16": "Photosensitive material waste",
    "HW17": "Surface treatment waste",
    "HW18": "Incineration residues",
    "HW19": "Metal carbonyl waste",
    "HW20": "Beryllium-containing waste",
    "HW21": "Chromium-containing waste",
    "HW22": "Copper-containing waste",
    "HW23": "Zinc-containing waste",
    "HW24": "Arsenic-containing waste",
    "HW25": "Selenium-containing waste",
    "HW26": "Cadmium-containing waste",
    "HW27": "Antimony-containing waste",
    "HW28": "Tellurium-containing waste",
    "HW29": "Mercury-containing waste",
    "HW30": "Thallium-containing waste",
    "HW31": "Lead-containing waste",
    "HW32": "Inorganic fluoride waste",
    "HW33": "Inorganic cyanide waste",
    "HW34": "Waste acid",
    "HW35": "Waste alkali",
    "HW36": "Asbestos waste",
    "HW37": "Organophosphorus compound waste",
    "HW38": "Organic cyanide waste",
    "HW39": "Phenol-containing waste",
    "HW40": "Ether-containing waste",
    "HW45": "Organic halide waste",
    "HW46": "Nickel-containing waste",
    "HW47": "Barium-containing waste",
    "HW48": "Non-ferrous metal mining and smelting waste",
    "HW49": "Other waste",
    "HW50": "Waste catalysts",
}


@dataclass(frozen=True)
class StandardCatalog:
    stream: str
    label: str
    filename: str
    title: str
    source: str
    effective_from: date
    names_en_file: str = ""  # code,name_en: English names of the entries (this project's translation)


def read_names_en(filename: str) -> dict[str, str]:
    """code -> English name from a bundled `code,name_en` file (empty names are left out)."""
    with (DATA_DIR / filename).open(encoding="utf-8-sig", newline="") as f:
        return {
            row["code"].strip(): " ".join(row["name_en"].split())
            for row in csv.DictReader(f)
            if row.get("code") and (row.get("name_en") or "").strip()
        }


STANDARD_CATALOGS = (
    StandardCatalog(
        "isw",
        "2020",
        "isw_catalog_2020.csv",
        "北京经济技术开发区一般工业固体废物分类名录",
        "北京经济技术开发区管理委员会 2020-09-23 印发",  # seed:3757-3889
        date(2020, 9, 23),
    ),
    StandardCatalog(
        "hw",
        "2021",
        "national_hazardous_waste_list_2021.csv",
        "国家危险废物名录（2021年版）",
        "生态环境部令第15号附件",
        date(2021, 1, 1),
        names_en_file="national_hazardous_waste_list_2021.en.csv",
    ),
    StandardCatalog(
        "household",
        "2020",
        "household_classes_2020.csv",
        "生活垃圾分类",
        "北京市生活垃圾管理条例",  # seed:4690-4712, 5464-5510
        date(2020, 5, 1),
    ),
    StandardCatalog(
        "construction",
        "2021",
        "construction_types_2021.csv",
        "建筑垃圾类别",
        "seed:1661-1667, 4130-4358",
        date(2021, 1, 4),
    ),
)


def load_standard_catalogs(actor: Actor, streams: Iterable[str] | None = None) -> list[ImportResult]:
    """Import and publish the bundled catalogs into the actor's zone; versions already there are kept."""
    _require_manager(actor)
    wanted = set(streams or rules.STREAMS)
    results = []
    for std in STANDARD_CATALOGS:
        if std.stream not in wanted:
            continue
        if CatalogVersion.objects.filter(
            zone_id=actor.zone_id, stream=std.stream, status=CatalogVersion.Status.PUBLISHED
        ).exists():
            continue
        with transaction.atomic():
            result = import_version(
                actor,
                stream=std.stream,
                label=std.label,
                content=(DATA_DIR / std.filename).read_bytes(),
                filename=std.filename,
                title=std.title,
                source=std.source,
                category_names_en=HW_CATEGORY_EN if std.stream == "hw" else None,
                entry_names_en=read_names_en(std.names_en_file) if std.names_en_file else None,
            )
            # The first version known to the zone also answers for records dated before it.
            result.version = publish(actor, result.version.pk, std.effective_from, covers_earlier=True)
        results.append(result)
    return results
