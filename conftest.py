"""Fixtures shared by every app's tests. The suite runs on PostgreSQL (DATABASE_URL) and on SQLite."""

from __future__ import annotations

import os

import pytest

from zerowaste.testing import parties
from zerowaste.testing.browser import browser, page  # noqa: F401 - fixtures

# Playwright's sync API runs an event loop in the test thread; Django must still allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):  # type: ignore[no-untyped-def]
    """Background tasks run inline in tests unless a test asks for the database queue."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def zone(db):  # type: ignore[no-untyped-def]
    return parties.make_zone()


@pytest.fixture
def other_zone(db):  # type: ignore[no-untyped-def]
    return parties.make_zone()


@pytest.fixture
def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def demo_zone(db):  # type: ignore[no-untyped-def]
    from zerowaste.core.demo import build_demo

    return build_demo(seed=1, scale=1).zone
