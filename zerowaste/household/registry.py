"""The household registry (一户一码): who may keep it, its lists, edits and deactivation, the Excel
workbook (import and export) and the tiles of the printable QR sheets.

Who registers (README, "Household registry"): the zone's regulators for the whole zone, a street
regulator for the communities of its street, and a property / community organization (core role
`property`) for the community (or street) its organization is registered in. Their members with the
admin or clerk role write; viewers read. Everyone else is refused. Objects outside the actor's reach
answer 404, like every other row one may not see.

Nothing is deleted: events reference sources, stations and bins (PROTECT), so they are deactivated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zerowaste.core import audit, formatting, tabular
from zerowaste.core.authz import Actor, _area_and_descendants
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Area, Organization
from zerowaste.core.tabular import Column, Fault, ImportRejected, Limits, Row, new_workbook, read_table
from zerowaste.core.tabular import workbook_bytes as _workbook_bytes

from . import registry_xlsx, rules, services
from .models import Bin, Device, Source, Station

WRITER_ROLES = services.REGISTRY_ROLES  # admin, clerk
# Codes travel in URLs (/household/scan/source/<code>) and on printed tiles: plain characters only.
CODE_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")
BATCH = 5000

# --- Who may keep the registry ----------------------------------------------------------------------


def reach(actor: Actor) -> frozenset[int] | None:
    """The areas whose registry the actor reads (None: the whole zone), or Forbidden."""
    if actor.is_system:
        return None
    if actor.is_regulator:
        return actor.jurisdiction_area_ids
    org = actor.organization
    if "property" in actor.org_roles and org is not None and org.area_id is not None:
        return _area_and_descendants(actor.zone_id, org.area_id)
    raise Forbidden(
        _(
            "only the zone's regulators, a street's regulator and a community's property organization "
            "keep the household registry"
        )
    )


def may_write(actor: Actor) -> bool:
    try:
        reach(actor)
    except Forbidden:
        return False
    return actor.is_system or actor.member_role in WRITER_ROLES


def require_writer(actor: Actor) -> frozenset[int] | None:
    area_ids = reach(actor)
    if not (actor.is_system or actor.member_role in WRITER_ROLES):
        raise Forbidden(_("your role may read the household registry but not change it"))
    return area_ids


def communities(actor: Actor) -> QuerySet[Area]:
    area_ids = reach(actor)
    found = Area.objects.filter(zone_id=actor.zone_id, kind=Area.Kind.COMMUNITY)
    if area_ids is not None:
        found = found.filter(pk__in=area_ids)
    return found.select_related("parent").order_by("parent__name", "code")


def get_community(actor: Actor, community_id: int) -> Area:
    found = communities(actor).filter(pk=community_id).first()
    if found is None:
        raise NotFound(_("community %(id)s not found") % {"id": community_id})
    return found


# --- Lists --------------------------------------------------------------------------------------------


def _in_reach(qs: QuerySet[Any], actor: Actor, path: str) -> QuerySet[Any]:
    area_ids = reach(actor)
    qs = qs.filter(zone_id=actor.zone_id)
    return qs if area_ids is None else qs.filter(**{f"{path}__in": area_ids})


def sources(
    actor: Actor,
    *,
    community_id: int | None = None,
    kind: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> QuerySet[Source]:
    found = _in_reach(Source.objects.all(), actor, "community_id")
    if community_id is not None:
        found = found.filter(community_id=community_id)
    if kind:
        found = found.filter(kind=kind)
    if q:
        found = found.filter(
            Q(code__icontains=q)
            | Q(name__icontains=q)
            | Q(address__icontains=q)
            | Q(responsible_party__icontains=q)
        )
    if active is not None:
        found = found.filter(is_active=active)
    return found.select_related("community", "collector").order_by("code")


def stations(
    actor: Actor, *, community_id: int | None = None, q: str | None = None, active: bool | None = None
) -> QuerySet[Station]:
    found = _in_reach(Station.objects.all(), actor, "community_id")
    if community_id is not None:
        found = found.filter(community_id=community_id)
    if q:
        found = found.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if active is not None:
        found = found.filter(is_active=active)
    return found.select_related("community").order_by("code")


def bins(
    actor: Actor, *, community_id: int | None = None, q: str | None = None, active: bool | None = None
) -> QuerySet[Bin]:
    area_ids = reach(actor)
    found = Bin.objects.filter(zone_id=actor.zone_id)
    if area_ids is not None:
        found = found.filter(Q(station__community_id__in=area_ids) | Q(source__community_id__in=area_ids))
    if community_id is not None:
        found = found.filter(Q(station__community_id=community_id) | Q(source__community_id=community_id))
    if q:
        found = found.filter(
            Q(chip__icontains=q) | Q(station__code__icontains=q) | Q(source__code__icontains=q)
        )
    if active is not None:
        found = found.filter(is_active=active)
    return found.select_related("station", "source").order_by("chip")


def devices(
    actor: Actor, *, community_id: int | None = None, q: str | None = None, active: bool | None = None
) -> QuerySet[Device]:
    found = _in_reach(Device.objects.all(), actor, "area_id")
    if community_id is not None:
        found = found.filter(Q(area_id=community_id) | Q(station__community_id=community_id))
    if q:
        found = found.filter(code__icontains=q)
    if active is not None:
        found = found.filter(is_active=active)
    return found.select_related("station", "vehicle", "site").order_by("code")


def get_source(actor: Actor, code: str) -> Source:
    found = sources(actor).filter(code=code).first()
    if found is None:
        raise NotFound(_("source %(code)s not found") % {"code": code})
    return found


def get_station(actor: Actor, station_id: int) -> Station:
    found = stations(actor).filter(pk=station_id).first()
    if found is None:
        raise NotFound(_("station %(id)s not found") % {"id": station_id})
    return found


def get_bin(actor: Actor, bin_id: int) -> Bin:
    found = bins(actor).filter(pk=bin_id).first()
    if found is None:
        raise NotFound(_("bin %(id)s not found") % {"id": bin_id})
    return found


def get_device(actor: Actor, device_id: int) -> Device:
    found = devices(actor).filter(pk=device_id).first()
    if found is None:
        raise NotFound(_("device %(id)s not found") % {"id": device_id})
    return found


# --- Checking values (shared by the forms and the workbook) ------------------------------------------


class Bad(Exception):
    """A value at fault: the field and the message (a form error or a workbook fault)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def _text(values: dict[str, Any], name: str, max_length: int, *, required: bool = False) -> str:
    raw = values.get(name)
    text = "" if raw is None else str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    if required and not text:
        raise Bad(name, _("this field is required"))
    if len(text) > max_length:
        raise Bad(name, _("at most %(n)d characters") % {"n": max_length})
    return text


