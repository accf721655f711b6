"""Pure rules of the hazardous-waste pilot (危险废物试点): tiers, storage age, incompatibility,
plan deadlines, management classes, inspection pass rates, and the named refusal rules. No database.

Every refusal names the zone document's article it applies (`RULES`), so that a clerk reading
"…（依据：试点园区管理方案第六条(1)）" knows where it comes from; the rule's key (`R-SAME-PARK`) travels
beside the message for machines (`errors[].rule`), and the seed line (`Rule.seed`, seed:4009) stays in
code and ADRs: a page shows neither (issue 16, item 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

ZERO = Decimal("0")
KILOGRAM = Decimal("0.001")

# --- Named rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    article: str  # the article of the zone's document, in Chinese as the seed writes it
    seed: str  # seed line(s)


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("R-TIER", "试点园区管理方案第二条、第三条", "seed:3999-4001"),
        Rule("R-C-CATEGORY", "试点园区管理方案第五条", "seed:4005"),
        Rule("R-SAME-PARK", "试点园区管理方案第六条(1)", "seed:4009"),
        Rule("R-NO-INFECTIOUS", "试点园区管理方案第六条(2)", "seed:4011-4013"),
        Rule("R-ROUTE", "试点园区管理方案第六条(2)(4)", "seed:4013, 4017"),
        Rule("R-INSURANCE", "试点园区管理方案第六条(4)", "seed:4017"),
        Rule("R-ANALYSIS", "贮存管理工作指南第九条", "seed:4087"),
        Rule("R-INCOMPATIBLE", "贮存管理工作指南第十条", "seed:4089"),
        Rule("R-ONE-YEAR", "试点园区管理方案第七条(2)；贮存管理工作指南第十二条", "seed:4023, 4093"),
        Rule("R-CAPACITY", "贮存管理工作指南第七条、第八条", "seed:4083-4085"),
        Rule("R-LABEL", "试点园区管理方案第七条(4)；贮存管理工作指南第十一条", "seed:4027, 4091"),
        Rule("R-KEEP-5Y", "试点园区管理方案第八条(1)", "seed:4033"),
        Rule("R-IDENTIFIED", "危险废物试点管理实施细则第三条", "seed:3919-3923"),
        Rule("R-IN-PLANT", "危险废物试点管理实施细则第四条", "seed:3925-3935"),
        Rule("R-MANIFEST", "试点园区管理方案第四条、第五条", "seed:4003-4005"),
        Rule("R-QUARTER-PLAN", "园区危险废物管理：每季度末25天前报送下一季度转移计划", "seed:5423, 5463"),
        Rule("R-ANNUAL-PLAN", "试点园区管理方案第八条(1)", "seed:4033"),
        Rule("R-INSPECTION", "指标31 危险废物规范化管理合格率", "seed:1829-1839"),
        Rule("R-STAFF", "试点园区管理方案第七条(3)、第八条(3)", "seed:4025, 4037"),
        Rule("R-TRAINING", "试点园区管理方案第八条(4)", "seed:4039"),
        Rule("R-EMERGENCY-PLAN", "试点园区管理方案第八条(5)", "seed:4041"),
        Rule("R-DRILL", "试点园区管理方案第八条(6)", "seed:4043"),
    )
}


# The kinds of plan due (`services.plans_due`), as a page names them.
PLAN_KIND_LABELS = {
    "management_plan": gettext_lazy("annual management plan"),
    "transfer_plan": gettext_lazy("quarterly transfer plan"),
}


def cite(code: str) -> str:
    """`试点园区管理方案第六条(1)`: the source of a rule as a person reads it (no key, no seed line)."""
    return RULES[code].article


def refusal(code: str, message: str) -> str:
    """A refusal's text for people: what is wrong, and under which article."""
    return _("%(message)s (under %(article)s)") % {"message": message, "article": cite(code)}


def refusal_errors(code: str, message: str, field: str = "") -> list[dict[str, object]]:
    """The `errors` of a refusal: the text for people, the rule's key for machines."""
    return [{"field": field, "message": refusal(code, message), "rule": code}]


# --- Producer tiers (seed:3999-4001) -----------------------------------------------------------------

TIER_A, TIER_B, TIER_C = "A", "B", "C"
TIER_CHOICES = [
    (TIER_A, gettext_lazy("A — small producer (≤ 1 t/yr)")),
    (TIER_B, gettext_lazy("B — medium producer (1-10 t/yr, ≤ 3 t stored)")),
    (TIER_C, gettext_lazy("C — large producer")),
]
SMALL_T = Decimal("1")
MEDIUM_T = Decimal("10")
MEDIUM_STOCK_T = Decimal("3")


