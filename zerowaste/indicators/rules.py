"""Indicator sets as data, their units, and evaluation by rule. Pure: no database here.

An indicator set is a TOML file (see `sets/bda-2019.toml`): scales, input quantities and indicators.
`load_set(text)` parses and validates it and answers every fault with its line: unknown input keys,
formulas whose unit is not the indicator's, circular computed inputs, unknown scale words, unknown
derivations. `compute(set, values)` evaluates every indicator for one zone-year from resolved input
values; "met" follows the indicator's direction (from its 发展趋势) against the target — it is never
typed in.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zerowaste.core.formatting import format_figure, page_is_chinese, unit_label

from . import expr

CLASSES = ("required", "optional", "self")
CLASS_LABELS_ZH = {"required": "必选指标", "optional": "可选指标", "self": "自选指标"}  # the seed's words
CLASS_LABELS = {
    "required": gettext_lazy("required indicators"),
    "optional": gettext_lazy("optional indicators"),
    "self": gettext_lazy("self-selected indicators"),
}
DIRECTIONS = ("higher", "lower", "cap", "zero", "range", "ordinal")
# A "reasonable level" (稳定于/控制在合理水平, seed:1707, 1745) is a judgment, not a number: the figure is
# shown against its guides (the target as an upper bound, range_min as a lower one), and the verdict is
# the one a regulator records with its reason (docs/adr/0053).
JUDGMENT_DIRECTIONS = frozenset({"range"})

# --- Words a page shows for the set's keys (issue 16, item 5: no key on a page) --------------------

DIRECTION_LABELS = {
    "higher": gettext_lazy("the higher the better"),
    "lower": gettext_lazy("the lower the better"),
    "cap": gettext_lazy("must not grow"),
    "zero": gettext_lazy("must be zero"),
    "range": gettext_lazy("within a reasonable level"),
    "ordinal": gettext_lazy("at least the target rating"),
}
ORIGIN_LABELS = {
    "file": gettext_lazy("file input"),
    "entered": gettext_lazy("department entry"),
    "derived": gettext_lazy("platform data"),
    "computed": gettext_lazy("computed"),
    "previous_year": gettext_lazy("previous year's figure"),
    "missing": gettext_lazy("missing"),
}
# Unit atoms written as words in the set (`count`, `kg/person/day`); t, kg and % are written as they are.
UNIT_WORDS = {
    "count": gettext_lazy("unit(s)"),
    "person": gettext_lazy("person(s)"),
    "day": gettext_lazy("day"),
    "m2": "m²",
}
# Tonnes and kilograms by the one formatter's names (吨/千克 on a Chinese page); `t` only as a word of
# its own, so that the t of another word is left alone.
_UNIT_WORD_RE = re.compile(r"count|person|day|m2|kg|(?<![A-Za-z])t(?![A-Za-z])|万|元")
_KEY_IN_FORMULA_RE = re.compile(r"\b[a-z][a-z0-9_]*\b")
FORMULA_FUNCTIONS = {"min": gettext_lazy("min"), "max": gettext_lazy("max"), "abs": gettext_lazy("abs")}


def unit_words(unit_text: str) -> str:
    """A unit of the set in the page's language: `kg/person/day` → kg/人/天, `scale:satisfaction` → 等级."""
    if unit_text.startswith("scale:"):
        return _("rating")

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("t", "kg"):
            return unit_label(token)
        if token in ("万", "元"):
            return token if page_is_chinese() else {"万": "10k ", "元": "CNY"}[token]
        return str(UNIT_WORDS[token])

    return _UNIT_WORD_RE.sub(word, unit_text)


def formula_in_words(formula_text: str, names: dict[str, str]) -> str:
    """A formula over input keys, written with the inputs' names (the keys stay in the set file)."""

    def word(match: re.Match[str]) -> str:
        key = match.group(0)
        return names.get(key) or str(FORMULA_FUNCTIONS.get(key, key))

    return _KEY_IN_FORMULA_RE.sub(word, formula_text)


ABSENT_WORD = "暂无"  # "none yet": a baseline that had no value
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NUMBER_RE = re.compile(r"^[A-Z]?[0-9]{1,3}$")


# --- Units -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A unit: multiply a value in it by `factor` to get base units; `dims` are the base exponents."""

    factor: Decimal
    dims: tuple[tuple[str, int], ...]

    def same_dimension(self, other: Unit) -> bool:
        return self.dims == other.dims

    def describe(self) -> str:
        if not self.dims:
            return "1"
        return "·".join(d if e == 1 else f"{d}^{e}" for d, e in self.dims)


# Base units: tonne, 万元 (10k CNY), person, day, m², count (个/家/项/台 ...).
ATOMS: dict[str, tuple[Decimal, str | None]] = {
    "1": (Decimal(1), None),
    "%": (Decimal("0.01"), None),
    "t": (Decimal(1), "t"),
    "kg": (Decimal("0.001"), "t"),
    "万t": (Decimal(10000), "t"),
    "万元": (Decimal(1), "万元"),
    "元": (Decimal("0.0001"), "万元"),
    "亿元": (Decimal(10000), "万元"),
    "person": (Decimal(1), "person"),
    "day": (Decimal(1), "day"),
    "m2": (Decimal(1), "m2"),
    "万m2": (Decimal(10000), "m2"),
    "count": (Decimal(1), "count"),
}
ONE = Unit(Decimal(1), ())


class UnitError(ValueError):
    pass


