"""A GET never writes (issue 16, item 2): every page of the URL conf and every GET of the API, opened
by a regulator and by a producer of a zone with data, leaves the audit log and the row count of every
zerowaste model as they were. Scheduled work (the January tiers) belongs to the task runner.

The pages come from the URL conf and the API reads from /api/openapi.json (`zerowaste.testing.isolation`,
the role walk's machinery and zone): a new page or route is a new case without editing this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Max
from django.test import Client, override_settings

from zerowaste.core.models import AuditEntry
from zerowaste.testing import isolation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

QUICK_SETTINGS = {
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "TASKS": {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
    "RATELIMIT_ENABLED": False,
}


@pytest.fixture(scope="module")
def walk(django_db_setup: Any, django_db_blocker: Any) -> Iterator[isolation.RoleWalk]:
    with django_db_blocker.unblock(), override_settings(**QUICK_SETTINGS), transaction.atomic():
        yield isolation.build_role_walk()
        transaction.set_rollback(True)


def _zerowaste_models() -> list[Any]:
    return [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("zerowaste.")
        for model in config.get_models()
        if not model._meta.proxy
    ]


def _state() -> dict[str, Any]:
    state: dict[str, Any] = {model._meta.label: model._base_manager.count() for model in _zerowaste_models()}
    state["audit: last entry"] = AuditEntry.objects.aggregate(last=Max("pk"))["last"]
    return state


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [f"{key}: {before[key]} → {after[key]}" for key in before if before[key] != after[key]]


def _gets(walk: isolation.RoleWalk) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every page (naming the walk's own producer's rows) and every API read, with its required query."""
    for page in isolation.pages():
        path = isolation.fill_page(page, walk.targets["own"], walk.params)
        if path is not None:
            yield path, {}
    schema = isolation.load_schema(Client())
    values = isolation.isolation_values()
    for op in isolation.operations(schema):
        if op.method == "get":
            path = isolation.fill_path(op, walk.targets["own"], walk.params)
            yield path, isolation.request_kwargs(op, schema, values)


@pytest.mark.parametrize("role", ["zone_regulator", "producer"])
def test_no_get_writes_anything(role: str, walk: isolation.RoleWalk) -> None:
    session = walk.credentials(role)[0].client
    problems: list[str] = []
    answered = 0
    for path, kwargs in _gets(walk):
        before = _state()
        response = session.get(path, **kwargs)
        answered += response.status_code == 200
        changed = _changed(before, _state())
        if changed:
            problems.append(f"GET {path} as {role} ({response.status_code}) wrote: {changed}")
    assert not problems, "\n".join(problems)
    assert answered >= 50, f"too few GETs answered 200 as {role}: {answered}"


def test_the_tiers_page_says_none_are_computed_and_how(walk: isolation.RoleWalk) -> None:
    session = walk.credentials("zone_regulator")[0].client
    with override_settings(LANGUAGE_CODE="en"):
        body = session.get("/hazardous/tiers/?year=2031", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="no-tiers"' in body
    assert 'id="recompute"' in body  # a regulator's button, which POSTs