def tier(generated_t: Decimal, max_stock_t: Decimal) -> str:
    """A: ≤ 1 t a year; B: above 1 and ≤ 10 t a year, and never more than 3 t stored; C: the rest.

    The seed's "1~10 吨" starts where A ends, so exactly 1 t is A and exactly 10 t (with ≤ 3 t stored)
    is B; "小于等于 3 吨" makes exactly 3 t stored still B.
    """
    if generated_t <= SMALL_T:
        return TIER_A
    if generated_t <= MEDIUM_T and max_stock_t <= MEDIUM_STOCK_T:
        return TIER_B
    return TIER_C


def tier_reason(generated_t: Decimal, max_stock_t: Decimal) -> str:
    t = tier(generated_t, max_stock_t)
    if t == TIER_A:
        return _("generated %(g)s t ≤ 1 t") % {"g": generated_t}
    if t == TIER_B:
        return _("1 t < generated %(g)s t ≤ 10 t and largest stock %(s)s t ≤ 3 t") % {
            "g": generated_t,
            "s": max_stock_t,
        }
    if generated_t > MEDIUM_T:
        return _("generated %(g)s t > 10 t") % {"g": generated_t}
    return _("largest stock %(s)s t > 3 t") % {"s": max_stock_t}


def tier_year_source(year: int) -> int:
    """Tiers of year Y come from the declarations of Y-1 (上一年, seed:3999)."""
    return year - 1


# --- Storage age (seed:4023, 4093) --------------------------------------------------------------------

DEFAULT_LIMIT_DAYS = 365
DEFAULT_WARNING_DAYS = (270, 330)
OK, WARNING, OVERDUE = "ok", "warning", "overdue"
LEVEL_LABELS = {
    OK: gettext_lazy("within the time limit"),
    WARNING: gettext_lazy("warning"),
    OVERDUE: gettext_lazy("overdue"),
}


def storage_deadline(stored_on: date, extended_until: date | None = None) -> date:
    """One year in store: the last day is the day before the anniversary (a 2020-03-01 container must
    be out by 2021-02-28); an approved extension replaces the deadline."""
    if extended_until is not None:
        return extended_until
    try:
        anniversary = stored_on.replace(year=stored_on.year + 1)
    except ValueError:  # 29 February
        anniversary = stored_on.replace(year=stored_on.year + 1, day=28) + timedelta(days=1)
    return anniversary - timedelta(days=1)


def storage_level(
    stored_on: date,
    on: date,
    *,
    warning_days: tuple[int, ...] | list[int] = DEFAULT_WARNING_DAYS,
    extended_until: date | None = None,
) -> str:
    """ok / warning / overdue for a container still in store on `on`.

    Warnings start at the first configured age (days in store); an extension moves the deadline, and
    the warnings then count backwards from it by the same margins as from the one-year limit.
    """
    deadline = storage_deadline(stored_on, extended_until)
    if on > deadline:
        return OVERDUE
    if not warning_days:
        return OK
    first = min(warning_days)
    if extended_until is None:
        return WARNING if (on - stored_on).days >= first else OK
    margin = DEFAULT_LIMIT_DAYS - first
    return WARNING if (deadline - on).days < margin else OK