def parse_unit(text: str) -> Unit:
    """`kg/person/day`, `t/万元`, `%`, `count`: atoms joined by `*` and `/`, read left to right."""
    tokens = re.findall(r"[*/]|[^*/\s]+", text or "")
    if not tokens or tokens[0] in "*/":
        raise UnitError(f"not a unit: {text!r}")
    factor = Decimal(1)
    dims: dict[str, int] = {}
    sign = 1
    expect_atom = True
    for token in tokens:
        if token in ("*", "/"):
            if expect_atom:
                raise UnitError(f"not a unit: {text!r}")
            sign = 1 if token == "*" else -1  # noqa: S105 - a unit operator, not a secret
            expect_atom = True
            continue
        if not expect_atom or token not in ATOMS:
            raise UnitError(
                f"unknown unit {token!r} in {text!r} (known: {', '.join(sorted(ATOMS))})"
                if token not in ATOMS
                else f"not a unit: {text!r}"
            )
        atom_factor, dim = ATOMS[token]
        factor = factor * atom_factor if sign > 0 else factor / atom_factor
        if dim:
            dims[dim] = dims.get(dim, 0) + sign
        expect_atom = False
    if expect_atom:
        raise UnitError(f"not a unit: {text!r}")
    return Unit(factor, tuple(sorted((d, e) for d, e in dims.items() if e)))


class Units:
    """Unit inference over formulas: addition needs one dimension, products combine exponents."""

    one = ONE

    def same(self, a: object, b: object, where: str) -> None:
        assert isinstance(a, Unit) and isinstance(b, Unit)
        if not a.same_dimension(b):
            raise UnitError(f"adds {a.describe()} to {b.describe()} in {where}")

    def mul(self, a: object, b: object) -> Unit:
        return self._combine(a, b, 1)

    def div(self, a: object, b: object) -> Unit:
        return self._combine(a, b, -1)

    @staticmethod
    def _combine(a: object, b: object, sign: int) -> Unit:
        assert isinstance(a, Unit) and isinstance(b, Unit)
        dims = dict(a.dims)
        for d, e in b.dims:
            dims[d] = dims.get(d, 0) + sign * e
        return Unit(Decimal(1), tuple(sorted((d, e) for d, e in dims.items() if e)))


# --- The set as data -------------------------------------------------------------------------------

Value = Decimal | str | None  # a number in the unit, an ordinal word, or nothing


@dataclass(frozen=True)
class Scale:
    code: str
    levels: tuple[str, ...]
    levels_en: tuple[str, ...]

    def rank(self, word: str) -> int:
        return self.levels.index(word)


@dataclass(frozen=True)
class InputDef:
    key: str
    name: str
    name_en: str
    unit_text: str
    unit: Unit | None  # None for ordinal inputs
    scale: str | None
    meaning: str
    department: str
    derive: str | None  # the name of a platform derivation, or None: entered only
    formula: expr.Node | None  # computed from other inputs
    formula_text: str
    lag: str | None  # the previous year's value of this key
    line: int

    @property
    def origin_kind(self) -> str:
        if self.formula is not None:
            return "computed"
        if self.lag:
            return "previous_year"
        return "derived" if self.derive else "entered"


@dataclass(frozen=True)
class Measure:
    label: str
    label_en: str
    formula: expr.Node
    formula_text: str
    unit_text: str
    unit_label: str
    unit: Unit | None
    scale: str | None
    decimals: int
    baseline: Value
    baseline_text: str
    target: Value
    target_max: Decimal | None
    target_text: str
    range_min: expr.Node | None
    published: str  # the achieved figure the seed publishes for the claims' year
    line: int
    targets: dict[int, Value] = field(default_factory=dict)  # a year's own target, if the set gives one

    def for_year(self, year: int | None) -> Measure:
        """The measure with the year's own target when the set gives one (else the one target)."""
        if year is None or year not in self.targets:
            return self
        target = self.targets[year]
        return replace(self, target=target, target_text="" if target is None else str(target))

    @property
    def inputs(self) -> list[str]:
        keys = expr.references(self.formula)
        if self.range_min is not None:
            keys |= expr.references(self.range_min)
        return sorted(keys)


@dataclass(frozen=True)
class IndicatorDef:
    number: str
    cls: str
    level1: str
    level2: str
    name: str
    name_en: str
    direction: str
    trend: str
    departments: tuple[str, ...]
    seed: str
    note: str
    measures: tuple[Measure, ...]
    published_met: bool
    see_also: tuple[str, ...]
    line: int

    @property
    def unit_label(self) -> str:
        return self.measures[0].unit_label

    @property
    def inputs(self) -> list[str]:
        return sorted({k for m in self.measures for k in m.inputs})


@dataclass(frozen=True)
class Claims:
    """What the published report says for one year (seed:248-254), checked against the numbers."""

    year: int | None
    total: int | None
    met: int | None
    by_class: dict[str, int]


@dataclass(frozen=True)
class IndicatorSet:
    code: str
    version: str
    name: str
    name_en: str
    baseline_year: int
    target_year: int
    source: str
    scales: dict[str, Scale]
    inputs: dict[str, InputDef]
    indicators: tuple[IndicatorDef, ...]
    claims: Claims
    checksum: str

    def indicator(self, number: str) -> IndicatorDef | None:
        return next((i for i in self.indicators if i.number == number), None)

    def class_counts(self) -> dict[str, int]:
        return {c: sum(1 for i in self.indicators if i.cls == c) for c in CLASSES}


