"""HJ 1259-2022 declaration reports (annex C): C.1 for a month, C.2 for a quarter, C.3 for a year.

"Declarations C.1-C.3 are generated from the ledger, not typed twice" (spec 07, HJ 1259 7.3): a report
is built from records the platform already holds, never entered again:

- generation, own utilization/disposal and storage from the organization's HW declarations that
  count (`declarations.services.effective_lines`, the latest counted version of each period);
- the rows "委托外单位利用/处置情况" from its HW manifests of the period (consignor = the organization,
  planned date inside the period, not draft or cancelled) and, for a pilot-park producer, from the
  park store's collections (no manifest; the store's operator is the entrusted unit);
- names, category and hazard from the national HW catalog in force at the period's end; the internal
  name from the declaration line; the physical form from the manifest lines;
- the consignee's HW operating licence valid on the manifest's date and covering the code;
- which tables the organization is due to file, and when, from its management plan's class.

- the own utilization/disposal method from the registered in-plant or group facility covering the
  code on the period's end (`facilities.facility_for`, seed:3925-3935).

Nothing is invented: a figure no record holds stays blank (the harmful constituents; the method when
no registered facility covers the code), and what could not be taken from the records is said in
`notes`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from zerowaste.core import tabular
from zerowaste.core.authz import Actor, get_organization, visible_organizations
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Licence, Organization, Zone
from zerowaste.core.services import licence_covers
from zerowaste.declarations import rules as declaration_rules

from . import rules
from .models import ManagementPlan

UNIT_T = "吨"
TONNE_PLACES = Decimal("0.001")
# Manifests in these states moved nothing (a draft was never issued, a cancelled one never left).
NOT_MOVED_STATES = ("draft", "cancelled")

# --- Layout of the national tables (hj1259_all_tables_columns.csv, rows C.1-C.3) ---------------------

GENERATION = "产生情况"
OWN = "自行利用/处置情况"
ENTRUSTED = "委托外单位利用/处置情况"
STORAGE = "贮存情况"
# The storage columns name the period: 上月底 / 上季度底 / 上年底 (C.1 / C.2 / C.3).
STORAGE_PERIOD_WORD = {"month": "月", "quarter": "季度", "year": "年"}
REPORT_KIND_NAME = {"month": "月度", "quarter": "季度", "year": "年度"}


@dataclass(frozen=True)
class Column:
    key: str
    group: str  # the first header row; "" for 序号, which spans both rows
    name: str  # the second header row

    @property
    def header(self) -> str:
        """The flattened header of the national template CSV: `产生情况/产生量`."""
        return f"{self.group}/{self.name}" if self.group else self.name

    @property
    def short(self) -> str:
        """The second header row as a page shows it (the sheet keeps the template's full names)."""
        return SHORT_NAMES.get(self.name, self.name)


# The template's longest sub-headers repeat their group; a narrow page column shows only what differs.
SHORT_NAMES = {
    "危险废物名称/行业俗称/单位内部名称": "行业俗称/单位内部名称",
    "危险废物名称/国家危险废物名录名称": "国家危险废物名录名称",
    "危险废物经营许可证编号/利用处置环节豁免管理单位编号/出口核准通知单编号": "许可证/豁免/核准编号",
}


def columns(kind: str) -> list[Column]:
    word = STORAGE_PERIOD_WORD[kind]
    return [
        Column("seq", "", "序号"),
        Column("internal_name", GENERATION, "危险废物名称/行业俗称/单位内部名称"),
        Column("national_name", GENERATION, "危险废物名称/国家危险废物名录名称"),
        Column("category", GENERATION, "危险废物类别"),
        Column("code", GENERATION, "危险废物代码"),
        Column("harmful_constituents", GENERATION, "有害成分名称"),
        Column("form", GENERATION, "形态"),
        Column("hazard", GENERATION, "危险特性"),
        Column("generated_t", GENERATION, "产生量"),
        Column("generated_unit", GENERATION, "计量单位"),
        Column("own_method", OWN, "利用/处置方式"),
        Column("own_t", OWN, "利用/处置量"),
        Column("own_unit", OWN, "计量单位"),
        Column("province", ENTRUSTED, "省（区、市）"),
        Column("consignee", ENTRUSTED, "单位名称"),
        Column(
            "licence_number",
            ENTRUSTED,
            "危险废物经营许可证编号/利用处置环节豁免管理单位编号/出口核准通知单编号",
        ),
        Column("entrusted_method", ENTRUSTED, "利用/处置方式"),
        Column("entrusted_t", ENTRUSTED, "利用/处置量"),
        Column("entrusted_unit", ENTRUSTED, "计量单位"),
        Column("opening_t", STORAGE, f"上{word}底剩余贮存量"),
        Column("opening_unit", STORAGE, "计量单位"),
        Column("closing_t", STORAGE, f"本{word}底剩余贮存量"),
        Column("closing_unit", STORAGE, "计量单位"),
    ]


# A unit column says 吨 where its quantity is given, and stays blank where the quantity is.
UNIT_OF = {
    "generated_unit": "generated_t",
    "own_unit": "own_t",
    "entrusted_unit": "entrusted_t",
    "opening_unit": "opening_t",
    "closing_unit": "closing_t",
}
QUANTITY_KEYS = frozenset(UNIT_OF.values())


def title(period: declaration_rules.Period) -> str:
    """The table's title: `2020年6月危险废物月度申报报告表`, `2020年第2季度危险废物季度申报报告表`,
    `2020年危险废物年度申报报告表`."""
    year = period.start.year
    if period.kind == "month":
        when = f"{year}年{period.start.month}月"
    elif period.kind == "quarter":
        when = f"{year}年第{(period.start.month - 1) // 3 + 1}季度"
    else:
        when = f"{year}年"
    return f"{when}危险废物{REPORT_KIND_NAME[period.kind]}申报报告表"


# --- Provinces (GB/T 2260: the first two digits of a division code) ------------------------------

PROVINCES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}
_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市)$")
_SHORT_NAMES = {_SUFFIX.sub("", name): name for name in PROVINCES.values()}


