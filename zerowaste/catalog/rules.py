"""Pure rules of the waste catalogs: code patterns, hazard characteristics, parsing an import, diffs.

No database here. `services.py` feeds these functions rows and snapshots and writes what they return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zerowaste.core.rules import without_seed_references
from zerowaste.core.tabular import Column, Fault, Row

# --- Streams and code patterns ---------------------------------------------------------------------

STREAM_CHOICES = [
    ("isw", gettext_lazy("general industrial solid waste")),
    ("hw", gettext_lazy("hazardous waste")),
    ("household", gettext_lazy("household waste")),
    ("construction", gettext_lazy("construction waste")),
]
STREAMS = tuple(code for code, _label in STREAM_CHOICES)

_SLUG = r"[a-z][a-z0-9_]*"
CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    # 6 digits written NN-NN-NN: statistics kind, sub-class, number (seed:3785-3796).
    "isw": re.compile(r"^\d{2}-\d{2}-\d{2}$"),
    # 8 digits written NNN-NNN-NN: industry source, sequence, HW category.
    "hw": re.compile(r"^\d{3}-\d{3}-\d{2}$"),
    "household": re.compile(rf"^{_SLUG}(\.{_SLUG})?$"),
    "construction": re.compile(rf"^{_SLUG}(\.{_SLUG})?$"),
}
CODE_FORMS = {
    "isw": gettext_lazy("6 digits written NN-NN-NN, e.g. 99-08-03"),
    "hw": gettext_lazy("8 digits written NNN-NNN-NN, e.g. 900-041-49"),
    "household": gettext_lazy("lower-case letters, e.g. kitchen or recyclable.paper"),
    "construction": gettext_lazy("lower-case letters, e.g. spoil"),
}
CATEGORY_PATTERNS: dict[str, re.Pattern[str]] = {
    "isw": re.compile(r"^ISW\d{2}$"),
    "hw": re.compile(r"^HW\d{2}$"),
    "household": re.compile(rf"^{_SLUG}$"),
    "construction": re.compile(rf"^{_SLUG}$"),
}

# Bin colours of the household classes (GB/T 19095-2019 colours).
COLOURS = {"green": "#2e7d32", "blue": "#1565c0", "red": "#c62828", "grey": "#616161", "": "#8d6e63"}

HAZARD_CHARACTERISTICS = {
    "T": gettext_lazy("toxicity"),
    "C": gettext_lazy("corrosivity"),
    "I": gettext_lazy("ignitability"),
    "R": gettext_lazy("reactivity"),
    "In": gettext_lazy("infectivity"),
}

FREE_TEXT_MARK = "自填"


def validate_code(stream: str, code: str) -> str | None:
    """Why `code` is not a well-formed code of `stream`, or None."""
    pattern = CODE_PATTERNS.get(stream)
    if pattern is None:
        return _("unknown stream %(stream)s") % {"stream": stream}
    if not pattern.match(code):
        return _("%(code)s is not a %(stream)s code: %(form)s") % {
            "code": code,
            "stream": stream,
            "form": CODE_FORMS[stream],
        }
    return None


def guess_stream(code: str) -> str | None:
    """The stream a code's form belongs to (ISW and HW are unambiguous; slugs may be either)."""
    for stream in ("isw", "hw"):
        if CODE_PATTERNS[stream].match(code):
            return stream
    return None


def category_consistency(stream: str, code: str, category_code: str) -> str | None:
    """HW codes end in their category number; ISW codes carry the category number in digits 3-4."""
    if stream == "hw" and code[-2:] != category_code[-2:]:
        return _("code %(code)s ends in %(end)s but its category is %(cat)s") % {
            "code": code,
            "end": code[-2:],
            "cat": category_code,
        }
    if stream == "isw" and code[3:5] != category_code[-2:]:
        return _("code %(code)s has sub-class %(sub)s but its category is %(cat)s") % {
            "code": code,
            "sub": code[3:5],
            "cat": category_code,
        }
    return None


# --- Hazard characteristics ------------------------------------------------------------------------