def _code(values: dict[str, Any], name: str) -> str:
    text = _text(values, name, 64, required=True)
    if not CODE_RE.fullmatch(text):
        raise Bad(name, _("letters, digits, dot, dash or underscore, at most 64 (printed as a QR code)"))
    return text


def _int(values: dict[str, Any], name: str, *, required: bool, low: int, high: int) -> int | None:
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Bad(name, _("this field is required"))
        return None
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise Bad(name, _("must be a whole number")) from exc
    if number != number.to_integral_value():
        raise Bad(name, _("must be a whole number"))
    if not low <= number <= high:
        raise Bad(name, _("must be from %(low)d to %(high)d") % {"low": low, "high": high})
    return int(number)


def _date(values: dict[str, Any], name: str) -> date | None:
    raw = values.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip().replace("/", "-"))
    except ValueError as exc:
        raise Bad(name, _("must be a date YYYY-MM-DD")) from exc


def _choice(values: dict[str, Any], name: str, aliases: dict[str, str], *, required: bool = True) -> str:
    text = _text(values, name, 64, required=required)
    if not text:
        return ""
    found = aliases.get(text.lower())
    if found is None:
        choices = sorted(set(aliases.values()))
        raise Bad(name, _("must be one of %(choices)s") % {"choices": ", ".join(choices)})
    return found


def _aliases(choices: Iterable[tuple[str, Any]], extra: dict[str, str]) -> dict[str, str]:
    out = {code.lower(): code for code, _label in choices}
    out.update({str(label).lower(): code for code, label in choices})
    out.update({k.lower(): v for k, v in extra.items()})
    return out


STATION_KINDS = _aliases(
    rules.STATION_KIND_CHOICES,
    {
        "固定": "fixed",
        "固定站点": "fixed",
        "固定桶站": "fixed",
        "流动": "mobile",
        "流动站点": "mobile",
        "驿站": "staffed",
        "分类驿站": "staffed",
        "可回收物": "recyclables",
        "可回收物交投点": "recyclables",
        "有害垃圾": "hazardous",
        "有害垃圾投放点": "hazardous",
        "智能柜": "cabinet",
        "智能回收柜": "cabinet",
    },
)
UNIT_KINDS = _aliases(
    rules.UNIT_KIND_CHOICES,
    {
        "机关": "office",
        "企事业单位": "office",
        "单位": "office",
        "商铺": "shop",
        "商户": "shop",
        "餐饮": "restaurant",
        "餐馆": "restaurant",
        "学校": "school",
        "医院": "hospital",
        "其他": "other",
    },
)