def province_in_address(address: str) -> str:
    """The province an address begins with (`河北省…`, `天津…`), or ""."""
    text = (address or "").strip()
    for short, name in _SHORT_NAMES.items():
        if text.startswith(short):
            return name
    return ""


def province_of(address: str, zone_division_code: str) -> str:
    """The consignee's province (省（区、市）).

    Organizations have no province field; the platform records a free-text address and, per zone,
    the administrative division code. An address that begins with a province's name names the
    consignee's own province; otherwise the consignee is taken to lie in the zone's province (the
    first two digits of `Zone.division_code`); blank if neither is recorded.
    """
    return province_in_address(address) or PROVINCES.get((zone_division_code or "")[:2], "")


# --- The report as data ------------------------------------------------------------------------------


def _t(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(TONNE_PLACES))


@dataclass
class ReportRow:
    """One row of the national table. The first row of a code carries its generation, own
    utilization/disposal and storage; further rows of the code carry only further consignees."""

    seq: int | None
    code: str
    internal_name: str = ""
    national_name: str = ""
    category: str = ""
    harmful_constituents: str = ""  # no record of the platform holds it: always blank
    form: str = ""
    hazard: str = ""
    generated_t: Decimal | None = None
    own_method: str = ""  # the covering facility's method; blank without a registered facility
    own_t: Decimal | None = None
    province: str = ""
    consignee: str = ""
    licence_number: str = ""
    entrusted_method: str = ""
    entrusted_t: Decimal | None = None
    opening_t: Decimal | None = None
    closing_t: Decimal | None = None
    manifests: list[str] = field(default_factory=list)

    def value(self, key: str) -> Any:
        if key in UNIT_OF:
            return UNIT_T if getattr(self, UNIT_OF[key]) is not None else ""
        return getattr(self, key)

    def cells(self, cols: list[Column]) -> list[Any]:
        """Values in column order for a sheet: quantities stay `Decimal`, blanks are ""."""
        out: list[Any] = []
        for col in cols:
            v = self.value(col.key)
            out.append("" if v is None else v)
        return out

    def as_dict(self, cols: list[Column]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for col in cols:
            v = self.value(col.key)
            data[col.key] = _t(v) if col.key in QUANTITY_KEYS else v
        data["manifests"] = list(self.manifests)
        return data


@dataclass(frozen=True)
class ReconciliationRow:
    """Declared as transferred out (for utilization + for disposal) against the manifests' quantity."""

    waste_code: str
    declared_t: Decimal
    manifests_t: Decimal

    @property
    def difference_t(self) -> Decimal:
        return self.declared_t - self.manifests_t

    @property
    def matches(self) -> bool:
        return self.difference_t == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "waste_code": self.waste_code,
            "declared_t": _t(self.declared_t),
            "manifests_t": _t(self.manifests_t),
            "difference_t": _t(self.difference_t),
            "matches": self.matches,
        }


