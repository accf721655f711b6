"""Schemathesis over our own OpenAPI: no input makes the API answer 5xx (issue 2, point 9).

Every operation of the schema is exercised, whatever app it comes from: a new route is covered as
soon as it is registered. Every case is sent twice, with an admin token of a producer and of a
regulator, in a zone with the catalogs loaded. The run is bounded and derandomized: CI sees the
same cases every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from zerowaste.catalog import services as catalog
from zerowaste.core.authz import Actor
from zerowaste.core.models import Zone
from zerowaste.testing import parties
from zerowaste.wsgi import application

MAX_EXAMPLES = 15  # fuzzed cases per operation, on top of schemathesis' coverage cases


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

CALLER_ROLES = {"producer": ("producer",), "regulator": ("regulator", "carrier")}


@pytest.fixture
def caller_tokens(zone: Zone) -> Iterator[dict[str, str]]:
    """An admin-scoped token of a producer and one of a regulator, in a zone with every catalog
    published (one zone per operation: what a case creates stays in its test's transaction)."""
    catalog.load_standard_catalogs(Actor.system(zone))
    tokens = {}
    for caller, roles in CALLER_ROLES.items():
        org = parties.make_org(zone, roles=roles)
        parties.make_member(org, "admin")
        tokens[caller] = parties.token_for(org, ("admin",))
    # Requests go straight to the WSGI app: keep Django from closing the test's connection (and its
    # transaction) at the end of each request, as its own test client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield tokens
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case, caller_tokens: dict[str, str]) -> None:
    """Each case is sent by both callers (one generated case, two answers checked)."""
    for caller, token in caller_tokens.items():
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        checks: list[CheckFunction] = [not_a_server_error]
        if 200 <= response.status_code < 300:
            checks.append(response_schema_conformance)
        try:
            case.validate_response(response, checks=checks)
        except BaseException as exc:
            exc.add_note(f"sent with the admin token of the {caller}")
            raise


def test_schema_component_names_are_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ninja names a component after its class and keeps the last of two `VersionOut`s: the schema
    (and every check against it) would then describe one app's response with another's."""
    from ninja.openapi.schema import OpenAPISchema

    from zerowaste.api import api

    clashes: set[str] = set()
    original = OpenAPISchema.add_schema_definitions

    def add(self: OpenAPISchema, definitions: dict[str, Any]) -> None:
        clashes.update(k for k, v in definitions.items() if k in self.schemas and self.schemas[k] != v)
        original(self, definitions)

    monkeypatch.setattr(OpenAPISchema, "add_schema_definitions", add)
    api.get_openapi_schema()
    assert not clashes, f"two schemas share a name: {sorted(clashes)}"


@pytest.mark.parametrize(
    "query",
    [
        "/api/declarations?organization_id=-3655000000000000000000",
        "/api/declarations?organization_id=9223372036854775808",
        "/api/declarations?year=0",
        "/api/declarations?year=1260681",
        "/api/declarations?status=%00",
        "/api/declarations?q=a%00b",
        "/api/declarations/stats?year=0",
        "/api/declarations/stats?year=10000",
        "/api/declarations/intensity?year=0",
        "/api/declarations/export?stream=%00junk",
        "/api/declarations/export?year=-126762",
        "/api/declarations?offset=9223372036854775807",
    ],
)
def test_inputs_that_once_answered_500_are_refused(zone: Zone, query: str) -> None:
    """What earlier schemathesis runs found, kept as plain cases: each is a 422 naming its field."""
    client = parties.api_client(parties.make_org(zone, roles=("regulator",)))
    response = client.client.get(query, headers={"Authorization": f"Bearer {client.token}"})
    assert response.status_code == 422, response.content
