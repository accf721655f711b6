"""The audit log as a regulator reads it: names for every action, record type and field, in Chinese
and English, and every stored value formatted by its type.

Each zerowaste app contributes its labels in a module `zerowaste.<app>.audit_labels` holding
`ACTIONS` ({action: Action}), `RECORDS` ({model label: Record}) and `FIELDS` ({field: Field}); the
collection below merges them. `core/tests/test_audit_display.py` collects every action the code
writes and fails on one without a label, so a new action arrives with its name.

Entries store their `changes` in two shapes, both legitimately: `{field: [old, new]}` (a diff) and
`{field: value}` (a summary or snapshot), often mixed in one entry. A stored value cannot say which
it is (a list of two container numbers looks like a pair), so each action declares it: `values=True`
when every field is a single value, `single=` the fields that are single values beside a diff. The
chain is append-only, so the reader adapts to the entries as they were written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from types import ModuleType
from typing import Any

from django import forms
from django.apps import apps
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from zerowaste.core.appmodules import app_modules

from . import formatting
from .authz import Actor, audit_entries_about, visible_audit_entries, visible_organizations
from .errors import Invalid
from .models import AuditEntry, Organization


@dataclass(frozen=True)
class Label:
    """A name in both languages of the interface."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.zh if (translation.get_language() or "zh-hans").startswith("zh") else self.en


@dataclass(frozen=True)
class Action(Label):
    values: bool = False  # every field holds a single value (a summary or a snapshot), never [old, new]
    single: frozenset[str] = frozenset()  # fields holding a single value beside a diff


@dataclass(frozen=True)
class Record(Label):
    # object ids -> a readable identifier (a manifest number, an organization's name), in one query
    identify: Callable[[list[str]], dict[str, str]] | None = None


# Kinds of value a field holds, for formatting (a field without a kind is guessed from its name).
QUANTITY_T = "t"
QUANTITY_KG = "kg"
DATETIME = "datetime"
DATE = "date"
BOOLEAN = "bool"
ORGANIZATION = "org"
TEXT = "text"


@dataclass(frozen=True)
class Field(Label):
    kind: str = ""
    choices: Mapping[str, Any] = field(default_factory=dict)  # value -> label (a Label or a lazy text)


def L(zh: str, en: str) -> Label:
    return Label(zh, en)


def A(zh: str, en: str, *, values: bool = False, single: Iterable[str] = ()) -> Action:
    return Action(zh, en, values=values, single=frozenset(single))


def F(zh: str, en: str, kind: str = "", choices: Iterable[tuple[str, Any]] = (), **named: Label) -> Field:
    return Field(zh, en, kind=kind, choices={**dict(choices), **named})


def by_field(model: type[models.Model], *names: str) -> Callable[[list[str]], dict[str, str]]:
    """An identifier read from fields of the record's rows (the manifest number; the organization's
    name and the period of a declaration), for all the page's rows in one query."""

    def identify(ids: list[str]) -> dict[str, str]:
        pks = [i for i in set(ids) if i.isdigit()]
        out = {}
        for pk, *values in model._default_manager.filter(pk__in=pks).values_list("pk", *names):
            shown = " ".join(format_value(v) for v in values if v not in (None, ""))
            if shown:
                out[str(pk)] = shown
        return out

    return identify


def _app_modules() -> list[ModuleType]:
    return app_modules("audit_labels")


@dataclass(frozen=True)
class Registry:
    actions: dict[str, Action]
    records: dict[str, Record]
    fields: dict[str, Field]


@cache
def registry() -> Registry:
    actions: dict[str, Action] = {}
    records: dict[str, Record] = {}
    fields: dict[str, Field] = {}
    for module in _app_modules():
        actions.update(getattr(module, "ACTIONS", {}))
        records.update(getattr(module, "RECORDS", {}))
        fields.update(getattr(module, "FIELDS", {}))
    return Registry(actions, records, fields)


def action_label(action: str) -> str:
    known = registry().actions.get(action)
    return str(known) if known else action