@dataclass(frozen=True)
class Fault:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class SetError(ValueError):
    """The set file was refused; `faults` name each fault's line."""

    def __init__(self, faults: list[Fault]) -> None:
        super().__init__("; ".join(str(f) for f in faults[:10]))
        self.faults = faults


class _Lines:
    """Line numbers of tables and keys in the TOML text, for messages (tomllib gives none)."""

    HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z_.]+)\s*\]\]")
    TABLE = re.compile(r"^\s*\[\s*([A-Za-z_.]+)\s*\]")
    KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")

    def __init__(self, text: str) -> None:
        self.at: dict[tuple[Any, ...], int] = {}
        counters: dict[str, int] = {}
        path: tuple[Any, ...] = ()
        for number, raw in enumerate(text.splitlines(), start=1):
            header = self.HEADER.match(raw)
            if header:
                name = header.group(1)
                if name == "indicator.part":
                    parent = ("indicator", counters.get("indicator", 0) - 1)
                    count_key = f"part:{parent[1]}"
                    index = counters.get(count_key, 0)
                    counters[count_key] = index + 1
                    path = (*parent, "part", index)
                else:
                    index = counters.get(name, 0)
                    counters[name] = index + 1
                    path = (name, index)
                self.at[path] = number
                continue
            table = self.TABLE.match(raw)
            if table:
                path = (table.group(1),)
                self.at[path] = number
                continue
            key = self.KEY.match(raw)
            if key and path:
                self.at.setdefault((*path, key.group(1)), number)

    def of(self, *path: Any) -> int:
        while path:
            if path in self.at:
                return self.at[path]
            path = path[:-1]
        return 0


def _text(table: Mapping[str, Any], key: str, default: str = "") -> str:
    value = table.get(key, default)
    return value if isinstance(value, str) else str(value)