@dataclass(frozen=True)
class Deadline:
    table: str
    period: str
    due: date

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "period": self.period, "deadline": self.due.isoformat()}


@dataclass
class Due:
    """What the organization's management class makes it file, and by when."""

    management_class: str | None
    plan_year: int | None
    tables: tuple[str, ...]
    table: str
    table_is_due: bool
    deadline: date
    deadlines: list[Deadline]

    @property
    def management_class_label(self) -> str:
        return str(dict(rules.CLASS_CHOICES).get(self.management_class or "", ""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "management_class": self.management_class,
            "management_class_label": self.management_class_label,
            "plan_year": self.plan_year,
            "tables_due": list(self.tables),
            "table": self.table,
            "table_is_due": self.table_is_due,
            "deadline": self.deadline.isoformat(),
            "deadlines": [d.as_dict() for d in self.deadlines],
        }


@dataclass
class DeclarationReport:
    table: str
    title: str
    period: declaration_rules.Period
    organization: Organization
    columns: list[Column]
    rows: list[ReportRow]
    reconciliation: list[ReconciliationRow]
    due: Due
    declarations: list[dict[str, Any]]
    notes: list[str]

    @property
    def differences(self) -> list[ReconciliationRow]:
        return [r for r in self.reconciliation if not r.matches]

    @property
    def header_groups(self) -> list[tuple[str, int]]:
        """(group, span) for the first header row; 序号 is its own group."""
        groups: list[tuple[str, int]] = []
        for col in self.columns:
            name = col.group or col.name
            if groups and col.group and groups[-1][0] == name:
                groups[-1] = (name, groups[-1][1] + 1)
            else:
                groups.append((name, 1))
        return groups

    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def text_rows(self) -> list[list[str]]:
        """The rows as the page shows them: every cell a string, tonnes with 3 decimals, blanks ""."""
        return [
            ["" if v is None else str(v) for v in row.as_dict(self.columns).values()][: len(self.columns)]
            for row in self.rows
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "title": self.title,
            "period": self.period.label,
            "period_kind": self.period.kind,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "organization": {
                "id": self.organization.pk,
                "name": self.organization.name,
                "uscc": self.organization.uscc,
            },
            "unit": UNIT_T,
            "columns": [
                {"key": c.key, "group": c.group, "name": c.name, "header": c.header} for c in self.columns
            ],
            "rows": [r.as_dict(self.columns) for r in self.rows],
            "reconciliation": [r.as_dict() for r in self.reconciliation],
            "differences": [r.as_dict() for r in self.differences],
            "due": self.due.as_dict(),
            "declarations": self.declarations,
            "notes": list(self.notes),
        }


# --- Inputs and access -------------------------------------------------------------------------------


def parse_report_period(value: Any) -> declaration_rules.Period:
    """`2020-06` (C.1), `2020Q2` (C.2) or `2020` (C.3), as the declarations write periods."""
    try:
        return declaration_rules.parse_period(value)
    except ValueError as exc:
        raise Invalid.field("period", str(exc)) from exc


def report_organizations(actor: Actor) -> QuerySet[Organization]:
    """Producers whose reports the actor may generate: its own; a regulator's jurisdiction."""
    return (
        visible_organizations(actor)
        .filter(roles__role="producer", is_active=True)
        .distinct()
        .order_by("name", "pk")
    )


def _organization(actor: Actor, organization_id: Any) -> Organization:
    """The organization the report is of: members see their own, regulators their jurisdiction's
    (`visible_organizations`); any other is NotFound, and a member whose role or token may not read
    is Forbidden (`core.authz.get_organization`)."""
    if organization_id in (None, ""):
        if actor.organization_id is None:
            raise Invalid.field("organization_id", _("name the organization"))
        organization_id = actor.organization_id
    try:
        pk = int(str(organization_id).strip())
    except ValueError as exc:
        raise Invalid.field("organization_id", _("a whole number")) from exc
    if not 1 <= pk <= 2**62:
        raise Invalid.field("organization_id", _("no such organization in this zone"))
    if actor.is_system:
        # The command line sees every organization of the zone: an unknown id is bad input.
        org = Organization.objects.filter(zone_id=actor.zone_id, pk=pk).first()
        if org is None:
            raise Invalid.field("organization_id", _("no such organization in this zone"))
        return org
    return get_organization(actor, pk, "org.view")


# --- Building -------------------------------------------------------------------------------------


def _months_between(start: date, end: date) -> list[str]:
    """Labels of the months from `start` to `end` inclusive (both first days of months, or any day)."""
    out = []
    current = date(start.year, start.month, 1)
    while current <= end:
        out.append(f"{current.year}-{current.month:02d}")
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return out


@dataclass(frozen=True)
class _CountedDeclaration:
    id: int
    version: int
    kind: str
    start: date
    end: date

    @property
    def label(self) -> str:
        return declaration_rules.period_label(self.kind, self.start)


def _declared(
    zone_id: int, org_id: int, period: declaration_rules.Period, notes: list[str]
) -> tuple[list[_CountedDeclaration], list[dict[str, Any]]]:
    """The declarations counted for the period and their lines.

    Of each declared period the latest counted version (as `services.producer_summary` does). A
    quarter or year sums the declarations inside it, whatever their kind (months, or the quarter
    itself); a declaration that reaches outside the period (a quarter, asked for a month) cannot be
    split and is left out with a note, as is one overlapping a declaration already counted.
    """
    from zerowaste.declarations.services import effective_lines

    lines = list(
        effective_lines(zone_id)
        .filter(
            declaration__organization_id=org_id,
            declaration__stream="hw",
            declaration__period_start__lte=period.end,
            declaration__period_end__gte=period.start,
        )
        .values(
            "declaration_id",
            "declaration__version",
            "declaration__period_kind",
            "declaration__period_start",
            "declaration__period_end",
            "waste_code",
            "waste_name",
            "category_code",
            *declaration_rules.QTY_FIELDS,
        )
        .order_by("declaration__period_start", "position", "pk")
    )
    latest: dict[date, _CountedDeclaration] = {}
    for ln in lines:
        d = _CountedDeclaration(
            ln["declaration_id"],
            ln["declaration__version"],
            ln["declaration__period_kind"],
            ln["declaration__period_start"],
            ln["declaration__period_end"],
        )
        if d.start not in latest or d.version > latest[d.start].version:
            latest[d.start] = d
    counted: list[_CountedDeclaration] = []
    cursor = period.start
    gaps: list[str] = []
    for d in sorted(latest.values(), key=lambda x: x.start):
        if d.start < period.start or d.end > period.end:
            notes.append(
                _(
                    "The declaration of %(declared)s reaches outside %(period)s and cannot be split; "
                    "not counted."
                )
                % {"declared": d.label, "period": period.label}
            )
            continue
        if d.start < cursor:
            notes.append(
                _("The declaration of %(declared)s overlaps one already counted; not counted.")
                % {"declared": d.label}
            )
            continue
        if d.start > cursor:
            gaps.extend(_months_between(cursor, d.start - timedelta(days=1)))
        counted.append(d)
        cursor = d.end + timedelta(days=1)
    if cursor <= period.end:
        gaps.extend(_months_between(cursor, period.end))
    if gaps:
        notes.append(
            _("No counted HW declaration for %(months)s: its figures are missing from this report.")
            % {"months": ", ".join(gaps)}
        )
    ids = {d.id for d in counted}
    return counted, [ln for ln in lines if ln["declaration_id"] in ids]


@dataclass
class _Consignment:
    """The manifests' lines of one (consignee, code, treatment) in the period."""

    code: str
    consignee: Organization
    treatment: str
    quantity_t: Decimal = Decimal("0")
    licence_numbers: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)