@dataclass
class Lookups:
    """The zone's names the workbook and forms refer to, loaded once."""

    communities: dict[str, int]  # code, name → id (in the actor's reach)
    foreign_communities: set[str]  # the zone's others (a fault says "not yours", not "unknown")
    collectors: dict[str, int]  # USCC, name → organization id
    classes: dict[str, str]  # code, name → catalog code

    @classmethod
    def load(cls, actor: Actor) -> Lookups:
        from zerowaste.catalog.models import CatalogEntry
        from zerowaste.catalog.services import version_in_force

        mine = {a.pk for a in communities(actor)}
        found: dict[str, int] = {}
        foreign: set[str] = set()
        for area in Area.objects.filter(zone_id=actor.zone_id, kind=Area.Kind.COMMUNITY):
            for key in (area.code, area.name):
                if area.pk in mine:
                    found.setdefault(key, area.pk)
                else:
                    foreign.add(key)
        collectors: dict[str, int] = {}
        orgs = Organization.objects.filter(zone_id=actor.zone_id).values_list("pk", "uscc", "name")
        for pk, uscc, name in orgs:
            collectors[uscc] = pk
            collectors.setdefault(name, pk)
        classes: dict[str, str] = {}
        version = version_in_force(actor.zone_id, "household", None)
        if version is not None:
            for code, name in CatalogEntry.objects.filter(version=version).values_list("code", "name"):
                classes[code] = code
                if name:
                    classes.setdefault(name, code)
        return cls(found, foreign - set(found), collectors, classes)

    def community(self, values: dict[str, Any], name: str = "community") -> int:
        text = _text(values, name, 200, required=True)
        if text in self.communities:
            return self.communities[text]
        if text in self.foreign_communities:
            raise Bad(name, _("community %(c)s is outside the area you register for") % {"c": text})
        raise Bad(name, _("no community %(c)s in this zone") % {"c": text})

    def collector(self, values: dict[str, Any], name: str = "collector") -> int | None:
        text = _text(values, name, 200)
        if not text:
            return None
        if text not in self.collectors:
            raise Bad(name, _("no organization %(o)s in this zone (USCC or name)") % {"o": text})
        return self.collectors[text]

    def household_class(self, values: dict[str, Any], name: str = "household_class") -> str:
        text = _text(values, name, 300, required=True)
        if text not in self.classes:
            raise Bad(name, _("%(value)s is not a class of the household catalog in force") % {"value": text})
        return self.classes[text]


# --- One row's values (a form or a workbook row) -----------------------------------------------------

SOURCE_FIELDS = (
    "kind",
    "name",
    "community_id",
    "address",
    "responsible_party",
    "residents",
    "unit_kind",
    "contract_number",
    "collector_id",
    "contract_from",
    "contract_to",
)
STATION_FIELDS = ("kind", "name", "community_id")
BIN_FIELDS = ("household_class", "capacity_l", "station_id", "source_id")


def household_values(values: dict[str, Any], look: Lookups) -> dict[str, Any]:
    """A household's fields, checked; every fault collected by the caller (raises the first here)."""
    return {
        "kind": rules.SOURCE_HOUSEHOLD,
        "name": _text(values, "name", 200),
        "community_id": look.community(values),
        "address": _text(values, "address", 200),
        "responsible_party": _text(values, "responsible_party", 100),
        "residents": _int(values, "residents", required=False, low=0, high=1000),
        "unit_kind": "",
        "contract_number": "",
        "collector_id": None,
        "contract_from": None,
        "contract_to": None,
    }


def unit_values(values: dict[str, Any], look: Lookups) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": rules.SOURCE_UNIT,
        "name": _text(values, "name", 200, required=True),
        "unit_kind": _choice(values, "unit_kind", UNIT_KINDS),
        "community_id": look.community(values),
        "address": _text(values, "address", 200),
        "responsible_party": _text(values, "responsible_party", 100, required=True),
        "residents": None,
        "contract_number": _text(values, "contract_number", 64),
        "collector_id": look.collector(values),
        "contract_from": _date(values, "contract_from"),
        "contract_to": _date(values, "contract_to"),
    }
    if out["contract_from"] and out["contract_to"] and out["contract_to"] < out["contract_from"]:
        raise Bad("contract_to", _("ends before it starts"))
    return out


def station_values(values: dict[str, Any], look: Lookups) -> dict[str, Any]:
    return {
        "kind": _choice(values, "kind", STATION_KINDS),
        "name": _text(values, "name", 200, required=True),
        "community_id": look.community(values),
    }


# --- Forms' writes -----------------------------------------------------------------------------------