def parse_warning_days(value: object) -> tuple[int, ...]:
    """`"270, 330"` or `[270, 330]` → (270, 330); each between 1 and 364, ascending."""
    if isinstance(value, str):
        parts: list[object] = [p for p in value.replace("，", ",").split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        raise ValueError(_("a list of days such as 270, 330"))
    days: list[int] = []
    for part in parts:
        try:
            n = int(str(part).strip())
        except ValueError as exc:
            raise ValueError(_("%(v)s is not a whole number of days") % {"v": part}) from exc
        if not 1 <= n < DEFAULT_LIMIT_DAYS:
            raise ValueError(_("warning days must be between 1 and 364"))
        days.append(n)
    if len(days) > 5:
        raise ValueError(_("at most 5 warning ages"))
    return tuple(sorted(set(days)))


def age_band(age_days: int) -> str:
    if age_days < 90:
        return "0-89"
    if age_days < 180:
        return "90-179"
    if age_days < 270:
        return "180-269"
    if age_days < 365:
        return "270-364"
    return "365+"


AGE_BANDS = ("0-89", "90-179", "180-269", "270-364", "365+")

# --- Incompatibility (贮存指南第十条, seed:4089; GB 18597 附录) -----------------------------------------
#
# Wastes are sorted into compatibility groups by their HW category; an analysis report (seed:4087)
# may put a container in another group (an oxidising or water-reactive waste in HW49, say). Two
# groups in `INCOMPATIBLE` may not share a storage bay.

ACID, ALKALI, CYANIDE, SULPHIDE, OXIDISER, FLAMMABLE, AQUEOUS, WATER_REACTIVE, METAL, GENERAL = (
    "acid",
    "alkali",
    "cyanide",
    "sulphide",
    "oxidiser",
    "flammable",
    "aqueous",
    "water_reactive",
    "heavy_metal",
    "general",
)
GROUP_CHOICES = [
    (ACID, gettext_lazy("acids")),
    (ALKALI, gettext_lazy("alkalis")),
    (CYANIDE, gettext_lazy("cyanides")),
    (SULPHIDE, gettext_lazy("sulphides")),
    (OXIDISER, gettext_lazy("oxidisers")),
    (FLAMMABLE, gettext_lazy("flammable organics")),
    (AQUEOUS, gettext_lazy("aqueous wastes")),
    (WATER_REACTIVE, gettext_lazy("water-reactive")),
    (METAL, gettext_lazy("heavy-metal wastes")),
    (GENERAL, gettext_lazy("other solids")),
]
GROUPS = tuple(code for code, _label in GROUP_CHOICES)

# HW category → default compatibility group.
CATEGORY_GROUP: dict[str, str] = {
    "HW34": ACID,
    "HW35": ALKALI,
    "HW07": CYANIDE,
    "HW33": CYANIDE,
    "HW02": FLAMMABLE,
    "HW03": FLAMMABLE,
    "HW04": FLAMMABLE,
    "HW05": FLAMMABLE,
    "HW06": FLAMMABLE,
    "HW08": FLAMMABLE,
    "HW11": FLAMMABLE,
    "HW12": FLAMMABLE,
    "HW13": FLAMMABLE,
    "HW16": AQUEOUS,
    "HW09": AQUEOUS,
    "HW17": AQUEOUS,
    "HW21": METAL,
    "HW22": METAL,
    "HW23": METAL,
    "HW26": METAL,
    "HW29": METAL,
    "HW31": METAL,
    "HW46": METAL,
    "HW48": METAL,
    "HW49": GENERAL,
    "HW50": GENERAL,
}

# (group, group, why). Symmetric: the order in a row does not matter. `why` is translated when shown.
INCOMPATIBLE: tuple[tuple[str, str, str], ...] = (
    (ACID, ALKALI, gettext_noop("violent neutralisation, heat and spattering")),
    (ACID, CYANIDE, gettext_noop("releases hydrogen cyanide")),
    (ACID, SULPHIDE, gettext_noop("releases hydrogen sulphide")),
    (ACID, OXIDISER, gettext_noop("chlorine and toxic gases from oxidising salts")),
    (ACID, FLAMMABLE, gettext_noop("heat and ignition of organic solvents by strong acids")),
    (ACID, WATER_REACTIVE, gettext_noop("violent reaction with the water of aqueous acids")),
    (ACID, METAL, gettext_noop("dissolves metals, releasing hydrogen and toxic salts")),
    (ALKALI, WATER_REACTIVE, gettext_noop("violent reaction with the water of aqueous alkalis")),
    (ALKALI, METAL, gettext_noop("hydrogen from amphoteric metals (aluminium, zinc)")),
    (OXIDISER, FLAMMABLE, gettext_noop("fire and explosion")),
    (OXIDISER, CYANIDE, gettext_noop("violent oxidation of cyanides")),
    (OXIDISER, SULPHIDE, gettext_noop("violent oxidation of sulphides, sulphur dioxide")),
    (WATER_REACTIVE, AQUEOUS, gettext_noop("flammable or toxic gas on contact with water")),
    (CYANIDE, SULPHIDE, gettext_noop("mixing two acute-toxicity sources")),
)
_PAIRS: dict[frozenset[str], str] = {frozenset((a, b)): why for a, b, why in INCOMPATIBLE}


def group_for(category: str, hazard: str = "") -> str:
    """The default compatibility group of a waste: by category, else reactive (R) → water-reactive,
    ignitable (I) → flammable, corrosive (C) → acid (the commoner corrosive), else general."""
    if category in CATEGORY_GROUP:
        return CATEGORY_GROUP[category]
    parts = set(hazard.replace("/", ",").split(","))
    if "R" in parts:
        return WATER_REACTIVE
    if "I" in parts:
        return FLAMMABLE
    if "C" in parts:
        return ACID
    return GENERAL


def incompatibility(a: str, b: str) -> str | None:
    """Why groups `a` and `b` may not share a bay, or None."""
    why = _PAIRS.get(frozenset((a, b))) if a != b else None
    return _(why) if why else None


# --- Quarterly transfer plans (seed:5423, 5463) -------------------------------------------------------


def quarter_end(year: int, quarter: int) -> date:
    month = quarter * 3
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return next_first - timedelta(days=1)


def transfer_plan_due(year: int, quarter: int) -> date:
    """The plan for quarter Q is handed in "每季度末 25 天前" of the quarter before it: 25 calendar days
    (the seed says 天, not 工作日) before that quarter ends. Q1 2021 → 2020-12-06."""
    if not 1 <= quarter <= 4:
        raise ValueError(_("quarter must be 1-4"))
    prev_year, prev_q = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return quarter_end(prev_year, prev_q) - timedelta(days=25)


def quarter_of(on: date) -> tuple[int, int]:
    return on.year, (on.month - 1) // 3 + 1


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


# --- National management class (HJ 1259-2022, spec/data/hj1259) --------------------------------------

KEY, SIMPLIFIED, REGISTERED = "key", "simplified", "registered"
CLASS_CHOICES = [
    (KEY, gettext_lazy("key supervision (重点监管)")),
    (SIMPLIFIED, gettext_lazy("simplified management (简化管理)")),
    (REGISTERED, gettext_lazy("registration management (登记管理)")),
]
CLASS_TABLES = {
    KEY: ("A.1", "A.2", "A.3", "A.4", "A.5", "A.6", "A.7"),
    SIMPLIFIED: ("A.1", "A.3", "A.4", "A.6", "A.7"),
    REGISTERED: ("A.1", "A.3", "A.7"),
}
CLASS_DECLARATION = {KEY: "monthly", SIMPLIFIED: "quarterly", REGISTERED: "yearly"}


def management_class(largest_annual_t: Decimal, *, own_facility: bool = False, licensed: bool = False) -> str:
    """HJ 1259 4.2.1: ≥ 100 t/yr, own facilities or a licence → key; ≥ 10 t → simplified; else registered."""
    if own_facility or licensed or largest_annual_t >= Decimal("100"):
        return KEY
    if largest_annual_t >= Decimal("10"):
        return SIMPLIFIED
    return REGISTERED


def annual_plan_due(year: int) -> date:
    """The management plan of year Y is filed by 31 March of Y (HJ 1259 5.1)."""
    return date(year, 3, 31)


# --- Identification reports (seed:3957-3991) ---------------------------------------------------------

REPORT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("basics", "一、基本情况"),
    ("process", "二、鉴别工作过程"),
    ("testing", "三、检测情况"),
    ("analysis", "四、综合分析及鉴别结论"),
    ("annexes", "五、附件"),
    ("expert_opinion", "六、专家组意见"),
)
HAZARDOUS, NOT_HAZARDOUS = "hazardous", "not_hazardous"
CONCLUSION_CHOICES = [
    (HAZARDOUS, gettext_lazy("hazardous waste")),
    (NOT_HAZARDOUS, gettext_lazy("not hazardous waste")),
]
# seed:3921: trace-contaminated packaging may be identified unless corrosive, ignitable or reactive.
EXCLUDED_FROM_IDENTIFICATION = frozenset({"C", "I", "R"})