def _manifest_lines(zone: Zone, org: Organization, period: declaration_rules.Period) -> list[Any]:
    from zerowaste.transfers.models import TransferLine

    return list(
        TransferLine.objects.filter(
            zone_id=zone.pk,
            transfer__stream="hw",
            transfer__consignor_id=org.pk,
            transfer__planned_date__gte=period.start,
            transfer__planned_date__lte=period.end,
        )
        .exclude(transfer__state__in=NOT_MOVED_STATES)
        .select_related("transfer", "transfer__consignee")
        .order_by("transfer__planned_date", "transfer__number", "transfer_id", "position")
    )


def _load_hw_licences(zone: Zone, organization_ids: set[int], into: dict[int, list[Licence]]) -> None:
    """The HW operating licences (verified, not revoked) of these organizations, oldest first, per
    organization."""
    for lic in (
        Licence.objects.filter(zone_id=zone.pk, organization_id__in=organization_ids, kind="hw_operating")
        .qualifying()
        .order_by("valid_from", "pk")
    ):
        into[lic.organization_id].append(lic)


def _licence_number(licences: list[Licence], code: str, category: str, on: date) -> str:
    """The consignee's HW operating licence valid on the manifest's date and covering the code
    (a licence lists categories `HW49` or codes `900-041-49`; one listing nothing covers all)."""
    from zerowaste.transfers.rules import licence_code_covers

    for lic in licences:
        if licence_covers(lic, on=on) and (
            not lic.waste_codes or licence_code_covers(lic.waste_codes, code, category)
        ):
            return lic.number
    return ""