def _bad_to_invalid(exc: Bad) -> Invalid:
    return Invalid.field(exc.field, exc.message)


# What a registry entry is keyed by, and the fault when the key is taken, per kind of entry.
_ENTRY_KINDS: dict[str, tuple[type[Source] | type[Station] | type[Bin], str, Any]] = {
    "source": (Source, "code", gettext_lazy("a source with this code exists")),
    "station": (Station, "code", gettext_lazy("a station with this code exists")),
    "bin": (Bin, "chip", gettext_lazy("a bin with this chip exists")),
}


def _add_or_change(actor: Actor, existing: Any, kind: str, key: str, data: dict[str, Any]) -> Any:
    """Create the entry (its key unique in the zone) or change `existing`, audited either way as
    household.<kind>.add or .change."""
    model, key_field, taken = _ENTRY_KINDS[kind]
    if existing is None:
        if model.objects.filter(zone_id=actor.zone_id, **{key_field: key}).exists():
            raise Invalid.field(key_field, str(taken))
        entry = model.objects.create(zone_id=actor.zone_id, **{key_field: key}, **data)
        audit.record(actor, f"household.{kind}.add", entry, audit.snapshot(entry))
        return entry
    before = audit.snapshot(existing)
    for name, value in data.items():
        setattr(existing, name, value)
    existing.save()
    audit.record(actor, f"household.{kind}.change", existing, audit.diff(before, audit.snapshot(existing)))
    return existing


@transaction.atomic
def save_source(actor: Actor, values: dict[str, Any], *, code: str | None = None) -> Source:
    """Register a household or unit (`code` None) or change one; faults name the field."""
    require_writer(actor)
    look = Lookups.load(actor)
    existing = get_source(actor, code) if code is not None else None
    kind = existing.kind if existing is not None else str(values.get("kind") or "")
    try:
        new_code = existing.code if existing is not None else _code(values, "code")
        if kind == rules.SOURCE_HOUSEHOLD:
            data = household_values(values, look)
        elif kind == rules.SOURCE_UNIT:
            data = unit_values(values, look)
        else:
            raise Bad("kind", _("household or social unit"))
    except Bad as exc:
        raise _bad_to_invalid(exc) from exc
    return _add_or_change(actor, existing, "source", new_code, data)


@transaction.atomic
def save_station(actor: Actor, values: dict[str, Any], *, station_id: int | None = None) -> Station:
    require_writer(actor)
    look = Lookups.load(actor)
    existing = get_station(actor, station_id) if station_id is not None else None
    try:
        new_code = existing.code if existing is not None else _code(values, "code")
        data = station_values(values, look)
    except Bad as exc:
        raise _bad_to_invalid(exc) from exc
    return _add_or_change(actor, existing, "station", new_code, data)


def _bin_values(actor: Actor, values: dict[str, Any], look: Lookups, places: Places) -> dict[str, Any]:
    station_code = _text(values, "station", 64)
    source_code = _text(values, "source", 64)
    if bool(station_code) == bool(source_code):
        raise Bad("station", _("a bin stands at one station or one source: give one of the two"))
    station_id = source_id = None
    if station_code:
        station_id = places.stations.get(station_code)
        if station_id is None:
            raise Bad("station", _("no station %(code)s in your area") % {"code": station_code})
    else:
        source_id = places.sources.get(source_code)
        if source_id is None:
            raise Bad("source", _("no source %(code)s in your area") % {"code": source_code})
    return {
        "household_class": look.household_class(values),
        "capacity_l": _int(values, "capacity_l", required=True, low=1, high=100_000),
        "station_id": station_id,
        "source_id": source_id,
    }


@dataclass
class Places:
    """Codes → ids of the stations and sources in the actor's reach (bins stand at them)."""

    stations: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, actor: Actor) -> Places:
        return cls(
            dict(stations(actor).values_list("code", "pk")),
            dict(sources(actor).values_list("code", "pk")),
        )


@transaction.atomic
def save_bin(actor: Actor, values: dict[str, Any], *, bin_id: int | None = None) -> Bin:
    require_writer(actor)
    existing = get_bin(actor, bin_id) if bin_id is not None else None
    try:
        chip = existing.chip if existing is not None else _code(values, "chip")
        data = _bin_values(actor, values, Lookups.load(actor), Places.load(actor))
    except Bad as exc:
        raise _bad_to_invalid(exc) from exc
    return _add_or_change(actor, existing, "bin", chip, data)


def add_device(actor: Actor, *, code: str, kind: str, station_id: int) -> Device:
    """A device at one of the actor's stations (vehicles' and sites' devices: `zerowaste household
    devices add`)."""
    require_writer(actor)
    station = get_station(actor, station_id)
    return services.add_device(actor, code=code, kind=kind, station_id=station.pk)