@dataclass(frozen=True)
class Hazard:
    """The hazard column of the national list.

    "T,I": T primary, I possible. "T/C/I/R": one or more of them.
    """

    primary: tuple[str, ...] = ()
    possible: tuple[str, ...] = ()
    one_or_more: bool = False
    raw: str = ""

    @property
    def characteristics(self) -> tuple[str, ...]:
        return self.primary + self.possible

    def as_dict(self) -> dict[str, Any]:
        return {
            "primary": list(self.primary),
            "possible": list(self.possible),
            "one_or_more": self.one_or_more,
            "raw": self.raw,
        }


def parse_hazard(text: str | None) -> Hazard:
    """Parse a hazard cell; raise ValueError naming the bad part."""
    raw = re.sub(r"\s+", "", (text or "").replace("，", ",").replace("／", "/"))
    if not raw:
        raise ValueError(_("the hazard characteristic is empty"))
    if "," in raw and "/" in raw:
        raise ValueError(_("%(raw)s mixes ',' and '/'") % {"raw": raw})
    sep = "/" if "/" in raw else ","
    parts = raw.split(sep)
    for part in parts:
        if part not in HAZARD_CHARACTERISTICS:
            raise ValueError(_("%(part)s is not a hazard characteristic (T, C, I, R, In)") % {"part": part})
    if len(set(parts)) != len(parts):
        raise ValueError(_("%(raw)s repeats a characteristic") % {"raw": raw})
    if sep == "/" and len(parts) > 1:
        return Hazard(primary=(), possible=tuple(parts), one_or_more=True, raw=raw)
    return Hazard(primary=(parts[0],), possible=tuple(parts[1:]), one_or_more=False, raw=raw)


def hazard_from_fields(primary: str, possible: str, one_or_more: bool, raw: str) -> Hazard:
    return Hazard(
        tuple(p for p in primary.split(",") if p),
        tuple(p for p in possible.split(",") if p),
        one_or_more,
        raw,
    )


# --- Parsing an import -----------------------------------------------------------------------------

IMPORT_COLUMNS = [
    Column("category", ("废物类别", "类别", "category_code", "category")),
    Column("code", ("废物代码", "代码", "waste_code", "code")),
    Column("name", ("废物名称", "名称", "危险废物", "description", "name")),
    Column("category_name", ("类别名称", "category_name"), required=False),
    Column("name_en", ("英文名称", "name_en"), required=False),
    Column("category_name_en", ("类别英文名称", "category_name_en"), required=False),
    Column("hazard", ("危险特性", "hazard"), required=False),
    Column("industry", ("行业来源", "industry"), required=False),
    Column("colour", ("颜色", "colour", "color"), required=False),
    Column("note", ("说明", "note"), required=False),
    Column("remark", ("备注", "remark"), required=False),
    Column("replaces", ("原代码", "旧代码", "replaces"), required=False),
    Column("seq", ("序号", "seq"), required=False),
]


@dataclass
class ParsedCategory:
    code: str
    name: str
    name_en: str = ""
    colour: str = ""
    position: int = 0


@dataclass
class ParsedEntry:
    row: int
    category: str
    code: str
    name: str
    name_en: str = ""
    description: str = ""
    industry: str = ""
    hazard: Hazard | None = None
    colour: str = ""
    remark: str = ""
    replaces: str = ""
    requires_free_text: bool = False
    flags: list[str] = field(default_factory=list)
    position: int = 0


@dataclass
class Warning_:
    row: int
    code: str
    kind: str  # name_missing, duplicate_name, free_text, category_mismatch
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "code": self.code, "kind": self.kind, "message": self.message}


@dataclass
class ParsedCatalog:
    categories: dict[str, ParsedCategory] = field(default_factory=dict)
    entries: list[ParsedEntry] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def split_category_cell(text: str) -> tuple[str, str]:
    """'ISW01 电子行业 废物' -> ('ISW01', '电子行业废物'): the code, then the name without layout spaces."""
    text = text.strip()
    match = re.match(r"^(ISW\d{2}|HW\d{2}|[a-z][a-z0-9_]*)\s*(.*)$", text)
    if not match:
        return text, ""
    name = match.group(2)
    # Layout spaces between CJK characters come from line wrapping in the source, not from the name.
    name = re.sub(r"(?<=[^\x00-\x7f()（）])\s+(?=[^\x00-\x7f])|(?<=[)）])\s+(?=[^\x00-\x7f])", "", name)
    name = re.sub(r"(?<=[^\x00-\x7f])\s+(?=[(（])", "", name)
    return match.group(1), name.strip()