def record_type_label(model: str) -> str:
    known = registry().records.get(model)
    return str(known) if known else model


# --- Fields and values -------------------------------------------------------------------------------


def _model_field(model: str, name: str) -> models.Field[Any, Any] | None:
    try:
        cls = apps.get_model(model)
    except (LookupError, ValueError):
        return None
    for f in cls._meta.concrete_fields:
        if name in (f.name, f.attname):
            return f
    return None


def field_label(name: str, model: str = "") -> str:
    known = registry().fields.get(f"{model}.{name}") or registry().fields.get(name)
    if known:
        return str(known)
    model_field = _model_field(model, name) if model else None
    if model_field is not None and isinstance(model_field.verbose_name, Promise):
        return str(model_field.verbose_name)
    return name


def _kind(name: str, model: str) -> tuple[str, Mapping[str, Any]]:
    known = registry().fields.get(f"{model}.{name}") or registry().fields.get(name)
    choices: Mapping[str, Any] = dict(known.choices) if known else {}
    model_field = _model_field(model, name) if model else None
    if model_field is not None and model_field.choices and not choices:
        choices = {str(k): v for k, v in model_field.flatchoices}
    if known and known.kind:
        return known.kind, choices
    if name.endswith("_t") or "_t_" in name:
        return QUANTITY_T, choices
    if name.endswith("_kg"):
        return QUANTITY_KG, choices
    if name in (LATITUDE, LONGITUDE):
        return name, choices
    if name.endswith("_at"):
        return DATETIME, choices
    if name.endswith(("_on", "_date", "_from", "_to", "_until")) or name == "date":
        return DATE, choices
    return "", choices


def format_quantity(value: Any, unit: str = QUANTITY_T) -> str:
    """A quantity as people read it, by the platform's one formatter (`core/formatting.py`):
    3 decimals for tonnes, thousands separators, the unit in the page's language."""
    return formatting.format_quantity(value, unit)


LATITUDE = "latitude"
LONGITUDE = "longitude"


def format_coordinate(value: Any, axis: str) -> str:
    """A latitude or longitude in degrees, minutes and seconds (39°45′55.8″), as maps print them:
    the six stored decimals would read as a measurement, not a place."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    zh = (translation.get_language() or "zh-hans").startswith("zh")
    positive = number >= 0
    if axis == LATITUDE:
        side = ("北纬" if positive else "南纬") if zh else ("N" if positive else "S")
    else:
        side = ("东经" if positive else "西经") if zh else ("E" if positive else "W")
    total_seconds = (abs(number) * 3600).quantize(Decimal("0.1"))
    degrees, rest = divmod(total_seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{int(degrees)}°{int(minutes)}′{seconds:.1f}″"
    return f"{side}{text}" if zh else f"{text} {side}"


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _yes_no(value: bool) -> str:
    zh = (translation.get_language() or "zh-hans").startswith("zh")
    return ("是" if value else "否") if zh else ("yes" if value else "no")


def format_value(
    value: Any, kind: str = "", choices: Mapping[str, Any] | None = None, orgs: Any = None
) -> str:
    """One stored value as text: dates and times in Asia/Shanghai, quantities with their unit,
    booleans 是/否, choices by their label, lists and mappings as readable lines; never a repr."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _yes_no(value)
    if choices and not isinstance(value, list | dict) and str(value) in choices:
        return str(choices[str(value)])
    if isinstance(value, dict):
        return "；".join(f"{k}: {format_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return "、".join(format_value(v, kind, choices, orgs) for v in value) or "—"
    if kind == ORGANIZATION and orgs is not None and str(value) in orgs:
        return str(orgs[str(value)])
    if kind in (QUANTITY_T, QUANTITY_KG):
        return format_quantity(value, kind)
    if kind in (LATITUDE, LONGITUDE):
        return format_coordinate(value, kind)
    if isinstance(value, datetime) or (
        kind in (DATETIME, "") and isinstance(value, str) and _ISO_DATETIME.match(value)
    ):
        moment = value if isinstance(value, datetime) else parse_datetime(str(value))
        if moment is not None:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, timezone.get_default_timezone())
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        day = value if isinstance(value, date) else parse_date(str(value))
        if day is not None:
            return day.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: str | None  # None: a single value, not a change
    new: str

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "label": self.label, "value": self.new}
        if self.old is not None:
            out["old"] = self.old
        return out

    def __str__(self) -> str:
        return (
            f"{self.label}: {self.old} → {self.new}" if self.old is not None else f"{self.label}: {self.new}"
        )