@transaction.atomic
def set_active(actor: Actor, what: str, key: str | int, active: bool) -> Any:
    """Deactivate (or reactivate) a source, station, bin or device: never deleted, since events and
    alarms reference it."""
    require_writer(actor)
    getters: dict[str, Any] = {
        "source": lambda: get_source(actor, str(key)),
        "station": lambda: get_station(actor, int(key)),
        "bin": lambda: get_bin(actor, int(key)),
        "device": lambda: get_device(actor, int(key)),
    }
    obj = getters[what]()
    if obj.is_active != active:
        obj.is_active = active
        obj.save(update_fields=["is_active"])
        audit.record(
            actor,
            f"household.{what}.{'activate' if active else 'deactivate'}",
            obj,
            {"is_active": [not active, active]},
        )
    return obj


# --- The workbook ------------------------------------------------------------------------------------

HOUSEHOLD_COLUMNS = [
    Column("code", ("户码", "code")),
    Column("community", ("社区", "community")),
    Column("name", ("户主", "名称", "name"), required=False),
    Column("address", ("地址", "门牌", "address"), required=False),
    Column("responsible_party", ("管理责任人", "责任人", "responsible party"), required=False),
    Column("residents", ("人数", "常住人口", "residents"), required=False),
]
UNIT_COLUMNS = [
    Column("code", ("单位编码", "code")),
    Column("name", ("单位名称", "name")),
    Column("unit_kind", ("单位类型", "unit kind")),
    Column("community", ("社区", "community")),
    Column("responsible_party", ("管理责任人", "责任人", "responsible party")),
    Column("address", ("地址", "address"), required=False),
    Column("contract_number", ("收运合同编号", "合同编号", "contract number"), required=False),
    Column("collector", ("收运单位", "collector"), required=False),
    Column("contract_from", ("合同起始日", "contract from"), required=False),
    Column("contract_to", ("合同截止日", "contract to"), required=False),
]
STATION_COLUMNS = [
    Column("code", ("站点编码", "code")),
    Column("name", ("站点名称", "name")),
    Column("kind", ("站点类型", "kind")),
    Column("community", ("社区", "community")),
]
BIN_COLUMNS = [
    Column("chip", ("芯片号", "chip")),
    Column("household_class", ("分类", "class")),
    Column("capacity_l", ("容量(L)", "容量", "capacity (L)", "capacity")),
    Column("station", ("站点编码", "station"), required=False),
    Column("source", ("户码/单位编码", "source"), required=False),
]

# (sheet names accepted, the name written, columns)
SHEETS: dict[str, tuple[tuple[str, ...], list[Column]]] = {
    "households": (("户", "households"), HOUSEHOLD_COLUMNS),
    "units": (("单位", "units"), UNIT_COLUMNS),
    "stations": (("站点", "stations"), STATION_COLUMNS),
    "bins": (("容器", "bins"), BIN_COLUMNS),
}


@dataclass
class ImportResult:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
        }


@dataclass
class _Prepared:
    code: str
    data: dict[str, Any]
    row: Row


def _sheet_names(content: bytes) -> list[str]:
    fast = registry_xlsx.sheet_names(content)
    if fast is not None:
        return fast
    import zipfile

    try:
        return tabular.sheet_names(content)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Invalid.field("file", _("the Excel file cannot be read: %(err)s") % {"err": exc}) from exc


def _check_rows(
    table_rows: list[Row],
    key_field: str,
    make: Any,
    faults: list[Fault],
    seen: dict[str, tuple[str, int]],
) -> list[_Prepared]:
    prepared: list[_Prepared] = []
    for row in table_rows:
        try:
            code = _code(row.values, key_field)
        except Bad as exc:
            faults.append(row.fault(exc.field, exc.message))
            code = ""
        if code:
            if code in seen:
                sheet, number = seen[code]
                message = _("duplicate of %(sheet)s row %(row)d") % {"sheet": sheet, "row": number}
                faults.append(row.fault(key_field, message))
            seen.setdefault(code, (row.sheet, row.number))
        try:
            data = make(row.values)
        except Bad as exc:
            faults.append(row.fault(exc.field, exc.message))
            continue
        if code:
            prepared.append(_Prepared(code, data, row))
    return prepared


@dataclass
class CheckedWorkbook:
    households: list[_Prepared] = field(default_factory=list)
    units: list[_Prepared] = field(default_factory=list)
    stations: list[_Prepared] = field(default_factory=list)
    bins: list[_Prepared] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.households) + len(self.units) + len(self.stations) + len(self.bins)