def _consignments(
    zone: Zone, org: Organization, period: declaration_rules.Period, notes: list[str]
) -> tuple[dict[str, list[_Consignment]], dict[str, dict[str, set[str]]]]:
    """Per code the consignments of the period, and per code the forms, hazards and categories the
    manifest lines give.

    Quantity of a line: the received quantity once the consignee has weighed it, else the estimate.
    What did not reach a consignee is left out: a manifest refused whole, a return of refused waste
    to the organization itself, and the refused part of a one-line manifest accepted in part.
    """
    lines = _manifest_lines(zone, org, period)
    licences: dict[int, list[Licence]] = defaultdict(list)
    _load_hw_licences(zone, {ln.transfer.consignee_id for ln in lines}, licences)
    line_counts: dict[int, int] = defaultdict(int)
    for ln in lines:
        line_counts[ln.transfer_id] += 1
    groups: dict[tuple[str, int, str], _Consignment] = {}
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    estimated: list[str] = []
    refused: list[str] = []
    partly: list[str] = []
    for ln in lines:
        t = ln.transfer
        label = t.number or f"#{t.pk}"
        if t.consignee_id == t.consignor_id:
            continue  # refused waste coming back: nothing was entrusted to anyone
        if t.state == "refused":
            refused.append(label)
            continue
        quantity = ln.received_t if ln.received_t is not None else ln.estimated_t
        if ln.received_t is None:
            estimated.append(label)
        if t.refused_t > 0:
            if line_counts[t.pk] == 1:
                quantity -= t.refused_t
            else:
                partly.append(label)
        for key, value in (("form", ln.physical_form), ("hazard", ln.hazard), ("category", ln.category)):
            if value:
                seen[ln.waste_code][key].add(value)
        treatment = ln.treatment or t.treatment
        group = groups.setdefault(
            (ln.waste_code, t.consignee_id, treatment), _Consignment(ln.waste_code, t.consignee, treatment)
        )
        group.quantity_t += quantity
        number = _licence_number(licences[t.consignee_id], ln.waste_code, ln.category, t.planned_date)
        if number and number not in group.licence_numbers:
            group.licence_numbers.append(number)
        if label not in group.manifests:
            group.manifests.append(label)
    notes.append(
        _(
            "委托外单位利用/处置量: the received quantity of each manifest line the consignee has weighed, "
            "else its estimate."
        )
    )
    if estimated:
        notes.append(
            _("Not yet received, counted at their estimate: %(numbers)s.")
            % {"numbers": ", ".join(dict.fromkeys(estimated))}
        )
    if refused:
        notes.append(
            _("Refused by the consignee, not counted: %(numbers)s.")
            % {"numbers": ", ".join(dict.fromkeys(refused))}
        )
    if partly:
        notes.append(
            _(
                "Accepted in part with several lines (the refused part cannot be told per line), "
                "counted at the received quantity: %(numbers)s."
            )
            % {"numbers": ", ".join(dict.fromkeys(partly))}
        )
    _add_park_collections(zone, org, period, groups, seen, licences, notes)
    by_code: dict[str, list[_Consignment]] = defaultdict(list)
    for g in sorted(groups.values(), key=lambda g: (g.code, g.consignee.name, g.treatment)):
        by_code[g.code].append(g)
    return by_code, seen


# A pilot-park producer hands its HW to the park's store (seed:4005-4017) instead of putting it on a
# manifest; the store's operator is the unit it entrusted the waste to.
PARK_COLLECTION = "集中收集"