def load_set(text: str, *, derivations: Iterable[str] = ()) -> IndicatorSet:
    """Parse and validate a set file; raise SetError with every fault and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise SetError([Fault(int(match.group(1)) if match else 0, f"not valid TOML: {exc}")]) from None
    lines = _Lines(text)
    loader = _Loader(data, lines, frozenset(derivations))
    result = loader.load()
    if loader.faults:
        raise SetError(sorted(loader.faults, key=lambda f: f.line))
    assert result is not None
    return IndicatorSet(**{**result, "checksum": hashlib.sha256(text.encode()).hexdigest()})


class _Loader:
    def __init__(self, data: dict[str, Any], lines: _Lines, derivations: frozenset[str]) -> None:
        self.data = data
        self.lines = lines
        self.derivations = derivations
        self.faults: list[Fault] = []

    def fault(self, line: int, message: str) -> None:
        self.faults.append(Fault(line, message))

    def load(self) -> dict[str, Any] | None:
        head = self.data.get("set")
        if not isinstance(head, dict):
            self.fault(0, "missing [set] table (code, version, name, baseline_year, target_year)")
            return None
        for key in ("code", "version", "name"):
            if not head.get(key):
                self.fault(self.lines.of("set", key) or self.lines.of("set"), f"[set] needs {key}")
        scales = self._scales()
        inputs = self._inputs(scales)
        self._check_cycles(inputs)
        indicators = self._indicators(scales, inputs)
        expect = head.get("expect", {})
        if isinstance(expect, dict):
            for cls, count in expect.items():
                have = sum(1 for i in indicators if i.cls == cls)
                if have != count:
                    self.fault(
                        self.lines.of("set", "expect"),
                        f"the set expects {count} {cls} indicators, the file defines {have}",
                    )
        published = self.data.get("published", {})
        by_class = published.get("met_by_class", {}) if isinstance(published, dict) else {}
        claims = Claims(
            year=published.get("year"),
            total=published.get("total"),
            met=published.get("met"),
            by_class={k: int(v) for k, v in by_class.items()},
        )
        return {
            "code": str(head.get("code", "")),
            "version": str(head.get("version", "")),
            "name": _text(head, "name"),
            "name_en": _text(head, "name_en"),
            "baseline_year": int(head.get("baseline_year", 0) or 0),
            "target_year": int(head.get("target_year", 0) or 0),
            "source": _text(head, "source"),
            "scales": scales,
            "inputs": inputs,
            "indicators": tuple(indicators),
            "claims": claims,
        }

    def _scales(self) -> dict[str, Scale]:
        scales: dict[str, Scale] = {}
        for i, table in enumerate(self.data.get("scale", [])):
            line = self.lines.of("scale", i)
            code = _text(table, "code")
            levels = table.get("levels")
            if not code or not isinstance(levels, list) or len(levels) < 2:
                self.fault(line, "a scale needs a code and at least two levels")
                continue
            if code in scales:
                self.fault(line, f"scale {code!r} defined twice")
            levels_en = table.get("levels_en", levels)
            scales[code] = Scale(code, tuple(map(str, levels)), tuple(map(str, levels_en)))
        return scales

    def _unit(self, text: str, scales: Mapping[str, Scale], line: int) -> tuple[Unit | None, str | None]:
        if text.startswith("scale:"):
            scale = text[6:]
            if scale not in scales:
                self.fault(line, f"unknown scale {scale!r}")
            return None, scale
        try:
            return parse_unit(text), None
        except UnitError as exc:
            self.fault(line, str(exc))
            return None, None

    def _inputs(self, scales: Mapping[str, Scale]) -> dict[str, InputDef]:
        inputs: dict[str, InputDef] = {}
        tables = self.data.get("input", [])
        pending: list[tuple[InputDef, int]] = []
        for i, table in enumerate(tables):
            line = self.lines.of("input", i)
            key = _text(table, "key")
            if not KEY_RE.match(key):
                self.fault(line, f"input key {key!r} must be lower-case letters, digits and _")
                continue
            if key in inputs:
                self.fault(line, f"input {key!r} defined twice")
                continue
            unit, scale = self._unit(_text(table, "unit"), scales, self.lines.of("input", i, "unit"))
            derive = table.get("derive")
            if derive is not None and derive not in self.derivations:
                self.fault(self.lines.of("input", i, "derive"), f"input {key}: unknown derivation {derive!r}")
            formula = None
            formula_text = _text(table, "formula")
            if formula_text:
                try:
                    formula = expr.parse(formula_text)
                except expr.FormulaError as exc:
                    self.fault(self.lines.of("input", i, "formula"), f"input {key}: {exc}")
            lag = table.get("previous_year_of")
            definition = InputDef(
                key=key,
                name=_text(table, "name"),
                name_en=_text(table, "name_en"),
                unit_text=_text(table, "unit"),
                unit=unit,
                scale=scale,
                meaning=_text(table, "meaning"),
                department=_text(table, "department"),
                derive=str(derive) if derive else None,
                formula=formula,
                formula_text=formula_text,
                lag=str(lag) if lag else None,
                line=line,
            )
            inputs[key] = definition
            pending.append((definition, i))
        for definition, i in pending:
            if definition.lag and definition.lag not in inputs:
                self.fault(
                    self.lines.of("input", i, "previous_year_of"),
                    f"input {definition.key}: unknown input key {definition.lag!r}",
                )
            elif definition.lag and inputs[definition.lag].unit_text != definition.unit_text:
                self.fault(
                    self.lines.of("input", i, "unit"),
                    f"input {definition.key}: unit {definition.unit_text} differs from "
                    f"{definition.lag}'s {inputs[definition.lag].unit_text}",
                )
            if definition.formula is not None:
                line = self.lines.of("input", i, "formula")
                self._check_formula(definition.formula, inputs, line, f"input {definition.key}")
                self._check_unit(definition.formula, inputs, definition.unit, line, f"input {definition.key}")
        return inputs

    def _check_formula(
        self, formula: expr.Node, inputs: Mapping[str, InputDef], line: int, what: str
    ) -> bool:
        ok = True
        for key in sorted(expr.references(formula)):
            if key not in inputs:
                self.fault(line, f"{what}: unknown input key {key!r}")
                ok = False
            elif inputs[key].scale is not None and not isinstance(formula, expr.Ref):
                self.fault(line, f"{what}: {key} is an ordinal word and cannot be calculated with")
                ok = False
        return ok

    def _check_unit(
        self, formula: expr.Node, inputs: Mapping[str, InputDef], unit: Unit | None, line: int, what: str
    ) -> None:
        if unit is None or any(k not in inputs or inputs[k].unit is None for k in expr.references(formula)):
            return
        units = {k: v.unit for k, v in inputs.items() if v.unit is not None}
        try:
            got = expr.infer(formula, units, Units())
        except UnitError as exc:
            self.fault(line, f"{what}: formula {exc}")
            return
        assert isinstance(got, Unit)
        if not got.same_dimension(unit):
            self.fault(line, f"{what}: formula gives {got.describe()} but the unit is {unit.describe()}")

    def _check_cycles(self, inputs: Mapping[str, InputDef]) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(key: str, trail: list[str]) -> None:
            if state.get(key) == 2 or key not in inputs:
                return
            if state.get(key) == 1:
                cycle = [*trail[trail.index(key) :], key]
                self.fault(inputs[key].line, "circular definition: " + " → ".join(cycle))
                return
            state[key] = 1
            node = inputs[key].formula
            for ref in sorted(expr.references(node)) if node is not None else []:
                visit(ref, [*trail, key])
            state[key] = 2

        for key in inputs:
            visit(key, [])

    def _value(self, raw: Any, unit: Unit | None, scale: Scale | None, line: int, what: str) -> Value:
        if raw is None or raw == "" or raw == ABSENT_WORD:
            return None
        if scale is not None:
            if str(raw) not in scale.levels:
                self.fault(
                    line, f"{what}: {raw!r} is not a level of scale {scale.code} ({', '.join(scale.levels)})"
                )
                return None
            return str(raw)
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            self.fault(line, f"{what}: not a number: {raw!r}")
            return None

    def _indicators(self, scales: Mapping[str, Scale], inputs: Mapping[str, InputDef]) -> list[IndicatorDef]:
        out: list[IndicatorDef] = []
        seen: set[str] = set()
        for i, table in enumerate(self.data.get("indicator", [])):
            line = self.lines.of("indicator", i)
            number = _text(table, "number")
            if not NUMBER_RE.match(number):
                self.fault(
                    line, f"indicator number {number!r}: 1 to 3 digits, optionally after a capital letter"
                )
            if number in seen:
                self.fault(line, f"indicator {number} defined twice")
            seen.add(number)
            cls = _text(table, "class")
            if cls not in CLASSES:
                self.fault(
                    self.lines.of("indicator", i, "class"),
                    f"indicator {number}: class must be one of {CLASSES}",
                )
            direction = _text(table, "direction")
            if direction not in DIRECTIONS:
                self.fault(
                    self.lines.of("indicator", i, "direction"),
                    f"indicator {number}: direction must be one of {', '.join(DIRECTIONS)}",
                )
            parts = table.get("part") or [table]
            measures = []
            for j, part in enumerate(parts):
                path: tuple[Any, ...] = ("indicator", i, "part", j) if "part" in table else ("indicator", i)
                measure = self._measure(part, path, number, direction, scales, inputs)
                if measure is not None:
                    measures.append(measure)
            if not measures:
                continue
            see_also = tuple(str(k) for k in table.get("see_also", []))
            for key in see_also:
                if key not in inputs:
                    self.fault(
                        self.lines.of("indicator", i, "see_also"),
                        f"indicator {number}: unknown input key {key!r}",
                    )
            out.append(
                IndicatorDef(
                    number=number,
                    cls=cls,
                    level1=_text(table, "level1"),
                    level2=_text(table, "level2"),
                    name=_text(table, "name"),
                    name_en=_text(table, "name_en"),
                    direction=direction,
                    trend=_text(table, "trend"),
                    departments=tuple(str(d) for d in table.get("departments", [])),
                    seed=_text(table, "seed"),
                    note=_text(table, "note"),
                    measures=tuple(measures),
                    published_met=bool(table.get("published_met", True)),
                    see_also=see_also,
                    line=line,
                )
            )
        return out

    def _measure(
        self,
        part: Mapping[str, Any],
        path: tuple[Any, ...],
        number: str,
        direction: str,
        scales: Mapping[str, Scale],
        inputs: Mapping[str, InputDef],
    ) -> Measure | None:
        what = f"indicator {number}"
        line = self.lines.of(*path)
        formula_text = _text(part, "formula")
        formula_line = self.lines.of(*path, "formula")
        try:
            formula = expr.parse(formula_text)
        except expr.FormulaError as exc:
            self.fault(formula_line, f"{what}: {exc}")
            return None
        unit_text = _text(part, "unit")
        unit, scale_code = self._unit(unit_text, scales, self.lines.of(*path, "unit"))
        scale = scales.get(scale_code) if scale_code else None
        if self._check_formula(formula, inputs, formula_line, what):
            if scale_code is not None:
                if direction != "ordinal":
                    self.fault(line, f'{what}: an ordinal unit needs direction = "ordinal"')
                if not isinstance(formula, expr.Ref) or inputs[formula.key].scale != scale_code:
                    self.fault(
                        formula_line, f"{what}: an ordinal indicator is one input of scale {scale_code}"
                    )
            else:
                if direction == "ordinal":
                    self.fault(line, f'{what}: direction "ordinal" needs a unit scale:<code>')
                words = sorted(k for k in expr.references(formula) if inputs[k].scale is not None)
                if words:
                    self.fault(formula_line, f"{what}: {words[0]} is an ordinal word, the unit a number")
                self._check_unit(formula, inputs, unit, formula_line, what)
        range_min = None
        if part.get("range_min"):
            try:
                range_min = expr.parse(_text(part, "range_min"))
            except expr.FormulaError as exc:
                self.fault(self.lines.of(*path, "range_min"), f"{what}: range_min: {exc}")
            else:
                rline = self.lines.of(*path, "range_min")
                if self._check_formula(range_min, inputs, rline, f"{what} range_min"):
                    self._check_unit(range_min, inputs, unit, rline, f"{what} range_min")
        decimals = int(part.get("decimals", 0))
        baseline = self._value(part.get("baseline"), unit, scale, self.lines.of(*path, "baseline"), what)
        target = self._value(part.get("target"), unit, scale, self.lines.of(*path, "target"), what)
        if target is None and direction != "range":
            self.fault(self.lines.of(*path, "target") or line, f"{what}: a target is needed")
        target_max = part.get("target_max")
        targets: dict[int, Value] = {}
        raw_targets = part.get("targets", {})
        tline = self.lines.of(*path, "targets")
        if not isinstance(raw_targets, dict):
            self.fault(tline, f"{what}: targets is a table {{ year = value }}")
            raw_targets = {}
        for raw_year, raw_value in raw_targets.items():
            if not str(raw_year).isdigit():
                self.fault(tline, f"{what}: targets: {raw_year!r} is not a year")
                continue
            targets[int(raw_year)] = self._value(raw_value, unit, scale, tline, f"{what} target {raw_year}")
        return Measure(
            label=_text(part, "label"),
            label_en=_text(part, "label_en"),
            formula=formula,
            formula_text=formula_text,
            unit_text=unit_text,
            unit_label=_text(part, "unit_label", unit_text),
            unit=unit,
            scale=scale_code,
            decimals=decimals,
            baseline=baseline,
            baseline_text=_text(part, "baseline_text") or _display(part.get("baseline"), ABSENT_WORD),
            target=target,
            target_max=Decimal(str(target_max)) if target_max is not None else None,
            target_text=_text(part, "target_text") or _display(part.get("target"), ""),
            range_min=range_min,
            published=_text(part, "published"),
            line=line,
            targets=targets,
        )


def _display(raw: Any, empty: str) -> str:
    return empty if raw is None or raw == "" else str(raw)


# --- Evaluation ------------------------------------------------------------------------------------


def fmt(value: Decimal | None, decimals: int) -> str | None:
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-decimals)
    return str(value.quantize(quantum, rounding=ROUND_HALF_UP))


def _published(value: Decimal, decimals: int) -> Decimal:
    """The figure at the precision the set publishes it (half up, as the report rounds)."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