def parse_catalog(
    stream: str, rows: Iterable[Row], known_categories: Mapping[str, ParsedCategory] | None = None
) -> ParsedCatalog:
    """Turn table rows into categories and entries, with every fault (by row and column) and warning."""
    known = dict(known_categories or {})
    out = ParsedCatalog()
    first_row_of: dict[str, int] = {}
    current_category = ""
    for position, row in enumerate(rows, start=1):
        values = row.values
        category_cell = _text(values.get("category"))
        if category_cell:
            cat_code, cat_name = split_category_cell(category_cell)
            cat_name = _text(values.get("category_name")) or cat_name
            if not CATEGORY_PATTERNS[stream].match(cat_code):
                out.faults.append(
                    row.fault(
                        "category",
                        _("%(cat)s is not a category code of %(stream)s")
                        % {"cat": cat_code, "stream": stream},
                    )
                )
                current_category = ""
            else:
                current_category = cat_code
                if cat_code not in out.categories:
                    if cat_name:
                        out.categories[cat_code] = ParsedCategory(
                            cat_code,
                            cat_name,
                            _text(values.get("category_name_en")),
                            _text(values.get("colour")),
                            len(out.categories) + 1,
                        )
                    elif cat_code in known:
                        base = known[cat_code]
                        out.categories[cat_code] = ParsedCategory(
                            base.code, base.name, base.name_en, base.colour, len(out.categories) + 1
                        )
                    else:
                        out.faults.append(
                            row.fault(
                                "category",
                                _(
                                    "category %(cat)s does not exist: give its name, "
                                    "or use a category of the version in force"
                                )
                                % {"cat": cat_code},
                            )
                        )
                        current_category = ""
        elif not current_category:
            out.faults.append(row.fault("category", _("no category: the first row must name one")))

        code = _text(values.get("code"))
        if not code:
            out.faults.append(row.fault("code", _("the code is empty")))
            continue
        problem = validate_code(stream, code)
        if problem:
            out.faults.append(row.fault("code", problem))
            continue
        if code in first_row_of:
            out.faults.append(
                row.fault(
                    "code", _("code %(code)s repeats row %(row)d") % {"code": code, "row": first_row_of[code]}
                )
            )
            continue
        first_row_of[code] = row.number

        name = _text(values.get("name"))
        remark = _text(values.get("remark"))
        flags: list[str] = []
        if not name:
            if remark:
                flags.append("name_missing")
                out.warnings.append(
                    Warning_(
                        row.number,
                        code,
                        "name_missing",
                        _("row %(row)d (%(code)s) has no name in the source; kept empty: %(remark)s")
                        % {"row": row.number, "code": code, "remark": without_seed_references(remark)},
                    )
                )
            else:
                out.faults.append(row.fault("name", _("the name is empty")))
                continue

        hazard = None
        if stream == "hw":
            try:
                hazard = parse_hazard(_text(values.get("hazard")))
            except ValueError as exc:
                out.faults.append(row.fault("hazard", str(exc)))
                continue
        if current_category:
            mismatch = category_consistency(stream, code, current_category)
            if mismatch and stream == "hw":
                out.faults.append(row.fault("code", mismatch))
                continue
            if mismatch:
                out.warnings.append(Warning_(row.number, code, "category_mismatch", mismatch))

        requires_free_text = FREE_TEXT_MARK in name
        if requires_free_text:
            flags.append("free_text")
            out.warnings.append(
                Warning_(
                    row.number,
                    code,
                    "free_text",
                    _("%(code)s %(name)s: a declaration using it must give a free-text name")
                    % {"code": code, "name": name},
                )
            )
        replaces = _text(values.get("replaces"))
        if replaces and validate_code(stream, replaces):
            out.faults.append(row.fault("replaces", validate_code(stream, replaces) or ""))
            continue
        out.entries.append(
            ParsedEntry(
                row=row.number,
                category=current_category,
                code=code,
                name=name,
                name_en=_text(values.get("name_en")),
                description=_text(values.get("note")),
                industry=_text(values.get("industry")),
                hazard=hazard,
                colour=_text(values.get("colour")),
                remark=remark,
                replaces=replaces,
                requires_free_text=requires_free_text,
                flags=flags,
                position=position,
            )
        )

    by_name: dict[str, list[ParsedEntry]] = {}
    for entry in out.entries:
        if entry.name:
            by_name.setdefault(entry.name, []).append(entry)
    for name, same in by_name.items():
        if len(same) > 1:
            codes = ", ".join(e.code for e in same)
            for entry in same:
                entry.flags.append("duplicate_name")
            out.warnings.append(
                Warning_(
                    same[-1].row,
                    same[-1].code,
                    "duplicate_name",
                    _("the name %(name)s is used by several codes: %(codes)s")
                    % {"name": name, "codes": codes},
                )
            )
    return out


