"""Parsing of what a caller sends: quantities, ids, organizations and sites of the zone, dates and
moments, and the waste lines of a transfer as the rules read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core.errors import Invalid
from zerowaste.core.models import Organization, Site

from . import rules
from .models import (
    Transfer,
)


def _qty(value: Any, field_name: str, *, allow_zero: bool = False) -> Decimal:
    try:
        return rules.parse_quantity(value, field_name, allow_zero=allow_zero)
    except ValueError as exc:
        raise Invalid.field(field_name, str(exc).split(": ", 1)[-1]) from exc


def _id(value: Any, field_name: str, required: bool = True) -> int:
    if value is None or value == "":
        if required:
            raise Invalid.field(field_name, _("this field is required"))
        return 0
    if isinstance(value, bool):
        raise Invalid.field(field_name, _("not an id"))
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise Invalid.field(field_name, _("not an id")) from exc
    if not 0 < number < 2**62:
        raise Invalid.field(field_name, _("no such organization"))
    return number


def _org_in_zone(zone_id: int, org_id: Any, field_name: str, role: str) -> Organization:
    pk = _id(org_id, field_name)
    org = Organization.objects.filter(zone_id=zone_id, pk=pk, is_active=True).first()
    if org is None:
        raise Invalid.field(field_name, _("no such organization in this zone"))
    if role and not org.roles.filter(role=role).exists():
        raise Invalid.field(
            field_name, _("%(org)s is not registered as a %(role)s") % {"org": org.name, "role": role}
        )
    return org


def _date(value: Any, field_name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError) as exc:
        raise Invalid.field(field_name, _("not a date (YYYY-MM-DD)")) from exc


def _moment(value: Any, field_name: str = "at") -> datetime:
    now = timezone.now()
    if value is None or value == "":
        return now
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise Invalid.field(field_name, _("not a date and time")) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@dataclass
class LineInput:
    position: int
    waste_code: str
    category: str
    description: str
    hazard: str
    highly_toxic: bool
    physical_form: str
    packaging: str
    package_count: int
    estimated_t: Decimal
    treatment: str


def _hazard_characteristics(raw: str) -> tuple[str, ...]:
    return tuple(p for p in raw.replace("/", ",").split(",") if p)


def _site(org: Organization, site_id: Any, field_name: str) -> Site | None:
    pk = _id(site_id, field_name, required=False)
    if not pk:
        return None
    site = Site.objects.filter(organization=org, pk=pk).first()
    if site is None:
        raise Invalid.field(field_name, _("no such site of %(org)s") % {"org": org.name})
    return site


def _line_inputs(t: Transfer) -> list[LineInput]:
    return [
        LineInput(
            line.position,
            line.waste_code,
            line.category,
            line.description,
            line.hazard,
            line.highly_toxic,
            line.physical_form,
            line.packaging,
            line.package_count,
            line.estimated_t,
            line.treatment,
        )
        for line in t.lines.all()
    ]