EXTRA_DIGITS = 3  # digits beyond the published precision shown when rounding would change the verdict


def _precise(value: Decimal, decimals: int) -> str:
    """The exact figure with a few more digits than published (trailing zeros dropped)."""
    text = fmt(value, decimals + EXTRA_DIGITS) or ""
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Judgment:
    """A regulator's verdict on an indicator whose direction is a judgment, with its reason."""

    met: bool
    reason: str
    judged_by: str = ""
    judged_at: str = ""  # ISO timestamp


@dataclass
class MeasureResult:
    measure: Measure
    exact: Decimal | None
    achieved: Value  # rounded to the measure's decimals (as published), or the ordinal word
    floor: Decimal | None
    met: bool | None
    reason: str
    missing: list[str] = field(default_factory=list)
    needs_judgment: bool = False  # a judgment direction with a figure and no recorded judgment yet
    judgment: Judgment | None = None
    rounding_note: str = ""  # set where rounding to the published precision would flip the verdict

    @property
    def achieved_text(self) -> str | None:
        if isinstance(self.achieved, Decimal):
            return fmt(self.achieved, self.measure.decimals)
        return self.achieved

    @property
    def exact_text(self) -> str | None:
        return None if self.exact is None else _precise(self.exact, self.measure.decimals)


@dataclass
class IndicatorResult:
    indicator: IndicatorDef
    parts: list[MeasureResult]

    @property
    def met(self) -> bool | None:
        states = [p.met for p in self.parts]
        if any(s is False for s in states):
            return False
        if any(s is None for s in states):
            return None
        return True

    @property
    def needs_judgment(self) -> bool:
        """Not decided only because a regulator's judgment is awaited (every figure is there)."""
        undecided = [p for p in self.parts if p.met is None]
        return self.met is None and all(p.needs_judgment for p in undecided)

    @property
    def state(self) -> str:
        """met, not_met, needs_judgment or unknown (an input is missing)."""
        if self.met is not None:
            return "met" if self.met else "not_met"
        return "needs_judgment" if self.needs_judgment else "unknown"

    @property
    def rounding_note(self) -> str:
        notes = [p.rounding_note for p in self.parts if p.rounding_note]
        if len(self.parts) > 1:
            notes = [f"{p.measure.label}: {p.rounding_note}" for p in self.parts if p.rounding_note]
        return "; ".join(notes)

    @property
    def reason(self) -> str:
        reasons = [p.reason for p in self.parts if p.met is not True and p.reason]
        if len(self.parts) > 1:
            reasons = [f"{p.measure.label}: {p.reason}" for p in self.parts if p.met is not True and p.reason]
        return "; ".join(reasons)