def _add_park_collections(
    zone: Zone,
    org: Organization,
    period: declaration_rules.Period,
    groups: dict[tuple[str, int, str], _Consignment],
    seen: dict[str, dict[str, set[str]]],
    licences: dict[int, list[Licence]],
    notes: list[str],
) -> None:
    """The park store's collections from the organization in the period, one consignment per
    (code, store operator), so that what a pilot-park producer declares as sent out is reported and
    reconciled as the declarations' own reconciliation counts it (`collected_quantities`)."""
    from .models import Container

    rows = list(
        Container.objects.filter(
            zone_id=zone.pk, producer_id=org.pk, collected_on__range=(period.start, period.end)
        )
        .select_related("store", "store__operator")
        .order_by("collected_on", "pk")
    )
    if not rows:
        return
    _load_hw_licences(zone, {c.store.operator_id for c in rows} - set(licences), licences)
    stores: set[str] = set()
    for c in rows:
        operator = c.store.operator
        group = groups.setdefault(
            (c.waste_code, operator.pk, PARK_COLLECTION),
            _Consignment(c.waste_code, operator, PARK_COLLECTION),
        )
        group.quantity_t += rules.kg_to_t(c.quantity_kg)
        number = _licence_number(licences[operator.pk], c.waste_code, c.category, c.collected_on)
        if number and number not in group.licence_numbers:
            group.licence_numbers.append(number)
        if c.store.code not in group.manifests:
            group.manifests.append(c.store.code)
        stores.add(c.store.name)
        for key, value in (("form", c.physical_form), ("hazard", c.hazard), ("category", c.category)):
            if value:
                seen[c.waste_code][key].add(value)
    notes.append(
        _(
            "Handed over to the pilot park's store (%(stores)s, no manifest): counted per container "
            "collected in the period, with the store's operator as the entrusted unit."
        )
        % {"stores": "、".join(sorted(stores))}
    )