def check_workbook(actor: Actor, content: bytes, *, filename: str = "registry.xlsx") -> CheckedWorkbook:
    """Every row of every sheet checked against the zone and the actor's reach; faults raise
    `ImportRejected` naming sheet, row and column, before anything is written."""
    area_ids = require_writer(actor)
    limits = Limits.from_settings()
    if not content or content[:4] != b"PK\x03\x04":
        # A broken or hostile file is refused in the words every importer uses; a sound CSV is
        # refused because the registry's four sheets need a workbook.
        opened = tabular.open_rows(content, filename, limits=limits) if content else None
        if opened is not None:
            for _row in opened[1]:
                pass
        raise Invalid.field("file", _("an Excel workbook (.xlsx) with the sheets 户, 单位, 站点, 容器"))
    if len(content) > limits.max_bytes:
        raise Invalid.field("file", _("the file is larger than the import limit"))
    # The fast sheet reader below parses the XML itself: the bombs are refused here first, as
    # `tabular.open_rows` refuses them for every other importer.
    tabular.inspect_workbook(content, limits)
    names = _sheet_names(content)
    look = Lookups.load(actor)
    faults: list[Fault] = []
    checked = CheckedWorkbook()
    found_any = False
    tables: dict[str, Any] = {}
    for key, (accepted, columns) in SHEETS.items():
        sheet = next((n for n in names if n.strip().lower() in accepted), None)
        if sheet is None:
            continue
        found_any = True
        # Plain sheets (text and whole numbers) are read fast; the units' dates go through openpyxl.
        table = registry_xlsx.read_sheet(content, sheet, columns, limits) if key != "units" else None
        if table is None:
            table = read_table(content, filename, columns, sheet=sheet, limits=limits)
        # A sheet with its header and no rows is simply not used.
        faults += [f for f in table.faults if f.message != _("the file has a header but no rows")]
        tables[key] = table
    if not found_any:
        # Read the first sheet through the guarded reader, so a hostile one is refused for what it is.
        opened = tabular.open_rows(content, filename, limits=limits)
        if opened is not None:
            for _row in opened[1]:
                pass
        raise Invalid.field("file", _("the workbook has none of the sheets 户, 单位, 站点, 容器"))
    source_codes: dict[str, tuple[str, int]] = {}
    if "households" in tables:
        checked.households = _check_rows(
            tables["households"].rows, "code", lambda v: household_values(v, look), faults, source_codes
        )
    if "units" in tables:
        checked.units = _check_rows(
            tables["units"].rows, "code", lambda v: unit_values(v, look), faults, source_codes
        )
    if "stations" in tables:
        checked.stations = _check_rows(
            tables["stations"].rows, "code", lambda v: station_values(v, look), faults, {}
        )
    # Existing codes of the zone: another's (outside the reach) is a fault, not an update.
    zone_sources = dict(Source.objects.filter(zone_id=actor.zone_id).values_list("code", "community_id"))
    zone_kinds = dict(Source.objects.filter(zone_id=actor.zone_id).values_list("code", "kind"))
    for item in [*checked.households, *checked.units]:
        community = zone_sources.get(item.code)
        if community is not None and area_ids is not None and community not in area_ids:
            faults.append(item.row.fault("code", _("this code belongs to a source outside your area")))
        elif community is not None and zone_kinds[item.code] != item.data["kind"]:
            faults.append(item.row.fault("code", _("this code is registered as another kind of source")))
    zone_stations = dict(Station.objects.filter(zone_id=actor.zone_id).values_list("code", "community_id"))
    for item in checked.stations:
        community = zone_stations.get(item.code)
        if community is not None and area_ids is not None and community not in area_ids:
            faults.append(item.row.fault("code", _("this code belongs to a station outside your area")))
    if "bins" in tables:
        places = Places.load(actor)
        # Bins may stand at stations and sources of this same workbook (ids are known after writing).
        # (a row of theirs at fault is reported there, not again for each bin).
        for key, codes in (
            ("stations", places.stations),
            ("households", places.sources),
            ("units", places.sources),
        ):
            for row in tables[key].rows if key in tables else []:
                codes.setdefault(str(row.values.get("code") or "").strip(), 0)
        checked.bins = _check_rows(
            tables["bins"].rows, "chip", lambda v: _bin_values(actor, v, look, places), faults, {}
        )
        bin_places = {
            chip: (station, source)
            for chip, station, source in Bin.objects.filter(zone_id=actor.zone_id).values_list(
                "chip", "station__community_id", "source__community_id"
            )
        }
        for item in checked.bins:
            where = bin_places.get(item.code)
            if where is not None and area_ids is not None and (where[0] or where[1]) not in area_ids:
                faults.append(item.row.fault("chip", _("this chip belongs to a bin outside your area")))
            item.data["station_code"] = _text(item.row.values, "station", 64)
            item.data["source_code"] = _text(item.row.values, "source", 64)
    if faults:
        faults.sort(key=lambda f: (list(SHEETS).index(_sheet_key(f.sheet)), f.row, f.column))
        raise ImportRejected(faults)
    return checked


