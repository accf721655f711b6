"""No API path is shadowed by another (issue 15, defect 17).

Django tries URL patterns in the order the routers declare them, and a parameter segment matches
any text: `/api/transfers/{transfer_id}` declared before `/api/transfers/webhooks` took `webhooks`
for a transfer id (GET 422, POST 405). Driven by the OpenAPI schema, so a new path is a new case.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import resolve

from zerowaste.api import api
from zerowaste.core.models import Zone
from zerowaste.testing import parties

PARAM = re.compile(r"^\{(\w+)\}$")


def _paths() -> dict[str, dict[str, Any]]:
    return api.get_openapi_schema()["paths"]


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _concrete(path: str) -> str:
    """The path with every parameter filled by a value any parameter type accepts."""
    return "/" + "/".join("1" if PARAM.match(s) else s for s in _segments(path))


def _route_of(path: str) -> str:
    """The OpenAPI path of the Django pattern that answers `path`."""
    route = resolve(_concrete(path)).route
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _contested_literal_paths() -> list[str]:
    """Paths with a literal segment where another path of the same length has a parameter and
    agrees on every other literal: the pairs an ordering mistake turns into a shadow."""
    paths = list(_paths())
    contested = set()
    for path in paths:
        mine = _segments(path)
        for other in paths:
            theirs = _segments(other)
            if other == path or len(theirs) != len(mine):
                continue
            if all(
                a == b or PARAM.match(a) or PARAM.match(b) for a, b in zip(mine, theirs, strict=True)
            ) and any(not PARAM.match(a) and PARAM.match(b) for a, b in zip(mine, theirs, strict=True)):
                contested.add(path)
    return sorted(contested)


def test_the_contest_finder_sees_the_webhooks() -> None:
    assert "/api/transfers/webhooks" in _contested_literal_paths()


@pytest.mark.parametrize("path", list(_paths()))
def test_every_path_resolves_to_its_own_handler(path: str) -> None:
    assert _route_of(path) == path, f"{path} is answered by the handler of {_route_of(path)}"


@pytest.mark.parametrize(
    "path", [p for p in _contested_literal_paths() if "get" in _paths()[p] and "{" not in p]
)
def test_contested_literal_get_paths_reach_their_handler(zone: Zone, path: str) -> None:
    """Over HTTP: a literal path is not refused as a bad parameter (422) nor a wrong method (405)."""
    client = parties.api_client(parties.make_org(zone, roles=("regulator",)))
    response = client.get(path)
    assert response.status_code != 405, path
    if response.status_code == 422:
        body = response.json()
        detail = body.get("detail") if isinstance(body.get("detail"), list) else []
        assert not [e for e in detail if e.get("loc", [None])[0] == "path"], f"{path}: {body}"
        every_param = {m.group(1) for p in _paths() for s in _segments(p) if (m := PARAM.match(s))}
        fields = {e.get("field", "") for e in body.get("errors", [])}
        assert not fields & every_param, f"{path}: refused as a value of {fields & every_param}"


def test_webhooks_api_lists_subscribes_and_updates(zone: Zone, settings: Any) -> None:
    client = parties.api_client(parties.make_org(zone, roles=("producer",)))
    assert client.get("/api/transfers/webhooks").json() == []
    created = client.post("/api/transfers/webhooks", {"url": "https://93.184.215.14/hook"})
    assert created.status_code == 201, created.content
    sub = created.json()
    assert len(sub["secret"]) == 48
    listed = client.get("/api/transfers/webhooks").json()
    assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]
    patched = client.patch(f"/api/transfers/webhooks/{sub['id']}", {"active": False})
    assert patched.status_code == 200 and patched.json()["active"] is False