def _is_pair(action: Action | None, name: str, value: Any) -> bool:
    if action is not None and (action.values or name in action.single):
        return False
    return isinstance(value, list) and len(value) == 2


def _lines(value: Any, model: str, orgs: Mapping[str, str]) -> str:
    """Nested records (a manifest's lines and legs, a declaration's changed lines) as one line each."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "\n".join(_lines(v, model, orgs) for v in value)
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            kind, choices = _kind(str(k), model)
            if isinstance(v, dict):
                shown = _lines(v, model, orgs)
            elif isinstance(v, list) and len(v) == 2 and not isinstance(v[0], dict | list):
                shown = (
                    f"{format_value(v[0], kind, choices, orgs)} → {format_value(v[1], kind, choices, orgs)}"
                )
            else:
                shown = format_value(v, kind, choices, orgs)
            parts.append(f"{field_label(str(k), model)} {shown}")
        return "，".join(parts)
    kind, choices = _kind("", model)
    return format_value(value, kind, choices, orgs)


def _show(name: str, value: Any, model: str, orgs: Mapping[str, str]) -> str:
    kind, choices = _kind(name, model)
    if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
        return _lines(value, model, orgs)
    return format_value(value, kind, choices, orgs)


def changes_of(entry: AuditEntry, orgs: Mapping[str, str] | None = None) -> list[Change]:
    """The entry's changes, each labelled and formatted; a single value is never read as a pair."""
    action = registry().actions.get(entry.action)
    out = []
    orgs = orgs or {}
    for name, value in (entry.changes or {}).items():
        label = field_label(name, entry.model)
        if _is_pair(action, name, value):
            out.append(
                Change(
                    name,
                    label,
                    _show(name, value[0], entry.model, orgs),
                    _show(name, value[1], entry.model, orgs),
                )
            )
        else:
            out.append(Change(name, label, None, _show(name, value, entry.model, orgs)))
    return out


# --- Whole entries ------------------------------------------------------------------------------------

ORGANIZATION_FIELDS = re.compile(
    r"^(organization|consignor|consignee|carrier|current_carrier|next_carrier|storage|receiver|supplier|"
    r"producer|operator)(_id)?$"
)


def _organization_names(entries: list[AuditEntry]) -> dict[str, str]:
    ids: set[str] = set()
    for entry in entries:
        if entry.actor_org_id:
            ids.add(str(entry.actor_org_id))
        if entry.model == "core.organization":
            ids.add(entry.object_id)
        for name, value in (entry.changes or {}).items():
            if ORGANIZATION_FIELDS.match(name):
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
                        ids.add(str(v))
    pks = [int(i) for i in ids if i.isdigit()]
    return {str(pk): name for pk, name in Organization.objects.filter(pk__in=pks).values_list("pk", "name")}


@dataclass(frozen=True)
class ReadableEntry:
    entry: AuditEntry
    at: str
    action_label: str
    record_type: str
    record_label: str
    organization: str
    via: str
    changes: list[Change]
    actor: str = ""  # who acted, as the page names it: the system actor in words, a user by name

    def as_dict(self) -> dict[str, Any]:
        return {
            "action_label": self.action_label,
            "record_type_label": self.record_type,
            "record_label": self.record_label,
            "actor_organization": self.organization,
            "at_local": self.at,
            "changes_readable": [c.as_dict() for c in self.changes],
        }