def _sheet_key(sheet: str) -> str:
    for key, (accepted, _columns) in SHEETS.items():
        if sheet.strip().lower() in accepted:
            return key
    return "households"


def _upsert(
    model: Any,
    actor: Actor,
    key: str,
    items: list[_Prepared],
    fields: tuple[str, ...],
    label: str,
    result: ImportResult,
    dry_run: bool,
) -> dict[str, int]:
    """Create the new codes and update the changed ones in bulk; return code → id."""
    candidates = model.objects.filter(zone_id=actor.zone_id)
    if len(items) < 2000:
        candidates = candidates.filter(**{f"{key}__in": [i.code for i in items]})
    existing = {getattr(obj, key): obj for obj in candidates}
    new: list[Any] = []
    changed: list[Any] = []
    unchanged = 0
    for item in items:
        obj = existing.get(item.code)
        if obj is None:
            new.append(model(zone_id=actor.zone_id, **{key: item.code}, **{f: item.data[f] for f in fields}))
            continue
        if all(getattr(obj, f) == item.data[f] for f in fields):
            unchanged += 1
            continue
        for f in fields:
            setattr(obj, f, item.data[f])
        changed.append(obj)
    result.created[label] = len(new)
    result.updated[label] = len(changed)
    result.unchanged[label] = unchanged
    if not dry_run:
        model.objects.bulk_create(new, batch_size=BATCH)
        if changed:
            model.objects.bulk_update(changed, list(fields), batch_size=1000)
        if new and new[0].pk is None:  # a backend that does not return ids (none of ours)
            return dict(model.objects.filter(zone_id=actor.zone_id).values_list(key, "pk"))
    return {**{code: obj.pk for code, obj in existing.items()}, **{getattr(o, key): o.pk for o in new}}


def import_workbook(
    actor: Actor, content: bytes, *, filename: str = "registry.xlsx", dry_run: bool = False
) -> ImportResult:
    """Check the whole workbook, then write it in one transaction (bulk): re-importing the same rows
    updates what changed and creates nothing twice."""
    checked = check_workbook(actor, content, filename=filename)
    result = ImportResult(dry_run=dry_run)
    with transaction.atomic():
        station_ids = _upsert(
            Station, actor, "code", checked.stations, STATION_FIELDS, "stations", result, dry_run
        )
        source_ids = _upsert(
            Source,
            actor,
            "code",
            [*checked.households, *checked.units],
            SOURCE_FIELDS,
            "sources",
            result,
            dry_run,
        )
        if checked.bins:
            stations_map = {**dict(stations(actor).values_list("code", "pk")), **station_ids}
            sources_map = {**dict(sources(actor).values_list("code", "pk")), **source_ids}
            for item in checked.bins:
                station_code = item.data.pop("station_code")
                source_code = item.data.pop("source_code")
                item.data["station_id"] = stations_map.get(station_code) if station_code else None
                item.data["source_id"] = sources_map.get(source_code) if source_code else None
            _upsert(Bin, actor, "chip", checked.bins, BIN_FIELDS, "bins", result, dry_run)
        if not dry_run:
            audit.append(
                zone_id=actor.zone_id,
                actor=actor,
                action="household.registry.import",
                model="household.source",
                object_id="",
                changes={"file": filename, **result.as_dict()},
            )
    return result


def export_workbook(actor: Actor) -> bytes:
    """The registry in the actor's reach, in the import's layout (a round trip changes nothing)."""
    reach(actor)
    workbook = new_workbook()
    sheets = {key: (names[0], columns) for key, (names, columns) in SHEETS.items()}
    first = True
    for key, (title, columns) in sheets.items():
        if first:
            sheet = workbook.active
            sheet.title = title
            first = False
        else:
            sheet = workbook.create_sheet(title)
        sheet.append([c.headers[0] for c in columns])
        for values in _export_rows(actor, key):
            sheet.append(values)
    return _workbook_bytes(workbook)