Lookup = Callable[[str], Value]


def input_lookup(
    definitions: Mapping[str, InputDef], values: Mapping[str, Value]
) -> Callable[[str], Decimal]:
    """Inputs in base units for formulas; computed inputs evaluate their own formulas (no cycles: checked)."""
    cache: dict[str, Decimal] = {}

    def lookup(key: str) -> Decimal:
        if key in cache:
            return cache[key]
        definition = definitions[key]
        raw = values.get(key)
        if raw is None and definition.formula is not None:
            value = expr.evaluate(definition.formula, lookup)
        elif raw is None or isinstance(raw, str):
            raise expr.Unknown(_("no value for %(key)s") % {"key": key}, key)
        else:
            assert definition.unit is not None
            value = raw * definition.unit.factor
        cache[key] = value
        return value

    return lookup


def computed_value(
    definition: InputDef, definitions: Mapping[str, InputDef], values: Mapping[str, Value]
) -> Value:
    """The value of a computed input in its own unit, or None when its inputs are missing."""
    if definition.formula is None or definition.unit is None:
        return values.get(definition.key)
    try:
        base = input_lookup(definitions, values)(definition.key)
    except expr.Unknown:
        return None
    return base / definition.unit.factor


def evaluate_measure(
    indicator: IndicatorDef,
    measure: Measure,
    definitions: Mapping[str, InputDef],
    values: Mapping[str, Value],
    scales: Mapping[str, Scale],
    judgment: Judgment | None = None,
) -> MeasureResult:
    missing = sorted(
        k
        for k in expr.references(measure.formula)
        if values.get(k) is None and definitions[k].formula is None
    )
    if measure.scale is not None:
        assert isinstance(measure.formula, expr.Ref)
        word = values.get(measure.formula.key)
        if not isinstance(word, str):
            return MeasureResult(measure, None, None, None, None, _("no value entered yet"), missing)
        scale = scales[measure.scale]
        if word not in scale.levels:
            return MeasureResult(
                measure, None, word, None, None, _("%(word)s is not a level of the scale") % {"word": word}
            )
        met = isinstance(measure.target, str) and scale.rank(word) >= scale.rank(measure.target)
        reason = "" if met else _("%(a)s is below the target level %(t)s") % {"a": word, "t": measure.target}
        return MeasureResult(measure, None, word, None, met, reason)
    lookup = input_lookup(definitions, values)
    try:
        base = expr.evaluate(measure.formula, lookup)
    except expr.Unknown as exc:
        return MeasureResult(
            measure, None, None, None, None, _("unknown: %(r)s") % {"r": exc.reason}, missing
        )
    assert measure.unit is not None
    exact = base / measure.unit.factor
    rounded = _published(exact, measure.decimals)
    floor = None
    if measure.range_min is not None:
        try:
            floor = expr.evaluate(measure.range_min, lookup) / measure.unit.factor
        except expr.Unknown:
            floor = None
    shown_floor = None if floor is None else _published(floor, measure.decimals)
    if indicator.direction in JUDGMENT_DIRECTIONS:
        guide = judgment_guide(exact, measure, floor)
        if judgment is None:
            pending = _("needs judgment: %(g)s") % {"g": guide}
            return MeasureResult(
                measure, exact, rounded, shown_floor, None, pending, missing, needs_judgment=True
            )
        said = _("judged met: %(r)s") if judgment.met else _("judged not met: %(r)s")
        return MeasureResult(
            measure, exact, rounded, shown_floor, judgment.met, said % {"r": judgment.reason}, missing,
            judgment=judgment,
        )  # fmt: skip
    met, reason = judge(indicator.direction, exact, measure, floor)
    note = rounding_note(indicator.direction, exact, measure, floor)
    return MeasureResult(measure, exact, rounded, shown_floor, met, reason, missing, rounding_note=note)