def _due(zone_id: int, org: Organization, period: declaration_rules.Period, notes: list[str]) -> Due:
    """The tables the organization files, from the class of its latest management plan of the
    report's year or before."""
    plan = (
        ManagementPlan.objects.filter(zone_id=zone_id, organization=org, year__lte=period.start.year)
        .order_by("-year", "-version")
        .first()
    )
    klass = plan.management_class if plan else None
    tables = rules.report_tables_due(klass)
    table = rules.REPORT_TABLE_OF_KIND[period.kind]
    deadline = rules.declaration_report_deadline(period.kind, period.start)
    deadlines = []
    for due_table in tables:
        kind = next(k for k, t in rules.REPORT_TABLE_OF_KIND.items() if t == due_table)
        number = {"month": period.start.month, "quarter": (period.start.month - 1) // 3 + 1, "year": 1}[kind]
        due_period = declaration_rules.make_period(kind, period.start.year, number)
        deadlines.append(
            Deadline(due_table, due_period.label, rules.declaration_report_deadline(kind, due_period.start))
        )
    if plan is None:
        notes.append(
            _(
                "No management plan filed up to %(year)d: the management class, and so the tables due, "
                "are unknown."
            )
            % {"year": period.start.year}
        )
    elif table not in tables:
        notes.append(
            _(
                "%(table)s is not a table this organization files (%(class)s: %(tables)s); "
                "generated on request."
            )
            % {
                "table": table,
                "class": dict(rules.CLASS_CHOICES)[plan.management_class],
                "tables": ", ".join(tables),
            }
        )
    return Due(klass, plan.year if plan else None, tables, table, table in tables, deadline, deadlines)


def _own_method(zone_id: int, org_id: int, code: str, on: date, quantities: dict[str, Decimal]) -> str:
    """The methods of the facilities that covered the code's own utilization and disposal on `on`."""
    from .facilities import facility_for

    methods: list[str] = []
    for activity in ("utilization", "disposal"):
        if quantities.get(activity, Decimal("0")) > 0:
            f = facility_for(zone_id, org_id, code, on, activity)
            if f is not None and f.method not in methods:
                methods.append(f.method)
    return "、".join(methods)


def build_report(actor: Actor, *, organization_id: Any, period: Any) -> DeclarationReport:
    """The national declaration report (C.1, C.2 or C.3 by the period's kind) of one organization.

    Reads only; bad input raises `Invalid` naming the field (`period`, `organization_id`).
    """
    from zerowaste.catalog.services import code_valid

    parsed = parse_report_period(period)
    org = _organization(actor, organization_id)
    zone = Zone.objects.get(pk=org.zone_id)
    notes: list[str] = []
    counted, lines = _declared(zone.pk, org.pk, parsed, notes)
    consignments, seen = _consignments(zone, org, parsed, notes)

    zero = Decimal("0")
    first = counted[0] if counted and counted[0].start == parsed.start else None
    last = counted[-1] if counted and counted[-1].end == parsed.end else None
    generated: dict[str, Decimal] = defaultdict(lambda: zero)
    own: dict[str, Decimal] = defaultdict(lambda: zero)
    own_by_activity: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: zero))
    declared_out: dict[str, Decimal] = defaultdict(lambda: zero)
    opening: dict[str, Decimal] = defaultdict(lambda: zero)
    closing: dict[str, Decimal] = defaultdict(lambda: zero)
    internal: dict[str, str] = {}
    declared_category: dict[str, str] = {}
    for ln in lines:
        code = ln["waste_code"]
        generated[code] += ln["generated_t"]
        own[code] += ln["utilized_t"] + ln["disposed_t"]
        own_by_activity[code]["utilization"] += ln["utilized_t"]
        own_by_activity[code]["disposal"] += ln["disposed_t"]
        declared_out[code] += ln["transferred_util_t"] + ln["transferred_disp_t"]
        if first and ln["declaration_id"] == first.id:
            opening[code] += ln["opening_t"]
        if last and ln["declaration_id"] == last.id:
            closing[code] += ln["closing_t"]
        if ln["waste_name"] and code not in internal:
            internal[code] = ln["waste_name"]
        if ln["category_code"] and code not in declared_category:
            declared_category[code] = ln["category_code"]
    declared_codes = set(generated)
    codes = sorted(declared_codes | set(consignments))

    rows: list[ReportRow] = []
    province_notes = False
    for seq, code in enumerate(codes, start=1):
        check = code_valid(zone.pk, "hw", code, parsed.end)
        entry = check.entry if check.ok else None
        if entry is None:
            notes.append(_("%(code)s: %(message)s") % {"code": code, "message": check.message})
        national_name = entry.name if entry else ""
        name = internal.get(code, "")
        manifest_seen = seen.get(code, {})
        base = ReportRow(
            seq=seq,
            code=code,
            internal_name=name if name != national_name else "",
            national_name=national_name,
            category=(entry.category.code if entry else "")
            or declared_category.get(code, "")
            or "、".join(sorted(manifest_seen.get("category", ()))),
            form="、".join(sorted(manifest_seen.get("form", ()))),
            hazard=(entry.hazard_raw if entry else "") or "、".join(sorted(manifest_seen.get("hazard", ()))),
        )
        if code in declared_codes:
            base.generated_t = generated[code]
            base.own_t = own[code]
            base.own_method = _own_method(zone.pk, org.pk, code, parsed.end, own_by_activity[code])
            base.opening_t = opening[code] if first else None
            base.closing_t = closing[code] if last else None
        groups: list[_Consignment | None] = list(consignments.get(code, ())) or [None]
        for i, g in enumerate(groups):
            row = (
                base
                if i == 0
                else ReportRow(
                    seq=None,
                    code=code,
                    internal_name=base.internal_name,
                    national_name=base.national_name,
                    category=base.category,
                    form=base.form,
                    hazard=base.hazard,
                )
            )
            if g is not None:
                row.province = province_of(g.consignee.address, zone.division_code)
                province_notes = province_notes or not province_in_address(g.consignee.address)
                row.consignee = g.consignee.name
                row.licence_number = "、".join(g.licence_numbers)
                row.entrusted_method = g.treatment
                row.entrusted_t = g.quantity_t
                row.manifests = list(g.manifests)
            rows.append(row)
    if province_notes:
        notes.append(
            _(
                "省（区、市）: the consignee's address does not name a province; the zone's province "
                "(from its division code) is shown."
            )
        )
    if any(r.consignee and not r.licence_number for r in rows):
        notes.append(
            _(
                "A consignee without an HW operating licence valid on the manifest's date for the code "
                "has the licence column blank."
            )
        )

    manifests_t: dict[str, Decimal] = defaultdict(lambda: zero)
    for code, groups_of_code in consignments.items():
        for g in groups_of_code:
            manifests_t[code] += g.quantity_t
    reconciliation = [
        ReconciliationRow(code, declared_out.get(code, zero), manifests_t.get(code, zero))
        for code in sorted(set(declared_out) | set(manifests_t))
    ]
    return DeclarationReport(
        table=rules.REPORT_TABLE_OF_KIND[parsed.kind],
        title=title(parsed),
        period=parsed,
        organization=org,
        columns=columns(parsed.kind),
        rows=rows,
        reconciliation=reconciliation,
        due=_due(zone.pk, org, parsed, notes),
        declarations=[{"id": d.id, "period": d.label, "version": d.version} for d in counted],
        notes=notes,
    )


