"""List endpoints use as many queries for 50 rows as for 1 (no N+1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from zerowaste.core import services
from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization, Zone
from zerowaste.testing import parties

Adder = Callable[[Actor, Organization, int], object]


def _licence(system: Actor, org: Organization, n: int) -> object:
    return services.add_licence(
        system,
        org.pk,
        kind="other",
        number=f"Q-{n}",
        issuer="局",
        valid_from=date(2020, 1, 1),
        valid_to=date(2030, 1, 1),
    )


def _vehicle(system: Actor, org: Organization, n: int) -> object:
    permit = _licence(system, org, 1000 + n)
    return services.add_vehicle(system, org.pk, plate=f"京C{n:05d}", permit_ids=[permit.pk])  # type: ignore[attr-defined]


ADDERS: dict[str, tuple[str, Adder]] = {
    "organizations": (
        "/api/organizations",
        lambda s, org, n: parties.make_org(Zone.objects.get(pk=org.zone_id), roles=("producer", "carrier")),
    ),
    "memberships": (
        "/api/organizations/{org}/memberships",
        lambda s, org, n: parties.make_member(org, "clerk"),
    ),
    "licences": ("/api/organizations/{org}/licences", _licence),
    "sites": (
        "/api/organizations/{org}/sites",
        lambda s, org, n: services.add_site(s, org.pk, name=f"S{n}", kind="plant"),
    ),
    "vehicles": ("/api/organizations/{org}/vehicles", _vehicle),
    "tokens": (
        "/api/organizations/{org}/tokens",
        lambda s, org, n: services.create_token(s, org.pk, name=f"t{n}", scopes=["read"]),
    ),
}


@pytest.mark.parametrize("name", list(ADDERS))
def test_list_query_count_is_flat(zone: Zone, name: str) -> None:
    path, add = ADDERS[name]
    org = parties.make_org(zone, roles=("regulator",))
    client = parties.api_client(org)  # the caller's own token is one of the tokens listed
    system = Actor.system(zone)
    url = path.format(org=org.pk) + ("?limit=100" if name == "organizations" else "")

    def rows_and_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        data = response.json()
        return len(data["items"] if isinstance(data, dict) else data), len(ctx.captured_queries)

    client.get("/api/me")  # the token's first use records last_used_at; measure after it
    if name not in ("organizations", "tokens"):
        add(system, org, 0)
    rows, one = rows_and_queries()
    assert rows == 1
    for n in range(1, 50):
        add(system, org, n)
    rows, fifty = rows_and_queries()
    assert rows == 50
    assert fifty == one, f"{name}: {one} queries for 1 row, {fifty} for 50"
