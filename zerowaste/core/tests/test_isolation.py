"""Every API operation, called with a foreign organization's admin token, neither shows nor changes
anything of the owner organization. The cases come from /api/openapi.json: a new route is a new case.
"""

from __future__ import annotations

import pytest
from django.test import Client

from zerowaste.core.models import Organization, Zone
from zerowaste.core.testing import isolation_csv
from zerowaste.testing import isolation, parties

SCHEMA = isolation.load_schema(Client())  # /api/openapi.json, through the test client
OPERATIONS = isolation.operations(SCHEMA)
FOREIGNERS = ("producer-same-zone", "regulator-other-zone")


@pytest.fixture
def owner(zone: Zone) -> tuple[Organization, list[str]]:
    org = parties.make_org(
        zone,
        roles=("producer", "carrier"),
        name="甲方OWNER-甲一号单位",
        name_en="OWNER-ALPHA-ENGLISH",
        address="OWNER-ALPHA-ADDRESS",
    )
    markers = [*isolation.populate_owner(org), "OWNER-ALPHA-ADDRESS"]
    return org, markers


def _foreign_token(kind: str, zone: Zone) -> str:
    if kind == "producer-same-zone":
        foreign = parties.make_org(zone, roles=("producer",))
    else:
        foreign = parties.make_org(parties.make_zone(), roles=("regulator",))
    return parties.token_for(foreign, ("admin",))


def test_every_operation_is_covered() -> None:
    assert len(OPERATIONS) >= 20
    ids = {op.id for op in OPERATIONS}
    assert "GET /api/organizations/{organization_id}" in ids
    assert "POST /api/organizations/import" in ids


def test_unknown_path_parameter_fails_with_module_hint(owner: tuple[Organization, list[str]]) -> None:
    op = isolation.Operation(
        "get", "/api/things/{thing_id}", {"parameters": [{"name": "thing_id", "in": "path"}]}
    )
    with pytest.raises(isolation.UnknownParameter, match=r"ISOLATION_PARAMS.*testing\.py"):
        isolation.fill_path(op, owner[0], isolation.isolation_params())


def test_body_generator_builds_valid_core_bodies() -> None:
    schema = SCHEMA
    values = isolation.isolation_values()
    body = isolation.example({"$ref": "#/components/schemas/OrganizationIn"}, schema, values)
    assert set(body) == {"uscc", "name", "roles"}
    from zerowaste.core import rules

    assert rules.validate_uscc(body["uscc"]) is None
    licence = isolation.example({"$ref": "#/components/schemas/LicenceIn"}, schema, values)
    assert licence["kind"] == "other" and licence["valid_from"] == "2024-01-01"


@pytest.mark.parametrize("foreigner", FOREIGNERS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_foreign_caller_sees_and_changes_nothing(
    operation: isolation.Operation, foreigner: str, zone: Zone, owner: tuple[Organization, list[str]]
) -> None:
    org, markers = owner
    client = Client()
    schema = SCHEMA
    params = isolation.isolation_params()
    try:
        path = isolation.fill_path(operation, org, params)
    except isolation.UnknownParameter as exc:
        pytest.fail(str(exc))
    token = _foreign_token(foreigner, zone)
    kwargs = isolation.request_kwargs(
        operation, schema, isolation.isolation_values(), csv_factory=isolation_csv
    )
    before = isolation.snapshot(org)

    response = isolation.call(client, operation, path, token, kwargs)

    body = response.content.decode("utf-8", errors="replace")
    assert response.status_code < 500, body[:500]
    leaked = [m for m in markers if m and m in body]
    assert not leaked, f"{operation.id} as {foreigner} leaked {leaked}: {body[:500]}"
    after = isolation.snapshot(org)
    changed = isolation.changes(before, after, org)
    assert not changed, f"{operation.id} as {foreigner} changed the owner's {changed}"
    # A row of the owner answers 404. Rows shared by the zone (ISOLATION_SHARED_PARAMS) may be seen
    # inside the zone, but never from another zone.
    shared = isolation.shared_params() if foreigner == "producer-same-zone" else set()
    own_params = [p for p in operation.path_params if p not in shared]
    if own_params:
        assert response.status_code == 404, (
            f"{operation.id}: expected 404, got {response.status_code}: {body[:300]}"
        )