def _with_unit(text: str, value: Any, unit: str, max_places: int = 3) -> str:
    """A target or baseline for a sentence: its own text (1—2个) or the number with the unit."""
    if text and (value is None or text != str(value)):
        return text
    shown = (  # 8,336 吨 (ADR 0050)
        format_figure(value, max_places) if isinstance(value, Decimal | int | str) else value
    )
    return f"{shown}{unit}" if unit == "%" else f"{shown} {unit}".strip()


def _meets(direction: str, value: Decimal, target: Decimal | None, floor: Decimal | None) -> bool:
    """The comparison each direction makes, on whatever figure it is given (exact or rounded)."""
    if direction == "zero":
        return value == 0
    if direction == "range":
        return (floor is None or value >= floor) and (target is None or value <= target)
    assert target is not None
    if direction == "higher":
        return value >= target
    return value <= target  # lower, cap


def _flips(direction: str, value: Decimal, measure: Measure, floor: Decimal | None) -> bool:
    """Would the figure rounded to the published precision get the other verdict than the exact one?"""
    target = measure.target if isinstance(measure.target, Decimal) else None
    rounded_floor = None if floor is None else _published(floor, measure.decimals)
    exact_met = _meets(direction, value, target, floor)
    return exact_met != _meets(direction, _published(value, measure.decimals), target, rounded_floor)


def rounding_note(direction: str, value: Decimal, measure: Measure, floor: Decimal | None = None) -> str:
    """Where rounding to the published precision would change the verdict, say so (else "")."""
    if not _flips(direction, value, measure, floor):
        return ""
    unit = measure.unit_label
    args = {
        # The exact figure keeps the digits beyond the published precision that decide the verdict.
        "a": _with_unit("", _precise(value, measure.decimals), unit, max_places=measure.decimals + 3),
        "r": _with_unit("", fmt(value, measure.decimals), unit),
    }
    target = measure.target if isinstance(measure.target, Decimal) else None
    if _meets(direction, value, target, floor):
        return _("the exact figure %(a)s meets the target; rounded as published (%(r)s) it would not") % args
    return _("the exact figure %(a)s misses the target; rounded as published (%(r)s) it would meet it") % args


def judgment_guide(value: Decimal, measure: Measure, floor: Decimal | None = None) -> str:
    """The figure against the guides of a reasonable level, in words, for the regulator who judges."""
    unit = measure.unit_label
    target = measure.target if isinstance(measure.target, Decimal) else None
    figure = _with_unit("", fmt(value, measure.decimals), unit)
    args = {
        "a": figure,
        "t": _with_unit(measure.target_text, target, unit),
        "f": _with_unit("", fmt(floor, measure.decimals), unit),
    }
    if floor is not None and value < floor:
        return _("%(a)s, below the %(f)s the inputs leave to dispose of") % args
    if target is not None and value > target:
        return _("%(a)s, above the planned %(t)s") % args
    if target is not None and floor is not None:
        return _("%(a)s, within the planned %(t)s and not below the %(f)s the inputs require") % args
    if target is not None:
        return _("%(a)s, within the planned %(t)s") % args
    return figure


def judge(direction: str, value: Decimal, measure: Measure, floor: Decimal | None = None) -> tuple[bool, str]:
    """Met or not by the direction against the target, on the exact figure, with the reason. Where
    rounding to the published precision would flip the verdict the reason shows more digits."""
    unit = measure.unit_label
    target = measure.target if isinstance(measure.target, Decimal) else None
    met = _meets(direction, value, target, floor)
    flips = _flips(direction, value, measure, floor)
    shown = _precise(value, measure.decimals) if flips else fmt(value, measure.decimals)
    if met:
        return True, ""
    places = measure.decimals + 3 if flips else 3
    args = {
        "a": _with_unit("", shown, unit, places),
        "t": _with_unit(measure.target_text, target, unit),
        "u": unit,
        "b": _with_unit(measure.baseline_text, measure.baseline, unit),
    }
    if direction == "zero":
        return False, _("%(a)s where the target is zero") % args
    if direction == "range":
        if floor is not None and value < floor:
            shown_floor = _precise(floor, measure.decimals) if flips else fmt(floor, measure.decimals)
            return False, _("%(a)s is below the %(f)s the inputs require") % {
                **args,
                "f": _with_unit("", shown_floor, unit),
            }
        return False, _("%(a)s is above the reasonable level %(t)s") % args
    if direction == "higher":
        return False, _("%(a)s is below the target %(t)s") % args
    if direction == "cap":
        below_baseline = isinstance(measure.baseline, Decimal) and value <= measure.baseline
        if below_baseline:
            return False, _("%(a)s exceeds the cap %(t)s (though not the baseline %(b)s)") % args
        return False, _("%(a)s exceeds the cap %(t)s") % args
    return False, _("%(a)s is above the target %(t)s") % args


