"""Template filters of the one formatter (`core/formatting.py`, ADR 0050): `{% load zw_format %}`.

- `{{ value|quantity }}` → `208,400.000 吨` (`|quantity:"kg"`, `|quantity:"t/month"`, `|quantity:"CNY"`);
- `{{ value|amount }}` → `208,400.000`, for a cell whose column header already names the unit
  (`|amount:0` for whole kilograms or kilometres, `|amount:2` for yuan);
- `{{ n|count }}` → `2,276`;
- `{{ value|figure }}` → a number at its own precision (at most 3 decimals), text as it is;
- `{{ unit|unit_name }}` → `吨` for "t" on a Chinese page;
- `{% code_name stream code %}` → `ISW01 电子行业废物` (the zone is the page's: its actor's, else the
  public zone); `{{ code|with_name:stream }}` the same as a filter.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from zerowaste.core import formatting

register = template.Library()


@register.filter
def quantity(value: Any, unit: str = "t") -> str:
    return formatting.format_quantity(value, unit)


@register.filter
def amount(value: Any, places: int | str = 3) -> str:
    try:
        digits = int(places)
    except (TypeError, ValueError):
        digits = 3
    return formatting.format_number(value, digits)


@register.filter
def figure(value: Any) -> str:
    return formatting.format_figure(value)


@register.filter
def unit_name(unit: Any) -> str:
    return formatting.unit_label(str(unit or ""))


@register.filter
def count(value: Any) -> str:
    return formatting.format_count(value)


def _zone_id(context: template.Context) -> int | None:
    for name in ("zone_id",):
        if context.get(name):
            return int(context[name])
    zone = context.get("zone")
    if zone is not None and getattr(zone, "pk", None):
        return int(zone.pk)
    actor = context.get("actor")
    if actor is not None and getattr(actor, "zone_id", None):
        return int(actor.zone_id)
    request = context.get("request")
    actor = getattr(request, "actor", None)
    if actor is not None and getattr(actor, "zone_id", None):
        return int(actor.zone_id)
    return formatting.public_zone_id()


@register.simple_tag(takes_context=True)
def code_name(context: template.Context, stream: str, code: Any) -> str:
    """The code (kept on one line) and its catalog name; a household class by its name alone (`纸类`)."""
    if code is None or code == "":
        return formatting.EMPTY
    name = formatting.code_name(stream or "", str(code), _zone_id(context))
    if name and stream == "household":
        return name
    if not name:
        return format_html('<span class="mono code">{}</span>', code)
    return format_html('<span class="mono code">{}</span> {}', code, name)