# --- Diff between versions -------------------------------------------------------------------------


@dataclass(frozen=True)
class EntrySnapshot:
    code: str
    name: str
    category: str
    name_en: str = ""


@dataclass
class CatalogDiff:
    added: list[EntrySnapshot] = field(default_factory=list)
    retired: list[EntrySnapshot] = field(default_factory=list)
    renamed: list[tuple[EntrySnapshot, EntrySnapshot]] = field(default_factory=list)
    recoded: list[tuple[EntrySnapshot, EntrySnapshot]] = field(default_factory=list)
    recategorised: list[tuple[EntrySnapshot, EntrySnapshot]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.retired or self.renamed or self.recoded or self.recategorised)

    def as_dict(self) -> dict[str, Any]:
        def one(e: EntrySnapshot) -> dict[str, str]:
            return {"code": e.code, "name": e.name, "name_en": e.name_en, "category": e.category}

        def pair(p: tuple[EntrySnapshot, EntrySnapshot]) -> dict[str, Any]:
            return {"old": one(p[0]), "new": one(p[1])}

        return {
            "added": [one(e) for e in self.added],
            "retired": [one(e) for e in self.retired],
            "renamed": [pair(p) for p in self.renamed],
            "recoded": [pair(p) for p in self.recoded],
            "recategorised": [pair(p) for p in self.recategorised],
            "unchanged": self.unchanged,
        }


def compute_diff(
    old: Mapping[str, EntrySnapshot],
    new: Mapping[str, EntrySnapshot],
    recodes: Mapping[str, str] | None = None,
) -> CatalogDiff:
    """What changed from `old` to `new` (code -> snapshot).

    A code that disappears is re-coded when `recodes` (old -> new, from the import's "replaces" column
    or the regulator's mapping) says so, or when exactly one added code carries the same name;
    otherwise it is retired.
    """
    recodes = dict(recodes or {})
    diff = CatalogDiff()
    gone = [old[c] for c in old if c not in new]
    added = {c: new[c] for c in new if c not in old}
    for code in (c for c in old if c in new):
        before, after = old[code], new[code]
        if before.name != after.name:
            diff.renamed.append((before, after))
        elif before.category != after.category:
            diff.recategorised.append((before, after))
        else:
            diff.unchanged += 1
    added_by_name: dict[str, list[str]] = {}
    for code, snap in added.items():
        added_by_name.setdefault(snap.name, []).append(code)
    for snap in gone:
        target = recodes.get(snap.code)
        if target is None and snap.name and len(added_by_name.get(snap.name, [])) == 1:
            target = added_by_name[snap.name][0]
        if target is not None and target in new:
            diff.recoded.append((snap, new[target]))
            added.pop(target, None)
        else:
            diff.retired.append(snap)
    diff.added = list(added.values())
    return diff


# --- Search ----------------------------------------------------------------------------------------


def search_text(*parts: str) -> str:
    """The lower-cased text a search word is looked for in."""
    return " ".join(p.lower() for p in parts if p)


CODE_FRAGMENT = re.compile(r"^[0-9][0-9-]*$")


def search_words(query: str) -> list[str]:
    """The fragments every match must contain. A code-like word (`99-08`, `900-041`) matches the start
    of a code, not its middle: the search text puts a space before every word."""
    words = [w.lower() for w in re.split(r"[\s,，、]+", query.strip()) if w][:8]
    return [f" {w}" if CODE_FRAGMENT.match(w) else w for w in words]