# --- Excel ------------------------------------------------------------------------------------------


def filename(report: DeclarationReport) -> str:
    return f"HJ1259-{report.table.replace('.', '')}-{report.period.label}-{report.organization.uscc}.xlsx"


def to_xlsx(report: DeclarationReport) -> bytes:
    """The national layout: the title row, the organization, the two header rows (序号 spanning both,
    each group merged over its columns), one row per code and consignee, tonnes with 3 decimals.
    A second sheet holds the reconciliation with the manifests, the tables due and the notes."""
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    cols = report.columns
    width = len(cols)
    last_col = get_column_letter(width)
    workbook = tabular.new_workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = report.table
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    sheet["A1"] = report.title
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = center
    sheet.merge_cells(f"A1:{last_col}1")
    sheet["A2"] = f"单位名称：{report.organization.name}    统一社会信用代码：{report.organization.uscc}"
    sheet.merge_cells(f"A2:{get_column_letter(width - 4)}2")
    unit_cell = sheet.cell(row=2, column=width - 3, value=f"计量单位：{UNIT_T}")
    unit_cell.alignment = Alignment(horizontal="right")
    sheet.merge_cells(start_row=2, start_column=width - 3, end_row=2, end_column=width)

    col_no = 1
    for group, span in report.header_groups:
        sheet.cell(row=3, column=col_no, value=group)
        if group == "序号":
            sheet.merge_cells(start_row=3, start_column=col_no, end_row=4, end_column=col_no)
        elif span > 1:
            sheet.merge_cells(start_row=3, start_column=col_no, end_row=3, end_column=col_no + span - 1)
        col_no += span
    for i, col in enumerate(cols, start=1):
        if col.group:
            sheet.cell(row=4, column=i, value=col.name)
    for row_no in (3, 4):
        for i in range(1, width + 1):
            cell = sheet.cell(row=row_no, column=i)
            cell.font = Font(bold=True)
            cell.alignment = center
            cell.border = box

    for r, row in enumerate(report.rows, start=5):
        for i, (col, value) in enumerate(zip(cols, row.cells(cols), strict=True), start=1):
            cell = sheet.cell(row=r, column=i, value=value)
            cell.border = box
            if col.key in QUANTITY_KEYS and value != "":
                cell.number_format = "0.000"
    for i, col in enumerate(cols, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = (
            6 if col.key == "seq" else (8 if col.key.endswith("_unit") else 16)
        )
    sheet.row_dimensions[4].height = 60
    sheet.freeze_panes = "A5"

    extra = workbook.create_sheet(_("Reconciliation and notes")[:31])
    extra.append([report.title, report.organization.name])
    extra.append([])
    extra.append([_("Declared as transferred out against the manifests (t)")])
    extra.append([_("Waste code"), _("Declared (t)"), _("Manifests (t)"), _("Difference (t)"), _("Matches")])
    for rec in report.reconciliation:
        extra.append(
            [
                rec.waste_code,
                rec.declared_t,
                rec.manifests_t,
                rec.difference_t,
                _("yes") if rec.matches else _("no"),
            ]
        )
    extra.append([])
    due = report.due
    extra.append([_("Management class"), due.management_class or "—", _("Plan year"), due.plan_year or "—"])
    extra.append([_("Tables due"), ", ".join(due.tables) or "—"])
    for d in due.deadlines:
        extra.append([d.table, d.period, d.due.isoformat()])
    extra.append([_("This table"), report.table, _("due by"), due.deadline.isoformat()])
    extra.append([])
    extra.append([_("Notes")])
    for note in report.notes:
        extra.append([note])
    extra.column_dimensions["A"].width = 24
    return tabular.workbook_bytes(workbook)
