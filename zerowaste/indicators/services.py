"""Indicator use cases: the active set, input values (derived, entered, from a file), evaluation, reports.

Public services for other apps:
- `report_rows(zone_id, year) -> list[dict]`: the zone-year table, the objects `zerowaste indicators
  compute --format json` prints (`number`, `name`, `class`, `unit`, `baseline`, `target`, `achieved`,
  `met`, `inputs` ...), JSON-safe (decimals as strings).
- `completion_summary(zone_id, year) -> dict`: `total`, `met`, `not_met`, `unknown`, `by_class`
  ({class: {total, met, ...}}), `completion` (Decimal 0-1, met among evaluated), `not_met_list`.

Input values: a derived value comes from the platform's records through a named derivation (the set
file names it); a department's entry overrides it and both stay visible; a `--inputs` file overrides
both for one computation without being stored. Derived figures reuse the declarations app's
statistics and production data, never a second implementation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from zerowaste.core import audit, periods
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Forbidden, Invalid, NotFound
from zerowaste.core.models import Licence, Zone

from . import rules
from .models import IndicatorSetVersion, InputEntry, Judgment

SETS_DIR = Path(__file__).parent / "sets"
BUNDLED_SET = SETS_DIR / "bda-2019.toml"
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_SET_BYTES = 1024 * 1024
RECORDS_SHOWN = 50


# --- Access ----------------------------------------------------------------------------------------


def may_view(actor: Actor) -> bool:
    """The zone's indicator report is the regulators' (departments') work."""
    return actor.is_system or actor.is_regulator


def may_enter(actor: Actor) -> bool:
    """The zone's figures and judgments are entered by the zone's regulators: a street office reads
    them (its own street's share) but does not decide the zone's."""
    if actor.is_system:
        return True
    if not actor.is_regulator or actor.member_role not in ("admin", "clerk"):
        return False
    if actor.jurisdiction_area_ids is not None:
        return False
    return actor.token_scopes is None or "admin" in actor.token_scopes


def may_load_set(actor: Actor) -> bool:
    return actor.is_system or (may_enter(actor) and actor.member_role == "admin")


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise Forbidden(_("your organization or role may not %(what)s") % {"what": what})


def _year(year: Any) -> int:
    try:
        value = int(year)
    except (TypeError, ValueError):
        raise Invalid.field("year", _("a year such as 2020")) from None
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise Invalid.field("year", _("a year between %(a)d and %(b)d") % {"a": MIN_YEAR, "b": MAX_YEAR})
    return value


# --- Sets ------------------------------------------------------------------------------------------


def derivation_names() -> frozenset[str]:
    return frozenset(DERIVATIONS)


@functools.lru_cache(maxsize=16)
def _parse(text: str) -> rules.IndicatorSet:
    return rules.load_set(text, derivations=derivation_names())


def bundled_set() -> rules.IndicatorSet:
    return _parse(BUNDLED_SET.read_text(encoding="utf-8"))


def active_set(zone_id: int) -> rules.IndicatorSet:
    row = IndicatorSetVersion.objects.filter(zone_id=zone_id, is_active=True).only("source_text").first()
    return _parse(row.source_text) if row else bundled_set()


def latest_year_with_data(zone_id: int) -> int | None:
    """The latest year of an entered input or of an accepted declaration in the zone: the indicator
    pages open on it (ADR 0051), not on the machine's year. Two aggregates."""
    from zerowaste.declarations.models import Declaration

    return periods.latest_of(
        periods.latest_year(InputEntry.objects.filter(zone_id=zone_id), "year"),
        periods.latest_year(Declaration.objects.filter(zone_id=zone_id, status="accepted"), "period_start"),
    )


def check_set_text(text: str) -> rules.IndicatorSet:
    """Validate a set file; Invalid lists every fault with its line."""
    try:
        return rules.load_set(text, derivations=derivation_names())
    except rules.SetError as exc:
        first = exc.faults[0]
        raise Invalid(
            _("the indicator set was refused (%(n)d faults): line %(line)d: %(message)s")
            % {"n": len(exc.faults), "line": first.line, "message": first.message},
            errors=[{"field": "file", "line": f.line, "message": f.message} for f in exc.faults],
        ) from None


@transaction.atomic
def load_set(actor: Actor, *, text: str, activate: bool = True) -> IndicatorSetVersion:
    """Load another indicator set (a TOML file) for the zone, validated; optionally make it active."""
    _require(may_load_set(actor), _("load an indicator set"))
    if len(text.encode()) > MAX_SET_BYTES:
        raise Invalid.field("file", _("larger than 1 MB"))
    parsed = check_set_text(text)
    row = IndicatorSetVersion.objects.filter(
        zone_id=actor.zone_id, code=parsed.code, version=parsed.version
    ).first()
    if row is not None and row.checksum != parsed.checksum:
        raise Invalid.field(
            "file",
            _("set %(c)s version %(v)s is already loaded with other content: give it a new version")
            % {"c": parsed.code, "v": parsed.version},
        )
    if row is None:
        row = IndicatorSetVersion.objects.create(
            zone_id=actor.zone_id,
            code=parsed.code,
            version=parsed.version,
            name=parsed.name,
            source_text=text,
            checksum=parsed.checksum,
            loaded_by=actor.username,
        )
        audit.record(actor, "indicators.set_load", row, {"code": parsed.code, "version": parsed.version})
    if activate:
        activate_set(actor, row.pk)
        row.refresh_from_db()
    return row


@transaction.atomic
def activate_set(actor: Actor, set_id: int | None) -> None:
    """Make a loaded set the zone's set; None goes back to the bundled set."""
    _require(may_load_set(actor), _("switch the indicator set"))
    rows = IndicatorSetVersion.objects.select_for_update().filter(zone_id=actor.zone_id)
    target = None
    if set_id is not None:
        target = rows.filter(pk=set_id).first() if 0 < set_id < 2**63 else None
        if target is None:
            raise NotFound(_("indicator set %(id)s not found") % {"id": set_id})
    rows.filter(is_active=True).exclude(pk=getattr(target, "pk", 0)).update(is_active=False)
    if target is not None and not target.is_active:
        target.is_active = True
        target.save(update_fields=["is_active"])
    anchor = target or Zone.objects.get(pk=actor.zone_id)
    audit.record(actor, "indicators.set_activate", anchor, {"set": str(target) if target else "bundled"})


def sets_of(actor: Actor) -> list[IndicatorSetVersion]:
    _require(may_view(actor), _("see the indicators"))
    return list(
        IndicatorSetVersion.objects.filter(zone_id=actor.zone_id).defer("source_text").order_by("-loaded_at")
    )


# --- Derivations from platform data ----------------------------------------------------------------


DECLARED_FIELDS = ("generated_t", "utilized_t", "disposed_t", "transferred_util_t", "transferred_disp_t")


class Derivation:
    """Platform figures of one zone-year, fetched once each and shared by the inputs that need them."""

    def __init__(self, zone_id: int, year: int) -> None:
        self.zone_id = zone_id
        self.year = year
        self.actor = Actor.system(Zone.objects.get(pk=zone_id))
        self._cache: dict[Any, Any] = {}

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def declared(self, stream: str, year: int | None = None) -> dict[str, Decimal]:
        """Zone totals of a stream-year over the lines that count (accepted versions, first versions
        while submitted: the declarations app's `effective_lines`, as its `statistics` uses them).

        One scan for both streams and both years the derivations need (this year, and last year for
        the stock drawdown); tests check the totals against `declarations.services.statistics`."""
        year = self.year if year is None else year
        empty = {f: Decimal(0) for f in (*DECLARED_FIELDS, "stock_t", "lines")}
        return self.memo("declared", self._declared_totals).get((stream, year), empty)  # type: ignore[no-any-return]

    def _declared_totals(self) -> dict[tuple[str, int], dict[str, Decimal]]:
        from zerowaste.declarations import services as declarations

        zero = Value(Decimal(0))
        year_end = Q(declaration__period_end__month=12, declaration__period_end__day=31)
        rows = (
            declarations.effective_lines(self.zone_id)
            .filter(
                declaration__period_start__gte=date(self.year - 1, 1, 1),
                declaration__period_start__lte=date(self.year, 12, 31),
            )
            .values("declaration__stream", y=ExtractYear("declaration__period_start"))
            .annotate(
                **{f: Coalesce(Sum(f), zero) for f in DECLARED_FIELDS},
                stock_t=Coalesce(Sum("closing_t", filter=year_end), zero),
                lines=Count("id"),
            )
            .order_by()
        )
        kg = Decimal("0.001")
        out: dict[tuple[str, int], dict[str, Decimal]] = {}
        for row in rows:
            # SQLite sums decimals as floats: back to the kilogram, as the declarations app does.
            totals = {f: Decimal(row[f]).quantize(kg) for f in (*DECLARED_FIELDS, "stock_t")}
            totals["lines"] = Decimal(row["lines"])
            out[(row["declaration__stream"], int(row["y"]))] = totals
        return out

    def has_declarations(self, stream: str) -> bool:
        return self.declared(stream)["lines"] > 0

    def prior_stock_utilized(self, stream: str) -> Decimal | None:
        if not self.has_declarations(stream):
            return None
        now = self.declared(stream)
        before = self.declared(stream, self.year - 1)
        drawdown = before["stock_t"] - now["stock_t"]
        utilized = now["utilized_t"] + now["transferred_util_t"]
        return max(Decimal(0), min(drawdown, utilized))

    def value_added(self) -> Decimal | None:
        def make() -> Decimal | None:
            from zerowaste.declarations import services as declarations

            rows = declarations.production_data(self.actor, year=self.year)
            total = rows.aggregate(total=Sum("value_added_wan"))
            return Decimal(total["total"]) if total["total"] is not None else None

        return self.memo("value_added", make)  # type: ignore[no-any-return]

    def hw_operators(self) -> Decimal | None:
        count = (
            Licence.objects.qualifying()
            .filter(
                zone_id=self.zone_id,
                kind="hw_operating",
                valid_from__lte=date(self.year, 12, 31),
                valid_to__gte=date(self.year, 1, 1),
            )
            .values("organization_id")
            .distinct()
            .count()
        )
        return Decimal(count) if count else None

    def hw_manifested(self) -> Decimal | None:
        # One aggregate: transfers.services.statistics() has this figure too, but it also reads every
        # closed manifest's timestamps (average days to close), which a zone-wide report doesn't need.
        from zerowaste.transfers.models import Transfer

        row = Transfer.objects.filter(
            zone_id=self.zone_id, stream="hw", state="closed", planned_date__year=self.year
        ).aggregate(t=Sum("received_t"))
        return Decimal(row["t"]) if row["t"] is not None else None

    def inspections(self, subject: str) -> dict[str, int] | None:
        """Standardized-management inspection counts of the year for `producer` or `operator`, from the
        hazardous app's `inspection_rates(zone_id, year, subject=...)`. Its first version counted every
        subject together: then it stands for the producers only. Absent: entered."""

        def make() -> dict[str, int] | None:
            try:
                from zerowaste.hazardous import services as hazardous
            except ImportError:
                return None
            rates = getattr(hazardous, "inspection_rates", None)
            if rates is None:
                return None
            try:
                result = rates(self.zone_id, self.year, subject=subject)
            except TypeError:
                if subject != "producer":
                    return None
                result = rates(self.zone_id, self.year)
            return {k: int(result.get(k, 0) or 0) for k in ("passed", "basically_passed", "failed", "total")}

        return self.memo(("inspections", subject), make)  # type: ignore[no-any-return]


def _declared(stream: str, *fields: str) -> Callable[[Derivation], Decimal | None]:
    def derive(d: Derivation) -> Decimal | None:
        if not d.has_declarations(stream):
            return None
        totals = d.declared(stream)
        return sum((totals[f] for f in fields), Decimal(0))

    return derive


def _inspection(subject: str, field_name: str) -> Callable[[Derivation], Decimal | None]:
    def derive(d: Derivation) -> Decimal | None:
        counts = d.inspections(subject)
        if not counts or not counts.get("total"):
            return None
        return Decimal(counts[field_name])

    return derive


DERIVATIONS: dict[str, Callable[[Derivation], Decimal | None]] = {
    "declarations.isw.generated": _declared("isw", "generated_t"),
    "declarations.isw.utilized": _declared("isw", "utilized_t", "transferred_util_t"),
    "declarations.isw.disposed": _declared("isw", "disposed_t", "transferred_disp_t"),
    "declarations.isw.stock": _declared("isw", "stock_t"),
    "declarations.isw.prior_stock_utilized": lambda d: d.prior_stock_utilized("isw"),
    "declarations.hw.generated": _declared("hw", "generated_t"),
    "declarations.hw.utilized": _declared("hw", "utilized_t", "transferred_util_t"),
    "declarations.hw.disposed_inhouse": _declared("hw", "disposed_t"),
    "declarations.hw.transferred_disposal": _declared("hw", "transferred_disp_t"),
    "declarations.hw.stock": _declared("hw", "stock_t"),
    "declarations.hw.prior_stock_utilized": lambda d: d.prior_stock_utilized("hw"),
    "declarations.production.value_added": lambda d: d.value_added(),
    "licences.hw_operating": lambda d: d.hw_operators(),
    "transfers.hw.received": lambda d: d.hw_manifested(),
    "hazardous.inspections.total": _inspection("producer", "total"),
    "hazardous.inspections.passed": _inspection("producer", "passed"),
    "hazardous.inspections.basically_passed": _inspection("producer", "basically_passed"),
    "hazardous.inspections.operators.total": _inspection("operator", "total"),
    "hazardous.inspections.operators.passed": _inspection("operator", "passed"),
    "hazardous.inspections.operators.basically_passed": _inspection("operator", "basically_passed"),
}


def _household_derivations() -> dict[str, Callable[[Derivation], Decimal | None]]:
    """Indicators 6, 7, 12, 13, 20 and 21's inputs from the household records (issue 17)."""
    from zerowaste.household.derivations import DERIVATIONS as household

    return household


DERIVATIONS.update(_household_derivations())


# --- Input values ----------------------------------------------------------------------------------


@dataclass
class InputState:
    """One input of a zone-year: the value that counts and where it came from, beside the others."""

    definition: rules.InputDef
    value: rules.Value = None
    origin: str = "missing"  # file, entered, derived, computed, previous_year, missing
    derived: rules.Value = None
    entry: InputEntry | None = None
    file_value: rules.Value = None
    used_by: list[str] = field(default_factory=list)

    @property
    def entered(self) -> rules.Value:
        if self.entry is None or self.entry.value == "":
            return None
        return _stored_value(self.definition, self.entry.value)

    def as_dict(self) -> dict[str, Any]:
        d = self.definition
        entry = self.entry
        return {
            "key": d.key,
            "name": d.name,
            "name_en": d.name_en,
            "unit": d.unit_text,
            "value": _json_value(self.value, d),
            "origin": self.origin,
            "derived": _json_value(self.derived, d),
            "entered": _json_value(self.entered, d),
            "file": _json_value(self.file_value, d),
            "derivation": d.derive,
            "department": d.department,
            "entry": (
                {
                    "id": entry.pk,
                    "value": entry.value,
                    "source": entry.source,
                    "department": entry.department,
                    "entered_by": entry.entered_by,
                    "entered_at": entry.created_at.isoformat(),
                    "evidence": entry.evidence_name,
                }
                if entry is not None
                else None
            ),
        }


def _stored_value(definition: rules.InputDef, text: str) -> rules.Value:
    if definition.scale is not None:
        return text
    return Decimal(text)


def _json_value(value: rules.Value, definition: rules.InputDef | None = None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = value.normalize() if value == value.to_integral() else value
        text = format(value, "f")
        if "." in text and definition is not None and definition.unit is not None:
            text = text.rstrip("0").rstrip(".") if len(text.split(".")[1]) > 6 else text
        return text
    return value


def latest_entries(zone_id: int, year: int) -> dict[str, InputEntry]:
    out: dict[str, InputEntry] = {}
    for entry in (
        InputEntry.objects.filter(zone_id=zone_id, year=year).defer("evidence").order_by("created_at", "pk")
    ):
        out[entry.key] = entry
    return out


def resolve_inputs(
    zone_id: int,
    year: int,
    *,
    overrides: Mapping[str, rules.Value] | None = None,
    indicator_set: rules.IndicatorSet | None = None,
) -> dict[str, InputState]:
    """Every input of the set for a zone-year: file value, else entry, else derived, else computed."""
    indicator_set = indicator_set or active_set(zone_id)
    overrides = overrides or {}
    derivation = Derivation(zone_id, year)
    entries = latest_entries(zone_id, year)
    states: dict[str, InputState] = {}
    for key, definition in indicator_set.inputs.items():
        state = InputState(definition)
        state.entry = entries.get(key)
        if definition.derive:
            state.derived = DERIVATIONS[definition.derive](derivation)
        if definition.lag:
            state.derived = _previous_year_value(
                zone_id, year - 1, indicator_set.inputs[definition.lag], derivation
            )
        state.file_value = overrides.get(key)
        for origin, value in (
            ("file", state.file_value),
            ("entered", state.entered),
            ("previous_year" if definition.lag else "derived", state.derived),
        ):
            if value is not None:
                state.value, state.origin = value, origin
                break
        states[key] = state
    values = {k: s.value for k, s in states.items()}
    for state in states.values():
        if state.value is None and state.definition.formula is not None:
            state.value = rules.computed_value(state.definition, indicator_set.inputs, values)
            state.derived = state.value
            state.origin = "computed" if state.value is not None else "missing"
    for indicator in indicator_set.indicators:
        for key in [*indicator.inputs, *indicator.see_also]:
            states[key].used_by.append(indicator.number)
    return states


def _previous_year_value(
    zone_id: int, year: int, definition: rules.InputDef, derivation: Derivation
) -> rules.Value:
    entry = (
        InputEntry.objects.filter(zone_id=zone_id, year=year, key=definition.key)
        .order_by("-created_at", "-pk")
        .first()
    )
    if entry is not None and entry.value != "":
        return _stored_value(definition, entry.value)
    if definition.derive:
        return DERIVATIONS[definition.derive](Derivation(zone_id, year))
    return None


def parse_overrides(indicator_set: rules.IndicatorSet, data: Any) -> dict[str, rules.Value]:
    """An `--inputs` mapping {key: "decimal" | "word"} checked against the set; faults name the key."""
    if not isinstance(data, dict):
        raise Invalid.field("inputs", _("a JSON object mapping input keys to values"))
    out: dict[str, rules.Value] = {}
    faults: list[dict[str, object]] = []
    for key, raw in data.items():
        definition = indicator_set.inputs.get(str(key))
        if definition is None:
            faults.append({"field": str(key), "message": _("unknown input key")})
            continue
        try:
            out[str(key)] = rules.parse_value(definition, raw, indicator_set.scales)
        except ValueError as exc:
            faults.append({"field": str(key), "message": str(exc)})
    if faults:
        raise Invalid(
            _("%(n)d input values refused, first: %(k)s: %(m)s")
            % {"n": len(faults), "k": faults[0]["field"], "m": faults[0]["message"]},
            errors=faults,
        )
    return out


def read_overrides_file(indicator_set: rules.IndicatorSet, path: str) -> dict[str, rules.Value]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle, parse_float=str, parse_int=str)
    except OSError as exc:
        raise Invalid.field("inputs", str(exc)) from None
    except json.JSONDecodeError as exc:
        raise Invalid.field("inputs", _("not JSON: %(e)s") % {"e": exc}) from None
    return parse_overrides(indicator_set, data)


# --- Entries ---------------------------------------------------------------------------------------


@transaction.atomic
def enter_input(
    actor: Actor,
    *,
    year: int,
    key: str,
    value: str,
    source: str,
    department: str = "",
    evidence_name: str = "",
    evidence: bytes | None = None,
    evidence_type: str = "",
) -> InputEntry:
    """A department's value of an input (with its source and evidence); an empty value withdraws it."""
    _require(may_enter(actor), _("enter indicator inputs"))
    year = _year(year)
    indicator_set = active_set(actor.zone_id)
    definition = indicator_set.inputs.get(key)
    if definition is None:
        raise Invalid.field("key", _("unknown input key %(k)s") % {"k": key})
    text = (value or "").strip()
    if text:
        try:
            parsed = rules.parse_value(definition, text, indicator_set.scales)
        except ValueError as exc:
            raise Invalid.field("value", str(exc)) from None
        text = parsed if isinstance(parsed, str) else format(parsed, "f")
        if len(text) > 64:
            raise Invalid.field("value", _("too long"))
    source = (source or "").strip()
    if not source:
        raise Invalid.field("source", _("say where the figure comes from (document, survey, statistics)"))
    if len(source) > 500:
        raise Invalid.field("source", _("at most 500 characters"))
    if evidence is not None and len(evidence) > MAX_EVIDENCE_BYTES:
        raise Invalid.field("evidence", _("larger than 10 MB"))
    # Entries of one key are serialized so that "the newest counts" is well defined.
    Zone.objects.select_for_update().filter(pk=actor.zone_id).first()
    entry = InputEntry.objects.create(
        zone_id=actor.zone_id,
        year=year,
        key=key,
        value=text,
        source=source,
        department=(department or (actor.organization.name if actor.organization else ""))[:200],
        organization=actor.organization,
        evidence_name=(evidence_name or "")[:255] if evidence else "",
        evidence_type=(evidence_type or "application/octet-stream")[:100] if evidence else "",
        evidence=evidence or None,
        entered_by=actor.username,
    )
    audit.record(
        actor,
        "indicators.input_enter",
        entry,
        {"year": year, "key": key, "value": text, "source": source, "evidence": entry.evidence_name},
    )
    return entry


def entries_of(actor: Actor, *, year: int, key: str | None = None) -> list[InputEntry]:
    _require(may_view(actor), _("see the indicators"))
    qs = InputEntry.objects.filter(zone_id=actor.zone_id, year=_year(year)).defer("evidence")
    if key:
        qs = qs.filter(key=key)
    return list(qs.order_by("-created_at", "-pk")[:500])


def evidence_of(actor: Actor, entry_id: int) -> InputEntry:
    _require(may_view(actor), _("see the indicators"))
    entry = (
        InputEntry.objects.filter(zone_id=actor.zone_id, pk=entry_id).first()
        if 0 < entry_id < 2**63
        else None
    )
    if entry is None or not entry.evidence:
        raise NotFound(_("evidence %(id)s not found") % {"id": entry_id})
    return entry


# --- Judgments -------------------------------------------------------------------------------------

MAX_REASON = 1000


def judgment_indicators(indicator_set: rules.IndicatorSet) -> list[rules.IndicatorDef]:
    """The indicators whose direction is a judgment (a reasonable level), which a regulator decides."""
    return [i for i in indicator_set.indicators if i.direction in rules.JUDGMENT_DIRECTIONS]


def latest_judgments(zone_id: int, year: int) -> dict[str, Judgment]:
    out: dict[str, Judgment] = {}
    for row in Judgment.objects.filter(zone_id=zone_id, year=year).order_by("created_at", "pk"):
        out[row.number] = row
    return out


def _as_rule(row: Judgment) -> rules.Judgment:
    return rules.Judgment(row.met, row.reason, row.judged_by, row.created_at.isoformat())


def _met_flag(met: Any) -> bool:
    if isinstance(met, bool):
        return met
    text = str(met or "").strip().lower()
    if text in ("1", "true", "yes", "met", "达标", "已完成", "完成"):
        return True
    if text in ("0", "false", "no", "not_met", "not met", "未达标", "未完成"):
        return False
    raise Invalid.field("met", _("say whether the indicator is met: met or not_met"))


@transaction.atomic
def record_judgment(actor: Actor, *, year: Any, number: str, met: Any, reason: str) -> Judgment:
    """A regulator's verdict on a judgment indicator of a zone-year, with its reason (audited). The
    newest judgment counts; earlier ones stay as history."""
    _require(may_enter(actor), _("judge an indicator"))
    year = _year(year)
    indicator_set = active_set(actor.zone_id)
    number = (number or "").strip()
    indicator = indicator_set.indicator(number)
    if indicator is None:
        raise Invalid.field("number", _("unknown indicator %(n)s") % {"n": number[:20]})
    if indicator.direction not in rules.JUDGMENT_DIRECTIONS:
        raise Invalid.field(
            "number",
            _("indicator %(n)s is decided by its figure against the target, not by a judgment")
            % {"n": number},
        )
    flag = _met_flag(met)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid.field("reason", _("give the reason for the judgment"))
    if len(reason) > MAX_REASON:
        raise Invalid.field("reason", _("at most %(n)d characters") % {"n": MAX_REASON})
    row = Judgment.objects.create(
        zone_id=actor.zone_id,
        year=year,
        number=number,
        met=flag,
        reason=reason,
        organization=actor.organization,
        judged_by=actor.username,
    )
    audit.record(
        actor, "indicators.judge", row, {"year": year, "indicator": number, "met": flag, "reason": reason}
    )
    return row


def judgments_of(actor: Actor, *, year: Any, number: str | None = None) -> list[Judgment]:
    _require(may_view(actor), _("see the indicators"))
    qs = Judgment.objects.filter(zone_id=actor.zone_id, year=_year(year))
    if number:
        qs = qs.filter(number=number)
    return list(qs.order_by("-created_at", "-pk")[:500])


def judgment_dict(row: Judgment) -> dict[str, Any]:
    return {
        "id": row.pk,
        "year": row.year,
        "number": row.number,
        "met": row.met,
        "reason": row.reason,
        "judged_by": row.judged_by,
        "judged_at": row.created_at.isoformat(),
    }


# --- Evaluation and reports ------------------------------------------------------------------------


@dataclass
class Evaluation:
    zone_id: int
    year: int
    indicator_set: rules.IndicatorSet
    inputs: dict[str, InputState]
    results: list[rules.IndicatorResult]

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        return rules.summary(self.results)

    @functools.cached_property
    def notes(self) -> list[str]:
        return rules.claim_notes(self.indicator_set, self.results, self.year)


def evaluate_zone(
    zone_id: int, year: int, *, overrides: Mapping[str, rules.Value] | None = None
) -> Evaluation:
    year = _year(year)
    indicator_set = active_set(zone_id)
    states = resolve_inputs(zone_id, year, overrides=overrides, indicator_set=indicator_set)
    judgments = {n: _as_rule(row) for n, row in latest_judgments(zone_id, year).items()}
    results = rules.compute(indicator_set, {k: s.value for k, s in states.items()}, year, judgments)
    return Evaluation(zone_id, year, indicator_set, states, results)


def evaluate(actor: Actor, *, year: int, overrides: Mapping[str, rules.Value] | None = None) -> Evaluation:
    _require(may_view(actor), _("see the indicators"))
    return evaluate_zone(actor.zone_id, year, overrides=overrides)


def _part_dict(part: rules.MeasureResult) -> dict[str, Any]:
    m = part.measure
    return {
        "label": m.label,
        "formula": m.formula_text,
        "unit": m.unit_label,
        "baseline": _json_value(m.baseline) if m.baseline is not None else None,
        "baseline_text": m.baseline_text,
        "target": _json_value(m.target) if m.target is not None else None,
        "target_text": m.target_text,
        "achieved": part.achieved_text,
        "exact": part.exact_text,
        "met": part.met,
        "needs_judgment": part.needs_judgment,
        "judgment": _judgment_json(part.judgment),
        "rounding_note": part.rounding_note or None,
        "reason": part.reason,
        "published": m.published or None,
    }


def _judgment_json(judgment: rules.Judgment | None) -> dict[str, Any] | None:
    if judgment is None:
        return None
    return {
        "met": judgment.met,
        "reason": judgment.reason,
        "judged_by": judgment.judged_by,
        "judged_at": judgment.judged_at,
    }


def row_of(evaluation: Evaluation, result: rules.IndicatorResult) -> dict[str, Any]:
    ind = result.indicator
    parts = [_part_dict(p) for p in result.parts]
    first = parts[0]
    return {
        "number": ind.number,
        "name": ind.name,
        "name_en": ind.name_en,
        "class": ind.cls,
        "required": ind.cls == "required",
        "level1": ind.level1,
        "level2": ind.level2,
        "unit": ind.unit_label,
        "direction": ind.direction,
        "formula": first["formula"],
        "baseline": first["baseline"],
        "baseline_text": first["baseline_text"],
        "target": first["target"],
        "target_text": first["target_text"],
        "achieved": first["achieved"],
        "exact": first["exact"],
        "met": result.met,
        "state": result.state,
        "needs_judgment": result.needs_judgment,
        "judgment": first["judgment"],
        "rounding_note": result.rounding_note or None,
        "reason": result.reason,
        "published": first["published"],
        "parts": parts if len(parts) > 1 else [],
        "inputs": {
            key: {
                "value": _json_value(evaluation.inputs[key].value, evaluation.inputs[key].definition),
                "unit": evaluation.inputs[key].definition.unit_text,
                "origin": evaluation.inputs[key].origin,
            }
            for key in ind.inputs
        },
    }


def rows_of(evaluation: Evaluation) -> list[dict[str, Any]]:
    return [row_of(evaluation, r) for r in evaluation.results]


def report_rows(zone_id: int, year: int) -> list[dict[str, Any]]:
    """The zone-year indicator table (what `compute --format json` prints); JSON-safe."""
    return rows_of(evaluate_zone(zone_id, year))


def completion_summary(zone_id: int, year: int) -> dict[str, Any]:
    """Counts met / not met / unknown overall and per class, the completion share and the misses."""
    return dict(evaluate_zone(zone_id, year).summary)


def summary_json(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **summary,
        "completion": str(summary["completion"]) if summary["completion"] is not None else None,
    }


def inputs_of(actor: Actor) -> list[dict[str, Any]]:
    _require(may_view(actor), _("see the indicators"))
    return inputs_catalog(actor.zone_id)


def inputs_catalog(zone_id: int) -> list[dict[str, Any]]:
    """Every input key of the zone's set with unit, meaning, department and how it is obtained."""
    indicator_set = active_set(zone_id)
    used: dict[str, list[str]] = {k: [] for k in indicator_set.inputs}
    for ind in indicator_set.indicators:
        for key in [*ind.inputs, *ind.see_also]:
            used[key].append(ind.number)
    return [
        {
            "key": d.key,
            "name": d.name,
            "name_en": d.name_en,
            "unit": d.unit_text,
            "scale": list(indicator_set.scales[d.scale].levels) if d.scale else None,
            "meaning": d.meaning,
            "department": d.department,
            "obtained": d.origin_kind,
            "derivation": d.derive,
            "formula": d.formula_text or None,
            "previous_year_of": d.lag,
            "used_by": used[d.key],
        }
        for d in indicator_set.inputs.values()
    ]


def trend(actor: Actor, *, years: list[int]) -> dict[str, Any]:
    """Achieved values of every indicator across years (for the comparison page and its charts)."""
    _require(may_view(actor), _("see the indicators"))
    years = sorted({_year(y) for y in years})[:10]
    evaluations = [evaluate_zone(actor.zone_id, y) for y in years]
    indicator_set = evaluations[0].indicator_set if evaluations else active_set(actor.zone_id)
    series = []
    for i, ind in enumerate(indicator_set.indicators):
        values = []
        for ev in evaluations:
            part = ev.results[i].parts[0]
            values.append({"year": ev.year, "achieved": part.achieved_text, "met": ev.results[i].met})
        m = ind.measures[0]
        series.append(
            {
                "number": ind.number,
                "name": ind.name,
                "class": ind.cls,
                "unit": ind.unit_label,
                "numeric": m.scale is None,
                "levels": list(indicator_set.scales[m.scale].levels) if m.scale else None,
                "baseline": _json_value(m.baseline) if m.baseline is not None else None,
                "target": _json_value(m.target) if m.target is not None else None,
                "values": values,
            }
        )
    return {
        "years": years,
        "summaries": [{"year": ev.year, **summary_json(ev.summary)} for ev in evaluations],
        "series": series,
    }


# --- Drill-down to the records ---------------------------------------------------------------------


def _url(name: str, query: str = "", **kwargs: Any) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return None


def records(actor: Actor, *, year: int, key: str) -> dict[str, Any]:
    """What an input's value is made of: the platform records behind a derived figure, the entries."""
    _require(may_view(actor), _("see the indicators"))
    year = _year(year)
    indicator_set = active_set(actor.zone_id)
    definition = indicator_set.inputs.get(key)
    if definition is None:
        raise NotFound(_("input %(k)s not found") % {"k": key})
    derive = definition.derive or ""
    rows: list[dict[str, Any]] = []
    links: list[dict[str, str]] = []
    more = 0
    # Every row below is filtered as the actor's own lists are: a street regulator sees the companies
    # of its street only (issue 15, defect 5); the input's value stays the zone's published figure.
    if derive.startswith("declarations.production"):
        from zerowaste.declarations import services as declarations

        production = declarations.production_data(actor, year=year).order_by("-value_added_wan")
        more = max(0, production.count() - RECORDS_SHOWN)
        for row in production[:RECORDS_SHOWN]:
            rows.append(
                {
                    "label": row.organization.name,
                    "value": str(row.value_added_wan),
                    "url": _url("portal:organization", organization_id=row.organization_id),
                }
            )
        links.append(
            {"label": _("Production data"), "url": _url("declarations:production", f"year={year}") or ""}
        )
    elif derive.startswith("declarations."):
        from zerowaste.declarations import services as declarations

        stream = derive.split(".")[1]
        stats = declarations.statistics(actor, year=year, by="organization", stream=stream)
        field_of = {
            "generated": ["generated_t"],
            "utilized": ["utilized_t", "transferred_util_t"],
            "disposed": ["disposed_t", "transferred_disp_t"],
            "disposed_inhouse": ["disposed_t"],
            "transferred_disposal": ["transferred_disp_t"],
            "stock": ["stock_t"],
            "prior_stock_utilized": ["stock_t"],
        }[derive.split(".")[2]]
        ranked = sorted(stats["rows"], key=lambda r: sum(Decimal(r[f]) for f in field_of), reverse=True)
        more = max(0, len(ranked) - RECORDS_SHOWN)
        for row in ranked[:RECORDS_SHOWN]:
            rows.append(
                {
                    "label": row["key"],
                    "value": str(sum(Decimal(row[f]) for f in field_of)),
                    "url": _url("declarations:list", f"year={year}&stream={stream}&q={row['key']}"),
                }
            )
        links.append(
            {
                "label": _("Declaration statistics"),
                "url": _url("declarations:stats", f"year={year}&stream={stream}") or "",
            }
        )
        links.append(
            {
                "label": _("Declarations"),
                "url": _url("declarations:list", f"year={year}&stream={stream}") or "",
            }
        )
    elif derive == "licences.hw_operating":
        licences = (
            Licence.objects.qualifying()
            .filter(
                zone_id=actor.zone_id,
                organization__in=visible_organizations(actor),
                kind="hw_operating",
                valid_from__lte=date(year, 12, 31),
                valid_to__gte=date(year, 1, 1),
            )
            .select_related("organization")
        )
        more = max(0, licences.count() - RECORDS_SHOWN)
        for lic in licences.order_by("organization__name")[:RECORDS_SHOWN]:
            rows.append(
                {
                    "label": f"{lic.organization.name} · {lic.number}",
                    "value": f"{lic.valid_from} – {lic.valid_to}",
                    "url": _url("portal:organization", organization_id=lic.organization_id),
                }
            )
    elif derive.startswith("transfers."):
        from zerowaste.transfers import services as transfers

        qs = transfers.visible_transfers(actor).filter(stream="hw", state="closed", planned_date__year=year)
        more = max(0, qs.count() - RECORDS_SHOWN)
        for t in qs.select_related("consignor", "consignee").order_by("-received_t", "pk")[:RECORDS_SHOWN]:
            rows.append(
                {
                    "label": f"{t.number} · {t.consignor.name} → {t.consignee.name}",
                    "value": str(t.received_t),
                    "url": _url("transfers:detail", transfer_id=t.pk),
                }
            )
        links.append(
            {
                "label": _("Manifest register"),
                "url": _url("transfers:register", f"year={year}&stream=hw&state=closed") or "",
            }
        )
    elif derive.startswith("household."):
        from zerowaste.household import derivations as household_derivations

        found, household_links = household_derivations.records(actor, year, derive)
        more = max(0, len(found) - RECORDS_SHOWN)
        rows.extend(found[:RECORDS_SHOWN])
        links.extend(household_links)
    elif derive.startswith("hazardous."):
        url = _url("hazardous:home")
        if url:
            links.append({"label": _("Hazardous pilot"), "url": url})
    state = resolve_inputs(actor.zone_id, year, indicator_set=indicator_set)[key]
    return {
        "year": year,
        "input": state.as_dict(),
        "meaning": definition.meaning,
        "rows": rows,
        "more": more,
        "links": [link for link in links if link["url"]],
        "entries": [
            {
                "id": e.pk,
                "value": e.value,
                "source": e.source,
                "department": e.department,
                "entered_by": e.entered_by,
                "entered_at": e.created_at.isoformat(),
                "evidence": e.evidence_name,
            }
            for e in entries_of(actor, year=year, key=key)
        ],
    }
