"""Fixtures shared by every app's tests. The suite runs on PostgreSQL (DATABASE_URL) and on SQLite.

Argon2 (the production hasher) costs ~0.15 s a hash; tests hash with MD5 unless they ask for the
`argon2_hashing` fixture, which keeps the project's real hashers.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from zerowaste.core.models import Area, Organization, Zone
from zerowaste.testing import TEST_AUDIT_HMAC_KEYS, TEST_AUDIT_SIGNING_SEED, parties
from zerowaste.testing.browser import browser, page  # noqa: F401 - fixtures

# Playwright's sync API runs an event loop in the test thread; Django must still allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config: pytest.Config) -> None:
    """Rate limits off from the start: test modules that read the OpenAPI schema at import run before
    any fixture, and 127.0.0.1's count in the host's shared store may hold another run's requests."""
    from django.conf import settings

    settings.RATELIMIT_ENABLED = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):  # type: ignore[no-untyped-def]
    """Background tasks run inline in tests unless a test asks for the database queue; API rate limits
    are off (thousands of requests a minute come from 127.0.0.1) except in the tests of them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.RATELIMIT_ENABLED = False


@pytest.fixture(autouse=True)
def _audit_keys(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Deterministic audit keys from settings; key and checkpoint files in a directory of the test's
    own (not created unless written)."""
    import uuid

    root = tmp_path_factory.getbasetemp() / f"audit-{uuid.uuid4().hex}"
    settings.AUDIT_HMAC_KEYS = dict(TEST_AUDIT_HMAC_KEYS)
    settings.AUDIT_SIGNING_KEY_SEED = TEST_AUDIT_SIGNING_SEED
    settings.AUDIT_KEY_DIR = root / "keys"
    settings.AUDIT_CHECKPOINT_DIR = root / "checkpoints"


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
    """The demo zone in the test's transaction (built once per test process, then restored from its
    snapshot: zerowaste.testing.demo_snapshot)."""
    from zerowaste.testing import demo_snapshot

    return demo_snapshot.demo(scale=1).zone


@pytest.fixture(scope="module")
def module_demo(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The demo zone built once for a module's tests (in a transaction rolled back after them); the
    tests still mark themselves `django_db`. Page walks over it: `zerowaste.testing.spider`."""
    from zerowaste.testing.spider import demo_in_rolled_back_transaction

    with demo_in_rolled_back_transaction(django_db_blocker) as result:
        yield result


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def argon2_hashing() -> None:
    """Opt out of the fast test hasher."""


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest, settings: Any) -> None:
    if "argon2_hashing" not in request.fixturenames:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def streets(zone: Zone) -> dict[str, Area]:
    """Two streets, each with a community."""
    rh = Area.objects.create(zone=zone, code="rh", name="荣华街道", kind="street")
    bx = Area.objects.create(zone=zone, code="bx", name="博兴街道", kind="street")
    return {
        "rh": rh,
        "bx": bx,
        "rh-c1": Area.objects.create(
            zone=zone, code="rh-c1", name="荣华第1社区", kind="community", parent=rh
        ),
        "bx-c1": Area.objects.create(
            zone=zone, code="bx-c1", name="博兴第1社区", kind="community", parent=bx
        ),
    }


@pytest.fixture
def regulator(zone: Zone) -> Organization:
    return parties.make_org(zone, roles=("regulator",), name="无废城市专班")


@pytest.fixture
def producer(zone: Zone) -> Organization:
    return parties.make_org(zone, roles=("producer",))


@pytest.fixture
def english() -> Any:
    """Run a test in English: messages are asserted by their English wording (the UI default is Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield
