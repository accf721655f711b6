"""Sane bounds of the integers and dates a caller may send, everywhere (issue 15, defect 14).

A number or a date out of every sane range used to reach the database or date arithmetic and
answer 500 (`park_id` of 20 digits overflowed bigint; `on=9999-12-31` overflowed `date + timedelta`)
or, worse, be stored (`inspected_on=9999-12-31`). The rules, once for the whole project:

- an identifier (`id`, `*_id`, `*_ids`) fits the database's bigint: |n| <= 2**63 - 1;
- any other integer without bounds of its own fits 32 bits: |n| <= 2**31 - 1;
- a business date lies between `EARLIEST_DATE` and the end of the year `HORIZON_YEARS` from today;
  a date that records what happened (an inspection) is not in the future (`PastDate`).

Services check their own inputs with `check_date`/`check_int`. The API applies the rules to every
operation's validated path, query and body values (`bound_operations`, called once from
`zerowaste.api`), so a new route is bounded the day it is registered; a field that declares its own
`ge`/`le` keeps them. The types `Id`, `BusinessDate` and `PastDate` document the bounds in the schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

import annotated_types
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import AfterValidator, BaseModel, Field

from .errors import Invalid

MAX_ID = 2**63 - 1  # the largest primary key of every database (bigint, SQLite INTEGER)
MAX_INT = 2**31 - 1  # a count, a year, a number of days: PostgreSQL's integer
EARLIEST_DATE = date(1980, 1, 1)  # before any record this platform keeps (EIA approvals included)
HORIZON_YEARS = 100  # licences and plans look ahead; nothing regulated is due a century from now


def latest_date(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return date(today.year + HORIZON_YEARS, 12, 31)


def date_problem(value: date, *, past_only: bool = False) -> str | None:
    """Why `value` is not a sane business date, or None."""
    day = value.date() if isinstance(value, datetime) else value
    today = timezone.localdate()
    latest = today if past_only else latest_date(today)
    if EARLIEST_DATE <= day <= latest:
        return None
    if past_only and day > today:
        return _("must not be in the future")
    return _("a date from %(a)s to %(b)s") % {"a": EARLIEST_DATE.isoformat(), "b": latest.isoformat()}


def check_date(value: date, field: str, *, past_only: bool = False) -> date:
    problem = date_problem(value, past_only=past_only)
    if problem:
        raise Invalid.field(field, problem)
    return value


def check_int(value: int, field: str, *, low: int = -MAX_INT, high: int = MAX_INT) -> int:
    if not low <= value <= high:
        raise Invalid.field(field, _("must be between %(a)d and %(b)d") % {"a": low, "b": high})
    return value


def _business_date(value: date) -> date:
    problem = date_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _past_date(value: date) -> date:
    problem = date_problem(value, past_only=True)
    if problem:
        raise ValueError(problem)
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
BusinessDate = Annotated[date, AfterValidator(_business_date)]
PastDate = Annotated[date, AfterValidator(_past_date)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Month = Annotated[int, Field(ge=1, le=12)]


# --- The API's net under every operation ----------------------------------------------------------


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids"))


def _declares_bounds(metadata: list[Any]) -> bool:
    """Whether a field declares both a lower and an upper bound of its own (then they stand)."""
    lower = upper = False
    for m in metadata:
        lower |= isinstance(m, (annotated_types.Ge, annotated_types.Gt)) or (
            isinstance(m, annotated_types.Interval) and (m.ge is not None or m.gt is not None)
        )
        upper |= isinstance(m, (annotated_types.Le, annotated_types.Lt)) or (
            isinstance(m, annotated_types.Interval) and (m.le is not None or m.lt is not None)
        )
    return lower and upper


def problems(value: Any, field: str, name: str, *, bounded: bool = False) -> Iterator[tuple[str, str]]:
    """(field, message) for every integer or date inside `value` that breaks the rules above."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        limit = MAX_ID if _is_id(name) else MAX_INT
        if not bounded and not -limit <= value <= limit:
            yield field, _("must be between %(a)d and %(b)d") % {"a": -limit, "b": limit}
    elif isinstance(value, date):
        problem = date_problem(value)
        if problem:
            yield field, problem
    elif isinstance(value, BaseModel):
        for key, info in type(value).model_fields.items():
            label = info.alias or key
            yield from problems(
                getattr(value, key),
                f"{field}.{label}" if field else label,
                label,
                bounded=_declares_bounds(info.metadata),
            )
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value, start=1):
            yield from problems(item, f"{field}[{index}]", name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from problems(item, f"{field}.{key}", str(key))


def _bounded_resolve(model: type[BaseModel]) -> None:
    original = model.resolve  # type: ignore[attr-defined]

    def resolve(cls: type[BaseModel], request: Any, api: Any, path_params: Any) -> BaseModel:
        instance = original(request, api, path_params)
        found: list[tuple[str, str]] = []
        for key, info in cls.model_fields.items():
            value = getattr(instance, key)
            # A schema parameter (`data: TransferIn`, `filters: Query[Filters]`) is a wrapper the
            # caller never sees: its fields are named alone, as in the request.
            label = "" if isinstance(value, BaseModel) else info.alias or key
            found += problems(value, label, label, bounded=_declares_bounds(info.metadata))
        if found:
            raise Invalid(
                "; ".join(f"{f}: {m}" for f, m in found),
                errors=[{"field": f, "message": m} for f, m in found],
            )
        return instance

    model.resolve = classmethod(resolve)  # type: ignore[attr-defined]
    model.__zerowaste_bounded__ = True  # type: ignore[attr-defined]


def bound_operations(routers: list[Any]) -> None:
    """Put the rules under every operation of `routers` (ninja routers), once per parameter model."""
    for router in routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    if not getattr(model, "__zerowaste_bounded__", False):
                        _bounded_resolve(model)
