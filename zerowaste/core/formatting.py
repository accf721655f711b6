"""One way to show a quantity, a count and a catalog code on every page, export and chart (issue 16,
item 6; ADR 0050).

- `format_quantity(value, unit)`: an exact Decimal rounded half-up to the unit's places (3 for tonnes,
  0 for kilograms, 2 for yuan), thousands separators, the unit in the page's language
  (`208,400.000 吨` / `208,400.000 t`). Floats are never used: a value goes through `str()` first.
- `format_count(value)`: a plain count with separators (`2,276`).
- `format_code(stream, code, zone_id)`: the code and its catalog name (`ISW01 电子行业废物`,
  `900-041-49 含有或沾染毒性…`), the name in the page's language where the catalog has one. The names
  of a zone's stream are read once (two queries) and kept until the next request starts, so a table of
  500 rows costs two queries, not 500.

This module sits below the apps (every app may import it); it reads the catalog's models through the
app registry rather than importing the catalog app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.signals import request_started
from django.utils import timezone, translation

EMPTY = "—"


@dataclass(frozen=True)
class Unit:
    zh: str
    en: str
    places: int


# Units a page shows, by the key the code uses for them. A quantity field's name ends with its key
# (`quantity_t`, `capacity_t_month`, `amount_kg`), see `core/audit_display.py`.
UNITS: Mapping[str, Unit] = {
    "t": Unit("吨", "t", 3),
    "kg": Unit("千克", "kg", 0),
    "t/month": Unit("吨/月", "t/month", 3),
    "t/year": Unit("吨/年", "t/year", 3),
    "t/day": Unit("吨/日", "t/day", 3),
    "CNY": Unit("元", "CNY", 2),
    "CNY/t": Unit("元/吨", "CNY/t", 2),
    "t/10k CNY": Unit("吨/万元", "t/10k CNY", 3),
    "kg/person/day": Unit("千克/人/天", "kg/person/day", 3),
}


def page_is_chinese() -> bool:
    return (translation.get_language() or "zh-hans").lower().startswith("zh")


def unit_label(unit: str = "t") -> str:
    """The unit's name in the page's language (吨 / t); an unknown unit as given."""
    known = UNITS.get(unit)
    if known is None:
        return unit
    return known.zh if page_is_chinese() else known.en


def to_decimal(value: Any) -> Decimal | None:
    """The exact number a value holds (a Decimal, an int, a numeric string; a float by its shortest
    repr), or None for nothing or text that is not a finite number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def format_number(value: Any, places: int = 3) -> str:
    """A number with thousands separators, rounded half-up to `places` decimals (`1,234.500`)."""
    number = to_decimal(value)
    if number is None:
        return EMPTY if value is None or value == "" else str(value)
    exponent = Decimal(1).scaleb(-places)
    rounded = number.quantize(exponent, rounding=ROUND_HALF_UP)
    if rounded.is_zero():
        rounded = abs(rounded)  # never "-0.000"
    return f"{rounded:,.{places}f}"


def format_quantity(value: Any, unit: str = "t") -> str:
    """A quantity as people read it: `1,234.500 吨` on a Chinese page, `1,234.500 t` on an English one.
    Nothing is `—`; text that is not a number is shown as it is (never a guess)."""
    number = to_decimal(value)
    if number is None:
        return EMPTY if value is None or value == "" else str(value)
    known = UNITS.get(unit)
    places = known.places if known else 3
    return f"{format_number(number, places)} {unit_label(unit)}"


def format_figure(value: Any, max_places: int = 3) -> str:
    """A figure whose precision is its own (an indicator's input: 208400, 0.5, 96.3): separators, the
    decimals it carries but at most `max_places`; text that is not a number (an ordinal word) as it is."""
    number = to_decimal(value)
    if number is None:
        return EMPTY if value is None or value == "" else str(value)
    exponent = number.as_tuple().exponent
    places = min(-exponent, max_places) if isinstance(exponent, int) and exponent < 0 else 0
    return format_number(number, places)