def readable(entries: Iterable[AuditEntry]) -> list[ReadableEntry]:
    """The entries with their names and formatted values, in a few queries for the whole page."""
    entries = list(entries)
    orgs = _organization_names(entries)
    identifiers: dict[tuple[str, str], str] = {}
    by_model: dict[str, list[str]] = {}
    for entry in entries:
        by_model.setdefault(entry.model, []).append(entry.object_id)
    for model, ids in by_model.items():
        record = registry().records.get(model)
        if record is not None and record.identify is not None:
            for pk, name in record.identify(ids).items():
                identifiers[(model, pk)] = name
    for pk, name in orgs.items():
        identifiers.setdefault(("core.organization", pk), name)
    out = []
    for entry in entries:
        kind = record_type_label(entry.model)
        if entry.object_id == "*":
            name = "（全部）" if _zh() else "(all)"
        else:
            name = identifiers.get((entry.model, entry.object_id)) or f"#{entry.object_id}"
        for_org = orgs.get(str(entry.actor_org_id), "") if entry.actor_org_id else ""
        out.append(
            ReadableEntry(
                entry=entry,
                at=timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                action_label=action_label(entry.action),
                record_type=kind,
                record_label=f"{kind} {name}",
                organization=for_org,
                via=via_label(entry.via),
                changes=changes_of(entry, orgs),
                actor=actor_label(entry),
            )
        )
    return out


def _zh() -> bool:
    return (translation.get_language() or "zh-hans").startswith("zh")


VIA_LABELS = {
    "web": L("网页", "web"),
    "api": L("接口", "API"),
    "cli": L("命令行", "command line"),
    "system": L("系统", "system"),
    "task": L("后台任务", "background task"),
}


def actor_label(entry: AuditEntry) -> str:
    """The acting user's name; the system actor (no user, no token) as 系统 / system."""
    if entry.actor_user_id is None and entry.actor_username == "system":
        return str(VIA_LABELS["system"])
    return entry.actor_username


def via_label(via: str) -> str:
    known = VIA_LABELS.get(via)
    return str(known) if known else via


# --- Filters: the page, the API and the command line narrow the visible log the same way -------------