def template_workbook() -> bytes:
    """The empty workbook: the four sheets with their headers and one example row each."""
    workbook = new_workbook()
    examples = {
        "households": ["H0001", "C001", "张三", "1号楼1单元101", "张三", 3],
        "units": [
            *("U0001", "某某餐厅", "餐饮", "C001", "李四", "某街1号"),
            *("HT-2026-001", "", "2026-01-01", "2026-12-31"),
        ],
        "stations": ["ST001", "1号楼桶站", "固定", "C001"],
        "bins": ["CHIP0001", "kitchen", 240, "ST001", ""],
    }
    first = True
    for key, (names, columns) in SHEETS.items():
        if first:
            sheet = workbook.active
            sheet.title = names[0]
            first = False
        else:
            sheet = workbook.create_sheet(names[0])
        sheet.append([c.headers[0] for c in columns])
        sheet.append(examples[key])
    return _workbook_bytes(workbook)


def _export_rows(actor: Actor, key: str) -> Iterable[list[Any]]:
    if key == "households":
        for s in sources(actor, kind=rules.SOURCE_HOUSEHOLD).iterator(chunk_size=5000):
            yield [s.code, s.community.code, s.name, s.address, s.responsible_party, s.residents]
    elif key == "units":
        for s in sources(actor, kind=rules.SOURCE_UNIT).iterator(chunk_size=5000):
            yield [
                s.code,
                s.name,
                s.unit_kind,
                s.community.code,
                s.responsible_party,
                s.address,
                s.contract_number,
                s.collector.uscc if s.collector else "",
                s.contract_from.isoformat() if s.contract_from else "",
                s.contract_to.isoformat() if s.contract_to else "",
            ]
    elif key == "stations":
        for st in stations(actor).iterator(chunk_size=5000):
            yield [st.code, st.name, st.kind, st.community.code]
    else:
        for b in bins(actor).iterator(chunk_size=5000):
            yield [
                b.chip,
                b.household_class,
                b.capacity_l,
                b.station.code if b.station else "",
                b.source.code if b.source else "",
            ]


# --- QR sheets (一户一码) ----------------------------------------------------------------------------

SCAN_SOURCE = "/household/scan/source/{code}"
SCAN_BIN = "/household/scan/bin/{chip}"


@dataclass
class Tile:
    code: str
    label: str
    url: str  # absolute

    def svg(self) -> str:
        return qr_svg(self.url)


def qr_svg(text: str) -> str:
    """The QR code of `text` as an inline SVG element (a path, scalable for print)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    return str(svg[svg.index("<svg") :])


def qr_tiles(actor: Actor, community_id: int, what: str, base_url: str) -> tuple[Area, list[Tile]]:
    """The tiles of a community's active households and units (`what` = sources) or bins."""
    community = get_community(actor, community_id)
    base = base_url.rstrip("/")
    if what == "bins":
        class_names = formatting.code_names(actor.zone_id, "household")  # 纸类, not its code
        return community, [
            Tile(
                b.chip,
                (b.station.name if b.station else (b.source.address or b.source.name) if b.source else "")
                + f" · {class_names.get(b.household_class, b.household_class)} {b.capacity_l} L",
                base + SCAN_BIN.format(chip=b.chip),
            )
            for b in bins(actor, community_id=community.pk, active=True)
        ]
    return community, [
        Tile(s.code, s.address or s.name, base + SCAN_SOURCE.format(code=s.code))
        for s in sources(actor, community_id=community.pk, active=True)
    ]


def qr_pdf(community: Area, tiles: list[Tile]) -> bytes:
    """The tiles on A4 pages, 4 × 6 a page, each a QR code with its code and label below."""
    import io

    import qrcode
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(f"一户一码 {community.name}")
    width, height = A4
    cols, rows_ = 4, 6
    tile_w, tile_h = (width - 20 * mm) / cols, (height - 24 * mm) / rows_
    for index, tile in enumerate(tiles):
        slot = index % (cols * rows_)
        if index and slot == 0:
            pdf.showPage()
        if slot == 0:
            pdf.setFont(font, 9)
            pdf.drawString(10 * mm, height - 10 * mm, f"{community.name}（{community.code}）")
        col, row = slot % cols, slot // cols
        x = 10 * mm + col * tile_w
        y = height - 14 * mm - (row + 1) * tile_h
        image = qrcode.make(tile.url, box_size=4, border=1)
        png = io.BytesIO()
        image.save(png, format="PNG")
        png.seek(0)
        side = min(tile_w, tile_h) - 14 * mm
        pdf.drawImage(ImageReader(png), x + (tile_w - side) / 2, y + 11 * mm, side, side)
        pdf.setFont(font, 9)
        pdf.drawCentredString(x + tile_w / 2, y + 7 * mm, tile.code)
        pdf.setFont(font, 7)
        pdf.drawCentredString(x + tile_w / 2, y + 3 * mm, tile.label[:24])
    pdf.save()
    return out.getvalue()
