"""Building zones, organizations, users and tokens for tests, through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from django.test import Client

from zerowaste.core import rules, services
from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.models import Membership, Organization, User, Zone

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery-9"  # noqa: S105 - test password


def make_zone(code: str | None = None) -> Zone:
    n = next(_counter)
    return Zone.objects.create(
        code=code or f"z{n}", name=f"测试区{n}", name_en=f"Test zone {n}", division_code="110115"
    )


def make_uscc(n: int | None = None) -> str:
    n = next(_counter) if n is None else n
    return rules.make_uscc("91", "110115", f"{n:08d}")


def make_org(
    zone: Zone, roles: list[str] | tuple[str, ...] = ("producer",), name: str | None = None, **extra: object
) -> Organization:
    n = next(_counter)
    return services.register_organization(
        Actor.system(zone),
        uscc=make_uscc(n),
        name=name or f"测试单位{n}",
        roles=list(roles),
        **extra,  # type: ignore[arg-type]
    )


def make_member(
    org: Organization, role: str = "admin", username: str | None = None, **extra: object
) -> Membership:
    n = next(_counter)
    user = User.objects.create_user(username=username or f"user{n}", password=PASSWORD)
    return Membership.objects.create(zone_id=org.zone_id, organization=org, user=user, role=role, **extra)


def actor_of(org: Organization, role: str = "admin") -> Actor:
    return actor_for_membership(make_member(org, role))


def token_for(org: Organization, scopes: list[str] | tuple[str, ...] = ("admin",)) -> str:
    return services.create_token(
        Actor.system(Zone.objects.get(pk=org.zone_id)), org.pk, name="test", scopes=list(scopes)
    ).secret


@dataclass
class ApiClient:
    """A Django test client speaking JSON to /api/ with a bearer token."""

    token: str
    client: Client

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def get(self, path: str, **params: Any):  # type: ignore[no-untyped-def]
        return self.client.get(path, params, headers=self._headers(None))

    def post(self, path: str, data: object = None, idempotency_key: str | None = None):  # type: ignore[no-untyped-def]
        return self.client.post(
            path, data or {}, content_type="application/json", headers=self._headers(idempotency_key)
        )

    def patch(self, path: str, data: object = None, idempotency_key: str | None = None):  # type: ignore[no-untyped-def]
        return self.client.patch(
            path, data or {}, content_type="application/json", headers=self._headers(idempotency_key)
        )

    def delete(self, path: str, idempotency_key: str | None = None):  # type: ignore[no-untyped-def]
        return self.client.delete(path, headers=self._headers(idempotency_key))


def api_client(org: Organization, scopes: list[str] | tuple[str, ...] = ("admin",)) -> ApiClient:
    return ApiClient(token=token_for(org, scopes), client=Client())
