"""Integers and dates have sane bounds on every route (issue 15, defect 14).

A deterministic walk of the OpenAPI schema: every integer and date of every operation — path,
query and body, nested ones included — is sent at extreme values, one at a time, the rest of the
request kept plausible. Out-of-range values (beyond bigint, year 0 or 9999) must be refused with a
4xx; no value may answer 5xx. A new route or field is a new case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from zerowaste.api import api
from zerowaste.core import bounds
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Zone
from zerowaste.testing import parties
from zerowaste.testing.isolation import _resolve, example, isolation_values

SCHEMA = api.get_openapi_schema()
INT_VALUES: list[tuple[Any, bool]] = [(2**63, True), (10**20, True), (-1, False), (0, False)]
DATE_VALUES: list[tuple[Any, bool]] = [("9999-12-31", True), ("0000-01-01", True)]
DATETIME_VALUES: list[tuple[Any, bool]] = [("9999-12-31T23:59:59Z", True), ("0000-01-01T00:00:00Z", True)]
Path = tuple[Any, ...]


def _kind(schema: dict[str, Any]) -> str | None:
    _name, schema = _resolve(schema, SCHEMA)
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        kind = _kind(option)
        if kind:
            return kind
    if schema.get("type") == "integer":
        return "integer"
    if schema.get("format") in ("date", "date-time"):
        return schema["format"]
    return None


def _leaves(schema: dict[str, Any], path: Path = ()) -> list[tuple[Path, str]]:
    """(path, kind) of every integer and date inside a body schema; arrays are entered at index 0."""
    kind = _kind(schema)
    if kind:
        return [(path, kind)]
    _name, schema = _resolve(schema, SCHEMA)
    found: list[tuple[Path, str]] = []
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found += _leaves(option, path)
    for prop, sub in schema.get("properties", {}).items():
        found += _leaves(sub, (*path, prop))
    if schema.get("type") == "array":
        found += _leaves(schema.get("items", {}), (*path, 0))
    return found


def _sub_schema(schema: dict[str, Any], step: Any) -> dict[str, Any]:
    _name, schema = _resolve(schema, SCHEMA)
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        _n, resolved = _resolve(option, SCHEMA)
        if resolved.get("type") != "null":
            return _sub_schema(option, step)
    return schema.get("items", {}) if isinstance(step, int) else schema.get("properties", {}).get(step, {})


def _with(body: Any, schema: dict[str, Any], path: Path, value: Any) -> Any:
    """`body` with `value` at `path`, building missing containers from their schema's example."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    sub = _sub_schema(schema, step)
    if isinstance(step, int):
        items = list(body) if isinstance(body, list) and body else [example(sub, SCHEMA, VALUES)]
        items[0] = _with(items[0], sub, rest, value)
        return items
    data = dict(body) if isinstance(body, dict) else {}
    current = data.get(step)
    if current is None and rest:
        current = example(sub, SCHEMA, VALUES)
    data[step] = _with(current, sub, rest, value)
    return data


# Plausible values for the rest of the request, so that the extreme one reaches the code behind it.
VALUES = {
    **isolation_values(),
    "year": lambda: timezone.localdate().year - 1,
    "month": lambda: 1,
}