def identification_fault(code: str, hazard: str, on_list: bool) -> str | None:
    """Whether a waste may be put to identification (seed:3921): a waste not on the national list,
    or HW49 900-041-49 that is not corrosive, ignitable or reactive."""
    if not on_list:
        return None
    if code != "900-041-49":
        return _("only wastes not on the national list, or HW49 900-041-49, may be identified")
    if EXCLUDED_FROM_IDENTIFICATION & set(hazard.replace("/", ",").split(",")):
        return _("corrosive, ignitable or reactive waste may not be identified as non-hazardous")
    return None


# --- Inspections (indicator 31, seed:1829-1839) ------------------------------------------------------

PASSED, BASICALLY_PASSED, FAILED = "passed", "basically_passed", "failed"
RESULT_CHOICES = [
    (PASSED, gettext_lazy("passed (达标)")),
    (BASICALLY_PASSED, gettext_lazy("basically passed (基本达标)")),
    (FAILED, gettext_lazy("failed (不达标)")),
]
BASIC_WEIGHT = Decimal("0.7")
SUBJECT_CHOICES = [
    ("producer", gettext_lazy("producer")),
    ("operator", gettext_lazy("operating unit / park operator")),
]


def pass_rate(passed: int, basically_passed: int, total: int) -> Decimal | None:
    """(passed + 0.7 × basically passed) ÷ inspected × 100, in percent with two decimals."""
    if total <= 0:
        return None
    value = (Decimal(passed) + BASIC_WEIGHT * basically_passed) / Decimal(total) * 100
    return value.quantize(Decimal("0.01"))