def compute(
    indicator_set: IndicatorSet,
    values: Mapping[str, Value],
    year: int | None = None,
    judgments: Mapping[str, Judgment] | None = None,
) -> list[IndicatorResult]:
    """Every indicator of the set from resolved input values (numbers in the input's unit, or words),
    against the year's own targets where the set gives them; `judgments` (by indicator number) decide
    the indicators whose direction is a judgment."""
    judgments = judgments or {}
    return [
        IndicatorResult(
            indicator,
            [
                evaluate_measure(
                    indicator,
                    m.for_year(year),
                    indicator_set.inputs,
                    values,
                    indicator_set.scales,
                    judgments.get(indicator.number),
                )
                for m in indicator.measures
            ],
        )
        for indicator in indicator_set.indicators
    ]


def parse_value(definition: InputDef, raw: Any, scales: Mapping[str, Scale]) -> Value:
    """An entered or file value for an input: a decimal string in its unit, or a word of its scale."""
    if raw is None:
        return None
    if definition.scale is not None:
        word = str(raw).strip()
        scale = scales[definition.scale]
        if word not in scale.levels:
            if word in scale.levels_en:
                return scale.levels[scale.levels_en.index(word)]
            raise ValueError(_("one of: %(w)s") % {"w": ", ".join(scale.levels)})
        return word
    if isinstance(raw, (bool, float)):
        raise ValueError(_('a decimal string, e.g. "12.5"'))
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(_("not a number")) from None
    if not value.is_finite() or abs(value) >= Decimal("1e15"):
        raise ValueError(_("not a number"))
    if value < 0:
        raise ValueError(_("must be zero or more"))
    return value


# --- Summary and claims ----------------------------------------------------------------------------


def summary(results: list[IndicatorResult]) -> dict[str, Any]:
    """Counts per class and overall; completion = met ÷ evaluated. Neither the unknown (an input is
    missing) nor those awaiting a regulator's judgment count as evaluated."""
    by_class: dict[str, dict[str, int]] = {
        c: {"total": 0, "met": 0, "not_met": 0, "needs_judgment": 0, "unknown": 0} for c in CLASSES
    }
    for r in results:
        bucket = by_class[r.indicator.cls]
        bucket["total"] += 1
        bucket[r.state] += 1
    met = sum(b["met"] for b in by_class.values())
    not_met = sum(b["not_met"] for b in by_class.values())
    needs_judgment = sum(b["needs_judgment"] for b in by_class.values())
    evaluated = met + not_met
    return {
        "total": len(results),
        "met": met,
        "not_met": not_met,
        "needs_judgment": needs_judgment,
        "unknown": len(results) - evaluated - needs_judgment,
        "by_class": by_class,
        "completion": (Decimal(met) / evaluated).quantize(Decimal("0.0001")) if evaluated else None,
        "not_met_list": [
            {"number": r.indicator.number, "name": r.indicator.name, "reason": r.reason}
            for r in results
            if r.met is False
        ],
        "needs_judgment_list": [
            {"number": r.indicator.number, "name": r.indicator.name, "reason": r.reason}
            for r in results
            if r.needs_judgment
        ],
        "rounding_list": [
            {"number": r.indicator.number, "name": r.indicator.name, "note": r.rounding_note}
            for r in results
            if r.rounding_note
        ],
    }


def _same_figure(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:
        return a == b


def claim_notes(indicator_set: IndicatorSet, results: list[IndicatorResult], year: int) -> list[str]:
    """Where the published report (for its year) and the numbers disagree."""
    claims = indicator_set.claims
    if claims.year != year:
        return []
    notes: list[str] = []
    for r in results:
        ind = r.indicator
        if r.met is False and ind.published_met:
            notes.append(
                _("Indicator %(n)s (%(name)s) is reported as met, but %(reason)s.")
                % {"n": ind.number, "name": ind.name, "reason": r.reason}
            )
        if r.met is True and not ind.published_met:
            notes.append(
                _("Indicator %(n)s (%(name)s) is reported as not met, but the figures meet the target.")
                % {"n": ind.number, "name": ind.name}
            )
        for part in r.parts:
            published = part.measure.published
            shown = part.achieved_text
            if published and shown is not None and not _same_figure(published, shown):
                notes.append(
                    _("Indicator %(n)s: the report publishes %(p)s, the inputs give %(a)s.")
                    % {"n": ind.number, "p": published, "a": shown}
                )
    counts = summary(results)
    for cls, claimed in claims.by_class.items():
        have = counts["by_class"].get(cls, {}).get("met")
        pending = ("unknown", "needs_judgment")
        decided = have is not None and not any(counts["by_class"][cls][k] for k in pending)
        if decided and have != claimed:
            notes.append(
                _("The report claims %(c)d %(cls)s met; the figures meet %(h)d.")
                % {"c": claimed, "cls": str(CLASS_LABELS.get(cls, cls)), "h": have}
            )
    if claims.met is not None and counts["unknown"] == 0 and counts["needs_judgment"]:
        notes.append(
            _(
                "The report claims %(c)d of %(t)d indicators met; the figures meet %(h)d, and %(j)d"
                " await a regulator's judgment."
            )
            % {
                "c": claims.met,
                "t": claims.total or counts["total"],
                "h": counts["met"],
                "j": counts["needs_judgment"],
            }
        )
    elif claims.met is not None and counts["unknown"] == 0 and counts["met"] != claims.met:
        notes.append(
            _("The report claims %(c)d of %(t)d indicators met; the figures meet %(h)d.")
            % {"c": claims.met, "t": claims.total or counts["total"], "h": counts["met"]}
        )
    return notes
