"""Schemathesis over our own OpenAPI: no input makes the API answer 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from zerowaste.core.models import Zone
from zerowaste.testing import parties
from zerowaste.wsgi import application

# The core routes (tag "core"); every app runs schemathesis over its own tag.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application).include(tag="core")


@pytest.fixture
def regulator_token(zone: Zone) -> Iterator[str]:
    org = parties.make_org(zone, roles=("regulator", "carrier"))
    parties.make_member(org, "admin")
    # Requests go straight to the WSGI app: keep Django from closing the test's connection (and its
    # transaction) at the end of each request, as its own test client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield parties.token_for(org, ("admin",))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case, regulator_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {regulator_token}"}, checks=[not_a_server_error]
    )