# --- Quantities ----------------------------------------------------------------------------------------


def kg_to_t(kg: int) -> Decimal:
    return (Decimal(kg) / 1000).quantize(KILOGRAM)


def t_to_kg(t: Decimal) -> int:
    return int((t * 1000).to_integral_value())


def batch_number(prefix: str, on: date, seq: int) -> str:
    """HJ 1259 batch codes: `HWRK20211031001` (into store), `HWCK…` (out of store)."""
    return f"{prefix}{on:%Y%m%d}{seq:03d}"


# --- The operator's own obligations (seed:4025, 4037-4043) --------------------------------------------

RECORD_KINDS = [
    ("technician", gettext_lazy("qualified technician")),
    ("training", gettext_lazy("training")),
    ("emergency_plan", gettext_lazy("emergency plan")),
    ("drill", gettext_lazy("emergency drill")),
]
MIN_TECHNICIANS = 3


def operator_faults(technicians: int, last: dict[str, date | None], on: date) -> list[tuple[str, str]]:
    """What an operator lacks on `on`: at least 3 qualified technicians, an emergency plan, a drill
    and a training within the last year. `last` maps a record kind to its latest date. (rule, text)."""
    year_ago = date(on.year - 1, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)
    faults = []
    if technicians < MIN_TECHNICIANS:
        faults.append(("R-STAFF", _("%(n)d qualified technicians, at least 3 required") % {"n": technicians}))
    if last.get("emergency_plan") is None:
        faults.append(("R-EMERGENCY-PLAN", _("no emergency plan on record")))
    for kind, rule, text in (
        ("drill", "R-DRILL", _("no emergency drill within the last year")),
        ("training", "R-TRAINING", _("no training within the last year")),
    ):
        when = last.get(kind)
        if when is None or when < year_ago:
            faults.append((rule, text))
    return faults


# --- National declaration reports C.1-C.3 (HJ 1259 7.2, annex C) -------------------------------------

REPORT_TABLE_OF_KIND = {"month": "C.1", "quarter": "C.2", "year": "C.3"}
# The class decides the periodic table; every class also files the yearly C.3 (HJ 1259 7.2.1-7.2.3).
CLASS_REPORT_TABLES = {KEY: ("C.1", "C.3"), SIMPLIFIED: ("C.2", "C.3"), REGISTERED: ("C.3",)}


def declaration_report_deadline(kind: str, period_start: date) -> date:
    """When the declaration of a period is due (HJ 1259 7.2): a month by the 15th of the next month,
    a quarter by the 15th of the next quarter's first month, a year by 31 March of the next year.
    Calendar dates as the standard writes them ("每月15日前"), not working days."""
    if kind == "month":
        return date(period_start.year + (period_start.month == 12), period_start.month % 12 + 1, 15)
    if kind == "quarter":
        last_month = (period_start.month - 1) // 3 * 3 + 3
        return date(period_start.year + (last_month == 12), last_month % 12 + 1, 15)
    if kind == "year":
        return date(period_start.year + 1, 3, 31)
    raise ValueError(_("unknown period kind %(k)s") % {"k": kind})


def report_tables_due(management_class: str | None) -> tuple[str, ...]:
    """The declaration tables a class files; none known without a class."""
    return CLASS_REPORT_TABLES.get(management_class or "", ())


# Why a tier was computed, in words (the stored `trigger` is a key).
TIER_TRIGGER_LABELS = {
    "january": gettext_lazy("computed in January by the scheduled task"),
    "on_demand": gettext_lazy("recomputed on request"),
}


def evidence_period_label(period_key: str) -> str:
    """A tier's evidence period as people write it: `month:2020-04-01` → 2020-04, `quarter:…` → 2020Q2."""
    kind, _sep, start = period_key.partition(":")
    try:
        day = date.fromisoformat(start)
    except ValueError:
        return period_key
    if kind == "month":
        return f"{day.year}-{day.month:02d}"
    if kind == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return str(day.year)