class AuditFilterForm(forms.Form):
    """Filters of the audit log. They narrow what `visible_audit_entries` lets the actor read and never
    widen it: an organization outside the actor's view is not a choice."""

    user = forms.CharField(label=gettext_lazy("User"), required=False, max_length=150)
    organization = forms.TypedChoiceField(
        label=gettext_lazy("Organization"), required=False, coerce=int, empty_value=None
    )
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    model = forms.ChoiceField(label=gettext_lazy("Record type"), required=False)
    object_id = forms.CharField(label=gettext_lazy("Record id"), required=False, max_length=64)
    date_from = forms.DateField(
        label=pgettext_lazy("audit filter", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("audit filter", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        everyone = [("", pgettext_lazy("audit filter", "All"))]
        orgs = visible_organizations(actor).order_by("name").values_list("pk", "name")
        self.fields["organization"].choices = everyone + [(pk, name) for pk, name in orgs]  # type: ignore[attr-defined]
        labelled = sorted(registry().actions, key=lambda a: (a.split(".")[0], action_label(a)))
        self.fields["action"].choices = everyone + [(a, action_label(a)) for a in labelled]  # type: ignore[attr-defined]
        records = sorted(registry().records, key=record_type_label)
        self.fields["model"].choices = everyone + [(m, record_type_label(m)) for m in records]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", gettext_lazy("must not be before the start date"))
        return data


def filter_form(actor: Actor, data: Mapping[str, Any]) -> AuditFilterForm:
    """The bound filter form; `Invalid` naming the first faulty field (API, command line)."""
    form = AuditFilterForm(actor, {k: v for k, v in data.items() if v not in (None, "")})
    if not form.is_valid():
        errors: list[dict[str, object]] = [
            {"field": name, "message": str(message)}
            for name, messages in form.errors.items()
            for message in messages
        ]
        raise Invalid(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors)
    return form


def search(actor: Actor, form: AuditFilterForm) -> QuerySet[AuditEntry]:
    """The entries the actor may read, narrowed by the form's filters, newest first."""
    qs = visible_audit_entries(actor)
    data = form.cleaned_data
    if data.get("user"):
        qs = qs.filter(actor_username=data["user"])
    if data.get("organization"):
        org = Organization.objects.filter(pk=data["organization"]).values("pk")
        qs = qs.filter(Q(actor_org_id=data["organization"]) | audit_entries_about(org))
    if data.get("action"):
        qs = qs.filter(action=data["action"])
    if data.get("model"):
        qs = qs.filter(model=data["model"])
    if data.get("object_id"):
        qs = qs.filter(object_id=data["object_id"])
    if data.get("date_from"):
        qs = qs.filter(at__gte=_start_of(data["date_from"]))
    if data.get("date_to"):
        qs = qs.filter(at__lt=_start_of(data["date_to"] + timedelta(days=1)))
    return qs.order_by("-seq")


def _start_of(day: date) -> datetime:
    """Midnight of `day` in the zone's time (Asia/Shanghai)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


# --- Export and rows ---------------------------------------------------------------------------------

EXPORT_LIMIT = 100_000


def export_headers() -> list[str]:
    return [
        str(h)
        for h in (
            gettext_lazy("Sequence"),
            gettext_lazy("Time"),
            gettext_lazy("User"),
            gettext_lazy("Organization"),
            gettext_lazy("Via"),
            gettext_lazy("Action"),
            gettext_lazy("Record"),
            gettext_lazy("Changes"),
            gettext_lazy("Hash"),
        )
    ]


def export_rows(entries: QuerySet[AuditEntry]) -> Iterator[list[Any]]:
    batch: list[AuditEntry] = []
    for entry in entries[:EXPORT_LIMIT].iterator(chunk_size=1000):
        batch.append(entry)
        if len(batch) == 1000:
            yield from _rows(batch)
            batch = []
    yield from _rows(batch)


def _rows(batch: list[AuditEntry]) -> Iterator[list[Any]]:
    for r in readable(batch):
        e = r.entry
        yield [
            e.seq,
            r.at,
            e.actor_username,
            r.organization,
            via_label(e.via),
            r.action_label,
            r.record_label,
            "\n".join(str(c) for c in r.changes),
            e.hash,
        ]


def export(entries: QuerySet[AuditEntry], fmt: str) -> tuple[bytes, str, str]:
    """The filtered log as (content, content type, extension), through the platform's one writer."""
    from . import tabular

    headers = export_headers()
    if fmt == "csv":
        return tabular.write_csv(headers, export_rows(entries)), "text/csv; charset=utf-8", "csv"
    if fmt != "xlsx":
        raise Invalid.field("format", gettext("csv or xlsx"))
    return (
        tabular.write_xlsx(str(gettext_lazy("Audit log")), headers, list(export_rows(entries))),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )


def entry_dict(r: ReadableEntry) -> dict[str, Any]:
    """An entry's raw fields and, beside them, its readable names and values (API, command line)."""
    e = r.entry
    return {
        "id": e.pk,
        "zone_id": e.zone_id,
        "seq": e.seq,
        "at": e.at,
        "actor_username": e.actor_username,
        "actor_org_id": e.actor_org_id,
        "via": e.via,
        "action": e.action,
        "model": e.model,
        "object_id": e.object_id,
        "changes": e.changes,
        "request_id": e.request_id,
        "hash": e.hash,
        "via_label": via_label(e.via),
        **r.as_dict(),
    }


class ReadablePage:
    """A queryset of entries that the API's pagination slices: each slice comes back readable, in a
    few queries for the whole slice."""

    def __init__(self, entries: QuerySet[AuditEntry]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return self.entries.count()

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [entry_dict(r) for r in readable(self.entries[window])]