def format_count(value: Any) -> str:
    """A count of things (manifests, rows, days) with thousands separators: `2,276`."""
    number = to_decimal(value)
    if number is None:
        return EMPTY if value is None or value == "" else str(value)
    return format_number(number, 0)


# --- Catalog codes ----------------------------------------------------------------------------------

# (zone id, stream, language) -> {code: name}; emptied when a request starts (see below), so a page
# sees the catalog as it is and a table reads the names once.
_names: dict[tuple[int, str, bool], dict[str, str]] = {}
_public_zone: dict[str, int | None] = {}


def _forget_names(**_kwargs: Any) -> None:
    _names.clear()
    _public_zone.clear()


request_started.connect(_forget_names, dispatch_uid="zerowaste.core.formatting.forget_names")


def guess_stream(code: str) -> str:
    """The stream a code belongs to by its shape, for callers that hold only the code."""
    upper, parts = code.upper(), code.split("-")
    if upper.startswith("ISW") or (len(parts) == 3 and len(parts[0]) == 2 and parts[0].isdigit()):
        return "isw"
    if upper.startswith("HW") or (len(parts) == 3 and len(parts[0]) == 3 and parts[0].isdigit()):
        return "hw"
    return ""


def code_names(zone_id: int, stream: str) -> dict[str, str]:
    """Every code of the zone's stream (categories and entries) with its name in the page's language,
    from the published versions in force (a later version's name wins; a code retired since keeps the
    name its last version gave it). Two queries per zone, stream and language within a request."""
    chinese = page_is_chinese()
    key = (zone_id, stream, chinese)
    if key in _names:
        return _names[key]
    version_model = apps.get_model("catalog", "CatalogVersion")
    today = timezone.localdate()
    versions = [
        v.pk
        for v in version_model.objects.filter(zone_id=zone_id, stream=stream, status="published").order_by(
            "effective_from", "created_at"
        )
        if v.effective_from is None or v.effective_from <= today
    ]
    order = {pk: i for i, pk in enumerate(versions)}
    names: dict[str, tuple[int, str]] = {}
    for model in (apps.get_model("catalog", "CatalogCategory"), apps.get_model("catalog", "CatalogEntry")):
        for version_id, code, name, name_en in model.objects.filter(version_id__in=versions).values_list(
            "version_id", "code", "name", "name_en"
        ):
            shown = (name or name_en) if chinese else (name_en or name)
            rank = order[version_id]
            if shown and (code not in names or names[code][0] <= rank):
                names[code] = (rank, shown)
    _names[key] = {code: name for code, (_rank, name) in names.items()}
    return _names[key]


def code_name(stream: str, code: str, zone_id: int | None) -> str:
    """The catalog name of a code, or "" when the zone's catalogs do not know it."""
    if not code or zone_id is None:
        return ""
    return code_names(zone_id, stream or guess_stream(code)).get(str(code), "")


def format_code(stream: str, code: Any, zone_id: int | None) -> str:
    """A catalog code as people read it: the code, then its name (`ISW01 电子行业废物`); the code
    alone when the catalog does not know it; `—` for no code. A household class is its name alone
    (`纸类`): its code (`recyclable.paper`) is a word of the catalog's file, not what a resident reads."""
    if code is None or code == "":
        return EMPTY
    name = code_name(stream, str(code), zone_id)
    if name and stream == "household":
        return name
    return f"{code} {name}" if name else str(code)


def public_zone_id() -> int | None:
    """The zone an anonymous page is about when it names none: the only zone, else the demo zone
    (the catalog's `public_zone` rule, read without importing the app)."""
    if "public" in _public_zone:
        return _public_zone["public"]
    zone_model = apps.get_model("core", "Zone")
    zones = list(zone_model.objects.order_by("pk").values_list("pk", "code")[:2])
    from zerowaste.core.demo import DEMO_ZONE_CODE

    if len(zones) == 1:
        found: int | None = int(zones[0][0])
    else:
        demo = zone_model.objects.filter(code=DEMO_ZONE_CODE).values_list("pk", flat=True).first()
        found = int(demo) if demo is not None else (int(zones[0][0]) if zones else None)
    _public_zone["public"] = found
    return found