def _cases() -> list[tuple[str, str, str, Path, str]]:
    """(method, path, where, location, kind) for every integer and date input of the API."""
    cases = []
    for path, operations in SCHEMA["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                kind = _kind(p.get("schema", {}))
                if kind:
                    cases.append((method, path, p["in"], (p["name"],), kind))
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                cases += [(method, path, "body", loc, kind) for loc, kind in _leaves(body["schema"])]
    return cases


CASES = _cases()


def _request(method: str, path: str, where: str, location: Path, value: Any) -> dict[str, Any]:
    op = SCHEMA["paths"][path][method]
    path_values = {p["name"]: 1 for p in op.get("parameters", []) if p["in"] == "path"}
    query = {
        p["name"]: example(p.get("schema", {}), SCHEMA, VALUES, p["name"])
        for p in op.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    if where == "path":
        path_values[location[0]] = value
    elif where == "query":
        query[location[0]] = value
    url = path.format(**path_values)
    request: dict[str, Any] = {"path": url, "query_params": query}
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        data = example(body["schema"], SCHEMA, VALUES)
        if where == "body":
            data = _with(data, body["schema"], location, value)
        request |= {"data": json.dumps(data), "content_type": "application/json"}
    return request


def test_the_walk_finds_the_known_inputs() -> None:
    found = {(m, p, w, loc) for m, p, w, loc, _k in CASES}
    assert ("get", "/api/hazardous/tiers", "query", ("park_id",)) in found
    assert ("get", "/api/hazardous/plans/due", "query", ("on",)) in found
    assert ("post", "/api/hazardous/inspections", "body", ("inspected_on",)) in found
    assert any(w == "body" and 0 in loc for _m, _p, w, loc, _k in CASES)  # inside arrays too


@pytest.mark.parametrize("operation", sorted({f"{m.upper()} {p}" for m, p, *_ in CASES}))
def test_extreme_integers_and_dates_are_refused_not_500(zone: Zone, operation: str) -> None:
    method, path = operation.split(" ", 1)
    method = method.lower()
    callers = {
        caller: parties.token_for(parties.make_org(zone, roles=roles))
        for caller, roles in {"producer": ("producer",), "regulator": ("regulator", "carrier")}.items()
    }
    client = Client(raise_request_exception=False)
    failures: list[str] = []
    for m, p, where, location, kind in CASES:
        if (m, p) != (method, path):
            continue
        values = {"integer": INT_VALUES, "date": DATE_VALUES, "date-time": DATETIME_VALUES}[kind]
        for value, out_of_range in values:
            request = _request(method, path, where, location, value)
            for caller, token in callers.items():
                response = getattr(client, method)(
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": f"b-{len(failures)}-{id(request)}",
                    },
                    **request,
                )
                bad = response.status_code >= 500 or (out_of_range and response.status_code < 400)
                if bad:
                    failures.append(
                        f"{where} {'.'.join(map(str, location))}={value} by the {caller}: "
                        f"{response.status_code} {response.content[:200]!r}"
                    )
    assert not failures, "\n".join(failures)


def _get(zone: Zone, url: str) -> Any:
    client = parties.api_client(parties.make_org(zone, roles=("regulator",)))
    return client.get(url)


def test_tiers_with_a_twenty_digit_park_is_refused(zone: Zone) -> None:
    response = _get(zone, "/api/hazardous/tiers?park_id=12345678901234567890")
    assert response.status_code == 422 and "park_id" in response.content.decode()


def test_plans_due_on_the_last_day_of_9999_is_refused(zone: Zone) -> None:
    response = _get(zone, "/api/hazardous/plans/due?on=9999-12-31")
    assert response.status_code == 422 and "on" in response.content.decode()


def test_an_inspection_cannot_be_dated_in_the_future(zone: Zone) -> None:
    client = parties.api_client(parties.make_org(zone, roles=("regulator",)))
    subject = parties.make_org(zone, roles=("producer",))
    tomorrow = timezone.localdate() + timedelta(days=1)
    for day in ("9999-12-31", tomorrow.isoformat()):
        response = client.post(
            "/api/hazardous/inspections",
            {"organization_id": subject.pk, "subject": "storage", "result": "passed", "inspected_on": day},
        )
        assert response.status_code == 422, (day, response.content)
        assert "inspected_on" in response.content.decode()


def test_the_date_rule() -> None:
    today = timezone.localdate()
    assert bounds.date_problem(today) is None
    assert bounds.date_problem(bounds.EARLIEST_DATE) is None
    assert bounds.date_problem(bounds.EARLIEST_DATE - timedelta(days=1))
    assert bounds.date_problem(bounds.latest_date()) is None
    assert bounds.date_problem(bounds.latest_date() + timedelta(days=1))
    assert bounds.date_problem(today + timedelta(days=1), past_only=True)
    with pytest.raises(Invalid) as refused:
        bounds.check_date(today + timedelta(days=1), "inspected_on", past_only=True)
    assert refused.value.errors[0]["field"] == "inspected_on"


# --- Pages ------------------------------------------------------------------------------------------

# The query parameters pages read (grep `request.GET` / `request.POST`), all set at once.
PAGE_PARAMS = [
    "year",
    "month",
    "quarter",
    "period",
    "on",
    "y",
    "id",
    "version",
    "organization_id",
    "site_id",
    "transfer_id",
    "photo_id",
    "consignee_id",
    "carrier_id",
    "page",
    "effective_from",
    "planned_date",
    "pickup_from",
    "pickup_to",
    "time_limit_s",
    "package_count",
]
PAGE_VALUES = ("99999999999999999999", "9999-12-31", "-1", "0000-01-01")


def _page_routes() -> list[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(resolver: Any, prefix: str) -> Iterator[str]:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    routes = sorted(set(walk(get_resolver(), "")))
    return [
        "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x", r)
        for r in routes
        if not r.startswith(("api/", "^")) and "(?P" not in r
    ]


@pytest.mark.slow
def test_pages_answer_extreme_query_values_without_500(zone: Zone) -> None:
    """Every page of the URL conf, as a producer and as a regulator, with every parameter pages read
    set to an extreme value: a page may refuse (400, 404) but not fail."""
    users = [
        parties.make_member(parties.make_org(zone, roles=roles), "admin").user
        for roles in (("producer",), ("regulator", "carrier"))
    ]
    failures: list[str] = []
    for url in _page_routes():
        for value in PAGE_VALUES:
            for user in users:
                client = Client(raise_request_exception=False)
                client.force_login(user)
                response = client.get(url, dict.fromkeys(PAGE_PARAMS, value))
                if response.status_code >= 500:
                    failures.append(f"{url}?…={value}: {response.status_code}")
    assert not failures, "\n".join(failures)
